//! The files of an ε sweep: `sweep.parquet` (every trajectory, with the `parquet` feature),
//! `phases.csv`, `plateaus.csv`, `exponents.csv`, `local_slopes.csv`, `table.md`,
//! `table.tex`, `plateau_deviation.md`, `risk_curves.svg`, `phase_times.svg` and
//! `sweep.json`.

use std::path::Path;

use crate::phases::sweep::{SweepPoint, SweepSummary};
use crate::report::text_table::{to_markdown, write_latex, write_markdown};
use crate::report::{
    Axis, Column, LinePlot, ReportError, Series, Table, atomic::write_bytes_atomic, write_csv,
    write_json_atomic,
};

/// The sweep's tables.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepTables {
    /// `phases.csv`.
    pub phases: Table,
    /// `plateaus.csv`.
    pub plateaus: Table,
    /// `exponents.csv`.
    pub exponents: Table,
    /// `local_slopes.csv`.
    pub slopes: Table,
    /// The exponent table for people (`table.md`, `table.tex`).
    pub pretty: Table,
    /// Measured − predicted plateau levels (`plateau_deviation.md`).
    pub deviation: Table,
    /// The convergence in `N`, when the sweep converged it.
    pub convergence: Option<Table>,
}

/// NaN for `None`.
fn or_nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// The tables of `summary`.
pub fn tables(summary: &SweepSummary) -> SweepTables {
    let p = &summary.phases;
    let phases = Table::new()
        .f64("epsilon", p.iter().map(|r| r.epsilon).collect::<Vec<_>>())
        .str("phase", p.iter().map(|r| r.phase.to_string()))
        .f64("t_mid", p.iter().map(|r| r.t_mid).collect::<Vec<_>>())
        .f64(
            "t_steepest",
            p.iter().map(|r| r.t_steepest).collect::<Vec<_>>(),
        )
        .f64(
            "plateau_level",
            p.iter().map(|r| r.plateau_level).collect::<Vec<_>>(),
        )
        .f64(
            "predicted_level",
            p.iter().map(|r| r.predicted_level).collect::<Vec<_>>(),
        )
        .f64(
            "level_deviation",
            p.iter().map(|r| r.level_deviation).collect::<Vec<_>>(),
        )
        .f64(
            "plateau_length_log",
            p.iter().map(|r| r.plateau_length_log).collect::<Vec<_>>(),
        )
        .f64(
            "max_abs_a",
            p.iter().map(|r| r.max_abs_a).collect::<Vec<_>>(),
        )
        .f64(
            "max_abs_s",
            p.iter().map(|r| r.max_abs_s).collect::<Vec<_>>(),
        )
        .u64(
            "particles",
            p.iter().map(|r| r.particles as u64).collect::<Vec<_>>(),
        );
    let q = &summary.plateaus;
    let plateaus = Table::new()
        .f64("epsilon", q.iter().map(|r| r.epsilon).collect::<Vec<_>>())
        .opt_i64(
            "degree",
            q.iter()
                .map(|r| r.degree.map(|d| d as i64))
                .collect::<Vec<_>>(),
        )
        .f64("level", q.iter().map(|r| r.level).collect::<Vec<_>>())
        .f64(
            "predicted_level",
            q.iter().map(|r| r.predicted_level).collect::<Vec<_>>(),
        )
        .f64(
            "deviation",
            q.iter().map(|r| r.deviation).collect::<Vec<_>>(),
        )
        .f64("t_entry", q.iter().map(|r| r.t_entry).collect::<Vec<_>>())
        .f64("t_exit", q.iter().map(|r| r.t_exit).collect::<Vec<_>>())
        .f64(
            "length_log",
            q.iter().map(|r| r.length_log).collect::<Vec<_>>(),
        );
    let e = &summary.exponents;
    let col =
        |f: fn(&crate::phases::sweep::ExponentRow) -> f64| e.iter().map(f).collect::<Vec<_>>();
    let n_points: Vec<u64> = e.iter().map(|r| r.n_points as u64).collect();
    let exponents = Table::new()
        .str("phase", e.iter().map(|r| r.phase.to_string()))
        .str("quantity", e.iter().map(|r| r.quantity.name()))
        .str("model", e.iter().map(|r| r.law.to_string()))
        .f64("gamma", col(|r| r.gamma))
        .f64("ci_low", col(|r| r.ci[0]))
        .f64("ci_high", col(|r| r.ci[1]))
        .f64("predicted", col(|r| or_nan(r.predicted)))
        .u64("n_points", n_points.as_slice())
        .f64("eps_min", col(|r| r.eps_range[0]))
        .f64("eps_max", col(|r| r.eps_range[1]));
    let s = &summary.slopes;
    let slopes = Table::new()
        .f64("eps_mid", s.iter().map(|r| r.eps_mid).collect::<Vec<_>>())
        .str("phase", s.iter().map(|r| r.phase.to_string()))
        .str("quantity", s.iter().map(|r| r.quantity.name()))
        .f64("local_slope", s.iter().map(|r| r.slope).collect::<Vec<_>>());
    let pretty = Table::new()
        .str("phase", e.iter().map(|r| r.phase.to_string()))
        .str("quantity", e.iter().map(|r| r.quantity.name()))
        .str("law", e.iter().map(|r| r.law.to_string()))
        .f64("γ", col(|r| r.gamma))
        .str(
            "95% CI",
            e.iter()
                .map(|r| format!("[{:.3}, {:.3}]", r.ci[0], r.ci[1])),
        )
        .f64("predicted", col(|r| or_nan(r.predicted)))
        .u64("n", n_points);
    let mut deviation = Table::new().f64("ε", summary.epsilon.clone());
    for (l, v) in &summary.level_deviations {
        let r = summary.plateau_levels.get(*l).copied().unwrap_or(f64::NAN);
        deviation.push(&format!("R_{l} = {r:.3}"), Column::F64(v.clone()));
    }
    let convergence = summary.convergence.as_ref().map(|rows| {
        Table::new()
            .f64("ε", rows.iter().map(|r| r.epsilon).collect::<Vec<_>>())
            .u64(
                "N used",
                rows.iter().map(|r| r.particles as u64).collect::<Vec<_>>(),
            )
            .str(
                "converged",
                rows.iter().map(|r| if r.converged { "yes" } else { "NO" }),
            )
            .f64(
                "last rel. change",
                rows.iter().map(|r| r.last_change).collect::<Vec<_>>(),
            )
            .str("N:phases tried", rows.iter().map(|r| r.tried.clone()))
    });
    SweepTables {
        phases,
        plateaus,
        exponents,
        slopes,
        pretty,
        deviation,
        convergence,
    }
}

