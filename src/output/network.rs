//! The files of a finite network against its limit: `network.csv` (or
//! `network_d{d}_m{m}.csv` per pair), a plot per pair, and `convergence.csv` over several pairs.

use crate::network::LimitComparison;
use crate::report::atomic::write_bytes_atomic;
use crate::report::{Axis, LinePlot, OutputSet, ReportError, Series};
use crate::scenario::Scenario;

/// `x` with 9 significant digits, or `nan`.
pub fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "nan".to_string(), |v| format!("{v:.9e}"))
}

/// The file stem of a pair's outputs: `network` for a single pair, `network_d{d}_m{m}`
/// otherwise.
pub fn stem(c: &LimitComparison, single: bool) -> String {
    if single {
        "network".to_string()
    } else {
        format!("network_d{}_m{}", c.d, c.m)
    }
}

/// Writes one pair's curve (`t, risk_network, risk_limit, max_abs_overlap`) and plot into
/// `set` under `stem`.
///
/// # Errors
/// [`ReportError`] when a file cannot be written.
pub fn write_pair(
    set: &mut OutputSet,
    stem: &str,
    scenario: &Scenario,
    c: &LimitComparison,
    sgd: bool,
) -> Result<(), ReportError> {
    let mut text = String::from("t,risk_network,risk_limit,max_abs_overlap\n");
    for k in 0..c.t.len() {
        text.push_str(&format!(
            "{:.9e},{:.12e},{:.12e},{:.9e}\n",
            c.t[k], c.risk[k], c.risk_limit[k], c.max_abs_overlap[k]
        ));
    }
    write_bytes_atomic(&set.path(&format!("{stem}.csv")), text.as_bytes())?;
    // The positive times (a log axis): t = 0 is the start, when the run records it.
    let tail: Vec<usize> = (0..c.t.len()).filter(|&k| c.t[k] > 0.0).collect();
    let pick = |v: &[f64]| tail.iter().map(|&k| v[k]).collect::<Vec<f64>>();
    LinePlot {
        title: format!(
            "risk, ε = {:e}: network d = {}, m = {} ({}) vs limit",
            scenario.problem.epsilon,
            c.d,
            c.m,
            if sgd { "SGD" } else { "population flow" }
        ),
        x_label: "t".into(),
        y_label: "risk".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series: vec![
            Series::line("network", pick(&c.t), pick(&c.risk)),
            Series::dashed("limit d, m → ∞", pick(&c.t), pick(&c.risk_limit)),
        ],
        guides: super::plateau_guides(&scenario.plateau_levels),
    }
    .write_svg(&set.path(&format!("{stem}.svg")))
}

/// Writes `convergence.csv` (`d, m, sup_distance, t1_network, t1_limit`) over the pairs.
///
/// # Errors
/// [`ReportError`] when the file cannot be written.
pub fn write_convergence(
    set: &mut OutputSet,
    pairs: &[LimitComparison],
) -> Result<(), ReportError> {
    let mut text = String::from("d,m,sup_distance,t1_network,t1_limit\n");
    for c in pairs {
        text.push_str(&format!(
            "{},{},{:.9e},{},{}\n",
            c.d,
            c.m,
            c.sup_distance,
            fmt_opt(c.t1_network),
            fmt_opt(c.t1_limit)
        ));
    }
    write_bytes_atomic(&set.path("convergence.csv"), text.as_bytes())
}
