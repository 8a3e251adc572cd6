//! End to end, as a user runs them: `timescales sweep` and `timescales merge` in temporary
//! directories — the manifest, resume after an interrupt (a real SIGINT) bit for bit,
//! shards + merge bit for bit equal to one sweep, the same numbers with 1 and 2 threads,
//! refusals of another computation's store and of incomplete or mismatched merges, a partial
//! merge that says so in every table.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The sweep's tables (what a paper uses): compared byte for byte.
const TABLES: &[&str] = &[
    "phases.csv",
    "plateaus.csv",
    "exponents.csv",
    "local_slopes.csv",
    "table.md",
    "table.tex",
    "plateau_deviation.md",
];

/// A grid of the default scenario fast in a debug build (~0.1–0.5 s a point).
const GRID: &str = "1e-2:1e-5:4";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_timescales"))
}

fn public() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/scenarios/public.toml")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "status {:?}\nstderr: {}\nstdout: {}",
        out.status,
        text(&out.stderr),
        text(&out.stdout)
    );
    out
}

fn sweep(out: &Path, extra: &[&str]) -> Output {
    run(bin()
        .args(["sweep", "--eps", GRID, "--out"])
        .arg(out)
        .args(extra))
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The tables of two output directories are byte for byte equal.
fn same_tables(a: &Path, b: &Path) {
    for t in TABLES {
        assert!(
            read(&a.join(t)) == read(&b.join(t)),
            "{t} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&read(&dir.join("sweep.json"))).expect("sweep.json is JSON")
}

/// SHA-256 by the system's `sha256sum`, an implementation independent of ours.
fn sha256sum(p: &Path) -> Option<String> {
    let out = Command::new("sha256sum").arg(p).output().ok()?;
    out.status.success().then(|| {
        text(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    })
}

#[test]
fn sweep_writes_a_set_closed_by_its_manifest_and_refuses_another_computations_store() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    ok(sweep(&out, &[]));
    let m = manifest(&out);
    assert_eq!(m["status"], "complete");
    assert_eq!(m["program"], "timescales");
    assert!(m["commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(m["fingerprint"]["problem"]["particles"], 8);
    assert!(m["fingerprint"]["problem"].get("epsilon").is_none());
    // Every file of the directory but the manifest (and the run store) is listed, with the
    // checksum of its bytes.
    let files = m["files"].as_array().unwrap();
    let mut listed: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    listed.sort_unstable();
    let mut present: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "sweep.json")
        .collect();
    present.sort_unstable();
    assert_eq!(listed, present);
    for f in files {
        let path = out.join(f["name"].as_str().unwrap());
        assert_eq!(f["bytes"].as_u64().unwrap(), read(&path).len() as u64);
        if let Some(sum) = sha256sum(&path) {
            assert_eq!(f["sha256"].as_str().unwrap(), sum, "{}", path.display());
        }
    }
    // The store names its computation.
    let store: serde_json::Value =
        serde_json::from_slice(&read(&out.join("runs/store.json"))).unwrap();
    assert_eq!(store["digest"], m["fingerprint_digest"]);

    // The public scenario (N = 64, another law) into the same directory: refused, naming
    // the differences, nothing changed; --fresh starts afresh.
    let before = read(&out.join("phases.csv"));
    let refused = run(bin()
        .arg("sweep")
        .arg(public())
        .args(["--eps", GRID, "--out"])
        .arg(&out));
    assert!(!refused.status.success());
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(
        err.contains("problem.particles: 8 → 64") && err.contains("--fresh"),
        "{err}"
    );
    assert_eq!(read(&out.join("phases.csv")), before);
    assert!(out.join("sweep.json").is_file());
    let fresh = ok(run(bin()
        .arg("sweep")
        .arg(public())
        .args(["--eps", GRID, "--fresh", "--out"])
        .arg(&out)));
    assert!(
        text(&fresh.stderr).contains("4 computed, 0 resumed"),
        "{}",
        text(&fresh.stderr)
    );
    assert_eq!(manifest(&out)["fingerprint"]["problem"]["particles"], 64);
    // The same command again resumes every point and writes the same tables.
    let again = ok(run(bin()
        .arg("sweep")
        .arg(public())
        .args(["--eps", GRID, "--out"])
        .arg(&out)));
    assert!(text(&again.stderr).contains("0 computed, 4 resumed"));
}

#[test]
fn shards_then_merge_equal_one_sweep_and_incomplete_or_foreign_merges_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    ok(sweep(&whole, &[]));
    let shard = |i: usize, scenario: Option<&Path>| {
        let dir = tmp.path().join(format!(
            "shard{i}{}",
            if scenario.is_some() { "-public" } else { "" }
        ));
        let mut cmd = bin();
        cmd.arg("sweep");
        if let Some(s) = scenario {
            cmd.arg(s);
        }
        ok(run(cmd
            .args(["--eps", GRID, "--shard", &format!("{i}/3"), "--out"])
            .arg(&dir)));
        assert_eq!(manifest(&dir)["status"], "partial");
        dir
    };
    let shards: Vec<PathBuf> = (0..3).map(|i| shard(i, None)).collect();
    // A shard's own tables say they are partial.
    let phases = text(&read(&shards[0].join("phases.csv")));
    assert!(phases.starts_with("partial,"), "{phases}");
    assert!(phases.contains("2 of 4 grid points"), "{phases}");

    // Two of three shards: refused, naming the missing points and shard; nothing written.
    let merged = tmp.path().join("merged");
    let refused = run(bin()
        .args(["merge", "--out"])
        .arg(&merged)
        .args(&shards[..2]));
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(
        err.contains("1 of 4 grid points") && err.contains("1e-4") && err.contains("2/3"),
        "{err}"
    );
    assert!(!merged.exists());
    // … unless a partial result is asked for: then every table says so.
    let partial = tmp.path().join("partial");
    ok(run(bin()
        .args(["merge", "--partial", "--out"])
        .arg(&partial)
        .args(&shards[..2])));
    assert_eq!(manifest(&partial)["status"], "partial");
    for t in [
        "phases.csv",
        "plateaus.csv",
        "exponents.csv",
        "local_slopes.csv",
    ] {
        let body = text(&read(&partial.join(t)));
        let mut lines = body.lines();
        assert!(lines.next().unwrap().starts_with("partial,"), "{t}");
        assert!(lines.all(|l| l.starts_with("3 of 4 grid points,")), "{t}");
    }
    assert!(text(&read(&partial.join("table.md"))).contains("Partial result: 3 of 4 grid points"));
    assert!(text(&read(&partial.join("table.tex"))).contains("partial result: 3 of 4 grid points"));

    // All three: the same tables as the unsharded sweep, byte for byte.
    ok(run(bin()
        .args(["merge", "--out"])
        .arg(&merged)
        .args(&shards)));
    same_tables(&merged, &whole);
    assert_eq!(manifest(&merged)["status"], "complete");

    // A shard of another scenario: refused, naming the difference.
    let foreign = shard(2, Some(&public()));
    let refused = run(bin()
        .args(["merge", "--out"])
        .arg(tmp.path().join("mixed"))
        .args(&shards[..2])
        .arg(&foreign));
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(err.contains("problem.particles: 8 → 64"), "{err}");
    assert!(!tmp.path().join("mixed").join("sweep.json").exists());
}

#[test]
fn the_numbers_do_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("t1"), tmp.path().join("t2"));
    ok(sweep(&one, &["--threads", "1"]));
    ok(sweep(&two, &["--threads", "2"]));
    same_tables(&one, &two);
    for dir in [&one, &two] {
        let threads = manifest(dir)["threads"].as_u64().unwrap();
        assert!(threads == 1 || threads == 2);
    }
}

/// Sends `signal` to `pid` with the system's `kill`.
fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn stored_points(runs: &Path) -> usize {
    std::fs::read_dir(runs).map_or(0, |d| {
        d.filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("eps_"))
        })
        .count()
    })
}

