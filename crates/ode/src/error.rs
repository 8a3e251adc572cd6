use thiserror::Error;

/// Why an integration stopped before reaching its last output time.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum IntegrationError {
    /// The step size fell below the smallest resolvable step at `t`.
    #[error(
        "step size collapsed at t = {t:e}: h = {h:e} < h_min = {h_min:e} after {rejections} consecutive rejections{last}"
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
        /// What the last rejected attempt saw.
        last: LastRejection,
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

/// What the last rejected attempt before a step-size collapse saw: the measure that failed
/// and how far from passing it was, so that a collapse at the rounding floor can be told
/// from one at a singularity.
///
/// ```
/// use timescales_ode::LastRejection;
/// let last = LastRejection::Newton { smallest_correction: 0.12, tolerance: 2.2e-5 };
/// assert!(last.to_string().contains("no smaller than 1.20e-1"));
/// assert_eq!(LastRejection::None.to_string(), "");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum LastRejection {
    /// Nothing recorded: no attempt was rejected at this `t` (the step size was below the
    /// floor already), or the last one had a non-finite stage.
    None,
    /// The error test: the local error estimate in the weighted RMS norm
    /// `(Σ_i (e_i / (atol + rtol |u_i|))² / n)^{1/2}` (≤ 1 passes; infinite when it
    /// overflowed).
    ErrorTest {
        /// The estimate.
        error_norm: f64,
    },
    /// The Newton iteration did not converge: the smallest correction `‖Δ‖` it reached over
    /// the attempt's iterations (weighted RMS norm, as the error test's) and the tolerance
    /// the convergence test needed.
    Newton {
        /// The smallest correction.
        smallest_correction: f64,
        /// The Newton tolerance.
        tolerance: f64,
    },
    /// The attempt carried a component out of the system's domain.
    Domain,
}

impl std::fmt::Display for LastRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            LastRejection::None => Ok(()),
            LastRejection::ErrorTest { error_norm } => write!(
                f,
                "; the last attempt failed the error test with a local error estimate of \
                 {error_norm:.2e} (weighted RMS; ≤ 1 passes)"
            ),
            LastRejection::Newton {
                smallest_correction,
                tolerance,
            } => write!(
                f,
                "; the last attempt's Newton corrections got no smaller than \
                 {smallest_correction:.2e} (weighted RMS) where {tolerance:.2e} was needed: \
                 corrections that stay near one level while h shrinks are the rounding noise \
                 of the right-hand side, above what rtol and atol ask (loosen them)"
            ),
            LastRejection::Domain => {
                write!(f, "; the last attempt left the system's domain")
            }
        }
    }
}
