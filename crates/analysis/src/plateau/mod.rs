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

use serde::{Deserialize, Serialize};

use crate::curve::interp_clamped;
use crate::deriv::{local_quadratic, solve_n};
use crate::error::{AnalysisError, Result, check_finite, check_same_len};

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

/// A drop under construction: a group of `G` peaks.
#[derive(Debug, Clone, Copy)]
struct DropSeed {
    /// Index of the last peak of the group.
    peak: usize,
    /// Extent in `x`: left end, and whether it reached the first sample.
    left: f64,
    /// Right end.
    right: f64,
    /// Depth `R(left) − R(right)`.
    depth: f64,
}

/// The log-time grid and the curve on it.
struct Curve {
    x: Vec<f64>,
    r: Vec<f64>,
    /// Smoothed risk (value of the local quadratic fit).
    smooth: Vec<f64>,
    g: Vec<f64>,
}

impl Curve {
    /// Risk at `xv`, linearly interpolated in `x` (clamped to the grid).
    fn risk_at(&self, xv: f64) -> f64 {
        interp_clamped(&self.x, &self.r, xv)
    }

    /// Smoothed risk at `xv`, linearly interpolated.
    fn smooth_at(&self, xv: f64) -> f64 {
        interp_clamped(&self.x, &self.smooth, xv)
    }

