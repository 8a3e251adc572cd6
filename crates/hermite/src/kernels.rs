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

#[cfg(test)]
mod tests {
    //! Mehler's identity `E[σ(G) σ(G_ρ)] = Σ_k σ_k² ρ^k` (and `V`) checked against
    //! two-dimensional quadrature and published closed-form kernels. The truncated sum is
    //! compared with a tolerance that includes the tail bound
    //! `|Σ_{k>K} σ_k² ρ^k| ≤ |ρ|^{K+1} Σ_{k>K} σ_k² = 2 |ρ|^{K+1} tail_energy`.

    use std::f64::consts::PI;

    use super::*;
    use crate::test_support::{correlated_expectation, half_line_expectation};
    use crate::{Activation, FunctionSpec, normal_cdf, normal_pdf};

    const RHOS: [f64; 7] = [-0.9, -0.5, -0.2, 0.0, 0.3, 0.5, 0.8];

    fn tail_bound(e: &Expansion, rho: f64) -> f64 {
        2.0 * rho.abs().powi(e.coeffs.len() as i32) * e.tail_energy()
    }

    #[test]
    fn mehler_by_two_dimensional_gauss_hermite() {
        // Reference: tensor-product Gauss–Hermite, 120 × 120 nodes (analytic integrands).
        let specs = [
            FunctionSpec::named(Activation::Exp),
            FunctionSpec::named(Activation::Tanh),
            FunctionSpec::named(Activation::Erf),
            FunctionSpec::Named {
                activation: Activation::Sigmoid,
                shift: 0.3,
                scale: 1.2,
            },
            FunctionSpec::Polynomial(vec![0.5, -1.0, 0.0, 0.3]),
        ];
        for spec in &specs {
            let e = spec.expand(60).unwrap();
            let k = Kernels::new(&e.coeffs, &e.coeffs).unwrap();
            for &rho in &RHOS {
                let q = correlated_expectation(|x| spec.eval(x), |x| spec.eval(x), rho, 120);
                let tol = 1e-12 + tail_bound(&e, rho);
                assert!(
                    (k.u(rho) - q).abs() < tol,
                    "{spec}, ρ = {rho}: {} vs {q}",
                    k.u(rho)
                );
            }
        }
    }

    #[test]
    fn mehler_closed_form_kernels() {
        // exp(x − ½): U(ρ) = E[e^{G + G_ρ − 1}] = e^ρ (Gaussian moment generating function).
        // relu: arc-cosine kernel (Cho & Saul 2009), U(ρ) = (√(1−ρ²) + (π − arccos ρ) ρ)/(2π).
        // abs: U(ρ) = (2/π)(√(1−ρ²) + ρ arcsin ρ) (same family, closed form).
        // erf(s x): U(ρ) = (2/π) arcsin(2 s² ρ / (1 + 2 s²)) (Williams 1998).
        type Kernel = fn(f64) -> f64;
        let cases: [(FunctionSpec, Kernel); 5] = [
            (FunctionSpec::named(Activation::Exp), |r| r.exp()),
            (FunctionSpec::named(Activation::Relu), |r| {
                ((1.0 - r * r).sqrt() + (PI - r.acos()) * r) / (2.0 * PI)
            }),
            (FunctionSpec::named(Activation::Abs), |r| {
                2.0 / PI * ((1.0 - r * r).sqrt() + r * r.asin())
            }),
            (FunctionSpec::named(Activation::Erf), |r| {
                2.0 / PI * (2.0 * r / 3.0).asin()
            }),
            (
                FunctionSpec::Named {
                    activation: Activation::Erf,
                    shift: 0.0,
                    scale: 3.0,
                },
                |r| 2.0 / PI * (18.0 * r / 19.0).asin(),
            ),
        ];
        for (spec, kernel) in &cases {
            let e = spec.expand(400).unwrap();
            let k = Kernels::new(&e.coeffs, &e.coeffs).unwrap();
            for &rho in &RHOS {
                let tol = 1e-13 + tail_bound(&e, rho);
                let want = kernel(rho);
                assert!(
                    (k.u(rho) - want).abs() < tol,
                    "{spec}, ρ = {rho}: {} vs {want}",
                    k.u(rho)
                );
            }
            // ρ = 1: U(1) = Σ σ_k² = ‖σ‖² − 2 tail (exact bookkeeping).
            assert!((k.u(1.0) - (e.norm_sq - 2.0 * e.tail_energy())).abs() < 1e-12);
        }
    }

