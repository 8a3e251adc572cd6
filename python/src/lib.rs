//! `timescales._native`: the Rust side of the Python package `timescales`.
//!
//! Each function here is one call into the library ([`timescales::jobs`],
//! [`timescales::meanfield`], [`timescales::matching`], [`timescales::output`]); the Python
//! modules in `python/timescales` give them their public names, types and docstrings. The
//! computation runs on a worker thread with the GIL released; the calling thread waits in
//! slices of 50 ms, and between them reports progress to a Python callable and checks for
//! signals: Ctrl-C (or Jupyter's interrupt) asks every integration to stop at its next step
//! ([`timescales::ode::interrupt`]), and the call returns what finished, marked
//! `interrupted`, for Python to raise `timescales.Interrupted` (a `KeyboardInterrupt`).
//! Arrays cross as numpy arrays (one copy, no Python object per element).

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use numpy::{IntoPyArray, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyType};
use timescales::analysis::ConvergeOptions;
use timescales::analysis::curves::{
    AnalyzeOptions, ColumnSpec, CurveSet, analyze as analyze_curves,
};
use timescales::analysis::sweep::{EpsGrid, OpenMode, Shard};
use timescales::jobs::{
    self, JobError, MatchJob, MatchSubject, NetworkJob, Progress, SweepJob, Training,
};
use timescales::matching::integrate_full_with;
use timescales::meanfield::simulate_with_particles;
use timescales::ode::{SolverOptions, interrupt};
use timescales::output;
use timescales::output::analyze::{AnalyzeRecord, InputFile};
use timescales::phases::StudyOptions;
use timescales::report::{Column, Table, read_table};
use timescales::scenario::{DEFAULT_SCENARIO, Scenario};
use timescales::systems::{SystemFile, builtin};

// ---------------------------------------------------------------------------------------
// Errors: the classes live in timescales/_errors.py (ScenarioError is a ValueError,
// SolverError a RuntimeError, OutputError an OSError).

fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let cls = py
        .import("timescales._errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match cls {
        Ok(cls) => PyErr::from_type(cls, message),
        Err(e) => e,
    }
}

fn scenario_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, "ScenarioError", message)
}

