//! Outer, inner, common parts and composites against direct integration.

use serde::{Deserialize, Serialize};
use timescales_inner::{LayerOptions, LayerSolution, LayerStart, solve_layer};
use timescales_ode::{SlowFastSystem, SolverOptions, SolverStats};
use timescales_outer::{OuterSolution, OuterStart, ReducedOptions, solve_reduced};

use timescales_analysis::{PowerLawFit, fit_power_law};

use crate::{Composite, MatchingError, integrate_full};

/// Names of the approximations compared, in the order of the error columns.
pub const APPROXIMATIONS: [&str; 4] = ["outer", "inner", "composite", "composite1"];

/// Where the errors are measured: a uniform grid on `[0, T]` plus a grid resolving the
/// layer, `t = ε τ` for `τ = 0, step, 2 step, …, span`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GridOptions {
    /// Number of uniform intervals on `[0, T]`.
    pub uniform: usize,
    /// Spacing of the layer grid in `τ`.
    pub layer_step: f64,
    /// Extent of the layer grid in `τ`.
    pub layer_span: f64,
}

impl Default for GridOptions {
    fn default() -> Self {
        Self {
            uniform: 400,
            layer_step: 0.2,
            layer_span: 40.0,
        }
    }
}

/// Settings of a matching study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchingOptions {
    /// Reduced solver.
    pub outer: ReducedOptions,
    /// Layer solver.
    pub layer: LayerOptions,
    /// Direct integration (tight: its error must stay well below `ε²` errors).
    pub direct: SolverOptions,
    /// Comparison grid.
    pub grid: GridOptions,
    /// Exponent of the intermediate variable `t = ε^α η`, `0 < α < 1`.
    pub alpha: f64,
    /// `η` of the intermediate variable.
    pub eta: f64,
    /// The ε at which matching is checked on the intermediate variable (no direct
    /// integration is involved, so they may be much smaller than the study's).
    pub check_eps: Vec<f64>,
}

impl Default for MatchingOptions {
    fn default() -> Self {
        Self {
            outer: ReducedOptions::default(),
            layer: LayerOptions::default(),
            direct: SolverOptions {
                rtol: 1e-12,
                atol: 1e-14,
                ..SolverOptions::default()
            },
            grid: GridOptions::default(),
            alpha: 0.5,
            eta: 1.0,
            check_eps: (0..7).map(|i| 10f64.powi(-2 - i)).collect(),
        }
    }
}

/// The ε-independent pieces: the initial layer (with its first-order terms) and the outer
/// solution (with its first-order correction) on a set of times.
#[derive(Debug, Clone)]
pub struct Asymptotics {
    /// Variable names, slow then fast.
    pub names: Vec<String>,
    /// Number of slow variables.
    pub n: usize,
    /// `x(0)`.
    pub x0: Vec<f64>,
    /// `y(0)`.
    pub y0: Vec<f64>,
    /// The initial layer.
    pub layer: LayerSolution,
    /// The outer solution (first order included).
    pub outer: OuterSolution,
}

/// Every approximation at one time, as `(x, y)` concatenated.
#[derive(Debug, Clone, PartialEq)]
pub struct Approximations {
    /// `(X₀, Y₀)`.
    pub outer: Vec<f64>,
    /// `(X₀ + εX₁, Y₀ + εY₁)`.
    pub outer1: Vec<f64>,
    /// `(x₀, η₀(τ))`.
    pub inner: Vec<f64>,
    /// `(x₀ + εξ₁, η₀ + εη₁)`.
    pub inner1: Vec<f64>,
    /// `(x₀, Y₀(0))`.
    pub common: Vec<f64>,
    /// `(x₀ + t X₀'(0) + εX₁(0), Y₀(0) + t Y₀'(0) + εY₁(0))`.
    pub common1: Vec<f64>,
}

