//! The log-corrected law of phase 1, `t = ε^γ (c₁ ln(1/ε) + c₀)`, fitted by profiling `γ`.

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::brent::BrentOpt;
use serde::{Deserialize, Serialize};

use super::t_quantile;
use crate::error::{AnalysisError, Result, check_positive, check_same_len};

/// Result of [`fit_log_corrected`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogCorrectedFit {
    /// Exponent `γ`.
    pub gamma: f64,
    /// Profile-likelihood confidence interval of `γ` (bounds may be infinite when the profile
    /// never rises above the threshold inside the search range).
    pub gamma_ci: [f64; 2],
    /// Number of disjoint pieces of the profile-likelihood confidence set whose hull is
    /// [`gamma_ci`](Self::gamma_ci) (more than 1: `γ` is poorly identified by the data).
    pub gamma_ci_pieces: usize,
    /// Wald standard error of `γ` from the Gauss–Newton Jacobian at the optimum.
    pub gamma_se: f64,
    /// Coefficient `c₀`.
    pub c0: f64,
    /// Wald standard error of `c₀`.
    pub c0_se: f64,
    /// Wald confidence interval of `c₀`.
    pub c0_ci: [f64; 2],
    /// Coefficient `c₁` of `ln(1/ε)`.
    pub c1: f64,
    /// Wald standard error of `c₁`.
    pub c1_se: f64,
    /// Wald confidence interval of `c₁`.
    pub c1_ci: [f64; 2],
    /// The constraint `c₁ ≥ 0` is active at the optimum (the data show no log correction;
    /// the Wald errors of `c₀`, `c₁` then ignore the bound).
    pub c1_at_bound: bool,
    /// Minimal residual sum of squares of the relative residuals.
    pub rss: f64,
    /// Number of points.
    pub n_points: usize,
    /// Degrees of freedom `n − 3`.
    pub dof: usize,
    /// Confidence level of the intervals.
    pub level: f64,
}

impl LogCorrectedFit {
    /// The fitted law at `ε`: `ε^γ (c₁ ln(1/ε) + c₀)`.
    pub fn predict(&self, eps: f64) -> f64 {
        eps.powf(self.gamma) * (self.c1 * (1.0 / eps).ln() + self.c0)
    }
}

/// Fits `t = ε^γ (c₁ ln(1/ε) + c₀)` with `γ` searched in `[-3, 3]`; see
/// [`fit_log_corrected_in`].
pub fn fit_log_corrected(eps: &[f64], t: &[f64], level: f64) -> Result<LogCorrectedFit> {
    fit_log_corrected_in(eps, t, level, [-3.0, 3.0])
}

