//! The initial law of the second-layer weights `a(0)` and its discretization into weighted
//! particles (model.md §4, "Discretization").

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform, weighted::WeightedIndex};
use serde::{Deserialize, Serialize};
use timescales_hermite::quadrature::{gauss_hermite, gauss_legendre};

use crate::FlowError;

/// The law `P` of `a(0)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "law", rename_all = "lowercase")]
pub enum InitialLaw {
    /// Uniform on `[lo, hi]`.
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// Normal `N(mean, std²)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Atoms `values` with probabilities proportional to `weights`.
    Discrete {
        /// Atom locations.
        values: Vec<f64>,
        /// Non-negative weights (normalized to sum 1).
        weights: Vec<f64>,
    },
}

/// How particles are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "placement", rename_all = "lowercase")]
pub enum Placement {
    /// Gauss–Legendre (uniform law) or probabilists' Gauss–Hermite (normal law) nodes with
    /// their normalized weights; the atoms themselves for a discrete law.
    Quadrature,
    /// `N` i.i.d. draws with equal weights, from a ChaCha8 generator seeded with `seed`.
    Random {
        /// Seed.
        seed: u64,
    },
}

/// Weighted particles: initial `a_i(0)` and fixed weights `w_i`, `Σ w_i = 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Particles {
    /// `a_i(0)`.
    pub a: Vec<f64>,
    /// `w_i`.
    pub weights: Vec<f64>,
}

impl InitialLaw {
    /// Checks the parameters; errors name the scenario key.
    ///
    /// # Errors
    /// [`FlowError::InvalidParameter`].
    pub fn validate(&self) -> Result<(), FlowError> {
        let bad = |key: &str, reason: String| {
            Err(FlowError::InvalidParameter {
                key: key.to_string(),
                reason,
            })
        };
        match self {
            InitialLaw::Uniform { lo, hi } => {
                if !lo.is_finite() || !hi.is_finite() || lo >= hi {
                    return bad(
                        "init.lo/init.hi",
                        format!("need finite lo < hi, got lo = {lo}, hi = {hi}"),
                    );
                }
            }
            InitialLaw::Normal { mean, std } => {
                if !mean.is_finite() {
                    return bad("init.mean", format!("must be finite, got {mean}"));
                }
                if !(std.is_finite() && *std > 0.0) {
                    return bad(
                        "init.std",
                        format!("must be positive and finite, got {std}"),
                    );
                }
            }
            InitialLaw::Discrete { values, weights } => {
                if values.is_empty() {
                    return bad("init.values", "must not be empty".into());
                }
                if values.len() != weights.len() {
                    return bad(
                        "init.weights",
                        format!(
                            "has {} entries but init.values has {}",
                            weights.len(),
                            values.len()
                        ),
                    );
                }
                if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                    return bad("init.values", format!("must be finite, got {v}"));
                }
                if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
                    return bad("init.weights", format!("must be finite and ≥ 0, got {w}"));
                }
                if weights.iter().sum::<f64>() <= 0.0 {
                    return bad("init.weights", "must not all be zero".into());
                }
            }
        }
        Ok(())
    }

    /// Mean of the law.
    pub fn mean(&self) -> f64 {
        match self {
            InitialLaw::Uniform { lo, hi } => 0.5 * (lo + hi),
            InitialLaw::Normal { mean, .. } => *mean,
            InitialLaw::Discrete { values, weights } => {
                let total: f64 = weights.iter().sum();
                values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
            }
        }
    }

    /// Discretizes the law into `n` particles (a discrete law with quadrature placement
    /// gives its atoms, and `n` must then equal their number).
    ///
    /// # Errors
    /// [`FlowError::InvalidParameter`] for invalid parameters or `n = 0`.
    pub fn particles(&self, n: usize, placement: Placement) -> Result<Particles, FlowError> {
        self.validate()?;
        if n == 0 {
            return Err(FlowError::InvalidParameter {
                key: "init.particles".into(),
                reason: "must be at least 1".into(),
            });
        }
        let p = match (placement, self) {
            (Placement::Quadrature, InitialLaw::Uniform { lo, hi }) => {
                let (x, w) = gauss_legendre(n);
                Particles {
                    a: x.iter().map(|x| lo + (hi - lo) * 0.5 * (x + 1.0)).collect(),
                    weights: normalized(&w),
                }
            }
            (Placement::Quadrature, InitialLaw::Normal { mean, std }) => {
                let (x, w) = gauss_hermite(n);
                Particles {
                    a: x.iter().map(|x| mean + std * x).collect(),
                    weights: normalized(&w),
                }
            }
            (Placement::Quadrature, InitialLaw::Discrete { values, weights }) => {
                if n != values.len() {
                    return Err(FlowError::InvalidParameter {
                        key: "init.particles".into(),
                        reason: format!(
                            "a discrete law with quadrature placement has one particle per atom: \
                             {} atoms, particles = {n}",
                            values.len()
                        ),
                    });
                }
                Particles {
                    a: values.clone(),
                    weights: normalized(weights),
                }
            }
            (Placement::Random { seed }, law) => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let a: Vec<f64> = match law {
                    InitialLaw::Uniform { lo, hi } => {
                        let d =
                            Uniform::new(*lo, *hi).map_err(|e| FlowError::InvalidParameter {
                                key: "init.lo/init.hi".into(),
                                reason: e.to_string(),
                            })?;
                        (0..n).map(|_| d.sample(&mut rng)).collect()
                    }
                    InitialLaw::Normal { mean, std } => {
                        let d =
                            Normal::new(*mean, *std).map_err(|e| FlowError::InvalidParameter {
                                key: "init.std".into(),
                                reason: e.to_string(),
                            })?;
                        (0..n).map(|_| rng.sample(d)).collect()
                    }
                    InitialLaw::Discrete { values, weights } => {
                        let d = WeightedIndex::new(weights).map_err(|e| {
                            FlowError::InvalidParameter {
                                key: "init.weights".into(),
                                reason: e.to_string(),
                            }
                        })?;
                        (0..n).map(|_| values[d.sample(&mut rng)]).collect()
                    }
                };
                Particles {
                    a,
                    weights: vec![1.0 / n as f64; n],
                }
            }
        };
        Ok(p)
    }
}

