//! The population gradient flow of one finite network, as `timescales network` runs it
//! (the scenario's `σ_k, φ_k`, law and output times, rtol 1e-6, atol 1e-9, seed 0), with a
//! line per output time (time reached, wall seconds so far) so that a run stopped early
//! still shows its progress, and at the end the step counts, the wall time and the peak
//! resident memory.
//!
//! ```sh
//! cargo run --release --example network_flow -- data/scenarios/public.toml 8192 1e-2 [T_END]
//! ```

use std::ops::ControlFlow;
use std::time::Instant;

use timescales::network::{FlowOptions, Model, NetworkState, PopulationFlow, Snapshot};
use timescales::scenario::Scenario;

/// Peak resident set size of this process (`VmHWM`), MiB, where `/proc` has it.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .map_or("data/scenarios/public.toml", String::as_str);
    let n: usize = args.get(1).map_or(Ok(1024), |s| s.parse())?;
    let eps: f64 = args.get(2).map_or(Ok(1e-2), |s| s.parse())?;
    let scenario = Scenario::from_path(std::path::Path::new(path))?.with_epsilon(eps)?;
    let p = &scenario.problem;
    let t_end: f64 = args.get(3).map_or(Ok(p.t_end), |s| s.parse())?;
    let times: Vec<f64> = p
        .output_times()
        .into_iter()
        .filter(|&t| t <= t_end)
        .collect();
    let model = Model::new(&p.sigma, &p.phi, 2.0 * p.tail_energy)?;
    let mut state = NetworkState::random(n, n, &p.law, 0)?;
    let mut opts = FlowOptions::new(eps);
    opts.solver.rtol = 1e-6;
    opts.solver.atol = 1e-9;
    let mut flow = PopulationFlow::new(model, n, n, opts)?;
    println!(
        "d = m = {n}, ε = {eps:e}, t_end = {t_end}, {} output times, {} threads",
        times.len(),
        rayon::current_num_threads()
    );
    let started = Instant::now();
    let mut observer = |s: &Snapshot<'_>| {
        println!(
            "t = {:.4e}  risk = {:.6e}  wall = {:.1} s",
            s.t,
            s.risk,
            started.elapsed().as_secs_f64()
        );
        ControlFlow::Continue(())
    };
    flow.integrate(&mut state, 0.0, &times, &mut observer)?;
    let st = flow.stats();
    println!(
        "done: {} steps ({} rejected), {} Gram evaluations, {} CG iterations, {:.1} s, peak RSS {} MiB",
        st.steps,
        st.rejected_steps,
        st.gram_evals,
        st.cg_iterations,
        st.wall_seconds,
        peak_rss_mib().map_or("?".into(), |m| format!("{m:.0}"))
    );
    Ok(())
}
