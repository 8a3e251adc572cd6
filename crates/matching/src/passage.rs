//! The composite across folds: one leading-order approximation of a trajectory on `[0, T]`
//! through its reduced segments, the Airy layer at each fold, the fast jump and the landing
//! on the next attracting branch — checked against direct integration.
//!
//! Take a fold `(x_f, y_f)` reached by the reduced flow at `t_f`, with normal form
//! `ε η' = A (t − t_f) + B η²` along the null vector `r` ([`crate::airy`]), the Airy scales
//! `s = ε^{−2/3} (AB)^{1/3} (t − t_f)`, `η = c_η Y(s)`, `c_η = −ε^{1/3} (AB)^{1/3}/B`, and
//! `Y` the universal Riccati function ([`airy_riccati`]), with its pole at `s* = |a₁|`, the
//! jump time `t_j = t_f + |a₁| ε^{2/3} (AB)^{−1/3}`. Segment `k` of the orbit (after the
//! initial layer or jump `L_k`, before fold `k`) is approximated by
//!
//! ```text
//!   t < t_f:          y_c = Y_k(t) + [L_k(τ_k) − L_k(∞)] + r c_η [Y(s) − √(−s)]
//!   t_f ≤ t < t_j:    y_c = y_f + [L_k(τ_k) − L_k(∞)] + r c_η Y(s)
//!                     (and, once the jump layer has started, L_{k+1}(τ') + r c_η [Y(s) − 1/(s − s*)]
//!                     in place of y_f + r c_η Y(s))
//!   x_c = X_k(t) before the fold, x_f + g_f (t − t_f) after it,
//! ```
//!
//! with the common parts `y_f + r c_η √(−s)` (the branch's square root at the fold, the
//! Airy layer's outer limit) and `y_f + r c_η/(s − s*) = y_f − r/(B τ)` (the Airy layer at
//! its pole, the jump's inner limit, `τ = (t − t_j)/ε`). The jump layer `L_{k+1}` is the fast
//! fibre through the fold, `dy/dτ' = f(x_f, y)` from `y_f + δ_η r` (`δ_η = ½ ε^{1/6}`, in
//! the overlap `ε^{1/3} ≪ η ≪ 1`, on the side `B δ_η > 0`), started at
//! `τ' = 0 ⇔ τ = −1/(B δ_η)`, where `−1/(Bτ) = δ_η` (before it the Airy layer stands alone);
//! after the jump the next segment starts from the delayed slow state `x_f + g_f (t_j − t_f)`
//! ([`corrected_orbit`]) and `L_{k+1}(τ') − L_{k+1}(∞)` decays on it.
//!
//! Expected accuracy: `O(ε^{2/3})` in the fast variables in the Airy layer (the next terms
//! of the normal form), `O(ε)` on the branches; the jump time is right to `O(ε ln ε)`
//! (Mishchenko & Rozov 1980, ch. III), so within `O(ε ln ε)` of the jump the error is `O(1)`
//! at every ε. [`fold_study`] therefore reports the maximum error outside the windows
//! `|t − t_j| < w = ε^{2/3} (AB)^{−1/3}` (the last unit of `s` before the pole, and the
//! landing), where that timing error costs `ε ln ε · ε/w² = O(ε^{2/3} ln ε)`, and,
//! separately, the maximum inside them.

use serde::{Deserialize, Serialize};
use timescales_inner::{LayerSolution, LayerStart, solve_layer};
use timescales_ode::{SlowFastSystem, Trajectory};
use timescales_outer::{OuterSolution, OuterStart, Termination, solve_reduced};

use crate::riccati::{airy_riccati, airy_riccati_branch_excess, airy_riccati_pole_excess, pole};
use crate::study::check_study_request;
use crate::{
    FoldNormalForm, MatchingError, MatchingOptions, OrderRow, SingularOrbit, corrected_orbit,
    fold_normal_form, integrate_full,
};
use timescales_analysis::fit_power_law;