    #[test]
    fn mehler_relu_with_kink_handled() {
        // E[relu(G) relu(G_ρ)]: the inner expectation over G' is the closed form
        // E[relu(a + sG')] = a Φ(a/s) + s ϕ(a/s) (a = ρx, s = √(1−ρ²)); the outer integral
        // runs over x > 0 only (relu(x) = 0 below), by composite Gauss–Legendre.
        let e = FunctionSpec::named(Activation::Relu).expand(200).unwrap();
        let k = Kernels::new(&e.coeffs, &e.coeffs).unwrap();
        for rho in [-0.5f64, -0.2, 0.1, 0.3, 0.5] {
            let s = (1.0 - rho * rho).sqrt();
            let inner = |x: f64| {
                let a = rho * x;
                a * normal_cdf(a / s) + s * normal_pdf(a / s)
            };
            let q = half_line_expectation(|x| x * inner(x), 0.0);
            let tol = 1e-14 + tail_bound(&e, rho);
            assert!((k.u(rho) - q).abs() < tol, "ρ = {rho}: {} vs {q}", k.u(rho));
        }
    }

    #[test]
    fn v_kernel_by_two_dimensional_quadrature() {
        // V(s) = E[φ(G) σ(G_s)] with φ = He_3-heavy polynomial, σ = tanh (120 × 120 nodes).
        let sigma = FunctionSpec::named(Activation::Tanh);
        let phi = FunctionSpec::Polynomial(vec![0.2, 1.0, 0.0, -0.5]);
        let es = sigma.expand(30).unwrap();
        let ep = phi.expand(30).unwrap();
        let k = Kernels::from_expansions(&es, &ep).unwrap();
        for &s in &RHOS {
            let q = correlated_expectation(|x| phi.eval(x), |x| sigma.eval(x), s, 120);
            // φ has degree 3, so V is exact at K = 3: no tail.
            assert!((k.v(s) - q).abs() < 1e-13, "s = {s}: {} vs {q}", k.v(s));
        }
        assert_eq!(k.v_coeffs().len(), 31);
        assert_eq!(k.v_coeffs()[4..], [0.0; 27]);
    }

    #[test]
    fn derivatives_match_finite_differences_and_closed_forms() {
        // σ_k = 1/√k! (exp): U(ρ) = Σ ρ^k/k! truncated, U' and U'' are the shifted sums.
        let sigma: Vec<f64> = (0..25)
            .scan(1.0, |f, k| {
                if k > 0 {
                    *f *= k as f64;
                }
                Some(1.0 / f64::sqrt(*f))
            })
            .collect();
        let phi = [0.1, -0.7, 0.4, 0.9, -0.2];
        let k = Kernels::new(&sigma, &phi).unwrap();
        let h = 1e-5;
        for &x in &[-0.9, -0.3, 0.0, 0.4, 0.95] {
            let (u, du, d2u) = k.u_all(x);
            assert!((u - x.exp()).abs() < 1e-15 && (du - x.exp()).abs() < 1e-14);
            assert!((d2u - x.exp()).abs() < 1e-13);
            let fd1 = (k.v(x + h) - k.v(x - h)) / (2.0 * h);
            let fd2 = (k.dv(x + h) - k.dv(x - h)) / (2.0 * h);
            assert!((k.dv(x) - fd1).abs() < 1e-9 && (k.d2v(x) - fd2).abs() < 1e-9);
            assert_eq!(k.v_all(x), (k.v(x), k.dv(x), k.d2v(x)));
            assert_eq!((k.u(x), k.du(x), k.d2u(x)), (u, du, d2u));
        }
        // V has min(len σ, len φ) = 5 coefficients.
        assert_eq!(k.v_coeffs().len(), 5);
        assert_eq!(k.u_coeffs().len(), 25);
    }

    #[test]
    fn non_finite_coefficients_are_errors() {
        let e = Kernels::new(&[1.0, f64::NAN], &[1.0]).unwrap_err();
        assert!(matches!(
            e,
            HermiteError::NonFiniteParameter { what: "sigma coefficient", index: Some(1), value }
                if value.is_nan()
        ));
        let e = Kernels::new(&[1.0], &[0.0, 0.0, f64::INFINITY]).unwrap_err();
        assert!(matches!(
            e,
            HermiteError::NonFiniteParameter {
                what: "phi coefficient",
                index: Some(2),
                ..
            }
        ));
        // Empty lists are the zero kernels.
        let z = Kernels::new(&[], &[]).unwrap();
        assert_eq!((z.v(0.5), z.du(0.5)), (0.0, 0.0));
    }
}
