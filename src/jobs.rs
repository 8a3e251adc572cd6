//! The toolkit's long computations as library calls: an ε sweep and a phase-asymptotics study
//! into a resumable run directory, and a finite network against its limit. The `timescales`
//! program and the Python package call these same functions, so both give the same numbers
//! and write the same files; the callers only print.
//!
//! Every job stops at the next step of whatever integration runs once the process's
//! interrupt is requested ([`crate::ode::interrupt`]); what finished is kept (in the run
//! directory) and written, and the outcome says what did not finish.
//!
//! ```no_run
//! use timescales::jobs::{self, SweepJob};
//! use timescales::analysis::sweep::EpsGrid;
//! use timescales::scenario::Scenario;
//!
//! let scenario = Scenario::default_scenario();
//! let job = SweepJob::new(EpsGrid::parse("1e-3:1e-5:3")?, "out/sweep".into());
//! let outcome = jobs::sweep(&scenario, &job)?;
//! assert_eq!(outcome.record.status, "complete");
//! print!("{}", timescales::output::sweep::text(
//!     outcome.summary.as_ref().unwrap(), outcome.tables.as_ref().unwrap())?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::analysis::sweep::error_chain;
use crate::analysis::sweep::{
    EpsGrid, Fingerprint, OpenMode, RunStore, Shard, SweepOptions, SweepReport, run_sweep,
};
use crate::analysis::{AnalysisError, ConvergeOptions};
use crate::matching::{
    CycleOptions, CycleStudy, FoldStudy, MatchingError, MatchingOptions, Study as MatchingStudy,
    cycle_study, fold_study, singular_orbit,
};
use crate::meanfield::simulate_with;
use crate::network::{
    FlowObserver, FlowOptions, LimitComparison, Model, NetworkError, NetworkState, PopulationFlow,
    Sgd, SgdOptions, Snapshot, SummaryRecorder,
};
use crate::ode::{SlowFastSystem, interrupt};
use crate::output;
use crate::output::sweep::{SweepRecord, SweepTables};
use crate::phases::sweep::{SweepPoint, SweepSummary, measure_point};
use crate::phases::{EarlyPhases, PhaseError, Study, StudyOptions, StudyPoint};
use crate::report::{Manifest, ReportError};
use crate::scenario::{Scenario, ScenarioError};
use crate::systems::{SystemFile, builtin};

/// Errors of a job, each with where it happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The scenario, or one ε of the grid applied to it, is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// An option of the job is invalid (`key` names it).
    #[error("`{key}`: {source}")]
    Option {
        /// The option, e.g. `eps`.
        key: &'static str,
        /// What is wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The run directory holds another computation's runs, or cannot be opened.
    #[error("the run directory cannot be reused")]
    Store(#[source] AnalysisError),
    /// The sweep machinery failed (an unreadable stored run, a thread pool).
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// The phase analysis of the scenario failed before any point ran.
    #[error("{origin}: {source}")]
    Phases {
        /// The scenario.
        origin: String,
        /// Cause.
        #[source]
        source: Box<PhaseError>,
    },
    /// A result file could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A record could not be serialized (a bug).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// An integration failed (`what` says which).
    #[error("{what} failed")]
    Solver {
        /// The integration, e.g. `network run d = 64, m = 64`.
        what: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An interrupt stopped the job before anything could be kept.
    #[error("interrupted {0}")]
    Interrupted(String),
}

/// The error and its causes, outermost first, joined by `: ` as `anyhow`'s `{:#}` prints
/// them; a cause whose message the previous link already ends with is not repeated.
///
/// ```
/// let io = std::io::Error::other("disk full");
/// let e = timescales::analysis::AnalysisError::Io { path: "x.json".into(), source: io };
/// assert_eq!(timescales::jobs::error_message(&e), "I/O error on x.json: disk full");
/// ```
pub fn error_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out: Vec<String> = Vec::new();
    for part in error_chain(e) {
        if !out.last().is_some_and(|last| last.ends_with(&part)) {
            out.push(part);
        }
    }
    out.join(": ")
}

/// One point of a job failed at `eps`: the first link of its error chain.
#[derive(Debug, thiserror::Error)]
#[error("ε = {eps:e}")]
pub struct PointError {
    /// The point.
    pub eps: f64,
    /// Cause.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl PointError {
    fn new(eps: f64, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            eps,
            source: source.into(),
        }
    }
}