impl Asymptotics {
    /// Computes the layer from `(x0, y0)` at the stretched times `taus` and then the outer
    /// solution on `t_out` (which must start at 0), starting on the branch the layer
    /// reaches, with `X₁(0)` from the layer.
    ///
    /// # Errors
    /// Layer or outer failures ([`MatchingError::Inner`], [`MatchingError::Outer`] — a fold
    /// before the last time is an error here), or `t_out` not starting at 0.
    pub fn compute<S: SlowFastSystem + ?Sized>(
        sys: &S,
        x0: &[f64],
        y0: &[f64],
        t_out: &[f64],
        taus: &[f64],
        opts: &MatchingOptions,
    ) -> Result<Self, MatchingError> {
        if t_out.first() != Some(&0.0) {
            return Err(MatchingError::InvalidRequest(
                "the outer output times must start at t = 0".into(),
            ));
        }
        let layer = solve_layer(
            sys,
            &LayerStart {
                t0: 0.0,
                x0: x0.to_vec(),
                y0: y0.to_vec(),
                first_order: true,
            },
            taus,
            &opts.layer,
        )?;
        let outer = solve_reduced(
            sys,
            &OuterStart {
                t0: 0.0,
                x0: x0.to_vec(),
                y_guess: layer.y_limit.clone(),
                x1_0: layer.x1_start.clone(),
            },
            t_out,
            &opts.outer,
        )?
        .into_complete()?;
        let mut names = sys.slow_names();
        names.extend(sys.fast_names());
        Ok(Self {
            names,
            n: sys.slow_dim(),
            x0: x0.to_vec(),
            y0: y0.to_vec(),
            layer,
            outer,
        })
    }

    /// The leading-order (`O(ε)`) and first-order (`O(ε²)`) composites of variable `v` at
    /// `ε` on the grid `t` (outer times): `Y₀ + η₀ − Y₀(0)` and
    /// `Y₀ + εY₁ + η₀ + εη₁ − [Y₀(0) + t Y₀'(0) + εY₁(0)]` (and the same for a slow variable).
    ///
    /// # Errors
    /// As [`at`](Self::at).
    pub fn composites(
        &self,
        v: usize,
        eps: f64,
        t: &[f64],
    ) -> Result<[Composite; 2], MatchingError> {
        let mut cols: [Vec<f64>; 6] = Default::default();
        for &ti in t {
            let a = self.at(ti, eps)?;
            for (col, x) in cols.iter_mut().zip([
                &a.outer, &a.inner, &a.common, &a.outer1, &a.inner1, &a.common1,
            ]) {
                col.push(x[v]);
            }
        }
        let [outer, inner, common, outer1, inner1, common1] = cols;
        let name = &self.names[v];
        let lead = Composite::new(name, t.to_vec())
            .with_order(1.0)
            .outer("Y₀(t)", 0.0, outer)?
            .inner("η₀(t/ε)", 0.0, inner)?
            .common("Y₀(0)", 0.0, common)?;
        let first = Composite::new(name, t.to_vec())
            .with_order(2.0)
            .outer("Y₀ + εY₁", 0.0, outer1)?
            .inner("η₀ + εη₁", 0.0, inner1)?
            .common("Y₀(0) + t Y₀'(0) + εY₁(0)", 0.0, common1)?;
        Ok([lead, first])
    }

    fn outer_index(&self, t: f64) -> Option<usize> {
        let ts = &self.outer.t;
        let tol = CLOSE * t.abs().max(1.0);
        let i = ts.partition_point(|&s| s < t - tol);
        ts.get(i).and_then(|&s| ((s - t).abs() <= tol).then_some(i))
    }

    /// All approximations at time `t` (one of the outer output times) for `ε`; the layer is
    /// read at `τ = t/ε` (requested when computing, or past its end).
    ///
    /// # Errors
    /// [`MatchingError::Missing`] when `t` or `t/ε` was not computed.
    pub fn at(&self, t: f64, eps: f64) -> Result<Approximations, MatchingError> {
        let missing = |what: &str| MatchingError::Missing {
            what: what.to_string(),
            t,
        };
        let i = self
            .outer_index(t)
            .ok_or_else(|| missing("outer solution"))?;
        let l = self
            .layer
            .at(t / eps)
            .ok_or_else(|| missing("layer solution"))?;
        let fo = self
            .outer
            .first_order
            .as_ref()
            .ok_or_else(|| missing("first-order outer"))?;
        let (xi1, eta1) = (
            l.xi1.ok_or_else(|| missing("first-order layer"))?,
            l.eta1.ok_or_else(|| missing("first-order layer"))?,
        );
        let cat = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().chain(b).copied().collect() };
        let axpy = |a: &[f64], s: f64, b: &[f64]| -> Vec<f64> {
            a.iter().zip(b).map(|(p, q)| p + s * q).collect()
        };
        let outer = cat(&self.outer.x[i], &self.outer.y[i]);
        let outer1 = cat(
            &axpy(&self.outer.x[i], eps, &fo.x1[i]),
            &axpy(&self.outer.y[i], eps, &fo.y1[i]),
        );
        let inner = cat(&self.x0, &l.y);
        let inner1 = cat(&axpy(&self.x0, eps, &xi1), &axpy(&l.y, eps, &eta1));
        let common = cat(&self.x0, &self.outer.y[0]);
        let common1 = cat(
            &axpy(&axpy(&self.x0, t, &self.layer.g_limit), eps, &fo.x1[0]),
            &axpy(
                &axpy(&self.outer.y[0], t, &self.outer.dydt[0]),
                eps,
                &fo.y1[0],
            ),
        );
        Ok(Approximations {
            outer,
            outer1,
            inner,
            inner1,
            common,
            common1,
        })
    }
}

