use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::EventHit;

/// Watches an integration driven by [`integrate`](crate::integrate): every requested output
/// time, and (optionally) every accepted step. Returning `ControlFlow::Break(())` stops the
/// run with [`Stop::Observer`](crate::Stop::Observer); the observer keeps its own record of
/// why.
pub trait Observer {
    /// The state `u(t)` at a requested output time.
    fn observe(&mut self, t: f64, u: &[f64]) -> ControlFlow<()>;
    /// The state after an accepted step (default: nothing).
    fn accepted_step(&mut self, _t: f64, _u: &[f64]) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// An event root, as soon as the driver has located it (before the outputs of its
    /// step): unlike [`Outcome::events`](crate::Outcome::events), a record of it survives a
    /// later failure of the solver (default: nothing).
    fn root(&mut self, _hit: &EventHit) {}
}

/// Recorded output: a time column and named columns of equal length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Trajectory {
    /// Column names (without `t`).
    pub names: Vec<String>,
    /// Output times.
    pub t: Vec<f64>,
    /// One vector per name, each as long as `t`.
    pub columns: Vec<Vec<f64>>,
}

impl Trajectory {
    /// An empty trajectory with these column names.
    pub fn new(names: Vec<String>) -> Self {
        let columns = vec![Vec::new(); names.len()];
        Self {
            names,
            t: Vec::new(),
            columns,
        }
    }
    /// Appends one row. Panics if `row` has the wrong length (a programming error).
    pub fn push(&mut self, t: f64, row: &[f64]) {
        assert_eq!(row.len(), self.names.len(), "row length");
        self.t.push(t);
        for (c, &v) in self.columns.iter_mut().zip(row) {
            c.push(v);
        }
    }
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.t.len()
    }
    /// Whether no row was recorded.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
    }
    /// The last row, as (t, values).
    pub fn last(&self) -> Option<(f64, Vec<f64>)> {
        let i = self.t.len().checked_sub(1)?;
        Some((self.t[i], self.columns.iter().map(|c| c[i]).collect()))
    }
}

/// Records the raw state at every output time.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// What was recorded.
    pub trajectory: Trajectory,
}

impl Recorder {
    /// A recorder for a state whose components are called `names`.
    pub fn new(names: Vec<String>) -> Self {
        Self {
            trajectory: Trajectory::new(names),
        }
    }
}

impl Observer for Recorder {
    fn observe(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        self.trajectory.push(t, u);
        ControlFlow::Continue(())
    }
}