/// The jump layer starts at `η = ½ ε^{1/6}` along `r`: between the Airy layer's scale
/// `ε^{1/3}` and the jump's `O(1)`, where both `y_f + r c_η Y(s)` and the fibre hold; that
/// is `t_j − t = 2 ε^{5/6}/|B|`, inside the window `|t − t_j| < ε^{2/3}(AB)^{−1/3}`.
const JUMP_START: f64 = 0.5;

/// Name of the approximation in [`OrderRow`]s: the order of the error outside the windows.
pub const ORBIT_COMPOSITE: &str = "orbit_composite";

/// Name of the approximation in [`OrderRow`]s whose order is that of the error divided by
/// `ln(1/ε)`: the expected error is `O(ε^{2/3} ln(1/ε))` (module documentation), whose plain
/// order is `2/3` only in the limit (about `0.55` over ε = 1e-2…1e-4).
pub const ORBIT_COMPOSITE_OVER_LOG: &str = "orbit_composite_over_log";

/// One fold passage of the orbit at ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldCrossing {
    /// When the reduced flow reaches the fold.
    pub t_fold: f64,
    /// The pole of the Airy layer: `t_fold + |a₁| ε^{2/3} (AB)^{−1/3}`.
    pub t_jump: f64,
    /// The fold's normal form.
    pub normal_form: FoldNormalForm,
    /// Where the jump from the fold lands (fast state, on the branch at `x_f`).
    pub landing: Vec<f64>,
}

/// The composite across folds at one ε on a set of times.
#[derive(Debug, Clone, PartialEq)]
pub struct OrbitComposite {
    /// ε.
    pub eps: f64,
    /// `(x, y)` at the times, one column per variable (slow then fast), as the direct
    /// solution's.
    pub trajectory: Trajectory,
    /// The folds passed, in order.
    pub crossings: Vec<FoldCrossing>,
}

/// The Airy layer of one fold at ε: the stretched time and the amplitude `c_η`.
struct AiryLayer {
    t_fold: f64,
    t_jump: f64,
    time_scale: f64,
    amplitude: f64,
    nf: FoldNormalForm,
}

impl AiryLayer {
    fn new(nf: FoldNormalForm, t_fold: f64, eps: f64) -> Self {
        Self {
            t_fold,
            t_jump: t_fold + nf.delay(eps),
            time_scale: nf.time_scale(eps),
            amplitude: -eps.cbrt() * (nf.a * nf.b).cbrt() / nf.b,
            nf,
        }
    }
    fn s(&self, t: f64) -> f64 {
        (t - self.t_fold) / self.time_scale
    }
}

/// A layer solved at requested stretched times, and where its stretched time starts.
struct Piece {
    layer: LayerSolution,
    /// `τ' = (t − t0)/ε − offset`.
    t0: f64,
    offset: f64,
}

impl Piece {
    fn tau(&self, t: f64, eps: f64) -> f64 {
        (t - self.t0) / eps - self.offset
    }
    /// `L(τ')`, when `τ' ≥ 0`.
    fn at(&self, t: f64, eps: f64) -> Result<Option<Vec<f64>>, MatchingError> {
        let tau = self.tau(t, eps);
        if tau < 0.0 {
            return Ok(None);
        }
        self.layer
            .at(tau)
            .map(|v| Some(v.y))
            .ok_or(MatchingError::Missing {
                what: "layer".into(),
                t,
            })
    }
}

fn check_times(times: &[f64]) -> Result<f64, MatchingError> {
    let ok = !times.is_empty()
        && times.iter().all(|t| t.is_finite() && *t >= 0.0)
        && times.windows(2).all(|w| w[0] <= w[1]);
    match (ok, times.last()) {
        (true, Some(&t)) if t > 0.0 => Ok(t),
        _ => Err(MatchingError::InvalidRequest(
            "times must be finite, non-negative, sorted and end after 0".into(),
        )),
    }
}