/// Checks a study's request: a non-empty ε list in `(0, 1)` and a finite `t_end > 0`.
pub(crate) fn check_study_request(eps: &[f64], t_end: f64) -> Result<(), MatchingError> {
    if eps.is_empty() || eps.iter().any(|e| !(*e > 0.0 && *e < 1.0)) {
        return Err(MatchingError::InvalidRequest(format!(
            "the eps list must be non-empty with values in (0, 1): {eps:?}"
        )));
    }
    if !(t_end > 0.0 && t_end.is_finite()) {
        return Err(MatchingError::InvalidRequest(format!(
            "t_end must be positive, got {t_end}"
        )));
    }
    Ok(())
}

/// Full solution and approximations at one ε on its comparison grid; every field indexed
/// `[variable][time]`, variables slow then fast.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// ε.
    pub eps: f64,
    /// Variable names.
    pub names: Vec<String>,
    /// Times.
    pub t: Vec<f64>,
    /// Direct integration.
    pub full: Vec<Vec<f64>>,
    /// Outer alone (leading order).
    pub outer: Vec<Vec<f64>>,
    /// Inner alone (leading order).
    pub inner: Vec<Vec<f64>>,
    /// Leading-order composite.
    pub composite: Vec<Vec<f64>>,
    /// First-order composite.
    pub composite1: Vec<Vec<f64>>,
    /// Counters of the direct integration.
    pub direct_stats: SolverStats,
}

impl Comparison {
    /// The approximations in the order of [`APPROXIMATIONS`].
    pub fn approximations(&self) -> [&Vec<Vec<f64>>; 4] {
        [&self.outer, &self.inner, &self.composite, &self.composite1]
    }

    /// Maximum errors of each approximation, per variable.
    pub fn max_errors(&self) -> Vec<VariableErrors> {
        let max_err = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
        };
        self.names
            .iter()
            .enumerate()
            .map(|(v, name)| {
                let [o, i, c, c1] = self.approximations().map(|a| max_err(&a[v], &self.full[v]));
                VariableErrors {
                    eps: self.eps,
                    variable: name.clone(),
                    outer: o,
                    inner: i,
                    composite: c,
                    composite1: c1,
                }
            })
            .collect()
    }
}

/// Maximum errors on `[0, T]` at one ε for one variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableErrors {
    /// ε.
    pub eps: f64,
    /// Variable.
    pub variable: String,
    /// Outer alone.
    pub outer: f64,
    /// Inner alone.
    pub inner: f64,
    /// Leading-order composite.
    pub composite: f64,
    /// First-order composite.
    pub composite1: f64,
}

impl VariableErrors {
    /// The errors in the order of [`APPROXIMATIONS`].
    pub fn values(&self) -> [f64; 4] {
        [self.outer, self.inner, self.composite, self.composite1]
    }
}

/// The fitted order of one approximation of one variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRow {
    /// Variable.
    pub variable: String,
    /// One of [`APPROXIMATIONS`].
    pub approximation: String,
    /// The fit (`None` when the errors are at rounding level, an error vanished, or too
    /// few ε).
    pub fit: Option<PowerLawFit>,
    /// Why there is no fit, when there is none.
    pub note: Option<String>,
}

/// Numerical check of the matching conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchingCheck {
    /// `max |η₀(τ_last) − Y₀(0)|` at the last recorded layer time `τ_last` (inner as
    /// `τ → ∞` against outer as `t → 0`).
    pub limit_gap: f64,
    /// `τ_last`.
    pub tau_last: f64,
    /// `max |dη₁/dτ(τ_converged) − Y₀'(0)|`: growth rate of the first-order inner term,
    /// measured from the layer equations, against the outer derivative `H g`.
    pub slope_gap: f64,
    /// `max |lim (η₁ − τ Y₀'(0)) − Y₁(0)|`: first-order matching (layer offset against the
    /// outer formula `Y₁ = f_y⁻¹(H g − f_x X₁ − f_ε)`).
    pub offset_gap: f64,
    /// `α` of the intermediate variable `t = ε^α η`.
    pub alpha: f64,
    /// `η`.
    pub eta: f64,
    /// The ε of the intermediate-variable check.
    pub eps: Vec<f64>,
    /// `max |outer₀(t) − inner₀(t/ε)|` at `t = ε^α η` (expected `O(ε^α)`).
    pub mismatch: Vec<f64>,
    /// `max |outer₁(t) − inner₁(t/ε)|` (expected `O(ε^{2α})`).
    pub mismatch1: Vec<f64>,
    /// Fitted order of `mismatch`.
    pub order: Option<PowerLawFit>,
    /// Fitted order of `mismatch1`.
    pub order1: Option<PowerLawFit>,
}

