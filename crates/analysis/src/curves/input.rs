//! From a [`Table`] to curves: the layout (long, wide, TensorBoard), the time and loss
//! columns, the grouping into curves, and the clean-up of each curve (values skipped and
//! counted, steps sorted, repeated steps merged).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use timescales_report::read::parse_number;
use timescales_report::{Column, Table};

use super::{ColumnSpec, Curve, CurveSet, InputCounts, Layout};
use crate::error::{AnalysisError, Result};

/// Names taken as the time column, in this order of preference (compared ignoring case).
pub const TIME_NAMES: [&str; 10] = [
    "step",
    "global_step",
    "_step",
    "steps",
    "iteration",
    "iter",
    "epoch",
    "t",
    "time",
    "trainer/global_step",
];

/// Names taken as the loss column (compared ignoring case); exactly one of them must be
/// present for the loss to be found by name.
pub const LOSS_NAMES: [&str; 9] = [
    "loss",
    "value",
    "risk",
    "train_loss",
    "train/loss",
    "training_loss",
    "loss/train",
    "train_loss_step",
    "objective",
];

/// Columns that are never a loss: a TensorBoard or W&B wall clock, and W&B's band columns.
fn never_loss(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "wall time" | "wall_time" | "walltime" | "timestamp" | "_timestamp" | "_runtime"
    ) || lower.ends_with("__min")
        || lower.ends_with("__max")
}

/// How the columns of the table were read (recorded in the results and manifests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedColumns {
    /// The layout found.
    pub layout: Layout,
    /// The time column.
    pub time: String,
    /// The loss column (long layouts), or the loss columns, one per curve (wide).
    pub loss: Vec<String>,
    /// The parameter: a column (long) or a label parsed from the loss columns' names (wide).
    pub by: Option<String>,
    /// The run column, if curves were grouped by one.
    pub run: Option<String>,
}

fn column<'a>(table: &'a Table, name: &str) -> Result<&'a Column> {
    table.column(name).ok_or_else(|| AnalysisError::BadColumn {
        column: name.to_string(),
        row: None,
        reason: format!(
            "no such column (the table has {})",
            table
                .names()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The numbers of column `name`, `None` where a value is missing; a text that is not a
/// number is an error naming its row.
fn numbers(table: &Table, name: &str) -> Result<Vec<Option<f64>>> {
    let bad = |row: usize, reason: String| AnalysisError::BadColumn {
        column: name.to_string(),
        row: Some(row + 1),
        reason,
    };
    Ok(match column(table, name)? {
        Column::F64(v) => v.iter().map(|&x| Some(x)).collect(),
        Column::OptF64(v) => v.clone(),
        Column::I64(v) => v.iter().map(|&x| Some(x as f64)).collect(),
        Column::U64(v) => v.iter().map(|&x| Some(x as f64)).collect(),
        Column::OptI64(v) => v.iter().map(|x| x.map(|x| x as f64)).collect(),
        Column::Bool(_) => return Err(bad(0, "holds booleans, not numbers".into())),
        Column::Str(v) => {
            let mut out = Vec::with_capacity(v.len());
            for (i, s) in v.iter().enumerate() {
                if s.trim().is_empty() {
                    out.push(None);
                } else {
                    out.push(Some(
                        parse_number(s).ok_or_else(|| bad(i, format!("`{s}` is not a number")))?,
                    ));
                }
            }
            out
        }
    })
}

/// The value of row `i` of a grouping column as a key (text as it is, numbers formatted).
fn keys(table: &Table, name: &str) -> Result<Vec<String>> {
    let fmt = |x: f64| format!("{x}");
    Ok(match column(table, name)? {
        Column::Str(v) => v.clone(),
        Column::Bool(v) => v.iter().map(|b| b.to_string()).collect(),
        Column::OptF64(v) => v.iter().map(|x| x.map_or_else(String::new, fmt)).collect(),
        Column::OptI64(v) => v
            .iter()
            .map(|x| x.map_or_else(String::new, |x| x.to_string()))
            .collect(),
        Column::F64(v) => v.iter().map(|&x| fmt(x)).collect(),
        Column::I64(v) => v.iter().map(|x| x.to_string()).collect(),
        Column::U64(v) => v.iter().map(|x| x.to_string()).collect(),
    })
}

fn find_name<'a>(table: &'a Table, candidates: &[&str]) -> Vec<&'a str> {
    let mut found = Vec::new();
    for c in candidates {
        for n in table.names() {
            if n.eq_ignore_ascii_case(c) && !found.contains(&n) {
                found.push(n);
            }
        }
    }
    found
}

fn is_numeric_column(table: &Table, name: &str) -> bool {
    match table.column(name) {
        Some(Column::Str(v)) => {
            v.iter().any(|s| !s.trim().is_empty())
                && v.iter()
                    .all(|s| s.trim().is_empty() || parse_number(s).is_some())
        }
        Some(Column::Bool(_)) | None => false,
        Some(_) => true,
    }
}

/// The parameter value in a wide layout's column name: the name itself, or what follows
/// `by=`, `by_`, `by:` or `by` (ignoring case), up to the next separator.
fn by_from_name(name: &str, by: &str) -> Option<f64> {
    if let Some(v) = parse_number(name) {
        return Some(v);
    }
    let lower = name.to_ascii_lowercase();
    let key = by.to_ascii_lowercase();
    if key.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&key) {
        let start = from + pos + key.len();
        let rest = lower[start..].trim_start_matches(['=', '_', ':', ' ']);
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
            .unwrap_or(rest.len());
        // The longest prefix that is a number (`1e-3` but not `1e-3x`).
        if let Some(v) = (1..=end).rev().find_map(|k| {
            rest.get(..k)
                .filter(|s| {
                    s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
                })
                .and_then(parse_number)
        }) {
            return Some(v);
        }
        from = start;
    }
    None
}

