//! The layer problem in stretched time and its driver.

use std::ops::ControlFlow;

use nalgebra::{DMatrix, DVector, Dyn, LU};
use serde::{Deserialize, Serialize};
use timescales_ode::{
    Linearization, Method, Observer, OdeSystem, SlowFastSystem, SolverOptions, SolverStats,
    integrate,
};
use timescales_outer::linear::{attractivity, blocks, eps_partials, factor_fast, manifold_slope};
use timescales_outer::{NewtonOptions, solve_fast};

use crate::InnerError;

/// Options of [`solve_layer`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerOptions {
    /// Relative tolerance of the integrator.
    pub rtol: f64,
    /// Absolute tolerance of the integrator.
    pub atol: f64,
    /// Integrator; an explicit one that fails (stiffness) is retried with RODAS4.
    pub method: Method,
    /// Converged when the Newton distance `‖f_y⁻¹ f(x₀, η₀)‖∞` to the manifold (and, with
    /// the first-order terms, `‖dη₁/dτ − H g‖∞`) is below `tol · (1 + ‖·‖∞)` at two
    /// successive checks.
    pub tol: f64,
    /// Spacing of the convergence checks in `τ` (growing geometrically by 2% after 200
    /// checks).
    pub check_every: f64,
    /// Largest stretched time before giving up.
    pub tau_max: f64,
    /// Newton settings for the limit on the manifold.
    pub newton: NewtonOptions,
}

impl Default for LayerOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-12,
            atol: 1e-14,
            method: Method::Dop853,
            tol: 1e-12,
            check_every: 0.5,
            tau_max: 1e5,
            newton: NewtonOptions::default(),
        }
    }
}

/// Where a layer starts: time `t₀`, frozen slow state, initial fast state.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStart {
    /// `t₀` (0 for the initial layer, the jump time for an interior one).
    pub t0: f64,
    /// `x(t₀)`, frozen in the layer.
    pub x0: Vec<f64>,
    /// `y(t₀)`.
    pub y0: Vec<f64>,
    /// Whether to integrate the first-order terms `ξ₁`, `η₁`.
    pub first_order: bool,
}

impl LayerStart {
    /// The leading-order layer from `(x₀, y₀)` at `t₀` (no first-order terms).
    pub fn leading(t0: f64, x0: &[f64], y0: &[f64]) -> Self {
        Self {
            t0,
            x0: x0.to_vec(),
            y0: y0.to_vec(),
            first_order: false,
        }
    }
}

/// The layer solution at one stretched time.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerValue {
    /// `η₀(τ)`.
    pub y: Vec<f64>,
    /// `ξ₁(τ)` (first order only).
    pub xi1: Option<Vec<f64>>,
    /// `η₁(τ)` (first order only).
    pub eta1: Option<Vec<f64>>,
}

/// A computed layer: values at the requested stretched times and its behaviour at
/// infinity (limit, and the linear growth of the first-order terms).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSolution {
    /// `t₀`.
    pub t0: f64,
    /// Frozen slow state.
    pub x0: Vec<f64>,
    /// Stretched times recorded (increasing, up to [`tau_converged`](Self::tau_converged)).
    pub tau: Vec<f64>,
    /// `η₀` at `tau`.
    pub y: Vec<Vec<f64>>,
    /// `ξ₁` at `tau` (first order only).
    pub xi1: Option<Vec<Vec<f64>>>,
    /// `η₁` at `tau` (first order only).
    pub eta1: Option<Vec<Vec<f64>>>,
    /// The limit `h(x₀) = lim η₀` (Newton-polished root of `f(x₀, ·, 0)`).
    pub y_limit: Vec<f64>,
    /// Where convergence was declared.
    pub tau_converged: f64,
    /// Largest real part of the eigenvalues of `∂f/∂y` at the limit.
    pub max_real_limit: f64,
    /// `g∞ = g(x₀, h(x₀), 0)`.
    pub g_limit: Vec<f64>,
    /// `X₁(t₀) = lim (ξ₁ − τ g∞)` (first order only).
    pub x1_start: Option<Vec<f64>>,
    /// `H g∞ = lim dη₁/dτ` (first order only).
    pub eta1_slope: Option<Vec<f64>>,
    /// `lim (η₁ − τ H g∞)` (first order only), which matching equates with `Y₁(t₀)`.
    pub eta1_offset: Option<Vec<f64>>,
    /// `dη₁/dτ` measured (from the layer equations) at `τ_converged`, which matching
    /// equates with `Y₀'(t₀) = H g∞` (first order only).
    pub eta1_rate: Option<Vec<f64>>,
    /// Integrator counters.
    pub stats: SolverStats,
    /// The integrator that produced the layer (after a fallback, RODAS4).
    pub method: Method,
}

