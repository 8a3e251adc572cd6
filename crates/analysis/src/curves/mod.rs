//! Plateaus, drops and exponents of the loss curves users bring: training logs (PyTorch,
//! JAX, TensorBoard, W&B exports), noisy, on a linear step axis, many runs across a
//! parameter.
//!
//! Two calls, neither needing polars (so a binding can use them with the `timescales`
//! crate's default features off):
//!
//! - [`CurveSet::from_table`] reads curves from an in-memory
//!   [`Table`](timescales_report::Table) (e.g. from [`read_table`](timescales_report::read_table))
//!   and a [`ColumnSpec`];
//! - [`analyze`] denoises each curve, detects its plateaus and drops, flags the drops that
//!   merge two stages, and fits the drop times, plateau lengths and levels against the
//!   parameter, giving a [`CurvesAnalysis`].
//!
//! **Layouts** ([`Layout`]). *Long*: one row per logged point, a time column, a loss column,
//! and optionally a run column (`run`: one curve per value) and a parameter column (`by`:
//! one curve per value when there is no run column; with one, the parameter must be
//! constant within each run). *Wide*: a time column and one loss column per run, chosen
//! when no loss column is named or found by name and there are two or more numeric columns
//! besides the time (W&B's `…__MIN`/`…__MAX` band columns and wall clocks are skipped); the
//! parameter `by` is then read from each column's name (`width=64`, `lr_1e-3`, or a bare
//! number). *TensorBoard* scalar exports (`Wall time, Step, Value`) are read as they are.
//! The time column is the named one, else the first of [`TIME_NAMES`](input::TIME_NAMES);
//! the loss the named one, else the only one of [`LOSS_NAMES`](input::LOSS_NAMES), else the
//! only numeric column left.
//!
//! **Clean-up** of each curve ([`InputCounts`] says what was done): a missing or non-finite
//! loss (NaN, ±inf, an empty cell) is skipped and counted; a missing time likewise; rows at
//! `t ≤ 0` are left out (log time); steps out of order are sorted; a repeated step is
//! merged into the median of its losses — unless more than half of the steps repeat (several
//! runs in one curve), which is refused naming the row. A value that is not a number is an
//! error naming the column and the row (rows count from 1, the header not counted).
//!
//! **Algorithm** of [`analyze`], for each curve (in parallel), then across curves:
//!
//! 1. *Noise level.* With `y = ln L` when every loss is positive (multiplicative noise
//!    becomes additive; medians commute with `ln`, so nothing is biased by it), else
//!    `y = L`: `σ̂ = 1.4826 · median|y_{i+1} − y_i| / √2`, robust to spikes and to the few
//!    large differences across a drop.
//! 2. *Denoising in log time.* `x = ln t` is cut into cells of width `bin_width`; for each
//!    cell holding samples, the window of samples within `half_width` of its centre (widened
//!    to the `k` nearest, `k = max(min_points, ⌈(√(π/2) σ̂ / target_sd)²⌉)` capped at
//!    `max_points`, so that each median has standard deviation about `target_sd` at most
//!    where samples allow) gives one point: the median `x` of the window and the
//!    median `y`. A running median keeps a drop as sharp as the window allows (it does not
//!    average across it, and the median of a monotone curve is its value at the median time,
//!    so a noiseless curve is reproduced exactly), ignores isolated spikes, and does not care
//!    about missing or repeated steps. On a linear step axis late windows hold thousands of
//!    samples, early ones few: the standard deviation of each point,
//!    `sd_j = √(π/2) σ̂ / √n_j`, says how much to trust it.
//! 3. *Plateaus and drops* by the toolkit's [`PlateauDetector`] on the denoised curve
//!    ([`PlateauDetector::detect_with_noise`] with `sd_j`: a drop must also be
//!    `noise_factor · √(sd_a² + sd_b²)` deep, so a wiggle of a sparsely sampled stretch is
//!    not a drop; slow drift on a plateau is told from a drop by the detector's contrast
//!    test).
//! 4. *Levels and times.* A plateau's level is the median of the raw losses between its
//!    entry and exit, with the distribution-free confidence interval of a median (order
//!    statistics `k = n/2 ∓ z √n / 2`, `z` the normal quantile of `level`). A drop's
//!    `t_start` and `t_end` are the exit of the plateau before and the entry of the one
//!    after; `t_mid`, where the curve crosses halfway between their levels
//!    `(L_b + L_a)/2`, is where a robust straight line through the *raw* samples of the
//!    drop's core crosses that level: the core is where the denoised curve goes from 80 %
//!    to 20 % of the drop around its first crossing; the line is fitted in `x = ln t` by
//!    iteratively reweighted least squares (weights: each sample's share of log time, times
//!    Tukey's biweight of its residual), then recentred on its crossing. Every raw sample
//!    of the core counts (the error falls like `1/√n`), spikes get weight 0, and there is
//!    no bias toward the first of several noisy crossings. Without a core, the denoised
//!    curve's first crossing.
//! 5. *Merged drops.* The levels of interior plateaus (closed at both ends) of every curve,
//!    grouped within `level_tolerance` (in `ln L`), are the reference levels. A drop whose
//!    levels enclose a reference level farther than `level_tolerance` from both skips a
//!    plateau that another curve shows: it is flagged `merged`. A drop's *stage* is one plus
//!    the number of reference levels at or above its starting level.
//! 6. *Exponents.* For every stage and quantity — `t_mid`, the length `t_exit − t_entry`
//!    of the plateau the drop leaves, the level it reaches — a power law `y = C p^γ`
//!    ([`fit_power_law`](crate::fit_power_law)) against the parameter `p`, and for `t_mid`
//!    also `y = p^γ (c₁ ln(1/p) + c₀)` ([`fit_log_corrected`](crate::fit_log_corrected)),
//!    using only the curves where the drop is separate; the curves left out are named with
//!    the reason. A fit that cannot be made is kept, with the reason.
//!
//! ```
//! use timescales_analysis::curves::{AnalyzeOptions, ColumnSpec, CurveSet, analyze};
//! use timescales_report::Table;
//! // Three widths; the loss falls from 1 to 0.2 at t = 30·width^0.5 (a logistic step in ln t).
//! let (mut step, mut loss, mut width) = (vec![], vec![], vec![]);
//! for w in [16.0, 64.0, 256.0] {
//!     let t_drop = 30.0 * f64::sqrt(w);
//!     for s in 1..=20_000 {
//!         let x = (s as f64 / t_drop).ln() / 0.3;
//!         step.push(s as f64);
//!         loss.push(0.2 + 0.8 / (1.0 + x.exp()));
//!         width.push(w);
//!     }
//! }
//! let table = Table::new().f64("step", step).f64("loss", loss).f64("width", width);
//! let spec = ColumnSpec { by: Some("width".into()), ..ColumnSpec::default() };
//! let set = CurveSet::from_table(&table, &spec)?;
//! let result = analyze(&set, &AnalyzeOptions::default())?;
//! let fit = &result.exponents[0]; // drop 1, t_mid, power law
//! assert_eq!((fit.quantity.name(), fit.law.name()), ("t_mid", "power_law"));
//! assert!((fit.gamma - 0.5).abs() < 0.01);
//! for c in &result.curves {
//!     let t_mid = c.drops[0].t_mid;
//!     assert!((t_mid / (30.0 * c.by.unwrap().sqrt()) - 1.0).abs() < 0.02);
//! }
//! # Ok::<(), timescales_analysis::AnalysisError>(())
//! ```

