//! Reading a user-defined system from a TOML scenario file:
//!
//! ```toml
//! [system]
//! slow = { x = "y" }                      # x' = …
//! fast = { y = "(1 - x^2)*y - x" }        # ε y' = …  (right-hand side without the ε)
//! parameters = { }                        # named constants usable in the expressions
//! initial = { x = 2.0, y = 0.0 }
//! [run]
//! epsilon = 1e-6
//! t_end = 2.0
//! rtol = 1e-10
//! atol = 1e-12
//! times = [0.5, 1.0, 2.0]     # or samples = 200: t = 0 and 200 log-spaced times from ε/10
//! method = "rodas4"           # "rodas4" (default) | "bdf" | "dopri5" | "dop853"
//! ```
//!
//! The `[run]` keys are those of a scenario file (`epsilon`, `t_end`, `rtol`, `atol`,
//! `times` or `samples`, `method`), with the same meaning; a bad value is an error naming
//! its key (`run.samples`, …). Variables keep the order in which the file lists them. Expression errors carry the line
//! and column in the file of the offending token.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use timescales_ode::Method;

use crate::expr::check_name;
use crate::{SystemsError, UserSystem, VariableSpec};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemTable {
    slow: BTreeMap<String, Spanned<String>>,
    fast: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    parameters: BTreeMap<String, f64>,
    initial: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
struct Document {
    system: Option<SystemTable>,
    run: Option<RunSpec>,
}

/// The `[run]` table: how to integrate the system directly.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// `ε`.
    pub epsilon: Option<f64>,
    /// Final time `T` (the run covers `[0, T]`).
    pub t_end: f64,
    /// Relative tolerance (default `1e-8`).
    #[serde(default = "default_rtol")]
    pub rtol: f64,
    /// Absolute tolerance (default `1e-10`).
    #[serde(default = "default_atol")]
    pub atol: f64,
    /// Output times (default: 201 equally spaced times on `[0, T]`).
    #[serde(default)]
    pub times: Option<Vec<f64>>,
    /// Number of log-spaced output times from `ε/10` to `T` (after `t = 0`), as in
    /// scenario files; exclusive with `times`.
    #[serde(default)]
    pub samples: Option<usize>,
    /// Integrator: `rodas4` (default), `bdf`, `dopri5` or `dop853` (as in scenario files).
    #[serde(default)]
    pub method: Option<String>,
}

fn default_rtol() -> f64 {
    1e-8
}
fn default_atol() -> f64 {
    1e-10
}

impl RunSpec {
    /// The output times without `samples`: the listed ones, or 201 equally spaced on
    /// `[0, t_end]` (with `samples`, see [`output_times_at`](Self::output_times_at)).
    pub fn output_times(&self) -> Vec<f64> {
        match &self.times {
            Some(t) => t.clone(),
            None => (0..=200).map(|i| self.t_end * i as f64 / 200.0).collect(),
        }
    }