fn normalized(w: &[f64]) -> Vec<f64> {
    let total: f64 = w.iter().sum();
    w.iter().map(|w| w / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment(p: &Particles, k: i32) -> f64 {
        p.a.iter().zip(&p.weights).map(|(a, w)| w * a.powi(k)).sum()
    }

    #[test]
    fn quadrature_placement_reproduces_moments() {
        // Uniform[-1, 2]: E a = 1/2, E a² = (lo² + lo·hi + hi²)/3 = 1 (closed form).
        let p = InitialLaw::Uniform { lo: -1.0, hi: 2.0 }
            .particles(8, Placement::Quadrature)
            .unwrap();
        assert!((p.weights.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        assert!((moment(&p, 1) - 0.5).abs() < 1e-13);
        assert!((moment(&p, 2) - 1.0).abs() < 1e-13);
        // N(0.5, 2²): E a⁴ = μ⁴ + 6μ²τ² + 3τ⁴ = 0.0625 + 6 + 48 (closed form).
        let p = InitialLaw::Normal {
            mean: 0.5,
            std: 2.0,
        }
        .particles(6, Placement::Quadrature)
        .unwrap();
        assert!((moment(&p, 4) - 54.0625).abs() < 1e-10);
    }

    #[test]
    fn random_placement_is_reproducible_and_equal_weight() {
        let law = InitialLaw::Normal {
            mean: 0.0,
            std: 1.0,
        };
        let p1 = law.particles(1000, Placement::Random { seed: 7 }).unwrap();
        let p2 = law.particles(1000, Placement::Random { seed: 7 }).unwrap();
        let p3 = law.particles(1000, Placement::Random { seed: 8 }).unwrap();
        assert_eq!(p1, p2);
        assert_ne!(p1.a, p3.a);
        assert!(moment(&p1, 1).abs() < 0.15);
        let d = InitialLaw::Discrete {
            values: vec![-1.0, 3.0],
            weights: vec![3.0, 1.0],
        };
        let p = d.particles(4000, Placement::Random { seed: 1 }).unwrap();
        assert!(p.a.iter().all(|a| *a == -1.0 || *a == 3.0));
        assert!(moment(&p, 1).abs() < 0.1, "E a = 0 for this law");
    }

    #[test]
    fn bad_laws_name_their_key() {
        let cases: Vec<(InitialLaw, usize, &str)> = vec![
            (
                InitialLaw::Uniform { lo: 1.0, hi: 1.0 },
                4,
                "init.lo/init.hi",
            ),
            (
                InitialLaw::Normal {
                    mean: 0.0,
                    std: -1.0,
                },
                4,
                "init.std",
            ),
            (
                InitialLaw::Normal {
                    mean: f64::NAN,
                    std: 1.0,
                },
                4,
                "init.mean",
            ),
            (
                InitialLaw::Discrete {
                    values: vec![1.0],
                    weights: vec![1.0, 2.0],
                },
                1,
                "init.weights",
            ),
            (
                InitialLaw::Discrete {
                    values: vec![1.0, 2.0],
                    weights: vec![1.0, 1.0],
                },
                3,
                "init.particles",
            ),
            (
                InitialLaw::Uniform { lo: 0.0, hi: 1.0 },
                0,
                "init.particles",
            ),
        ];
        for (law, n, key) in cases {
            match law.particles(n, Placement::Quadrature) {
                Err(FlowError::InvalidParameter { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{law:?}: expected an error naming {key}, got {other:?}"),
            }
        }
    }
}
