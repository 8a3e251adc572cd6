//! `timescales sweep` and `timescales merge`: phase times and timescale exponents over a log
//! grid of ε.
//!
//! A sweep integrates the scenario at every ε of the grid (in parallel, resumably: each
//! finished ε is kept in `DIR/runs/eps_<ε>.json`), detects plateaus and phases on each risk
//! curve (the scenario's predicted plateau levels `R_l` as hints), and, once every point of the
//! grid is there, fits the exponents and writes `sweep.parquet`, `phases.csv`,
//! `exponents.csv`, `local_slopes.csv`, `plateaus.csv`, `table.md`, `table.tex`,
//! `risk_curves.svg`, `phase_times.svg`, `failures.csv` (if points failed) and, last, the
//! manifest `sweep.json`. The run directory carries the fingerprint of the computation: a
//! rerun resumes only runs of the same computation (`--fresh` discards them). With
//! `--shard i/n` a job runs one share of the grid; `timescales merge` checks that the shards
//! are of one computation and grid and cover it (or writes a result marked partial with
//! `--partial`), joins their run directories and writes the same outputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use timescales::analysis::sweep::{EpsGrid, OpenMode, RunStore, Shard, merge_run_dirs};
use timescales::analysis::{AnalysisError, ConvergeOptions};
use timescales::jobs::{self, JobError, Progress, SweepJob};
use timescales::output;
use timescales::output::sweep::SweepRecord;

/// Arguments of `timescales sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Scenario file (TOML); the built-in default when omitted.
    pub scenario: Option<PathBuf>,
    /// Log grid of ε: `start:stop:count` (either order; e.g. 13 points from 1e-3 to 1e-9).
    /// Default: the scenario's `[sweep] eps`, else 1e-3:1e-9:13.
    #[arg(long)]
    pub eps: Option<String>,
    /// Output directory (finished runs are kept in DIR/runs, so a rerun resumes).
    #[arg(long, default_value = "out/sweep")]
    pub out: PathBuf,
    /// Double the particle count N (from the scenario's) until every phase time moves by less
    /// than --n-tol; the N used is reported per ε.
    #[arg(long)]
    pub converge_n: bool,
    /// Relative tolerance of --converge-n.
    #[arg(long, default_value_t = 0.02)]
    pub n_tol: f64,
    /// Largest N tried by --converge-n.
    #[arg(long, default_value_t = 512)]
    pub n_max: usize,
    /// Override `init.particles`.
    #[arg(long)]
    pub particles: Option<usize>,
    /// Run share i of n of the grid (0-based; point k goes to shard k mod n), e.g. a Slurm
    /// array task: `--shard $SLURM_ARRAY_TASK_ID/8`. Join the shards with `timescales merge`.
    #[arg(long, default_value = "0/1")]
    pub shard: String,
    /// Worker threads (default: one per core). The numbers do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Discard the runs stored in DIR/runs (by default a rerun resumes them, and a
    /// directory holding another computation's runs is refused).
    #[arg(long)]
    pub fresh: bool,
}

/// Arguments of `timescales merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Output directory of the merged sweep.
    #[arg(long)]
    pub out: PathBuf,
    /// Write the tables even if grid points are in no shard: every table then says it is
    /// partial and how many points it has.
    #[arg(long)]
    pub partial: bool,
    /// The shards' output directories (each the --out of one `timescales sweep --shard`).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}

/// How to open a run directory.
pub fn open_mode(fresh: bool) -> OpenMode {
    if fresh {
        OpenMode::Fresh
    } else {
        OpenMode::Resume
    }
}

/// A job's error; a refused run directory with the flag that overrides it.
pub fn job_error(e: JobError) -> anyhow::Error {
    match e {
        JobError::Store(inner) => {
            let hint = matches!(inner, AnalysisError::StoreMismatch { .. })
                .then_some(" (pass --fresh to discard its runs, or choose another --out)");
            anyhow::Error::new(inner).context(format!(
                "the run directory cannot be reused{}",
                hint.unwrap_or("")
            ))
        }
        e => anyhow::Error::new(e),
    }
}

