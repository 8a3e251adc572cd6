//! The one integrator interface: a solver is a value with explicit state that advances one
//! accepted step at a time.
//!
//! A [`Solver`] owns its system, knows its time `t`, its state `u(t)`, the start of its last
//! step and its work counters, and offers the dense output of its last step
//! ([`Solver::interpolate`]). It never steps past its stop time
//! ([`Solver::set_stop_time`]): the step that would cross it ends exactly there. It knows
//! nothing of output times, events, progress or interruption: the driver
//! ([`integrate`](crate::integrate)) owns the loop, as SUNDIALS' `CVode(…, CV_ONE_STEP)`
//! callers and diffsol's `step()` callers do.
//!
//! ```
//! use timescales_ode::{Dopri5, OdeSystem, Solver, SolverOptions};
//!
//! /// u' = −u, u(0) = 1: u = e^{−t}.
//! struct Decay;
//! impl OdeSystem for Decay {
//!     fn dim(&self) -> usize { 1 }
//!     fn rhs(&self, u: &[f64], du: &mut [f64]) { du[0] = -u[0]; }
//! }
//! # fn main() -> Result<(), timescales_ode::IntegrationError> {
//! let opts = SolverOptions { rtol: 1e-9, atol: 1e-12, ..SolverOptions::default() };
//! let mut solver = Dopri5::new(Decay, 0.0, &[1.0], &opts)?;
//! solver.set_stop_time(1.0)?;
//! while solver.t() < 1.0 {
//!     solver.step()?;
//! }
//! assert!((solver.state()[0] - (-1f64).exp()).abs() < 1e-8);
//! assert!(solver.stats().steps > 0);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::IntegrationError;

/// Options shared by every integrator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SolverOptions {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// First step (chosen automatically when `None`).
    pub h_init: Option<f64>,
    /// Largest step (unbounded when `None`).
    pub h_max: Option<f64>,
    /// Most accepted steps over the solver's life.
    pub max_steps: usize,
    /// Most consecutive rejections (error too large, non-finite stage, or Newton failure)
    /// before declaring a step-size collapse.
    pub max_rejections: usize,
}

impl Default for SolverOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-9,
            h_init: None,
            h_max: None,
            max_steps: 5_000_000,
            max_rejections: 60,
        }
    }
}

impl SolverOptions {
    /// Checks the tolerances and step bounds.
    ///
    /// # Errors
    /// [`IntegrationError::InvalidRequest`] naming the option: a non-positive or non-finite
    /// tolerance, `h_init` or `h_max`.
    pub fn validate(&self) -> Result<(), IntegrationError> {
        for (name, v) in [("rtol", self.rtol), ("atol", self.atol)] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(IntegrationError::InvalidRequest(format!(
                    "{name} must be positive and finite, got {v}"
                )));
            }
        }
        for (name, v) in [("h_init", self.h_init), ("h_max", self.h_max)] {
            if let Some(h) = v
                && !(h > 0.0 && h.is_finite())
            {
                return Err(IntegrationError::InvalidRequest(format!(
                    "{name} must be positive and finite, got {h}"
                )));
            }
        }
        Ok(())
    }
}

/// Work counters of a solver, readable at any moment (and after a failure or an
/// interruption), with the wall time its driver spent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SolverStats {
    /// Accepted steps.
    pub steps: usize,
    /// Rejected step attempts, all causes: the sum of the four counts below.
    pub rejected_steps: usize,
    /// Attempts rejected by the error test (finite local error estimate above tolerance;
    /// CVODE's `netf`).
    #[serde(default)]
    pub error_test_failures: usize,
    /// Attempts whose Newton iteration did not converge, with a Jacobian evaluated during
    /// the step and once more at the first iterate (BDF; CVODE's `ncfn`).
    #[serde(default)]
    pub convergence_failures: usize,
    /// Attempts with a non-finite stage, iterate or error norm.
    #[serde(default)]
    pub non_finite_failures: usize,
    /// Attempts that carried a component out of the system's domain
    /// ([`Linearization::enforce_domain`](crate::Linearization::enforce_domain)).
    #[serde(default)]
    pub domain_failures: usize,
    /// Right-hand-side evaluations.
    pub rhs_evals: usize,
    /// Jacobian evaluations.
    pub jacobian_evals: usize,
    /// Factorizations of the Newton matrix.
    pub factorizations: usize,
    /// Linear solves with the Newton matrix.
    pub linear_solves: usize,
    /// Wall time of the driver's loop, seconds (0 for a solver stepped by hand).
    pub wall_seconds: f64,
}

/// Why a step attempt was rejected (one of [`SolverStats`]' counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The local error estimate exceeded the tolerance.
    ErrorTest,
    /// The Newton iteration did not converge.
    Convergence,
    /// A stage, iterate or error norm was not finite.
    NonFinite,
    /// The step left the system's domain.
    Domain,
}

