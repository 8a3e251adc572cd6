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