impl CurveSet {
    /// Reads curves from `table` as `spec` says (see the [module documentation](super) for
    /// the layouts and the clean-up).
    ///
    /// # Errors
    /// [`AnalysisError::BadColumn`] naming the column (and row) for a column that does not
    /// exist, a value that is not a number, a parameter that changes within a run, or a curve
    /// whose steps are mostly repeated (several runs in one curve); [`AnalysisError::BadTable`]
    /// for a table without rows, without a time or loss column to be found, or whose layout
    /// is ambiguous (saying which option resolves it).
    pub fn from_table(table: &Table, spec: &ColumnSpec) -> Result<CurveSet> {
        table.validate().map_err(|e| AnalysisError::BadTable {
            reason: e.to_string(),
        })?;
        if table.width() == 0 || table.height() == 0 {
            return Err(AnalysisError::BadTable {
                reason: "the table has no rows".into(),
            });
        }
        for name in [&spec.time, &spec.loss, &spec.run].into_iter().flatten() {
            column(table, name)?;
        }
        if let Some(by) = &spec.by
            && (super::PLATEAU_COLUMNS.contains(&by.as_str())
                || super::PHASE_COLUMNS.contains(&by.as_str()))
        {
            return Err(AnalysisError::BadColumn {
                column: by.clone(),
                row: None,
                reason: "the parameter's name is also the name of an output column; rename it"
                    .into(),
            });
        }
        let names: Vec<&str> = table.names().collect();
        let tensorboard = ["Wall time", "Step", "Value"]
            .iter()
            .all(|n| names.contains(n));
        let time = match &spec.time {
            Some(t) => t.clone(),
            None if tensorboard => "Step".to_string(),
            None => find_name(table, &TIME_NAMES)
                .first()
                .map(|s| s.to_string())
                .ok_or_else(|| AnalysisError::BadTable {
                    reason: format!(
                        "no time column found (looked for {}): pass the time column \
                         (--time)",
                        TIME_NAMES.join(", ")
                    ),
                })?,
        };
        let by_is_column = spec.by.as_ref().is_some_and(|b| table.column(b).is_some());
        let excluded = |n: &str| {
            n == time
                || spec.run.as_deref() == Some(n)
                || (by_is_column && spec.by.as_deref() == Some(n))
                || never_loss(n)
        };
        let loss = match &spec.loss {
            Some(l) => Some(l.clone()),
            None if tensorboard => Some("Value".to_string()),
            None => {
                let named: Vec<&str> = find_name(table, &LOSS_NAMES)
                    .into_iter()
                    .filter(|n| !excluded(n))
                    .collect();
                match named.len() {
                    1 => Some(named[0].to_string()),
                    0 => None,
                    _ => {
                        return Err(AnalysisError::BadTable {
                            reason: format!(
                                "several loss columns ({}): pass the one to analyse (--loss)",
                                named.join(", ")
                            ),
                        });
                    }
                }
            }
        };
        let candidates: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !excluded(n) && is_numeric_column(table, n))
            .collect();
        let long_loss = match loss {
            Some(l) => Some(l),
            None if spec.run.is_some() || by_is_column || candidates.len() == 1 => {
                match candidates.as_slice() {
                    [one] => Some(one.to_string()),
                    _ => {
                        return Err(AnalysisError::BadTable {
                            reason: format!(
                                "cannot tell the loss column among {}: pass it (--loss)",
                                if candidates.is_empty() {
                                    "no numeric column".to_string()
                                } else {
                                    candidates.join(", ")
                                }
                            ),
                        });
                    }
                }
            }
            None => None,
        };
        let t_values = numbers(table, &time)?;
        match long_loss {
            Some(loss) => {
                if let (Some(by), false) = (&spec.by, by_is_column) {
                    column(table, by)?;
                }
                let layout = if tensorboard && time == "Step" && loss == "Value" {
                    Layout::TensorBoard
                } else {
                    Layout::Long
                };
                let l_values = numbers(table, &loss)?;
                let by_values = match &spec.by {
                    Some(b) => Some(numbers(table, b)?),
                    None => None,
                };
                let groups = match (&spec.run, &spec.by) {
                    (Some(run), Some(by)) => {
                        // A run name may repeat across parameter values (a seed): then a
                        // curve is a run at one value, named with it.
                        let (runs, pars) = (keys(table, run)?, keys(table, by)?);
                        let mut seen: HashMap<&str, &str> = HashMap::new();
                        let mut shared = std::collections::HashSet::new();
                        for (r, p) in runs.iter().zip(&pars) {
                            if *seen.entry(r).or_insert(p) != p.as_str() {
                                shared.insert(r.as_str());
                            }
                        }
                        runs.iter()
                            .zip(&pars)
                            .map(|(r, p)| {
                                if shared.contains(r.as_str()) {
                                    format!("{r} ({by}={p})")
                                } else {
                                    r.clone()
                                }
                            })
                            .collect()
                    }
                    (Some(run), None) => keys(table, run)?,
                    (None, Some(by)) => keys(table, by)?,
                    (None, None) => vec![loss.clone(); table.height()],
                };
                let mut order: Vec<String> = Vec::new();
                let mut rows: HashMap<&str, Vec<usize>> = HashMap::new();
                for (i, g) in groups.iter().enumerate() {
                    rows.entry(g.as_str())
                        .or_insert_with(|| {
                            order.push(g.clone());
                            Vec::new()
                        })
                        .push(i);
                }
                let mut curves = Vec::with_capacity(order.len());
                for name in &order {
                    let idx = &rows[name.as_str()];
                    let by = match (&by_values, &spec.by) {
                        (Some(v), Some(by_name)) => {
                            parameter(v, idx, by_name, name, spec.run.as_deref())?
                        }
                        _ => None,
                    };
                    let pts = idx.iter().map(|&i| (i, t_values[i], l_values[i]));
                    curves.push(build_curve(name.clone(), by, pts, &time)?);
                }
                Ok(CurveSet {
                    columns: ResolvedColumns {
                        layout,
                        time,
                        loss: vec![loss],
                        by: spec.by.clone(),
                        run: spec.run.clone(),
                    },
                    curves,
                })
            }
            None => {
                if candidates.len() < 2 {
                    return Err(AnalysisError::BadTable {
                        reason: "no loss column found: pass it (--loss)".into(),
                    });
                }
                let mut curves = Vec::with_capacity(candidates.len());
                for name in &candidates {
                    let by =
                        match &spec.by {
                            Some(b) => Some(by_from_name(name, b).ok_or_else(|| {
                                AnalysisError::BadColumn {
                                    column: name.to_string(),
                                    row: None,
                                    reason: format!(
                                        "in a wide table the parameter `{b}` is read from each \
                                     loss column's name (`{b}=VALUE`, `{b}_VALUE` or a number); \
                                     this name has none"
                                    ),
                                }
                            })?),
                            None => None,
                        };
                    let l_values = numbers(table, name)?;
                    let pts = (0..table.height()).map(|i| (i, t_values[i], l_values[i]));
                    curves.push(build_curve(name.to_string(), by, pts, &time)?);
                }
                Ok(CurveSet {
                    columns: ResolvedColumns {
                        layout: Layout::Wide,
                        time,
                        loss: candidates.iter().map(|s| s.to_string()).collect(),
                        by: spec.by.clone(),
                        run: None,
                    },
                    curves,
                })
            }
        }
    }
}

