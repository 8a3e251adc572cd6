//! The population risk, its gradient and the flow field of a finite network.

use nalgebra::{DMatrix, DVector};
use timescales_network::{InitialLaw, Model, NetworkState, Population};

fn public_model() -> Model {
    let sigma: Vec<f64> = (0..6u32)
        .map(|k| 1.0 / ((1..=k).product::<u32>() as f64).sqrt())
        .collect();
    Model::new(&sigma, &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0], 0.0).unwrap()
}

/// A state with sizeable overlaps (so that every kernel degree matters).
fn state(d: usize, m: usize, seed: u64) -> NetworkState {
    let law = InitialLaw::Normal {
        mean: 0.3,
        std: 1.0,
    };
    let mut s = NetworkState::random(d, m, &law, seed).unwrap();
    for i in 0..m {
        s.w[(0, i)] += 0.8 * (i as f64 / m as f64 - 0.5);
    }
    s.project_to_sphere();
    s
}

/// The risk from its definition, `½ E[(y − f)²]` written with the Hermite coefficients:
/// an independent O(m²d) triple loop.
fn risk_by_loops(model: &Model, s: &NetworkState) -> f64 {
    let (d, m) = (s.dim(), s.width());
    let k = model.kernels();
    let mf = m as f64;
    let mut r = 0.5 * model.phi().iter().map(|p| p * p).sum::<f64>();
    for i in 0..m {
        r -= s.a[i] * k.v(s.w[(0, i)]) / mf;
        for j in 0..m {
            let g: f64 = (0..d).map(|l| s.w[(l, i)] * s.w[(l, j)]).sum();
            r += 0.5 * s.a[i] * s.a[j] * k.u(g) / (mf * mf);
        }
    }
    r
}

#[test]
fn risk_matches_direct_sum_and_sizes_straddle_blocks() {
    let model = public_model();
    for (d, m) in [(3, 1), (7, 5), (20, 63), (9, 64), (17, 65), (31, 130)] {
        let s = state(d, m, 11 + d as u64);
        let mut pop = Population::new(model.clone(), d, m).unwrap();
        let r = pop.risk(&s).unwrap();
        let r_ref = risk_by_loops(&model, &s);
        assert!(
            (r - r_ref).abs() < 1e-12 * r_ref.abs().max(1.0),
            "d={d} m={m}: {r} vs {r_ref}"
        );
    }
}

/// The Gram matrix (a symmetric rank-`d` update, lower triangle mirrored) is exactly
/// symmetric and equals `WᵀW` from its definition, across faer's tile and inner-chunk
/// (512) boundaries.
#[test]
fn gram_matrix_is_symmetric_and_matches_the_direct_sum() {
    let model = public_model();
    for (d, m) in [(5, 1), (9, 40), (520, 37), (33, 70)] {
        let s = state(d, m, 3 + m as u64);
        let mut pop = Population::new(model.clone(), d, m).unwrap();
        pop.prepare(&s.w);
        let g = pop.gram();
        for i in 0..m {
            for j in 0..m {
                assert_eq!(g[(i, j)].to_bits(), g[(j, i)].to_bits(), "({i}, {j})");
                let direct: f64 = (0..d).map(|l| s.w[(l, i)] * s.w[(l, j)]).sum();
                assert!(
                    (g[(i, j)] - direct).abs() < 1e-14 * d as f64,
                    "d={d} m={m} ({i}, {j}): {} vs {direct}",
                    g[(i, j)]
                );
            }
        }
    }
}

