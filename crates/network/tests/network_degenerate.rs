//! Degenerate and random small inputs: the population flow, online SGD and the comparison
//! with the limit never panic; they give finite results that keep the flow's invariants
//! (risk non-increasing within the tolerance, `|s_i| ≤ 1`) or typed errors. Property tests
//! with a bounded budget (tiny `d`, `m` and horizons).

use std::ops::ControlFlow;

use proptest::prelude::*;
use timescales_network::{
    FlowOptions, InitialLaw, LimitComparison, Model, NetworkError, NetworkState, PopulationFlow,
    Sgd, SgdOptions, Snapshot, SummaryRecorder, Trajectory,
};

fn limit_curve(t: &[f64], r: &[f64]) -> Trajectory {
    let mut traj = Trajectory::new(vec!["risk".into()]);
    for (t, r) in t.iter().zip(r) {
        traj.push(*t, &[*r]);
    }
    traj
}

fn network_curve(t: &[f64], r: &[f64]) -> Trajectory {
    let mut rec = SummaryRecorder::new();
    let state = NetworkState::random(3, 2, &InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 0).unwrap();
    for (t, r) in t.iter().zip(r) {
        let snap = Snapshot {
            t: *t,
            state: &state,
            risk: *r,
        };
        assert!(timescales_network::FlowObserver::observe(&mut rec, &snap).is_continue());
    }
    rec.trajectory
}

#[test]
fn without_a_degree_one_drop_there_is_no_phase_one_time() {
    // K = 0 (σ = [1], φ = [0.5]): R_0 = R_1 = 0, the "midpoint" is 0 and used to give a
    // meaningless crossing time.
    let model = Model::new(&[1.0], &[0.5], 0.0).unwrap();
    let t = [0.0, 1e-3, 1e-2, 1e-1, 1.0];
    let r = [0.125, 0.1, 1e-3, 1e-9, 0.0];
    let c = LimitComparison::new(
        4,
        2,
        &network_curve(&t, &r),
        &limit_curve(&t, &r),
        &model,
        1e-2,
        0.3,
    )
    .unwrap();
    assert_eq!(
        (c.t1_network, c.t1_limit, c.t1_predicted),
        (None, None, None)
    );
    assert_eq!(c.sup_distance, 0.0);
}

#[test]
fn curves_without_a_row_at_zero_are_compared_on_all_their_times() {
    let model = Model::new(&[0.0, 1.0], &[0.0, 1.0], 0.0).unwrap();
    // One output time only, no t = 0 row (`run.times = [1.0]`).
    let c = LimitComparison::new(
        4,
        2,
        &network_curve(&[1.0], &[0.2]),
        &limit_curve(&[1.0], &[0.3]),
        &model,
        1e-2,
        0.3,
    )
    .unwrap();
    assert!((c.sup_distance - 0.1).abs() < 1e-15, "{c:?}");
    assert_eq!(c.risk_limit, [0.3]);
    // No positive time at all is a typed error.
    let e = LimitComparison::new(
        4,
        2,
        &network_curve(&[0.0], &[0.2]),
        &limit_curve(&[0.0], &[0.3]),
        &model,
        1e-2,
        0.3,
    )
    .unwrap_err();
    assert!(matches!(e, NetworkError::TooFewPoints { .. }), "{e}");
}

#[test]
fn a_relative_tolerance_of_one_or_more_is_refused() {
    let model = Model::new(&[0.0, 1.0], &[0.0, 1.0], 0.0).unwrap();
    let mut opts = FlowOptions::new(1e-2);
    opts.solver.rtol = 2.0;
    let e = PopulationFlow::new(model, 4, 2, opts).unwrap_err();
    assert!(
        matches!(e, NetworkError::InvalidParameter { what: "rtol", .. }),
        "{e}"
    );
}

#[test]
fn an_sgd_step_longer_than_the_run_is_refused() {
    let model = Model::new(&[0.0, 1.0], &[0.0, 1.0], 0.0).unwrap();
    let opts = SgdOptions {
        eps: 1e-2,
        lr: 10.0,
        batch: 4,
        seed: 0,
    };
    let mut sgd = Sgd::new(model, 4, 2, opts).unwrap();
    let mut s = NetworkState::random(4, 2, &InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 0).unwrap();
    let e = sgd
        .run(&mut s, &[0.0, 1.0], &mut SummaryRecorder::new())
        .unwrap_err();
    assert!(
        matches!(e, NetworkError::InvalidParameter { what: "lr", .. }),
        "{e}"
    );
}

/// A coefficient: often exactly zero (whole parities vanish for common activations).
fn coeff() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 3 => -1.5..1.5f64]
}

