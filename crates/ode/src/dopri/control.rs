//! Step-size control and stiffness detection shared by the pairs.

/// Safety factor of the step-size prediction (`SAFE` in Hairer's codes).
const SAFETY: f64 = 0.9;
/// The stiffness test runs after every `STIFFNESS_PERIOD`-th accepted step (`NSTIFF`), and
/// after every step while some stiff steps are on record.
const STIFFNESS_PERIOD: usize = 1000;
/// Stiff verdicts (without [`NON_STIFF_RESET`] non-stiff ones in between) that stop the run.
const STIFF_VERDICTS: usize = 15;
/// Consecutive non-stiff verdicts that clear the record.
const NON_STIFF_RESET: usize = 6;

/// Hairer's PI step-size controller (§II.4 and §IV.2, "stabilized step size control"):
///
/// ```text
///   fac = clamp(err^α / err_old^β / SAFETY, 1/fac_max, 1/fac_min),   h_new = h / fac,
/// ```
///
/// with `err_old = max(err, 1e-4)` of the last accepted step; a rejected step is retried with
/// `h / min(1/fac_min, err^α / SAFETY)`, and the step after a rejection may not grow.
pub(crate) struct Controller {
    /// Exponent `α` of the current error (`1/5 − 0.75 β` for Dopri5, `1/8` for Dop853).
    alpha: f64,
    /// Exponent `β` of the previous accepted error (0.04 for Dopri5, 0 for Dop853).
    beta: f64,
    /// Smallest ratio `h_new / h` (0.2, 0.333).
    fac_min: f64,
    /// Largest ratio `h_new / h` (10, 6).
    fac_max: f64,
    /// `max(err, 1e-4)` of the last accepted step (`FACOLD`).
    err_old: f64,
    /// The last attempt was rejected (`REJECT`).
    after_rejection: bool,
}

/// The controller's decision on an attempt.
pub(super) enum Verdict {
    /// Keep the step; try `h_next` next.
    Accept { h_next: f64 },
    /// Retry with `h_retry`.
    Reject { h_retry: f64 },
}

impl Controller {
    /// A controller with exponents `α`, `β` and step ratios in `[fac_min, fac_max]`.
    pub(super) fn new(alpha: f64, beta: f64, fac_min: f64, fac_max: f64) -> Self {
        Self {
            alpha,
            beta,
            fac_min,
            fac_max,
            err_old: 1e-4,
            after_rejection: false,
        }
    }

    /// The verdict on an attempt of size `h` with error norm `err` (finite).
    pub(super) fn judge(&self, err: f64, h: f64) -> Verdict {
        let fac11 = err.powf(self.alpha);
        if err <= 1.0 {
            let fac = (fac11 / self.err_old.powf(self.beta) / SAFETY)
                .clamp(1.0 / self.fac_max, 1.0 / self.fac_min);
            let h_next = h / fac;
            Verdict::Accept {
                h_next: if self.after_rejection {
                    h_next.min(h)
                } else {
                    h_next
                },
            }
        } else {
            Verdict::Reject {
                h_retry: h / (1.0 / self.fac_min).min(fac11 / SAFETY),
            }
        }
    }

    /// Records an accepted step with error norm `err`.
    pub(super) fn accepted(&mut self, err: f64) {
        self.err_old = err.max(1e-4);
        self.after_rejection = false;
    }

    /// Records a rejected attempt (by the error test or a non-finite value).
    pub(super) fn rejected(&mut self) {
        self.after_rejection = true;
    }
}

/// Hairer's stiffness detection (§IV.2, "Automatic stiffness detection"): `h·ρ`, with
/// `ρ ≈ ‖F(u_new) − F(y_s)‖ / ‖u_new − y_s‖` a Lipschitz estimate along the last stage,
/// stays near the stability boundary when the step size is limited by stability rather than
/// accuracy. Tested every [`STIFFNESS_PERIOD`] accepted steps, and after every step while
/// stiff verdicts are on record; [`STIFF_VERDICTS`] of them without [`NON_STIFF_RESET`]
/// consecutive non-stiff ones in between stop the integration.
pub(crate) struct StiffnessTest {
    /// The pair's bound on `h·ρ`.
    bound: f64,
    /// Stiff verdicts on record (`IASTI`).
    stiff: usize,
    /// Consecutive non-stiff verdicts (`NONSTI`).
    non_stiff: usize,
}

impl StiffnessTest {
    pub(super) fn new(bound: f64) -> Self {
        Self {
            bound,
            stiff: 0,
            non_stiff: 0,
        }
    }

    /// Whether the step that would be the `accepted`-th is tested.
    pub(super) fn due(&self, accepted: usize) -> bool {
        accepted.is_multiple_of(STIFFNESS_PERIOD) || self.stiff > 0
    }

    /// Records `h·ρ` of an accepted step; `true` when the problem is declared stiff.
    pub(super) fn record(&mut self, h_rho: f64) -> bool {
        if h_rho > self.bound {
            self.non_stiff = 0;
            self.stiff += 1;
            self.stiff >= STIFF_VERDICTS
        } else {
            self.non_stiff += 1;
            if self.non_stiff >= NON_STIFF_RESET {
                self.stiff = 0;
            }
            false
        }
    }
}

/// `ρ = ‖f_a − f_b‖₂ / ‖u_a − u_b‖₂`, or 0 when `u_a = u_b`.
pub(super) fn lipschitz_estimate(f_a: &[f64], f_b: &[f64], u_a: &[f64], u_b: &[f64]) -> f64 {
    let sq = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum() };
    let den = sq(u_a, u_b);
    if den > 0.0 {
        (sq(f_a, f_b) / den).sqrt()
    } else {
        0.0
    }
}
