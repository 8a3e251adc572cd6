//! Tests of the plateau/phase detector on synthetic curves with known answers and on the
//! shared reference trajectories.

use super::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// A sum of logistic steps in `x = ln t`: level `levels[j]` before step `j`, `levels[j+1]`
/// after; step `j` is centred at `ln mids[j]` with width `w` (in `ln t`). At `x = ln mids[j]`
/// the risk is the midpoint of the two levels (up to the other steps' tails, `O(e^{−Δx/w})`)
/// and `−dR/dx` is maximal there (up to the same tails).
fn steps(levels: &[f64], mids: &[f64], w: f64) -> impl Fn(f64) -> f64 {
    let levels = levels.to_vec();
    let mids: Vec<f64> = mids.iter().map(|m| m.ln()).collect();
    move |t: f64| {
        let x = t.ln();
        let mut r = *levels.last().unwrap();
        for (j, m) in mids.iter().enumerate() {
            r += (levels[j] - levels[j + 1]) / (1.0 + ((x - m) / w).exp());
        }
        r
    }
}

/// Log grid of `per_decade` points per decade on `[10^a, 10^b]`, preceded by `t = 0`.
fn log_grid(a: f64, b: f64, per_decade: usize) -> Vec<f64> {
    let n = ((b - a) * per_decade as f64).round() as usize;
    let mut t = vec![0.0];
    t.extend((0..=n).map(|i| 10f64.powf(a + (b - a) * i as f64 / n as f64)));
    t
}

fn sample(t: &[f64], f: impl Fn(f64) -> f64) -> Vec<f64> {
    t.iter()
        .map(|&v| if v > 0.0 { f(v) } else { f(1e-300) })
        .collect()
}

const LEVELS: [f64; 4] = [1.5, 1.0, 0.5, 0.0];
const MIDS: [f64; 3] = [1e-5, 1e-3, 1e-1];

#[test]
fn three_steps_exact_levels_and_times() {
    // 40 points per decade (Δx = 0.058), width w = 0.3, steps 2 decades apart:
    // Δx/w = 15.4, so the tails of the other steps are ≤ e^{-15} ≈ 2e-7 of a step.
    let t = log_grid(-8.0, 2.0, 40);
    let f = steps(&LEVELS, &MIDS, 0.3);
    let r = sample(&t, &f);
    let hints = [1.5, 1.0, 0.5, 0.0, 0.0];
    for h in [None, Some(&hints[..])] {
        let d = PlateauDetector::default().detect(&t, &r, h).unwrap();
        assert_eq!(d.plateaus.len(), 4, "{d:#?}");
        assert_eq!(d.phases.len(), 3);
        for (p, &l) in d.plateaus.iter().zip(&LEVELS) {
            // Medians of the samples on a plateau: the middle sample sees the neighbouring
            // steps' tails, ≤ D e^{-Δx/(2w)} ≈ 1.1e-7·D per side, plus the grid offset
            // (measured ≤ 7.4e-7 on the open end plateaus, 5e-11 on the interior ones).
            assert!((p.level - l).abs() < 2e-6, "level {} vs {l}", p.level);
            assert!(p.t_entry < p.t_exit);
            assert!((p.length_log - (p.t_exit / p.t_entry).ln()).abs() < 1e-9);
        }
        assert!(d.plateaus[0].open_start && !d.plateaus[0].open_end);
        assert!(d.plateaus[3].open_end && !d.plateaus[3].open_start);
        for (ph, &m) in d.phases.iter().zip(&MIDS) {
            // Midpoint: the levels carry the other steps' tails (≤ 7.4e-7, see above); over the
            // slope D/(4w) ≥ 0.42 that is ≤ 2e-6 in ln t, and linear interpolation at the
            // inflection point, where R'' = 0, adds O(Δx³) ≈ 1e-5 at most (measured: 6e-7).
            assert!(
                (ph.t_mid / m).ln().abs() < 1e-5,
                "t_mid {} vs {m}",
                ph.t_mid
            );
            // Steepest descent: the cubic fit is centred on the inflection, where an odd step
            // leaves no even part, so only the neighbouring tails bias it (measured: 9e-7).
            assert!(
                (ph.t_steepest / m).ln().abs() < 1e-5,
                "t_steepest {} vs {m}",
                ph.t_steepest
            );
            assert!(ph.t_start < ph.t_mid && ph.t_mid < ph.t_end);
            // Peak rate of a logistic step: D/(4w), lowered by the window's smoothing.
            let peak = (ph.level_before - ph.level_after) / (4.0 * 0.3);
            assert!(ph.max_descent_rate < peak * 1.001 && ph.max_descent_rate > 0.9 * peak);
        }
        if h.is_some() {
            let deg: Vec<Option<usize>> = d.plateaus.iter().map(|p| p.degree).collect();
            assert_eq!(deg, vec![Some(0), Some(1), Some(2), Some(3)]);
            assert_eq!(d.phases[1].degree, Some(2));
            assert_eq!(d.phases[1].degrees_learnt, vec![2]);
            assert!(d.phase_to_degree(3).is_some());
            assert!(d.plateaus[1].hint_deviation().unwrap().abs() < 2e-6);
        } else {
            assert!(d.plateaus.iter().all(|p| p.degree.is_none()));
        }
    }
}