/// How a job reports progress: a bar on standard error (hidden when it is not a terminal)
/// and/or a function called after each finished point with its ε.
#[derive(Clone, Copy, Default)]
pub struct Progress<'a> {
    /// Draw indicatif's bar on standard error.
    pub bar: bool,
    /// Called after each point computed by this call (from the worker threads).
    pub on_point: Option<&'a (dyn Fn(f64) + Sync)>,
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("bar", &self.bar)
            .field("on_point", &self.on_point.is_some())
            .finish()
    }
}

/// An ε sweep of one scenario ([`sweep`]).
#[derive(Debug, Clone)]
pub struct SweepJob<'a> {
    /// The grid of ε.
    pub grid: EpsGrid,
    /// The share of the grid to run (`0/1`: all of it).
    pub shard: Shard,
    /// Double N until the phase times converge (`None`: the scenario's N).
    pub converge: Option<ConvergeOptions>,
    /// Worker threads (`None`: one per core). The numbers do not depend on it.
    pub threads: Option<usize>,
    /// Resume the runs in `out/runs`, or discard them.
    pub mode: OpenMode,
    /// The output directory (finished points are kept in `out/runs`).
    pub out: PathBuf,
    /// Progress reporting.
    pub progress: Progress<'a>,
}

impl SweepJob<'_> {
    /// The whole `grid` into `out`, resuming, with the scenario's N, silently.
    pub fn new(grid: EpsGrid, out: PathBuf) -> Self {
        Self {
            grid,
            shard: Shard::default(),
            converge: None,
            threads: None,
            mode: OpenMode::Resume,
            out,
            progress: Progress::default(),
        }
    }
}

/// What a sweep did and wrote.
#[derive(Debug)]
pub struct SweepOutcome {
    /// The manifest's record: status, computed, resumed, missing and failed points.
    pub record: SweepRecord,
    /// Points of this call's shard not finished because of an interrupt.
    pub interrupted: Vec<f64>,
    /// Every point of the grid in the store (other shards' too), in ascending ε.
    pub points: Vec<SweepPoint>,
    /// Plateaus, phases and fits of `points` (none when there are no points).
    pub summary: Option<SweepSummary>,
    /// The tables written (none when there are no points).
    pub tables: Option<SweepTables>,
    /// The manifest `sweep.json`.
    pub manifest: Manifest,
    /// The run directory.
    pub runs: PathBuf,
}

/// The fingerprint of a sweep's points: the problem without ε, the convergence options, the
/// version and commit.
///
/// # Errors
/// [`JobError::Json`] (a bug).
pub fn sweep_fingerprint(
    scenario: &Scenario,
    converge: Option<&ConvergeOptions>,
) -> Result<Fingerprint, JobError> {
    Ok(output::fingerprint(
        "sweep point (measure_point)",
        &scenario.problem,
        serde_json::json!({ "converge_n": converge }),
    )?)
}