pub(crate) mod denoise;
pub mod input;
mod stages;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::curve::crossing_time;
use crate::error::{AnalysisError, Result};
use crate::plateau::PlateauDetector;
pub use input::ResolvedColumns;
pub use stages::{ExponentFit, Law, Quantity};

/// The columns of the plateau table of an analysis (`plateaus.csv`), the parameter's column
/// (under its own name, when there is one) inserted after `curve`; a parameter may not be
/// called like any of them.
pub const PLATEAU_COLUMNS: [&str; 7] = [
    "curve",
    "level",
    "level_ci_low",
    "level_ci_high",
    "t_entry",
    "t_exit",
    "length_log",
];

/// The columns of the drop table (`phases.csv`), the parameter's inserted after `curve`.
pub const PHASE_COLUMNS: [&str; 8] = [
    "curve",
    "drop",
    "level_before",
    "level_after",
    "t_start",
    "t_mid",
    "t_end",
    "merged",
];

/// Which columns hold what; `None` lets [`CurveSet::from_table`] find it (see the [module
/// documentation](self)).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// The time (step) column.
    pub time: Option<String>,
    /// The loss column (long layout).
    pub loss: Option<String>,
    /// The parameter the curves are compared across: a column (long layout), or a label to
    /// read from the loss columns' names (wide layout).
    pub by: Option<String>,
    /// The column that names the runs (long layout).
    pub run: Option<String>,
}

