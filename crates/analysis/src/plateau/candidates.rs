//! Steps 4–6 of the algorithm: plateau candidates between the drops, their validity tests
//! and trimming, hint labels, and the merging of neighbours at the same level.

use super::drops::DropSeed;
use super::grid::Curve;
use super::{Plateau, PlateauDetector};

impl PlateauDetector {
    /// Step 4: plateau candidates between drops, validated.
    pub(super) fn plateaus_between(
        &self,
        c: &Curve,
        drops: &[DropSeed],
        range: f64,
    ) -> Vec<Candidate> {
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
        if c.sd.is_some() {
            // Known noise (`detect_with_noise`): bumps of a noisy plateau make |G| large
            // while the risk goes nowhere, so the rate is the net one across the plateau,
            // `|R̂(exit) − R̂(entry)| / (exit − entry)`, relative to the level (bumps are
            // bounded by the variation test above).
            let net = (c.smooth_at(p.exit) - c.smooth_at(p.entry)).abs();
            let len = (p.exit - p.entry).max(f64::MIN_POSITIVE);
            return net / len / p.level.abs().max(floor).max(f64::MIN_POSITIVE)
                <= self.max_rel_rate;
        }
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
    pub(super) fn apply_hints(&self, plateaus: &mut Vec<Candidate>, hints: &[f64], range: f64) {
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
pub(super) struct Candidate {
    pub(super) entry: f64,
    pub(super) exit: f64,
    pub(super) open_start: bool,
    pub(super) open_end: bool,
    pub(super) level: f64,
    pub(super) degree: Option<usize>,
    pub(super) hint_level: Option<f64>,
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

    pub(super) fn finish(self, c: &Curve) -> Plateau {
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

/// Merges consecutive plateaus whose levels differ by less than `min_step`: a plateau is
/// never reported inside (or right next to) another at the same level.
pub(super) fn merge_equal_levels(
    c: &Curve,
    plateaus: Vec<Candidate>,
    min_step: f64,
) -> Vec<Candidate> {
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