/// Runs `job` on `scenario`: every ε of its shard of the grid is integrated (in parallel,
/// resumably: each finished point is stored in `out/runs` at once) and measured
/// ([`measure_point`]); then the tables, plots and manifest of every point of the grid in
/// the store are written into `out` ([`output::sweep::write`]), whatever became of the
/// others (the record's status says `complete`, `partial`, `failed` or `interrupted`).
///
/// # Errors
/// [`JobError`] when the store cannot be opened (another computation's directory: the
/// differences are named), a stored run cannot be read, or a file cannot be written. A
/// point's failure is not an error: it is in the record, with its error chain.
pub fn sweep(scenario: &Scenario, job: &SweepJob<'_>) -> Result<SweepOutcome, JobError> {
    let started = std::time::Instant::now();
    let fingerprint = sweep_fingerprint(scenario, job.converge.as_ref())?;
    let store =
        RunStore::open(job.out.join("runs"), fingerprint, job.mode).map_err(JobError::Store)?;
    let opts = SweepOptions {
        progress: job.progress.bar,
        threads: job.threads,
    };
    let report = run_sweep(&job.grid, job.shard, &store, &opts, |eps| {
        let point = scenario
            .with_epsilon(eps)
            .map_err(|e| PointError::new(eps, e))
            .and_then(|s| {
                measure_point(&s.problem, &scenario.origin, job.converge.as_ref())
                    .map_err(|e| PointError::new(eps, e))
            });
        if let Some(f) = job.progress.on_point {
            f(eps);
        }
        point
    })?;
    let points = grid_points(&store, &job.grid)?;
    let missing = job.grid.missing(&epsilons(&points));
    let record = SweepRecord {
        scenario: scenario.origin.clone(),
        fingerprint: store.fingerprint().fields().clone(),
        fingerprint_digest: store.fingerprint().digest().to_string(),
        epsilon: job.grid.points().to_vec(),
        shard: job.shard,
        status: status(&report, &missing),
        computed: report.computed.clone(),
        resumed: report.resumed.clone(),
        missing,
        failed: report.failed.clone(),
        merged_from: Vec::new(),
        threads: job.threads.unwrap_or_else(rayon::current_num_threads),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let (summary, tables, manifest) = write_sweep(&job.out, &record, &points)?;
    Ok(SweepOutcome {
        record,
        interrupted: report.interrupted,
        points,
        summary,
        tables,
        manifest,
        runs: store.dir().to_path_buf(),
    })
}

fn status<R>(report: &SweepReport<R>, missing: &[f64]) -> &'static str {
    if !report.interrupted.is_empty() {
        "interrupted"
    } else if !report.failed.is_empty() {
        "failed"
    } else if !missing.is_empty() {
        "partial"
    } else {
        "complete"
    }
}

/// The stored points of `grid`, in ascending ε.
///
/// # Errors
/// [`JobError::Analysis`] when a stored run cannot be read.
pub fn grid_points(store: &RunStore, grid: &EpsGrid) -> Result<Vec<SweepPoint>, JobError> {
    Ok(store
        .load_all::<SweepPoint>()?
        .into_iter()
        .filter(|(e, _)| grid.points().contains(e))
        .map(|(_, p)| p)
        .collect())
}

/// The ε of `points`.
pub fn epsilons(points: &[SweepPoint]) -> Vec<f64> {
    points.iter().map(|p| p.epsilon).collect()
}

/// The summary of `points` (none without points), and their files written into `out` as
/// one set closed by `sweep.json`.
///
/// # Errors
/// [`JobError`] when the fits cannot be made or a file cannot be written.
pub fn write_sweep(
    out: &Path,
    record: &SweepRecord,
    points: &[SweepPoint],
) -> Result<(Option<SweepSummary>, Option<SweepTables>, Manifest), JobError> {
    let summary = if points.is_empty() {
        None
    } else {
        Some(
            SweepSummary::new(points).map_err(|source| JobError::Phases {
                origin: record.scenario.clone(),
                source: Box::new(source),
            })?,
        )
    };
    let (tables, manifest) = output::sweep::write(out, record, points, summary.as_ref())?;
    Ok((summary, tables, manifest))
}

