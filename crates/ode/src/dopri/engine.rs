//! The step loop shared by the pairs ([`Explicit`]) and its starting step.

use super::control::{Controller, StiffnessTest, Verdict, lipschitz_estimate};
use super::{Pair, States, Tolerance, first_non_finite};
use crate::solver::{
    at_stop_time, check_first_step, check_in_step, check_start, initial_step_guess,
};
use crate::{
    Clock, IntegrationError, LastRejection, OdeSystem, Rejection, Solver, SolverOptions,
    SolverStats,
};

/// Step reduction after a non-finite stage or state.
const NON_FINITE_SHRINK: f64 = 0.25;

/// `√(1/n Σ_i (v_i / sc_i)²)` with `sc_i = atol + rtol·|u_i|`: the norm of the starting-step
/// heuristic.
fn rms_norm(tol: Tolerance, u: &[f64], v: &[f64]) -> f64 {
    let sum: f64 = u
        .iter()
        .zip(v)
        .map(|(ui, vi)| (vi / (tol.atol + tol.rtol * ui.abs())).powi(2))
        .sum();
    (sum / u.len().max(1) as f64).sqrt()
}

/// The starting step of §II.4 (`HINIT` in Hairer's codes), for an error estimate of order
/// `q` ([`Pair::HINIT_ORDER`]), from `(st.u, st.f = F(u))`, never above `h_cap`:
///
/// ```text
///   h₀ = 0.01 ‖u‖ / ‖F(u)‖   (1e-6 when either norm is below 1e-5),
///   d₂ = ‖F(u + h₀ F(u)) − F(u)‖ / h₀   (≈ ‖u''‖, one explicit Euler step),
///   h₁ = (0.01 / max(‖F(u)‖, d₂))^{1/q}   (max(1e-6, 1e-3 h₀) when that max is ≤ 1e-15),
///   h  = min(100 h₀, h₁, h_cap),
/// ```
///
/// in the weighted RMS norm [`rms_norm`]. One right-hand side (`st.u_new`, `st.f_new` serve as
/// scratch); `h₀` is kept when `F` is not finite at the Euler step.
fn initial_step<S: OdeSystem>(
    system: &S,
    st: &mut States,
    tol: Tolerance,
    q: i32,
    h_cap: f64,
    rhs_evals: &mut usize,
) -> f64 {
    let h0 = initial_step_guess(&st.u, &st.f, tol.rtol, tol.atol).min(h_cap);
    for ((y, &u), &f) in st.u_new.iter_mut().zip(&st.u).zip(&st.f) {
        *y = u + h0 * f;
    }
    system.rhs(&st.u_new, &mut st.f_new);
    *rhs_evals += 1;
    for (f1, &f0) in st.f_new.iter_mut().zip(&st.f) {
        *f1 -= f0;
    }
    let d2 = rms_norm(tol, &st.u, &st.f_new) / h0;
    if !d2.is_finite() {
        return h0;
    }
    let d = rms_norm(tol, &st.u, &st.f).max(d2);
    let h1 = if d <= 1e-15 {
        (1e-3 * h0).max(1e-6)
    } else {
        (0.01 / d).powf(1.0 / f64::from(q))
    };
    (100.0 * h0).min(h1).min(h_cap)
}

/// The step loop shared by the pairs: state, stop time, controller, stiffness test and
/// counters around the pair `P`'s stages.
pub(crate) struct Explicit<S, P> {
    /// The system (the public solvers lend it and give it back).
    pub(super) system: S,
    pair: P,
    st: States,
    clock: Clock,
    /// Size of the last accepted step (0 before the first).
    h_last: f64,
    /// Step size to try next; `None` before the first step.
    h_next: Option<f64>,
    opts: SolverOptions,
    controller: Controller,
    stiffness: StiffnessTest,
    stats: SolverStats,
}

impl<S: OdeSystem, P: Pair> Explicit<S, P> {
    /// Starts at `(t0, u0)` after checking the options and the start.
    pub(super) fn new(
        system: S,
        t0: f64,
        u0: &[f64],
        opts: &SolverOptions,
    ) -> Result<Self, IntegrationError> {
        let n = check_start(opts, system.dim(), t0, u0)?;
        Ok(Self {
            system,
            pair: P::with_dim(n),
            st: States {
                u: u0.to_vec(),
                f: vec![0.0; n],
                u_old: u0.to_vec(),
                f_old: vec![0.0; n],
                u_new: vec![0.0; n],
                f_new: vec![0.0; n],
            },
            clock: Clock::new(t0),
            h_last: 0.0,
            h_next: None,
            opts: *opts,
            controller: P::controller(),
            stiffness: StiffnessTest::new(P::STIFFNESS_BOUND),
            stats: SolverStats::default(),
        })
    }

    fn tolerance(&self) -> Tolerance {
        Tolerance {
            rtol: self.opts.rtol,
            atol: self.opts.atol,
        }
    }

    /// First call: `F(u0)` and the first step size (`opts.h_init`, else [`initial_step`]
    /// with the horizon `min(h_max, t_stop − t)`).
    fn start(&mut self) -> Result<f64, IntegrationError> {
        self.system.rhs(&self.st.u, &mut self.st.f);
        self.stats.rhs_evals += 1;
        if let Some(component) = first_non_finite(&self.st.f) {
            return Err(IntegrationError::NonFinite {
                t: self.clock.t(),
                component,
                h: 0.0,
            });
        }
        if let Some(h) = self.opts.h_init {
            return Ok(h);
        }
        let horizon = self.clock.horizon() - self.clock.t();
        let h_cap = self.opts.h_max.unwrap_or(f64::INFINITY).min(horizon);
        let tol = self.tolerance();
        let h = initial_step(
            &self.system,
            &mut self.st,
            tol,
            P::HINIT_ORDER,
            h_cap,
            &mut self.stats.rhs_evals,
        );
        check_first_step(self.clock.t(), h)
    }

