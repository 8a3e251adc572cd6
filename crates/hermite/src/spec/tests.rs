//! Tests of [`FunctionSpec`] and [`Expansion`]. Every reference value states where it comes
//! from: a closed form, a published table, or an independent computation
//! ([`crate::test_support`]: composite Gauss–Legendre split at kinks, or plain Gauss–Hermite
//! sums written out here).

use std::f64::consts::PI;

use super::*;
use crate::hermite_normalized;
use crate::quadrature::gauss_hermite;
use crate::test_support::split_moments;
use Activation::*;
use proptest::prelude::*;

fn named(activation: Activation, scale: f64, shift: f64) -> FunctionSpec {
    FunctionSpec::Named {
        activation,
        shift,
        scale,
    }
}

/// Independent Gauss–Hermite sums `Σ w_i f(x_i) h_k(x_i)` and `Σ w_i f(x_i)²` on `n` nodes.
fn gh_moments(f: impl Fn(f64) -> f64, degree: usize, n: usize) -> (Vec<f64>, f64) {
    let (x, w) = gauss_hermite(n);
    let mut c = vec![0.0; degree + 1];
    let mut norm = 0.0;
    let mut h = vec![0.0; degree + 1];
    for (xi, wi) in x.iter().zip(&w) {
        hermite_normalized(*xi, &mut h);
        let fx = f(*xi);
        for (ck, hk) in c.iter_mut().zip(&h) {
            *ck += wi * fx * hk;
        }
        norm += wi * fx * fx;
    }
    (c, norm)
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "{what}: k = {k}: {g} vs {w} (tol {tol:e})"
        );
    }
}

// ---------------------------------------------------------------- closed forms

#[test]
fn relu_published_coefficients() {
    // Closed form (e.g. Bietti & Mairal 2019; Gaussian integration by parts):
    // σ_0 = 1/√(2π), σ_1 = ½, σ_2 = 1/(2√π), σ_3 = 0, σ_4 = He_2(0) ϕ(0)/√4! = −1/(√(2π)√24),
    // ‖relu‖² = E[relu(G)²] = ½.
    let e = FunctionSpec::named(Relu).expand(5).unwrap();
    assert_eq!(e.method, ExpansionMethod::ClosedForm);
    let want = [
        1.0 / (2.0 * PI).sqrt(),
        0.5,
        1.0 / (2.0 * PI.sqrt()),
        0.0,
        -1.0 / ((2.0 * PI).sqrt() * 24f64.sqrt()),
        0.0,
    ];
    assert_close(&e.coeffs, &want, 1e-16, "relu");
    assert!((e.norm_sq - 0.5).abs() < 1e-16);
}

#[test]
fn exp_closed_form_matches_model_and_quadrature() {
    // model.md §2: σ(x) = exp(x − ½) has σ_k = 1/√k!, ‖σ‖² = e.
    let e = FunctionSpec::named(Exp).expand(20).unwrap();
    let mut fact = 1.0;
    for k in 0..=20 {
        if k > 0 {
            fact *= k as f64;
        }
        assert!((e.coeffs[k] - 1.0 / fact.sqrt()).abs() < 1e-15, "k = {k}");
    }
    assert!((e.norm_sq - std::f64::consts::E).abs() < 1e-15);
    // Shifted/scaled: against a 160-node Gauss–Hermite sum (exact to rounding: entire
    // integrand, and 160 nodes integrate e^{cx} h_k(x) to ~1e−16 for |c| ≤ 1.5).
    for &(c, b) in &[(0.5, 0.0), (1.5, -0.7), (-1.2, 0.4), (-0.3, 1.1)] {
        let spec = named(Exp, c, b);
        let e = spec.expand(20).unwrap();
        let (q, qn) = gh_moments(|x| spec.eval(x), 20, 160);
        let size = e.norm_sq.sqrt().max(1.0);
        assert_close(&e.coeffs, &q, 1e-14 * size, &spec.to_string());
        assert!((e.norm_sq - qn).abs() < 1e-14 * e.norm_sq.max(1.0));
    }
}

