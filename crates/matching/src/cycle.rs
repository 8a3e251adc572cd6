//! The period of a relaxation oscillation: measured on the direct integration, from the
//! singular orbit (leading order), and with the Airy delays of the folds (predicted).
//!
//! ```text
//!   T(ε) = T₀ + Σ_folds Δt_k (1 + …) + O(ε ln ε),      Δt_k = |a₁| ε^{2/3} (A_k B_k)^{-1/3},
//! ```
//!
//! `T₀` the period of the singular orbit (reduced segments joined by instantaneous jumps),
//! `A_k`, `B_k` the normal-form coefficients at fold `k` ([`crate::airy`]); the `(1 + …)`
//! is the shift of the next segment by the slow drift during the delay, which
//! [`corrected_orbit`] follows instead of linearizing. For van der Pol
//! (`x' = −y`, `ε y' = x − y³/3 + y`) this is Dorodnitsyn's
//! `T = 3 − 2 ln 2 + 3|a₁| ε^{2/3} + O(ε ln ε)` (A. A. Dorodnitsyn, Prikl. Mat. Mekh. 11
//! (1947) 313–328; Mishchenko & Rozov 1980, ch. III; Grasman 1987, §2.2).
//!
//! The measured period is the time between two passages of the direct solution (RODAS4 on
//! the full system) through a section across the first jump of the cycle, located as an
//! event on the dense output ([`timescales_ode::Event`]) after the transient: the last full
//! loop; its change from the loop before says how settled it is.

use serde::{Deserialize, Serialize};
use timescales_analysis::{PowerLawFit, fit_power_law};
use timescales_ode::{
    DenseSlowFast, Direction, Event, Recorder, Rodas4, SlowFastSystem, SolverOptions, SolverStats,
    integrate,
};

use crate::{
    FoldNormalForm, MatchingError, MatchingOptions, SingularOrbit, corrected_orbit,
    fold_normal_form, singular_orbit,
};

/// Settings of a cycle study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleOptions {
    /// How far the singular orbit is followed looking for a fold.
    pub horizon: f64,
    /// Most jumps followed (the cycle is detected from the last fold's recurrence).
    pub max_jumps: usize,
    /// Two fold points are the same when they agree to this (relative) tolerance.
    pub closure_tol: f64,
    /// Direct integration.
    pub direct: SolverOptions,
}

impl Default for CycleOptions {
    fn default() -> Self {
        Self {
            horizon: 50.0,
            max_jumps: 8,
            closure_tol: 1e-6,
            direct: SolverOptions {
                rtol: 1e-10,
                atol: 1e-12,
                ..SolverOptions::default()
            },
        }
    }
}

/// One fold of the cycle: where, its normal form, and where its jump lands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldPassage {
    /// Time at which the singular orbit reaches the fold (on its last loop).
    pub t: f64,
    /// Whether the fold point was solved from the extended system (else extrapolated).
    pub solved: bool,
    /// The normal form (slow and fast state, `A`, `B`, null vectors, slow velocity).
    pub normal_form: FoldNormalForm,
    /// Fast state on the branch the (leading-order) jump lands on.
    pub landing: Vec<f64>,
    /// Slow velocity `g` at the landing point.
    pub landing_speed: Vec<f64>,
}

/// The singular (ε → 0) cycle: its folds (one loop) and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingularCycle {
    /// The folds of one loop, in order.
    pub folds: Vec<FoldPassage>,
    /// The period `T₀` of the singular orbit.
    pub period: f64,
    /// Index (among the orbit's jumps) of the last jump of the loop measured.
    pub last_jump: usize,
    /// Number of jumps followed.
    pub jumps: usize,
}

/// Periods at one ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleRow {
    /// ε.
    pub eps: f64,
    /// From the direct integration (event location on the dense output).
    pub period_direct: f64,
    /// `|T_last loop − T_loop before|` of the direct solution: how settled it is.
    pub direct_change: f64,
    /// Leading order: the singular orbit's `T₀`.
    pub period_leading: f64,
    /// With the Airy delays of every fold.
    pub period_predicted: f64,
    /// Counters of the direct integration.
    pub direct_stats: SolverStats,
}

impl CycleRow {
    /// `|T_direct − T_leading|`.
    pub fn error_leading(&self) -> f64 {
        (self.period_direct - self.period_leading).abs()
    }
    /// `|T_direct − T_predicted|`.
    pub fn error_predicted(&self) -> f64 {
        (self.period_direct - self.period_predicted).abs()
    }
}

