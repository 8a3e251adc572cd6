//! End to end: `timescales asymptotics` on the built-in default scenario writes the four
//! tables and the plot, with predictions for every present phase that approach the measured
//! onsets as ε decreases (direct integration is the reference).

use std::collections::HashMap;
use std::process::Command;

/// Rows of a CSV file as maps from column name to value.
fn read_csv(path: &std::path::Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap_or(f64::NAN)
}

#[test]
fn asymptotics_subcommand_predicts_phases_one_to_three() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("asy");
    let output = Command::new(env!("CARGO_BIN_EXE_timescales"))
        .args(["asymptotics", "--eps", "1e-7:1e-11:3", "--n-max", "16"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for f in [
        "phases_predicted.csv",
        "composite_risk.csv",
        "composite_error.csv",
        "convergence_n.csv",
        "composite_risk.svg",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }

    let phases = read_csv(&out.join("phases_predicted.csv"));
    // 3 ε × 5 phases (K = 5), the columns first.
    assert_eq!(phases.len(), 15);
    for key in [
        "epsilon",
        "phase",
        "onset_predicted",
        "onset_measured",
        "plateau_level",
        "predicted_gamma",
        "present",
    ] {
        assert!(phases[0].contains_key(key), "column {key}");
    }
    let rel = |eps: f64, phase: u32, key: &str| {
        let r = phases
            .iter()
            .find(|r| {
                (num(r, "epsilon") / eps - 1.0).abs() < 1e-9 && num(r, "phase") == phase as f64
            })
            .unwrap();
        (num(r, key) - num(r, "onset_measured")).abs() / num(r, "onset_measured")
    };
    for phase in [1, 2, 3] {
        let errs: Vec<f64> = [1e-7, 1e-9, 1e-11]
            .iter()
            .map(|&e| rel(e, phase, "onset_predicted"))
            .collect();
        assert!(errs[2] < errs[0], "phase {phase}: {errs:?}");
        assert!(errs[2] < 0.02, "phase {phase}: {errs:?}");
    }
    // The ε-free inner problem of phase 2 predicts t_2 = ε^{1/4} T_2(ε) within a few percent.
    assert!(rel(1e-11, 2, "onset_inner") < 0.03);
    // Phases 4 and 5 are absent (φ_4 = φ_5 = 0) and said to be.
    assert!(
        phases
            .iter()
            .filter(|r| num(r, "phase") >= 4.0)
            .all(|r| r["present"] == "false")
    );

    // The inner problem's scalings on the plateau before phase 2: s ~ ε^{1/4}, a ~ ε^{−1/4}
    // (log-slopes over four decades of ε, within 0.05).
    let at = |eps: f64, key: &str| {
        let r = phases
            .iter()
            .find(|r| (num(r, "epsilon") / eps - 1.0).abs() < 1e-9 && num(r, "phase") == 2.0)
            .unwrap();
        num(r, key)
    };
    let slope = |key: &str| (at(1e-7, key) / at(1e-11, key)).log10() / 4.0;
    assert!(
        (slope("max_abs_s_before") - 0.25).abs() < 0.05,
        "{}",
        slope("max_abs_s_before")
    );
    assert!(
        (slope("max_abs_a_before") + 0.25).abs() < 0.05,
        "{}",
        slope("max_abs_a_before")
    );

    let errors = read_csv(&out.join("composite_error.csv"));
    let max_err: Vec<f64> = errors.iter().map(|r| num(r, "max_abs_error")).collect();
    assert!(max_err[2] < max_err[0], "{max_err:?}");
    let conv = read_csv(&out.join("convergence_n.csv"));
    assert!(conv.iter().any(|r| num(r, "n") == 16.0));
}

#[test]
fn asymptotics_rejects_bad_eps_grid() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_timescales"))
        .args(["asymptotics", "--eps", "1e-3:-1e-9:7", "--out"])
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--eps"));
}

#[test]
fn asymptotics_resumes_from_its_store() {
    // Each ε is kept in DIR/runs: a second invocation reuses the stored points (a stored
    // value edited on disk shows up in the tables, so it was read, not recomputed) and
    // recomputes a deleted one (the same numbers as the first time).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("asy");
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_timescales"))
            .args(["asymptotics", "--eps", "1e-3:1e-5:3", "--n-max", "8"])
            .args(["--samples", "200", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        read_csv(&out.join("phases_predicted.csv"))
    };
    let first = run();
    let runs = out.join("runs");
    let stored_runs = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("eps_")
            })
            .count()
    };
    assert_eq!(stored_runs(&runs), 3);
    assert!(
        runs.join("store.json").is_file(),
        "the store names its computation"
    );
    // Edit the stored ε = 1e-3 point: its measured phase-1 onset becomes 42.
    let stored = runs.join("eps_1e-3.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stored).unwrap()).unwrap();
    let onset = &mut record["result"]["comparison"]["onsets"][0]["onset_measured"];
    assert!(onset.is_number(), "{onset}");
    *onset = serde_json::json!(42.0);
    std::fs::write(&stored, serde_json::to_string(&record).unwrap()).unwrap();
    // Delete the ε = 1e-5 point.
    std::fs::remove_file(runs.join("eps_1e-5.json")).unwrap();
    let second = run();
    let measured = |rows: &[HashMap<String, String>], eps: f64| {
        rows.iter()
            .find(|r| num(r, "epsilon") == eps && r["phase"] == "1")
            .map(|r| num(r, "onset_measured"))
            .unwrap()
    };
    assert_eq!(measured(&second, 1e-3), 42.0);
    assert_eq!(measured(&second, 1e-5), measured(&first, 1e-5));
    assert_eq!(measured(&second, 1e-4), measured(&first, 1e-4));
    // Another computation in the same directory is refused, naming what differs; --fresh
    // starts afresh.
    let other = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_timescales"));
        c.args(["asymptotics", "--eps", "1e-3:1e-5:3", "--n-max", "8"])
            .args(["--samples", "300", "--out"])
            .arg(&out);
        c
    };
    let refused = other().output().unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("options.samples: 200 → 300") && err.contains("--fresh"),
        "{err}"
    );
    assert_eq!(
        measured(&read_csv(&out.join("phases_predicted.csv")), 1e-3),
        42.0
    );
    let fresh = other().arg("--fresh").output().unwrap();
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    assert_ne!(
        measured(&read_csv(&out.join("phases_predicted.csv")), 1e-3),
        42.0
    );
    assert_eq!(stored_runs(&runs), 3);
}