fn job_error(py: Python<'_>, e: JobError) -> PyErr {
    let message = jobs::error_message(&e);
    match e {
        JobError::Scenario(_) | JobError::Option { .. } => scenario_error(py, message),
        JobError::Store(_) => scenario_error(
            py,
            format!("{message} (pass fresh=True to discard its runs, or choose another out)"),
        ),
        JobError::Report(_) => raise(py, "OutputError", message),
        _ => raise(py, "SolverError", message),
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios: a TOML text (a file's, a string, the built-in default) or a JSON object of the
// same structure (a Python dict), with overrides applied to its [run] and [init] keys.

/// Where each override goes: `(name, table, key)`.
const OVERRIDES: [(&str, &str, &str); 10] = [
    ("epsilon", "run", "epsilon"),
    ("t_end", "run", "t_end"),
    ("rtol", "run", "rtol"),
    ("atol", "run", "atol"),
    ("samples", "run", "samples"),
    ("times", "run", "times"),
    ("method", "run", "method"),
    ("particles", "init", "particles"),
    ("placement", "init", "placement"),
    ("seed", "init", "seed"),
];

/// A scenario or `[system]` document: its TOML text and its origin.
struct Document {
    text: String,
    origin: String,
    is_system: bool,
}

/// `(kind, source, origin, overrides)` as the Python side sends them: `kind` is
/// `default`, `toml` (`source` is TOML text) or `json` (`source` is a JSON object of the
/// TOML's structure); `overrides` a JSON object.
type Source = (String, String, String, String);

fn document(py: Python<'_>, scenario: &Source) -> PyResult<Document> {
    let (kind, source, origin, overrides) = (
        scenario.0.as_str(),
        scenario.1.as_str(),
        scenario.2.as_str(),
        scenario.3.as_str(),
    );
    let bad = |m: String| scenario_error(py, format!("{origin}: {m}"));
    let (text, origin) = match kind {
        "default" => (DEFAULT_SCENARIO.to_string(), "<default>".to_string()),
        "toml" => (source.to_string(), origin.to_string()),
        "json" => {
            let value: serde_json::Value =
                serde_json::from_str(source).map_err(|e| bad(e.to_string()))?;
            let table = toml::Value::try_from(value)
                .map_err(|e| bad(format!("not a TOML document: {e}")))?;
            let text = toml::to_string(&table).map_err(|e| bad(e.to_string()))?;
            (text, origin.to_string())
        }
        other => return Err(scenario_error(py, format!("unknown scenario kind {other}"))),
    };
    let overrides: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(overrides).map_err(|e| bad(format!("overrides: {e}")))?;
    let mut doc: toml::Table = toml::from_str(&text)
        .map_err(|e| scenario_error(py, format!("{origin}: {}", e.to_string().trim_end())))?;
    let is_system = doc.contains_key("system");
    let overrides: Vec<_> = overrides
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .collect();
    if overrides.is_empty() {
        // The text as given: the same bytes the command-line program parses.
        return Ok(Document {
            text,
            origin,
            is_system,
        });
    }
    for (name, value) in overrides {
        let Some(&(_, table, key)) = OVERRIDES.iter().find(|o| o.0 == name) else {
            let known: Vec<&str> = OVERRIDES.iter().map(|o| o.0).collect();
            return Err(bad(format!(
                "unknown override `{name}` (known: {})",
                known.join(", ")
            )));
        };
        if is_system && table != "run" {
            return Err(bad(format!(
                "`{name}` does not apply to a user-defined [system]"
            )));
        }
        let value =
            toml::Value::try_from(value).map_err(|e| bad(format!("override `{name}`: {e}")))?;
        let entry = doc
            .entry(table)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(t) = entry.as_table_mut() else {
            return Err(bad(format!("`{table}` is not a table")));
        };
        t.insert(key.to_string(), value);
    }
    let text = toml::to_string(&doc).map_err(|e| bad(e.to_string()))?;
    Ok(Document {
        text,
        origin,
        is_system,
    })
}

fn resolve(py: Python<'_>, doc: &Document) -> PyResult<Scenario> {
    if doc.is_system {
        return Err(scenario_error(
            py,
            format!(
                "{}: a user-defined [system] has no two-layer network: use run() or \
                 match_system()",
                doc.origin
            ),
        ));
    }
    Scenario::from_toml_str(&doc.text, &doc.origin)
        .map_err(|e| scenario_error(py, jobs::error_message(&e)))
}

// ---------------------------------------------------------------------------------------
// Running the library off the Python thread.

/// Progress shared between the worker and the waiting Python thread.
#[derive(Default)]
struct Meter {
    /// Fraction done in [0, 1], as f64 bits.
    fraction: AtomicU64,
    /// What runs now.
    label: Mutex<String>,
}

impl Meter {
    fn set_fraction(&self, f: f64) {
        self.fraction
            .store(f.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }
    fn set_label(&self, label: impl Into<String>) {
        if let Ok(mut l) = self.label.lock() {
            *l = label.into();
        }
    }
    /// A function to call after each of `total` points: it moves the fraction and says
    /// `k/total points`.
    fn counter(&self, total: usize) -> impl Fn(f64) + Sync + '_ {
        let total = total.max(1);
        let done = AtomicU64::new(0);
        self.set_label(format!("0/{total} points"));
        move |_eps| {
            let k = done.fetch_add(1, Ordering::Relaxed) + 1;
            self.set_fraction(k as f64 / total as f64);
            self.set_label(format!("{k}/{total} points"));
        }
    }

    /// The log-time fraction of `t` on `[t_lo, t_hi]`.
    fn set_log_time(&self, t: f64, t_lo: f64, t_hi: f64) {
        if t > 0.0 && t_hi > t_lo && t_lo > 0.0 {
            self.set_fraction((t.ln() - t_lo.ln()) / (t_hi.ln() - t_lo.ln()));
        }
    }
    /// Calls `progress(fraction, label)`. A `KeyboardInterrupt` raised in it (Ctrl-C while
    /// the display ran) is returned; any other error is printed and ignored: a broken
    /// progress display must not stop the computation.
    fn report(&self, py: Python<'_>, progress: Option<&Bound<'_, PyAny>>) -> Option<PyErr> {
        let cb = progress?;
        let f = f64::from_bits(self.fraction.load(Ordering::Relaxed));
        let label = self.label.lock().map(|l| l.clone()).unwrap_or_default();
        match cb.call1((f, label)) {
            Ok(_) => None,
            Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => Some(e),
            Err(e) => {
                e.print(py);
                None
            }
        }
    }
}

/// How a supervised call ended besides its result.
enum Signal {
    /// No signal arrived, and no interrupt was requested.
    None,
    /// Ctrl-C (a `KeyboardInterrupt`), or an interrupt requested elsewhere in the process:
    /// the result holds what finished.
    Interrupted,
    /// A Python signal handler raised another exception: re-raised once the worker stopped.
    Raised(PyErr),
}

/// Runs `work` on a worker thread with the GIL released, reporting progress and checking
/// signals every 50 ms. When a signal handler raises (Ctrl-C: `KeyboardInterrupt`) the
/// process's interrupt is requested: the worker stops at its next step, and its result is
/// returned with [`Signal::Interrupted`] (the interrupt is cleared again).
fn supervise<T: Send>(
    py: Python<'_>,
    meter: &Meter,
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce() -> T + Send,
) -> PyResult<(T, Signal)> {
    let slot: (Mutex<Option<std::thread::Result<T>>>, Condvar) = (Mutex::new(None), Condvar::new());
    let mut raised: Option<PyErr> = None;
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            if let Ok(mut s) = slot.0.lock() {
                *s = Some(r);
            }
            slot.1.notify_all();
        });
        loop {
            let done = py.detach(|| {
                let guard = slot.0.lock().ok()?;
                let (mut guard, _) = slot
                    .1
                    .wait_timeout_while(guard, Duration::from_millis(50), |s| s.is_none())
                    .ok()?;
                guard.take()
            });
            if let Some(r) = done {
                return r;
            }
            if raised.is_none() {
                raised = meter
                    .report(py, progress)
                    .or_else(|| py.check_signals().err());
                if raised.is_some() {
                    interrupt::request();
                }
            }
        }
    });
    let elsewhere = interrupt::requested();
    if raised.is_some() {
        interrupt::clear();
    }
    let signal = match raised {
        Some(e) if !e.is_instance_of::<PyKeyboardInterrupt>(py) => Signal::Raised(e),
        Some(_) => Signal::Interrupted,
        None if elsewhere => Signal::Interrupted,
        None => Signal::None,
    };
    match result {
        Ok(v) => Ok((v, signal)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(raise(
                py,
                "SolverError",
                format!("internal error (a bug; please report it): {what}"),
            ))
        }
    }
}

