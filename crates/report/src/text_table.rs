//! Tables as text for people: Markdown (GitHub pipe tables) and LaTeX (booktabs), from
//! [`Table`]s, written atomically.
//!
//! Floats are printed with a fixed number of significant digits: plainly when
//! `1e-3 ≤ |v| < 1e5`, otherwise in scientific notation (`1.23e-7` in Markdown,
//! `$1.23\times10^{-7}$` in LaTeX); NaN and missing values print as an em dash. Integers print
//! in decimal, booleans as `true`/`false`. Numeric columns are right-aligned, others
//! left-aligned.

use std::path::Path;

use crate::table::{Column, Table};
use crate::{ReportError, atomic::write_bytes_atomic};

/// A cell, before rendering.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    /// A float.
    Float(f64),
    /// Anything else, as text.
    Text(String),
    /// Missing.
    Null,
}

/// Column names, whether each column is numeric, and the rows of cells.
type Cells = (Vec<String>, Vec<bool>, Vec<Vec<Cell>>);

/// Row `i` of `column` as a cell.
fn cell(column: &Column, i: usize) -> Cell {
    match column {
        Column::F64(v) => Cell::Float(v[i]),
        Column::OptF64(v) => v[i].map_or(Cell::Null, Cell::Float),
        Column::I64(v) => Cell::Text(v[i].to_string()),
        Column::U64(v) => Cell::Text(v[i].to_string()),
        Column::OptI64(v) => v[i].map_or(Cell::Null, |x| Cell::Text(x.to_string())),
        Column::Str(v) => Cell::Text(v[i].clone()),
        Column::Bool(v) => Cell::Text(v[i].to_string()),
    }
}

/// Columns' names, numeric flags and cells of `table`.
fn cells(table: &Table) -> Result<Cells, ReportError> {
    table.validate()?;
    let names = table.names().map(str::to_string).collect();
    let numeric = table.columns().map(|(_, c)| c.is_numeric()).collect();
    let rows = (0..table.height())
        .map(|i| table.columns().map(|(_, c)| cell(c, i)).collect())
        .collect();
    Ok((names, numeric, rows))
}

/// `v` to `digits` significant digits: `(mantissa text, exponent if scientific)`.
fn float_parts(v: f64, digits: usize) -> (String, Option<i32>) {
    let digits = digits.max(1);
    if v == 0.0 {
        return ("0".to_string(), None);
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let mag = a.log10().floor() as i32;
        let decimals = (digits as i32 - 1 - mag).max(0) as usize;
        (format!("{v:.decimals$}"), None)
    } else {
        let s = format!("{:.*e}", digits - 1, v);
        match s.split_once('e') {
            Some((m, e)) => (m.to_string(), e.parse().ok()),
            None => (s, None),
        }
    }
}

fn md_float(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "—".into()
        } else if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    match float_parts(v, digits) {
        (m, Some(e)) => format!("{m}e{e}"),
        (m, None) => m,
    }
}

fn tex_float(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "--".into()
        } else if v > 0.0 {
            "$\\infty$".into()
        } else {
            "$-\\infty$".into()
        };
    }
    match float_parts(v, digits) {
        (m, Some(e)) => format!("${m}\\times10^{{{e}}}$"),
        (m, None) => format!("${m}$"),
    }
}

/// Escapes the characters LaTeX treats specially.
fn tex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(ch),
        }
    }
    out
}

/// `table` as a Markdown pipe table, floats to `digits` significant digits.
///
/// # Errors
/// [`ReportError::Table`] if the table is malformed ([`Table::validate`]).
pub fn to_markdown(table: &Table, digits: usize) -> Result<String, ReportError> {
    let (names, numeric, rows) = cells(table)?;
    let text: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Cell::Float(v) => md_float(*v, digits),
                    Cell::Text(s) => s.replace('|', "\\|"),
                    Cell::Null => "—".into(),
                })
                .collect()
        })
        .collect();
    let width = |j: usize| {
        text.iter()
            .map(|r| r[j].chars().count())
            .chain(std::iter::once(names[j].chars().count()))
            .max()
            .unwrap_or(1)
            .max(3)
    };
    let widths: Vec<usize> = (0..names.len()).map(width).collect();
    let pad = |s: &str, w: usize, right: bool| {
        let n = s.chars().count();
        let fill = " ".repeat(w.saturating_sub(n));
        if right {
            format!("{fill}{s}")
        } else {
            format!("{s}{fill}")
        }
    };
    let mut out = String::new();
    let header: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(j, n)| pad(&n.replace('|', "\\|"), widths[j], numeric[j]))
        .collect();
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    let rule: Vec<String> = widths
        .iter()
        .zip(&numeric)
        .map(|(&w, &num)| {
            if num {
                format!("{}:", "-".repeat(w - 1))
            } else {
                "-".repeat(w)
            }
        })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for r in &text {
        let row: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(j, s)| pad(s, widths[j], numeric[j]))
            .collect();
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    Ok(out)
}

