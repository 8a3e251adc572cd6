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
    for f in [
        "composite.csv",
        "composite_error.csv",
        "order.csv",
        "matching.csv",
        "composite_error.svg",
        "match.json",
    ] {
        assert!(out_dir.join(f).is_file(), "missing {f}");
    }
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
