//! Tests of the Dormand–Prince solvers: closed forms, orders of the steps and of the dense
//! output, agreement with ode_solvers, stop times, typed failures and work counters.

use std::cell::Cell;
use std::rc::Rc;

use super::{dop853, dopri5};
use crate::test_systems::{BlowUp, Linear, assert_fails_at_blow_up};
use crate::{
    DenseSlowFast, Dop853, Dopri5, IntegrationError, OdeSystem, Solver, SolverOptions, SolverStats,
};

/// The two pairs, to run every test on both.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    Dopri5,
    Dop853,
}

const METHODS: [Method; 2] = [Method::Dopri5, Method::Dop853];

impl Method {
    fn solver<S: OdeSystem + 'static>(
        self,
        system: S,
        t0: f64,
        u0: &[f64],
        opts: &SolverOptions,
    ) -> Result<Box<dyn Solver>, IntegrationError> {
        Ok(match self {
            Method::Dopri5 => Box::new(Dopri5::new(system, t0, u0, opts)?),
            Method::Dop853 => Box::new(Dop853::new(system, t0, u0, opts)?),
        })
    }
}

/// The harmonic oscillator `u'' = −u`: from `(1, 0)`, `(u, u') = (cos t, −sin t)`.
struct Oscillator;
impl OdeSystem for Oscillator {
    fn dim(&self) -> usize {
        2
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        du[0] = u[1];
        du[1] = -u[0];
    }
}

/// A scalar autonomous equation `u' = f(u)`.
struct Scalar(fn(f64) -> f64);
impl OdeSystem for Scalar {
    fn dim(&self) -> usize {
        1
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        du[0] = self.0(u[0]);
    }
}

/// `u' = −u²`: from `u(0) = 1`, `u = 1/(1 + t)`.
const RICCATI: Scalar = Scalar(|u| -u * u);

/// The van der Pol oscillator `x'' = μ(1 − x²)x' − x` with `μ = 1` (non-stiff, nonlinear).
struct VanDerPol;
impl OdeSystem for VanDerPol {
    fn dim(&self) -> usize {
        2
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        du[0] = u[1];
        du[1] = (1.0 - u[0] * u[0]) * u[1] - u[0];
    }
}

impl ode_solvers::System<f64, ode_solvers::DVector<f64>> for VanDerPol {
    fn system(&self, _t: f64, y: &ode_solvers::DVector<f64>, dy: &mut ode_solvers::DVector<f64>) {
        self.rhs(y.as_slice(), dy.as_mut_slice());
    }
}

/// Counts its right-hand-side calls (in a counter the test keeps a handle on).
struct Counting<S> {
    inner: S,
    calls: Rc<Cell<usize>>,
}
impl<S: OdeSystem> OdeSystem for Counting<S> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        self.calls.set(self.calls.get() + 1);
        self.inner.rhs(u, du);
    }
}

fn opts(rtol: f64, atol: f64) -> SolverOptions {
    SolverOptions {
        rtol,
        atol,
        ..SolverOptions::default()
    }
}

/// Fixed steps `h`: `h_init = h_max = h` and tolerances loose enough that nothing is
/// rejected.
fn fixed(h: f64) -> SolverOptions {
    SolverOptions {
        rtol: 1.0,
        atol: 1.0,
        h_init: Some(h),
        h_max: Some(h),
        ..SolverOptions::default()
    }
}

/// Steps to `t_end` (set as the stop time).
fn run_to(solver: &mut dyn Solver, t_end: f64) -> Result<(), IntegrationError> {
    solver.set_stop_time(t_end)?;
    while solver.t() < t_end {
        solver.step()?;
    }
    Ok(())
}

/// `log2(e_coarse / e_fine)`: the observed order when `h` halves.
fn observed_order(e_coarse: f64, e_fine: f64) -> f64 {
    (e_coarse / e_fine).log2()
}