#[test]
fn non_uniform_grid_and_t_zero_ignored() {
    // A jittered, non-uniform grid: the quadratic-fit derivative does not need uniform spacing.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let u = rand_distr::Uniform::new(0.0, 1.0).unwrap();
    let mut x: f64 = -18.0;
    let mut t = vec![0.0];
    while x < 4.0 {
        t.push(x.exp());
        x += 0.03 + 0.1 * u.sample(&mut rng);
    }
    let f = steps(&LEVELS, &MIDS, 0.3);
    let r = sample(&t, &f);
    let d = PlateauDetector::default().detect(&t, &r, None).unwrap();
    assert_eq!(d.plateaus.len(), 4);
    // Measured: t_mid within 1.8e-4 and t_steepest within 1.9e-3 in ln t (the jitter breaks
    // the symmetry of the windows; spacing 0.03–0.13).
    for (ph, &m) in d.phases.iter().zip(&MIDS) {
        assert!(
            (ph.t_mid / m).ln().abs() < 1e-3,
            "t_mid {} vs {m}",
            ph.t_mid
        );
        assert!(
            (ph.t_steepest / m).ln().abs() < 5e-3,
            "t_st {} vs {m}",
            ph.t_steepest
        );
    }
}

#[test]
fn slow_drop_over_three_decades_is_not_split() {
    let t = log_grid(-6.0, 6.0, 30);
    // Logistic whose 10–90 % span is 3 decades: w = 3 ln 10 / (2 ln 9) ≈ 1.57.
    let w = 3.0 * 10f64.ln() / (2.0 * 9f64.ln());
    let f = steps(&[1.0, 0.5], &[1.0], w);
    let d = PlateauDetector::default()
        .detect(&t, &sample(&t, &f), None)
        .unwrap();
    assert_eq!(d.plateaus.len(), 2, "{d:#?}");
    assert_eq!(d.phases.len(), 1);
    assert!((d.plateaus[0].level - 1.0).abs() < 1e-3);
    assert!((d.plateaus[1].level - 0.5).abs() < 1e-3);
    assert!(d.phases[0].t_mid.ln().abs() < 1e-2, "{}", d.phases[0].t_mid);
    assert!(
        d.phases[0].t_steepest.ln().abs() < 5e-2,
        "{}",
        d.phases[0].t_steepest
    );

    // A drop linear in ln t over 3 decades (constant slow rate, ≈ 0.07 per e-fold), between
    // two flat plateaus: the ramp must stay one phase however the rate compares with
    // any absolute threshold.
    let (x0, x1) = (-3.0 * 10f64.ln(), 0.0);
    let ramp = |t: f64| {
        let x = t.ln();
        if x <= x0 {
            1.0
        } else if x >= x1 {
            0.5
        } else {
            1.0 - 0.5 * (x - x0) / (x1 - x0)
        }
    };
    let r = sample(&t, ramp);
    let d = PlateauDetector::default().detect(&t, &r, None).unwrap();
    assert_eq!(d.plateaus.len(), 2, "{d:#?}");
    let ph = &d.phases[0];
    assert!((ph.t_mid.ln() - 0.5 * (x0 + x1)).abs() < 1e-9);
    assert!(ph.t_steepest.ln() > x0 && ph.t_steepest.ln() < x1);

    // The same ramp with 2 % noise on its slope (wiggles in the rate) is still one phase.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let noise: Normal<f64> = Normal::new(0.0, 2e-4).unwrap();
    let rn: Vec<f64> = r.iter().map(|v| v + noise.sample(&mut rng)).collect();
    let d = PlateauDetector::default().detect(&t, &rn, None).unwrap();
    assert_eq!(d.plateaus.len(), 2, "{d:#?}");
}