/// How a table holds its curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One row per logged point.
    Long,
    /// One loss column per run.
    Wide,
    /// A TensorBoard scalar export, `Wall time, Step, Value`.
    TensorBoard,
}

/// What the clean-up of one curve did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputCounts {
    /// Rows of the table in the curve.
    pub rows: usize,
    /// Rows skipped for a missing or non-finite loss.
    pub non_finite_loss: usize,
    /// Rows skipped for a missing or non-finite time.
    pub missing_time: usize,
    /// Rows left out for `t ≤ 0` (not on a log-time axis).
    pub non_positive_time: usize,
    /// Rows whose time is smaller than the row's before (the curve was sorted).
    pub out_of_order: usize,
    /// Rows that repeat an earlier time (merged into the median loss at that time).
    pub repeated: usize,
}

/// One curve: increasing times `t > 0`, finite losses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// Its name (the run, the parameter value, or the loss column).
    pub name: String,
    /// Its parameter value, if a parameter was given.
    pub by: Option<f64>,
    /// Times, strictly increasing and positive.
    pub t: Vec<f64>,
    /// Losses, finite.
    pub loss: Vec<f64>,
    /// What the clean-up did.
    pub counts: InputCounts,
}

impl Curve {
    /// Checks what [`analyze`] relies on (what [`CurveSet::from_table`] guarantees): as many
    /// losses as times, times finite, positive and strictly increasing, losses finite.
    ///
    /// # Errors
    /// [`AnalysisError::LengthMismatch`], [`AnalysisError::NonFinite`],
    /// [`AnalysisError::NonPositive`] or [`AnalysisError::NonIncreasingTime`].
    pub fn check(&self) -> Result<()> {
        crate::error::check_same_len("t", self.t.len(), "loss", self.loss.len())?;
        crate::error::check_positive("t", &self.t)?;
        crate::error::check_finite("loss", &self.loss)?;
        match self.t.windows(2).position(|w| w[1] <= w[0]) {
            Some(i) => Err(AnalysisError::NonIncreasingTime {
                index: i + 1,
                previous: self.t[i],
                value: self.t[i + 1],
            }),
            None => Ok(()),
        }
    }
}

/// The curves of a table, ready for [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveSet {
    /// How the columns were read.
    pub columns: ResolvedColumns,
    /// The curves, in order of first appearance.
    pub curves: Vec<Curve>,
}

