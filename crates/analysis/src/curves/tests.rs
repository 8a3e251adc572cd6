//! Tests of the curve analysis: synthetic staged curves whose drop times are known in closed
//! form (noise 1–10 %, linear and log step axes, spikes, drift, merged stages), the layouts,
//! and bad input. Property tests: no input makes it panic.

use super::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use timescales_report::{Column, Table};

/// A staged curve: `levels[j]` before step `j`, `levels[j+1]` after; step `j` a logistic in
/// `ln t` centred at `ln mids[j]`, width `w`:
/// `L(t) = levels[n] + Σ_j (levels[j] − levels[j+1]) / (1 + (t/mids[j])^{1/w})`.
fn staged(levels: &[f64], mids: &[f64], w: f64) -> impl Fn(f64) -> f64 + Clone + use<> {
    let (levels, mids) = (levels.to_vec(), mids.to_vec());
    move |t: f64| {
        let mut r = *levels.last().unwrap();
        for (j, m) in mids.iter().enumerate() {
            r += (levels[j] - levels[j + 1]) / (1.0 + ((t.ln() - m.ln()) / w).exp());
        }
        r
    }
}

/// The true `t_mid` of step `j`: the crossing of `(levels[j] + levels[j+1])/2` by the
/// noiseless curve, by bisection in `ln t` on `[mids[j]/e^3, mids[j]·e^3]` (the other
/// steps' tails move it from `mids[j]` by less than 1e-4 here).
fn true_t_mid(f: &impl Fn(f64) -> f64, levels: &[f64], mids: &[f64], j: usize) -> f64 {
    let target = 0.5 * (levels[j] + levels[j + 1]);
    let (mut a, mut b) = (mids[j].ln() - 3.0, mids[j].ln() + 3.0);
    for _ in 0..100 {
        let m = 0.5 * (a + b);
        if f(m.exp()) > target {
            a = m;
        } else {
            b = m;
        }
    }
    (0.5 * (a + b)).exp()
}

/// `f` at `steps` with multiplicative Gaussian noise `L (1 + σ ξ)`.
fn noisy(f: impl Fn(f64) -> f64, steps: &[f64], sigma: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let xi = Normal::new(0.0, 1.0).unwrap();
    steps
        .iter()
        .map(|&t| f(t) * (1.0 + sigma * xi.sample(&mut rng)))
        .collect()
}

fn linear_steps(n: usize) -> Vec<f64> {
    (1..=n).map(|s| s as f64).collect()
}

fn log_steps(n: usize, t_max: f64) -> Vec<f64> {
    (0..n)
        .map(|i| t_max.powf(i as f64 / (n - 1) as f64))
        .collect()
}

/// A long table `step, loss, <by>` of one curve per `(p, steps, loss)`.
fn long_table(by: &str, curves: &[(f64, Vec<f64>, Vec<f64>)]) -> Table {
    let (mut s, mut l, mut p) = (vec![], vec![], vec![]);
    for (pv, steps, loss) in curves {
        s.extend_from_slice(steps);
        l.extend_from_slice(loss);
        p.extend(std::iter::repeat_n(*pv, steps.len()));
    }
    Table::new().f64("step", s).f64("loss", l).f64(by, p)
}

/// `from_table` refuses `t` with an error whose text holds every needle.
fn refused(t: &Table, spec: &ColumnSpec, needles: &[&str]) {
    let e = CurveSet::from_table(t, spec).unwrap_err().to_string();
    for n in needles {
        assert!(e.contains(n), "{n:?} not in {e}");
    }
}

fn spec_by(by: &str) -> ColumnSpec {
    ColumnSpec {
        by: Some(by.into()),
        ..ColumnSpec::default()
    }
}

fn fit(r: &CurvesAnalysis, drop: usize, q: Quantity, law: Law) -> &ExponentFit {
    r.exponents
        .iter()
        .find(|e| e.drop == drop && e.quantity == q && e.law == law)
        .unwrap()
}

const LEVELS: [f64; 3] = [1.0, 0.5, 0.1];

