//! Plateau and phase detection on a risk curve, in log-time.
//!
//! Write `x = ln t` and `G(x) = −dR/dx` (the descent rate of the risk per e-fold of time,
//! estimated by [`local_quadratic_slope`](crate::local_quadratic_slope)). A *drop* is a hump of `G`; a *plateau* is a stretch
//! of log-time between two drops (or before the first, or after the last) where `G` is small
//! **compared with the drops on either side**. That contrast, not a small derivative alone,
//! makes a plateau: a slow drop spread over decades has a single hump of `G` and no valley in
//! it, so it is never split, however small its rate.
//!
//! The algorithm, with the parameters of [`PlateauDetector`]:
//!
//! 1. `x_i = ln t_i` for the samples with `t_i > 0` (the initial point `t = 0` is ignored),
//!    `S = max R − min R` (the curve's range), `G_i` on the possibly non-uniform grid.
//! 2. Local maxima of `G` (ends included) are the seeds of drops. Two neighbouring drops of
//!    peak rates `h_a`, `h_b` (the highest of their peaks) are merged while the lowest `G`
//!    between those highest peaks exceeds `contrast · min(h_a, h_b)` (no valley deep enough
//!    to hold a plateau).
//! 3. A drop of peak rate `h` extends, left of its first peak above `contrast · h` and right
//!    of its last, to where `G` first falls to `contrast · h` (linear interpolation in `x`). Its depth `ΔR` is the difference of the smoothed risk (the
//!    value of the same local quadratic fit) across that extent; drops with
//!    `ΔR < max(min_drop · S, noise_factor · σ̂)` are removed, where `σ̂` is a robust estimate
//!    of the sample noise (`1.4826 · √2 · median |R_i − R̂_i|`, `R̂` the smoothed risk), and
//!    steps 2–3 are repeated until nothing changes.
//! 4. Plateau candidates are the stretches between the remaining drops, from where the left
//!    drop ends to where the right drop starts; the first starts at the first sample and the
//!    last ends at the last sample ("open" plateaus: their length is a lower bound). A
//!    candidate is kept when its length in log-time is at least `min_length`, its smoothed risk
//!    varies by at most `max_variation` times the shallower neighbouring drop, and its mean relative
//!    rate `⟨|G| / max(R, rel_rate_floor · S)⟩` is at most `max_rel_rate`. The floor lets a
//!    curve that converges to `R → 0` end on a plateau at its final level. A candidate that
//!    fails is trimmed to its longest run of samples whose relative rate is at most
//!    `max_rel_rate` (a level still being approached slowly) and tested again.
//! 5. The level of a plateau is the median of the risk samples on it.
//! 6. With hint levels `R_l = ½ Σ_{k>l} φ_k²`, a plateau is labelled with the degree `l`
//!    whose `R_l` is nearest to its level, if within `hint_tolerance · S` (ties: smallest `l`,
//!    i.e. the earliest phase after which the risk sits at that level). An interior plateau that
//!    matches no hint must be at least `unmatched_min_length` long, otherwise it is rejected
//!    as spurious (the first and the last plateau are kept: they are the initial state and the
//!    final level, which need not be hinted).
//! 7. A *phase* is the passage between two consecutive kept plateaus `P_j`, `P_{j+1}` of
//!    levels `L_j > L_{j+1}`. Its times are
//!    - `t_mid`: the first downward crossing, after `P_j` ends, of the midpoint level
//!      `(L_j + L_{j+1}) / 2`, linearly interpolated in `ln t`;
//!    - `t_steepest`: the inflection point of the risk in `ln t` near the maximal sample of `G`
//!      between the plateaus: a cubic is fitted to the risk on the samples within the
//!      half-width at half-maximum of the `G` peak, recentred on its inflection point
//!      `x* = x_c − c₂/(3c₃)` until it settles (so the window is symmetric about the answer
//!      even on a jittered grid); if fewer than 5 samples lie in that window, the vertex of
//!      the parabola through the maximal sample of `G` and its two neighbours is used.
//!
//! Defaults were calibrated on the limit-ODE risk curves of the shared reference scenario
//! (`docs/model.md` §4–§5) and on synthetic sums of logistic steps in `ln t`.

mod candidates;
mod drops;
mod grid;
mod phases;

use serde::{Deserialize, Serialize};

use crate::deriv::local_quadratic;
use crate::error::{AnalysisError, Result, check_finite, check_same_len};
use candidates::merge_equal_levels;
use grid::Curve;
use phases::phases_between;

