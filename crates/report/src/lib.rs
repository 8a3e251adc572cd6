//! Output that a paper can use, written so that nothing half-written is ever left behind.
//!
//! - [`atomic`]: every file is written to a temporary sibling and renamed into place, so
//!   a reader (or a crashed run) sees either the old file or the whole new one;
//! - [`table`]: trajectories and result tables as polars `DataFrame`s, written as CSV and
//!   Parquet;
//! - [`plot`]: SVG line plots on log or linear axes, with horizontal guide levels.
#![warn(missing_docs)]

pub mod atomic;
pub mod plot;
pub mod table;
pub mod text_table;

use thiserror::Error;

pub use atomic::{write_atomic, write_json_atomic};
pub use plot::{Axis, LinePlot, Series};
pub use table::{trajectory_frame, write_csv, write_parquet};

/// Errors while writing output.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReportError {
    /// File-system failure.
    #[error("cannot write {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// polars failed to build or serialize a table.
    #[error("table {what}: {message}")]
    Table {
        /// Which table or file.
        what: String,
        /// polars' message.
        message: String,
    },
    /// The plot could not be drawn.
    #[error("plot {path}: {message}")]
    Plot {
        /// Path.
        path: String,
        /// What went wrong.
        message: String,
    },
}