#[test]
fn identity_and_constant_closed_forms() {
    let spec = named(Identity, -1.5, 0.25);
    let e = spec.expand(4).unwrap();
    let (q, qn) = gh_moments(|x| spec.eval(x), 4, 4); // 4 nodes: exact for degree ≤ 7
    assert_close(&e.coeffs, &q, 1e-15, "identity");
    assert_close(&e.coeffs, &[0.25, -1.5, 0.0, 0.0, 0.0], 0.0, "identity");
    assert!((e.norm_sq - qn).abs() < 1e-15 && e.tail_energy() == 0.0);
    // scale = 0: the constant relu(2) = 2, abs(−3) = 3, tanh(0.5).
    for (a, b, v) in [
        (Relu, 2.0, 2.0),
        (Abs, -3.0, 3.0),
        (Tanh, 0.5, 0.5f64.tanh()),
    ] {
        let s = named(a, 0.0, b);
        let e = s.expand(3).unwrap();
        assert_eq!(e.coeffs, vec![v, 0.0, 0.0, 0.0]);
        assert_eq!((e.norm_sq, e.method), (v * v, ExpansionMethod::ClosedForm));
    }
}

#[test]
fn polynomial_exact_conversion() {
    // x⁴ = He_4 + 6 He_2 + 3 (closed form x^n = Σ_m n!/(2^m m!(n−2m)!) He_{n−2m}), so in the
    // normalized basis: 3 h_0 + 6√2 h_2 + √24 h_4; ‖x⁴‖² = E[G⁸] = 105.
    let e = FunctionSpec::Polynomial(vec![0.0, 0.0, 0.0, 0.0, 1.0])
        .expand(4)
        .unwrap();
    assert_eq!(e.method, ExpansionMethod::Exact);
    assert_eq!(e.accuracy, 0.0);
    assert_close(
        &e.coeffs,
        &[3.0, 0.0, 6.0 * 2f64.sqrt(), 0.0, 24f64.sqrt()],
        1e-14,
        "x^4",
    );
    assert!((e.norm_sq - 105.0).abs() < 1e-12);
    // A general polynomial against an exact Gauss–Hermite sum (8 nodes: degree ≤ 15).
    let c = vec![1.0, -2.0, 0.5, 3.0, 0.0, -1.0];
    let spec = FunctionSpec::Polynomial(c);
    let e = spec.expand(7).unwrap();
    let (q, qn) = gh_moments(|x| spec.eval(x), 7, 8);
    assert_close(&e.coeffs, &q, 1e-12, "polynomial");
    assert!((e.norm_sq - qn).abs() < 1e-11);
    assert_eq!(&e.coeffs[6..], &[0.0, 0.0]); // zero-padded above the polynomial degree
    // Truncation keeps the norm of the whole function.
    let t = spec.expand(2).unwrap();
    assert_eq!(t.coeffs.len(), 3);
    assert!((t.norm_sq - e.norm_sq).abs() < 1e-12);
    let tail: f64 = e.coeffs[3..].iter().map(|v| v * v).sum::<f64>() / 2.0;
    assert!((t.tail_energy() - tail).abs() < 1e-11);
}

#[test]
fn relu_and_abs_closed_forms_match_split_quadrature() {
    // Reference: composite Gauss–Legendre split at the kink x0 = −shift/scale
    // (test_support::split_moments), independent of the closed forms.
    let degree = 25;
    for &scale in &[-2.0, -0.5, 0.5, 1.0, 3.0] {
        for &shift in &[-2.0, -0.3, 0.0, 0.7, 3.0] {
            for a in [Relu, Abs] {
                let spec = named(a, scale, shift);
                let e = spec.expand(degree).unwrap();
                let (q, qn) = split_moments(|x| spec.eval(x), degree, &[-shift / scale]);
                let tol = 1e-14 * e.norm_sq.sqrt().max(1.0);
                assert_close(&e.coeffs, &q, tol, &spec.to_string());
                assert!((e.norm_sq - qn).abs() < 1e-13 * qn.max(1.0), "{spec}: norm");
                assert!(e.accuracy <= 1e-13);
            }
        }
    }
}

