//! DOPRI5: the Dormand–Prince 5(4) pair with Shampine's dense output of order 4.
//!
//! Coefficients of J. R. Dormand & P. J. Prince, "A family of embedded Runge–Kutta
//! formulae", *J. Comput. Appl. Math.* 6 (1980), as printed in Hairer, Nørsett & Wanner,
//! *Solving ODEs I*, Table II.5.2, with the error and dense-output coefficients of Hairer's
//! `dopri5.f` (§II.6, (6.12)).

use super::{
    Controller, Pair, Stages, States, Tolerance, combine, continuous_extension, scaled_sum_squares,
};
use crate::OdeSystem;

/// Rows `a_ij` (`j < i`) of stages `i = 2, …, 6` (nodes `c = 1/5, 3/10, 4/5, 8/9, 1`).
pub(super) const A: [&[f64]; 5] = [
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
    ],
    &[
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
    ],
];

/// Weights `b_i` of the 5th-order solution, `i = 1, …, 6` (`b_7 = 0`; they are also the row
/// `a_7j` of the seventh stage `F(u_new)`, whence FSAL).
pub(super) const B: [f64; 6] = [
    35.0 / 384.0,
    0.0,
    500.0 / 1113.0,
    125.0 / 192.0,
    -2187.0 / 6784.0,
    11.0 / 84.0,
];

/// `e_i = b_i − b̂_i`: the error estimate `h Σ_i e_i k_i` against the embedded 4th-order
/// solution, `i = 1, …, 7`.
pub(super) const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

/// Coefficients `d_i` of the dense output's fifth term `r₅ = h Σ_i d_i k_i`, `i = 1, …, 7`.
const D: [f64; 7] = [
    -12715105075.0 / 11282082432.0,
    0.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
];

/// Nodes `c_i`, `i = 1, …, 7`: the system is autonomous, so only the tests read them (row
/// sums of `A`).
#[cfg(test)]
pub(super) const C: [f64; 7] = [0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0];

/// The stages of one Dopri5 attempt and the dense output of the last accepted step.
pub(crate) struct Dopri5Stages {
    /// `k_2, …, k_7`; after an attempt, the argument of stage 6 (`c = 1`).
    stages: Stages,
    /// The error estimate `h Σ e_i k_i`.
    err: Vec<f64>,
    /// `r₅ = h Σ_i d_i k_i` of the last accepted step, computed on acceptance (cheap, no
    /// right-hand side).
    r5: Vec<f64>,
}

impl Pair for Dopri5Stages {
    const HINIT_ORDER: i32 = 5;
    const STIFFNESS_BOUND: f64 = 3.25;

    /// `α = 0.2 − 0.75 β`, `β = 0.04`, `h_new/h ∈ [0.2, 10]` (dopri5.f's defaults).
    fn controller() -> Controller {
        let beta = 0.04;
        Controller::new(0.2 - 0.75 * beta, beta, 0.2, 10.0)
    }

    fn with_dim(n: usize) -> Self {
        Self {
            stages: Stages::new(6, n),
            err: vec![0.0; n],
            r5: vec![0.0; n],
        }
    }

    /// Six right-hand sides: stages 2–6 and `k_7 = F(u_new)`; error norm
    /// `√(1/n Σ (err_i/sc_i)²)`.
    fn attempt<S: OdeSystem>(
        &mut self,
        system: &S,
        h: f64,
        st: &mut States,
        tol: Tolerance,
        rhs_evals: &mut usize,
    ) -> Result<f64, usize> {
        *rhs_evals += self.stages.evaluate(system, &A, 0, h, &st.u, &st.f);
        let k = &mut self.stages.k;
        combine(&mut st.u_new, Some(&st.u), h, &B, &st.f, &k[..5]);
        system.rhs(&st.u_new, &mut k[5]);
        *rhs_evals += 1;
        combine(&mut self.err, None, h, &E, &st.f, k);
        let sum = scaled_sum_squares(tol, &st.u, &st.u_new, &self.err)?;
        Ok((sum / st.u.len().max(1) as f64).sqrt())
    }

    /// `F(u_new)` is the seventh stage: no evaluation.
    fn complete<S: OdeSystem>(
        &mut self,
        _system: &S,
        st: &mut States,
        _rhs_evals: &mut usize,
    ) -> Result<(), usize> {
        st.f_new.copy_from_slice(&self.stages.k[5]);
        Ok(())
    }

