//! `timescales asymptotics`: phase asymptotics (model.md §5) against direct integration over
//! a log grid of ε — onset times predicted (closed forms, plateau flows, inner problems) and
//! measured (with convergence in the particle count), exponents, composite risk curves.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;
use timescales_analysis::{
    ConvergeOptions, Convergence, converge_n, fit_log_corrected, fit_power_law, sweep::EpsGrid,
};
use timescales_phases::{EarlyPhases, OnsetRow, Study, direct_risk, measured_onsets, study};
use timescales_report::{Axis, Column, LinePlot, Series, Table, write_csv};

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

/// One ε: the study at the scenario's particle count and the convergence in `N`.
struct Point {
    study: Study,
    convergence: Convergence,
    /// Measured onsets per phase at each `N` tried.
    by_n: Vec<(usize, Vec<Option<f64>>)>,
}

impl Point {
    /// Measured onset of phase `l` at the last `N` tried.
    fn onset_at_last_n(&self, l: usize) -> Option<f64> {
        self.by_n.last().and_then(|(_, v)| v[l - 1])
    }
}

/// Runs `timescales asymptotics`.
pub fn run(args: &AsymptoticsArgs) -> anyhow::Result<()> {
    let scenario = super::load_scenario(args.scenario.as_deref())?;
    let grid = EpsGrid::parse(&args.eps).context("--eps")?;
    let problems = grid
        .points()
        .iter()
        .map(|&e| scenario.with_epsilon(e).map(|s| s.problem))
        .collect::<Result<Vec<_>, _>>()
        .context("--eps")?;
    if args.n_max < scenario.problem.particles {
        eprintln!(
            "note: --n-max {} is below the scenario's particle count {}: no convergence check in N",
            args.n_max, scenario.problem.particles
        );
    }
    let bar = indicatif::ProgressBar::new(problems.len() as u64);
    let points: Vec<Point> = problems
        .par_iter()
        .map(|p| {
            let s = one_point(p, args).with_context(|| format!("ε = {:e}", p.epsilon));
            bar.inc(1);
            s
        })
        .collect::<anyhow::Result<_>>()?;
    bar.finish_and_clear();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    write_tables(args, &points)?;
    print_report(&scenario.origin, &points);
    Ok(())
}