/// A complete study: errors of every approximation at every ε, their fitted orders and
/// the matching check.
#[derive(Debug, Clone)]
pub struct Study {
    /// Variable names, slow then fast.
    pub names: Vec<String>,
    /// The ε studied (decreasing).
    pub eps: Vec<f64>,
    /// `T`.
    pub t_end: f64,
    /// Outer and inner solutions.
    pub asymptotics: Asymptotics,
    /// One comparison per ε.
    pub comparisons: Vec<Comparison>,
    /// Maximum errors, per ε and variable.
    pub errors: Vec<VariableErrors>,
    /// Fitted orders, per variable and approximation.
    pub orders: Vec<OrderRow>,
    /// Matching check.
    pub matching: MatchingCheck,
}

impl Study {
    /// The fitted order of `approximation` for `variable`.
    pub fn order(&self, variable: &str, approximation: &str) -> Option<PowerLawFit> {
        self.orders
            .iter()
            .find(|r| r.variable == variable && r.approximation == approximation)
            .and_then(|r| r.fit.clone())
    }
}

/// The order `p` of `err ≈ C ε^p` (least squares in log–log with a 95% Student-t interval),
/// or `None` when an error vanishes or fewer than two ε are given.
fn order_fit(eps: &[f64], err: &[f64]) -> Option<PowerLawFit> {
    fit_power_law(eps, err, 0.95).ok()
}

/// The comparison grid at `ε`: uniform on `[0, T]` plus `ε τ` on the layer grid.
fn grid_for(eps: f64, t_end: f64, g: &GridOptions) -> Vec<f64> {
    let mut v: Vec<f64> = (0..=g.uniform)
        .map(|j| t_end * j as f64 / g.uniform as f64)
        .collect();
    let steps = (g.layer_span / g.layer_step).floor() as usize;
    v.extend(
        (0..=steps)
            .map(|k| eps * k as f64 * g.layer_step)
            .filter(|&t| t <= t_end),
    );
    v.sort_by(f64::total_cmp);
    dedup_close(&mut v);
    v
}

/// Times closer than this (relative to `max(1, t)`) are one output time: the integrators
/// cannot step across a gap of a few ulps.
const CLOSE: f64 = 1e-12;

/// Removes values within `CLOSE` of their predecessor from a sorted list.
fn dedup_close(v: &mut Vec<f64>) {
    v.dedup_by(|b, a| (*b - *a).abs() <= CLOSE * a.abs().max(1.0));
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
}

