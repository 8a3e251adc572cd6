//! The toolkit's result files: typed results of the library crates turned into tables,
//! plots and manifests, written atomically into a directory. The `timescales` program calls
//! these; so can a script that wants the same files.
//!
//! Every table is a [`Table`](crate::report::Table) first (CSV, Markdown and LaTeX need no
//! optional dependency); Parquet files are written with the `parquet` feature only.
//!
//! Each command's files form one [`OutputSet`]: written atomically, then closed by a
//! manifest (`run.json`, `sweep.json`, `asymptotics.json`, `match.json`, `network.json`,
//! `analyze.json`)
//! written last, with the [`provenance`] of the invocation (program, version, commit,
//! command line, parameters) and the SHA-256 of every file; files of an earlier set that
//! this one did not write again are removed ([`write_set`]).

pub mod analyze;
pub mod asymptotics;
pub mod matching;
pub mod network;
pub mod run;
pub mod sweep;

use std::path::Path;

use crate::report::{Manifest, OutputSet, ReportError};

/// The version of this program.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit this program was built from (`unknown` for a build outside a checkout
/// that did not set `TIMESCALES_GIT_COMMIT`).
pub const COMMIT: &str = env!("TIMESCALES_GIT_COMMIT");

/// The provenance of an invocation: `program`, `version`, `commit`, `command` (the command
/// line), then the fields of `fields` (a JSON object; anything else is kept under
/// `details`).
pub fn provenance(fields: serde_json::Value) -> serde_json::Value {
    let mut record = serde_json::json!({
        "program": "timescales",
        "version": VERSION,
        "commit": COMMIT,
        "command": std::env::args().collect::<Vec<_>>(),
    });
    if let (Some(out), serde_json::Value::Object(extra)) = (record.as_object_mut(), fields) {
        out.extend(extra);
    }
    record
}

/// `value` (a record) as the fields of the manifest `manifest`.
///
/// # Errors
/// [`ReportError::Table`] if it cannot be serialized (a bug).
pub fn fields<T: serde::Serialize>(
    value: &T,
    manifest: &str,
) -> Result<serde_json::Value, ReportError> {
    serde_json::to_value(value).map_err(|e| ReportError::Table {
        what: manifest.into(),
        message: e.to_string(),
    })
}

/// Key–value metadata for a Parquet file: the program's version and commit, and the whole
/// `provenance` as JSON under `provenance`.
pub fn parquet_metadata(provenance: &serde_json::Value) -> Vec<(&'static str, String)> {
    vec![
        ("timescales_version", VERSION.to_string()),
        ("timescales_commit", COMMIT.to_string()),
        ("provenance", provenance.to_string()),
    ]
}

/// Writes one invocation's files into `dir` as a set: `fill` writes them at paths it takes
/// from the set (and may put the [`provenance`]`(fields)` it is given into them, e.g. as
/// Parquet metadata), then the manifest `manifest` is written last with that provenance and
/// the files' checksums.
///
/// # Errors
/// [`ReportError`] when a file cannot be written (no manifest is written then).
pub fn write_set<F>(
    dir: &Path,
    manifest: &str,
    fields: serde_json::Value,
    fill: F,
) -> Result<Manifest, ReportError>
where
    F: FnOnce(&mut OutputSet, &serde_json::Value) -> Result<(), ReportError>,
{
    let provenance = provenance(fields);
    let mut set = OutputSet::begin(dir, manifest)?;
    fill(&mut set, &provenance)?;
    set.finish(provenance)
}

/// Horizontal guides at the plateau levels `R_l > 0`, one per distinct level.
pub fn plateau_guides(levels: &[f64]) -> Vec<(String, f64)> {
    let mut guides: Vec<(String, f64)> = Vec::new();
    for (l, &level) in levels.iter().enumerate() {
        if level > 0.0
            && !guides
                .iter()
                .any(|(_, v)| (v - level).abs() <= 1e-12 * level)
        {
            guides.push((format!("R_{l} = {level:.4}"), level));
        }
    }
    guides
}

/// The [`Fingerprint`](crate::analysis::sweep::Fingerprint) of a computation repeated over
/// ε (a sweep's or a study's points): its name, the resolved problem without ε (law,
/// particle count, placement and seed, method, tolerances, output times, …), the options
/// that change its numbers, and this program's version and commit.
///
/// # Errors
/// [`crate::analysis::AnalysisError`] if the problem cannot be serialized (a bug).
pub fn fingerprint(
    computation: &str,
    problem: &crate::meanfield::FlowProblem,
    options: serde_json::Value,
) -> Result<crate::analysis::sweep::Fingerprint, crate::analysis::AnalysisError> {
    let mut problem =
        serde_json::to_value(problem).map_err(|source| crate::analysis::AnalysisError::Json {
            path: "<problem>".into(),
            source,
        })?;
    if let Some(p) = problem.as_object_mut() {
        p.remove("epsilon");
    }
    crate::analysis::sweep::Fingerprint::new(serde_json::json!({
        "computation": computation,
        "problem": problem,
        "options": options,
        "version": VERSION,
        "commit": COMMIT,
    }))
}

/// `DIR/{file, …, manifest}` of a set written to `dir`, with a line per stale file removed
/// and a note on files the manifest does not account for.
pub fn written(dir: &Path, manifest: &Manifest, name: &str) -> String {
    let mut names: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    names.push(name);
    let mut s = format!("{}/{{{}}}", dir.display(), names.join(", "));
    if !manifest.removed.is_empty() {
        s.push_str(&format!(
            "\nremoved       {} (left by an earlier invocation, not written by this one)",
            manifest.removed.join(", ")
        ));
    }
    if !manifest.unlisted.is_empty() {
        s.push_str(&format!(
            "\nnote          {} also holds {}, not written by this invocation",
            dir.display(),
            manifest.unlisted.join(", ")
        ));
    }
    s
}

/// Writes `table` as Parquet into `set` under `name`, with [`parquet_metadata`] of
/// `provenance`, where the `parquet` feature is on; without it, writes nothing and says so
/// (returns `false`).
///
/// # Errors
/// [`ReportError`] when the file cannot be written.
pub fn write_parquet_if_enabled(
    set: &mut OutputSet,
    name: &str,
    table: &crate::report::Table,
    provenance: &serde_json::Value,
) -> Result<bool, ReportError> {
    let Some(bytes) = parquet_bytes_if_enabled(table, provenance)? else {
        return Ok(false);
    };
    let _ = set.path(name);
    set.write_file(name, &bytes)?;
    Ok(true)
}

/// `table` as the bytes of a Parquet file with [`parquet_metadata`] of `provenance`, where
/// the `parquet` feature is on (`None` without it).
///
/// # Errors
/// [`ReportError`] when polars fails.
#[allow(unused_variables)]
pub fn parquet_bytes_if_enabled(
    table: &crate::report::Table,
    provenance: &serde_json::Value,
) -> Result<Option<Vec<u8>>, ReportError> {
    #[cfg(feature = "parquet")]
    {
        let metadata = parquet_metadata(provenance);
        let pairs: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Ok(Some(crate::report::to_parquet(table, &pairs)?))
    }
    #[cfg(not(feature = "parquet"))]
    {
        Ok(None)
    }
}
