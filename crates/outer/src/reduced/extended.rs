//! Fold points solved from the extended system, and impasses told apart from folds.
//!
//! A fold (saddle-node) of the critical manifold is a point where
//!
//! ```text
//!   f(x, y, 0) = 0,      det ∂f/∂y(x, y, 0) = 0,
//! ```
//!
//! `m + 1` equations. The reduced flow reaches it along its slow velocity, so the unknowns
//! are `(σ, y)` with `x = x_b + σ d`, `d = g(x_b, y_b)/|g(x_b, y_b)|` the direction of the
//! flow at the last regular point `b`: for one slow variable the line is the whole slow
//! axis and the fold point is exact; for several it is the point of the fold set on the
//! tangent from `b` (within `O(|x_f − x_b|²)` of the trajectory, `|x_f − x_b|` being the
//! last step's distance to the fold). Newton with finite-difference Jacobian and a
//! backtracking line search solves it from the extrapolated estimate.
//!
//! The time of the fold is `t_f = t_b + ∫ dσ / (d·g(x(σ), h(x(σ))))`, the integrand having
//! a square-root singularity at the fold (`h(x) − y_f ∝ √(σ_f − σ)`): with
//! `σ = σ_f (1 − v²)` it becomes `∫₀¹ 2σ_f v / (d·g) dv`, smooth in `v`, taken by 8-point
//! Gauss–Legendre.
//!
//! An **impasse** is where the reduced flow ends without a fold: the branch `y = h(x)`
//! runs away (Newton loses it, or `|y|` grows without bound) or the slow flow itself blows
//! up, while `∂f/∂y` stays regular — the extended system then has no solution there.

use std::fmt;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use timescales_ode::SlowFastSystem;

use super::fold::FoldEvent;
use super::watch::Sample;
use crate::linear::blocks;
use crate::{NewtonOptions, solve_fast};

/// How the reduced flow ended at an impasse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ImpasseKind {
    /// `|y| = |h(x)|` grew at least tenfold over the flow: the branch goes to infinity.
    UnboundedBranch,
    /// The slow speed `|g(x, h(x))|` grew at least tenfold and the integrator's step
    /// collapsed: the reduced flow blows up at finite `y`.
    UnboundedFlow,
    /// Newton lost the branch where `∂f/∂y` is regular (no fold solves the extended
    /// system nearby): the branch ends or leaves the domain.
    BranchLost,
}

/// Where and how the reduced flow ended at an impasse (not a fold: `∂f/∂y` is regular
/// there and the extended system has no solution nearby).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpasseEvent {
    /// What ran away.
    pub kind: ImpasseKind,
    /// The last time at which the branch was followed.
    pub t: f64,
    /// Slow state there.
    pub x: Vec<f64>,
    /// Fast state there.
    pub y: Vec<f64>,
    /// `|y|∞` at the start of the flow and there.
    pub y_norm: [f64; 2],
    /// `|g|∞` at the start of the flow and there.
    pub speed: [f64; 2],
    /// Largest real part of the eigenvalues of `∂f/∂y` there (negative: still attracting).
    pub max_real: f64,
}

impl fmt::Display for ImpasseEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ImpasseKind::UnboundedBranch => format!(
                "the branch y = h(x) runs to infinity (|y| from {:.3e} to {:.3e})",
                self.y_norm[0], self.y_norm[1]
            ),
            ImpasseKind::UnboundedFlow => format!(
                "the reduced flow blows up at finite y (slow speed from {:.3e} to {:.3e})",
                self.speed[0], self.speed[1]
            ),
            ImpasseKind::BranchLost => {
                "the branch y = h(x) is lost where ∂f/∂y is regular".to_string()
            }
        };
        write!(
            f,
            "impasse of the reduced flow (not a fold: no solution of f = 0, det ∂f/∂y = 0 nearby): {what}; last followed at t ≈ {:.10}, x ≈ {:?}, y ≈ {:?}, max Re λ(∂f/∂y) = {:e}",
            self.t, self.x, self.y, self.max_real
        )
    }
}

fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, a| m.max(a.abs()))
}

