//! `timescales sweep` and `timescales merge`: phase times and timescale exponents over a log
//! grid of ε.
//!
//! A sweep integrates the scenario at every ε of the grid (in parallel, resumably: each
//! finished ε is kept in `DIR/runs/eps_<ε>.json`), detects plateaus and phases on each risk
//! curve (the scenario's predicted plateau levels `R_l` as hints), and, once every point of the
//! grid is there, fits the exponents and writes `sweep.parquet`, `phases.csv`,
//! `exponents.csv`, `local_slopes.csv`, `plateaus.csv`, `table.md`, `table.tex`,
//! `risk_curves.svg`, `phase_times.svg` and `sweep.json`. With `--shard i/n` a job runs one
//! share of the grid; `timescales merge` joins the shards' run directories and writes the
//! same outputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use timescales::analysis::ConvergeOptions;
use timescales::analysis::sweep::{
    EpsGrid, RunStore, Shard, SweepOptions, merge_run_dirs, run_sweep,
};
use timescales::output;
use timescales::phases::sweep::{SweepPoint, SweepSummary, measure_point};

/// Arguments of `timescales sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Scenario file (TOML); the built-in default when omitted.
    pub scenario: Option<PathBuf>,
    /// Log grid of ε: `start:stop:count` (either order; e.g. 13 points from 1e-3 to 1e-9).
    #[arg(long, default_value = "1e-3:1e-9:13")]
    pub eps: String,
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
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Arguments of `timescales merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Output directory of the merged sweep.
    #[arg(long)]
    pub out: PathBuf,
    /// The shards' output directories (each the --out of one `timescales sweep --shard`).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}

/// Runs `timescales sweep`.
pub fn sweep(args: &SweepArgs) -> anyhow::Result<()> {
    let mut scenario = super::load_scenario(args.scenario.as_deref())?;
    if let Some(n) = args.particles {
        scenario = scenario.with_particles(n).context("--particles")?;
    }
    let grid = EpsGrid::parse(&args.eps).context("--eps")?;
    let shard = Shard::parse(&args.shard).context("--shard")?;
    let store = RunStore::open(args.out.join("runs"))?;
    let p = &scenario.problem;
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
    let converge = args.converge_n.then_some(ConvergeOptions {
        n_start: p.particles,
        n_max: args.n_max.max(p.particles),
        rel_tol: args.n_tol,
    });
    let started = std::time::Instant::now();
    let opts = SweepOptions {
        progress: true,
        threads: args.threads,
    };
    let report = run_sweep(&grid, shard, &store, &opts, |eps| {
        let problem = scenario.with_epsilon(eps)?.problem;
        Ok::<_, anyhow::Error>(measure_point(
            &problem,
            &scenario.origin,
            converge.as_ref(),
        )?)
    })?;
    for (eps, failure) in &report.failed {
        eprintln!("ε = {eps:e}: {failure:#}");
    }
    eprintln!(
        "{} computed, {} resumed, {} failed in {:.1} s",
        report.computed.len(),
        report.resumed.len(),
        report.failed.len(),
        started.elapsed().as_secs_f64()
    );
    if !report.failed.is_empty() {
        bail!(
            "{} of {} points failed; rerun the same command to retry them",
            report.failed.len(),
            grid.len()
        );
    }
    let all: Vec<SweepPoint> = store
        .load_all::<SweepPoint>()?
        .into_iter()
        .filter(|(e, _)| grid.points().contains(e))
        .map(|(_, p)| p)
        .collect();
    if all.len() < grid.len() {
        println!(
            "shard {}/{} done: {} of {} points of the grid are in {}; when every shard is done, run\n  \
             timescales merge --out DIR {} <other shards' directories>",
            shard.index,
            shard.count,
            all.len(),
            grid.len(),
            store.dir().display(),
            args.out.display()
        );
        return Ok(());
    }
    write_report(&args.out, &all)
}

/// Runs `timescales merge`.
pub fn merge(args: &MergeArgs) -> anyhow::Result<()> {
    let dirs: Vec<PathBuf> = args
        .shards
        .iter()
        .map(|d| {
            if d.join("runs").is_dir() {
                d.join("runs")
            } else {
                d.clone()
            }
        })
        .collect();
    let out_runs = args.out.join("runs");
    let rep = merge_run_dirs(&dirs, &out_runs)?;
    eprintln!(
        "merged {} shard directories into {}: {} written, {} duplicates, {} already there",
        dirs.len(),
        out_runs.display(),
        rep.written.len(),
        rep.duplicates.len(),
        rep.already_present.len()
    );
    let all: Vec<SweepPoint> = RunStore::open(&out_runs)?
        .load_all::<SweepPoint>()?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if all.is_empty() {
        bail!(
            "no finished runs found in {}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    write_report(&args.out, &all)
}

/// Tables, plots and the printed summary of a complete set of points.
fn write_report(out: &Path, points: &[SweepPoint]) -> anyhow::Result<()> {
    let summary = SweepSummary::new(points)?;
    let (tables, files) = output::sweep::write(out, points, &summary)?;
    print!("{}", output::sweep::text(&summary, &tables)?);
    println!("\nwritten {}/{{{}}}", out.display(), files.join(", "));
    Ok(())
}
