//! The files of `timescales analyze`: `plateaus.csv`, `phases.csv`, `exponents.csv`,
//! `table.md`, `curves.svg` (the denoised curves with their plateaus and drops),
//! `drop_times.svg` (`t_mid` against the parameter with the power-law fits, when there is a
//! parameter), and last the manifest `analyze.json`.
//!
//! The columns (`<by>` is the parameter's column, under its own name, present only when a
//! parameter was given):
//! - `plateaus.csv`: `curve, <by>, level, level_ci_low, level_ci_high, t_entry, t_exit,
//!   length_log`;
//! - `phases.csv`: `curve, <by>, drop, level_before, level_after, t_start, t_mid, t_end,
//!   merged` (one row per curve and drop; `drop` is the 1-based order within the curve);
//! - `exponents.csv`: `drop, quantity, law, gamma, ci_low, ci_high, n_points, status`
//!   (`drop` is the stage across curves; the reasons of failed fits and the curves left out
//!   are in `table.md` and `analyze.json`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::curves::{AnalyzeOptions, ColumnSpec, CurvesAnalysis, ExponentFit, Law};
use crate::report::atomic::write_bytes_atomic;
use crate::report::text_table::to_markdown;
use crate::report::{Axis, Column, LinePlot, Manifest, ReportError, Series, Table, write_csv};

/// One input file, as the manifest records it.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// Its path, as given.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256 (what `sha256sum` prints).
    pub sha256: String,
}

impl InputFile {
    /// The record of the file at `path` (read once to checksum it).
    ///
    /// # Errors
    /// [`ReportError::Io`] if it cannot be read.
    pub fn of(path: &Path) -> Result<Self, ReportError> {
        let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            bytes: bytes.len() as u64,
            sha256: crate::report::sha256_hex(&bytes),
        })
    }
}

/// What produced an analysis: the fields of the manifest `analyze.json` besides its files
/// and the program's provenance.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzeRecord {
    /// The input files with their checksums.
    pub inputs: Vec<InputFile>,
    /// The column options as given.
    pub spec: ColumnSpec,
    /// The options of the analysis.
    pub options: AnalyzeOptions,
    /// Worker threads.
    pub threads: usize,
    /// Wall time of the invocation so far (reading and analysis), seconds.
    pub wall_seconds: f64,
}

/// The tables of an analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeTables {
    /// `plateaus.csv`.
    pub plateaus: Table,
    /// `phases.csv`.
    pub phases: Table,
    /// `exponents.csv`.
    pub exponents: Table,
}

/// The parameter's column, under its name, when there is a parameter.
fn push_by(table: &mut Table, by: Option<&str>, values: Vec<f64>) {
    if let Some(name) = by {
        table.push(name, Column::F64(values));
    }
}

