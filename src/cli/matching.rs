//! `timescales match`: outer, inner and composite expansions of a slow–fast system against
//! direct integration over a list of ε, with fitted orders; and `timescales run` for a
//! file with a `[system]` table ([`run_user_system`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use timescales_analysis::PowerLawFit;
use timescales_analysis::sweep::EpsGrid;
use timescales_matching::{APPROXIMATIONS, MatchingOptions, Study, integrate_full, study};
use timescales_ode::{SlowFastSystem, SolverOptions, SolverStats, Trajectory};
use timescales_report::{Axis, LinePlot, Series, Table, write_csv, write_json_atomic};
use timescales_systems::{SystemFile, builtin};

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

#[derive(Serialize)]
struct MatchRecord<'a> {
    version: &'static str,
    command: Vec<String>,
    system: &'a str,
    provenance: &'a str,
    x0: &'a [f64],
    y0: &'a [f64],
    t_end: f64,
    eps: &'a [f64],
    composite_eps: f64,
    options: &'a MatchingOptions,
    orders: &'a [timescales_matching::OrderRow],
    matching: &'a timescales_matching::MatchingCheck,
    direct_stats: Vec<SolverStats>,
    outputs: Vec<&'static str>,
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
    write_outputs(out, &s, &st, shown, &opts)?;
    print_summary(&s, &st, out);
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

fn write_outputs(
    out: &Path,
    s: &Subject,
    st: &Study,
    shown: usize,
    opts: &MatchingOptions,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    // composite.csv: t, then per variable full, outer, inner, composite; then the
    // first-order composites.
    let c = &st.comparisons[shown];
    let mut names = Vec::new();
    let mut columns = Vec::new();
    for (v, name) in c.names.iter().enumerate() {
        for (suffix, data) in [
            ("full", &c.full),
            ("outer", &c.outer),
            ("inner", &c.inner),
            ("composite", &c.composite),
        ] {
            names.push(format!("{name}_{suffix}"));
            columns.push(data[v].clone());
        }
    }
    for (v, name) in c.names.iter().enumerate() {
        names.push(format!("{name}_composite1"));
        columns.push(c.composite1[v].clone());
    }
    let traj = Trajectory {
        names,
        t: c.t.clone(),
        columns,
    };
    write_csv(&Table::from_trajectory(&traj), &out.join("composite.csv"))?;

    // composite_error.csv
    let e = &st.errors;
    let col =
        |f: fn(&timescales_matching::VariableErrors) -> f64| e.iter().map(f).collect::<Vec<_>>();
    let err = Table::new()
        .f64("epsilon", col(|r| r.eps))
        .str("variable", e.iter().map(|r| r.variable.as_str()))
        .f64("max_error_outer", col(|r| r.outer))
        .f64("max_error_inner", col(|r| r.inner))
        .f64("max_error_composite", col(|r| r.composite))
        .f64("max_error_composite1", col(|r| r.composite1));
    write_csv(&err, &out.join("composite_error.csv"))?;

    // order.csv
    let o = &st.orders;
    let pick = |f: fn(&PowerLawFit) -> f64| -> Vec<f64> {
        o.iter()
            .map(|r| r.fit.as_ref().map_or(f64::NAN, f))
            .collect()
    };
    let ord = Table::new()
        .str("variable", o.iter().map(|r| r.variable.as_str()))
        .str("approximation", o.iter().map(|r| r.approximation.as_str()))
        .f64("fitted_order", pick(|f| f.gamma))
        .f64("ci_low", pick(|f| f.gamma_ci[0]))
        .f64("ci_high", pick(|f| f.gamma_ci[1]))
        .str("note", o.iter().map(|r| r.note.clone().unwrap_or_default()));
    write_csv(&ord, &out.join("order.csv"))?;

    // matching.csv: the intermediate-variable check.
    let m = &st.matching;
    let mt = Table::new()
        .f64("epsilon", m.eps.as_slice())
        .f64(
            "t",
            m.eps
                .iter()
                .map(|e| e.powf(m.alpha) * m.eta)
                .collect::<Vec<_>>(),
        )
        .f64("mismatch", m.mismatch.as_slice())
        .f64("mismatch1", m.mismatch1.as_slice());
    write_csv(&mt, &out.join("matching.csv"))?;

    // composite_error.svg: every error against ε, with slope-1 and slope-2 guides.
    let mut series = Vec::new();
    for name in &st.names {
        let rows: Vec<_> = e.iter().filter(|r| &r.variable == name).collect();
        let x: Vec<f64> = rows.iter().map(|r| r.eps).collect();
        for (k, approx) in APPROXIMATIONS.iter().enumerate() {
            let y: Vec<f64> = rows.iter().map(|r| r.values()[k]).collect();
            if y.iter().all(|v| *v <= 0.0 || !v.is_finite()) {
                continue;
            }
            series.push(Series::points(format!("{name} {approx}"), x.clone(), y));
        }
    }
    if let (Some(&e0), Some(first)) = (st.eps.first(), e.first()) {
        let scale1 = first.composite.max(f64::MIN_POSITIVE) / e0;
        let scale2 = first.composite1.max(f64::MIN_POSITIVE) / (e0 * e0);
        series.push(Series::dashed(
            "slope 1",
            st.eps.clone(),
            st.eps.iter().map(|x| scale1 * x).collect(),
        ));
        series.push(Series::dashed(
            "slope 2",
            st.eps.clone(),
            st.eps.iter().map(|x| scale2 * x * x).collect(),
        ));
    }
    LinePlot {
        title: format!("{}: max error on [0, {}] against ε", s.label, s.t_end),
        x_label: "ε".into(),
        y_label: "max error".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series,
        guides: Vec::new(),
    }
    .write_svg(&out.join("composite_error.svg"))?;

    let record = MatchRecord {
        version: env!("CARGO_PKG_VERSION"),
        command: std::env::args().collect(),
        system: &s.label,
        provenance: &s.provenance,
        x0: &s.x0,
        y0: &s.y0,
        t_end: s.t_end,
        eps: &st.eps,
        composite_eps: c.eps,
        options: opts,
        orders: &st.orders,
        matching: &st.matching,
        direct_stats: st.comparisons.iter().map(|c| c.direct_stats).collect(),
        outputs: vec![
            "composite.csv",
            "composite_error.csv",
            "order.csv",
            "matching.csv",
            "composite_error.svg",
            "match.json",
        ],
    };
    write_json_atomic(&out.join("match.json"), &record)?;
    Ok(())
}