/// Configuration of the plateau/phase detector; see the [module documentation](self) for the
/// algorithm. All lengths are in units of `ln t` (e-folds of time); fractions are relative to
/// the curve's range `S = max R − min R` unless stated otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlateauDetector {
    /// Half-width in `ln t` of the local quadratic fit that estimates `dR/d ln t`. Default 0.25.
    pub derivative_half_width: f64,
    /// Minimum number of samples in that fit (≥ 3). Default 5.
    pub derivative_min_points: usize,
    /// Contrast `c` in (0, 1): a plateau's descent rate is at most `c` times the peak rate of
    /// each neighbouring drop. Default 0.1.
    pub contrast: f64,
    /// Minimum depth of a drop as a fraction of `S`. Default 0.02.
    pub min_drop: f64,
    /// Minimum depth of a drop in units of the estimated sample noise `σ̂`. Default 5.
    pub noise_factor: f64,
    /// Minimum plateau length in `ln t`. Default 0.5.
    pub min_length: f64,
    /// Maximum variation of the risk on a plateau, as a fraction of the shallower neighbouring
    /// drop (of `S` when there is none). Default 0.25.
    pub max_variation: f64,
    /// Maximum mean relative rate `⟨|dR/d ln t| / max(R, rel_rate_floor·S)⟩` on a plateau.
    /// Default 0.2.
    pub max_rel_rate: f64,
    /// Floor of the denominator of the relative rate, as a fraction of `S` (so that `R → 0`
    /// is handled). Default 0.05.
    pub rel_rate_floor: f64,
    /// A plateau matches a hint level when within `hint_tolerance · S` of it. Default 0.05.
    pub hint_tolerance: f64,
    /// With hints, an interior plateau that matches none must be at least this long (in
    /// `ln t`) to be kept; `f64::INFINITY` rejects every unmatched interior plateau.
    /// Default 1.5.
    pub unmatched_min_length: f64,
}

impl Default for PlateauDetector {
    fn default() -> Self {
        Self {
            derivative_half_width: 0.25,
            derivative_min_points: 5,
            contrast: 0.1,
            min_drop: 0.02,
            noise_factor: 5.0,
            min_length: 0.5,
            max_variation: 0.25,
            max_rel_rate: 0.2,
            rel_rate_floor: 0.05,
            hint_tolerance: 0.05,
            unmatched_min_length: 1.5,
        }
    }
}

/// A plateau of the risk curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plateau {
    /// Representative level: median of the risk samples on the plateau.
    pub level: f64,
    /// Entry time (where the previous drop ends, or the first sample).
    pub t_entry: f64,
    /// Exit time (where the next drop starts, or the last sample).
    pub t_exit: f64,
    /// Length in log-time, `ln(t_exit / t_entry)`.
    pub length_log: f64,
    /// The plateau starts at the first sample: its entry (and length) is censored.
    pub open_start: bool,
    /// The plateau ends at the last sample: its exit (and length) is censored.
    pub open_end: bool,
    /// Degree `l` of the matching hint level `R_l`, if hints were given and one matches.
    pub degree: Option<usize>,
    /// The matching hint level `R_l`.
    pub hint_level: Option<f64>,
    /// Number of samples on the plateau.
    pub n_points: usize,
}

impl Plateau {
    /// Deviation of the measured level from the hinted one, `level − R_l`.
    pub fn hint_deviation(&self) -> Option<f64> {
        self.hint_level.map(|h| self.level - h)
    }
}

/// The passage between two consecutive plateaus: one learning phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Index (into [`Detection::plateaus`]) of the plateau before the phase.
    pub from_plateau: usize,
    /// Index of the plateau after the phase.
    pub to_plateau: usize,
    /// Degree of the plateau reached (the hint degree `l` of `R_l`), if labelled.
    pub degree: Option<usize>,
    /// The degrees learnt in this phase, when both plateaus are labelled (`a` before, `b`
    /// after): every `k` in `a < k ≤ b` with `R_{k−1} ≠ R_k` (a degree with `φ_k = 0` has
    /// nothing to learn). More than one: phases merged.
    pub degrees_learnt: Vec<usize>,
    /// Level before, `L_j`.
    pub level_before: f64,
    /// Level after, `L_{j+1}`.
    pub level_after: f64,
    /// Start of the phase: exit time of the plateau before.
    pub t_start: f64,
    /// End of the phase: entry time of the plateau after.
    pub t_end: f64,
    /// First crossing of `(L_j + L_{j+1})/2` after `t_start`, interpolated in `ln t`.
    pub t_mid: f64,
    /// Time of steepest descent, `argmax (−dR/d ln t)` between the plateaus (the inflection
    /// point of `R(ln t)`).
    pub t_steepest: f64,
    /// The descent rate there, `−dR/d ln t` at `t_steepest`.
    pub max_descent_rate: f64,
}