#[test]
fn relu_far_from_kink_and_high_degree() {
    // Kink far in the tail: relu(x + 40) = x + 40 up to ϕ(40) ≈ e^{−800}: f_0 = 40, f_1 = 1,
    // and f_k = ϕ(40) h_{k−2}(−40)/sqrt(k(k−1)) for 2 ≤ k ≤ 1024 stays below 9.7e−178
    // (independent log-space evaluation of the recurrence in Python). No overflow or NaN.
    let e = named(Relu, 1.0, 40.0).expand(MAX_DEGREE).unwrap();
    assert!((e.coeffs[0] - 40.0).abs() < 1e-13 && (e.coeffs[1] - 1.0).abs() < 1e-16);
    assert!(e.coeffs[2..].iter().all(|v| v.abs() < 1e-177));
    assert!(e.coeffs[2..].iter().any(|v| v.abs() > 1e-178));
    let e = FunctionSpec::named(Relu).expand(MAX_DEGREE).unwrap();
    assert!(e.coeffs.iter().all(|v| v.is_finite()));
    // Σ_k σ_k² → ‖relu‖² = ½ with tail ~ K^{−1/2}.
    assert!(e.tail_energy() > 0.0 && e.tail_energy() < 1e-2);
}

// ---------------------------------------------------------------- quadrature path

#[test]
fn smooth_activations_match_independent_quadrature() {
    // Reference: composite Gauss–Legendre on [−16, 16] (panels 0.25 wide, 20 nodes), an
    // independent rule. (1, 0), (0.7, 0.4), (−1.2, −0.8) take the Gauss–Hermite path,
    // (3, 0.5) the composite path for steep functions.
    let degree = 20;
    for a in [Tanh, Erf, Sigmoid, Softplus, Gelu] {
        for &(scale, shift) in &[(1.0, 0.0), (0.7, 0.4), (-1.2, -0.8), (3.0, 0.5)] {
            let spec = named(a, scale, shift);
            let e = spec.expand(degree).unwrap();
            assert!(matches!(e.method, ExpansionMethod::Quadrature { .. }));
            assert!(e.accuracy <= 1e-13 * e.norm_sq.sqrt().max(1.0), "{spec}");
            let (q, qn) = split_moments(|x| spec.eval(x), degree, &[]);
            let tol = 1e-13 * e.norm_sq.sqrt().max(1.0);
            assert_close(&e.coeffs, &q, tol, &spec.to_string());
            assert!((e.norm_sq - qn).abs() < 1e-13 * qn.max(1.0), "{spec}: norm");
        }
    }
}

#[test]
fn erf_matches_williams_closed_forms() {
    // Williams (1998), "Computation with infinite neural networks":
    // E[erf(sG) erf(sG)] = (2/π) arcsin(2s²/(1 + 2s²)); and by Stein's lemma
    // f_1 = E[G erf(sG)] = E[(2s/√π) e^{−s²G²}] = 2s / (√π √(1 + 2s²)).
    // s = 5 and s = 12 exercise the composite rule, s = 0.5 and 1 Gauss–Hermite.
    for &s in &[0.5, 1.0, 5.0, 12.0] {
        let e = named(Erf, s, 0.0).expand(15).unwrap();
        let f1 = 2.0 * s / (PI.sqrt() * (1.0 + 2.0 * s * s).sqrt());
        let norm = 2.0 / PI * (2.0 * s * s / (1.0 + 2.0 * s * s)).asin();
        assert!(
            (e.coeffs[1] - f1).abs() < 1e-14,
            "s = {s}: {} vs {f1}",
            e.coeffs[1]
        );
        assert!(
            (e.norm_sq - norm).abs() < 1e-14,
            "s = {s}: {} vs {norm}",
            e.norm_sq
        );
    }
}

