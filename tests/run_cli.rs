//! End to end: `timescales run` writes its files as one set closed by `run.json`, and a
//! signal (SIGINT, or SIGTERM as Slurm sends on pre-emption) stops it at the next step for
//! every method, with the trajectory computed so far written and exit status 130.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_timescales"))
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The default scenario with `method` set.
fn scenario(dir: &Path, method: &str) -> std::path::PathBuf {
    let default = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/scenarios/default.toml"),
    )
    .unwrap();
    let text = default.replace("[run]\n", &format!("[run]\nmethod = \"{method}\"\n"));
    assert_ne!(text, default);
    let path = dir.join(format!("{method}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_run_is_one_set_of_files_closed_by_its_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let status = bin().arg("run").arg("--out").arg(&out).output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let m = json(&out.join("run.json"));
    let names: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["trajectory.csv", "trajectory.parquet", "risk.svg"]);
    assert!(m["interrupted_at"].is_null());
    assert!(m["stats"]["steps"].as_u64().unwrap() > 10);
    assert_eq!(m["scenario"]["problem"]["particles"], 8);
    for f in m["files"].as_array().unwrap() {
        let bytes = std::fs::read(out.join(f["name"].as_str().unwrap())).unwrap();
        assert_eq!(f["bytes"].as_u64().unwrap(), bytes.len() as u64);
    }
}

/// `run.json`'s onsets are the risk's crossings of the plateau midpoints: each lies between
/// the two output times of `trajectory.csv` where the sampled risk passes that level (an
/// independent reading: the samples, not the events), and the summary prints them.
#[test]
fn the_manifest_gives_the_onsets_the_trajectory_brackets() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let status = bin()
        .args(["run", "--epsilon", "1e-12", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success());
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(stdout.contains("onsets t_l"), "{stdout}");
    let m = json(&out.join("run.json"));
    let levels: Vec<f64> = m["scenario"]["plateau_levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let onsets: Vec<Option<f64>> = m["onsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(serde_json::Value::as_f64)
        .collect();
    assert_eq!(onsets.len(), levels.len() - 1);
    // Phases 1, 2, 3 exist and are reached; the target has no degree 4 or 5.
    let reached: Vec<bool> = onsets.iter().map(Option::is_some).collect();
    assert_eq!(reached, [true, true, true, false, false]);
    let onsets: Vec<f64> = onsets.into_iter().flatten().collect();
    let csv = std::fs::read_to_string(out.join("trajectory.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let risk_col = header.iter().position(|h| *h == "risk").unwrap();
    let rows: Vec<(f64, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[risk_col].parse().unwrap())
        })
        .collect();
    for (l, &t_l) in onsets.iter().enumerate() {
        let mid = 0.5 * (levels[l] + levels[l + 1]);
        let j = rows.iter().position(|&(_, r)| r < mid).unwrap();
        assert!(
            rows[j - 1].0 <= t_l && t_l <= rows[j].0,
            "t_{} = {t_l} outside the samples' crossing [{}, {}]",
            l + 1,
            rows[j - 1].0,
            rows[j].0
        );
    }
    assert!(onsets.windows(2).all(|w| w[0] < w[1]), "{onsets:?}");
}

#[test]
fn a_signal_stops_every_method_at_the_next_step_and_keeps_the_trajectory() {
    let tmp = tempfile::tempdir().unwrap();
    // N = 200 000 at ε = 1e-3: 17–73 s to t = 3 in a debug build, whatever the method.
    for (method, signal) in [
        ("rodas4", "-INT"),
        ("bdf", "-TERM"),
        ("dopri5", "-INT"),
        ("dop853", "-TERM"),
    ] {
        let out = tmp.path().join(method);
        let child = bin()
            .arg("run")
            .arg(scenario(tmp.path(), method))
            .args(["--epsilon", "1e-3", "--particles", "200000", "--out"])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let sent = Instant::now();
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let done = child.wait_with_output().unwrap();
        let waited = sent.elapsed();
        let err = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(130), "{method}: {err}");
        assert!(
            waited < Duration::from_secs(15),
            "{method}: {waited:?} from the signal to the exit"
        );
        assert!(err.contains("interrupted at t ="), "{method}: {err}");
        let m = json(&out.join("run.json"));
        let t_stop = m["interrupted_at"].as_f64().expect("interrupted_at");
        assert!(t_stop > 0.0 && t_stop < 3.0, "{method}: {t_stop}");
        let csv = std::fs::read_to_string(out.join("trajectory.csv")).unwrap();
        let last_t: f64 = csv
            .lines()
            .last()
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(csv.lines().count() >= 2 && last_t <= t_stop, "{method}");
    }
}