#[test]
fn an_interrupted_sweep_resumes_to_the_same_tables_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    // A grid whose points take 0.04–0.4 s each in a debug build (N = 256; 1.6 s for the
    // eight here), run on one thread, so that the signal, sent as soon as the first point is
    // stored, arrives while points are left.
    let args = [
        "sweep",
        "--eps",
        "1e-2:1e-9:8",
        "--particles",
        "256",
        "--threads",
        "1",
    ];
    ok(run(bin().args(args).arg("--out").arg(&whole)));
    for signal in ["-INT", "-TERM"] {
        let out = tmp.path().join(format!("interrupted{signal}"));
        let child = bin()
            .args(args)
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for the first finished point, then interrupt.
        let started = Instant::now();
        while stored_points(&out.join("runs")) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "no point finished"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        kill(signal, child.id());
        let interrupted = child.wait_with_output().unwrap();
        let err = text(&interrupted.stderr);
        let kept = stored_points(&out.join("runs"));
        assert_eq!(interrupted.status.code(), Some(130), "{err}");
        assert!(
            err.contains("interrupted") && err.contains("rerun"),
            "{err}"
        );
        assert!((1..8).contains(&kept), "{kept} points kept");
        // A consistent partial result: the tables of the points kept, marked partial, and a
        // manifest that says why.
        let m = manifest(&out);
        assert_eq!(m["status"], "interrupted");
        assert!(
            m["failed"].as_array().unwrap().is_empty(),
            "an interrupt is no failure"
        );
        assert_eq!(m["missing"].as_array().unwrap().len(), 8 - kept);
        let phases = text(&read(&out.join("phases.csv")));
        assert!(
            phases.contains(&format!("{kept} of 8 grid points")),
            "{phases}"
        );
        let resumed = ok(run(bin().args(args).arg("--out").arg(&out)));
        let line = format!("{} computed, {kept} resumed", 8 - kept);
        assert!(
            text(&resumed.stderr).contains(&line),
            "{}",
            text(&resumed.stderr)
        );
        same_tables(&out, &whole);
        assert_eq!(manifest(&out)["status"], "complete");
    }
}