    /// The output times at `ε`: the listed ones; with `samples = n`, `t = 0` and `n`
    /// log-spaced times from `ε/10` to `t_end` (as a scenario's `[run] samples`); else 201
    /// equally spaced on `[0, t_end]`.
    ///
    /// # Errors
    /// [`SystemsError::InvalidValue`] naming `run.t_end` when `t_end ≤ ε/10` with
    /// `samples`, or `run.epsilon` for `ε ≤ 0`.
    pub fn output_times_at(&self, eps: f64) -> Result<Vec<f64>, SystemsError> {
        let Some(n) = self.samples else {
            return Ok(self.output_times());
        };
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(SystemsError::InvalidValue {
                key: "run.epsilon".into(),
                reason: format!("must be positive, got {eps}"),
            });
        }
        let lo = eps / 10.0;
        if self.t_end <= lo {
            return Err(SystemsError::InvalidValue {
                key: "run.t_end".into(),
                reason: format!(
                    "must exceed ε/10 = {lo:e} for the log-spaced `samples` grid, got {}",
                    self.t_end
                ),
            });
        }
        let (l0, l1) = (lo.ln(), self.t_end.ln());
        let mut t = vec![0.0];
        t.extend((0..n).map(|i| {
            if i + 1 == n {
                self.t_end
            } else {
                (l0 + (l1 - l0) * i as f64 / (n - 1) as f64).exp()
            }
        }));
        Ok(t)
    }

    /// The integrator named by `method` (default RODAS4).
    ///
    /// # Errors
    /// [`SystemsError::InvalidValue`] naming `run.method` for an unknown name.
    pub fn integrator(&self) -> Result<Method, SystemsError> {
        match self.method.as_deref() {
            None => Ok(Method::Rodas4),
            Some(name) => Method::from_name(name).ok_or_else(|| SystemsError::InvalidValue {
                key: "run.method".into(),
                reason: format!(
                    "unknown method \"{name}\" (expected \"bdf\", \"rodas4\", \"dopri5\" or \"dop853\")"
                ),
            }),
        }
    }

    fn validate(&self) -> Result<(), SystemsError> {
        let bad = |key: &str, reason: String| SystemsError::InvalidValue {
            key: format!("run.{key}"),
            reason,
        };
        if let Some(e) = self.epsilon
            && !(e > 0.0 && e.is_finite())
        {
            return Err(bad("epsilon", format!("must be positive, got {e}")));
        }
        if !(self.t_end > 0.0 && self.t_end.is_finite()) {
            return Err(bad(
                "t_end",
                format!("must be positive, got {}", self.t_end),
            ));
        }
        for (k, v) in [("rtol", self.rtol), ("atol", self.atol)] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(bad(k, format!("must be positive, got {v}")));
            }
        }
        if self.times.is_some() && self.samples.is_some() {
            return Err(bad(
                "times",
                "give either `times` or `samples`, not both".into(),
            ));
        }
        if let Some(n) = self.samples
            && n < 2
        {
            return Err(bad("samples", format!("must be at least 2, got {n}")));
        }
        self.integrator()?;
        if let Some(times) = &self.times {
            if times.is_empty() {
                return Err(bad("times", "must not be empty".into()));
            }
            let mut prev = 0.0;
            for (i, &t) in times.iter().enumerate() {
                if !(t.is_finite() && t >= prev && t <= self.t_end) {
                    return Err(bad(
                        "times",
                        format!(
                            "times[{i}] = {t}: times must be non-decreasing within [0, t_end = {}]",
                            self.t_end
                        ),
                    ));
                }
                prev = t;
            }
        }
        Ok(())
    }
}

/// A system read from a file, with its initial state and (optional) run settings.
#[derive(Debug, Clone)]
pub struct SystemFile {
    /// The system.
    pub system: UserSystem,
    /// Initial slow state `x(0)`, in the order of [`SlowFastSystem::slow_names`](timescales_ode::SlowFastSystem::slow_names).
    pub x0: Vec<f64>,
    /// Initial fast state `y(0)`.
    pub y0: Vec<f64>,
    /// The `[run]` table, if any.
    pub run: Option<RunSpec>,
}

/// 1-based (line, column) of byte offset `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Whether a TOML document has a `[system]` table (what `timescales run` checks to route
/// a file here).
fn has_system_table(text: &str) -> bool {
    toml::from_str::<toml::Table>(text).is_ok_and(|t| t.contains_key("system"))
}

impl SystemFile {
    /// Whether `text` has a `[system]` table.
    pub fn is_system_document(text: &str) -> bool {
        has_system_table(text)
    }

