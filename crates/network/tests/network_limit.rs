//! The finite network against the `d → ∞, m → ∞` limit flow of `timescales-meanfield`.

mod common;

use std::time::Instant;

use timescales_network::{
    FlowOptions, InitialLaw, NetworkState, PopulationFlow, SummaryRecorder, fit_power_law,
    midpoint_crossing, phase1_shift_prediction, sup_distance,
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
///   components are learnt).
///
/// The sup distance over the log grid (measured ≈ 0.47: the 30 % time shift of a drop of
/// 0.5 in risk) is printed, not bounded here: at one size a bound can only say "below
/// the drop"; `sup_distance_falls_as_d_equals_m_grows` asserts that it falls with d = m.
#[test]
fn network_tracks_the_limit_at_moderate_size() {
    let eps = 1e-2;
    let limit = common::public_limit(eps, 3.0, 64, 41);
    let (times, model) = (&limit.times, &limit.model);
    let (lt, lr) = limit.risk();
    let n = 128;
    let mut state =
        NetworkState::random(n, n, &InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 1).unwrap();
    let mut flow = PopulationFlow::new(model.clone(), n, n, FlowOptions::new(eps)).unwrap();
    let mut rec = SummaryRecorder::new();
    flow.integrate(&mut state, 0.0, times, &mut rec).unwrap();
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
}

/// The distance to the limit falls as `d = m` grows (the CI-fast convergence test; the long
/// study is `network_convergence.rs`, ignored by default, and the crate's `convergence`
/// example).
///
/// Public scenario at ε = 0.1 on t ∈ [0, 1] (phase 1 at t ≈ 0.36 in the limit), the
/// population gradient flow at d = m = 16, 64, 256, seeds 1–4; `D(n)` is the mean over
/// the seeds of `sup_t |R_network(t) − R_limit(t)|` on 61 log-spaced times in
/// `[ε/10, 1]`, the limit being the full ODE with N = 64 Gauss–Legendre particles.
///
/// What the model predicts (crate docs, [`phase1_shift_prediction`]): the distance is
/// dominated by the network's early phase 1, shifted by
/// `δt₁ = −(√ε/2) ln(1 + 1/(d ε Var a))` (the overlaps `s_i(0) ~ 1/√d` seed the
/// instability besides `√ε (a − E a)`), times the slope of the risk drop. Over d = 16 …
/// 256 at ε = 0.1 that shift has a fitted log–log slope of −0.81 (tending to −1, i.e.
/// `1/d`, once `d ε Var a ≫ 1`; shallower while the shift is not small against the drop's
/// width `√ε/2`); finite `m` adds the sampling error of the empirical law of `a(0)`,
/// `O(m^{−1/2})`, slope −0.5. So the fitted rate must lie between −1 and −0.5; the band
/// asserted is [−1.0, −0.4].
///
/// Measured (`SHOW=1` prints every run): D = 0.401, 0.171, 0.073 for n = 16, 64, 256;
/// fitted slope −0.615; factor 5.5 from 16 to 256; 11 s in the dev profile on 2 cores.
/// Robustness, from the `convergence` example at the same settings (`--eps 1e-1 --sizes
/// 16,32,64,128,256 --seeds 1,…,16 --t-end 1 --samples 61`; it reproduces these seeds'
/// distances to the printed digits): over 2000 random choices of 4 seeds out of 16,
/// D(16) > D(64) > D(256) every time, D(16)/D(256) ≥ 3.9 (median 6.5), and the fitted
/// slope in [−0.88, −0.50]. Hence the assertions: strictly decreasing, a factor above 3,
/// a slope in [−1.0, −0.4], and D(256) < 0.12 (single seeds at 256: 0.03–0.11).
#[test]
fn sup_distance_falls_as_d_equals_m_grows() {
    let started = Instant::now();
    let eps = 0.1;
    let law = InitialLaw::Uniform { lo: -1.0, hi: 1.0 };
    let limit = common::public_limit(eps, 1.0, 64, 61);
    let (times, model) = (&limit.times, &limit.model);
    let (lt, lr) = limit.risk();
    let sizes = [16usize, 64, 256];
    let seeds = [1u64, 2, 3, 4];
    let mut dist = Vec::new();
    for &n in &sizes {
        let mut sum = 0.0;
        for &seed in &seeds {
            let mut state = NetworkState::random(n, n, &law, seed).unwrap();
            let mut flow = PopulationFlow::new(model.clone(), n, n, FlowOptions::new(eps)).unwrap();
            let mut rec = SummaryRecorder::new();
            flow.integrate(&mut state, 0.0, times, &mut rec).unwrap();
            let (nt, nr) = (&rec.trajectory.t, rec.trajectory.column("risk").unwrap());
            let (sup, at) =
                sup_distance(&nt[1..], &nr[1..], &lt[1..], &lr[1..], &times[1..]).unwrap();
            if std::env::var("SHOW").is_ok() {
                eprintln!("d = m = {n}, seed {seed}: sup {sup:.4} at t = {at:.3}");
            }
            sum += sup;
        }
        dist.push(sum / seeds.len() as f64);
    }
    let xs: Vec<f64> = sizes.iter().map(|&n| n as f64).collect();
    let fit = fit_power_law(&xs, &dist, 0.95).unwrap();
    // The prediction of the overlap effect alone, for reference in the message.
    let shifts: Vec<f64> = sizes
        .iter()
        .map(|&n| {
            phase1_shift_prediction(eps, n, 1.0 / 3.0, 1.0)
                .unwrap()
                .abs()
        })
        .collect();
    let predicted = fit_power_law(&xs, &shifts, 0.95).unwrap().gamma;
    let summary = format!(
        "D = {dist:.4?} for d = m = {sizes:?}; fitted slope {:.3} (95% CI [{:.3}, {:.3}]); \
         overlap-shift prediction {predicted:.3}; {:.1} s",
        fit.gamma,
        fit.gamma_ci[0],
        fit.gamma_ci[1],
        started.elapsed().as_secs_f64()
    );
    eprintln!("{summary}");
    assert!(
        dist.windows(2).all(|w| w[1] < w[0]),
        "not decreasing: {summary}"
    );
    assert!(dist[0] / dist[2] > 3.0, "factor below 3: {summary}");
    assert!(
        fit.gamma > -1.0 && fit.gamma < -0.4,
        "rate out of band: {summary}"
    );
    assert!(dist[2] < 0.12, "{summary}");
}
