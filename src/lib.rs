//! `timescales`: multiscale asymptotic analysis of singularly perturbed learning dynamics.
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

pub mod output;