/// Runs `timescales sweep`.
pub fn sweep(args: &SweepArgs) -> anyhow::Result<()> {
    let mut scenario = super::load_scenario(args.scenario.as_deref())?;
    if let Some(n) = args.particles {
        scenario = scenario.with_particles(n).context("--particles")?;
    }
    let grid = match &args.eps {
        Some(eps) => EpsGrid::parse(eps).context("--eps")?,
        None => EpsGrid::parse(scenario.sweep_grid())
            .with_context(|| format!("sweep.eps in {}", scenario.origin))?,
    };
    let shard = Shard::parse(&args.shard).context("--shard")?;
    let p = &scenario.problem;
    let converge = args.converge_n.then_some(ConvergeOptions {
        n_start: p.particles,
        n_max: args.n_max.max(p.particles),
        rel_tol: args.n_tol,
    });
    eprintln!(
        "timescales sweep: {} — K = {}, N = {}{}, {} values of ε from {:e} to {:e}{}",
        scenario.origin,
        scenario.degree,
        p.particles,
        if args.converge_n {
            " (doubled until converged)"
        } else {
            ""
        },
        grid.len(),
        grid.points()[0],
        grid.points()[grid.len() - 1],
        if shard.count > 1 {
            format!(", shard {}/{}", shard.index, shard.count)
        } else {
            String::new()
        },
    );
    let job = SweepJob {
        grid,
        shard,
        converge,
        threads: args.threads,
        mode: open_mode(args.fresh),
        out: args.out.clone(),
        progress: Progress {
            bar: true,
            on_point: None,
        },
    };
    let o = jobs::sweep(&scenario, &job).map_err(job_error)?;
    let r = &o.record;
    for (eps, chain) in &r.failed {
        eprintln!("ε = {eps:e} failed: {}", chain.join(": "));
    }
    eprintln!(
        "{} computed, {} resumed, {} failed{} in {:.1} s",
        r.computed.len(),
        r.resumed.len(),
        r.failed.len(),
        if o.interrupted.is_empty() {
            String::new()
        } else {
            format!(", {} not finished (interrupted)", o.interrupted.len())
        },
        r.wall_seconds
    );
    print_report(&args.out, &o)?;
    if !o.interrupted.is_empty() {
        bail!(
            "interrupted: {} of {} points of this shard are finished and kept in {}; rerun the \
             same command to resume",
            r.computed.len() + r.resumed.len(),
            r.computed.len() + r.resumed.len() + o.interrupted.len() + r.failed.len(),
            o.runs.display()
        );
    }
    if !r.failed.is_empty() {
        bail!(
            "{} of {} points failed (their errors are in {}); rerun the same command to retry them",
            r.failed.len(),
            job.grid.len(),
            args.out.join("failures.csv").display()
        );
    }
    if !r.missing.is_empty() {
        println!(
            "shard {}/{} done: {} of {} points of the grid are in {}; when every shard is done, run\n  \
             timescales merge --out DIR {} <other shards' directories>",
            shard.index,
            shard.count,
            o.points.len(),
            job.grid.len(),
            o.runs.display(),
            args.out.display()
        );
    }
    Ok(())
}

/// What a shard's `sweep.json` says of its grid and share.
#[derive(serde::Deserialize)]
struct ShardManifest {
    epsilon: Vec<f64>,
    shard: Shard,
}

