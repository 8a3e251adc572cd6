//! Every placement of every law, however degenerate its parameters, gives `N` particles in
//! the law's support with finite non-negative weights summing to one, or an error naming the
//! scenario key — never a panic.

use proptest::prelude::*;
use timescales_meanfield::{FlowError, InitialLaw, Placement};

/// Shapes from the near-degenerate (1e-3, 1e3) to the ordinary.
fn shape() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.1..5.0f64,
        1 => (-3.0..3.0f64).prop_map(|e| 10f64.powf(e)),
    ]
}

fn law() -> impl Strategy<Value = InitialLaw> {
    (
        -1e3..1e3f64,
        prop_oneof![3 => 1e-3..10.0f64, 1 => 1e-12..1e-6f64],
        shape(),
        shape(),
        0usize..3,
    )
        .prop_map(|(lo, w, alpha, beta, kind)| match kind {
            0 => InitialLaw::Uniform { lo, hi: lo + w },
            1 => InitialLaw::Beta {
                alpha,
                beta,
                lo,
                hi: lo + w,
            },
            _ => InitialLaw::Normal { mean: lo, std: w },
        })
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        Just(Placement::Quadrature),
        Just(Placement::Quantile),
        Just(Placement::Trapezoid),
        Just(Placement::Graded),
        any::<u64>().prop_map(|seed| Placement::Random { seed }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn particles_are_a_probability_law_or_a_named_error(
        law in law(),
        placement in placement(),
        n in prop_oneof![3 => 1usize..200, 1 => 200usize..5000],
    ) {
        match law.particles(n, placement) {
            Ok(p) => {
                prop_assert_eq!(p.a.len(), n);
                prop_assert_eq!(p.weights.len(), n);
                prop_assert!(p.weights.iter().all(|w| w.is_finite() && *w >= 0.0));
                prop_assert!((p.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                prop_assert!(p.a.iter().all(|a| a.is_finite()));
                if let InitialLaw::Uniform { lo, hi } | InitialLaw::Beta { lo, hi, .. } = law {
                    prop_assert!(p.a.iter().all(|a| (lo..=hi).contains(a)), "{:?}", law);
                }
                if placement == Placement::Graded {
                    prop_assert!(p.a.windows(2).all(|w| w[0] <= w[1]));
                }
            }
            Err(FlowError::InvalidParameter { key, .. }) => {
                prop_assert!(key.starts_with("init."), "{}", key);
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