/// Fits `t = ε^γ (c₁ ln(1/ε) + c₀)` (the phase-1 law of `docs/model.md` §5, where `γ = ½` and
/// `c₁ = 1/(4|σ₁φ₁|)`) with `γ` searched in `gamma_range`.
///
/// **Objective.** Relative residuals `e_i = 1 − ε_i^γ (c₁ L_i + c₀) / t_i`, `L_i = ln(1/ε_i)`
/// (to first order the residuals of `ln t`, so errors are treated as multiplicative), and
/// `RSS = Σ e_i²`.
///
/// **Constraint.** `c₁ ≥ 0`: the law describes a phase whose duration grows like `ln(1/ε)`
/// (`c₁ = 1/(4|σ₁φ₁|)` in model.md §5). Without it the model is nearly degenerate over a few
/// decades of ε: a second valley of the profile with `c₁ < 0` and a smaller `γ` (e.g.
/// `γ ≈ 0.40` on the limit-ODE phase-1 times of the shared public scenario, N = 64,
/// ε ∈ [1e-9, 1e-5], where the constrained fit gives `γ ≈ ½`) can fit the `O(√ε)`
/// corrections as well as the true law.
///
/// **Profiling.** For fixed `γ` the model is linear in `(c₀, c₁)`, solved by least squares
/// under `c₁ ≥ 0`;
/// the profile `RSS(γ)` is scanned on 1201 points of `gamma_range`, every local minimum of the
/// scan is refined by golden-section search (to `|Δγ| ≤ 1e-15`) and the lowest is kept.
///
/// **Intervals.** The interval of `γ` is the profile-likelihood (F-test) confidence set
/// `{γ : RSS(γ) ≤ RSS_min (1 + t²_{(1+level)/2, n−3} / (n − 3))}` (using `F_{1,ν} = t²_ν`),
/// whose ends are located by bracketing and bisection; it may be asymmetric, which the
/// Jacobian interval cannot be. Should the profile still have several valleys, the set has
/// several pieces, the interval reported is their hull, and
/// [`LogCorrectedFit::gamma_ci_pieces`] says how many. A bound is infinite when the set
/// reaches the end of `gamma_range`. The intervals of `c₀` and `c₁` are Wald intervals
/// `± t·se` with `se² = diag(s² (JᵀJ)⁻¹)`, `s² = RSS/(n − 3)`, from the Gauss–Newton Jacobian
/// `J` of `e` with respect to `(γ, c₀, c₁)`; [`LogCorrectedFit::gamma_se`] is the same Wald
/// error for `γ`. Needs `n ≥ 4` points with distinct ε.
///
/// ```
/// # use timescales_analysis::fit_log_corrected;
/// let eps: Vec<f64> = (0..7).map(|i| 10f64.powf(-3.0 - i as f64)).collect();
/// let t: Vec<f64> = eps.iter().map(|e| e.sqrt() * (0.25 * (1.0 / e).ln() + 0.8)).collect();
/// let f = fit_log_corrected(&eps, &t, 0.95)?;
/// assert!((f.gamma - 0.5).abs() < 1e-9 && (f.c1 - 0.25).abs() < 1e-7);
/// # Ok::<(), timescales_analysis::AnalysisError>(())
/// ```
pub fn fit_log_corrected_in(
    eps: &[f64],
    t: &[f64],
    level: f64,
    gamma_range: [f64; 2],
) -> Result<LogCorrectedFit> {
    check_same_len("eps", eps.len(), "t", t.len())?;
    check_positive("eps", eps)?;
    check_positive("t", t)?;
    let n = eps.len();
    if n < 4 {
        return Err(AnalysisError::TooFewPoints {
            what: "log-corrected fit with a confidence interval",
            needed: 4,
            got: n,
        });
    }
    let [g_lo, g_hi] = gamma_range;
    if !(g_lo.is_finite() && g_hi.is_finite() && g_lo < g_hi) {
        return Err(AnalysisError::InvalidParameter {
            name: "gamma_range",
            value: g_hi - g_lo,
            reason: "must be finite with lower < upper",
        });
    }
    let mut sorted = eps.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.windows(2).filter(|w| w[0] != w[1]).count() < 2 {
        return Err(AnalysisError::Degenerate {
            what: "log-corrected fit",
            reason: "needs at least three distinct epsilon",
        });
    }
    let tq = t_quantile(level, n - 3)?;
    let prob = Profile { eps, t };

    // Global scan; every local minimum of the scan is refined by golden section (the profile
    // can have several valleys narrower than the scan step), and the best is kept.
    let m = SCAN_POINTS;
    let step = (g_hi - g_lo) / (m - 1) as f64;
    let scan: Vec<f64> = (0..m).map(|k| prob.rss(g_lo + step * k as f64)).collect();
    let mut best = (f64::INFINITY, f64::NAN);
    for k in 0..m {
        let left = if k == 0 { f64::INFINITY } else { scan[k - 1] };
        let right = if k + 1 == m {
            f64::INFINITY
        } else {
            scan[k + 1]
        };
        if !(scan[k].is_finite() && scan[k] <= left && scan[k] <= right) {
            continue;
        }
        let g0 = g_lo + step * k as f64;
        let g = brent_minimum(&prob, (g0 - step).max(g_lo), (g0 + step).min(g_hi));
        let r = prob.rss(g);
        if r < best.0 {
            best = (r, g);
        }
    }
    if !best.0.is_finite() {
        return Err(AnalysisError::Degenerate {
            what: "log-corrected fit",
            reason: "the profile residual is not finite anywhere in gamma_range",
        });
    }
    let gamma = best.1;
    let (rss, c0, c1) = prob.solve(gamma).ok_or(AnalysisError::Degenerate {
        what: "log-corrected fit",
        reason: "singular linear problem for (c0, c1) at the optimum",
    })?;

    // Profile-likelihood confidence set of γ: {γ : RSS(γ) ≤ thr}. The profile may have
    // several valleys (γ trades off against c₀/c₁ over a short range of ln ε), so the set can
    // have several pieces; the interval reported is their hull.
    let dof = n - 3;
    let thr = rss * (1.0 + tq * tq / dof as f64);
    let mut lo = profile_bound(&prob, gamma, thr, g_lo);
    let mut hi = profile_bound(&prob, gamma, thr, g_hi);
    let inside: Vec<bool> = scan.iter().map(|&r| r <= thr).collect();
    let mut components = 0;
    for k in 0..m {
        let gk = g_lo + step * k as f64;
        let starts = inside[k] && (k == 0 || !inside[k - 1]);
        if starts && !(lo <= gk && gk <= hi) {
            components += 1;
        }
        if inside[k] && gk < lo {
            lo = if k == 0 {
                f64::NEG_INFINITY
            } else {
                bisect(&prob, thr, gk - step, gk)
            };
        }
        if inside[k] && gk > hi {
            hi = if k + 1 == m {
                f64::INFINITY
            } else {
                bisect(&prob, thr, gk + step, gk)
            };
        }
    }
    let gamma_ci_pieces = components + 1;

    // Wald errors from the Jacobian.
    let s2 = rss / dof as f64;
    let mut jtj = [[0.0; 3]; 3];
    for (&e, &ti) in eps.iter().zip(t) {
        let l = (1.0 / e).ln();
        let p = e.powf(gamma) / ti;
        let row = [-(e.ln()) * p * (c1 * l + c0), -p, -p * l];
        for a in 0..3 {
            for b in 0..3 {
                jtj[a][b] += row[a] * row[b];
            }
        }
    }
    let inv = invert3(jtj);
    let se = |k: usize| inv.map_or(f64::NAN, |m| (s2 * m[k][k]).max(0.0).sqrt());
    let (gamma_se, c0_se, c1_se) = (se(0), se(1), se(2));
    Ok(LogCorrectedFit {
        gamma,
        gamma_ci: [lo, hi],
        gamma_ci_pieces,
        gamma_se,
        c0,
        c0_se,
        c0_ci: [c0 - tq * c0_se, c0 + tq * c0_se],
        c1,
        c1_se,
        c1_ci: [c1 - tq * c1_se, c1 + tq * c1_se],
        c1_at_bound: c1 == 0.0,
        rss,
        n_points: n,
        dof,
        level,
    })
}