/// The counts in a line: `1332 steps (74 rejected: 74 error test, 0 Newton, 0 non-finite,
/// 0 domain), 4539 RHS, 451 Jacobians, 4537 solves` (no wall time).
impl std::fmt::Display for SolverStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} steps ({} rejected: {} error test, {} Newton, {} non-finite, {} domain), \
             {} RHS, {} Jacobians, {} solves",
            self.steps,
            self.rejected_steps,
            self.error_test_failures,
            self.convergence_failures,
            self.non_finite_failures,
            self.domain_failures,
            self.rhs_evals,
            self.jacobian_evals,
            self.linear_solves
        )
    }
}

impl SolverStats {
    /// Counts one rejected attempt under its cause (and in `rejected_steps`).
    ///
    /// ```
    /// use timescales_ode::{Rejection, SolverStats};
    /// let mut s = SolverStats::default();
    /// s.reject(Rejection::ErrorTest);
    /// s.reject(Rejection::Convergence);
    /// assert_eq!((s.rejected_steps, s.error_test_failures, s.convergence_failures), (2, 1, 1));
    /// assert!(s.to_string().starts_with("0 steps (2 rejected: 1 error test, 1 Newton, "));
    /// ```
    pub fn reject(&mut self, cause: Rejection) {
        self.rejected_steps += 1;
        *match cause {
            Rejection::ErrorTest => &mut self.error_test_failures,
            Rejection::Convergence => &mut self.convergence_failures,
            Rejection::NonFinite => &mut self.non_finite_failures,
            Rejection::Domain => &mut self.domain_failures,
        } += 1;
    }
}

/// How a driver serves output times that fall inside a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Step freely and read outputs from the dense output (BDF, the explicit pairs; what
    /// scipy's `solve_ivp(t_eval=…)` does).
    Interpolate,
    /// Shorten steps to land on every output time (RODAS4, whose dense output is an order
    /// below its steps); the dense output still serves events.
    LandOnOutputs,
}

/// A solver's time: where it is, where its last accepted step started, and where it must
/// stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    t: f64,
    t_previous: f64,
    stop: Option<f64>,
}

impl Clock {
    /// At `t0`, no step taken, no stop time.
    pub fn new(t0: f64) -> Self {
        Self {
            t: t0,
            t_previous: t0,
            stop: None,
        }
    }
    /// The time reached.
    pub fn t(&self) -> f64 {
        self.t
    }
    /// Where the last accepted step started.
    pub fn t_previous(&self) -> f64 {
        self.t_previous
    }
    /// The stop time, if one is set.
    pub fn stop(&self) -> Option<f64> {
        self.stop
    }
    /// The stop time, `+∞` when none is set.
    pub fn horizon(&self) -> f64 {
        self.stop.unwrap_or(f64::INFINITY)
    }
    /// Sets the stop time.
    ///
    /// # Errors
    /// [`IntegrationError::InvalidRequest`] when `t_stop` is not finite or before `t`.
    pub fn set_stop(&mut self, t_stop: f64) -> Result<(), IntegrationError> {
        if !t_stop.is_finite() || t_stop < self.t {
            return Err(IntegrationError::InvalidRequest(format!(
                "stop time must be finite and ≥ t = {}, got {t_stop}",
                self.t
            )));
        }
        self.stop = Some(t_stop);
        Ok(())
    }
    /// Records an accepted step that ends at `t_new`.
    pub fn advance(&mut self, t_new: f64) {
        self.t_previous = self.t;
        self.t = t_new;
    }
}

