//! The files of an ε sweep: `sweep.parquet` (every trajectory, with the `parquet` feature),
//! `phases.csv`, `plateaus.csv`, `exponents.csv`, `local_slopes.csv`, `table.md`,
//! `table.tex`, `plateau_deviation.md`, `risk_curves.svg`, `phase_times.svg`,
//! `failures.csv` (when points failed), and last the manifest `sweep.json`.
//!
//! A sweep whose points do not cover its grid (a shard, an interrupted or failed sweep, a
//! merge asked for a partial result) writes its tables from the points it has, and says so
//! in every table: a first column `partial` (`"k of n grid points"`), a line in `table.md`
//! and `table.tex`, and the plots' titles.

use std::borrow::Cow;
use std::path::Path;

use serde::Serialize;

use crate::analysis::sweep::Shard;
use crate::phases::sweep::{PhaseId, SweepPoint, SweepSummary};
use crate::report::plot::sequential_position;
use crate::report::text_table::{to_markdown, write_latex, write_markdown};
use crate::report::{
    Axis, Column, LinePlot, Manifest, OutputSet, ReportError, Series, Table,
    atomic::write_bytes_atomic, write_csv,
};

/// What produced a sweep's points and how far it got: the fields of the manifest
/// `sweep.json` besides its files.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRecord {
    /// Where the scenario came from.
    pub scenario: String,
    /// The fingerprint of the computation (every parameter that determines the numbers).
    pub fingerprint: serde_json::Value,
    /// Its SHA-256 digest (the run files in `runs/` carry it).
    pub fingerprint_digest: String,
    /// The grid's points, in its order.
    pub epsilon: Vec<f64>,
    /// The share of the grid this invocation ran (`0/1`: all of it; a merge: `0/1`).
    pub shard: Shard,
    /// `complete`, `partial` (points missing, no failure), `failed` or `interrupted`.
    pub status: &'static str,
    /// Points computed by this invocation.
    pub computed: Vec<f64>,
    /// Points found finished in the store.
    pub resumed: Vec<f64>,
    /// Points of the grid without a result.
    pub missing: Vec<f64>,
    /// Points that failed, with their error chains.
    pub failed: Vec<(f64, Vec<String>)>,
    /// Shard directories merged (a merge only).
    pub merged_from: Vec<String>,
    /// Worker threads.
    pub threads: usize,
    /// Wall time of this invocation, seconds.
    pub wall_seconds: f64,
}

impl SweepRecord {
    /// `"k of n grid points"` when points are missing.
    pub fn partial(&self) -> Option<String> {
        (!self.missing.is_empty()).then(|| {
            format!(
                "{} of {} grid points",
                self.epsilon.len() - self.missing.len(),
                self.epsilon.len()
            )
        })
    }
}

/// `table` as written: as it is, or for a partial result with a first column `partial`
/// holding the note on every row.
pub fn marked<'a>(table: &'a Table, partial: Option<&str>) -> Cow<'a, Table> {
    let Some(note) = partial else {
        return Cow::Borrowed(table);
    };
    let mut marked = Table::new().str("partial", std::iter::repeat_n(note, table.height()));
    for (name, column) in table.columns() {
        marked.push(name, column.clone());
    }
    Cow::Owned(marked)
}

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
        .f64("eps_max", col(|r| r.eps_range[1]))
        .str("status", e.iter().map(|r| r.status()))
        .str(
            "reason",
            e.iter().map(|r| r.failure.clone().unwrap_or_default()),
        );
    let s = &summary.slopes;
    let slopes = Table::new()
        .f64("eps_mid", s.iter().map(|r| r.eps_mid).collect::<Vec<_>>())
        .str("phase", s.iter().map(|r| r.phase.to_string()))
        .str("quantity", s.iter().map(|r| r.quantity.name()))
        .f64("local_slope", s.iter().map(|r| r.slope).collect::<Vec<_>>());
    let fitted: Vec<&crate::phases::sweep::ExponentRow> =
        e.iter().filter(|r| r.failure.is_none()).collect();
    let pretty = Table::new()
        .str("phase", fitted.iter().map(|r| r.phase.to_string()))
        .str("quantity", fitted.iter().map(|r| r.quantity.name()))
        .str("law", fitted.iter().map(|r| r.law.to_string()))
        .f64("γ", fitted.iter().map(|r| r.gamma).collect::<Vec<_>>())
        .str(
            "95% CI",
            fitted
                .iter()
                .map(|r| format!("[{:.3}, {:.3}]", r.ci[0], r.ci[1])),
        )
        .f64(
            "predicted",
            fitted
                .iter()
                .map(|r| or_nan(r.predicted))
                .collect::<Vec<_>>(),
        )
        .u64(
            "n",
            fitted.iter().map(|r| r.n_points as u64).collect::<Vec<_>>(),
        );
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