#[test]
fn exact_identities_between_activations() {
    // sigmoid(x) = ½ + ½ tanh(x/2) (closed form), so σ_k = ½ δ_k0 + ½ tanh(·/2)_k.
    let sig = FunctionSpec::named(Sigmoid).expand(20).unwrap();
    let th = named(Tanh, 0.5, 0.0).expand(20).unwrap();
    for k in 0..=20 {
        let want = 0.5 * th.coeffs[k] + if k == 0 { 0.5 } else { 0.0 };
        assert!((sig.coeffs[k] - want).abs() < 1e-14, "k = {k}");
    }
    // Stein: sqrt(k+1) f_{k+1} = E[f'(G) h_k(G)]; softplus' = sigmoid.
    let sp = FunctionSpec::named(Softplus).expand(21).unwrap();
    for k in 0..=20 {
        let lhs = ((k + 1) as f64).sqrt() * sp.coeffs[k + 1];
        assert!((lhs - sig.coeffs[k]).abs() < 1e-14, "k = {k}");
    }
    // gelu(x) = x Φ(x) (closed forms via Stein's lemma E[G g(G)] = E[g'(G)]):
    // f_0 = E[G Φ(G)] = E[ϕ(G)] = 1/(2√π); f_1 = E[gelu'(G)] = E[Φ(G)] + E[G ϕ(G)] = ½ + 0.
    let g = FunctionSpec::named(Gelu).expand(3).unwrap();
    assert!((g.coeffs[0] - 1.0 / (2.0 * PI.sqrt())).abs() < 1e-15);
    assert!((g.coeffs[1] - 0.5).abs() < 1e-15);
}

#[test]
fn known_zero_parities() {
    // tanh, erf odd ⇒ even coefficients vanish; relu(x) − x/2 = |x|/2 even ⇒ odd k ≥ 3
    // vanish; abs even ⇒ odd vanish; sigmoid − ½, gelu − x/2, softplus − x/2 likewise.
    type ZeroRule = fn(usize) -> bool;
    let cases: [(FunctionSpec, ZeroRule); 7] = [
        (FunctionSpec::named(Tanh), |k| k % 2 == 0),
        (named(Tanh, 3.0, 0.0), |k| k % 2 == 0), // composite rule
        (FunctionSpec::named(Erf), |k| k % 2 == 0),
        (FunctionSpec::named(Relu), |k| k % 2 == 1 && k >= 3),
        (named(Abs, -2.0, 0.0), |k| k % 2 == 1),
        (FunctionSpec::named(Sigmoid), |k| k % 2 == 0 && k >= 2),
        (FunctionSpec::named(Gelu), |k| k % 2 == 1 && k >= 3),
    ];
    for (spec, zero) in &cases {
        let e = spec.expand(30).unwrap();
        for k in 0..=30 {
            if zero(k) {
                assert!(
                    e.coeffs[k].abs() <= e.accuracy.max(1e-16),
                    "{spec}: f_{k} = {}",
                    e.coeffs[k]
                );
            } else if k <= 5 {
                assert!(e.coeffs[k].abs() > 1e-3, "{spec}: f_{k} should not vanish");
            }
        }
        assert!(e.zero_indices(1e-15).iter().all(|&k| zero(k)), "{spec}");
    }
    let relu = FunctionSpec::named(Relu).expand(7).unwrap();
    assert_eq!(relu.zero_indices(1e-15), vec![3, 5, 7]);
}

#[test]
fn high_degree_uses_composite_rule_consistently() {
    // With a small Gauss–Hermite cap, degree 40 goes to the composite rule; both methods
    // must agree (two independent rules).
    let spec = FunctionSpec::named(Tanh);
    let gh = spec.expand(40).unwrap();
    let opts = ExpandOptions {
        max_nodes: 128,
        ..ExpandOptions::default()
    };
    let comp = spec.expand_with(40, &opts).unwrap();
    assert_close(&comp.coeffs, &gh.coeffs, 2e-15, "tanh composite vs GH");
    match (gh.method, comp.method) {
        (ExpansionMethod::Quadrature { nodes: a }, ExpansionMethod::Quadrature { nodes: b }) => {
            assert_eq!(a, 512); // tanh needs 512 Gauss–Hermite nodes for 1e−13
            assert!(b > a);
        }
        other => panic!("unexpected methods {other:?}"),
    }
}

