//! Tests of the reduced flow on the built-in problems: closed forms of the reduced
//! solutions, fold detection and location, the first-order outer correction, and refused
//! starts.

use super::*;
use timescales_systems::builtin::{fold, linear, michaelis_menten, van_der_pol};

fn start(x0: f64, y: f64, x1: Option<f64>) -> OuterStart {
    OuterStart {
        t0: 0.0,
        x0: vec![x0],
        y_guess: vec![y],
        x1_0: x1.map(|v| vec![v]),
    }
}

#[test]
fn michaelis_menten_matches_the_lambert_w_closed_form() {
    let times: Vec<f64> = (0..=20).map(|i| 0.25 * i as f64).collect();
    let opts = ReducedOptions::default();
    let sol = solve_reduced(
        &michaelis_menten::MichaelisMenten::default(),
        &start(1.0, 0.0, None),
        &times,
        &opts,
    )
    .unwrap()
    .into_complete()
    .unwrap();
    for (i, &t) in times.iter().enumerate() {
        let s = michaelis_menten::reduced_substrate(t, 1.0, 1.0, 0.5);
        let err = (sol.x[i][0] - s).abs() / (opts.rtol * s + opts.atol);
        assert!(err < 10.0, "t = {t}: error {err} tolerances");
        let sc = sol.x[i][0];
        assert!((sol.y[i][0] - sc / (sc + 1.0)).abs() < 1e-14);
    }
    assert!(sol.stats.steps < 400, "{:?}", sol.stats);
}

#[test]
fn van_der_pol_branch_matches_the_w_minus_one_closed_form() {
    let times = [0.0, 0.2, 0.4, 0.6, 0.8];
    let sol = solve_reduced(
        &van_der_pol::VanDerPol,
        &start(2.0 / 3.0, 3.0, None),
        &times,
        &ReducedOptions::default(),
    )
    .unwrap();
    assert_eq!(sol.termination, Termination::Completed);
    for (i, &t) in times.iter().enumerate() {
        let r = van_der_pol::reduced(t);
        assert!((sol.x[i][0] - r[0]).abs() < 1e-8, "t = {t}");
        assert!((sol.y[i][0] - r[1]).abs() < 1e-8, "t = {t}");
    }
}

#[test]
fn fold_is_detected_and_located() {
    // s' = −1, u = −√s: the branch ends at s = 0, t = 1 (closed form).
    let times = [0.5, 1.5, 2.0];
    let sol = solve_reduced(
        &fold::Fold,
        &start(1.0, -0.5, None),
        &times,
        &ReducedOptions::default(),
    )
    .unwrap();
    assert_eq!(sol.t, [0.5]);
    let Termination::Fold(ev) = &sol.termination else {
        panic!("{:?}", sol.termination)
    };
    assert_eq!(ev.kind, FoldKind::Fold);
    assert!((ev.t - fold::fold_time(1.0)).abs() < 1e-6, "{ev}");
    assert!(ev.x[0].abs() < 1e-6 && ev.y[0].abs() < 1e-3, "{ev}");
    assert!(ev.t_regular < ev.t && ev.t - ev.t_regular < 1e-2, "{ev}");
    let e = sol.into_complete().unwrap_err();
    assert!(e.to_string().contains("fold of the slow manifold"), "{e}");
}

#[test]
fn van_der_pol_fold_time_is_the_closed_form() {
    let sol = solve_reduced(
        &van_der_pol::VanDerPol,
        &start(2.0 / 3.0, 2.5, None),
        &[2.0],
        &ReducedOptions::default(),
    )
    .unwrap();
    let Termination::Fold(ev) = &sol.termination else {
        panic!("{:?}", sol.termination)
    };
    // Fold at y = 1, x = −2/3 after 3/2 − ln 2.
    assert!((ev.t - van_der_pol::fold_time(2.0)).abs() < 1e-6, "{ev}");
    assert!((ev.x[0] + 2.0 / 3.0).abs() < 1e-6, "{ev}");
    assert!((ev.y[0] - 1.0).abs() < 1e-3, "{ev}");
}

