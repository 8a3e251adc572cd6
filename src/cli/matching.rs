//! `timescales match`: outer, inner and composite expansions of a slow–fast system against
//! direct integration over a list of ε, with fitted orders; and `timescales run` for a
//! file with a `[system]` table ([`run_user_system`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use timescales::analysis::sweep::EpsGrid;
use timescales::jobs::{self, MatchJob, MatchSubject};
use timescales::matching::{Study, integrate_full_with};
use timescales::ode::{SlowFastSystem, SolverOptions};
use timescales::output;
use timescales::systems::{SystemFile, builtin};

/// Arguments of `timescales match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// A TOML file with a `[system]` table (the horizon is its `[run] t_end`).
    #[arg(conflicts_with = "problem")]
    pub system: Option<PathBuf>,
    /// A built-in problem (see `--list`).
    #[arg(long)]
    pub problem: Option<String>,
    /// The ε studied: `A:B:N` (N values log-spaced from A to B) or a comma-separated list.
    #[arg(long, default_value = "1e-1:1e-4:7")]
    pub eps: String,
    /// Output directory.
    #[arg(long, required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// Horizon T (default: the problem's, or `[run] t_end`).
    #[arg(long)]
    pub t_end: Option<f64>,
    /// ε of `composite.csv`: the studied ε closest to this (default: the largest).
    #[arg(long)]
    pub show_eps: Option<f64>,
    /// How far the singular orbit is followed looking for a relaxation cycle (default:
    /// 50 T).
    #[arg(long)]
    pub cycle_horizon: Option<f64>,
    /// Most jumps followed looking for the cycle (its folds must recur within them).
    #[arg(long, default_value_t = 8)]
    pub cycle_jumps: usize,
    /// Skip the relaxation-cycle study (`cycle.csv`).
    #[arg(long)]
    pub no_cycle: bool,
    /// List the built-in problems and exit.
    #[arg(long)]
    pub list: bool,
}

fn print_list() {
    println!("Built-in problems (timescales match --problem NAME):");
    for p in builtin::list() {
        println!("  {:<18} {}", p.name, p.summary);
        println!("  {:<18} reference: {}", "", p.provenance);
        println!(
            "  {:<18} x0 = {:?}, y0 = {:?}, T = {}",
            "", p.x0, p.y0, p.t_end
        );
    }
}

/// Runs `timescales match`.
pub fn run(args: &MatchArgs) -> anyhow::Result<()> {
    if args.list {
        print_list();
        return Ok(());
    }
    let out = args.out.as_deref().context("--out DIR is required")?;
    let s = match (&args.problem, &args.system) {
        (Some(name), None) => MatchSubject::builtin(name, args.t_end)?,
        (None, Some(path)) => MatchSubject::from_file(
            SystemFile::read(path)?,
            &path.display().to_string(),
            args.t_end,
        )?,
        _ => bail!("give a built-in problem (--problem NAME, see --list) or a SYSTEM.toml file"),
    };
    let eps = EpsGrid::parse(&args.eps).context("--eps")?;
    let job = MatchJob {
        eps: eps.points(),
        cycle: !args.no_cycle,
        cycle_horizon: args.cycle_horizon,
        cycle_jumps: args.cycle_jumps,
    };
    let o = jobs::matching(&s, &job)?;
    jobs::write_matching(out, &s, &o, pick_comparison(&o.study, args.show_eps))?;
    print!("{}", output::matching::text(&s.output(), &o.study, out));
    if let Some((_, f)) = &o.across_folds {
        match f {
            Ok(f) => print!("{}", output::matching::fold_text(f)?),
            Err(why) => println!("no composite across the folds: {why}"),
        }
    }
    match &o.cycle {
        Some(Ok(c)) => print!("{}", output::matching::cycle_text(c)),
        Some(Err(why)) if why.starts_with("no relaxation cycle") => println!("{why}"),
        Some(Err(why)) => println!("no relaxation cycle: {why}"),
        None => {}
    }
    Ok(())
}

/// Index of the comparison whose ε is closest (in log) to `wanted` (default: the largest ε).
fn pick_comparison(st: &Study, wanted: Option<f64>) -> usize {
    match wanted.filter(|w| *w > 0.0) {
        None => 0,
        Some(w) => st
            .comparisons
            .iter()
            .enumerate()
            .min_by(|a, b| {
                let da = (a.1.eps.ln() - w.ln()).abs();
                let db = (b.1.eps.ln() - w.ln()).abs();
                da.total_cmp(&db)
            })
            .map_or(0, |(i, _)| i),
    }
}

/// `timescales run FILE.toml` for a file with a `[system]` table: integrates
/// `x' = g`, `ε y' = f` directly with `[run] method` (default RODAS4) at `[run] epsilon`
/// (or `epsilon`) through the `[run] times` or `samples` (default: 201 times on
/// `[0, t_end]`), and writes `trajectory.csv`
/// (`t`, then the variable names) and `run.json` to `out`.
///
/// # Errors
/// File, parse (with line and column), integration and output errors.
pub fn run_user_system(path: &Path, out: &Path, epsilon: Option<f64>) -> anyhow::Result<()> {
    let file = SystemFile::read(path)?;
    let Some(run) = &file.run else {
        bail!(
            "{}: a [run] table (epsilon, t_end) is needed to integrate the system",
            path.display()
        );
    };
    let eps = match epsilon.or(run.epsilon) {
        Some(e) if e > 0.0 && e.is_finite() => e,
        Some(e) => bail!("epsilon must be positive, got {e}"),
        None => bail!("{}: no [run] epsilon; pass --epsilon", path.display()),
    };
    let times = run
        .output_times_at(eps)
        .with_context(|| path.display().to_string())?;
    let method = run
        .integrator()
        .with_context(|| path.display().to_string())?;
    let sys = &file.system;
    eprintln!(
        "timescales run: {} — {} slow, {} fast, ε = {eps:e}, t_end = {}, rtol = {:e}, method = {}",
        path.display(),
        sys.slow_dim(),
        sys.fast_dim(),
        run.t_end,
        run.rtol,
        method.name()
    );
    let (traj, stats) = integrate_full_with(
        sys,
        eps,
        &file.x0,
        &file.y0,
        &times,
        SolverOptions {
            rtol: run.rtol,
            atol: run.atol,
            ..SolverOptions::default()
        },
        method,
    )
    .with_context(|| format!("integrating {}", path.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let label = path.display().to_string();
    let final_state = output::matching::write_user_run(
        out, &label, &file, eps, run.rtol, run.atol, &traj, stats,
    )?;
    println!(
        "{label}: {} steps ({} rejected), final state {final_state:?}; written to {}",
        stats.steps,
        stats.rejected_steps,
        out.display()
    );
    Ok(())
}
