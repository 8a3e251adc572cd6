//! `timescales run`: direct integration of one scenario, written atomically to a directory.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use timescales_meanfield::{FlowRun, simulate_with};
use timescales_report::{
    Axis, LinePlot, Series, Table, write_csv, write_json_atomic, write_parquet,
};
use timescales_scenario::Scenario;

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

#[derive(Serialize)]
struct RunRecord<'a> {
    version: &'static str,
    command: Vec<String>,
    scenario: &'a Scenario,
    stats: timescales_ode::SolverStats,
    notes: &'a [String],
    max_risk_increase: f64,
    final_risk: f64,
    outputs: Vec<&'static str>,
}

/// Runs `timescales run`.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.scenario {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if timescales_scenario::is_system_file(&text) {
            if args.particles.is_some() {
                anyhow::bail!("--particles does not apply to a user-defined [system] file");
            }
            return super::matching::run_user_system(path, &args.out, args.epsilon);
        }
    }
    let mut scenario = super::load_scenario(args.scenario.as_deref())?;
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
    // Ctrl-C stops the integration at the next accepted step; what was computed is written.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // A second handler cannot be installed in one process; then Ctrl-C just kills it.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let result = simulate_with(p, &mut |t| {
        tick(t);
        if stop.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    bar.finish_and_clear();
    let run = result.context("direct integration failed")?;
    write_outputs(&args.out, &scenario, &run)?;
    if let Some(t) = run.interrupted_at {
        anyhow::bail!(
            "interrupted at t = {t:e}: the trajectory up to there is written to {}",
            args.out.display()
        );
    }
    print_summary(&scenario, &run, &args.out);
    Ok(())
}

/// Writes trajectory.csv, trajectory.parquet, risk.svg and run.json into `out`.
pub fn write_outputs(out: &Path, scenario: &Scenario, run: &FlowRun) -> anyhow::Result<()> {
    let table = Table::from_trajectory(&run.trajectory);
    write_csv(&table, &out.join("trajectory.csv"))?;
    write_parquet(
        &table,
        &out.join("trajectory.parquet"),
        &super::provenance(&scenario.origin),
    )?;
    risk_plot(scenario, run).write_svg(&out.join("risk.svg"))?;
    let risk = run.trajectory.column("risk").expect("risk column");
    let record = RunRecord {
        version: env!("CARGO_PKG_VERSION"),
        command: std::env::args().collect(),
        scenario,
        stats: run.stats,
        notes: &run.notes,
        max_risk_increase: run.max_risk_increase,
        final_risk: *risk.last().unwrap_or(&f64::NAN),
        outputs: vec![
            "trajectory.csv",
            "trajectory.parquet",
            "risk.svg",
            "run.json",
        ],
    };
    write_json_atomic(&out.join("run.json"), &record)?;
    Ok(())
}

fn risk_plot(scenario: &Scenario, run: &FlowRun) -> LinePlot {
    let t = run.trajectory.t.clone();
    let risk = run.trajectory.column("risk").expect("risk column").to_vec();
    let guides = super::plateau_guides(&scenario.plateau_levels);
    LinePlot {
        title: format!(
            "risk, ε = {:e}, N = {}",
            scenario.problem.epsilon, scenario.problem.particles
        ),
        x_label: "t".into(),
        y_label: "risk".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series: vec![Series::line("direct integration", t, risk)],
        guides,
    }
}

fn print_summary(scenario: &Scenario, run: &FlowRun, out: &Path) {
    let s = &run.stats;
    let risk = run.trajectory.column("risk").expect("risk column");
    println!("scenario      {}", scenario.origin);
    println!(
        "problem       K = {}, N = {}, ε = {:e}, t_end = {}",
        scenario.degree,
        scenario.problem.particles,
        scenario.problem.epsilon,
        scenario.problem.t_end
    );
    println!(
        "solver        {} steps ({} rejected), {} RHS, {} Jacobians, {} solves, {:.3} s",
        s.steps, s.rejected_steps, s.rhs_evals, s.jacobian_evals, s.linear_solves, s.wall_seconds
    );
    println!(
        "risk          {:.6} → {:.6e} (largest one-step increase {:.1e})",
        risk.first().copied().unwrap_or(f64::NAN),
        risk.last().copied().unwrap_or(f64::NAN),
        run.max_risk_increase
    );
    let levels: Vec<String> = scenario
        .plateau_levels
        .iter()
        .map(|v| format!("{v:.4}"))
        .collect();
    println!("plateaus R_l   {} (predicted, l = 0..K)", levels.join(", "));
    for note in &run.notes {
        println!("note          {note}");
    }
    println!(
        "written       {}/{{trajectory.csv, trajectory.parquet, risk.svg, run.json}}",
        out.display()
    );
}
