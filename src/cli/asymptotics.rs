//! `timescales asymptotics`: phase asymptotics (model.md §5) against direct integration over
//! a log grid of ε — onset times predicted (closed forms, plateau flows, inner problems) and
//! measured (with convergence in the particle count), exponents, composite risk curves.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use timescales::analysis::sweep::EpsGrid;
use timescales::output;
use timescales::phases::{Study, StudyOptions};

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
    let bar = indicatif::ProgressBar::new(grid.len() as u64);
    let study = Study::run(&scenario.problem, grid.points(), &opts, &|| bar.inc(1))?;
    bar.finish_and_clear();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    output::asymptotics::write(&args.out, &study)?;
    print!("{}", output::asymptotics::text(&scenario.origin, &study));
    Ok(())
}
