//! End to end on degenerate but valid inputs: every command on every scenario (K = 0, all
//! `σ_l φ_l = 0`, one particle, a horizon before phase 1, discrete laws with one atom or a
//! zero weight, ε at the ends of its range, a large K, a zero target, a single output time)
//! and `run`/`match` on degenerate user systems (zero fast field, a degenerate root, only
//! fast or only slow variables, no variable, a non-finite field). Each process must end
//! within its time limit without a panic, and either succeed with finite, sane outputs or
//! fail with a message that says why.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a command must do on an input.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Succeed, with finite outputs.
    Pass,
    /// Fail with a message containing this.
    Fail(&'static str),
}

/// A finished command.
struct Outcome {
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the program with `args`, killing it after `limit`.
fn run(args: &[&str], limit: Duration) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_timescales"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the pipes on threads so a chatty child cannot block.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("timescales {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        success: status.success(),
        code: status.code(),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// Every numeric field of a CSV file is finite (`NaN` only where `allow_nan`: some tables
/// mark absent quantities so); text fields (`true`, labels) are skipped.
fn assert_finite_csv(path: &Path, allow_nan: bool) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    for (i, line) in lines.enumerate() {
        for (field, name) in line.split(',').zip(header.split(',')) {
            if let Ok(v) = field.parse::<f64>() {
                assert!(
                    v.is_finite() || (allow_nan && v.is_nan()),
                    "{}: row {i}, column {name} = {field}",
                    path.display()
                );
            }
        }
    }
}

/// The named columns of a CSV file are finite in every row.
fn assert_finite_columns(path: &Path, names: &[&str]) {
    for name in names {
        let v = column(path, name);
        assert!(
            v.iter().all(|x| x.is_finite()),
            "{}: column {name} = {v:?}",
            path.display()
        );
    }
}

/// A column of a CSV file.
fn column(path: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let k = lines
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("{}: no column {name}", path.display()));
    lines
        .map(|l| l.split(',').nth(k).unwrap().parse().unwrap())
        .collect()
}

/// The sanity checks of a successful command's outputs.
fn check_outputs(command: &str, out: &Path) {
    match command {
        "run" => {
            let traj = out.join("trajectory.csv");
            assert_finite_csv(&traj, false);
            let risk = column(&traj, "risk");
            for w in risk.windows(2) {
                assert!(w[1] <= w[0] + 1e-9 * w[0].max(1.0), "risk rose: {w:?}");
            }
            if let Ok(s) = std::fs::read_to_string(&traj)
                && s.lines().next().unwrap().contains("max_abs_s")
            {
                let s = column(&traj, "max_abs_s");
                assert!(s.iter().all(|s| *s <= 1.0 + 1e-6), "|s| > 1: {s:?}");
            }
        }
        "sweep" => {
            // NaN marks what is absent (a drop to a level that matches no R_l).
            let (phases, plateaus) = (out.join("phases.csv"), out.join("plateaus.csv"));
            assert_finite_csv(&phases, true);
            assert_finite_csv(&plateaus, true);
            assert_finite_columns(&phases, &["epsilon", "t_mid", "plateau_level"]);
            assert_finite_columns(&plateaus, &["epsilon", "level", "t_entry", "t_exit"]);
            assert!(out.join("sweep.json").exists());
        }
        "asymptotics" => {
            assert_finite_csv(&out.join("composite_error.csv"), true);
            assert_finite_csv(&out.join("composite_risk.csv"), false);
            assert_finite_csv(&out.join("phases_predicted.csv"), true);
        }
        "network" | "network-sgd" => {
            let csv = out.join("network.csv");
            assert_finite_csv(&csv, false);
            let r = column(&csv, "risk_network");
            assert!(r.iter().all(|r| *r >= -1e-12), "{r:?}");
            let s = column(&csv, "max_abs_overlap");
            assert!(s.iter().all(|s| *s <= 1.0 + 1e-9), "{s:?}");
        }
        "match" => {
            assert_finite_csv(&out.join("composite.csv"), false);
            assert_finite_csv(&out.join("composite_error.csv"), false);
        }
        "run-system" => assert_finite_csv(&out.join("trajectory.csv"), false),
        other => panic!("unknown command {other}"),
    }
}

