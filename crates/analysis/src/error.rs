//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `timescales-analysis`.
///
/// Each variant names where the failure happened (which input, which index, which file, which
/// part of a specification), so a message is actionable without a backtrace. Data-dependent
/// failures are always reported through this type, never by panicking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisError {
    /// Two inputs that must have one entry per sample have different lengths.
    #[error("length mismatch: `{left_name}` has {left} entries but `{right_name}` has {right}")]
    LengthMismatch {
        /// Name of the first input.
        left_name: &'static str,
        /// Its length.
        left: usize,
        /// Name of the second input.
        right_name: &'static str,
        /// Its length.
        right: usize,
    },
    /// Too few usable points for the requested computation.
    #[error("{what}: needs at least {needed} usable points, got {got}")]
    TooFewPoints {
        /// What was being computed.
        what: &'static str,
        /// Minimum number of points.
        needed: usize,
        /// Number of usable points found.
        got: usize,
    },
    /// A value is NaN or infinite.
    #[error("`{input}`[{index}] is not finite ({value})")]
    NonFinite {
        /// Name of the input.
        input: &'static str,
        /// Index of the offending entry.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A value that enters a logarithm is zero or negative.
    #[error("`{input}`[{index}] = {value} must be > 0 (it enters a logarithm)")]
    NonPositive {
        /// Name of the input.
        input: &'static str,
        /// Index of the offending entry.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Times are not strictly increasing.
    #[error(
        "time is not strictly increasing at index {index}: t[{index}] = {value} after {previous}"
    )]
    NonIncreasingTime {
        /// Index of the offending sample.
        index: usize,
        /// The previous time.
        previous: f64,
        /// The offending time.
        value: f64,
    },
    /// The same epsilon appears twice where distinct values are required.
    #[error("epsilon {epsilon:e} appears more than once (indices {first} and {second})")]
    DuplicateEpsilon {
        /// The repeated value.
        epsilon: f64,
        /// First index.
        first: usize,
        /// Second index.
        second: usize,
    },
    /// A configuration parameter is out of its domain.
    #[error("parameter `{name}` = {value} is invalid: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        reason: &'static str,
    },
    /// A least-squares problem is degenerate (e.g. all abscissae equal).
    #[error("{what}: degenerate problem: {reason}")]
    Degenerate {
        /// What was being fitted.
        what: &'static str,
        /// Why it is degenerate.
        reason: &'static str,
    },
    /// An epsilon-grid specification `start:stop:count` could not be parsed.
    #[error("bad epsilon grid `{spec}`: {part}: {reason}")]
    GridSpec {
        /// The whole specification.
        spec: String,
        /// Which part is wrong (`start`, `stop`, `count` or `format`).
        part: &'static str,
        /// Why.
        reason: String,
    },
    /// A shard specification `i/n` could not be parsed.
    #[error("bad shard `{spec}`: {reason}")]
    ShardSpec {
        /// The specification.
        spec: String,
        /// Why.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A run file could not be (de)serialized.
    #[error("JSON error in {path}: {source}")]
    Json {
        /// The run file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A run file is well-formed JSON but inconsistent (e.g. its key and its content disagree).
    #[error("bad run file {path}: {reason}")]
    BadRunFile {
        /// The run file.
        path: PathBuf,
        /// Why it is rejected.
        reason: String,
    },
    /// A run directory holds the runs of another computation than the one asked for (its
    /// fingerprint differs), or runs without a fingerprint.
    #[error("{dir} holds runs of another computation: {}", differences.join("; "))]
    StoreMismatch {
        /// The run directory.
        dir: PathBuf,
        /// What differs: `key: stored → requested`, one entry per key.
        differences: Vec<String>,
    },
    /// Two run directories to merge were computed differently (their fingerprints differ).
    #[error("cannot merge {first} and {second}: {}", differences.join("; "))]
    MergeMismatch {
        /// One run directory.
        first: PathBuf,
        /// The other.
        second: PathBuf,
        /// What differs: `key: first → second`.
        differences: Vec<String>,
    },
    /// Shard directories to merge do not cover the grid.
    #[error(
        "{} of {points} grid points are in no shard (ε = {})",
        missing.len(),
        missing.iter().map(|e| format!("{e:e}")).collect::<Vec<_>>().join(", ")
    )]
    MergeIncomplete {
        /// The points of the grid in no input, in grid order.
        missing: Vec<f64>,
        /// Points in the grid.
        points: usize,
    },
    /// Two shard directories hold different results for the same epsilon.
    #[error(
        "merge conflict at epsilon {epsilon:e}: {first} and {second} hold different values \
         (timings aside)"
    )]
    MergeConflict {
        /// The epsilon.
        epsilon: f64,
        /// One file.
        first: PathBuf,
        /// The other file.
        second: PathBuf,
    },
    /// A column of a table of curves is missing, or holds a value that cannot be used.
    #[error("column `{column}`{}: {reason}", row.map_or(String::new(), |r| format!(", row {r}")))]
    BadColumn {
        /// The column.
        column: String,
        /// The row (1-based, the header not counted), when one value is at fault.
        row: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A table of curves cannot be read as curves (no rows, no time or loss column to be
    /// found, an ambiguous layout).
    #[error("table of curves: {reason}")]
    BadTable {
        /// What is wrong, and what to pass to resolve it.
        reason: String,
    },
    /// The particle-count doubling did not converge before the cap.
    #[error(
        "phase times not converged in N: last N = {last_n} (cap {n_max}), \
         last relative change {last_change:e}"
    )]
    NotConverged {
        /// The cap on N.
        n_max: usize,
        /// The last N evaluated.
        last_n: usize,
        /// The last maximal relative change (infinite when the phase count changed).
        last_change: f64,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = AnalysisError> = std::result::Result<T, E>;

/// Checks that every entry of `values` is finite.
pub(crate) fn check_finite(input: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(AnalysisError::NonFinite {
            input,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks that every entry of `values` is finite and strictly positive.
pub(crate) fn check_positive(input: &'static str, values: &[f64]) -> Result<()> {
    check_finite(input, values)?;
    match values.iter().position(|&v| v <= 0.0) {
        Some(index) => Err(AnalysisError::NonPositive {
            input,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks that two inputs have the same length.
pub(crate) fn check_same_len(
    left_name: &'static str,
    left: usize,
    right_name: &'static str,
    right: usize,
) -> Result<()> {
    if left == right {
        Ok(())
    } else {
        Err(AnalysisError::LengthMismatch {
            left_name,
            left,
            right_name,
            right,
        })
    }
}