/// Whether the call was interrupted; another exception a signal handler raised is raised.
fn interrupted(signal: Signal) -> PyResult<bool> {
    match signal {
        Signal::None => Ok(false),
        Signal::Interrupted => Ok(true),
        Signal::Raised(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// Conversions to Python.

/// A table as a list of `(name, values)`: numpy arrays for numbers and booleans, lists for
/// text and for columns with missing values.
fn table<'py>(py: Python<'py>, t: &Table) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (name, column) in t.columns() {
        let values: Bound<'py, PyAny> = match column {
            Column::F64(v) => v.clone().into_pyarray(py).into_any(),
            Column::I64(v) => v.clone().into_pyarray(py).into_any(),
            Column::U64(v) => v.clone().into_pyarray(py).into_any(),
            Column::Bool(v) => v.clone().into_pyarray(py).into_any(),
            Column::OptI64(v) => v.clone().into_pyobject(py)?.into_any(),
            Column::OptF64(v) => v.clone().into_pyobject(py)?.into_any(),
            Column::Str(v) => v.clone().into_pyobject(py)?.into_any(),
        };
        list.append((name, values))?;
    }
    Ok(list)
}

fn json<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| raise(py, "SolverError", format!("serializing a record: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A `times × N` array from row-major values.
fn matrix<'py>(py: Python<'py>, values: &[f64], columns: usize) -> PyResult<Bound<'py, PyAny>> {
    let rows = values.len().checked_div(columns).unwrap_or(0);
    let flat = values.to_vec().into_pyarray(py);
    flat.reshape([rows, columns]).map(|a| a.into_any())
}

fn trajectory<'py>(
    py: Python<'py>,
    t: &timescales::ode::Trajectory,
) -> PyResult<Bound<'py, PyList>> {
    table(py, &Table::from_trajectory(t))
}

/// The output directory, or a temporary one kept alive by the guard.
fn out_dir(py: Python<'_>, out: Option<PathBuf>) -> PyResult<(PathBuf, Option<tempfile::TempDir>)> {
    match out {
        Some(dir) => Ok((dir, None)),
        None => {
            let tmp = tempfile::tempdir()
                .map_err(|e| raise(py, "OutputError", format!("a temporary directory: {e}")))?;
            Ok((tmp.path().to_path_buf(), Some(tmp)))
        }
    }
}