/// Options of [`analyze`]; lengths are in `ln t` (e-folds of time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnalyzeOptions {
    /// Width of the log-time cells of the denoised curve. Default 0.02.
    pub bin_width: f64,
    /// Half-width of the running-median window. Default 0.1.
    pub half_width: f64,
    /// Fewest samples in a window (it is widened to the nearest ones). Default 5.
    pub min_points: usize,
    /// Windows are also widened until their median has this standard deviation,
    /// `√(π/2) σ̂ / √n ≤ target_sd` (relative to the loss; to its 5–95 % range when not every
    /// loss is positive), up to `max_points` samples. Default 0.02.
    pub target_sd: f64,
    /// The most samples a window is widened to for `target_sd`. Default 400.
    pub max_points: usize,
    /// The plateau/phase detector run on the denoised curve (default: the toolkit's).
    pub detector: PlateauDetector,
    /// Two plateau levels closer than this in `ln L` are the same level (step 5).
    /// Default 0.1.
    pub level_tolerance: f64,
    /// Confidence level of the intervals. Default 0.95.
    pub level: f64,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            bin_width: 0.02,
            half_width: 0.1,
            min_points: 5,
            target_sd: 0.02,
            max_points: 400,
            detector: PlateauDetector::default(),
            level_tolerance: 0.1,
            level: 0.95,
        }
    }
}

impl AnalyzeOptions {
    fn validate(&self) -> Result<()> {
        let checks: [(&'static str, f64, bool); 6] = [
            ("target_sd", self.target_sd, self.target_sd >= 0.0),
            ("bin_width", self.bin_width, self.bin_width > 0.0),
            ("half_width", self.half_width, self.half_width >= 0.0),
            (
                "level_tolerance",
                self.level_tolerance,
                self.level_tolerance >= 0.0,
            ),
            ("level", self.level, self.level > 0.0 && self.level < 1.0),
            ("min_points", self.min_points as f64, self.min_points >= 1),
        ];
        for (name, value, ok) in checks {
            if !ok || !value.is_finite() {
                return Err(AnalysisError::InvalidParameter {
                    name,
                    value,
                    reason: "bin_width > 0, half_width >= 0, target_sd >= 0, \
                             level_tolerance >= 0 finite, level in (0, 1), min_points >= 1",
                });
            }
        }
        Ok(())
    }
}

/// A plateau of one curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlateauLevel {
    /// Its level: the median of the raw losses on it.
    pub level: f64,
    /// Distribution-free confidence interval of that median (NaN with no sample on it).
    pub ci: [f64; 2],
    /// Entry time.
    pub t_entry: f64,
    /// Exit time.
    pub t_exit: f64,
    /// `ln(t_exit / t_entry)`.
    pub length_log: f64,
    /// It starts at the first sample (its entry is censored).
    pub open_start: bool,
    /// It ends at the last sample (its exit is censored).
    pub open_end: bool,
    /// Raw samples on it.
    pub n_points: usize,
}

/// A drop of one curve: the passage between two consecutive plateaus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drop {
    /// 1-based order within the curve.
    pub drop: usize,
    /// Index into [`CurveResult::plateaus`] of the plateau it leaves (the next is the one it
    /// reaches).
    pub from_plateau: usize,
    /// Level of the plateau before.
    pub level_before: f64,
    /// Level of the plateau after.
    pub level_after: f64,
    /// Exit of the plateau before.
    pub t_start: f64,
    /// Crossing of `(level_before + level_after)/2`.
    pub t_mid: f64,
    /// Entry of the plateau after.
    pub t_end: f64,
    /// The drop skips a plateau that other curves show (it merges two stages or more).
    pub merged: bool,
    /// The reference levels it skips.
    pub skipped_levels: Vec<f64>,
    /// Its stage across curves (1-based; see the [module documentation](self), step 5).
    pub stage: usize,
}

