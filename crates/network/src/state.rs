//! The network's parameters and their seeded initialization.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use timescales_meanfield::InitialLaw;

use crate::NetworkError;

/// One draw of `a_i(0)` from `law` (the law of the mean-field limit, validated by the
/// caller): inverse transform of one uniform for the uniform, beta and discrete laws, one
/// standard normal for the normal law.
fn draw<R: Rng + ?Sized>(law: &InitialLaw, rng: &mut R) -> f64 {
    match law {
        InitialLaw::Uniform { lo, hi } => lo + (hi - lo) * unit(rng),
        InitialLaw::Normal { mean, std } => {
            let z: f64 = StandardNormal.sample(rng);
            mean + std * z
        }
        InitialLaw::Beta { .. } => law.quantile(unit(rng)),
        InitialLaw::Discrete { values, weights } => {
            let total: f64 = weights.iter().sum();
            let mut u = unit(rng) * total;
            for (v, w) in values.iter().zip(weights) {
                if u < *w {
                    return *v;
                }
                u -= w;
            }
            values[values.len() - 1]
        }
    }
}

/// Uniform in `[0, 1)` from the top 53 bits of a `u64`.
fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Parameters of a width-`m` network in dimension `d`: second-layer weights `a` (length
/// `m`) and first-layer weights `W` (`d × m`, column `i` is `w_i`, `|w_i| = 1`). The target
/// direction is `u* = e_1`, so the overlaps are `s_i = W[0, i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkState {
    /// Second-layer weights `a_i`.
    pub a: DVector<f64>,
    /// First-layer weights, one unit column per neuron.
    pub w: DMatrix<f64>,
}

impl NetworkState {
    /// A state from its parts.
    ///
    /// # Errors
    /// [`NetworkError::Mismatch`] when `w` does not have `a.len()` columns,
    /// [`NetworkError::InvalidParameter`] when `d = 0` or `m = 0`.
    pub fn new(a: DVector<f64>, w: DMatrix<f64>) -> Result<Self, NetworkError> {
        if w.ncols() != a.len() {
            return Err(NetworkError::Mismatch {
                what: "columns of W vs length of a",
                expected: a.len(),
                got: w.ncols(),
            });
        }
        check_sizes(w.nrows(), a.len())?;
        Ok(Self { a, w })
    }

    /// The seeded random initial state: `w_i = g_i / |g_i|` with `g_i ~ N(0, I_d)` (uniform
    /// on the sphere), then `a_i(0)` i.i.d. from `law`, all from one ChaCha8 stream seeded
    /// with `seed` (same seed, same numbers, on any machine).
    ///
    /// # Errors
    /// [`NetworkError::InvalidParameter`] for `d = 0`, `m = 0` or an invalid law.
    pub fn random(d: usize, m: usize, law: &InitialLaw, seed: u64) -> Result<Self, NetworkError> {
        check_sizes(d, m)?;
        law.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut w = DMatrix::zeros(d, m);
        for mut col in w.column_iter_mut() {
            loop {
                for x in col.iter_mut() {
                    *x = StandardNormal.sample(&mut rng);
                }
                let n = col.norm();
                if n > 0.0 {
                    col /= n;
                    break;
                }
            }
        }
        let a = DVector::from_fn(m, |_, _| draw(law, &mut rng));
        Ok(Self { a, w })
    }

    /// Input dimension `d`.
    pub fn dim(&self) -> usize {
        self.w.nrows()
    }

    /// Width `m`.
    pub fn width(&self) -> usize {
        self.a.len()
    }

    /// Overlap `s_i = <w_i, u*> = W[0, i]`.
    pub fn overlap(&self, i: usize) -> f64 {
        self.w[(0, i)]
    }

    /// `max_i |s_i|`.
    pub fn max_abs_overlap(&self) -> f64 {
        self.w
            .row(0)
            .iter()
            .fold(0.0, |acc: f64, s| acc.max(s.abs()))
    }

    /// `M_k = (1/m) Σ_i a_i s_i^k`, the finite-`m` moment of model.md §4.
    pub fn moment(&self, k: i32) -> f64 {
        let m = self.width() as f64;
        self.a
            .iter()
            .zip(self.w.row(0).iter())
            .map(|(a, s)| a * s.powi(k))
            .sum::<f64>()
            / m
    }

    /// Renormalizes every `w_i` to unit length (the projection back to the sphere).
    pub fn project_to_sphere(&mut self) {
        for mut col in self.w.column_iter_mut() {
            let n = col.norm();
            if n > 0.0 {
                col /= n;
            }
        }
    }

    /// `max_i ||w_i| − 1|`.
    pub fn sphere_defect(&self) -> f64 {
        self.w
            .column_iter()
            .fold(0.0, |acc: f64, c| acc.max((c.norm() - 1.0).abs()))
    }

    /// The first non-finite entry as `("a" | "w", neuron)`.
    pub fn first_non_finite(&self) -> Option<(&'static str, usize)> {
        if let Some(i) = self.a.iter().position(|v| !v.is_finite()) {
            return Some(("a", i));
        }
        let d = self.dim();
        self.w
            .as_slice()
            .iter()
            .position(|v| !v.is_finite())
            .map(|p| ("w", p / d))
    }
}

fn check_sizes(d: usize, m: usize) -> Result<(), NetworkError> {
    if d == 0 {
        return Err(NetworkError::InvalidParameter {
            what: "d",
            value: "0".into(),
            reason: "the input dimension must be positive",
        });
    }
    if m == 0 {
        return Err(NetworkError::InvalidParameter {
            what: "m",
            value: "0".into(),
            reason: "the width must be positive",
        });
    }
    Ok(())
}
