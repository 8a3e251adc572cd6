//! Matching of the inner (boundary-layer) and outer (reduced) expansions of a slow–fast
//! system `x' = g(x, y, ε)`, `ε y' = f(x, y, ε)`, their composites, and the check against
//! direct integration.
//!
//! With `τ = t/ε`, the leading-order composite is
//!
//! ```text
//!   y_c = Y₀(t) + η₀(τ) − Y₀(0),      x_c = X₀(t),
//! ```
//!
//! uniformly `O(ε)` on `[0, T]`; the first-order composite
//!
//! ```text
//!   y_c1 = Y₀ + εY₁ + η₀ + εη₁ − [Y₀(0) + t Y₀'(0) + εY₁(0)],
//!   x_c1 = X₀ + εX₁ + x₀ + εξ₁ − [x₀ + t X₀'(0) + εX₁(0)],
//! ```
//!
//! is `O(ε²)`. The brackets are the common parts: the outer expansion written in the inner
//! variable, equal (the matching condition) to the inner expansion as `τ → ∞`. [`study`]
//! computes outer and inner once (they do not depend on ε), evaluates every approximation
//! against a direct stiff integration for a list of ε, fits the order of each error by
//! log–log least squares with a Student-t confidence interval
//! ([`fit_power_law`](timescales_analysis::fit_power_law)), and checks
//! matching on the intermediate variable `t = ε^α η` ([`MatchingCheck`]).
//! [`singular_orbit`] strings reduced segments and interior layers (jumps at folds)
//! together into the ε → 0 limit of a relaxation oscillation; [`fold_normal_form`] derives
//! the Airy layer of each fold from the system's derivatives there, with its `ε^{2/3}`
//! delay `|a₁| ε^{2/3} (A B)^{-1/3}` ([`corrected_orbit`]); [`cycle_study`] sets the period
//! of a relaxation oscillation measured on the direct integration beside the singular
//! orbit's and the one with the fold corrections, with the fitted orders of their errors;
//! [`orbit_composite`] is one approximation of the whole trajectory across its folds
//! (reduced segments, the Airy layer of each fold through the universal Riccati function
//! [`airy_riccati`], the jumps), and [`fold_study`] its error against direct integration.
#![warn(missing_docs)]

mod airy;
mod composite;
mod cycle;
mod direct;
mod error;
mod passage;
mod relaxation;
mod riccati;
mod study;

pub use airy::{AIRY_A1, FoldNormalForm, fold_normal_form};
pub use composite::{Composite, Role, Term};
pub use cycle::{
    CycleOptions, CycleRow, CycleStudy, FoldPassage, SingularCycle, cycle_study, direct_period,
    predicted_period, singular_cycle,
};
pub use direct::{integrate_full, integrate_full_with};
pub use error::MatchingError;
pub use passage::{
    FoldComparison, FoldCrossing, FoldErrorRow, FoldStudy, ORBIT_COMPOSITE,
    ORBIT_COMPOSITE_OVER_LOG, OrbitComposite, fold_study, orbit_composite,
};
pub use relaxation::{Jump, SingularOrbit, corrected_orbit, singular_orbit};
pub use riccati::{airy_riccati, airy_riccati_branch_excess, airy_riccati_pole_excess};
pub use study::{
    APPROXIMATIONS, Asymptotics, Comparison, GridOptions, MatchingCheck, MatchingOptions, OrderRow,
    Study, VariableErrors, study,
};