/// The analysis of one curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveResult {
    /// The curve's name.
    pub name: String,
    /// Its parameter value.
    pub by: Option<f64>,
    /// What the clean-up did.
    pub counts: InputCounts,
    /// Samples analysed.
    pub n_points: usize,
    /// Noise level `σ̂` of one sample (relative, i.e. of `ln L`, when `log_scale`).
    pub noise: f64,
    /// The noise level is relative (every loss positive, medians taken of `ln L`).
    pub log_scale: bool,
    /// The denoised curve: times.
    pub smooth_t: Vec<f64>,
    /// The denoised curve: losses.
    pub smooth_loss: Vec<f64>,
    /// Plateaus, in time order.
    pub plateaus: Vec<PlateauLevel>,
    /// Drops, in time order.
    pub drops: Vec<Drop>,
    /// Why the curve could not be analysed (then it has no plateau and no drop).
    pub error: Option<String>,
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvesAnalysis {
    /// How the columns were read.
    pub columns: ResolvedColumns,
    /// The options used.
    pub options: AnalyzeOptions,
    /// Every curve, in input order (those that failed with their error).
    pub curves: Vec<CurveResult>,
    /// The reference levels (interior plateaus across curves), decreasing.
    pub reference_levels: Vec<f64>,
    /// The fits across curves, by stage, quantity and law.
    pub exponents: Vec<ExponentFit>,
}

impl CurvesAnalysis {
    /// The name of the parameter, if one was given.
    pub fn by(&self) -> Option<&str> {
        self.columns.by.as_deref()
    }
}

/// Analyses every curve of `set` and fits across them; see the [module
/// documentation](self).
///
/// A curve that cannot be analysed (too few points) keeps its error in
/// [`CurveResult::error`] and is left out of the fits; the call fails only when no curve
/// can be analysed.
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] for invalid options (or detector parameters);
/// the first curve's error when no curve can be analysed.
pub fn analyze(set: &CurveSet, opts: &AnalyzeOptions) -> Result<CurvesAnalysis> {
    opts.validate()?;
    // The detector's own checks, once, on a curve that is certainly long enough.
    let probe: Vec<f64> = (1..=opts.detector.derivative_min_points.max(3) + 1)
        .map(|i| i as f64)
        .collect();
    opts.detector.detect(&probe, &probe, None)?;
    let results: Vec<(CurveResult, Option<AnalysisError>)> = set
        .curves
        .par_iter()
        .map(|c| analyze_curve(c, opts))
        .collect();
    if results.iter().all(|r| r.1.is_some()) {
        if let Some((_, Some(e))) = results.into_iter().next() {
            return Err(e);
        }
        return Err(AnalysisError::BadTable {
            reason: "no curve to analyse".into(),
        });
    }
    let mut curves: Vec<CurveResult> = results.into_iter().map(|r| r.0).collect();
    let (lo, hi) = curves
        .iter()
        .flat_map(|c| c.plateaus.iter().map(|p| p.level))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let scale = if hi > lo { hi - lo } else { 1.0 };
    let refs = stages::reference_levels(&curves, opts.level_tolerance, scale);
    stages::assign(&mut curves, &refs, opts.level_tolerance, scale);
    let exponents = if set.columns.by.is_some() {
        stages::exponents(&curves, opts)
    } else {
        Vec::new()
    };
    Ok(CurvesAnalysis {
        columns: set.columns.clone(),
        options: *opts,
        curves,
        reference_levels: refs,
        exponents,
    })
}

/// The two-sided normal quantile of `level`, `Φ⁻¹((1 + level)/2)`.
fn normal_quantile(level: f64) -> f64 {
    let p = 0.5 + 0.5 * level;
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::new(0.0, 1.0).map_or(1.96, |n| n.inverse_cdf(p))
}

/// Median of the raw losses with `t_entry ≤ t ≤ t_exit` and its order-statistic interval.
fn level_with_ci(c: &Curve, t_entry: f64, t_exit: f64, z: f64) -> (f64, [f64; 2], usize) {
    let lo = c.t.partition_point(|&t| t < t_entry);
    let hi = c.t.partition_point(|&t| t <= t_exit).max(lo);
    let mut v: Vec<f64> = c.loss[lo..hi].to_vec();
    let n = v.len();
    if n == 0 {
        return (f64::NAN, [f64::NAN; 2], 0);
    }
    v.sort_by(f64::total_cmp);
    let level = denoise::median(&mut v.clone());
    let half = 0.5 * z * (n as f64).sqrt();
    let j = ((0.5 * n as f64 - half).floor().max(1.0) as usize).min(n) - 1;
    let k = ((0.5 * n as f64 + half).ceil() as usize).clamp(1, n) - 1;
    (level, [v[j], v[k]], n)
}

