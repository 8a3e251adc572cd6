//! `timescales analyze`: plateaus, drops and exponents of the loss curves users bring
//! (training logs as CSV or Parquet).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use timescales::analysis::curves::{AnalyzeOptions, ColumnSpec, CurveSet, analyze};
use timescales::output;
use timescales::output::analyze::{AnalyzeRecord, InputFile};
use timescales::report::read_table;
use timescales::report::text_table::to_markdown;

/// Arguments of `timescales analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The curves: a CSV (`.tsv`: tab-separated) or Parquet file; long (one row per logged
    /// point), wide (one loss column per run) or a TensorBoard export (`Wall time, Step,
    /// Value`).
    pub curves: PathBuf,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// The time (step) column (default: `step`, `global_step`, `iteration`, `epoch`, `t`, …).
    #[arg(long)]
    pub time: Option<String>,
    /// The loss column (default: `loss`, `value`, `risk`, `train_loss`, …, or the only
    /// numeric column left; none in a wide table).
    #[arg(long)]
    pub loss: Option<String>,
    /// The parameter the curves differ by (width, learning rate, ε, …): a column, or in a
    /// wide table a label read from the loss columns' names (`width=64`).
    #[arg(long)]
    pub by: Option<String>,
    /// The column naming the runs (one curve per value); without it, one curve per value of
    /// `--by`, or a single curve.
    #[arg(long)]
    pub run: Option<String>,
}

/// Runs `timescales analyze`.
pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let input = InputFile::of(&args.curves)?;
    let table =
        read_table(&args.curves).with_context(|| format!("reading {}", args.curves.display()))?;
    let spec = ColumnSpec {
        time: args.time.clone(),
        loss: args.loss.clone(),
        by: args.by.clone(),
        run: args.run.clone(),
    };
    let set = CurveSet::from_table(&table, &spec)
        .with_context(|| format!("reading curves from {}", args.curves.display()))?;
    let options = AnalyzeOptions::default();
    let result = analyze(&set, &options)?;
    let points: usize = set.curves.iter().map(|c| c.t.len()).sum();
    eprintln!(
        "timescales analyze: {} — {} curve(s), {points} points, {:?} layout, {:.2} s",
        args.curves.display(),
        set.curves.len(),
        set.columns.layout,
        started.elapsed().as_secs_f64()
    );
    for c in result.curves.iter().filter(|c| c.error.is_some()) {
        eprintln!(
            "warning: {} (left out)",
            c.error.as_deref().unwrap_or_default()
        );
    }
    let record = AnalyzeRecord {
        inputs: vec![input],
        spec,
        options,
        threads: rayon::current_num_threads(),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let (tables, manifest) = output::analyze::write(&args.out, &record, &result)?;
    println!("{}", to_markdown(&tables.phases, 4)?);
    if result.by().is_some() {
        println!("{}", to_markdown(&tables.exponents, 4)?);
    }
    println!(
        "written       {}",
        output::written(&args.out, &manifest, "analyze.json")
    );
    Ok(())
}