    /// Robust noise estimate `1.4826 · √2 · median |R_i − R̂_i|` (the `√2` roughly undoes the
    /// shrinkage of a residual at a point that its own fit includes).
    fn noise(&self) -> f64 {
        let mut e: Vec<f64> = self
            .r
            .iter()
            .zip(&self.smooth)
            .map(|(a, b)| (a - b).abs())
            .collect();
        e.sort_by(f64::total_cmp);
        1.4826 * std::f64::consts::SQRT_2 * e[e.len() / 2]
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
        let curve = Curve { x, r, smooth, g };

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

    /// Steps 2–3: drops as groups of `G` peaks separated by deep valleys, with enough depth.
    fn find_drops(&self, c: &Curve, min_depth: f64) -> Vec<DropSeed> {
        let g = &c.g;
        let n = g.len();
        // Groups of peaks: (first member, last member, highest member).
        let mut groups: Vec<(usize, usize, usize)> = (0..n)
            .filter(|&i| {
                let left_ok = i == 0 || g[i] >= g[i - 1];
                let right_ok = i + 1 == n || g[i] > g[i + 1];
                g[i] > 0.0 && left_ok && right_ok && !(i == 0 && i + 1 == n)
            })
            .map(|i| (i, i, i))
            .collect();
        loop {
            // Merge neighbouring groups whose valley is shallow, the shallowest first.
            loop {
                let mut best: Option<(usize, f64)> = None;
                for k in 0..groups.len().saturating_sub(1) {
                    let (a, b) = (groups[k], groups[k + 1]);
                    let valley = g[a.2..=b.2].iter().copied().fold(f64::INFINITY, f64::min);
                    let ratio = valley / g[a.2].min(g[b.2]);
                    if ratio > self.contrast && best.is_none_or(|(_, r)| ratio > r) {
                        best = Some((k, ratio));
                    }
                }
                match best {
                    Some((k, _)) => {
                        let (a, b) = (groups[k], groups[k + 1]);
                        let top = if g[a.2] >= g[b.2] { a.2 } else { b.2 };
                        groups[k] = (a.0, b.1, top);
                        groups.remove(k + 1);
                    }
                    None => break,
                }
            }
            let seeds: Vec<DropSeed> = groups.iter().map(|&gr| self.extent(c, gr)).collect();
            let before = groups.len();
            let kept: Vec<(usize, usize, usize)> = seeds
                .iter()
                .zip(&groups)
                .filter(|(s, _)| s.depth >= min_depth)
                .map(|(_, &gr)| gr)
                .collect();
            if kept.len() == before {
                return seeds;
            }
            groups = kept;
        }
    }

    /// Extent and depth of a drop (a group of `G` peaks `(first, last, highest)`): from the
    /// first significant member leftwards and from the last one rightwards, to where `G` falls
    /// to `contrast` times the highest peak (members below that are wiggles on the drop's
    /// flanks or on the plateaus and do not widen it).
    fn extent(&self, c: &Curve, (first, last, top): (usize, usize, usize)) -> DropSeed {
        let (x, g) = (&c.x, &c.g);
        let thr = self.contrast * g[top];
        let is_peak =
            |i: usize| (i == 0 || g[i] >= g[i - 1]) && (i + 1 == g.len() || g[i] > g[i + 1]);
        let first = (first..=top)
            .find(|&i| g[i] > thr && is_peak(i))
            .unwrap_or(top);
        let last = (top..=last)
            .rev()
            .find(|&i| g[i] > thr && is_peak(i))
            .unwrap_or(top);
        let mut left = x[0];
        for i in (0..first).rev() {
            if g[i] <= thr {
                left = cross(x[i], g[i], x[i + 1], g[i + 1], thr);
                break;
            }
        }
        let mut right = x[x.len() - 1];
        for i in last + 1..x.len() {
            if g[i] <= thr {
                right = cross(x[i - 1], g[i - 1], x[i], g[i], thr);
                break;
            }
        }
        DropSeed {
            peak: last,
            left,
            right,
            depth: c.smooth_at(left) - c.smooth_at(right),
        }
    }

    /// Step 4: plateau candidates between drops, validated.
    fn plateaus_between(&self, c: &Curve, drops: &[DropSeed], range: f64) -> Vec<Candidate> {
        let x0 = c.x[0];
        let xn = c.x[c.x.len() - 1];
        let mut out = Vec::new();
        for k in 0..=drops.len() {
            let before = k.checked_sub(1).map(|j| drops[j]);
            let after = drops.get(k).copied();
            let entry = before.map_or(x0, |d| d.right);
            let exit = after.map_or(xn, |d| d.left);
            // A drop running into the end of the grid leaves no room for a plateau there.
            if exit <= entry
                || (before.is_some_and(|d| d.peak + 1 >= c.x.len()) && k == drops.len())
            {
                continue;
            }
            let mut cand = Candidate {
                entry,
                exit,
                open_start: before.is_none(),
                open_end: after.is_none(),
                level: 0.0,
                degree: None,
                hint_level: None,
            };
            cand.level = cand.median_level(c);
            let depth_ref = match (before, after) {
                (Some(a), Some(b)) => a.depth.min(b.depth),
                (Some(a), None) => a.depth,
                (None, Some(b)) => b.depth,
                (None, None) => range,
            };
            if self.valid(c, &cand, depth_ref, range) {
                out.push(cand);
            } else if let Some(trimmed) = self.trim(c, &cand, range) {
                // A plateau still being approached (e.g. a slow tail before the final level):
                // keep its flat part.
                if self.valid(c, &trimmed, depth_ref, range) {
                    out.push(trimmed);
                }
            }
        }
        out
    }

    /// The longest run of samples of `p` whose relative rate `|G| / max(R, floor)` is at most
    /// `max_rel_rate`, as a candidate (ends at the samples, open ends kept where they touch).
    fn trim(&self, c: &Curve, p: &Candidate, range: f64) -> Option<Candidate> {
        let floor = self.rel_rate_floor * range;
        let idx: Vec<usize> = p.indices(c).collect();
        let ok = |i: usize| {
            c.g[i].abs() / c.r[i].abs().max(floor).max(f64::MIN_POSITIVE) <= self.max_rel_rate
        };
        let (mut best, mut cur): (Option<(usize, usize)>, Option<usize>) = (None, None);
        for (j, &i) in idx.iter().enumerate() {
            match (ok(i), cur) {
                (true, None) => cur = Some(j),
                (false, Some(st)) => {
                    if best.is_none_or(|(a, b)| {
                        c.x[idx[j - 1]] - c.x[idx[st]] > c.x[idx[b]] - c.x[idx[a]]
                    }) {
                        best = Some((st, j - 1));
                    }
                    cur = None;
                }
                _ => {}
            }
        }
        if let Some(st) = cur {
            let last = idx.len() - 1;
            if best.is_none_or(|(a, b)| c.x[idx[last]] - c.x[idx[st]] > c.x[idx[b]] - c.x[idx[a]]) {
                best = Some((st, last));
            }
        }
        let (a, b) = best?;
        if a == 0 && b == idx.len() - 1 {
            return None;
        }
        let mut t = p.clone();
        if a > 0 {
            t.entry = c.x[idx[a]];
            t.open_start = false;
        }
        if b < idx.len() - 1 {
            t.exit = c.x[idx[b]];
            t.open_end = false;
        }
        t.level = t.median_level(c);
        Some(t)
    }

    /// The validity tests of step 4.
    fn valid(&self, c: &Curve, p: &Candidate, depth_ref: f64, range: f64) -> bool {
        if p.exit - p.entry < self.min_length {
            return false;
        }
        let idx = p.indices(c);
        let mut lo = c.smooth_at(p.entry).min(c.smooth_at(p.exit));
        let mut hi = c.smooth_at(p.entry).max(c.smooth_at(p.exit));
        for i in idx.clone() {
            lo = lo.min(c.smooth[i]);
            hi = hi.max(c.smooth[i]);
        }
        // With no drop at all the whole curve is the candidate: its variation is the range
        // itself, so only the relative-rate test applies.
        let has_neighbour = !(p.open_start && p.open_end);
        if has_neighbour && hi - lo > self.max_variation * depth_ref {
            return false;
        }
        let floor = self.rel_rate_floor * range;
        // Mean relative rate, trapezoidal in x over the samples on the plateau.
        let pts: Vec<usize> = idx.collect();
        let rel = |i: usize| c.g[i].abs() / c.r[i].abs().max(floor).max(f64::MIN_POSITIVE);
        let mean = match pts.len() {
            0 => {
                let mid = 0.5 * (p.entry + p.exit);
                let k = c.x.partition_point(|&v| v <= mid).min(c.x.len() - 1);
                rel(k)
            }
            1 => rel(pts[0]),
            _ => {
                let mut acc = 0.0;
                for w in pts.windows(2) {
                    acc += 0.5 * (rel(w[0]) + rel(w[1])) * (c.x[w[1]] - c.x[w[0]]);
                }
                acc / (c.x[pts[pts.len() - 1]] - c.x[pts[0]])
            }
        };
        mean <= self.max_rel_rate
    }

    /// Step 6: labels plateaus with hint degrees and rejects short unmatched interior ones.
    fn apply_hints(&self, plateaus: &mut Vec<Candidate>, hints: &[f64], range: f64) {
        let tol = self.hint_tolerance * range;
        let n = plateaus.len();
        let mut keep = vec![true; n];
        for (j, p) in plateaus.iter_mut().enumerate() {
            let mut best: Option<(usize, f64)> = None;
            for (l, &h) in hints.iter().enumerate() {
                let d = (p.level - h).abs();
                if d <= tol && best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((l, d));
                }
            }
            match best {
                Some((l, _)) => {
                    p.degree = Some(l);
                    p.hint_level = Some(hints[l]);
                }
                None => {
                    let interior = j > 0 && j + 1 < n;
                    if interior && p.exit - p.entry < self.unmatched_min_length {
                        keep[j] = false;
                    }
                }
            }
        }
        let mut it = keep.into_iter();
        plateaus.retain(|_| it.next().unwrap_or(true));
    }
}