fn mode(fresh: bool) -> OpenMode {
    if fresh {
        OpenMode::Fresh
    } else {
        OpenMode::Resume
    }
}

fn grid(py: Python<'_>, eps: &str) -> PyResult<EpsGrid> {
    EpsGrid::parse(eps)
        .map_err(|e| scenario_error(py, format!("`eps`: {}", jobs::error_message(&e))))
}

// ---------------------------------------------------------------------------------------
// The functions.

/// Direct integration of a scenario (or of a `[system]` document).
#[pyfunction]
#[pyo3(signature = (scenario, out=None, progress=None))]
fn run<'py>(
    py: Python<'py>,
    scenario: Source,
    out: Option<PathBuf>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let doc = document(py, &scenario)?;
    if doc.is_system {
        return run_system(py, &doc, out, progress);
    }
    let scenario = resolve(py, &doc)?;
    let p = &scenario.problem;
    let meter = Meter::default();
    meter.set_label("integrating");
    let (result, signal) = supervise(py, &meter, progress.as_ref(), || {
        simulate_with_particles(p, &mut |t| {
            meter.set_log_time(t, p.epsilon / 10.0, p.t_end);
            if interrupt::requested() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    })?;
    let interrupted = interrupted(signal)?;
    if !interrupted {
        meter.set_fraction(1.0);
        let _ = meter.report(py, progress.as_ref());
    }
    let run = result.map_err(|e| {
        raise(
            py,
            "SolverError",
            format!("direct integration failed: {}", jobs::error_message(&e)),
        )
    })?;
    if let Some(dir) = &out {
        output::run::write(dir, &scenario, &run)
            .map_err(|e| raise(py, "OutputError", jobs::error_message(&e)))?;
    }
    let d = PyDict::new(py);
    d.set_item("kind", "scenario")?;
    d.set_item("trajectory", trajectory(py, &run.trajectory)?)?;
    if let Some(ps) = &run.particles {
        d.set_item("a", matrix(py, &ps.a, ps.count)?)?;
        d.set_item("s", matrix(py, &ps.s, ps.count)?)?;
        d.set_item("weights", ps.weights.clone().into_pyarray(py))?;
    }
    d.set_item("stats", json(py, &run.stats)?)?;
    d.set_item("notes", run.notes.clone())?;
    d.set_item("max_risk_increase", run.max_risk_increase)?;
    d.set_item("interrupted_at", run.interrupted_at)?;
    d.set_item("interrupted", interrupted || run.interrupted_at.is_some())?;
    d.set_item("onsets", run.onsets.clone())?;
    d.set_item("scenario", json(py, &scenario)?)?;
    d.set_item("degree", scenario.degree)?;
    Ok(d)
}

fn run_system<'py>(
    py: Python<'py>,
    doc: &Document,
    out: Option<PathBuf>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let file = SystemFile::parse(&doc.text, &doc.origin)
        .map_err(|e| scenario_error(py, jobs::error_message(&e)))?;
    let Some(spec) = &file.run else {
        return Err(scenario_error(
            py,
            format!(
                "{}: a [run] table (epsilon, t_end) is needed to integrate the system",
                doc.origin
            ),
        ));
    };
    let eps = match spec.epsilon {
        Some(e) if e > 0.0 && e.is_finite() => e,
        Some(e) => {
            return Err(scenario_error(
                py,
                format!("`epsilon` must be positive, got {e}"),
            ));
        }
        None => {
            return Err(scenario_error(
                py,
                format!("{}: no [run] epsilon; pass epsilon=", doc.origin),
            ));
        }
    };
    let times = spec
        .output_times_at(eps)
        .map_err(|e| scenario_error(py, format!("{}: {}", doc.origin, jobs::error_message(&e))))?;
    let method = spec
        .integrator()
        .map_err(|e| scenario_error(py, format!("{}: {}", doc.origin, jobs::error_message(&e))))?;
    let meter = Meter::default();
    meter.set_label("integrating");
    let opts = SolverOptions {
        rtol: spec.rtol,
        atol: spec.atol,
        ..SolverOptions::default()
    };
    let (result, signal) = supervise(py, &meter, progress.as_ref(), || {
        integrate_full_with(&file.system, eps, &file.x0, &file.y0, &times, opts, method)
    })?;
    let interrupted = interrupted(signal)?;
    let (traj, stats) = result.map_err(|e| {
        let kind = if interrupted {
            "Interrupted"
        } else {
            "SolverError"
        };
        raise(
            py,
            kind,
            format!("integrating {}: {}", doc.origin, jobs::error_message(&e)),
        )
    })?;
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).map_err(|e| {
            raise(
                py,
                "OutputError",
                format!("creating {}: {e}", dir.display()),
            )
        })?;
        output::matching::write_user_run(
            dir,
            &doc.origin,
            &file,
            eps,
            spec.rtol,
            spec.atol,
            &traj,
            stats,
        )
        .map_err(|e| raise(py, "OutputError", jobs::error_message(&e)))?;
    }
    let d = PyDict::new(py);
    d.set_item("kind", "system")?;
    d.set_item("trajectory", trajectory(py, &traj)?)?;
    d.set_item("stats", json(py, &stats)?)?;
    d.set_item("notes", Vec::<String>::new())?;
    d.set_item("interrupted", interrupted)?;
    d.set_item("epsilon", eps)?;
    Ok(d)
}