#[test]
fn two_slow_overlapping_stages_are_one_phase() {
    // Two wide steps whose rates overlap (valley of the rate ≈ 60 % of the peaks): one drop.
    let t = log_grid(-6.0, 6.0, 30);
    let f = steps(&[1.0, 0.7, 0.4], &[1e-1, 1e1], 1.0);
    let d = PlateauDetector::default()
        .detect(&t, &sample(&t, &f), None)
        .unwrap();
    assert_eq!(d.plateaus.len(), 2, "{d:#?}");
}

#[test]
fn curves_without_plateau() {
    let t = log_grid(0.0, 3.0, 30);
    // Linear in ln t over the whole window: a drop everywhere.
    let r = sample(&t, |t| 1.0 - t.ln() / (3.0 * 10f64.ln()) * 0.9);
    let d = PlateauDetector::default().detect(&t, &r, None).unwrap();
    assert!(d.plateaus.is_empty(), "{d:#?}");
    // A power law t^{-1/2}: d ln R / d ln t = −1/2 everywhere, no plateau.
    let t = log_grid(0.0, 2.0, 30);
    let r = sample(&t, |t| t.powf(-0.5));
    let d = PlateauDetector::default().detect(&t, &r, None).unwrap();
    assert!(d.plateaus.is_empty(), "{d:#?}");
    assert!(d.phases.is_empty());
}

#[test]
fn flat_curves_are_one_plateau() {
    let t = log_grid(-3.0, 3.0, 20);
    let d = PlateauDetector::default()
        .detect(&t, &vec![0.7; t.len()], None)
        .unwrap();
    assert_eq!(d.plateaus.len(), 1);
    assert_eq!(d.plateaus[0].level, 0.7);
    assert!(d.phases.is_empty());
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let noise: Normal<f64> = Normal::new(0.0, 1e-3).unwrap();
    let r: Vec<f64> = t.iter().map(|_| 0.7 + noise.sample(&mut rng)).collect();
    let d = PlateauDetector::default().detect(&t, &r, None).unwrap();
    assert_eq!(d.plateaus.len(), 1, "{d:#?}");
    assert!((d.plateaus[0].level - 0.7).abs() < 1e-3);
}

#[test]
fn no_plateau_inside_a_plateau() {
    // A shallow dip (1 % of the range, below min_drop = 2 %) in the middle of a plateau.
    let t = log_grid(-6.0, 2.0, 30);
    let f = steps(&LEVELS[2..], &[1e-1], 0.3);
    let dip = |t: f64| {
        let x = t.ln() - 1e-4f64.ln();
        -0.01 / (1.0 + (x / 0.3).exp()) + 0.01 / (1.0 + ((x - 1.0) / 0.3).exp())
    };
    let r = sample(&t, |t| f(t) - dip(t) + 0.0);
    let d = PlateauDetector::default().detect(&t, &r, None).unwrap();
    assert_eq!(d.plateaus.len(), 2, "{d:#?}");
    assert!(d.plateaus.windows(2).all(|w| w[0].t_exit <= w[1].t_entry));
}

#[test]
fn noisy_curve() {
    let t = log_grid(-8.0, 2.0, 40);
    let f = steps(&LEVELS, &MIDS, 0.3);
    let noise: Normal<f64> = Normal::new(0.0, 2e-3).unwrap();
    let hints = [1.5, 1.0, 0.5, 0.0];
    for seed in 0..5 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let r: Vec<f64> = t
            .iter()
            .map(|&v| f(v.max(1e-300)) + noise.sample(&mut rng))
            .collect();
        for h in [None, Some(&hints[..])] {
            let d = PlateauDetector::default().detect(&t, &r, h).unwrap();
            assert_eq!(d.plateaus.len(), 4, "seed {seed}: {d:#?}");
            for (p, &l) in d.plateaus.iter().zip(&LEVELS) {
                // Median of ≥ 40 samples with sd 2e-3: error ≈ 1.25·2e-3/√40 ≈ 4e-4.
                assert!((p.level - l).abs() < 2e-3, "{} vs {l}", p.level);
            }
            for (ph, &m) in d.phases.iter().zip(&MIDS) {
                // One noisy crossing moves by σ / slope = 2e-3 / 0.42 ≈ 5e-3 in ln t; allow 4σ
                // (measured over the 5 seeds: ≤ 8.4e-3 for t_mid, ≤ 8.1e-3 for t_steepest).
                assert!(
                    (ph.t_mid / m).ln().abs() < 2e-2,
                    "t_mid {} vs {m}",
                    ph.t_mid
                );
                assert!(
                    (ph.t_steepest / m).ln().abs() < 2e-2,
                    "t_st {} vs {m}",
                    ph.t_steepest
                );
            }
        }
    }
}

