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
//! `O(N K)` with a Woodbury identity) or take from the dense adapter [`DenseSlowFast`].
//!
//! **One integrator interface.** Every integrator is a [`Solver`]: a value that owns its
//! system, exposes its time, state and work counters at any moment, advances one accepted
//! step per [`Solver::step`], never passes its stop time, and gives the dense output of its
//! last step ([`Solver::interpolate`]):
//! - [`Rodas4`]: the stiffly accurate, L-stable Rosenbrock method RODAS of Hairer & Wanner
//!   (order 4, embedded order 3, continuous extension of order 3);
//! - [`Bdf`]: the variable-order (1–5), variable-step NDF/BDF of Shampine & Reichelt (a
//!   port of scipy's `BDF`), with Jacobian and factorization reuse and interpolated output;
//! - [`Dopri5`], [`Dop853`]: the explicit Dormand–Prince pairs of Hairer's `dopri5.f` and
//!   `dop853.f`, with their dense outputs and stiffness detection.
//!
//! [`Method`] names them (for scenario files and command lines). The driver
//! [`integrate`] owns the loop: output times, [`Event`]s (roots of functions of the state,
//! located on the dense output, with a direction, terminal or not), and an [`Observer`] that
//! records and may stop the run; a stop or an event is an [`Outcome`], a failure an
//! [`IntegrationError`] with the time where it happened (step-size collapse, non-finite
//! state, step limit, singular Newton matrix, stiffness under an explicit method), or the
//! process's [`interrupt`] request (SIGINT, SIGTERM), seen after every accepted step.
#![warn(missing_docs)]

mod bdf;
mod dopri;
mod driver;
mod error;
mod event;
pub mod interrupt;
mod method;
mod observer;
mod rodas;
mod solver;
mod system;
#[cfg(test)]
mod test_systems;

pub use bdf::Bdf;
pub use dopri::{Dop853, Dopri5};
pub use driver::{Outcome, Stop, integrate, log_grid};
pub use error::{IntegrationError, LastRejection};
pub use event::{Direction, Event, EventHit};
pub use method::Method;
pub use observer::{Observer, Recorder, Trajectory};
pub use rodas::Rodas4;
pub use solver::{Clock, OutputMode, Rejection, Solver, SolverOptions, SolverStats};
pub use system::{
    DenseSlowFast, JacobianBlocks, Linearization, NewtonCorrection, OdeSystem, SlowFastSystem,
    finite_difference_blocks,
};
