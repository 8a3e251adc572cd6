//! Integration of the population gradient flow with an IMEX additive Runge–Kutta method.

use std::ops::ControlFlow;
use std::time::Instant;

use nalgebra::{DMatrix, DVector};

use timescales_ode::SolverOptions;

use crate::ark::{AE, AI, B, B_HAT, GAMMA, STAGES};
use crate::{Model, NetworkError, NetworkState, Population};

/// Options of [`PopulationFlow`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowOptions {
    /// Relative learning rate `ε` of the second layer (`ε da/dt = F_a`).
    pub eps: f64,
    /// Tolerances of the local error, first step (`ε/100` when `None`), largest step, step
    /// and consecutive-rejection limits: the options every integrator of the workspace takes.
    pub solver: SolverOptions,
    /// Fixed step size: no error control (for convergence-order studies). `None` (the
    /// default) means adaptive steps.
    pub fixed_step: Option<f64>,
    /// Largest risk increase tolerated over one step, relative to `max(R, 1)`; the exact
    /// flow never increases `R`, so a larger increase is reported as
    /// [`NetworkError::RiskIncreased`].
    pub risk_increase_tol: f64,
}

impl FlowOptions {
    /// Default tolerances (`rtol = 1e-6`, `atol = 1e-9`) for the given `ε`.
    pub fn new(eps: f64) -> Self {
        Self {
            eps,
            solver: SolverOptions {
                rtol: 1e-6,
                atol: 1e-9,
                h_init: None,
                h_max: None,
                max_steps: 1_000_000,
                max_rejections: 40,
            },
            fixed_step: None,
            risk_increase_tol: 1e-6,
        }
    }
}

/// Work counters of one integration.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FlowStats {
    /// Accepted steps.
    pub steps: usize,
    /// Rejected steps.
    pub rejected_steps: usize,
    /// Evaluations of the Gram matrix and kernels (one per stage).
    pub gram_evals: usize,
    /// Implicit stage solves.
    pub stage_solves: usize,
    /// Conjugate-gradient iterations over all stage solves.
    pub cg_iterations: usize,
    /// Stage solves that fell back to a Cholesky factorization.
    pub cholesky_fallbacks: usize,
    /// Largest `||w_i| − 1|` removed by the projection after a step.
    pub max_sphere_defect: f64,
    /// Largest relative risk increase seen over a step (0 when the risk always decreased).
    pub max_risk_increase: f64,
    /// Wall time, seconds.
    pub wall_seconds: f64,
}

/// What an observer sees at each requested output time.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// Time.
    pub t: f64,
    /// The state (first layer on the unit sphere).
    pub state: &'a NetworkState,
    /// Population risk at `state` (including the neglected target energy).
    pub risk: f64,
}