fn one_point(
    p: &timescales_meanfield::FlowProblem,
    args: &AsymptoticsArgs,
) -> anyhow::Result<Point> {
    let study = study(p, args.samples)?;
    let levels = study.early.plateau_levels.clone();
    let opts = ConvergeOptions {
        n_start: p.particles,
        n_max: args.n_max.max(p.particles),
        rel_tol: 1e-2,
    };
    let mut by_n = Vec::new();
    let convergence = converge_n(&opts, |n| -> anyhow::Result<Vec<f64>> {
        let onsets = if n == p.particles {
            study.onsets.iter().map(|o| o.onset_measured).collect()
        } else {
            let mut q = p.clone();
            q.particles = n;
            EarlyPhases::new(&q)?;
            let (t, risk) = direct_risk(&q, args.samples)?;
            measured_onsets(&q, &levels, &t, &risk)
        };
        let present = onsets.iter().flatten().copied().collect();
        by_n.push((n, onsets));
        Ok(present)
    })?;
    Ok(Point {
        study,
        convergence,
        by_n,
    })
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn write_tables(args: &AsymptoticsArgs, points: &[Point]) -> anyhow::Result<()> {
    let studies: Vec<&Study> = points.iter().map(|p| &p.study).collect();
    let rows: Vec<_> = studies.iter().flat_map(|s| s.onsets.iter()).collect();
    let converged: Vec<(usize, bool, Option<f64>)> = points
        .iter()
        .flat_map(|p| {
            (1..=p.study.onsets.len()).map(|l| {
                (
                    p.convergence.n,
                    p.convergence.converged,
                    p.onset_at_last_n(l),
                )
            })
        })
        .collect();
    let num = |f: fn(&OnsetRow) -> f64| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let flag = |f: fn(&OnsetRow) -> bool| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let phases = Table::new()
        .f64("epsilon", num(|r| r.epsilon))
        .u64(
            "phase",
            rows.iter().map(|r| r.phase as u64).collect::<Vec<_>>(),
        )
        .f64("onset_predicted", num(|r| opt(r.onset_predicted)))
        .f64("onset_measured", num(|r| opt(r.onset_measured)))
        .f64("onset_inner", num(|r| opt(r.onset_inner)))
        .f64("inner_blowup_time", num(|r| opt(r.inner_blowup)))
        .f64("growing_weight", num(|r| opt(r.growing_weight)))
        .u64(
            "n_last",
            converged.iter().map(|c| c.0 as u64).collect::<Vec<_>>(),
        )
        .bool(
            "n_converged",
            converged.iter().map(|c| c.1).collect::<Vec<_>>(),
        )
        .f64(
            "onset_measured_n_last",
            converged.iter().map(|c| opt(c.2)).collect::<Vec<_>>(),
        )
        .f64("plateau_level", num(|r| r.plateau_level))
        .f64("predicted_gamma", num(|r| r.predicted_gamma))
        .f64("predicted_beta", num(|r| r.predicted_beta))
        .f64("predicted_omega", num(|r| r.predicted_omega))
        .f64("max_abs_s_before", num(|r| opt(r.max_abs_s_before)))
        .f64("max_abs_a_before", num(|r| opt(r.max_abs_a_before)))
        .bool("present", flag(|r| r.present))
        .bool("previous_plateau_seen", flag(|r| r.previous_plateau_seen));
    write_csv(&phases, &args.out.join("phases_predicted.csv"))?;

    let (mut ce, mut cn, mut cp, mut ct, mut cc) = (vec![], vec![], vec![], vec![], vec![]);
    for p in points {
        for ((n, onsets), h) in p.by_n.iter().zip(&p.convergence.history) {
            for (i, t) in onsets.iter().enumerate() {
                ce.push(p.study.composite.epsilon);
                cn.push(*n as u64);
                cp.push(i as u64 + 1);
                ct.push(opt(*t));
                cc.push(h.max_rel_change.unwrap_or(f64::NAN));
            }
        }
    }
    let conv = Table::new()
        .f64("epsilon", ce)
        .u64("n", cn)
        .u64("phase", cp)
        .f64("onset_measured", ct)
        .f64("max_rel_change_all_phases", cc);
    write_csv(&conv, &args.out.join("convergence_n.csv"))?;

    let (mut e, mut t, mut full, mut comp) = (vec![], vec![], vec![], vec![]);
    for s in &studies {
        let c = &s.composite;
        e.extend(std::iter::repeat_n(c.epsilon, c.t.len()));
        t.extend_from_slice(&c.t);
        full.extend_from_slice(&c.risk_full);
        comp.extend_from_slice(&c.risk_composite);
    }
    let curves = Table::new()
        .f64("epsilon", e)
        .f64("t", t)
        .f64("risk_full", full)
        .f64("risk_composite", comp);
    write_csv(&curves, &args.out.join("composite_risk.csv"))?;

    let k = studies.first().map_or(0, |s| s.onsets.len());
    let per_study = |f: &dyn Fn(&Study) -> f64| studies.iter().map(|s| f(s)).collect::<Vec<_>>();
    let mut errors = Table::new()
        .f64("epsilon", per_study(&|s| s.composite.epsilon))
        .f64("max_abs_error", per_study(&|s| s.composite.max_abs_error))
        .f64(
            "max_log_time_error",
            per_study(&|s| s.composite.max_log_time_error),
        );
    for l in 1..=k {
        errors.push(
            &format!("max_rel_error_onset_{l}"),
            Column::F64(per_study(&|s| onset_error(s, l))),
        );
    }
    errors.push(
        "window_end",
        Column::F64(per_study(&|s| s.composite.window_end)),
    );
    write_csv(&errors, &args.out.join("composite_error.csv"))?;

    // One colour per ε: solid direct, dashed composite.
    let series = studies
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let c = &s.composite;
            [
                Series::line(
                    format!("ε = {:.0e}", c.epsilon),
                    c.t.clone(),
                    c.risk_full.clone(),
                )
                .coloured(i),
                Series::dashed(String::new(), c.t.clone(), c.risk_composite.clone()).coloured(i),
            ]
        })
        .collect();
    LinePlot {
        title: "risk: direct integration (solid) and composite (dashed)".into(),
        x_label: "t".into(),
        y_label: "risk".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Linear,
        series,
        guides: vec![],
    }
    .write_svg(&args.out.join("composite_risk.svg"))?;
    Ok(())
}

