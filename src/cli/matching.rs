//! `timescales match`: outer, inner and composite expansions of a slow–fast system against
//! direct integration over a list of ε, with fitted orders; and `timescales run` for a
//! file with a `[system]` table ([`run_user_system`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use timescales::analysis::sweep::EpsGrid;
use timescales::matching::{
    CycleOptions, CycleStudy, FoldStudy, MatchingError, MatchingOptions, Study, cycle_study,
    fold_study, integrate_full_with, singular_orbit, study,
};
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

/// A system to study, with where it came from.
struct Subject {
    label: String,
    provenance: String,
    system: Box<dyn SlowFastSystem + Send + Sync>,
    x0: Vec<f64>,
    y0: Vec<f64>,
    t_end: f64,
}

fn subject(args: &MatchArgs) -> anyhow::Result<Subject> {
    match (&args.problem, &args.system) {
        (Some(name), None) => {
            let p = builtin::by_name(name)?;
            Ok(Subject {
                label: p.name.to_string(),
                provenance: p.provenance.to_string(),
                t_end: args.t_end.unwrap_or(p.t_end),
                system: p.system,
                x0: p.x0,
                y0: p.y0,
            })
        }
        (None, Some(path)) => {
            let file = SystemFile::read(path)?;
            let t_end = match (args.t_end, &file.run) {
                (Some(t), _) => t,
                (None, Some(run)) => run.t_end,
                (None, None) => bail!("{}: no [run] t_end; pass --t-end", path.display()),
            };
            Ok(Subject {
                label: path.display().to_string(),
                provenance: "user-defined system".into(),
                system: Box::new(file.system),
                x0: file.x0,
                y0: file.y0,
                t_end,
            })
        }
        _ => bail!("give a built-in problem (--problem NAME, see --list) or a SYSTEM.toml file"),
    }
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
    let s = subject(args)?;
    let mut eps = EpsGrid::parse(&args.eps)
        .context("--eps")?
        .points()
        .to_vec();
    eps.sort_by(|a, b| b.total_cmp(a));
    eprintln!(
        "timescales match: {} on [0, {}], eps = {:?}",
        s.label, s.t_end, eps
    );
    let opts = MatchingOptions::default();
    let st = study(s.system.as_ref(), &s.x0, &s.y0, s.t_end, &eps, &opts)
        .with_context(|| format!("matching study of {}", s.label))?;
    let shown = pick_comparison(&st, args.show_eps);
    let subject = output::matching::Subject {
        label: &s.label,
        provenance: &s.provenance,
        x0: &s.x0,
        y0: &s.y0,
        t_end: s.t_end,
    };
    let cycle = if args.no_cycle {
        None
    } else {
        let copts = CycleOptions {
            horizon: args.cycle_horizon.unwrap_or(50.0 * s.t_end),
            max_jumps: args.cycle_jumps,
            ..CycleOptions::default()
        };
        if !(copts.horizon > 0.0 && copts.horizon.is_finite()) {
            bail!("--cycle-horizon must be positive, got {}", copts.horizon);
        }
        eprintln!(
            "timescales match: looking for a relaxation cycle on [0, {}] (at most {} jumps)",
            copts.horizon, copts.max_jumps
        );
        Some(
            match cycle_study(s.system.as_ref(), &s.x0, &s.y0, &eps, &copts, &opts) {
                Ok(c) => Ok(c),
                // A direct integration that fails is a failure of the run, not an absent cycle.
                Err(e @ MatchingError::Direct { .. }) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("relaxation-cycle study of {}", s.label)));
                }
                Err(e) => Err(format!("{:#}", anyhow::Error::new(e))),
            },
        )
    };
    let across = match &cycle {
        Some(Ok(c)) => Some(across_folds(&s, c, &eps, args.cycle_jumps, &opts)?),
        _ => None,
    };
    let cycle_out = match (&cycle, &across) {
        (Some(Ok(c)), Some((t_end, f))) => output::matching::Cycle::Found {
            cycle: c,
            t_end: *t_end,
            across_folds: f.as_ref().map_err(String::as_str),
        },
        (Some(Err(why)), _) => output::matching::Cycle::Absent(why),
        _ => output::matching::Cycle::NotAsked,
    };
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    output::matching::write_with_cycle(out, &subject, &st, shown, &opts, cycle_out)?;
    print!("{}", output::matching::text(&subject, &st, out));
    if let Some((_, f)) = &across {
        match f {
            Ok(f) => print!("{}", output::matching::fold_text(f)?),
            Err(why) => println!("no composite across the folds: {why}"),
        }
    }
    match &cycle {
        Some(Ok(c)) => print!("{}", output::matching::cycle_text(c)),
        Some(Err(why)) if why.starts_with("no relaxation cycle") => println!("{why}"),
        Some(Err(why)) => println!("no relaxation cycle: {why}"),
        None => {}
    }
    Ok(())
}

/// The composite across folds of a relaxation oscillation on `[0, T]`, `T` = the first
/// fold of the singular orbit plus 3/4 of its period (a whole loop's jumps and landings,
/// ending on a branch: past a third fold the phase error the jumps accumulate, `O(ε ln ε)`
/// each, exceeds the `ε^{2/3}` windows at ε ≳ 1e-2), against direct integration: the
/// horizon and the study, or why it failed.
/// A direct integration that fails is an error of the run.
fn across_folds(
    s: &Subject,
    cycle: &CycleStudy,
    eps: &[f64],
    max_jumps: usize,
    opts: &MatchingOptions,
) -> anyhow::Result<(f64, Result<FoldStudy, String>)> {
    let period = cycle.singular.period;
    let first = singular_orbit(
        s.system.as_ref(),
        &s.x0,
        &s.y0,
        50.0 * period,
        period / 64.0,
        1,
        opts,
    )
    .ok()
    .and_then(|o| o.jump_times().first().copied());
    let Some(first) = first else {
        return Ok((0.0, Err("the singular orbit meets no fold".into())));
    };
    let t_end = first + 0.75 * period;
    eprintln!("timescales match: the composite across the folds on [0, {t_end}]");
    match fold_study(s.system.as_ref(), &s.x0, &s.y0, t_end, eps, max_jumps, opts) {
        Ok(f) => Ok((t_end, Ok(f))),
        Err(e @ MatchingError::Direct { .. }) => {
            Err(anyhow::Error::new(e).context(format!("composite across the folds of {}", s.label)))
        }
        Err(e) => Ok((t_end, Err(format!("{:#}", anyhow::Error::new(e))))),
    }
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
