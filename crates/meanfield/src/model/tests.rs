//! Tests of the two-layer flow: the structured Jacobian and the Woodbury solve against dense
//! linear algebra and finite differences, the kernels' compile-time and run-time lengths, and
//! results that do not depend on the number of threads.

use super::kernels::{Blocks, factor_kernel, solve_scale_kernel, solve_update_kernel};
use super::lanes::{Fixed, Var};
use super::parallel::CHUNK;
use super::woodbury::CapacitanceInverse;
use super::*;
use nalgebra::{DMatrix, DVector};
use timescales_ode::{DenseSlowFast, Linearization, finite_difference_blocks};

fn sample_flow(n: usize, eps: f64) -> (TwoLayerFlow, Vec<f64>) {
    let sigma = vec![0.8, 1.0, 0.7, 0.4, 0.0, 0.2];
    let phi = vec![0.1, 1.0, 0.9, 0.6, 0.3, 0.0];
    let w: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
    let tot: f64 = w.iter().sum();
    let w = w.iter().map(|x| x / tot).collect();
    let mut u = Vec::new();
    for i in 0..n {
        u.push(0.9 * ((i as f64 * 1.7).sin()));
    }
    for i in 0..n {
        u.push(2.0 * ((i as f64 * 0.9).cos()));
    }
    (TwoLayerFlow::new(sigma, phi, w, eps, 0.0), u)
}

#[test]
fn structured_jacobian_matches_finite_differences() {
    let (f, u) = sample_flow(7, 0.01);
    let n = 7;
    let (x, y) = u.split_at(n);
    let mut analytic = JacobianBlocks::zeros(n, n);
    assert!(f.jacobian(x, y, 0.01, &mut analytic));
    let fd = finite_difference_blocks(&f, x, y, 0.01);
    for (a, b) in [
        (&analytic.gx, &fd.gx),
        (&analytic.gy, &fd.gy),
        (&analytic.fx, &fd.fx),
        (&analytic.fy, &fd.fy),
    ] {
        let err = (a - b).abs().max();
        assert!(err < 1e-7 * (1.0 + b.abs().max()), "max deviation {err}");
    }
}

#[test]
fn woodbury_solve_matches_dense_lu() {
    for eps in [1e-1, 1e-6] {
        let (mut f, u) = sample_flow(9, eps);
        let dense = DenseSlowFast::new(f.clone(), eps);
        let jd = dense.dense_jacobian(&u);
        f.update_jacobian(&u);
        let c = 37.5;
        f.factor(c).unwrap();
        let b: Vec<f64> = (0..18).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut x = b.clone();
        f.solve(&mut x);
        let w = DMatrix::identity(18, 18) * c - jd;
        let res = &w * DVector::from_column_slice(&x) - DVector::from_column_slice(&b);
        let scale = w.abs().max() * DVector::from_column_slice(&x).amax();
        assert!(
            res.amax() < 1e-12 * scale,
            "eps {eps}: residual {}",
            res.amax()
        );
    }
}

#[test]
fn woodbury_solve_with_many_degrees_matches_dense_lu() {
    // K' = 10 > 8: the kernels run with a run-time length (`Var`), not `Fixed`.
    let eps = 1e-3;
    let n = 9;
    let sigma: Vec<f64> = (0..11).map(|k| 1.0 / (1.0 + k as f64)).collect();
    let phi: Vec<f64> = (0..11).map(|k| 0.5 * (k as f64 * 0.7).cos()).collect();
    let w = vec![1.0 / n as f64; n];
    let mut f = TwoLayerFlow::new(sigma, phi, w, eps, 0.0);
    let u: Vec<f64> = (0..2 * n)
        .map(|i| {
            if i < n {
                0.8 * (i as f64 * 1.3).sin()
            } else {
                1.5 * (i as f64 * 0.4).cos()
            }
        })
        .collect();
    let jd = DenseSlowFast::new(f.clone(), eps).dense_jacobian(&u);
    f.update_jacobian(&u);
    let c = 20.0;
    f.factor(c).unwrap();
    let b: Vec<f64> = (0..2 * n).map(|i| (i as f64 * 0.37).sin()).collect();
    let mut x = b.clone();
    f.solve(&mut x);
    let w = DMatrix::identity(2 * n, 2 * n) * c - jd;
    let res = &w * DVector::from_column_slice(&x) - DVector::from_column_slice(&b);
    let scale = w.abs().max() * DVector::from_column_slice(&x).amax();
    assert!(res.amax() < 1e-12 * scale, "residual {}", res.amax());
}

