//! The Hermite-truncated single-index model: activation `σ_K = Σ_{k≤K} σ_k h_k`, target
//! `φ = Σ_k φ_k h_k`, and the kernels `V`, `U` of the population risk (model.md §2–3).

use timescales_hermite::{Kernels, hermite_normalized};

use crate::NetworkError;

/// Activation and target in the normalized Hermite basis, with the kernels of the risk.
///
/// The network uses the *truncated* activation `σ_K(x) = Σ_{k≤K} σ_k h_k(x)` (`K + 1 =
/// sigma.len()`), the same coefficients the limit flow of `timescales-meanfield` uses, so that
///
/// ```text
///   V(s) = E[φ(G) σ_K(G_s)] = Σ_{k≤K} φ_k σ_k s^k,    U(ρ) = E[σ_K(G) σ_K(G_ρ)] = Σ_{k≤K} σ_k² ρ^k
/// ```
///
/// exactly (Mehler), and the population risk of model.md §3 is exact for the truncated
/// network. Target energy the network cannot represent — `φ_k` with `k > K` in the list,
/// plus `target_tail = Σ_{k>L} φ_k²` for a target known to extend beyond its list — enters
/// the risk only through the constant `½‖φ‖²` (see [`neglected_energy`](Self::neglected_energy)).
///
/// ```
/// use timescales_network::Model;
/// // σ(x) = exp(x − ½) truncated at K = 5, φ = h_1 + h_2 + h_3.
/// let sigma: Vec<f64> = (0..6).map(|k| 1.0 / (1..=k).product::<usize>().max(1) as f64).map(f64::sqrt).collect();
/// let model = Model::new(&sigma, &[0.0, 1.0, 1.0, 1.0], 0.0)?;
/// assert_eq!(model.plateau_level(0), 1.5); // R_0 = ½(φ_1² + φ_2² + φ_3²)
/// assert_eq!(model.plateau_level(1), 1.0);
/// # Ok::<(), timescales_network::NetworkError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    sigma: Vec<f64>,
    phi: Vec<f64>,
    target_tail: f64,
    kernels: Kernels,
}

impl Model {
    /// The model with activation coefficients `σ_0..σ_K`, target coefficients `φ_0..φ_L`
    /// and the energy `target_tail ≥ 0` of the target beyond `φ_L`.
    ///
    /// # Errors
    /// [`NetworkError::InvalidParameter`] for an empty `sigma` or `phi` or a negative or
    /// non-finite tail; [`NetworkError::Kernels`] for a non-finite coefficient.
    pub fn new(sigma: &[f64], phi: &[f64], target_tail: f64) -> Result<Self, NetworkError> {
        if sigma.is_empty() {
            return Err(NetworkError::InvalidParameter {
                what: "sigma",
                value: "[]".into(),
                reason: "at least one activation coefficient is needed",
            });
        }
        if phi.is_empty() {
            return Err(NetworkError::InvalidParameter {
                what: "phi",
                value: "[]".into(),
                reason: "at least one target coefficient is needed",
            });
        }
        if !(target_tail >= 0.0 && target_tail.is_finite()) {
            return Err(NetworkError::InvalidParameter {
                what: "target_tail",
                value: target_tail.to_string(),
                reason: "must be finite and non-negative",
            });
        }
        let kernels = Kernels::new(sigma, phi)?;
        Ok(Self {
            sigma: sigma.to_vec(),
            phi: phi.to_vec(),
            target_tail,
            kernels,
        })
    }

    /// `σ_0..σ_K`.
    pub fn sigma(&self) -> &[f64] {
        &self.sigma
    }

    /// `φ_0..φ_L`.
    pub fn phi(&self) -> &[f64] {
        &self.phi
    }

    /// The kernels `V`, `U`.
    pub fn kernels(&self) -> &Kernels {
        &self.kernels
    }

    /// `‖φ‖² = Σ_k φ_k² + target_tail`.
    pub fn target_norm_sq(&self) -> f64 {
        self.phi.iter().map(|p| p * p).sum::<f64>() + self.target_tail
    }

    /// The risk floor of the truncated network: `½ Σ_{k>K} φ_k²` (with the tail). It is part
    /// of every risk this crate reports.
    pub fn neglected_energy(&self) -> f64 {
        self.plateau_level(self.sigma.len() - 1)
    }

    /// The plateau level `R_l = ½ Σ_{k>l} φ_k²` (with the tail), model.md §5
    /// ([`timescales_hermite::plateau_levels`]).
    pub fn plateau_level(&self, l: usize) -> f64 {
        let levels = timescales_hermite::plateau_levels(&self.phi, 0.5 * self.target_tail);
        levels.get(l).copied().unwrap_or(0.5 * self.target_tail)
    }

    /// `(σ_K(x), σ_K'(x))`, using `h_k' = √k h_{k−1}`. `scratch` holds `K + 1` values.
    pub fn activation(&self, x: f64, scratch: &mut [f64]) -> (f64, f64) {
        let h = &mut scratch[..self.sigma.len()];
        hermite_normalized(x, h);
        let mut f = 0.0;
        let mut df = 0.0;
        for (k, &s) in self.sigma.iter().enumerate() {
            f += s * h[k];
            if k > 0 {
                df += s * (k as f64).sqrt() * h[k - 1];
            }
        }
        (f, df)
    }

    /// The truncated target `Σ_{k≤L} φ_k h_k(x)`. `scratch` holds `L + 1` values.
    pub fn target(&self, x: f64, scratch: &mut [f64]) -> f64 {
        let h = &mut scratch[..self.phi.len()];
        hermite_normalized(x, h);
        self.phi.iter().zip(h.iter()).map(|(p, h)| p * h).sum()
    }

    /// Length of the scratch buffer [`activation`](Self::activation) and
    /// [`target`](Self::target) need.
    pub fn scratch_len(&self) -> usize {
        self.sigma.len().max(self.phi.len())
    }
}
