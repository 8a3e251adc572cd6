//! RODAS: the stiffly accurate Rosenbrock method of order 4 (embedded order 3).
//!
//! One step from `u` with step `h`, `W = I/(γh) − J(u)`, `γ = 1/4`, solves
//!
//! ```text
//!   W k_i = F(u + Σ_{j<i} a_ij k_j) + Σ_{j<i} (c_ij / h) k_j,      i = 1..6,
//!   u_new = u + Σ_{j<5} a_5j k_j + k_5 + k_6,       error estimate = k_6,
//! ```
//!
//! with the coefficients of E. Hairer & G. Wanner, *Solving Ordinary Differential
//! Equations II* (2nd ed., Springer 1996), §IV.7, as in their code `rodas.f` (METH = 1).
//! The method is L-stable and stiffly accurate, so the fast variables of a singularly
//! perturbed problem are damped in one step however large `h/ε` is. It needs the exact
//! Jacobian (it is a Rosenbrock, not a W-method): systems provide it analytically.

use crate::solver::{
    at_stop_time, check_first_step, check_in_step, check_start, initial_step_guess,
};
use crate::{
    Clock, IntegrationError, LastRejection, Linearization, OutputMode, Rejection, Solver,
    SolverOptions, SolverStats,
};

const GAMMA: f64 = 0.25;
const A: [[f64; 5]; 6] = [
    [0.0; 5],
    [1.544, 0.0, 0.0, 0.0, 0.0],
    [
        0.946_678_528_081_582_6,
        0.255_701_169_898_328_4,
        0.0,
        0.0,
        0.0,
    ],
    [
        3.314_825_187_068_521,
        2.896_124_015_972_201,
        0.998_641_913_997_781_7,
        0.0,
        0.0,
    ],
    [
        1.221_224_509_226_641,
        6.019_134_481_288_629,
        12.537_083_329_320_87,
        -0.687_886_036_105_895,
        0.0,
    ],
    [
        1.221_224_509_226_641,
        6.019_134_481_288_629,
        12.537_083_329_320_87,
        -0.687_886_036_105_895,
        1.0,
    ],
];
const C: [[f64; 5]; 6] = [
    [0.0; 5],
    [-5.6688, 0.0, 0.0, 0.0, 0.0],
    [
        -2.430_093_356_833_875,
        -0.206_359_915_709_191_5,
        0.0,
        0.0,
        0.0,
    ],
    [
        -0.107_352_905_815_137_5,
        -9.594_562_251_023_355,
        -20.470_286_148_096_16,
        0.0,
        0.0,
    ],
    [
        7.496_443_313_967_647,
        -10.246_804_314_643_52,
        -33.999_903_528_199_05,
        11.708_908_932_061_6,
        0.0,
    ],
    [
        8.083_246_795_921_522,
        -7.981_132_988_064_893,
        -31.521_594_328_743_71,
        16.319_305_431_231_36,
        -6.058_818_238_834_054,
    ],
];
const SAFETY: f64 = 0.9;
/// Bounds on `h_old / h_new` (Hairer's FACL = 5, FACR = 1/6).
const Q_MIN: f64 = 1.0 / 6.0;
const Q_MAX: f64 = 5.0;

/// Hairer's dense-output coefficients of RODAS (`D21…D35` in `rodas.f`): with
/// `h₂ = Σ_{j≤5} d_{2j} k_j` and `h₃ = Σ_{j≤5} d_{3j} k_j`, the continuous extension of a step
/// from `u₀` to `u₁` is `u(t₀ + θh) = (1 − θ) u₀ + θ (u₁ + (1 − θ)(h₂ + θ h₃))`, of order 3.
const D: [[f64; 5]; 2] = [
    [
        10.126_235_083_445_86,
        -7.487_995_877_610_167,
        -34.800_918_615_557_47,
        -7.992_771_707_568_823,
        1.025_137_723_295_662,
    ],
    [
        -0.676_280_339_280_125_3,
        6.087_714_651_680_015,
        16.430_843_208_924_78,
        24.767_225_114_183_86,
        -6.594_389_125_716_872,
    ],
];