/// Index of `t` among the recorded times of `seg`.
fn recorded(seg: &OuterSolution, t: f64) -> Option<usize> {
    let tol = 1e-12 * t.abs().max(1.0);
    let i = seg.t.partition_point(|&s| s < t - tol);
    seg.t.get(i).filter(|&&s| (s - t).abs() <= tol).map(|_| i)
}

/// The composite across folds of the trajectory from `(x0, y0)` at ε on `times` (module
/// documentation), following at most `max_jumps` jumps.
///
/// # Errors
/// `ε ∉ (0, 1)` or bad times are invalid requests; layer, outer and normal-form failures
/// (a jump that lands nowhere attracting is [`MatchingError::Inner`]); a time past an
/// impasse, or past the last jump followed, is [`MatchingError::Missing`].
pub fn orbit_composite<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    eps: f64,
    times: &[f64],
    max_jumps: usize,
    opts: &MatchingOptions,
) -> Result<OrbitComposite, MatchingError> {
    let t_end = check_times(times)?;
    let orbit = corrected_orbit(sys, x0, y0, t_end, t_end / 64.0, max_jumps, eps, opts)?;
    composite_on_orbit(sys, x0, y0, eps, times, &orbit, opts)
}

/// [`orbit_composite`] on `times` (checked) along `orbit`, the corrected orbit at `eps`
/// followed at least to the last time.
fn composite_on_orbit<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    eps: f64,
    times: &[f64],
    orbit: &SingularOrbit,
    opts: &MatchingOptions,
) -> Result<OrbitComposite, MatchingError> {
    let (n, m) = (sys.slow_dim(), sys.fast_dim());
    let taus_from = |t0: f64, offset: f64| -> Vec<f64> {
        times
            .iter()
            .map(|&t| (t - t0) / eps - offset)
            .filter(|&tau| tau >= 0.0)
            .collect()
    };
    // Layers: the initial one, then one jump layer per fold passed.
    let mut pieces = vec![Piece {
        layer: solve_layer(
            sys,
            &LayerStart::leading(0.0, x0, y0),
            &taus_from(0.0, 0.0),
            &opts.layer,
        )?,
        t0: 0.0,
        offset: 0.0,
    }];
    let mut segments = Vec::new();
    let mut airy = Vec::new();
    let mut crossings = Vec::new();
    for (k, seg) in orbit.segments.iter().enumerate() {
        let t0 = seg.t.first().copied().unwrap_or(0.0);
        let mut ts = vec![t0];
        ts.extend(times.iter().copied().filter(|&t| t > t0));
        let outer = solve_reduced(
            sys,
            &OuterStart {
                t0,
                x0: seg.x[0].clone(),
                y_guess: seg.y[0].clone(),
                x1_0: None,
            },
            &ts,
            &opts.outer,
        )?;
        let layer = match &seg.termination {
            Termination::Fold(ev) => {
                let nf = match orbit.jumps.get(k).and_then(|j| j.normal_form.clone()) {
                    Some(nf) => nf,
                    None => fold_normal_form(sys, &ev.x, &ev.y)?,
                };
                Some(AiryLayer::new(nf, ev.t, eps))
            }
            _ => None,
        };
        if let (Some(a), Some(_)) = (&layer, orbit.jumps.get(k)) {
            let nf = &a.nf;
            let eta = JUMP_START * eps.powf(1.0 / 6.0) * nf.b.signum();
            let start: Vec<f64> = nf.y.iter().zip(&nf.r).map(|(y, r)| y + eta * r).collect();
            let offset = -1.0 / (nf.b * eta);
            let jump = solve_layer(
                sys,
                &LayerStart::leading(a.t_jump, &nf.x, &start),
                &taus_from(a.t_jump, offset),
                &opts.layer,
            )?;
            crossings.push(FoldCrossing {
                t_fold: a.t_fold,
                t_jump: a.t_jump,
                normal_form: nf.clone(),
                landing: jump.y_limit.clone(),
            });
            pieces.push(Piece {
                layer: jump,
                t0: a.t_jump,
                offset,
            });
        }
        segments.push(outer);
        airy.push(layer);
    }

    let mut names = sys.slow_names();
    names.extend(sys.fast_names());
    let mut trajectory = Trajectory::new(names);
    for &t in times {
        // The piece: segment k runs until the k-th jump.
        let k = crossings.iter().take_while(|c| t >= c.t_jump).count();
        let (Some(seg), Some(own)) = (segments.get(k), pieces.get(k)) else {
            return Err(MatchingError::Missing {
                what: format!("orbit past its {} followed jump(s)", crossings.len()),
                t,
            });
        };
        let fold = airy[k].as_ref();
        let mut v = vec![0.0; n + m];
        // Slow variables and the outer fast part.
        match (recorded(seg, t), fold) {
            (Some(i), _) if fold.is_none_or(|a| t < a.t_fold) => {
                v[..n].copy_from_slice(&seg.x[i]);
                v[n..].copy_from_slice(&seg.y[i]);
            }
            (_, Some(a)) if t >= a.t_fold || matches!(seg.termination, Termination::Fold(_)) => {
                // Past the fold (or within rounding of it): the drift, and the fold's
                // fast state plus the common part.
                let nf = &a.nf;
                let dt = t - a.t_fold;
                for ((vj, x), g) in v[..n].iter_mut().zip(&nf.x).zip(&nf.g) {
                    *vj = x + g * dt;
                }
                let common = if dt < 0.0 {
                    a.amplitude * (-a.s(t)).sqrt()
                } else {
                    0.0
                };
                for j in 0..m {
                    v[n + j] = nf.y[j] + nf.r[j] * common;
                }
            }
            _ => {
                return Err(MatchingError::Missing {
                    what: match &seg.termination {
                        Termination::Impasse(_) => "orbit past an impasse".into(),
                        _ => "outer".into(),
                    },
                    t,
                });
            }
        }
        // What is left of the layer that started this segment.
        if let Some(l) = own.at(t, eps)? {
            let lim = &own.layer.y_limit;
            for j in 0..m {
                v[n + j] += l[j] - lim[j];
            }
        }
        // The Airy layer of the fold ending it, and the jump once started.
        if let Some(a) = fold {
            let s = a.s(t);
            let jump = pieces
                .get(k + 1)
                .map(|p| p.at(t, eps))
                .transpose()?
                .flatten();
            // Y(s) less the common parts in force: the branch's √(−s) before the fold
            // (the base is the outer solution there), the pole 1/(s − s*) once the jump
            // layer has started.
            let add = match (&jump, s < 0.0) {
                (None, true) => airy_riccati_branch_excess(s),
                (None, false) => airy_riccati(s),
                (Some(_), false) => airy_riccati_pole_excess(s),
                (Some(_), true) => airy_riccati_pole_excess(s).map(|p| p - (-s).sqrt()),
            };
            let y = add.ok_or(MatchingError::Missing {
                what: format!("Airy layer (s = {s}, pole at {})", pole()),
                t,
            })?;
            for j in 0..m {
                v[n + j] += a.nf.r[j] * a.amplitude * y;
            }
            if let Some(l) = jump {
                // The jump layer, less the fold's fast state of the common parts.
                for j in 0..m {
                    v[n + j] += l[j] - a.nf.y[j];
                }
            }
        }
        trajectory.push(t, &v);
    }
    Ok(OrbitComposite {
        eps,
        trajectory,
        crossings,
    })
}

