//! Variable-order (1–5), variable-step BDF / NDF: a port of scipy's `BDF`
//! (`scipy/integrate/_ivp/bdf.py`, scipy 1.17), i.e. the quasi-constant step size NDF
//! of L. F. Shampine & M. W. Reichelt, *The MATLAB ODE Suite*, SIAM J. Sci. Comput. 18
//! (1997) 1–22 (the scheme of MATLAB's `ode15s`), on the structured linear solves of
//! [`Linearization`].
//!
//! **The formula.** The past is kept as the modified divided differences
//! `D_j = ∇^j y_n` (`j = 0..k+2`) of the interpolating polynomial on the equally spaced
//! grid `t_n, t_n − h, …`. A step of order `k` predicts
//! `y⁰ = Σ_{j=0..k} D_j` and solves the NDF
//!
//! ```text
//!   (1 − κ_k) γ_k (y − y⁰) − h F(y) + Σ_{j=1..k} γ_j ∇^j y_n = 0,
//!   γ_j = Σ_{i=1..j} 1/i,   κ = (0, −0.1850, −1/9, −0.0823, −0.0415, 0)
//! ```
//!
//! (`κ = 0`: the BDF of order `k`), i.e. with `α_k = (1 − κ_k) γ_k`, `c = h/α_k`,
//! `ψ = Σ_j γ_j D_j / α_k` and `d = y − y⁰`: `d − c F(y⁰ + d) + ψ = 0`. Simplified Newton
//! iterations solve it with the Newton matrix `W = (1/c_W)·I − J` of the last
//! factorization (scipy's `I − c·J = c·W`):
//!
//! ```text
//!   W Δ = (c/c_W) F(y) − (ψ + d)/c_W,    d ← d + Δ,  y ← y + Δ,
//! ```
//!
//! at most 4 iterations, stopped when the contraction rate `ρ = ‖Δ_m‖/‖Δ_{m−1}‖` predicts
//! `ρ/(1 − ρ)·‖Δ‖ < τ`, `τ = max(10 u/rtol, min(0.03, √rtol))`, abandoned when `ρ ≥ 1` or
//! the prediction `ρ^{4−m}/(1 − ρ)·‖Δ‖ > τ`.
//!
//! **Error estimate.** The local error is `err = C_k d`, `C_k = κ_k γ_k + 1/(k+1)`, in the
//! weighted RMS norm `‖x‖ = (Σ_i (x_i / (atol + rtol |y_i|))² / n)^{1/2}`; a step is accepted
//! when `‖err‖ ≤ 1`, otherwise `h ← h · max(0.2, s ‖err‖^{−1/(k+1)})` with the safety
//! `s = 0.9 (2·4 + 1)/(2·4 + iterations)`. The sums of squares are taken in eight
//! interleaved partial sums (fixed order, vectorizable), not in numpy's order, so on a large
//! problem the step sequence can part from scipy's in the last digits of a norm (on
//! Robertson's problem the counts stay exactly scipy's).
//!
//! **Threads.** The integrator's own passes over its arrays (predictor, weights and error
//! norm, update and rescaling of the differences, dense output) run over the whole array
//! below `8 × 8192` elements. From there on they run over chunks of 8192 elements, in
//! parallel on rayon's pool when it has more than one thread, and the chunks' partial sums
//! of a norm are added in chunk order: the same bits whatever the number of threads (the
//! system's own kernels, e.g. the mean-field flow's, chunk alike).
//!
//! **Order and step selection.** After `k + 1` steps of equal size, the errors of orders
//! `k − 1` (`C_{k−1} D_k`), `k` and `k + 1` (`C_{k+1} D_{k+2}`) are compared and the order
//! with the largest step factor `‖err_q‖^{−1/(q+1)}` wins; the step grows by at most 10.
//! A change of step by a factor `r` re-expresses the differences on the new grid,
//! `D ← (R(r) U)ᵀ D` (the same polynomial).
//!
//! **Jacobian and factorization reuse.** `J` is evaluated at the start and again only when
//! the Newton iteration fails with a `J` not evaluated during the current step (at `y⁰`, as
//! scipy does); `W` is refactored only when `h` or the order changes (or after a Newton
//! failure), and a step rejected for its error retries with the old factorization
//! (`c_W ≠ c` above).
//!
//! **Re-linearization before a smaller step** (not in scipy). When the iteration is too slow
//! with a `J` evaluated during the step, scipy halves `h`. Here, once per attempt, one
//! correction from `y⁰` is taken with that `J`, `J` is evaluated at this first iterate `y¹`,
//! and the iteration goes on from `y¹` (at most 4 more iterations, the same test); only if
//! that fails too is `h` halved. A `J` taken at `y⁰` can be too far from the one along the
//! path where the stiff components sit far off the predictor: on the flagship at small ε
//! (the a's large, the moment matrix badly conditioned) the contraction rate of the
//! iteration grew like `c = h/α_k` (≈ 100 at `c` = 7e-4, ε = 1e-18), every retry halved `h`,
//! and the step size collapsed at ε = 1e-20. In that continuation only, corrections that
//! the rate test rejects (not contracting, or too slowly) but that stay at or below 0.03
//! (weighted RMS; scipy's largest Newton tolerance) are taken as converged: there they are
//! the rounding floor of the residual, which halving `h` does not lower. The counts before
//! and after are in `benches/RESULTS.md` ("BDF step counts at small ε").
//!
//! **Domain.** A system may confine its solution to a domain
//! ([`Linearization::enforce_domain`], e.g. overlaps `|s| ≤ 1` up to rounding). A step that
//! carries a component out of it from inside is a failed step, retried with half the step,
//! as CVODE's inequality constraints do. A component that was outside at the step's start
//! already is moved back by the system instead (reflected across `|s| = 1`), with `d`, so
//! that the differences describe the moved state: the accepted state `D_0` is a sum over
//! the differences and can round a few ulps further out than the tested `y`, and on a
//! saturated overlap rounded so to `1 + 9u`, with the flow there turned repelling, every
//! retry landed outside again, down to a step-size collapse (the normal law's trapezoidal
//! rule, whose far-tail particles saturate first). The dense output is moved into the
//! domain by itself (an empty start).
//!
//! **Output.** Steps are not shortened to hit output times: the dense output of a step is the
//! interpolating polynomial `y(t) = D_0 + Σ_{j=1..k} D_j Π_{m<j} (t − t_n + m h)/((m + 1) h)`,
//! and only the stop time (scipy's `t_bound`, which the driver sets to the last output time)
//! is a step end. This is what scipy's `solve_ivp(t_eval=…)` does. The first step (the
//! initial step size, `J(u0)`) is prepared lazily, so that it sees the stop time as scipy's
//! `select_initial_step` sees `t_bound`.

