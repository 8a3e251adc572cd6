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

/// Appends `v` to `out` as polars 0.55.2's `CsvWriter` writes an `f64` (through the `zmij`
/// crate, version 1.0.23).
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
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    if v == 0.0 {
        out.push_str("0.0");
        return;
    }
    let (digits, exp) = shortest_digits(v.abs());
    let n = digits.len() as i32;
    match exp {
        -5..=-1 => {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
        0..=15 if n - 1 <= exp => {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (exp + 1 - n) as usize));
            out.push_str(".0");
        }
        0..=15 => {
            let (int, frac) = digits.split_at(exp as usize + 1);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
        _ => {
            let (first, rest) = digits.split_at(1);
            out.push_str(first);
            if !rest.is_empty() {
                out.push('.');
                out.push_str(rest);
            }
            out.push('e');
            out.push(if exp < 0 { '-' } else { '+' });
            let _ = write!(out, "{}", exp.unsigned_abs());
        }
    }
}

/// The shortest decimal digits `d₁d₂…dₙ` that read back as `a` (finite, `> 0`), and `e`
/// with `a ≈ d₁.d₂…dₙ × 10^e`.
///
/// Where two `n`-digit decimals are equally near `a` (`a` is exactly halfway) and both read
/// back as `a`, the one with the even last digit, as `zmij` (and so polars) chooses; Rust's
/// `{:e}`, which gives the digits otherwise, takes the upper one.
fn shortest_digits(a: f64) -> (String, i32) {
    let sci = format!("{a:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    let last = digits.as_bytes()[n - 1] - b'0';
    if last % 2 == 1 {
        // Odd: an even neighbour differing in the last digit only, if `a` is halfway to it.
        for other in [last - 1, last + 1].into_iter().filter(|&d| d <= 9) {
            let halfway = format!("{}{}5", &digits[..n - 1], last.min(other));
            let neighbour = format!("{}{other}", &digits[..n - 1]);
            if is_exactly(a, &halfway, exp) && reads_back(a, &neighbour, exp) {
                digits = neighbour;
                break;
            }
        }
    }
    (digits, exp)
}

/// `d₁.d₂…` (the mantissa Rust's `{:e}` prints for these digits).
fn mantissa(digits: &str) -> String {
    match digits.split_at(1) {
        (first, "") => first.to_string(),
        (first, rest) => format!("{first}.{rest}"),
    }
}

/// Whether `a` is exactly `d₁.d₂… × 10^exp`.
fn is_exactly(a: f64, digits: &str, exp: i32) -> bool {
    let expected = format!("{}e{exp}", mantissa(digits));
    // Cheap first: `a` to as many digits; then all of them (a double's exact decimal
    // expansion has at most 767 significant digits).
    format!("{a:.*e}", digits.len() - 1) == expected && {
        let exact = format!("{a:.800e}");
        let (m, e) = exact.split_once('e').unwrap_or((&exact, ""));
        format!("{}e{e}", m.trim_end_matches('0')) == expected
    }
}

/// Whether `d₁.d₂… × 10^exp` reads back as `a`.
fn reads_back(a: f64, digits: &str, exp: i32) -> bool {
    format!("{}e{exp}", mantissa(digits)).parse::<f64>() == Ok(a)
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
    let mut out = String::new();
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
    use std::path::Path;

    use polars::prelude::{
        Column as PlColumn, DataFrame, KeyValueMetadata, ParquetWriter, PolarsError,
    };

    use super::{Column, Table};
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
        let mut df = to_dataframe(table)?;
        let what = path.display().to_string();
        let kv = (!metadata.is_empty()).then(|| {
            KeyValueMetadata::from_static(
                metadata
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
            )
        });
        write_atomic(path, |f| {
            ParquetWriter::new(f)
                .with_key_value_metadata(kv)
                .finish(&mut df)
                .map(|_| ())
                .map_err(table_err(&what))
        })
    }
}

