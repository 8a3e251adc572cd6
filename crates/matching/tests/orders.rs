//! Fitted orders of the outer, inner and composite errors against direct integration on
//! every built-in problem, ε = 10^{-1} … 10^{-4} (7 values): the leading composite is
//! O(ε), the first-order composite O(ε²), the outer alone is O(1) in the layer, and the
//! matching conditions hold (slope α and 2α on the intermediate variable t = ε^α η).

use timescales_analysis::sweep::EpsGrid;
use timescales_matching::{MatchingOptions, Study, study};
use timescales_systems::builtin;

fn run(name: &str) -> Study {
    let p = builtin::by_name(name).unwrap();
    let eps = EpsGrid::parse("1e-1:1e-4:7").unwrap().points().to_vec();
    study(
        p.system.as_ref(),
        &p.x0,
        &p.y0,
        p.t_end,
        &eps,
        &MatchingOptions::default(),
    )
    .unwrap()
}

fn within(s: &Study, var: &str, approx: &str, lo: f64, hi: f64) {
    let f = s
        .order(var, approx)
        .unwrap_or_else(|| panic!("no fit for {var}/{approx}"));
    assert!(
        f.gamma >= lo && f.gamma <= hi,
        "{var}/{approx}: order {:.3} [{:.3}, {:.3}] not in [{lo}, {hi}]",
        f.gamma,
        f.gamma_ci[0],
        f.gamma_ci[1]
    );
    // The interval must be informative (the errors follow a power law).
    assert!(f.gamma_ci[1] - f.gamma_ci[0] < 0.2, "{var}/{approx}: {f:?}");
}

/// Checks common to every problem: `fast` is the fast variable, `slows` the slow ones
/// whose leading-order error is not identically zero.
fn check(s: &Study, slows: &[&str], fast: &str) {
    for v in slows.iter().chain([&fast]) {
        within(s, v, "composite", 0.9, 1.1);
        within(s, v, "composite1", 1.85, 2.15);
        // Inner alone misses the slow drift: O(1).
        let f = s.order(v, "inner").unwrap();
        assert!(f.gamma.abs() < 0.1, "{v}/inner: {f:?}");
    }
    // Outer alone is O(1) in the layer for the fast variable.
    let f = s.order(fast, "outer").unwrap();
    assert!(f.gamma.abs() < 0.05, "{fast}/outer: {f:?}");
    let smallest = s.errors.iter().rfind(|e| e.variable == fast).unwrap();
    assert!(smallest.outer > 0.1, "{smallest:?}");
    // Matching: slope and offset of η₁ against Y₀'(0), Y₁(0); intermediate variable.
    let m = &s.matching;
    assert!(m.limit_gap < 1e-10, "{m:?}");
    assert!(m.slope_gap < 1e-10 && m.offset_gap < 1e-9, "{m:?}");
    let (o, o1) = (m.order.as_ref().unwrap(), m.order1.as_ref().unwrap());
    assert!((o.gamma - m.alpha).abs() < 0.02, "{m:?}");
    assert!((o1.gamma - 2.0 * m.alpha).abs() < 0.06, "{m:?}");
    // The direct integrations stay cheap: no 1/ε scaling of the work (RODAS at
    // rtol = 1e-12 needs 1.4k–21k steps over these ε; a bound catches a silent slow-down).
    for c in &s.comparisons {
        assert!(
            c.direct_stats.steps < 30_000,
            "eps {}: {:?}",
            c.eps,
            c.direct_stats
        );
        assert!(
            c.direct_stats.rejected_steps < 10,
            "eps {}: {:?}",
            c.eps,
            c.direct_stats
        );
    }
}

#[test]
fn linear_orders() {
    let s = run("linear");
    check(&s, &["x"], "y");
    within(&s, "x", "outer", 0.9, 1.1);
}

#[test]
fn michaelis_menten_orders() {
    let s = run("michaelis-menten");
    check(&s, &["s"], "c");
    within(&s, "s", "outer", 0.9, 1.1);
}

#[test]
fn van_der_pol_orders() {
    let s = run("van-der-pol");
    check(&s, &["x"], "y");
    within(&s, "x", "outer", 0.9, 1.1);
}

#[test]
fn fold_orders() {
    // s' = −1 does not see the fast variable: every approximation of s but the frozen inner
    // one is exact, and the study says so instead of fitting rounding noise.
    let s = run("fold");
    check(&s, &[], "u");
    for a in ["outer", "composite", "composite1"] {
        let row = s
            .orders
            .iter()
            .find(|r| r.variable == "s" && r.approximation == a)
            .unwrap();
        assert!(row.fit.is_none(), "{row:?}");
        assert!(
            row.note
                .as_deref()
                .unwrap()
                .starts_with("exact to rounding")
        );
    }
}