fn law() -> impl Strategy<Value = InitialLaw> {
    prop_oneof![
        (-2.0..2.0f64, 1e-6..2.0f64).prop_map(|(lo, w)| InitialLaw::Uniform { lo, hi: lo + w }),
        (-1.0..1.0f64, 1e-6..2.0f64).prop_map(|(mean, std)| InitialLaw::Normal { mean, std }),
        prop::collection::vec((-2.0..2.0f64, 0.0..1.0f64), 1..4).prop_map(|v| {
            let (values, mut weights): (Vec<f64>, Vec<f64>) = v.into_iter().unzip();
            weights[0] += 0.1; // not all zero
            InitialLaw::Discrete { values, weights }
        }),
    ]
}

/// A small model, a tiny network and a short horizon.
#[derive(Debug, Clone)]
struct Case {
    sigma: Vec<f64>,
    phi: Vec<f64>,
    tail: f64,
    law: InitialLaw,
    d: usize,
    m: usize,
    eps: f64,
    t_end: f64,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(coeff(), 1..5),
        prop::collection::vec(coeff(), 1..5),
        prop_oneof![Just(0.0), 0.0..0.5f64],
        law(),
        (1usize..6, 1usize..6),
        (-3.0..0.0f64, -3.0..0.0f64),
        any::<u64>(),
    )
        .prop_map(|(sigma, phi, tail, law, (d, m), (le, lt), seed)| Case {
            sigma,
            phi,
            tail,
            law,
            d,
            m,
            eps: 10f64.powf(le),
            t_end: 10f64.powf(lt),
            seed,
        })
}

/// Checks one snapshot: finite risk, `|s_i| ≤ 1`, and the risk not above the previous one
/// by more than the flow's tolerance.
fn check(s: &Snapshot<'_>, last: &mut Option<f64>, slack: f64) -> Result<(), TestCaseError> {
    prop_assert!(s.risk.is_finite() && s.risk >= -1e-12, "risk {}", s.risk);
    prop_assert!(
        s.state.max_abs_overlap() <= 1.0 + 1e-9,
        "{}",
        s.state.max_abs_overlap()
    );
    if let Some(r) = *last {
        prop_assert!(s.risk <= r + slack * r.max(1.0), "risk {r} -> {}", s.risk);
    }
    *last = Some(s.risk);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The population flow on a tiny random network of a random model.
    #[test]
    fn population_flow_never_panics(c in case()) {
        let model = match Model::new(&c.sigma, &c.phi, c.tail) {
            Ok(m) => m,
            Err(e) => return Err(TestCaseError::fail(format!("valid model refused: {e}"))),
        };
        let mut state = NetworkState::random(c.d, c.m, &c.law, c.seed).unwrap();
        let mut opts = FlowOptions::new(c.eps);
        opts.solver.max_steps = 20_000;
        let mut flow = PopulationFlow::new(model, c.d, c.m, opts).unwrap();
        let times = [0.0, c.t_end / 10.0, c.t_end];
        let mut last = None;
        let mut failed = Ok(());
        let mut rec = SummaryRecorder::new();
        let out = flow.integrate(&mut state, 0.0, &times, &mut |s: &Snapshot<'_>| {
            match check(s, &mut last, 1e-6) {
                Ok(()) => timescales_network::FlowObserver::observe(&mut rec, s),
                Err(e) => {
                    failed = Err(e);
                    ControlFlow::Break(())
                }
            }
        });
        failed?;
        match out {
            Ok(_) => {
                prop_assert_eq!(state.first_non_finite(), None);
                // The comparison of a curve with itself: no panic, distance 0.
                let model = Model::new(&c.sigma, &c.phi, c.tail).unwrap();
                let cmp = LimitComparison::new(
                    c.d, c.m, &rec.trajectory, &rec.trajectory, &model, c.eps, 0.1,
                )
                .unwrap();
                prop_assert_eq!(cmp.sup_distance, 0.0);
                prop_assert_eq!(cmp.t1_network, cmp.t1_limit);
            }
            // A typed error that names what went wrong (the step limit of a stiff case).
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// Online SGD on a tiny random network: a few steps of a random size.
    #[test]
    fn sgd_never_panics(c in case(), lr_exp in -4.0..-1.0f64, batch in 1usize..9) {
        let model = Model::new(&c.sigma, &c.phi, c.tail).unwrap();
        let lr = 10f64.powf(lr_exp);
        let opts = SgdOptions { eps: c.eps, lr, batch, seed: c.seed };
        let mut sgd = Sgd::new(model, c.d, c.m, opts).unwrap();
        let mut state = NetworkState::random(c.d, c.m, &c.law, c.seed).unwrap();
        // At most ~50 steps.
        let times = [0.0, 25.0 * lr, 50.0 * lr];
        let mut rec = SummaryRecorder::new();
        match sgd.run(&mut state, &times, &mut rec) {
            Ok(()) => {
                let risk = rec.trajectory.column("risk").unwrap();
                prop_assert!(risk.iter().all(|r| r.is_finite()), "{risk:?}");
                prop_assert!(state.max_abs_overlap() <= 1.0 + 1e-9);
            }
            // SGD may diverge at a large step: a typed error that says so.
            Err(e) => prop_assert!(
                matches!(e, NetworkError::SgdDiverged { .. }),
                "{e}"
            ),
        }
    }
}