#[cfg(feature = "parquet")]
pub use parquet::{to_dataframe, write_parquet};

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(values: &[f64]) -> Vec<String> {
        values
            .iter()
            .map(|&v| {
                let mut s = String::new();
                format_csv_float(v, &mut s);
                s
            })
            .collect()
    }

    #[test]
    fn floats_as_polars_writes_them() {
        assert_eq!(
            csv(&[0.0, -0.0, 1.0, -2.5, 0.1 + 0.2, 1.0 / 3.0]),
            [
                "0.0",
                "-0.0",
                "1.0",
                "-2.5",
                "0.30000000000000004",
                "0.3333333333333333"
            ]
        );
        assert_eq!(
            csv(&[1e-5, 1.5e-5, 9.99e-6, 1e-6, 1e-9, 1e-300, f64::MIN_POSITIVE]),
            [
                "0.00001",
                "0.000015",
                "9.99e-6",
                "1e-6",
                "1e-9",
                "1e-300",
                "2.2250738585072014e-308"
            ]
        );
        assert_eq!(
            csv(&[
                123456789.0,
                1e15,
                9.999999999999998e15,
                1e16,
                1.5e20,
                -1e100
            ]),
            [
                "123456789.0",
                "1000000000000000.0",
                "9999999999999998.0",
                "1e+16",
                "1.5e+20",
                "-1e+100"
            ]
        );
        assert_eq!(
            csv(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 5e-324]),
            ["NaN", "inf", "-inf", "5e-324"]
        );
        // Exactly halfway between two shortest decimals: the even last digit.
        assert_eq!(
            csv(&[
                272984985993652.0 + 0.125,
                272984985993652.0 + 0.375,
                1229227237496791.0 + 0.25,
                -(1229227237496791.0 + 0.75),
            ]),
            [
                "272984985993652.12",
                "272984985993652.38",
                "1229227237496791.2",
                "-1229227237496791.8"
            ]
        );
    }

    fn sample() -> Table {
        Table::new()
            .f64("x", [1.5, f64::NAN])
            .i64("i", [-3, 4])
            .u64("u", [7, 8])
            .opt_i64("oi", [Some(1), None])
            .opt_f64("of", [None, Some(0.25)])
            .str("s", ["a,b", "say \"hi\""])
            .bool("b", [true, false])
    }

    #[test]
    fn csv_text() {
        let text = to_csv(&sample()).unwrap();
        assert_eq!(
            text,
            "x,i,u,oi,of,s,b\n1.5,-3,7,1,,\"a,b\",true\nNaN,4,8,,0.25,\"say \"\"hi\"\"\",false\n"
        );
        let t = Table::new().str("", ["", "x\ny", "a\rb", "plain"]);
        assert_eq!(
            to_csv(&t).unwrap(),
            "\"\"\n\"\"\n\"x\ny\"\n\"a\rb\"\nplain\n"
        );
        assert_eq!(to_csv(&Table::new()).unwrap(), "\n");
    }

    #[test]
    fn shape_and_lookup() {
        let t = sample();
        assert_eq!((t.height(), t.width()), (2, 7));
        assert_eq!(
            t.names().collect::<Vec<_>>(),
            ["x", "i", "u", "oi", "of", "s", "b"]
        );
        assert_eq!(t.column("u"), Some(&Column::U64(vec![7, 8])));
        assert!(t.column("nope").is_none());
        assert!(t.column("x").unwrap().is_numeric() && !t.column("b").unwrap().is_numeric());
    }

    #[test]
    fn malformed_tables_are_errors_naming_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.csv");
        let short = Table::new().f64("a", [1.0, 2.0]).i64("b", [1]);
        let e = write_csv(&short, &p).unwrap_err().to_string();
        assert!(e.contains("\"b\"") && e.contains("1 rows"), "{e}");
        let dup = Table::new().f64("a", [1.0]).str("a", ["x"]);
        let e = dup.validate().unwrap_err().to_string();
        assert!(e.contains("\"a\"") && e.contains("earlier"), "{e}");
        assert!(!p.exists());
        assert!(to_csv(&dup).is_err());
    }

    #[test]
    fn trajectory_round_trips_through_csv() {
        let mut t = Trajectory::new(vec!["risk".into(), "r_0".into()]);
        t.push(0.0, &[1.5, 0.1]);
        t.push(1e-3, &[1.25, 1.0 / 3.0]);
        let table = Table::from_trajectory(&t);
        assert_eq!(table.names().collect::<Vec<_>>(), ["t", "risk", "r_0"]);
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        write_csv(&table, &csv).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(
            text,
            "t,risk,r_0\n0.0,1.5,0.1\n0.001,1.25,0.3333333333333333\n"
        );
    }
}

/// The CSV and Parquet writers against polars itself.
#[cfg(all(test, feature = "parquet"))]
mod polars_tests {
    use polars::prelude::*;

    use super::{Table, to_csv, to_dataframe, write_parquet};

