//! Output that a paper can use, written so that nothing half-written is ever left behind.
//!
//! - [`atomic`]: every file is written to a temporary sibling and renamed into place, so
//!   a reader (or a crashed run) sees either the old file or the whole new one;
//! - [`table`]: trajectories and result tables as [`Table`]s (ordered named columns of
//!   floats, integers, text or booleans), written as CSV ([`write_csv`]);
//! - [`text_table`]: the same tables for people, as Markdown and LaTeX (booktabs);
//! - [`read`]: tables read back ([`read_table`]): CSV without polars, Parquet with the
//!   `parquet` feature;
//! - [`plot`]: SVG line plots on log or linear axes, with horizontal guide levels;
//! - JSON records ([`write_json_atomic`]);
//! - [`manifest`]: the files of one invocation as a set ([`OutputSet`]), closed by a
//!   manifest with their SHA-256 checksums, written last;
//! - [`threads`]: a helper thread that starts on another CPU than its parent's, so that it
//!   starts at once ([`threads::spawn`]), and two pieces of work in parallel on one
//!   ([`threads::join`]).
//!
//! Parquet is the `parquet` feature (off by default; it brings in polars): with it,
//! [`write_parquet`] writes a table with key–value metadata in the file's footer
//! ([`to_parquet`] gives the file's bytes, [`write_parquet_into`] writes them to any writer),
//! `to_dataframe` converts a table to a polars `DataFrame`, and `polars` itself is
//! re-exported so that callers can name its types. Without it the crate does not depend on
//! polars at all, and CSV, Markdown and LaTeX are written exactly as with it.
#![warn(missing_docs)]

pub mod atomic;
pub mod manifest;
pub mod plot;
pub mod read;
pub mod table;
pub mod text_table;
pub mod threads;

use thiserror::Error;

pub use atomic::{write_atomic, write_bytes_atomic, write_json_atomic};
pub use manifest::{FileEntry, Manifest, OutputSet, sha256_hex};
pub use plot::{Axis, LinePlot, Panel, PanelPlot, Series};
#[cfg(feature = "parquet")]
pub use polars;
pub use read::read_table;
pub use table::{Column, Table, to_csv, write_csv};
#[cfg(feature = "parquet")]
pub use table::{to_dataframe, to_parquet, write_parquet, write_parquet_into};

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
    /// A table is malformed (columns of different lengths, a repeated name), or could not
    /// be serialized.
    #[error("table {what}: {message}")]
    Table {
        /// Which table, column or file.
        what: String,
        /// What went wrong.
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
