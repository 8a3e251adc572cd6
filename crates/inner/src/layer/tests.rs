//! Tests of the layer problem: closed-form layers, limits and convergence times, first-order
//! terms, an interior layer after a jump, a divergent layer, and Rodas against DOP853.

use super::*;
use timescales_systems::builtin::{fold, linear, michaelis_menten, van_der_pol};

fn start(x0: f64, y0: f64, first_order: bool) -> LayerStart {
    LayerStart {
        t0: 0.0,
        x0: vec![x0],
        y0: vec![y0],
        first_order,
    }
}

#[test]
fn layers_match_their_closed_forms() {
    let taus: Vec<f64> = (0..=40).map(|i| 0.25 * i as f64).collect();
    let opts = LayerOptions::default();
    for p in timescales_systems::builtin::list() {
        let st = start(p.x0[0], p.y0[0], false);
        let sol = solve_layer(p.system.as_ref(), &st, &taus, &opts).unwrap();
        let exact = p.layer_exact.unwrap();
        for &tau in &taus {
            let v = sol.at(tau).unwrap();
            let e = exact(tau)[0];
            // Units of the requested tolerance (rtol·|η| + atol), plus the convergence
            // tolerance past the end of the layer.
            let scale = opts.rtol * e.abs() + opts.atol + opts.tol * 10.0;
            let err = (v.y[0] - e).abs() / scale;
            assert!(
                err < 100.0,
                "{} τ = {tau}: {} vs {e} ({err} tol)",
                p.name,
                v.y[0]
            );
        }
        assert_eq!(sol.method, Method::Dop853);
        assert!(sol.max_real_limit < 0.0);
    }
}

#[test]
fn limits_and_convergence_times() {
    let opts = LayerOptions::default();
    let sol = solve_layer(&linear::Linear, &start(1.0, 0.0, false), &[], &opts).unwrap();
    assert!((sol.y_limit[0] + 1.0).abs() < 1e-15);
    // |η₀ − h| = e^{−τ} ≤ 1e-12·2 needs τ ≈ 27.
    assert!(
        sol.tau_converged > 25.0 && sol.tau_converged < 35.0,
        "{}",
        sol.tau_converged
    );
    let sol = solve_layer(
        &van_der_pol::VanDerPol,
        &start(2.0 / 3.0, 0.0, false),
        &[],
        &opts,
    )
    .unwrap();
    assert!((sol.y_limit[0] - 2.0).abs() < 1e-14);
    let sol = solve_layer(&fold::Fold, &start(1.0, 0.0, false), &[], &opts).unwrap();
    assert!((sol.y_limit[0] + 1.0).abs() < 1e-15);
}

#[test]
fn first_order_terms_of_the_linear_problem() {
    // η₀ = −1 + e^{−τ}, ξ₁ = ∫η₀ = −τ + 1 − e^{−τ}, so X₁(0) = 1; g∞ = −1, H = −1,
    // slope of η₁ = H g∞ = 1 and offset Y₁(0) = −X₁(0) = −1.
    let taus = [0.5, 1.0, 2.0];
    let sol = solve_layer(
        &linear::Linear,
        &start(1.0, 0.0, true),
        &taus,
        &LayerOptions::default(),
    )
    .unwrap();
    assert!((sol.x1_start.as_ref().unwrap()[0] - 1.0).abs() < 1e-10);
    assert!((sol.eta1_slope.as_ref().unwrap()[0] - 1.0).abs() < 1e-14);
    assert!((sol.eta1_offset.as_ref().unwrap()[0] + 1.0).abs() < 1e-10);
    for &tau in &taus {
        let v = sol.at(tau).unwrap();
        let xi1 = -tau + 1.0 - (-tau).exp();
        assert!((v.xi1.unwrap()[0] - xi1).abs() < 1e-11, "τ = {tau}");
        // η₁' = −η₁ − ξ₁ − η₀ (f_ε = −y) = −η₁ + τ, η₁(0) = 0: η₁ = τ − 1 + e^{−τ}.
        let eta1 = tau - 1.0 + (-tau).exp();
        assert!((v.eta1.unwrap()[0] - eta1).abs() < 1e-11, "τ = {tau}");
    }
    // Past convergence the asymptote is used.
    let far = sol.at(1e3).unwrap();
    assert!((far.eta1.unwrap()[0] - (1e3 - 1.0)).abs() < 1e-7);
}

