//! Step 7 of the algorithm: the phases between consecutive plateaus and their times (the
//! midpoint crossing, and the steepest descent at the inflection point of the risk).

use super::Phase;
use super::candidates::Candidate;
use super::grid::{Curve, cross};
use crate::deriv::solve_n;

/// Step 7: the phases between consecutive plateaus.
pub(super) fn phases_between(c: &Curve, plateaus: &[Candidate], hints: &[f64]) -> Vec<Phase> {
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
