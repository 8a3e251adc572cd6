//! Convergence of the finite network to the `d → ∞, m → ∞` limit on the public scenario
//! (σ_k = 1/√k!, K = 5; φ = h_1 + h_2 + h_3; a(0) ~ U[−1, 1]), d = m doubling.
//!
//! ```text
//! cargo run --release -p timescales-network --example convergence -- \
//!     --eps 1e-2,1e-3 --sizes 32,64,128,256,512 --t-end 3 --seeds 1 --out convergence.csv
//! ```
//!
//! For each ε: the limit risk curve (timescales-meanfield, RODAS, N = 64 Gauss–Legendre
//! particles, rtol 1e-9), then for each size and seed the network flow (rtol 1e-6); prints
//! and writes `eps, d, m, seed, sup_distance, t_sup, t1_network, t1_limit, steps, wall_s`,
//! and a power-law fit of the sup distance (mean over seeds) against d = m.
use std::io::Write;
use std::time::Instant;

use timescales_meanfield::{
    FlowProblem, InitialLaw as FullLaw, Method, OutputTimes, Placement, simulate,
};
use timescales_network::{
    FlowOptions, InitialLaw, Model, NetworkState, PopulationFlow, SummaryRecorder, fit_power_law,
    midpoint_crossing, phase1_shift_prediction, sup_distance,
};

fn list<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',')
        .map(|x| x.trim().parse().ok().expect("bad list"))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |k: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == k)
            .map(|i| args[i + 1].clone())
            .unwrap_or_else(|| default.to_string())
    };
    let epss: Vec<f64> = list(&get("--eps", "1e-2"));
    let sizes: Vec<usize> = list(&get("--sizes", "32,64,128"));
    // `--pairs 4096x256,...` runs (d, m) pairs instead of d = m sizes.
    let pairs: Vec<(usize, usize)> = match args.iter().position(|a| a == "--pairs") {
        Some(i) => args[i + 1]
            .split(',')
            .map(|p| {
                let (d, m) = p.split_once('x').expect("pairs are DxM");
                (d.parse().unwrap(), m.parse().unwrap())
            })
            .collect(),
        None => sizes.iter().map(|&n| (n, n)).collect(),
    };
    let seeds: Vec<u64> = list(&get("--seeds", "1"));
    let t_end: f64 = get("--t-end", "3").parse().unwrap();
    let samples: usize = get("--samples", "61").parse().unwrap();
    let out = get("--out", "convergence.csv");
    let sigma: Vec<f64> = (0..6u32)
        .map(|k| 1.0 / ((1..=k).product::<u32>() as f64).sqrt())
        .collect();
    let phi = vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
    let model = Model::new(&sigma, &phi, 0.0).unwrap();
    let (r0, r1) = (model.plateau_level(0), model.plateau_level(1));
    let mut file = std::fs::File::create(&out).unwrap();
    writeln!(
        file,
        "eps,d,m,seed,sup_distance,t_sup,t1_network,t1_limit,steps,wall_s"
    )
    .unwrap();
    println!("machine: {} threads (rayon)", rayon::current_num_threads());
    for &eps in &epss {
        let problem = FlowProblem {
            sigma: sigma.clone(),
            phi: phi.clone(),
            tail_energy: 0.0,
            law: FullLaw::Uniform { lo: -1.0, hi: 1.0 },
            particles: 64,
            placement: Placement::Quadrature,
            epsilon: eps,
            t_end,
            rtol: 1e-9,
            atol: 1e-12,
            times: OutputTimes::LogGrid { samples },
            method: Method::Rodas4,
        };
        let t = Instant::now();
        let limit = simulate(&problem).expect("limit flow");
        let times = problem.output_times();
        let lt = limit.trajectory.t.clone();
        let lr = limit.trajectory.column("risk").unwrap().to_vec();
        let t1_limit = midpoint_crossing(&lt[1..], &lr[1..], r0, r1);
        println!(
            "eps = {eps:e}: limit flow in {:.2}s, t1_limit = {t1_limit:?}",
            t.elapsed().as_secs_f64()
        );
        let grid: Vec<f64> = times[1..].to_vec();
        let mut fit_x = Vec::new();
        let mut fit_y = Vec::new();
        for &(n, width) in &pairs {
            let mut dists = Vec::new();
            for &seed in &seeds {
                let started = Instant::now();
                let law = InitialLaw::Uniform { lo: -1.0, hi: 1.0 };
                let mut state = NetworkState::random(n, width, &law, seed).unwrap();
                let mut flow =
                    PopulationFlow::new(model.clone(), n, width, FlowOptions::new(eps)).unwrap();
                let mut rec = SummaryRecorder::new();
                flow.integrate(&mut state, 0.0, &times, &mut rec)
                    .expect("network flow");
                let wall = started.elapsed().as_secs_f64();
                let nt = &rec.trajectory.t;
                let nr = rec.trajectory.column("risk").unwrap();
                let (dist, t_sup) = sup_distance(nt, nr, &lt, &lr, &grid).unwrap();
                let t1_net = midpoint_crossing(&nt[1..], &nr[1..], r0, r1);
                let st = flow.stats();
                let fmt = |x: Option<f64>| x.map_or("nan".to_string(), |v| format!("{v:.6e}"));
                let pred = phase1_shift_prediction(eps, n, 1.0 / 3.0, sigma[1] * phi[1])
                    .zip(t1_limit)
                    .map(|(s, t)| t + s);
                println!(
                    "eps {eps:e} d={n:5} m={width:5} seed {seed}: sup {dist:.4e} at t={t_sup:.3e}, t1 net {} lim {} (lim + predicted overlap shift {}), {} steps ({} rej, {} CG it, {} chol), {wall:.1}s",
                    fmt(t1_net),
                    fmt(t1_limit),
                    fmt(pred),
                    st.steps,
                    st.rejected_steps,
                    st.cg_iterations,
                    st.cholesky_fallbacks
                );
                writeln!(
                    file,
                    "{eps:e},{n},{width},{seed},{dist:.6e},{t_sup:.6e},{},{},{},{wall:.2}",
                    fmt(t1_net),
                    fmt(t1_limit),
                    st.steps
                )
                .unwrap();
                file.flush().unwrap();
                dists.push(dist);
            }
            fit_x.push(n as f64);
            fit_y.push(dists.iter().sum::<f64>() / dists.len() as f64);
        }
        if let Ok(f) = fit_power_law(&fit_x, &fit_y, 0.95) {
            println!(
                "eps {eps:e}: sup distance ~ {:.3} d^{:.3}, 95% CI [{:.3}, {:.3}], R² {:.3}",
                f.c, f.gamma, f.gamma_ci[0], f.gamma_ci[1], f.r_squared
            );
        }
    }
}