/// The acceptance target of issue 15 on data the detector was not shaped on: separated
/// drops, 8 % multiplicative noise, a linear step axis (4·10⁵ steps per curve, 4 widths),
/// drop times `t₁ = 300 p^{1/2}`, `t₂ = 3·10⁴ p^{1/4}`: every `t_mid` within 5 % of the
/// closed form, both exponents within 0.05 (measured: worst |Δt/t| and γ printed).
///
/// The limit of resolution: on a linear axis a drop at step 100 leaves ~40 samples on the
/// plateau before it; at 8 % noise the detector then misses that plateau in about one seed
/// in four (and reports no drop there rather than a wrong one); from step 300 on, 20 seeds
/// out of 20 were found, within 5 % (measured while writing this test).
#[test]
fn separated_drops_with_8_percent_noise_on_a_linear_axis() {
    let steps = linear_steps(400_000);
    let mut curves = Vec::new();
    let mut truth = Vec::new();
    for (k, p) in [1.0f64, 3.0, 9.0, 27.0].into_iter().enumerate() {
        let mids = [300.0 * p.sqrt(), 3e4 * p.powf(0.25)];
        let f = staged(&LEVELS, &mids, 0.25);
        truth.push([0, 1].map(|j| true_t_mid(&f, &LEVELS, &mids, j)));
        curves.push((p, steps.clone(), noisy(f, &steps, 0.08, 100 + k as u64)));
    }
    let set = CurveSet::from_table(&long_table("width", &curves), &spec_by("width")).unwrap();
    let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
    let mut worst: f64 = 0.0;
    for (c, tr) in r.curves.iter().zip(&truth) {
        assert_eq!(c.drops.len(), 2, "{}: {:#?}", c.name, c.drops);
        assert!((c.noise - 0.08).abs() < 0.01, "σ̂ = {}", c.noise);
        for (d, t) in c.drops.iter().zip(tr) {
            assert!(!d.merged);
            let rel = d.t_mid / t - 1.0;
            worst = worst.max(rel.abs());
            assert!(
                rel.abs() < 0.05,
                "{} drop {}: {} vs {t}",
                c.name,
                d.drop,
                d.t_mid
            );
            assert!(d.t_start < d.t_mid && d.t_mid < d.t_end);
        }
        for (p, l) in c.plateaus.iter().zip(LEVELS) {
            assert!(p.ci[0] <= p.level && p.level <= p.ci[1]);
            assert!((p.level / l - 1.0).abs() < 0.05, "level {} vs {l}", p.level);
        }
    }
    let g1 = fit(&r, 1, Quantity::TMid, Law::PowerLaw);
    let g2 = fit(&r, 2, Quantity::TMid, Law::PowerLaw);
    eprintln!(
        "8% noise, linear axis: worst |t_mid/t − 1| = {worst:.4}; γ₁ = {:.4} [{:.4}, {:.4}] \
         (0.5), γ₂ = {:.4} [{:.4}, {:.4}] (0.25)",
        g1.gamma, g1.ci[0], g1.ci[1], g2.gamma, g2.ci[0], g2.ci[1]
    );
    assert!((g1.gamma - 0.5).abs() < 0.05 && (g2.gamma - 0.25).abs() < 0.05);
    assert_eq!((g1.n_points, g1.status()), (4, "ok"));
    assert!(g1.left_out.is_empty());
    // The levels do not depend on the parameter.
    let lv = fit(&r, 1, Quantity::Level, Law::PowerLaw);
    assert!(lv.gamma.abs() < 0.02, "level exponent {}", lv.gamma);
}