    /// SplitMix64: a seeded, dependency-free generator of test values.
    struct SplitMix(u64);

    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Awkward floats, then `n` random ones: raw bit patterns (every exponent), values
    /// spread over 10^-30..10^30, short decimals, integers near 10^15..10^17, and binary
    /// fractions near 10^12..10^16 (often exactly halfway between two shortest decimals).
    fn awkward_floats(n: usize) -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            1e-9,
            1e-300,
            1.5e20,
            123456789.0,
            0.1 + 0.2,
            1.0 / 3.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1e-5,
            1e-6,
            9.99999e-6,
            1.00001e-5,
            0.00012345,
            99999.99999,
            1e15,
            1e15 + 1.0,
            1e15 - 0.5,
            9.999999999999998e15,
            1e16,
            1e16 + 2.0,
            1.2345678901234567e16,
            1e17,
            123456789012345680.0,
            2f64.powi(53),
            2f64.powi(53) + 2.0,
            2f64.powi(60),
            -2f64.powi(-20),
            1e22,
            1e23,
            4.35,
            0.5,
            2.5e-7,
            272984985993652.0 + 0.125,
            272984985993652.0 + 0.375,
            1229227237496791.0 + 0.25,
            1229227237496791.0 + 0.75,
            0.000244140625,
            5.960464477539063e-8,
        ];
        let mut rng = SplitMix(0x5eed_2024);
        for i in 0..n {
            let x = match i % 5 {
                0 => loop {
                    let x = f64::from_bits(rng.next());
                    if x.is_finite() {
                        break x;
                    }
                },
                1 => (rng.unit() - 0.5) * 10f64.powf(rng.unit() * 60.0 - 30.0),
                2 => (rng.next() % 100_000) as f64 / 10f64.powi((rng.next() % 12) as i32),
                3 => {
                    ((rng.next() >> 11) as f64 / 2f64.powi((rng.next() % 12) as i32)).round()
                        / 2f64.powi((rng.next() % 8) as i32)
                }
                _ => (10f64.powf(15.0 + 2.0 * rng.unit())).round(),
            };
            v.push(x);
        }
        v
    }

    fn polars_csv(table: &Table) -> String {
        let mut df = to_dataframe(table).unwrap();
        let mut buf = Vec::new();
        CsvWriter::new(&mut buf)
            .include_header(true)
            .finish(&mut df)
            .unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn csv_floats_byte_for_byte_as_polars() {
        let v = awkward_floats(
            std::env::var("CSV_FLOATS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(5000),
        );
        let table = Table::new().f64("x", v.as_slice()).opt_f64(
            "maybe",
            v.iter()
                .enumerate()
                .map(|(i, &x)| (i % 3 != 0).then_some(-x))
                .collect::<Vec<_>>(),
        );
        let ours = to_csv(&table).unwrap();
        let theirs = polars_csv(&table);
        for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
            assert_eq!(a, b, "row {i}");
        }
        assert_eq!(ours, theirs);
    }

    #[test]
    fn csv_other_kinds_byte_for_byte_as_polars() {
        let table = Table::new()
            .i64("i", [0, -1, i64::MIN, i64::MAX, 42, 7, 8])
            .u64("u", [0, 1, u64::MAX, 10, 11, 12, 13])
            .opt_i64(
                "oi",
                [None, Some(-5), Some(0), None, Some(3), None, Some(1)],
            )
            .str(
                "s, \"quoted\"",
                ["", "a,b", "say \"hi\"", "x\ny", "c\rd", "plain", "ε – ☃"],
            )
            .bool("b", [true, false, true, true, false, false, true]);
        assert_eq!(to_csv(&table).unwrap(), polars_csv(&table));
        assert_eq!(
            to_csv(&Table::new().f64("empty", Vec::new())).unwrap(),
            "empty\n"
        );
        assert_eq!(
            polars_csv(&Table::new().f64("empty", Vec::new())),
            "empty\n"
        );
    }

    #[test]
    fn parquet_round_trip_with_metadata() {
        let table = Table::new()
            .f64("t", [0.0, 1e-3, 2.5])
            .opt_i64("degree", [Some(1), None, Some(3)])
            .str("phase", ["1", "2–3", "to 0.12"])
            .bool("ok", [true, false, true]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        write_parquet(
            &table,
            &p,
            &[("origin", "built-in default"), ("version", "0.1.0")],
        )
        .unwrap();
        let mut reader = ParquetReader::new(std::fs::File::open(&p).unwrap());
        let kv: Vec<(String, Option<String>)> = reader
            .get_metadata()
            .unwrap()
            .key_value_metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|kv| (kv.key, kv.value))
            .collect();
        assert!(
            kv.contains(&("origin".into(), Some("built-in default".into()))),
            "{kv:?}"
        );
        assert!(
            kv.contains(&("version".into(), Some("0.1.0".into()))),
            "{kv:?}"
        );
        let back = reader.finish().unwrap();
        assert_eq!(back.shape(), (3, 4));
        assert!(back.equals_missing(&to_dataframe(&table).unwrap()));
        // A malformed table writes nothing.
        let bad = Table::new().f64("a", [1.0]).f64("b", Vec::new());
        let q = dir.path().join("bad.parquet");
        assert!(write_parquet(&bad, &q, &[]).is_err());
        assert!(!q.exists());
    }
}