#[test]
fn tableaux_are_consistent() {
    // Row sums Σ_j a_ij = c_i (the nodes of dopri5.f and dop853.f), Σ b_i = 1, Σ e_i = 0.
    let sum = |r: &[f64]| r.iter().sum::<f64>();
    for (row, c) in dopri5::A.iter().zip(&dopri5::C[1..]) {
        assert!((sum(row) - c).abs() < 1e-15, "dopri5 row {row:?}");
    }
    assert!((sum(&dopri5::B) - 1.0).abs() < 1e-15);
    assert!(sum(&dopri5::E).abs() < 1e-15);
    // dop853.f: c2…c12 (c12 = 1) and c14, c15, c16.
    let nodes = [
        0.05260015195876773,
        0.0789002279381516,
        0.1183503419072274,
        0.2816496580927726,
        1.0 / 3.0,
        0.25,
        4.0 / 13.0,
        127.0 / 195.0,
        0.6,
        6.0 / 7.0,
        1.0,
    ];
    for (row, c) in dop853::STAGES.iter().zip(&nodes) {
        assert!((sum(row) - c).abs() < 1e-14, "dop853 row {row:?}");
    }
    for (row, c) in dop853::EXTRA.iter().zip([0.1, 0.2, 7.0 / 9.0]) {
        assert!((sum(row) - c).abs() < 1e-14, "dop853 extra row {row:?}");
    }
    assert!((sum(&dop853::B) - 1.0).abs() < 1e-14);
    assert!((sum(&dop853::BHH) - 1.0).abs() < 1e-14);
    assert!(sum(&dop853::ER).abs() < 1e-14);
}

#[test]
fn closed_forms_at_tight_tolerance() {
    let (rtol, atol) = (1e-10, 1e-12);
    for m in METHODS {
        // Oscillator over [0, 10]: exact (cos 10, −sin 10).
        let mut s = m
            .solver(Oscillator, 0.0, &[1.0, 0.0], &opts(rtol, atol))
            .unwrap();
        run_to(s.as_mut(), 10.0).unwrap();
        let u = s.state();
        let err = (u[0] - 10f64.cos()).abs().max((u[1] + 10f64.sin()).abs());
        eprintln!("{m:?} oscillator: error {err:.2e}, {:?}", s.stats());
        assert!(err < 5.0 * rtol, "{m:?}: {err:e}");
        // u' = −u² over [0, 10]: exact 1/11.
        let mut s = m.solver(RICCATI, 0.0, &[1.0], &opts(rtol, atol)).unwrap();
        run_to(s.as_mut(), 10.0).unwrap();
        let err = (s.state()[0] - 1.0 / 11.0).abs();
        eprintln!("{m:?} riccati: error {err:.2e}, {:?}", s.stats());
        assert!(err < 5.0 * rtol / 11.0, "{m:?}: {err:e}");
    }
}

#[test]
fn fixed_steps_converge_at_the_orders_of_the_methods() {
    // u' = −u² over [0, 2] (exact u(2) = 1/3) with N and 2N equal steps. Dormand & Prince
    // chose DOPRI5's coefficients to make its principal (h⁵) error constants small, so the
    // h⁶ term dominates this problem down to h ≈ 0.02 (observed orders 6.5, 6.0, 5.65 for
    // N = 8, 16, 32): N ≥ 96 sees order 5. Dop853 reaches round-off (1e-16) near N = 32:
    // N = 8, 10 see order 8 with end errors above 3e-14.
    let cases = [
        (Method::Dopri5, 5.0, [96, 128]),
        (Method::Dop853, 8.0, [8, 10]),
    ];
    for (m, order, coarse) in cases {
        let end_error = |n: usize| {
            let mut s = m
                .solver(RICCATI, 0.0, &[1.0], &fixed(2.0 / n as f64))
                .unwrap();
            run_to(s.as_mut(), 2.0).unwrap();
            assert_eq!(s.stats().steps, n, "{m:?}: fixed steps");
            assert_eq!(s.stats().rejected_steps, 0);
            (s.state()[0] - 1.0 / 3.0).abs()
        };
        for n in coarse {
            let (e_coarse, e_fine) = (end_error(n), end_error(2 * n));
            let p = observed_order(e_coarse, e_fine);
            eprintln!(
                "{m:?}: N = {n}, {}: errors {e_coarse:.3e}, {e_fine:.3e}, order {p:.2}",
                2 * n
            );
            assert!((p - order).abs() < 0.4, "{m:?}: order {p}");
        }
    }
}