#[test]
fn repelling_branch_is_refused() {
    // u = +√s is repelling (∂f/∂u = 2u > 0).
    let e = solve_reduced(
        &fold::Fold,
        &start(1.0, 0.8, None),
        &[1.0],
        &ReducedOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, OuterError::NotAttracting { max_real, .. } if (max_real - 2.0).abs() < 1e-12),
        "{e:?}"
    );
}

#[test]
fn first_order_outer_of_the_linear_problem_is_exact() {
    // X₀ = e^{−t}, X₁ = e^{−t} from X₁(0) = 1; Y₁ = −X₀' ... = f_y⁻¹(H g − f_x X₁ − f_ε):
    // with H = −1, g = Y₀ = −e^{−t}, f_x = −1, f_ε = −Y₀: Y₁ = −(e^{−t} + X₁ − e^{−t}) = −X₁.
    let times = [0.0, 0.5, 1.0, 2.0];
    let opts = ReducedOptions::default();
    let sol = solve_reduced(&linear::Linear, &start(1.0, 0.0, Some(1.0)), &times, &opts)
        .unwrap()
        .into_complete()
        .unwrap();
    let fo = sol.first_order.as_ref().unwrap();
    for (i, &t) in times.iter().enumerate() {
        let e = (-t).exp();
        assert!((sol.x[i][0] - e).abs() < 1e-9);
        assert!((sol.y[i][0] + e).abs() < 1e-9);
        assert!((sol.dydt[i][0] - e).abs() < 1e-9);
        assert!((fo.x1[i][0] - e).abs() < 1e-8, "t = {t}: {}", fo.x1[i][0]);
        assert!((fo.y1[i][0] + e).abs() < 1e-8, "t = {t}: {}", fo.y1[i][0]);
    }
}

#[test]
fn oscillatory_loss_of_attractivity_is_reported() {
    // ∂f/∂y = [[x − 1, −2], [2, x − 1]]: eigenvalues x − 1 ± 2i cross at x = 1, t = 1.
    use timescales_systems::{UserSystem, VariableSpec};
    let sys = UserSystem::new(
        &[VariableSpec::new("x", "1")],
        &[
            VariableSpec::new("a", "(x - 1)*a - 2*b"),
            VariableSpec::new("b", "2*a + (x - 1)*b"),
        ],
        &[],
    )
    .unwrap();
    let st = OuterStart {
        t0: 0.0,
        x0: vec![0.0],
        y_guess: vec![0.3, -0.2],
        x1_0: None,
    };
    let sol = solve_reduced(&sys, &st, &[0.5, 2.0], &ReducedOptions::default()).unwrap();
    let Termination::Fold(ev) = &sol.termination else {
        panic!("{:?}", sol.termination)
    };
    assert_eq!(ev.kind, FoldKind::Oscillatory);
    assert!((ev.t - 1.0).abs() < 1e-6, "{ev}");
    assert!(ev.y.iter().all(|v| v.abs() < 1e-12), "{ev}");
}

/// The linear problem without its analytic derivatives: exercises the finite-difference
/// Jacobian blocks and `∂/∂ε`.
struct Bare;
impl SlowFastSystem for Bare {
    fn slow_dim(&self) -> usize {
        1
    }
    fn fast_dim(&self) -> usize {
        1
    }
    fn slow_field(&self, x: &[f64], y: &[f64], e: f64, out: &mut [f64]) {
        linear::Linear.slow_field(x, y, e, out)
    }
    fn fast_field(&self, x: &[f64], y: &[f64], e: f64, out: &mut [f64]) {
        linear::Linear.fast_field(x, y, e, out)
    }
}

#[test]
fn finite_difference_derivatives_give_the_same_first_order_outer() {
    let times = [0.0, 1.0, 2.0];
    let opts = ReducedOptions::default();
    let sol = solve_reduced(&Bare, &start(1.0, 0.0, Some(1.0)), &times, &opts)
        .unwrap()
        .into_complete()
        .unwrap();
    let fo = sol.first_order.unwrap();
    for (i, &t) in times.iter().enumerate() {
        assert!((fo.x1[i][0] - (-t).exp()).abs() < 1e-7, "t = {t}");
        assert!((fo.y1[i][0] + (-t).exp()).abs() < 1e-7, "t = {t}");
    }
}