/// Central differences of the risk against the analytic gradient, on every `a_i` and on
/// a spread of `W` entries, for sizes straddling the 64-column block.
#[test]
fn gradient_matches_finite_differences() {
    let model = public_model();
    for (d, m) in [(5, 3), (12, 70)] {
        let s = state(d, m, 5);
        let mut pop = Population::new(model.clone(), d, m).unwrap();
        let (ga, gw) = pop.gradient(&s).unwrap();
        let h = 1e-5;
        for i in 0..m {
            let (mut p, mut q) = (s.clone(), s.clone());
            p.a[i] += h;
            q.a[i] -= h;
            let fd = (pop.risk(&p).unwrap() - pop.risk(&q).unwrap()) / (2.0 * h);
            assert!((fd - ga[i]).abs() < 1e-8, "a[{i}]: fd {fd} vs {}", ga[i]);
        }
        for idx in (0..d * m).step_by(7) {
            let (r, c) = (idx % d, idx / d);
            let (mut p, mut q) = (s.clone(), s.clone());
            p.w[(r, c)] += h;
            q.w[(r, c)] -= h;
            let fd = (pop.risk(&p).unwrap() - pop.risk(&q).unwrap()) / (2.0 * h);
            assert!(
                (fd - gw[(r, c)]).abs() < 1e-8,
                "w[{r},{c}]: fd {fd} vs {}",
                gw[(r, c)]
            );
        }
    }
}

/// `F_a = −m ∂R/∂a`, `F_W = −m (I − w wᵀ) ∇_W R`, and `F_W` is tangent to the sphere.
#[test]
fn field_is_projected_scaled_gradient() {
    let model = public_model();
    let (d, m) = (9, 13);
    let s = state(d, m, 3);
    let mut pop = Population::new(model, d, m).unwrap();
    let (_, fa, fw) = pop.field(&s).unwrap();
    let (ga, gw) = pop.gradient(&s).unwrap();
    let mf = m as f64;
    assert!((&fa + &ga * mf).amax() < 1e-13);
    for i in 0..m {
        let w = s.w.column(i);
        let g = gw.column(i) * mf;
        let expect = -(&g - w * w.dot(&g));
        assert!((fw.column(i) - expect).amax() < 1e-13);
        assert!(w.dot(&fw.column(i)).abs() < 1e-13);
    }
}

/// With `σ = φ` (realizable target), the state `a = (m, 0, …)`, `w_0 = u*` is a global
/// minimum: zero risk and zero field.
#[test]
fn teacher_state_has_zero_risk_and_field() {
    let coeffs = [0.2, 1.0, 0.5, 0.25];
    let model = Model::new(&coeffs, &coeffs, 0.0).unwrap();
    let (d, m) = (6, 4);
    let mut s = state(d, m, 1);
    s.a = DVector::zeros(m);
    s.a[0] = m as f64;
    s.w.set_column(
        0,
        &DVector::from_fn(d, |r, _| if r == 0 { 1.0 } else { 0.0 }),
    );
    let mut pop = Population::new(model, d, m).unwrap();
    let (r, fa, fw) = pop.field(&s).unwrap();
    assert!(r.abs() < 1e-14, "{r}");
    assert!(fa.amax() < 1e-13 && fw.amax() < 1e-13);
}

#[test]
fn neglected_energy_enters_the_risk() {
    let model = Model::new(&[1.0, 1.0], &[0.0, 1.0, 0.5], 0.01).unwrap();
    assert!((model.neglected_energy() - 0.5 * (0.25 + 0.01)).abs() < 1e-15);
    let s = NetworkState::new(
        DVector::zeros(2),
        DMatrix::from_element(3, 2, 3f64.sqrt().recip()),
    )
    .unwrap();
    let mut pop = Population::new(model, 3, 2).unwrap();
    // a = 0: R = ½‖φ‖² including the tail.
    assert!((pop.risk(&s).unwrap() - 0.5 * (1.0 + 0.25 + 0.01)).abs() < 1e-15);
}

#[test]
fn shape_mismatch_is_a_typed_error() {
    let mut pop = Population::new(public_model(), 4, 3).unwrap();
    let s = state(5, 3, 0);
    assert!(matches!(
        pop.risk(&s),
        Err(timescales_network::NetworkError::Mismatch { .. })
    ));
}
