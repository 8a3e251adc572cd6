//! `timescales network`: a finite two-layer network (exact population gradient flow, or
//! online SGD) against the `d → ∞, m → ∞` limit flow of the same scenario.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use timescales::jobs::{self, NetworkEvent, NetworkJob, Training};
use timescales::network::fit_power_law;
use timescales::output;
use timescales::output::network::fmt_opt;

/// Arguments of `timescales network`.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Scenario file (TOML); the built-in default when omitted.
    pub scenario: Option<PathBuf>,
    /// Input dimension(s) d (a comma-separated list runs a convergence study).
    #[arg(long, value_delimiter = ',', default_value = "512")]
    pub d: Vec<usize>,
    /// Width(s) m (a list as long as --d, or one value for all).
    #[arg(long, value_delimiter = ',', default_value = "512")]
    pub m: Vec<usize>,
    /// Train by online SGD instead of the population gradient flow.
    #[arg(long)]
    pub sgd: bool,
    /// SGD batch size.
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    /// SGD step η of the first layer (the second layer steps with η/ε).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed of the initial weights (and of the SGD samples).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Override `run.epsilon`.
    #[arg(long)]
    pub epsilon: Option<f64>,
    /// Relative tolerance of the network flow (the limit flow uses the scenario's).
    #[arg(long, default_value_t = 1e-6)]
    pub rtol: f64,
    /// Output directory.
    #[arg(long, default_value = "out/network")]
    pub out: PathBuf,
}

/// Moves a progress bar to a time.
type TimeTick = Box<dyn FnMut(f64)>;

/// Runs `timescales network`.
pub fn run(args: &NetworkArgs) -> anyhow::Result<()> {
    let mut scenario = super::load_scenario(args.scenario.as_deref())?;
    if let Some(eps) = args.epsilon {
        scenario = scenario.with_epsilon(eps).context("--epsilon")?;
    }
    let job = NetworkJob {
        pairs: pairs(&args.d, &args.m)?,
        training: if args.sgd {
            Training::Sgd {
                lr: args.lr,
                batch: args.batch,
            }
        } else {
            Training::PopulationFlow { rtol: args.rtol }
        },
        seed: args.seed,
        out: args.out.clone(),
    };
    let p = &scenario.problem;
    eprintln!(
        "timescales network: {} — K = {}, ε = {:e}, t_end = {}, {} pair(s) (d, m), {}",
        scenario.origin,
        scenario.degree,
        p.epsilon,
        p.t_end,
        job.pairs.len(),
        if args.sgd {
            format!("SGD (η = {:e}, B = {})", args.lr, args.batch)
        } else {
            format!("population flow (rtol = {:e})", args.rtol)
        }
    );
    let mut bar: Option<(indicatif::ProgressBar, TimeTick)> = None;
    let o = jobs::network(&scenario, &job, &mut |event| match event {
        NetworkEvent::Stage(label) => {
            if let Some((b, _)) = bar.take() {
                b.finish_and_clear();
            }
            let (b, tick) = super::log_time_bar(p.epsilon / 10.0, p.t_end, label);
            bar = Some((b, Box::new(tick)));
        }
        NetworkEvent::Time(t) => {
            if let Some((_, tick)) = &mut bar {
                tick(t);
            }
        }
        NetworkEvent::Pair(c, seconds) => {
            if let Some((b, _)) = bar.take() {
                b.finish_and_clear();
            }
            if c.seeding < 3.0 {
                eprintln!(
                    "note: d ε Var a(0) = {:.2} is not ≫ 1: the initial overlaps ~ 1/√d seed phase 1 \
                     as much as √ε (a − E a) does, so the network's phase 1 comes early (see \
                     phase1_shift_prediction)",
                    c.seeding
                );
            }
            println!(
                "d = {:5}, m = {:5}: sup |R_net − R_lim| = {:.4e} (at t = {:.3e}), t1 network {} vs limit {} (limit + predicted overlap shift: {}), {:.1} s",
                c.d,
                c.m,
                c.sup_distance,
                c.t_sup,
                fmt_opt(c.t1_network),
                fmt_opt(c.t1_limit),
                fmt_opt(c.t1_predicted),
                seconds
            );
        }
    });
    if let Some((b, _)) = bar.take() {
        b.finish_and_clear();
    }
    let o = o?;
    let results = &o.results;
    if results.len() > 1 {
        let x: Vec<f64> = results
            .iter()
            .map(|c| (c.d as f64 * c.m as f64).sqrt())
            .collect();
        let y: Vec<f64> = results.iter().map(|c| c.sup_distance).collect();
        match fit_power_law(&x, &y, 0.95) {
            Ok(f) => println!(
                "sup distance ~ {:.3} · √(d m)^{:.3} (95 % CI [{:.3}, {:.3}], R² = {:.3}, {} points)",
                f.c, f.gamma, f.gamma_ci[0], f.gamma_ci[1], f.r_squared, f.n_points
            ),
            Err(e) => println!("no rate fitted: {e}"),
        }
    }
    println!(
        "written       {}",
        output::written(&args.out, &o.manifest, "network.json")
    );
    if o.interrupted {
        bail!(
            "interrupted: {} of {} pairs (d, m) finished, written to {}",
            results.len(),
            job.pairs.len(),
            args.out.display()
        );
    }
    Ok(())
}

/// `(d, m)` pairs from the two lists: equal lengths pair up, a single value broadcasts.
fn pairs(d: &[usize], m: &[usize]) -> anyhow::Result<Vec<(usize, usize)>> {
    Ok(match (d.len(), m.len()) {
        (0, _) | (_, 0) => bail!("--d and --m need at least one value"),
        (a, b) if a == b => d.iter().copied().zip(m.iter().copied()).collect(),
        (1, _) => m.iter().map(|&m| (d[0], m)).collect(),
        (_, 1) => d.iter().map(|&d| (d, m[0])).collect(),
        (a, b) => bail!("--d has {a} values and --m {b}: give equal lengths or one value"),
    })
}
