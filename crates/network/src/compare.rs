//! Comparing risk curves: log-time grids, sup distance, phase times, power-law fits.

use timescales_analysis::interp_log_time;

use crate::NetworkError;

/// `n ≥ 2` points log-spaced from `t_min > 0` to `t_max` ([`timescales_ode::log_grid`]).
///
/// # Errors
/// [`NetworkError::InvalidParameter`] unless `0 < t_min < t_max` and `n ≥ 2`.
pub fn log_grid(t_min: f64, t_max: f64, n: usize) -> Result<Vec<f64>, NetworkError> {
    timescales_ode::log_grid(t_min, t_max, n).map_err(|_| NetworkError::InvalidParameter {
        what: "log grid",
        value: format!("[{t_min}, {t_max}] with {n} points"),
        reason: "needs 0 < t_min < t_max and at least 2 points",
    })
}

/// `sup_{t ∈ grid} |a(t) − b(t)|` over the grid points inside both curves' ranges, with
/// the time where it is attained.
///
/// # Errors
/// [`NetworkError::TooFewPoints`] when no grid point lies in both ranges.
pub fn sup_distance(
    ta: &[f64],
    ra: &[f64],
    tb: &[f64],
    rb: &[f64],
    grid: &[f64],
) -> Result<(f64, f64), NetworkError> {
    let mut best: Option<(f64, f64)> = None;
    for &t in grid {
        if let (Some(x), Some(y)) = (interp_log_time(ta, ra, t), interp_log_time(tb, rb, t)) {
            let dist = (x - y).abs();
            if best.is_none_or(|(b, _)| dist > b) {
                best = Some((dist, t));
            }
        }
    }
    best.ok_or(NetworkError::TooFewPoints {
        what: "sup distance on the common grid",
        needed: 1,
        got: 0,
    })
}

/// The first time the risk curve `(t, r)` falls below the midpoint `(hi + lo)/2` of two
/// plateau levels (interpolated in `log t`, [`timescales_analysis::crossing_time`]), e.g. the
/// phase-1 time with `hi = R_0`, `lo = R_1` (`R_l = ½ Σ_{k>l} φ_k²`, model.md §5); the first
/// time if the curve starts below. `None` if it never falls below.
pub fn midpoint_crossing(t: &[f64], r: &[f64], hi: f64, lo: f64) -> Option<f64> {
    let level = 0.5 * (hi + lo);
    if *r.first()? <= level {
        return t.first().copied();
    }
    timescales_analysis::crossing_time(t, r, level)
}

/// Predicted shift of the phase-1 time of a width-∞, dimension-`d` network relative to the
/// limit, from the linearized phase 1 (model.md §5):
///
/// ```text
///   δt₁ ≈ −(√ε / (2 |σ₁φ₁|)) · ln(1 + 1/(d ε Var a(0))).
/// ```
///
/// In the limit the unstable mode is seeded by `√ε (a − E a)`; in the network the initial
/// overlaps `s_i(0) ~ N(0, 1/d)` seed it too, so `M_1 ∝ sinh cosh(λt) · (√ε Var a + E s(0)²/√ε)`
/// with `λ = |σ₁φ₁|/√ε` grows from an amplitude larger by `1 + 1/(d ε Var a)`, and reaches
/// order one earlier by `ln(that)/(2λ)`. The network is in the limit's regime only when
/// `d ε Var a ≫ 1`; there `δt₁ ≈ −√ε/(2|σ₁φ₁| d ε Var a) = O(1/d)`. Returns `None` unless
/// `ε, d, Var a, |σ₁φ₁|` are positive.
pub fn phase1_shift_prediction(eps: f64, d: usize, var_a: f64, sigma1_phi1: f64) -> Option<f64> {
    let c = sigma1_phi1.abs();
    if !(eps > 0.0 && var_a > 0.0 && c > 0.0) || d == 0 {
        return None;
    }
    Some(-(eps.sqrt() / (2.0 * c)) * (1.0 / (d as f64 * eps * var_a)).ln_1p())
}

/// Index of the first positive time (the length when there is none).
fn first_positive(t: &[f64]) -> usize {
    t.iter().position(|&x| x > 0.0).unwrap_or(t.len())
}

/// A finite network's risk curve set against the limit flow's, on the network's output
/// times: the sup distance, the phase-1 times of both (midpoint crossings between `R_0` and
/// `R_1`), and the phase-1 time predicted from the overlaps' seeding of phase 1.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitComparison {
    /// Input dimension.
    pub d: usize,
    /// Width.
    pub m: usize,
    /// Output times.
    pub t: Vec<f64>,
    /// The network's risk.
    pub risk: Vec<f64>,
    /// The limit's risk at the same times (log-time interpolation).
    pub risk_limit: Vec<f64>,
    /// `max_i |s_i|` of the network.
    pub max_abs_overlap: Vec<f64>,
    /// `sup_t |R_network − R_limit|` over the positive output times.
    pub sup_distance: f64,
    /// Where the sup is attained.
    pub t_sup: f64,
    /// The network's phase-1 time.
    pub t1_network: Option<f64>,
    /// The limit's phase-1 time.
    pub t1_limit: Option<f64>,
    /// The limit's phase-1 time shifted by [`phase1_shift_prediction`].
    pub t1_predicted: Option<f64>,
    /// `d ε Var a(0)`: phase 1 is seeded by `√ε (a − E a)` rather than by the initial overlaps
    /// `~ 1/√d` only when this is `≫ 1`.
    pub seeding: f64,
}