#[test]
fn fixed_and_runtime_lengths_give_the_same_bits() {
    let n = 11;
    let (mut f, u) = sample_flow(n, 1e-3);
    let (s, a) = u.split_at(n);
    let (mut m1, mut m2) = (vec![0.0; 6], vec![0.0; 6]);
    moments_kernel(Fixed::<6>, &f.weights, s, a, &mut m1);
    moments_kernel(Var(6), &f.weights, s, a, &mut m2);
    assert_eq!(m1, m2);
    let c = f.p_coeffs(&u);
    let (mut d1, mut d2) = (vec![0.0; 2 * n], vec![0.0; 2 * n]);
    {
        let (ds, da) = d1.split_at_mut(n);
        rhs_kernel(Fixed::<6>, &c, 1e3, s, a, ds, da);
        let (ds, da) = d2.split_at_mut(n);
        rhs_kernel(Var(6), &c, 1e3, s, a, ds, da);
    }
    assert_eq!(d1, d2);
    f.update_jacobian(&u);
    let len = f.sigma.len();
    let run = |fixed: bool| {
        let j = &f.jac;
        let mut sums = vec![0.0; 4 * (2 * len - 1)];
        let state = (&f.weights[..], &j.s[..], &j.a[..]);
        let consts = (&j.c[..], 30.0, 1e3);
        if fixed {
            factor_kernel(Fixed::<6>, consts, 0, state, None, &mut sums);
        } else {
            factor_kernel(Var(6), consts, 0, state, None, &mut sums);
        }
        let mut b: Vec<f64> = (0..2 * n).map(|i| (i as f64 * 0.37).sin()).collect();
        let (bs, ba) = b.split_at_mut(n);
        let mut g = vec![0.0; 2 * len];
        let blocks = Blocks::<false> {
            cj: &j.c,
            shift: 30.0,
            inv_eps: 1e3,
            w: &f.weights,
            s: &j.s,
            a: &j.a,
            stored: [&[][..]; 8],
        };
        let qc: Vec<f64> = (0..len).map(|k| 0.3 * k as f64 - 0.5).collect();
        if fixed {
            solve_scale_kernel(Fixed::<6>, blocks, bs, ba, &mut g);
            solve_update_kernel(Fixed::<6>, &qc, blocks, bs, ba);
        } else {
            solve_scale_kernel(Var(6), blocks, bs, ba, &mut g);
            solve_update_kernel(Var(6), &qc, blocks, bs, ba);
        }
        (sums, g, b)
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn capacitance_inverse_matches_nalgebra() {
    let k = 6;
    let entry = |i: usize, j: usize| {
        (i as f64 * 1.3 + j as f64 * 0.7).sin() + if i == j { 0.5 } else { 0.0 }
    };
    let m = DMatrix::from_fn(k, k, entry);
    let b: Vec<f64> = (0..k).map(|i| (i as f64 * 0.9).cos()).collect();
    let mut expected = DVector::from_column_slice(&b);
    assert!(m.lu().solve_mut(&mut expected));
    let mut cap = CapacitanceInverse::default();
    cap.invert(k, entry).unwrap();
    let (mut x1, mut x2) = (vec![0.0; k], vec![0.0; k]);
    cap.apply(Fixed::<6>, &b, &mut x1);
    cap.apply(Var(6), &b, &mut x2);
    assert_eq!(x1, x2);
    for (x, e) in x1.iter().zip(expected.iter()) {
        assert!((x - e).abs() < 1e-13 * expected.amax(), "{x} vs {e}");
    }
    // A singular matrix is refused.
    assert!(cap.invert(2, |_, _| 1.0).is_none());
}

#[test]
fn rhs_agrees_with_slow_fast_view() {
    let (f, u) = sample_flow(5, 0.3);
    let mut du = vec![0.0; 10];
    f.rhs(&u, &mut du);
    let mut g = vec![0.0; 5];
    let mut h = vec![0.0; 5];
    f.slow_field(&u[..5], &u[5..], 0.3, &mut g);
    f.fast_field(&u[..5], &u[5..], 0.3, &mut h);
    for i in 0..5 {
        assert!((du[i] - g[i]).abs() < 1e-15);
        assert!((du[5 + i] - h[i] / 0.3).abs() < 1e-13);
    }
}

#[test]
fn risk_decreases_along_the_field() {
    // dR/dt = −(1/ε) Σ w (∂_a ψ)² − Σ w (1 − s²)(∂_s ψ)² ≤ 0 (model.md §4), here with
    // per-particle weights: dR/dt = ∇R · F must be ≤ 0 at any state.
    let (f, u) = sample_flow(6, 0.05);
    let n = 6;
    let mut du = vec![0.0; 2 * n];
    f.rhs(&u, &mut du);
    let risk = |u: &[f64]| {
        let m = f.moments(&u[..n], &u[n..]);
        f.risk(&f.residuals(&m))
    };
    let h = 1e-7;
    let up: Vec<f64> = u.iter().zip(&du).map(|(x, d)| x + h * d).collect();
    let um: Vec<f64> = u.iter().zip(&du).map(|(x, d)| x - h * d).collect();
    let d_r = (risk(&up) - risk(&um)) / (2.0 * h);
    assert!(d_r < 0.0, "dR/dt = {d_r}");
}

/// A state of `n` particles that varies smoothly along the particle index: overlaps
/// `0.5 sin(0.013 i)`, second-layer weights `1.5 cos(0.007 i)`.
fn wavy_state(n: usize) -> Vec<f64> {
    (0..2 * n)
        .map(|i| {
            if i < n {
                0.5 * ((i as f64) * 0.013).sin()
            } else {
                1.5 * ((i as f64) * 0.007).cos()
            }
        })
        .collect()
}

#[test]
fn multi_chunk_solve_inverts_the_newton_matrix() {
    // N spans several parallel chunks. W x = c x − J x with J x taken by central
    // differences of the right-hand side (independent of the structured Jacobian).
    let n = 3 * CHUNK + 17;
    let (mut f, _) = sample_flow(5, 1e-4);
    f.weights = vec![1.0 / n as f64; n];
    let u = wavy_state(n);
    f.update_jacobian(&u);
    let c = 250.0;
    f.factor(c).unwrap();
    let b: Vec<f64> = (0..2 * n).map(|i| ((i as f64) * 0.31).sin()).collect();
    let mut x = b.clone();
    f.solve(&mut x);
    let h = 1e-6 / x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (mut fp, mut fm) = (vec![0.0; 2 * n], vec![0.0; 2 * n]);
    let up: Vec<f64> = u.iter().zip(&x).map(|(u, x)| u + h * x).collect();
    let um: Vec<f64> = u.iter().zip(&x).map(|(u, x)| u - h * x).collect();
    f.rhs(&up, &mut fp);
    f.rhs(&um, &mut fm);
    let mut worst: f64 = 0.0;
    for i in 0..2 * n {
        let jx = (fp[i] - fm[i]) / (2.0 * h);
        worst = worst.max((c * x[i] - jx - b[i]).abs());
    }
    assert!(worst < 1e-5, "residual {worst:e}");
}

/// [`sample_flow`]'s coefficients over `n` particles of uneven weights (`∝ 1 + i mod 7`,
/// summing to about one).
fn uneven_flow(n: usize, eps: f64) -> TwoLayerFlow {
    let (mut f, _) = sample_flow(5, eps);
    f.weights = (0..n)
        .map(|i| (1.0 + (i % 7) as f64) / (4.0 * n as f64))
        .collect();
    f
}

#[test]
fn parallel_results_do_not_depend_on_thread_count() {
    let n = 2 * CHUNK + 5;
    let f = uneven_flow(n, 1e-3);
    let u: Vec<f64> = (0..2 * n)
        .map(|i| 0.4 * ((i as f64) * 0.37).sin())
        .collect();
    let compute = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut g = f.clone();
            let mut du = vec![0.0; 2 * n];
            g.rhs(&u, &mut du);
            g.update_jacobian(&u);
            g.factor(40.0).unwrap();
            g.solve(&mut du);
            du
        })
    };
    assert_eq!(compute(1), compute(2));
}

