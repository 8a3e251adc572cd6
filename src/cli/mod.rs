//! One module per subcommand; shared helpers here.

pub mod analyze;
pub mod asymptotics;
pub mod matching;
pub mod network;
pub mod run;
pub mod sweep;

use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use timescales::scenario::Scenario;

/// The scenario at `path`, or the built-in default.
pub fn load_scenario(path: Option<&Path>) -> anyhow::Result<Scenario> {
    match path {
        Some(p) => {
            Scenario::from_path(p).with_context(|| format!("loading scenario {}", p.display()))
        }
        None => Ok(Scenario::default_scenario()),
    }
}

/// A progress bar over log-time from `t_lo` to `t_hi` (hidden when stderr is not a terminal).
pub fn log_time_bar(t_lo: f64, t_hi: f64, message: &str) -> (ProgressBar, impl FnMut(f64) + use<>) {
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