/// Every trajectory of the sweep with an `epsilon` column (points in decreasing ε).
fn trajectories(points: &[SweepPoint]) -> Table {
    let mut points: Vec<&SweepPoint> = points.iter().collect();
    points.sort_by(|a, b| b.epsilon.total_cmp(&a.epsilon));
    let names = points.first().map_or(&[][..], |p| &p.trajectory.names[..]);
    let (mut eps, mut t) = (Vec::new(), Vec::new());
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for p in &points {
        eps.extend(std::iter::repeat_n(p.epsilon, p.trajectory.t.len()));
        t.extend_from_slice(&p.trajectory.t);
        for (c, v) in cols.iter_mut().zip(&p.trajectory.columns) {
            c.extend_from_slice(v);
        }
    }
    let mut table = Table::new().f64("epsilon", eps).f64("t", t);
    for (name, c) in names.iter().zip(cols) {
        table.push(name, Column::F64(c));
    }
    table
}

/// The text shown after a sweep: the legend, the exponent table, the plateau deviations and
/// the convergence in `N`.
///
/// # Errors
/// [`ReportError`] for a malformed table (a bug).
pub fn text(summary: &SweepSummary, tables: &SweepTables) -> Result<String, ReportError> {
    let mut s = format!("{}\n\n", summary.legend());
    s.push_str(&to_markdown(&tables.pretty, 4)?);
    s.push_str("\nPlateau levels, measured − predicted R_l (rows: ε; columns: l):\n\n");
    s.push_str(&to_markdown(&tables.deviation, 3)?);
    if let Some(c) = &tables.convergence {
        s.push_str("\nConvergence in N:\n\n");
        s.push_str(&to_markdown(c, 3)?);
    }
    Ok(s)
}

