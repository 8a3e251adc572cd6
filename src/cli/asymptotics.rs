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
    /// Discard the runs stored in DIR/runs (by default a rerun resumes them, and a
    /// directory holding another computation's runs is refused).
    #[arg(long)]
    pub fresh: bool,
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
    let fingerprint = output::fingerprint(
        "asymptotics point (Study::point)",
        &scenario.problem,
        serde_json::to_value(opts)?,
    )?;
    let store = RunStore::open(
        args.out.join("runs"),
        fingerprint,
        super::sweep::open_mode(args.fresh),
    )
    .map_err(super::sweep::store_error)?;
    let started = std::time::Instant::now();
    let sweep_opts = SweepOptions {
        progress: true,
        threads: None,
    };
    let report = run_sweep(&grid, Shard::default(), &store, &sweep_opts, |eps| {
        let problem = scenario.with_epsilon(eps)?.problem;
        Study::point(&problem, &opts)
            .map_err(|e| anyhow::Error::new(e).context(format!("ε = {eps:e}")))
    })?;
    for (eps, chain) in &report.failed {
        eprintln!("ε = {eps:e} failed: {}", chain.join(": "));
    }
    // The finished points in grid order (all of them, unless interrupted or failed).
    let mut points = report.results;
    points.sort_by(|a, b| {
        let at = |e: f64| grid.points().iter().position(|&p| p == e);
        at(a.0).cmp(&at(b.0))
    });
    let finished: Vec<f64> = points.iter().map(|p| p.0).collect();
    let study = Study {
        points: points.into_iter().map(|(_, p)| p).collect(),
    };
    let missing = grid.missing(&finished);
    let record = serde_json::json!({
        "scenario": scenario.origin,
        "fingerprint": store.fingerprint().fields(),
        "fingerprint_digest": store.fingerprint().digest(),
        "epsilon": grid.points(),
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
    if !study.points.is_empty() {
        let manifest = output::asymptotics::write(&args.out, &study, record)?;
        print!("{}", output::asymptotics::text(&scenario.origin, &study));
        println!(
            "\nwritten {}",
            output::written(&args.out, &manifest, "asymptotics.json")
        );
    }
    if !missing.is_empty() {
        bail!(
            "{} of {} values of ε not finished ({}){}; what finished is written and kept in {}: \
             rerun the same command to {}",
            missing.len(),
            grid.len(),
            if report.interrupted.is_empty() {
                "failed"
            } else {
                "interrupted"
            },
            if study.points.is_empty() {
                ""
            } else {
                " — the tables cover the others only"
            },
            store.dir().display(),
            if report.interrupted.is_empty() {
                "retry them"
            } else {
                "resume"
            },
        );
    }
    Ok(())
}
