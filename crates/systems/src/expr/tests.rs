//! Tests of user systems: evaluation, errors that point at the offending token, accepted
//! forms, refused names, and the symbolic derivatives against finite differences.

use super::*;
use timescales_ode::finite_difference_blocks;

fn one_fast(expr: &str) -> Result<UserSystem, SystemsError> {
    UserSystem::new(
        &[VariableSpec::new("x", "y")],
        &[VariableSpec::new("y", expr)],
        &[("a".to_string(), 2.0)],
    )
}

fn position_of(err: SystemsError) -> (usize, String) {
    match err {
        SystemsError::Expression {
            position, message, ..
        } => (position, message),
        other => panic!("expected an expression error, got {other:?}"),
    }
}

#[test]
fn evaluates_with_parameters_eps_and_scientific_numbers() {
    let s = one_fast("a*x - y^3/3 + 1.5e-1*eps + 2E1").unwrap();
    let mut f = [0.0];
    s.fast_field(&[1.0], &[3.0], 0.5, &mut f);
    assert!((f[0] - (2.0 - 9.0 + 0.075 + 20.0)).abs() < 1e-14);
    assert!(s.has_analytic_jacobian());
}

#[test]
fn parse_errors_point_at_the_token() {
    let cases = [
        ("x + foo", 4, "unknown name 'foo'"),
        ("(1 - x^2)*y - x)", 15, "unmatched ')'"),
        ("(1 - x^2*y - x", 0, "never closed"),
        ("x +* y", 3, "left operand"),
        ("2 x", 2, "missing operator"),
        ("x - ", 2, "ends where an operand"),
        ("-x^2 + y", 0, "binds tighter"),
        ("y * -(x + 1)^2", 4, "binds tighter"),
        ("sin x", 0, "followed by '('"),
        ("min(x)", 3, "two arguments"),
        ("x # y", 2, "unexpected character '#'"),
        ("", 0, "empty"),
        ("x, y", 1, "','"),
    ];
    for (expr, pos, needle) in cases {
        let (p, msg) = position_of(one_fast(expr).unwrap_err());
        assert_eq!(p, pos, "{expr:?}: {msg}");
        assert!(msg.contains(needle), "{expr:?}: {msg}");
    }
    // The rendered message shows the expression and a caret under the token.
    let text = one_fast("x + foo").unwrap_err().to_string();
    assert!(text.contains("fast.y"), "{text}");
    assert!(text.contains("\n    x + foo\n        ^"), "{text}");
}

#[test]
fn accepted_forms() {
    for expr in [
        "-(x^2)",
        "0 - x^2",
        "x^-1",
        "2^-x",
        "-x*y",
        "max(x, y) + min(x,y) + atan2(y, x)",
        "exp(-x) * sqrt(abs(y)) + PI + e",
        ".5*x",
    ] {
        assert!(one_fast(expr).is_ok(), "{expr}");
    }
}

#[test]
fn reserved_and_repeated_names_are_refused() {
    let e = UserSystem::new(
        &[VariableSpec::new("e", "1")],
        &[VariableSpec::new("y", "-y")],
        &[],
    )
    .unwrap_err();
    assert!(matches!(e, SystemsError::InvalidName { .. }), "{e:?}");
    let e = UserSystem::new(
        &[VariableSpec::new("x", "1")],
        &[VariableSpec::new("x", "-x")],
        &[],
    )
    .unwrap_err();
    assert!(matches!(e, SystemsError::InvalidName { .. }), "{e:?}");
    let e = UserSystem::new(&[VariableSpec::new("eps", "1")], &[], &[]).unwrap_err();
    assert!(matches!(e, SystemsError::InvalidName { .. }), "{e:?}");
}

#[test]
fn symbolic_jacobian_and_eps_derivative_match_finite_differences() {
    let s = UserSystem::new(
        &[
            VariableSpec::new("u", "-u + v*w + eps*u^2"),
            VariableSpec::new("v", "sin(u)*w"),
        ],
        &[
            VariableSpec::new("w", "u - (w^3/3 - w) + k*eps*v"),
            VariableSpec::new("z", "exp(-z)*u - z*(1 + eps)"),
        ],
        &[("k".to_string(), 0.7)],
    )
    .unwrap();
    let (x, y, eps) = ([0.3, -1.2], [0.8, 0.4], 0.05);
    let mut b = JacobianBlocks::zeros(2, 2);
    assert!(s.jacobian(&x, &y, eps, &mut b));
    let fd = finite_difference_blocks(&s, &x, &y, eps);
    for (a, f) in [
        (&b.gx, &fd.gx),
        (&b.gy, &fd.gy),
        (&b.fx, &fd.fx),
        (&b.fy, &fd.fy),
    ] {
        assert!((a - f).amax() < 1e-8, "{a} vs {f}");
    }
    let (mut ge, mut fe) = ([0.0; 2], [0.0; 2]);
    assert!(s.eps_derivative(&x, &y, eps, &mut ge, &mut fe));
    assert!((ge[0] - x[0] * x[0]).abs() < 1e-14);
    assert_eq!(ge[1], 0.0);
    assert!((fe[0] - 0.7 * x[1]).abs() < 1e-14);
    assert!((fe[1] + y[1]).abs() < 1e-14);
}