/// The profiled problem.
struct Profile<'a> {
    eps: &'a [f64],
    t: &'a [f64],
}

impl Profile<'_> {
    /// `(RSS, c₀, c₁)` of the linear least-squares problem at fixed `γ`.
    fn solve(&self, gamma: f64) -> Option<(f64, f64, f64)> {
        // Columns a0 = ε^γ/t, a1 = ε^γ L/t, target 1; solved via scaled normal equations.
        let mut cols = Vec::with_capacity(self.eps.len());
        let (mut n0, mut n1) = (0.0_f64, 0.0_f64);
        for (&e, &ti) in self.eps.iter().zip(self.t) {
            let p = e.powf(gamma) / ti;
            let a0 = p;
            let a1 = p * (1.0 / e).ln();
            n0 = n0.max(a0.abs());
            n1 = n1.max(a1.abs());
            cols.push((a0, a1));
        }
        if !(n0 > 0.0 && n1 > 0.0 && n0.is_finite() && n1.is_finite()) {
            return None;
        }
        let (mut s00, mut s01, mut s11, mut b0, mut b1) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(a0, a1) in &cols {
            let (u0, u1) = (a0 / n0, a1 / n1);
            s00 += u0 * u0;
            s01 += u0 * u1;
            s11 += u1 * u1;
            b0 += u0;
            b1 += u1;
        }
        let det = s00 * s11 - s01 * s01;
        if det.abs() <= 1e-14 * s00 * s11 {
            return None;
        }
        let mut c0 = (s11 * b0 - s01 * b1) / det / n0;
        let mut c1 = (s00 * b1 - s01 * b0) / det / n1;
        if c1 < 0.0 {
            // Constrained least squares: the minimum of this convex quadratic over c₁ ≥ 0 lies
            // on the bound, where only c₀ is fitted.
            c1 = 0.0;
            c0 = b0 / s00 / n0;
        }
        let rss = cols
            .iter()
            .map(|&(a0, a1)| {
                let e = 1.0 - (c0 * a0 + c1 * a1);
                e * e
            })
            .sum();
        Some((rss, c0, c1))
    }

    fn rss(&self, gamma: f64) -> f64 {
        self.solve(gamma).map_or(f64::INFINITY, |s| s.0)
    }
}