impl LayerSolution {
    /// The layer at `τ ≥ 0`: the recorded value when `τ` was requested, the asymptote
    /// (`η₀ = h(x₀)`, `ξ₁ = τ g∞ + X₁`, `η₁ = τ H g∞ + offset`) beyond
    /// [`tau_converged`](Self::tau_converged) (exact to the layer tolerance there), `None`
    /// for an unrecorded `τ` inside the layer.
    pub fn at(&self, tau: f64) -> Option<LayerValue> {
        if tau > self.tau_converged {
            let lin = |slope: &Option<Vec<f64>>, offset: &Option<Vec<f64>>| {
                slope.as_ref().zip(offset.as_ref()).map(|(s, o)| {
                    s.iter()
                        .zip(o)
                        .map(|(s, o)| tau * s + o)
                        .collect::<Vec<_>>()
                })
            };
            let g = Some(self.g_limit.clone());
            return Some(LayerValue {
                y: self.y_limit.clone(),
                xi1: lin(&g, &self.x1_start),
                eta1: lin(&self.eta1_slope, &self.eta1_offset),
            });
        }
        let tol = CLOSE * tau.abs().max(1.0);
        let i = self.tau.partition_point(|&s| s < tau - tol);
        let s = *self.tau.get(i)?;
        if (s - tau).abs() > tol {
            return None;
        }
        Some(LayerValue {
            y: self.y[i].clone(),
            xi1: self.xi1.as_ref().map(|v| v[i].clone()),
            eta1: self.eta1.as_ref().map(|v| v[i].clone()),
        })
    }
}

/// The layer equations as one ODE in `τ`: `u = (η₀)` or `(η₀, ξ₁, η₁)`.
struct LayerOde<'a, S: ?Sized> {
    sys: &'a S,
    x0: Vec<f64>,
    n: usize,
    m: usize,
    first_order: bool,
    jac: DMatrix<f64>,
    lu: Option<LU<f64, Dyn, Dyn>>,
}

impl<S: SlowFastSystem + ?Sized> OdeSystem for LayerOde<'_, S> {
    fn dim(&self) -> usize {
        if self.first_order {
            2 * self.m + self.n
        } else {
            self.m
        }
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        let (m, n) = (self.m, self.n);
        let eta0 = &u[..m];
        self.sys.fast_field(&self.x0, eta0, 0.0, &mut du[..m]);
        if self.first_order {
            self.sys.slow_field(&self.x0, eta0, 0.0, &mut du[m..m + n]);
            let b = blocks(self.sys, &self.x0, eta0, 0.0);
            let (_, fe) = eps_partials(self.sys, &self.x0, eta0, 0.0);
            let xi1 = DVector::from_column_slice(&u[m..m + n]);
            let eta1 = DVector::from_column_slice(&u[m + n..]);
            let d = &b.fy * eta1 + &b.fx * xi1 + DVector::from_column_slice(&fe);
            du[m + n..].copy_from_slice(d.as_slice());
        }
    }
}

