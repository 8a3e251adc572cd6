//! The toolkit's result files: typed results of the library crates turned into tables,
//! plots and manifests, written atomically into a directory. The `timescales` program calls
//! these; so can a script that wants the same files.
//!
//! Every table is a [`Table`](crate::report::Table) first (CSV, Markdown and LaTeX need no
//! optional dependency); Parquet files are written with the `parquet` feature only.

pub mod asymptotics;
pub mod matching;
pub mod network;
pub mod run;
pub mod sweep;

use crate::report::ReportError;

/// Key–value provenance for a Parquet file: the crate's version and where the scenario came
/// from.
pub fn provenance(scenario: &str) -> [(&'static str, &str); 2] {
    [
        ("timescales_version", env!("CARGO_PKG_VERSION")),
        ("scenario", scenario),
    ]
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

/// Writes `table` as Parquet with `metadata` where the `parquet` feature is on; without it,
/// writes nothing and says so (returns `false`).
///
/// # Errors
/// [`ReportError`] when the file cannot be written.
#[allow(unused_variables)]
pub fn write_parquet_if_enabled(
    table: &crate::report::Table,
    path: &std::path::Path,
    metadata: &[(&str, &str)],
) -> Result<bool, ReportError> {
    #[cfg(feature = "parquet")]
    {
        crate::report::write_parquet(table, path, metadata)?;
        Ok(true)
    }
    #[cfg(not(feature = "parquet"))]
    {
        Ok(false)
    }
}
