//! The solver core by hand: step the two-layer flow with BDF, locate the moments the risk
//! crosses halfway between its plateaus (events on the dense output), and stop at the last.
//!
//! `cargo run --release --example phase_events [EPSILON]` (default 1e-8).

use timescales::meanfield::TwoLayerFlow;
use timescales::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let eps: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1e-8);
    let problem = Scenario::default_scenario().with_epsilon(eps)?.problem;
    let particles = problem
        .law
        .particles(problem.particles, problem.placement)?;
    let n = particles.a.len();
    let flow = TwoLayerFlow::new(
        problem.sigma.clone(),
        problem.phi.clone(),
        particles.weights.clone(),
        eps,
        problem.tail_energy,
    );
    // u = (s_1..s_N, a_1..a_N), from s = 0.
    let mut u0 = vec![0.0; n];
    u0.extend_from_slice(&particles.a);
    let levels = problem.plateau_levels();
    // One event per phase l: the risk falls through (R_{l−1} + R_l)/2; the last one stops.
    let risk = |u: &[f64]| flow.risk_at(&u[..n], &u[n..]);
    let phases: Vec<usize> = (1..levels.len())
        .filter(|&l| levels[l - 1] > levels[l])
        .collect();
    let mut events: Vec<Event<'_>> = phases
        .iter()
        .map(|&l| {
            let mid = 0.5 * (levels[l - 1] + levels[l]);
            let event =
                Event::new(move |_t, u: &[f64]| risk(u) - mid).direction(Direction::Falling);
            if Some(&l) == phases.last() {
                event
            } else {
                event.non_terminal()
            }
        })
        .collect();
    let opts = SolverOptions {
        rtol: 1e-10,
        atol: 1e-12,
        ..SolverOptions::default()
    };
    let mut solver = Method::Bdf.solver(flow.clone(), 0.0, &u0, &opts)?;
    let mut rec = Recorder::new(vec![]);
    let outcome = integrate(&mut *solver, &[problem.t_end], &mut events, &mut rec)?;
    println!("ε = {eps:e}, N = {n}: the risk crosses the midpoints of its drops at");
    for hit in &outcome.events {
        println!(
            "  phase {}: t = {:.6e} (ε^γ with γ = {:.3})",
            phases[hit.index],
            hit.t,
            hit.t.ln() / eps.ln()
        );
    }
    let s = outcome.stats;
    println!(
        "stopped: {:?}; {} steps ({} rejected), {} Jacobians, {} factorizations",
        matches!(outcome.stop, Stop::Event(_)),
        s.steps,
        s.rejected_steps,
        s.jacobian_evals,
        s.factorizations
    );
    Ok(())
}
