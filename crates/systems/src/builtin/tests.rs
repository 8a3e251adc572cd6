//! Tests of the built-in problems: analytic Jacobians against finite differences, the
//! closed forms against the reduced, layer and full problems, and unknown names.

use super::*;
use timescales_ode::finite_difference_blocks;

#[test]
fn analytic_jacobians_match_finite_differences() {
    for p in list() {
        let (x, y) = ([0.7], [-1.3]);
        let mut b = JacobianBlocks::zeros(1, 1);
        assert!(p.system.jacobian(&x, &y, 0.01, &mut b), "{}", p.name);
        let fd = finite_difference_blocks(p.system.as_ref(), &x, &y, 0.01);
        assert!((b.gx[(0, 0)] - fd.gx[(0, 0)]).abs() < 1e-8, "{}", p.name);
        assert!((b.gy[(0, 0)] - fd.gy[(0, 0)]).abs() < 1e-8, "{}", p.name);
        assert!((b.fx[(0, 0)] - fd.fx[(0, 0)]).abs() < 1e-8, "{}", p.name);
        assert!((b.fy[(0, 0)] - fd.fy[(0, 0)]).abs() < 1e-8, "{}", p.name);
    }
}

#[test]
fn reduced_closed_forms_solve_the_reduced_problem() {
    // f(X₀, Y₀) = 0 and X₀' = g(X₀, Y₀) (central difference in t) for every problem.
    for p in list() {
        let r = p.reduced_exact.unwrap();
        for t in [0.0, 0.1, 0.3, p.t_end] {
            let (a, b) = (r(t), r(t + 1e-5));
            let am = if t > 0.0 { r(t - 1e-5) } else { a.clone() };
            let (mut f, mut g) = ([0.0], [0.0]);
            p.system.fast_field(&a[..1], &a[1..], 0.0, &mut f);
            p.system.slow_field(&a[..1], &a[1..], 0.0, &mut g);
            assert!(f[0].abs() < 1e-13, "{} t={t}: f = {}", p.name, f[0]);
            let dx = if t > 0.0 {
                (b[0] - am[0]) / 2e-5
            } else {
                (b[0] - a[0]) / 1e-5
            };
            let tol = if t > 0.0 { 1e-8 } else { 1e-4 };
            assert!(
                (dx - g[0]).abs() < tol,
                "{} t={t}: {dx} vs {}",
                p.name,
                g[0]
            );
        }
    }
}

#[test]
fn layer_closed_forms_solve_the_layer_problem() {
    for p in list() {
        let l = p.layer_exact.unwrap();
        assert!((l(0.0)[0] - p.y0[0]).abs() < 1e-14, "{}", p.name);
        for tau in [0.2, 1.0, 3.0] {
            let h = 1e-5;
            let d = (l(tau + h)[0] - l(tau - h)[0]) / (2.0 * h);
            let mut f = [0.0];
            p.system.fast_field(&p.x0, &l(tau), 0.0, &mut f);
            assert!(
                (d - f[0]).abs() < 1e-8,
                "{} τ={tau}: {d} vs {}",
                p.name,
                f[0]
            );
        }
    }
}

#[test]
fn linear_exact_solves_the_full_problem() {
    let eps = 0.03;
    for t in [0.0, 0.01, 0.1, 1.0] {
        let h = 1e-6;
        let u = linear::exact(t, eps);
        let d: Vec<f64> = (0..2)
            .map(|i| {
                (linear::exact(t + h, eps)[i] - linear::exact((t - h).max(0.0), eps)[i])
                    / (h + h.min(t))
            })
            .collect();
        let (mut g, mut f) = ([0.0], [0.0]);
        linear::Linear.slow_field(&u[..1], &u[1..], eps, &mut g);
        linear::Linear.fast_field(&u[..1], &u[1..], eps, &mut f);
        assert!((d[0] - g[0]).abs() < 1e-4, "t={t}");
        assert!((eps * d[1] - f[0]).abs() < 1e-4, "t={t}");
    }
    assert_eq!(linear::exact(0.0, 0.1), vec![1.0, 0.0]);
}

#[test]
fn unknown_names_list_the_known_ones() {
    let e = by_name("brusselator").unwrap_err();
    assert!(
        e.to_string()
            .contains("linear, michaelis-menten, van-der-pol, fold")
    );
    assert_eq!(by_name("fold").unwrap().name, "fold");
}
