//! The crate's error type.

use thiserror::Error;

/// Everything that can stop a network simulation.
///
/// Every variant says where: the time and step of the integration, the neuron or
/// parameter involved, the values compared.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum NetworkError {
    /// A parameter is out of its domain (non-positive `ε`, empty coefficient list, `d = 0`, …).
    #[error("invalid parameter {what} = {value}: {reason}")]
    InvalidParameter {
        /// Which parameter.
        what: &'static str,
        /// Its value, printed.
        value: String,
        /// What is required of it.
        reason: &'static str,
    },
    /// The law of the initial second-layer weights is invalid (the error names the key).
    #[error("initial law: {0}")]
    Law(#[from] timescales_meanfield::FlowError),
    /// The Hermite kernels could not be built from the coefficients.
    #[error("kernels: {0}")]
    Kernels(#[from] timescales_hermite::HermiteError),
    /// A state component became NaN or infinite.
    #[error("non-finite {what} of neuron {neuron} at t = {t:e} (step {step})")]
    NonFinite {
        /// Time reached.
        t: f64,
        /// Accepted steps so far.
        step: usize,
        /// `"a"`, `"w"`, `"risk"`, ….
        what: &'static str,
        /// Index of the neuron (0 for a scalar such as the risk).
        neuron: usize,
    },
    /// Online SGD blew up: a state component or the risk became NaN or infinite. The
    /// second layer steps with `η/ε`, explicitly, so `η` must stay below about `2ε/U(1)`.
    #[error(
        "SGD diverged at t = {t:e} (step {step}): non-finite {what} of neuron {neuron}; the \
         second layer steps with η/ε = {fast_step:e}, beyond its stability limit ~ 2/U(1): \
         lower η (below about ε)"
    )]
    SgdDiverged {
        /// Time reached.
        t: f64,
        /// SGD iterations so far.
        step: usize,
        /// `"a"`, `"w"` or `"risk"`.
        what: &'static str,
        /// Index of the neuron (0 for the risk).
        neuron: usize,
        /// The second layer's step `η/ε`.
        fast_step: f64,
    },
    /// The risk increased by more than the tolerance over one step: the flow is a gradient
    /// flow, so this is an integration (or step-size) failure.
    #[error(
        "risk increased at t = {t:e} (step {step}): {before:.15e} -> {after:.15e} \
         (allowed increase {allowed:e})"
    )]
    RiskIncreased {
        /// Time at the end of the offending step.
        t: f64,
        /// Step (or SGD iteration) index.
        step: usize,
        /// Risk before the step.
        before: f64,
        /// Risk after the step.
        after: f64,
        /// Largest increase tolerated.
        allowed: f64,
    },
    /// The step size fell below the smallest step allowed.
    #[error(
        "step size collapsed at t = {t:e}: h = {h:e} < h_min = {h_min:e} \
         after {rejections} consecutive rejections"
    )]
    StepSizeCollapse {
        /// Time reached.
        t: f64,
        /// Last step size tried.
        h: f64,
        /// Smallest step allowed there.
        h_min: f64,
        /// Consecutive rejections.
        rejections: usize,
    },
    /// More steps were needed than allowed.
    #[error("step limit of {max_steps} reached at t = {t:e}")]
    MaxSteps {
        /// Time reached.
        t: f64,
        /// The limit.
        max_steps: usize,
    },
    /// The implicit stage matrix `ε I + h γ U(G)/m` was not positive definite.
    #[error("implicit stage {stage} at t = {t:e} (h = {h:e}): Cholesky factorization failed")]
    SingularStage {
        /// Time at the start of the step.
        t: f64,
        /// Step size tried.
        h: f64,
        /// Stage index.
        stage: usize,
    },
    /// An observer asked to stop.
    #[error("stopped by an observer at t = {t:e}")]
    StoppedByObserver {
        /// Time of the observation.
        t: f64,
    },
    /// The process was asked to stop (`timescales_ode::interrupt`: SIGINT or SIGTERM).
    #[error("interrupted at t = {t:e}")]
    Interrupted {
        /// Time reached.
        t: f64,
    },
    /// Two inputs that must agree do not (lengths of curves, shapes of states, …).
    #[error("mismatch in {what}: expected {expected}, got {got}")]
    Mismatch {
        /// What was compared.
        what: &'static str,
        /// The expected size.
        expected: usize,
        /// The size found.
        got: usize,
    },
    /// A fit or a comparison had too little data.
    #[error("{what}: need at least {needed} points, got {got}")]
    TooFewPoints {
        /// Which computation.
        what: &'static str,
        /// Points needed.
        needed: usize,
        /// Points available.
        got: usize,
    },
}
