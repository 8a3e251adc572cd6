//! Tables: ordered, named, equally long columns ([`Table`]), written atomically as CSV (and,
//! with the `parquet` feature, as Parquet through polars).
//!
//! The CSV is what polars 0.55.2's `CsvWriter` wrote for the same data, byte for byte: a
//! header row, `,` between fields, `\n` after every row, integers in decimal, booleans as
//! `true`/`false`, a missing value as an empty field, a string quoted (`"`, with inner `"`
//! doubled) when it contains `,`, `"`, `\n` or `\r` or is empty, and floats as described at
//! [`format_csv_float`].

use std::fmt::Write as _;
use std::path::Path;

use timescales_ode::Trajectory;

use crate::ReportError;
use crate::atomic::write_bytes_atomic;

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Floats.
    F64(Vec<f64>),
    /// Signed integers.
    I64(Vec<i64>),
    /// Unsigned integers.
    U64(Vec<u64>),
    /// Signed integers, some missing.
    OptI64(Vec<Option<i64>>),
    /// Floats, some missing.
    OptF64(Vec<Option<f64>>),
    /// Text.
    Str(Vec<String>),
    /// Booleans.
    Bool(Vec<bool>),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::F64(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::U64(v) => v.len(),
            Self::OptI64(v) => v.len(),
            Self::OptF64(v) => v.len(),
            Self::Str(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the values are numbers (floats or integers; not text or booleans).
    pub fn is_numeric(&self) -> bool {
        !matches!(self, Self::Str(_) | Self::Bool(_))
    }
}

/// Ordered named columns of equal length.
///
/// Built column by column ([`Table::f64`], [`Table::str`], …, or [`Table::push`]); the shape
/// is checked by [`Table::validate`], which every writer calls first, so a malformed table is
/// an error, never a panic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    columns: Vec<(String, Column)>,
}

impl Table {
    /// A table without columns.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the column `name`.
    pub fn push(&mut self, name: &str, column: Column) {
        self.columns.push((name.to_string(), column));
    }

    fn with(mut self, name: &str, column: Column) -> Self {
        self.push(name, column);
        self
    }

    /// With a float column appended.
    pub fn f64(self, name: &str, values: impl Into<Vec<f64>>) -> Self {
        self.with(name, Column::F64(values.into()))
    }

    /// With a signed-integer column appended.
    pub fn i64(self, name: &str, values: impl Into<Vec<i64>>) -> Self {
        self.with(name, Column::I64(values.into()))
    }

    /// With an unsigned-integer column appended.
    pub fn u64(self, name: &str, values: impl Into<Vec<u64>>) -> Self {
        self.with(name, Column::U64(values.into()))
    }

    /// With a signed-integer column with missing values appended.
    pub fn opt_i64(self, name: &str, values: impl Into<Vec<Option<i64>>>) -> Self {
        self.with(name, Column::OptI64(values.into()))
    }

    /// With a float column with missing values appended.
    pub fn opt_f64(self, name: &str, values: impl Into<Vec<Option<f64>>>) -> Self {
        self.with(name, Column::OptF64(values.into()))
    }

    /// With a text column appended.
    pub fn str(self, name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.with(
            name,
            Column::Str(values.into_iter().map(Into::into).collect()),
        )
    }

    /// With a boolean column appended.
    pub fn bool(self, name: &str, values: impl Into<Vec<bool>>) -> Self {
        self.with(name, Column::Bool(values.into()))
    }

    /// Number of rows: the length of the first column (0 without columns).
    pub fn height(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The column names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(n, _)| n.as_str())
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The columns with their names, in order.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.columns.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// Checks that the columns are equally long and their names distinct.
    ///
    /// # Errors
    /// [`ReportError::Table`] naming the first offending column.
    pub fn validate(&self) -> Result<(), ReportError> {
        let height = self.height();
        for (i, (name, column)) in self.columns.iter().enumerate() {
            let fail = |message: String| ReportError::Table {
                what: format!("column {name:?}"),
                message,
            };
            if self.columns[..i].iter().any(|(n, _)| n == name) {
                return Err(fail("the name is used by an earlier column".into()));
            }
            if column.len() != height {
                return Err(fail(format!(
                    "has {} rows, the first column {:?} has {height}",
                    column.len(),
                    self.columns[0].0
                )));
            }
        }
        Ok(())
    }

