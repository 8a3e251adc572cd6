//! Degenerate problems through the commands' library entry points (`simulate`,
//! `measure_point`, `Study::point`): a result or a typed error that says why, never a panic.
//! Targeted cases, then property tests on small random valid problems with a bounded budget
//! (N ≤ 4, short horizons, coarse tolerances).

use proptest::prelude::*;
use timescales_analysis::ConvergeOptions;
use timescales_meanfield::{FlowProblem, InitialLaw, Method, OutputTimes, Placement, simulate};
use timescales_phases::sweep::measure_point;
use timescales_phases::{PhaseError, Study, StudyOptions, direct_run};

fn small(sigma: Vec<f64>, phi: Vec<f64>, law: InitialLaw, particles: usize) -> FlowProblem {
    FlowProblem {
        sigma,
        phi,
        tail_energy: 0.0,
        law,
        particles,
        placement: Placement::Quadrature,
        epsilon: 1e-3,
        t_end: 1.0,
        rtol: 1e-6,
        atol: 1e-9,
        times: OutputTimes::LogGrid { samples: 40 },
        method: Method::Rodas4,
    }
}

fn one_atom() -> FlowProblem {
    small(
        vec![0.0, 1.0, 1.0],
        vec![0.0, 1.0, 1.0],
        InitialLaw::Discrete {
            values: vec![0.5],
            weights: vec![1.0],
        },
        1,
    )
}

#[test]
fn a_discrete_law_by_quadrature_has_no_convergence_in_n() {
    // The doubling used to ask for 2 particles of a one-atom law and fail on init.particles.
    let p = one_atom();
    let conv = ConvergeOptions {
        n_start: 1,
        n_max: 8,
        rel_tol: 1e-2,
    };
    let point = measure_point(&p, "one atom", Some(&conv)).unwrap();
    assert_eq!(point.particles, 1);
    assert!(point.convergence.is_none());
    assert!(
        point
            .notes
            .iter()
            .any(|n| n.contains("no convergence in N")),
        "{:?}",
        point.notes
    );
    let opts = StudyOptions {
        samples: 60,
        n_max: 8,
        ..StudyOptions::default()
    };
    let study = Study::point(&p, &opts).unwrap();
    assert_eq!(study.by_n.len(), 1);
    assert_eq!(study.by_n[0].0, 1);
}

#[test]
fn too_few_output_times_are_a_detection_error_with_its_cause() {
    let mut p = one_atom();
    p.times = OutputTimes::Explicit(vec![1.0]);
    let e = measure_point(&p, "one time", None).unwrap_err();
    assert!(matches!(e, PhaseError::Detection { .. }), "{e:?}");
    // The cause is in the message itself: the sweep prints one line per failed point.
    assert!(e.to_string().contains("usable points"), "{e}");
}

#[test]
fn a_horizon_before_the_first_sample_names_run_t_end() {
    let mut p = one_atom();
    p.t_end = 1e-5; // < ε/10
    p.times = OutputTimes::Explicit(vec![1e-5]);
    let e = direct_run(&p, 100).unwrap_err();
    assert!(
        matches!(&e, PhaseError::Invalid(m) if m.contains("run.t_end")),
        "{e:?}"
    );
    let e = direct_run(&one_atom(), 1).unwrap_err();
    assert!(
        matches!(&e, PhaseError::Invalid(m) if m.contains("samples")),
        "{e:?}"
    );
}

#[test]
fn no_phase_one_is_refused_with_the_reason() {
    // K = 0, and σ_1 φ_1 = 0 with K = 2.
    for p in [
        small(
            vec![1.0],
            vec![0.5],
            InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
            4,
        ),
        small(
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
            InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
            4,
        ),
    ] {
        let e = Study::point(&p, &StudyOptions::default()).unwrap_err();
        assert!(matches!(e, PhaseError::NoPhaseOne { .. }), "{e:?}");
        // The direct run and the sweep's measurement still work.
        let run = simulate(&p).unwrap();
        assert!(!run.notes.is_empty());
        measure_point(&p, "no phase 1", None).unwrap();
    }
}