/// The overlap domain `|s| ≤ 1` (up to 8 ulps): a step carrying an overlap out from inside
/// is reported; one already outside at the start is reflected (`s ↦ ±2 − s`, the move
/// reported); an output (empty start) is reflected from just past `±1`; the `a` half is
/// never touched.
#[test]
fn domain_rejects_steps_out_and_reflects_overlaps_already_out() {
    use timescales_ode::Linearization;
    let (flow, u) = sample_flow(4, 1e-3);
    let u_eps = f64::EPSILON;
    let mut moves = Vec::new();
    // Inside, or outside by at most 8 ulps: nothing to do.
    let mut v = u.clone();
    v[1] = 1.0 + 8.0 * u_eps;
    assert_eq!(
        flow.enforce_domain(&u, &mut v, &mut |i, d| moves.push((i, d))),
        None
    );
    assert!(moves.is_empty());
    // Carried out from inside: the step is refused (the first such overlap).
    let mut v = u.clone();
    (v[2], v[3]) = (-1.0 - 1e-9, 1.0 + 1e-12);
    assert_eq!(flow.enforce_domain(&u, &mut v, &mut |_, _| ()), Some(2));
    // Outside at the start already: reflected, not refused.
    let mut start = u.clone();
    start[3] = 1.0 + 4.0 * u_eps;
    let mut v = u.clone();
    v[3] = 1.0 + 16.0 * u_eps;
    assert_eq!(
        flow.enforce_domain(&start, &mut v, &mut |i, d| moves.push((i, d))),
        None
    );
    assert_eq!(v[3], 1.0 - 16.0 * u_eps);
    assert_eq!(moves, [(3, -32.0 * u_eps)]);
    // An output by itself: everything past ±1 is reflected.
    let mut v = u.clone();
    v[0] = -1.0 - 2.0 * u_eps;
    v[4] = 7.0; // an a, not an overlap
    let u = v.clone();
    let mut v = u.clone();
    assert_eq!(flow.enforce_domain(&[], &mut v, &mut |_, _| ()), None);
    assert_eq!(v[0], -1.0 + 2.0 * u_eps);
    assert_eq!(v[1..], u[1..]);
}

