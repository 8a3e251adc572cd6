//! The process's interrupt request: set once by a signal handler (SIGINT, SIGTERM), read by
//! the driver [`integrate`](crate::integrate) after every accepted step of every solver.
//!
//! A request is process-wide on purpose: a signal is delivered to the process, and every
//! integration running in it (the points of a parallel sweep, the inner problems of an
//! asymptotic study, the network simulator's own loop) must stop at its next step. An
//! integration that sees the request fails with
//! [`IntegrationError::Interrupted`](crate::IntegrationError::Interrupted); what it had
//! finished before is its caller's to keep. The `timescales` program installs the handler
//! (a second signal exits at once); a library user who wants the same calls [`request`]
//! from their own handler.
//!
//! ```
//! use timescales_ode::interrupt;
//! assert!(!interrupt::requested());
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every running integration to stop at its next step. Returns whether a request was
/// already pending (a second signal: the program's handler then exits at once).
pub fn request() -> bool {
    REQUESTED.swap(true, Ordering::SeqCst)
}

/// Whether an interrupt has been requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Withdraws the request (for a program that goes on after handling one, e.g. an
/// interactive session).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}
