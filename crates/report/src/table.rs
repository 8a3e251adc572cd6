//! Tables as polars `DataFrame`s, written atomically as CSV or Parquet.

use std::path::Path;

use polars::prelude::*;
use timescales_ode::Trajectory;

use crate::{ReportError, write_atomic};

fn table_err(what: &str) -> impl Fn(PolarsError) -> ReportError + '_ {
    move |e| ReportError::Table {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// A `DataFrame` with column `t` followed by the trajectory's columns.
///
/// # Errors
/// [`ReportError::Table`] if polars rejects the columns.
pub fn trajectory_frame(traj: &Trajectory) -> Result<DataFrame, ReportError> {
    let mut cols = vec![Column::new("t".into(), traj.t.clone())];
    for (name, values) in traj.names.iter().zip(&traj.columns) {
        cols.push(Column::new(name.as_str().into(), values.clone()));
    }
    DataFrame::new(traj.t.len(), cols).map_err(table_err("trajectory"))
}

/// Writes `df` as CSV (full-precision floats) to `path`, atomically.
///
/// # Errors
/// [`ReportError`].
pub fn write_csv(df: &DataFrame, path: &Path) -> Result<(), ReportError> {
    let mut df = df.clone();
    let what = path.display().to_string();
    write_atomic(path, |f| {
        CsvWriter::new(f)
            .include_header(true)
            .finish(&mut df)
            .map_err(table_err(&what))
    })
}

/// Writes `df` as Parquet to `path`, atomically.
///
/// # Errors
/// [`ReportError`].
pub fn write_parquet(df: &DataFrame, path: &Path) -> Result<(), ReportError> {
    let mut df = df.clone();
    let what = path.display().to_string();
    write_atomic(path, |f| {
        ParquetWriter::new(f)
            .finish(&mut df)
            .map(|_| ())
            .map_err(table_err(&what))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectory_round_trips_through_csv_and_parquet() {
        let mut t = Trajectory::new(vec!["risk".into(), "r_0".into()]);
        t.push(0.0, &[1.5, 0.1]);
        t.push(1e-3, &[1.25, 1.0 / 3.0]);
        let df = trajectory_frame(&t).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        write_csv(&df, &csv).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(text.starts_with("t,risk,r_0\n"), "{text}");
        // Full precision survives: 1/3 to 16 digits.
        assert!(text.contains("0.3333333333333333"), "{text}");
        let pq = dir.path().join("t.parquet");
        write_parquet(&df, &pq).unwrap();
        let back = ParquetReader::new(std::fs::File::open(&pq).unwrap())
            .finish()
            .unwrap();
        assert_eq!(back.shape(), (2, 3));
        assert!(back.equals(&df));
    }
}
