//! Slow–fast systems and the integrators that advance them.
//!
//! A slow–fast (Tikhonov) system is
//!
//! ```text
//!     x' = g(x, y, ε)        (x: slow)
//!   ε y' = f(x, y, ε)        (y: fast)
//! ```
//!
//! and every solver of the workspace — direct integration, the reduced (outer) solver and
//! the boundary-layer (inner) solver — accepts it through [`SlowFastSystem`]. For direct
//! integration the pair is seen as one ODE `u' = F(u)` with `u = (x, y)` ([`OdeSystem`]);
//! implicit methods also need the linear solves `(c·I − ∂F/∂u) z = b` ([`Linearization`]),
//! which a system may implement with its own structure (the two-layer model does it in
//! `O(N K²)` with a Woodbury identity) or take from the dense adapter [`DenseSlowFast`].
//!
//! The integrators:
//! - [`Rodas4`]: the stiffly accurate, L-stable Rosenbrock method RODAS of Hairer & Wanner
//!   (order 4, embedded order 3), with error control and output at requested times;
//! - [`Bdf`]: the variable-order (1–5), variable-step NDF/BDF of Shampine & Reichelt (a
//!   port of scipy's `BDF`), with Jacobian and factorization reuse and interpolated output:
//!   about 3 right-hand sides and solves per step, a Jacobian every few steps, and far fewer
//!   steps than RODAS on strongly stiff slow–fast problems, where RODAS loses order (but a
//!   global error further above rtol);
//! - [`integrate_explicit`]: ode_solvers' Dopri5 / Dop853 for non-stiff runs.
//!
//! All report failures (step-size collapse, non-finite state, step limit, singular
//! linear solve, a stop requested by an observer) as [`IntegrationError`] with the time
//! where it happened.
#![warn(missing_docs)]

mod bdf;
mod dopri;
mod driver;
mod event;
mod method;
mod error;
mod explicit;
mod observer;
mod rodas;
mod solver;
mod system;
#[cfg(test)]
mod test_systems;

pub use bdf::Bdf;
pub use dopri::{Dop853, Dopri5};
pub use error::IntegrationError;
pub use explicit::{ExplicitMethod, integrate_explicit};
pub use observer::{Observer, Recorder, Trajectory};
pub use driver::{Outcome, Stop, integrate};
pub use event::{Direction, Event, EventHit};
pub use method::Method;
pub use rodas::Rodas4;
pub use solver::{OutputMode, Solver, SolverOptions, SolverStats};
pub use system::{
    DenseSlowFast, JacobianBlocks, Linearization, OdeSystem, SlowFastSystem,
    finite_difference_blocks,
};