/// Runs `timescales merge`.
pub fn merge(args: &MergeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut plan: Option<(PathBuf, ShardManifest)> = None;
    let mut shards_seen = Vec::new();
    let mut runs = Vec::new();
    for dir in &args.shards {
        let path = dir.join("sweep.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: not the output directory of a finished `timescales sweep` (rerun its \
                 command: it resumes)",
                path.display()
            )
        })?;
        let m: ShardManifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a sweep manifest", path.display()))?;
        if let Some((first, p)) = &plan {
            let same_grid = p.epsilon.len() == m.epsilon.len()
                && p.epsilon
                    .iter()
                    .zip(&m.epsilon)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
            if !same_grid {
                bail!(
                    "{} and {} are shards of different grids of ε",
                    first.display(),
                    dir.display()
                );
            }
            if p.shard.count != m.shard.count {
                bail!(
                    "{} is a shard of {} and {} of {}: not one sharding of the grid",
                    first.display(),
                    p.shard.count,
                    dir.display(),
                    m.shard.count
                );
            }
        }
        shards_seen.push(m.shard.index);
        runs.push(dir.join("runs"));
        if plan.is_none() {
            plan = Some((dir.clone(), m));
        }
    }
    let Some((_, plan)) = plan else {
        bail!("no shard directories given");
    };
    let grid = EpsGrid::from_points(plan.epsilon.clone()).context("the shards' grid")?;
    let count = plan.shard.count;
    // The shards to rerun: those without a directory here, and those owning missing points.
    let shards_to_rerun = |missing: &[f64]| {
        let mut rerun: Vec<usize> = (0..count).filter(|i| !shards_seen.contains(i)).collect();
        rerun.extend(
            Shard::owners(&grid, count, missing)
                .into_iter()
                .map(|o| o.0),
        );
        rerun.sort_unstable();
        rerun.dedup();
        rerun
            .iter()
            .map(|i| format!("{i}/{count}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let out_runs = args.out.join("runs");
    let rep = merge_run_dirs(&runs, &out_runs, &grid, args.partial).map_err(|e| match &e {
        AnalysisError::MergeIncomplete { missing, .. } => anyhow::anyhow!(
            "{e}: shards {} are missing or unfinished. Rerun them (each resumes), or pass \
             --partial to write a result that says in every table that it is partial",
            shards_to_rerun(missing)
        ),
        _ => anyhow::Error::new(e),
    })?;
    if !rep.missing.is_empty() {
        eprintln!(
            "warning: writing a partial result: {} of {} grid points missing (shards {})",
            rep.missing.len(),
            grid.len(),
            shards_to_rerun(&rep.missing)
        );
    }
    eprintln!(
        "merged {} shard directories into {}: {} written, {} duplicates, {} already there",
        runs.len(),
        out_runs.display(),
        rep.written.len(),
        rep.duplicates.len(),
        rep.already_present.len()
    );
    let store = RunStore::read(&out_runs)?;
    let points = jobs::grid_points(&store, &grid)?;
    let missing = grid.missing(&jobs::epsilons(&points));
    let record = SweepRecord {
        scenario: points
            .first()
            .map(|p| p.scenario.clone())
            .unwrap_or_default(),
        fingerprint: store.fingerprint().fields().clone(),
        fingerprint_digest: store.fingerprint().digest().to_string(),
        epsilon: grid.points().to_vec(),
        shard: Shard::default(),
        status: if missing.is_empty() {
            "complete"
        } else {
            "partial"
        },
        computed: Vec::new(),
        resumed: rep
            .written
            .iter()
            .chain(&rep.already_present)
            .copied()
            .collect(),
        missing,
        failed: Vec::new(),
        merged_from: args
            .shards
            .iter()
            .map(|d| d.display().to_string())
            .collect(),
        threads: 1,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let (summary, tables, manifest) = jobs::write_sweep(&args.out, &record, &points)?;
    let o = jobs::SweepOutcome {
        record,
        interrupted: Vec::new(),
        points,
        summary,
        tables,
        manifest,
        runs: out_runs,
    };
    print_report(&args.out, &o)
}

/// Prints the summary of a sweep's points and where its files are.
fn print_report(out: &Path, o: &jobs::SweepOutcome) -> anyhow::Result<()> {
    if let (Some(summary), Some(tables)) = (&o.summary, &o.tables) {
        if let Some(note) = o.record.partial() {
            println!("PARTIAL RESULT: {note}\n");
        }
        print!("{}", output::sweep::text(summary, tables)?);
    }
    println!(
        "\nwritten {}",
        output::written(out, &o.manifest, "sweep.json")
    );
    Ok(())
}
