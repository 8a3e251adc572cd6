//! The `timescales` command-line program.

mod cli;

use std::process::ExitCode;

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
    /// Plateaus, drops and exponents of loss curves from training logs (CSV or Parquet).
    Analyze(cli::analyze::AnalyzeArgs),
}

/// SIGINT, SIGTERM (Slurm's pre-emption signal) and SIGHUP ask every integration to stop
/// at its next step ([`timescales::ode::interrupt`]); the command then writes what finished
/// and exits with status 130. A second signal exits at once. The handler runs in the
/// signal's context, so no thread is started for it: it sets the request (an atomic swap),
/// says so on stderr with a bare `write(2)` and, the second time, leaves with `_exit(130)`,
/// all async-signal-safe.
#[cfg(unix)]
fn install_interrupt_handler() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    fn say(line: &str) {
        // SAFETY: `line` is valid for `line.len()` bytes; write(2) is async-signal-safe.
        let _ = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
    }
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // SAFETY: the action only swaps an atomic, writes to stderr and calls `_exit`, all
        // async-signal-safe; it allocates nothing and takes no lock.
        let installed = unsafe {
            signal_hook::low_level::register(signal, || {
                if timescales::ode::interrupt::request() {
                    say("\ninterrupted again: exiting at once\n");
                    signal_hook::low_level::exit(130);
                }
                say("\ninterrupted: stopping at the next step (interrupt again to exit at once)\n");
            })
        };
        if let Err(e) = installed {
            eprintln!("warning: no interrupt handler ({e}): a signal kills the program at once");
            return;
        }
    }
}

/// Elsewhere a signal kills the program at once.
#[cfg(not(unix))]
fn install_interrupt_handler() {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_interrupt_handler();
    let result = match &cli.command {
        Command::Run(args) => cli::run::run(args),
        Command::Sweep(args) => cli::sweep::sweep(args),
        Command::Merge(args) => cli::sweep::merge(args),
        Command::Match(args) => cli::matching::run(args),
        Command::Asymptotics(args) => cli::asymptotics::run(args),
        Command::Network(args) => cli::network::run(args),
        Command::Analyze(args) => cli::analyze::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The chain of causes, a cause the previous link already ends with said once.
            eprintln!("error: {}", timescales::jobs::error_message(&*e));
            if timescales::ode::interrupt::requested() {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