/// A complete cycle study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleStudy {
    /// The singular cycle.
    pub singular: SingularCycle,
    /// One row per ε (decreasing).
    pub rows: Vec<CycleRow>,
    /// Fitted order of `|T_direct − T_leading|` in ε (95% Student-t interval).
    pub order_leading: Option<PowerLawFit>,
    /// Fitted order of `|T_direct − T_predicted|`.
    pub order_predicted: Option<PowerLawFit>,
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.iter()
        .zip(b)
        .all(|(p, q)| (p - q).abs() <= tol * (1.0 + p.abs().max(q.abs())))
}

/// The loop of `orbit`: the smallest `k` such that the last jump's fold recurs `k` jumps
/// earlier; `(first, last)` jump indices of that loop.
fn find_loop(orbit: &SingularOrbit, tol: f64) -> Option<(usize, usize)> {
    let j = &orbit.jumps;
    let last = j.len().checked_sub(1)?;
    (1..=last)
        .find(|&k| {
            let (a, b) = (&j[last].fold, &j[last - k].fold);
            close(&a.x, &b.x, tol) && close(&a.y, &b.y, tol)
        })
        .map(|k| (last - k, last))
}

/// Follows the singular orbit from `(x0, y0)` and finds its cycle: a fold whose point
/// recurs.
///
/// # Errors
/// [`MatchingError::NotPeriodic`] when the orbit meets no fold within the horizon, ends at
/// an impasse, or its folds do not recur within `max_jumps`; layer, outer and
/// normal-form failures otherwise.
pub fn singular_cycle<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    opts: &CycleOptions,
    mopts: &MatchingOptions,
) -> Result<SingularCycle, MatchingError> {
    let not = |reason: String| MatchingError::NotPeriodic { reason };
    if !(opts.horizon > 0.0 && opts.horizon.is_finite()) || opts.max_jumps < 2 {
        return Err(MatchingError::InvalidRequest(format!(
            "a cycle needs a positive horizon and at least 2 jumps, got {} and {}",
            opts.horizon, opts.max_jumps
        )));
    }
    let orbit = singular_orbit(
        sys,
        x0,
        y0,
        opts.horizon,
        opts.horizon,
        opts.max_jumps,
        mopts,
    )?;
    if let Some(imp) = orbit.impasse() {
        return Err(not(format!("the singular orbit ends at an {imp}")));
    }
    if orbit.jumps.is_empty() {
        return Err(not(format!(
            "the reduced flow meets no fold on [0, {}]",
            opts.horizon
        )));
    }
    let (first, last) = find_loop(&orbit, opts.closure_tol).ok_or_else(|| {
        not(format!(
            "the {} fold points met on [0, {}] do not recur",
            orbit.jumps.len(),
            opts.horizon
        ))
    })?;
    let jt = orbit.jump_times();
    let mut folds = Vec::new();
    for jump in &orbit.jumps[first..last] {
        let f = &jump.fold;
        let nf = fold_normal_form(sys, &f.x, &f.y)?;
        let landing = jump.layer.y_limit.clone();
        let mut g = vec![0.0; f.x.len()];
        sys.slow_field(&f.x, &landing, 0.0, &mut g);
        folds.push(FoldPassage {
            t: f.t,
            solved: f.solved,
            normal_form: nf,
            landing,
            landing_speed: g,
        });
    }
    Ok(SingularCycle {
        folds,
        period: jt[last] - jt[first],
        last_jump: last,
        jumps: orbit.jumps.len(),
    })
}

/// The predicted period at `ε`: the loop of [`corrected_orbit`] that ends at the same jump
/// as the singular cycle's.
///
/// # Errors
/// As [`corrected_orbit`]; [`MatchingError::NotPeriodic`] when the corrected orbit has
/// fewer jumps.
pub fn predicted_period<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    cycle: &SingularCycle,
    eps: f64,
    opts: &CycleOptions,
    mopts: &MatchingOptions,
) -> Result<f64, MatchingError> {
    let k = cycle.folds.len();
    let orbit = corrected_orbit(
        sys,
        x0,
        y0,
        opts.horizon,
        opts.horizon,
        cycle.last_jump + 1,
        eps,
        mopts,
    )?;
    let jt = orbit.jump_times();
    match (jt.get(cycle.last_jump), cycle.last_jump.checked_sub(k)) {
        (Some(&b), Some(a)) => Ok(b - jt[a]),
        _ => Err(MatchingError::NotPeriodic {
            reason: format!(
                "the orbit with the Airy delays at eps = {eps:e} has {} jumps, the singular one {}",
                jt.len(),
                cycle.jumps
            ),
        }),
    }
}