/// The Newton passes take `D_i⁻¹` and the coefficients of `D_i⁻¹ U_i z` from stored
/// arrays up to `STORE_BLOCKS_UP_TO` particles and recompute them from the Jacobian state
/// above: the two must be the same bits, step by step. BDF (fused Newton correction) and
/// RODAS4 (factor + solve) over a flow of several chunks with a partial SIMD block, once
/// with every factorization stored and once with none.
#[test]
fn stored_and_recomputed_blocks_give_the_same_bits() {
    use timescales_ode::{Bdf, Rodas4, Solver, SolverOptions};
    let n = 2 * CHUNK + 7;
    let f = uneven_flow(n, 1e-4);
    let u0 = wavy_state(n);
    let opts = SolverOptions {
        rtol: 1e-8,
        atol: 1e-10,
        ..SolverOptions::default()
    };
    let run = |store_up_to: usize, rodas: bool| {
        let mut g = f.clone();
        g.store_blocks_up_to = store_up_to;
        let mut solver: Box<dyn Solver> = if rodas {
            Box::new(Rodas4::new(g, 0.0, &u0, &opts).unwrap())
        } else {
            Box::new(Bdf::new(g, 0.0, &u0, &opts).unwrap())
        };
        solver.set_stop_time(0.05).unwrap();
        let mut ts = Vec::new();
        while solver.clock().t() < 0.05 {
            ts.push(solver.step().unwrap());
        }
        (ts, solver.state().to_vec(), solver.stats())
    };
    for rodas in [false, true] {
        let (stored, recomputed) = (run(usize::MAX, rodas), run(0, rodas));
        assert!(
            stored.2.factorizations > 1 && stored.0.len() > 10,
            "{:?}",
            stored.2
        );
        assert_eq!(stored.0, recomputed.0, "step times (rodas {rodas})");
        assert_eq!(stored.2, recomputed.2, "work counters (rodas {rodas})");
        assert!(
            stored
                .1
                .iter()
                .zip(&recomputed.1)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "state bits (rodas {rodas})"
        );
    }
}