/// Runs `command` on `input` and checks the outcome against `expect`.
fn check(command: &str, input: &Path, expect: Expect, failures: &mut Vec<String>) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out");
    let input_s = input.to_str().unwrap();
    let out_s = out.to_str().unwrap();
    let args: Vec<&str> = match command {
        "run" | "run-system" => vec!["run", input_s, "--out", out_s],
        "sweep" => vec!["sweep", input_s, "--eps", "1e-2:1e-3:2", "--out", out_s],
        "asymptotics" => vec![
            "asymptotics",
            input_s,
            "--eps",
            "1e-2:1e-3:2",
            "--n-max",
            "8",
            "--samples",
            "200",
            "--out",
            out_s,
        ],
        "network" => vec!["network", input_s, "--d", "8", "--m", "8", "--out", out_s],
        "network-sgd" => vec![
            "network", input_s, "--d", "8", "--m", "8", "--sgd", "--batch", "64", "--out", out_s,
        ],
        "match" => vec!["match", input_s, "--eps", "1e-1:1e-2:2", "--out", out_s],
        other => panic!("unknown command {other}"),
    };
    let name = input.file_stem().unwrap().to_string_lossy().to_string();
    let o = run(&args, Duration::from_secs(60));
    let label = format!("{command} {name}");
    // Never a panic: exit status 101 or a panic message.
    if o.code == Some(101) || o.stderr.contains("panicked") {
        failures.push(format!("{label}: panicked\n{}", o.stderr));
        return;
    }
    if o.code.is_none() {
        failures.push(format!("{label}: killed by a signal\n{}", o.stderr));
        return;
    }
    let reason = |needle: &str| o.stderr.contains("error: ") && o.stderr.contains(needle);
    match (expect, o.success) {
        (Expect::Pass, true) => {
            if let Err(e) = std::panic::catch_unwind(|| check_outputs(command, &out)) {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{label}: bad outputs: {msg}"));
            }
        }
        (Expect::Fail(needle), false) if reason(needle) => {}
        (Expect::Pass, false) => failures.push(format!("{label}: failed\n{}", o.stderr)),
        (Expect::Fail(needle), true) => failures.push(format!(
            "{label}: succeeded, expected an error about `{needle}`\n{}",
            o.stdout
        )),
        (Expect::Fail(needle), false) => failures.push(format!(
            "{label}: failed without saying `{needle}`\n{}",
            o.stderr
        )),
    }
}

/// Writes `text` to `dir/name.toml`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// A scenario from its tables' bodies.
fn scenario(activation: &str, target: &str, init: &str, run: &str) -> String {
    format!("[activation]\n{activation}\n[target]\n{target}\n[init]\n{init}\n[run]\n{run}\n")
}

const UNIFORM4: &str = "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nparticles = 4";
const RUN: &str = "epsilon = 1e-3\nt_end = 1.0\nsamples = 40";

/// The scenario commands in the order of [`SCENARIO_COMMANDS`]'s expectations.
const SCENARIO_COMMANDS: [&str; 5] = ["run", "sweep", "asymptotics", "network", "network-sgd"];

