//! `timescales network`: a finite two-layer network (exact population gradient flow, or
//! online SGD) against the `d → ∞, m → ∞` limit flow of the same scenario.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use timescales_analysis::interp_log_time;
use timescales_meanfield::simulate_with;
use timescales_network::{
    FlowOptions, Model, NetworkState, PopulationFlow, Sgd, SgdOptions, Snapshot, SummaryRecorder,
    fit_power_law, midpoint_crossing, phase1_shift_prediction, sup_distance,
};
use timescales_report::{Axis, LinePlot, ReportError, Series, write_atomic};
use timescales_scenario::Scenario;

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

/// One network run compared with the limit.
struct Compared {
    d: usize,
    m: usize,
    t: Vec<f64>,
    risk: Vec<f64>,
    risk_limit: Vec<f64>,
    max_abs_overlap: Vec<f64>,
    sup_distance: f64,
    t1_network: Option<f64>,
    wall_seconds: f64,
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
        std::ops::ControlFlow::Continue(())
    });
    bar.finish_and_clear();
    let limit = limit.context("limit flow failed")?;
    let lt = limit.trajectory.t.clone();
    let lr = limit
        .trajectory
        .column("risk")
        .context("limit risk column")?
        .to_vec();
    let (r0, r1) = (model.plateau_level(0), model.plateau_level(1));
    let t1_limit = midpoint_crossing(&lt[1..], &lr[1..], r0, r1);
    let mut results = Vec::new();
    for &(d, m) in &pairs {
        let started = std::time::Instant::now();
        let mut state = NetworkState::random(d, m, &law, args.seed)?;
        let mean_a = state.a.mean();
        let var_a = state.a.iter().map(|a| (a - mean_a).powi(2)).sum::<f64>() / m as f64;
        let predicted_t1 = phase1_shift_prediction(p.epsilon, d, var_a, p.sigma[1] * p.phi[1])
            .zip(t1_limit)
            .map(|(shift, t1)| t1 + shift);
        let mut rec = SummaryRecorder::new();
        let label = format!("network d = {d}, m = {m}");
        let (bar, mut tick) = super::log_time_bar(p.epsilon / 10.0, p.t_end, &label);
        let mut observer = |s: &Snapshot<'_>| {
            tick(s.t);
            timescales_network::FlowObserver::observe(&mut rec, s)
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
            opts.rtol = args.rtol;
            opts.atol = args.rtol * 1e-3;
            PopulationFlow::new(model.clone(), d, m, opts)
                .and_then(|mut flow| flow.integrate(&mut state, 0.0, &times, &mut observer))
        };
        bar.finish_and_clear();
        outcome.with_context(|| format!("network run d = {d}, m = {m}"))?;
        let traj = &rec.trajectory;
        let t = traj.t.clone();
        let risk = traj.column("risk").context("risk column")?.to_vec();
        let overlap = traj
            .column("max_abs_overlap")
            .context("overlap column")?
            .to_vec();
        let risk_limit: Vec<f64> = t
            .iter()
            .map(|&x| {
                if x <= lt[0] {
                    lr[0]
                } else {
                    interp_log_time(&lt[1..], &lr[1..], x).unwrap_or(f64::NAN)
                }
            })
            .collect();
        if d as f64 * p.epsilon * var_a < 3.0 {
            eprintln!(
                "note: d ε Var a(0) = {:.2} is not ≫ 1: the initial overlaps ~ 1/√d seed phase 1 \
                 as much as √ε (a − E a) does, so the network's phase 1 comes early (see \
                 phase1_shift_prediction)",
                d as f64 * p.epsilon * var_a
            );
        }
        let (sup, t_sup) = sup_distance(&t[1..], &risk[1..], &lt[1..], &lr[1..], &times[1..])?;
        let c = Compared {
            d,
            m,
            t1_network: midpoint_crossing(&t[1..], &risk[1..], r0, r1),
            t,
            risk,
            risk_limit,
            max_abs_overlap: overlap,
            sup_distance: sup,
            wall_seconds: started.elapsed().as_secs_f64(),
        };
        println!(
            "d = {d:5}, m = {m:5}: sup |R_net − R_lim| = {sup:.4e} (at t = {t_sup:.3e}), t1 network {} vs limit {} (limit + predicted overlap shift: {}), {:.1} s",
            fmt_opt(c.t1_network),
            fmt_opt(t1_limit),
            fmt_opt(predicted_t1),
            c.wall_seconds
        );
        let name = if pairs.len() == 1 {
            "network".to_string()
        } else {
            format!("network_d{d}_m{m}")
        };
        write_curve(&args.out.join(format!("{name}.csv")), &c)?;
        plot(&scenario, &c, args.sgd)
            .write_svg(&args.out.join(format!("{name}.svg")))
            .context("plot")?;
        results.push(c);
    }
    if pairs.len() > 1 {
        let mut text = String::from("d,m,sup_distance,t1_network,t1_limit\n");
        for c in &results {
            text.push_str(&format!(
                "{},{},{:.9e},{},{}\n",
                c.d,
                c.m,
                c.sup_distance,
                fmt_opt(c.t1_network),
                fmt_opt(t1_limit)
            ));
        }
        write_text(&args.out.join("convergence.csv"), &text)?;
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
        println!("written       {}/convergence.csv", args.out.display());
    } else {
        println!(
            "written       {}/{{network.csv, network.svg}}",
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

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "nan".to_string(), |v| format!("{v:.9e}"))
}

fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    write_atomic(path, |f| {
        f.write_all(text.as_bytes())
            .map_err(|source| ReportError::Io {
                path: path.display().to_string(),
                source,
            })
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// `t, risk_network, risk_limit, max_abs_overlap`.
fn write_curve(path: &Path, c: &Compared) -> anyhow::Result<()> {
    let mut text = String::from("t,risk_network,risk_limit,max_abs_overlap\n");
    for k in 0..c.t.len() {
        text.push_str(&format!(
            "{:.9e},{:.12e},{:.12e},{:.9e}\n",
            c.t[k], c.risk[k], c.risk_limit[k], c.max_abs_overlap[k]
        ));
    }
    write_text(path, &text)
}

fn plot(scenario: &Scenario, c: &Compared, sgd: bool) -> LinePlot {
    let tail: Vec<usize> = (1..c.t.len()).collect();
    let pick = |v: &[f64]| tail.iter().map(|&k| v[k]).collect::<Vec<f64>>();
    let guides = super::plateau_guides(&scenario.plateau_levels);
    LinePlot {
        title: format!(
            "risk, ε = {:e}: network d = {}, m = {} ({}) vs limit",
            scenario.problem.epsilon,
            c.d,
            c.m,
            if sgd { "SGD" } else { "population flow" }
        ),
        x_label: "t".into(),
        y_label: "risk".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series: vec![
            Series::line("network", pick(&c.t), pick(&c.risk)),
            Series::dashed("limit d, m → ∞", pick(&c.t), pick(&c.risk_limit)),
        ],
        guides,
    }
}