impl<S: SlowFastSystem + ?Sized> Linearization for LayerOde<'_, S> {
    fn update_jacobian(&mut self, u: &[f64]) {
        let d = self.dim();
        let mut jac = DMatrix::zeros(d, d);
        let (mut fp, mut fm) = (vec![0.0; d], vec![0.0; d]);
        let mut up = u.to_vec();
        for j in 0..d {
            let h = f64::EPSILON.cbrt() * u[j].abs().max(1.0);
            up[j] = u[j] + h;
            self.rhs(&up, &mut fp);
            up[j] = u[j] - h;
            self.rhs(&up, &mut fm);
            up[j] = u[j];
            for i in 0..d {
                jac[(i, j)] = (fp[i] - fm[i]) / (2.0 * h);
            }
        }
        self.jac = jac;
    }
    fn factor(&mut self, c: f64) -> Result<(), String> {
        if self.jac.iter().any(|v| !v.is_finite()) {
            return Err("non-finite Jacobian".into());
        }
        let d = self.jac.nrows();
        let lu = (DMatrix::identity(d, d) * c - &self.jac).lu();
        if !lu.is_invertible() {
            return Err("zero pivot".into());
        }
        self.lu = Some(lu);
        Ok(())
    }
    fn solve(&self, b: &mut [f64]) {
        let mut v = DVector::from_column_slice(b);
        match &self.lu {
            Some(lu) if lu.solve_mut(&mut v) => b.copy_from_slice(v.as_slice()),
            _ => b.fill(f64::NAN),
        }
    }
}

/// Records requested times and checks convergence at the check times.
struct LayerWatch<'w, 's, S: ?Sized> {
    ode: &'w LayerOde<'s, S>,
    requested: Vec<f64>,
    checks: Vec<f64>,
    tol: f64,
    tau: Vec<f64>,
    rows: Vec<Vec<f64>>,
    /// Consecutive checks passed.
    passed: usize,
    converged_at: Option<(f64, Vec<f64>)>,
    last: Option<(f64, f64)>,
}

/// Stretched times closer than this (relative to `max(1, τ)`) are one output time: the
/// integrators cannot step across a gap of a few ulps.
const CLOSE: f64 = 1e-12;

/// Removes values within `CLOSE` of their predecessor from a sorted list.
fn dedup_close(v: &mut Vec<f64>) {
    v.dedup_by(|b, a| (*b - *a).abs() <= CLOSE * a.abs().max(1.0));
}

fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

impl<S: SlowFastSystem + ?Sized> LayerWatch<'_, '_, S> {
    fn is(list: &[f64], t: f64) -> bool {
        let tol = CLOSE * t.abs().max(1.0);
        let i = list.partition_point(|&s| s < t - tol);
        list.get(i).is_some_and(|&s| (s - t).abs() <= tol)
    }

    /// Distance of the state to convergence (≤ 1 means converged).
    fn distance(&self, u: &[f64]) -> f64 {
        let ode = self.ode;
        let m = ode.m;
        let eta0 = &u[..m];
        let b = blocks(ode.sys, &ode.x0, eta0, 0.0);
        let Some(lu) = factor_fast(&b.fy) else {
            return f64::INFINITY;
        };
        let mut f = vec![0.0; m];
        ode.sys.fast_field(&ode.x0, eta0, 0.0, &mut f);
        let Some(step) = lu.solve(&DVector::from_column_slice(&f)) else {
            return f64::INFINITY;
        };
        let mut d = norm_inf(step.as_slice()) / (self.tol * (1.0 + norm_inf(eta0)));
        if ode.first_order {
            let mut du = vec![0.0; u.len()];
            ode.rhs(u, &mut du);
            let Some(h) = manifold_slope(&b) else {
                return f64::INFINITY;
            };
            let mut g = vec![0.0; ode.n];
            ode.sys.slow_field(&ode.x0, eta0, 0.0, &mut g);
            let p = h * DVector::from_column_slice(&g);
            let diff: Vec<f64> = du[m + ode.n..]
                .iter()
                .zip(p.iter())
                .map(|(a, b)| a - b)
                .collect();
            d = d.max(norm_inf(&diff) / (self.tol * (1.0 + norm_inf(p.as_slice()))));
        }
        if d.is_nan() { f64::INFINITY } else { d }
    }
}

