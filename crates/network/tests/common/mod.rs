//! The public scenario's limit flow, shared by the network's integration tests.

// Each test binary uses a part of it.
#![allow(dead_code)]

use timescales_meanfield::{FlowProblem, FlowRun, Method, OutputTimes, Placement, simulate};
use timescales_network::{InitialLaw, Model};

/// The public scenario's coefficients: `σ_k = 1/√k!` (σ(x) = exp(x − ½)) for k ≤ 5 and
/// `φ = h₁ + h₂ + h₃`.
pub fn public_sigma_phi() -> (Vec<f64>, Vec<f64>) {
    let sigma: Vec<f64> = (0..6u32)
        .map(|k| 1.0 / ((1..=k).product::<u32>() as f64).sqrt())
        .collect();
    (sigma, vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
}

/// The `d, m → ∞` limit of the public scenario (a(0) ~ Uniform[−1, 1]).
pub struct Limit {
    /// Its integration (RODAS4, rtol 1e-9, atol 1e-12).
    pub run: FlowRun,
    /// Its output times (a log grid from 0).
    pub times: Vec<f64>,
    /// The network model with the same σ, φ.
    pub model: Model,
}

impl Limit {
    /// The limit's times and risk.
    pub fn risk(&self) -> (&[f64], &[f64]) {
        (
            &self.run.trajectory.t,
            self.run.trajectory.column("risk").unwrap(),
        )
    }
}

/// The limit flow at `eps` on `[0, t_end]` with `particles` Gauss–Legendre particles and
/// `samples` log-spaced output times.
pub fn public_limit(eps: f64, t_end: f64, particles: usize, samples: usize) -> Limit {
    let (sigma, phi) = public_sigma_phi();
    let problem = FlowProblem {
        sigma: sigma.clone(),
        phi: phi.clone(),
        tail_energy: 0.0,
        law: InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
        particles,
        placement: Placement::Quadrature,
        epsilon: eps,
        t_end,
        rtol: 1e-9,
        atol: 1e-12,
        times: OutputTimes::LogGrid { samples },
        method: Method::Rodas4,
    };
    Limit {
        run: simulate(&problem).unwrap(),
        times: problem.output_times(),
        model: Model::new(&sigma, &phi, 0.0).unwrap(),
    }
}