/// The tables of `result` (module documentation).
pub fn tables(result: &CurvesAnalysis) -> AnalyzeTables {
    let by = result.by();
    let ok = || result.curves.iter().filter(|c| c.error.is_none());
    let par = |c: &crate::analysis::curves::CurveResult| c.by.unwrap_or(f64::NAN);

    let rows: Vec<_> = ok()
        .flat_map(|c| c.plateaus.iter().map(move |p| (c, p)))
        .collect();
    let mut plateaus = Table::new().str("curve", rows.iter().map(|(c, _)| c.name.clone()));
    push_by(
        &mut plateaus,
        by,
        rows.iter().map(|(c, _)| par(c)).collect(),
    );
    let col = |f: &dyn Fn(&crate::analysis::curves::PlateauLevel) -> f64| {
        Column::F64(rows.iter().map(|(_, p)| f(p)).collect())
    };
    plateaus.push("level", col(&|p| p.level));
    plateaus.push("level_ci_low", col(&|p| p.ci[0]));
    plateaus.push("level_ci_high", col(&|p| p.ci[1]));
    plateaus.push("t_entry", col(&|p| p.t_entry));
    plateaus.push("t_exit", col(&|p| p.t_exit));
    plateaus.push("length_log", col(&|p| p.length_log));

    let rows: Vec<_> = ok()
        .flat_map(|c| c.drops.iter().map(move |d| (c, d)))
        .collect();
    let mut phases = Table::new().str("curve", rows.iter().map(|(c, _)| c.name.clone()));
    push_by(&mut phases, by, rows.iter().map(|(c, _)| par(c)).collect());
    let col = |f: &dyn Fn(&crate::analysis::curves::Drop) -> f64| {
        Column::F64(rows.iter().map(|(_, d)| f(d)).collect())
    };
    phases.push(
        "drop",
        Column::U64(rows.iter().map(|(_, d)| d.drop as u64).collect()),
    );
    phases.push("level_before", col(&|d| d.level_before));
    phases.push("level_after", col(&|d| d.level_after));
    phases.push("t_start", col(&|d| d.t_start));
    phases.push("t_mid", col(&|d| d.t_mid));
    phases.push("t_end", col(&|d| d.t_end));
    phases.push(
        "merged",
        Column::Bool(rows.iter().map(|(_, d)| d.merged).collect()),
    );

    let e = &result.exponents;
    let col = |f: fn(&ExponentFit) -> f64| e.iter().map(f).collect::<Vec<_>>();
    let exponents = Table::new()
        .u64("drop", e.iter().map(|r| r.drop as u64).collect::<Vec<_>>())
        .str("quantity", e.iter().map(|r| r.quantity.name()))
        .str("law", e.iter().map(|r| r.law.name()))
        .f64("gamma", col(|r| r.gamma))
        .f64("ci_low", col(|r| r.ci[0]))
        .f64("ci_high", col(|r| r.ci[1]))
        .u64(
            "n_points",
            e.iter().map(|r| r.n_points as u64).collect::<Vec<_>>(),
        )
        .str("status", e.iter().map(|r| r.status()));
    AnalyzeTables {
        plateaus,
        phases,
        exponents,
    }
}

