//! Reading tables back: CSV without any optional dependency, Parquet through polars with the
//! `parquet` feature; [`read_table`] chooses by the file's extension.
//!
//! **CSV** ([`parse_csv`]): RFC 4180 — fields separated by `,` (by a tab for `.tsv`), a field
//! may be quoted with `"` (a `"` inside doubled; separators and line breaks inside quotes are
//! data), lines end with `\n` or `\r\n`, a UTF-8 byte-order mark is dropped, blank lines are
//! skipped. The first line is the header. Every row must have as many fields as the header
//! (the error names the line). A column whose every non-empty field reads as a number
//! (`1`, `-2.5e-3`, `NaN`, `inf`, `-Infinity`, any case) is a float column — with missing
//! values ([`Column::OptF64`]) if some fields are empty — and any other column is text
//! ([`Column::Str`]), kept as written (a column that turns out not to be numeric after
//! numeric fields keeps their text).

use std::path::Path;

use crate::ReportError;
use crate::table::{Column, Table};

/// Reads the table in `path`: Parquet for `.parquet` or `.pq` (needs the `parquet`
/// feature), tab-separated for `.tsv`, CSV otherwise (see the [module documentation](self)).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("log.csv");
/// std::fs::write(&path, "step,loss\n1,0.5\n2,\n3,0.25\n").unwrap();
/// let table = timescales_report::read_table(&path)?;
/// assert_eq!(table.height(), 3);
/// assert_eq!(
///     table.column("loss"),
///     Some(&timescales_report::Column::OptF64(vec![Some(0.5), None, Some(0.25)]))
/// );
/// # Ok::<(), timescales_report::ReportError>(())
/// ```
///
/// # Errors
/// [`ReportError::Io`] if the file cannot be read, [`ReportError::Table`] if it is not a
/// table (naming the line, or what polars said), or Parquet without the feature.
pub fn read_table(path: &Path) -> Result<Table, ReportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "parquet" | "pq" => read_parquet(path),
        _ => {
            let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let text = String::from_utf8(bytes).map_err(|e| ReportError::Table {
                what: path.display().to_string(),
                message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
            })?;
            let sep = if ext == "tsv" { b'\t' } else { b',' };
            parse_csv(&text, sep).map_err(|e| match e {
                ReportError::Table { what, message } => ReportError::Table {
                    what: format!("{} {what}", path.display()),
                    message,
                },
                other => other,
            })
        }
    }
}

/// A column being read: numbers while every field is one, text from the first that is not.
enum Building {
    Numbers {
        values: Vec<Option<f64>>,
        texts: Vec<(usize, String)>,
    },
    Text(Vec<String>),
}

/// Reads a field as a number: what Rust's `f64` parser takes, plus `nan`, `inf`,
/// `infinity` in any case with an optional sign.
pub fn parse_number(field: &str) -> Option<f64> {
    let s = field.trim();
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = match body.to_ascii_lowercase().as_str() {
        "nan" => f64::NAN,
        "inf" | "infinity" => f64::INFINITY,
        _ => return None,
    };
    Some(if neg { -v } else { v })
}

/// Parses CSV text (separator `sep`, `b','` or `b'\t'`) into a [`Table`]; see the
/// [module documentation](self).
///
/// ```
/// use timescales_report::{Column, read::parse_csv};
/// let t = parse_csv("Wall time,Step,Value\n1.7e9,10,\"0.5\"\r\n1.7e9,20,0.25\r\n", b',')?;
/// assert_eq!(t.names().collect::<Vec<_>>(), ["Wall time", "Step", "Value"]);
/// assert_eq!(t.column("Step"), Some(&Column::F64(vec![10.0, 20.0])));
/// # Ok::<(), timescales_report::ReportError>(())
/// ```
///
/// # Errors
/// [`ReportError::Table`] naming the line: no header, a repeated or empty column name, a
/// row with the wrong number of fields, an unterminated quote.
pub fn parse_csv(text: &str, sep: u8) -> Result<Table, ReportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Records {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        line: 1,
        sep,
    };
    let fail = |line: usize, message: String| ReportError::Table {
        what: format!("line {line}"),
        message,
    };
    let mut fields = Vec::new();
    let header_line = loop {
        let Some(line) = records.next_record(&mut fields)? else {
            return Err(fail(1, "no header line".into()));
        };
        if !(fields.len() == 1 && fields[0].is_empty()) {
            break line;
        }
    };
    let names: Vec<String> = fields.iter().map(|f| f.trim().to_string()).collect();
    for (j, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(fail(header_line, format!("column {} has no name", j + 1)));
        }
        if names[..j].contains(name) {
            return Err(fail(
                header_line,
                format!("column name {name:?} is repeated"),
            ));
        }
    }
    let mut columns: Vec<Building> = names
        .iter()
        .map(|_| Building::Numbers {
            values: Vec::new(),
            texts: Vec::new(),
        })
        .collect();
    let mut row = 0;
    while let Some(line) = records.next_record(&mut fields)? {
        if fields.len() == 1 && fields[0].is_empty() {
            continue;
        }
        if fields.len() != names.len() {
            return Err(fail(
                line,
                format!(
                    "has {} fields, the header has {} (row {})",
                    fields.len(),
                    names.len(),
                    row + 1
                ),
            ));
        }
        for (col, field) in columns.iter_mut().zip(fields.drain(..)) {
            push_field(col, field, row);
        }
        row += 1;
    }
    let mut table = Table::new();
    for (name, col) in names.iter().zip(columns) {
        table.push(
            name,
            match col {
                Building::Text(v) => Column::Str(v),
                Building::Numbers { values, .. } if values.iter().all(Option::is_some) => {
                    Column::F64(values.into_iter().flatten().collect())
                }
                Building::Numbers { values, .. } => Column::OptF64(values),
            },
        );
    }
    Ok(table)
}