/// The sweep's tables and points as Python values.
fn sweep_result<'py>(py: Python<'py>, o: &jobs::SweepOutcome) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("record", json(py, &o.record)?)?;
    d.set_item("interrupted", o.interrupted.clone())?;
    let tables = PyDict::new(py);
    if let Some(t) = &o.tables {
        // As in the CSV files: marked when the points do not cover the grid.
        let partial = o.record.partial();
        let mark = |t: &Table| table(py, &output::sweep::marked(t, partial.as_deref()));
        tables.set_item("phases", mark(&t.phases)?)?;
        tables.set_item("plateaus", mark(&t.plateaus)?)?;
        tables.set_item("exponents", mark(&t.exponents)?)?;
        tables.set_item("local_slopes", mark(&t.slopes)?)?;
        if let Some(c) = &t.convergence {
            tables.set_item("convergence_n", mark(c)?)?;
        }
    }
    d.set_item("tables", tables)?;
    let points = PyList::empty(py);
    for p in &o.points {
        let pd = PyDict::new(py);
        pd.set_item("epsilon", p.epsilon)?;
        pd.set_item("particles", p.particles)?;
        pd.set_item("trajectory", trajectory(py, &p.trajectory)?)?;
        pd.set_item("stats", json(py, &p.stats)?)?;
        points.append(pd)?;
    }
    d.set_item("points", points)?;
    d.set_item(
        "text",
        match (&o.summary, &o.tables) {
            (Some(s), Some(t)) => Some(
                output::sweep::text(s, t)
                    .map_err(|e| raise(py, "OutputError", jobs::error_message(&e)))?,
            ),
            _ => None,
        },
    )?;
    Ok(d)
}

/// An ε sweep ([`jobs::sweep`]).
#[pyfunction]
#[pyo3(signature = (scenario, eps=None, out=None, converge_n=false, n_tol=0.02, n_max=512, shard=None, threads=None, fresh=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn sweep<'py>(
    py: Python<'py>,
    scenario: Source,
    eps: Option<&str>,
    out: Option<PathBuf>,
    converge_n: bool,
    n_tol: f64,
    n_max: usize,
    shard: Option<&str>,
    threads: Option<usize>,
    fresh: bool,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let doc = document(py, &scenario)?;
    let scenario = resolve(py, &doc)?;
    let grid = grid(py, eps.unwrap_or(scenario.sweep_grid()))?;
    let shard = match shard {
        Some(s) => Shard::parse(s)
            .map_err(|e| scenario_error(py, format!("`shard`: {}", jobs::error_message(&e))))?,
        None => Shard::default(),
    };
    if threads == Some(0) {
        return Err(scenario_error(py, "`threads` must be at least 1".into()));
    }
    let p = &scenario.problem;
    let converge = converge_n.then_some(ConvergeOptions {
        n_start: p.particles,
        n_max: n_max.max(p.particles),
        rel_tol: n_tol,
    });
    let (dir, _tmp) = out_dir(py, out)?;
    let meter = Meter::default();
    let on_point = meter.counter(shard.select(grid.points()).len());
    let job = SweepJob {
        grid,
        shard,
        converge,
        threads,
        mode: mode(fresh),
        out: dir,
        progress: Progress {
            bar: false,
            on_point: Some(&on_point),
        },
    };
    let (result, signal) = supervise(py, &meter, progress.as_ref(), || {
        jobs::sweep(&scenario, &job)
    })?;
    let signalled = interrupted(signal)?;
    let o = result.map_err(|e| job_error(py, e))?;
    let _ = meter.report(py, progress.as_ref());
    let d = sweep_result(py, &o)?;
    d.set_item("stopped", signalled || !o.interrupted.is_empty())?;
    Ok(d)
}