/// `(f(x, y, 0), det ∂f/∂y(x, y, 0))`.
fn extended<S: SlowFastSystem + ?Sized>(sys: &S, x: &[f64], y: &[f64]) -> (Vec<f64>, f64) {
    let mut f = vec![0.0; y.len()];
    sys.fast_field(x, y, 0.0, &mut f);
    let det = blocks(sys, x, y, 0.0).fy.determinant();
    (f, det)
}

/// The slow velocity `g(x, y, 0)`.
pub(super) fn slow_speed<S: SlowFastSystem + ?Sized>(sys: &S, x: &[f64], y: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    sys.slow_field(x, y, 0.0, &mut g);
    g
}

/// The fold point solved from the extended system (module documentation), or `None` when
/// Newton does not converge to a finite point near the estimate `ev` (then it is no fold).
pub(super) fn solve_fold<S: SlowFastSystem + ?Sized>(
    sys: &S,
    ev: &FoldEvent,
    newton: &NewtonOptions,
) -> Option<FoldEvent> {
    let (xb, yb) = (&ev.x_regular, &ev.y_regular);
    let (n, m) = (xb.len(), yb.len());
    if n == 0 || m == 0 || ev.x.len() != n || ev.y.len() != m {
        return None;
    }
    let gb = slow_speed(sys, xb, yb);
    let gn = gb.iter().map(|v| v * v).sum::<f64>().sqrt();
    if !(gn > 0.0 && gn.is_finite()) {
        return None;
    }
    let d: Vec<f64> = gb.iter().map(|v| v / gn).collect();
    let at = |s: f64| -> Vec<f64> { xb.iter().zip(&d).map(|(x, d)| x + s * d).collect() };
    // Scale of the determinant: its size at the last regular point.
    let det_scale = extended(sys, xb, yb).1.abs().max(1e-300);
    let residual = |z: &[f64]| -> Option<Vec<f64>> {
        let (f, det) = extended(sys, &at(z[0]), &z[1..]);
        let mut r = f;
        r.push(det / det_scale);
        r.iter().all(|v| v.is_finite()).then_some(r)
    };
    let sigma0: f64 =
        ev.x.iter()
            .zip(xb)
            .zip(&d)
            .map(|((a, b), d)| (a - b) * d)
            .sum();
    let mut z: Vec<f64> = std::iter::once(sigma0)
        .chain(ev.y.iter().copied())
        .collect();
    let mut r = residual(&z)?;
    let norm2 = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let mut converged = false;
    for _ in 0..newton.max_iter.max(20) {
        let mut jac = DMatrix::zeros(m + 1, m + 1);
        for j in 0..=m {
            let h = 1e-7 * (1.0 + z[j].abs());
            let (mut zp, mut zm) = (z.clone(), z.clone());
            zp[j] += h;
            zm[j] -= h;
            let (rp, rm) = (residual(&zp)?, residual(&zm)?);
            for i in 0..=m {
                jac[(i, j)] = (rp[i] - rm[i]) / (2.0 * h);
            }
        }
        let step = jac.lu().solve(&DVector::from_column_slice(&r))?;
        let mut lambda = 1.0;
        let r0 = norm2(&r);
        let (trial, rt) = loop {
            let trial: Vec<f64> = z
                .iter()
                .zip(step.iter())
                .map(|(a, s)| a - lambda * s)
                .collect();
            if let Some(rt) = residual(&trial)
                && norm2(&rt) <= (1.0 - 1e-4 * lambda) * r0
            {
                break (trial, rt);
            }
            lambda *= 0.5;
            if lambda < 1e-6 {
                // Rounding keeps |F| from decreasing: accept a tiny full step.
                if norm_inf(step.as_slice()) <= 1e-11 * (1.0 + norm_inf(&z)) {
                    converged = true;
                }
                break (z.clone(), r.clone());
            }
        };
        let moved = lambda * norm_inf(step.as_slice());
        z = trial;
        r = rt;
        if converged || moved <= newton.tol.max(1e-13) * (1.0 + norm_inf(&z)) {
            converged = true;
            break;
        }
    }
    if !converged || z.iter().any(|v| !v.is_finite()) {
        return None;
    }
    // A fold near the estimate: not behind the last regular point, and a fast state on the
    // same branch (as `Tracker::follow` judges a jump to another branch).
    let sigma_f = z[0];
    let yf = z[1..].to_vec();
    let scale = 1.0 + norm_inf(yb);
    let off = yf
        .iter()
        .zip(yb)
        .fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    let reach = (4.0 * sigma0.abs()).max(1e-2 * (1.0 + norm_inf(xb)));
    if sigma_f < -1e-10 * (1.0 + norm_inf(xb)) || sigma_f > reach || off > 0.5 * scale {
        return None;
    }
    let xf = at(sigma_f);
    let t = fold_time(sys, ev, &d, sigma_f, &yf, newton).unwrap_or(ev.t);
    Some(FoldEvent {
        t,
        x: xf,
        y: yf,
        solved: true,
        ..ev.clone()
    })
}

