//! `timescales run`: direct integration of one scenario, written atomically to a directory.

use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use timescales::meanfield::simulate_with;
use timescales::ode::interrupt;
use timescales::output;
use timescales::scenario::{Scenario, TomlFile, read_toml};

/// Arguments of `timescales run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (TOML), or a user-defined slow–fast `[system]` file; the built-in
    /// default scenario when omitted.
    pub scenario: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "out/run")]
    pub out: PathBuf,
    /// Override `run.epsilon`.
    #[arg(long)]
    pub epsilon: Option<f64>,
    /// Override `init.particles`.
    #[arg(long)]
    pub particles: Option<usize>,
}

/// Runs `timescales run`.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    // The file is read and parsed once.
    let mut scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            match read_toml(&text, &path.display().to_string())
                .with_context(|| format!("loading scenario {}", path.display()))?
            {
                TomlFile::Scenario(scenario) => *scenario,
                TomlFile::System => {
                    if args.particles.is_some() {
                        anyhow::bail!("--particles does not apply to a user-defined [system] file");
                    }
                    return super::matching::run_user_system(path, &args.out, args.epsilon);
                }
            }
        }
        None => Scenario::default_scenario(),
    };
    if let Some(eps) = args.epsilon {
        scenario = scenario.with_epsilon(eps).context("--epsilon")?;
    }
    if let Some(n) = args.particles {
        scenario = scenario.with_particles(n).context("--particles")?;
    }
    let p = &scenario.problem;
    eprintln!(
        "timescales run: {} — K = {}, N = {}, ε = {:e}, t_end = {}, rtol = {:e}",
        scenario.origin, scenario.degree, p.particles, p.epsilon, p.t_end, p.rtol
    );
    let (bar, mut tick) = super::log_time_bar(p.epsilon / 10.0, p.t_end, "integrating");
    // An interrupt (SIGINT, SIGTERM) stops the integration at the next accepted step; what
    // was computed is written.
    let result = simulate_with(p, &mut |t| {
        tick(t);
        if interrupt::requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    bar.finish_and_clear();
    let run = result.context("direct integration failed")?;
    let manifest = output::run::write(&args.out, &scenario, &run)?;
    if let Some(t) = run.interrupted_at {
        anyhow::bail!(
            "interrupted at t = {t:e}: the trajectory up to there is written to {}",
            args.out.display()
        );
    }
    print!(
        "{}",
        output::run::text(&scenario, &run, &args.out, &manifest)
    );
    Ok(())
}