#[test]
fn dense_output_is_accurate_inside_steps() {
    let (rtol, atol) = (1e-8, 1e-10);
    for m in METHODS {
        let mut s = m
            .solver(Oscillator, 0.0, &[1.0, 0.0], &opts(rtol, atol))
            .unwrap();
        s.set_stop_time(10.0).unwrap();
        let (mut dense_err, mut step_err) = (0.0f64, 0.0f64);
        let mut u = [0.0; 2];
        while s.t() < 10.0 {
            s.step().unwrap();
            let t = s.t();
            step_err = step_err.max((s.state()[0] - t.cos()).abs());
            let (t0, t1) = (s.t_previous(), s.t());
            for i in 1..10 {
                let ti = t0 + (t1 - t0) * i as f64 / 10.0;
                s.interpolate(ti, &mut u).unwrap();
                dense_err = dense_err.max((u[0] - ti.cos()).abs().max((u[1] + ti.sin()).abs()));
            }
        }
        eprintln!("{m:?}: dense error {dense_err:.2e}, step-end error {step_err:.2e}");
        assert!(dense_err < 10.0 * rtol, "{m:?}: {dense_err:e}");
    }
}

#[test]
fn dense_output_converges_at_its_order() {
    // One step of size h from the exact u(0) of u' = −u²: the continuous extension's error
    // at θ = 1/2 is O(h^{q+1}), q = 4 (Dopri5) and 7 (Dop853).
    for (m, order, hs) in [
        (Method::Dopri5, 5.0, [0.2, 0.1, 0.05]),
        (Method::Dop853, 8.0, [0.2, 0.1, 0.05]),
    ] {
        let errors = hs.map(|h| {
            let mut s = m.solver(RICCATI, 0.0, &[1.0], &fixed(h)).unwrap();
            s.step().unwrap();
            let mut u = [0.0];
            s.interpolate(0.5 * h, &mut u).unwrap();
            (u[0] - 1.0 / (1.0 + 0.5 * h)).abs()
        });
        for w in errors.windows(2) {
            let p = observed_order(w[0], w[1]);
            eprintln!("{m:?}: mid-step errors {errors:?}, observed order {p:.2}");
            assert!((p - order).abs() < 0.5, "{m:?}: order {p} from {errors:?}");
        }
    }
}

#[test]
fn dense_output_reproduces_the_step_ends() {
    for m in METHODS {
        let mut s = m.solver(RICCATI, 0.0, &[1.0], &opts(1e-6, 1e-9)).unwrap();
        let mut u = [f64::NAN];
        // Before the first step: the initial state at t0, an error elsewhere.
        s.interpolate(0.0, &mut u).unwrap();
        assert_eq!(u, [1.0]);
        assert!(matches!(
            s.interpolate(0.1, &mut u),
            Err(IntegrationError::InvalidRequest(_))
        ));
        for _ in 0..5 {
            let before = s.state().to_vec();
            s.step().unwrap();
            s.interpolate(s.t_previous(), &mut u).unwrap();
            assert_eq!(u.as_slice(), before.as_slice(), "{m:?} at t_previous");
            s.interpolate(s.t(), &mut u).unwrap();
            assert_eq!(u.as_slice(), s.state(), "{m:?} at t");
        }
        let t_out = s.t() + 1e-3 * (s.t() - s.t_previous());
        assert!(matches!(
            s.interpolate(t_out, &mut u),
            Err(IntegrationError::InvalidRequest(_))
        ));
        assert!(matches!(
            s.interpolate(s.t(), &mut [0.0; 2]),
            Err(IntegrationError::InvalidRequest(_))
        ));
    }
}