/// Result of [`PlateauDetector::detect`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Detection {
    /// Plateaus in time order; levels decrease from one to the next.
    pub plateaus: Vec<Plateau>,
    /// Phases between consecutive plateaus (`plateaus.len() − 1` of them, or none).
    pub phases: Vec<Phase>,
}

impl Detection {
    /// Midpoint-crossing times of the phases, in order.
    pub fn t_mid(&self) -> Vec<f64> {
        self.phases.iter().map(|p| p.t_mid).collect()
    }

    /// Steepest-descent times of the phases, in order.
    pub fn t_steepest(&self) -> Vec<f64> {
        self.phases.iter().map(|p| p.t_steepest).collect()
    }

    /// The phase that reaches the plateau labelled with degree `l`, if any.
    pub fn phase_to_degree(&self, l: usize) -> Option<&Phase> {
        self.phases.iter().find(|p| p.degree == Some(l))
    }
}

impl PlateauDetector {
    fn validate(&self) -> Result<()> {
        let checks: [(&'static str, f64, bool, &'static str); 10] = [
            (
                "noise_factor",
                self.noise_factor,
                self.noise_factor >= 0.0,
                "must be >= 0",
            ),
            (
                "derivative_half_width",
                self.derivative_half_width,
                self.derivative_half_width >= 0.0,
                "must be >= 0",
            ),
            (
                "contrast",
                self.contrast,
                self.contrast > 0.0 && self.contrast < 1.0,
                "must be in (0, 1)",
            ),
            (
                "min_drop",
                self.min_drop,
                self.min_drop > 0.0,
                "must be > 0",
            ),
            (
                "min_length",
                self.min_length,
                self.min_length >= 0.0,
                "must be >= 0",
            ),
            (
                "max_variation",
                self.max_variation,
                self.max_variation > 0.0,
                "must be > 0",
            ),
            (
                "max_rel_rate",
                self.max_rel_rate,
                self.max_rel_rate > 0.0,
                "must be > 0",
            ),
            (
                "rel_rate_floor",
                self.rel_rate_floor,
                self.rel_rate_floor > 0.0,
                "must be > 0",
            ),
            (
                "hint_tolerance",
                self.hint_tolerance,
                self.hint_tolerance >= 0.0,
                "must be >= 0",
            ),
            (
                "unmatched_min_length",
                self.unmatched_min_length,
                self.unmatched_min_length >= 0.0,
                "must be >= 0 (may be infinite)",
            ),
        ];
        for (name, value, ok, reason) in checks {
            let finite_required = name != "unmatched_min_length";
            if !ok || value.is_nan() || (finite_required && !value.is_finite()) {
                return Err(AnalysisError::InvalidParameter {
                    name,
                    value,
                    reason,
                });
            }
        }
        if self.derivative_min_points < 3 {
            return Err(AnalysisError::InvalidParameter {
                name: "derivative_min_points",
                value: self.derivative_min_points as f64,
                reason: "must be >= 3",
            });
        }
        Ok(())
    }

    /// Detects plateaus and phases on the curve `(t, risk)`.
    ///
    /// `t` must be strictly increasing; samples with `t ≤ 0` are ignored (log-time). `hints`,
    /// when given, are the predicted plateau levels: `hints[l] = R_l = ½ Σ_{k>l} φ_k²`. See the
    /// [module documentation](self) for the definitions.
    ///
    /// ```
    /// # use timescales_analysis::PlateauDetector;
    /// // Two logistic steps in ln t: 1.5 → 1.0 around t = 1e-3, 1.0 → 0.0 around t = 1.
    /// let t: Vec<f64> = (0..=800).map(|i| 10f64.powf(-6.0 + i as f64 / 100.0)).collect();
    /// let step = |x: f64, x0: f64| 1.0 / (1.0 + ((x - x0) / 0.3).exp());
    /// let risk: Vec<f64> = t
    ///     .iter()
    ///     .map(|&t| 1.0 + 0.5 * step(t.ln(), 1e-3f64.ln()) - 1.0 + step(t.ln(), 0.0))
    ///     .collect();
    /// let d = PlateauDetector::default().detect(&t, &risk, Some(&[1.0, 0.0]))?;
    /// assert_eq!(d.plateaus.len(), 3);
    /// assert_eq!(d.phases[0].degree, Some(0));
    /// assert!((d.phases[0].t_mid / 1e-3 - 1.0).abs() < 1e-3);
    /// assert!((d.phases[1].t_steepest - 1.0).abs() < 1e-3);
    /// # Ok::<(), timescales_analysis::AnalysisError>(())
    /// ```
    pub fn detect(&self, t: &[f64], risk: &[f64], hints: Option<&[f64]>) -> Result<Detection> {
        self.detect_inner(t, risk, hints, None)
    }