#[test]
fn michaelis_menten_first_order_start_is_the_layer_integral() {
    // X₁(0) = ∫ (g(1, c) − g∞) dσ with g = −1 + (1 + 1 − 1/2) c = −1 + 1.5c and
    // c = ½(1 − e^{−2σ}): ∫ 1.5·(−½ e^{−2σ}) dσ = −3/8.
    let sol = solve_layer(
        &michaelis_menten::MichaelisMenten::default(),
        &start(1.0, 0.0, true),
        &[],
        &LayerOptions::default(),
    )
    .unwrap();
    assert!((sol.x1_start.unwrap()[0] + 0.375).abs() < 1e-10);
}

#[test]
fn interior_layer_after_the_van_der_pol_jump() {
    // From just past the fold (x = −2/3, y = 1 − 1e-3) the layer falls to y = −2.
    let st = LayerStart {
        t0: 0.8,
        x0: vec![-2.0 / 3.0],
        y0: vec![1.0 - 1e-3],
        first_order: false,
    };
    let sol = solve_layer(&van_der_pol::VanDerPol, &st, &[], &LayerOptions::default()).unwrap();
    assert!((sol.y_limit[0] + 2.0).abs() < 1e-14, "{:?}", sol.y_limit);
    assert_eq!(sol.t0, 0.8);
}

#[test]
fn divergent_layer_is_an_error() {
    // Past the fold (s < 0) u² − s > 0: u blows up, no manifold to reach.
    let e = solve_layer(
        &fold::Fold,
        &start(-0.1, 0.0, false),
        &[],
        &LayerOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            InnerError::Integration { .. } | InnerError::NotConverged { .. }
        ),
        "{e:?}"
    );
}

#[test]
fn rodas_layer_agrees_with_dop853() {
    let taus = [0.5, 2.0, 5.0];
    let opts = LayerOptions::default();
    let a = solve_layer(
        &michaelis_menten::MichaelisMenten::default(),
        &start(1.0, 0.0, true),
        &taus,
        &opts,
    )
    .unwrap();
    let b = solve_layer(
        &michaelis_menten::MichaelisMenten::default(),
        &start(1.0, 0.0, true),
        &taus,
        &LayerOptions {
            method: Method::Rodas4,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(b.method, Method::Rodas4);
    for &t in &taus {
        let (va, vb) = (a.at(t).unwrap(), b.at(t).unwrap());
        assert!((va.y[0] - vb.y[0]).abs() < 1e-10);
        assert!((va.eta1.unwrap()[0] - vb.eta1.unwrap()[0]).abs() < 1e-9);
    }
    assert!((a.x1_start.unwrap()[0] - b.x1_start.unwrap()[0]).abs() < 1e-9);
}

#[test]
fn a_fast_field_without_an_isolated_root_is_named() {
    // ε y' = 0: every y is an equilibrium and ∂f/∂y = 0, so no slow manifold to relax to
    // (the error used to say "distance inf").
    let sys = timescales_systems::UserSystem::new(
        &[timescales_systems::VariableSpec::new("x", "-x")],
        &[timescales_systems::VariableSpec::new("y", "0")],
        &[],
    )
    .unwrap();
    let e = solve_layer(&sys, &start(1.0, 0.0, false), &[], &LayerOptions::default()).unwrap_err();
    assert!(matches!(e, InnerError::SingularFast { .. }), "{e:?}");
    assert!(e.to_string().contains("singular"), "{e}");
}
