//! End to end on a real Slurm: `scripts/slurm/sweep-array.sbatch` as a 3-task array job, the
//! documented `timescales merge` as a dependent job, and a pre-empted task (`scontrol requeue`:
//! SIGTERM, then SIGKILL, then back in the queue) that resumes without recomputing the points
//! it had finished. The tables must equal those of the same sweep run unsharded, byte for byte.
//!
//! Needs the single-node cluster of `scripts/slurm/local-cluster.sh` (started here when we are
//! root and Slurm is installed). Without it the tests print `slurm: SKIPPED — <reason>` and
//! pass; `TIMESCALES_SLURM=off` skips them, `TIMESCALES_SLURM=require` makes a missing cluster
//! a failure.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// The tables that must not depend on how the grid was split.
const TABLES: [&str; 3] = ["phases.csv", "exponents.csv", "plateaus.csv"];
/// Small grid for the array job: 13 points of the default scenario, about 0.2 s in all.
const GRID: &str = "1e-3:1e-9:13";
/// The pre-emption run: the same grid with N = 256 particles, a few seconds, so that the
/// signal lands while the task is still running.
const SLOW_PARTICLES: &str = "256";
/// Bound on every wait for a job.
const WAIT: Duration = Duration::from_secs(90);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sbatch_script() -> PathBuf {
    repo().join("scripts/slurm/sweep-array.sbatch")
}

/// `Some(reason)` when the tests cannot run here; checked once for all tests of this file.
fn unavailable() -> Option<&'static str> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    let reason = REASON.get_or_init(|| {
        let reason = find_cluster().err();
        if let Some(r) = &reason
            && std::env::var("TIMESCALES_SLURM").as_deref() == Ok("require")
        {
            panic!("slurm: TIMESCALES_SLURM=require but {r}");
        }
        reason
    });
    reason.as_deref()
}

/// Skips the calling test (returns from it) when Slurm is unavailable.
macro_rules! require_slurm {
    () => {
        if let Some(reason) = unavailable() {
            eprintln!("slurm: SKIPPED — {reason}");
            return;
        }
    };
}

fn find_cluster() -> Result<(), String> {
    if std::env::var("TIMESCALES_SLURM").as_deref() == Ok("off") {
        return Err("TIMESCALES_SLURM=off".into());
    }
    for tool in ["sbatch", "sinfo", "squeue", "scontrol", "scancel"] {
        if on_path(tool).is_none() {
            return Err(format!(
                "`{tool}` is not on PATH (apt-get install slurm-wlm munge; \
                 scripts/slurm/local-cluster.sh start)"
            ));
        }
    }
    if local_node_up() {
        return Ok(());
    }
    if !is_root() {
        return Err("no Slurm node is up, and starting one needs root \
                    (sudo scripts/slurm/local-cluster.sh start)"
            .into());
    }
    let script = repo().join("scripts/slurm/local-cluster.sh");
    eprintln!("slurm: starting the local cluster ({})", script.display());
    let out = Command::new(&script)
        .arg("start")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() || !local_node_up() {
        return Err(format!(
            "{} start failed: {}",
            script.display(),
            last_lines(&String::from_utf8_lossy(&out.stderr), 15)
        ));
    }
    Ok(())
}

/// The cluster is the local one (a single node `localhost`, so the jobs see our temporary
/// directories) and that node takes jobs.
fn local_node_up() -> bool {
    let Ok(out) = run_quiet(Command::new("sinfo").args(["-h", "-o", "%N %T"])) else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return false;
    };
    let mut f = line.split_whitespace();
    f.next() == Some("localhost")
        && f.next().is_some_and(|s| {
            ["idle", "mixed", "allocated", "completing"]
                .iter()
                .any(|ok| s.starts_with(ok))
        })
}

