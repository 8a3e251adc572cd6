//! The finite network against the `d → ∞, m → ∞` limit flow of `timescales-meanfield`.

use timescales_meanfield::{FlowProblem, Method, OutputTimes, Placement, simulate};
use timescales_network::{
    FlowOptions, InitialLaw, Model, NetworkState, PopulationFlow, SummaryRecorder,
    midpoint_crossing, sup_distance,
};

/// The public scenario at ε = 1e-2 on t ∈ [0, 3]: the network at d = m = 128 against the
/// limit (N = 64 Gauss–Legendre particles).
///
/// Tolerances are loose on purpose, and the reasons are measured effects, not numerics
/// (the integrators agree with their references to 1e-7): phase 1 is an instability
/// seeded by `√ε (a − E a)` in the limit, but by `√ε (a − E a)` *and* the initial
/// overlaps `s_i(0) ~ 1/√d` in the network, so the growth starts from an amplitude larger
/// by `√(1 + 1/(d ε Var a)) ≈ 1.4` here and the network's phase-1 time comes earlier by
/// about 30 % (it converges only once `d ε ≫ 1`; see the crate's convergence example);
/// finite `m` (sampled `a(0)`, the self-interaction `a_i (U(1) − U(s_i²))/m`) shifts it
/// the other way by less. So:
/// - early on the first plateau (t ≤ t1_limit / 10) the two risks agree to 2e-2
///   (measured 1e-2: the network's risk already drifts down, by the same seeding);
/// - the phase-1 times agree within 40 % (measured 30 %), the network's being earlier;
/// - after the phases (t = 3) the risks agree to 0.05 (measured 0.013: the same
///   components are learnt);
/// - the sup distance over the log grid is below 0.75 (measured ≈ 0.5: the 30 % time
///   shift of a drop of 0.5 in risk).
#[test]
fn network_tracks_the_limit_at_moderate_size() {
    let eps = 1e-2;
    let sigma: Vec<f64> = (0..6u32)
        .map(|k| 1.0 / ((1..=k).product::<u32>() as f64).sqrt())
        .collect();
    let phi = vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
    let problem = FlowProblem {
        sigma: sigma.clone(),
        phi: phi.clone(),
        tail_energy: 0.0,
        law: InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
        particles: 64,
        placement: Placement::Quadrature,
        epsilon: eps,
        t_end: 3.0,
        rtol: 1e-9,
        atol: 1e-12,
        times: OutputTimes::LogGrid { samples: 41 },
        method: Method::Rodas4,
    };
    let limit = simulate(&problem).unwrap();
    let times = problem.output_times();
    let (lt, lr) = (
        &limit.trajectory.t,
        limit.trajectory.column("risk").unwrap(),
    );
    let model = Model::new(&sigma, &phi, 0.0).unwrap();
    let n = 128;
    let mut state =
        NetworkState::random(n, n, &InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 1).unwrap();
    let mut flow = PopulationFlow::new(model.clone(), n, n, FlowOptions::new(eps)).unwrap();
    let mut rec = SummaryRecorder::new();
    flow.integrate(&mut state, 0.0, &times, &mut rec).unwrap();
    let (nt, nr) = (&rec.trajectory.t, rec.trajectory.column("risk").unwrap());
    let (r0, r1) = (model.plateau_level(0), model.plateau_level(1));
    let t1_lim = midpoint_crossing(&lt[1..], &lr[1..], r0, r1).unwrap();
    let t1_net = midpoint_crossing(&nt[1..], &nr[1..], r0, r1).unwrap();
    let (sup, at) = sup_distance(nt, nr, lt, lr, &times[1..]).unwrap();
    let plateau_gap = times
        .iter()
        .zip(nr.iter().zip(lr))
        .filter(|(t, _)| **t <= t1_lim / 10.0)
        .map(|(_, (a, b))| (a - b).abs())
        .fold(0.0, f64::max);
    if std::env::var("SHOW").is_ok() {
        for (k, t) in times.iter().enumerate() {
            eprintln!("{t:.4e} {:.6} {:.6}", nr[k], lr[k]);
        }
    }
    let final_gap = (nr.last().unwrap() - lr.last().unwrap()).abs();
    eprintln!(
        "t1 network {t1_net:.4} limit {t1_lim:.4}; sup {sup:.3} at t = {at:.3}; plateau gap \
         {plateau_gap:.2e}; final risks {:.4} vs {:.4}",
        nr.last().unwrap(),
        lr.last().unwrap()
    );
    assert!(plateau_gap < 2e-2, "{plateau_gap}");
    assert!(
        t1_net < t1_lim && t1_net > 0.6 * t1_lim,
        "{t1_net} vs {t1_lim}"
    );
    assert!(final_gap < 0.05, "{final_gap}");
    assert!(sup < 0.75, "{sup}");
}
