//! `timescales asymptotics`: phase asymptotics (model.md §5) against direct integration over
//! a log grid of ε — onset times predicted (closed forms, plateau flows, inner problems) and
//! measured (with convergence in the particle count), exponents, composite risk curves.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use timescales::analysis::sweep::{EpsGrid, RunStore, Shard, SweepOptions, run_sweep};
use timescales::output;
use timescales::phases::{EarlyPhases, Study, StudyOptions};

/// Arguments of `timescales asymptotics`.
#[derive(Debug, Args)]
pub struct AsymptoticsArgs {
    /// Scenario file (TOML); the built-in default when omitted.
    pub scenario: Option<PathBuf>,
    /// Log grid of ε, `start:stop:count`.
    #[arg(long, default_value = "1e-3:1e-9:7")]
    pub eps: String,
    /// Output directory.
    #[arg(long, default_value = "out/asymptotics")]
    pub out: PathBuf,
    /// Log-spaced output times per run (plus a dense window around the phase-1 onset).
    #[arg(long, default_value_t = 600)]
    pub samples: usize,
    /// Largest particle count of the convergence check: the count is doubled from the
    /// scenario's until every measured onset moves by less than 1% (the scenario's own count,
    /// or less, skips the check).
    #[arg(long, default_value_t = 256)]
    pub n_max: usize,
}

/// Runs `timescales asymptotics`.
pub fn run(args: &AsymptoticsArgs) -> anyhow::Result<()> {
    let scenario = super::load_scenario(args.scenario.as_deref())?;
    let grid = EpsGrid::parse(&args.eps).context("--eps")?;
    for &e in grid.points() {
        scenario.with_epsilon(e).context("--eps")?;
    }
    // The asymptotics start from phase 1: say at once when the scenario has none.
    EarlyPhases::new(&scenario.problem)
        .with_context(|| format!("{}: no phase asymptotics", scenario.origin))?;
    if args.n_max < scenario.problem.particles {
        eprintln!(
            "note: --n-max {} is below the scenario's particle count {}: no convergence check in N",
            args.n_max, scenario.problem.particles
        );
    }
    let opts = StudyOptions {
        samples: args.samples,
        n_max: args.n_max,
        ..StudyOptions::default()
    };
    // One record per ε in DIR/runs: an interrupted study resumes where it stopped.
    let store = RunStore::open(args.out.join("runs"))?;
    let sweep_opts = SweepOptions {
        progress: true,
        threads: None,
    };
    let report = run_sweep(&grid, Shard::default(), &store, &sweep_opts, |eps| {
        let problem = scenario.with_epsilon(eps)?.problem;
        Ok::<_, anyhow::Error>(Study::point(&problem, &opts)?)
    })?;
    for (eps, failure) in &report.failed {
        eprintln!("ε = {eps:e}: {failure:#}");
    }
    if !report.failed.is_empty() {
        bail!(
            "{} of {} values of ε failed; rerun the same command to retry them",
            report.failed.len(),
            grid.len()
        );
    }
    let mut points = report.results;
    points.sort_by(|a, b| {
        let at = |e: f64| grid.points().iter().position(|&p| p == e);
        at(a.0).cmp(&at(b.0))
    });
    let study = Study {
        points: points.into_iter().map(|(_, p)| p).collect(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    output::asymptotics::write(&args.out, &study)?;
    print!("{}", output::asymptotics::text(&scenario.origin, &study));
    Ok(())
}
