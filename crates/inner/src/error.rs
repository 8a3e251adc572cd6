use thiserror::Error;
use timescales_ode::IntegrationError;
use timescales_outer::OuterError;

/// Why an inner problem (a boundary layer, or a problem that blows up) could not be solved.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum InnerError {
    /// The fast variables did not reach the slow manifold before `τ_max`.
    #[error(
        "layer at t0 = {t0} did not reach the slow manifold by tau = {tau:e} (distance {distance:e})"
    )]
    NotConverged {
        /// Start of the layer.
        t0: f64,
        /// Stretched time reached.
        tau: f64,
        /// Newton distance to the manifold there.
        distance: f64,
    },
    /// Where the layer ended, `∂f/∂y` is singular or not finite: there is no isolated slow
    /// manifold to relax to (`f ≡ 0` in some direction, a degenerate root, …).
    #[error(
        "layer at t0 = {t0}: at tau = {tau:e} the fast Jacobian ∂f/∂y is singular or not finite, so \
         the fast variables have no isolated slow manifold to relax to (is f degenerate, e.g. \
         identically zero in some fast variable?)"
    )]
    SingularFast {
        /// Start of the layer.
        t0: f64,
        /// Stretched time of the last check.
        tau: f64,
    },
    /// The layer settled on a point of the critical manifold that is not attracting.
    #[error(
        "layer at t0 = {t0} ends at x = {x:?}, y = {y:?}, which is not attracting (max Re λ(∂f/∂y) = {max_real:e})"
    )]
    NotAttracting {
        /// Start of the layer.
        t0: f64,
        /// Frozen slow state.
        x: Vec<f64>,
        /// Limit of the fast state.
        y: Vec<f64>,
        /// Largest real part of the eigenvalues of `∂f/∂y`.
        max_real: f64,
    },
    /// Polishing the limit on the manifold failed.
    #[error("layer at t0 = {t0}: its limit on the slow manifold could not be computed")]
    Manifold {
        /// Start of the layer.
        t0: f64,
        /// What the outer machinery said.
        #[source]
        source: OuterError,
    },
    /// The layer integration failed.
    #[error("layer at t0 = {t0}: integration failed")]
    Integration {
        /// Start of the layer.
        t0: f64,
        /// What the integrator said.
        #[source]
        source: IntegrationError,
    },
    /// An inner problem expected to blow up stayed bounded.
    #[error(
        "the inner problem did not blow up by tau = {tau_max} (largest component {largest:e} < {threshold:e})"
    )]
    NoBlowup {
        /// Blow-up time `τ` reached.
        tau_max: f64,
        /// Largest `|U_i|` there.
        largest: f64,
        /// The threshold that counts as the blow-up.
        threshold: f64,
    },
    /// The integration of an inner problem that should blow up failed before it did.
    #[error("inner problem: integration failed")]
    Blowup {
        /// What the integrator said.
        #[source]
        source: IntegrationError,
    },
    /// Invalid arguments (dimensions, tolerances).
    #[error("invalid inner-problem request: {0}")]
    InvalidRequest(String),
}