/// A validated plateau in `x = ln t` coordinates.
#[derive(Debug, Clone)]
struct Candidate {
    entry: f64,
    exit: f64,
    open_start: bool,
    open_end: bool,
    level: f64,
    degree: Option<usize>,
    hint_level: Option<f64>,
}

impl Candidate {
    /// Indices of the samples with `entry ≤ x ≤ exit`.
    fn indices(&self, c: &Curve) -> std::ops::Range<usize> {
        let lo = c.x.partition_point(|&v| v < self.entry);
        let hi = c.x.partition_point(|&v| v <= self.exit);
        lo..hi.max(lo)
    }

    /// Median of the samples on the plateau (interpolated risk at the centre if none).
    fn median_level(&self, c: &Curve) -> f64 {
        let mut v: Vec<f64> = c.r[self.indices(c)].to_vec();
        if v.is_empty() {
            return c.risk_at(0.5 * (self.entry + self.exit));
        }
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 1 {
            v[m]
        } else {
            0.5 * (v[m - 1] + v[m])
        }
    }

    fn finish(self, c: &Curve) -> Plateau {
        Plateau {
            level: self.level,
            t_entry: self.entry.exp(),
            t_exit: self.exit.exp(),
            length_log: self.exit - self.entry,
            open_start: self.open_start,
            open_end: self.open_end,
            degree: self.degree,
            hint_level: self.hint_level,
            n_points: self.indices(c).len(),
        }
    }
}

