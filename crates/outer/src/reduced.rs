//! The reduced flow `x' = g(x, h(x), 0)` on an attracting branch `y = h(x)`, with fold
//! detection and the optional first-order correction.

use std::cell::Cell;
use std::fmt;
use std::ops::ControlFlow;

use nalgebra::{DMatrix, DVector, Dyn, LU};
use serde::{Deserialize, Serialize};
use timescales_ode::{
    IntegrationError, Linearization, Observer, OdeSystem, Rodas4, SlowFastSystem, Solver,
    SolverOptions, SolverStats, integrate,
};

use crate::linear::{attractivity, blocks, eps_partials, factor_fast};
use crate::{NewtonOptions, OuterError, solve_fast};

/// Options of [`solve_reduced`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReducedOptions {
    /// Relative tolerance of the integrator.
    pub rtol: f64,
    /// Absolute tolerance of the integrator.
    pub atol: f64,
    /// Newton settings for `f(x, y, 0) = 0`.
    pub newton: NewtonOptions,
    /// The flow stops when the largest real part of the eigenvalues of `∂f/∂y` rises above
    /// `−margin · |max Re λ at t₀|` (loss of attractivity ahead).
    pub attractivity_margin: f64,
    /// Largest step (unbounded when `None`).
    pub h_max: Option<f64>,
    /// Most accepted steps.
    pub max_steps: usize,
}

impl Default for ReducedOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-10,
            atol: 1e-12,
            newton: NewtonOptions::default(),
            attractivity_margin: 1e-4,
            h_max: None,
            max_steps: 1_000_000,
        }
    }
}

/// Where the reduced flow starts: `x(t₀) = x0`, the branch through the root of
/// `f(x0, ·, 0) = 0` that Newton reaches from `y_guess`, and, to compute the first-order
/// correction, `X₁(t₀)` (given by matching with the initial layer).
#[derive(Debug, Clone, PartialEq)]
pub struct OuterStart {
    /// Initial time.
    pub t0: f64,
    /// Slow state at `t₀`.
    pub x0: Vec<f64>,
    /// Guess of the fast state on the wanted branch.
    pub y_guess: Vec<f64>,
    /// `X₁(t₀)`; `None` skips the first-order correction.
    pub x1_0: Option<Vec<f64>>,
}

/// What kind of loss of normal hyperbolicity stopped the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FoldKind {
    /// A real eigenvalue of `∂f/∂y` tends to zero and the branch ends (saddle-node, the
    /// generic fold where the flow jumps).
    Fold,
    /// A complex pair reaches the imaginary axis (oscillatory, Hopf-like).
    Oscillatory,
    /// A real eigenvalue crossed zero while the branch continued (exchange of stability).
    Crossing,
}

/// Where and how the reduced flow lost normal hyperbolicity. The location is extrapolated
/// from the last two regular accepted steps with the local normal form: at a fold
/// `max Re λ ∝ (y − y_f) ∝ √(t_f − t)`, at an oscillatory loss `max Re λ ∝ t_f − t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldEvent {
    /// Kind of loss.
    pub kind: FoldKind,
    /// Estimated time of the loss.
    pub t: f64,
    /// Estimated slow state there.
    pub x: Vec<f64>,
    /// Estimated fast state there.
    pub y: Vec<f64>,
    /// Last time at which the branch was regular and attracting.
    pub t_regular: f64,
    /// Largest real part of the eigenvalues of `∂f/∂y` there.
    pub max_real_regular: f64,
}

impl fmt::Display for FoldEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FoldKind::Fold => "fold of the slow manifold (a real eigenvalue of ∂f/∂y reaches 0)",
            FoldKind::Oscillatory => {
                "oscillatory loss of attractivity (a complex pair of ∂f/∂y reaches the imaginary axis)"
            }
            FoldKind::Crossing => "exchange of stability (a real eigenvalue of ∂f/∂y crosses 0)",
        };
        write!(
            f,
            "loss of normal hyperbolicity: {what} at t ≈ {:.10}, x ≈ {:?}, y ≈ {:?} (last regular point t = {:.10}, max Re λ = {:e})",
            self.t, self.x, self.y, self.t_regular, self.max_real_regular
        )
    }
}

