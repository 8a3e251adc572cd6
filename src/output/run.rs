//! The files of a direct run of a scenario (`trajectory.csv`, `trajectory.parquet` with the
//! `parquet` feature, `risk.svg`, `run.json`) and the summary shown after it.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::meanfield::FlowRun;
use crate::report::{Axis, LinePlot, Manifest, ReportError, Series, Table, to_csv};
use crate::scenario::Scenario;

#[derive(Serialize)]
struct RunRecord<'a> {
    scenario: &'a Scenario,
    stats: crate::ode::SolverStats,
    notes: &'a [String],
    max_risk_increase: f64,
    final_risk: f64,
    interrupted_at: Option<f64>,
    /// `t_l`, `l = 1 … K`: the risk's first fall through `(R_{l−1} + R_l)/2`, located on the
    /// dense output ([`FlowRun::onsets`]); `null` for an absent or unreached phase.
    onsets: &'a [Option<f64>],
}

/// Writes `trajectory.csv`, `trajectory.parquet` (with the `parquet` feature), `risk.svg`
/// and, last, the manifest `run.json` (provenance, scenario, solver statistics, files) into
/// `out`. The CSV and the SVG are encoded and written on a second thread while this one
/// encodes and writes the Parquet file, all before the manifest; their checksums come from
/// the bytes.
///
/// # Errors
/// [`ReportError`] when a file cannot be written.
pub fn write(out: &Path, scenario: &Scenario, run: &FlowRun) -> Result<Manifest, ReportError> {
    let risk = run.trajectory.column("risk").unwrap_or_default();
    let record = RunRecord {
        scenario,
        stats: run.stats,
        notes: &run.notes,
        max_risk_increase: run.max_risk_increase,
        final_risk: *risk.last().unwrap_or(&f64::NAN),
        interrupted_at: run.interrupted_at,
        onsets: &run.onsets,
    };
    super::write_set(
        out,
        "run.json",
        super::fields(&record, "run.json")?,
        |set, provenance| {
            // Registered in this order: the manifest lists them so.
            let _ = set.path("trajectory.csv");
            if cfg!(feature = "parquet") {
                let _ = set.path("trajectory.parquet");
            }
            let _ = set.path("risk.svg");
            let set = &*set;
            let table = Table::from_trajectory(&run.trajectory);
            let table = &table;
            // The CSV and the SVG (~0.2 and ~0.35 ms of encoding) on a helper thread, placed
            // on another CPU so that it starts at once (`threads::join`), while this one
            // encodes and writes the Parquet file, the longest (~0.8 ms for 201 rows, plain
            // and uncompressed, cold: `write_parquet_into`). Here, not on the new thread: its
            // buffers come from this thread's warm heap (on a new thread's fresh malloc
            // arena every page is faulted in: +0.5 ms). Each file is synced on a thread of
            // its own (`OutputSet::write_file`): the three syncs and the manifest's are in
            // flight together.
            let ((csv, svg), parquet) = timescales_report::threads::join(
                || {
                    let csv = to_csv(table)
                        .and_then(|csv| set.write_file("trajectory.csv", csv.as_bytes()));
                    let svg = risk_plot(scenario, run)
                        .to_svg()
                        .map_err(|e| match e {
                            ReportError::Plot { message, .. } => ReportError::Plot {
                                path: set.dir().join("risk.svg").display().to_string(),
                                message,
                            },
                            other => other,
                        })
                        .and_then(|svg| set.write_file("risk.svg", svg.as_bytes()));
                    (csv, svg)
                },
                || {
                    super::parquet_bytes_if_enabled(table, provenance).and_then(|bytes| {
                        bytes.map_or(Ok(()), |bytes| set.write_file("trajectory.parquet", &bytes))
                    })
                },
            );
            // The first error in the order of the files.
            csv.and(parquet).and(svg)
        },
    )
}

fn risk_plot(scenario: &Scenario, run: &FlowRun) -> LinePlot {
    let t = run.trajectory.t.clone();
    let risk = run.trajectory.column("risk").unwrap_or_default().to_vec();
    let guides = super::plateau_guides(&scenario.plateau_levels);
    LinePlot {
        title: format!(
            "risk, ε = {:e}, N = {}",
            scenario.problem.epsilon, scenario.problem.particles
        ),
        x_label: "t".into(),
        y_label: "risk".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series: vec![Series::line("direct integration", t, risk)],
        guides,
    }
}

/// The summary shown after a run whose files (`manifest`) were written to `out`.
pub fn text(scenario: &Scenario, run: &FlowRun, out: &Path, manifest: &Manifest) -> String {
    let mut o = String::new();
    let s = &run.stats;
    let risk = run.trajectory.column("risk").unwrap_or_default();
    let _ = writeln!(o, "scenario      {}", scenario.origin);
    let _ = writeln!(
        o,
        "problem       K = {}, N = {}, ε = {:e}, t_end = {}",
        scenario.degree,
        scenario.problem.particles,
        scenario.problem.epsilon,
        scenario.problem.t_end
    );
    let _ = writeln!(o, "solver        {s}, {:.3} s", s.wall_seconds);
    let _ = writeln!(
        o,
        "risk          {:.6} → {:.6e} (largest one-step increase {:.1e})",
        risk.first().copied().unwrap_or(f64::NAN),
        risk.last().copied().unwrap_or(f64::NAN),
        run.max_risk_increase
    );
    let levels: Vec<String> = scenario
        .plateau_levels
        .iter()
        .map(|v| format!("{v:.4}"))
        .collect();
    let _ = writeln!(
        o,
        "plateaus R_l   {} (predicted, l = 0..K)",
        levels.join(", ")
    );
    let onsets: Vec<String> = run
        .onsets
        .iter()
        .map(|t| t.map_or_else(|| "—".into(), |t| format!("{t:.6e}")))
        .collect();
    if !onsets.is_empty() {
        let _ = writeln!(
            o,
            "onsets t_l     {} (l = 1..K: the risk through (R_l−1 + R_l)/2, located)",
            onsets.join(", ")
        );
    }
    for note in &run.notes {
        let _ = writeln!(o, "note          {note}");
    }
    let _ = writeln!(
        o,
        "written       {}",
        super::written(out, manifest, "run.json")
    );
    o
}