/// Writes the sweep's files into `dir` (module documentation) and returns its tables and
/// the names of the files written.
///
/// # Errors
/// [`ReportError`] when a file cannot be written.
pub fn write(
    dir: &Path,
    points: &[SweepPoint],
    summary: &SweepSummary,
) -> Result<(SweepTables, Vec<&'static str>), ReportError> {
    let t = tables(summary);
    let mut outputs = vec![];
    if super::write_parquet_if_enabled(
        &trajectories(points),
        &dir.join("sweep.parquet"),
        &super::provenance(&summary.scenario),
    )? {
        outputs.push("sweep.parquet");
    }
    for (table, name) in [
        (&t.phases, "phases.csv"),
        (&t.plateaus, "plateaus.csv"),
        (&t.exponents, "exponents.csv"),
        (&t.slopes, "local_slopes.csv"),
    ] {
        write_csv(table, &dir.join(name))?;
        outputs.push(name);
    }
    let mut md = format!("# Timescale exponents\n\n{}\n\n", summary.legend());
    md.push_str(&to_markdown(&t.pretty, 4)?);
    md.push_str("\n## Plateau levels: measured − predicted R_l, per ε\n\n");
    md.push_str(&to_markdown(&t.deviation, 3)?);
    if let Some(c) = &t.convergence {
        md.push_str("\n## Convergence in N (--converge-n)\n\n");
        md.push_str(&to_markdown(c, 3)?);
    }
    write_bytes_atomic(&dir.join("table.md"), md.as_bytes())?;
    write_latex(
        &t.pretty,
        &dir.join("table.tex"),
        4,
        Some("Timescale exponents with 95% confidence intervals"),
    )?;
    write_markdown(&t.deviation, &dir.join("plateau_deviation.md"), 3)?;
    outputs.extend(["table.md", "table.tex", "plateau_deviation.md"]);
    risk_plot(points, summary).write_svg(&dir.join("risk_curves.svg"))?;
    outputs.push("risk_curves.svg");
    if !summary.phases.is_empty() {
        phase_plot(summary).write_svg(&dir.join("phase_times.svg"))?;
        outputs.push("phase_times.svg");
    }
    write_json_atomic(
        &dir.join("sweep.json"),
        &serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "command": std::env::args().collect::<Vec<_>>(),
            "scenario": summary.scenario,
            "epsilon": summary.epsilon,
            "particles": points.iter().map(|p| p.particles).collect::<Vec<_>>(),
            "outputs": outputs,
        }),
    )?;
    outputs.push("sweep.json");
    Ok((t, outputs))
}

fn risk_plot(points: &[SweepPoint], summary: &SweepSummary) -> LinePlot {
    let mut points: Vec<&SweepPoint> = points.iter().collect();
    points.sort_by(|a, b| b.epsilon.total_cmp(&a.epsilon));
    let series = points
        .iter()
        .map(|p| {
            let risk = p.trajectory.column("risk").unwrap_or_default();
            let (t, r): (Vec<f64>, Vec<f64>) = p
                .trajectory
                .t
                .iter()
                .zip(risk)
                .filter(|(t, r)| **t > 0.0 && **r > 0.0)
                .map(|(t, r)| (*t, *r))
                .unzip();
            Series::line(format!("ε = {:.1e}", p.epsilon), t, r)
        })
        .collect();
    LinePlot {
        title: format!("risk curves of the sweep ({})", summary.scenario),
        x_label: "t".into(),
        y_label: "risk".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series,
        guides: super::plateau_guides(&summary.plateau_levels),
    }
}

fn phase_plot(summary: &SweepSummary) -> LinePlot {
    let mut series = Vec::new();
    for (id, eps, t) in summary.phase_times() {
        series.push(Series::points(format!("phase {id}: t_mid"), eps, t));
    }
    for row in summary.exponents.iter().filter(|r| {
        r.quantity == crate::phases::sweep::Quantity::TMid
            && r.law == crate::phases::sweep::FitLaw::PowerLaw
    }) {
        let eps: Vec<f64> = summary
            .phases
            .iter()
            .filter(|p| p.phase == row.phase && p.t_mid.is_finite() && p.t_mid > 0.0)
            .map(|p| p.epsilon)
            .collect();
        let fit = eps.iter().map(|&e| row.power_law_at(e)).collect();
        series.push(Series::dashed(
            format!("phase {}: fit C ε^γ", row.phase),
            eps,
            fit,
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
