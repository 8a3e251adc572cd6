//! Steps 2–3 of the algorithm: drops of the risk as groups of peaks of `G` separated by
//! deep valleys, their extent and their depth.

use super::PlateauDetector;
use super::grid::{Curve, cross};

/// A drop under construction: a group of `G` peaks.
#[derive(Debug, Clone, Copy)]
pub(super) struct DropSeed {
    /// Index of the last peak of the group.
    pub(super) peak: usize,
    /// Extent in `x`: left end, and whether it reached the first sample.
    pub(super) left: f64,
    /// Right end.
    pub(super) right: f64,
    /// Depth `R(left) − R(right)`.
    pub(super) depth: f64,
}

impl PlateauDetector {
    /// Steps 2–3: drops as groups of `G` peaks separated by deep valleys, with enough depth.
    pub(super) fn find_drops(&self, c: &Curve, min_depth: f64) -> Vec<DropSeed> {
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
                .filter(|(s, _)| {
                    s.depth >= min_depth.max(self.noise_factor * c.noise_between(s.left, s.right))
                })
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
}