/// A phase-asymptotics study of one scenario ([`asymptotics`]).
#[derive(Debug, Clone)]
pub struct AsymptoticsJob<'a> {
    /// The grid of ε.
    pub grid: EpsGrid,
    /// Output times per run and the largest N of the convergence check.
    pub options: StudyOptions,
    /// Resume the runs in `out/runs`, or discard them.
    pub mode: OpenMode,
    /// The output directory.
    pub out: PathBuf,
    /// Progress reporting.
    pub progress: Progress<'a>,
}

/// What an asymptotics study did and wrote.
#[derive(Debug)]
pub struct AsymptoticsOutcome {
    /// The finished points, in grid order.
    pub study: Study,
    /// Points not finished (failed or interrupted).
    pub missing: Vec<f64>,
    /// Points that failed, with their error chains.
    pub failed: Vec<(f64, Vec<String>)>,
    /// Points not finished because of an interrupt.
    pub interrupted: Vec<f64>,
    /// The manifest `asymptotics.json` (none when no point finished: nothing is written).
    pub manifest: Option<Manifest>,
    /// The run directory.
    pub runs: PathBuf,
}

/// Runs `job` on `scenario`: at every ε of the grid the phase onsets are predicted and
/// measured ([`Study::point`]; in parallel, resumably in `out/runs`), and the study's tables,
/// plot and manifest are written into `out` ([`output::asymptotics::write`]) when at least one
/// point finished.
///
/// # Errors
/// [`JobError`] for an ε the scenario refuses, a scenario without phase asymptotics (no
/// phase 1), a store of another computation, or a file that cannot be written.
pub fn asymptotics(
    scenario: &Scenario,
    job: &AsymptoticsJob<'_>,
) -> Result<AsymptoticsOutcome, JobError> {
    for &e in job.grid.points() {
        scenario.with_epsilon(e)?;
    }
    EarlyPhases::new(&scenario.problem).map_err(|source| JobError::Phases {
        origin: scenario.origin.clone(),
        source: Box::new(source),
    })?;
    let started = std::time::Instant::now();
    let fingerprint = output::fingerprint(
        "asymptotics point (Study::point)",
        &scenario.problem,
        serde_json::to_value(job.options)?,
    )?;
    let store =
        RunStore::open(job.out.join("runs"), fingerprint, job.mode).map_err(JobError::Store)?;
    let opts = SweepOptions {
        progress: job.progress.bar,
        threads: None,
    };
    let report = run_sweep(&job.grid, Shard::default(), &store, &opts, |eps| {
        let point: Result<StudyPoint, PointError> = scenario
            .with_epsilon(eps)
            .map_err(|e| PointError::new(eps, e))
            .and_then(|s| {
                Study::point(&s.problem, &job.options).map_err(|e| PointError::new(eps, e))
            });
        if let Some(f) = job.progress.on_point {
            f(eps);
        }
        point
    })?;
    let mut points = report.results;
    let at = |e: f64| job.grid.points().iter().position(|&p| p == e);
    points.sort_by_key(|p| at(p.0));
    let finished: Vec<f64> = points.iter().map(|p| p.0).collect();
    let study = Study {
        points: points.into_iter().map(|(_, p)| p).collect(),
    };
    let missing = job.grid.missing(&finished);
    let record = serde_json::json!({
        "scenario": scenario.origin,
        "fingerprint": store.fingerprint().fields(),
        "fingerprint_digest": store.fingerprint().digest(),
        "epsilon": job.grid.points(),
        "status": if !report.interrupted.is_empty() {
            "interrupted"
        } else if !report.failed.is_empty() {
            "failed"
        } else {
            "complete"
        },
        "computed": report.computed,
        "resumed": report.resumed,
        "missing": missing,
        "failed": report.failed,
        "wall_seconds": started.elapsed().as_secs_f64(),
    });
    let manifest = if study.points.is_empty() {
        None
    } else {
        Some(output::asymptotics::write(&job.out, &study, record)?)
    };
    Ok(AsymptoticsOutcome {
        study,
        missing,
        failed: report.failed,
        interrupted: report.interrupted,
        manifest,
        runs: store.dir().to_path_buf(),
    })
}

