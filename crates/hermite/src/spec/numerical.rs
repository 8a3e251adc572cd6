//! Hermite coefficients by quadrature, for the named activations that have no closed form:
//! a Gauss–Hermite rule, or for steep functions a composite Gauss–Legendre rule, with the
//! node count doubled until two successive rules agree.

use super::{ExpandOptions, Expansion, ExpansionMethod, FunctionSpec, PANEL_NODES};
use crate::HermiteError;
use crate::activation::INV_SQRT_2PI;
use crate::basis::hermite_weighted;
use crate::quadrature::{gauss_hermite_log, gauss_legendre};

/// Above this `|scale|` smooth activations are integrated by composite Gauss–Legendre.
const STEEP_SCALE: f64 = 1.5;

/// Half-width `L` of the composite rule's interval: `sqrt(4K + 2)` (edge of the oscillatory
/// region of `h_K`) plus 12, beyond which `ϕ(x) h_k(x) < 1e−30` for `k ≤ K`.
fn composite_half_width(degree: usize) -> f64 {
    (4.0 * degree as f64 + 2.0).sqrt() + 12.0
}

impl FunctionSpec {
    /// Quadrature of `f_k` and `‖f‖²` with doubling until two successive rules agree.
    ///
    /// Gauss–Hermite converges at a rate set by the width of the strip around the real axis
    /// where `f` is analytic; for `x ↦ f(scale·x + shift)` that width shrinks like
    /// `1/|scale|` and the node count grows like `scale²`. So Gauss–Hermite is used for
    /// `|scale| ≤ STEEP_SCALE` and `4 (degree + 1) ≤ max_nodes`; otherwise a composite
    /// Gauss–Legendre rule on `[−L, L]` ([`composite_half_width`]) whose panels are
    /// narrower than `1/|scale|`, whose cost grows only like `|scale|`.
    pub(super) fn expand_quadrature(
        &self,
        degree: usize,
        scale: f64,
        options: &ExpandOptions,
    ) -> Result<Expansion, HermiteError> {
        if scale.abs() <= STEEP_SCALE && 4 * (degree + 1) <= options.max_nodes {
            let n0 = options
                .initial_nodes
                .max(2 * (degree + 1))
                .checked_next_power_of_two()
                .unwrap_or(options.max_nodes)
                .min(options.max_nodes);
            self.converge(
                degree,
                options,
                "Gauss-Hermite",
                n0,
                options.max_nodes,
                |n| self.gauss_hermite_moments(degree, n),
            )
        } else {
            let half_width = composite_half_width(degree);
            let panel = (1.0 / scale.abs())
                .min(1.0)
                .min(2.0 / ((degree + 1) as f64).sqrt());
            // In f64 first: a huge |scale| must saturate at the cap, not overflow usize.
            let wanted = (2.0 * half_width / panel).ceil() * PANEL_NODES as f64;
            let cap = options.max_composite_nodes;
            let n0 = if wanted >= cap as f64 {
                cap
            } else {
                (wanted as usize).next_power_of_two().min(cap)
            };
            self.converge(degree, options, "composite Gauss-Legendre", n0, cap, |n| {
                self.composite_moments(degree, half_width, n / PANEL_NODES)
            })
        }
    }

    /// Doubling driver: evaluates `moments(n)` for `n = n0, 2 n0, …` (capped at `cap`) until
    /// successive coefficient vectors and norms agree (see [`ExpandOptions::tol`]).
    fn converge(
        &self,
        degree: usize,
        options: &ExpandOptions,
        rule: &'static str,
        n0: usize,
        cap: usize,
        moments: impl Fn(usize) -> Result<(Vec<f64>, f64), HermiteError>,
    ) -> Result<Expansion, HermiteError> {
        let mut n = n0.min(cap);
        let mut prev: Option<(Vec<f64>, f64)> = None;
        loop {
            let (coeffs, norm_sq) = moments(n)?;
            let target = options.tol * norm_sq.sqrt().max(1.0);
            let mut accuracy = f64::INFINITY;
            if let Some((pc, pn)) = prev {
                let diff = coeffs
                    .iter()
                    .zip(&pc)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                let norm_diff = (norm_sq - pn).abs();
                if diff <= target && norm_diff <= options.tol * norm_sq.max(1.0) {
                    return Ok(Expansion {
                        coeffs,
                        norm_sq,
                        accuracy: diff,
                        method: ExpansionMethod::Quadrature { nodes: n },
                    });
                }
                // Norm mismatch expressed in coefficient units (‖f‖² error / 2‖f‖).
                accuracy = diff.max(norm_diff / (2.0 * norm_sq.sqrt()).max(1.0));
            }
            if n >= cap {
                return Err(HermiteError::NotConverged {
                    function: self.to_string(),
                    rule,
                    degree,
                    nodes: n,
                    accuracy,
                    target,
                });
            }
            prev = Some((coeffs, norm_sq));
            n = n.saturating_mul(2).min(cap);
        }
    }

