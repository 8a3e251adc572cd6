//! `timescales network`: a finite two-layer network (exact population gradient flow, or
//! online SGD) against the `d → ∞, m → ∞` limit flow of the same scenario.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use timescales::meanfield::simulate_with;
use timescales::network::{
    FlowObserver, FlowOptions, LimitComparison, Model, NetworkState, PopulationFlow, Sgd,
    SgdOptions, Snapshot, SummaryRecorder, fit_power_law,
};
use timescales::ode::interrupt;
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

/// Runs `timescales network`.
pub fn run(args: &NetworkArgs) -> anyhow::Result<()> {
    let mut scenario = super::load_scenario(args.scenario.as_deref())?;
    if let Some(eps) = args.epsilon {
        scenario = scenario.with_epsilon(eps).context("--epsilon")?;
    }
    let pairs = pairs(&args.d, &args.m)?;
    let p = &scenario.problem;
    // The network keeps the same σ_k, φ_k as the limit; the target energy beyond degree K
    // (`tail_energy = ½ Σ_{k>K} φ_k²`) enters as the constant part of the risk.
    let model = Model::new(&p.sigma, &p.phi, 2.0 * p.tail_energy).context("network model")?;
    let law = p.law.clone();
    let times = p.output_times();
    eprintln!(
        "timescales network: {} — K = {}, ε = {:e}, t_end = {}, {} pair(s) (d, m), {}",
        scenario.origin,
        scenario.degree,
        p.epsilon,
        p.t_end,
        pairs.len(),
        if args.sgd {
            format!("SGD (η = {:e}, B = {})", args.lr, args.batch)
        } else {
            format!("population flow (rtol = {:e})", args.rtol)
        }
    );
    let (bar, mut tick) = super::log_time_bar(p.epsilon / 10.0, p.t_end, "limit flow");
    let limit = simulate_with(p, &mut |t| {
        tick(t);
        if interrupt::requested() {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    });
    bar.finish_and_clear();
    let limit = limit.context("limit flow failed")?;
    if let Some(t) = limit.interrupted_at {
        bail!("interrupted at t = {t:e} of the limit flow: nothing is finished, nothing written");
    }
    let mut results = Vec::new();
    for &(d, m) in &pairs {
        let started = std::time::Instant::now();
        let mut state = NetworkState::random(d, m, &law, args.seed)?;
        let mean_a = state.a.mean();
        let var_a = state.a.iter().map(|a| (a - mean_a).powi(2)).sum::<f64>() / m as f64;
        let mut rec = SummaryRecorder::new();
        let label = format!("network d = {d}, m = {m}");
        let (bar, mut tick) = super::log_time_bar(p.epsilon / 10.0, p.t_end, &label);
        let mut observer = |s: &Snapshot<'_>| {
            tick(s.t);
            FlowObserver::observe(&mut rec, s)
        };
        let outcome = if args.sgd {
            let opts = SgdOptions {
                eps: p.epsilon,
                lr: args.lr,
                batch: args.batch,
                seed: args.seed,
            };
            Sgd::new(model.clone(), d, m, opts)
                .and_then(|mut sgd| sgd.run(&mut state, &times, &mut observer))
        } else {
            let mut opts = FlowOptions::new(p.epsilon);
            opts.solver.rtol = args.rtol;
            opts.solver.atol = args.rtol * 1e-3;
            PopulationFlow::new(model.clone(), d, m, opts)
                .and_then(|mut flow| flow.integrate(&mut state, 0.0, &times, &mut observer))
        };
        bar.finish_and_clear();
        if interrupt::requested() {
            break;
        }
        outcome.with_context(|| format!("network run d = {d}, m = {m}"))?;
        let c = LimitComparison::new(
            d,
            m,
            &rec.trajectory,
            &limit.trajectory,
            &model,
            p.epsilon,
            var_a,
        )?;
        if c.seeding < 3.0 {
            eprintln!(
                "note: d ε Var a(0) = {:.2} is not ≫ 1: the initial overlaps ~ 1/√d seed phase 1 \
                 as much as √ε (a − E a) does, so the network's phase 1 comes early (see \
                 phase1_shift_prediction)",
                c.seeding
            );
        }
        println!(
            "d = {d:5}, m = {m:5}: sup |R_net − R_lim| = {:.4e} (at t = {:.3e}), t1 network {} vs limit {} (limit + predicted overlap shift: {}), {:.1} s",
            c.sup_distance,
            c.t_sup,
            fmt_opt(c.t1_network),
            fmt_opt(c.t1_limit),
            fmt_opt(c.t1_predicted),
            started.elapsed().as_secs_f64()
        );
        results.push(c);
    }
    let single = pairs.len() == 1;
    let record = serde_json::json!({
        "scenario": scenario.origin,
        "problem": p,
        "pairs": pairs,
        "finished_pairs": results.iter().map(|c| (c.d, c.m)).collect::<Vec<_>>(),
        "method": if args.sgd { "sgd" } else { "population flow" },
        "seed": args.seed,
        "lr": args.sgd.then_some(args.lr),
        "batch": args.sgd.then_some(args.batch),
        "rtol": (!args.sgd).then_some(args.rtol),
        "status": if results.len() == pairs.len() { "complete" } else { "interrupted" },
        "threads": rayon::current_num_threads(),
    });
    let manifest = output::write_set(&args.out, "network.json", record, |set, _| {
        for c in &results {
            let stem = output::network::stem(c, single);
            output::network::write_pair(set, &stem, &scenario, c, args.sgd)?;
        }
        if !single && !results.is_empty() {
            output::network::write_convergence(set, &results)?;
        }
        Ok(())
    })?;
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
        output::written(&args.out, &manifest, "network.json")
    );
    if results.len() < pairs.len() {
        bail!(
            "interrupted: {} of {} pairs (d, m) finished, written to {}",
            results.len(),
            pairs.len(),
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