/// How a finite network is trained ([`network`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Training {
    /// The exact population gradient flow, at this relative tolerance (absolute: 1e-3 of it).
    PopulationFlow {
        /// Relative tolerance of the network flow (the limit flow uses the scenario's).
        rtol: f64,
    },
    /// Online SGD.
    Sgd {
        /// Step `η` of the first layer (the second steps with `η/ε`).
        lr: f64,
        /// Batch size.
        batch: usize,
    },
}

/// Finite networks of several sizes against the limit flow of one scenario ([`network`]).
#[derive(Debug, Clone)]
pub struct NetworkJob {
    /// The `(d, m)` pairs, run in this order.
    pub pairs: Vec<(usize, usize)>,
    /// Population flow or SGD.
    pub training: Training,
    /// Seed of the initial weights (and of the SGD samples).
    pub seed: u64,
    /// The output directory.
    pub out: PathBuf,
}

/// What a [`network`] job reports while it runs.
#[derive(Debug)]
pub enum NetworkEvent<'a> {
    /// An integration starts: the limit flow, or the network of a pair.
    Stage(&'a str),
    /// The running integration reached `t`.
    Time(f64),
    /// A pair finished, after this many seconds.
    Pair(&'a LimitComparison, f64),
}

/// What a network job did and wrote.
#[derive(Debug)]
pub struct NetworkOutcome {
    /// The finished pairs, in the job's order.
    pub results: Vec<LimitComparison>,
    /// Whether an interrupt stopped the job before every pair finished.
    pub interrupted: bool,
    /// The manifest `network.json`.
    pub manifest: Manifest,
}

/// Runs `job`: the limit flow of `scenario`, then each `(d, m)` network from random initial
/// weights ([`NetworkState::random`]) trained on the same `σ_k, φ_k`, compared with the limit
/// ([`LimitComparison`]); the finished pairs are written into `job.out`
/// ([`output::network`], closed by `network.json`). An interrupt during the limit flow
/// writes nothing; during a pair, the finished pairs are written.
///
/// # Errors
/// [`JobError`] for an invalid pair or model, a failed integration (with the pair), an
/// interrupted limit flow, or a file that cannot be written.
pub fn network(
    scenario: &Scenario,
    job: &NetworkJob,
    events: &mut dyn FnMut(NetworkEvent<'_>),
) -> Result<NetworkOutcome, JobError> {
    let p = &scenario.problem;
    let solver = |what: String, e: Box<dyn std::error::Error + Send + Sync>| JobError::Solver {
        what,
        source: e,
    };
    if job.pairs.is_empty() {
        return Err(JobError::Option {
            key: "pairs",
            source: "at least one (d, m) pair is needed".into(),
        });
    }
    // The network keeps the same σ_k, φ_k as the limit; the target energy beyond degree K
    // (`tail_energy = ½ Σ_{k>K} φ_k²`) enters as the constant part of the risk.
    let model = Model::new(&p.sigma, &p.phi, 2.0 * p.tail_energy)
        .map_err(|e| solver("network model".into(), e.into()))?;
    let times = p.output_times();
    events(NetworkEvent::Stage("limit flow"));
    let limit = simulate_with(p, &mut |t| {
        events(NetworkEvent::Time(t));
        if interrupt::requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .map_err(|e| solver("limit flow".into(), e.into()))?;
    if let Some(t) = limit.interrupted_at {
        return Err(JobError::Interrupted(format!(
            "at t = {t:e} of the limit flow: nothing is finished, nothing written"
        )));
    }
    let mut results = Vec::new();
    for &(d, m) in &job.pairs {
        let started = std::time::Instant::now();
        let label = format!("network d = {d}, m = {m}");
        let pair_error =
            |e: NetworkError| solver(format!("network run d = {d}, m = {m}"), e.into());
        let mut state = NetworkState::random(d, m, &p.law, job.seed).map_err(pair_error)?;
        let mean_a = state.a.mean();
        let var_a = state.a.iter().map(|a| (a - mean_a).powi(2)).sum::<f64>() / m as f64;
        let mut rec = SummaryRecorder::new();
        events(NetworkEvent::Stage(&label));
        let mut observer = |s: &Snapshot<'_>| {
            events(NetworkEvent::Time(s.t));
            FlowObserver::observe(&mut rec, s)
        };
        let outcome = match job.training {
            Training::Sgd { lr, batch } => {
                let opts = SgdOptions {
                    eps: p.epsilon,
                    lr,
                    batch,
                    seed: job.seed,
                };
                Sgd::new(model.clone(), d, m, opts)
                    .and_then(|mut sgd| sgd.run(&mut state, &times, &mut observer))
            }
            Training::PopulationFlow { rtol } => {
                let mut opts = FlowOptions::new(p.epsilon);
                opts.solver.rtol = rtol;
                opts.solver.atol = rtol * 1e-3;
                PopulationFlow::new(model.clone(), d, m, opts)
                    .and_then(|mut flow| flow.integrate(&mut state, 0.0, &times, &mut observer))
            }
        };
        if interrupt::requested() {
            break;
        }
        outcome.map_err(pair_error)?;
        let c = LimitComparison::new(
            d,
            m,
            &rec.trajectory,
            &limit.trajectory,
            &model,
            p.epsilon,
            var_a,
        )
        .map_err(pair_error)?;
        events(NetworkEvent::Pair(&c, started.elapsed().as_secs_f64()));
        results.push(c);
    }
    let single = job.pairs.len() == 1;
    let sgd = matches!(job.training, Training::Sgd { .. });
    let interrupted = results.len() < job.pairs.len();
    let record = serde_json::json!({
        "scenario": scenario.origin,
        "problem": p,
        "pairs": job.pairs,
        "finished_pairs": results.iter().map(|c| (c.d, c.m)).collect::<Vec<_>>(),
        "method": if sgd { "sgd" } else { "population flow" },
        "seed": job.seed,
        "lr": match job.training { Training::Sgd { lr, .. } => Some(lr), _ => None },
        "batch": match job.training { Training::Sgd { batch, .. } => Some(batch), _ => None },
        "rtol": match job.training { Training::PopulationFlow { rtol } => Some(rtol), _ => None },
        "status": if interrupted { "interrupted" } else { "complete" },
        "threads": rayon::current_num_threads(),
    });
    let manifest = output::write_set(&job.out, "network.json", record, |set, _| {
        for c in &results {
            let stem = output::network::stem(c, single);
            output::network::write_pair(set, &stem, scenario, c, sgd)?;
        }
        if !single && !results.is_empty() {
            output::network::write_convergence(set, &results)?;
        }
        Ok(())
    })?;
    Ok(NetworkOutcome {
        results,
        interrupted,
        manifest,
    })
}

/// The system a `match` job studies: a built-in problem or a user's system file, with its
/// initial state and horizon.
pub struct MatchSubject {
    /// Its name (a built-in problem's, or the file's origin).
    pub label: String,
    /// Where its reference solution comes from.
    pub provenance: String,
    /// The slow–fast system.
    pub system: Box<dyn SlowFastSystem + Send + Sync>,
    /// `x(0)`.
    pub x0: Vec<f64>,
    /// `y(0)`.
    pub y0: Vec<f64>,
    /// The horizon `T`.
    pub t_end: f64,
}

impl MatchSubject {
    /// The built-in problem `name` (see [`crate::systems::builtin::list`]), on its own
    /// horizon unless `t_end` is given.
    ///
    /// # Errors
    /// [`JobError::Option`] (`problem`) for an unknown name.
    pub fn builtin(name: &str, t_end: Option<f64>) -> Result<Self, JobError> {
        let p = builtin::by_name(name).map_err(|e| JobError::Option {
            key: "problem",
            source: Box::new(e),
        })?;
        Ok(Self {
            label: p.name.to_string(),
            provenance: p.provenance.to_string(),
            t_end: t_end.unwrap_or(p.t_end),
            system: p.system,
            x0: p.x0,
            y0: p.y0,
        })
    }

    /// A user's system file read from `origin`, on `t_end` or else its `[run] t_end`.
    ///
    /// # Errors
    /// [`JobError::Option`] (`t_end`) when neither gives a horizon.
    pub fn from_file(file: SystemFile, origin: &str, t_end: Option<f64>) -> Result<Self, JobError> {
        let t_end = match (t_end, &file.run) {
            (Some(t), _) => t,
            (None, Some(run)) => run.t_end,
            (None, None) => {
                return Err(JobError::Option {
                    key: "t_end",
                    source: format!(
                        "{origin}: no [run] t_end; give the horizon (--t-end, or t_end= in Python)"
                    )
                    .into(),
                });
            }
        };
        Ok(Self {
            label: origin.to_string(),
            provenance: "user-defined system".into(),
            system: Box::new(file.system),
            x0: file.x0,
            y0: file.y0,
            t_end,
        })
    }

    /// The subject as the output files name it.
    pub fn output(&self) -> output::matching::Subject<'_> {
        output::matching::Subject {
            label: &self.label,
            provenance: &self.provenance,
            x0: &self.x0,
            y0: &self.y0,
            t_end: self.t_end,
        }
    }
}

/// What a `match` job computes: the matching study over `eps` and, with `cycle`, the
/// relaxation cycle and then the composite across its folds.
#[derive(Debug, Clone)]
pub struct MatchJob<'a> {
    /// The ε studied (any order; studied from the largest).
    pub eps: &'a [f64],
    /// Whether to look for a relaxation cycle.
    pub cycle: bool,
    /// How far the singular orbit is followed looking for it (`None`: 50 T).
    pub cycle_horizon: Option<f64>,
    /// Most jumps followed (the cycle's folds must recur within them).
    pub cycle_jumps: usize,
}

/// What a `match` job found.
#[derive(Debug)]
pub struct MatchOutcome {
    /// The options the study ran with.
    pub options: MatchingOptions,
    /// Outer, inner and composites against direct integration.
    pub study: MatchingStudy,
    /// The relaxation cycle: `None` when not asked, `Some(Err(why))` when there is none.
    pub cycle: Option<Result<CycleStudy, String>>,
    /// With a cycle: the horizon of the composite across its folds and that study, or why it
    /// failed.
    pub across_folds: Option<(f64, Result<FoldStudy, String>)>,
}

impl MatchOutcome {
    /// The cycle part as the output files take it.
    pub fn cycle_output(&self) -> output::matching::Cycle<'_> {
        match (&self.cycle, &self.across_folds) {
            (Some(Ok(c)), Some((t_end, f))) => output::matching::Cycle::Found {
                cycle: c,
                t_end: *t_end,
                across_folds: f.as_ref().map_err(String::as_str),
            },
            (Some(Err(why)), _) => output::matching::Cycle::Absent(why),
            _ => output::matching::Cycle::NotAsked,
        }
    }
}