/// How the reduced flow ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Termination {
    /// All output times were reached.
    Completed,
    /// The flow stopped at a loss of normal hyperbolicity before the last output time.
    Fold(FoldEvent),
}

/// The first-order outer correction at the output times.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FirstOrderOuter {
    /// `X₁(t)`, one row per output time.
    pub x1: Vec<Vec<f64>>,
    /// `Y₁(t)`.
    pub y1: Vec<Vec<f64>>,
}

/// The reduced solution at the output times reached.
#[derive(Debug, Clone, PartialEq)]
pub struct OuterSolution {
    /// Output times reached (all of them when [`Termination::Completed`]).
    pub t: Vec<f64>,
    /// `X₀(t)`, one row per output time.
    pub x: Vec<Vec<f64>>,
    /// `Y₀(t) = h(X₀(t))`.
    pub y: Vec<Vec<f64>>,
    /// `Y₀'(t) = H g` (the slope of the fast variables along the flow).
    pub dydt: Vec<Vec<f64>>,
    /// Largest real part of the eigenvalues of `∂f/∂y` at each output time.
    pub max_real: Vec<f64>,
    /// The first-order correction, when requested.
    pub first_order: Option<FirstOrderOuter>,
    /// How the flow ended.
    pub termination: Termination,
    /// Integrator counters.
    pub stats: SolverStats,
}

impl OuterSolution {
    /// The solution if every output time was reached.
    ///
    /// # Errors
    /// [`OuterError::Fold`] with the event otherwise.
    pub fn into_complete(self) -> Result<Self, OuterError> {
        match &self.termination {
            Termination::Completed => Ok(self),
            Termination::Fold(ev) => Err(OuterError::Fold(ev.clone())),
        }
    }
}

/// Follows a branch `y = h(x)` by Newton from the tangent predictor `y_a + H_a (x − x_a)`.
#[derive(Debug, Clone)]
struct Tracker {
    x: Vec<f64>,
    y: Vec<f64>,
    h: DMatrix<f64>,
}

impl Tracker {
    fn follow<S: SlowFastSystem + ?Sized>(
        &self,
        sys: &S,
        x: &[f64],
        opts: &NewtonOptions,
    ) -> Result<Vec<f64>, OuterError> {
        let dx = DVector::from_iterator(x.len(), x.iter().zip(&self.x).map(|(a, b)| a - b));
        let pred: Vec<f64> = (&self.h * dx)
            .iter()
            .zip(&self.y)
            .map(|(d, y)| y + d)
            .collect();
        let r = solve_fast(sys, x, &pred, 0.0, opts)?;
        // A root far from the predictor belongs to another branch.
        let scale = 1.0 + pred.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let jump =
            r.y.iter()
                .zip(&pred)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        if jump > 0.5 * scale {
            return Err(OuterError::NewtonFailed {
                x: x.to_vec(),
                y: r.y,
                residual: r.residual,
                iterations: r.iterations,
                reason: format!("converged to another branch ({jump:e} away from the predictor)"),
            });
        }
        Ok(r.y)
    }
}

/// Quantities of the first-order outer problem at a point `(x, y = h(x))`.
struct Local {
    /// `H = −f_y⁻¹ f_x`.
    h: DMatrix<f64>,
    /// `g(x, y, 0)`.
    g: Vec<f64>,
    /// `g_x + g_y H`.
    a: DMatrix<f64>,
    /// Factors of `f_y` and the blocks (kept for `Y₁`).
    lu: LU<f64, Dyn, Dyn>,
    fx: DMatrix<f64>,
    gx: DMatrix<f64>,
    gy: DMatrix<f64>,
    max_real: f64,
    oscillatory: bool,
}

fn local<S: SlowFastSystem + ?Sized>(sys: &S, x: &[f64], y: &[f64]) -> Option<Local> {
    let b = blocks(sys, x, y, 0.0);
    let lu = factor_fast(&b.fy)?;
    let h = -lu.solve(&b.fx)?;
    let mut g = vec![0.0; x.len()];
    sys.slow_field(x, y, 0.0, &mut g);
    let a = &b.gx + &b.gy * &h;
    let att = attractivity(&b.fy)?;
    Some(Local {
        h,
        g,
        a,
        lu,
        fx: b.fx,
        gx: b.gx,
        gy: b.gy,
        max_real: att.max_real,
        oscillatory: att.oscillatory,
    })
}