// ---------------------------------------------------------------- eval / derivative

#[test]
fn hermite_spec_round_trip() {
    // Expanding a smooth function and evaluating the Hermite spec reproduces it.
    let e = named(Exp, 0.8, -0.2).expand(40).unwrap();
    let back = FunctionSpec::Hermite(e.coeffs.clone());
    for &x in &[-2.0, -0.5, 0.0, 1.3, 2.5] {
        let f = (0.8 * x - 0.2 - 0.5f64).exp();
        assert!((back.eval(x) - f).abs() < 1e-12 * f.max(1.0), "x = {x}");
        assert_eq!(back.eval(x), e.eval(x));
    }
    // And expanding the Hermite spec gives back the list, zero-padded (exact).
    let e2 = back.expand(45).unwrap();
    assert_eq!(&e2.coeffs[..41], &e.coeffs[..]);
    assert_eq!(&e2.coeffs[41..], &[0.0; 5]);
    assert_eq!(e2.method, ExpansionMethod::Exact);
    assert_eq!(back.natural_degree(), Some(40));
}

proptest! {
    /// Σ_k c_k h_k evaluated pointwise, re-expanded by an exact Gauss–Hermite sum, gives c.
    #[test]
    fn hermite_eval_reexpands(c in proptest::collection::vec(-2.0f64..2.0, 1..12)) {
        let spec = FunctionSpec::Hermite(c.clone());
        let deg = c.len() - 1;
        let (q, qn) = gh_moments(|x| spec.eval(x), deg, deg + 2);
        for k in 0..=deg {
            prop_assert!((q[k] - c[k]).abs() < 1e-12);
        }
        let e = spec.expand(deg).unwrap();
        prop_assert!((e.norm_sq - qn).abs() < 1e-11 * qn.max(1.0));
    }

    /// derivative() against central finite differences, for every kind of spec.
    #[test]
    fn derivative_matches_finite_differences(
        x in -2.5f64..2.5,
        scale in -2.0f64..2.0,
        shift in -1.0f64..1.0,
        which in 0usize..11,
    ) {
        let spec = match which {
            0 => FunctionSpec::Hermite(vec![0.3, -1.0, 0.5, 0.25, -0.1]),
            1 => FunctionSpec::Polynomial(vec![1.0, -2.0, 0.5, 3.0, 0.0, -1.0]),
            i => named(Activation::all()[i - 2], scale, shift),
        };
        let h = 1e-5;
        // Skip points within 2h of a kink (relu, abs).
        let kink = -shift / scale;
        prop_assume!(!(which == 2 || which == 8) || (x - kink).abs() > 2.0 * h);
        let fd = (spec.eval(x + h) - spec.eval(x - h)) / (2.0 * h);
        let d = spec.derivative(x);
        prop_assert!((d - fd).abs() < 1e-7 * d.abs().max(1.0), "{} at {}: {} vs {}", spec, x, d, fd);
    }
}

#[test]
fn derivative_kink_convention() {
    // relu'(0) = 1 (right derivative of the activation at its kink), so with scale < 0 the
    // composite x ↦ relu(−x) reports −1 at x = 0: its left derivative.
    assert_eq!(FunctionSpec::named(Relu).derivative(0.0), 1.0);
    assert_eq!(named(Relu, -1.0, 0.0).derivative(0.0), -1.0);
    assert_eq!(named(Abs, 2.0, -1.0).derivative(0.5), 2.0);
}

