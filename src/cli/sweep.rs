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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use timescales_analysis::sweep::{
    EpsGrid, RunStore, Shard, SweepOptions, merge_run_dirs, run_sweep,
};
use timescales_analysis::{
    ConvergeOptions, Convergence, Detection, PlateauDetector, converge_n, fit_log_corrected,
    fit_power_law, interp_log_time, local_slopes,
};
use timescales_meanfield::simulate;
use timescales_ode::{SolverStats, Trajectory};
use timescales_report::text_table::{to_markdown, write_latex, write_markdown};
use timescales_report::{
    Axis, Column, LinePlot, Series, Table, write_csv, write_json_atomic, write_parquet,
};
use timescales_scenario::Scenario;

/// One phase at one ε: `(ε, t_mid, t_steepest, max|a|, max|s|)` at the phase end.
type PhasePoint = (f64, f64, f64, f64, f64);
/// A fitted line for the phase-time plot: `(label, ε, measured t, fitted t)`.
type FittedLine = (String, Vec<f64>, Vec<f64>, Vec<f64>);

/// Confidence level of every interval.
const LEVEL: f64 = 0.95;

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

/// Everything kept for one ε: the trajectory, what was detected on it, and how it was run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    /// ε.
    pub epsilon: f64,
    /// Particle count used.
    pub particles: usize,
    /// Where the scenario came from.
    pub scenario: String,
    /// Predicted plateau levels `R_l = ½ Σ_{k>l} φ_k²`, `l = 0..K`.
    pub plateau_levels: Vec<f64>,
    /// `σ_k`.
    pub sigma: Vec<f64>,
    /// `φ_k`.
    pub phi: Vec<f64>,
    /// The recorded trajectory (`risk, r_k, M_k, max_abs_a, max_abs_s`).
    pub trajectory: Trajectory,
    /// Plateaus and phases of the risk curve.
    pub detection: Detection,
    /// `max|a|` and `max|s|` at the end of each phase (same order as the phases).
    pub phase_end: Vec<[f64; 2]>,
    /// The N-doubling history, with --converge-n.
    pub convergence: Option<Convergence>,
    /// Solver statistics.
    pub stats: SolverStats,
    /// Notes of the integrator (absent phases, …).
    pub notes: Vec<String>,
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
        one_point(&scenario, eps, converge.as_ref())
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

/// Integrates the scenario at `eps` (doubling N with `converge`) and analyses the risk curve.
fn one_point(
    scenario: &Scenario,
    eps: f64,
    converge: Option<&ConvergeOptions>,
) -> anyhow::Result<SweepPoint> {
    let base = scenario
        .with_epsilon(eps)
        .with_context(|| format!("ε = {eps:e}"))?;
    let detector = PlateauDetector::default();
    let analyse = |sc: &Scenario| -> anyhow::Result<(timescales_meanfield::FlowRun, Detection)> {
        let run = simulate(&sc.problem)
            .with_context(|| format!("integrating ε = {eps:e}, N = {}", sc.problem.particles))?;
        let risk = run
            .trajectory
            .column("risk")
            .context("trajectory has no risk column")?;
        let det = detector
            .detect(&run.trajectory.t, risk, Some(&sc.plateau_levels))
            .with_context(|| format!("phase detection at ε = {eps:e}"))?;
        Ok((run, det))
    };
    let (scenario_used, run, detection, convergence) = match converge {
        None => {
            let (run, det) = analyse(&base)?;
            (base, run, det, None)
        }
        Some(opts) => {
            let mut last = None;
            let conv = converge_n(opts, |n| -> anyhow::Result<Vec<f64>> {
                let sc = base.with_particles(n).with_context(|| format!("N = {n}"))?;
                let (run, det) = analyse(&sc)?;
                let times = det.t_mid();
                last = Some((sc, run, det));
                Ok(times)
            })?;
            let (sc, run, det) = last.context("no run")?;
            (sc, run, det, Some(conv))
        }
    };
    let t = &run.trajectory.t;
    let col = |name: &str| {
        run.trajectory
            .column(name)
            .map(<[f64]>::to_vec)
            .unwrap_or_default()
    };
    let (a, s) = (col("max_abs_a"), col("max_abs_s"));
    let phase_end = detection
        .phases
        .iter()
        .map(|ph| {
            let at = |y: &[f64]| interp_log_time(t, y, ph.t_end).unwrap_or(f64::NAN);
            [at(&a), at(&s)]
        })
        .collect();
    Ok(SweepPoint {
        epsilon: eps,
        particles: scenario_used.problem.particles,
        scenario: scenario_used.origin.clone(),
        plateau_levels: scenario_used.plateau_levels.clone(),
        sigma: scenario_used.problem.sigma.clone(),
        phi: scenario_used.problem.phi.clone(),
        trajectory: run.trajectory,
        detection,
        phase_end,
        convergence,
        stats: run.stats,
        notes: run.notes,
    })
}

