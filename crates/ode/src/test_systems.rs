//! Small systems with known behaviour, shared by the integrators' unit tests.

use crate::{IntegrationError, SlowFastSystem};

/// `x' = −x`, `ε y' = −(y − x)`: `x = e^{−t}`,
/// `y = e^{−t}/(1−ε) + (y0 − 1/(1−ε)) e^{−t/ε}` ([`exact_y`], closed form).
pub(crate) struct Linear;

impl SlowFastSystem for Linear {
    fn slow_dim(&self) -> usize {
        1
    }
    fn fast_dim(&self) -> usize {
        1
    }
    fn slow_field(&self, x: &[f64], _y: &[f64], _e: f64, out: &mut [f64]) {
        out[0] = -x[0];
    }
    fn fast_field(&self, x: &[f64], y: &[f64], _e: f64, out: &mut [f64]) {
        out[0] = -(y[0] - x[0]);
    }
}

/// The fast component of [`Linear`] from `y(0) = y0`.
pub(crate) fn exact_y(t: f64, eps: f64, y0: f64) -> f64 {
    let c = 1.0 / (1.0 - eps);
    c * (-t).exp() + (y0 - c) * (-t / eps).exp()
}

/// `u' = u²`, which from `u(0) = 1` blows up at `t = 1`.
pub(crate) struct BlowUp;

impl SlowFastSystem for BlowUp {
    fn slow_dim(&self) -> usize {
        1
    }
    fn fast_dim(&self) -> usize {
        0
    }
    fn slow_field(&self, x: &[f64], _y: &[f64], _e: f64, out: &mut [f64]) {
        out[0] = x[0] * x[0];
    }
    fn fast_field(&self, _x: &[f64], _y: &[f64], _e: f64, _out: &mut [f64]) {}
}

/// Asserts that an integration of [`BlowUp`] from `u(0) = 1` failed with a typed error near
/// `t = 1` (step-size collapse, a non-finite state or the step limit), not with a result.
pub(crate) fn assert_fails_at_blow_up<T: std::fmt::Debug>(r: Result<T, IntegrationError>) {
    match r {
        Err(IntegrationError::StepSizeCollapse { t, .. })
        | Err(IntegrationError::NonFinite { t, .. })
        | Err(IntegrationError::MaxSteps { t, .. }) => {
            assert!((t - 1.0).abs() < 1e-2, "failed at t = {t}")
        }
        other => panic!("expected a failure near t = 1, got {other:?}"),
    }
}
