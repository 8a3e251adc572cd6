//! One module per subcommand; shared helpers here.

pub mod asymptotics;
pub mod matching;
pub mod network;
pub mod run;
pub mod sweep;

use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use timescales_scenario::Scenario;

/// The scenario at `path`, or the built-in default.
pub fn load_scenario(path: Option<&Path>) -> anyhow::Result<Scenario> {
    match path {
        Some(p) => {
            Scenario::from_path(p).with_context(|| format!("loading scenario {}", p.display()))
        }
        None => Ok(Scenario::default_scenario()),
    }
}

/// Key–value metadata for a Parquet file: the program's version and where the scenario came
/// from.
pub fn provenance(scenario: &str) -> [(&'static str, &str); 2] {
    [
        ("timescales_version", env!("CARGO_PKG_VERSION")),
        ("scenario", scenario),
    ]
}

/// Horizontal guides at the plateau levels `R_l > 0`, one per distinct level.
pub fn plateau_guides(levels: &[f64]) -> Vec<(String, f64)> {
    let mut guides: Vec<(String, f64)> = Vec::new();
    for (l, &level) in levels.iter().enumerate() {
        if level > 0.0
            && !guides
                .iter()
                .any(|(_, v)| (v - level).abs() <= 1e-12 * level)
        {
            guides.push((format!("R_{l} = {level:.4}"), level));
        }
    }
    guides
}

/// A progress bar over log-time from `t_lo` to `t_hi` (hidden when stderr is not a terminal).
pub fn log_time_bar(t_lo: f64, t_hi: f64, message: &str) -> (ProgressBar, impl FnMut(f64)) {
    const TICKS: u64 = 1000;
    let bar = ProgressBar::new(TICKS);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{elapsed_precise}] {wide_bar} log t: {percent}%")
            .expect("valid template"),
    );
    bar.set_message(message.to_string());
    let (lo, hi) = (t_lo.max(f64::MIN_POSITIVE).ln(), t_hi.ln());
    let handle = bar.clone();
    let update = move |t: f64| {
        if t > 0.0 {
            let frac = ((t.ln() - lo) / (hi - lo)).clamp(0.0, 1.0);
            handle.set_position((frac * TICKS as f64) as u64);
        }
    };
    (bar, update)
}