mod kernels;
pub(crate) use kernels::add_and_sum_sq;
#[cfg(test)]
mod tests;

use kernels::{
    Coefficients, MAX_FACTOR, MAX_ORDER, MIN_FACTOR, NEWTON_MAXITER, NewtonFailure, ROWS,
    STAGNATION_FLOOR, accept_update, change_d, dense_output, next_up, predict, rms,
    weights_and_sum_sq,
};

use crate::solver::{at_stop_time, check_first_step, check_in_step, check_start};
use crate::{
    Clock, IntegrationError, LastRejection, Linearization, NewtonCorrection, Rejection, Solver,
    SolverOptions, SolverStats,
};

/// The variable-order NDF/BDF integrator (see the module documentation for the scheme),
/// owning its system.
#[derive(Debug, Clone)]
pub struct Bdf<S> {
    system: S,
    opts: SolverOptions,
    stats: SolverStats,
    co: Coefficients,
    newton_tol: f64,
    clock: Clock,
    /// The differences `D_0 … D_{k+2}`, row `j` at `d[j n..(j + 1) n]`; `D_0` is the state.
    d: Vec<f64>,
    order: usize,
    n_equal_steps: usize,
    h_abs: f64,
    /// `c_W` of the current factorization of `W = I/c_W − J`, if it is valid.
    lu: Option<f64>,
    /// Whether the first step has been prepared (`F(u0)`, `h`, `J(u0)`, `D_1`).
    started: bool,
    work: Work,
}

/// Work arrays of a step.
#[derive(Debug, Clone)]
struct Work {
    f: Vec<f64>,
    y_predict: Vec<f64>,
    psi: Vec<f64>,
    /// Error weights `1/(atol + rtol |y|)` (scipy's `1/scale`).
    weight: Vec<f64>,
    y_new: Vec<f64>,
    dsum: Vec<f64>,
    dy: Vec<f64>,
}