/// The parameter of one curve: the same on every row of it (missing values aside).
fn parameter(
    values: &[Option<f64>],
    idx: &[usize],
    by: &str,
    curve: &str,
    run: Option<&str>,
) -> Result<Option<f64>> {
    let mut found: Option<f64> = None;
    for &i in idx {
        match (values[i], found) {
            (Some(v), None) if v.is_finite() => found = Some(v),
            (Some(v), Some(f)) if v != f && !(v.is_nan() && f.is_nan()) => {
                return Err(AnalysisError::BadColumn {
                    column: by.to_string(),
                    row: Some(i + 1),
                    reason: format!(
                        "changes within the curve `{curve}` ({f} before, {v} here){}",
                        if run.is_some() {
                            ""
                        } else {
                            ": pass the column that names the runs (--run)"
                        }
                    ),
                });
            }
            _ => {}
        }
    }
    Ok(found)
}

/// One curve from its rows `(row, time, loss)`: rows with a missing or non-finite time or
/// loss skipped, `t ≤ 0` left out (log time), sorted by time, repeated times merged into
/// the median of their losses.
fn build_curve(
    name: String,
    by: Option<f64>,
    rows: impl Iterator<Item = (usize, Option<f64>, Option<f64>)>,
    time: &str,
) -> Result<Curve> {
    let mut counts = InputCounts::default();
    let mut pts: Vec<(f64, f64, usize)> = Vec::new();
    let mut last_t = f64::NEG_INFINITY;
    for (row, t, l) in rows {
        counts.rows += 1;
        let Some(t) = t.filter(|t| t.is_finite()) else {
            counts.missing_time += 1;
            continue;
        };
        let Some(l) = l.filter(|l| l.is_finite()) else {
            counts.non_finite_loss += 1;
            continue;
        };
        if t <= 0.0 {
            counts.non_positive_time += 1;
            continue;
        }
        if t < last_t {
            counts.out_of_order += 1;
        }
        last_t = t;
        pts.push((t, l, row));
    }
    if counts.out_of_order > 0 {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    }
    let mut t_out = Vec::with_capacity(pts.len());
    let mut l_out = Vec::with_capacity(pts.len());
    let mut first_repeat: Option<(usize, f64)> = None;
    let mut i = 0;
    while i < pts.len() {
        let mut j = i + 1;
        while j < pts.len() && pts[j].0 == pts[i].0 {
            j += 1;
        }
        if j > i + 1 {
            counts.repeated += j - i - 1;
            first_repeat.get_or_insert((pts[i + 1].2, pts[i].0));
            let mut ls: Vec<f64> = pts[i..j].iter().map(|p| p.1).collect();
            l_out.push(crate::curves::denoise::median(&mut ls));
        } else {
            l_out.push(pts[i].1);
        }
        t_out.push(pts[i].0);
        i = j;
    }
    if let Some((row, t)) = first_repeat
        && counts.repeated * 2 > t_out.len()
    {
        return Err(AnalysisError::BadColumn {
            column: time.to_string(),
            row: Some(row + 1),
            reason: format!(
                "curve `{name}`: {} of its {} rows repeat an earlier time (first {t} \
                     here): several runs in one curve? pass the column that names the runs \
                     (--run)",
                counts.repeated, counts.rows
            ),
        });
    }
    Ok(Curve {
        name,
        by,
        t: t_out,
        loss: l_out,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_in_column_names() {
        assert_eq!(by_from_name("64", "width"), Some(64.0));
        assert_eq!(by_from_name("width=128 - loss", "width"), Some(128.0));
        assert_eq!(by_from_name("run_lr_1e-3/loss", "lr"), Some(1e-3));
        assert_eq!(by_from_name("Width_32", "width"), Some(32.0));
        assert_eq!(by_from_name("loss", "width"), None);
        assert_eq!(by_from_name("widthless", "width"), None);
        assert_eq!(by_from_name("width_3", ""), None);
    }
}
