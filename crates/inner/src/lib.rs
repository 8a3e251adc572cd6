//! Inner problems: the stretched-time problems of singular perturbation theory, in the
//! variables of a [`Scaling`] (`t = t₀ + ε^β T`, `u_i = ε^{ν_i} U_i`) where they are free of
//! `ε`. Two kinds:
//!
//! - **Boundary layers** that converge to the slow manifold ([`solve_layer`]). For a
//!   slow–fast system `x' = g(x, y, ε)`, `ε y' = f(x, y, ε)` in `τ = (t − t₀)/ε` the slow
//!   variables are frozen at `x₀ = x(t₀)` to leading order and the fast ones relax:
//!
//!   ```text
//!     dη₀/dτ = f(x₀, η₀, 0),      η₀(0) = y(t₀),      η₀(τ) → h(x₀)  as τ → ∞,
//!   ```
//!
//!   integrated (Dop853 by default, RODAS4 when the layer itself is stiff) until the fast
//!   variables reach the manifold to tolerance, for an initial layer (`t₀ = 0`) or an interior
//!   one (after a jump). With the first-order option it also integrates the O(ε) inner terms
//!
//!   ```text
//!     dξ₁/dτ = g(x₀, η₀, 0),                                   ξ₁(0) = 0,
//!     dη₁/dτ = f_y(x₀, η₀) η₁ + f_x(x₀, η₀) ξ₁ + f_ε(x₀, η₀),    η₁(0) = 0,
//!   ```
//!
//!   whose growth at infinity, `ξ₁ ≈ τ g∞ + X₁(t₀)`, `η₁ ≈ τ H g∞ + Y₁(t₀)`, gives the
//!   initial value `X₁(t₀) = ∫₀^∞ (g(x₀, η₀(σ), 0) − g(x₀, h(x₀), 0)) dσ` of the first-order
//!   outer correction (matching).
//! - **Problems that blow up** in finite stretched time ([`solve_blowup`]): the growth that
//!   ends a plateau, `|U| ~ (T_c − T)^{−1/p}`, followed through the blow-up to locate `T_c`.
#![warn(missing_docs)]

mod blowup;
mod error;
mod layer;
mod scaling;

pub use blowup::{Blowup, BlowupOptions, solve_blowup};
pub use error::InnerError;
pub use layer::{LayerOptions, LayerSolution, LayerStart, LayerValue, solve_layer};
pub use scaling::Scaling;