/// The direct and composite solutions at one ε.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldComparison {
    /// The composite (times, values, folds passed).
    pub composite: OrbitComposite,
    /// The direct solution at the same times.
    pub direct: Trajectory,
}

impl FoldComparison {
    /// Whether `t` lies within the window of a jump: `|t − t_jump| < ε^{2/3}(AB)^{−1/3}`.
    pub fn in_window(&self, t: f64) -> bool {
        let eps = self.composite.eps;
        self.composite
            .crossings
            .iter()
            .any(|c| (t - c.t_jump).abs() < c.normal_form.time_scale(eps))
    }
}

impl FoldStudy {
    /// Variable names, slow then fast.
    pub fn names(&self) -> &[String] {
        self.comparisons
            .first()
            .map_or(&[], |c| c.direct.names.as_slice())
    }
}

/// Errors of the composite across folds, one variable at one ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldErrorRow {
    /// ε.
    pub eps: f64,
    /// Variable.
    pub variable: String,
    /// `max |composite − direct|` outside the jump windows.
    pub outside: f64,
    /// `max |composite − direct|` inside them (`O(1)`: the jump time is right to
    /// `O(ε ln ε)` only).
    pub inside: f64,
    /// Folds passed on `[0, T]`.
    pub folds: usize,
}