    /// [`detect`](Self::detect) on a curve whose samples carry known, unequal noise: `sd[i]`
    /// is the standard deviation of `risk[i]` (e.g. a running median of many raw samples,
    /// whose precision grows with their number). A drop from `x_a` to `x_b` must then also be
    /// at least `noise_factor · √(sd(x_a)² + sd(x_b)²)` deep (step 3), besides
    /// `min_drop · S` and `noise_factor · σ̂`: a wiggle where the curve is poorly sampled is
    /// not a drop. And the rate test of a plateau (step 4) takes the *net* relative rate
    /// across it, `|R̂(exit) − R̂(entry)| / (length · level)`, instead of the mean of
    /// `|G| / R`: a noisy plateau goes nowhere while its local slopes are large (its bumps are
    /// still bounded by the variation test).
    ///
    /// ```
    /// # use timescales_analysis::PlateauDetector;
    /// // A drop of 0.1 is a phase when the samples are exact, not when each is ±0.05.
    /// let t: Vec<f64> = (1..=400).map(|i| 10f64.powf(i as f64 / 100.0)).collect();
    /// let step = |x: f64| 1.0 / (1.0 + ((x - 4.0) / 0.3).exp());
    /// let risk: Vec<f64> = t.iter().map(|&t| 0.9 + 0.1 * step(t.ln())).collect();
    /// let det = PlateauDetector::default();
    /// assert_eq!(det.detect_with_noise(&t, &risk, None, &vec![0.0; 400])?.phases.len(), 1);
    /// assert_eq!(det.detect_with_noise(&t, &risk, None, &vec![0.05; 400])?.phases.len(), 0);
    /// # Ok::<(), timescales_analysis::AnalysisError>(())
    /// ```
    pub fn detect_with_noise(
        &self,
        t: &[f64],
        risk: &[f64],
        hints: Option<&[f64]>,
        sd: &[f64],
    ) -> Result<Detection> {
        check_same_len("risk", risk.len(), "sd", sd.len())?;
        check_finite("sd", sd)?;
        self.detect_inner(t, risk, hints, Some(sd))
    }

    fn detect_inner(
        &self,
        t: &[f64],
        risk: &[f64],
        hints: Option<&[f64]>,
        sd: Option<&[f64]>,
    ) -> Result<Detection> {
        self.validate()?;
        check_same_len("t", t.len(), "risk", risk.len())?;
        check_finite("t", t)?;
        check_finite("risk", risk)?;
        if let Some(h) = hints {
            check_finite("hints", h)?;
        }
        for i in 1..t.len() {
            if t[i] <= t[i - 1] {
                return Err(AnalysisError::NonIncreasingTime {
                    index: i,
                    previous: t[i - 1],
                    value: t[i],
                });
            }
        }
        let first = t.partition_point(|&v| v <= 0.0);
        let x: Vec<f64> = t[first..].iter().map(|v| v.ln()).collect();
        let r: Vec<f64> = risk[first..].to_vec();
        let needed = self.derivative_min_points.max(3);
        if x.len() < needed {
            return Err(AnalysisError::TooFewPoints {
                what: "plateau detection (samples with t > 0)",
                needed,
                got: x.len(),
            });
        }
        let fit = local_quadratic(
            &x,
            &r,
            self.derivative_half_width,
            self.derivative_min_points,
        )?;
        let smooth: Vec<f64> = fit.iter().map(|v| v[0]).collect();
        let g: Vec<f64> = fit.iter().map(|v| -v[1]).collect();
        let sd = sd.map(|sd| sd[first..].iter().map(|v| v.abs()).collect());
        let curve = Curve {
            x,
            r,
            smooth,
            g,
            sd,
        };

        let (rmin, rmax) = curve
            .r
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let range = rmax - rmin;
        let scale_ref = rmax.abs().max(rmin.abs()).max(f64::MIN_POSITIVE);
        let drops = if range <= 1e-14 * scale_ref {
            Vec::new()
        } else {
            let min_depth = (self.min_drop * range).max(self.noise_factor * curve.noise());
            self.find_drops(&curve, min_depth)
        };
        let mut plateaus = self.plateaus_between(&curve, &drops, range);
        if let Some(h) = hints {
            self.apply_hints(&mut plateaus, h, range);
        }
        let plateaus = merge_equal_levels(&curve, plateaus, self.min_drop * range);
        let phases = phases_between(&curve, &plateaus, hints.unwrap_or(&[]));
        Ok(Detection {
            plateaus: plateaus.into_iter().map(|p| p.finish(&curve)).collect(),
            phases,
        })
    }
}

#[cfg(test)]
mod tests;
