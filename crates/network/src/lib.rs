//! Finite two-layer networks, trained for real: the exact finite-`(d, m)` population
//! gradient flow and online SGD, to test the `d → ∞, m → ∞` limit (model.md §1, §3, §4).
//!
//! A width-`m` network `f(x) = (1/m) Σ_i a_i σ_K(<w_i, x>)` with `|w_i| = 1` in `R^d`
//! learns `y = φ(<u*, x>)`, `x ~ N(0, I_d)`, `u* = e_1`. Its population risk is exact for
//! every `d` and `m`,
//!
//! ```text
//!   R = ½‖φ‖² − (1/m) Σ_i a_i V(s_i) + (1/(2m²)) Σ_{i,j} a_i a_j U(<w_i, w_j>),
//!   V(s) = Σ_k φ_k σ_k s^k,   U(ρ) = Σ_k σ_k² ρ^k,   s_i = <w_i, u*>,
//! ```
//!
//! and the gradient flow `ε da_i/dt = −m ∂R/∂a_i`, `dw_i/dt = −m (I − w_i w_iᵀ) ∇_{w_i} R`
//! is integrated by [`PopulationFlow`] (an IMEX additive Runge–Kutta method: `a`, the fast
//! and linear part, implicitly with one SPD solve per stage; `W` explicitly; error control;
//! projection to the sphere; a check that `R` never increases). [`Sgd`] runs online SGD on
//! fresh Gaussian samples with steps `η/ε` and `η`, reporting the exact population risk.
//! [`compare`] measures the distance to the limit risk curve, phase times and power-law
//! rates. The activation is the Hermite truncation `σ_K` of [`Model`] — the same
//! coefficients the limit flow uses — and the target energy beyond degree `K` is part of
//! every reported risk.
//!
//! When the network follows the limit: phase 1 is an instability seeded by `√ε (a − E a)`
//! in the limit but also by the initial overlaps `s_i(0) ~ 1/√d` in the network, so the
//! network's phase 1 comes early by about `(√ε/2|σ₁φ₁|) ln(1 + 1/(d ε Var a))`
//! ([`phase1_shift_prediction`]): the limit is reached only for `d ε Var a ≫ 1`, and
//! slowly before that. `results/convergence_public.csv` holds the measured table on the
//! public scenario (example `convergence`).
//!
//! ```
//! use timescales_network::{FlowOptions, InitialLaw, Model, NetworkState, PopulationFlow, SummaryRecorder};
//! let model = Model::new(&[1.0, 1.0, 0.5], &[0.0, 1.0, 0.5], 0.0)?;
//! let law = InitialLaw::Uniform { lo: -1.0, hi: 1.0 };
//! let mut state = NetworkState::random(16, 8, &law, 7)?;
//! let mut flow = PopulationFlow::new(model, 16, 8, FlowOptions::new(0.1))?;
//! let mut rec = SummaryRecorder::new();
//! flow.integrate(&mut state, 0.0, &[0.0, 0.5, 1.0], &mut rec)?;
//! let risk = rec.trajectory.column("risk").unwrap();
//! assert!(risk[2] <= risk[0]);
//! assert!(state.sphere_defect() < 1e-14);
//! # Ok::<(), timescales_network::NetworkError>(())
//! ```
#![warn(missing_docs)]

mod ark;
pub mod compare;
mod error;
mod flow;
mod model;
mod population;
mod record;
mod sgd;
mod state;

pub use compare::{
    LimitComparison, log_grid, midpoint_crossing, phase1_shift_prediction, sup_distance,
};
pub use error::NetworkError;
pub use flow::{FlowObserver, FlowOptions, FlowStats, PopulationFlow, Snapshot};
pub use model::Model;
pub use population::Population;
pub use record::{SUMMARY_COLUMNS, SummaryRecorder};
pub use sgd::{Sgd, SgdOptions, SgdStats};
pub use state::NetworkState;
pub use timescales_analysis::{PowerLawFit, fit_power_law};
pub use timescales_meanfield::InitialLaw;
pub use timescales_ode::Trajectory;