impl Local {
    /// `H g` (= `Y₀'`).
    fn dydt(&self) -> DVector<f64> {
        &self.h * DVector::from_column_slice(&self.g)
    }
    /// `(X₁', Y₁)` for the given `X₁` and `(g_ε, f_ε)`.
    fn first_order(&self, x1: &[f64], ge: &[f64], fe: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
        let x1v = DVector::from_column_slice(x1);
        let hg = self.dydt();
        let fev = DVector::from_column_slice(fe);
        // Y₁ = f_y⁻¹ (H g − f_x X₁ − f_ε)
        let y1 = self.lu.solve(&(&hg - &self.fx * &x1v - &fev))?;
        // X₁' = g_x X₁ + g_y Y₁ + g_ε  (= A X₁ + g_y f_y⁻¹(H g − f_ε) + g_ε)
        let dx1 = &self.gx * &x1v + &self.gy * &y1 + DVector::from_column_slice(ge);
        Some((dx1.as_slice().to_vec(), y1.as_slice().to_vec()))
    }
}

/// The reduced flow as an ODE for Rodas: state `X₀` (and `X₁`).
struct ReducedOde<'a, S: ?Sized> {
    sys: &'a S,
    n: usize,
    first_order: bool,
    newton: NewtonOptions,
    tracker: Tracker,
    jac: DMatrix<f64>,
    lu: Option<LU<f64, Dyn, Dyn>>,
    newton_solves: Cell<usize>,
}

impl<S: SlowFastSystem + ?Sized> ReducedOde<'_, S> {
    /// `(X₀', X₁')` at `u`, or `None` off the branch.
    fn field(&self, u: &[f64]) -> Option<Vec<f64>> {
        let x = &u[..self.n];
        self.newton_solves.set(self.newton_solves.get() + 1);
        let y = self.tracker.follow(self.sys, x, &self.newton).ok()?;
        let mut out = vec![0.0; u.len()];
        self.sys.slow_field(x, &y, 0.0, &mut out[..self.n]);
        if self.first_order {
            let loc = local(self.sys, x, &y)?;
            let (ge, fe) = eps_partials(self.sys, x, &y, 0.0);
            let (dx1, _) = loc.first_order(&u[self.n..], &ge, &fe)?;
            out[self.n..].copy_from_slice(&dx1);
        }
        Some(out)
    }
}

impl<S: SlowFastSystem + ?Sized> OdeSystem for ReducedOde<'_, S> {
    fn dim(&self) -> usize {
        if self.first_order { 2 * self.n } else { self.n }
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        match self.field(u) {
            Some(v) => du.copy_from_slice(&v),
            None => du.fill(f64::NAN),
        }
    }
}

impl<S: SlowFastSystem + ?Sized> Linearization for ReducedOde<'_, S> {
    fn update_jacobian(&mut self, u: &[f64]) {
        let n = self.n;
        let d = self.dim();
        self.jac = DMatrix::from_element(d, d, f64::NAN);
        let x = &u[..n];
        self.newton_solves.set(self.newton_solves.get() + 1);
        let Ok(y) = self.tracker.follow(self.sys, x, &self.newton) else {
            return;
        };
        let Some(loc) = local(self.sys, x, &y) else {
            return;
        };
        self.tracker = Tracker {
            x: x.to_vec(),
            y,
            h: loc.h.clone(),
        };
        self.jac.fill(0.0);
        self.jac.view_mut((0, 0), (n, n)).copy_from(&loc.a);
        if self.first_order {
            // ∂X₁'/∂X₁ = A; ∂X₁'/∂X₀ by central differences.
            self.jac.view_mut((n, n), (n, n)).copy_from(&loc.a);
            let mut up = u.to_vec();
            for j in 0..n {
                let step = f64::EPSILON.cbrt() * u[j].abs().max(1.0);
                up[j] = u[j] + step;
                let plus = self.field(&up);
                up[j] = u[j] - step;
                let minus = self.field(&up);
                up[j] = u[j];
                match (plus, minus) {
                    (Some(p), Some(m)) => {
                        for i in 0..n {
                            self.jac[(n + i, j)] = (p[n + i] - m[n + i]) / (2.0 * step);
                        }
                    }
                    _ => {
                        self.jac.fill(f64::NAN);
                        return;
                    }
                }
            }
        }
    }
    fn factor(&mut self, c: f64) -> Result<(), String> {
        if self.jac.iter().any(|v| !v.is_finite()) {
            self.lu = None;
            return Err("the slow manifold could not be followed here (Newton failed)".into());
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
        match &self.lu {
            Some(lu) => {
                let mut v = DVector::from_column_slice(b);
                if lu.solve_mut(&mut v) {
                    b.copy_from_slice(v.as_slice());
                } else {
                    b.fill(f64::NAN);
                }
            }
            None => b.fill(f64::NAN),
        }
    }
}