impl<S: Linearization> Bdf<S> {
    /// Starts at `(t0, u0)`. Nothing is evaluated until the first [`step`](Solver::step).
    ///
    /// # Errors
    /// [`IntegrationError::InvalidRequest`] for bad options or a state of the wrong length,
    /// [`IntegrationError::NonFinite`] for a non-finite initial state.
    pub fn new(
        system: S,
        t0: f64,
        u0: &[f64],
        opts: &SolverOptions,
    ) -> Result<Self, IntegrationError> {
        let n = check_start(opts, system.dim(), t0, u0)?;
        let mut d = vec![0.0; ROWS * n];
        d[..n].copy_from_slice(u0);
        let rtol = opts.rtol;
        Ok(Self {
            system,
            opts: *opts,
            stats: SolverStats::default(),
            co: Coefficients::new(),
            newton_tol: (10.0 * f64::EPSILON / rtol).max(0.03f64.min(rtol.sqrt())),
            clock: Clock::new(t0),
            d,
            order: 1,
            n_equal_steps: 0,
            h_abs: 0.0,
            lu: None,
            started: false,
            work: Work {
                f: vec![0.0; n],
                y_predict: vec![0.0; n],
                psi: vec![0.0; n],
                weight: vec![0.0; n],
                y_new: vec![0.0; n],
                dsum: vec![0.0; n],
                dy: vec![0.0; n],
            },
        })
    }

    /// The system.
    pub fn system(&self) -> &S {
        &self.system
    }

    /// The system, taken back.
    pub fn into_system(self) -> S {
        self.system
    }

    /// Order of the last accepted step (1..=5).
    pub fn order(&self) -> usize {
        self.order
    }

    fn n(&self) -> usize {
        self.work.f.len()
    }

    /// scipy's start: `F(u0)`, the first step size, `J(u0)` and `D_1 = h F(u0)`.
    fn start(&mut self, t_bound: f64) -> Result<(), IntegrationError> {
        let n = self.n();
        let (t0, h_max) = (self.clock.t(), self.opts.h_max.unwrap_or(f64::INFINITY));
        let u0 = self.d[..n].to_vec();
        let f = &mut self.work.f;
        self.system.rhs(&u0, f);
        self.stats.rhs_evals += 1;
        if let Some(i) = f.iter().position(|v| !v.is_finite()) {
            return Err(IntegrationError::NonFinite {
                t: t0,
                component: i,
                h: 0.0,
            });
        }
        self.h_abs = match self.opts.h_init {
            Some(h) => h.min(t_bound - t0),
            None => check_first_step(t0, self.select_initial_step(&u0, t_bound, h_max))?,
        };
        self.system.update_jacobian(&u0);
        self.stats.jacobian_evals += 1;
        let (d1, f) = (&mut self.d[n..2 * n], &self.work.f);
        for (di, fi) in d1.iter_mut().zip(f) {
            *di = fi * self.h_abs;
        }
        self.started = true;
        Ok(())
    }

    /// scipy's `select_initial_step` (Hairer, Nørsett & Wanner I, §II.4) for an error
    /// estimate of order 1: one extra right-hand side (`F(u0)` is in `work.f`).
    fn select_initial_step(&mut self, y0: &[f64], t_bound: f64, h_max: f64) -> f64 {
        let interval = t_bound - self.clock.t();
        let (rtol, atol) = (self.opts.rtol, self.opts.atol);
        let f0 = &self.work.f;
        let weight: Vec<f64> = y0.iter().map(|y| 1.0 / (atol + rtol * y.abs())).collect();
        let d0 = rms(y0, &weight);
        let d1 = rms(f0, &weight);
        let h0 = if d0 < 1e-5 || d1 < 1e-5 {
            1e-6
        } else {
            0.01 * d0 / d1
        }
        .min(interval);
        let y1: Vec<f64> = y0.iter().zip(f0).map(|(y, f)| y + h0 * f).collect();
        let work = &mut self.work.y_new;
        self.system.rhs(&y1, work);
        self.stats.rhs_evals += 1;
        for (w, f) in work.iter_mut().zip(&self.work.f) {
            *w -= f;
        }
        let d2 = rms(work, &weight) / h0;
        let h1 = if d1 <= 1e-15 && d2 <= 1e-15 {
            1e-6f64.max(h0 * 1e-3)
        } else {
            (0.01 / d1.max(d2)).sqrt()
        };
        let h = (100.0 * h0).min(h1).min(interval).min(h_max);
        if h.is_finite() && h > 0.0 { h } else { h0 }
    }