/// The composite across folds against direct integration over a list of ε.
#[derive(Debug, Clone)]
pub struct FoldStudy {
    /// `T`.
    pub t_end: f64,
    /// One comparison per ε (in the order given).
    pub comparisons: Vec<FoldComparison>,
    /// Errors per ε and variable.
    pub rows: Vec<FoldErrorRow>,
    /// Fitted orders of the error outside the windows, per variable: of the error
    /// ([`ORBIT_COMPOSITE`]) and of the error over `ln(1/ε)` ([`ORBIT_COMPOSITE_OVER_LOG`]),
    /// on the ε whose orbit on `[0, T]` passes as many folds as at the smallest ε.
    pub orders: Vec<OrderRow>,
    /// The folds passed on `[0, T]` at the smallest ε: the ε passing as many make the fit.
    pub fitted_folds: usize,
}

/// The comparison grid at ε: uniform on `[0, T]`, the initial layer (`ε τ`), each fold's
/// Airy layer (`s` from −8 to the pole by 0.05) and each jump (`τ` within ±40 by 0.2).
fn fold_grid(
    eps: f64,
    t_end: f64,
    crossings: &[(f64, f64, f64)],
    opts: &MatchingOptions,
) -> Vec<f64> {
    let g = &opts.grid;
    let mut v: Vec<f64> = (0..=g.uniform)
        .map(|j| t_end * j as f64 / g.uniform as f64)
        .collect();
    let steps = (g.layer_span / g.layer_step).floor() as usize;
    v.extend((0..=steps).map(|k| eps * k as f64 * g.layer_step));
    for &(t_fold, t_jump, scale) in crossings {
        v.extend((0..206).map(|k| t_fold + scale * (-8.0 + 0.05 * k as f64)));
        v.extend((0..=400).map(|k| t_jump + eps * (-40.0 + 0.2 * k as f64)));
    }
    v.retain(|t| (0.0..=t_end).contains(t));
    v.sort_by(f64::total_cmp);
    v.dedup_by(|b, a| (*b - *a).abs() <= 1e-12 * a.abs().max(1.0));
    v
}

