//! The population gradient flow integrator: monotone risk, sphere, reproducibility,
//! convergence order, agreement with an independent stiff integrator, typed failures.

use std::ops::ControlFlow;

use timescales_network::{
    FlowOptions, InitialLaw, Model, NetworkError, NetworkState, Population, PopulationFlow,
    Snapshot, SummaryRecorder, log_grid,
};
use timescales_ode::{
    DenseSlowFast, OdeSystem, Recorder, Rodas4, SlowFastSystem, SolverOptions, integrate,
};

fn public_model() -> Model {
    let sigma: Vec<f64> = (0..6u32)
        .map(|k| 1.0 / ((1..=k).product::<u32>() as f64).sqrt())
        .collect();
    Model::new(&sigma, &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0], 0.0).unwrap()
}

const LAW: InitialLaw = InitialLaw::Uniform { lo: -1.0, hi: 1.0 };

fn times(eps: f64, t_end: f64, n: usize) -> Vec<f64> {
    let mut t = vec![0.0];
    t.extend(log_grid(eps / 10.0, t_end, n).unwrap());
    t
}

fn run(
    d: usize,
    m: usize,
    seed: u64,
    opts: FlowOptions,
    t_out: &[f64],
) -> (SummaryRecorder, NetworkState, PopulationFlow) {
    let mut state = NetworkState::random(d, m, &LAW, seed).unwrap();
    let mut flow = PopulationFlow::new(public_model(), d, m, opts).unwrap();
    let mut rec = SummaryRecorder::new();
    flow.integrate(&mut state, 0.0, t_out, &mut rec).unwrap();
    (rec, state, flow)
}

/// The risk never increases (checked at every step inside the integrator, and here at the
/// outputs), and every `w_i` stays on the unit sphere.
#[test]
fn risk_decreases_and_weights_stay_on_the_sphere() {
    let eps = 0.02;
    let t_out = times(eps, 2.0, 30);
    let mut state = NetworkState::random(12, 10, &LAW, 3).unwrap();
    let mut flow = PopulationFlow::new(public_model(), 12, 10, FlowOptions::new(eps)).unwrap();
    let mut risks = Vec::new();
    let mut defects = Vec::new();
    flow.integrate(&mut state, 0.0, &t_out, &mut |s: &Snapshot<'_>| {
        risks.push(s.risk);
        defects.push(s.state.sphere_defect());
        ControlFlow::Continue(())
    })
    .unwrap();
    for w in risks.windows(2) {
        assert!(w[1] <= w[0] + 1e-12, "risk went up: {} -> {}", w[0], w[1]);
    }
    assert!(
        risks.last().unwrap() < &(0.9 * risks[0]),
        "nothing learnt: {risks:?}"
    );
    assert!(defects.iter().all(|d| *d < 1e-14), "{defects:?}");
    let st = flow.stats();
    assert!(st.max_risk_increase <= 1e-12, "{st:?}");
    // Before the projection the drift off the sphere is only the local error.
    assert!(st.max_sphere_defect < 1e-5, "{st:?}");
    assert_eq!(st.cholesky_fallbacks, 0, "{st:?}");
}

#[test]
fn same_seed_same_numbers() {
    let eps = 0.05;
    let t_out = times(eps, 0.5, 8);
    let (r1, s1, _) = run(9, 70, 42, FlowOptions::new(eps), &t_out);
    let (r2, s2, _) = run(9, 70, 42, FlowOptions::new(eps), &t_out);
    assert_eq!(r1.trajectory, r2.trajectory);
    assert_eq!(s1, s2);
    let (r3, _, _) = run(9, 70, 43, FlowOptions::new(eps), &t_out);
    assert_ne!(r1.trajectory, r3.trajectory);
}

