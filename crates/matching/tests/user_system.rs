//! User-defined (TOML/exmex) systems go through the same machinery as the built-in ones and
//! give the same numbers; identities of the composites hold for arbitrary initial data.

use proptest::prelude::*;
use timescales_matching::{Asymptotics, MatchingOptions, study};
use timescales_systems::{SystemFile, builtin};

const MICHAELIS_MENTEN: &str = r#"
[system]
slow = { s = "-s + (s + K - lambda)*c" }
fast = { c = "s - (s + K)*c" }
parameters = { K = 1.0, lambda = 0.5 }
initial = { s = 1.0, c = 0.0 }
[run]
t_end = 2.0
"#;

/// The linear problem with its ε-dependent fast field written as an expression: the
/// first-order correction needs ∂f/∂ε = −y from exmex's derivative.
const LINEAR: &str = r#"
[system]
slow = { x = "y" }
fast = { y = "-x - (1 + eps)*y" }
initial = { x = 1.0, y = 0.0 }
[run]
t_end = 2.0
"#;

#[test]
fn user_systems_reproduce_the_builtin_studies() {
    let eps = [1e-1, 1e-2, 1e-3];
    let opts = MatchingOptions::default();
    for (text, name) in [(MICHAELIS_MENTEN, "michaelis-menten"), (LINEAR, "linear")] {
        let file = SystemFile::parse(text, name).unwrap();
        let t_end = file.run.as_ref().unwrap().t_end;
        let user = study(&file.system, &file.x0, &file.y0, t_end, &eps, &opts).unwrap();
        let p = builtin::by_name(name).unwrap();
        let reference = study(p.system.as_ref(), &p.x0, &p.y0, p.t_end, &eps, &opts).unwrap();
        assert_eq!(user.names, reference.names);
        for (a, b) in user.errors.iter().zip(&reference.errors) {
            for (u, r) in a.values().iter().zip(b.values()) {
                // Same equations, different evaluation order: agreement to well below the
                // smallest error studied.
                assert!((u - r).abs() <= 1e-9 + 1e-6 * r, "{name}: {a:?} vs {b:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Both composites meet the initial condition exactly (the layer starts at it, the
    /// common part cancels the outer solution there), and past the layer the first-order
    /// composite is the first-order outer solution, for Michaelis–Menten from random initial
    /// data.
    #[test]
    fn composites_meet_the_initial_condition_and_the_outer_solution(s0 in 0.3f64..3.0, c0 in 0.0f64..1.0, eps in 1e-4f64..1e-1) {
        let p = builtin::by_name("michaelis-menten").unwrap();
        let times = [0.0, 0.5 * eps, 3.0 * eps, 0.5, 1.0];
        let taus: Vec<f64> = times.iter().map(|t| t / eps).collect();
        let a = Asymptotics::compute(p.system.as_ref(), &[s0], &[c0], &times, &taus, &MatchingOptions::default()).unwrap();
        for (k, start) in [s0, c0].into_iter().enumerate() {
            let [lead, first] = a.composites(k, eps, &times).unwrap();
            prop_assert!((lead.values()[0] - start).abs() < 1e-14);
            prop_assert!((first.values()[0] - start).abs() < 1e-14);
            // Past the layer (τ = 1/ε > 40) the inner term equals the common part.
            if eps < 1.0 / 40.0 {
                let v1 = a.at(1.0, eps).unwrap();
                prop_assert!((first.values()[4] - v1.outer1[k]).abs() < 1e-9);
            }
        }
    }
}