/// `table.md`: what was read, the exponents, the curves left out and the failed fits, and
/// the drops per curve.
///
/// # Errors
/// [`ReportError`] for a malformed table (a bug).
pub fn markdown(result: &CurvesAnalysis, t: &AnalyzeTables) -> Result<String, ReportError> {
    let cols = &result.columns;
    let mut md = String::from("# Plateaus, drops and exponents of the loss curves\n\n");
    md.push_str(&format!(
        "{} curve(s), {:?} layout: time `{}`, loss {}{}{}.\n\n",
        result.curves.len(),
        cols.layout,
        cols.time,
        cols.loss
            .iter()
            .map(|l| format!("`{l}`"))
            .collect::<Vec<_>>()
            .join(", "),
        cols.run
            .as_ref()
            .map_or(String::new(), |r| format!(", runs `{r}`")),
        cols.by
            .as_ref()
            .map_or(String::new(), |b| format!(", parameter `{b}`")),
    ));
    let mut notes = String::new();
    for c in &result.curves {
        let n = c.counts;
        let mut parts = Vec::new();
        if n.non_finite_loss > 0 {
            parts.push(format!(
                "{} non-finite or missing loss(es) skipped",
                n.non_finite_loss
            ));
        }
        if n.missing_time > 0 {
            parts.push(format!("{} missing time(s) skipped", n.missing_time));
        }
        if n.non_positive_time > 0 {
            parts.push(format!("{} row(s) at t ≤ 0 left out", n.non_positive_time));
        }
        if n.out_of_order > 0 {
            parts.push(format!("{} row(s) out of order (sorted)", n.out_of_order));
        }
        if n.repeated > 0 {
            parts.push(format!("{} repeated step(s) merged (median)", n.repeated));
        }
        if let Some(e) = &c.error {
            parts.push(format!("**not analysed**: {e}"));
        }
        if !parts.is_empty() {
            notes.push_str(&format!("- `{}`: {}\n", c.name, parts.join("; ")));
        }
    }
    if !notes.is_empty() {
        md.push_str("## Input\n\n");
        md.push_str(&notes);
        md.push('\n');
    }
    md.push_str("## Drops\n\n");
    md.push_str(&to_markdown(&t.phases, 4)?);
    if !result.reference_levels.is_empty() {
        md.push_str(&format!(
            "\nLevels of interior plateaus across curves: {}. A drop that skips one is \
             `merged`.\n",
            result
                .reference_levels
                .iter()
                .map(|l| format!("{l:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if result.by().is_some() {
        md.push_str("\n## Exponents against the parameter (95% confidence intervals)\n\n");
        md.push_str(&to_markdown(&t.exponents, 4)?);
        let mut left = String::new();
        for e in &result.exponents {
            let what = format!("drop {}, {}, {}", e.drop, e.quantity.name(), e.law.name());
            if let Some(why) = &e.failure {
                left.push_str(&format!("- {what}: not fitted: {why}\n"));
            }
            if e.law == Law::PowerLaw && !e.left_out.is_empty() {
                left.push_str(&format!(
                    "- {what}: left out {}\n",
                    e.left_out
                        .iter()
                        .map(|(c, why)| format!("`{c}` ({why})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if !left.is_empty() {
            md.push_str("\nFits not made and curves left out:\n\n");
            md.push_str(&left);
        }
    } else {
        md.push_str("\nNo parameter (`--by`): no exponents fitted.\n");
    }
    Ok(md)
}

/// The curves (denoised), each with its plateaus (dashed, same colour) and its drops'
/// midpoints (markers).
fn curves_plot(result: &CurvesAnalysis) -> LinePlot {
    let mut series = Vec::new();
    for (k, c) in result.curves.iter().enumerate() {
        let label = match c.by {
            Some(p) => format!("{} ({} = {p})", c.name, result.by().unwrap_or("by")),
            None => c.name.clone(),
        };
        series.push(Series::line(label, c.smooth_t.clone(), c.smooth_loss.clone()).coloured(k));
        for p in &c.plateaus {
            series.push(
                Series::dashed("", vec![p.t_entry, p.t_exit], vec![p.level, p.level]).coloured(k),
            );
        }
        if !c.drops.is_empty() {
            let t: Vec<f64> = c.drops.iter().map(|d| d.t_mid).collect();
            let y: Vec<f64> = c
                .drops
                .iter()
                .map(|d| 0.5 * (d.level_before + d.level_after))
                .collect();
            series.push(Series::points("", t, y).coloured(k));
        }
    }
    LinePlot {
        title: "loss curves (running medians in log time), plateaus (dashed), drop midpoints"
            .into(),
        x_label: "t".into(),
        y_label: "loss".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series,
        guides: Vec::new(),
    }
}

/// `t_mid` of every separate drop against the parameter, by stage, with the power laws.
fn drop_times_plot(result: &CurvesAnalysis) -> LinePlot {
    let mut series = Vec::new();
    let stages = result
        .curves
        .iter()
        .flat_map(|c| c.drops.iter().map(|d| d.stage))
        .max()
        .unwrap_or(0);
    for stage in 1..=stages {
        let (p, t): (Vec<f64>, Vec<f64>) = result
            .curves
            .iter()
            .filter_map(|c| Some((c.by?, c)))
            .flat_map(|(p, c)| {
                c.drops
                    .iter()
                    .filter(move |d| d.stage == stage && !d.merged)
                    .map(move |d| (p, d.t_mid))
            })
            .unzip();
        series.push(Series::points(format!("drop {stage}: t_mid"), p.clone(), t).coloured(stage));
        if let Some(fit) = result.exponents.iter().find(|e| {
            e.drop == stage
                && e.quantity.name() == "t_mid"
                && e.law == Law::PowerLaw
                && e.failure.is_none()
        }) {
            let mut x = p;
            x.sort_by(f64::total_cmp);
            x.dedup();
            let y = x.iter().map(|&v| fit.power_law_at(v)).collect();
            series.push(
                Series::dashed(format!("drop {stage}: C p^γ, γ = {:.3}", fit.gamma), x, y)
                    .coloured(stage),
            );
        }
    }
    LinePlot {
        title: "drop times against the parameter, with least-squares power laws".into(),
        x_label: result.by().unwrap_or("parameter").into(),
        y_label: "t_mid".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series,
        guides: Vec::new(),
    }
}

/// Writes the analysis's files into `dir` (module documentation) as one set closed by
/// `analyze.json`, with the provenance of `record` (input checksums, column spec, options)
/// and the resolved columns, the curves' clean-up counts and errors, and the fits' reasons
/// and left-out curves. Returns the tables and the manifest.
///
/// # Errors
/// [`ReportError`] when a file cannot be written.
pub fn write(
    dir: &Path,
    record: &AnalyzeRecord,
    result: &CurvesAnalysis,
) -> Result<(AnalyzeTables, Manifest), ReportError> {
    let t = tables(result);
    let mut fields = super::fields(record, "analyze.json")?;
    let curves: Vec<serde_json::Value> = result
        .curves
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "by": c.by,
                "counts": c.counts,
                "n_points": c.n_points,
                "noise": c.noise,
                "noise_relative": c.log_scale,
                "error": c.error,
            })
        })
        .collect();
    let fits: Vec<serde_json::Value> = result
        .exponents
        .iter()
        .map(|e| {
            serde_json::json!({
                "drop": e.drop,
                "quantity": e.quantity.name(),
                "law": e.law.name(),
                "status": e.status(),
                "reason": e.failure,
                "curves": e.curves,
                "left_out": e.left_out,
            })
        })
        .collect();
    if let Some(obj) = fields.as_object_mut() {
        obj.insert(
            "columns".into(),
            super::fields(&result.columns, "analyze.json")?,
        );
        obj.insert("curves".into(), serde_json::Value::Array(curves));
        obj.insert(
            "reference_levels".into(),
            super::fields(&result.reference_levels, "analyze.json")?,
        );
        obj.insert("fits".into(), serde_json::Value::Array(fits));
    }
    let md = markdown(result, &t)?;
    let manifest = super::write_set(dir, "analyze.json", fields, |set, _| {
        write_csv(&t.plateaus, &set.path("plateaus.csv"))?;
        write_csv(&t.phases, &set.path("phases.csv"))?;
        write_csv(&t.exponents, &set.path("exponents.csv"))?;
        write_bytes_atomic(&set.path("table.md"), md.as_bytes())?;
        curves_plot(result).write_svg(&set.path("curves.svg"))?;
        if result.by().is_some() {
            drop_times_plot(result).write_svg(&set.path("drop_times.svg"))?;
        }
        Ok(())
    })?;
    Ok((t, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::curves::{CurveSet, PHASE_COLUMNS, PLATEAU_COLUMNS, analyze};

    #[test]
    fn columns_are_those_of_the_issue() {
        let steps: Vec<f64> = (1..=5000).map(f64::from).collect();
        let (mut s, mut l, mut w) = (vec![], vec![], vec![]);
        for width in [1.0, 2.0, 4.0] {
            for &t in &steps {
                s.push(t);
                l.push(0.1 + 0.9 / (1.0 + (t / (50.0 * width)).powf(4.0)));
                w.push(width);
            }
        }
        let table = Table::new().f64("step", s).f64("loss", l).f64("width", w);
        let spec = ColumnSpec {
            by: Some("width".into()),
            ..ColumnSpec::default()
        };
        let set = CurveSet::from_table(&table, &spec).unwrap();
        let r = analyze(&set, &AnalyzeOptions::default()).unwrap();
        let t = tables(&r);
        let names = |t: &Table| t.names().map(str::to_string).collect::<Vec<_>>();
        let with_by = |cols: &[&str]| {
            let mut v: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
            v.insert(1, "width".into());
            v
        };
        assert_eq!(names(&t.plateaus), with_by(&PLATEAU_COLUMNS));
        assert_eq!(names(&t.phases), with_by(&PHASE_COLUMNS));
        assert_eq!(
            names(&t.exponents),
            [
                "drop", "quantity", "law", "gamma", "ci_low", "ci_high", "n_points", "status"
            ]
        );
        // The same rows without a parameter or runs: one curve whose steps mostly repeat.
        let set = CurveSet::from_table(&table, &ColumnSpec::default());
        assert!(
            set.is_err(),
            "three curves on one step axis are not one curve"
        );
        assert_eq!(t.phases.height(), 3);
        // Drop 1: t_mid, plateau_length, level (power law) and t_mid (log-corrected).
        assert_eq!(t.exponents.height(), 4);
        let md = markdown(&r, &t).unwrap();
        assert!(md.contains("parameter `width`"), "{md}");
    }
}
