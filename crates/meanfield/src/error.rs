use thiserror::Error;
use timescales_ode::{IntegrationError, SolverStats};

/// An invariant of the flow that a run found broken.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Invariant {
    /// The risk increased by more than the integration tolerance allows.
    RiskIncrease {
        /// Risk before the step.
        before: f64,
        /// Risk after the step.
        after: f64,
        /// Allowed increase.
        slack: f64,
    },
    /// A particle left `[−1, 1]`.
    OverlapOutOfRange {
        /// Particle index.
        particle: usize,
        /// Its `s`.
        s: f64,
    },
}

/// Errors of the full-ODE crate.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum FlowError {
    /// A parameter is invalid; `key` names it as in a scenario file (`run.epsilon`, …).
    #[error("invalid `{key}`: {reason}")]
    InvalidParameter {
        /// Scenario key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The integrator failed.
    #[error(
        "integration of the full ODE failed (ε = {eps:e}, N = {particles}; after {stats}): {source}"
    )]
    Integration {
        /// `ε` of the run.
        eps: f64,
        /// Particle count.
        particles: usize,
        /// The integrator's error.
        #[source]
        source: IntegrationError,
        /// The integrator's work up to the failure (rejections by cause; boxed to keep the
        /// error small).
        stats: Box<SolverStats>,
    },
    /// An invariant was violated at time `t`: a bug or a tolerance too loose.
    #[error("invariant violated at t = {t:e}: {invariant:?}")]
    InvariantViolated {
        /// Time of the violation.
        t: f64,
        /// Which invariant, with the offending values.
        invariant: Invariant,
    },
}