/// Label of a phase: the degree it learns (`"2–3"` when phases merged, from the hint labels
/// of the plateaus on both sides), else the degree of the plateau it reaches, else the level
/// it reaches (`"to 0.12"`).
fn phase_label(degrees_learnt: &[usize], degree: Option<usize>, level_after: f64) -> String {
    match (degrees_learnt, degree) {
        ([k], _) => k.to_string(),
        ([first, .., last], _) => format!("{first}–{last}"),
        ([], Some(l)) => l.to_string(),
        ([], None) => format!("to {level_after:.2}"),
    }
}

/// Predicted exponent of `quantity` for phase `label` (model.md §5): `t_l ~ ε^{1/(2l)}`
/// (`t_0 ~ ε`; `t_1 ~ √ε log(1/ε)`), and at the end of phase 1 `a ~ ε^{−1/4}`, `s ~ ε^{1/4}`.
///
/// A merged phase `"k1–k2"` is compared with the law of its first degree, which starts it.
fn predicted(label: &str, quantity: &str) -> f64 {
    let merged = label.contains('–');
    let first = label.split('–').next().unwrap_or("");
    let Ok(l) = first.parse::<usize>() else {
        return f64::NAN;
    };
    match (l, quantity) {
        (0, q) if q.starts_with('t') => 1.0,
        (l, q) if q.starts_with('t') => 1.0 / (2.0 * l as f64),
        (1, "max_abs_a") if !merged => -0.25,
        (1, "max_abs_s") if !merged => 0.25,
        _ => f64::NAN,
    }
}

/// One row of exponents.csv.
struct ExponentRow {
    phase: String,
    quantity: String,
    model: &'static str,
    gamma: f64,
    ci: [f64; 2],
    predicted: f64,
    n_points: usize,
    eps_range: [f64; 2],
}