fn coeff() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 3 => -1.5..1.5f64]
}

fn law() -> impl Strategy<Value = (InitialLaw, Placement, usize)> {
    prop_oneof![
        (-1.5..1.5f64, 1e-3..2.0f64, 1usize..5).prop_map(|(lo, w, n)| (
            InitialLaw::Uniform { lo, hi: lo + w },
            Placement::Quadrature,
            n
        )),
        (-1.0..1.0f64, 1e-3..1.5f64, 1usize..5, any::<u64>()).prop_map(|(mean, std, n, seed)| (
            InitialLaw::Normal { mean, std },
            Placement::Random { seed },
            n
        )),
        prop::collection::vec((-1.5..1.5f64, 0.0..1.0f64), 1..4).prop_map(|v| {
            let n = v.len();
            let (values, mut weights): (Vec<f64>, Vec<f64>) = v.into_iter().unzip();
            weights[0] += 0.1;
            (
                InitialLaw::Discrete { values, weights },
                Placement::Quadrature,
                n,
            )
        }),
    ]
}

/// Small valid problems: K ≤ 3 (zeros and K = 0 included), N ≤ 4, ε in [1e-4, 1e-1], a
/// horizon from before phase 1 to past it, either integrator family.
fn problem() -> impl Strategy<Value = FlowProblem> {
    (
        prop::collection::vec(coeff(), 1..5),
        prop::collection::vec(coeff(), 1..5),
        prop_oneof![Just(0.0), 0.0..0.3f64],
        law(),
        -4.0..-1.0f64,
        -2.0..0.5f64,
        prop::sample::select(vec![Method::Rodas4, Method::Bdf]),
    )
        .prop_map(
            |(mut sigma, mut phi, tail, (law, placement, n), le, lt, method)| {
                let k = sigma.len().max(phi.len());
                sigma.resize(k, 0.0);
                phi.resize(k, 0.0);
                let epsilon = 10f64.powf(le);
                FlowProblem {
                    sigma,
                    phi,
                    tail_energy: tail,
                    law,
                    particles: n,
                    placement,
                    epsilon,
                    t_end: 10f64.powf(lt).max(epsilon),
                    rtol: 1e-6,
                    atol: 1e-9,
                    times: OutputTimes::LogGrid { samples: 30 },
                    method,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `simulate` and `measure_point` (the run and sweep commands): finite trajectories with
    /// the flow's invariants, or typed errors.
    #[test]
    fn run_and_sweep_points_never_panic(p in problem()) {
        prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
        let run = simulate(&p);
        prop_assert!(run.is_ok(), "{:?}", run.err());
        let run = run.unwrap();
        let risk = run.trajectory.column("risk").unwrap();
        let max_s = run.trajectory.column("max_abs_s").unwrap();
        prop_assert!(risk.iter().all(|r| r.is_finite() && *r >= -1e-12), "{risk:?}");
        for w in risk.windows(2) {
            prop_assert!(w[1] <= w[0] + 1e-4 * w[0].max(1e-3), "risk went up: {w:?}");
        }
        prop_assert!(max_s.iter().all(|s| s.is_finite() && *s <= 1.0 + 1e-5), "{max_s:?}");
        prop_assert!(run.final_a.iter().chain(&run.final_s).all(|v| v.is_finite()));
        match measure_point(&p, "random", None) {
            Ok(point) => {
                prop_assert!(point.detection.phases.iter().all(|ph| ph.t_end.is_finite()));
            }
            Err(e) => prop_assert!(
                matches!(e, PhaseError::Detection { .. }),
                "{e}"
            ),
        }
    }
}

proptest! {
    // The phase asymptotics are the expensive entry point: fewer cases.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `Study::point` (the asymptotics command at one ε).
    #[test]
    fn asymptotics_points_never_panic(p in problem()) {
        let opts = StudyOptions { samples: 40, n_max: p.particles, ..StudyOptions::default() };
        match Study::point(&p, &opts) {
            Ok(point) => {
                prop_assert_eq!(point.comparison.onsets.len(), p.sigma.len() - 1);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