    /// Composite Gauss–Legendre moments on `[−L, L]` with `panels` equal panels of
    /// [`PANEL_NODES`] nodes (`panels` rounded up to even; mirror nodes summed in pairs):
    /// `Σ f(x) ϕ(x) h_k(x) Δw` and `Σ f(x)² ϕ(x) Δw`.
    fn composite_moments(
        &self,
        degree: usize,
        half_width: f64,
        panels: usize,
    ) -> Result<(Vec<f64>, f64), HermiteError> {
        let half_panels = panels.div_ceil(2).max(1);
        let h = half_width / half_panels as f64;
        let (gx, gw) = gauss_legendre(PANEL_NODES);
        let mut coeffs = vec![0.0; degree + 1];
        let mut norm_sq = 0.0;
        let mut a = vec![0.0; degree + 1];
        let mut b = vec![0.0; degree + 1];
        // Outermost panels first: small terms are summed before large ones.
        for p in (0..half_panels).rev() {
            let left = p as f64 * h;
            for (t, wt) in gx.iter().zip(&gw) {
                let x = left + 0.5 * h * (t + 1.0);
                let lw = (0.5 * h * wt).ln() - 0.5 * x * x + INV_SQRT_2PI.ln();
                let w = lw.exp();
                let fp = self.checked_eval(x)?;
                let fm = self.checked_eval(-x)?;
                hermite_weighted(x, lw, &mut a);
                hermite_weighted(-x, lw, &mut b);
                for ((c, ak), bk) in coeffs.iter_mut().zip(&a).zip(&b) {
                    *c += fp * ak + fm * bk;
                }
                norm_sq += w * (fp * fp + fm * fm);
            }
        }
        Ok((coeffs, norm_sq))
    }

    /// `f(x)`, or [`HermiteError::NonFiniteValue`] naming the point.
    fn checked_eval(&self, x: f64) -> Result<f64, HermiteError> {
        let v = self.eval(x);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(HermiteError::NonFiniteValue {
                function: self.to_string(),
                what: "value",
                x: Some(x),
                value: v,
            })
        }
    }

    /// `Σ_i w_i f(x_i) h_k(x_i)` for `k ≤ degree` and `Σ_i w_i f(x_i)²` on the `n`-node rule.
    /// Mirror nodes are added in pairs so that exact parities give exact zeros.
    fn gauss_hermite_moments(
        &self,
        degree: usize,
        n: usize,
    ) -> Result<(Vec<f64>, f64), HermiteError> {
        let rule = gauss_hermite_log(n);
        let mut coeffs = vec![0.0; degree + 1];
        let mut norm_sq = 0.0;
        let mut a = vec![0.0; degree + 1];
        let mut b = vec![0.0; degree + 1];
        let value = |x: f64| self.checked_eval(x);
        for i in 0..n.div_ceil(2) {
            let j = n - 1 - i;
            let (xi, lw) = (rule.nodes[i], rule.log_weights[i]);
            let fi = value(xi)?;
            hermite_weighted(xi, lw, &mut a);
            let w = lw.exp();
            if i == j {
                for (c, ak) in coeffs.iter_mut().zip(&a) {
                    *c += fi * ak;
                }
                norm_sq += w * fi * fi;
            } else {
                let xj = rule.nodes[j];
                let fj = value(xj)?;
                hermite_weighted(xj, rule.log_weights[j], &mut b);
                for ((c, ak), bk) in coeffs.iter_mut().zip(&a).zip(&b) {
                    *c += fi * ak + fj * bk;
                }
                norm_sq += w * (fi * fi + fj * fj);
            }
        }
        Ok((coeffs, norm_sq))
    }
}
