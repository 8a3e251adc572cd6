//! Plateaus, phases, ε sweeps and timescale exponents of a risk curve.
//!
//! Gradient flow of a two-layer network with a fast second layer (`docs/model.md` §4–§5)
//! learns in phases: the risk sits on plateaus `R ≈ R_l = ½ Σ_{k>l} φ_k²` separated by drops at
//! times `t_l ≍ ε^{γ_l}` (`γ_1 = ½` up to a `log(1/ε)` factor, conjectured `γ_l = 1/(2l)`). This
//! crate turns risk curves into those numbers, on plain slices, so it serves any curve (direct
//! integration, network simulation, a composite expansion, a user's own data):
//! [`PlateauDetector`] finds plateaus and phases in log-time (phase times by midpoint crossing
//! and by steepest descent in `ln t`); [`fit_power_law`] fits `y ≈ C ε^γ` in log–log with
//! Student-t confidence intervals, [`fit_log_corrected`] fits `t = ε^γ (c₁ ln(1/ε) + c₀)` by
//! profiling `γ`, and [`local_slopes`] shows the approach to the asymptotic regime; the
//! [`sweep`] module runs a closure over a log grid of ε in parallel with resumable per-ε files,
//! shards and merges; [`converge_n`] doubles a particle count until phase times settle;
//! [`curves`] analyses the loss curves users bring (training logs: noisy, on a linear step
//! axis, many runs across a parameter) with the same detector and fits.
#![warn(missing_docs)]

mod converge;
pub mod curves;
mod deriv;
mod error;
pub mod fit;
pub mod plateau;
pub mod sweep;

mod curve;
pub use converge::{ConvergeOptions, ConvergeStep, Convergence, converge_n, richardson};
pub use curve::{crossing_time, interp_clamped, interp_log_time};
pub use deriv::local_quadratic_slope;
pub use error::{AnalysisError, Result};
pub use fit::{
    LocalSlope, LogCorrectedFit, PowerLawFit, fit_log_corrected, fit_power_law, local_slopes,
};
pub use plateau::{Detection, Phase, Plateau, PlateauDetector};