/// Fits, tables and plots for a complete set of points.
fn write_report(out: &Path, points: &[SweepPoint]) -> anyhow::Result<()> {
    let mut points = points.to_vec();
    points.sort_by(|a, b| b.epsilon.total_cmp(&a.epsilon));
    let names = &points[0].trajectory.names;
    if let Some(p) = points.iter().find(|p| &p.trajectory.names != names) {
        bail!(
            "trajectories have different columns (ε = {:e}): were the shards run with one scenario?",
            p.epsilon
        );
    }

    // sweep.parquet: every trajectory with an epsilon column.
    let mut eps_col = Vec::new();
    let mut t_col = Vec::new();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for p in &points {
        eps_col.extend(std::iter::repeat_n(p.epsilon, p.trajectory.t.len()));
        t_col.extend_from_slice(&p.trajectory.t);
        for (c, v) in cols.iter_mut().zip(&p.trajectory.columns) {
            c.extend_from_slice(v);
        }
    }
    let mut sweep_table = Table::new().f64("epsilon", eps_col).f64("t", t_col);
    for (name, c) in names.iter().zip(cols) {
        sweep_table.push(name, Column::F64(c));
    }
    write_parquet(
        &sweep_table,
        &out.join("sweep.parquet"),
        &super::provenance(&points[0].scenario),
    )?;

    // phases.csv, and the phase groups for the fits.
    let mut groups: BTreeMap<String, Vec<PhasePoint>> = BTreeMap::new();
    let (
        mut pe,
        mut pl,
        mut pm,
        mut ps,
        mut plev,
        mut ppred,
        mut pdev,
        mut plen,
        mut pa,
        mut pss,
        mut pn,
    ) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    for p in &points {
        for (ph, end) in p.detection.phases.iter().zip(&p.phase_end) {
            let reached = &p.detection.plateaus[ph.to_plateau];
            let label = phase_label(&ph.degrees_learnt, ph.degree, ph.level_after);
            pe.push(p.epsilon);
            pl.push(label.clone());
            pm.push(ph.t_mid);
            ps.push(ph.t_steepest);
            plev.push(reached.level);
            ppred.push(reached.hint_level.unwrap_or(f64::NAN));
            pdev.push(reached.hint_deviation().unwrap_or(f64::NAN));
            plen.push(reached.length_log);
            pa.push(end[0]);
            pss.push(end[1]);
            pn.push(p.particles as u64);
            groups.entry(label).or_default().push((
                p.epsilon,
                ph.t_mid,
                ph.t_steepest,
                end[0],
                end[1],
            ));
        }
    }
    let phases_table = Table::new()
        .f64("epsilon", pe)
        .str("phase", pl)
        .f64("t_mid", pm)
        .f64("t_steepest", ps)
        .f64("plateau_level", plev)
        .f64("predicted_level", ppred)
        .f64("level_deviation", pdev)
        .f64("plateau_length_log", plen)
        .f64("max_abs_a", pa)
        .f64("max_abs_s", pss)
        .u64("particles", pn);
    write_csv(&phases_table, &out.join("phases.csv"))?;

    // plateaus.csv: every plateau, with its deviation from the predicted level.
    let (mut qe, mut qdeg, mut qlev, mut qpred, mut qdev, mut qent, mut qexit, mut qlen) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    for p in &points {
        for pl in &p.detection.plateaus {
            qe.push(p.epsilon);
            qdeg.push(pl.degree.map(|d| d as i64));
            qlev.push(pl.level);
            qpred.push(pl.hint_level.unwrap_or(f64::NAN));
            qdev.push(pl.hint_deviation().unwrap_or(f64::NAN));
            qent.push(pl.t_entry);
            qexit.push(pl.t_exit);
            qlen.push(pl.length_log);
        }
    }
    let plateaus_table = Table::new()
        .f64("epsilon", qe)
        .opt_i64("degree", qdeg)
        .f64("level", qlev)
        .f64("predicted_level", qpred)
        .f64("deviation", qdev)
        .f64("t_entry", qent)
        .f64("t_exit", qexit)
        .f64("length_log", qlen);
    write_csv(&plateaus_table, &out.join("plateaus.csv"))?;

    // Exponent fits and local slopes per phase group.
    let mut rows: Vec<ExponentRow> = Vec::new();
    let (mut se, mut sph, mut sq, mut ssl) = (vec![], vec![], vec![], vec![]);
    let mut fitted_lines: Vec<FittedLine> = Vec::new();
    let mut group_order: Vec<(&String, f64)> = groups
        .iter()
        .map(|(k, v)| (k, v.iter().map(|r| r.1.ln()).sum::<f64>() / v.len() as f64))
        .collect();
    group_order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let phase_points: Vec<(String, Vec<f64>, Vec<f64>)> = group_order
        .iter()
        .map(|(label, _)| {
            let g = &groups[*label];
            (
                (*label).clone(),
                g.iter().map(|r| r.0).collect(),
                g.iter().map(|r| r.1).collect(),
            )
        })
        .collect();
    for (label, _) in &group_order {
        let g = &groups[*label];
        let eps: Vec<f64> = g.iter().map(|r| r.0).collect();
        let range = [
            eps.iter().copied().fold(f64::INFINITY, f64::min),
            eps.iter().copied().fold(0.0, f64::max),
        ];
        let quantities: [(&str, Vec<f64>); 4] = [
            ("t_mid", g.iter().map(|r| r.1).collect()),
            ("t_steepest", g.iter().map(|r| r.2).collect()),
            ("max_abs_a", g.iter().map(|r| r.3).collect()),
            ("max_abs_s", g.iter().map(|r| r.4).collect()),
        ];
        for (q, y) in &quantities {
            let ok: Vec<usize> = (0..y.len())
                .filter(|&i| y[i].is_finite() && y[i] > 0.0)
                .collect();
            let (xe, ye): (Vec<f64>, Vec<f64>) = ok.iter().map(|&i| (eps[i], y[i])).unzip();
            // A confidence interval needs three points.
            if let Some(f) = (xe.len() >= 3)
                .then(|| fit_power_law(&xe, &ye, LEVEL).ok())
                .flatten()
            {
                rows.push(ExponentRow {
                    phase: (*label).clone(),
                    quantity: (*q).to_string(),
                    model: "C ε^γ",
                    gamma: f.gamma,
                    ci: f.gamma_ci,
                    predicted: predicted(label, q),
                    n_points: f.n_points,
                    eps_range: range,
                });
                if *q == "t_mid" {
                    fitted_lines.push((
                        (*label).clone(),
                        xe.clone(),
                        ye.clone(),
                        xe.iter().map(|&e| f.predict(e)).collect(),
                    ));
                }
            }
            if let Ok(sl) = local_slopes(&xe, &ye) {
                for s in sl {
                    se.push(s.eps_mid);
                    sph.push((*label).clone());
                    sq.push((*q).to_string());
                    ssl.push(s.slope);
                }
            }
            if *q == "t_mid"
                && label.as_str() == "1"
                && let Ok(f) = fit_log_corrected(&xe, &ye, LEVEL)
            {
                rows.push(ExponentRow {
                    phase: (*label).clone(),
                    quantity: "t_mid".into(),
                    model: "ε^γ (c₁ ln(1/ε) + c₀)",
                    gamma: f.gamma,
                    ci: f.gamma_ci,
                    predicted: 0.5,
                    n_points: f.n_points,
                    eps_range: range,
                });
            }
        }
    }
    let col = |f: fn(&ExponentRow) -> f64| rows.iter().map(f).collect::<Vec<_>>();
    let phase = rows.iter().map(|r| r.phase.as_str());
    let quantity = rows.iter().map(|r| r.quantity.as_str());
    let model = rows.iter().map(|r| r.model);
    let n_points = rows.iter().map(|r| r.n_points as u64).collect::<Vec<_>>();
    let exp_table = Table::new()
        .str("phase", phase.clone())
        .str("quantity", quantity.clone())
        .str("model", model.clone())
        .f64("gamma", col(|r| r.gamma))
        .f64("ci_low", col(|r| r.ci[0]))
        .f64("ci_high", col(|r| r.ci[1]))
        .f64("predicted", col(|r| r.predicted))
        .u64("n_points", n_points.as_slice())
        .f64("eps_min", col(|r| r.eps_range[0]))
        .f64("eps_max", col(|r| r.eps_range[1]));
    write_csv(&exp_table, &out.join("exponents.csv"))?;
    let slopes_table = Table::new()
        .f64("eps_mid", se)
        .str("phase", sph)
        .str("quantity", sq)
        .f64("local_slope", ssl);
    write_csv(&slopes_table, &out.join("local_slopes.csv"))?;

    // Human-readable tables.
    let pretty_table = Table::new()
        .str("phase", phase)
        .str("quantity", quantity)
        .str("law", model)
        .f64("γ", col(|r| r.gamma))
        .str(
            "95% CI",
            rows.iter()
                .map(|r| format!("[{:.3}, {:.3}]", r.ci[0], r.ci[1])),
        )
        .f64("predicted", col(|r| r.predicted))
        .u64("n", n_points);
    let dev_table = plateau_deviation_table(&points);
    let conv_table = convergence_table(&points);
    let legend = legend_text(&points);
    let mut md = format!("# Timescale exponents\n\n{legend}\n\n");
    md.push_str(&to_markdown(&pretty_table, 4)?);
    md.push_str("\n## Plateau levels: measured − predicted R_l, per ε\n\n");
    md.push_str(&to_markdown(&dev_table, 3)?);
    if let Some(c) = &conv_table {
        md.push_str("\n## Convergence in N (--converge-n)\n\n");
        md.push_str(&to_markdown(c, 3)?);
    }
    timescales_report::atomic::write_bytes_atomic(&out.join("table.md"), md.as_bytes())?;
    write_latex(
        &pretty_table,
        &out.join("table.tex"),
        4,
        Some("Timescale exponents with 95% confidence intervals"),
    )?;
    write_markdown(&dev_table, &out.join("plateau_deviation.md"), 3)?;

    // Plots.
    risk_plot(&points).write_svg(&out.join("risk_curves.svg"))?;
    if !phase_points.is_empty() {
        phase_plot(&phase_points, &fitted_lines).write_svg(&out.join("phase_times.svg"))?;
    }
    write_json_atomic(
        &out.join("sweep.json"),
        &serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "command": std::env::args().collect::<Vec<_>>(),
            "scenario": points[0].scenario,
            "epsilon": points.iter().map(|p| p.epsilon).collect::<Vec<_>>(),
            "particles": points.iter().map(|p| p.particles).collect::<Vec<_>>(),
            "outputs": ["sweep.parquet", "phases.csv", "plateaus.csv", "exponents.csv", "local_slopes.csv",
                        "table.md", "table.tex", "plateau_deviation.md", "risk_curves.svg", "phase_times.svg"],
        }),
    )?;

    println!("{legend}\n");
    print!("{}", to_markdown(&pretty_table, 4)?);
    println!("\nPlateau levels, measured − predicted R_l (rows: ε; columns: l):\n");
    print!("{}", to_markdown(&dev_table, 3)?);
    if let Some(c) = &conv_table {
        println!("\nConvergence in N:\n");
        print!("{}", to_markdown(c, 3)?);
    }
    println!(
        "\nwritten {}/{{sweep.parquet, phases.csv, plateaus.csv, exponents.csv, local_slopes.csv, table.md, table.tex, risk_curves.svg, phase_times.svg, sweep.json}}",
        out.display()
    );
    Ok(())
}

