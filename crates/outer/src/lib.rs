//! Outer (reduced) problems: the limit `ε → 0` of a slow–fast system, where the fast
//! variables have relaxed. Two shapes:
//!
//! - **a graph**, `y = h(x)` ([`solve_reduced`]), below;
//! - **a constraint manifold**, `c(u) = 0` held by Lagrange multipliers
//!   ([`ConstrainedSystem`], [`ManifoldFlow`]): the reduced flow when the fast variables are
//!   the amplitudes of a few forces (the two-layer model's learnt residuals).
//!
//! For `x' = g(x, y, ε)`, `ε y' = f(x, y, ε)` at `ε = 0` the fast variables sit on the slow
//! manifold,
//!
//! ```text
//!   0 = f(x, y, 0),      x' = g(x, y, 0),
//! ```
//!
//! an index-1 DAE solved here in state-space form: `y = h(x)` by Newton with a backtracking
//! line search ([`solve_fast`]), continued along the trajectory from a tangent predictor
//! (the branch is the one the initial guess converges to), and `x' = g(x, h(x), 0)`
//! integrated by [`Rodas4`](timescales_ode::Rodas4) with the exact Jacobian
//! `g_x + g_y H`, `H = dh/dx = −f_y⁻¹ f_x`. Attractivity (all eigenvalues of `f_y` with
//! negative real part) is checked at every accepted step; its loss — a fold where the
//! branch ends, or a complex pair crossing — stops the flow and is reported with its
//! time and location ([`FoldEvent`]) instead of failing silently. A fold's point is solved
//! from the extended system `f = 0, det ∂f/∂y = 0`; where the flow ends without one — the
//! branch or the slow flow running away while `∂f/∂y` stays regular — it is an
//! [`ImpasseEvent`], not a fold.
//!
//! Optionally the first-order outer correction `x = X₀ + εX₁`, `y = Y₀ + εY₁` is
//! integrated alongside:
//!
//! ```text
//!   X₁' = (g_x + g_y H) X₁ + g_y f_y⁻¹ (H g − f_ε) + g_ε,
//!   Y₁  = f_y⁻¹ (H g − f_x X₁ − f_ε),
//! ```
//!
//! all derivatives at `(X₀, Y₀, 0)`; `X₁(t₀)` comes from matching with the initial layer.
#![warn(missing_docs)]

mod error;
pub mod linear;
mod manifold;
mod newton;
mod reduced;

pub use error::OuterError;
pub use linear::{Attractivity, attractivity};
pub use manifold::{ConstrainedSystem, ManifoldFlow};
pub use newton::{NewtonOptions, NewtonReport, solve_fast};
pub use reduced::{
    FirstOrderOuter, FoldEvent, FoldKind, ImpasseEvent, ImpasseKind, OuterSolution, OuterStart,
    ReducedOptions, Termination, solve_reduced,
};
