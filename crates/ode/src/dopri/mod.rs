//! The explicit Dormand–Prince pairs as step-based [`Solver`](crate::Solver)s: [`Dopri5`] (order 5,
//! embedded order 4, dense output of order 4) and [`Dop853`] (order 8, error estimators of
//! orders 5 and 3, dense output of order 7).
//!
//! Both follow E. Hairer, S. P. Nørsett & G. Wanner, *Solving Ordinary Differential
//! Equations I* (2nd ed., Springer 1993), §II.4–II.6 and §II.10, as in Hairer's codes
//! `dopri5.f` and `dop853.f`. A step from `u` with step `h` computes the stages
//!
//! ```text
//!   k_1 = F(u),    k_i = F(u + h Σ_{j<i} a_ij k_j),    u_new = u + h Σ_i b_i k_i,
//! ```
//!
//! and an error estimate `err` in the weighted RMS norm with scales
//! `sc_i = atol + rtol·max(|u_i|, |u_new_i|)`; the step is accepted when `err ≤ 1`. What the
//! two pairs share: here, the stage evaluation ([`Stages`]), the error norm
//! ([`scaled_sum_squares`]) and Hairer's continuous extension ([`continuous_extension`]);
//! in `control.rs`, the PI step-size controller and the stiffness test; in `engine.rs`, the
//! step loop ([`Explicit`]) with the starting step. What each pair owns (the coefficient
//! tables, the error estimate, the dense-output coefficients) is in `dopri5.rs` and
//! `dop853.rs`, behind the trait [`Pair`].

use crate::OdeSystem;
use control::Controller;