/// A short explanation printed above the exponent table.
fn legend_text(points: &[SweepPoint]) -> String {
    let levels: Vec<String> = points[0]
        .plateau_levels
        .iter()
        .map(|v| format!("{v:.4}"))
        .collect();
    format!(
        "Scenario {}: {} values of ε from {:e} to {:e}, N = {}.\n\
         The risk falls in phases between plateaus at the predicted levels R_l = ½ Σ_{{k>l}} φ_k² = [{}].\n\
         Phase l is the drop in which degree l is learnt, from plateau R_(l-1) to R_l (\"2–3\": phases 2 and 3\n\
         merged into one drop; \"to x\": the drop reaches a plateau at level x that matches no R_l).\n\
         t_mid: when the risk crosses halfway between the two plateaus; t_steepest: steepest descent in log t.\n\
         Each row fits the quantity across ε by the law shown (γ: exponent of ε, least squares in log–log,\n\
         95% Student-t interval; log-corrected law: profile-likelihood interval); max_abs_a, max_abs_s:\n\
         largest |a_i| and |s_i| at the end of the phase. predicted: model.md §5 (— where none is known).",
        points[0].scenario,
        points.len(),
        points[0].epsilon,
        points[points.len() - 1].epsilon,
        {
            let mut ns: Vec<usize> = points.iter().map(|p| p.particles).collect();
            ns.dedup();
            ns.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("/")
        },
        levels.join(", "),
    )
}