#[derive(Debug, Clone)]
struct Sample {
    t: f64,
    x: Vec<f64>,
    y: Vec<f64>,
    max_real: f64,
    oscillatory: bool,
}

/// Records the outputs and watches attractivity at every accepted step.
struct Watch<'a, S: ?Sized> {
    sys: &'a S,
    n: usize,
    newton: NewtonOptions,
    tracker: Tracker,
    threshold: f64,
    first_order: bool,
    /// The last two regular samples.
    regular: Vec<Sample>,
    /// The sample that stopped the flow (attractivity below the margin, or lost).
    stop: Option<Sample>,
    /// Newton failed at an accepted point.
    lost: bool,
    out_t: Vec<f64>,
    out_x: Vec<Vec<f64>>,
    out_y: Vec<Vec<f64>>,
    out_dy: Vec<Vec<f64>>,
    out_mu: Vec<f64>,
    out_x1: Vec<Vec<f64>>,
    out_y1: Vec<Vec<f64>>,
    /// A failure while recording an output (should not happen after an accepted step).
    output_failure: Option<OuterError>,
}

impl<S: SlowFastSystem + ?Sized> Watch<'_, S> {
    fn sample(&mut self, t: f64, x: &[f64]) -> Option<(Sample, Local)> {
        let y = self.tracker.follow(self.sys, x, &self.newton).ok()?;
        let loc = local(self.sys, x, &y)?;
        self.tracker = Tracker {
            x: x.to_vec(),
            y: y.clone(),
            h: loc.h.clone(),
        };
        Some((
            Sample {
                t,
                x: x.to_vec(),
                y,
                max_real: loc.max_real,
                oscillatory: loc.oscillatory,
            },
            loc,
        ))
    }
}

impl<S: SlowFastSystem + ?Sized> Observer for Watch<'_, S> {
    fn accepted_step(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        let x = &u[..self.n];
        match self.sample(t, x) {
            None => {
                self.lost = true;
                ControlFlow::Break(())
            }
            Some((s, _)) => {
                if s.max_real >= self.threshold {
                    self.stop = Some(s);
                    ControlFlow::Break(())
                } else {
                    if self.regular.len() == 2 {
                        self.regular.remove(0);
                    }
                    self.regular.push(s);
                    ControlFlow::Continue(())
                }
            }
        }
    }

    fn observe(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        let x = &u[..self.n];
        let Some((s, loc)) = self.sample(t, x) else {
            self.output_failure = Some(OuterError::NewtonFailed {
                x: x.to_vec(),
                y: self.tracker.y.clone(),
                residual: f64::NAN,
                iterations: 0,
                reason: format!("the branch could not be followed at the output time t = {t}"),
            });
            return ControlFlow::Break(());
        };
        self.out_t.push(t);
        self.out_x.push(s.x.clone());
        self.out_dy.push(loc.dydt().as_slice().to_vec());
        self.out_mu.push(s.max_real);
        if self.first_order {
            let (ge, fe) = eps_partials(self.sys, x, &s.y, 0.0);
            match loc.first_order(&u[self.n..], &ge, &fe) {
                Some((_, y1)) => {
                    self.out_x1.push(u[self.n..].to_vec());
                    self.out_y1.push(y1);
                }
                None => {
                    self.output_failure = Some(OuterError::SingularFastJacobian {
                        x: x.to_vec(),
                        y: s.y.clone(),
                    });
                    return ControlFlow::Break(());
                }
            }
        }
        self.out_y.push(s.y);
        ControlFlow::Continue(())
    }
}