/// A phase-asymptotics study ([`jobs::asymptotics`]).
#[pyfunction]
#[pyo3(signature = (scenario, eps, out=None, samples=600, n_max=256, fresh=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn asymptotics<'py>(
    py: Python<'py>,
    scenario: Source,
    eps: &str,
    out: Option<PathBuf>,
    samples: usize,
    n_max: usize,
    fresh: bool,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let doc = document(py, &scenario)?;
    let scenario = resolve(py, &doc)?;
    let grid = grid(py, eps)?;
    let (dir, _tmp) = out_dir(py, out)?;
    let meter = Meter::default();
    let on_point = meter.counter(grid.len());
    let job = jobs::AsymptoticsJob {
        grid,
        options: StudyOptions {
            samples,
            n_max,
            ..StudyOptions::default()
        },
        mode: mode(fresh),
        out: dir,
        progress: Progress {
            bar: false,
            on_point: Some(&on_point),
        },
    };
    let (result, signal) = supervise(py, &meter, progress.as_ref(), || {
        jobs::asymptotics(&scenario, &job)
    })?;
    let signalled = interrupted(signal)?;
    let o = result.map_err(|e| job_error(py, e))?;
    let d = PyDict::new(py);
    d.set_item("stopped", signalled || !o.interrupted.is_empty())?;
    let tables = PyDict::new(py);
    if !o.study.points.is_empty() {
        for (name, t) in output::asymptotics::tables(&o.study) {
            tables.set_item(name.trim_end_matches(".csv"), table(py, &t)?)?;
        }
        d.set_item(
            "text",
            output::asymptotics::text(&scenario.origin, &o.study),
        )?;
    }
    d.set_item("tables", tables)?;
    d.set_item("missing", o.missing.clone())?;
    d.set_item("failed", o.failed.clone())?;
    d.set_item("interrupted", o.interrupted.clone())?;
    Ok(d)
}

/// Outer, inner and composite expansions of a slow–fast system against direct integration
/// ([`jobs::matching`]); with `cycle` (the default) also the relaxation cycle's period and
/// the composite across its folds, as `timescales match` computes them.
#[pyfunction]
#[pyo3(signature = (system, eps, t_end=None, out=None, progress=None, cycle=true, cycle_horizon=None, cycle_jumps=8))]
#[allow(clippy::too_many_arguments)]
fn match_system<'py>(
    py: Python<'py>,
    system: Source,
    eps: &str,
    t_end: Option<f64>,
    out: Option<PathBuf>,
    progress: Option<Bound<'py, PyAny>>,
    cycle: bool,
    cycle_horizon: Option<f64>,
    cycle_jumps: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let subject = if system.0 == "builtin" {
        MatchSubject::builtin(&system.1, t_end)
    } else {
        let doc = document(py, &system)?;
        let file = SystemFile::parse(&doc.text, &doc.origin)
            .map_err(|e| scenario_error(py, jobs::error_message(&e)))?;
        MatchSubject::from_file(file, &doc.origin, t_end)
    }
    .map_err(|e| scenario_error(py, jobs::error_message(&e)))?;
    let eps = grid(py, eps)?;
    let job = MatchJob {
        eps: eps.points(),
        cycle,
        cycle_horizon,
        cycle_jumps,
    };
    let meter = Meter::default();
    meter.set_label("matching study");
    let (result, signal) = supervise(py, &meter, progress.as_ref(), || {
        jobs::matching(&subject, &job)
    })?;
    let interrupted = interrupted(signal)?;
    let o = result.map_err(|e| match e {
        JobError::Option { .. } => scenario_error(py, jobs::error_message(&e)),
        _ if interrupted => raise(py, "Interrupted", jobs::error_message(&e)),
        _ => raise(py, "SolverError", jobs::error_message(&e)),
    })?;
    if let Some(dir) = &out {
        jobs::write_matching(dir, &subject, &o, 0)
            .map_err(|e| raise(py, "OutputError", jobs::error_message(&e)))?;
    }
    let st = &o.study;
    let d = PyDict::new(py);
    let tables = PyDict::new(py);
    let mut all = output::matching::tables(st, 0);
    all.extend(output::matching::cycle_part_tables(
        &o.cycle_output(),
        st,
        0,
    ));
    for (name, t) in all {
        tables.set_item(name.trim_end_matches(".csv"), table(py, &t)?)?;
    }
    d.set_item("tables", tables)?;
    d.set_item("names", st.names.clone())?;
    d.set_item("eps", st.eps.clone())?;
    d.set_item("label", subject.label.clone())?;
    d.set_item("interrupted", interrupted)?;
    d.set_item(
        "cycle_note",
        match &o.cycle {
            Some(Err(why)) => Some(why.clone()),
            _ => None,
        },
    )?;
    Ok(d)
}