/// A one-step integrator of `u' = F(u)` with explicit state (module documentation).
///
/// Invariants every implementation keeps: `t()` only increases, by accepted steps;
/// `state()` is `u(t())`; after a step, [`interpolate`](Self::interpolate) is valid on
/// `[t_previous(), t()]` and gives `state()` at `t()` and the previous state at
/// `t_previous()`; a step never ends past the stop time.
pub trait Solver {
    /// Dimension of `u`.
    fn dim(&self) -> usize;
    /// The solver's time.
    fn clock(&self) -> &Clock;
    /// Time reached: the end of the last accepted step (the initial time before any).
    fn t(&self) -> f64 {
        self.clock().t()
    }
    /// The state at [`t`](Self::t).
    fn state(&self) -> &[f64];
    /// Start of the last accepted step (equal to [`t`](Self::t) before the first step).
    fn t_previous(&self) -> f64 {
        self.clock().t_previous()
    }
    /// Work counters so far.
    fn stats(&self) -> SolverStats;
    /// The stop time, if one is set.
    fn stop_time(&self) -> Option<f64> {
        self.clock().stop()
    }
    /// Never step past `t_stop`: the step that would cross it ends exactly on it.
    ///
    /// # Errors
    /// [`IntegrationError::InvalidRequest`] when `t_stop` is not finite or lies before
    /// [`t`](Self::t).
    fn set_stop_time(&mut self, t_stop: f64) -> Result<(), IntegrationError>;
    /// Advances one accepted step (retrying rejected attempts inside) and returns the new
    /// time.
    ///
    /// # Errors
    /// [`IntegrationError`] with the time reached: step-size collapse, a non-finite state,
    /// the step limit, a singular Newton matrix, or a request to step at the stop time.
    fn step(&mut self) -> Result<f64, IntegrationError>;
    /// The dense output of the last step at `t ∈ [t_previous(), t()]` into `out`.
    ///
    /// # Errors
    /// [`IntegrationError::InvalidRequest`] outside that interval (up to rounding).
    fn interpolate(&self, t: f64, out: &mut [f64]) -> Result<(), IntegrationError>;
    /// How the driver should serve output times (default: interpolate).
    fn output_mode(&self) -> OutputMode {
        OutputMode::Interpolate
    }
}

/// Checks a solver's start: the options, the initial state's length and finiteness, and a
/// finite initial time. Returns the dimension.
pub(crate) fn check_start(
    opts: &SolverOptions,
    dim: usize,
    t0: f64,
    u0: &[f64],
) -> Result<usize, IntegrationError> {
    opts.validate()?;
    if dim == 0 {
        return Err(IntegrationError::InvalidRequest(
            "the system has no variable (dimension 0): nothing to integrate".into(),
        ));
    }
    if u0.len() != dim {
        return Err(IntegrationError::InvalidRequest(format!(
            "initial state has {} components, the system has {dim}",
            u0.len()
        )));
    }
    if !t0.is_finite() {
        return Err(IntegrationError::InvalidRequest(format!(
            "t0 must be finite, got {t0}"
        )));
    }
    if let Some(i) = u0.iter().position(|v| !v.is_finite()) {
        return Err(IntegrationError::NonFinite {
            t: t0,
            component: i,
            h: 0.0,
        });
    }
    Ok(dim)
}

/// The first step size `h` at `t0`, or [`IntegrationError::FirstStep`] when it is zero,
/// negative or not finite (the step-size guess underflowed).
pub(crate) fn check_first_step(t0: f64, h: f64) -> Result<f64, IntegrationError> {
    if h > 0.0 && h.is_finite() {
        Ok(h)
    } else {
        Err(IntegrationError::FirstStep { t: t0, h })
    }
}

/// Checks that `t` lies in the last step `[t0, t1]` (up to rounding of the ends).
pub(crate) fn check_in_step(t0: f64, t1: f64, t: f64) -> Result<(), IntegrationError> {
    let slack = 1e-12 * t0.abs().max(t1.abs()).max((t1 - t0).abs());
    if !(t >= t0 - slack && t <= t1 + slack) {
        return Err(IntegrationError::InvalidRequest(format!(
            "dense output asked at t = {t}, outside the last step [{t0}, {t1}]"
        )));
    }
    Ok(())
}

/// The error at the stop time: no further step is possible.
pub(crate) fn at_stop_time(t: f64) -> IntegrationError {
    IntegrationError::InvalidRequest(format!("the solver is at its stop time t = {t}"))
}

/// Hairer's first guess `h = 0.01 ‖u‖ / ‖F(u)‖` in the weighted RMS norm (`1e-6` when
/// either norm is below `1e-5`).
///
/// The norms are accumulated relative to their largest term, so that a finite but huge
/// `F(u)` (a tiny `ε` in `ε y' = f`) gives a tiny positive step rather than `‖F‖ = ∞` and
/// `h = 0`.
pub(crate) fn initial_step_guess(u: &[f64], f: &[f64], rtol: f64, atol: f64) -> f64 {
    let n = u.len().max(1) as f64;
    let weighted = |v: &[f64]| -> f64 {
        let scaled = u
            .iter()
            .zip(v)
            .map(|(&ui, &vi)| vi / (atol + rtol * ui.abs()));
        let plain = (scaled.clone().map(|x| x * x).sum::<f64>() / n).sqrt();
        if plain.is_finite() {
            return plain;
        }
        // The squares overflowed: the same norm relative to the largest term.
        let big = scaled.clone().fold(0.0f64, |m, x| m.max(x.abs()));
        if !big.is_finite() {
            return big;
        }
        big * (scaled.map(|x| (x / big).powi(2)).sum::<f64>() / n).sqrt()
    };
    let (d0, d1) = (weighted(u), weighted(f));
    if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    }
}
