use thiserror::Error;
use timescales_ode::IntegrationError;

use crate::{FoldEvent, ImpasseEvent};

/// Why the reduced problem could not be solved.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum OuterError {
    /// Newton's method on `f(x, y, 0) = 0` did not converge.
    #[error(
        "Newton on the slow manifold failed at x = {x:?} (last y = {y:?}, |f| = {residual:e}, {iterations} iterations): {reason}"
    )]
    NewtonFailed {
        /// Slow state.
        x: Vec<f64>,
        /// Last iterate.
        y: Vec<f64>,
        /// Max-norm of `f` at the last iterate.
        residual: f64,
        /// Iterations done.
        iterations: usize,
        /// What stopped it.
        reason: String,
    },
    /// `∂f/∂y` is singular at the point (a fold of the critical manifold, or a degenerate
    /// branch).
    #[error("∂f/∂y is singular at x = {x:?}, y = {y:?}")]
    SingularFastJacobian {
        /// Slow state.
        x: Vec<f64>,
        /// Fast state.
        y: Vec<f64>,
    },
    /// The branch the initial guess converged to is not attracting.
    #[error(
        "the branch through x = {x:?}, y = {y:?} is not attracting at t = {t}: largest real part of the eigenvalues of ∂f/∂y is {max_real:e}"
    )]
    NotAttracting {
        /// Time.
        t: f64,
        /// Slow state.
        x: Vec<f64>,
        /// Fast state on the branch.
        y: Vec<f64>,
        /// Largest real part of the eigenvalues of `∂f/∂y`.
        max_real: f64,
    },
    /// The reduced flow lost normal hyperbolicity before the last output time.
    #[error("{0}")]
    Fold(Box<FoldEvent>),
    /// The reduced flow met an impasse (the branch or the slow flow ran away where `∂f/∂y`
    /// is regular) before the last output time.
    #[error("{0}")]
    Impasse(Box<ImpasseEvent>),
    /// The eigenvalue computation did not converge (or met non-finite entries).
    #[error("eigenvalues of ∂f/∂y could not be computed at x = {x:?}, y = {y:?}")]
    Eigenvalues {
        /// Slow state.
        x: Vec<f64>,
        /// Fast state.
        y: Vec<f64>,
    },
    /// The integrator failed for another reason.
    #[error("the reduced flow could not be integrated")]
    Integration(#[from] IntegrationError),
    /// Invalid arguments (dimensions, times).
    #[error("invalid reduced-problem request: {0}")]
    InvalidRequest(String),
}
