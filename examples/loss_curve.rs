//! Plateaus, drops and their times on a loss curve: a CSV of `t,loss` (a training log), or,
//! without an argument, a noiseless staged curve.
//!
//! `cargo run --release --example loss_curve [CURVE.csv]`

use timescales::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (t, loss): (Vec<f64>, Vec<f64>) = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(&path)?
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut f = line.split(',');
                let t: f64 = f.next()?.trim().parse().ok()?;
                let loss: f64 = f.next()?.trim().parse().ok()?;
                Some((t, loss))
            })
            .unzip(),
        None => (0..=600)
            .map(|i| {
                let t = 10f64.powf(-5.0 + 7.0 * i as f64 / 600.0);
                let drop = |at: f64, h: f64| h / (1.0 + (t / at).powi(3));
                (t, 0.05 + drop(1e-3, 1.0) + drop(0.1, 0.5) + drop(3.0, 0.25))
            })
            .unzip(),
    };
    let detection = PlateauDetector::default().detect(&t, &loss, None)?;
    for (k, p) in detection.plateaus.iter().enumerate() {
        println!(
            "plateau {k}: level {:.4} on t ∈ [{:.3e}, {:.3e}]",
            p.level, p.t_entry, p.t_exit
        );
    }
    for (k, ph) in detection.phases.iter().enumerate() {
        println!(
            "drop {}: from {:.4} to {:.4}, t_mid = {:.4e}, steepest at {:.4e}",
            k + 1,
            ph.level_before,
            ph.level_after,
            ph.t_mid,
            ph.t_steepest
        );
    }
    Ok(())
}