/// Log step axis (3000 points over 6 decades), noise from 1 % to 10 %, three stages, drop
/// times `t_j = c_j p^{γ_j}` with `γ = (0.5, 0.3)` over `p = 1 … 32`.
#[test]
fn log_axis_noise_from_1_to_10_percent() {
    let steps = log_steps(3000, 1e6);
    for (s, sigma) in [0.01, 0.04, 0.1].into_iter().enumerate() {
        let mut curves = Vec::new();
        let mut truth = Vec::new();
        for (k, p) in [1.0f64, 2.0, 4.0, 8.0, 16.0, 32.0].into_iter().enumerate() {
            let mids = [30.0 * p.sqrt(), 3e3 * p.powf(0.3)];
            let f = staged(&LEVELS, &mids, 0.3);
            truth.push([0, 1].map(|j| true_t_mid(&f, &LEVELS, &mids, j)));
            curves.push((
                p,
                steps.clone(),
                noisy(f, &steps, sigma, 7 + 10 * s as u64 + k as u64),
            ));
        }
        let set = CurveSet::from_table(&long_table("lr", &curves), &spec_by("lr")).unwrap();
        let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
        let mut worst: f64 = 0.0;
        for (c, tr) in r.curves.iter().zip(&truth) {
            assert_eq!(c.drops.len(), 2, "σ = {sigma}, {}: {:#?}", c.name, c.drops);
            for (d, t) in c.drops.iter().zip(tr) {
                worst = worst.max((d.t_mid / t - 1.0).abs());
            }
        }
        let g1 = fit(&r, 1, Quantity::TMid, Law::PowerLaw).gamma;
        let g2 = fit(&r, 2, Quantity::TMid, Law::PowerLaw).gamma;
        eprintln!("log axis, σ = {sigma}: worst |t_mid/t − 1| = {worst:.4}, γ = {g1:.4}, {g2:.4}");
        assert!(worst < 0.05, "σ = {sigma}: {worst}");
        assert!(
            (g1 - 0.5).abs() < 0.05 && (g2 - 0.3).abs() < 0.05,
            "{g1} {g2}"
        );
    }
}

/// Slow drift on the plateaus (the loss falls 3 % per e-fold), isolated spikes (one sample
/// in 500 ten times too high), missing stretches and repeated, shuffled steps: the same two
/// drops at the same times.
#[test]
fn not_fooled_by_drift_spikes_missing_or_repeated_steps() {
    let mids = [300.0, 3e4];
    let f0 = staged(&LEVELS, &mids, 0.25);
    let f = move |t: f64| f0(t) * (1.0 - 0.03 * t.ln() / 12.0).max(0.5);
    let mut steps: Vec<f64> = linear_steps(200_000)
        .into_iter()
        .filter(|s| !(5_000.0..9_000.0).contains(s) && !(60_000.0..61_000.0).contains(s))
        .collect();
    let mut loss = noisy(&f, &steps, 0.05, 3);
    for (i, l) in loss.iter_mut().enumerate() {
        if i % 500 == 250 {
            *l *= 10.0;
        }
    }
    // Repeat every 97th step (a restarted logger), and log the first 1000 rows backwards.
    let extra: Vec<(f64, f64)> = steps
        .iter()
        .zip(&loss)
        .step_by(97)
        .map(|(s, l)| (*s, *l))
        .collect();
    for (s, l) in extra {
        steps.push(s);
        loss.push(l);
    }
    steps[..1000].reverse();
    loss[..1000].reverse();
    let table = Table::new().f64("step", steps).f64("loss", loss);
    let set = CurveSet::from_table(&table, &ColumnSpec::default()).unwrap();
    let c = &set.curves[0];
    assert!(c.counts.out_of_order > 0 && c.counts.repeated > 2000);
    let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
    let c = &r.curves[0];
    assert_eq!(c.drops.len(), 2, "{:#?}", c.drops);
    for (d, j) in c.drops.iter().zip([0, 1]) {
        let t = true_t_mid(&f, &[f(30.0), f(3000.0), f(3e5)], &mids, j);
        assert!(
            (d.t_mid / t - 1.0).abs() < 0.05,
            "drop {}: {} vs {t}",
            d.drop,
            d.t_mid
        );
    }
}

/// Two stages that merge for the largest parameter: that curve's drop skips the plateau at
/// 0.5 that the others show; it is flagged, and named among the curves left out of both
/// stages' fits.
#[test]
fn merged_drops_are_flagged_and_left_out() {
    let steps = log_steps(2000, 1e6);
    let mut curves = Vec::new();
    for (k, p) in [1.0f64, 2.0, 4.0, 8.0].into_iter().enumerate() {
        let mids = if p < 8.0 {
            vec![50.0 * p, 1e4]
        } else {
            vec![2e3, 2e3]
        };
        let f = staged(&LEVELS, &mids, 0.3);
        curves.push((p, steps.clone(), noisy(f, &steps, 0.03, k as u64)));
    }
    let set = CurveSet::from_table(&long_table("d", &curves), &spec_by("d")).unwrap();
    let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
    assert_eq!(r.reference_levels.len(), 1);
    assert!((r.reference_levels[0] / 0.5 - 1.0).abs() < 0.05);
    let last = &r.curves[3];
    assert_eq!(last.drops.len(), 1);
    assert!(last.drops[0].merged && last.drops[0].skipped_levels.len() == 1);
    assert!(
        r.curves[..3]
            .iter()
            .all(|c| c.drops.iter().all(|d| !d.merged))
    );
    for stage in [1, 2] {
        let e = fit(&r, stage, Quantity::TMid, Law::PowerLaw);
        assert_eq!(e.n_points, 3);
        assert_eq!(e.left_out.len(), 1);
        assert_eq!(e.left_out[0].0, "8");
        assert!(e.left_out[0].1.contains("merges"), "{}", e.left_out[0].1);
    }
    let g1 = fit(&r, 1, Quantity::TMid, Law::PowerLaw);
    assert!((g1.gamma - 1.0).abs() < 0.05, "{}", g1.gamma);
}

