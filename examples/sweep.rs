//! A sweep over ε and its exponent table beside the predictions of model.md §5, from the
//! library alone.
//!
//! `cargo run --release --example sweep [SCENARIO.toml]` (the built-in default when omitted).

use timescales::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scenario = match std::env::args().nth(1) {
        Some(path) => Scenario::from_path(std::path::Path::new(&path))?,
        None => Scenario::default_scenario(),
    };
    let grid = EpsGrid::parse("1e-5:1e-11:7")?;
    let mut points = Vec::new();
    for &eps in grid.points() {
        let problem = scenario.with_epsilon(eps)?.problem;
        points.push(measure_point(&problem, &scenario.origin, None)?);
        eprintln!("ε = {eps:e} done");
    }
    let summary = SweepSummary::new(&points)?;
    println!("{}\n", summary.legend());
    println!(
        "{:>6} {:>12} {:>24} {:>9} {:>22} {:>10}",
        "phase", "quantity", "law", "γ", "95% CI", "predicted"
    );
    for r in &summary.exponents {
        println!(
            "{:>6} {:>12} {:>24} {:>9.4} {:>22} {:>10}",
            r.phase.to_string(),
            r.quantity.name(),
            r.law.to_string(),
            r.gamma,
            format!("[{:.4}, {:.4}]", r.ci[0], r.ci[1]),
            r.predicted.map_or("—".into(), |p| format!("{p:.4}"))
        );
    }
    Ok(())
}