/// Extrapolates the loss of hyperbolicity from two regular samples `a` (older) and `b`
/// (newer, closer to it), or interpolates to a crossing when `stop` has `max Re λ ≥ 0`.
fn locate(regular: &[Sample], stop: Option<&Sample>) -> Option<FoldEvent> {
    let lerp = |a: &[f64], b: &[f64], w: f64| -> Vec<f64> {
        a.iter().zip(b).map(|(p, q)| q + w * (q - p)).collect()
    };
    let mut pts: Vec<&Sample> = regular.iter().collect();
    if let Some(s) = stop {
        if s.max_real >= 0.0 {
            let b = *pts.last()?;
            // Linear interpolation of max Re λ between b (< 0) and s (≥ 0).
            let th = -b.max_real / (s.max_real - b.max_real);
            let kind = if s.oscillatory {
                FoldKind::Oscillatory
            } else {
                FoldKind::Crossing
            };
            return Some(FoldEvent {
                kind,
                t: b.t + th * (s.t - b.t),
                x: b.x
                    .iter()
                    .zip(&s.x)
                    .map(|(p, q)| p + th * (q - p))
                    .collect(),
                y: b.y
                    .iter()
                    .zip(&s.y)
                    .map(|(p, q)| p + th * (q - p))
                    .collect(),
                t_regular: b.t,
                max_real_regular: b.max_real,
            });
        }
        pts.push(s);
    }
    let b = *pts.last()?;
    let event = |kind, t, x, y| FoldEvent {
        kind,
        t,
        x,
        y,
        t_regular: b.t,
        max_real_regular: b.max_real,
    };
    let kind = if b.oscillatory {
        FoldKind::Oscillatory
    } else {
        FoldKind::Fold
    };
    if pts.len() < 2 {
        return Some(event(kind, b.t, b.x.clone(), b.y.clone()));
    }
    let a = pts[pts.len() - 2];
    let (ma, mb) = (a.max_real, b.max_real);
    if mb <= ma {
        return Some(event(kind, b.t, b.x.clone(), b.y.clone()));
    }
    if b.oscillatory {
        // Re λ linear in t.
        let w = -mb / (mb - ma);
        Some(event(
            kind,
            b.t + w * (b.t - a.t),
            lerp(&a.x, &b.x, w),
            lerp(&a.y, &b.y, w),
        ))
    } else {
        // Saddle-node: μ linear in y, μ² linear in t and x.
        let w2 = mb * mb / (ma * ma - mb * mb);
        let w1 = -mb / (mb - ma);
        Some(event(
            kind,
            b.t + w2 * (b.t - a.t),
            lerp(&a.x, &b.x, w2),
            lerp(&a.y, &b.y, w1),
        ))
    }
}

