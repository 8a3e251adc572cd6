//! Criterion benchmarks of the direct integration of the full ODE (model.md §4) with RODAS4
//! and BDF (the default method).
//!
//! - `rodas_step/N`, `bdf_step/N`: one RODAS4 (BDF) integration of the public problem (σ_k = 1/sqrt(k!),
//!   φ = [0, 1, 1, 1, 0, 0], a(0) ~ Uniform[−1, 1]) at ε = 1e-8 over the fixed window
//!   `[0, WINDOW]`, for N = 64 … 131 072. The measured quantity is the integrator's wall
//!   time divided by its accepted steps (`stats.wall_seconds / stats.steps`), so the
//!   reported time is **time per step** and the throughput is particle-steps per second:
//!   with a Woodbury-structured linear algebra it must grow linearly in N (constant
//!   ns / particle / step). Particles are placed at random (seeded), as in the measurements
//!   recorded in benches/RESULTS.md (placement is not part of the integrator).
//! - `public_full_run`: the whole N = 64, ε = 1e-8, t_end = 3, rtol 1e-8, atol 1e-10 run
//!   (quadrature placement, t = 0 plus 200 log-spaced outputs), as `timescales run` does it,
//!   with RODAS4 (`n64_eps1e-8_rtol1e-8`) and BDF (`bdf_n64_eps1e-8_rtol1e-8`).
//!
//! Run with `cargo bench --bench full_ode` (a few minutes on 2 cores). A per-N summary
//! (steps, rejected steps, best wall time per step, best process-CPU time per step, and both
//! per particle) is printed to stderr; the CPU figures are robust to a loaded machine. For
//! N above the flow's parallel chunk (4096 particles) the work runs on rayon's pool, so CPU
//! time exceeds wall time on an idle multi-core machine.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use timescales::meanfield::{FlowProblem, FlowRun, Method, OutputTimes, Placement, simulate};

/// ε of every benchmark.
const EPSILON: f64 = 1e-8;
/// End of the fixed window of the per-step benchmark: the fast layer (t ~ ε) and the start
/// of the slow escape from the first plateau.
const WINDOW: f64 = 1e-4;
/// Particle counts of the per-step benchmark.
const SIZES: [usize; 4] = [64, 1024, 16_384, 131_072];

/// The public problem with `n` particles.
fn public_problem(
    n: usize,
    placement: Placement,
    t_end: f64,
    times: OutputTimes,
    rtol: f64,
    atol: f64,
    method: Method,
) -> FlowProblem {
    FlowProblem {
        particles: n,
        placement,
        t_end,
        rtol,
        atol,
        times,
        method,
        ..FlowProblem::public(EPSILON)
    }
}

fn run(problem: &FlowProblem) -> FlowRun {
    simulate(problem).expect("the benchmark problem integrates")
}

fn rodas_step(c: &mut Criterion) {
    per_step(c, "rodas_step", Method::Rodas4);
}

fn bdf_step(c: &mut Criterion) {
    per_step(c, "bdf_step", Method::Bdf);
}

fn per_step(c: &mut Criterion, name: &str, method: Method) {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    let mut summary = Vec::new();
    for n in SIZES {
        let problem = public_problem(
            n,
            Placement::Random { seed: 7 },
            WINDOW,
            OutputTimes::Explicit(vec![WINDOW]),
            1e-8,
            1e-10,
            method,
        );
        let probe = run(&problem);
        let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &problem, |b, p| {
            b.iter_custom(|iters| {
                let mut per_step = 0.0;
                for _ in 0..iters {
                    let cpu0 = process_cpu_seconds();
                    let r = black_box(run(p));
                    let steps = r.stats.steps as f64;
                    if let (Some(a), Some(b)) = (cpu0, process_cpu_seconds()) {
                        best_cpu = best_cpu.min((b - a) / steps);
                    }
                    let t = r.stats.wall_seconds / steps;
                    best = best.min(t);
                    per_step += t;
                }
                Duration::from_secs_f64(per_step)
            });
        });
        summary.push((n, probe.stats, best, best_cpu));
    }
    group.finish();
    eprintln!("\n{name} summary (ε = {EPSILON:e}, window [0, {WINDOW:e}], rtol 1e-8, atol 1e-10):");
    eprintln!(
        "{:>8} {:>6} {:>9} {:>13} {:>12} {:>12} {:>14} {:>14}",
        "N",
        "steps",
        "rejected",
        "integration",
        "wall/step",
        "CPU/step",
        "wall ns/p/step",
        "CPU ns/p/step"
    );
    for (n, stats, best, best_cpu) in summary {
        eprintln!(
            "{n:>8} {:>6} {:>9} {:>10.2} ms {:>9.3} ms {:>9.3} ms {:>14.1} {:>14.1}",
            stats.steps,
            stats.rejected_steps,
            stats.wall_seconds * 1e3,
            best * 1e3,
            best_cpu * 1e3,
            best / n as f64 * 1e9,
            best_cpu / n as f64 * 1e9,
        );
    }
}

/// CPU time of this process, all threads (the flow runs chunks on rayon for large N), on
/// Linux 64-bit: costs that a loaded machine does not inflate the way it inflates wall time.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn process_cpu_seconds() -> Option<f64> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `struct timespec` (two 64-bit fields on 64-bit Linux).
    let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn process_cpu_seconds() -> Option<f64> {
    None
}

fn public_full_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("public_full_run");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for (id, method) in [
        ("n64_eps1e-8_rtol1e-8", Method::Rodas4),
        ("bdf_n64_eps1e-8_rtol1e-8", Method::Bdf),
    ] {
        let problem = public_problem(
            64,
            Placement::Quadrature,
            3.0,
            OutputTimes::LogGrid { samples: 200 },
            1e-8,
            1e-10,
            method,
        );
        let probe = run(&problem);
        eprintln!(
            "public_full_run {method:?} (N = 64, ε = {EPSILON:e}, t_end = 3, rtol 1e-8): {} steps, \
             {} rejected, {} RHS, {} Jacobians, {} factorizations, {} solves",
            probe.stats.steps,
            probe.stats.rejected_steps,
            probe.stats.rhs_evals,
            probe.stats.jacobian_evals,
            probe.stats.factorizations,
            probe.stats.linear_solves
        );
        group.bench_function(id, |b| b.iter(|| black_box(run(&problem))));
    }
    group.finish();
}

criterion_group!(benches, rodas_step, bdf_step, public_full_run);
criterion_main!(benches);
