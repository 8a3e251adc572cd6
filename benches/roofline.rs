//! Criterion benchmark: how close the particle kernels of a BDF step run to this machine's
//! vector arithmetic peak (issue 17, part 2: "toward 20 ns per particle-step").
//!
//! - `roofline/peak_fma`: the machine's double-precision FMA throughput, measured: ten
//!   independent chains of 4-wide fused multiply–adds (`wide::f64x4`, the kernels' lane
//!   type), enough to hide the FMA latency on both FMA pipes. 8 flops per lane-FMA.
//! - `roofline/newton_correction/N`: one fused Newton correction of the flow
//!   (`Linearization::newton_correction` of [`TwoLayerFlow`]: the moments pass, the pass
//!   computing `F`, the right-hand side, `D⁻¹` and the capacitance power sums, and the pass
//!   applying the low-rank correction and updating `y` and `d`).
//! - `roofline/factor/N`: one factorization (`Linearization::factor`: the diagonal blocks
//!   recomputed from the Jacobian state, their inverses stored, four power sums).
//!
//! The flop counts per particle are read off the kernels in
//! `crates/meanfield/src/model/kernels.rs` at the public problem's `K = 5` (polynomials with
//! `L = 6` coefficients), an FMA counted as 2 flops:
//!
//! | pass | FMAs | other flops | flops |
//! |---|---:|---:|---:|
//! | moments (`moments_kernel`: `w a`, 6 powers) | 6 | 7 | 19 |
//! | scale (`newton_scale_kernel`: Horner of `P, P'` 12, `F` 5, right-hand side 8, `D⁻¹ b` 2 + 2, `w a x`, `w x` 3, 2 × 6 power sums 12 + 6) | 26 | 24 | 76 |
//! | update (`newton_update_kernel`: Horner of `Q, Q'` 12, `Δ` 4, `y`, `d` 4 adds, `(Δ w)²` 2 + 2 + 2) | 16 | 10 | 42 |
//! | **Newton correction** | 48 | 41 | **137** |
//! | factor (`factor_kernel`: Horner of `P', P''` 18 + 6, `B_i` 9, `D_i⁻¹` and `f` 15 and a division, `w a` and 4 terms 5, 4 × 11 power sums 44 + 11) | 62 | 46 (+ 1 division) | **170** |
//!
//! The summary printed to stderr gives each kernel's GFLOP/s, the fraction of the measured
//! FMA peak, and ns per particle, from the best sample of each: the fastest per-call mean of
//! a criterion batch for the peak and the factorization, the fastest single call for the
//! Newton correction (each call needs an untimed reset of its iterate). A kernel made only of FMAs could reach 100 %; these mix
//! in multiplications and additions, one flop per lane-op instead of two: if every op
//! issued at the FMA rate their ceiling would be 137 / (2 · 89) = 77 % (Newton correction,
//! 89 ops) and 170 / (2 · 108) = 79 % (factor, 108 ops) of the FMA peak (higher where
//! additions issue on pipes of their own, as on AMD Zen).
//!
//! Run with `cargo bench --bench roofline` (about a minute). One thread: at these N the
//! flow works on the calling thread (below eight chunks of 4096 particles).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use timescales::meanfield::{FlowProblem, TwoLayerFlow};
use timescales::ode::{Linearization, NewtonCorrection};
use wide::f64x4;

/// Flops per particle of one fused Newton correction (module documentation).
const NEWTON_FLOPS: f64 = 137.0;
/// Flops per particle of one factorization, the division not counted.
const FACTOR_FLOPS: f64 = 170.0;
/// Particle counts: in the L2 cache (a few hundred kB of state) and past it.
const SIZES: [usize; 2] = [1024, 10_000];
/// Independent FMA chains of the peak kernel.
const CHAINS: usize = 10;
/// FMAs per chain per call of the peak kernel.
const ROUNDS: usize = 4096;

/// `CHAINS × ROUNDS` lane-FMAs on independent accumulators; returns their sum so that
/// nothing is optimized away.
#[inline(never)]
fn peak_fma(x: f64x4, y: f64x4) -> f64 {
    let mut acc = [f64x4::ZERO; CHAINS];
    for (k, a) in acc.iter_mut().enumerate() {
        *a = f64x4::splat(k as f64 * 1e-3);
    }
    for _ in 0..ROUNDS {
        for a in &mut acc {
            *a = a.mul_add(x, y);
        }
    }
    acc.iter().map(|a| a.reduce_add()).sum()
}