/// Finite networks against the limit flow ([`jobs::network`]).
#[pyfunction]
#[pyo3(signature = (scenario, pairs, sgd=false, lr=1e-3, batch=1024, seed=0, rtol=1e-6, out=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn network<'py>(
    py: Python<'py>,
    scenario: Source,
    pairs: Vec<(usize, usize)>,
    sgd: bool,
    lr: f64,
    batch: usize,
    seed: u64,
    rtol: f64,
    out: Option<PathBuf>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let doc = document(py, &scenario)?;
    let scenario = resolve(py, &doc)?;
    let (dir, _tmp) = out_dir(py, out)?;
    let job = NetworkJob {
        pairs,
        training: if sgd {
            Training::Sgd { lr, batch }
        } else {
            Training::PopulationFlow { rtol }
        },
        seed,
        out: dir,
    };
    let p = &scenario.problem;
    let meter = Meter::default();
    let (result, signal) = supervise(py, &meter, progress.as_ref(), || {
        jobs::network(&scenario, &job, &mut |event| match event {
            jobs::NetworkEvent::Stage(label) => {
                meter.set_label(label);
                meter.set_fraction(0.0);
            }
            jobs::NetworkEvent::Time(t) => meter.set_log_time(t, p.epsilon / 10.0, p.t_end),
            jobs::NetworkEvent::Pair(..) => {}
        })
    })?;
    interrupted(signal)?;
    let o = result.map_err(|e| match e {
        JobError::Interrupted(m) => raise(py, "Interrupted", format!("interrupted {m}")),
        e => job_error(py, e),
    })?;
    let d = PyDict::new(py);
    let results = PyList::empty(py);
    for c in &o.results {
        let r = PyDict::new(py);
        r.set_item("d", c.d)?;
        r.set_item("m", c.m)?;
        r.set_item("t", c.t.clone().into_pyarray(py))?;
        r.set_item("risk_network", c.risk.clone().into_pyarray(py))?;
        r.set_item("risk_limit", c.risk_limit.clone().into_pyarray(py))?;
        r.set_item(
            "max_abs_overlap",
            c.max_abs_overlap.clone().into_pyarray(py),
        )?;
        r.set_item("sup_distance", c.sup_distance)?;
        r.set_item("t_sup", c.t_sup)?;
        r.set_item("t1_network", c.t1_network)?;
        r.set_item("t1_limit", c.t1_limit)?;
        r.set_item("t1_predicted", c.t1_predicted)?;
        r.set_item("seeding", c.seeding)?;
        results.append(r)?;
    }
    d.set_item("pairs", results)?;
    d.set_item("interrupted", o.interrupted)?;
    Ok(d)
}

/// A table from `(name, values)` pairs: float64 or boolean numpy arrays, or lists of text.
fn table_from_python(py: Python<'_>, columns: &[(String, Bound<'_, PyAny>)]) -> PyResult<Table> {
    let mut t = Table::new();
    for (name, values) in columns {
        let column = if let Ok(a) = values.extract::<PyReadonlyArray1<'_, f64>>() {
            Column::F64(a.as_array().to_vec())
        } else if let Ok(a) = values.extract::<PyReadonlyArray1<'_, bool>>() {
            Column::Bool(a.as_array().to_vec())
        } else if let Ok(v) = values.extract::<Vec<String>>() {
            Column::Str(v)
        } else {
            return Err(scenario_error(
                py,
                format!("data: column `{name}` is neither numbers, booleans nor text"),
            ));
        };
        t.push(name, column);
    }
    t.validate()
        .map_err(|e| scenario_error(py, format!("data: {}", jobs::error_message(&e))))?;
    Ok(t)
}

