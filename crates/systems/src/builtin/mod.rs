//! The built-in classic problems, each with its closed form or published reference.
//!
//! | name | system | reference |
//! |---|---|---|
//! | `linear` | `x' = y`, `ε y' = −x − (1+ε) y` | exact solution (roots `−1`, `−1/ε`) |
//! | `michaelis-menten` | `s' = −s + (s+K−λ)c`, `ε c' = s − (s+K)c` | reduced `s` by Lambert W |
//! | `van-der-pol` | `x' = −y`, `ε y' = x − y³/3 + y` | reduced branch by `W₋₁`, period `3 − 2ln2 + 3|a₁|ε^{2/3}` |
//! | `fold` | `s' = −1`, `ε u' = u² − s` | fold at `s = 0`; jump at `s₀ + |a₁|ε^{2/3}` (Airy) |
//!
//! Every problem comes with an initial state off the slow manifold (so that there is an
//! initial layer) and a horizon `t_end` before any fold, on which the composite expansions
//! are uniformly valid.

pub mod fold;
pub mod linear;
pub mod michaelis_menten;
pub mod van_der_pol;

use timescales_ode::{JacobianBlocks, SlowFastSystem};

use crate::{SystemsError, lambert_w0, lambert_wm1};

/// First zero of the Airy function Ai, `a₁ = −2.338107410459767…` (NIST DLMF §9.9,
/// Table 9.9.1; Abramowitz & Stegun Table 10.13).
pub const AIRY_A1: f64 = -2.338_107_410_459_767;

/// A built-in problem: the system, a default initial state, the horizon of the matching
/// study and whatever exact or published reference it has.
pub struct Problem {
    /// Name used on the command line.
    pub name: &'static str,
    /// One line describing the system.
    pub summary: &'static str,
    /// Where the reference solution comes from.
    pub provenance: &'static str,
    /// The system.
    pub system: Box<dyn SlowFastSystem + Send + Sync>,
    /// Default `x(0)`.
    pub x0: Vec<f64>,
    /// Default `y(0)` (off the slow manifold).
    pub y0: Vec<f64>,
    /// Horizon `T` of the outer/inner/composite comparison: the reduced flow from `x0`
    /// stays on an attracting branch on `[0, T]`.
    pub t_end: f64,
    /// Exact solution of the full problem from `(x0, y0)`, `(t, ε) ↦ (x, y)`, when known.
    pub exact: Option<fn(f64, f64) -> Vec<f64>>,
    /// Exact reduced solution `(X₀(t), Y₀(t))` from `x0`, when known.
    pub reduced_exact: Option<fn(f64) -> Vec<f64>>,
    /// Exact leading-order layer `η₀(τ)` from `(x0, y0)`, when known.
    pub layer_exact: Option<fn(f64) -> Vec<f64>>,
}

impl std::fmt::Debug for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Problem")
            .field("name", &self.name)
            .field("x0", &self.x0)
            .field("y0", &self.y0)
            .field("t_end", &self.t_end)
            .finish_non_exhaustive()
    }
}

/// Names of the built-in problems.
pub fn names() -> Vec<&'static str> {
    vec!["linear", "michaelis-menten", "van-der-pol", "fold"]
}

/// All built-in problems.
pub fn list() -> Vec<Problem> {
    vec![
        linear::problem(),
        michaelis_menten::problem(),
        van_der_pol::problem(),
        fold::problem(),
    ]
}

/// The built-in problem called `name`.
///
/// # Errors
/// [`SystemsError::UnknownProblem`] listing the known names.
pub fn by_name(name: &str) -> Result<Problem, SystemsError> {
    list()
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| SystemsError::UnknownProblem {
            name: name.to_string(),
            known: names().join(", "),
        })
}

#[cfg(test)]
mod tests;