/// `t_mid` of a drop from level `hi` to `lo` between `xa` and `xb` (in `ln t`): where the
/// robust straight line through the raw samples of the drop's core crosses `(hi + lo)/2`
/// (see [`core_line_crossing`]), else the first crossing of the midpoint by the denoised
/// curve, else `fallback`.
fn t_mid(
    c: &Curve,
    sm: &denoise::Smoothed,
    (hi, lo): (f64, f64),
    (xa, xb): (f64, f64),
    fallback: f64,
) -> f64 {
    let mid = 0.5 * (hi + lo);
    let a = sm.t.partition_point(|&t| t.ln() < xa);
    let b = sm.t.partition_point(|&t| t.ln() <= xb).max(a);
    let first = crossing_time(&sm.t[a..b], &sm.loss[a..b], mid);
    // The core: from the last denoised point above 80 % of the drop before the first
    // crossing to the first one below 20 % after it.
    let core = first.and_then(|tc| {
        let k = a + sm.t[a..b].partition_point(|&t| t < tc);
        let u = |j: usize| (sm.loss[j] - lo) / (hi - lo);
        let left = (a..k).rev().find(|&j| u(j) >= 0.8)?;
        let right = (k..b).find(|&j| u(j) <= 0.2)?;
        core_line_crossing(c, sm.t[left].ln(), sm.t[right].ln(), mid)
    });
    core.or(first).unwrap_or(fallback)
}

/// The crossing of `level` by a straight line `L = α + β x` fitted to the raw samples with
/// `x = ln t` in `[x0, x1]`, by iteratively reweighted least squares: each sample weighted
/// by its share of log time (half the gap to each neighbour, so a linear step axis, denser
/// at late times, does not tilt the fit) times Tukey's biweight of its residual
/// (`c = 4.685 · 1.4826 · MAD`, so spikes get weight 0). The window is then recentred on
/// the crossing, keeping its width, and the fit repeated (three times). On a drop symmetric
/// about its midpoint the line's crossing is the midpoint; it uses every raw sample of the
/// core, so its error falls like `1/√n`. `None` with fewer than 3 samples or a line that
/// does not descend.
fn core_line_crossing(c: &Curve, x0: f64, x1: f64, level: f64) -> Option<f64> {
    let half = 0.5 * (x1 - x0);
    let mut centre = 0.5 * (x0 + x1);
    let mut crossing = None;
    for _ in 0..3 {
        let (lo_t, hi_t) = ((centre - half).exp(), (centre + half).exp());
        let a = c.t.partition_point(|&t| t < lo_t);
        let b = c.t.partition_point(|&t| t <= hi_t);
        if b < a + 3 {
            return crossing;
        }
        let x: Vec<f64> = c.t[a..b].iter().map(|t| t.ln()).collect();
        let y = &c.loss[a..b];
        let n = x.len();
        let share: Vec<f64> = (0..n)
            .map(|i| {
                let l = if i > 0 { x[i] - x[i - 1] } else { 0.0 };
                let r = if i + 1 < n { x[i + 1] - x[i] } else { 0.0 };
                0.5 * (l + r).max(f64::MIN_POSITIVE)
            })
            .collect();
        let mut robust = vec![1.0; n];
        let mut line = None;
        for _ in 0..6 {
            let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for i in 0..n {
                let w = share[i] * robust[i];
                sw += w;
                sx += w * x[i];
                sy += w * y[i];
            }
            if sw <= 0.0 {
                break;
            }
            let (mx, my) = (sx / sw, sy / sw);
            for i in 0..n {
                let w = share[i] * robust[i];
                sxx += w * (x[i] - mx) * (x[i] - mx);
                sxy += w * (x[i] - mx) * (y[i] - my);
            }
            if sxx <= 0.0 {
                break;
            }
            let beta = sxy / sxx;
            let alpha = my - beta * mx;
            line = Some((alpha, beta));
            let mut res: Vec<f64> = (0..n).map(|i| (y[i] - alpha - beta * x[i]).abs()).collect();
            let scale = 4.685 * 1.4826 * denoise::median(&mut res.clone());
            if scale <= 0.0 {
                break;
            }
            for i in 0..n {
                let r = (y[i] - alpha - beta * x[i]) / scale;
                robust[i] = if r.abs() < 1.0 {
                    (1.0 - r * r).powi(2)
                } else {
                    0.0
                };
            }
            res.clear();
        }
        let (alpha, beta) = line?;
        if beta.is_nan() || beta >= 0.0 {
            return crossing;
        }
        let xc = (level - alpha) / beta;
        if !xc.is_finite() || (xc - centre).abs() > half {
            return crossing;
        }
        crossing = Some(xc.exp());
        centre = xc;
    }
    crossing
}