/// Rows: ε; columns: the measured plateau level minus `R_l` for each degree seen.
fn plateau_deviation_table(points: &[SweepPoint]) -> Table {
    let mut degrees: Vec<usize> = points
        .iter()
        .flat_map(|p| p.detection.plateaus.iter().filter_map(|q| q.degree))
        .collect();
    degrees.sort_unstable();
    degrees.dedup();
    let mut table = Table::new().f64("ε", points.iter().map(|p| p.epsilon).collect::<Vec<_>>());
    for l in degrees {
        let v: Vec<f64> = points
            .iter()
            .map(|p| {
                p.detection
                    .plateaus
                    .iter()
                    .find(|q| q.degree == Some(l))
                    .and_then(|q| q.hint_deviation())
                    .unwrap_or(f64::NAN)
            })
            .collect();
        let r = points[0].plateau_levels.get(l).copied().unwrap_or(f64::NAN);
        table.push(&format!("R_{l} = {r:.3}"), Column::F64(v));
    }
    table
}

/// With --converge-n: ε, the N used, whether it converged, and the last relative change.
fn convergence_table(points: &[SweepPoint]) -> Option<Table> {
    if points.iter().all(|p| p.convergence.is_none()) {
        return None;
    }
    let mut e = vec![];
    let mut n = vec![];
    let mut ok = vec![];
    let mut ch = vec![];
    let mut hist = vec![];
    for p in points {
        if let Some(c) = &p.convergence {
            e.push(p.epsilon);
            n.push(c.n as u64);
            ok.push(if c.converged { "yes" } else { "NO" }.to_string());
            ch.push(
                c.history
                    .last()
                    .and_then(|s| s.max_rel_change)
                    .unwrap_or(f64::NAN),
            );
            hist.push(
                c.history
                    .iter()
                    .map(|s| format!("{}:{}", s.n, s.phase_times.len()))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    Some(
        Table::new()
            .f64("ε", e)
            .u64("N used", n)
            .str("converged", ok)
            .f64("last rel. change", ch)
            .str("N:phases tried", hist),
    )
}

fn risk_plot(points: &[SweepPoint]) -> LinePlot {
    let guides = super::plateau_guides(&points[0].plateau_levels);
    let series = points
        .iter()
        .map(|p| {
            let risk = p
                .trajectory
                .column("risk")
                .map(<[f64]>::to_vec)
                .unwrap_or_default();
            let (t, r): (Vec<f64>, Vec<f64>) = p
                .trajectory
                .t
                .iter()
                .zip(&risk)
                .filter(|(t, r)| **t > 0.0 && **r > 0.0)
                .map(|(t, r)| (*t, *r))
                .unzip();
            Series::line(format!("ε = {:.1e}", p.epsilon), t, r)
        })
        .collect();
    LinePlot {
        title: format!("risk curves of the sweep ({})", points[0].scenario),
        x_label: "t".into(),
        y_label: "risk".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series,
        guides,
    }
}

fn phase_plot(points: &[(String, Vec<f64>, Vec<f64>)], lines: &[FittedLine]) -> LinePlot {
    let mut series = Vec::new();
    for (label, eps, t) in points {
        series.push(Series::points(
            format!("phase {label}: t_mid"),
            eps.clone(),
            t.clone(),
        ));
    }
    for (label, eps, _, fit) in lines {
        series.push(Series::dashed(
            format!("phase {label}: fit C ε^γ"),
            eps.clone(),
            fit.clone(),
        ));
    }
    LinePlot {
        title: "phase times against ε, with least-squares power laws".into(),
        x_label: "ε".into(),
        y_label: "t_mid".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series,
        guides: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_predictions() {
        assert_eq!(phase_label(&[2], Some(2), 0.5), "2");
        assert_eq!(phase_label(&[2, 3], Some(3), 0.0), "2–3");
        assert_eq!(phase_label(&[], Some(3), 0.0), "3");
        assert_eq!(phase_label(&[], None, 0.1234), "to 0.12");
        assert_eq!(predicted("2–3", "t_mid"), 0.25);
        assert!(predicted("1–2", "max_abs_a").is_nan());
        assert_eq!(predicted("1", "t_mid"), 0.5);
        assert_eq!(predicted("2", "t_steepest"), 0.25);
        assert_eq!(predicted("1", "max_abs_a"), -0.25);
        assert!(predicted("to 0.12", "t_mid").is_nan());
        assert!(predicted("3", "max_abs_s").is_nan());
    }
}
