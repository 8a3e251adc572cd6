//! The files of a phase-asymptotics study: `phases_predicted.csv`, `convergence_n.csv`,
//! `composite_risk.csv`, `composite_error.csv`, `composite_order.csv`, `composite_risk.svg`,
//! and the report shown after it.

use std::fmt::Write as _;
use std::path::Path;

use crate::phases::{OnsetRow, Study};
use crate::report::plot::{GREY, sequential_position};
use crate::report::{
    Axis, Column, Manifest, OutputSet, PanelPlot, ReportError, Series, Table, write_csv,
};

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn show(fit: Option<(f64, [f64; 2])>) -> String {
    fit.map_or("—".into(), |(g, ci)| {
        format!("{g:.3} [{:.3}, {:.3}]", ci[0], ci[1])
    })
}

/// Writes the study's tables and plot into `dir`, closed by the manifest `asymptotics.json`
/// with [`provenance`](super::provenance)`(record)`.
///
/// # Errors
/// [`ReportError`] when a file cannot be written.
pub fn write(
    dir: &Path,
    study: &Study,
    record: serde_json::Value,
) -> Result<Manifest, ReportError> {
    super::write_set(dir, "asymptotics.json", record, |set, _| {
        write_files(set, study)
    })
}

/// The study's tables, each with the name of its CSV file: `phases_predicted.csv`,
/// `convergence_n.csv`, `composite_risk.csv`, `composite_error.csv`, `composite_order.csv`
/// (the fitted order of each composite error measure across ε, with its 95% CI, the errors
/// at the ends of the grid, their ratio and the declared order).
pub fn tables(study: &Study) -> Vec<(&'static str, Table)> {
    let mut out = Vec::new();
    let points = &study.points;
    let studies: Vec<&crate::phases::Comparison> = points.iter().map(|p| &p.comparison).collect();
    let rows: Vec<_> = studies.iter().flat_map(|s| s.onsets.iter()).collect();
    let converged: Vec<(usize, bool, Option<f64>)> = points
        .iter()
        .flat_map(|p| {
            (1..=p.comparison.onsets.len()).map(|l| {
                (
                    p.convergence.n,
                    p.convergence.converged,
                    p.onset_at_last_n(l),
                )
            })
        })
        .collect();
    let num = |f: fn(&OnsetRow) -> f64| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    // t_l / t_{l−1}, both measured at the problem's N (NaN for phase 1 or a missing onset).
    let onset_ratio: Vec<f64> = studies
        .iter()
        .flat_map(|s| {
            s.onsets.iter().enumerate().map(|(i, o)| {
                let prev = i.checked_sub(1).and_then(|j| s.onsets[j].onset_measured);
                match (o.onset_measured, prev) {
                    (Some(t), Some(p)) => t / p,
                    _ => f64::NAN,
                }
            })
        })
        .collect();
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
        .bool("previous_plateau_seen", flag(|r| r.previous_plateau_seen))
        .f64(
            "previous_plateau_dwell",
            num(|r| opt(r.previous_plateau_dwell)),
        )
        .f64("onset_ratio_to_previous", onset_ratio);
    out.push(("phases_predicted.csv", phases));

    // One row per (ε, N, phase): the onset, its change from N/2, the estimated error of this
    // N (Richardson over N/4, N/2, N) with the extrapolated onset, and whether it is within
    // the tolerance.
    let mut conv_rows = ConvergenceRows::default();
    for p in points {
        for ((n, onsets), h) in p.by_n.iter().zip(&p.convergence.history) {
            let prev = p.by_n.iter().find(|(m, _)| 2 * m == *n).map(|(_, o)| o);
            for (i, t) in onsets.iter().enumerate() {
                let before = prev.and_then(|o| o.get(i).copied().flatten());
                // Estimates are indexed over the phases present at this N (the closure's
                // list); map phase i to its position among them.
                let k = onsets[..i].iter().filter(|o| o.is_some()).count();
                let est = t.and(h.error_estimate.get(k).copied());
                conv_rows.epsilon.push(p.comparison.composite.epsilon);
                conv_rows.n.push(*n as u64);
                conv_rows.phase.push(i as u64 + 1);
                conv_rows.onset.push(opt(*t));
                conv_rows.change.push(match (before, t) {
                    (Some(b), Some(t)) => (t - b) / b,
                    _ => f64::NAN,
                });
                conv_rows.error.push(opt(est));
                conv_rows
                    .extrapolated
                    .push(opt(t.and(h.extrapolated.get(k).copied())));
                conv_rows
                    .converged
                    .push(est.is_some_and(|e| e <= p.convergence.rel_tol));
                conv_rows
                    .max_change
                    .push(h.max_rel_change.unwrap_or(f64::NAN));
            }
        }
    }
    let conv = Table::new()
        .f64("epsilon", conv_rows.epsilon)
        .u64("n", conv_rows.n)
        .u64("phase", conv_rows.phase)
        .f64("onset_measured", conv_rows.onset)
        .f64("max_rel_change_all_phases", conv_rows.max_change)
        .f64("rel_change", conv_rows.change)
        .f64("rel_error_estimate", conv_rows.error)
        .f64("onset_extrapolated", conv_rows.extrapolated)
        .bool("converged", conv_rows.converged);
    out.push(("convergence_n.csv", conv));

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
    out.push(("composite_risk.csv", curves));

    let k = studies.first().map_or(0, |s| s.onsets.len());
    let per_study = |f: &dyn Fn(&crate::phases::Comparison) -> f64| {
        studies.iter().map(|s| f(s)).collect::<Vec<_>>()
    };
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
            Column::F64(points.iter().map(|p| p.onset_error(l)).collect()),
        );
    }
    errors.push(
        "window_end",
        Column::F64(per_study(&|s| s.composite.window_end)),
    );
    out.push(("composite_error.csv", errors));

    // One row per error measure: its fitted order across ε (crate::phases::Study::composite_order).
    let orders = study.composite_order();
    let fit = |f: fn(&crate::analysis::PowerLawFit) -> f64| {
        orders
            .iter()
            .map(|o| o.fit.as_ref().map_or(f64::NAN, f))
            .collect::<Vec<_>>()
    };
    let order = Table::new()
        .str("measure", orders.iter().map(|o| o.measure.clone()))
        .f64("order", fit(|f| f.gamma))
        .f64("order_ci_low", fit(|f| f.gamma_ci[0]))
        .f64("order_ci_high", fit(|f| f.gamma_ci[1]))
        .u64("points", vec![study.points.len() as u64; orders.len()])
        .f64(
            "epsilon_max",
            orders.iter().map(|o| o.first.0).collect::<Vec<_>>(),
        )
        .f64(
            "error_at_epsilon_max",
            orders.iter().map(|o| o.first.1).collect::<Vec<_>>(),
        )
        .f64(
            "epsilon_min",
            orders.iter().map(|o| o.last.0).collect::<Vec<_>>(),
        )
        .f64(
            "error_at_epsilon_min",
            orders.iter().map(|o| o.last.1).collect::<Vec<_>>(),
        )
        .f64("ratio", orders.iter().map(|o| o.ratio).collect::<Vec<_>>())
        .f64(
            "declared_order",
            orders.iter().map(|o| o.declared).collect::<Vec<_>>(),
        );
    out.push(("composite_order.csv", order));
    out
}

