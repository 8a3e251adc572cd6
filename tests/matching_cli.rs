//! `timescales match` end to end: the built-in list, the output files and their orders, and
//! the error paths (parse errors with line/column, a fold inside the horizon).

use std::path::Path;
use std::process::{Command, Output};

fn timescales(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timescales"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Rows of a small CSV file as string fields (header first).
fn csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn list_names_every_builtin_problem() {
    let out = timescales(&["match", "--list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for name in ["linear", "michaelis-menten", "van-der-pol", "fold"] {
        assert!(s.contains(name), "{s}");
    }
}

#[test]
fn match_writes_tables_with_the_expected_orders() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("linear");
    let out = timescales(&[
        "match",
        "--problem",
        "linear",
        "--eps",
        "1e-1:1e-4:7",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_files(
        &out_dir,
        &[
            "composite.csv",
            "composite_error.csv",
            "order.csv",
            "matching.csv",
            "composite_error.svg",
            "match.json",
        ],
    );
    let comp = csv(&out_dir.join("composite.csv"));
    assert_eq!(
        comp[0][..9],
        [
            "t",
            "x_full",
            "x_outer",
            "x_inner",
            "x_composite",
            "y_full",
            "y_outer",
            "y_inner",
            "y_composite"
        ]
    );
    let err = csv(&out_dir.join("composite_error.csv"));
    assert_eq!(
        err[0],
        [
            "epsilon",
            "variable",
            "max_error_outer",
            "max_error_inner",
            "max_error_composite",
            "max_error_composite1"
        ]
    );
    assert_eq!(err.len(), 1 + 7 * 2);
    let order = csv(&out_dir.join("order.csv"));
    assert_eq!(
        order[0][..5],
        [
            "variable",
            "approximation",
            "fitted_order",
            "ci_low",
            "ci_high"
        ]
    );
    let fitted = |var: &str, approx: &str| -> f64 {
        order
            .iter()
            .find(|r| r[0] == var && r[1] == approx)
            .unwrap_or_else(|| panic!("{var}/{approx}"))[2]
            .parse()
            .unwrap()
    };
    for v in ["x", "y"] {
        assert!((fitted(v, "composite") - 1.0).abs() < 0.1);
        assert!((fitted(v, "composite1") - 2.0).abs() < 0.15);
    }
    assert!(fitted("y", "outer").abs() < 0.05);
    let summary = text(&out.stdout);
    assert!(summary.contains("| y | composite1 |"), "{summary}");
}

#[test]
fn system_file_parse_errors_point_at_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[system]\nslow = { x = \"y\" }\nfast = { y = \"(1 - x^2)*y - foo\" }\ninitial = { x = 2.0, y = 0.0 }\n[run]\nt_end = 1.0\n",
    )
    .unwrap();
    let out = timescales(&[
        "match",
        path.to_str().unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("line 3, column 29"), "{err}");
    assert!(err.contains("unknown name 'foo'"), "{err}");
    assert!(
        err.contains("\n    (1 - x^2)*y - foo\n                  ^"),
        "{err}"
    );
}

#[test]
fn a_fold_inside_the_horizon_is_reported_with_its_location() {
    // The fold problem's branch u = −√s ends at s = 0, t = 1: asking for T = 1.5 fails there.
    let dir = tempfile::tempdir().unwrap();
    let out = timescales(&[
        "match",
        "--problem",
        "fold",
        "--t-end",
        "1.5",
        "--eps",
        "1e-2,1e-3",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("fold of the slow manifold"), "{err}");
    assert!(err.contains("t ≈ 1.0000"), "{err}");
}

#[test]
fn user_system_files_study_like_builtins() {
    // Michaelis–Menten written as expressions.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mm.toml");
    std::fs::write(
        &path,
        r#"
[system]
slow = { s = "-s + (s + K - lambda)*c" }
fast = { c = "s - (s + K)*c" }
parameters = { K = 1.0, lambda = 0.5 }
initial = { s = 1.0, c = 0.0 }
[run]
t_end = 2.0
"#,
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = timescales(&[
        "match",
        path.to_str().unwrap(),
        "--eps",
        "1e-2:1e-4:5",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let order = csv(&out_dir.join("order.csv"));
    let c1: f64 = order
        .iter()
        .find(|r| r[0] == "c" && r[1] == "composite1")
        .unwrap()[2]
        .parse()
        .unwrap();
    assert!((c1 - 2.0).abs() < 0.1, "{c1}");
}

/// Each of `files` is in `dir`.
fn assert_files(dir: &Path, files: &[&str]) {
    for f in files {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
}

/// Column `name` of a CSV file as numbers.
fn column(rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let k = rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[0]));
    rows[1..].iter().map(|r| r[k].parse().unwrap()).collect()
}

/// The first zero of Ai (NIST DLMF Table 9.9.1), typed here independently of the code.
const A1: f64 = 2.338_107_410_459_767;

#[test]
fn van_der_pol_cycle_csv_follows_the_published_expansion() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("vdp");
    let out = timescales(&[
        "match",
        "--problem",
        "van-der-pol",
        "--eps",
        "1e-2:1e-4:5",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_files(
        &out_dir,
        &[
            "cycle.csv",
            "cycle_order.csv",
            "folds.csv",
            "composite_y.svg",
        ],
    );
    // Inside the atomic set: the manifest lists cycle.csv.
    let manifest = std::fs::read_to_string(out_dir.join("match.json")).unwrap();
    assert!(manifest.contains("\"cycle.csv\""), "{manifest}");
    let cycle = csv(&out_dir.join("cycle.csv"));
    assert_eq!(
        cycle[0][..4],
        [
            "epsilon",
            "period_direct",
            "period_leading",
            "period_predicted"
        ]
    );
    let eps = column(&cycle, "epsilon");
    let direct = column(&cycle, "period_direct");
    let leading = column(&cycle, "period_leading");
    let predicted = column(&cycle, "period_predicted");
    assert_eq!(eps.len(), 5);
    // Dorodnitsyn (1947), Grasman (1987): T = 3 − 2 ln 2 + 3|a₁| ε^{2/3} + O(ε ln ε).
    let t0 = 3.0 - 2.0 * 2f64.ln();
    for i in 0..eps.len() {
        let e = eps[i];
        let published = t0 + 3.0 * A1 * e.powf(2.0 / 3.0);
        assert!((leading[i] - t0).abs() < 1e-8, "{}", leading[i]);
        assert!(
            (predicted[i] - published).abs() < 1.5 * e.powf(4.0 / 3.0),
            "{e}"
        );
        assert!(
            (direct[i] - published).abs() < e * e.ln().abs(),
            "{e}: {}",
            direct[i]
        );
        assert!((direct[i] - predicted[i]).abs() < 0.2 * (direct[i] - leading[i]).abs());
    }
    let order = csv(&out_dir.join("cycle_order.csv"));
    let fitted = |approx: &str, col: usize| -> f64 {
        order.iter().find(|r| r[1] == approx).unwrap()[col]
            .parse()
            .unwrap()
    };
    let (lead, lo, hi) = (
        fitted("leading", 2),
        fitted("leading", 3),
        fitted("leading", 4),
    );
    assert!(
        (lead - 2.0 / 3.0).abs() < 0.05 && lo < lead && lead < hi,
        "{lead} [{lo}, {hi}]"
    );
    assert!(fitted("predicted", 2) > lead + 0.2);
    let summary = text(&out.stdout);
    assert!(summary.contains("relaxation cycle: 2 folds"), "{summary}");
    composite_across_folds_converges(&out_dir);
}

/// The composite across the folds (`fold_*.csv`): both folds of a loop passed at every ε,
/// the error outside the jump windows falling like ε^{2/3} ln(1/ε) (the Airy layer's next
/// order, with the jump time right to O(ε ln ε)), the error inside them O(1).
fn composite_across_folds_converges(out_dir: &Path) {
    assert_files(
        out_dir,
        &[
            "fold_composite.csv",
            "fold_error.csv",
            "fold_order.csv",
            "fold_composite_y.svg",
        ],
    );
    let err = csv(&out_dir.join("fold_error.csv"));
    let k = err[0].iter().position(|h| h == "variable").unwrap();
    let y: Vec<&Vec<String>> = err[1..].iter().filter(|r| r[k] == "y").collect();
    let col = |name: &str| err[0].iter().position(|h| h == name).unwrap();
    let (outside, inside, folds) = (
        col("max_error_outside_windows"),
        col("max_error_inside_windows"),
        col("folds"),
    );
    let outside: Vec<f64> = y.iter().map(|r| r[outside].parse().unwrap()).collect();
    assert!(y.iter().all(|r| r[folds] == "2"), "{err:?}");
    assert!(
        y.iter().all(|r| r[inside].parse::<f64>().unwrap() > 1.0),
        "{err:?}"
    );
    // ε = 1e-4 is the last row: within 3 ε^{2/3} ln(1/ε) = 0.06 (measured 0.010–0.012).
    assert!(outside.last().unwrap() < &0.03, "{outside:?}");
    assert!(outside.windows(2).all(|w| w[1] < w[0]), "{outside:?}");
    let order = csv(&out_dir.join("fold_order.csv"));
    let fitted = |approx: &str| -> f64 {
        order
            .iter()
            .find(|r| r[0] == "y" && r[1] == approx)
            .unwrap_or_else(|| panic!("{order:?}"))[2]
            .parse()
            .unwrap()
    };
    let over_log = fitted("orbit_composite_over_log");
    assert!((over_log - 2.0 / 3.0).abs() < 0.08, "{order:?}");
    assert!(fitted("orbit_composite") < over_log, "{order:?}");
    let manifest = std::fs::read_to_string(out_dir.join("match.json")).unwrap();
    assert!(manifest.contains("\"fold_error.csv\""), "{manifest}");
}

#[test]
fn an_asymmetric_oscillator_from_a_file_predicts_its_direct_period() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("asym");
    let out = timescales(&[
        "match",
        "data/systems/asymmetric_relaxation.toml",
        "--eps",
        "1e-3,1e-4",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cycle = csv(&out_dir.join("cycle.csv"));
    let (direct, leading, predicted) = (
        column(&cycle, "period_direct"),
        column(&cycle, "period_leading"),
        column(&cycle, "period_predicted"),
    );
    for i in 0..2 {
        // The prediction closes > 90% of the gap the leading order leaves (the rest is
        // the O(ε ln ε) remainder: 6% at ε = 1e-3, 3% at 1e-4).
        let gap = (direct[i] - leading[i]).abs();
        assert!(gap > 0.01, "{gap}");
        assert!(
            (direct[i] - predicted[i]).abs() < 0.1 * gap,
            "{i}: {cycle:?}"
        );
    }
    // Two folds with different slow speeds: different Airy delay coefficients,
    // |a₁|(1 ± c)^{-1/3} for c = 0.3.
    let folds = csv(&out_dir.join("folds.csv"));
    let mut d = column(&folds, "delay_coefficient");
    d.sort_by(f64::total_cmp);
    assert!((d[0] - A1 * 1.3f64.powf(-1.0 / 3.0)).abs() < 1e-6, "{d:?}");
    assert!((d[1] - A1 * 0.7f64.powf(-1.0 / 3.0)).abs() < 1e-6, "{d:?}");
    composite_across_folds_converges(&out_dir);
}

#[test]
fn an_impasse_is_named_as_such_not_as_a_fold() {
    // x' = 1, ε y' = −y + 1/(1 − x): the branch y = 1/(1 − x) runs to infinity at t = 1.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("impasse.toml");
    std::fs::write(
        &path,
        "[system]\nslow = { x = \"1\" }\nfast = { y = \"-y + 1/(1 - x)\" }\ninitial = { x = 0.0, y = 0.0 }\n[run]\nt_end = 1.5\n",
    )
    .unwrap();
    let out = timescales(&[
        "match",
        path.to_str().unwrap(),
        "--eps",
        "1e-2,1e-3",
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("impasse of the reduced flow"), "{err}");
    assert!(!err.contains("fold of the slow manifold"), "{err}");
}

#[test]
fn non_oscillating_problems_say_why_there_is_no_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("lin");
    let out = timescales(&[
        "match",
        "--problem",
        "linear",
        "--eps",
        "1e-1,1e-2",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!out_dir.join("cycle.csv").exists());
    assert!(text(&out.stdout).contains("no relaxation cycle: the reduced flow meets no fold"));
    let manifest = std::fs::read_to_string(out_dir.join("match.json")).unwrap();
    assert!(manifest.contains("cycle_note"), "{manifest}");
}

#[test]
fn user_system_run_honours_samples_and_method() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lin.toml");
    std::fs::write(
        &path,
        "[system]\nslow = { x = \"y\" }\nfast = { y = \"-x - y\" }\ninitial = { x = 1.0, y = 0.0 }\n[run]\nepsilon = 1e-3\nt_end = 2.0\nsamples = 30\nmethod = \"bdf\"\n",
    )
    .unwrap();
    let out_dir = dir.path().join("o");
    let out = timescales(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("method = bdf"),
        "{}",
        text(&out.stderr)
    );
    let traj = csv(&out_dir.join("trajectory.csv"));
    let t = column(&traj, "t");
    // t = 0, then 30 log-spaced times from ε/10 = 1e-4 to 2.
    assert_eq!(t.len(), 31);
    assert_eq!(t[0], 0.0);
    assert!(
        (t[1] - 1e-4).abs() < 1e-15 && (t[30] - 2.0).abs() < 1e-12,
        "{t:?}"
    );
    // A bad value names its key.
    std::fs::write(
        &path,
        "[system]\nslow = { x = \"y\" }\nfast = { y = \"-x - y\" }\ninitial = { x = 1.0, y = 0.0 }\n[run]\nepsilon = 1e-3\nt_end = 2.0\nsamples = 1\n",
    )
    .unwrap();
    let out = timescales(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("run.samples"),
        "{}",
        text(&out.stderr)
    );
}
