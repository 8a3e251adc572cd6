//! `timescales`: multiscale asymptotic analysis of singularly perturbed learning dynamics.
//!
//! The flagship system is the gradient flow of a wide two-layer network learning a
//! single-index target, with a second layer `1/ε` times faster than the first
//! (`docs/model.md`). In the limit `d, m → ∞` it is a singularly perturbed ODE over particles
//! `(a_i, s_i)`,
//!
//! ```text
//!   ε da_i/dt = Σ_k σ_k r_k s_i^k,     ds_i/dt = (1 − s_i²) a_i Σ_k k σ_k r_k s_i^(k−1),
//!   r_k = φ_k − σ_k M_k,   M_k = Σ_i w_i a_i s_i^k,   R = ½ Σ_k r_k²,
//! ```
//!
//! that learns in phases, one Hermite degree at a time, with plateaus
//! `R_l = ½ Σ_{k>l} φ_k²` between them. This crate is the facade over the workspace:
//!
//! | module | what it computes |
//! |---|---|
//! | [`ode`] | the solver core: slow–fast systems, one-step solvers (RODAS4, BDF, Dopri5, Dop853) with dense output, events and the driver |
//! | [`meanfield`] | the full ODE above: particles, laws, the structured (diagonal + rank-K) Jacobian, [`simulate`](meanfield::simulate) |
//! | [`outer`] | reduced (outer) problems: on a graph `y = h(x)` with fold detection, or on a constraint manifold with Lagrange multipliers |
//! | [`inner`] | inner problems: boundary layers that converge, problems that blow up in finite stretched time, [`Scaling`](inner::Scaling)s |
//! | [`matching`] | matching and [`Composite`](matching::Composite)s against direct integration, with fitted orders, for slow–fast systems |
//! | [`systems`] | the classic slow–fast problems with closed forms, and user systems written in TOML |
//! | [`phases`] | the two-layer model's phases: measured over ε sweeps, predicted by the asymptotics (plateau flows, phase inner problems, composite risk) |
//! | [`analysis`] | curves: plateaus and phases of any risk curve, exponent fits with confidence intervals, resumable and sharded ε sweeps |
//! | [`network`] | finite-(d, m) networks (population gradient flow, online SGD) against the limit |
//! | [`hermite`], [`scenario`], [`report`] | Hermite expansions; TOML scenarios; tables and plots |
//! | [`output`] | the files the `timescales` program writes, for scripts that want the same |
//!
//! [`prelude`] brings the names used below into scope. Parquet output is the `parquet`
//! feature (on by default); `default-features = false` leaves polars out.
//!
//! # A run of the full ODE
//!
//! ```
//! use timescales::prelude::*;
//!
//! // The default scenario (σ(x) = exp(x − ½), φ = h₁ + h₂ + h₃, 8 particles) at ε = 1e-6.
//! let scenario = Scenario::default_scenario().with_epsilon(1e-6)?;
//! let run = simulate(&scenario.problem)?;
//! let risk = run.trajectory.column("risk").unwrap();
//! assert_eq!(risk[0], 1.5); // R(0) = ½ Σ φ_k²
//! assert!(risk.last().unwrap() < &1e-2); // degrees 1, 2 and 3 learnt by t = 3
//! assert!(run.max_risk_increase <= 1e-10); // the risk never increases
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # A sweep over ε with an exponent fit
//!
//! ```
//! use timescales::prelude::*;
//! use timescales::phases::sweep::{PhaseId, Quantity};
//!
//! // Phase 1 starts at t_1 ~ √ε log(1/ε) (model.md §5): fitted on four ε where it is a drop
//! // of its own (at larger ε the 8 atoms blur it with phase 0).
//! let scenario = Scenario::default_scenario();
//! let mut points = Vec::new();
//! for eps in [1e-6, 1e-7, 1e-8, 1e-9] {
//!     let problem = scenario.with_epsilon(eps)?.problem;
//!     points.push(measure_point(&problem, &scenario.origin, None)?);
//! }
//! let summary = SweepSummary::new(&points)?;
//! let phase_one = PhaseId::Degrees { first: 1, last: 1 };
//! let fit = summary
//!     .exponents
//!     .iter()
//!     .find(|r| r.phase == phase_one && r.quantity == Quantity::TMid && r.law == FitLaw::PowerLaw)
//!     .unwrap();
//! assert!(fit.gamma > 0.35 && fit.gamma < 0.5); // ½ up to the logarithm
//! assert_eq!(fit.predicted, Some(0.5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Phase asymptotics against direct integration
//!
//! ```
//! use timescales::prelude::*;
//!
//! // The predicted onset of phase 1 (closed form) against the measured one, at two ε.
//! let problem = Scenario::default_scenario().problem;
//! let opts = StudyOptions { samples: 200, n_max: 8, ..StudyOptions::default() };
//! let study = Study::run(&problem, &[1e-4, 1e-6], &opts, &|| {})?;
//! let errors: Vec<f64> = study.points.iter().map(|p| p.onset_error(1)).collect();
//! assert!(errors[1] < errors[0] && errors[1] < 1e-2, "{errors:?}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Matching a user's slow–fast system
//!
//! ```
//! use timescales::prelude::*;
//!
//! // x' = −x, ε y' = x − y: the leading-order composite is O(ε), the first-order O(ε²).
//! let file = SystemFile::parse(
//!     r#"
//!     [system]
//!     slow = { x = "-x" }
//!     fast = { y = "x - y" }
//!     initial = { x = 1.0, y = 0.0 }
//!     "#,
//!     "example",
//! )?;
//! let eps = [1e-1, 1e-2, 1e-3];
//! let study = matching_study(&file.system, &file.x0, &file.y0, 1.0, &eps, &MatchingOptions::default())?;
//! let order = study.order("y", "composite").unwrap();
//! assert!((order.gamma - 1.0).abs() < 0.1, "{order:?}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Plateaus and phases of any risk curve
//!
//! ```
//! use timescales::prelude::*;
//!
//! // A staged loss curve: 1.5 → 1.0 at t ≈ 1e-2, 1.0 → 0.5 at t ≈ 1.
//! let t: Vec<f64> = (0..=400).map(|i| 10f64.powf(-4.0 + 6.0 * i as f64 / 400.0)).collect();
//! let drop = |t: f64, at: f64| 0.5 / (1.0 + (t / at).powi(4));
//! let loss: Vec<f64> = t.iter().map(|&t| 0.5 + drop(t, 1e-2) + drop(t, 1.0)).collect();
//! let detection = PlateauDetector::default().detect(&t, &loss, None)?;
//! assert_eq!(detection.phases.len(), 2);
//! let t_mid = detection.t_mid();
//! assert!((t_mid[0] / 1e-2 - 1.0).abs() < 0.05 && (t_mid[1] - 1.0).abs() < 0.05);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub use timescales_analysis as analysis;
pub use timescales_hermite as hermite;
pub use timescales_inner as inner;
pub use timescales_matching as matching;
pub use timescales_meanfield as meanfield;
pub use timescales_network as network;
pub use timescales_ode as ode;
pub use timescales_outer as outer;
pub use timescales_phases as phases;
pub use timescales_report as report;
pub use timescales_scenario as scenario;
pub use timescales_systems as systems;

pub mod jobs;
pub mod output;

/// The names most programs need, in one `use timescales::prelude::*;`.
pub mod prelude {
    pub use crate::analysis::sweep::EpsGrid;
    pub use crate::analysis::{
        PlateauDetector, fit_log_corrected, fit_power_law, interp_log_time, local_slopes,
    };
    pub use crate::matching::{Composite, MatchingOptions, study as matching_study};
    pub use crate::meanfield::{FlowProblem, FlowRun, InitialLaw, Placement, simulate};
    pub use crate::ode::{
        Direction, Event, Method, OdeSystem, Recorder, SlowFastSystem, Solver, SolverOptions, Stop,
        integrate,
    };
    pub use crate::phases::sweep::{FitLaw, SweepSummary, measure_point};
    pub use crate::phases::{Study, StudyOptions, compare};
    pub use crate::scenario::Scenario;
    pub use crate::systems::SystemFile;
}
