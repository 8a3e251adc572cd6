use thiserror::Error;
use timescales_inner::InnerError;
use timescales_ode::IntegrationError;
use timescales_outer::OuterError;

/// Why a matching study failed.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum MatchingError {
    /// The reduced (outer) problem failed (a fold inside `[0, T]`, a repelling branch, …).
    #[error("outer (reduced) solution failed")]
    Outer(#[from] OuterError),
    /// A boundary layer failed.
    #[error("inner (layer) solution failed")]
    Inner(#[from] InnerError),
    /// The direct integration failed at this ε.
    #[error("direct integration at eps = {eps:e} failed")]
    Direct {
        /// ε.
        eps: f64,
        /// What the integrator said.
        #[source]
        source: IntegrationError,
    },
    /// A value needed at time `t` (or stretched time `tau`) was not computed.
    #[error("missing {what} at t = {t:e}")]
    Missing {
        /// Which solution.
        what: String,
        /// Time.
        t: f64,
    },
    /// A fold without the normal form of a jump (`∂f/∂y` without a simple zero singular
    /// value, or `A B ≤ 0`).
    #[error("degenerate fold at x = {x:?}, y = {y:?}: {reason}")]
    DegenerateFold {
        /// Slow state.
        x: Vec<f64>,
        /// Fast state.
        y: Vec<f64>,
        /// Why.
        reason: String,
    },
    /// No periodic relaxation oscillation was found (no fold, an impasse, folds that do not
    /// recur, a direct solution that does not come back).
    #[error("no relaxation cycle: {reason}")]
    NotPeriodic {
        /// Why.
        reason: String,
    },
    /// Invalid arguments.
    #[error("invalid matching request: {0}")]
    InvalidRequest(String),
}