/// The period of the direct solution at `ε`: passages through the section across the
/// cycle's first jump (component `c` of `y` with the largest jump, level halfway, in the
/// jump's direction), located on RODAS4's dense output, over the horizon of the corrected
/// orbit plus half a period; the last loop (the passages whose slow states agree to 1%),
/// with its change from the loop before.
///
/// # Errors
/// [`MatchingError::Direct`] when the integrator fails; [`MatchingError::NotPeriodic`]
/// with fewer than two passages.
pub fn direct_period<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    cycle: &SingularCycle,
    eps: f64,
    t_end: f64,
    opts: &CycleOptions,
) -> Result<(f64, f64, SolverStats), MatchingError> {
    let fold = cycle
        .folds
        .first()
        .ok_or_else(|| MatchingError::NotPeriodic {
            reason: "the cycle has no fold".into(),
        })?;
    let (yf, yl) = (&fold.normal_form.y, &fold.landing);
    let (c, _) = yf
        .iter()
        .zip(yl)
        .map(|(a, b)| (b - a).abs())
        .enumerate()
        .fold(
            (0, -1.0),
            |best, (i, d)| if d > best.1 { (i, d) } else { best },
        );
    let level = 0.5 * (yf[c] + yl[c]);
    let dir = if yl[c] > yf[c] {
        Direction::Rising
    } else {
        Direction::Falling
    };
    let n = sys.slow_dim();
    let mut u0 = x0.to_vec();
    u0.extend_from_slice(y0);
    let direct = |source| MatchingError::Direct { eps, source };
    let mut rodas =
        Rodas4::new(DenseSlowFast::new(sys, eps), 0.0, &u0, &opts.direct).map_err(direct)?;
    let mut events = [Event::new(move |_t, u: &[f64]| u[n + c] - level)
        .direction(dir)
        .non_terminal()];
    let mut rec = Recorder::new((0..u0.len()).map(|i| format!("u{i}")).collect());
    let outcome = integrate(&mut rodas, &[t_end], &mut events, &mut rec).map_err(direct)?;
    let hits = &outcome.events;
    let not = |why: &str| MatchingError::NotPeriodic {
        reason: format!(
            "the direct solution at eps = {eps:e} {why} (section y[{c}] = {level} on [0, {t_end}])"
        ),
    };
    let last = hits
        .len()
        .checked_sub(1)
        .filter(|&l| l >= 1)
        .ok_or_else(|| not("crosses the section fewer than twice"))?;
    let same = |a: usize, b: usize| close(&hits[a].state[..n], &hits[b].state[..n], 1e-2);
    let q = (1..=last)
        .find(|&q| same(last, last - q))
        .ok_or_else(|| not("does not come back to the same passage"))?;
    let period = hits[last].t - hits[last - q].t;
    let change = match last.checked_sub(2 * q) {
        Some(a) => (period - (hits[last - q].t - hits[a].t)).abs(),
        None => f64::NAN,
    };
    Ok((period, change, outcome.stats))
}

/// Periods of the relaxation oscillation from `(x0, y0)` for every ε: direct, leading
/// and predicted, and the fitted orders of the two errors.
///
/// # Errors
/// As [`singular_cycle`], [`predicted_period`] and [`direct_period`].
pub fn cycle_study<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    eps: &[f64],
    opts: &CycleOptions,
    mopts: &MatchingOptions,
) -> Result<CycleStudy, MatchingError> {
    if eps.is_empty() || eps.iter().any(|e| !(*e > 0.0 && *e < 1.0)) {
        return Err(MatchingError::InvalidRequest(format!(
            "the eps list must be non-empty with values in (0, 1): {eps:?}"
        )));
    }
    let singular = singular_cycle(sys, x0, y0, opts, mopts)?;
    let mut rows = Vec::with_capacity(eps.len());
    for &e in eps {
        let predicted = predicted_period(sys, x0, y0, &singular, e, opts, mopts)?;
        // The direct run covers the singular orbit's last jump, the delays accumulated up
        // to it (twice, for margin) and half a period more.
        let loops = singular.jumps as f64 / singular.folds.len().max(1) as f64;
        let delays: f64 = singular.folds.iter().map(|f| f.normal_form.delay(e)).sum();
        let t_last = singular.folds.first().map_or(0.0, |f| f.t) + singular.period;
        let t_end = t_last + 2.0 * loops * delays + 0.5 * singular.period.max(predicted);
        let (period_direct, direct_change, direct_stats) =
            direct_period(sys, x0, y0, &singular, e, t_end, opts)?;
        rows.push(CycleRow {
            eps: e,
            period_direct,
            direct_change,
            period_leading: singular.period,
            period_predicted: predicted,
            direct_stats,
        });
    }
    let es: Vec<f64> = rows.iter().map(|r| r.eps).collect();
    let fit = |f: fn(&CycleRow) -> f64| {
        let v: Vec<f64> = rows.iter().map(f).collect();
        fit_power_law(&es, &v, 0.95).ok()
    };
    Ok(CycleStudy {
        order_leading: fit(CycleRow::error_leading),
        order_predicted: fit(CycleRow::error_predicted),
        singular,
        rows,
    })
}