/// Watches a network run at its output times.
pub trait FlowObserver {
    /// The state at a requested output time; `Break` stops the run with
    /// [`NetworkError::StoppedByObserver`].
    fn observe(&mut self, snapshot: &Snapshot<'_>) -> ControlFlow<()>;
}

impl<F: FnMut(&Snapshot<'_>) -> ControlFlow<()>> FlowObserver for F {
    fn observe(&mut self, snapshot: &Snapshot<'_>) -> ControlFlow<()> {
        self(snapshot)
    }
}

/// The population gradient flow of a finite network (model.md §1, §3),
///
/// ```text
///   ε da/dt = V(s) − (1/m) U(G) a,      dW/dt = F_W(W, a)      (see Population),
/// ```
///
/// integrated by the IMEX pair ARK4(3)6L\[2\]SA (Kennedy & Carpenter 2003): the first layer
/// `W` (`m·d` unknowns, non-stiff) with the explicit tableau, the second layer `a` (`m`
/// unknowns, stiff: rates up to `U(1)/ε`) with the L-stable, stiffly accurate ESDIRK
/// tableau. Because the fast equation is *linear* in `a` for a given `W`, and the stage
/// value `W_i` is explicit, each implicit stage is one symmetric positive definite solve
///
/// ```text
///   (ε I + h γ U(G_i)/m) a_i = ε (a_n + h Σ_{j<i} AI_ij k^a_j) + h γ V(s_i),
/// ```
///
/// done by conjugate gradients (the spectrum of `U(G)/m` is a few outliers over a bulk of
/// size `O(1/m)`, so it converges in tens of iterations) with a Cholesky fallback. The
/// whole fast field `(V − U a/m)/ε` is implicit, so as `ε → 0` the stages satisfy the
/// slaving `U(G_i) a_i = m V(s_i)` (asymptotic preservation).
///
/// Error control: embedded third-order solution, mixed tolerance per component, the
/// larger of the RMS norms over `a` and over `W`, steps `h ← h · clamp(0.9 err^{−1/4},
/// 0.2, 5)`. After each accepted step every `w_i` is renormalized to the unit sphere: the
/// exact flow keeps `|w_i|` fixed, so this changes the state by the local error only
/// (`O(h^5)`) and keeps the order. The risk is recomputed after every step (at no extra
/// cost: it is the first stage of the next step) and must not increase (the flow is a
/// gradient flow) by more than [`FlowOptions::risk_increase_tol`].
#[derive(Debug, Clone)]
pub struct PopulationFlow {
    pop: Population,
    opts: FlowOptions,
    stats: FlowStats,
}

struct Stage0 {
    risk: f64,
    ka: DVector<f64>,
    kw: DMatrix<f64>,
}

impl PopulationFlow {
    /// A flow for `d × m` networks of `model`.
    ///
    /// # Errors
    /// [`NetworkError::InvalidParameter`] for non-positive `ε` or tolerances, `rtol ≥ 1`, or a
    /// zero size.
    pub fn new(model: Model, d: usize, m: usize, opts: FlowOptions) -> Result<Self, NetworkError> {
        for (what, v) in [
            ("eps", opts.eps),
            ("rtol", opts.solver.rtol),
            ("atol", opts.solver.atol),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(NetworkError::InvalidParameter {
                    what,
                    value: v.to_string(),
                    reason: "must be positive and finite",
                });
            }
        }
        if opts.solver.rtol >= 1.0 {
            return Err(NetworkError::InvalidParameter {
                what: "rtol",
                value: opts.solver.rtol.to_string(),
                reason: "must be below 1: a relative tolerance of 100 % or more controls nothing",
            });
        }
        Ok(Self {
            pop: Population::new(model, d, m)?,
            opts,
            stats: FlowStats::default(),
        })
    }

    /// The options.
    pub fn options(&self) -> &FlowOptions {
        &self.opts
    }

    /// The counters of the last integration.
    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    /// The underlying risk evaluator.
    pub fn population(&mut self) -> &mut Population {
        &mut self.pop
    }

    fn stage0(&mut self, state: &NetworkState) -> Stage0 {
        let (d, m) = self.pop.shape();
        self.pop.prepare(&state.w);
        self.stats.gram_evals += 1;
        let risk = self.pop.risk_prepared(&state.a);
        let mut ka = DVector::zeros(m);
        self.pop.a_field_prepared(&state.a, &mut ka);
        ka /= self.opts.eps;
        let mut kw = DMatrix::zeros(d, m);
        self.pop.w_field_prepared(&state.w, &state.a, &mut kw);
        Stage0 { risk, ka, kw }
    }

    /// Integrates from `(t0, state)` through the increasing output times `t_out` (all
    /// `≥ t0`; an output time equal to `t0` observes the initial state), calling
    /// `observer` at each. On success `state` holds the state at the last output time.
    ///
    /// # Errors
    /// [`NetworkError`] with the time and step where the run failed: non-finite state or
    /// risk, risk increase, step-size collapse, step limit, failed stage solve, observer stop.
    pub fn integrate<O: FlowObserver + ?Sized>(
        &mut self,
        state: &mut NetworkState,
        t0: f64,
        t_out: &[f64],
        observer: &mut O,
    ) -> Result<(), NetworkError> {
        let started = Instant::now();
        self.stats = FlowStats::default();
        let result = self.run(state, t0, t_out, observer);
        self.stats.wall_seconds = started.elapsed().as_secs_f64();
        result
    }

