//! Same numbers with 1 and 2 threads: the population flow, its comparison with the limit
//! flow, and online SGD, each run inside a local rayon pool of 1 and of 2 threads, must
//! agree bit for bit.
//!
//! The parallel code splits work into blocks whose size does not depend on the thread
//! count (`BLOCK = 64` columns of the entrywise passes in `population.rs`, `CHUNK = 64`
//! samples in `sgd.rs`), and each block writes its own output; the two matrix products of
//! the population field (faer's SYRK and GEMM) split over output tiles and sum the inner
//! dimension in fixed chunks of 512; there is no parallel reduction whose order depends on
//! the threads. The sizes here straddle those blocks (130 = 2·64 + 2 columns, a batch of
//! 150 = 2·64 + 22 samples, an inner dimension of 600 > 512) so that 2 and 3 threads split
//! the work differently from 1.

mod common;

use timescales_network::{
    FlowOptions, InitialLaw, LimitComparison, Model, NetworkState, Population, PopulationFlow, Sgd,
    SgdOptions, SummaryRecorder, Trajectory,
};

const LAW: InitialLaw = InitialLaw::Uniform { lo: -1.0, hi: 1.0 };
const EPS: f64 = 0.1;

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Every number of a trajectory as bits (so that `-0.0 ≠ 0.0` and NaNs compare too).
fn bits(t: &Trajectory) -> Vec<u64> {
    t.t.iter()
        .chain(t.columns.iter().flatten())
        .map(|x| x.to_bits())
        .collect()
}

fn state_bits(s: &NetworkState) -> Vec<u64> {
    s.a.iter().chain(s.w.iter()).map(|x| x.to_bits()).collect()
}

/// The network flow at `(d, m)` from seed 5 against the limit flow, t ∈ [0, 1] at ε = 0.1.
fn flow_comparison(d: usize, m: usize) -> (Trajectory, NetworkState, usize, LimitComparison) {
    let common::Limit {
        run: limit,
        times,
        model,
    } = common::public_limit(EPS, 1.0, 32, 21);
    let mut state = NetworkState::random(d, m, &LAW, 5).unwrap();
    let mean = state.a.mean();
    let var_a = state.a.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / m as f64;
    let mut flow = PopulationFlow::new(model.clone(), d, m, FlowOptions::new(EPS)).unwrap();
    let mut rec = SummaryRecorder::new();
    flow.integrate(&mut state, 0.0, &times, &mut rec).unwrap();
    let cmp =
        LimitComparison::new(d, m, &rec.trajectory, &limit.trajectory, &model, EPS, var_a).unwrap();
    (rec.trajectory, state, flow.stats().steps, cmp)
}

#[test]
fn population_flow_and_limit_comparison_are_bitwise_identical_with_1_and_2_threads() {
    for (d, m) in [(130, 130), (70, 130)] {
        let (t1, s1, n1, c1) = in_pool(1, || flow_comparison(d, m));
        let (t2, s2, n2, c2) = in_pool(2, || flow_comparison(d, m));
        assert_eq!(n1, n2, "({d}, {m}): accepted steps");
        assert_eq!(bits(&t1), bits(&t2), "({d}, {m}): recorded trajectory");
        assert_eq!(state_bits(&s1), state_bits(&s2), "({d}, {m}): final state");
        assert_eq!(
            c1.sup_distance.to_bits(),
            c2.sup_distance.to_bits(),
            "({d}, {m})"
        );
        assert_eq!(c1, c2, "({d}, {m}): comparison with the limit");
    }
}

#[test]
fn sgd_is_bitwise_identical_with_1_and_2_threads() {
    let (sigma, phi) = common::public_sigma_phi();
    let (d, m) = (70, 130);
    let run = || {
        let model = Model::new(&sigma, &phi, 0.0).unwrap();
        let mut state = NetworkState::random(d, m, &LAW, 6).unwrap();
        let opts = SgdOptions {
            eps: EPS,
            lr: 2e-3,
            batch: 150,
            seed: 11,
        };
        let mut sgd = Sgd::new(model, d, m, opts).unwrap();
        let mut rec = SummaryRecorder::new();
        let times: Vec<f64> = (0..=10).map(|k| 0.02 * k as f64).collect();
        sgd.run(&mut state, &times, &mut rec).unwrap();
        (rec.trajectory, state)
    };
    let (t1, s1) = in_pool(1, run);
    let (t2, s2) = in_pool(2, run);
    assert_eq!(bits(&t1), bits(&t2));
    assert_eq!(state_bits(&s1), state_bits(&s2));
}

#[test]
fn population_field_is_bitwise_identical_with_1_2_and_3_threads() {
    let (sigma, phi) = common::public_sigma_phi();
    // d = 600 > 512: the Gram matrix sums its inner dimension in two chunks; m = 300 gives
    // the W C product several output tiles per thread.
    for (d, m) in [(600, 140), (90, 300)] {
        let field = || {
            let model = Model::new(&sigma, &phi, 0.0).unwrap();
            let state = NetworkState::random(d, m, &LAW, 7).unwrap();
            let mut pop = Population::new(model, d, m).unwrap();
            let (risk, fa, fw) = pop.field(&state).unwrap();
            let gram: Vec<u64> = pop.gram().iter().map(|x| x.to_bits()).collect();
            let mut bits = vec![risk.to_bits()];
            bits.extend(fa.iter().chain(fw.iter()).map(|x| x.to_bits()));
            (bits, gram)
        };
        let (f1, g1) = in_pool(1, field);
        for threads in [2, 3] {
            let (f, g) = in_pool(threads, field);
            assert_eq!(g1, g, "({d}, {m}): Gram matrix, {threads} threads");
            assert_eq!(f1, f, "({d}, {m}): risk and fields, {threads} threads");
        }
    }
}