/// Number of points of the initial profile scan.
const SCAN_POINTS: usize = 1201;

/// The profile as argmin's cost function.
struct ProfileCost<'a, 'b>(&'a Profile<'b>);

impl CostFunction for ProfileCost<'_, '_> {
    type Param = f64;
    type Output = f64;
    fn cost(&self, gamma: &f64) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.0.rss(*gamma))
    }
}

/// The minimum of the profile `RSS(γ)` on the bracket `[a, b]` by Brent's method (argmin's
/// `BrentOpt`: parabolic interpolation safeguarded by golden section). The tolerance is set
/// near round-off (`4u |γ| + 1e-15`) rather than Brent's usual `√u`: the profile of a
/// nearly exact law is a deep, sharply resolved valley whose minimum is located far better
/// than `√u`, and the iteration count stays bounded. The better end of the bracket if the
/// solver fails.
fn brent_minimum(profile: &Profile<'_>, a: f64, b: f64) -> f64 {
    let solver = BrentOpt::new(a, b).set_tolerance(4.0 * f64::EPSILON, 1e-15);
    Executor::new(ProfileCost(profile), solver)
        .configure(|state| state.max_iters(200))
        .run()
        .ok()
        .and_then(|r| r.state().get_best_param().copied())
        .unwrap_or(if profile.rss(a) <= profile.rss(b) {
            a
        } else {
            b
        })
}

/// End of the piece of the profile-likelihood set that contains `γ̂`, towards `edge` (one end
/// of the search range): the `γ` where `RSS(γ)` rises through `thr`, or ±∞ if it stays below
/// up to the edge.
fn profile_bound(p: &Profile<'_>, gamma: f64, thr: f64, edge: f64) -> f64 {
    let dir = if edge < gamma { -1.0 } else { 1.0 };
    let span = (edge - gamma).abs();
    let mut inner = gamma;
    let mut step = 1e-6 * (1.0 + gamma.abs());
    loop {
        let s = step.min(span);
        let g = gamma + dir * s;
        if p.rss(g) > thr {
            return bisect(p, thr, g, inner);
        }
        if s >= span {
            return dir * f64::INFINITY;
        }
        inner = g;
        step *= 2.0;
    }
}