    fn run<O: FlowObserver + ?Sized>(
        &mut self,
        state: &mut NetworkState,
        t0: f64,
        t_out: &[f64],
        observer: &mut O,
    ) -> Result<(), NetworkError> {
        let (d, m) = self.pop.shape();
        if state.dim() != d || state.width() != m {
            return Err(NetworkError::Mismatch {
                what: "state shape (d*m)",
                expected: d * m,
                got: state.dim() * state.width(),
            });
        }
        if let Some(w) = t_out.windows(2).find(|w| w[1].is_nan() || w[1] <= w[0]) {
            return Err(NetworkError::InvalidParameter {
                what: "output times",
                value: format!("{} then {}", w[0], w[1]),
                reason: "must be strictly increasing",
            });
        }
        if let Some(&t) = t_out.first().filter(|&&t| !(t.is_finite() && t >= t0)) {
            return Err(NetworkError::InvalidParameter {
                what: "first output time",
                value: t.to_string(),
                reason: "must be finite and >= t0",
            });
        }
        if let Some((what, neuron)) = state.first_non_finite() {
            return Err(NetworkError::NonFinite {
                t: t0,
                step: 0,
                what,
                neuron,
            });
        }
        state.project_to_sphere();
        let eps = self.opts.eps;
        let mut t = t0;
        let mut s0 = self.stage0(state);
        check_risk(s0.risk, t, 0)?;
        let mut idx = 0;
        while idx < t_out.len() && t_out[idx] <= t0 {
            emit(observer, t, state, s0.risk)?;
            idx += 1;
        }
        let span = t_out.last().map_or(0.0, |&te| te - t0);
        let mut h = self
            .opts
            .fixed_step
            .or(self.opts.solver.h_init)
            .unwrap_or(eps * 1e-2);
        if let Some(hm) = self.opts.solver.h_max {
            h = h.min(hm);
        }
        let mut rejections = 0usize;
        // Stage buffers.
        let mut kw: Vec<DMatrix<f64>> = vec![DMatrix::zeros(d, m); STAGES];
        let mut ka: Vec<DVector<f64>> = vec![DVector::zeros(m); STAGES];
        let mut wi = DMatrix::zeros(d, m);
        let mut base = DVector::zeros(m);
        let mut rhs = DVector::zeros(m);
        let mut ai = DVector::zeros(m);
        while idx < t_out.len() {
            if timescales_ode::interrupt::requested() {
                return Err(NetworkError::Interrupted { t });
            }
            let target = t_out[idx];
            let h_min = 1e-14 * t.abs().max(span).max(eps);
            let mut h_try = h;
            let mut landing = false;
            if t + h_try >= target - 1e-12 * h_try.max(target.abs()) {
                h_try = target - t;
                landing = true;
            }
            kw[0].copy_from(&s0.kw);
            ka[0].copy_from(&s0.ka);
            let mut ok = true;
            for i in 1..STAGES {
                wi.copy_from(&state.w);
                for j in 0..i {
                    if AE[i][j] != 0.0 {
                        axpy_mat(&mut wi, h_try * AE[i][j], &kw[j]);
                    }
                }
                self.pop.prepare(&wi);
                self.stats.gram_evals += 1;
                base.copy_from(&state.a);
                for j in 0..i {
                    if AI[i][j] != 0.0 {
                        base.axpy(h_try * AI[i][j], &ka[j], 1.0);
                    }
                }
                let hg = h_try * GAMMA;
                rhs.copy_from(self.pop.v_values());
                rhs *= hg;
                rhs.axpy(eps, &base, 1.0);
                ai.copy_from(&base);
                if !self.solve_stage(eps, hg, &rhs, &mut ai) {
                    return Err(NetworkError::SingularStage {
                        t,
                        h: h_try,
                        stage: i,
                    });
                }
                let (ka_lo, ka_hi) = ka.split_at_mut(i);
                let _ = ka_lo;
                ka_hi[0].copy_from(&ai);
                ka_hi[0].axpy(-1.0, &base, 1.0);
                ka_hi[0] /= hg;
                let (_, kw_hi) = kw.split_at_mut(i);
                self.pop.w_field_prepared(&wi, &ai, &mut kw_hi[0]);
                if !ai.iter().all(|v| v.is_finite()) || !kw_hi[0].iter().all(|v| v.is_finite()) {
                    ok = false;
                    break;
                }
            }
            // Candidate solution and error estimate.
            let mut err = f64::INFINITY;
            let mut w_new = state.w.clone();
            let a_new = ai.clone(); // stiffly accurate: a_{n+1} = a_6
            if ok {
                let mut ew: DMatrix<f64> = DMatrix::zeros(d, m);
                let mut ea = DVector::zeros(m);
                for j in 0..STAGES {
                    if B[j] != 0.0 {
                        axpy_mat(&mut w_new, h_try * B[j], &kw[j]);
                    }
                    let e = B[j] - B_HAT[j];
                    if e != 0.0 {
                        axpy_mat(&mut ew, h_try * e, &kw[j]);
                        ea.axpy(h_try * e, &ka[j], 1.0);
                    }
                }
                let (rt, at) = (self.opts.solver.rtol, self.opts.solver.atol);
                let rms = |e: &[f64], u0: &[f64], u1: &[f64]| -> f64 {
                    let s: f64 = e
                        .iter()
                        .zip(u0.iter().zip(u1))
                        .map(|(e, (x, y))| {
                            let sc = at + rt * x.abs().max(y.abs());
                            (e / sc).powi(2)
                        })
                        .sum();
                    (s / e.len() as f64).sqrt()
                };
                let e_a = rms(ea.as_slice(), state.a.as_slice(), a_new.as_slice());
                let e_w = rms(ew.as_slice(), state.w.as_slice(), w_new.as_slice());
                err = e_a.max(e_w);
                if !err.is_finite() {
                    err = f64::INFINITY;
                }
                if self.opts.fixed_step.is_some() && err.is_finite() {
                    err = 0.0;
                }
            }
            if err <= 1.0 {
                let prev_risk = s0.risk;
                state.a.copy_from(&a_new);
                state.w = w_new;
                let defect = state.sphere_defect();
                self.stats.max_sphere_defect = self.stats.max_sphere_defect.max(defect);
                state.project_to_sphere();
                t = if landing { target } else { t + h_try };
                self.stats.steps += 1;
                let step = self.stats.steps;
                if let Some((what, neuron)) = state.first_non_finite() {
                    return Err(NetworkError::NonFinite {
                        t,
                        step,
                        what,
                        neuron,
                    });
                }
                s0 = self.stage0(state);
                check_risk(s0.risk, t, step)?;
                let scale = prev_risk.abs().max(1.0);
                let increase = (s0.risk - prev_risk) / scale;
                self.stats.max_risk_increase = self.stats.max_risk_increase.max(increase);
                if increase > self.opts.risk_increase_tol {
                    return Err(NetworkError::RiskIncreased {
                        t,
                        step,
                        before: prev_risk,
                        after: s0.risk,
                        allowed: self.opts.risk_increase_tol * scale,
                    });
                }
                if landing {
                    emit(observer, t, state, s0.risk)?;
                    idx += 1;
                }
                let fac = if err == 0.0 {
                    5.0
                } else {
                    (0.9 * err.powf(-0.25)).clamp(0.2, 5.0)
                };
                let fac = if rejections > 0 { fac.min(1.0) } else { fac };
                // A landing step was shortened: grow from the step the controller wanted.
                let h_basis = if landing { h.max(h_try) } else { h_try };
                h = match self.opts.fixed_step {
                    Some(hf) => hf,
                    None => h_basis * fac,
                };
                if let Some(hm) = self.opts.solver.h_max {
                    h = h.min(hm);
                }
                rejections = 0;
                if step >= self.opts.solver.max_steps && idx < t_out.len() {
                    return Err(NetworkError::MaxSteps {
                        t,
                        max_steps: self.opts.solver.max_steps,
                    });
                }
            } else {
                self.stats.rejected_steps += 1;
                rejections += 1;
                let fac = if err.is_finite() {
                    (0.9 * err.powf(-0.25)).clamp(0.2, 0.9)
                } else {
                    0.2
                };
                h = h_try * fac;
                if rejections > self.opts.solver.max_rejections || h < h_min {
                    return Err(NetworkError::StepSizeCollapse {
                        t,
                        h,
                        h_min,
                        rejections,
                    });
                }
            }
        }
        Ok(())
    }