    /// Column `t` followed by the trajectory's columns.
    pub fn from_trajectory(traj: &Trajectory) -> Table {
        let mut table = Table::new().f64("t", traj.t.as_slice());
        for (name, values) in traj.names.iter().zip(&traj.columns) {
            table.push(name, Column::F64(values.clone()));
        }
        table
    }
}

/// Appends `v` to `out` as polars 0.55.2's `CsvWriter` writes an `f64`: through the `zmij`
/// crate (version 1.0.23, the one polars uses), called here directly.
///
/// The digits are the fewest that read back as `v`, and of those the nearest to `v`; where
/// two are equally near, the one with the even last digit (`272984985993652.125` is
/// `272984985993652.12`, `…652.375` is `…652.38`). With `v = d.ddd × 10^e`, `-5 ≤ e ≤ 15`
/// is written positionally, with `.0` after an integer (`0.0`, `-0.0`, `1.0`,
/// `123456789.0`, `1000000000000000.0`, `0.30000000000000004`, `0.00001`); any other `e` in
/// scientific notation with a signed, unpadded exponent and no `.0` after a single digit
/// (`1e-6`, `1.5e+20`, `1e+16`, `2.2250738585072014e-308`). NaN is `NaN`, the infinities
/// `inf` and `-inf`.
pub fn format_csv_float(v: f64, out: &mut String) {
    out.push_str(zmij::Buffer::new().format(v));
}

/// Appends `s` to `out` as a CSV field: quoted when empty (an empty field is a missing
/// value) or when it contains `,`, `"`, `\n` or `\r`, with `"` doubled inside quotes.
fn push_csv_str(s: &str, out: &mut String) {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Appends row `i` of `column` to `out` as a CSV field.
fn push_csv_field(column: &Column, i: usize, out: &mut String) {
    match column {
        Column::F64(v) => format_csv_float(v[i], out),
        Column::I64(v) => {
            let _ = write!(out, "{}", v[i]);
        }
        Column::U64(v) => {
            let _ = write!(out, "{}", v[i]);
        }
        Column::OptI64(v) => {
            if let Some(x) = v[i] {
                let _ = write!(out, "{x}");
            }
        }
        Column::OptF64(v) => {
            if let Some(x) = v[i] {
                format_csv_float(x, out);
            }
        }
        Column::Str(v) => push_csv_str(&v[i], out),
        Column::Bool(v) => out.push_str(if v[i] { "true" } else { "false" }),
    }
}

/// `table` as CSV text (see the [module documentation](self)).
///
/// # Errors
/// [`ReportError::Table`] if the table is malformed ([`Table::validate`]).
pub fn to_csv(table: &Table) -> Result<String, ReportError> {
    table.validate()?;
    // About 20 bytes a cell (a shortest round-trip double and its separator).
    let mut out = String::with_capacity(64 + 20 * table.height() * table.width());
    for (j, name) in table.names().enumerate() {
        if j > 0 {
            out.push(',');
        }
        push_csv_str(name, &mut out);
    }
    out.push('\n');
    for i in 0..table.height() {
        for (j, (_, column)) in table.columns().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_csv_field(column, i, &mut out);
        }
        out.push('\n');
    }
    Ok(out)
}

/// Writes [`to_csv`] to `path`, atomically.
///
/// # Errors
/// [`ReportError::Table`] if the table is malformed, [`ReportError::Io`] if writing fails.
pub fn write_csv(table: &Table, path: &Path) -> Result<(), ReportError> {
    write_bytes_atomic(path, to_csv(table)?.as_bytes())
}