/// Fixed steps `h, h/2, h/4` against a reference at `h/32`: the error falls at the
/// method's order 4 (observed order ≥ 3.5), including with `h/ε` up to 1 where the fast
/// layer is integrated implicitly.
#[test]
fn fixed_step_error_falls_at_fourth_order() {
    let eps = 0.05;
    let t_out = [0.0, 0.4];
    let h0 = 0.05;
    let final_state = |h: f64| {
        let mut o = FlowOptions::new(eps);
        o.fixed_step = Some(h);
        run(6, 5, 9, o, &t_out).1
    };
    let reference = final_state(h0 / 32.0);
    let errs: Vec<f64> = [1.0, 2.0, 4.0]
        .iter()
        .map(|k| {
            let s = final_state(h0 / k);
            (&s.a - &reference.a)
                .amax()
                .max((&s.w - &reference.w).amax())
        })
        .collect();
    for w in errs.windows(2) {
        let order = (w[0] / w[1]).log2();
        assert!(order > 3.5, "observed order {order:.2} (errors {errs:?})");
    }
}

/// Adaptive steps: the error against a tight reference shrinks with the tolerance.
#[test]
fn adaptive_error_follows_tolerance() {
    let eps = 0.01;
    let t_out = [0.0, 0.3];
    let at = |rtol: f64| {
        let mut o = FlowOptions::new(eps);
        o.solver.rtol = rtol;
        o.solver.atol = rtol * 1e-3;
        run(8, 6, 2, o, &t_out)
    };
    let (_, reference, _) = at(1e-11);
    let mut prev = f64::INFINITY;
    for rtol in [1e-4, 1e-6, 1e-8] {
        let (_, s, flow) = at(rtol);
        let err = (&s.a - &reference.a)
            .amax()
            .max((&s.w - &reference.w).amax());
        assert!(
            err < 50.0 * rtol * 10.0,
            "rtol {rtol}: error {err:e} ({:?})",
            flow.stats()
        );
        assert!(err < prev, "rtol {rtol}: error {err:e} not below {prev:e}");
        prev = err;
    }
}

/// The same network ODE (tiny: d = 3, m = 3, 12 unknowns) integrated by the workspace's
/// RODAS with a dense finite-difference Jacobian: the two agree on the risk curve to 1e-7.
#[test]
fn agrees_with_rodas_on_a_tiny_network() {
    struct Tiny {
        pop: std::cell::RefCell<Population>,
        d: usize,
        m: usize,
    }
    impl Tiny {
        fn state(&self, x: &[f64], y: &[f64]) -> NetworkState {
            NetworkState::new(
                nalgebra::DVector::from_column_slice(y),
                nalgebra::DMatrix::from_column_slice(self.d, self.m, x),
            )
            .unwrap()
        }
    }
    impl SlowFastSystem for Tiny {
        fn slow_dim(&self) -> usize {
            self.d * self.m
        }
        fn fast_dim(&self) -> usize {
            self.m
        }
        fn slow_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
            let (_, _, fw) = self.pop.borrow_mut().field(&self.state(x, y)).unwrap();
            out.copy_from_slice(fw.as_slice());
        }
        fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
            let (_, fa, _) = self.pop.borrow_mut().field(&self.state(x, y)).unwrap();
            out.copy_from_slice(fa.as_slice());
        }
    }
    let (d, m, eps) = (3, 3, 1e-2);
    let t_out = times(eps, 1.0, 25);
    let s0 = NetworkState::random(d, m, &LAW, 5).unwrap();
    let tiny = Tiny {
        pop: std::cell::RefCell::new(Population::new(public_model(), d, m).unwrap()),
        d,
        m,
    };
    let sys = DenseSlowFast::new(tiny, eps);
    let mut u0: Vec<f64> = s0.w.as_slice().to_vec();
    u0.extend(s0.a.iter());
    let mut rec = Recorder::new((0..sys.dim()).map(|i| format!("u{i}")).collect());
    let opts = SolverOptions {
        rtol: 1e-10,
        atol: 1e-12,
        ..SolverOptions::default()
    };
    let mut solver = Rodas4::new(sys, 0.0, &u0, &opts).unwrap();
    integrate(&mut solver, &t_out, &mut [], &mut rec).unwrap();
    let mut pop = Population::new(public_model(), d, m).unwrap();
    let mut o = FlowOptions::new(eps);
    o.solver.rtol = 1e-10;
    o.solver.atol = 1e-12;
    let mut state = s0.clone();
    let mut flow = PopulationFlow::new(public_model(), d, m, o).unwrap();
    let mut ours = SummaryRecorder::new();
    flow.integrate(&mut state, 0.0, &t_out, &mut ours).unwrap();
    let risk = ours.trajectory.column("risk").unwrap();
    for (k, _) in t_out.iter().enumerate() {
        let u: Vec<f64> = rec.trajectory.columns.iter().map(|c| c[k]).collect();
        let mut st = tiny_state(d, m, &u);
        st.project_to_sphere(); // RODAS does not project: its drift is at the tolerance.
        let r = pop.risk(&st).unwrap();
        assert!(
            (r - risk[k]).abs() < 1e-7,
            "t = {}: rodas {r} vs ark {}",
            t_out[k],
            risk[k]
        );
    }
}