impl LimitComparison {
    /// Compares `network` (a [`SummaryRecorder`](crate::SummaryRecorder)'s trajectory, usually
    /// with a first row at `t = 0`) with the `limit` trajectory (a `risk` column) of the same
    /// `model` at `eps`; `var_a` is the variance of the network's `a(0)`. Distances and phase
    /// times use the positive times; the phase-1 times are `None` when `R_0 = R_1` (no
    /// degree-1 drop: `φ_1 = 0` or `K = 0`).
    ///
    /// # Errors
    /// [`NetworkError::TooFewPoints`] when a curve has no positive time or the curves share
    /// none,
    /// [`NetworkError::Mismatch`] when a trajectory lacks its `risk` (or `max_abs_overlap`)
    /// column.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        d: usize,
        m: usize,
        network: &timescales_ode::Trajectory,
        limit: &timescales_ode::Trajectory,
        model: &crate::Model,
        eps: f64,
        var_a: f64,
    ) -> Result<Self, NetworkError> {
        let column = |traj: &timescales_ode::Trajectory, name: &'static str| {
            traj.column(name)
                .map(<[f64]>::to_vec)
                .ok_or(NetworkError::Mismatch {
                    what: name,
                    expected: 1,
                    got: 0,
                })
        };
        let (t, risk) = (network.t.clone(), column(network, "risk")?);
        let overlap = column(network, "max_abs_overlap")?;
        let (lt, lr) = (&limit.t, column(limit, "risk")?);
        // The curves are compared in log t, on their positive times (a row at t = 0, if any,
        // is left out).
        let (k, lk) = (first_positive(&t), first_positive(lt));
        if k == t.len() || lk == lt.len() {
            return Err(NetworkError::TooFewPoints {
                what: "positive output times of a risk curve to compare",
                needed: 1,
                got: 0,
            });
        }
        let risk_limit = t
            .iter()
            .map(|&x| {
                if lk > 0 && x <= lt[lk - 1] {
                    lr[lk - 1]
                } else {
                    interp_log_time(&lt[lk..], &lr[lk..], x).unwrap_or(f64::NAN)
                }
            })
            .collect();
        let (sup, t_sup) = sup_distance(&t[k..], &risk[k..], &lt[lk..], &lr[lk..], &t[k..])?;
        let (r0, r1) = (model.plateau_level(0), model.plateau_level(1));
        // Phase 1 is the drop from R_0 to R_1: none when they coincide (φ_1 = 0, or K = 0).
        let crossing =
            |t: &[f64], r: &[f64]| (r0 > r1).then(|| midpoint_crossing(t, r, r0, r1)).flatten();
        let t1_limit = crossing(&lt[lk..], &lr[lk..]);
        let sigma1_phi1 = model
            .sigma()
            .get(1)
            .zip(model.phi().get(1))
            .map_or(0.0, |(s, p)| s * p);
        Ok(Self {
            d,
            m,
            t1_network: crossing(&t[k..], &risk[k..]),
            t1_predicted: phase1_shift_prediction(eps, d, var_a, sigma1_phi1)
                .zip(t1_limit)
                .map(|(shift, t1)| t1 + shift),
            t1_limit,
            t,
            risk,
            risk_limit,
            max_abs_overlap: overlap,
            sup_distance: sup,
            t_sup,
            seeding: d as f64 * eps * var_a,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase1_shift_signs_and_asymptotics() {
        let eps = 1e-2;
        let s = phase1_shift_prediction(eps, 100, 1.0 / 3.0, 1.0).unwrap();
        assert!((s + 0.05 * 4.0f64.ln()).abs() < 1e-15, "{s}");
        // d ε Var a ≫ 1: −√ε / (2 d ε Var a).
        let big = phase1_shift_prediction(eps, 3_000_000, 1.0 / 3.0, 1.0).unwrap();
        assert!(
            (big / (-0.1 / (2.0 * 10_000.0)) - 1.0).abs() < 1e-4,
            "{big}"
        );
        assert_eq!(phase1_shift_prediction(eps, 10, 0.0, 1.0), None);
    }

    #[test]
    fn crossing_and_sup_distance() {
        let t = log_grid(1e-3, 1.0, 31).unwrap();
        let r: Vec<f64> = t.iter().map(|t| if *t < 0.1 { 1.5 } else { 1.0 }).collect();
        let tc = midpoint_crossing(&t, &r, 1.5, 1.0).unwrap();
        assert!(tc > 0.079 && tc < 0.126, "{tc}");
        let r2: Vec<f64> = r.iter().map(|v| v + 0.25).collect();
        let (dist, _) = sup_distance(&t, &r, &t, &r2, &t).unwrap();
        assert!((dist - 0.25).abs() < 1e-12);
        assert_eq!(interp_log_time(&t, &r, 2.0), None);
    }
}