#[test]
fn agrees_with_ode_solvers() {
    use ode_solvers::{DVector, OutputType};
    // Van der Pol, μ = 1, from (2, 0) over [0, 20] (about three periods), in both crates
    // at the same tolerances.
    let (rtol, atol, t_end) = (1e-8, 1e-8, 20.0);
    let u0 = [2.0, 0.0];
    // Reference: Dop853 at rtol 1e-13.
    let mut r = Method::Dop853
        .solver(VanDerPol, 0.0, &u0, &opts(1e-13, 1e-13))
        .unwrap();
    run_to(r.as_mut(), t_end).unwrap();
    let reference = r.state().to_vec();
    for m in METHODS {
        let y0 = DVector::from_column_slice(&u0);
        let (theirs, their_stats) = match m {
            Method::Dopri5 => {
                let mut s = ode_solvers::Dopri5::new(VanDerPol, 0.0, t_end, t_end, y0, rtol, atol);
                s.set_output(OutputType::Sparse);
                let stats = s.integrate().unwrap();
                (s.y_out().last().unwrap().as_slice().to_vec(), stats)
            }
            Method::Dop853 => {
                let mut s = ode_solvers::Dop853::new(VanDerPol, 0.0, t_end, t_end, y0, rtol, atol);
                s.set_output(OutputType::Sparse);
                let stats = s.integrate().unwrap();
                (s.y_out().last().unwrap().as_slice().to_vec(), stats)
            }
        };
        let mut s = m.solver(VanDerPol, 0.0, &u0, &opts(rtol, atol)).unwrap();
        run_to(s.as_mut(), t_end).unwrap();
        let ours = s.state();
        let diff = (ours[0] - theirs[0]).abs().max((ours[1] - theirs[1]).abs());
        let our_err = (ours[0] - reference[0])
            .abs()
            .max((ours[1] - reference[1]).abs());
        let their_err = (theirs[0] - reference[0])
            .abs()
            .max((theirs[1] - reference[1]).abs());
        let (ours_n, theirs_n) = (s.stats().steps, their_stats.accepted_steps as usize);
        eprintln!(
            "{m:?}: steps {ours_n} (ode_solvers {theirs_n}), rejected {} ({}), \
             difference {diff:.2e}, errors {our_err:.2e} ({their_err:.2e})",
            s.stats().rejected_steps,
            their_stats.rejected_steps
        );
        assert!(diff < 3.0 * rtol, "{m:?}: {diff:e}");
        let ratio = ours_n as f64 / theirs_n as f64;
        assert!(
            (ratio - 1.0).abs() <= 0.15,
            "{m:?}: {ours_n} vs {theirs_n} steps"
        );
    }
}

#[test]
fn stop_time_is_landed_on_exactly() {
    for m in METHODS {
        let mut s = m
            .solver(Oscillator, 0.0, &[1.0, 0.0], &opts(1e-9, 1e-12))
            .unwrap();
        assert_eq!(s.stop_time(), None);
        run_to(s.as_mut(), 1.0).unwrap();
        assert_eq!(s.t(), 1.0);
        assert_eq!(s.stop_time(), Some(1.0));
        // At the stop time no step is possible; a stop time behind t is refused.
        assert!(matches!(s.step(), Err(IntegrationError::InvalidRequest(_))));
        assert!(matches!(
            s.set_stop_time(0.5),
            Err(IntegrationError::InvalidRequest(_))
        ));
        assert!(matches!(
            s.set_stop_time(f64::NAN),
            Err(IntegrationError::InvalidRequest(_))
        ));
        // A later stop time continues from there.
        run_to(s.as_mut(), 2.5).unwrap();
        assert_eq!(s.t(), 2.5);
        assert!((s.state()[0] - 2.5f64.cos()).abs() < 1e-8);
    }
}

#[test]
fn without_a_stop_time_steps_are_unbounded_and_h_max_holds() {
    for m in METHODS {
        let o = SolverOptions {
            h_max: Some(0.1),
            ..opts(1e-6, 1e-9)
        };
        let mut s = m.solver(Oscillator, 0.0, &[1.0, 0.0], &o).unwrap();
        while s.t() < 3.0 {
            let t0 = s.t();
            s.step().unwrap();
            assert!(
                s.t() - t0 <= 0.1 * (1.0 + 1e-15),
                "{m:?}: step {}",
                s.t() - t0
            );
        }
        assert!(s.t() > 3.0);
    }
}