/// The RODAS integrator (see the module documentation for the scheme), owning its system.
#[derive(Debug, Clone)]
pub struct Rodas4<S> {
    system: S,
    opts: SolverOptions,
    stats: SolverStats,
    clock: Clock,
    u: Vec<f64>,
    /// The state at the start of the last step (after it), the trial state during one.
    u_other: Vec<f64>,
    k: Vec<Vec<f64>>,
    stage: Vec<f64>,
    fval: Vec<f64>,
    /// Next step size to try.
    h: f64,
    /// Predictive (Gustafsson) controller memory: last accepted step and its error.
    previous: Option<(f64, f64)>,
}

impl<S: Linearization> Rodas4<S> {
    /// Starts at `(t0, u0)`: one evaluation of `F(u0)` for the first step size (Hairer's
    /// guess, unless `opts.h_init` is given).
    ///
    /// # Errors
    /// [`IntegrationError::InvalidRequest`] for bad options or a state of the wrong length,
    /// [`IntegrationError::NonFinite`] for a non-finite initial state or right-hand side.
    pub fn new(
        system: S,
        t0: f64,
        u0: &[f64],
        opts: &SolverOptions,
    ) -> Result<Self, IntegrationError> {
        let n = check_start(opts, system.dim(), t0, u0)?;
        let mut fval = vec![0.0; n];
        system.rhs(u0, &mut fval);
        if let Some(component) = fval.iter().position(|v| !v.is_finite()) {
            return Err(IntegrationError::NonFinite {
                t: t0,
                component,
                h: 0.0,
            });
        }
        let h = match opts.h_init {
            Some(h) => h,
            None => check_first_step(t0, initial_step_guess(u0, &fval, opts.rtol, opts.atol))?,
        };
        Ok(Self {
            system,
            opts: *opts,
            stats: SolverStats {
                rhs_evals: 1,
                ..SolverStats::default()
            },
            clock: Clock::new(t0),
            u: u0.to_vec(),
            u_other: vec![0.0; n],
            k: vec![vec![0.0; n]; 6],
            stage: vec![0.0; n],
            fval,
            h,
            previous: None,
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

    /// Computes the six stages; returns the index of a non-finite component if any.
    /// On return `stage` holds the argument of stage 6 (`u + Σ a_6j k_j`).
    fn stages(&mut self, h: f64) -> Option<usize> {
        let n = self.u.len();
        let (u, k, stage, fval) = (&self.u, &mut self.k, &mut self.stage, &mut self.fval);
        for s in 0..6 {
            // One fused pass: stage = u + Σ_j a_sj k_j.
            // (With a branch-free check for a non-finite entry, located only when there is
            // one.)
            let a = &A[s][..s];
            let mut bad = false;
            for i in 0..n {
                let mut v = u[i];
                for (aj, kj) in a.iter().zip(k.iter()) {
                    v += aj * kj[i];
                }
                stage[i] = v;
                bad |= !v.is_finite();
            }
            if bad && let Some(i) = stage.iter().position(|v| !v.is_finite()) {
                return Some(i);
            }
            self.system.rhs(stage, fval);
            self.stats.rhs_evals += 1;
            let (done, rest) = k.split_at_mut(s);
            let ks = &mut rest[0];
            // One fused pass: k_s = F(stage) + Σ_j (c_sj/h) k_j, then W⁻¹.
            let c: [f64; 5] = std::array::from_fn(|j| C[s][j] / h);
            for i in 0..n {
                let mut v = fval[i];
                for (cj, kj) in c[..s].iter().zip(done.iter()) {
                    v += cj * kj[i];
                }
                ks[i] = v;
            }
            self.system.solve(ks);
            self.stats.linear_solves += 1;
            if let Some(i) = ks.iter().position(|v| !v.is_finite()) {
                return Some(i);
            }
        }
        None
    }
}

impl<S: Linearization> Solver for Rodas4<S> {
    fn dim(&self) -> usize {
        self.u.len()
    }
    fn state(&self) -> &[f64] {
        &self.u
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
    fn output_mode(&self) -> OutputMode {
        OutputMode::LandOnOutputs
    }

    fn step(&mut self) -> Result<f64, IntegrationError> {
        let target = self.clock.horizon();
        let t = self.clock.t();
        if t >= target {
            return Err(at_stop_time(t));
        }
        if self.stats.steps >= self.opts.max_steps {
            return Err(IntegrationError::MaxSteps {
                t,
                max_steps: self.opts.max_steps,
            });
        }
        let (rtol, atol) = (self.opts.rtol, self.opts.atol);
        let h_max = self.opts.h_max.unwrap_or(f64::INFINITY);
        let n = self.u.len();
        self.system.update_jacobian(&self.u);
        self.stats.jacobian_evals += 1;
        let mut rejections = 0usize;
        let mut rejected_here = false;
        let mut last = LastRejection::None;
        loop {
            let h = self.h.min(h_max);
            self.h = h;
            let hits_stop = t + h >= target || (target - t - h) < 1e-12 * h;
            let h_step = if hits_stop { target - t } else { h };
            let h_min = 16.0 * f64::EPSILON * t.abs().max(h_step.abs() * 1e-3);
            if rejections > self.opts.max_rejections || h_step <= h_min {
                return Err(IntegrationError::StepSizeCollapse {
                    t,
                    h: h_step,
                    h_min,
                    rejections,
                    last,
                });
            }
            let shift = 1.0 / (GAMMA * h_step);
            self.system
                .factor(shift)
                .map_err(|reason| IntegrationError::SingularMatrix { t, shift, reason })?;
            self.stats.factorizations += 1;

            if let Some(component) = self.stages(h_step) {
                // A stage left the domain where F is finite: shrink and retry.
                self.stats.reject(Rejection::NonFinite);
                rejections += 1;
                rejected_here = true;
                self.h = h_step * 0.25;
                if rejections > self.opts.max_rejections {
                    return Err(IntegrationError::NonFinite {
                        t,
                        component,
                        h: h_step,
                    });
                }
                continue;
            }
            // u_new = (stage 6 argument) + k6; error = k6.
            let (u, u_new, k6) = (&self.u, &mut self.u_other, &self.k[5]);
            for i in 0..n {
                u_new[i] = self.stage[i] + k6[i];
            }
            let mut acc = 0.0;
            for i in 0..n {
                let sc = atol + rtol * u[i].abs().max(u_new[i].abs());
                let e = k6[i] / sc;
                acc += e * e;
            }
            let err = (acc / n as f64).sqrt();
            if !err.is_finite() {
                last = LastRejection::ErrorTest { error_norm: err };
                self.stats.reject(Rejection::NonFinite);
                rejections += 1;
                rejected_here = true;
                self.h = h_step * 0.25;
                continue;
            }
            let mut q = (err.max(1e-10).powf(0.25) / SAFETY).clamp(Q_MIN, Q_MAX);
            if err <= 1.0 {
                if let Some((h_prev, err_prev)) = self.previous {
                    let qg =
                        (h_prev / h_step) * (err.max(1e-10).powi(2) / err_prev).powf(0.25) / SAFETY;
                    q = q.max(qg.clamp(Q_MIN, Q_MAX));
                }
                self.previous = Some((h_step, err.max(1e-2)));
                if rejected_here {
                    q = q.max(1.0);
                }
                self.clock
                    .advance(if hits_stop { target } else { t + h_step });
                std::mem::swap(&mut self.u, &mut self.u_other);
                self.stats.steps += 1;
                let proposal = h_step / q;
                // A step shortened to hit the stop time says nothing against the longer one.
                self.h = if hits_stop { proposal.max(h) } else { proposal };
                return Ok(self.clock.t());
            }
            self.stats.reject(Rejection::ErrorTest);
            last = LastRejection::ErrorTest { error_norm: err };
            rejections += 1;
            rejected_here = true;
            self.h = h_step / q.max(1.0);
        }
    }

    /// Hairer's continuous extension of the last step (the constants `D21…D35` of `rodas.f`).
    fn interpolate(&self, t: f64, out: &mut [f64]) -> Result<(), IntegrationError> {
        let (t0, t1) = (self.clock.t_previous(), self.clock.t());
        check_in_step(t0, t1, t)?;
        if self.stats.steps == 0 || t == t1 {
            out.copy_from_slice(&self.u);
            return Ok(());
        }
        let theta = (t - t0) / (t1 - t0);
        let k = &self.k;
        for (i, o) in out.iter_mut().enumerate() {
            let h2: f64 = (0..5).map(|j| D[0][j] * k[j][i]).sum();
            let h3: f64 = (0..5).map(|j| D[1][j] * k[j][i]).sum();
            *o = (1.0 - theta) * self.u_other[i]
                + theta * (self.u[i] + (1.0 - theta) * (h2 + theta * h3));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_systems::{BlowUp, Linear, assert_fails_at_blow_up, exact_y};
    use crate::{DenseSlowFast, Recorder, SlowFastSystem, integrate};

    fn opts(rtol: f64, atol: f64) -> SolverOptions {
        SolverOptions {
            rtol,
            atol,
            ..SolverOptions::default()
        }
    }

    fn solve(eps: f64, rtol: f64, times: &[f64]) -> (Vec<Vec<f64>>, SolverStats) {
        let sys = DenseSlowFast::new(Linear, eps);
        let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
        let mut solver = Rodas4::new(sys, 0.0, &[1.0, 0.0], &opts(rtol, rtol * 1e-2)).unwrap();
        let out = integrate(&mut solver, times, &mut [], &mut rec).unwrap();
        assert!(out.completed());
        (rec.trajectory.columns, solver.stats())
    }

    #[test]
    fn stiff_linear_problem_meets_tolerance_at_every_output() {
        // Closed form above. The layer (t ~ ε) and the outer decay are both resolved.
        let eps = 1e-6;
        let times: Vec<f64> = (0..=40)
            .map(|i| 1e-8 * 10f64.powf(i as f64 * 0.2))
            .collect();
        for rtol in [1e-5, 1e-8] {
            let (cols, stats) = solve(eps, rtol, &times);
            for (i, &t) in times.iter().enumerate() {
                let ex = exact_y(t, eps, 0.0);
                let err = (cols[1][i] - ex).abs() / (rtol * ex.abs() + rtol * 1e-2);
                assert!(err < 30.0, "rtol {rtol}: t = {t}, error = {err} tolerances");
                assert!((cols[0][i] - (-t).exp()).abs() < 30.0 * rtol * (-t).exp());
            }
            // Stiff: the number of steps must not scale like 1/ε.
            assert!(stats.steps < 2000, "{stats:?}");
        }
    }

    #[test]
    fn error_falls_like_rtol_to_the_order() {
        // A converging method: tightening rtol by 100 cuts the error by well over 10.
        let times = [0.5, 1.0, 2.0];
        let err = |rtol| {
            let (cols, _) = solve(1e-3, rtol, &times);
            (0..3)
                .map(|i| (cols[1][i] - exact_y(times[i], 1e-3, 0.0)).abs())
                .fold(0.0, f64::max)
        };
        let (e1, e2) = (err(1e-5), err(1e-7));
        assert!(e2 < e1 / 10.0, "{e1} -> {e2}");
    }

    /// Non-stiff scalar `u' = −u²`, exact `u = 1/(1 + t)`.
    struct Riccati;
    impl SlowFastSystem for Riccati {
        fn slow_dim(&self) -> usize {
            1
        }
        fn fast_dim(&self) -> usize {
            0
        }
        fn slow_field(&self, x: &[f64], _y: &[f64], _e: f64, out: &mut [f64]) {
            out[0] = -x[0] * x[0];
        }
        fn fast_field(&self, _x: &[f64], _y: &[f64], _e: f64, _out: &mut [f64]) {}
    }

    /// RODAS4 on [`Riccati`] with fixed steps `h` (loose tolerance, so no rejection).
    fn fixed_steps(h: f64) -> Rodas4<DenseSlowFast<Riccati>> {
        let fixed = SolverOptions {
            h_init: Some(h),
            h_max: Some(h),
            ..opts(1.0, 1.0)
        };
        Rodas4::new(DenseSlowFast::new(Riccati, 1.0), 0.0, &[1.0], &fixed).unwrap()
    }

    #[test]
    fn fixed_step_order_is_four() {
        // Halving h divides the error at t = 2 by ≈ 2⁴.
        let run = |h: f64| {
            let mut s = fixed_steps(h);
            s.set_stop_time(2.0).unwrap();
            while s.t() < 2.0 {
                s.step().unwrap();
            }
            (s.state()[0] - 1.0 / 3.0).abs()
        };
        let (e1, e2) = (run(0.1), run(0.05));
        let order = (e1 / e2).log2();
        assert!(
            (order - 4.0).abs() < 0.35,
            "observed order {order} ({e1}, {e2})"
        );
    }

    #[test]
    fn dense_output_is_third_order_and_exact_at_the_ends() {
        // One step of size h from t = 0.5: the continuous extension's error at mid-step falls
        // like h⁴ (local error of an order-3 extension); at the ends it is the step's values.
        let mid_error = |h: f64| {
            let mut s = fixed_steps(h);
            // First reach t = 0.5 with steps of h, then take one more.
            s.set_stop_time(0.5 + h).unwrap();
            while s.t() < 0.5 + h - 1e-12 {
                s.step().unwrap();
            }
            let (t0, t1) = (s.t_previous(), s.t());
            let mut out = [0.0];
            s.interpolate(t1, &mut out).unwrap();
            assert_eq!(out[0], s.state()[0]);
            s.interpolate(0.5 * (t0 + t1), &mut out).unwrap();
            let exact = 1.0 / (1.0 + 0.5 * (t0 + t1));
            assert!(s.interpolate(t1 + h, &mut out).is_err());
            (out[0] - exact).abs()
        };
        let (e1, e2) = (mid_error(0.1), mid_error(0.05));
        let order = (e1 / e2).log2();
        assert!(
            order > 3.5,
            "dense-output error {e1:e} -> {e2:e}, order {order}"
        );
    }

    #[test]
    fn stop_time_is_landed_on_and_not_passed() {
        let mut s = Rodas4::new(
            DenseSlowFast::new(Linear, 1e-3),
            0.0,
            &[1.0, 0.0],
            &opts(1e-6, 1e-9),
        )
        .unwrap();
        s.set_stop_time(0.3).unwrap();
        while s.t() < 0.3 {
            s.step().unwrap();
        }
        assert_eq!(s.t(), 0.3);
        assert!(matches!(s.step(), Err(IntegrationError::InvalidRequest(_))));
        assert!(s.set_stop_time(0.2).is_err());
        s.set_stop_time(0.6).unwrap();
        s.step().unwrap();
        assert!(s.t() > 0.3 && s.t() <= 0.6);
    }

    #[test]
    fn bad_requests_are_errors() {
        let sys = || DenseSlowFast::new(Linear, 0.1);
        let o = opts(1e-6, 1e-9);
        assert!(matches!(
            Rodas4::new(sys(), 0.0, &[1.0], &o),
            Err(IntegrationError::InvalidRequest(_))
        ));
        assert!(matches!(
            Rodas4::new(sys(), 0.0, &[f64::NAN, 0.0], &o),
            Err(IntegrationError::NonFinite { component: 0, .. })
        ));
        assert!(Rodas4::new(sys(), 0.0, &[1.0, 0.0], &opts(0.0, 1e-9)).is_err());
        let mut s = Rodas4::new(sys(), 0.0, &[1.0, 0.0], &o).unwrap();
        let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
        assert!(matches!(
            integrate(&mut s, &[1.0, 0.5], &mut [], &mut rec),
            Err(IntegrationError::InvalidRequest(_))
        ));
    }

    #[test]
    fn blow_up_is_reported_not_returned() {
        // u' = u², u(0) = 1 blows up at t = 1: the solver must fail there.
        let mut s = Rodas4::new(
            DenseSlowFast::new(BlowUp, 1.0),
            0.0,
            &[1.0],
            &opts(1e-6, 1e-9),
        )
        .unwrap();
        let mut rec = Recorder::new(vec!["u".into()]);
        assert_fails_at_blow_up(integrate(&mut s, &[2.0], &mut [], &mut rec));
    }
}