#[test]
fn hints_reject_a_short_unmatched_shoulder() {
    // 1.5 → 1.0 → (shoulder at 0.8) → 0.5 → 0. Steps of width w = 0.15 end where the rate
    // falls to 10 % of its peak, 3.63 w ≈ 0.54 from their centres, so centres 2.3 e-folds
    // apart leave a shoulder about 1.2 e-folds long.
    let mids = [1e-5, 1e-3, 1e-3 * 2.3f64.exp(), 1e0];
    let levels = [1.5, 1.0, 0.8, 0.5, 0.0];
    let t = log_grid(-8.0, 2.0, 60);
    let w = 0.15;
    let f = steps(&levels, &mids, w);
    let r = sample(&t, &f);
    let det = PlateauDetector::default();
    let plain = det.detect(&t, &r, None).unwrap();
    assert_eq!(plain.plateaus.len(), 5, "{plain:#?}");
    let hints = [1.5, 1.0, 0.5, 0.0];
    let d = det.detect(&t, &r, Some(&hints)).unwrap();
    assert_eq!(d.plateaus.len(), 4, "{d:#?}");
    let deg: Vec<Option<usize>> = d.plateaus.iter().map(|p| p.degree).collect();
    assert_eq!(deg, vec![Some(0), Some(1), Some(2), Some(3)]);
    // The phase 1.0 → 0.5 now spans the shoulder; its midpoint 0.75 is crossed in the second
    // sub-step, where the risk equals 0.75 at ln t = ln m + w ln((0.8−0.75)/(0.75−0.5)) .
    let ph = d.phase_to_degree(2).unwrap();
    let x_exact = mids[2].ln() + w * ((0.8 - 0.75) / (0.75 - 0.5_f64)).ln();
    assert!(
        (ph.t_mid.ln() - x_exact).abs() < 1e-3,
        "{} vs {}",
        ph.t_mid.ln(),
        x_exact
    );
    // A long unmatched plateau is kept, unlabelled.
    let lenient = PlateauDetector {
        unmatched_min_length: 0.5,
        ..det
    };
    let d = lenient.detect(&t, &r, Some(&hints)).unwrap();
    assert_eq!(d.plateaus.len(), 5);
    assert_eq!(d.plateaus[2].degree, None);
}

#[test]
fn invalid_inputs_are_errors_not_panics() {
    let det = PlateauDetector::default();
    assert!(matches!(
        det.detect(&[1.0, 2.0, 2.0, 3.0, 4.0, 5.0], &[1.0; 6], None),
        Err(AnalysisError::NonIncreasingTime { index: 2, .. })
    ));
    assert!(matches!(
        det.detect(&[0.0, 1.0, 2.0], &[1.0; 3], None),
        Err(AnalysisError::TooFewPoints { .. })
    ));
    assert!(matches!(
        det.detect(&[1.0, 2.0], &[1.0; 3], None),
        Err(AnalysisError::LengthMismatch { .. })
    ));
    let t = log_grid(0.0, 1.0, 10);
    let mut r = vec![1.0; t.len()];
    r[3] = f64::NAN;
    assert!(matches!(
        det.detect(&t, &r, None),
        Err(AnalysisError::NonFinite {
            input: "risk",
            index: 3,
            ..
        })
    ));
    let bad = PlateauDetector {
        contrast: 1.5,
        ..det
    };
    assert!(matches!(
        bad.detect(&t, &[1.0; 11], None),
        Err(AnalysisError::InvalidParameter {
            name: "contrast",
            ..
        })
    ));
}

/// The shared reference trajectories (limit ODE, `σ_k = 1/√k!`, `φ = [0, 1, 1, 1, 0, 0]`,
/// uniform `a(0)` on [−1, 1], N = 64; `data/reference/README.md`).
/// One trajectory: `(ε, t, risk)`.
type Trajectory = (f64, Vec<f64>, Vec<f64>);