#[test]
fn natural_degrees() {
    assert_eq!(
        FunctionSpec::Hermite(vec![1.0, 0.0, 0.0]).natural_degree(),
        Some(2)
    );
    assert_eq!(
        FunctionSpec::Polynomial(vec![1.0, 2.0, 0.0]).natural_degree(),
        Some(1)
    );
    assert_eq!(
        FunctionSpec::Polynomial(vec![0.0, 0.0]).natural_degree(),
        Some(0)
    );
    assert_eq!(FunctionSpec::Hermite(vec![]).natural_degree(), None);
    assert_eq!(FunctionSpec::Polynomial(vec![]).natural_degree(), None);
    for a in Activation::all() {
        assert_eq!(FunctionSpec::named(*a).natural_degree(), None, "{a}");
    }
    assert_eq!(named(Relu, 0.0, 1.0).natural_degree(), None);
}

#[test]
fn tail_energy_closed_forms() {
    // exp: ½ Σ_{k>K} 1/k! = ½ (e − Σ_{k≤K} 1/k!) (closed form).
    let e = FunctionSpec::named(Exp).expand(3).unwrap();
    let want = 0.5 * (std::f64::consts::E - (1.0 + 1.0 + 0.5 + 1.0 / 6.0));
    assert!((e.tail_energy() - want).abs() < 1e-15);
    // relu: ½ (½ − Σ_{k≤K} σ_k²).
    let r = FunctionSpec::named(Relu).expand(2).unwrap();
    let want = 0.5 * (0.5 - 1.0 / (2.0 * PI) - 0.25 - 1.0 / (4.0 * PI));
    assert!((r.tail_energy() - want).abs() < 1e-16);
    // Clamped at zero when rounding makes ‖f‖² − Σ f_k² negative.
    let x = Expansion {
        coeffs: vec![1.0, 1e-9],
        norm_sq: 1.0,
        accuracy: 0.0,
        method: ExpansionMethod::Exact,
    };
    assert_eq!(x.tail_energy(), 0.0);
    assert_eq!(x.degree(), 1);
}

// ---------------------------------------------------------------- errors

#[test]
fn error_non_finite_parameters() {
    let e = named(Tanh, 1.0, f64::NAN).expand(3).unwrap_err();
    assert!(matches!(
        e,
        HermiteError::NonFiniteParameter {
            what: "shift",
            index: None,
            ..
        }
    ));
    let e = named(Relu, f64::INFINITY, 0.0).expand(3).unwrap_err();
    assert!(matches!(
        e,
        HermiteError::NonFiniteParameter { what: "scale", .. }
    ));
    let e = FunctionSpec::Hermite(vec![1.0, 2.0, f64::NAN])
        .expand(3)
        .unwrap_err();
    assert!(matches!(
        e,
        HermiteError::NonFiniteParameter { index: Some(2), .. }
    ));
    assert!(e.to_string().contains("index 2"), "{e}");
    let e = FunctionSpec::Polynomial(vec![f64::NEG_INFINITY])
        .expand(3)
        .unwrap_err();
    assert!(matches!(
        e,
        HermiteError::NonFiniteParameter {
            what: "polynomial coefficient",
            ..
        }
    ));
}

#[test]
fn error_empty_and_too_long_lists() {
    let e = FunctionSpec::Hermite(vec![]).expand(3).unwrap_err();
    assert_eq!(
        e,
        HermiteError::EmptyList {
            what: "Hermite coefficient"
        }
    );
    let e = FunctionSpec::Polynomial(vec![]).expand(3).unwrap_err();
    assert_eq!(
        e,
        HermiteError::EmptyList {
            what: "polynomial coefficient"
        }
    );
    let e = FunctionSpec::Hermite(vec![1.0; 5]).expand(2).unwrap_err();
    assert_eq!(e, HermiteError::ListTooLong { len: 5, degree: 2 });
    let msg = e.to_string();
    assert!(
        msg.contains("5 entries") && msg.contains("degree 2") && msg.contains(">= 4"),
        "{msg}"
    );
}