    /// scipy's `solve_bdf_system`: simplified Newton from `y_predict` with the Newton matrix
    /// of `c_w`. On success `y_new` holds the new state, `dsum = y_new − y_predict`, and the
    /// iteration count is returned.
    /// `restart`: start from `y_new = y_predict`, `dsum = 0` (otherwise from the iterate in
    /// `y_new` and its `dsum`, as the predictor pass leaves them). At most `max_iter`
    /// iterations. `floor`: corrections (weighted RMS) that the rate test rejects but that
    /// stay at or below it are taken as converged (0: never; see [`STAGNATION_FLOOR`]).
    fn newton(
        &mut self,
        c: f64,
        c_w: f64,
        restart: bool,
        max_iter: usize,
        floor: f64,
    ) -> Result<usize, NewtonFailure> {
        let w = &mut self.work;
        if restart {
            w.y_new.copy_from_slice(&w.y_predict);
            w.dsum.fill(0.0);
        }
        let mut dy_norm_old: Option<f64> = None;
        let mut smallest = f64::INFINITY;
        let (cf, cd) = (c / c_w, 1.0 / c_w);
        for k in 0..max_iter {
            // (I − c_W J)⁻¹ (c F − ψ − d) = W⁻¹ ((c/c_W) F − (ψ + d)/c_W), y += Δ, d += Δ
            // and ‖Δ‖ (on failure y and d are discarded).
            let correction = self.system.newton_correction(NewtonCorrection {
                y: &mut w.y_new,
                d: &mut w.dsum,
                psi: &w.psi,
                weight: &w.weight,
                alpha: cf,
                beta: cd,
                f: &mut w.f,
                dy: &mut w.dy,
            });
            self.stats.rhs_evals += 1;
            self.stats.linear_solves += 1;
            let dy_norm = match correction {
                Ok(sum) => (sum / w.dy.len().max(1) as f64).sqrt(),
                Err(i) => return Err(NewtonFailure::NonFinite(i)),
            };
            smallest = smallest.min(dy_norm);
            let rate = dy_norm_old.map(|old| dy_norm / old);
            let diverging = rate.is_some_and(|rate| {
                rate >= 1.0
                    || rate.powi((NEWTON_MAXITER - k) as i32) / (1.0 - rate) * dy_norm
                        > self.newton_tol
            });
            if diverging {
                // At the rounding floor of the residual: the last two corrections both at
                // or below `floor`.
                if dy_norm <= floor && dy_norm_old.is_some_and(|old| old <= floor) {
                    return Ok(k + 1);
                }
                return Err(NewtonFailure::Slow(smallest));
            }
            if dy_norm == 0.0
                || rate.is_some_and(|rate| rate / (1.0 - rate) * dy_norm < self.newton_tol)
            {
                return Ok(k + 1);
            }
            dy_norm_old = Some(dy_norm);
        }
        Err(NewtonFailure::Slow(smallest))
    }

    /// `D ← (R(factor) R(1))ᵀ D` for the current order.
    fn rescale(&mut self, factor: f64) {
        let n = self.n();
        change_d(&mut self.d, n, self.order, factor);
    }

    /// The order-selection and step-size update after an accepted step: `D_{k+2} = d −
    /// D_{k+1}`, `D_{k+1} = d`, `D_i += D_{i+1}` for `i = k..0`, and, after `k + 1` equal
    /// steps, the order with the largest step factor (scipy's acceptance block).
    fn accept(&mut self, safety: f64, error_norm: f64) {
        let n = self.n();
        let order = self.order;
        let select = self.n_equal_steps > order;
        let weight = select.then_some(&self.work.weight[..]);
        let (sum_m, sum_p) = accept_update(&mut self.d, n, order, &self.work.dsum, weight);
        if !select {
            return;
        }
        let rms_of = |sum: f64| (sum / n as f64).sqrt();
        let error_m_norm = if order > 1 {
            self.co.error_const[order - 1] * rms_of(sum_m)
        } else {
            f64::INFINITY
        };
        let error_p_norm = if order < MAX_ORDER {
            self.co.error_const[order + 1] * rms_of(sum_p)
        } else {
            f64::INFINITY
        };
        let norms = [error_m_norm, error_norm, error_p_norm];
        let mut best = 0;
        let mut factors = [0.0; 3];
        for (q, e) in norms.iter().enumerate() {
            factors[q] = e.powf(-1.0 / (order + q) as f64);
            if factors[q] > factors[best] {
                best = q;
            }
        }
        self.order = order + best - 1;
        let factor = MAX_FACTOR.min(safety * factors[best]);
        self.h_abs *= factor;
        self.rescale(factor);
        self.n_equal_steps = 0;
        self.lu = None;
    }
}