#[test]
fn long_non_stiff_runs_pass_the_stiffness_test() {
    // Over 1000 accepted steps, so the test runs at least once and must answer "non-stiff".
    for m in METHODS {
        let o = SolverOptions {
            h_max: Some(0.01),
            ..opts(1e-6, 1e-9)
        };
        let mut s = m.solver(VanDerPol, 0.0, &[2.0, 0.0], &o).unwrap();
        run_to(s.as_mut(), 30.0).unwrap();
        assert!(s.stats().steps >= 3000, "{m:?}: {:?}", s.stats());
    }
}

#[test]
fn blow_up_is_a_typed_failure() {
    // u' = u², u(0) = 1 blows up at t = 1.
    for m in METHODS {
        let mut s = m
            .solver(
                DenseSlowFast::new(BlowUp, 1.0),
                0.0,
                &[1.0],
                &opts(1e-8, 1e-10),
            )
            .unwrap();
        let r = run_to(s.as_mut(), 2.0);
        eprintln!("{m:?}: {r:?}");
        assert_fails_at_blow_up(r);
        assert!(s.state()[0].is_finite());
    }
}

#[test]
fn stiffness_is_detected() {
    // x' = −x, ε y' = −(y − x) with ε = 1e-9: once y has relaxed onto x, explicit steps are
    // held at the stability boundary h ≈ 3ε while the solution is smooth.
    for m in METHODS {
        let stiff = DenseSlowFast::new(Linear, 1e-9);
        let mut s = m
            .solver(stiff, 0.0, &[1.0, 0.0], &opts(1e-6, 1e-9))
            .unwrap();
        match run_to(s.as_mut(), 1.0) {
            Err(IntegrationError::Stiff { t, steps }) => {
                eprintln!("{m:?}: stiff at t = {t:e} after {steps} steps");
                assert!((1000..1100).contains(&steps), "{m:?}: {steps}");
                assert_eq!(t, s.t());
            }
            other => panic!("{m:?}: expected Stiff, got {other:?}"),
        }
    }
}

#[test]
fn non_finite_right_hand_sides_are_typed_failures() {
    // u' = 1 for u < 1/2, NaN beyond: u = t cannot pass t = 1/2.
    const CLIFF: Scalar = Scalar(|u| if u < 0.5 { 1.0 } else { f64::NAN });
    for m in METHODS {
        let mut s = m.solver(CLIFF, 0.0, &[0.0], &opts(1e-8, 1e-10)).unwrap();
        match run_to(s.as_mut(), 1.0) {
            Err(IntegrationError::NonFinite {
                t, component: 0, ..
            }) => {
                assert!((t - 0.5).abs() < 1e-6, "{m:?}: failed at {t}")
            }
            other => panic!("{m:?}: expected NonFinite, got {other:?}"),
        }
        assert!(s.state()[0] < 0.5);
        let st = s.stats();
        assert!(st.non_finite_failures > 0, "{m:?}: {st:?}");
        assert_eq!(
            st.error_test_failures
                + st.convergence_failures
                + st.non_finite_failures
                + st.domain_failures,
            st.rejected_steps,
            "{m:?}: {st:?}"
        );
        // The dense output of the last accepted step survives the failed (NaN) attempts.
        let (t_mid, mut u) = (0.5 * (s.t_previous() + s.t()), [0.0]);
        s.interpolate(t_mid, &mut u).unwrap();
        assert!((u[0] - t_mid).abs() < 1e-12, "{m:?}: {} at {t_mid}", u[0]);
        // F(u0) itself not finite: reported at once.
        let mut s = m.solver(CLIFF, 0.0, &[0.7], &opts(1e-8, 1e-10)).unwrap();
        assert!(matches!(
            s.step(),
            Err(IntegrationError::NonFinite {
                t: 0.0,
                component: 0,
                ..
            })
        ));
    }
}