/// The public problem's flow ([`FlowProblem::public`] at ε = 1e-8) over `n` particles with
/// equal weights, and a state inside the domain: `s_i` spread over (−0.9, 0.9), `a_i` over
/// (−1, 1).
fn flow_and_state(n: usize) -> (TwoLayerFlow, Vec<f64>) {
    let p = FlowProblem::public(1e-8);
    let flow = TwoLayerFlow::new(
        p.sigma,
        p.phi,
        vec![1.0 / n as f64; n],
        p.epsilon,
        p.tail_energy,
    );
    let mut u = vec![0.0; 2 * n];
    for i in 0..n {
        let x = (i as f64 + 0.5) / n as f64;
        u[i] = 0.9 * (2.0 * x - 1.0) * (7.0 * x).cos();
        u[n + i] = (2.0 * x - 1.0) * (1.0 + 0.3 * (13.0 * x).sin());
    }
    (flow, u)
}

fn roofline(c: &mut Criterion) {
    let mut group = c.benchmark_group("roofline");

    let peak_flops = (CHAINS * ROUNDS * 8) as f64;
    let mut peak_best = f64::INFINITY;
    group.throughput(Throughput::Elements(peak_flops as u64));
    group.bench_function("peak_fma", |b| {
        let (x, y) = (f64x4::splat(0.999_999), f64x4::splat(1e-9));
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(peak_fma(black_box(x), black_box(y)));
            }
            let t = start.elapsed();
            peak_best = peak_best.min(t.as_secs_f64() / iters as f64);
            t
        });
    });
    let peak = peak_flops / peak_best;

    let mut summary = Vec::new();
    for n in SIZES {
        let (mut flow, u) = flow_and_state(n);
        flow.update_jacobian(&u);
        let shift = 1e4;
        flow.factor(shift).expect("the benchmark state factors");
        group.throughput(Throughput::Elements(n as u64));

        let mut factor_best = f64::INFINITY;
        group.bench_with_input(BenchmarkId::new("factor", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    flow.factor(black_box(shift)).expect("factors");
                }
                let t = start.elapsed();
                factor_best = factor_best.min(t.as_secs_f64() / iters as f64);
                t
            });
        });

        let psi: Vec<f64> = u.iter().map(|v| 1e-6 * v).collect();
        let weight = vec![1e8; 2 * n];
        let (mut y, mut d) = (u.clone(), vec![0.0; 2 * n]);
        let (mut f, mut dy) = (vec![0.0; 2 * n], vec![0.0; 2 * n]);
        let mut newton_best = f64::INFINITY;
        group.bench_with_input(BenchmarkId::new("newton_correction", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Every call starts from the same iterate (the copies are not timed).
                    y.copy_from_slice(&u);
                    d.fill(0.0);
                    let start = Instant::now();
                    let sum = flow.newton_correction(NewtonCorrection {
                        y: &mut y,
                        d: &mut d,
                        psi: &psi,
                        weight: &weight,
                        alpha: 1e-4,
                        beta: 1e-4,
                        f: &mut f,
                        dy: &mut dy,
                    });
                    let t = start.elapsed();
                    black_box(sum.expect("a finite correction"));
                    newton_best = newton_best.min(t.as_secs_f64());
                    total += t;
                }
                total
            });
        });
        summary.push((n, newton_best, factor_best));
    }
    group.finish();
    if [peak_best]
        .into_iter()
        .chain(summary.iter().flat_map(|&(_, a, b)| [a, b]))
        .any(|t| !t.is_finite())
    {
        eprintln!("\nroofline summary: printed only when every benchmark ran (no filter)");
        return;
    }

    eprintln!(
        "\nroofline summary (one thread; best sample of each): measured FMA peak {:.1} GFLOP/s",
        peak * 1e-9
    );
    eprintln!(
        "{:>6} {:>18} {:>10} {:>8} {:>12} {:>10} {:>8} {:>12}",
        "N",
        "newton_correction",
        "GFLOP/s",
        "of peak",
        "ns/particle",
        "factor",
        "GFLOP/s",
        "of peak"
    );
    for (n, newton, factor) in summary {
        let (gn, gf) = (
            NEWTON_FLOPS * n as f64 / newton,
            FACTOR_FLOPS * n as f64 / factor,
        );
        eprintln!(
            "{n:>6} {:>15.1} µs {:>10.1} {:>7.0} % {:>12.2} {:>7.1} µs {:>8.1} {:>11.0} %",
            newton * 1e6,
            gn * 1e-9,
            100.0 * gn / peak,
            newton * 1e9 / n as f64,
            factor * 1e6,
            gf * 1e-9,
            100.0 * gf / peak,
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = roofline
}
criterion_main!(benches);
