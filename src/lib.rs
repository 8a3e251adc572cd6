//! `timescales`: multiscale asymptotic analysis of singularly perturbed learning dynamics.
//!
//! This facade re-exports the workspace's crates under short names:
//!
//! - [`hermite`]: Hermite expansions of activations and targets, `V(s)`, `U(ρ)`;
//! - [`ode`]: slow–fast systems and their integrators (RODAS4, Dopri);
//! - [`full`]: the `d, m → ∞` two-layer flow over particles, integrated directly;
//! - [`scenario`]: TOML scenario files;
//! - [`report`]: atomic CSV/Markdown/LaTeX/JSON output and SVG plots; Parquet with the
//!   `parquet` feature (on by default; the `timescales` program needs it).
#![warn(missing_docs)]

pub use timescales_hermite as hermite;
pub use timescales_meanfield as full;
pub use timescales_ode as ode;
pub use timescales_report as report;
pub use timescales_scenario as scenario;