/// The fits that could not be made, one line each (empty when all were).
fn fits_not_made(summary: &SweepSummary) -> String {
    let failed: Vec<String> = summary
        .exponents
        .iter()
        .filter_map(|r| {
            r.failure.as_ref().map(|why| {
                format!(
                    "- phase {}, {}, {}: {why}\n",
                    r.phase,
                    r.quantity.name(),
                    r.law
                )
            })
        })
        .collect();
    if failed.is_empty() {
        String::new()
    } else {
        format!(
            "\nFits not made (status `failed` in exponents.csv):\n\n{}",
            failed.concat()
        )
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
    s.push_str(&fits_not_made(summary));
    s.push_str("\nPlateau levels, measured − predicted R_l (rows: ε; columns: l):\n\n");
    s.push_str(&to_markdown(&tables.deviation, 3)?);
    if let Some(c) = &tables.convergence {
        s.push_str("\nConvergence in N:\n\n");
        s.push_str(&to_markdown(c, 3)?);
    }
    Ok(s)
}

/// `failures.csv`: one row per failed point, its error and the chain of causes.
fn failures_table(failed: &[(f64, Vec<String>)]) -> Table {
    Table::new()
        .f64("epsilon", failed.iter().map(|f| f.0).collect::<Vec<_>>())
        .str(
            "error",
            failed
                .iter()
                .map(|f| f.1.first().cloned().unwrap_or_default()),
        )
        .str(
            "causes",
            failed
                .iter()
                .map(|f| f.1.get(1..).unwrap_or_default().join(" | ")),
        )
}

/// Writes the sweep's files into `dir` (module documentation) as one set closed by
/// `sweep.json`, and returns its tables (when there are points) and the manifest.
///
/// # Errors
/// [`ReportError`] when a file cannot be written.
pub fn write(
    dir: &Path,
    record: &SweepRecord,
    points: &[SweepPoint],
    summary: Option<&SweepSummary>,
) -> Result<(Option<SweepTables>, Manifest), ReportError> {
    let partial = record.partial();
    let mut tables = None;
    let fields = super::fields(record, "sweep.json")?;
    let manifest = super::write_set(dir, "sweep.json", fields, |set, provenance| {
        if !record.failed.is_empty() {
            write_csv(&failures_table(&record.failed), &set.path("failures.csv"))?;
        }
        if let Some(summary) = summary {
            let t = tables_files(set, points, summary, partial.as_deref(), provenance)?;
            tables = Some(t);
        }
        Ok(())
    })?;
    Ok((tables, manifest))
}

/// The tables, text tables and plots of a set of points.
fn tables_files(
    set: &mut OutputSet,
    points: &[SweepPoint],
    summary: &SweepSummary,
    partial: Option<&str>,
    provenance: &serde_json::Value,
) -> Result<SweepTables, ReportError> {
    let t = tables(summary);
    let mark = |table| marked(table, partial);
    let all = trajectories(points);
    super::write_parquet_if_enabled(set, "sweep.parquet", &mark(&all), provenance)?;
    for (table, name) in [
        (&t.phases, "phases.csv"),
        (&t.plateaus, "plateaus.csv"),
        (&t.exponents, "exponents.csv"),
        (&t.slopes, "local_slopes.csv"),
    ] {
        write_csv(&mark(table), &set.path(name))?;
    }
    let warning = partial.map_or(String::new(), |note| {
        format!("**Partial result: {note}.** Exponents are fitted on these points only.\n\n")
    });
    let mut md = format!("# Timescale exponents\n\n{warning}{}\n\n", summary.legend());
    md.push_str(&to_markdown(&t.pretty, 4)?);
    md.push_str(&fits_not_made(summary));
    md.push_str("\n## Plateau levels: measured − predicted R_l, per ε\n\n");
    md.push_str(&to_markdown(&t.deviation, 3)?);
    if let Some(c) = &t.convergence {
        md.push_str("\n## Convergence in N (--converge-n)\n\n");
        md.push_str(&to_markdown(c, 3)?);
    }
    write_bytes_atomic(&set.path("table.md"), md.as_bytes())?;
    let caption = match partial {
        Some(note) => {
            format!("Timescale exponents with 95% confidence intervals (partial result: {note})")
        }
        None => "Timescale exponents with 95% confidence intervals".to_string(),
    };
    write_latex(&t.pretty, &set.path("table.tex"), 4, Some(&caption))?;
    write_markdown(&mark(&t.deviation), &set.path("plateau_deviation.md"), 3)?;
    let title_note = partial.map_or(String::new(), |note| format!(" — partial: {note}"));
    let mut risk = risk_plot(points, summary);
    risk.title.push_str(&title_note);
    risk.write_svg(&set.path("risk_curves.svg"))?;
    if !summary.phases.is_empty() {
        let mut plot = phase_plot(summary);
        plot.title.push_str(&title_note);
        plot.write_svg(&set.path("phase_times.svg"))?;
    }
    Ok(t)
}

fn risk_plot(points: &[SweepPoint], summary: &SweepSummary) -> LinePlot {
    let mut points: Vec<&SweepPoint> = points.iter().collect();
    points.sort_by(|a, b| b.epsilon.total_cmp(&a.epsilon));
    let n = points.len();
    let series = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let risk = p.trajectory.column("risk").unwrap_or_default();
            let (t, r): (Vec<f64>, Vec<f64>) = p
                .trajectory
                .t
                .iter()
                .zip(risk)
                .filter(|(t, r)| **t > 0.0 && **r > 0.0)
                .map(|(t, r)| (*t, *r))
                .unzip();
            // Largest ε first: dark violet through orange as ε falls.
            Series::line(format!("ε = {:.1e}", p.epsilon), t, r).tinted(sequential_position(i, n))
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
    // A phase's points and its fit share a palette colour.
    let mut series = Vec::new();
    let times = summary.phase_times();
    let colour = |id: &PhaseId| times.iter().position(|(i, _, _)| i == id).unwrap_or(0);
    for (id, eps, t) in &times {
        series.push(
            Series::points(format!("phase {id}: t_mid"), eps.clone(), t.clone())
                .coloured(colour(id)),
        );
    }
    for row in summary.exponents.iter().filter(|r| {
        r.quantity == crate::phases::sweep::Quantity::TMid
            && r.law == crate::phases::sweep::FitLaw::PowerLaw
            && r.failure.is_none()
    }) {
        let eps: Vec<f64> = summary
            .phases
            .iter()
            .filter(|p| p.phase == row.phase && p.t_mid.is_finite() && p.t_mid > 0.0)
            .map(|p| p.epsilon)
            .collect();
        let fit = eps.iter().map(|&e| row.power_law_at(e)).collect();
        let c = colour(&row.phase);
        series
            .push(Series::dashed(format!("phase {}: fit C ε^γ", row.phase), eps, fit).coloured(c));
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