/// `x` where the segment `(xa, ga)–(xb, gb)` crosses `thr` (clamped to the segment).
fn cross(xa: f64, ga: f64, xb: f64, gb: f64, thr: f64) -> f64 {
    if (gb - ga).abs() <= f64::MIN_POSITIVE {
        return 0.5 * (xa + xb);
    }
    let w = ((thr - ga) / (gb - ga)).clamp(0.0, 1.0);
    xa + w * (xb - xa)
}

/// Merges consecutive plateaus whose levels differ by less than `min_step`: a plateau is
/// never reported inside (or right next to) another at the same level.
fn merge_equal_levels(c: &Curve, plateaus: Vec<Candidate>, min_step: f64) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::with_capacity(plateaus.len());
    for p in plateaus {
        match out.last_mut() {
            Some(last) if (last.level - p.level).abs() < min_step => {
                last.exit = p.exit;
                last.open_end = p.open_end;
                last.level = last.median_level(c);
                if last.degree.is_none() {
                    last.degree = p.degree;
                    last.hint_level = p.hint_level;
                }
            }
            _ => out.push(p),
        }
    }
    out
}

/// Step 7: the phases between consecutive plateaus.
fn phases_between(c: &Curve, plateaus: &[Candidate], hints: &[f64]) -> Vec<Phase> {
    let mut out = Vec::with_capacity(plateaus.len().saturating_sub(1));
    for (j, w) in plateaus.windows(2).enumerate() {
        let (a, b) = (&w[0], &w[1]);
        let mid = 0.5 * (a.level + b.level);
        let x_mid = midpoint_crossing(c, a, b, mid);
        let (x_st, rate) = steepest(c, a.exit, b.entry);
        let degrees_learnt = match (a.degree, b.degree) {
            (Some(da), Some(db)) => (da + 1..=db)
                .filter(|&k| {
                    hints
                        .get(k)
                        .zip(hints.get(k - 1))
                        .is_some_and(|(r, q)| r != q)
                })
                .collect(),
            _ => Vec::new(),
        };
        out.push(Phase {
            from_plateau: j,
            to_plateau: j + 1,
            degree: b.degree,
            degrees_learnt,
            level_before: a.level,
            level_after: b.level,
            t_start: a.exit.exp(),
            t_end: b.entry.exp(),
            t_mid: x_mid.exp(),
            t_steepest: x_st.exp(),
            max_descent_rate: rate,
        });
    }
    out
}

/// First downward crossing of `mid` after plateau `a` ends (the last crossing before it, if
/// none; the centre of the phase if the risk never crosses, which a monotone curve excludes).
fn midpoint_crossing(c: &Curve, a: &Candidate, b: &Candidate, mid: f64) -> f64 {
    let lo = c.x.partition_point(|&v| v < a.entry).saturating_sub(1);
    let hi = c.x.partition_point(|&v| v <= b.exit).min(c.x.len() - 1);
    let mut last_before = None;
    for k in lo..hi {
        let (ra, rb) = (c.r[k], c.r[k + 1]);
        if ra > mid && rb <= mid {
            let xc = c.x[k] + (ra - mid) / (ra - rb) * (c.x[k + 1] - c.x[k]);
            if c.x[k + 1] >= a.exit {
                return xc;
            }
            last_before = Some(xc);
        }
    }
    last_before.unwrap_or(0.5 * (a.exit + b.entry))
}