fn run_matrix(cases: &[(&str, String, [Expect; 5])]) {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, text, expects) in cases {
        let path = write(dir.path(), name, text);
        for (command, expect) in SCENARIO_COMMANDS.iter().zip(expects) {
            check(command, &path, *expect, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

use Expect::{Fail, Pass};

#[test]
fn degenerate_coefficients() {
    run_matrix(&[
        (
            "k0",
            scenario("hermite = [1.0]", "hermite = [0.5]", UNIFORM4, RUN),
            [Pass, Pass, Fail("no phase 1"), Pass, Pass],
        ),
        (
            "all_sigma_phi_zero",
            scenario(
                "hermite = [0.0, 1.0, 0.0]",
                "hermite = [0.0, 0.0, 1.0]",
                UNIFORM4,
                RUN,
            ),
            [Pass, Pass, Fail("no phase 1"), Pass, Pass],
        ),
        (
            "zero_target",
            scenario(
                "hermite = [0.0, 1.0, 1.0]",
                "hermite = [0.0]",
                UNIFORM4,
                RUN,
            ),
            [Pass, Pass, Fail("no phase 1"), Pass, Pass],
        ),
        (
            "large_k",
            scenario(
                "name = \"exp\"\ndegree = 24",
                "hermite = [0.0, 1.0, 1.0]",
                UNIFORM4,
                RUN,
            ),
            [Pass, Pass, Pass, Pass, Pass],
        ),
    ]);
}

#[test]
fn degenerate_laws() {
    let sigma = "hermite = [0.0, 1.0, 1.0]";
    let phi = "hermite = [0.0, 1.0, 1.0]";
    run_matrix(&[
        (
            "one_particle",
            scenario(
                sigma,
                phi,
                "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nparticles = 1",
                RUN,
            ),
            [Pass, Pass, Fail("no spread"), Pass, Pass],
        ),
        (
            "one_atom",
            scenario(sigma, phi, "law = \"discrete\"\nvalues = [0.5]", RUN),
            [Pass, Pass, Pass, Pass, Pass],
        ),
        (
            "one_atom_at_zero",
            scenario(sigma, phi, "law = \"discrete\"\nvalues = [0.0]", RUN),
            [Pass, Pass, Fail("no spread"), Pass, Pass],
        ),
        (
            "zero_weight",
            scenario(
                sigma,
                phi,
                "law = \"discrete\"\nvalues = [0.5, -0.5]\nweights = [1.0, 0.0]",
                RUN,
            ),
            [Pass, Pass, Pass, Pass, Pass],
        ),
        (
            "atoms_but_more_particles",
            scenario(
                sigma,
                phi,
                "law = \"discrete\"\nvalues = [0.5]\nparticles = 3",
                RUN,
            ),
            [Fail("init.particles"); 5],
        ),
    ]);
}

#[test]
fn degenerate_runs() {
    let sigma = "hermite = [0.0, 1.0, 1.0]";
    let phi = "hermite = [0.0, 1.0, 1.0]";
    run_matrix(&[
        (
            // Phase 1 is at t ≈ 0.05 for ε = 1e-3.
            "before_phase_1",
            scenario(
                sigma,
                phi,
                UNIFORM4,
                "epsilon = 1e-3\nt_end = 2e-3\nsamples = 40",
            ),
            [Pass, Pass, Pass, Pass, Pass],
        ),
        (
            // Small ε that the direct integration still completes in well under a second
            // (run.epsilon ≥ 1e-100 is accepted, but below ~1e-30 the integrations end on
            // their step limits after tens of seconds).
            "small_epsilon",
            scenario(
                sigma,
                phi,
                UNIFORM4,
                "epsilon = 1e-12\nt_end = 1.0\nsamples = 40",
            ),
            // SGD's second layer steps with η/ε = 1e9 at the default η = 1e-3: it diverges.
            [Pass, Pass, Pass, Pass, Fail("lower η")],
        ),
        (
            "epsilon_below_range",
            scenario(
                sigma,
                phi,
                UNIFORM4,
                "epsilon = 1e-300\nt_end = 1.0\nsamples = 40",
            ),
            [Fail("run.epsilon"); 5],
        ),
        (
            "large_epsilon",
            scenario(
                sigma,
                phi,
                UNIFORM4,
                "epsilon = 10.0\nt_end = 50.0\nsamples = 40",
            ),
            [Pass, Pass, Pass, Pass, Pass],
        ),
        (
            "one_output_time",
            scenario(
                sigma,
                phi,
                UNIFORM4,
                "epsilon = 1e-3\nt_end = 1.0\ntimes = [1.0]",
            ),
            [Pass, Fail("usable points"), Pass, Pass, Pass],
        ),
    ]);
}

fn system(slow: &str, fast: &str, initial: &str, run: &str) -> String {
    format!(
        "[system]\nslow = {{ {slow} }}\nfast = {{ {fast} }}\ninitial = {{ {initial} }}\n[run]\n{run}\n"
    )
}

const SYSTEM_RUN: &str = "epsilon = 1e-3\nt_end = 1.0\ntimes = [0.5, 1.0]";

#[test]
fn degenerate_user_systems() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, [Expect; 2])> = vec![
        (
            "zero_fast_field",
            system("x = \"-x\"", "y = \"0\"", "x = 1.0, y = 0.0", SYSTEM_RUN),
            [Pass, Fail("singular")],
        ),
        (
            "degenerate_root",
            system(
                "x = \"-x\"",
                "y = \"-((y - x)^3)\"",
                "x = 1.0, y = 0.0",
                SYSTEM_RUN,
            ),
            [Pass, Fail("did not reach the slow manifold")],
        ),
        (
            "singular_fast_jacobian",
            system(
                "x = \"-x\"",
                "y = \"x - y - z\", z = \"x - y - z\"",
                "x = 1.0, y = 0.0, z = 0.0",
                SYSTEM_RUN,
            ),
            [Pass, Fail("singular")],
        ),
        (
            "fast_only",
            system("", "y = \"-y\"", "y = 1.0", SYSTEM_RUN),
            [Pass, Fail("no slow variable")],
        ),
        (
            "slow_only",
            system("x = \"-x\"", "", "x = 1.0", SYSTEM_RUN),
            [Pass, Fail("no fast variable")],
        ),
        (
            "no_variable",
            system("", "", "", SYSTEM_RUN),
            [Fail("no variable"), Fail("no variable")],
        ),
        (
            "non_finite_field",
            system(
                "x = \"-x\"",
                "y = \"ln(y) - y\"",
                "x = 1.0, y = 0.0",
                SYSTEM_RUN,
            ),
            [Fail("non-finite"), Fail("non-finite")],
        ),
    ];
    let mut failures = Vec::new();
    for (name, text, [run_expect, match_expect]) in &cases {
        let path = write(dir.path(), name, text);
        check("run-system", &path, *run_expect, &mut failures);
        check("match", &path, *match_expect, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `match` on a horizon far inside the boundary layer (`t_end = 1e-300`): every composite
/// error is exactly 0 while the outer error is 1, so the error plot's log axis spans more
/// than 308 decades: plotters' key-point loop never ended until the report crate bounded a
/// log axis to 200 decades.
#[test]
fn match_on_a_horizon_inside_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "tiny_horizon",
        &system(
            "x = \"-x\"",
            "y = \"x - y\"",
            "x = 1.0, y = 0.0",
            "epsilon = 1e-3\nt_end = 1e-300",
        ),
    );
    let mut failures = Vec::new();
    check("run-system", &path, Pass, &mut failures);
    check("match", &path, Pass, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