/// The columns of `convergence_n.csv`.
#[derive(Default)]
struct ConvergenceRows {
    epsilon: Vec<f64>,
    n: Vec<u64>,
    phase: Vec<u64>,
    onset: Vec<f64>,
    change: Vec<f64>,
    error: Vec<f64>,
    extrapolated: Vec<f64>,
    converged: Vec<bool>,
    max_change: Vec<f64>,
}

fn write_files(set: &mut OutputSet, study: &Study) -> Result<(), ReportError> {
    for (name, table) in tables(study) {
        write_csv(&table, &set.path(name))?;
    }
    let studies: Vec<&crate::phases::Comparison> =
        study.points.iter().map(|p| &p.comparison).collect();
    // One colour per ε on the sequential scale: the direct risk thick and light, the
    // composite thin, dashed and marked over it; their difference beneath on a log axis.
    let k = studies.len();
    let mut top = Vec::new();
    let mut bottom = Vec::new();
    for (i, s) in studies.iter().enumerate() {
        let c = &s.composite;
        let tint = sequential_position(i, k);
        top.push(
            Series::direct(
                format!("ε = {:.0e}", c.epsilon),
                c.t.clone(),
                c.risk_full.clone(),
            )
            .tinted(tint),
        );
        top.push(
            Series::composite(String::new(), c.t.clone(), c.risk_composite.clone()).tinted(tint),
        );
        let err: Vec<f64> = c
            .risk_composite
            .iter()
            .zip(&c.risk_full)
            .map(|(a, b)| (a - b).abs())
            .collect();
        bottom.push(Series::line(String::new(), c.t.clone(), err).tinted(tint));
    }
    top.extend(Series::direct_composite_keys());
    bottom.push(Series::line("|composite − direct|", vec![], vec![]).coloured(GREY));
    PanelPlot::solution_over_error(
        "risk: direct integration and composite, by ε",
        Axis::Log,
        ("risk".into(), top),
        ("|composite − direct|".into(), bottom),
    )
    .write_svg(&set.path("composite_risk.svg"))?;
    Ok(())
}

