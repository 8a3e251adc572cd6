//! The initial law of the second-layer weights `a(0)` and its discretization into weighted
//! particles (model.md §4, "Discretization").

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Normal, Uniform, weighted::WeightedIndex};
use serde::{Deserialize, Serialize};
use statrs::function::beta::inv_beta_reg;
use statrs::function::erf::erfc_inv;
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
    /// `lo + (hi − lo) B` with `B ~ Beta(alpha, beta)`: density
    /// `∝ (a − lo)^{alpha−1} (hi − a)^{beta−1}` on `[lo, hi]`. The exponents set how the
    /// law thins (`> 1`) or piles up (`< 1`) at its edges, the edge exponent `κ = beta − 1`
    /// at `hi` (`alpha = beta = 1` is the uniform law).
    Beta {
        /// Shape at `lo` (`> 0`).
        alpha: f64,
        /// Shape at `hi` (`> 0`).
        beta: f64,
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
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
    /// Equal weights `1/N` at the quantile midpoints `a_i = F⁻¹((i − ½)/N)` of a continuous
    /// law (`F` its distribution function): the midpoint rule in probability, for every
    /// continuous law and every `N` in `O(N)`, and resolving an edge of the law as finely as
    /// its mass allows (a second deterministic placement beside the Gauss rules).
    Quantile,
    /// The trapezoidal rule of a normal law `N(μ, τ²)` in its standard variable: nodes
    /// `a_i = μ + τ z_i`, `z_i = −L + (i + ½) h`, `h = 2L/N`, weights `∝ e^{−z_i²/2}`
    /// (normalized), with `L = min(√(πN), 12)` (truncation `e^{−L²/2}` balanced against the
    /// rule's own error `e^{−2π²/h²}`; beyond 12 weights fall below `e^{−72}`). For the
    /// Gaussian weight the rule converges exponentially in `N` (Trefethen & Weideman, SIAM
    /// Review 56 (2014) 385–458, §5), and unlike the quantile midpoints, whose outermost node
    /// sits at `F⁻¹(1/(2N))`, it resolves the tail (out to 12 τ) where the first carriers of
    /// phase 2 sit at small ε: the README's "Phase 3 with N converged".
    Trapezoid,
    /// Composite Gauss–Legendre on cells graded geometrically toward both ends of a bounded
    /// law (uniform or beta), for integrands with structure at every scale near an edge —
    /// the carriers of phases 2 and 3 sit ever closer to the growing edge as ε falls. In
    /// the distance `x = (hi − a)/(hi − lo)` from an edge (likewise from `lo`) each half
    /// `x ∈ [0, ½]` is cut into the cells `[2^{−j−2}, 2^{−j−1}]`, `j = 0 … J − 1`, and the
    /// edge cell `[0, 2^{−J−1}]`, `J =` [`GRADED_CELLS`]; a cell holds `n / (J + 1)` Gauss
    /// nodes (the remainder to the cells farthest from the edge). The weight is the density
    /// `∝ x^{e−1}` at the node (`e` the edge's shape: `beta` at `hi`, `alpha` at `lo`, 1 for
    /// the uniform law); on the edge cell the rule is Gauss in `u = x^e`, where the density
    /// is smooth. The rule is the same at every scale down to `2^{−J−1} ≈ 2·10⁻¹³`, so its
    /// error does not depend on how close to the edge the structure lies: the counterpart at
    /// an edge of the normal law's trapezoid in its tail.
    Graded,
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
            InitialLaw::Uniform { lo, hi } | InitialLaw::Beta { lo, hi, .. }
                if !lo.is_finite() || !hi.is_finite() || lo >= hi =>
            {
                return bad(
                    "init.lo/init.hi",
                    format!("need finite lo < hi, got lo = {lo}, hi = {hi}"),
                );
            }
            InitialLaw::Uniform { .. } => {}
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
            InitialLaw::Beta { alpha, beta, .. } => {
                for (key, v) in [("init.alpha", alpha), ("init.beta", beta)] {
                    if !(v.is_finite() && *v > 0.0) {
                        return bad(key, format!("must be positive and finite, got {v}"));
                    }
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
            InitialLaw::Beta {
                alpha,
                beta,
                lo,
                hi,
            } => lo + (hi - lo) * alpha / (alpha + beta),
            InitialLaw::Discrete { values, weights } => {
                let total: f64 = weights.iter().sum();
                values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
            }
        }
    }

    /// Whether `n` particles can be placed by `placement`: `n ≥ 1`; a beta law has no Gauss
    /// rule here; a discrete law has no quantile placement, and with quadrature one particle
    /// per atom. Errors name the scenario key.
    ///
    /// # Errors
    /// [`FlowError::InvalidParameter`].
    pub fn check_placement(&self, n: usize, placement: Placement) -> Result<(), FlowError> {
        let bad = |key: &str, reason: String| {
            Err(FlowError::InvalidParameter {
                key: key.to_string(),
                reason,
            })
        };
        if n == 0 {
            return bad("init.particles", "must be at least 1".into());
        }
        match (self, placement) {
            (InitialLaw::Beta { .. }, Placement::Quadrature) => bad(
                "init.placement",
                "law = \"beta\" has no Gauss rule here: use placement = \"quantile\" or \
                 \"random\""
                    .into(),
            ),
            (InitialLaw::Discrete { .. }, Placement::Quantile) => bad(
                "init.placement",
                "placement = \"quantile\" needs a continuous law; a discrete law takes \
                 \"quadrature\" (its atoms) or \"random\""
                    .into(),
            ),
            (InitialLaw::Normal { .. } | InitialLaw::Discrete { .. }, Placement::Graded) => bad(
                "init.placement",
                "placement = \"graded\" grades cells toward the ends of a bounded law (law = \
                 \"uniform\" or \"beta\"); a normal law takes \"trapezoid\", a discrete law \
                 \"quadrature\""
                    .into(),
            ),
            (
                InitialLaw::Uniform { .. } | InitialLaw::Beta { .. } | InitialLaw::Discrete { .. },
                Placement::Trapezoid,
            ) => bad(
                "init.placement",
                "placement = \"trapezoid\" is the normal law's rule (law = \"normal\"); a \
                 bounded law takes \"quantile\" (its midpoint rule) or \"quadrature\""
                    .into(),
            ),
            (InitialLaw::Discrete { values, .. }, Placement::Quadrature) if n != values.len() => {
                bad(
                    "init.particles",
                    format!(
                        "a discrete law with quadrature placement has one particle per atom: \
                         {} atoms, particles = {n}",
                        values.len()
                    ),
                )
            }
            _ => Ok(()),
        }
    }

    /// Discretizes the law into `n` particles (a discrete law with quadrature placement
    /// gives its atoms, and `n` must then equal their number).
    ///
    /// # Errors
    /// [`FlowError::InvalidParameter`] for invalid parameters or `n = 0`.
    pub fn particles(&self, n: usize, placement: Placement) -> Result<Particles, FlowError> {
        self.validate()?;
        self.check_placement(n, placement)?;
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
            (Placement::Quadrature, InitialLaw::Discrete { values, weights }) => Particles {
                a: values.clone(),
                weights: normalized(weights),
            },
            (Placement::Trapezoid, InitialLaw::Normal { mean, std }) => {
                let (z, w) = trapezoid_standard_normal(n);
                Particles {
                    a: z.iter().map(|z| mean + std * z).collect(),
                    weights: w,
                }
            }
            (Placement::Graded, InitialLaw::Uniform { lo, hi }) => graded(n, *lo, *hi, 1.0, 1.0)?,
            (
                Placement::Graded,
                InitialLaw::Beta {
                    alpha,
                    beta,
                    lo,
                    hi,
                },
            ) => graded(n, *lo, *hi, *alpha, *beta)?,
            // Quantile midpoints; check_placement refused a beta law by quadrature, a
            // discrete law by quantiles and the unbounded and discrete laws by grading above.
            (
                Placement::Quantile
                | Placement::Quadrature
                | Placement::Trapezoid
                | Placement::Graded,
                law,
            ) => Particles {
                a: (0..n).map(|i| law.quantile_midpoint(i, n)).collect(),
                weights: vec![1.0 / n as f64; n],
            },
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
                    InitialLaw::Beta {
                        alpha,
                        beta,
                        lo,
                        hi,
                    } => {
                        let d =
                            Beta::new(*alpha, *beta).map_err(|e| FlowError::InvalidParameter {
                                key: "init.alpha/init.beta".into(),
                                reason: e.to_string(),
                            })?;
                        (0..n)
                            .map(|_| lo + (hi - lo) * d.sample(&mut rng))
                            .collect()
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

impl InitialLaw {
    /// The quantile `F⁻¹(p)` of a continuous law, `p ∈ [0, 1]`: uniform `lo + (hi − lo) p`;
    /// normal `μ − τ √2 erfc⁻¹(2p)`; beta `lo + (hi − lo) I⁻¹_p(α, β)` (`I` the regularized
    /// incomplete beta function). Computed from the nearer tail (`p ↦ 1 − p`, `α ↔ β`,
    /// `lo ↔ hi` above the median), so a symmetric law gives mirror images and points near
    /// an edge keep their relative accuracy. A discrete law, or `p` outside `[0, 1]`, gives
    /// NaN.
    ///
    /// ```
    /// # use timescales_meanfield::InitialLaw;
    /// // Beta(2, 2) on [0, 1] is symmetric: its median is ½ (closed form).
    /// let law = InitialLaw::Beta { alpha: 2.0, beta: 2.0, lo: 0.0, hi: 1.0 };
    /// assert!((law.quantile(0.5) - 0.5).abs() < 1e-12);
    /// ```
    pub fn quantile(&self, p: f64) -> f64 {
        if !(0.0..=1.0).contains(&p) {
            return f64::NAN;
        }
        if p > 0.5 {
            self.quantile_from_tail(1.0 - p, true)
        } else {
            self.quantile_from_tail(p, false)
        }
    }

    /// `F⁻¹(q)` (`upper = false`) or `F⁻¹(1 − q)` (`upper = true`), `q ≤ ½`.
    fn quantile_from_tail(&self, q: f64, upper: bool) -> f64 {
        match *self {
            InitialLaw::Uniform { lo, hi } => {
                if upper {
                    hi - (hi - lo) * q
                } else {
                    lo + (hi - lo) * q
                }
            }
            InitialLaw::Normal { mean, std } => {
                let z = std::f64::consts::SQRT_2 * erfc_inv(2.0 * q);
                if upper {
                    mean + std * z
                } else {
                    mean - std * z
                }
            }
            InitialLaw::Beta {
                alpha,
                beta,
                lo,
                hi,
            } => {
                if upper {
                    hi - (hi - lo) * inv_beta_reg(beta, alpha, q)
                } else {
                    lo + (hi - lo) * inv_beta_reg(alpha, beta, q)
                }
            }
            InitialLaw::Discrete { .. } => f64::NAN,
        }
    }

    /// The quantile midpoint `F⁻¹((i + ½)/n)` (`i` from 0), its tail probability formed
    /// exactly.
    fn quantile_midpoint(&self, i: usize, n: usize) -> f64 {
        let upper = 2 * i + 1 > n;
        let q = if upper {
            (n - i) as f64 - 0.5
        } else {
            i as f64 + 0.5
        } / n as f64;
        self.quantile_from_tail(q, upper)
    }
}

/// Nodes and normalized weights of the trapezoidal rule for `N(0, 1)` (see
/// [`Placement::Trapezoid`]): `z_i = −L + (i + ½) h`, `h = 2L/n`, `L = min(√(πn), 12)`,
/// `w_i ∝ e^{−z_i²/2}`, mirror-symmetric (`z_{n−1−i} = −z_i`).
fn trapezoid_standard_normal(n: usize) -> (Vec<f64>, Vec<f64>) {
    let half = (std::f64::consts::PI * n as f64).sqrt().min(12.0);
    let h = 2.0 * half / n as f64;
    let z: Vec<f64> = (0..n)
        .map(|i| {
            // Formed from the nearer end so that the nodes are exact mirror images.
            let j = i.min(n - 1 - i);
            let x = -half + (j as f64 + 0.5) * h;
            if i == j { x } else { -x }
        })
        .collect();
    let w: Vec<f64> = z.iter().map(|z| (-0.5 * z * z).exp()).collect();
    (z, normalized(&w))
}

/// The number `J` of geometrically graded cells in each half of [`Placement::Graded`]: the
/// edge cell is `[0, 2^{−J−1}]` of the support, `≈ 2·10⁻¹³` (labels `a` near `hi` are
/// resolved to `2^{−52}` of `|hi|`: finer cells would hold coincident particles).
pub const GRADED_CELLS: usize = 41;

/// [`Placement::Graded`] of the law with density `∝ y^{α−1} (1 − y)^{β−1}`, `y = (a − lo)/(hi −
/// lo)`: `n / 2` nodes graded toward `lo`, the rest toward `hi`, ascending in `a`, weights
/// normalized.
///
/// # Errors
/// [`FlowError::InvalidParameter`] (`init.alpha/init.beta`) when the shapes are so extreme
/// that the weights leave the floating-point range.
fn graded(n: usize, lo: f64, hi: f64, alpha: f64, beta: f64) -> Result<Particles, FlowError> {
    let width = hi - lo;
    // x is the distance from the edge in units of the support; e the edge's shape, f the
    // far edge's.
    let half = |n: usize, e: f64, f: f64| -> Vec<(f64, f64)> {
        let cells = (GRADED_CELLS + 1).min(n);
        let mut nodes = Vec::with_capacity(n);
        if cells == 0 {
            // N = 1: the lower half is empty.
            return nodes;
        }
        let far = |x: f64| (1.0 - x).powf(f - 1.0);
        // Every cell holds n / cells or one more nodes: the two rules, computed once.
        let rules = [gauss_legendre(n / cells), gauss_legendre(n / cells + 1)];
        for c in 0..cells {
            let (x, w) = &rules[usize::from(c < n % cells)];
            if c + 1 < cells {
                // [2^{−c−2}, 2^{−c−1}]: Gauss in x, the density at the node.
                let (x0, x1) = (0.5f64.powi(c as i32 + 2), 0.5f64.powi(c as i32 + 1));
                for (t, w) in x.iter().zip(w) {
                    let x = x0 + (x1 - x0) * 0.5 * (t + 1.0);
                    nodes.push((x, w * 0.5 * (x1 - x0) * x.powf(e - 1.0) * far(x)));
                }
            } else {
                // [0, c₁] with u = x^e: ∫ g(x) x^{e−1} dx = (1/e) ∫_0^{c₁^e} g(u^{1/e}) du.
                let u1 = 0.5f64.powi(c as i32 + 1).powf(e);
                for (t, w) in x.iter().zip(w) {
                    let x = (u1 * 0.5 * (t + 1.0)).powf(1.0 / e);
                    nodes.push((x, w * 0.5 * u1 / e * far(x)));
                }
            }
        }
        nodes
    };
    let mut lower = half(n / 2, alpha, beta);
    let mut upper = half(n - n / 2, beta, alpha);
    // Ascending in a: the lower half by distance from lo, then the upper half by distance
    // from hi, falling.
    lower.sort_by(|p, q| p.0.total_cmp(&q.0));
    upper.sort_by(|p, q| q.0.total_cmp(&p.0));
    let (a, w): (Vec<f64>, Vec<f64>) = lower
        .into_iter()
        .map(|(x, w)| (lo + width * x, w))
        .chain(upper.into_iter().map(|(x, w)| (hi - width * x, w)))
        .unzip();
    let total: f64 = w.iter().sum();
    if !(total.is_finite() && total > 0.0) {
        return Err(FlowError::InvalidParameter {
            key: "init.alpha/init.beta".into(),
            reason: format!(
                "alpha = {alpha}, beta = {beta} put the graded rule's weights out of the \
                 floating-point range (sum {total})"
            ),
        });
    }
    Ok(Particles {
        a,
        weights: normalized(&w),
    })
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

    fn two_atoms() -> InitialLaw {
        InitialLaw::Discrete {
            values: vec![0.0, 1.0],
            weights: vec![1.0, 1.0],
        }
    }

    /// Each law refuses `placement`, naming `init.placement`.
    fn refused(placement: Placement, laws: &[InitialLaw]) {
        for law in laws {
            assert!(matches!(
                law.particles(2, placement),
                Err(FlowError::InvalidParameter { key, .. }) if key == "init.placement"
            ));
        }
    }

    /// `E exp(−(hi − a)/δ)`, an integrand concentrated within δ of the edge.
    fn edge_mean(p: &Particles, hi: f64, delta: f64) -> f64 {
        p.a.iter()
            .zip(&p.weights)
            .map(|(a, w)| w * (-(hi - a) / delta).exp())
            .sum()
    }

    #[test]
    fn graded_placement_resolves_the_edge_at_every_scale() {
        // On [−1, 0], so that the distance hi − a = −a of a label from the edge is exact
        // (near an edge at 1 it is rounded to 2^{−53}, 1e-4 of it at 1e-12). Closed forms.
        // Uniform: E e^{−(hi−a)/δ} = δ (1 − e^{−1/δ}). Arcsine (Beta(½, ½)): ∫₀¹ e^{−zx} x^{−½}(1 − x)^{−½} dx / π = e^{−z/2} I₀(z/2),
        // z = 1/δ; for z ≥ 10⁶ its asymptotic series (Abramowitz & Stegun 9.7.1)
        // (πz)^{−½} (1 + 1/(4z) + 9/(32z²) + 75/(128z³)) is exact to rounding.
        let uniform = InitialLaw::Uniform { lo: -1.0, hi: 0.0 };
        let arcsine = InitialLaw::Beta {
            alpha: 0.5,
            beta: 0.5,
            lo: -1.0,
            hi: 0.0,
        };
        let g = uniform.particles(1024, Placement::Graded).unwrap();
        let c = arcsine.particles(1024, Placement::Graded).unwrap();
        for delta in [1e-6f64, 1e-9, 1e-12] {
            let exact = delta * (1.0 - (-1.0 / delta).exp());
            let got = edge_mean(&g, 0.0, delta);
            assert!(
                (got / exact - 1.0).abs() < 1e-11,
                "uniform δ = {delta}: {got}"
            );
            let z = 1.0 / delta;
            let exact = (std::f64::consts::PI * z).sqrt().recip()
                * (1.0 + 1.0 / (4.0 * z) + 9.0 / (32.0 * z * z) + 75.0 / (128.0 * z.powi(3)));
            let got = edge_mean(&c, 0.0, delta);
            assert!(
                (got / exact - 1.0).abs() < 1e-11,
                "arcsine δ = {delta}: {got}"
            );
        }
        // The global moments too: E a = −½ for both, E (a + ½)² = 1/12 and 1/8.
        for (p, var) in [(&g, 1.0 / 12.0), (&c, 0.125)] {
            assert!((p.weights.iter().sum::<f64>() - 1.0).abs() < 1e-14);
            assert!((moment(p, 1) + 0.5).abs() < 1e-14);
            let v: f64 =
                p.a.iter()
                    .zip(&p.weights)
                    .map(|(a, w)| w * (a + 0.5).powi(2))
                    .sum();
            assert!((v - var).abs() < 1e-14, "{v}");
        }
        // Gauss–Legendre with 64 times the nodes has its last node 3.4·10⁻¹⁰ from the edge:
        // 5e-7 off at δ = 1e-9, 70 % at 1e-10 (measured).
        let gl = uniform.particles(65536, Placement::Quadrature).unwrap();
        assert!((edge_mean(&gl, 0.0, 1e-10) / 1e-10 - 1.0).abs() > 0.5);
        // Symmetric laws give mirror images; the nodes ascend inside the support (those of
        // the edge cell nearer the edge than the resolution of a label at ±1 coincide).
        let b = InitialLaw::Beta {
            alpha: 0.5,
            beta: 0.5,
            lo: -1.0,
            hi: 1.0,
        }
        .particles(4096, Placement::Graded)
        .unwrap();
        for i in 0..4096 {
            assert_eq!(b.a[i], -b.a[4095 - i]);
            assert_eq!(b.weights[i], b.weights[4095 - i]);
        }
        assert!(b.a.windows(2).all(|w| w[0] <= w[1]) && b.a[0] >= -1.0 && b.a[4095] <= 1.0);
        assert!(b.a[..2048].windows(2).filter(|w| w[0] == w[1]).count() < 8);
        // The smallest N: one half may be empty (a division by zero once, caught by the
        // property test in CI).
        for n in [1, 2, 3] {
            let p = uniform.particles(n, Placement::Graded).unwrap();
            assert_eq!(p.a.len(), n);
            assert!((p.weights.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        }
        // Only bounded laws are graded.
        let normal = InitialLaw::Normal {
            mean: 0.0,
            std: 1.0,
        };
        refused(Placement::Graded, &[normal, two_atoms()]);
    }

    #[test]
    fn trapezoid_placement_converges_exponentially_and_reaches_the_tail() {
        let g = InitialLaw::Normal {
            mean: 0.5,
            std: 2.0,
        };
        let central = |p: &Particles, k: i32| -> f64 {
            p.a.iter()
                .zip(&p.weights)
                .map(|(a, w)| w * (a - 0.5).powi(k))
                .sum()
        };
        // Central moments of N(0.5, 2²): τ² = 4, 3τ⁴ = 48, 15τ⁶ = 960 (closed forms).
        for n in [64usize, 1000, 65536] {
            let p = g.particles(n, Placement::Trapezoid).unwrap();
            assert!((p.weights.iter().sum::<f64>() - 1.0).abs() < 1e-14);
            assert!(central(&p, 1).abs() < 1e-14, "N = {n}");
            assert!((central(&p, 2) - 4.0).abs() < 1e-12 * 4.0, "N = {n}");
            assert!((central(&p, 4) - 48.0).abs() < 1e-12 * 48.0, "N = {n}");
            assert!((central(&p, 6) - 960.0).abs() < 1e-11 * 960.0, "N = {n}");
            // Mirror images, increasing, out to 12τ less half a spacing.
            assert!(p.a.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(p.a[0] - 0.5, -(p.a[n - 1] - 0.5));
            let h = 24.0 / n as f64;
            assert!(((p.a[n - 1] - 0.5) / 2.0 - (12.0 - h / 2.0)).abs() < 1e-12);
        }
        // Few nodes: L = √(πN) balances truncation and the rule's error, both about
        // e^{−πN/2} up to algebraic factors: at N = 8 the variance is within 2e-4 relative
        // (measured 1.7e-4; the quantile midpoints: 16 %).
        let p = g.particles(8, Placement::Trapezoid).unwrap();
        assert!((central(&p, 2) - 4.0).abs() < 8e-4, "{}", central(&p, 2));
        let q = g.particles(8, Placement::Quantile).unwrap();
        assert!((central(&q, 2) - 4.0).abs() > 0.1 * 4.0);
        // The quantile midpoints at N = 65 536 stop at 4.3τ; the trapezoid reaches 12τ.
        let q = g.particles(65536, Placement::Quantile).unwrap();
        assert!((q.a[65535] - 0.5) / 2.0 < 4.4);
        // Only the normal law has the rule.
        let beta = InitialLaw::Beta {
            alpha: 2.0,
            beta: 2.0,
            lo: 0.0,
            hi: 1.0,
        };
        let uniform = InitialLaw::Uniform { lo: 0.0, hi: 1.0 };
        refused(Placement::Trapezoid, &[uniform, beta, two_atoms()]);
    }

    #[test]
    fn quantile_placement_reproduces_moments_and_edges() {
        let m = |law: &InitialLaw, n: usize, k: i32| {
            moment(&law.particles(n, Placement::Quantile).unwrap(), k)
        };
        // Uniform[−1, 2]: the midpoint rule is exact for E a = 1/2; E a² = 1 − 9/(12 N²)
        // (the midpoint rule's error for x², closed form).
        let u = InitialLaw::Uniform { lo: -1.0, hi: 2.0 };
        assert!((m(&u, 10, 1) - 0.5).abs() < 1e-15);
        assert!((m(&u, 10, 2) - (1.0 - 9.0 / 1200.0)).abs() < 1e-14);
        // Beta(2, 2) on [−1, 1]: mean 0, variance 4·ab/((a+b)²(a+b+1)) = 0.2 (closed form);
        // the midpoint rule in probability converges like N^{-2}.
        let b = InitialLaw::Beta {
            alpha: 2.0,
            beta: 2.0,
            lo: -1.0,
            hi: 1.0,
        };
        assert!(m(&b, 4000, 1).abs() < 1e-15);
        // The rule's own error here is −1.1e-6 (the closed-form nodes below, summed).
        assert!((m(&b, 4000, 2) - 0.2).abs() < 2e-6);
        // Node by node against the closed-form quantile of Beta(2, 2), whose distribution
        // function 3x² − 2x³ inverts to x = ½ + cos((arccos(1 − 2p) + 4π)/3).
        let nodes = b.particles(1000, Placement::Quantile).unwrap().a;
        for (i, a) in nodes.iter().enumerate() {
            let p = (i as f64 + 0.5) / 1000.0;
            let x = 0.5 + (((1.0 - 2.0 * p).acos() + 4.0 * std::f64::consts::PI) / 3.0).cos();
            assert!(
                (a - (2.0 * x - 1.0)).abs() < 1e-12,
                "node {i}: {a} vs {}",
                2.0 * x - 1.0
            );
        }
        // N(0.5, 2²): mean exact by symmetry, variance 4 within the rule's tail error.
        let g = InitialLaw::Normal {
            mean: 0.5,
            std: 2.0,
        };
        assert!((m(&g, 1001, 1) - 0.5).abs() < 1e-13);
        assert!((m(&g, 100_000, 2) - 4.25).abs() < 1e-4);
        // The edge of Beta(½, ½) (the arcsine law, I_x(½, ½) = (2/π) arcsin √x): the last
        // quantile midpoint is 1 − 2 sin²(π/(4N)) (closed form), to the accuracy with which
        // a number that close to 1 can be stored (its distance to the edge is not).
        let arcsine = InitialLaw::Beta {
            alpha: 0.5,
            beta: 0.5,
            lo: -1.0,
            hi: 1.0,
        };
        for n in [10usize, 1000, 65536] {
            let p = arcsine.particles(n, Placement::Quantile).unwrap();
            let gap = 1.0 - p.a[n - 1];
            let want = 2.0 * (std::f64::consts::PI / (4.0 * n as f64)).sin().powi(2);
            let tol = 1e-9 * want + 2.0 * f64::EPSILON;
            assert!((gap - want).abs() < tol, "N = {n}: {gap} vs {want}");
            assert_eq!(p.a[0], -p.a[n - 1], "mirror image");
            assert!(p.a.windows(2).all(|w| w[0] < w[1]), "increasing");
        }
        // A discrete law has no quantile placement.
        let d = InitialLaw::Discrete {
            values: vec![0.0, 1.0],
            weights: vec![1.0, 1.0],
        };
        assert!(matches!(
            d.particles(2, Placement::Quantile),
            Err(FlowError::InvalidParameter { key, .. }) if key == "init.placement"
        ));
        assert!(matches!(
            b.particles(4, Placement::Quadrature),
            Err(FlowError::InvalidParameter { key, .. }) if key == "init.placement"
        ));
        // Random draws of a beta law stay inside [lo, hi] and reproduce its mean.
        let r = b.particles(20_000, Placement::Random { seed: 3 }).unwrap();
        assert!(r.a.iter().all(|a| (-1.0..=1.0).contains(a)));
        assert!(moment(&r, 1).abs() < 0.02);
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