impl<S: SlowFastSystem + ?Sized> Observer for LayerWatch<'_, '_, S> {
    fn observe(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        if Self::is(&self.requested, t) {
            self.tau.push(t);
            self.rows.push(u.to_vec());
        }
        if Self::is(&self.checks, t) {
            let d = self.distance(u);
            self.last = Some((t, d));
            if d <= 1.0 {
                self.passed += 1;
                if self.passed >= 2 {
                    self.converged_at = Some((t, u.to_vec()));
                    return ControlFlow::Break(());
                }
            } else {
                self.passed = 0;
            }
        }
        ControlFlow::Continue(())
    }
}

/// Solves the layer problem from `start`, recording the state at the requested stretched
/// times `taus` (any order; values past convergence are given by
/// [`LayerSolution::at`] from the asymptote).
///
/// # Errors
/// [`InnerError::NotConverged`] when the manifold is not reached by `τ_max`,
/// [`InnerError::SingularFast`] when `∂f/∂y` is singular where the layer ended,
/// [`InnerError::NotAttracting`] when the limit is not an attracting point of the
/// manifold, [`InnerError::Integration`] / [`InnerError::Manifold`] when the integrator
/// or the final Newton polish fail, [`InnerError::InvalidRequest`] for bad dimensions or
/// options.
pub fn solve_layer<S: SlowFastSystem + ?Sized>(
    sys: &S,
    start: &LayerStart,
    taus: &[f64],
    opts: &LayerOptions,
) -> Result<LayerSolution, InnerError> {
    let (n, m) = (sys.slow_dim(), sys.fast_dim());
    if start.x0.len() != n || start.y0.len() != m {
        return Err(InnerError::InvalidRequest(format!(
            "the system has {n} slow and {m} fast variables; got {} and {}",
            start.x0.len(),
            start.y0.len()
        )));
    }
    if m == 0 {
        return Err(InnerError::InvalidRequest(
            "the system has no fast variable".into(),
        ));
    }
    if !(opts.check_every > 0.0 && opts.tau_max > 0.0 && opts.tol > 0.0) {
        return Err(InnerError::InvalidRequest(format!(
            "check_every, tau_max and tol must be positive: {opts:?}"
        )));
    }
    let mut requested: Vec<f64> = taus
        .iter()
        .copied()
        .filter(|t| t.is_finite() && *t >= 0.0 && *t <= opts.tau_max)
        .collect();
    requested.sort_by(f64::total_cmp);
    dedup_close(&mut requested);
    let mut checks = Vec::new();
    let (mut s, mut k) = (0.0, 0usize);
    while s < opts.tau_max {
        s = if k < 200 {
            (k + 1) as f64 * opts.check_every
        } else {
            s * 1.02
        };
        checks.push(s.min(opts.tau_max));
        k += 1;
    }
    let mut grid: Vec<f64> = requested.iter().chain(&checks).copied().collect();
    grid.sort_by(f64::total_cmp);
    dedup_close(&mut grid);

    let mut u0 = start.y0.clone();
    if start.first_order {
        u0.extend(std::iter::repeat_n(0.0, n + m));
    }
    let t0 = start.t0;
    let layer_ode = || LayerOde {
        sys,
        x0: start.x0.clone(),
        n,
        m,
        first_order: start.first_order,
        jac: DMatrix::zeros(0, 0),
        lu: None,
    };
    // The watch reads the layer equations while the solver owns its own (cheap) copy.
    let ode = layer_ode();
    let run = |method: Method| {
        let mut watch = LayerWatch {
            ode: &ode,
            requested: requested.clone(),
            checks: checks.clone(),
            tol: opts.tol,
            tau: Vec::new(),
            rows: Vec::new(),
            passed: 0,
            converged_at: None,
            last: None,
        };
        let rtol = if method.is_stiff() {
            opts.rtol.max(1e-13)
        } else {
            opts.rtol
        };
        let solver_opts = SolverOptions {
            rtol,
            atol: opts.atol,
            ..SolverOptions::default()
        };
        let result = method
            .solver(layer_ode(), 0.0, &u0, &solver_opts)
            .and_then(|mut solver| integrate(&mut *solver, &grid, &mut [], &mut watch));
        (result, watch)
    };
    let (mut result, mut watch) = run(opts.method);
    let mut method = opts.method;
    if !method.is_stiff() && result.is_err() {
        // An explicit method that failed (stiffness, most likely): RODAS4 instead.
        method = Method::Rodas4;
        (result, watch) = run(method);
    }
    let stats = result.as_ref().map(|o| o.stats).unwrap_or_default();
    let LayerWatch {
        tau,
        rows,
        converged_at: converged,
        last,
        ..
    } = watch;
    let Some((tau_c, u_c)) = converged else {
        return Err(match result {
            Err(source) => InnerError::Integration { t0, source },
            Ok(_) => match last {
                Some((tau, d)) if d.is_infinite() => InnerError::SingularFast { t0, tau },
                _ => {
                    let (tau, d) = last.unwrap_or((0.0, f64::INFINITY));
                    InnerError::NotConverged {
                        t0,
                        tau,
                        distance: d * opts.tol,
                    }
                }
            },
        });
    };
    let y_limit = solve_fast(sys, &start.x0, &u_c[..m], 0.0, &opts.newton)
        .map_err(|source| InnerError::Manifold { t0, source })?
        .y;
    let b = blocks(sys, &start.x0, &y_limit, 0.0);
    let att = attractivity(&b.fy).ok_or_else(|| InnerError::Manifold {
        t0,
        source: timescales_outer::OuterError::Eigenvalues {
            x: start.x0.clone(),
            y: y_limit.clone(),
        },
    })?;
    if att.max_real.is_nan() || att.max_real >= 0.0 {
        return Err(InnerError::NotAttracting {
            t0,
            x: start.x0.clone(),
            y: y_limit,
            max_real: att.max_real,
        });
    }
    let mut g_limit = vec![0.0; n];
    sys.slow_field(&start.x0, &y_limit, 0.0, &mut g_limit);
    let (mut x1_start, mut eta1_slope, mut eta1_offset, mut eta1_rate) = (None, None, None, None);
    if start.first_order {
        let mut du = vec![0.0; u_c.len()];
        ode.rhs(&u_c, &mut du);
        eta1_rate = Some(du[m + n..].to_vec());
        let h = manifold_slope(&b).ok_or_else(|| InnerError::Manifold {
            t0,
            source: timescales_outer::OuterError::SingularFastJacobian {
                x: start.x0.clone(),
                y: y_limit.clone(),
            },
        })?;
        let p = h * DVector::from_column_slice(&g_limit);
        x1_start = Some(
            u_c[m..m + n]
                .iter()
                .zip(&g_limit)
                .map(|(xi, g)| xi - tau_c * g)
                .collect(),
        );
        eta1_offset = Some(
            u_c[m + n..]
                .iter()
                .zip(p.iter())
                .map(|(e, p)| e - tau_c * p)
                .collect(),
        );
        eta1_slope = Some(p.as_slice().to_vec());
    }
    let split = |r: &Vec<f64>, a: usize, b: usize| r[a..b].to_vec();
    Ok(LayerSolution {
        t0,
        x0: start.x0.clone(),
        y: rows.iter().map(|r| split(r, 0, m)).collect(),
        xi1: start
            .first_order
            .then(|| rows.iter().map(|r| split(r, m, m + n)).collect()),
        eta1: start
            .first_order
            .then(|| rows.iter().map(|r| split(r, m + n, 2 * m + n)).collect()),
        tau,
        y_limit,
        tau_converged: tau_c,
        max_real_limit: att.max_real,
        g_limit,
        x1_start,
        eta1_slope,
        eta1_offset,
        eta1_rate,
        stats,
        method,
    })
}

#[cfg(test)]
mod tests;