    /// Stage 6 (`c₆ = 1`): `ρ ≈ ‖k₇ − k₆‖ / ‖u_new − y₆‖`.
    fn stiffness_stage(&self) -> (&[f64], &[f64]) {
        (&self.stages.k[4], &self.stages.arg)
    }

    fn accept(&mut self, h: f64, st: &States) {
        combine(&mut self.r5, None, h, &D, &st.f, &self.stages.k);
    }

    /// `CONTD5`: the continuous extension with `r₅`.
    fn interpolate<S: OdeSystem>(
        &self,
        _system: &S,
        st: &States,
        h: f64,
        theta: f64,
        out: &mut [f64],
    ) {
        continuous_extension(st, h, theta, std::slice::from_ref(&self.r5), out);
    }
}

explicit_solver! {
    /// The Dormand–Prince 5(4) pair (DOPRI5) as a step-based [`Solver`](crate::Solver),
    /// with Hairer's step-size control, stiffness detection and dense output of order 4.
    ///
    /// A step of size `h` from `u`:
    ///
    /// ```text
    ///   k_1 = F(u),  k_i = F(u + h Σ_{j<i} a_ij k_j)  (i = 2…7),
    ///   u_new = u + h Σ_{i≤6} b_i k_i,   k_7 = F(u_new),   err_i = h Σ_i e_i k_i,
    /// ```
    ///
    /// accepted when `‖err‖ = √(1/n Σ (err_i/sc_i)²) ≤ 1`, `sc_i = atol + rtol·max(|u_i|,
    /// |u_new,i|)`. `k_7` is the next step's `k_1` (FSAL): six right-hand sides per attempt,
    /// plus two at the first step (`F(u0)` and the starting-step heuristic). Rejected
    /// attempts are retried inside [`step`](crate::Solver::step) with the PI controller's
    /// smaller step (or `h/4` after a non-finite value). Every 1000 accepted steps, and then
    /// after every step while it keeps answering "stiff", `h·‖k₇ − k₆‖/‖u_new − y₆‖` is
    /// compared with 3.25 (the stability boundary); 15 such answers end the integration with
    /// [`IntegrationError::Stiff`](crate::IntegrationError::Stiff).
    ///
    /// Dense output ([`interpolate`](crate::Solver::interpolate)): Hairer's `CONTD5`,
    /// `u(t_old + θh) ≈ r₁ + θ(r₂ + θ₁(r₃ + θ(r₄ + θ₁ r₅)))`, `θ₁ = 1 − θ`, where `r₁…r₄`
    /// make the cubic Hermite interpolant of `(u_old, F(u_old))`, `(u, F(u))` and
    /// `r₅ = h Σ d_i k_i` lifts it to order 4; no extra right-hand side.
    ///
    /// ```
    /// use timescales_ode::{Dopri5, OdeSystem, Solver, SolverOptions};
    ///
    /// /// The harmonic oscillator u'' = −u: (u, u') = (cos t, −sin t).
    /// struct Oscillator;
    /// impl OdeSystem for Oscillator {
    ///     fn dim(&self) -> usize { 2 }
    ///     fn rhs(&self, u: &[f64], du: &mut [f64]) { du[0] = u[1]; du[1] = -u[0]; }
    /// }
    /// # fn main() -> Result<(), timescales_ode::IntegrationError> {
    /// let opts = SolverOptions { rtol: 1e-8, atol: 1e-10, ..SolverOptions::default() };
    /// let mut solver = Dopri5::new(Oscillator, 0.0, &[1.0, 0.0], &opts)?;
    /// solver.set_stop_time(3.0)?;
    /// let mut u = [0.0; 2];
    /// while solver.t() < 3.0 {
    ///     solver.step()?;
    ///     // Read u(2.5) from the dense output of the step that covers it.
    ///     if (solver.t_previous()..=solver.t()).contains(&2.5) {
    ///         solver.interpolate(2.5, &mut u)?;
    ///     }
    /// }
    /// assert_eq!(solver.t(), 3.0);
    /// assert!((u[0] - 2.5f64.cos()).abs() < 1e-6);
    /// # Ok(()) }
    /// ```
    Dopri5,
    Dopri5Stages
}
