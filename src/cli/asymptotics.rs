//! `timescales asymptotics`: phase asymptotics (model.md §5) against direct integration over
//! a log grid of ε — onset times predicted and measured, exponents, composite risk curves.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use polars::prelude::*;
use rayon::prelude::*;
use timescales_analysis::{fit_log_corrected, fit_power_law, sweep::EpsGrid};
use timescales_phases::{Study, study};
use timescales_report::{Axis, LinePlot, Series, write_csv};

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
    let bar = indicatif::ProgressBar::new(problems.len() as u64);
    let studies: Vec<Study> = problems
        .par_iter()
        .map(|p| {
            let s = study(p, args.samples).with_context(|| format!("ε = {:e}", p.epsilon));
            bar.inc(1);
            s
        })
        .collect::<anyhow::Result<_>>()?;
    bar.finish_and_clear();

    write_tables(args, &studies)?;
    print_report(&scenario.origin, &studies);
    Ok(())
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn write_tables(args: &AsymptoticsArgs, studies: &[Study]) -> anyhow::Result<()> {
    let rows: Vec<_> = studies.iter().flat_map(|s| s.onsets.iter()).collect();
    let phases = df!(
        "epsilon" => rows.iter().map(|r| r.epsilon).collect::<Vec<_>>(),
        "phase" => rows.iter().map(|r| r.phase as u32).collect::<Vec<_>>(),
        "onset_predicted" => rows.iter().map(|r| opt(r.onset_predicted)).collect::<Vec<_>>(),
        "onset_measured" => rows.iter().map(|r| opt(r.onset_measured)).collect::<Vec<_>>(),
        "plateau_level" => rows.iter().map(|r| r.plateau_level).collect::<Vec<_>>(),
        "predicted_gamma" => rows.iter().map(|r| r.predicted_gamma).collect::<Vec<_>>(),
        "present" => rows.iter().map(|r| r.present).collect::<Vec<_>>(),
        "previous_plateau_seen" => rows.iter().map(|r| r.previous_plateau_seen).collect::<Vec<_>>(),
    )?;
    write_csv(&phases, &args.out.join("phases_predicted.csv"))?;

    let (mut e, mut t, mut full, mut comp) = (vec![], vec![], vec![], vec![]);
    for s in studies {
        let c = &s.composite;
        e.extend(std::iter::repeat_n(c.epsilon, c.t.len()));
        t.extend_from_slice(&c.t);
        full.extend_from_slice(&c.risk_full);
        comp.extend_from_slice(&c.risk_composite);
    }
    let curves = df!("epsilon" => e, "t" => t, "risk_full" => full, "risk_composite" => comp)?;
    write_csv(&curves, &args.out.join("composite_risk.csv"))?;

    let errors = df!(
        "epsilon" => studies.iter().map(|s| s.composite.epsilon).collect::<Vec<_>>(),
        "max_abs_error" => studies.iter().map(|s| s.composite.max_abs_error).collect::<Vec<_>>(),
        "max_rel_error_onset_1" => studies.iter().map(onset1_error).collect::<Vec<_>>(),
        "window_end" => studies.iter().map(|s| s.composite.window_end).collect::<Vec<_>>(),
    )?;
    write_csv(&errors, &args.out.join("composite_error.csv"))?;

    let series = studies
        .iter()
        .flat_map(|s| {
            let c = &s.composite;
            [
                Series::line(
                    format!("direct, ε = {:.0e}", c.epsilon),
                    c.t.clone(),
                    c.risk_full.clone(),
                ),
                Series::dashed(
                    format!("composite, ε = {:.0e}", c.epsilon),
                    c.t.clone(),
                    c.risk_composite.clone(),
                ),
            ]
        })
        .collect();
    LinePlot {
        title: "risk: direct integration (solid) and phase-0/1 composite (dashed)".into(),
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

fn onset1_error(s: &Study) -> f64 {
    let o = &s.onsets[0];
    match (o.onset_predicted, o.onset_measured) {
        (Some(p), Some(m)) => ((p - m) / m).abs(),
        _ => f64::NAN,
    }
}

fn print_report(origin: &str, studies: &[Study]) {
    println!("phase asymptotics for {origin}");
    println!(
        "{:>10} {:>12} {:>12} {:>10} {:>14}",
        "ε", "t1 predicted", "t1 measured", "rel. err", "composite err"
    );
    for s in studies {
        let o = &s.onsets[0];
        println!(
            "{:>10.1e} {:>12.5e} {:>12.5e} {:>10.2e} {:>14.3e}",
            s.composite.epsilon,
            opt(o.onset_predicted),
            opt(o.onset_measured),
            onset1_error(s),
            s.composite.max_abs_error
        );
    }
    let eps: Vec<f64> = studies.iter().map(|s| s.composite.epsilon).collect();
    let rel: Vec<f64> = studies.iter().map(onset1_error).collect();
    if let Ok(f) = fit_power_law(&eps, &rel, 0.95) {
        println!(
            "relative error of t1 ~ ε^{:.3} (95% CI [{:.3}, {:.3}], {} points)",
            f.gamma, f.gamma_ci[0], f.gamma_ci[1], f.n_points
        );
    }
    let err: Vec<f64> = studies.iter().map(|s| s.composite.max_abs_error).collect();
    if let Ok(f) = fit_power_law(&eps, &err, 0.95) {
        println!(
            "composite max error ~ ε^{:.3} (95% CI [{:.3}, {:.3}])",
            f.gamma, f.gamma_ci[0], f.gamma_ci[1]
        );
    }
    let k = studies.first().map_or(0, |s| s.onsets.len());
    println!(
        "{:>6} {:>22} {:>26} {:>10} {:>8}",
        "phase", "γ measured (power law)", "95% CI", "conjecture", "R_{l-1} unseen"
    );
    for l in 0..k {
        let pts: Vec<(f64, f64)> = studies
            .iter()
            .filter_map(|s| s.onsets[l].onset_measured.map(|t| (s.composite.epsilon, t)))
            .collect();
        let unseen = studies
            .iter()
            .filter(|s| !s.onsets[l].previous_plateau_seen)
            .count();
        let (x, y): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        let fit = if l == 0 {
            fit_log_corrected(&x, &y, 0.95)
                .map(|f| (f.gamma, f.gamma_ci))
                .ok()
        } else {
            fit_power_law(&x, &y, 0.95)
                .map(|f| (f.gamma, f.gamma_ci))
                .ok()
        };
        match fit {
            Some((g, ci)) => println!(
                "{:>6} {:>22.4} {:>26} {:>10.4} {:>8}",
                l + 1,
                g,
                format!("[{:.4}, {:.4}]", ci[0], ci[1]),
                1.0 / (2.0 * (l + 1) as f64),
                format!("{unseen}/{}", studies.len())
            ),
            None => println!(
                "{:>6} {:>22} (absent, or measured at fewer than 3 ε)",
                l + 1,
                "—"
            ),
        }
    }
    println!(
        "(phase 1 uses the log-corrected model t = ε^γ (c₁ log(1/ε) + c₀); `R_{{l-1}} unseen`:"
    );
    println!(
        " ε values where the risk never dwelt at the predicted plateau before phase l — merged phases,"
    );
    println!(" or a plateau shifted by the partial learning of later degrees)");
}
