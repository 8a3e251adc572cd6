//! The `timescales` command-line program.

mod cli;

use clap::{Parser, Subcommand};

/// Multiscale asymptotic analysis of two-layer-network learning dynamics.
#[derive(Debug, Parser)]
#[command(name = "timescales", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Integrate the full ODE for one scenario (the built-in default if none is given).
    Run(cli::run::RunArgs),
    /// Sweep ε over a log grid: plateaus, phase times and timescale exponents with CIs.
    Sweep(cli::sweep::SweepArgs),
    /// Join the run directories of `sweep --shard` jobs and write the sweep's tables and plots.
    Merge(cli::sweep::MergeArgs),
    /// Outer, inner and composite expansions of a slow–fast system against direct
    /// integration, with fitted orders in ε.
    Match(cli::matching::MatchArgs),
    /// Phase asymptotics (onset times, exponents, composite risk) against direct integration.
    Asymptotics(cli::asymptotics::AsymptoticsArgs),
    /// A finite network (population gradient flow or online SGD) against the d, m → ∞ limit.
    Network(cli::network::NetworkArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Run(args) => cli::run::run(args),
        Command::Sweep(args) => cli::sweep::sweep(args),
        Command::Merge(args) => cli::sweep::merge(args),
        Command::Match(args) => cli::matching::run(args),
        Command::Asymptotics(args) => cli::asymptotics::run(args),
        Command::Network(args) => cli::network::run(args),
    }
}