#[test]
fn layouts_wide_and_tensorboard() {
    let steps = log_steps(800, 1e5);
    let f = staged(&[2.0, 0.5], &[100.0], 0.3);
    let g = staged(&[2.0, 0.5], &[400.0], 0.3);
    let (a, b) = (noisy(&f, &steps, 0.02, 1), noisy(&g, &steps, 0.02, 2));
    let wide = Table::new()
        .f64("Step", steps.clone())
        .f64("width=16 - loss", a.clone())
        .f64("width=16 - loss__MIN", a.clone())
        .f64("width=256 - loss", b);
    let set = CurveSet::from_table(&wide, &spec_by("width")).unwrap();
    assert_eq!(set.columns.layout, Layout::Wide);
    assert_eq!(set.curves.len(), 2);
    assert_eq!(
        (set.curves[0].by, set.curves[1].by),
        (Some(16.0), Some(256.0))
    );
    let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
    let t: Vec<f64> = r.curves.iter().map(|c| c.drops[0].t_mid).collect();
    assert!(
        (t[0] / 100.0 - 1.0).abs() < 0.05 && (t[1] / 400.0 - 1.0).abs() < 0.05,
        "{t:?}"
    );

    let tb = Table::new()
        .f64("Wall time", vec![1.7e9; steps.len()])
        .f64("Step", steps)
        .f64("Value", a);
    let set = CurveSet::from_table(&tb, &ColumnSpec::default()).unwrap();
    assert_eq!(set.columns.layout, Layout::TensorBoard);
    assert_eq!(set.curves.len(), 1);
    let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
    assert!(r.exponents.is_empty());
    assert!((r.curves[0].drops[0].t_mid / 100.0 - 1.0).abs() < 0.05);
}

#[test]
fn runs_and_parameter_columns() {
    // Two seeds per width, named by a run column.
    let steps = log_steps(500, 1e4);
    let (mut s, mut l, mut run, mut w) = (vec![], vec![], vec![], vec![]);
    for (k, (name, width)) in [("a", 1.0), ("b", 1.0), ("c", 4.0), ("d", 4.0)]
        .iter()
        .enumerate()
    {
        let f = staged(&[1.0, 0.1], &[30.0 * width], 0.3);
        s.extend_from_slice(&steps);
        l.extend(noisy(f, &steps, 0.02, k as u64));
        run.extend(std::iter::repeat_n(name.to_string(), steps.len()));
        w.extend(std::iter::repeat_n(*width, steps.len()));
    }
    let spec = ColumnSpec {
        run: Some("seed".into()),
        by: Some("width".into()),
        ..ColumnSpec::default()
    };
    let mut t = Table::new().f64("step", s.clone()).f64("loss", l.clone());
    t.push("seed", Column::Str(run));
    let good = t.clone().f64("width", w.clone());
    let set = CurveSet::from_table(&good, &spec).unwrap();
    assert_eq!(
        set.curves
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c", "d"]
    );
    // A run name that repeats across widths (a seed): a curve per (seed, width), named so.
    let seeds: Vec<String> = ["0", "1", "0", "1"]
        .iter()
        .flat_map(|s| std::iter::repeat_n(s.to_string(), steps.len()))
        .collect();
    let mut by_seed = Table::new()
        .f64("step", s.clone())
        .f64("loss", l.clone())
        .f64("width", w.clone());
    by_seed.push("seed", Column::Str(seeds));
    let set = CurveSet::from_table(&by_seed, &spec).unwrap();
    assert_eq!(
        set.curves
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["0 (width=1)", "1 (width=1)", "0 (width=4)", "1 (width=4)"]
    );
    // A row without a width is a curve of its own, without a parameter (left out of fits).
    let mut bad_w = w;
    bad_w[10] = f64::NAN;
    let set = CurveSet::from_table(&t.f64("width", bad_w), &spec).unwrap();
    assert_eq!(set.curves.len(), 5);
    assert_eq!((set.curves[0].by, set.curves[1].by), (Some(1.0), None));
}

