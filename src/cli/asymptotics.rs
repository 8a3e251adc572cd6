//! `timescales asymptotics`: phase asymptotics (model.md §5) against direct integration over
//! a log grid of ε — onset times predicted (closed forms, plateau flows, inner problems) and
//! measured (with convergence in the particle count), exponents, composite risk curves.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use timescales::analysis::sweep::EpsGrid;
use timescales::jobs::{self, AsymptoticsJob, JobError, Progress};
use timescales::output;
use timescales::phases::StudyOptions;

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
    if args.n_max < scenario.problem.particles {
        eprintln!(
            "note: --n-max {} is below the scenario's particle count {}: no convergence check in N",
            args.n_max, scenario.problem.particles
        );
    }
    let job = AsymptoticsJob {
        grid,
        options: StudyOptions {
            samples: args.samples,
            n_max: args.n_max,
            ..StudyOptions::default()
        },
        mode: super::sweep::open_mode(args.fresh),
        out: args.out.clone(),
        progress: Progress {
            bar: true,
            on_point: None,
        },
    };
    let o = jobs::asymptotics(&scenario, &job).map_err(|e| match e {
        JobError::Scenario(e) => anyhow::Error::new(e).context("--eps"),
        JobError::Phases { origin, source } => {
            anyhow::Error::new(source).context(format!("{origin}: no phase asymptotics"))
        }
        e => super::sweep::job_error(e),
    })?;
    for (eps, chain) in &o.failed {
        eprintln!("ε = {eps:e} failed: {}", chain.join(": "));
    }
    if let Some(manifest) = &o.manifest {
        print!("{}", output::asymptotics::text(&scenario.origin, &o.study));
        println!(
            "\nwritten {}",
            output::written(&args.out, manifest, "asymptotics.json")
        );
    }
    if !o.missing.is_empty() {
        bail!(
            "{} of {} values of ε not finished ({}){}; what finished is written and kept in {}: \
             rerun the same command to {}",
            o.missing.len(),
            job.grid.len(),
            if o.interrupted.is_empty() {
                "failed"
            } else {
                "interrupted"
            },
            if o.study.points.is_empty() {
                ""
            } else {
                " — the tables cover the others only"
            },
            o.runs.display(),
            if o.interrupted.is_empty() {
                "retry them"
            } else {
                "resume"
            },
        );
    }
    Ok(())
}