#[test]
fn a_failed_point_is_explained_and_the_others_are_kept() {
    // ε = 1e-101 is below the smallest ε the flow accepts (1/ε² overflows): that point fails,
    // with the whole chain of its error, and the others are computed and tabulated.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f");
    let failed = run(bin()
        .args(["sweep", "--eps", "1e-2,1e-3,1e-101", "--out"])
        .arg(&out));
    assert_eq!(failed.status.code(), Some(1));
    let err = text(&failed.stderr);
    assert!(
        err.contains("failures.csv") && err.contains("rerun"),
        "{err}"
    );
    let csv = text(&read(&out.join("failures.csv")));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("epsilon,error,causes"));
    let row = lines.next().unwrap();
    assert!(row.starts_with("1e-101,"), "{row}");
    assert!(
        row.contains("ε = 1e-101") && row.contains("epsilon"),
        "{row}"
    );
    assert!(lines.next().is_none());
    // The store keeps the chain too; the manifest says what happened.
    let stored: serde_json::Value =
        serde_json::from_slice(&read(&out.join("runs/failed_1e-101.json"))).unwrap();
    assert!(stored["error"].as_array().unwrap().len() >= 2, "{stored}");
    let m = manifest(&out);
    assert_eq!(m["status"], "failed");
    assert_eq!(m["failed"][0][0].as_f64(), Some(1e-101));
    assert!(text(&read(&out.join("phases.csv"))).contains("2 of 3 grid points"));
    // Two points cannot give an exponent with a confidence interval: the fits stay in
    // exponents.csv, marked failed, with the reason.
    let exponents = text(&read(&out.join("exponents.csv")));
    let header: Vec<&str> = exponents.lines().next().unwrap().split(',').collect();
    assert_eq!(header[header.len() - 2..], ["status", "reason"]);
    let rows: Vec<&str> = exponents.lines().skip(1).collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.contains(",failed,") && r.contains("a confidence interval needs 3")),
        "{exponents}"
    );
    // A rerun retries only the failed point.
    let again = run(bin()
        .args(["sweep", "--eps", "1e-2,1e-3,1e-101", "--out"])
        .arg(&out));
    assert!(text(&again.stderr).contains("0 computed, 2 resumed, 1 failed"));
}

/// The main job (`timescales sweep`, the README's first command, here without `--release`):
/// the default scenario's own grid, ε = 1e-10 … 1e-18, where its 8 atoms keep phases 1, 2
/// and 3 apart, and exponents that match the asymptotic predictions of model.md §5 (closed
/// forms: phase 1 log-corrected 1/2, phase 2 1/4, phase 3 the conjecture 1/6, measured at
/// fixed N); the output says which order of limits that is.
#[test]
fn the_main_job_shows_three_separate_phases_and_their_exponents() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("main");
    let done = ok(run(bin().args(["sweep", "--out"]).arg(&out)));
    let stdout = text(&done.stdout);
    assert!(
        stdout.contains("9 values of ε from 1e-10 to 1e-18")
            && stdout.contains("Order of limits: ε → 0 at a fixed width of N = 8"),
        "{stdout}"
    );
    let exps = std::fs::read_to_string(out.join("exponents.csv")).unwrap();
    let gamma = |phase: &str, model: &str| -> f64 {
        exps.lines()
            .find(|l| l.starts_with(&format!("{phase},t_mid,{model},")))
            .unwrap_or_else(|| panic!("no {phase} t_mid {model} row in\n{exps}"))
            .split(',')
            .nth(3)
            .unwrap()
            .parse()
            .unwrap()
    };
    let g1 = gamma("1", "ε^γ (c₁ ln(1/ε) + c₀)");
    let g2 = gamma("2", "C ε^γ");
    let g3 = gamma("3", "C ε^γ");
    assert!((g1 - 0.5).abs() < 0.02, "γ₁ = {g1}");
    assert!((g2 - 0.25).abs() < 0.01, "γ₂ = {g2}");
    assert!((g3 - 1.0 / 6.0).abs() < 0.01, "γ₃ = {g3}");
    // Every ε of the grid has phases 1, 2 and 3 as separate drops (nine rows each).
    let phases = std::fs::read_to_string(out.join("phases.csv")).unwrap();
    for l in ["1", "2", "3"] {
        let rows = phases
            .lines()
            .filter(|r| r.split(',').nth(1) == Some(l))
            .count();
        assert_eq!(rows, 9, "phase {l}:\n{phases}");
    }
    let m = manifest(&out);
    assert_eq!(m["epsilon"].as_array().map(Vec::len), Some(9), "{m}");
}