/// Bisection for `RSS(γ) = thr` between `above` (RSS > thr) and `below` (RSS ≤ thr).
fn bisect(p: &Profile<'_>, thr: f64, above: f64, below: f64) -> f64 {
    let (mut a, mut b) = (above, below);
    for _ in 0..100 {
        let m = 0.5 * (a + b);
        if m == a || m == b {
            break;
        }
        if p.rss(m) > thr {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

/// Inverse of a symmetric 3×3 matrix (`None` if singular).
fn invert3(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let mut out = [[0.0; 3]; 3];
    for (col, e) in [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        .into_iter()
        .enumerate()
    {
        let x = crate::deriv::solve3(m, e)?;
        for row in 0..3 {
            out[row][col] = x[row];
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn grid(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 10f64.powf(-3.0 - 6.0 * i as f64 / (n - 1) as f64))
            .collect()
    }

    #[test]
    fn exact_law_recovered() {
        for &(g, c1, c0) in &[(0.5, 0.25, 0.8), (0.5, 0.1, -0.3), (0.3, 1.0, 2.0)] {
            let eps = grid(13);
            let t: Vec<f64> = eps
                .iter()
                .map(|e| e.powf(g) * (c1 * (1.0 / e).ln() + c0))
                .collect();
            let f = fit_log_corrected(&eps, &t, 0.95).unwrap();
            assert!((f.gamma - g).abs() < 1e-10, "gamma {} vs {g}", f.gamma);
            assert!((f.c1 - c1).abs() < 1e-8, "c1 {} vs {c1}", f.c1);
            assert!((f.c0 - c0).abs() < 1e-7, "c0 {} vs {c0}", f.c0);
            assert!(f.rss < 1e-20);
            assert!(f.gamma_ci[0] <= f.gamma + 1e-9 && f.gamma_ci[1] >= f.gamma - 1e-9);
            assert!(f.gamma_ci[1] - f.gamma_ci[0] < 1e-6);
            assert!(
                (f.predict(1e-6) / (1e-6f64.powf(g) * (c1 * 1e6f64.ln() + c0)) - 1.0).abs() < 1e-8
            );
        }
    }

    #[test]
    fn noisy_law_interval_covers_truth() {
        // Seeded Monte Carlo: 300 replicates, 1 % multiplicative noise, 13 points.
        let eps = grid(13);
        let (g, c1, c0) = (0.5, 0.25, 0.8);
        let noise: Normal<f64> = Normal::new(0.0, 0.01).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let reps = 300;
        let mut covered = 0;
        let mut covered_c1 = 0;
        for _ in 0..reps {
            let t: Vec<f64> = eps
                .iter()
                .map(|e| e.powf(g) * (c1 * (1.0 / e).ln() + c0) * noise.sample(&mut rng).exp())
                .collect();
            let f = fit_log_corrected(&eps, &t, 0.95).unwrap();
            covered += usize::from(f.gamma_ci[0] <= g && g <= f.gamma_ci[1]);
            covered_c1 += usize::from(f.c1_ci[0] <= c1 && c1 <= f.c1_ci[1]);
            assert!(f.gamma_ci[0] < f.gamma && f.gamma < f.gamma_ci[1]);
        }
        // Binomial sd at 0.95 with 300 draws ≈ 0.0126; allow about 3.5 sd (nonlinear model).
        let cov = covered as f64 / reps as f64;
        let cov1 = covered_c1 as f64 / reps as f64;
        assert!((0.905..=0.99).contains(&cov), "gamma coverage {cov}");
        assert!((0.88..=0.99).contains(&cov1), "c1 coverage {cov1}");
    }

    #[test]
    fn errors() {
        let eps = [1e-3, 1e-4, 1e-5];
        assert!(matches!(
            fit_log_corrected(&eps, &[1.0, 2.0, 3.0], 0.95),
            Err(AnalysisError::TooFewPoints { needed: 4, .. })
        ));
        assert!(matches!(
            fit_log_corrected(&[1e-3, 1e-3, 1e-4, 1e-4], &[1.0, 1.0, 2.0, 2.0], 0.95),
            Err(AnalysisError::Degenerate { .. })
        ));
        assert!(matches!(
            fit_log_corrected_in(&grid(5), &[1.0; 5], 0.95, [1.0, 0.0]),
            Err(AnalysisError::InvalidParameter { .. })
        ));
    }
}