/// Defines the public solver `$name` around the engine [`Explicit`] of the pair `$pair`:
/// its constructor, its accessors to the system and its [`Solver`](crate::Solver) impl, which forwards to
/// the engine's (one definition for both pairs).
macro_rules! explicit_solver {
    ($(#[$attr:meta])* $name:ident, $pair:ty) => {
        $(#[$attr])*
        pub struct $name<S>(super::Explicit<S, $pair>);

        impl<S: crate::OdeSystem> $name<S> {
            /// Starts at `(t0, u0)`. Validates the options
            /// ([`SolverOptions::validate`](crate::SolverOptions::validate)) and the start
            /// (length and finiteness of `u0`, finite `t0`); `F` is first evaluated by the
            /// first [`step`](crate::Solver::step), which also chooses the first step size
            /// when `opts.h_init` is `None`.
            ///
            /// # Errors
            /// [`IntegrationError::InvalidRequest`](crate::IntegrationError::InvalidRequest)
            /// for invalid options, a `u0` of the wrong length or a non-finite `t0`;
            /// [`IntegrationError::NonFinite`](crate::IntegrationError::NonFinite) for a
            /// non-finite component of `u0`.
            pub fn new(
                system: S,
                t0: f64,
                u0: &[f64],
                opts: &crate::SolverOptions,
            ) -> Result<Self, crate::IntegrationError> {
                super::Explicit::new(system, t0, u0, opts).map(Self)
            }
            /// The system being integrated.
            pub fn system(&self) -> &S {
                &self.0.system
            }
            /// Gives the system back.
            pub fn into_system(self) -> S {
                self.0.system
            }
        }

        impl<S: crate::OdeSystem> crate::Solver for $name<S> {
            fn dim(&self) -> usize {
                crate::Solver::dim(&self.0)
            }
            fn clock(&self) -> &crate::Clock {
                crate::Solver::clock(&self.0)
            }
            fn state(&self) -> &[f64] {
                crate::Solver::state(&self.0)
            }
            fn stats(&self) -> crate::SolverStats {
                crate::Solver::stats(&self.0)
            }
            fn set_stop_time(&mut self, t_stop: f64) -> Result<(), crate::IntegrationError> {
                crate::Solver::set_stop_time(&mut self.0, t_stop)
            }
            fn step(&mut self) -> Result<f64, crate::IntegrationError> {
                crate::Solver::step(&mut self.0)
            }
            fn interpolate(&self, t: f64, out: &mut [f64]) -> Result<(), crate::IntegrationError> {
                crate::Solver::interpolate(&self.0, t, out)
            }
        }
    };
}

mod control;
mod dop853;
mod dopri5;
mod engine;
#[cfg(test)]
mod tests;

pub use dop853::Dop853;
pub use dopri5::Dopri5;
use engine::Explicit;

/// The weights of the error norm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tolerance {
    rtol: f64,
    atol: f64,
}

/// The vectors a step reads and writes, kept across steps (no allocation per step).
pub(crate) struct States {
    /// `u(t)`.
    u: Vec<f64>,
    /// `F(u(t))`: the first stage of the next step (FSAL).
    f: Vec<f64>,
    /// The state at the start of the last accepted step.
    u_old: Vec<f64>,
    /// `F` there (the first stage of the last accepted step).
    f_old: Vec<f64>,
    /// The end of the step being attempted.
    u_new: Vec<f64>,
    /// `F(u_new)`, once the pair has it ([`Pair::complete`]).
    f_new: Vec<f64>,
}

impl States {
    /// Makes the attempted step the last accepted one: `(u_old, u) ← (u, u_new)`, and the
    /// same for `F`; the old `u_old`, `f_old` become scratch.
    fn rotate(&mut self) {
        std::mem::swap(&mut self.u_old, &mut self.u);
        std::mem::swap(&mut self.u, &mut self.u_new);
        std::mem::swap(&mut self.f_old, &mut self.f);
        std::mem::swap(&mut self.f, &mut self.f_new);
    }
}

/// What distinguishes one embedded pair: its stages, error estimate and dense output.
pub(crate) trait Pair {
    /// `q` in the starting step `h₁ = (0.01 / max(d₁, d₂))^{1/q}` (`engine::initial_step`):
    /// the order of the error estimate's leading term, `IORD` in Hairer's codes.
    const HINIT_ORDER: i32;
    /// Bound on `h·ρ` above which a step counts as stiff: the method's stability boundary
    /// on the negative real axis, about 3.3 (Dopri5) and 6.1 (Dop853).
    const STIFFNESS_BOUND: f64;
    /// The step-size controller with this pair's exponents and bounds.
    fn controller() -> Controller;
    /// Stage storage for a system of dimension `n`.
    fn with_dim(n: usize) -> Self;
    /// Attempts the step of size `h` from `(st.u, st.f)`: writes `st.u_new` and returns the
    /// error norm, or `Err(i)` for the first non-finite component of the estimate or of
    /// `u_new`.
    fn attempt<S: OdeSystem>(
        &mut self,
        system: &S,
        h: f64,
        st: &mut States,
        tol: Tolerance,
        rhs_evals: &mut usize,
    ) -> Result<f64, usize>;
    /// For an attempt the controller accepts: writes `F(u_new)` into `st.f_new` (a stage of
    /// Dopri5, a new evaluation for Dop853); `Err(i)` when it is not finite.
    fn complete<S: OdeSystem>(
        &mut self,
        system: &S,
        st: &mut States,
        rhs_evals: &mut usize,
    ) -> Result<(), usize>;
    /// The last stage evaluated at `c = 1` and its argument `(k_s, y_s)`, for the stiffness
    /// estimate `ρ ≈ ‖F(u_new) − k_s‖ / ‖u_new − y_s‖`.
    fn stiffness_stage(&self) -> (&[f64], &[f64]);
    /// The attempt of size `h` is accepted (called before [`States::rotate`]): keeps what the
    /// dense output of this step needs.
    fn accept(&mut self, h: f64, st: &States);
    /// The dense output of the last accepted step of size `h` at `θ ∈ (0, 1)` (called after
    /// [`States::rotate`]).
    fn interpolate<S: OdeSystem>(
        &self,
        system: &S,
        st: &States,
        h: f64,
        theta: f64,
        out: &mut [f64],
    );
    /// Right-hand sides evaluated by [`interpolate`](Pair::interpolate) so far.
    fn dense_rhs_evals(&self) -> usize {
        0
    }
}

/// `out = base + h Σ_j a_j k_j` over the stages `k_1 = k1`, `k_{j+1} = ks[j−1]`
/// (`h Σ_j a_j k_j` without a base); zero coefficients are skipped.
fn combine(out: &mut [f64], base: Option<&[f64]>, h: f64, a: &[f64], k1: &[f64], ks: &[Vec<f64>]) {
    match base {
        Some(b) => out.copy_from_slice(b),
        None => out.fill(0.0),
    }
    for (j, &aj) in a.iter().enumerate() {
        if aj == 0.0 {
            continue;
        }
        let k = if j == 0 { k1 } else { &ks[j - 1] };
        let c = h * aj;
        for (o, ki) in out.iter_mut().zip(k) {
            *o += c * ki;
        }
    }
}

/// Stage vectors (slot `j` holds `k_{j+2}`: `k_1 = F(u)` is kept by the step loop) and the
/// scratch for their arguments.
struct Stages {
    k: Vec<Vec<f64>>,
    /// The argument of the last stage evaluated.
    arg: Vec<f64>,
}

impl Stages {
    /// `slots` stage vectors of dimension `n`.
    fn new(slots: usize, n: usize) -> Self {
        Self {
            k: vec![vec![0.0; n]; slots],
            arg: vec![0.0; n],
        }
    }

    /// For the rows `a_i·` in order, `k_i = F(u + h Σ_{j<i} a_ij k_j)` into the slots
    /// `first, first + 1, …` (`k_1 = k1`, `k_j` from slot `j − 2`); one right-hand side per row,
    /// whose number is returned. `arg` keeps the last stage's argument.
    fn evaluate<S: OdeSystem>(
        &mut self,
        system: &S,
        rows: &[&[f64]],
        first: usize,
        h: f64,
        u: &[f64],
        k1: &[f64],
    ) -> usize {
        for (s, row) in rows.iter().enumerate() {
            let (done, rest) = self.k.split_at_mut(first + s);
            combine(&mut self.arg, Some(u), h, row, k1, done);
            system.rhs(&self.arg, &mut rest[0]);
        }
        rows.len()
    }
}

/// `Σ_i (e_i / sc_i)²` with `sc_i = atol + rtol·max(|u_i|, |u_new_i|)` (Hairer's (4.10));
/// `Err(i)` at the first non-finite `e_i` or `u_new_i`.
fn scaled_sum_squares(tol: Tolerance, u: &[f64], u_new: &[f64], e: &[f64]) -> Result<f64, usize> {
    let mut sum = 0.0;
    for (i, ((&ui, &vi), &ei)) in u.iter().zip(u_new).zip(e).enumerate() {
        if !(vi.is_finite() && ei.is_finite()) {
            return Err(i);
        }
        let sc = tol.atol + tol.rtol * ui.abs().max(vi.abs());
        sum += (ei / sc).powi(2);
    }
    Ok(sum)
}

/// The first non-finite component of `v`.
fn first_non_finite(v: &[f64]) -> Option<usize> {
    v.iter().position(|x| !x.is_finite())
}

/// Hairer's continuous extension of the last step (`CONTD5`, `CONTD8`), at
/// `θ = (t − t_old)/h`, `θ₁ = 1 − θ`:
///
/// ```text
///   u(t_old + θh) ≈ r₁ + θ(r₂ + θ₁(r₃ + θ(r₄ + θ₁(r₅ + θ(r₆ + θ₁(r₇ + θ r₈)))))),
///   r₁ = u_old,  r₂ = u − u_old,  r₃ = h F(u_old) − r₂,  r₄ = r₂ − h F(u) − r₃,
/// ```
///
/// (the cubic Hermite interpolant for `r₁…r₄`), with the pair's higher coefficients
/// `tail = [r₅, …]` (`[r₅]` for Dopri5, `[r₅, …, r₈]` for Dop853).
fn continuous_extension(st: &States, h: f64, theta: f64, tail: &[Vec<f64>], out: &mut [f64]) {
    let theta1 = 1.0 - theta;
    // The factor after the 0-based coefficient r_{j+1}: θ for even j, θ₁ for odd j.
    let weight = |j: usize| if j.is_multiple_of(2) { theta } else { theta1 };
    for (i, o) in out.iter_mut().enumerate() {
        let mut acc = 0.0;
        for (j, r) in tail.iter().enumerate().rev() {
            acc = r[i] + weight(4 + j) * acc;
        }
        let ydiff = st.u[i] - st.u_old[i];
        let bspl = h * st.f_old[i] - ydiff;
        let hermite = [st.u_old[i], ydiff, bspl, ydiff - h * st.f[i] - bspl];
        for (j, &r) in hermite.iter().enumerate().rev() {
            acc = r + weight(j) * acc;
        }
        *o = acc;
    }
}