/// Runs the composite across folds ([`orbit_composite`]) against direct integration on
/// `[0, t_end]` for every ε: the maximum error of each variable outside and inside the jump
/// windows, and the fitted orders of the outside error ([`FoldStudy::orders`]).
///
/// # Errors
/// As [`orbit_composite`] and [`integrate_full`]; an empty ε list or `ε ∉ (0, 1)`, and
/// `t_end ≤ 0`, are invalid requests.
pub fn fold_study<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    t_end: f64,
    eps: &[f64],
    max_jumps: usize,
    opts: &MatchingOptions,
) -> Result<FoldStudy, MatchingError> {
    check_study_request(eps, t_end)?;
    let mut names = sys.slow_names();
    names.extend(sys.fast_names());
    let mut comparisons = Vec::with_capacity(eps.len());
    let mut rows = Vec::new();
    for &e in eps {
        let orbit = corrected_orbit(sys, x0, y0, t_end, t_end / 64.0, max_jumps, e, opts)?;
        let folds: Vec<(f64, f64, f64)> = orbit
            .jumps
            .iter()
            .filter_map(|j| {
                let nf = j.normal_form.as_ref()?;
                Some((j.fold.t, j.t, nf.time_scale(e)))
            })
            .collect();
        let grid = fold_grid(e, t_end, &folds, opts);
        let composite = composite_on_orbit(sys, x0, y0, e, &grid, &orbit, opts)?;
        let (traj, _) = integrate_full(sys, e, x0, y0, &grid, opts.direct)?;
        let cmp = FoldComparison {
            composite,
            direct: traj,
        };
        let (comp, direct) = (&cmp.composite.trajectory, &cmp.direct);
        let in_window: Vec<bool> = comp.t.iter().map(|&t| cmp.in_window(t)).collect();
        for (v, name) in names.iter().enumerate() {
            let (mut outside, mut inside) = (0.0f64, 0.0f64);
            for (i, &within) in in_window.iter().enumerate() {
                let err = (comp.columns[v][i] - direct.columns[v][i]).abs();
                if within {
                    inside = inside.max(err);
                } else {
                    outside = outside.max(err);
                }
            }
            rows.push(FoldErrorRow {
                eps: e,
                variable: name.clone(),
                outside,
                inside,
                folds: cmp.composite.crossings.len(),
            });
        }
        comparisons.push(cmp);
    }
    // The order is fitted where the orbit on [0, T] has the structure of the smallest ε
    // (as many folds passed): at larger ε a jump delayed past T removes a layer from the
    // maximum, and the errors are not of one expansion.
    let fitted_folds = rows
        .iter()
        .min_by(|a, b| a.eps.total_cmp(&b.eps))
        .map_or(0, |r| r.folds);
    let mut orders = Vec::with_capacity(2 * names.len());
    for name in &names {
        let (es, errs): (Vec<f64>, Vec<f64>) = rows
            .iter()
            .filter(|r| &r.variable == name && r.folds == fitted_folds)
            .map(|r| (r.eps, r.outside))
            .unzip();
        let over_log: Vec<f64> = es
            .iter()
            .zip(&errs)
            .map(|(e, r)| r / (1.0 / e).ln())
            .collect();
        for (approximation, ys) in [
            (ORBIT_COMPOSITE, &errs),
            (ORBIT_COMPOSITE_OVER_LOG, &over_log),
        ] {
            let fit = fit_power_law(&es, ys, 0.95).ok();
            let note = fit.is_none().then(|| {
                format!(
                    "no fit (vanishing error or fewer than two eps passing {fitted_folds} fold(s))"
                )
            });
            orders.push(OrderRow {
                variable: name.clone(),
                approximation: approximation.into(),
                fit,
                note,
            });
        }
    }
    Ok(FoldStudy {
        t_end,
        comparisons,
        rows,
        orders,
        fitted_folds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AIRY_A1;
    use timescales_systems::builtin::fold::Fold;
    use timescales_systems::builtin::van_der_pol::{self, VanDerPol};

    #[test]
    fn fold_problem_composite_is_the_airy_solution() {
        // s' = −1, ε u' = u² − s from (1, 0): initial layer −tanh τ, branch −√s, and the
        // Airy layer, whose composite with the branch is the exact Riccati solution
        // u = ε^{1/3} Ai'(ξ)/Ai(ξ), ξ = (1 − t)/ε^{2/3} (builtin::fold docs) — so what is
        // left is the initial layer's O(ε). Reference: RODAS4 on the full system, up to
        // half a unit of s before the pole (no landing: the orbit ends at the fold).
        let opts = MatchingOptions::default();
        for eps in [1e-3f64, 1e-4] {
            let scale = eps.powf(2.0 / 3.0);
            let t_end = 1.0 + scale * (AIRY_A1.abs() - 0.5);
            let mut times: Vec<f64> = (0..=1000).map(|k| t_end * k as f64 / 1000.0).collect();
            times.extend((0..200).map(|k| eps * 0.2 * k as f64));
            times.extend((0..=100).map(|k| t_end - scale * 0.1 * k as f64));
            times.sort_by(f64::total_cmp);
            times.dedup();
            let c = orbit_composite(&Fold, &[1.0], &[0.0], eps, &times, 2, &opts).unwrap();
            assert!(c.crossings.is_empty());
            let (traj, _) =
                integrate_full(&Fold, eps, &[1.0], &[0.0], &times, opts.direct).unwrap();
            let (mut err, mut at) = (0.0f64, 0.0);
            let comp = &c.trajectory.columns;
            for (i, &t) in times.iter().enumerate() {
                let e = (comp[1][i] - traj.columns[1][i]).abs();
                if e > err {
                    (err, at) = (e, t);
                }
                assert!((comp[0][i] - traj.columns[0][i]).abs() < 1e-9, "s at {t}");
            }
            assert!(err < 2.0 * eps, "eps {eps}: max error {err:e} at t = {at}");
        }
    }

    #[test]
    fn van_der_pol_composite_converges_across_two_jumps() {
        // From y = 2 on the right branch: the first fold at t = 3/2 − ln 2, the second half
        // a period later; T covers both jumps and the landing after the second.
        let t_end = van_der_pol::fold_time(2.0) + 0.5 * van_der_pol::REDUCED_PERIOD + 0.3;
        let eps = [1e-2, 1e-3, 1e-4];
        let st = fold_study(
            &VanDerPol,
            &[2.0 / 3.0],
            &[2.0],
            t_end,
            &eps,
            4,
            &MatchingOptions::default(),
        )
        .unwrap();
        for c in &st.comparisons {
            assert_eq!(c.composite.crossings.len(), 2, "{}", c.composite.eps);
        }
        let y: Vec<&FoldErrorRow> = st.rows.iter().filter(|r| r.variable == "y").collect();
        // Outside the windows the error falls like ε^{2/3} (measured: 0.26, 0.060, 0.014,
        // order 0.636), the Airy layer's next order; inside them it stays O(1) (≈ 2.4).
        let fit = st
            .orders
            .iter()
            .find(|o| o.variable == "y")
            .unwrap()
            .fit
            .clone()
            .unwrap();
        assert!(fit.gamma > 0.55 && fit.gamma < 0.8, "{fit:?}");
        assert!(y[2].outside < 0.03, "{y:?}");
        assert!(y.iter().all(|r| r.inside > 1.0), "{y:?}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Any ε and any times, however degenerate: a composite or an error, never a panic.
        #[test]
        fn any_request_gives_a_composite_or_an_error(
            eps_bits in proptest::num::u64::ANY,
            eps_sane in 1e-5f64..0.5,
            sane in proptest::bool::ANY,
            times in proptest::collection::vec(
                proptest::prop_oneof![proptest::num::f64::ANY, 0.0f64..1.5],
                0..6,
            ),
        ) {
            let eps = if sane { eps_sane } else { f64::from_bits(eps_bits) };
            let mut sorted = times.clone();
            sorted.sort_by(f64::total_cmp);
            let opts = MatchingOptions::default();
            for ts in [&times, &sorted] {
                if let Ok(c) = orbit_composite(&Fold, &[1.0], &[0.0], eps, ts, 2, &opts) {
                    proptest::prop_assert_eq!(c.trajectory.len(), ts.len());
                    for col in &c.trajectory.columns {
                        proptest::prop_assert!(col.iter().all(|v| v.is_finite()));
                    }
                }
            }
        }
    }
}