#[test]
fn invalid_requests_are_refused() {
    for m in METHODS {
        let bad_start = m.solver(RICCATI, 0.0, &[f64::NAN], &opts(1e-6, 1e-9));
        assert!(matches!(
            bad_start,
            Err(IntegrationError::NonFinite { component: 0, .. })
        ));
        let wrong_len = m.solver(RICCATI, 0.0, &[1.0, 2.0], &opts(1e-6, 1e-9));
        assert!(matches!(
            wrong_len,
            Err(IntegrationError::InvalidRequest(_))
        ));
        let bad_t0 = m.solver(RICCATI, f64::INFINITY, &[1.0], &opts(1e-6, 1e-9));
        assert!(matches!(bad_t0, Err(IntegrationError::InvalidRequest(_))));
        let zero_rtol = m.solver(RICCATI, 0.0, &[1.0], &opts(0.0, 1e-9));
        assert!(matches!(
            zero_rtol,
            Err(IntegrationError::InvalidRequest(_))
        ));
        let bad_h = SolverOptions {
            h_init: Some(-0.1),
            ..opts(1e-6, 1e-9)
        };
        assert!(matches!(
            m.solver(RICCATI, 0.0, &[1.0], &bad_h),
            Err(IntegrationError::InvalidRequest(_))
        ));
    }
}

#[test]
fn step_limit_is_typed() {
    for m in METHODS {
        let o = SolverOptions {
            max_steps: 3,
            ..opts(1e-6, 1e-9)
        };
        let mut s = m.solver(Oscillator, 0.0, &[1.0, 0.0], &o).unwrap();
        for _ in 0..3 {
            s.step().unwrap();
        }
        let t = s.t();
        assert_eq!(
            s.step(),
            Err(IntegrationError::MaxSteps { t, max_steps: 3 })
        );
    }
}

#[test]
fn work_counters_count_every_right_hand_side() {
    for m in METHODS {
        let calls = Rc::new(Cell::new(0));
        let counting = Counting {
            inner: VanDerPol,
            calls: Rc::clone(&calls),
        };
        // Coarse enough that some attempts are rejected.
        let o = opts(1e-4, 1e-6);
        let mut s = m.solver(counting, 0.0, &[2.0, 0.0], &o).unwrap();
        s.set_stop_time(10.0).unwrap();
        let mut u = [0.0; 2];
        let mut interpolated_steps = 0;
        while s.t() < 10.0 {
            s.step().unwrap();
            if s.stats().steps % 2 == 0 {
                // Twice in the same step: the extra stages of Dop853 are paid once.
                let (t0, t1) = (s.t_previous(), s.t());
                s.interpolate(0.5 * (t0 + t1), &mut u).unwrap();
                s.interpolate(0.25 * t0 + 0.75 * t1, &mut u).unwrap();
                interpolated_steps += 1;
            }
        }
        let st: SolverStats = s.stats();
        let attempts = st.steps + st.rejected_steps;
        eprintln!("{m:?}: {st:?}");
        assert!(st.rejected_steps > 0, "{m:?}: no rejection to count");
        assert_eq!(st.error_test_failures, st.rejected_steps, "{m:?}: {st:?}");
        // F(u0) and the starting-step heuristic, then per attempt: 6 (Dopri5, FSAL) or
        // 11 + 1 per accepted step + 3 per interpolated step (Dop853).
        let expected = match m {
            Method::Dopri5 => 2 + 6 * attempts,
            Method::Dop853 => 2 + 11 * attempts + st.steps + 3 * interpolated_steps,
        };
        assert_eq!(st.rhs_evals, expected, "{m:?}");
        assert_eq!(st.rhs_evals, calls.get(), "{m:?}: counted vs made");
        assert_eq!(
            (st.jacobian_evals, st.factorizations, st.linear_solves),
            (0, 0, 0)
        );
        assert_eq!(st.wall_seconds, 0.0);
    }
}

#[test]
fn the_system_is_lent_and_given_back() {
    let calls = Rc::new(Cell::new(0));
    let system = Counting {
        inner: RICCATI,
        calls: Rc::clone(&calls),
    };
    let mut s = Dopri5::new(system, 0.0, &[1.0], &opts(1e-6, 1e-9)).unwrap();
    s.step().unwrap();
    assert_eq!(s.system().calls.get(), s.stats().rhs_evals);
    let system = s.into_system();
    assert_eq!(system.calls.get(), calls.get());
    let s = Dop853::new(system, 0.0, &[1.0], &opts(1e-6, 1e-9)).unwrap();
    assert_eq!(s.system().dim(), 1);
}
