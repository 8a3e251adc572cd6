//! Property tests of the user-system parser with a bounded budget: arbitrary and
//! grammar-built expression strings, and mutated system files, never panic; an expression
//! that is accepted can be evaluated, differentiated and differentiated in `ε` anywhere
//! (the values may be NaN or infinite, the calls never panic).

use proptest::prelude::*;
use timescales_ode::{JacobianBlocks, SlowFastSystem};
use timescales_systems::{SystemFile, SystemsError, UserSystem, VariableSpec};

const EXAMPLE: &str = r#"
[system]
slow = { x = "y" }
fast = { y = "(1 - x^2)*y - x", z = "a*z - y" }
parameters = { a = -2.0 }
initial = { x = 2.0, y = 0.0, z = 1.0 }
[run]
epsilon = 1e-6
t_end = 2.0
times = [0.5, 1.0, 2.0]
"#;

/// Grammar-built expressions over the names `x`, `y`, `p`, `eps`, with every function and
/// operator, and a few tokens that do not belong.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        6 => prop::sample::select(vec![
            "x", "y", "p", "eps", "PI", "E", "0", "1", "2.5", "1e308", "1e-320", "0.0",
        ])
        .prop_map(str::to_string),
        2 => (-1e3..1e3f64).prop_map(|v| format!("{v}")),
        1 => prop::sample::select(vec!["nan", "inf", "q", "", "x y", "1e999"]).prop_map(str::to_string),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            4 => (
                inner.clone(),
                prop_oneof![
                    8 => prop::sample::select(vec!["+", "-", "*", "/", "^"]),
                    1 => prop::sample::select(vec!["%", "**", " ", ","]),
                ],
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a}{op}{b}")),
            2 => (
                prop::sample::select(vec![
                    "abs", "signum", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
                    "tanh", "asinh", "acosh", "atanh", "floor", "round", "ceil", "trunc", "fract",
                    "exp", "sqrt", "cbrt", "ln", "log2", "log10", "log", "foo",
                ]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            1 => (
                prop::sample::select(vec!["atan2", "min", "max"]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
            1 => inner.clone().prop_map(|a| format!("({a})")),
            1 => inner.clone().prop_map(|a| format!("-{a}")),
            1 => inner.prop_map(|a| format!("({a}")), // unbalanced
        ]
    })
}

/// A point, degenerate values included.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -3.0..3.0f64,
        1 => prop::sample::select(vec![0.0, -1.0, 1.0, 1e300, -1e300, f64::NAN, f64::INFINITY]),
    ]
}

/// Builds `x' = g`, `ε y' = f` with parameter `p`; if accepted, evaluates everything at
/// `(x, y, eps)`.
fn exercise(g: &str, f: &str, at: (f64, f64, f64)) -> Result<(), TestCaseError> {
    let sys = match UserSystem::new(
        &[VariableSpec::new("x", g)],
        &[VariableSpec::new("y", f)],
        &[("p".to_string(), 0.5)],
    ) {
        Ok(sys) => sys,
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            if let SystemsError::Expression {
                expression,
                position,
                ..
            } = &e
            {
                // The position points into the expression (or just past its end).
                prop_assert!(*position <= expression.chars().count(), "{e}");
            }
            return Ok(());
        }
    };
    let (x, y, eps) = ([at.0], [at.1], at.2);
    let mut out = [0.0];
    sys.slow_field(&x, &y, eps, &mut out);
    sys.fast_field(&x, &y, eps, &mut out);
    let mut blocks = JacobianBlocks::zeros(1, 1);
    let _ = sys.jacobian(&x, &y, eps, &mut blocks);
    let (mut dg, mut df) = ([0.0], [0.0]);
    let _ = sys.eps_derivative(&x, &y, eps, &mut dg, &mut df);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_expressions_never_panic(
        g in any::<String>(),
        f in any::<String>(),
        at in (value(), value(), value()),
    ) {
        exercise(&g, &f, at)?;
    }

    #[test]
    fn grammar_expressions_never_panic(
        g in expression(),
        f in expression(),
        at in (value(), value(), value()),
    ) {
        exercise(&g, &f, at)?;
    }

    #[test]
    fn mutated_system_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>(), any::<bool>()), 1..6),
    ) {
        let mut text: Vec<char> = EXAMPLE.chars().collect();
        for (at, c, insert) in edits {
            let i = at.index(text.len());
            if insert {
                text.insert(i, c);
            } else {
                text[i] = c;
            }
        }
        let text: String = text.into_iter().collect();
        match SystemFile::parse(&text, "mutated") {
            Ok(file) => {
                prop_assert_eq!(file.x0.len(), file.system.slow_dim());
                prop_assert_eq!(file.y0.len(), file.system.fast_dim());
                prop_assert!(file.system.slow_dim() + file.system.fast_dim() > 0);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
