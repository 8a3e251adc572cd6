//! Recording summaries of a run.

use std::ops::ControlFlow;

use timescales_ode::Trajectory;

use crate::{FlowObserver, Snapshot};

/// Records, at each output time, the columns
/// `risk, max_abs_overlap, mean_abs_overlap, m0, m1, mean_abs_a, max_abs_a`
/// (`M_k = (1/m) Σ a_i s_i^k`) into a [`Trajectory`].
#[derive(Debug, Clone)]
pub struct SummaryRecorder {
    /// The recorded rows.
    pub trajectory: Trajectory,
}

/// Column names of [`SummaryRecorder`].
pub const SUMMARY_COLUMNS: [&str; 7] = [
    "risk",
    "max_abs_overlap",
    "mean_abs_overlap",
    "m0",
    "m1",
    "mean_abs_a",
    "max_abs_a",
];

impl Default for SummaryRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl SummaryRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self {
            trajectory: Trajectory::new(SUMMARY_COLUMNS.iter().map(|s| s.to_string()).collect()),
        }
    }
}

impl FlowObserver for SummaryRecorder {
    fn observe(&mut self, snap: &Snapshot<'_>) -> ControlFlow<()> {
        let st = snap.state;
        let m = st.width() as f64;
        let mean_abs_s = st.w.row(0).iter().map(|s| s.abs()).sum::<f64>() / m;
        let mean_abs_a = st.a.iter().map(|a| a.abs()).sum::<f64>() / m;
        let max_abs_a = st.a.iter().fold(0.0f64, |acc, a| acc.max(a.abs()));
        self.trajectory.push(
            snap.t,
            &[
                snap.risk,
                st.max_abs_overlap(),
                mean_abs_s,
                st.moment(0),
                st.moment(1),
                mean_abs_a,
                max_abs_a,
            ],
        );
        ControlFlow::Continue(())
    }
}