/// The report shown after a study of the problem from `origin`.
pub fn text(origin: &str, study: &Study) -> String {
    let points = &study.points;
    let mut out = String::new();
    let _ = writeln!(out, "phase asymptotics for {origin}");
    let _ = writeln!(
        out,
        "{:>10} {:>12} {:>12} {:>10} {:>14} {:>18}",
        "ε", "t1 predicted", "t1 measured", "rel. err", "composite err", "composite ln t err"
    );
    for p in points {
        let (s, o) = (&p.comparison, &p.comparison.onsets[0]);
        let _ = writeln!(
            out,
            "{:>10.1e} {:>12.5e} {:>12.5e} {:>10.2e} {:>14.3e} {:>18.3e}",
            s.composite.epsilon,
            opt(o.onset_predicted),
            opt(o.onset_measured),
            p.onset_error(1),
            s.composite.max_abs_error,
            s.composite.max_log_time_error
        );
    }
    if let Some(f) = study.power_law(&|p| p.onset_error(1)) {
        let _ = writeln!(
            out,
            "relative error of t1 ~ ε^{:.3} (95% CI [{:.3}, {:.3}], {} points)",
            f.gamma, f.gamma_ci[0], f.gamma_ci[1], f.n_points
        );
    }
    for o in study.composite_order() {
        let what = if o.measure == "max_abs_error" {
            "composite max error (all phases, t ≤ t_end)"
        } else {
            "composite max |ln t| error (time shift at levels across every drop)"
        };
        let fit = o.fit.as_ref().map_or("—".into(), |f| {
            format!(
                "ε^{:.3} (95% CI [{:.3}, {:.3}])",
                f.gamma, f.gamma_ci[0], f.gamma_ci[1]
            )
        });
        let _ = writeln!(
            out,
            "{what} ~ {fit}, {:.2e} → {:.2e} (factor {:.1}) over ε = {:.0e} … {:.0e}; declared O(ε^{})",
            o.first.1, o.last.1, o.ratio, o.first.0, o.last.0, o.declared
        );
    }
    let k = study.degree();
    for l in 2..=k {
        if points
            .iter()
            .all(|p| p.comparison.onsets[l - 1].onset_measured.is_none())
        {
            continue;
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "phase {l}:");
        let _ = writeln!(
            out,
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
            let o = &p.comparison.onsets[l - 1];
            let rel = |x: Option<f64>| match (x, o.onset_measured) {
                (Some(a), Some(m)) => ((a - m) / m).abs(),
                _ => f64::NAN,
            };
            let _ = writeln!(
                out,
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
        if let Some((g, ci)) = study.onset_error_exponent(l) {
            let _ = writeln!(
                out,
                "relative error of the composite t_{l} ~ ε^{g:.3} (95% CI [{:.3}, {:.3}])",
                ci[0], ci[1]
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>6} {:>26} {:>26} {:>26} {:>26} {:>10} {:>8}",
        "phase",
        "γ measured (scenario N)",
        "γ measured (last N)",
        "γ composite prediction",
        "γ inner prediction",
        "conjecture",
        "R_{l-1} unseen"
    );
    for e in study.onset_exponents() {
        let _ = writeln!(
            out,
            "{:>6} {:>26} {:>26} {:>26} {:>26} {:>10.4} {:>8}",
            e.phase,
            show(e.measured),
            show(e.measured_last_n),
            show(e.predicted),
            show(e.inner),
            e.conjecture,
            format!("{}/{}", e.previous_plateau_unseen, points.len())
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>6} {:>26} {:>8} {:>26} {:>8}",
        "phase", "max|s| before ~ ε^β", "β pred.", "max|a| before ~ ε^(−ω)", "ω pred."
    );
    for l in 2..=k {
        let (s_fit, a_fit) = study.size_exponents(l);
        if s_fit.is_none() && a_fit.is_none() {
            continue;
        }
        let _ = writeln!(
            out,
            "{:>6} {:>26} {:>8.4} {:>26} {:>8.4}",
            l,
            show(s_fit),
            1.0 / (2.0 * l as f64),
            show(a_fit),
            0.5 - 1.0 / (2.0 * l as f64)
        );
    }
    let _ = writeln!(
        out,
        "(max|s|, max|a| on the plateau before phase l, at √(t_(l−1) t_l) of the measured onsets;"
    );
    let _ = writeln!(
        out,
        " the inner problem's scalings s ~ ε^(1/(2l)), a ~ ε^(1/(2l) − ½) for the particles that grow)"
    );
    let _ = writeln!(
        out,
        "(phase 1: log-corrected model t = ε^γ (c₁ log(1/ε) + c₀); later phases: t = C ε^γ. \
         `last N`: the particle count doubled until every onset moved < 1% (* = not converged \
         at --n-max). `R_{{l-1}} unseen`: ε values where the risk never dwelt at the predicted \
         plateau before phase l — merged phases, or a plateau shifted by later degrees.)"
    );
    for n in study.notes() {
        let _ = writeln!(out, "note: {n}");
    }
    out
}
