//! Normalized probabilists' Hermite expansions for the `timescales` toolkit (model.md §2).
//!
//! Functions of a standard Gaussian `G ~ N(0, 1)` are expanded in the orthonormal basis
//! `h_k = He_k / sqrt(k!)`, with coefficients `f_k = E[f(G) h_k(G)]` and
//! `‖f‖² = E[f(G)²] = Σ_k f_k²`. A [`FunctionSpec`] (explicit Hermite coefficients, a
//! polynomial, or a named [`Activation`] `x ↦ f(scale·x + shift)`) is turned into an
//! [`Expansion`] by closed forms where they exist (relu, abs, exp, identity, polynomials)
//! and by Gauss–Hermite quadrature with doubling otherwise ([`quadrature`]). From the
//! coefficients `σ_k` of the activation and `φ_k` of the target, [`Kernels`] evaluates the
//! correlation kernels `V(s) = Σ_k φ_k σ_k s^k = E[φ(G) σ(G_s)]` and
//! `U(ρ) = Σ_k σ_k² ρ^k = E[σ(G) σ(G_ρ)]` (Mehler) with two derivatives, which define the
//! population risk of model.md §3.
//!
//! ```
//! use timescales_hermite::{Activation, FunctionSpec, Kernels};
//! let sigma = FunctionSpec::named(Activation::Tanh).expand(12)?;
//! let phi = FunctionSpec::Hermite(vec![0.0, 1.0, 0.0, 0.5]).expand(12)?;
//! assert!(sigma.coeffs[2].abs() <= sigma.accuracy); // tanh: even coefficients vanish
//! let k = Kernels::from_expansions(&sigma, &phi)?;
//! assert!((k.v(1.0) - (sigma.coeffs[1] + 0.5 * sigma.coeffs[3])).abs() < 1e-15);
//! # Ok::<(), timescales_hermite::HermiteError>(())
//! ```
#![warn(missing_docs)]

mod activation;
mod basis;
mod closed_form;
mod error;
mod kernels;
pub mod quadrature;
mod spec;
#[cfg(test)]
mod test_support;

pub use activation::{Activation, normal_cdf, normal_pdf};
pub use basis::{hermite_normalized, hermite_weighted};
pub use error::HermiteError;
pub use kernels::Kernels;
pub use spec::{ExpandOptions, Expansion, ExpansionMethod, FunctionSpec, MAX_DEGREE};

/// The plateau levels `R_l = ½ Σ_{k>l} φ_k² + tail`, `l = 0..φ.len() − 1` (model.md §5): the
/// risk left once the degrees `≤ l` of the target are learnt; `tail` is the energy
/// `½ Σ_{k>K} φ_k²` beyond the truncation.
///
/// ```
/// let r = timescales_hermite::plateau_levels(&[0.0, 1.0, 1.0, 1.0], 0.0);
/// assert_eq!(r, vec![1.5, 1.0, 0.5, 0.0]);
/// ```
pub fn plateau_levels(phi: &[f64], tail: f64) -> Vec<f64> {
    (0..phi.len())
        .map(|l| 0.5 * phi[l + 1..].iter().map(|p| p * p).sum::<f64>() + tail)
        .collect()
}