/// 8-point Gauss–Legendre nodes and weights on `[−1, 1]` (positive half).
const GAUSS8: [(f64, f64); 4] = [
    (0.183_434_642_495_649_8, 0.362_683_783_378_362),
    (0.525_532_409_916_329, 0.313_706_645_877_887_3),
    (0.796_666_477_413_626_7, 0.222_381_034_453_374_5),
    (0.960_289_856_497_536_3, 0.101_228_536_290_376_3),
];

/// `t_f = t_b + ∫₀¹ 2σ_f v / (d·g(x(v), h(x(v)))) dv`, `x(v) = x_b + σ_f(1 − v²) d`.
fn fold_time<S: SlowFastSystem + ?Sized>(
    sys: &S,
    ev: &FoldEvent,
    d: &[f64],
    sigma_f: f64,
    yf: &[f64],
    newton: &NewtonOptions,
) -> Option<f64> {
    if sigma_f == 0.0 {
        return Some(ev.t_regular);
    }
    let mut sum = 0.0;
    for &(node, w) in &GAUSS8 {
        for v in [0.5 * (1.0 - node), 0.5 * (1.0 + node)] {
            let x: Vec<f64> = ev
                .x_regular
                .iter()
                .zip(d)
                .map(|(a, d)| a + sigma_f * (1.0 - v * v) * d)
                .collect();
            let guess: Vec<f64> = yf
                .iter()
                .zip(&ev.y_regular)
                .map(|(f, b)| f + v * (b - f))
                .collect();
            let y = solve_fast(sys, &x, &guess, 0.0, newton).ok()?.y;
            let g = slow_speed(sys, &x, &y);
            let dg: f64 = g.iter().zip(d).map(|(g, d)| g * d).sum();
            if !(dg > 0.0 && dg.is_finite()) {
                return None;
            }
            sum += 0.5 * w * 2.0 * sigma_f * v / dg;
        }
    }
    Some(ev.t_regular + sum)
}

/// The impasse the flow would have met at the last regular sample, judged by how `|y|` and
/// the slow speed `|g|` grew from the start `(x0, y0)` (tenfold: unbounded), or `None`
/// without a regular sample.
pub(super) fn impasse<S: SlowFastSystem + ?Sized>(
    sys: &S,
    regular: &[Sample],
    x0: &[f64],
    y0: &[f64],
) -> Option<ImpasseEvent> {
    let b = regular.last()?;
    let y_norm = [norm_inf(y0), norm_inf(&b.y)];
    let speed = [
        norm_inf(&slow_speed(sys, x0, y0)),
        norm_inf(&slow_speed(sys, &b.x, &b.y)),
    ];
    let kind = if y_norm[1] >= 10.0 * (1.0 + y_norm[0]) {
        ImpasseKind::UnboundedBranch
    } else if speed[1] >= 10.0 * (1.0 + speed[0]) {
        ImpasseKind::UnboundedFlow
    } else {
        ImpasseKind::BranchLost
    };
    Some(ImpasseEvent {
        kind,
        t: b.t,
        x: b.x.clone(),
        y: b.y.clone(),
        y_norm,
        speed,
        max_real: b.max_real,
    })
}