/// `|t_l predicted − t_l measured| / t_l measured`.
fn onset_error(s: &Study, l: usize) -> f64 {
    let o = &s.onsets[l - 1];
    match (o.onset_predicted, o.onset_measured) {
        (Some(p), Some(m)) => ((p - m) / m).abs(),
        _ => f64::NAN,
    }
}

/// Power-law exponent of `t(ε)` with its 95% CI (log-corrected for phase 1).
fn exponent(eps_t: &[(f64, f64)], log_corrected: bool) -> Option<(f64, [f64; 2])> {
    let (x, y): (Vec<f64>, Vec<f64>) = eps_t.iter().copied().unzip();
    if log_corrected {
        fit_log_corrected(&x, &y, 0.95)
            .map(|f| (f.gamma, f.gamma_ci))
            .ok()
    } else {
        fit_power_law(&x, &y, 0.95)
            .map(|f| (f.gamma, f.gamma_ci))
            .ok()
    }
}

fn show(fit: Option<(f64, [f64; 2])>) -> String {
    fit.map_or("—".into(), |(g, ci)| {
        format!("{g:.3} [{:.3}, {:.3}]", ci[0], ci[1])
    })
}

fn print_report(origin: &str, points: &[Point]) {
    let studies: Vec<&Study> = points.iter().map(|p| &p.study).collect();
    println!("phase asymptotics for {origin}");
    println!(
        "{:>10} {:>12} {:>12} {:>10} {:>14} {:>18}",
        "ε", "t1 predicted", "t1 measured", "rel. err", "composite err", "composite ln t err"
    );
    for s in &studies {
        let o = &s.onsets[0];
        println!(
            "{:>10.1e} {:>12.5e} {:>12.5e} {:>10.2e} {:>14.3e} {:>18.3e}",
            s.composite.epsilon,
            opt(o.onset_predicted),
            opt(o.onset_measured),
            onset_error(s, 1),
            s.composite.max_abs_error,
            s.composite.max_log_time_error
        );
    }
    let eps: Vec<f64> = studies.iter().map(|s| s.composite.epsilon).collect();
    let rel: Vec<f64> = studies.iter().map(|s| onset_error(s, 1)).collect();
    if let Ok(f) = fit_power_law(&eps, &rel, 0.95) {
        println!(
            "relative error of t1 ~ ε^{:.3} (95% CI [{:.3}, {:.3}], {} points)",
            f.gamma, f.gamma_ci[0], f.gamma_ci[1], f.n_points
        );
    }
    let err: Vec<f64> = studies.iter().map(|s| s.composite.max_abs_error).collect();
    if let Ok(f) = fit_power_law(&eps, &err, 0.95) {
        println!(
            "composite max error (all phases, t ≤ t_end) ~ ε^{:.3} (95% CI [{:.3}, {:.3}])",
            f.gamma, f.gamma_ci[0], f.gamma_ci[1]
        );
    }
    let lt: Vec<f64> = studies
        .iter()
        .map(|s| s.composite.max_log_time_error)
        .collect();
    if let Ok(f) = fit_power_law(&eps, &lt, 0.95) {
        println!(
            "composite max |ln t| error (time shift at levels across every drop) ~ ε^{:.3} (95% CI [{:.3}, {:.3}])",
            f.gamma, f.gamma_ci[0], f.gamma_ci[1]
        );
    }
    let k = studies.first().map_or(0, |s| s.onsets.len());
    for l in 2..=k {
        if studies
            .iter()
            .all(|s| s.onsets[l - 1].onset_measured.is_none())
        {
            continue;
        }
        println!();
        println!("phase {l}:");
        println!(
            "{:>10} {:>12} {:>18} {:>12} {:>9} {:>12} {:>9} {:>8} {:>8}",
            "ε",
            "measured",
            "measured at N",
            "composite",
            "rel.err",
            "inner",
            "rel.err",
            "T_c",
            "grow w"
        );
        for p in points {
            let o = &p.study.onsets[l - 1];
            let rel = |x: Option<f64>| match (x, o.onset_measured) {
                (Some(a), Some(m)) => ((a - m) / m).abs(),
                _ => f64::NAN,
            };
            println!(
                "{:>10.1e} {:>12.5e} {:>11.5e} {:>6} {:>12.5e} {:>9.2e} {:>12.5e} {:>9.2e} {:>8.4} {:>8.3}",
                o.epsilon,
                opt(o.onset_measured),
                opt(p.onset_at_last_n(l)),
                format!(
                    "{}{}",
                    p.convergence.n,
                    if p.convergence.converged { "" } else { "*" }
                ),
                opt(o.onset_predicted),
                rel(o.onset_predicted),
                opt(o.onset_inner),
                rel(o.onset_inner),
                opt(o.inner_blowup),
                opt(o.growing_weight),
            );
        }
        let rel: Vec<(f64, f64)> = studies
            .iter()
            .filter_map(|s| {
                let e = onset_error(s, l);
                e.is_finite().then_some((s.composite.epsilon, e))
            })
            .collect();
        if let Some((g, ci)) = exponent(&rel, false) {
            println!(
                "relative error of the composite t_{l} ~ ε^{g:.3} (95% CI [{:.3}, {:.3}])",
                ci[0], ci[1]
            );
        }
    }
    println!();
    println!(
        "{:>6} {:>26} {:>26} {:>26} {:>26} {:>10} {:>8}",
        "phase",
        "γ measured (scenario N)",
        "γ measured (last N)",
        "γ composite prediction",
        "γ inner prediction",
        "conjecture",
        "R_{l-1} unseen"
    );
    for l in 1..=k {
        let pick = |f: &dyn Fn(&Point) -> Option<f64>| -> Vec<(f64, f64)> {
            points
                .iter()
                .filter_map(|p| f(p).map(|t| (p.study.composite.epsilon, t)))
                .collect()
        };
        let measured = pick(&|p| p.study.onsets[l - 1].onset_measured);
        let at_last = pick(&|p| p.onset_at_last_n(l));
        let predicted = pick(&|p| p.study.onsets[l - 1].onset_predicted);
        let inner = pick(&|p| p.study.onsets[l - 1].onset_inner);
        let unseen = studies
            .iter()
            .filter(|s| !s.onsets[l - 1].previous_plateau_seen)
            .count();
        let lc = l == 1;
        println!(
            "{:>6} {:>26} {:>26} {:>26} {:>26} {:>10.4} {:>8}",
            l,
            show(exponent(&measured, lc)),
            show(exponent(&at_last, lc)),
            show(exponent(&predicted, lc)),
            show(exponent(&inner, lc)),
            1.0 / (2.0 * l as f64),
            format!("{unseen}/{}", studies.len())
        );
    }
    println!();
    println!(
        "{:>6} {:>26} {:>8} {:>26} {:>8}",
        "phase", "max|s| before ~ ε^β", "β pred.", "max|a| before ~ ε^(−ω)", "ω pred."
    );
    for l in 2..=k {
        let pick = |f: &dyn Fn(&timescales_phases::OnsetRow) -> Option<f64>| -> Vec<(f64, f64)> {
            points
                .iter()
                .filter_map(|p| f(&p.study.onsets[l - 1]).map(|v| (p.study.composite.epsilon, v)))
                .collect()
        };
        let s_fit = exponent(&pick(&|o| o.max_abs_s_before), false);
        let a_fit =
            exponent(&pick(&|o| o.max_abs_a_before), false).map(|(g, ci)| (-g, [-ci[1], -ci[0]]));
        if s_fit.is_none() && a_fit.is_none() {
            continue;
        }
        println!(
            "{:>6} {:>26} {:>8.4} {:>26} {:>8.4}",
            l,
            show(s_fit),
            1.0 / (2.0 * l as f64),
            show(a_fit),
            0.5 - 1.0 / (2.0 * l as f64)
        );
    }
    println!(
        "(max|s|, max|a| on the plateau before phase l, at √(t_(l−1) t_l) of the measured onsets;"
    );
    println!(
        " the inner problem's scalings s ~ ε^(1/(2l)), a ~ ε^(1/(2l) − ½) for the particles that grow)"
    );
    println!(
        "(phase 1: log-corrected model t = ε^γ (c₁ log(1/ε) + c₀); later phases: t = C ε^γ. \
         `last N`: the particle count doubled until every onset moved < 1% (* = not converged \
         at --n-max). `R_{{l-1}} unseen`: ε values where the risk never dwelt at the predicted \
         plateau before phase l — merged phases, or a plateau shifted by later degrees.)"
    );
    let mut notes: Vec<&String> = studies.iter().flat_map(|s| s.notes.iter()).collect();
    notes.sort();
    notes.dedup();
    for n in notes {
        println!("note: {n}");
    }
}