fn on_path(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

fn run_quiet(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A temporary directory for one test, with its own hard link (or copy) of the program so that
/// a concurrent `cargo build` replacing the target's file cannot change it under a running job.
struct Workdir {
    dir: tempfile::TempDir,
    bin: PathBuf,
    jobs: Vec<String>,
}

impl Workdir {
    fn new(name: &str) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("timescales-slurm-{name}-"))
            .tempdir()
            .unwrap();
        let bin = dir.path().join("timescales");
        let exe = env!("CARGO_BIN_EXE_timescales");
        if std::fs::hard_link(exe, &bin).is_err() {
            std::fs::copy(exe, &bin).unwrap();
        }
        Workdir {
            dir,
            bin,
            jobs: Vec::new(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `sbatch --parsable` with the test's environment for the batch script; returns the job id.
    fn sbatch(&mut self, out: &Path, extra_env: &[(&str, &str)], args: &[&str]) -> String {
        let mut cmd = Command::new("sbatch");
        cmd.current_dir(self.path())
            .env("TIMESCALES", &self.bin)
            .env("OUT", out)
            .env("EPS", GRID)
            .env("THREADS", "1")
            .env_remove("SCENARIO")
            .env_remove("SWEEP_ARGS")
            .args(["--parsable", "--time=10", "--job-name=timescales-test"])
            .arg(format!(
                "--output={}/slurm-%A_%a.out",
                self.path().display()
            ))
            .args(args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = run_quiet(&mut cmd).unwrap_or_else(|e| self.fail(&e));
        // --parsable prints `jobid` or `jobid;cluster`.
        let id = String::from_utf8_lossy(&out.stdout)
            .trim()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        assert!(!id.is_empty(), "sbatch printed no job id");
        self.jobs.push(id.clone());
        id
    }

    /// `timescales ARGS` here, outside Slurm.
    fn timescales(&self, args: &[&str]) {
        let out = Command::new(&self.bin)
            .current_dir(self.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "timescales {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits until `pred` holds for the states of every task of `job` (a job id or
    /// `jobid_task`); fails with the logs on a failed task or after `WAIT`.
    fn wait_for(&self, job: &str, what: &str, pred: impl Fn(&[JobState]) -> bool) {
        let start = Instant::now();
        loop {
            let states = job_states(job);
            if let Some(bad) = states.iter().find(|s| s.failed()) {
                self.fail(&format!("job {job}: a task ended {}", bad.state));
            }
            if !states.is_empty() && pred(&states) {
                return;
            }
            if start.elapsed() > WAIT {
                self.fail(&format!(
                    "job {job}: not {what} after {WAIT:?} (states: {states:?})"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_done(&self, job: &str) {
        self.wait_for(job, "completed", |s| {
            s.iter().all(|s| s.state == "COMPLETED")
        });
    }

    /// Prints the jobs' output and the daemons' logs, then panics.
    fn fail(&self, msg: &str) -> ! {
        eprintln!("slurm: FAILED — {msg}");
        let _ = Command::new("squeue").status();
        if let Ok(entries) = std::fs::read_dir(self.path()) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "out") {
                    eprintln!("---- {}", p.display());
                    eprintln!("{}", std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        for (key, log) in daemon_logs() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            eprintln!("---- {key} {}\n{}", log.display(), last_lines(&text, 30));
        }
        panic!("{msg}");
    }
}

impl Drop for Workdir {
    /// Cancels the jobs still queued when a test ends early.
    fn drop(&mut self) {
        if !self.jobs.is_empty() {
            let _ = Command::new("scancel")
                .args(&self.jobs)
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// The state of one task, from `scontrol -o show job`.
#[derive(Debug)]
struct JobState {
    state: String,
    reason: String,
    restarts: u32,
}

impl JobState {
    fn failed(&self) -> bool {
        [
            "FAILED",
            "CANCELLED",
            "TIMEOUT",
            "NODE_FAIL",
            "OUT_OF_MEMORY",
            "BOOT_FAIL",
            "DEADLINE",
            "REQUEUE_HOLD",
            "SPECIAL_EXIT",
        ]
        .contains(&self.state.as_str())
    }
}

fn job_states(job: &str) -> Vec<JobState> {
    let Ok(out) = Command::new("scontrol")
        .args(["-o", "show", "job", job])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let field = |key: &str| {
                line.split_whitespace()
                    .find_map(|f| f.strip_prefix(key))
                    .unwrap_or("")
                    .to_string()
            };
            JobState {
                state: field("JobState="),
                reason: field("Reason="),
                restarts: field("Restarts=").parse().unwrap_or(0),
            }
        })
        .collect()
}

/// The slurmctld and slurmd log files, as the running configuration names them.
fn daemon_logs() -> Vec<(String, PathBuf)> {
    let Ok(out) = Command::new("scontrol").args(["show", "config"]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim();
            (k == "SlurmctldLogFile" || k == "SlurmdLogFile")
                .then(|| (k.to_string(), PathBuf::from(v.trim())))
        })
        .collect()
}

fn assert_same_tables(got: &Path, want: &Path, w: &Workdir) {
    for t in TABLES {
        let a = std::fs::read(got.join(t)).unwrap_or_else(|e| w.fail(&format!("{t}: {e}")));
        let b = std::fs::read(want.join(t)).unwrap();
        if a != b {
            w.fail(&format!(
                "{} differs from the unsharded {}:\n{}\n---- unsharded:\n{}",
                got.join(t).display(),
                want.join(t).display(),
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
    }
}

/// The finished points of a run directory: file name → (inode, modification time).
fn finished_points(runs: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !(name.starts_with("eps_") && name.ends_with(".json")) {
                return None;
            }
            let m = e.metadata().ok()?;
            Some((name, (m.ino(), m.modified().ok()?)))
        })
        .collect()
}

#[test]
fn array_job_and_dependent_merge_equal_the_unsharded_sweep() {
    require_slurm!();
    let started = Instant::now();
    let mut w = Workdir::new("array");
    let out = w.path().join("sweep");
    let array = w.sbatch(
        &out,
        &[],
        &["--array=0-2", sbatch_script().to_str().unwrap()],
    );
    // The merge exactly as the README's Slurm section documents it.
    let merge = w.sbatch(
        &out,
        &[],
        &[
            &format!("--dependency=afterok:{array}"),
            &format!("--output={}/merge.out", w.path().display()),
            "--wrap",
            &format!(
                "{} merge --out {} {}/shard-*",
                w.bin.display(),
                out.display(),
                out.display()
            ),
        ],
    );
    let single = w.path().join("unsharded");
    w.timescales(&["sweep", "--eps", GRID, "--out", single.to_str().unwrap()]);
    w.wait_done(&array);
    w.wait_done(&merge);
    let tasks = job_states(&array).len();
    assert_eq!(tasks, 3, "three array tasks");
    for i in 0..3 {
        let shard = finished_points(&out.join(format!("shard-{i}/runs"))).len();
        assert!(shard > 0, "shard {i} ran no point");
    }
    assert_same_tables(&out, &single, &w);
    eprintln!(
        "slurm: array job {array} (3 tasks) and merge job {merge} match the unsharded sweep ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn preempted_task_is_requeued_and_resumes_without_recomputing() {
    require_slurm!();
    let started = Instant::now();
    let mut w = Workdir::new("preempt");
    let out = w.path().join("sweep");
    let job = w.sbatch(
        &out,
        &[("SWEEP_ARGS", &format!("--particles {SLOW_PARTICLES}"))],
        &["--array=0-0", sbatch_script().to_str().unwrap()],
    );
    let task = format!("{job}_0");
    let runs = out.join("shard-0/runs");
    // Wait for the first finished point, then pre-empt: `scontrol requeue` is what Slurm does
    // to a pre-empted job with PreemptMode=REQUEUE (SIGTERM, SIGKILL after KillWait, requeue).
    let t0 = Instant::now();
    let before = loop {
        let points = finished_points(&runs);
        if !points.is_empty() {
            break points;
        }
        if t0.elapsed() > WAIT || job_states(&task).iter().any(|s| s.state == "COMPLETED") {
            w.fail("no finished point appeared before the task ended or timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    run_quiet(Command::new("scontrol").args(["requeue", &task])).unwrap_or_else(|e| w.fail(&e));
    let requeued = Instant::now();
    // A requeued job waits AuthInfo's cred_expire (120 s by default) before it may start
    // again; let it go at once — but not within the second of the requeue: slurmd compares
    // a credential's creation time with the job's revocation time in whole seconds, and kills
    // a launch from the same second ("Job credential revoked"; seen once, 2026-12-04).
    w.wait_for(&task, "requeued", |s| {
        s.iter().all(|s| s.restarts >= 1 && s.state != "COMPLETING")
    });
    std::thread::sleep(Duration::from_millis(1100).saturating_sub(requeued.elapsed()));
    if job_states(&task).iter().any(|s| s.reason == "BeginTime") {
        run_quiet(Command::new("scontrol").args([
            "update",
            &format!("JobId={task}"),
            "StartTime=now",
        ]))
        .unwrap_or_else(|e| w.fail(&e));
    }
    // Meanwhile, the reference.
    let single = w.path().join("unsharded");
    w.timescales(&[
        "sweep",
        "--eps",
        GRID,
        "--particles",
        SLOW_PARTICLES,
        "--out",
        single.to_str().unwrap(),
    ]);
    w.wait_done(&task);

    let after = finished_points(&runs);
    let total = finished_points(&single.join("runs")).len();
    assert_eq!(after.len(), total, "every point of the grid is there");
    assert!(
        before.len() < total,
        "the task had finished before it was pre-empted; the test proves nothing"
    );
    for (name, was) in &before {
        if after.get(name) != Some(was) {
            w.fail(&format!(
                "{name} was rewritten after the requeue: (inode, mtime) {was:?} → {:?}",
                after.get(name)
            ));
        }
    }
    let log = std::fs::read_to_string(w.path().join(format!("slurm-{job}_0.out"))).unwrap();
    assert!(
        log.contains("restart 1"),
        "the log shows no second start of the task:\n{log}"
    );
    // The program's own account of the rerun, when it prints one ("N computed, M resumed").
    if let Some(resumed) = log
        .lines()
        .rev()
        .find_map(|l| {
            l.split(" resumed")
                .next()
                .filter(|_| l.contains(" resumed"))
        })
        .and_then(|l| l.rsplit(", ").next())
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        assert!(
            resumed >= before.len(),
            "the rerun resumed {resumed} points, fewer than the {} finished before the signal:\n{log}",
            before.len()
        );
    }
    assert_same_tables(&out.join("shard-0"), &single, &w);
    for line in log.lines().filter(|l| {
        l.starts_with("sweep-array:") || l.contains(" computed, ") || l.contains("CANCELLED")
    }) {
        eprintln!("slurm: job log: {line}");
    }
    eprintln!(
        "slurm: job {task} pre-empted after {} of {total} points, requeued, resumed; \
         tables match the unsharded sweep ({:.1} s)",
        before.len(),
        started.elapsed().as_secs_f64()
    );
}