fn reference() -> Vec<Trajectory> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/reference/public_flow.csv"
    );
    let text = std::fs::read_to_string(path).expect("data/reference/public_flow.csv is readable");
    let mut out: Vec<Trajectory> = Vec::new();
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        match out.last_mut() {
            Some(last) if last.0 == v[0] => {
                last.1.push(v[1]);
                last.2.push(v[2]);
            }
            _ => out.push((v[0], vec![v[1]], vec![v[2]])),
        }
    }
    out
}

#[test]
fn reference_trajectories() {
    let curves = reference();
    // R_l = ½ Σ_{k>l} φ_k² for φ = [0, 1, 1, 1, 0, 0].
    let hints = [1.5, 1.0, 0.5, 0.0, 0.0, 0.0];
    for (eps, t, r) in &curves {
        let d = PlateauDetector::default()
            .detect(t, r, Some(&hints))
            .unwrap();
        eprintln!("eps = {eps:e}: {d:#?}");
        // Always: the initial plateau at R_0 = 1.5, and, after the degree-2 part is learnt
        // and the degree-3 residual partly (N = 64: phases 2 and 3 merge, model.md §5), a long
        // plateau near ½ (0.5)² = 0.125 that matches no hint and is kept, unlabelled.
        assert_eq!(d.plateaus[0].degree, Some(0));
        assert!((d.plateaus[0].level - 1.5).abs() < 1e-3);
        let p125 = d
            .plateaus
            .iter()
            .find(|p| (p.level - 0.125).abs() < 0.01)
            .expect("plateau near 0.125");
        assert_eq!(p125.degree, None);
        assert!(p125.length_log > 1.5);
        if *eps < 1e-5 {
            // Phase 1 is separated at ε = 1e-6: t_1 ≈ √ε ln(1/ε) / (4|σ₁φ₁|) + O(√ε)
            // = 3.45e-3 + O(1e-3) (model.md §5), and the plateau after it sits near R_1 = 1.
            let p1 = d.phase_to_degree(1).expect("phase 1 at eps = 1e-6");
            assert!(p1.t_mid > 3e-3 && p1.t_mid < 6e-3, "{}", p1.t_mid);
            assert!(p1.t_steepest > 3e-3 && p1.t_steepest < 6e-3);
            assert!((d.plateaus[1].level - 1.0).abs() < 0.05);
            // The run reaches the final level: R ≈ 3e-3 at t = 3, labelled R_3 = 0.
            let last = d.plateaus.last().unwrap();
            assert!(last.level < 0.01 && last.degree == Some(3), "{last:?}");
            assert_eq!(d.plateaus.len(), 4);
        } else {
            // ε = 1e-4: phases 1 and 2 overlap (t_1 ≈ 0.03, t_2 ≈ ε^¼ = 0.1), so the first
            // drop goes straight to the 0.125 plateau, where the run ends.
            assert_eq!(d.plateaus.len(), 2);
        }
    }
}

/// Regression: two drops merged across a valley that is deep compared with the higher peak
/// but not with the lower one (default scenario, N = 8, ε = 1e-5: phase 1 at t ≈ 1.2e-2 and
/// the degree-2/3 drop at t ≈ 6e-2 with a shoulder near R ≈ 0.95 between them). The merged
/// drop must extend over both peaks, so the initial plateau survives.
#[test]
fn merged_drops_keep_the_plateaus_around_them() {
    let text = include_str!("data/default_eps1e-5.csv");
    let (mut t, mut r) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let (a, b) = line.split_once(',').unwrap();
        t.push(a.parse::<f64>().unwrap());
        r.push(b.parse::<f64>().unwrap());
    }
    let hints = [1.5, 1.0, 0.5, 0.0, 0.0, 0.0];
    let d = PlateauDetector::default()
        .detect(&t, &r, Some(&hints))
        .unwrap();
    assert_eq!(d.plateaus.len(), 2, "{d:#?}");
    assert_eq!(d.plateaus[0].degree, Some(0));
    assert!(
        d.plateaus[0].t_exit > 4e-3 && d.plateaus[0].t_exit < 8e-3,
        "{d:#?}"
    );
    assert!((d.plateaus[1].level - 0.12).abs() < 0.01);
    let ph = &d.phases[0];
    assert!(ph.t_start < 1.2e-2 && ph.t_end > 6e-2, "{ph:?}");
    assert!(ph.t_mid > 3e-2 && ph.t_mid < 5e-2, "{ph:?}");
}
