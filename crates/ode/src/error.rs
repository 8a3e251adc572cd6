use thiserror::Error;

/// Why an integration stopped before reaching its last output time.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum IntegrationError {
    /// The step size fell below the smallest resolvable step at `t`.
    #[error(
        "step size collapsed at t = {t:e}: h = {h:e} < h_min = {h_min:e} after {rejections} consecutive rejections"
    )]
    StepSizeCollapse {
        /// Time reached.
        t: f64,
        /// Last step size tried.
        h: f64,
        /// Smallest step allowed there.
        h_min: f64,
        /// Consecutive rejected steps before giving up.
        rejections: usize,
    },
    /// The first step size came out zero (or not finite): `F(u0)` is so large relative to the
    /// tolerance scales `atol + rtol |u0|` that no representable step meets them.
    #[error(
        "no usable first step at t = {t:e} (h = {h:e}): the right-hand side at the initial state \
         is too large for double precision at these tolerances; rescale the problem or relax \
         atol"
    )]
    FirstStep {
        /// Initial time.
        t: f64,
        /// The first step size computed.
        h: f64,
    },
    /// The state or a stage became NaN or infinite and shrinking the step did not help.
    #[error("non-finite value in component {component} at t = {t:e} (step h = {h:e})")]
    NonFinite {
        /// Time reached.
        t: f64,
        /// Index of the first non-finite component.
        component: usize,
        /// Step size at which it happened.
        h: f64,
    },
    /// More steps were needed than allowed.
    #[error("step limit of {max_steps} reached at t = {t:e}")]
    MaxSteps {
        /// Time reached.
        t: f64,
        /// The limit.
        max_steps: usize,
    },
    /// The Newton matrix `c·I − J` could not be factored.
    #[error("singular Newton matrix at t = {t:e} (shift c = {shift:e}): {reason}")]
    SingularMatrix {
        /// Time reached.
        t: f64,
        /// The shift `c = 1/(γh)`.
        shift: f64,
        /// What the linear solver said.
        reason: String,
    },
    /// An explicit method detected stiffness (Hairer's test: `h·ρ(J)` stayed near the
    /// stability boundary for many steps) and stopped; use a stiff method.
    #[error(
        "the problem became stiff at t = {t:e} after {steps} steps: use a stiff method (rodas4 or bdf)"
    )]
    Stiff {
        /// Time reached.
        t: f64,
        /// Accepted steps so far.
        steps: usize,
    },
    /// The process was asked to stop ([`crate::interrupt`]: SIGINT or SIGTERM); the
    /// integration stopped after its step to `t`.
    #[error("interrupted at t = {t:e}")]
    Interrupted {
        /// Time reached.
        t: f64,
    },
    /// Invalid arguments (output times not increasing, non-positive tolerance, ...).
    #[error("invalid integration request: {0}")]
    InvalidRequest(String),
}