impl<S: Linearization> Solver for Bdf<S> {
    fn dim(&self) -> usize {
        self.n()
    }
    fn state(&self) -> &[f64] {
        &self.d[..self.n()]
    }
    fn stats(&self) -> SolverStats {
        self.stats
    }
    fn clock(&self) -> &Clock {
        &self.clock
    }
    fn set_stop_time(&mut self, t_stop: f64) -> Result<(), IntegrationError> {
        self.clock.set_stop(t_stop)
    }

    #[allow(clippy::too_many_lines)]
    fn step(&mut self) -> Result<f64, IntegrationError> {
        let t_bound = self.clock.horizon();
        let t = self.clock.t();
        if t >= t_bound {
            return Err(at_stop_time(t));
        }
        let n = self.n();
        if n == 0 {
            // Nothing evolves: the only step goes to the stop time.
            return match self.clock.stop() {
                Some(stop) => {
                    self.clock.advance(stop);
                    self.stats.steps += 1;
                    Ok(stop)
                }
                None => Err(IntegrationError::InvalidRequest(
                    "a system of dimension 0 needs a stop time".into(),
                )),
            };
        }
        if !self.started {
            self.start(t_bound)?;
        }
        if self.stats.steps >= self.opts.max_steps {
            return Err(IntegrationError::MaxSteps {
                t,
                max_steps: self.opts.max_steps,
            });
        }
        let (rtol, atol) = (self.opts.rtol, self.opts.atol);
        let h_max = self.opts.h_max.unwrap_or(f64::INFINITY);
        let min_step = 10.0 * (next_up(t) - t).abs();
        let mut h = if self.h_abs > h_max {
            self.rescale(h_max / self.h_abs);
            self.n_equal_steps = 0;
            h_max
        } else if self.h_abs < min_step {
            self.rescale(min_step / self.h_abs);
            self.n_equal_steps = 0;
            min_step
        } else {
            self.h_abs
        };

        let mut current_jac = false;
        let mut rejections = 0usize;
        let mut last_non_finite: Option<usize> = None;
        let mut last = LastRejection::None;
        let (t_new, safety, error_norm) = loop {
            if h < min_step || rejections > self.opts.max_rejections {
                return Err(match last_non_finite {
                    Some(component) => IntegrationError::NonFinite { t, component, h },
                    None => IntegrationError::StepSizeCollapse {
                        t,
                        h,
                        h_min: min_step,
                        rejections,
                        last,
                    },
                });
            }
            let mut t_new = t + h;
            if t_new - t_bound > 0.0 {
                t_new = t_bound;
                self.rescale((t_new - t) / h);
                self.n_equal_steps = 0;
                self.lu = None;
            }
            h = t_new - t;

            // Predictor y⁰ = Σ_{j≤k} D_j, ψ = Σ_{j≥1} γ_j D_j / α_k, and the error weights
            // of y⁰ (row-wise passes).
            let order = self.order;
            let alpha = self.co.alpha[order];
            let g = std::array::from_fn(|j| self.co.gamma[j] / alpha);
            let w = &mut self.work;
            predict(
                &self.d,
                n,
                order,
                &g,
                (atol, rtol),
                &mut w.y_predict,
                &mut w.psi,
                &mut w.weight,
                &mut w.y_new,
                &mut w.dsum,
            );
            let (mut restart, mut relinearized) = (false, false);
            let c = h / alpha;
            // The smallest Newton correction of this attempt, over its iterations.
            let mut smallest = f64::INFINITY;

            let outcome = loop {
                let c_w = match self.lu {
                    Some(c_w) => c_w,
                    None => {
                        let shift = 1.0 / c;
                        self.system.factor(shift).map_err(|reason| {
                            IntegrationError::SingularMatrix { t, shift, reason }
                        })?;
                        self.stats.factorizations += 1;
                        self.lu = Some(c);
                        c
                    }
                };
                let floor = if relinearized { STAGNATION_FLOOR } else { 0.0 };
                let result = self.newton(c, c_w, restart, NEWTON_MAXITER, floor);
                restart = true;
                if let Err(NewtonFailure::Slow(reached)) = result {
                    smallest = smallest.min(reached);
                }
                match result {
                    Ok(iters) => break Ok(iters),
                    // A stale J: evaluate it at the predictor and start again (scipy).
                    Err(_) if !current_jac => {
                        self.system.update_jacobian(&self.work.y_predict);
                        self.stats.jacobian_evals += 1;
                        self.lu = None;
                        current_jac = true;
                    }
                    // Slow with a current J: one correction from the predictor, J at that
                    // iterate, and the iteration goes on from there (once per attempt).
                    Err(NewtonFailure::Slow(_)) if !relinearized => {
                        relinearized = true;
                        match self.newton(c, c_w, true, 1, 0.0) {
                            Ok(_) | Err(NewtonFailure::Slow(_)) => {}
                            Err(failure) => break Err(failure),
                        }
                        self.system.update_jacobian(&self.work.y_new);
                        self.stats.jacobian_evals += 1;
                        self.lu = None;
                        restart = false;
                    }
                    Err(failure) => break Err(failure),
                }
            };
            // A step out of the system's domain is a failed step (smaller h); components
            // outside since the step's start are moved back, d with them.
            let outcome = outcome.and_then(|iters| {
                let (w, start) = (&mut self.work, &self.d[..n]);
                let dsum = &mut w.dsum;
                let mut moved = |i: usize, delta: f64| dsum[i] += delta;
                match self.system.enforce_domain(start, &mut w.y_new, &mut moved) {
                    Some(_) => Err(NewtonFailure::OutsideDomain),
                    None => Ok(iters),
                }
            });
            let n_iter = match outcome {
                Ok(iters) => iters,
                Err(failure) => {
                    let (cause, seen) = match failure {
                        NewtonFailure::NonFinite(i) => {
                            last_non_finite = Some(i);
                            (Rejection::NonFinite, LastRejection::None)
                        }
                        NewtonFailure::Slow(_) => (
                            Rejection::Convergence,
                            LastRejection::Newton {
                                smallest_correction: smallest,
                                tolerance: self.newton_tol,
                            },
                        ),
                        NewtonFailure::OutsideDomain => (Rejection::Domain, LastRejection::Domain),
                    };
                    self.stats.reject(cause);
                    last = seen;
                    h *= 0.5;
                    self.rescale(0.5);
                    self.n_equal_steps = 0;
                    self.lu = None;
                    rejections += 1;
                    continue;
                }
            };

            let safety =
                0.9 * (2 * NEWTON_MAXITER + 1) as f64 / (2 * NEWTON_MAXITER + n_iter) as f64;
            // Weights of the new state and ‖C_k d‖ (one pass).
            let w = &mut self.work;
            let sum_sq = weights_and_sum_sq(&w.y_new, (atol, rtol), &mut w.weight, &w.dsum);
            let error_norm = self.co.error_const[order] * (sum_sq / n as f64).sqrt();
            if error_norm > 1.0 || !error_norm.is_finite() {
                let factor = if error_norm.is_finite() {
                    MIN_FACTOR.max(safety * error_norm.powf(-1.0 / (order as f64 + 1.0)))
                } else {
                    MIN_FACTOR
                };
                h *= factor;
                self.rescale(factor);
                self.n_equal_steps = 0;
                // Newton converged: the factorization stays (scipy does not reset it).
                rejections += 1;
                last = LastRejection::ErrorTest { error_norm };
                self.stats.reject(if error_norm.is_finite() {
                    Rejection::ErrorTest
                } else {
                    Rejection::NonFinite
                });
                continue;
            }
            break (t_new, safety, error_norm);
        };

        self.stats.steps += 1;
        self.n_equal_steps += 1;
        self.clock.advance(t_new);
        self.h_abs = h;
        self.accept(safety, error_norm);
        Ok(t_new)
    }

    fn interpolate(&self, t: f64, out: &mut [f64]) -> Result<(), IntegrationError> {
        check_in_step(self.clock.t_previous(), self.clock.t(), t)?;
        if self.stats.steps == 0 {
            out.copy_from_slice(self.state());
            return Ok(());
        }
        dense_output(
            &self.d,
            self.n(),
            self.order,
            self.clock.t(),
            self.h_abs,
            t,
            out,
        );
        // The polynomial can pass a boundary between its nodes, by rounding or by a little
        // more: the output is moved back by itself (an empty start).
        let left = self.system.enforce_domain(&[], out, &mut |_, _| {});
        debug_assert!(
            left.is_none(),
            "an output cannot leave the domain from itself"
        );
        Ok(())
    }
}