/// One curve's analysis, and its error when it could not be made (then the result holds
/// the error's text and no plateau).
fn analyze_curve(c: &Curve, opts: &AnalyzeOptions) -> (CurveResult, Option<AnalysisError>) {
    let mut result = CurveResult {
        name: c.name.clone(),
        by: c.by,
        counts: c.counts,
        n_points: c.t.len(),
        noise: f64::NAN,
        log_scale: false,
        smooth_t: Vec::new(),
        smooth_loss: Vec::new(),
        plateaus: Vec::new(),
        drops: Vec::new(),
        error: None,
    };
    if let Err(e) = c.check() {
        result.error = Some(format!("curve `{}`: {e}", c.name));
        return (result, Some(e));
    }
    let sm = denoise::smooth(&c.t, &c.loss, opts);
    result.noise = sm.noise;
    result.log_scale = sm.log_scale;
    let detection = opts
        .detector
        .detect_with_noise(&sm.t, &sm.loss, None, &sm.sd)
        .map_err(|e| match e {
            AnalysisError::TooFewPoints { needed, got, .. } => AnalysisError::TooFewPoints {
                what: "a curve (its points after denoising in log time)",
                needed,
                got,
            },
            other => other,
        });
    let detection = match detection {
        Ok(d) => d,
        Err(e) => {
            result.error = Some(format!("curve `{}`: {e}", c.name));
            result.smooth_t = sm.t;
            result.smooth_loss = sm.loss;
            return (result, Some(e));
        }
    };
    let z = normal_quantile(opts.level);
    result.plateaus = detection
        .plateaus
        .iter()
        .map(|p| {
            let (level, ci, n) = level_with_ci(c, p.t_entry, p.t_exit, z);
            PlateauLevel {
                // A plateau between two samples keeps the detector's level.
                level: if n > 0 { level } else { p.level },
                ci,
                t_entry: p.t_entry,
                t_exit: p.t_exit,
                length_log: p.length_log,
                open_start: p.open_start,
                open_end: p.open_end,
                n_points: n,
            }
        })
        .collect();
    result.drops = detection
        .phases
        .iter()
        .enumerate()
        .map(|(k, ph)| {
            let (before, after) = (
                &result.plateaus[ph.from_plateau],
                &result.plateaus[ph.to_plateau],
            );
            let (hi, lo) = (before.level, after.level);
            Drop {
                drop: k + 1,
                from_plateau: ph.from_plateau,
                level_before: hi,
                level_after: lo,
                t_start: ph.t_start,
                t_mid: t_mid(c, &sm, (hi, lo), (ph.t_start.ln(), ph.t_end.ln()), ph.t_mid),
                t_end: ph.t_end,
                merged: false,
                skipped_levels: Vec::new(),
                stage: 0,
            }
        })
        .collect();
    result.smooth_t = sm.t;
    result.smooth_loss = sm.loss;
    (result, None)
}

#[cfg(test)]
mod tests;
