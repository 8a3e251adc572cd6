//! Timing of `timescales analyze` on a million logged points: four runs of 250 000 steps
//! (two drops each, 8 % multiplicative noise, isolated spikes), written as one long CSV,
//! then read, grouped, analysed and written as `timescales analyze` does.
//!
//! ```sh
//! cargo run --release --example analyze_million
//! ```
//!
//! Prints the wall time of each stage and the drop times found against the closed form.

use std::time::Instant;

use timescales::analysis::curves::{AnalyzeOptions, ColumnSpec, CurveSet, analyze};
use timescales::output::analyze::{AnalyzeRecord, InputFile, write};
use timescales::report::read_table;

/// Unit-variance noise from a xorshift stream (uniform on [−√3, √3]).
fn noise(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let u = (*state >> 11) as f64 / (1u64 << 53) as f64;
    3f64.sqrt() * (2.0 * u - 1.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("timescales-analyze-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("million.csv");
    let started = Instant::now();
    let mut text = String::with_capacity(40_000_000);
    text.push_str("step,loss,width\n");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let widths = [1.0f64, 4.0, 16.0, 64.0];
    for w in widths {
        let (t1, t2) = (300.0 * w.sqrt(), 1e4 * w.powf(0.25));
        for s in 1..=250_000u32 {
            let t = f64::from(s);
            let clean = 0.1 + 0.5 / (1.0 + (t / t1).powi(4)) + 0.4 / (1.0 + (t / t2).powi(4));
            let spike = if s % 1000 == 500 { 10.0 } else { 1.0 };
            let l = clean * (1.0 + 0.08 * noise(&mut state)) * spike;
            text.push_str(&format!("{s},{l},{w}\n"));
        }
    }
    std::fs::write(&input, &text)?;
    println!(
        "wrote {} ({:.1} MB) in {:.2} s",
        input.display(),
        text.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let t0 = Instant::now();
    let table = read_table(&input)?;
    let t_read = t0.elapsed().as_secs_f64();
    let spec = ColumnSpec {
        by: Some("width".into()),
        ..ColumnSpec::default()
    };
    let t0 = Instant::now();
    let set = CurveSet::from_table(&table, &spec)?;
    let t_group = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let options = AnalyzeOptions::default();
    let result = analyze(&set, &options)?;
    let t_analyze = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let record = AnalyzeRecord {
        inputs: vec![InputFile::of(&input)?],
        spec,
        options,
        threads: rayon::current_num_threads(),
        wall_seconds: 0.0,
    };
    write(&dir.join("out"), &record, &result)?;
    let t_write = t0.elapsed().as_secs_f64();
    let points: usize = set.curves.iter().map(|c| c.t.len()).sum();
    println!(
        "{points} points, {} threads: read CSV {t_read:.2} s, curves {t_group:.2} s, \
         analysis {t_analyze:.2} s, files (checksums, plots) {t_write:.2} s; \
         analysis and reading: {:.2} s",
        rayon::current_num_threads(),
        t_read + t_group + t_analyze
    );
    for (c, w) in result.curves.iter().zip(widths) {
        let truth = [300.0 * w.sqrt(), 1e4 * w.powf(0.25)];
        let found: Vec<String> = c
            .drops
            .iter()
            .zip(truth)
            .map(|(d, t)| {
                format!(
                    "t_mid {:.1} (closed form {t:.1}, {:+.2} %)",
                    d.t_mid,
                    100.0 * (d.t_mid / t - 1.0)
                )
            })
            .collect();
        println!("width {w}: {} drop(s): {}", c.drops.len(), found.join("; "));
    }
    for e in result
        .exponents
        .iter()
        .filter(|e| e.quantity.name() == "t_mid")
    {
        println!(
            "drop {} t_mid {}: γ = {:.4} [{:.4}, {:.4}] ({} points, {})",
            e.drop,
            e.law.name(),
            e.gamma,
            e.ci[0],
            e.ci[1],
            e.n_points,
            e.status()
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