#[cfg(feature = "parquet")]
mod parquet {
    use std::io::Write as _;
    use std::path::Path;

    use polars::prelude::{
        Column as PlColumn, CompatLevel, DataFrame, KeyValueMetadata, ParquetWriter, PolarsError,
        SchemaExt,
    };

    use super::{Column, Table};

    /// Tables below this many cells are written by [`write_plain`]; larger ones by polars'
    /// `ParquetWriter` with its defaults (columns encoded on its thread pool: starting the
    /// pool costs more than encoding a few thousand cells).
    const SMALL_CELLS: usize = 1 << 16;

    use crate::{ReportError, write_atomic};

    fn table_err(what: &str) -> impl Fn(PolarsError) -> ReportError + '_ {
        move |e| ReportError::Table {
            what: what.to_string(),
            message: e.to_string(),
        }
    }

    /// `table` as a polars `DataFrame`: `F64`/`OptF64` as `Float64`, `I64`/`OptI64` as
    /// `Int64`, `U64` as `UInt64`, `Str` as `String`, `Bool` as `Boolean` (`None` as null).
    ///
    /// # Errors
    /// [`ReportError::Table`] if the table is malformed or polars rejects it.
    pub fn to_dataframe(table: &Table) -> Result<DataFrame, ReportError> {
        table.validate()?;
        let columns = table
            .columns()
            .map(|(name, c)| {
                let name = name.into();
                match c {
                    Column::F64(v) => PlColumn::new(name, v),
                    Column::I64(v) => PlColumn::new(name, v),
                    Column::U64(v) => PlColumn::new(name, v),
                    Column::OptI64(v) => PlColumn::new(name, v),
                    Column::OptF64(v) => PlColumn::new(name, v),
                    Column::Str(v) => PlColumn::new(name, v),
                    Column::Bool(v) => PlColumn::new(name, v),
                }
            })
            .collect();
        DataFrame::new(table.height(), columns).map_err(table_err("table"))
    }

    /// `table` as the bytes of a Parquet file, with `metadata` as the file's key–value
    /// metadata (in the footer; read back with polars' `ParquetReader::get_metadata`).
    ///
    /// # Errors
    /// [`ReportError::Table`] if the table is malformed or polars fails.
    pub fn to_parquet(table: &Table, metadata: &[(&str, &str)]) -> Result<Vec<u8>, ReportError> {
        let mut bytes = Vec::with_capacity(table.height() * table.width() * 8 + 4096);
        write_parquet_into(table, metadata, "Parquet bytes", &mut bytes)?;
        Ok(bytes)
    }

    /// Writes `table` as Parquet into `out`, with `metadata` as the file's key–value
    /// metadata; `what` (the file) is named in a polars error. Buffer `out` (a file, say):
    /// the writer emits the footer's Thrift fields a few bytes at a time (some 2 300 writes
    /// for a 200-row table).
    ///
    /// # Errors
    /// [`ReportError::Table`] if the table is malformed or polars fails (writing included).
    pub fn write_parquet_into<W: std::io::Write>(
        table: &Table,
        metadata: &[(&str, &str)],
        what: &str,
        out: W,
    ) -> Result<(), ReportError> {
        let mut df = to_dataframe(table)?;
        if table.height() * df.width() < SMALL_CELLS && one_row_group(&df) {
            return write_plain(&df, metadata, out).map_err(table_err(what));
        }
        let kv = (!metadata.is_empty()).then(|| {
            KeyValueMetadata::from_static(
                metadata
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
            )
        });
        let writer = ParquetWriter::new(out).with_key_value_metadata(kv);
        if one_row_group(&df) {
            // What `ParquetWriter::finish` writes for a one-chunk frame below one row
            // group, without its re-chunking pass (which builds an empty column and,
            // through it, polars' 8 MiB zero page, zero-filled at each start).
            let mut batched = writer.batched(df.schema()).map_err(table_err(what))?;
            batched.write_batch(&df).map_err(table_err(what))?;
            batched.finish().map_err(table_err(what))?;
        } else {
            writer.finish(&mut df).map_err(table_err(what))?;
        }
        Ok(())
    }

    /// Writes `df`, one chunk below one row group, as a Parquet file of one row group with
    /// every column plain-encoded and uncompressed, the Arrow schema and `metadata` in the
    /// footer — what polars' `ParquetWriter` writes with `ParquetCompression::Uncompressed`
    /// and `set_parallel(false)`, but for its choice of dictionary encoding. That choice
    /// estimates each column's cardinality with a 16 384-register HyperLogLog whatever its
    /// length, and zstd builds a context per column; for the default run's 201 × 9
    /// trajectory they are 0.5 ms of a whole run's 7 ms, and zstd saves 14 % of the 32 KB
    /// (float columns barely compress, benches/RESULTS.md, issue 17 part 4). Large tables
    /// keep polars' defaults (dictionaries where they pay, zstd, columns on its threads).
    fn write_plain<W: std::io::Write>(
        df: &DataFrame,
        metadata: &[(&str, &str)],
        out: W,
    ) -> Result<(), PolarsError> {
        use polars_parquet::write::{
            CompressionOptions, Encoding, FileWriter, KeyValue, StatisticsOptions, Version,
            WriteOptions, get_dtype_encoding, row_group_iter, schema_to_metadata_key,
        };
        let options = WriteOptions {
            statistics: StatisticsOptions::default(),
            version: Version::V1,
            compression: CompressionOptions::Uncompressed,
            data_page_size: None,
        };
        let schema = df.schema().to_arrow(CompatLevel::newest());
        let encodings = schema
            .iter_values()
            .map(|f| {
                get_dtype_encoding(&f.dtype)
                    .into_iter()
                    .map(|_| Encoding::Plain)
                    .collect()
            })
            .collect::<Vec<Vec<_>>>();
        let mut writer = FileWriter::try_new(out, schema.clone(), options)?;
        let fields = writer.parquet_schema().fields().to_vec();
        for batch in df.iter_chunks(CompatLevel::newest(), false) {
            let rows = batch.len() as u64;
            writer.write(
                rows,
                row_group_iter(batch, encodings.clone().into(), fields.clone(), options),
            )?;
        }
        let key_values = std::iter::once(schema_to_metadata_key(&schema))
            .chain(metadata.iter().map(|(k, v)| KeyValue {
                key: (*k).to_string(),
                value: Some((*v).to_string()),
            }))
            .collect();
        writer.end(Some(key_values))?;
        Ok(())
    }

    /// Writes `table` as Parquet to `path`, atomically, with `metadata` as the file's
    /// key–value metadata (in the footer; read back with polars' `ParquetReader::get_metadata`).
    ///
    /// # Errors
    /// [`ReportError::Table`] if the table is malformed or polars fails,
    /// [`ReportError::Io`] if writing fails.
    pub fn write_parquet(
        table: &Table,
        path: &Path,
        metadata: &[(&str, &str)],
    ) -> Result<(), ReportError> {
        let what = path.display().to_string();
        write_atomic(path, |f| {
            let mut buf = std::io::BufWriter::with_capacity(1 << 16, f);
            write_parquet_into(table, metadata, &what, &mut buf)?;
            buf.flush().map_err(|source| ReportError::Io {
                path: what.clone(),
                source,
            })
        })
    }

    /// Whether `df` is written as one row group of its one chunk: polars' default row group
    /// holds `512²` rows (`ParquetWriter::finish`).
    pub(crate) fn one_row_group(df: &DataFrame) -> bool {
        df.height() > 0 && df.height() < 512 * 512 && df.first_col_n_chunks() == 1
    }
}

#[cfg(feature = "parquet")]
pub use parquet::{to_dataframe, to_parquet, write_parquet, write_parquet_into};

#[cfg(test)]
mod tests;