fn print_summary(s: &Subject, st: &Study, out: &Path) {
    println!(
        "{} on [0, {}]: fitted orders of the max error in ε",
        s.label, s.t_end
    );
    println!("| variable | approximation | order | 95% CI |\n|---|---|---|---|");
    for r in &st.orders {
        match (&r.fit, &r.note) {
            (Some(f), _) => println!(
                "| {} | {} | {:.3} | [{:.3}, {:.3}] |",
                r.variable, r.approximation, f.gamma, f.gamma_ci[0], f.gamma_ci[1]
            ),
            (None, note) => println!(
                "| {} | {} | — | {} |",
                r.variable,
                r.approximation,
                note.as_deref().unwrap_or("")
            ),
        }
    }
    let m = &st.matching;
    let fmt = |f: &Option<PowerLawFit>| {
        f.as_ref()
            .map_or("—".to_string(), |f| format!("{:.3}", f.gamma))
    };
    println!(
        "matching: |η₀(τ={}) − Y₀(0)| = {:.1e}, |lim η₁' − Y₀'(0)| = {:.1e}, |lim(η₁ − τY₀'(0)) − Y₁(0)| = {:.1e}; on t = ε^{} η: orders {} (leading) and {} (first order)",
        m.tau_last,
        m.limit_gap,
        m.slope_gap,
        m.offset_gap,
        m.alpha,
        fmt(&m.order),
        fmt(&m.order1)
    );
    println!("written to {}", out.display());
}

#[derive(Serialize)]
struct UserRunRecord<'a> {
    version: &'static str,
    command: Vec<String>,
    system: String,
    slow: Vec<String>,
    fast: Vec<String>,
    x0: &'a [f64],
    y0: &'a [f64],
    epsilon: f64,
    t_end: f64,
    rtol: f64,
    atol: f64,
    stats: SolverStats,
    final_state: Vec<f64>,
    outputs: Vec<&'static str>,
}

/// `timescales run FILE.toml` for a file with a `[system]` table: integrates
/// `x' = g`, `ε y' = f` directly (RODAS4) at `[run] epsilon` (or `epsilon`) through the
/// `[run] times` (default: 201 times on `[0, t_end]`), and writes `trajectory.csv`
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
    let times = run.output_times();
    let sys = &file.system;
    eprintln!(
        "timescales run: {} — {} slow, {} fast, ε = {eps:e}, t_end = {}, rtol = {:e}",
        path.display(),
        sys.slow_dim(),
        sys.fast_dim(),
        run.t_end,
        run.rtol
    );
    let (traj, stats) = integrate_full(
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
    )
    .with_context(|| format!("integrating {}", path.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_csv(&Table::from_trajectory(&traj), &out.join("trajectory.csv"))?;
    let record = UserRunRecord {
        version: env!("CARGO_PKG_VERSION"),
        command: std::env::args().collect(),
        system: path.display().to_string(),
        slow: sys.slow_names(),
        fast: sys.fast_names(),
        x0: &file.x0,
        y0: &file.y0,
        epsilon: eps,
        t_end: run.t_end,
        rtol: run.rtol,
        atol: run.atol,
        stats,
        final_state: traj.last().map(|(_, v)| v).unwrap_or_default(),
        outputs: vec!["trajectory.csv", "run.json"],
    };
    write_json_atomic(&out.join("run.json"), &record)?;
    println!(
        "{}: {} steps ({} rejected), final state {:?}; written to {}",
        path.display(),
        stats.steps,
        stats.rejected_steps,
        record.final_state,
        out.display()
    );
    Ok(())
}
