//! The kernels `V(s)` and `U(ρ)` of the population risk (model.md §2–3).

use crate::{Expansion, HermiteError};

/// Power series `V(s) = Σ_k φ_k σ_k s^k` and `U(ρ) = Σ_k σ_k² ρ^k` with their first and
/// second derivatives (model.md §2).
///
/// By Mehler's formula, `E[h_j(G) h_k(G_ρ)] = δ_jk ρ^k` for standard Gaussians with
/// correlation `ρ`, so `V(s) = E[φ(G) σ(G_s)]` and `U(ρ) = E[σ(G) σ(G_ρ)]` (up to the
/// truncation of the coefficient lists). Coefficients missing from the shorter list count
/// as zero. Evaluation is by Horner's scheme and is valid for any real argument (the model
/// uses `s, ρ ∈ [−1, 1]`).
///
/// ```
/// use timescales_hermite::Kernels;
/// // σ = φ = h_1 + h_2: V(s) = s + s², U(ρ) = ρ + ρ².
/// let k = Kernels::new(&[0.0, 1.0, 1.0], &[0.0, 1.0, 1.0]).unwrap();
/// assert_eq!((k.v(0.5), k.dv(0.5), k.d2u(0.5)), (0.75, 2.0, 2.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Kernels {
    v: Vec<f64>,
    u: Vec<f64>,
}

impl Kernels {
    /// Builds the kernels from `σ_0..σ_K` and `φ_0..φ_L`.
    ///
    /// Errors with [`HermiteError::NonFiniteParameter`] (naming the list and index) when a
    /// coefficient is not finite.
    pub fn new(sigma: &[f64], phi: &[f64]) -> Result<Self, HermiteError> {
        for (what, list) in [("sigma coefficient", sigma), ("phi coefficient", phi)] {
            if let Some((i, &v)) = list.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(HermiteError::NonFiniteParameter {
                    what,
                    index: Some(i),
                    value: v,
                });
            }
        }
        Ok(Kernels {
            v: sigma.iter().zip(phi).map(|(s, p)| s * p).collect(),
            u: sigma.iter().map(|s| s * s).collect(),
        })
    }

    /// Builds the kernels from two expansions (`sigma` of the activation, `phi` of the target).
    pub fn from_expansions(sigma: &Expansion, phi: &Expansion) -> Result<Self, HermiteError> {
        Kernels::new(&sigma.coeffs, &phi.coeffs)
    }

    /// Power-series coefficients `φ_k σ_k` of `V`.
    pub fn v_coeffs(&self) -> &[f64] {
        &self.v
    }

    /// Power-series coefficients `σ_k²` of `U`.
    pub fn u_coeffs(&self) -> &[f64] {
        &self.u
    }

    /// `V(s) = Σ_k φ_k σ_k s^k`.
    pub fn v(&self, s: f64) -> f64 {
        horner(&self.v, s).0
    }

    /// `V'(s) = Σ_k k φ_k σ_k s^{k−1}`.
    pub fn dv(&self, s: f64) -> f64 {
        horner(&self.v, s).1
    }

    /// `V''(s) = Σ_k k (k−1) φ_k σ_k s^{k−2}`.
    pub fn d2v(&self, s: f64) -> f64 {
        horner(&self.v, s).2
    }

    /// `U(ρ) = Σ_k σ_k² ρ^k`.
    pub fn u(&self, rho: f64) -> f64 {
        horner(&self.u, rho).0
    }

    /// `U'(ρ) = Σ_k k σ_k² ρ^{k−1}`.
    pub fn du(&self, rho: f64) -> f64 {
        horner(&self.u, rho).1
    }

    /// `U''(ρ) = Σ_k k (k−1) σ_k² ρ^{k−2}`.
    pub fn d2u(&self, rho: f64) -> f64 {
        horner(&self.u, rho).2
    }

    /// `(V(s), V'(s), V''(s))` in one pass.
    pub fn v_all(&self, s: f64) -> (f64, f64, f64) {
        horner(&self.v, s)
    }

    /// `(U(ρ), U'(ρ), U''(ρ))` in one pass.
    pub fn u_all(&self, rho: f64) -> (f64, f64, f64) {
        horner(&self.u, rho)
    }
}

/// `(p(x), p'(x), p''(x))` of `p(x) = Σ_k a_k x^k` by Horner's scheme.
fn horner(a: &[f64], x: f64) -> (f64, f64, f64) {
    let (mut p, mut dp, mut d2p) = (0.0, 0.0, 0.0);
    for &c in a.iter().rev() {
        d2p = d2p * x + 2.0 * dp;
        dp = dp * x + p;
        p = p * x + c;
    }
    (p, dp, d2p)
}