/// Steepest descent on `[xa, xb]`: the inflection point of the risk near the maximal `G`
/// sample (cubic fit on the half-maximum window, recentred), else the parabolic vertex of `G`.
/// Returns `(x, −dR/dx there)`.
fn steepest(c: &Curve, xa: f64, xb: f64) -> (f64, f64) {
    let n = c.x.len();
    let mut lo = c.x.partition_point(|&v| v < xa);
    let mut hi = c.x.partition_point(|&v| v <= xb);
    if hi <= lo {
        lo = lo.saturating_sub(1);
        hi = (hi + 1).min(n);
    }
    let mut k = lo;
    for i in lo..hi {
        if c.g[i] > c.g[k] {
            k = i;
        }
    }
    if let Some((x, rate)) = inflection(c, k).filter(|&(x, _)| x >= xa && x <= xb) {
        return (x, rate);
    }
    if k == 0 || k + 1 >= n {
        return (c.x[k], c.g[k]);
    }
    let (x0, x1, x2) = (c.x[k - 1], c.x[k], c.x[k + 1]);
    let (g0, g1, g2) = (c.g[k - 1], c.g[k], c.g[k + 1]);
    // Vertex of the parabola through the three points (divided differences).
    let d01 = (g1 - g0) / (x1 - x0);
    let d12 = (g2 - g1) / (x2 - x1);
    let curv = (d12 - d01) / (x2 - x0);
    if curv >= 0.0 {
        return (x1, g1);
    }
    let xv = (0.5 * (x0 + x1) - d01 / (2.0 * curv)).clamp(x0, x2);
    // Newton form: p(x) = g0 + d01 (x − x0) + curv (x − x0)(x − x1).
    let gv = g0 + d01 * (xv - x0) + curv * (xv - x0) * (xv - x1);
    (xv, gv.max(g1))
}

/// Inflection point of the risk near the `G` peak at sample `k`: cubic least-squares fit on
/// the samples within the half-width at half-maximum of the peak, recentred on the
/// inflection `x_c − c₂/(3c₃)` until it moves by less than `1e-10` of the window. `None` when
/// the window holds fewer than 5 samples or the cubic has no descending inflection in it.
fn inflection(c: &Curve, k: usize) -> Option<(f64, f64)> {
    let (x, g) = (&c.x, &c.g);
    let half = 0.5 * g[k];
    if half <= 0.0 {
        return None;
    }
    let mut xl = x[0];
    for i in (0..k).rev() {
        if g[i] <= half {
            xl = cross(x[i], g[i], x[i + 1], g[i + 1], half);
            break;
        }
    }
    let mut xr = x[x.len() - 1];
    for i in k + 1..x.len() {
        if g[i] <= half {
            xr = cross(x[i - 1], g[i - 1], x[i], g[i], half);
            break;
        }
    }
    let hw = 0.5 * (xr - xl);
    if hw <= 0.0 {
        return None;
    }
    let mut xc = x[k];
    let mut rate = g[k];
    for _ in 0..20 {
        let lo = x.partition_point(|&v| v < xc - hw);
        let hi = x.partition_point(|&v| v <= xc + hw);
        if hi < lo + 5 {
            return None;
        }
        let mut a = [[0.0; 4]; 4];
        let mut b = [0.0; 4];
        for (xi, ri) in x[lo..hi].iter().zip(&c.r[lo..hi]) {
            let u = (xi - xc) / hw;
            let p = [1.0, u, u * u, u * u * u];
            for r in 0..4 {
                for s in 0..4 {
                    a[r][s] += p[r] * p[s];
                }
                b[r] += p[r] * ri;
            }
        }
        let co = solve_n(a, b)?;
        if co[3] <= 0.0 {
            return None;
        }
        let u = -co[2] / (3.0 * co[3]);
        if u.abs() > 1.0 {
            return None;
        }
        rate = -(co[1] + 2.0 * co[2] * u + 3.0 * co[3] * u * u) / hw;
        let moved = u * hw;
        xc += moved;
        if moved.abs() <= 1e-10 * hw {
            break;
        }
    }
    Some((xc, rate))
}

#[cfg(test)]
mod tests;