    /// Solves `(ε I + hγ U(G)/m) x = rhs` for the prepared `G`; `x` holds the initial guess.
    /// Conjugate gradients to a relative residual of 1e-13, then Cholesky if that failed.
    fn solve_stage(&mut self, eps: f64, hg: f64, rhs: &DVector<f64>, x: &mut DVector<f64>) -> bool {
        self.stats.stage_solves += 1;
        let m = x.len();
        let coef = hg / m as f64;
        let ug = self.pop.kernel_matrix();
        let apply = |v: &DVector<f64>, out: &mut DVector<f64>| {
            out.copy_from(v);
            out.gemv(coef, ug, v, eps);
        };
        let mut r = DVector::zeros(m);
        apply(x, &mut r);
        r.axpy(1.0, rhs, -1.0); // r = rhs − M x
        let rhs_norm = rhs.norm();
        let tol = 1e-13 * rhs_norm;
        let mut p = r.clone();
        let mut mp = DVector::zeros(m);
        let mut rr = r.dot(&r);
        let max_iter = 300.min(2 * m + 10);
        let mut converged = rr.sqrt() <= tol;
        let mut iters = 0;
        while !converged && iters < max_iter {
            apply(&p, &mut mp);
            let pmp = p.dot(&mp);
            if pmp.is_nan() || pmp <= 0.0 {
                break;
            }
            let alpha = rr / pmp;
            x.axpy(alpha, &p, 1.0);
            r.axpy(-alpha, &mp, 1.0);
            let rr_new = r.dot(&r);
            iters += 1;
            if rr_new.sqrt() <= tol {
                converged = true;
                break;
            }
            p.axpy(1.0, &r, rr_new / rr);
            rr = rr_new;
        }
        self.stats.cg_iterations += iters;
        if converged {
            return true;
        }
        self.stats.cholesky_fallbacks += 1;
        let mut mat = ug * coef;
        for i in 0..m {
            mat[(i, i)] += eps;
        }
        match mat.cholesky() {
            Some(ch) => {
                x.copy_from(rhs);
                ch.solve_mut(x);
                x.iter().all(|v| v.is_finite())
            }
            None => false,
        }
    }
}

fn check_risk(risk: f64, t: f64, step: usize) -> Result<(), NetworkError> {
    if risk.is_finite() {
        Ok(())
    } else {
        Err(NetworkError::NonFinite {
            t,
            step,
            what: "risk",
            neuron: 0,
        })
    }
}

fn emit<O: FlowObserver + ?Sized>(
    observer: &mut O,
    t: f64,
    state: &NetworkState,
    risk: f64,
) -> Result<(), NetworkError> {
    match observer.observe(&Snapshot { t, state, risk }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(NetworkError::StoppedByObserver { t }),
    }
}

/// `y += alpha x` for matrices of equal shape.
fn axpy_mat(y: &mut DMatrix<f64>, alpha: f64, x: &DMatrix<f64>) {
    y.as_mut_slice()
        .iter_mut()
        .zip(x.as_slice())
        .for_each(|(y, x)| *y += alpha * x);
}