    /// Counts a rejected attempt.
    fn reject(&mut self, rejections: &mut usize, cause: Rejection) {
        *rejections += 1;
        self.stats.reject(cause);
        self.controller.rejected();
    }

    /// One accepted step ([`Solver::step`]).
    fn advance(&mut self) -> Result<f64, IntegrationError> {
        let t = self.clock.t();
        if self.clock.stop() == Some(t) {
            return Err(at_stop_time(t));
        }
        if self.stats.steps >= self.opts.max_steps {
            return Err(IntegrationError::MaxSteps {
                t,
                max_steps: self.opts.max_steps,
            });
        }
        let mut h = match self.h_next {
            Some(h) => h,
            None => self.start()?,
        };
        let h_max = self.opts.h_max.unwrap_or(f64::INFINITY);
        let tol = self.tolerance();
        let mut rejections = 0usize;
        // The component that made the last rejection non-finite, if it was one.
        let mut non_finite: Option<usize> = None;
        let mut last = LastRejection::None;
        loop {
            h = h.min(h_max);
            let h_min = 16.0 * f64::EPSILON * t.abs();
            if h.is_nan() || h <= h_min || rejections > self.opts.max_rejections {
                return Err(match non_finite {
                    Some(component) => IntegrationError::NonFinite { t, component, h },
                    None => IntegrationError::StepSizeCollapse {
                        t,
                        h,
                        h_min,
                        rejections,
                        last,
                    },
                });
            }
            // Hairer's rule: a step that would end past, or within 1% of a step before, the
            // stop time ends exactly on it.
            let landing = self.clock.stop().filter(|&ts| t + 1.01 * h > ts);
            let h_step = landing.map_or(h, |ts| ts - t);
            let attempt = self.pair.attempt(
                &self.system,
                h_step,
                &mut self.st,
                tol,
                &mut self.stats.rhs_evals,
            );
            let err = match attempt {
                // An overflowing norm of finite values counts as a very large error.
                Ok(err) => err.min(f64::MAX),
                Err(component) => {
                    self.reject(&mut rejections, Rejection::NonFinite);
                    non_finite = Some(component);
                    h = NON_FINITE_SHRINK * h_step;
                    continue;
                }
            };
            let h_next = match self.controller.judge(err, h_step) {
                Verdict::Accept { h_next } => h_next,
                Verdict::Reject { h_retry } => {
                    self.reject(&mut rejections, Rejection::ErrorTest);
                    last = LastRejection::ErrorTest { error_norm: err };
                    non_finite = None;
                    h = h_retry;
                    continue;
                }
            };
            let completed =
                self.pair
                    .complete(&self.system, &mut self.st, &mut self.stats.rhs_evals);
            if let Err(component) = completed {
                self.reject(&mut rejections, Rejection::NonFinite);
                non_finite = Some(component);
                h = NON_FINITE_SHRINK * h_step;
                continue;
            }
            if self.stiffness.due(self.stats.steps + 1) {
                let (k_s, y_s) = self.pair.stiffness_stage();
                let rho = lipschitz_estimate(&self.st.f_new, k_s, &self.st.u_new, y_s);
                if self.stiffness.record(h_step * rho) {
                    return Err(IntegrationError::Stiff {
                        t,
                        steps: self.stats.steps,
                    });
                }
            }
            self.controller.accepted(err);
            self.pair.accept(h_step, &self.st);
            self.st.rotate();
            self.clock.advance(landing.unwrap_or(t + h_step));
            self.h_last = h_step;
            self.stats.steps += 1;
            // A step shortened to land on the stop time says nothing against the longer one.
            self.h_next = Some(if landing.is_some() {
                h_next.max(h)
            } else {
                h_next
            });
            return Ok(self.clock.t());
        }
    }
}

impl<S: OdeSystem, P: Pair> Solver for Explicit<S, P> {
    fn dim(&self) -> usize {
        self.st.u.len()
    }
    fn clock(&self) -> &Clock {
        &self.clock
    }
    fn state(&self) -> &[f64] {
        &self.st.u
    }
    fn stats(&self) -> SolverStats {
        let mut stats = self.stats;
        stats.rhs_evals += self.pair.dense_rhs_evals();
        stats
    }
    fn set_stop_time(&mut self, t_stop: f64) -> Result<(), IntegrationError> {
        self.clock.set_stop(t_stop)
    }
    fn step(&mut self) -> Result<f64, IntegrationError> {
        self.advance()
    }
    /// The ends of the step give the stored states exactly; inside, the pair's continuous
    /// extension.
    fn interpolate(&self, t: f64, out: &mut [f64]) -> Result<(), IntegrationError> {
        let (t_old, t_now) = (self.clock.t_previous(), self.clock.t());
        check_in_step(t_old, t_now, t)?;
        if out.len() != self.st.u.len() {
            return Err(IntegrationError::InvalidRequest(format!(
                "dense output into {} components, the system has {}",
                out.len(),
                self.st.u.len()
            )));
        }
        if t >= t_now {
            out.copy_from_slice(&self.st.u);
        } else if t <= t_old {
            out.copy_from_slice(&self.st.u_old);
        } else {
            let theta = (t - t_old) / self.h_last;
            self.pair
                .interpolate(&self.system, &self.st, self.h_last, theta, out);
            if let Some(component) = first_non_finite(out) {
                return Err(IntegrationError::NonFinite {
                    t,
                    component,
                    h: self.h_last,
                });
            }
        }
        Ok(())
    }
}