/// Integrates the reduced problem from `start` through the output times `t_out`
/// (increasing, `≥ t₀`).
///
/// The branch is the root of `f(x₀, ·, 0) = 0` that Newton reaches from `start.y_guess`; it
/// must be attracting there. The flow stops, with [`Termination::Fold`], where
/// attractivity is lost (largest real part of the eigenvalues of `∂f/∂y` above
/// `−margin·|max Re λ(t₀)|`, or the branch ends and Newton fails); the outputs before
/// that point are returned.
///
/// # Errors
/// [`OuterError::NotAttracting`] for a repelling or degenerate initial branch, Newton
/// failures at `t₀`, [`OuterError::Integration`] when the integrator fails away from any
/// loss of hyperbolicity, [`OuterError::InvalidRequest`] for inconsistent dimensions.
pub fn solve_reduced<S: SlowFastSystem + ?Sized>(
    sys: &S,
    start: &OuterStart,
    t_out: &[f64],
    opts: &ReducedOptions,
) -> Result<OuterSolution, OuterError> {
    let (n, m) = (sys.slow_dim(), sys.fast_dim());
    if start.x0.len() != n || start.y_guess.len() != m {
        return Err(OuterError::InvalidRequest(format!(
            "the system has {n} slow and {m} fast variables; got x0 of length {} and y_guess of length {}",
            start.x0.len(),
            start.y_guess.len()
        )));
    }
    if let Some(x1) = &start.x1_0
        && x1.len() != n
    {
        return Err(OuterError::InvalidRequest(format!(
            "X₁(t₀) has {} components, expected {n}",
            x1.len()
        )));
    }
    if n == 0 {
        return Err(OuterError::InvalidRequest(
            "the system has no slow variable".into(),
        ));
    }
    let y0 = solve_fast(sys, &start.x0, &start.y_guess, 0.0, &opts.newton)?.y;
    let loc = local(sys, &start.x0, &y0).ok_or_else(|| {
        if factor_fast(&blocks(sys, &start.x0, &y0, 0.0).fy).is_none() {
            OuterError::SingularFastJacobian {
                x: start.x0.clone(),
                y: y0.clone(),
            }
        } else {
            OuterError::Eigenvalues {
                x: start.x0.clone(),
                y: y0.clone(),
            }
        }
    })?;
    let mu0 = loc.max_real;
    let threshold = -opts.attractivity_margin * mu0.abs();
    if loc.max_real.is_nan() || loc.max_real >= threshold.min(0.0) {
        return Err(OuterError::NotAttracting {
            t: start.t0,
            x: start.x0.clone(),
            y: y0,
            max_real: loc.max_real,
        });
    }
    let tracker = Tracker {
        x: start.x0.clone(),
        y: y0.clone(),
        h: loc.h.clone(),
    };
    let first_order = start.x1_0.is_some();
    let mut ode = ReducedOde {
        sys,
        n,
        first_order,
        newton: opts.newton,
        tracker: tracker.clone(),
        jac: DMatrix::zeros(0, 0),
        lu: None,
        newton_solves: Cell::new(0),
    };
    let mut watch = Watch {
        sys,
        n,
        newton: opts.newton,
        tracker,
        threshold,
        first_order,
        regular: vec![Sample {
            t: start.t0,
            x: start.x0.clone(),
            y: y0,
            max_real: loc.max_real,
            oscillatory: loc.oscillatory,
        }],
        stop: None,
        lost: false,
        out_t: Vec::new(),
        out_x: Vec::new(),
        out_y: Vec::new(),
        out_dy: Vec::new(),
        out_mu: Vec::new(),
        out_x1: Vec::new(),
        out_y1: Vec::new(),
        output_failure: None,
    };
    let mut u0 = start.x0.clone();
    if let Some(x1) = &start.x1_0 {
        u0.extend_from_slice(x1);
    }
    let solver_opts = SolverOptions {
        rtol: opts.rtol,
        atol: opts.atol,
        h_max: opts.h_max,
        max_steps: opts.max_steps,
        ..SolverOptions::default()
    };
    let mut rodas = Rodas4::new(&mut ode, start.t0, &u0, &solver_opts)?;
    let result = integrate(&mut rodas, t_out, &mut [], &mut watch);
    let stats = rodas.stats();
    if let Some(e) = watch.output_failure.take() {
        return Err(e);
    }
    // The observer stops the flow where attractivity falls below the margin or the branch
    // is lost; an integrator failure where attractivity was fading is the loss itself.
    let failure = match result {
        Ok(outcome) if outcome.completed() => None,
        Ok(_) => Some(None),
        Err(err) => Some(Some(err)),
    };
    let termination = match failure {
        None => Termination::Completed,
        Some(err) => {
            // Fading: attractivity down to 5% of its initial strength, or the extrapolated
            // loss within ten steps.
            let fading = watch.regular.len() == 2 && {
                let (a, b) = (&watch.regular[0], &watch.regular[1]);
                let (ma, mb) = (a.max_real, b.max_real);
                let ahead = if b.oscillatory {
                    -mb / (mb - ma)
                } else {
                    mb * mb / (ma * ma - mb * mb)
                };
                mb > ma && (ahead <= 10.0 || mb > 0.05 * mu0)
            };
            let near_loss = err.is_none() || fading;
            match (near_loss || watch.lost, err) {
                (false, Some(err)) => return Err(OuterError::Integration(err)),
                (_, err) => match locate(&watch.regular, watch.stop.as_ref()) {
                    Some(ev) => Termination::Fold(ev),
                    None => {
                        return Err(OuterError::Integration(err.unwrap_or_else(|| {
                            IntegrationError::InvalidRequest(
                                "attractivity lost with no regular point to locate it from".into(),
                            )
                        })));
                    }
                },
            }
        }
    };
    let first_order = first_order.then(|| FirstOrderOuter {
        x1: std::mem::take(&mut watch.out_x1),
        y1: std::mem::take(&mut watch.out_y1),
    });
    Ok(OuterSolution {
        t: watch.out_t,
        x: watch.out_x,
        y: watch.out_y,
        dydt: watch.out_dy,
        max_real: watch.out_mu,
        first_order,
        termination,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_systems::builtin::{fold, linear, michaelis_menten, van_der_pol};

    fn start(x0: f64, y: f64, x1: Option<f64>) -> OuterStart {
        OuterStart {
            t0: 0.0,
            x0: vec![x0],
            y_guess: vec![y],
            x1_0: x1.map(|v| vec![v]),
        }
    }

    #[test]
    fn michaelis_menten_matches_the_lambert_w_closed_form() {
        let times: Vec<f64> = (0..=20).map(|i| 0.25 * i as f64).collect();
        let opts = ReducedOptions::default();
        let sol = solve_reduced(
            &michaelis_menten::MichaelisMenten::default(),
            &start(1.0, 0.0, None),
            &times,
            &opts,
        )
        .unwrap()
        .into_complete()
        .unwrap();
        for (i, &t) in times.iter().enumerate() {
            let s = michaelis_menten::reduced_substrate(t, 1.0, 1.0, 0.5);
            let err = (sol.x[i][0] - s).abs() / (opts.rtol * s + opts.atol);
            assert!(err < 10.0, "t = {t}: error {err} tolerances");
            let sc = sol.x[i][0];
            assert!((sol.y[i][0] - sc / (sc + 1.0)).abs() < 1e-14);
        }
        assert!(sol.stats.steps < 400, "{:?}", sol.stats);
    }

    #[test]
    fn van_der_pol_branch_matches_the_w_minus_one_closed_form() {
        let times = [0.0, 0.2, 0.4, 0.6, 0.8];
        let sol = solve_reduced(
            &van_der_pol::VanDerPol,
            &start(2.0 / 3.0, 3.0, None),
            &times,
            &ReducedOptions::default(),
        )
        .unwrap();
        assert_eq!(sol.termination, Termination::Completed);
        for (i, &t) in times.iter().enumerate() {
            let r = van_der_pol::reduced(t);
            assert!((sol.x[i][0] - r[0]).abs() < 1e-8, "t = {t}");
            assert!((sol.y[i][0] - r[1]).abs() < 1e-8, "t = {t}");
        }
    }

    #[test]
    fn fold_is_detected_and_located() {
        // s' = −1, u = −√s: the branch ends at s = 0, t = 1 (closed form).
        let times = [0.5, 1.5, 2.0];
        let sol = solve_reduced(
            &fold::Fold,
            &start(1.0, -0.5, None),
            &times,
            &ReducedOptions::default(),
        )
        .unwrap();
        assert_eq!(sol.t, [0.5]);
        let Termination::Fold(ev) = &sol.termination else {
            panic!("{:?}", sol.termination)
        };
        assert_eq!(ev.kind, FoldKind::Fold);
        assert!((ev.t - fold::fold_time(1.0)).abs() < 1e-6, "{ev}");
        assert!(ev.x[0].abs() < 1e-6 && ev.y[0].abs() < 1e-3, "{ev}");
        assert!(ev.t_regular < ev.t && ev.t - ev.t_regular < 1e-2, "{ev}");
        let e = sol.into_complete().unwrap_err();
        assert!(e.to_string().contains("fold of the slow manifold"), "{e}");
    }

    #[test]
    fn van_der_pol_fold_time_is_the_closed_form() {
        let sol = solve_reduced(
            &van_der_pol::VanDerPol,
            &start(2.0 / 3.0, 2.5, None),
            &[2.0],
            &ReducedOptions::default(),
        )
        .unwrap();
        let Termination::Fold(ev) = &sol.termination else {
            panic!("{:?}", sol.termination)
        };
        // Fold at y = 1, x = −2/3 after 3/2 − ln 2.
        assert!((ev.t - van_der_pol::fold_time(2.0)).abs() < 1e-6, "{ev}");
        assert!((ev.x[0] + 2.0 / 3.0).abs() < 1e-6, "{ev}");
        assert!((ev.y[0] - 1.0).abs() < 1e-3, "{ev}");
    }

    #[test]
    fn repelling_branch_is_refused() {
        // u = +√s is repelling (∂f/∂u = 2u > 0).
        let e = solve_reduced(
            &fold::Fold,
            &start(1.0, 0.8, None),
            &[1.0],
            &ReducedOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(e, OuterError::NotAttracting { max_real, .. } if (max_real - 2.0).abs() < 1e-12),
            "{e:?}"
        );
    }

    #[test]
    fn first_order_outer_of_the_linear_problem_is_exact() {
        // X₀ = e^{−t}, X₁ = e^{−t} from X₁(0) = 1; Y₁ = −X₀' ... = f_y⁻¹(H g − f_x X₁ − f_ε):
        // with H = −1, g = Y₀ = −e^{−t}, f_x = −1, f_ε = −Y₀: Y₁ = −(e^{−t} + X₁ − e^{−t}) = −X₁.
        let times = [0.0, 0.5, 1.0, 2.0];
        let opts = ReducedOptions::default();
        let sol = solve_reduced(&linear::Linear, &start(1.0, 0.0, Some(1.0)), &times, &opts)
            .unwrap()
            .into_complete()
            .unwrap();
        let fo = sol.first_order.as_ref().unwrap();
        for (i, &t) in times.iter().enumerate() {
            let e = (-t).exp();
            assert!((sol.x[i][0] - e).abs() < 1e-9);
            assert!((sol.y[i][0] + e).abs() < 1e-9);
            assert!((sol.dydt[i][0] - e).abs() < 1e-9);
            assert!((fo.x1[i][0] - e).abs() < 1e-8, "t = {t}: {}", fo.x1[i][0]);
            assert!((fo.y1[i][0] + e).abs() < 1e-8, "t = {t}: {}", fo.y1[i][0]);
        }
    }

    #[test]
    fn oscillatory_loss_of_attractivity_is_reported() {
        // ∂f/∂y = [[x − 1, −2], [2, x − 1]]: eigenvalues x − 1 ± 2i cross at x = 1, t = 1.
        use timescales_systems::{UserSystem, VariableSpec};
        let sys = UserSystem::new(
            &[VariableSpec::new("x", "1")],
            &[
                VariableSpec::new("a", "(x - 1)*a - 2*b"),
                VariableSpec::new("b", "2*a + (x - 1)*b"),
            ],
            &[],
        )
        .unwrap();
        let st = OuterStart {
            t0: 0.0,
            x0: vec![0.0],
            y_guess: vec![0.3, -0.2],
            x1_0: None,
        };
        let sol = solve_reduced(&sys, &st, &[0.5, 2.0], &ReducedOptions::default()).unwrap();
        let Termination::Fold(ev) = &sol.termination else {
            panic!("{:?}", sol.termination)
        };
        assert_eq!(ev.kind, FoldKind::Oscillatory);
        assert!((ev.t - 1.0).abs() < 1e-6, "{ev}");
        assert!(ev.y.iter().all(|v| v.abs() < 1e-12), "{ev}");
    }

    /// The linear problem without its analytic derivatives: exercises the finite-difference
    /// Jacobian blocks and `∂/∂ε`.
    struct Bare;
    impl SlowFastSystem for Bare {
        fn slow_dim(&self) -> usize {
            1
        }
        fn fast_dim(&self) -> usize {
            1
        }
        fn slow_field(&self, x: &[f64], y: &[f64], e: f64, out: &mut [f64]) {
            linear::Linear.slow_field(x, y, e, out)
        }
        fn fast_field(&self, x: &[f64], y: &[f64], e: f64, out: &mut [f64]) {
            linear::Linear.fast_field(x, y, e, out)
        }
    }

    #[test]
    fn finite_difference_derivatives_give_the_same_first_order_outer() {
        let times = [0.0, 1.0, 2.0];
        let opts = ReducedOptions::default();
        let sol = solve_reduced(&Bare, &start(1.0, 0.0, Some(1.0)), &times, &opts)
            .unwrap()
            .into_complete()
            .unwrap();
        let fo = sol.first_order.unwrap();
        for (i, &t) in times.iter().enumerate() {
            assert!((fo.x1[i][0] - (-t).exp()).abs() < 1e-7, "t = {t}");
            assert!((fo.y1[i][0] + (-t).exp()).abs() < 1e-7, "t = {t}");
        }
    }
}