/// `table` as a LaTeX `tabular` with booktabs rules (`\toprule`, `\midrule`, `\bottomrule`;
/// needs `\usepackage{booktabs}`), wrapped in a `table` float when `caption` is given.
///
/// # Errors
/// [`ReportError::Table`] if the table is malformed ([`Table::validate`]).
pub fn to_latex(
    table: &Table,
    digits: usize,
    caption: Option<&str>,
) -> Result<String, ReportError> {
    let (names, numeric, rows) = cells(table)?;
    let spec: String = numeric.iter().map(|&n| if n { 'r' } else { 'l' }).collect();
    let mut out = String::new();
    if let Some(c) = caption {
        out.push_str("\\begin{table}\n\\centering\n");
        out.push_str(&format!("\\caption{{{}}}\n", tex_escape(c)));
    }
    out.push_str(&format!("\\begin{{tabular}}{{{spec}}}\n\\toprule\n"));
    let header: Vec<String> = names.iter().map(|n| tex_escape(n)).collect();
    out.push_str(&format!("{} \\\\\n\\midrule\n", header.join(" & ")));
    for r in &rows {
        let row: Vec<String> = r
            .iter()
            .map(|c| match c {
                Cell::Float(v) => tex_float(*v, digits),
                Cell::Text(s) => tex_escape(s),
                Cell::Null => "--".into(),
            })
            .collect();
        out.push_str(&format!("{} \\\\\n", row.join(" & ")));
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    if caption.is_some() {
        out.push_str("\\end{table}\n");
    }
    Ok(out)
}

/// Writes [`to_markdown`] to `path`, atomically.
///
/// # Errors
/// [`ReportError`].
pub fn write_markdown(table: &Table, path: &Path, digits: usize) -> Result<(), ReportError> {
    write_bytes_atomic(path, to_markdown(table, digits)?.as_bytes())
}

/// Writes [`to_latex`] to `path`, atomically.
///
/// # Errors
/// [`ReportError`].
pub fn write_latex(
    table: &Table,
    path: &Path,
    digits: usize,
    caption: Option<&str>,
) -> Result<(), ReportError> {
    write_bytes_atomic(path, to_latex(table, digits, caption)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Table {
        Table::new()
            .str("phase", ["1", "2 | x", "t_mid"])
            .f64("gamma", [0.5012345, -1.5e-7, f64::NAN])
            .i64("n", [13, 4, 0])
    }

    #[test]
    fn markdown_layout() {
        let md = to_markdown(&frame(), 3).unwrap();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 5, "{md}");
        assert!(lines[0].starts_with("| phase"), "{md}");
        assert!(
            lines[1].contains("---:"),
            "numeric columns right-aligned: {md}"
        );
        assert!(md.contains("0.501"), "{md}");
        assert!(md.contains("-1.50e-7"), "{md}");
        assert!(md.contains("2 \\| x"), "{md}");
        assert!(md.contains('—'), "NaN as a dash: {md}");
        // Every line has the same number of cell separators.
        let bars = lines[0].matches(" | ").count();
        assert!(lines.iter().all(|l| l.matches(" | ").count() >= bars));
    }

    #[test]
    fn latex_booktabs() {
        let tex = to_latex(&frame(), 3, Some("Exponents & CIs")).unwrap();
        assert!(tex.contains("\\begin{tabular}{lrr}"), "{tex}");
        assert!(
            tex.contains("\\toprule") && tex.contains("\\midrule") && tex.contains("\\bottomrule")
        );
        assert!(tex.contains("$-1.50\\times10^{-7}$"), "{tex}");
        assert!(
            tex.contains("t\\_mid") && tex.contains("Exponents \\& CIs"),
            "{tex}"
        );
        assert!(tex.contains("\\end{table}"));
        assert_eq!(tex.matches("\\\\\n").count(), 4);
    }

    #[test]
    fn written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/t.md");
        write_markdown(&frame(), &p, 4).unwrap();
        write_latex(&frame(), &dir.path().join("t.tex"), 4, None).unwrap();
        assert!(std::fs::read_to_string(p).unwrap().starts_with("| phase"));
    }
}

/// Cells render as the polars-based tables did (`AnyValue`'s display for integers and
/// booleans).
#[cfg(all(test, feature = "parquet"))]
mod polars_tests {
    use super::*;
    use crate::table::to_dataframe;

    #[test]
    fn integer_and_boolean_cells_as_polars_displayed_them() {
        let table = Table::new()
            .i64("i", [0, -12345678, i64::MIN])
            .u64("u", [0, 1_000_000, u64::MAX])
            .opt_i64("oi", [Some(-7), None, Some(1234)])
            .bool("b", [true, false, true]);
        let df = to_dataframe(&table).unwrap();
        for (j, (_, column)) in table.columns().enumerate() {
            for i in 0..table.height() {
                let theirs = df.columns()[j].get(i).unwrap();
                match cell(column, i) {
                    Cell::Text(s) => assert_eq!(s, theirs.to_string()),
                    Cell::Null => assert!(theirs.is_null()),
                    Cell::Float(_) => unreachable!(),
                }
            }
        }
    }
}