#[test]
fn bad_input_is_an_error_naming_the_column_and_row() {
    let t = Table::new()
        .f64("step", vec![1.0, 2.0, 3.0])
        .f64("loss", vec![1.0, 0.5, 0.2]);
    let missing = ColumnSpec {
        loss: Some("val_loss".into()),
        ..ColumnSpec::default()
    };
    refused(&t, &missing, &["`val_loss`", "no such column"]);
    refused(&t, &spec_by("width"), &["`width`"]);

    let text = Table::new()
        .f64("step", vec![1.0, 2.0, 3.0])
        .str("loss", ["1.0", "oops", "0.2"]);
    refused(&text, &ColumnSpec::default(), &["`loss`", "row 2", "oops"]);

    let no_time = Table::new().f64("x", vec![1.0]).f64("loss", vec![1.0]);
    refused(&no_time, &ColumnSpec::default(), &["--time"]);
    assert!(CurveSet::from_table(&Table::new(), &ColumnSpec::default()).is_err());
    refused(&t, &spec_by("level"), &["output column"]);
    let two = Table::new()
        .f64("step", vec![1.0])
        .f64("loss", vec![1.0])
        .f64("train_loss", vec![1.0]);
    refused(&two, &ColumnSpec::default(), &["--loss"]);

    // NaN, inf and missing losses are skipped and counted; t ≤ 0 left out.
    let gaps = Table::new()
        .f64("step", vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
        .opt_f64(
            "loss",
            vec![
                Some(1.0),
                Some(f64::NAN),
                None,
                Some(f64::INFINITY),
                Some(0.5),
                Some(0.4),
            ],
        );
    let set = CurveSet::from_table(&gaps, &ColumnSpec::default()).unwrap();
    let c = &set.curves[0].counts;
    assert_eq!((c.rows, c.non_finite_loss, c.non_positive_time), (6, 3, 1));
    assert_eq!(set.curves[0].t, [4.0, 5.0]);

    // Mostly repeated steps: several runs in one curve, refused naming the row.
    let twice = Table::new()
        .f64("step", vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
        .f64("loss", vec![1.0, 0.5, 0.2, 1.1, 0.6, 0.3]);
    refused(
        &twice,
        &ColumnSpec::default(),
        &["`step`", "row 4", "--run"],
    );

    // A single point: an error; a constant curve: one plateau, no drop.
    let one = Table::new().f64("step", vec![1.0]).f64("loss", vec![1.0]);
    let set = CurveSet::from_table(&one, &ColumnSpec::default()).unwrap();
    let e = analyze(&set, &AnalyzeOptions::default()).unwrap_err();
    assert!(
        matches!(e, AnalysisError::TooFewPoints { got: 1, .. }),
        "{e}"
    );
    let flat = Table::new()
        .f64("step", linear_steps(1000))
        .f64("loss", vec![0.7; 1000]);
    let set = CurveSet::from_table(&flat, &ColumnSpec::default()).unwrap();
    let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
    assert!(r.curves[0].drops.is_empty());
    assert_eq!(r.curves[0].plateaus.len(), 1);
    assert_eq!(r.curves[0].plateaus[0].level, 0.7);
    // A curve that fails among good ones is kept with its error and left out.
    let mixed = Table::new()
        .f64("step", [linear_steps(1000), vec![1.0]].concat())
        .f64("loss", [vec![0.7; 1000], vec![1.0]].concat())
        .f64("p", [vec![1.0; 1000], vec![2.0]].concat());
    let set = CurveSet::from_table(&mixed, &spec_by("p")).unwrap();
    let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
    assert!(r.curves[0].error.is_none() && r.curves[1].error.is_some());
    // A curve built by hand that breaks what from_table guarantees: an error, not a panic.
    let mut hand = set.clone();
    hand.curves[0].loss.pop();
    hand.curves[1].t = vec![f64::NAN];
    hand.curves[1].loss = vec![1.0];
    assert!(matches!(
        analyze(&hand, &AnalyzeOptions::default()),
        Err(AnalysisError::LengthMismatch { .. })
    ));
    let bad_opts = AnalyzeOptions {
        bin_width: 0.0,
        ..AnalyzeOptions::default()
    };
    assert!(analyze(&set, &bad_opts).is_err());
}

fn cell() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        4 => (-1e3f64..1e3).prop_map(Some),
        1 => Just(None),
        1 => Just(Some(f64::NAN)),
        1 => Just(Some(f64::INFINITY)),
        1 => Just(Some(0.0)),
        1 => (1e-300f64..1e300).prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random tables (values of any sign, missing, NaN, inf; text; random grouping): an
    /// error or a result, never a panic.
    #[test]
    fn random_tables_never_panic(
        rows in prop::collection::vec((cell(), cell(), 0u8..4, cell()), 0..120),
        text_at in prop::option::of(0usize..120),
        by in any::<bool>(),
        run in any::<bool>(),
    ) {
        let mut loss: Vec<String> = rows.iter().map(|r| r.1.map_or(String::new(), |v| v.to_string())).collect();
        if let Some(i) = text_at.filter(|&i| i < loss.len()) {
            loss[i] = "x".into();
        }
        let mut t = Table::new()
            .opt_f64("step", rows.iter().map(|r| r.0).collect::<Vec<_>>())
            .str("loss", loss)
            .opt_f64("p", rows.iter().map(|r| r.3).collect::<Vec<_>>());
        t.push("run", Column::I64(rows.iter().map(|r| i64::from(r.2)).collect()));
        let spec = ColumnSpec {
            by: by.then(|| "p".to_string()),
            run: run.then(|| "run".to_string()),
            ..ColumnSpec::default()
        };
        if let Ok(set) = CurveSet::from_table(&t, &spec) {
            for c in &set.curves {
                prop_assert!(c.t.windows(2).all(|w| w[1] > w[0]));
                prop_assert!(c.t.iter().all(|t| *t > 0.0) && c.loss.iter().all(|l| l.is_finite()));
            }
            let _ = analyze(&set, &AnalyzeOptions::default());
        }
    }

    /// Random noise (up to 100 %, any seed) on a staged curve, and degenerate curves
    /// (constant, two levels, tiny or huge values): never a panic, and every reported drop
    /// is ordered in time and level.
    #[test]
    fn random_noise_and_degenerate_curves(
        sigma in 0.0f64..1.0,
        seed in any::<u64>(),
        scale in prop_oneof![Just(1e-200), Just(1.0), Just(1e200), Just(-1.0)],
        n in 1usize..3000,
        log_axis in any::<bool>(),
    ) {
        let steps = if log_axis { log_steps(n.max(2), 1e6) } else { linear_steps(n) };
        let f = staged(&[1.0, 0.5, 0.1], &[30.0, 3000.0], 0.3);
        let loss: Vec<f64> = noisy(f, &steps, sigma, seed).into_iter().map(|l| l * scale).collect();
        let t = Table::new().f64("step", steps).f64("loss", loss);
        let set = CurveSet::from_table(&t, &ColumnSpec::default()).unwrap();
        if let Ok(r) = analyze(&set, &AnalyzeOptions::default()) {
            for d in &r.curves[0].drops {
                prop_assert!(d.t_start <= d.t_end);
                prop_assert!(d.level_before.is_finite() && d.level_after.is_finite());
            }
        }
    }

    /// Curves built by hand (any lengths, any values, any order): an error or a result.
    #[test]
    fn hand_built_curves_never_panic(
        t in prop::collection::vec(prop_oneof![any::<f64>(), 1.0f64..1e4], 0..60),
        loss in prop::collection::vec(prop_oneof![any::<f64>(), 0.0f64..2.0], 0..60),
        by in prop::option::of(any::<f64>()),
    ) {
        let set = CurveSet {
            columns: ResolvedColumns {
                layout: Layout::Long,
                time: "step".into(),
                loss: vec!["loss".into()],
                by: Some("p".into()),
                run: None,
            },
            curves: vec![Curve { name: "x".into(), by, t, loss, counts: InputCounts::default() }],
        };
        let _ = analyze(&set, &AnalyzeOptions::default());
    }
}
