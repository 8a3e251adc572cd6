//! The phases of the two-layer flow, measured and predicted.
//!
//! **Measured** ([`sweep`]): ε sweeps of the direct integration, their plateaus and phases
//! with typed identities, and the timescale exponents beside the predictions.
//!
//! **Predicted** — in the terms of the generic asymptotics layer: the plateau flow is a
//! reduced problem on a constraint manifold ([`timescales_outer::ManifoldFlow`]), the phase
//! inner problems are inner problems that blow up in finite stretched time in a
//! [`timescales_inner::Scaling`] ([`timescales_inner::solve_blowup`]), and the composite risk
//! is a [`timescales_matching::Composite`]; [`compare`] sets them against direct integration
//! at one ε, [`Study`] over a grid of ε.
//!
//! Phase asymptotics of the two-layer flow (model.md §5): the initial layer (phase 0), the
//! linear phase 1 with its onset time, the ε-free inner problem of phase 1, the plateau flow
//! (the reduced flow on the manifold where the learnt residuals vanish, with Lagrange
//! multipliers; [`plateau_chain`]), the ε-free inner problems of phases `l ≥ 2` (constrained
//! gradient flows that blow up in finite time; [`solve_inner`]), and the composite risk curve
//! across all phases ([`compare`] for one ε, [`Study`] over a grid of ε).
//!
//! **Phase 0** (`t ~ ε`, `s ≈ 0`): `a_i(t) = a_i(0) + δ (1 − e^{−σ_0² t/ε})`,
//! `δ = φ_0/σ_0 − M_0(0)`, and `r_0(t) = r_0(0) e^{−σ_0² t/ε}`.
//!
//! **Phase 1** (`t ~ √ε log(1/ε)`): with `c = σ_1 φ_1`, `λ = |c|/√ε`, and (when `σ_0 ≠ 0`)
//! the degree-0 residual slaved so that the mean of `a` is frozen, the deviations
//! `α_i = ã_i − E[ã]`, `β_i = s_i − E[s]` obey `ε α̇ = c β`, `β̇ = c α`:
//! `α_i = α_i(0) cosh λt`, `β_i = sgn(c) √ε α_i(0) sinh λt`. All particles move along one
//! profile, so `M_1 = sgn(c) √ε V F(t)²` with `V` the weighted variance of `ã` (the second
//! moment when `σ_0 = 0`), and the saturation `r_1 = φ_1 − σ_1 M_1` closes the leading-order
//! dynamics into `dF/dt = λ (r_1/φ_1) F`: a logistic law for `F²`,
//!
//! ```text
//!   r_1(t)/φ_1 = 1 / (1 + e^{2λ (t − t*)}),     t* = (1/(2λ)) log(4|φ_1| / (|σ_1| √ε V)),
//!   t* = (√ε / (4|σ_1 φ_1|)) log(1/ε) + (√ε / (2|σ_1 φ_1|)) log(4|φ_1| / (|σ_1| V)).
//! ```
//!
//! (matched to `F ≈ e^{λt}/2` for `1 ≪ λt`). The crossing criterion for the onset `t_1` is the
//! risk midpoint between the plateaus before and after phase 1, `R = R_1 + φ_1²/4`, i.e.
//! `r_1 = φ_1/√2`: `t_1 = t* + (1/(2λ)) log(√2 − 1)`. The neglected terms are relative
//! `O(ε^{1/4})` (degree-2 terms at `s ~ ε^{1/4}`) and the drift of `E[s]`; the tests and the
//! `asymptotics` command measure how fast the prediction converges. [`PhaseOneLayer`] adds
//! them: the first-order phase-1 solution in closed form (degree-2 forcing, drift of `E[s]`,
//! skewness of the law of `a(0)`), its first-order risk and its exit state.
//!
//! **Plateau flow** (after phase `l − 1`): the learnt residuals relax much faster than the next
//! phase, so in the limit they are constraints `M_k = φ_k/σ_k` (`k ∈ C`) and their forces
//! `σ_k r_k` become Lagrange multipliers fixed by `dM_k/dt = 0` — the risk's gradient flow
//! projected on the constraint manifold ([`PlateauFlow`]). [`plateau_chain`] starts it from the
//! leading-order end of phase 1 (`a_i = ā + γ α_i`, `s_i = sgn(σ_1 φ_1) √ε γ α_i`,
//! `γ² = |φ_1/σ_1|/(√ε V)`, [`phase_one_exit`]) and adds each degree to `C` once it is learnt.
//! The composite uses the first-order version ([`plateau_chain_from`],
//! [`PlateauStart::FirstOrder`]): started from [`PhaseOneLayer::exit_state`], on the
//! first-order slow manifold where the learnt residuals are slaved (`r_k = λ_k/σ_k`) instead
//! of zero ([`PlateauFlow::first_order`]). Its composite risk error falls at least like
//! `ε^{1/4}` (the leading-order one like `ε^{1/4} log(1/ε)`, order ≈ 0.14–0.19 measured).
//!
//! **Phases `l ≥ 2`**: with the degrees below `l` learnt by particles with `s ~ ε^β`,
//! `a ~ ε^{β−½}` (`M_{l−1} = O(1)` forces `β = 1/(2l)`), the stretching `t = t_0 + ε^β T`,
//! `s = ε^β S`, `a = ε^{β−½} A` gives the ε-free inner problem
//!
//! ```text
//!   dA_i/dT = Σ_{k<l} μ_k S_i^k + σ_l φ_l S_i^l,
//!   dS_i/dT = A_i (Σ_{k<l} k μ_k S_i^{k−1} + l σ_l φ_l S_i^{l−1}),   ⟨A S^k⟩_w fixed (k < l),
//! ```
//!
//! a constrained gradient flow of `σ_l φ_l ⟨A S^l⟩` whose growing particles blow up in finite
//! time `T_c` (`A ~ (T_c − T)^{−1/(l−1)}`): `t_l ≈ t_0 + ε^{1/(2l)} T_c`, the conjecture
//! `γ_l = 1/(2l)`. For `l = 2` the start is the end of phase 1 in closed form (`A_i = κ α_i`,
//! `S_i = sgn(σ_1 φ_1) A_i`, `κ² = |φ_1/σ_1|/V`), so `T_c` is a number of the law alone; for
//! `l ≥ 3` it is the plateau-flow state between phases `l − 1` and `l`.
#![warn(missing_docs)]

mod blowup;
mod comparison;
mod drop;
mod early;
mod held;
mod inner;
mod layer;
mod plateau;
mod similarity;
mod study;
pub mod sweep;

pub use blowup::{
    InnerBlowup, InnerProblem, phase_scaling, phase_two_start, rescaled_start, solve_inner,
};
pub use comparison::{
    COMPOSITE_ORDER, Comparison, CompositeComparison, OnsetRow, compare, composite_risk,
    direct_run, dwell_near,
};
pub use drop::{DropCrossings, DropProblem, solve_drop};
pub use early::{EarlyPhases, PhaseError};
pub use inner::{InnerPhaseOne, phase_one_scaling, solve_inner_phase_one};
pub use layer::{LayerTerms, PhaseOneLayer};
pub use plateau::{
    LEARNT, Learnt, PlateauFlow, PlateauRun, PlateauStart, phase_one_exit, plateau_chain,
    plateau_chain_from, plateau_chain_through,
};
pub use similarity::{
    SimilarityExponents, closure_exponents, layer_integrals, self_consistent_exponents,
    separation_threshold, unstable_exponent,
};
pub use study::{CompositeOrder, OnsetExponents, Study, StudyOptions, StudyPoint};