fn push_field(col: &mut Building, field: String, row: usize) {
    match col {
        Building::Text(v) => v.push(field),
        Building::Numbers { values, texts } => {
            let trimmed = field.trim();
            if trimmed.is_empty() {
                values.push(None);
                texts.push((row, field));
            } else if let Some(v) = parse_number(trimmed) {
                values.push(Some(v));
                // The text of a number is kept only while the column could still turn out
                // to be text; it is rebuilt from the value otherwise (below).
            } else {
                let mut out: Vec<String> = values
                    .iter()
                    .map(|v| v.map_or_else(String::new, |x| x.to_string()))
                    .collect();
                for (r, t) in texts.drain(..) {
                    out[r] = t;
                }
                out.push(field);
                *col = Building::Text(out);
            }
        }
    }
}

/// A cursor over CSV records.
struct Records<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
    sep: u8,
}

impl Records<'_> {
    /// Appends the text up to the next separator or line end (a `\r` before it dropped).
    fn rest_of_field(&mut self, field: &mut String) {
        let b = self.bytes;
        let end = b[self.pos..]
            .iter()
            .position(|&c| c == self.sep || c == b'\n')
            .map_or(b.len(), |o| self.pos + o);
        field.push_str(self.text[self.pos..end].trim_end_matches('\r'));
        self.pos = end;
    }

    /// Reads the next record into `out` (cleared first); returns the line it starts on, or
    /// `None` at the end of the text.
    fn next_record(&mut self, out: &mut Vec<String>) -> Result<Option<usize>, ReportError> {
        out.clear();
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let start_line = self.line;
        let b = self.bytes;
        let mut field = String::new();
        loop {
            // One field.
            if self.pos < b.len() && b[self.pos] == b'"' {
                self.pos += 1;
                loop {
                    let Some(off) = b[self.pos..].iter().position(|&c| c == b'"') else {
                        return Err(ReportError::Table {
                            what: format!("line {start_line}"),
                            message: "a quoted field is never closed".into(),
                        });
                    };
                    let chunk = &self.text[self.pos..self.pos + off];
                    self.line += chunk.bytes().filter(|&c| c == b'\n').count();
                    field.push_str(chunk);
                    self.pos += off + 1;
                    if self.pos < b.len() && b[self.pos] == b'"' {
                        field.push('"');
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
            }
            // The field up to the separator (after a closing quote: anything there is kept
            // as text).
            self.rest_of_field(&mut field);
            out.push(std::mem::take(&mut field));
            if self.pos >= b.len() {
                return Ok(Some(start_line));
            }
            let c = b[self.pos];
            self.pos += 1;
            if c == b'\n' {
                self.line += 1;
                return Ok(Some(start_line));
            }
        }
    }
}

#[cfg(feature = "parquet")]
fn read_parquet(path: &Path) -> Result<Table, ReportError> {
    use polars::prelude::{DataType, ParquetReader, SerReader};
    let what = path.display().to_string();
    let err = |message: String| ReportError::Table {
        what: what.clone(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| ReportError::Io {
        path: what.clone(),
        source,
    })?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| err(e.to_string()))?;
    let mut table = Table::new();
    for col in df.columns() {
        let name = col.name().to_string();
        let s = col.as_materialized_series();
        let column = match s.dtype() {
            DataType::String => {
                let ca = s.str().map_err(|e| err(e.to_string()))?;
                Column::Str(
                    ca.iter()
                        .map(|v| v.unwrap_or_default().to_string())
                        .collect(),
                )
            }
            DataType::Boolean => {
                let ca = s.bool().map_err(|e| err(e.to_string()))?;
                Column::Str(
                    ca.iter()
                        .map(|v| v.map_or_else(String::new, |b| b.to_string()))
                        .collect(),
                )
            }
            dt if dt.is_primitive_numeric() => {
                let cast = s
                    .cast(&DataType::Float64)
                    .map_err(|e| err(format!("column {name:?}: {e}")))?;
                let ca = cast.f64().map_err(|e| err(e.to_string()))?;
                let values: Vec<Option<f64>> = ca.iter().collect();
                if values.iter().all(Option::is_some) {
                    Column::F64(values.into_iter().flatten().collect())
                } else {
                    Column::OptF64(values)
                }
            }
            dt => {
                let cast = s
                    .cast(&DataType::String)
                    .map_err(|_| err(format!("column {name:?} has type {dt}, not supported")))?;
                let ca = cast.str().map_err(|e| err(e.to_string()))?;
                Column::Str(
                    ca.iter()
                        .map(|v| v.unwrap_or_default().to_string())
                        .collect(),
                )
            }
        };
        table.push(&name, column);
    }
    Ok(table)
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(path: &Path) -> Result<Table, ReportError> {
    Err(ReportError::Table {
        what: path.display().to_string(),
        message: "reading Parquet needs the `parquet` feature (polars); \
                  export the table as CSV instead"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_line_breaks_and_errors() {
        let t = parse_csv("a,\"b,c\"\n\"x\"\"y\",\"1\n2\"\n\n3 ,4\n", b',').unwrap();
        assert_eq!(t.names().collect::<Vec<_>>(), ["a", "b,c"]);
        assert_eq!(
            t.column("a"),
            Some(&Column::Str(vec!["x\"y".into(), "3 ".into()]))
        );
        assert_eq!(
            t.column("b,c"),
            Some(&Column::Str(vec!["1\n2".into(), "4".into()]))
        );
        let e = parse_csv("a,b\n1,2\n3\n", b',').unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("1 fields"), "{e}");
        let e = parse_csv("a,a\n", b',').unwrap_err().to_string();
        assert!(e.contains("repeated"), "{e}");
        let e = parse_csv("a\n\"open\n", b',').unwrap_err().to_string();
        assert!(e.contains("never closed"), "{e}");
        assert!(parse_csv("", b',').is_err());
        // A header only: an empty table with its columns.
        let t = parse_csv("step,loss\n", b',').unwrap();
        assert_eq!((t.height(), t.width()), (0, 2));
    }

    #[test]
    fn numbers_missing_and_text_after_numbers() {
        let t = parse_csv("s\tl\tr\n1\tNaN\tx\n2\t\t2\n3\t-inf\t3.50\n", b'\t').unwrap();
        assert_eq!(t.column("s"), Some(&Column::F64(vec![1.0, 2.0, 3.0])));
        match t.column("l") {
            Some(Column::OptF64(v)) => {
                assert!(v[0].unwrap().is_nan() && v[1].is_none() && v[2] == Some(f64::NEG_INFINITY))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            t.column("r"),
            Some(&Column::Str(vec!["x".into(), "2".into(), "3.50".into()]))
        );
        let t = parse_csv("r\n1\n\nabc\n", b',').unwrap();
        assert_eq!(
            t.column("r"),
            Some(&Column::Str(vec!["1".into(), "abc".into()]))
        );
        assert_eq!(parse_number(" +Infinity "), Some(f64::INFINITY));
        assert_eq!(parse_number("1e"), None);
    }

    #[test]
    fn written_tables_read_back() {
        let t = Table::new()
            .f64("t", vec![0.0, 1e-7, 2.5])
            .str("name", ["a,b", "", "q\"x"]);
        let back = parse_csv(&crate::to_csv(&t).unwrap(), b',').unwrap();
        assert_eq!(back.column("t"), t.column("t"));
        assert_eq!(back.column("name"), t.column("name"));
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.parquet");
        let t = Table::new()
            .i64("step", vec![1, 2, 3])
            .opt_f64("loss", vec![Some(0.5), None, Some(0.25)])
            .str("run", ["a", "b", "a"]);
        crate::write_parquet(&t, &path, &[]).unwrap();
        let back = read_table(&path).unwrap();
        assert_eq!(back.column("step"), Some(&Column::F64(vec![1.0, 2.0, 3.0])));
        assert_eq!(back.column("loss"), t.column("loss"));
        assert_eq!(back.column("run"), t.column("run"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Any text (quotes, separators, line breaks, multi-byte characters): a table or an
        /// error, never a panic; a table's columns are equally long.
        #[test]
        fn any_text_reads_or_fails(text in "[-a-z0-9\",\t\r\n é.]{0,200}") {
            for sep in [b',', b'\t'] {
                if let Ok(t) = parse_csv(&text, sep) {
                    proptest::prop_assert!(t.validate().is_ok());
                }
            }
        }
    }
}
