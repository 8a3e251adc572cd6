//! The mean-field two-layer flow — the "full ODE" of singular-perturbation language: the
//! `d → ∞, m → ∞` limit of a two-layer network trained by gradient flow with a second layer
//! `1/ε` times faster, over weighted particles `(a_i, s_i)` (model.md §4), integrated
//! directly.
//!
//! ```text
//!   ε da_i/dt = Σ_k σ_k r_k s_i^k,   ds_i/dt = (1 − s_i²) a_i Σ_k k σ_k r_k s_i^{k−1},
//!   r_k = φ_k − σ_k M_k,   M_k = Σ_i w_i a_i s_i^k,   R = ½ Σ_k r_k² + ½ Σ_{k>K} φ_k².
//! ```
//!
//! [`TwoLayerFlow`] is the system (with a Jacobian kept as diagonal blocks plus a rank-`K`
//! coupling, so an implicit step costs `O(N K²)`); [`FlowProblem`] is a fully specified run
//! and [`simulate`] integrates it with RODAS4 by default (or the faster, less accurate
//! variable-order BDF, or an explicit method; see [`Method`]), checking the invariants
//! (risk never increases, `|s| ≤ 1`) along the way and recording `t, risk, r_k, M_k,
//! max|a|, max|s|` at the requested times.
#![warn(missing_docs)]

mod error;
mod law;
mod model;
mod run;

pub use error::{FlowError, Invariant};
pub use law::{InitialLaw, Particles, Placement};
pub use model::TwoLayerFlow;
pub use run::{
    FlowProblem, FlowRun, MIN_EPSILON, OutputTimes, ParticleStates, column_names, simulate,
    simulate_with, simulate_with_particles,
};
pub use timescales_ode::Method;
