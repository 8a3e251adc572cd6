//! Relaxation oscillations: the periods of `cycle_study` against references that owe
//! nothing to it — Dorodnitsyn's published expansion for van der Pol, closed forms worked
//! by hand for an asymmetric oscillator, and the direct integration.

use timescales_matching::{AIRY_A1, CycleOptions, MatchingOptions, cycle_study};
use timescales_systems::SystemFile;
use timescales_systems::builtin::van_der_pol::{self, VanDerPol};

/// Dorodnitsyn's two-term period of van der Pol in the scaling `x' = −y`,
/// `ε y' = x − y³/3 + y`: `T = 3 − 2 ln 2 + 3|a₁| ε^{2/3} + O(ε ln ε)` (A. A. Dorodnitsyn,
/// Prikl. Mat. Mekh. 11 (1947) 313–328; J. Grasman, *Asymptotic Methods for Relaxation
/// Oscillations and Applications*, Springer 1987, §2.2; M. L. Cartwright's and Bender &
/// Orszag's §11.2 give the same first terms in `μ = ε^{-1/2}` and `t = s/μ`). The constants
/// are typed here from those sources, not taken from the code under test.
fn dorodnitsyn(eps: f64) -> f64 {
    3.0 - 2.0 * std::f64::consts::LN_2 + 3.0 * 2.338_107_410_459_767 * eps.powf(2.0 / 3.0)
}

#[test]
fn van_der_pol_period_follows_dorodnitsyn() {
    let eps = [1e-2, 1e-3, 1e-4];
    let c = cycle_study(
        &VanDerPol,
        &[2.0 / 3.0],
        &[0.0],
        &eps,
        &CycleOptions::default(),
        &MatchingOptions::default(),
    )
    .unwrap();
    // The singular cycle: two folds, (x, y) = (±2/3, ∓1) solved, T₀ = 3 − 2 ln 2.
    assert_eq!(c.singular.folds.len(), 2);
    assert!((c.singular.period - (3.0 - 2.0 * 2f64.ln())).abs() < 1e-8);
    for f in &c.singular.folds {
        assert!(f.solved);
        assert!(
            (f.normal_form.x[0].abs() - 2.0 / 3.0).abs() < 1e-12,
            "{f:?}"
        );
        assert!((f.normal_form.y[0].abs() - 1.0).abs() < 1e-7, "{f:?}");
        assert!((f.landing[0].abs() - 2.0).abs() < 1e-5, "{f:?}");
    }
    for r in &c.rows {
        let published = dorodnitsyn(r.eps);
        let correction = published - van_der_pol::REDUCED_PERIOD;
        // The predicted period carries Dorodnitsyn's ε^{2/3} term: it differs from the
        // two-term expansion only by the curvature of the branches met during the drift
        // `g Δt` (O(ε^{4/3}), far below the term itself).
        assert!(
            (r.period_predicted - published).abs() < 1.5 * r.eps.powf(4.0 / 3.0),
            "{r:?}: published {published}"
        );
        assert!(1.5 * r.eps.powf(4.0 / 3.0) < 0.01 * correction);
        // The direct period differs from the two-term expansion by O(ε ln ε).
        let remainder = (r.period_direct - published).abs();
        assert!(remainder < r.eps * r.eps.ln().abs(), "{r:?}: {remainder}");
        // The fold corrections remove most of the leading error.
        assert!(
            r.error_predicted() < 0.2 * r.error_leading(),
            "{r:?}: {} vs {}",
            r.error_predicted(),
            r.error_leading()
        );
        assert!(r.direct_change < 1e-8, "{r:?}");
    }
    let lead = c.order_leading.as_ref().unwrap();
    let pred = c.order_predicted.as_ref().unwrap();
    assert!((lead.gamma - 2.0 / 3.0).abs() < 0.05, "{lead:?}");
    assert!(pred.gamma > lead.gamma + 0.2, "{pred:?} vs {lead:?}");
    assert!(pred.gamma > 0.8, "{pred:?}");
}

/// `x' = c − y`, `ε y' = x − y³/3 + y`, `c = 0.3` (data/systems/asymmetric_relaxation.toml).
/// Worked by hand: on a branch `dx = (y² − 1) dy`, so `dt = (y² − 1)/(c − y) dy` and
/// `T₀ = F(1) − F(2) + F(−1) − F(−2)`, `F(y) = −(y²/2 + c y) − (c² − 1) ln|c − y|`. At the
/// fold `y = ±1`, `A = g = c ∓ 1`, `B = ∓1`: the delays `|a₁| ε^{2/3} |c ∓ 1|^{-1/3}`
/// differ; the slow drift `g Δt` during each delay moves the landing point (at `y = ∓2`,
/// slow speed `c ± 2`) and costs `−g Δt/(c ± 2)` on the next branch (Mishchenko & Rozov
/// 1980, ch. III, for the general two-term formula).
#[test]
fn asymmetric_oscillator_has_two_different_airy_delays() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/systems/asymmetric_relaxation.toml"
    ))
    .unwrap();
    let file = SystemFile::parse(&text, "asymmetric_relaxation.toml").unwrap();
    let c0 = 0.3f64;
    let big_f = |y: f64| -(y * y / 2.0 + c0 * y) - (c0 * c0 - 1.0) * (c0 - y).abs().ln();
    let t0 = big_f(1.0) - big_f(2.0) + big_f(-1.0) - big_f(-2.0);
    let k = (1.0 - c0).powf(-1.0 / 3.0) * (1.0 + (1.0 - c0) / (c0 + 2.0))
        + (1.0 + c0).powf(-1.0 / 3.0) * (1.0 + (1.0 + c0) / (2.0 - c0));
    let eps = [1e-2, 1e-3, 1e-4];
    let c = cycle_study(
        &file.system,
        &file.x0,
        &file.y0,
        &eps,
        &CycleOptions::default(),
        &MatchingOptions::default(),
    )
    .unwrap();
    assert!(
        (c.singular.period - t0).abs() < 1e-8,
        "{} vs {t0}",
        c.singular.period
    );
    let mut delays: Vec<f64> = c
        .singular
        .folds
        .iter()
        .map(|f| f.normal_form.delay_coefficient())
        .collect();
    delays.sort_by(f64::total_cmp);
    let a1 = AIRY_A1.abs();
    assert!(
        (delays[0] - a1 * 1.3f64.powf(-1.0 / 3.0)).abs() < 1e-6,
        "{delays:?}"
    );
    assert!(
        (delays[1] - a1 * 0.7f64.powf(-1.0 / 3.0)).abs() < 1e-6,
        "{delays:?}"
    );
    for r in &c.rows {
        let reference = t0 + 2.338_107_410_459_767 * k * r.eps.powf(2.0 / 3.0);
        assert!(
            (r.period_predicted - reference).abs() < 1.5 * r.eps.powf(4.0 / 3.0),
            "{r:?}: by hand {reference}"
        );
        assert!(r.error_predicted() < 0.2 * r.error_leading(), "{r:?}");
        assert!(
            (r.period_direct - reference).abs() < r.eps * r.eps.ln().abs(),
            "{r:?}"
        );
    }
    let (lead, pred) = (
        c.order_leading.unwrap().gamma,
        c.order_predicted.unwrap().gamma,
    );
    assert!(
        (lead - 2.0 / 3.0).abs() < 0.05 && pred > lead + 0.2,
        "{lead} {pred}"
    );
}