/// Runs a `match` job: [`crate::matching::study`], then (when asked) [`cycle_study`] and, for a
/// cycle found, [`fold_study`] on `[0, T]`, `T` = the singular orbit's first fold plus ¾ of
/// its period (a loop's two jumps and landings, ending on a branch: past a third fold the
/// phase error the jumps accumulate, `O(ε ln ε)` each, exceeds the `ε^{2/3}` windows at
/// ε ≳ 1e-2). Progress lines go to stderr.
///
/// # Errors
/// [`JobError::Option`] for a bad cycle horizon; [`JobError::Solver`] when the study fails
/// or a direct integration of the cycle or fold study fails (an absent cycle, or a fold
/// study that cannot be built, is part of the outcome instead).
pub fn matching(s: &MatchSubject, job: &MatchJob<'_>) -> Result<MatchOutcome, JobError> {
    let copts = CycleOptions {
        horizon: job.cycle_horizon.unwrap_or(50.0 * s.t_end),
        max_jumps: job.cycle_jumps,
        ..CycleOptions::default()
    };
    if job.cycle && !(copts.horizon > 0.0 && copts.horizon.is_finite()) {
        return Err(JobError::Option {
            key: "cycle_horizon",
            source: format!("must be positive, got {}", copts.horizon).into(),
        });
    }
    let mut eps = job.eps.to_vec();
    eps.sort_by(|a, b| b.total_cmp(a));
    let options = MatchingOptions::default();
    // A direct integration that fails is a failure of the job, not an absent cycle.
    let failed = |what: &str, e: MatchingError| JobError::Solver {
        what: format!("{what} of {}", s.label),
        source: Box::new(e),
    };
    eprintln!(
        "timescales match: {} on [0, {}], eps = {:?}",
        s.label, s.t_end, eps
    );
    let sys = s.system.as_ref();
    let study = crate::matching::study(sys, &s.x0, &s.y0, s.t_end, &eps, &options)
        .map_err(|e| failed("matching study", e))?;
    let mut outcome = MatchOutcome {
        options,
        study,
        cycle: None,
        across_folds: None,
    };
    if !job.cycle {
        return Ok(outcome);
    }
    let opts = &outcome.options;
    eprintln!(
        "timescales match: looking for a relaxation cycle on [0, {}] (at most {} jumps)",
        copts.horizon, copts.max_jumps
    );
    let cycle = match cycle_study(sys, &s.x0, &s.y0, &eps, &copts, opts) {
        Ok(c) => c,
        Err(e @ MatchingError::Direct { .. }) => return Err(failed("relaxation-cycle study", e)),
        Err(e) => {
            outcome.cycle = Some(Err(error_message(&e)));
            return Ok(outcome);
        }
    };
    let period = cycle.singular.period;
    let first = singular_orbit(sys, &s.x0, &s.y0, 50.0 * period, period / 64.0, 1, opts)
        .ok()
        .and_then(|o| o.jump_times().first().copied());
    let across_folds = match first {
        None => (0.0, Err("the singular orbit meets no fold".to_string())),
        Some(first) => {
            let t_end = first + 0.75 * period;
            eprintln!("timescales match: the composite across the folds on [0, {t_end}]");
            match fold_study(sys, &s.x0, &s.y0, t_end, &eps, copts.max_jumps, opts) {
                Ok(f) => (t_end, Ok(f)),
                Err(e @ MatchingError::Direct { .. }) => {
                    return Err(failed("composite across the folds", e));
                }
                Err(e) => (t_end, Err(error_message(&e))),
            }
        }
    };
    outcome.cycle = Some(Ok(cycle));
    outcome.across_folds = Some(across_folds);
    Ok(outcome)
}

/// Writes a `match` job's files into `out` (created if missing), `composite.csv` at the
/// comparison `shown`: [`output::matching::write`].
///
/// # Errors
/// [`JobError::Report`] when the directory or a file cannot be written.
pub fn write_matching(
    out: &Path,
    s: &MatchSubject,
    o: &MatchOutcome,
    shown: usize,
) -> Result<Manifest, JobError> {
    std::fs::create_dir_all(out).map_err(|source| ReportError::Io {
        path: out.display().to_string(),
        source,
    })?;
    Ok(output::matching::write(
        out,
        &s.output(),
        &o.study,
        shown,
        &o.options,
        o.cycle_output(),
    )?)
}
