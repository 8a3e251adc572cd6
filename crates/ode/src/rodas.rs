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

use std::ops::ControlFlow;
use std::time::Instant;


use crate::{IntegrationError, Linearization, Observer};

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

pub use crate::solver::{SolverOptions as StiffOptions, SolverStats};

/// The RODAS integrator (see the module documentation for the scheme).
#[derive(Debug, Clone)]
pub struct Rodas4 {
    opts: StiffOptions,
    stats: SolverStats,
}

impl Rodas4 {
    /// A new integrator.
    ///
    /// # Errors
    /// [`IntegrationError::InvalidRequest`] for a non-positive or non-finite tolerance.
    pub fn new(opts: StiffOptions) -> Result<Self, IntegrationError> {
        opts.validate()?;
        Ok(Self {
            opts,
            stats: SolverStats::default(),
        })
    }

    /// Counters of the last (or current) integration.
    pub fn stats(&self) -> SolverStats {
        self.stats
    }

    /// Integrates `u' = F(u)` from `(t0, u0)` through the increasing output times `t_out`
    /// (all `≥ t0`), handing the state at each to `observer`. Steps are shortened to land
    /// on output times exactly. Returns the state at the last output time.
    ///
    /// # Errors
    /// See [`IntegrationError`]; the counters stay readable through [`stats`](Self::stats).
    pub fn integrate<S, O>(
        &mut self,
        sys: &mut S,
        t0: f64,
        u0: &[f64],
        t_out: &[f64],
        observer: &mut O,
    ) -> Result<Vec<f64>, IntegrationError>
    where
        S: Linearization + ?Sized,
        O: Observer + ?Sized,
    {
        let started = Instant::now();
        self.stats = SolverStats::default();
        let result = self.run(sys, t0, u0, t_out, observer);
        self.stats.wall_seconds = started.elapsed().as_secs_f64();
        result
    }

