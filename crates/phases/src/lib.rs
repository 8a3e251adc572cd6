//! Phase asymptotics of the two-layer flow (model.md §5): the initial layer (phase 0), the
//! linear phase 1 with its onset time, the ε-free inner problem of phase 1, and the composite
//! risk curve across phases 0 and 1.
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
//! `asymptotics` command measure how fast the prediction converges.
#![warn(missing_docs)]

mod early;

pub use early::{EarlyPhases, PhaseError, crossing_time};
mod study;

pub use study::{CompositeComparison, OnsetRow, Study, direct_risk, measured_onsets, study};
mod inner;

pub use inner::{InnerPhaseOne, solve_inner_phase_one};
mod blowup;
mod plateau;

pub use blowup::{InnerBlowup, InnerProblem, phase_two_start, rescaled_start, solve_inner};

pub use plateau::{LEARNT, Learnt, PlateauFlow, PlateauRun, phase_one_exit, plateau_chain};