/// Plateaus, drops and exponents of users' loss curves (`timescales analyze`): from the
/// file at `path` (read as the program reads it) or from `columns`.
#[pyfunction]
#[pyo3(signature = (columns, path, time=None, loss=None, by=None, run=None, out=None))]
#[allow(clippy::too_many_arguments)]
fn analyze<'py>(
    py: Python<'py>,
    columns: Option<Vec<(String, Bound<'py, PyAny>)>>,
    path: Option<PathBuf>,
    time: Option<String>,
    loss: Option<String>,
    by: Option<String>,
    run: Option<String>,
    out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let started = std::time::Instant::now();
    let (input, inputs) = match (&path, &columns) {
        (Some(p), _) => {
            let input = InputFile::of(p)
                .map_err(|e| scenario_error(py, format!("data: {}", jobs::error_message(&e))))?;
            let table = read_table(p).map_err(|e| {
                scenario_error(
                    py,
                    format!("data: reading {}: {}", p.display(), jobs::error_message(&e)),
                )
            })?;
            (table, vec![input])
        }
        (None, Some(c)) => (table_from_python(py, c)?, Vec::new()),
        (None, None) => return Err(scenario_error(py, "data: no table given".into())),
    };
    let spec = ColumnSpec {
        time,
        loss,
        by,
        run,
    };
    let options = AnalyzeOptions::default();
    let (result, _) = supervise(py, &Meter::default(), None, || {
        let set = CurveSet::from_table(&input, &spec)?;
        analyze_curves(&set, &options)
    })?;
    let result =
        result.map_err(|e| scenario_error(py, format!("data: {}", jobs::error_message(&e))))?;
    let tables = output::analyze::tables(&result);
    if let Some(dir) = &out {
        let record = AnalyzeRecord {
            inputs,
            spec: spec.clone(),
            options,
            threads: rayon::current_num_threads(),
            wall_seconds: started.elapsed().as_secs_f64(),
        };
        output::analyze::write(dir, &record, &result)
            .map_err(|e| raise(py, "OutputError", jobs::error_message(&e)))?;
    }
    let d = PyDict::new(py);
    let t = PyDict::new(py);
    t.set_item("plateaus", table(py, &tables.plateaus)?)?;
    t.set_item("phases", table(py, &tables.phases)?)?;
    t.set_item("exponents", table(py, &tables.exponents)?)?;
    d.set_item("tables", t)?;
    let curves: Vec<serde_json::Value> = result
        .curves
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name, "by": c.by, "counts": c.counts, "n_points": c.n_points,
                "noise": c.noise, "error": c.error,
            })
        })
        .collect();
    d.set_item("curves", json(py, &curves)?)?;
    let fits: Vec<serde_json::Value> = result
        .exponents
        .iter()
        .map(|e| {
            serde_json::json!({
                "drop": e.drop, "quantity": e.quantity.name(), "law": e.law.name(),
                "status": e.status(), "reason": e.failure, "curves": e.curves,
                "left_out": e.left_out,
            })
        })
        .collect();
    d.set_item("fits", json(py, &fits)?)?;
    d.set_item("columns", json(py, &result.columns)?)?;
    d.set_item(
        "text",
        output::analyze::markdown(&result, &tables)
            .map_err(|e| raise(py, "OutputError", jobs::error_message(&e)))?,
    )?;
    Ok(d)
}

/// The built-in slow–fast problems: `(name, summary, provenance)`.
#[pyfunction]
fn problems() -> Vec<(String, String, String)> {
    builtin::list()
        .into_iter()
        .map(|p| {
            (
                p.name.to_string(),
                p.summary.to_string(),
                p.provenance.to_string(),
            )
        })
        .collect()
}

/// The version and git commit of the library.
#[pyfunction]
fn build_info() -> (&'static str, &'static str) {
    (output::VERSION, output::COMMIT)
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(asymptotics, m)?)?;
    m.add_function(wrap_pyfunction!(match_system, m)?)?;
    m.add_function(wrap_pyfunction!(network, m)?)?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(problems, m)?)?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    Ok(())
}