    /// Reads a file (see [`parse`](Self::parse)).
    ///
    /// # Errors
    /// [`SystemsError::File`] when the file cannot be read, otherwise as [`parse`](Self::parse).
    pub fn read(path: &std::path::Path) -> Result<Self, SystemsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SystemsError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a TOML document with a `[system]` table; `origin` names it in errors.
    ///
    /// # Errors
    /// [`SystemsError::File`] for invalid TOML or a missing/ill-shaped table,
    /// [`SystemsError::Expression`] with the file line and column for a bad expression,
    /// [`SystemsError::MissingInitial`] / [`SystemsError::UnknownInitial`] for the initial
    /// values, [`SystemsError::InvalidName`] / [`SystemsError::InvalidValue`] otherwise.
    pub fn parse(text: &str, origin: &str) -> Result<Self, SystemsError> {
        let doc: Document = toml::from_str(text).map_err(|e| SystemsError::File {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        let table = doc.system.ok_or_else(|| SystemsError::File {
            path: origin.to_string(),
            message: "no [system] table".into(),
        })?;
        // Document order: sort by where each expression starts.
        let ordered = |m: BTreeMap<String, Spanned<String>>| {
            let mut v: Vec<(String, Spanned<String>)> = m.into_iter().collect();
            v.sort_by_key(|(_, s)| s.span().start);
            v
        };
        let slow = ordered(table.slow);
        let fast = ordered(table.fast);
        // Where, in the file, each expression's first character lies (exact for basic and
        // literal strings without escapes).
        let mut starts: BTreeMap<String, Option<usize>> = BTreeMap::new();
        for (group, list) in [("slow", &slow), ("fast", &fast)] {
            for (name, s) in list {
                let span = s.span();
                let raw = text.get(span.clone()).unwrap_or("");
                let skip = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                    3
                } else {
                    1
                };
                let inner = raw.get(skip..raw.len().saturating_sub(skip)).unwrap_or("");
                let exact = inner == s.get_ref().as_str();
                starts.insert(
                    format!("{group}.{name}"),
                    exact.then_some(span.start + skip),
                );
            }
        }
        let specs = |list: &[(String, Spanned<String>)]| {
            list.iter()
                .map(|(n, s)| VariableSpec::new(n.clone(), s.get_ref().clone()))
                .collect::<Vec<_>>()
        };
        let parameters: Vec<(String, f64)> = table.parameters.into_iter().collect();
        let system =
            UserSystem::new(&specs(&slow), &specs(&fast), &parameters).map_err(|e| match e {
                SystemsError::Expression {
                    key,
                    expression,
                    position,
                    message,
                    ..
                } => {
                    let (line, column) = match starts.get(&key).copied().flatten() {
                        Some(start) => {
                            let byte = start
                                + expression
                                    .char_indices()
                                    .nth(position)
                                    .map_or(expression.len(), |(b, _)| b);
                            let (l, c) = line_column(text, byte);
                            (Some(l), Some(c))
                        }
                        None => (None, None),
                    };
                    SystemsError::Expression {
                        key,
                        expression,
                        position,
                        message,
                        line,
                        column,
                    }
                }
                other => other,
            })?;
        let mut initial = table.initial;
        let mut take = |names: &[(String, Spanned<String>)]| -> Result<Vec<f64>, SystemsError> {
            names
                .iter()
                .map(|(n, _)| {
                    initial
                        .remove(n)
                        .ok_or_else(|| SystemsError::MissingInitial {
                            variable: n.clone(),
                        })
                })
                .collect()
        };
        let x0 = take(&slow)?;
        let y0 = take(&fast)?;
        if let Some(name) = initial.keys().next() {
            return Err(SystemsError::UnknownInitial { name: name.clone() });
        }
        for (name, v) in slow
            .iter()
            .map(|p| &p.0)
            .zip(&x0)
            .chain(fast.iter().map(|p| &p.0).zip(&y0))
        {
            check_name("initial", name)?;
            if !v.is_finite() {
                return Err(SystemsError::InvalidValue {
                    key: format!("system.initial.{name}"),
                    reason: format!("{v} is not finite"),
                });
            }
        }
        if let Some(run) = &doc.run {
            run.validate()?;
        }
        Ok(Self {
            system,
            x0,
            y0,
            run: doc.run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_ode::SlowFastSystem;

    const ISSUE_EXAMPLE: &str = r#"
[system]
slow = { x = "y" }                      # x' = …
fast = { y = "(1 - x^2)*y - x" }        # ε y' = …  (right-hand side given without the ε)
parameters = { }                        # named constants usable in the expressions
initial = { x = 2.0, y = 0.0 }
[run]
epsilon = 1e-6
t_end = 2.0
rtol = 1e-10
atol = 1e-12
times = [0.5, 1.0, 2.0]
"#;

    #[test]
    fn reads_the_issue_example() {
        let f = SystemFile::parse(ISSUE_EXAMPLE, "example.toml").unwrap();
        assert_eq!(f.system.slow_names(), ["x"]);
        assert_eq!(f.system.fast_names(), ["y"]);
        assert_eq!((f.x0.clone(), f.y0.clone()), (vec![2.0], vec![0.0]));
        let run = f.run.unwrap();
        assert_eq!(run.epsilon, Some(1e-6));
        assert_eq!(run.output_times(), [0.5, 1.0, 2.0]);
        assert!(SystemFile::is_system_document(ISSUE_EXAMPLE));
        assert!(!SystemFile::is_system_document("[run]\nt_end = 1.0\n"));
    }

    #[test]
    fn keeps_file_order_of_variables() {
        let text = r#"
[system]
slow = { zeta = "-zeta", alpha = "zeta" }
fast = { b = "a0 - b", a = "-a" }
parameters = { a0 = 1.5 }
initial = { zeta = 1.0, alpha = 2.0, b = 0.0, a = 3.0 }
"#;
        let f = SystemFile::parse(text, "t.toml").unwrap();
        assert_eq!(f.system.slow_names(), ["zeta", "alpha"]);
        assert_eq!(f.system.fast_names(), ["b", "a"]);
        assert_eq!(f.x0, [1.0, 2.0]);
        assert_eq!(f.y0, [0.0, 3.0]);
        assert!(f.run.is_none());
    }

    #[test]
    fn expression_errors_carry_file_line_and_column() {
        let text = "[system]\nslow = { x = \"y\" }\nfast = { y = \"(1 - x^2)*y - foo\" }\ninitial = { x = 2.0, y = 0.0 }\n";
        let e = SystemFile::parse(text, "bad.toml").unwrap_err();
        match &e {
            SystemsError::Expression {
                key,
                position,
                line,
                column,
                ..
            } => {
                assert_eq!(key, "fast.y");
                assert_eq!(*position, 14);
                // Line 3: `fast = { y = "` is 14 characters, so the token is at column 15 + 14.
                assert_eq!((*line, *column), (Some(3), Some(29)));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            e.to_string().starts_with("line 3, column 29: in fast.y"),
            "{e}"
        );
    }

    #[test]
    fn a_system_without_variables_is_refused() {
        let empty = "[system]\nslow = { }\nfast = { }\ninitial = { }\n";
        assert!(matches!(
            SystemFile::parse(empty, "e.toml"),
            Err(SystemsError::InvalidValue { key, .. }) if key == "system.slow/system.fast"
        ));
    }

    #[test]
    fn shape_errors() {
        let missing =
            "[system]\nslow = { x = \"y\" }\nfast = { y = \"-y\" }\ninitial = { x = 1.0 }\n";
        assert!(matches!(
            SystemFile::parse(missing, "m.toml"),
            Err(SystemsError::MissingInitial { variable }) if variable == "y"
        ));
        let extra = "[system]\nslow = { x = \"y\" }\nfast = { y = \"-y\" }\ninitial = { x = 1.0, y = 0.0, z = 3.0 }\n";
        assert!(matches!(
            SystemFile::parse(extra, "e.toml"),
            Err(SystemsError::UnknownInitial { name }) if name == "z"
        ));
        let typo = "[system]\nslow = { x = \"y\" }\nfast = { y = \"-y\" }\ninital = { x = 1.0 }\n";
        assert!(matches!(
            SystemFile::parse(typo, "t.toml"),
            Err(SystemsError::File { .. })
        ));
        let bad_run = ISSUE_EXAMPLE.replace("t_end = 2.0", "t_end = -1.0");
        assert!(matches!(
            SystemFile::parse(&bad_run, "r.toml"),
            Err(SystemsError::InvalidValue { key, .. }) if key == "run.t_end"
        ));
        assert!(matches!(
            SystemFile::parse("[run]\nt_end = 1.0\n", "n.toml"),
            Err(SystemsError::File { .. })
        ));
    }

    #[test]
    fn run_keys_of_scenarios_are_accepted_and_honoured() {
        let text =
            ISSUE_EXAMPLE.replace("times = [0.5, 1.0, 2.0]", "samples = 5\nmethod = \"bdf\"");
        let f = SystemFile::parse(&text, "s.toml").unwrap();
        let run = f.run.unwrap();
        assert_eq!(run.samples, Some(5));
        assert_eq!(run.integrator().unwrap(), Method::Bdf);
        // t = 0, then 5 log-spaced times from ε/10 = 1e-7 to t_end = 2.
        let t = run.output_times_at(1e-6).unwrap();
        assert_eq!(t.len(), 6);
        assert_eq!((t[0], t[5]), (0.0, 2.0));
        assert!((t[1] - 1e-7).abs() < 1e-20);
        let ratio = t[2] / t[1];
        assert!((t[3] / t[2] - ratio).abs() < 1e-9 * ratio);
        assert!(matches!(
            run.output_times_at(100.0),
            Err(SystemsError::InvalidValue { key, .. }) if key == "run.t_end"
        ));
    }

    #[test]
    fn bad_run_values_name_their_key() {
        let cases = [
            ("times = [0.5, 1.0, 2.0]", "samples = 1", "run.samples"),
            (
                "times = [0.5, 1.0, 2.0]",
                "method = \"euler\"",
                "run.method",
            ),
            (
                "times = [0.5, 1.0, 2.0]",
                "times = [0.5]\nsamples = 10",
                "run.times",
            ),
            ("times = [0.5, 1.0, 2.0]", "times = []", "run.times"),
            ("rtol = 1e-10", "rtol = -1.0", "run.rtol"),
        ];
        for (from, to, key) in cases {
            let text = ISSUE_EXAMPLE.replace(from, to);
            match SystemFile::parse(&text, "b.toml") {
                Err(SystemsError::InvalidValue { key: k, reason }) => {
                    assert_eq!(k, key, "{to}: {reason}");
                }
                other => panic!("{to}: {other:?}"),
            }
        }
        let unknown = ISSUE_EXAMPLE.replace("rtol = 1e-10", "rtool = 1e-10");
        let e = SystemFile::parse(&unknown, "u.toml").unwrap_err();
        assert!(e.to_string().contains("rtool"), "{e}");
    }
}