fn tiny_state(d: usize, m: usize, u: &[f64]) -> NetworkState {
    NetworkState::new(
        nalgebra::DVector::from_column_slice(&u[d * m..]),
        nalgebra::DMatrix::from_column_slice(d, m, &u[..d * m]),
    )
    .unwrap()
}

/// At ε = 1e-5 the fast layer is far stiffer than the slow one: the implicit treatment
/// keeps the step count bounded (an explicit method would need `t/ε` steps).
#[test]
fn stiff_fast_layer_does_not_limit_the_step() {
    let eps = 1e-5;
    let t_out = [0.0, 1e-3, 0.05];
    let (rec, _, flow) = run(6, 8, 1, FlowOptions::new(eps), &t_out);
    let st = flow.stats();
    assert!(st.steps < 400, "{st:?}");
    let r = rec.trajectory.column("risk").unwrap();
    assert!(r[2] <= r[0]);
}

#[test]
fn failures_are_typed_with_context() {
    let eps = 0.05;
    let model = public_model();
    // Non-finite initial state.
    let mut s = NetworkState::random(4, 3, &LAW, 0).unwrap();
    s.a[2] = f64::NAN;
    let mut flow = PopulationFlow::new(model.clone(), 4, 3, FlowOptions::new(eps)).unwrap();
    let e = flow
        .integrate(&mut s, 0.0, &[0.1], &mut SummaryRecorder::new())
        .unwrap_err();
    assert!(
        matches!(
            e,
            NetworkError::NonFinite {
                what: "a",
                neuron: 2,
                step: 0,
                ..
            }
        ),
        "{e}"
    );
    // A risk-increase tolerance below zero makes the first decreasing step fail too:
    // exercises the check and its error.
    let mut o = FlowOptions::new(eps);
    o.risk_increase_tol = -1.0;
    let mut s = NetworkState::random(4, 3, &LAW, 0).unwrap();
    let mut flow = PopulationFlow::new(model.clone(), 4, 3, o).unwrap();
    let e = flow
        .integrate(&mut s, 0.0, &[0.1], &mut SummaryRecorder::new())
        .unwrap_err();
    assert!(
        matches!(e, NetworkError::RiskIncreased { step: 1, .. }),
        "{e}"
    );
    // An observer stop.
    let mut s = NetworkState::random(4, 3, &LAW, 0).unwrap();
    let mut flow = PopulationFlow::new(model.clone(), 4, 3, FlowOptions::new(eps)).unwrap();
    let e = flow
        .integrate(&mut s, 0.0, &[0.0, 0.1], &mut |_: &Snapshot<'_>| {
            ControlFlow::Break(())
        })
        .unwrap_err();
    assert_eq!(e, NetworkError::StoppedByObserver { t: 0.0 });
    // Bad options and times.
    assert!(PopulationFlow::new(model.clone(), 4, 3, FlowOptions::new(0.0)).is_err());
    let mut flow = PopulationFlow::new(model, 4, 3, FlowOptions::new(eps)).unwrap();
    let e = flow
        .integrate(&mut s, 0.0, &[0.2, 0.1], &mut SummaryRecorder::new())
        .unwrap_err();
    assert!(matches!(e, NetworkError::InvalidParameter { .. }), "{e}");
}