#[test]
fn fold_points_are_solved_from_the_extended_system() {
    // Van der Pol's fold is (x, y) = (−2/3, 1) exactly; the extrapolation alone put y within
    // 1e-3 of it.
    let sol = solve_reduced(
        &van_der_pol::VanDerPol,
        &start(2.0 / 3.0, 2.5, None),
        &[2.0],
        &ReducedOptions::default(),
    )
    .unwrap();
    let Termination::Fold(ev) = &sol.termination else {
        panic!("{:?}", sol.termination)
    };
    assert!(ev.solved, "{ev}");
    assert!((ev.x[0] + 2.0 / 3.0).abs() < 1e-12, "{ev}");
    assert!((ev.y[0] - 1.0).abs() < 1e-7, "{ev}");
    assert!((ev.t - van_der_pol::fold_time(2.0)).abs() < 1e-8, "{ev}");
    assert!(ev.to_string().contains("solved from f = 0"), "{ev}");
    // The canonical fold: (s, u) = (0, 0) at t = 1.
    let sol = solve_reduced(
        &fold::Fold,
        &start(1.0, -0.5, None),
        &[2.0],
        &ReducedOptions::default(),
    )
    .unwrap();
    let Termination::Fold(ev) = &sol.termination else {
        panic!("{:?}", sol.termination)
    };
    assert!(
        ev.solved && ev.x[0].abs() < 1e-12 && ev.y[0].abs() < 1e-6,
        "{ev}"
    );
    assert!((ev.t - 1.0).abs() < 1e-8, "{ev}");
}

/// `x' = 1`, `ε y' = −y + 1/(1 − x)`: the branch `y = 1/(1 − x)` runs to infinity at
/// `x = 1` (t = 1) while `∂f/∂y = −1` stays regular — an impasse, not a fold.
#[test]
fn a_branch_running_to_infinity_is_an_impasse() {
    use timescales_systems::{UserSystem, VariableSpec};
    let sys = UserSystem::new(
        &[VariableSpec::new("x", "1")],
        &[VariableSpec::new("y", "-y + 1/(1 - x)")],
        &[],
    )
    .unwrap();
    let sol = solve_reduced(
        &sys,
        &start(0.0, 1.0, None),
        &[0.5, 2.0],
        &ReducedOptions::default(),
    )
    .unwrap();
    let Termination::Impasse(ev) = &sol.termination else {
        panic!("{:?}", sol.termination)
    };
    assert!(ev.t < 1.0 && ev.t >= 0.5, "{ev}");
    assert!((ev.max_real + 1.0).abs() < 1e-9, "{ev}");
    let e = sol.into_complete().unwrap_err();
    assert!(matches!(e, OuterError::Impasse(_)), "{e:?}");
    assert!(
        e.to_string().contains("impasse") && !e.to_string().contains("fold of"),
        "{e}"
    );
}

/// `x' = 1/(1 − y)`, `ε y' = x − y`: on the branch `y = x` the slow speed `1/(1 − x)`
/// blows up at `x = 1` (t = 1/2 from x = 0) with `y` finite and `∂f/∂y = −1`.
#[test]
fn a_reduced_flow_blowing_up_at_finite_y_is_an_impasse() {
    use timescales_systems::{UserSystem, VariableSpec};
    let sys = UserSystem::new(
        &[VariableSpec::new("x", "1/(1 - y)")],
        &[VariableSpec::new("y", "x - y")],
        &[],
    )
    .unwrap();
    let sol = solve_reduced(
        &sys,
        &start(0.0, 0.0, None),
        &[0.25, 1.0],
        &ReducedOptions::default(),
    )
    .unwrap();
    let Termination::Impasse(ev) = &sol.termination else {
        panic!("{:?}", sol.termination)
    };
    assert_eq!(ev.kind, ImpasseKind::UnboundedFlow, "{ev}");
    assert!((ev.t - 0.5).abs() < 1e-3, "{ev}");
    assert!(ev.y[0] < 1.0 && ev.y[0] > 0.9, "{ev}");
}