    fn run<S, O>(
        &mut self,
        sys: &mut S,
        t0: f64,
        u0: &[f64],
        t_out: &[f64],
        observer: &mut O,
    ) -> Result<Vec<f64>, IntegrationError>
    where
        S: Linearization + ?Sized,
        O: Observer + ?Sized,
    {
        let n = sys.dim();
        validate_request(n, t0, u0, t_out)?;
        let (rtol, atol) = (self.opts.rtol, self.opts.atol);
        let mut u = u0.to_vec();
        let mut t = t0;
        let mut next = 0;
        while next < t_out.len() && t_out[next] <= t0 {
            stop_if(observer.observe(t0, &u), t0)?;
            next += 1;
        }
        let Some(&t_end) = t_out.last() else {
            return Ok(u);
        };
        if next == t_out.len() {
            return Ok(u);
        }

        let mut k: Vec<Vec<f64>> = vec![vec![0.0; n]; 6];
        let mut stage = vec![0.0; n];
        let mut fval = vec![0.0; n];
        let mut u_new = vec![0.0; n];

        sys.rhs(&u, &mut fval);
        self.stats.rhs_evals += 1;
        let mut h = match self.opts.h_init {
            Some(h) => h,
            None => initial_step(&u, &fval, rtol, atol),
        }
        .min(t_end - t);
        let h_max = self.opts.h_max.unwrap_or(f64::INFINITY);
        // Predictive (Gustafsson) controller memory: last accepted step and its error.
        let mut previous: Option<(f64, f64)> = None;

        while next < t_out.len() {
            if self.stats.steps >= self.opts.max_steps {
                return Err(IntegrationError::MaxSteps {
                    t,
                    max_steps: self.opts.max_steps,
                });
            }
            let target = t_out[next];
            sys.update_jacobian(&u);
            self.stats.jacobian_evals += 1;
            let mut rejections = 0usize;
            let mut rejected_here = false;
            loop {
                h = h.min(h_max);
                let hits_output = t + h >= target || (target - t - h) < 1e-12 * h;
                let h_step = if hits_output { target - t } else { h };
                let h_min = 16.0 * f64::EPSILON * t.abs().max(h_step.abs() * 1e-3);
                if rejections > self.opts.max_rejections || h_step <= h_min {
                    return Err(IntegrationError::StepSizeCollapse {
                        t,
                        h: h_step,
                        h_min,
                        rejections,
                    });
                }
                let shift = 1.0 / (GAMMA * h_step);
                sys.factor(shift)
                    .map_err(|reason| IntegrationError::SingularMatrix { t, shift, reason })?;
                self.stats.factorizations += 1;

                let bad = self.stages(sys, h_step, &u, &mut k, &mut stage, &mut fval);
                if let Some(component) = bad {
                    // A stage left the domain where F is finite: shrink and retry.
                    self.stats.rejected_steps += 1;
                    rejections += 1;
                    rejected_here = true;
                    h = h_step * 0.25;
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
                for i in 0..n {
                    u_new[i] = stage[i] + k[5][i];
                }
                let mut acc = 0.0;
                for i in 0..n {
                    let sc = atol + rtol * u[i].abs().max(u_new[i].abs());
                    let e = k[5][i] / sc;
                    acc += e * e;
                }
                let err = (acc / n as f64).sqrt();
                if !err.is_finite() {
                    self.stats.rejected_steps += 1;
                    rejections += 1;
                    rejected_here = true;
                    h = h_step * 0.25;
                    continue;
                }
                let mut q = (err.max(1e-10).powf(0.25) / SAFETY).clamp(Q_MIN, Q_MAX);
                if err <= 1.0 {
                    if let Some((h_prev, err_prev)) = previous {
                        let qg = (h_prev / h_step) * (err.max(1e-10).powi(2) / err_prev).powf(0.25)
                            / SAFETY;
                        q = q.max(qg.clamp(Q_MIN, Q_MAX));
                    }
                    previous = Some((h_step, err.max(1e-2)));
                    if rejected_here {
                        q = q.max(1.0);
                    }
                    t = if hits_output { target } else { t + h_step };
                    std::mem::swap(&mut u, &mut u_new);
                    self.stats.steps += 1;
                    let proposal = h_step / q;
                    // A step shortened to hit an output time says nothing against the longer one.
                    h = if hits_output {
                        proposal.max(h)
                    } else {
                        proposal
                    };
                    stop_if(observer.accepted_step(t, &u), t)?;
                    if hits_output {
                        while next < t_out.len() && t_out[next] <= t {
                            stop_if(observer.observe(t, &u), t)?;
                            next += 1;
                        }
                    }
                    break;
                }
                self.stats.rejected_steps += 1;
                rejections += 1;
                rejected_here = true;
                h = h_step / q.max(1.0);
            }
        }
        Ok(u)
    }

    /// Computes the six stages; returns the index of a non-finite component if any.
    /// On return `stage` holds the argument of stage 6 (`u + Σ a_6j k_j`).
    fn stages<S: Linearization + ?Sized>(
        &mut self,
        sys: &S,
        h: f64,
        u: &[f64],
        k: &mut [Vec<f64>],
        stage: &mut [f64],
        fval: &mut [f64],
    ) -> Option<usize> {
        let n = u.len();
        for s in 0..6 {
            // One fused pass: stage = u + Σ_j a_sj k_j.
            let a = &A[s][..s];
            for i in 0..n {
                let mut v = u[i];
                for (aj, kj) in a.iter().zip(k.iter()) {
                    v += aj * kj[i];
                }
                stage[i] = v;
            }
            if let Some(i) = stage.iter().position(|v| !v.is_finite()) {
                return Some(i);
            }
            sys.rhs(stage, fval);
            self.stats.rhs_evals += 1;
            let (done, rest) = k.split_at_mut(s);
            let ks = &mut rest[0];
            // One fused pass: k_s = F(stage) + Σ_j (c_sj/h) k_j, then W⁻¹.
            let c: Vec<f64> = C[s][..s].iter().map(|c| c / h).collect();
            for i in 0..n {
                let mut v = fval[i];
                for (cj, kj) in c.iter().zip(done.iter()) {
                    v += cj * kj[i];
                }
                ks[i] = v;
            }
            sys.solve(ks);
            self.stats.linear_solves += 1;
            if let Some(i) = ks.iter().position(|v| !v.is_finite()) {
                return Some(i);
            }
        }
        None
    }
}

fn stop_if(flow: ControlFlow<()>, t: f64) -> Result<(), IntegrationError> {
    match flow {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(IntegrationError::StoppedByObserver { t }),
    }
}

pub(crate) fn validate_request(
    n: usize,
    t0: f64,
    u0: &[f64],
    t_out: &[f64],
) -> Result<(), IntegrationError> {
    if u0.len() != n {
        return Err(IntegrationError::InvalidRequest(format!(
            "initial state has {} components, the system has {n}",
            u0.len()
        )));
    }
    if let Some(i) = u0.iter().position(|v| !v.is_finite()) {
        return Err(IntegrationError::NonFinite {
            t: t0,
            component: i,
            h: 0.0,
        });
    }
    if !t0.is_finite() {
        return Err(IntegrationError::InvalidRequest(format!(
            "t0 must be finite, got {t0}"
        )));
    }
    let mut prev = t0;
    for (i, &t) in t_out.iter().enumerate() {
        if !t.is_finite() || t < prev {
            return Err(IntegrationError::InvalidRequest(format!(
                "output times must be finite, non-decreasing and ≥ t0 = {t0}; times[{i}] = {t}"
            )));
        }
        prev = t;
    }
    Ok(())
}

/// Hairer's first guess `h = 0.01 ‖u‖ / ‖F(u)‖` in the weighted RMS norm.
pub(crate) fn initial_step(u: &[f64], f: &[f64], rtol: f64, atol: f64) -> f64 {
    let n = u.len().max(1) as f64;
    let (mut d0, mut d1) = (0.0, 0.0);
    for (&ui, &fi) in u.iter().zip(f) {
        let sc = atol + rtol * ui.abs();
        d0 += (ui / sc).powi(2);
        d1 += (fi / sc).powi(2);
    }
    let (d0, d1) = ((d0 / n).sqrt(), (d1 / n).sqrt());
    if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_systems::{BlowUp, Linear, assert_fails_at_blow_up, exact_y};
    use crate::{DenseSlowFast, Recorder, SlowFastSystem};

    fn solve(eps: f64, rtol: f64, times: &[f64]) -> (Vec<Vec<f64>>, SolverStats) {
        let mut sys = DenseSlowFast::new(Linear, eps);
        let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
        let mut solver = Rodas4::new(StiffOptions {
            rtol,
            atol: rtol * 1e-2,
            ..StiffOptions::default()
        })
        .unwrap();
        solver
            .integrate(&mut sys, 0.0, &[1.0, 0.0], times, &mut rec)
            .unwrap();
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

    #[test]
    fn fixed_step_order_is_four() {
        // Non-stiff scalar u' = −u² on a fixed grid (h_max = h_init, loose tolerance so no
        // rejection): halving h divides the error by ≈ 2⁴. Exact: u = 1/(1+t).
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
        let run = |h: f64| {
            let mut sys = DenseSlowFast::new(Riccati, 1.0);
            let mut rec = Recorder::new(vec!["u".into()]);
            let mut s = Rodas4::new(StiffOptions {
                rtol: 1.0,
                atol: 1.0,
                h_init: Some(h),
                h_max: Some(h),
                ..StiffOptions::default()
            })
            .unwrap();
            let u = s
                .integrate(&mut sys, 0.0, &[1.0], &[2.0], &mut rec)
                .unwrap();
            (u[0] - 1.0 / 3.0).abs()
        };
        let (e1, e2) = (run(0.1), run(0.05));
        let order = (e1 / e2).log2();
        assert!(
            (order - 4.0).abs() < 0.35,
            "observed order {order} ({e1}, {e2})"
        );
    }

    #[test]
    fn bad_requests_are_errors() {
        let mut sys = DenseSlowFast::new(Linear, 0.1);
        let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
        let mut s = Rodas4::new(StiffOptions::default()).unwrap();
        assert!(matches!(
            s.integrate(&mut sys, 0.0, &[1.0], &[1.0], &mut rec),
            Err(IntegrationError::InvalidRequest(_))
        ));
        assert!(matches!(
            s.integrate(&mut sys, 0.0, &[1.0, 0.0], &[1.0, 0.5], &mut rec),
            Err(IntegrationError::InvalidRequest(_))
        ));
        assert!(matches!(
            s.integrate(&mut sys, 0.0, &[f64::NAN, 0.0], &[1.0], &mut rec),
            Err(IntegrationError::NonFinite { component: 0, .. })
        ));
        assert!(
            Rodas4::new(StiffOptions {
                rtol: 0.0,
                ..StiffOptions::default()
            })
            .is_err()
        );
    }

    #[test]
    fn blow_up_is_reported_not_returned() {
        // u' = u², u(0) = 1 blows up at t = 1: the solver must fail there.
        let mut sys = DenseSlowFast::new(BlowUp, 1.0);
        let mut rec = Recorder::new(vec!["u".into()]);
        let mut s = Rodas4::new(StiffOptions::default()).unwrap();
        let r = s.integrate(&mut sys, 0.0, &[1.0], &[2.0], &mut rec);
        assert_fails_at_blow_up(r);
    }
}