#[test]
fn error_degree_too_large() {
    for spec in [FunctionSpec::named(Relu), FunctionSpec::Hermite(vec![1.0])] {
        let e = spec.expand(MAX_DEGREE + 1).unwrap_err();
        assert_eq!(
            e,
            HermiteError::DegreeTooLarge {
                degree: MAX_DEGREE + 1,
                max: MAX_DEGREE
            }
        );
    }
}

#[test]
fn error_not_converged_reports_accuracy() {
    // Gauss–Hermite capped at 64 nodes cannot resolve tanh to 1e−13 (it needs 512).
    let opts = ExpandOptions {
        max_nodes: 64,
        initial_nodes: 32,
        ..ExpandOptions::default()
    };
    let e = FunctionSpec::named(Tanh)
        .expand_with(10, &opts)
        .unwrap_err();
    match &e {
        HermiteError::NotConverged {
            function,
            rule,
            degree,
            nodes,
            accuracy,
            target,
        } => {
            assert_eq!(*rule, "Gauss-Hermite");
            assert_eq!(
                (function.as_str(), *degree, *nodes),
                ("tanh(1·x + 0)", 10, 64)
            );
            assert!(*accuracy > 1e-13 && *accuracy < 1e-3 && *target == 1e-13);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("tanh(1·x + 0)"), "{e}");
    // The composite rule has its own cap; tanh(500 x) cannot converge below 2^12 nodes.
    let opts = ExpandOptions {
        max_composite_nodes: 1 << 12,
        ..ExpandOptions::default()
    };
    let e = named(Tanh, 500.0, 0.0).expand_with(4, &opts).unwrap_err();
    assert!(
        matches!(
            e,
            HermiteError::NotConverged {
                nodes: 4096,
                rule: "composite Gauss-Legendre",
                ..
            }
        ),
        "{e:?}"
    );
    // A single rule (cap reached immediately) reports an infinite accuracy.
    let opts = ExpandOptions {
        max_nodes: 64,
        initial_nodes: 64,
        ..ExpandOptions::default()
    };
    let e = FunctionSpec::named(Erf).expand_with(1, &opts).unwrap_err();
    assert!(matches!(e, HermiteError::NotConverged { accuracy, .. } if accuracy.is_infinite()));
}

#[test]
fn error_non_finite_values() {
    // exp(40 G + 800) overflows: closed form non-finite.
    let e = named(Exp, 40.0, 800.0).expand(3).unwrap_err();
    assert!(
        matches!(e, HermiteError::NonFiniteValue { x: None, .. }),
        "{e:?}"
    );
    // softplus(1e308 x) overflows at the quadrature nodes |x| > 1.8.
    let e = named(Softplus, 1e308, 0.0).expand(3).unwrap_err();
    assert!(
        matches!(
            e,
            HermiteError::NonFiniteValue {
                what: "value",
                x: Some(_),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn error_invalid_options() {
    let d = ExpandOptions::default();
    let bad = [
        (ExpandOptions { tol: 0.0, ..d }, "tol"),
        (ExpandOptions { tol: f64::NAN, ..d }, "tol"),
        (
            ExpandOptions {
                initial_nodes: 0,
                ..d
            },
            "initial_nodes",
        ),
        (ExpandOptions { max_nodes: 32, ..d }, "max_nodes"),
        (
            ExpandOptions {
                max_composite_nodes: 8,
                ..d
            },
            "max_composite_nodes",
        ),
        (
            ExpandOptions {
                max_nodes: usize::MAX,
                ..d
            },
            "max_nodes",
        ),
        (
            ExpandOptions {
                max_composite_nodes: 1 << 30,
                ..d
            },
            "max_composite_nodes",
        ),
    ];
    for (opts, field) in bad {
        let e = FunctionSpec::named(Tanh).expand_with(3, &opts).unwrap_err();
        assert!(
            matches!(e, HermiteError::InvalidOptions { field: f, .. } if f == field),
            "{e:?}"
        );
    }
}