/// Runs the study on `[0, t_end]` from `(x0, y0)` for every ε in `eps`: one layer and one
/// outer solution, one direct integration per ε, the maximum errors of outer alone, inner
/// alone, leading and first-order composites, their fitted orders, and the matching
/// check.
///
/// # Errors
/// Any failure of the layer, outer or direct solutions ([`MatchingError`]); an empty ε
/// list, `ε ∉ (0, 1)`, `t_end ≤ 0` or `α ∉ (0, 1)` are invalid requests.
pub fn study<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    t_end: f64,
    eps: &[f64],
    opts: &MatchingOptions,
) -> Result<Study, MatchingError> {
    check_study_request(eps, t_end)?;
    if !(opts.alpha > 0.0 && opts.alpha < 1.0 && opts.eta > 0.0) {
        return Err(MatchingError::InvalidRequest(format!(
            "the intermediate variable needs 0 < alpha < 1 and eta > 0, got {} and {}",
            opts.alpha, opts.eta
        )));
    }
    let grids: Vec<Vec<f64>> = eps
        .iter()
        .map(|&e| grid_for(e, t_end, &opts.grid))
        .collect();
    let check_t: Vec<(f64, f64)> = opts
        .check_eps
        .iter()
        .map(|&e| (e, e.powf(opts.alpha) * opts.eta))
        .filter(|&(_, t)| t <= t_end)
        .collect();
    let mut t_all: Vec<f64> = grids
        .iter()
        .flatten()
        .copied()
        .chain(check_t.iter().map(|&(_, t)| t))
        .collect();
    t_all.sort_by(f64::total_cmp);
    dedup_close(&mut t_all);
    let taus: Vec<f64> = eps
        .iter()
        .zip(&grids)
        .flat_map(|(&e, g)| g.iter().map(move |&t| t / e))
        .chain(check_t.iter().map(|&(e, t)| t / e))
        .collect();
    let asym = Asymptotics::compute(sys, x0, y0, &t_all, &taus, opts)?;
    let names = asym.names.clone();
    let nv = names.len();

    let mut comparisons = Vec::with_capacity(eps.len());
    for (&e, grid) in eps.iter().zip(&grids) {
        let (traj, direct_stats) = integrate_full(sys, e, x0, y0, grid, opts.direct)?;
        let mut c = Comparison {
            eps: e,
            names: names.clone(),
            t: grid.clone(),
            full: traj.columns,
            outer: vec![Vec::with_capacity(grid.len()); nv],
            inner: vec![Vec::with_capacity(grid.len()); nv],
            composite: vec![Vec::with_capacity(grid.len()); nv],
            composite1: vec![Vec::with_capacity(grid.len()); nv],
            direct_stats,
        };
        for &t in grid {
            let a = asym.at(t, e)?;
            for v in 0..nv {
                c.outer[v].push(a.outer[v]);
                c.inner[v].push(a.inner[v]);
            }
        }
        for v in 0..nv {
            let [lead, first] = asym.composites(v, e, grid)?;
            c.composite[v] = lead.values();
            c.composite1[v] = first.values();
        }
        comparisons.push(c);
    }
    let errors: Vec<VariableErrors> = comparisons.iter().flat_map(|c| c.max_errors()).collect();
    let mut orders = Vec::new();
    for (v, name) in names.iter().enumerate() {
        let rows: Vec<&VariableErrors> = errors.iter().filter(|r| &r.variable == name).collect();
        let es: Vec<f64> = rows.iter().map(|r| r.eps).collect();
        // Errors this small are rounding (an approximation that is exact for this
        // variable): no order to fit.
        let size = comparisons
            .iter()
            .flat_map(|c| c.full[v].iter())
            .fold(0.0f64, |m, x| m.max(x.abs()));
        let rounding = 1e-11 * (1.0 + size);
        for (k, approx) in APPROXIMATIONS.iter().enumerate() {
            let errs: Vec<f64> = rows.iter().map(|r| r.values()[k]).collect();
            let largest = errs.iter().fold(0.0f64, |m, e| m.max(*e));
            let (fit, note) = if largest <= rounding {
                (
                    None,
                    Some(format!("exact to rounding (largest error {largest:.1e})")),
                )
            } else {
                match order_fit(&es, &errs) {
                    Some(f) => (Some(f), None),
                    None => (
                        None,
                        Some("no fit (vanishing error or fewer than two eps)".into()),
                    ),
                }
            };
            orders.push(OrderRow {
                variable: name.clone(),
                approximation: approx.to_string(),
                fit,
                note,
            });
        }
    }

    // Matching: inner at infinity vs outer at 0, first-order slope and offset, and the
    // intermediate variable.
    let layer = &asym.layer;
    let fo = asym
        .outer
        .first_order
        .as_ref()
        .ok_or_else(|| MatchingError::Missing {
            what: "first-order outer".into(),
            t: 0.0,
        })?;
    let (tau_last, limit_gap) = match (layer.tau.last(), layer.y.last()) {
        (Some(&tau), Some(y)) => (tau, max_abs_diff(y, &asym.outer.y[0])),
        _ => (0.0, f64::NAN),
    };
    let slope_gap = layer
        .eta1_rate
        .as_ref()
        .map_or(f64::NAN, |s| max_abs_diff(s, &asym.outer.dydt[0]));
    let offset_gap = layer
        .eta1_offset
        .as_ref()
        .map_or(f64::NAN, |q| max_abs_diff(q, &fo.y1[0]));
    let (mut ce, mut mm, mut mm1) = (Vec::new(), Vec::new(), Vec::new());
    for &(e, t) in &check_t {
        let a = asym.at(t, e)?;
        ce.push(e);
        mm.push(max_abs_diff(&a.outer, &a.inner));
        mm1.push(max_abs_diff(&a.outer1, &a.inner1));
    }
    let matching = MatchingCheck {
        limit_gap,
        tau_last,
        slope_gap,
        offset_gap,
        alpha: opts.alpha,
        eta: opts.eta,
        order: order_fit(&ce, &mm),
        order1: order_fit(&ce, &mm1),
        eps: ce,
        mismatch: mm,
        mismatch1: mm1,
    };
    Ok(Study {
        names,
        eps: eps.to_vec(),
        t_end,
        asymptotics: asym,
        comparisons,
        errors,
        orders,
        matching,
    })
}
