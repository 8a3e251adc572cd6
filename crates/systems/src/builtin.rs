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

/// The linear two-timescale problem `x' = y`, `ε y' = −x − (1+ε) y`, i.e. the initial-value
/// version of Bender & Orszag's example `ε u'' + (1+ε) u' + u = 0` (C. M. Bender,
/// S. A. Orszag, *Advanced Mathematical Methods for Scientists and Engineers*, McGraw-Hill
/// 1978, §9.1). Its characteristic polynomial factors as `(ελ + 1)(λ + 1)`, so from
/// `x(0) = 1`, `y(0) = 0`
///
/// ```text
///   x(t) = (e^{−t} − ε e^{−t/ε}) / (1 − ε),     y(t) = (e^{−t/ε} − e^{−t}) / (1 − ε).
/// ```
///
/// Reduced: `Y₀ = −X₀`, `X₀ = e^{−t}`; layer: `η₀(τ) = −1 + e^{−τ}`; first-order outer
/// `X₁ = e^{−t}` (the field depends on ε, so `∂f/∂ε = −y` enters the correction).
pub mod linear {
    use super::*;

    /// The system (no parameters).
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Linear;

    impl SlowFastSystem for Linear {
        fn slow_dim(&self) -> usize {
            1
        }
        fn fast_dim(&self) -> usize {
            1
        }
        fn slow_names(&self) -> Vec<String> {
            vec!["x".into()]
        }
        fn fast_names(&self) -> Vec<String> {
            vec!["y".into()]
        }
        fn slow_field(&self, _x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
            out[0] = y[0];
        }
        fn fast_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]) {
            out[0] = -x[0] - (1.0 + eps) * y[0];
        }
        fn jacobian(&self, _x: &[f64], _y: &[f64], eps: f64, b: &mut JacobianBlocks) -> bool {
            b.gx[(0, 0)] = 0.0;
            b.gy[(0, 0)] = 1.0;
            b.fx[(0, 0)] = -1.0;
            b.fy[(0, 0)] = -(1.0 + eps);
            true
        }
        fn eps_derivative(
            &self,
            _x: &[f64],
            y: &[f64],
            _eps: f64,
            g_eps: &mut [f64],
            f_eps: &mut [f64],
        ) -> bool {
            g_eps[0] = 0.0;
            f_eps[0] = -y[0];
            true
        }
    }

    /// Exact solution from `(1, 0)`.
    pub fn exact(t: f64, eps: f64) -> Vec<f64> {
        let (slow, fast) = ((-t).exp(), (-t / eps).exp());
        vec![
            (slow - eps * fast) / (1.0 - eps),
            (fast - slow) / (1.0 - eps),
        ]
    }

    /// Reduced solution `(X₀, Y₀) = (e^{−t}, −e^{−t})`.
    pub fn reduced(t: f64) -> Vec<f64> {
        vec![(-t).exp(), -(-t).exp()]
    }

    /// Layer `η₀(τ) = −1 + e^{−τ}`.
    pub fn layer(tau: f64) -> Vec<f64> {
        vec![-1.0 + (-tau).exp()]
    }

    /// The problem entry.
    pub fn problem() -> Problem {
        Problem {
            name: "linear",
            summary: "x' = y, eps*y' = -x - (1+eps)*y (exact solution)",
            provenance: "closed form from the characteristic roots -1, -1/eps; Bender & Orszag (1978) §9.1",
            system: Box::new(Linear),
            x0: vec![1.0],
            y0: vec![0.0],
            t_end: 2.0,
            exact: Some(exact),
            reduced_exact: Some(reduced),
            layer_exact: Some(layer),
        }
    }
}

/// Michaelis–Menten kinetics in the classical non-dimensional form of L. A. Segel &
/// M. Slemrod, "The quasi-steady-state assumption: a case study in perturbation",
/// SIAM Review 31 (1989) 446–477 (also J. D. Murray, *Mathematical Biology I*, 3rd ed., Springer 2002, §6.1):
///
/// ```text
///   s' = −s + (s + K − λ) c,      ε c' = s − (s + K) c,      s(0) = 1, c(0) = 0,
/// ```
///
/// with `K = 1`, `λ = 1/2` here. The reduced (quasi-steady-state) problem `c = s/(s+K)`,
/// `s' = −λ s/(s+K)` integrates to `s + K ln s = s₀ + K ln s₀ − λ t`, i.e.
///
/// ```text
///   s(t) = K · W₀( (s₀/K) · exp((s₀ − λ t)/K) )
/// ```
///
/// (S. Schnell & C. Mendoza, "Closed form solution for time-dependent enzyme kinetics",
/// J. theor. Biol. 187 (1997) 207–212). The layer is `c = s₀/(s₀+K) (1 − e^{−(s₀+K)τ})`.
pub mod michaelis_menten {
    use super::*;

    /// The system with its two parameters.
    #[derive(Debug, Clone, Copy)]
    pub struct MichaelisMenten {
        /// `K = (k₋₁ + k₂)/(k₁ s₀)`.
        pub k: f64,
        /// `λ = k₂/(k₁ s₀)`.
        pub lambda: f64,
    }

    impl Default for MichaelisMenten {
        fn default() -> Self {
            Self {
                k: 1.0,
                lambda: 0.5,
            }
        }
    }

    impl SlowFastSystem for MichaelisMenten {
        fn slow_dim(&self) -> usize {
            1
        }
        fn fast_dim(&self) -> usize {
            1
        }
        fn slow_names(&self) -> Vec<String> {
            vec!["s".into()]
        }
        fn fast_names(&self) -> Vec<String> {
            vec!["c".into()]
        }
        fn slow_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
            out[0] = -x[0] + (x[0] + self.k - self.lambda) * y[0];
        }
        fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
            out[0] = x[0] - (x[0] + self.k) * y[0];
        }
        fn jacobian(&self, x: &[f64], y: &[f64], _eps: f64, b: &mut JacobianBlocks) -> bool {
            b.gx[(0, 0)] = -1.0 + y[0];
            b.gy[(0, 0)] = x[0] + self.k - self.lambda;
            b.fx[(0, 0)] = 1.0 - y[0];
            b.fy[(0, 0)] = -(x[0] + self.k);
            true
        }
        fn eps_derivative(
            &self,
            _x: &[f64],
            _y: &[f64],
            _eps: f64,
            g_eps: &mut [f64],
            f_eps: &mut [f64],
        ) -> bool {
            g_eps[0] = 0.0;
            f_eps[0] = 0.0;
            true
        }
    }

    /// Reduced substrate `s(t) = K W₀((s₀/K) e^{(s₀ − λt)/K})`.
    pub fn reduced_substrate(t: f64, s0: f64, k: f64, lambda: f64) -> f64 {
        k * lambda_w(s0 / k * ((s0 - lambda * t) / k).exp())
    }

    fn lambda_w(z: f64) -> f64 {
        lambert_w0(z).unwrap_or(f64::NAN)
    }

    /// Reduced `(s, c)` from `s₀ = 1` with the default parameters.
    pub fn reduced(t: f64) -> Vec<f64> {
        let p = MichaelisMenten::default();
        let s = reduced_substrate(t, 1.0, p.k, p.lambda);
        vec![s, s / (s + p.k)]
    }

    /// Layer `c(τ) = ½(1 − e^{−2τ})` from `(s, c) = (1, 0)` with `K = 1`.
    pub fn layer(tau: f64) -> Vec<f64> {
        vec![0.5 * (1.0 - (-2.0 * tau).exp())]
    }

    /// The problem entry.
    pub fn problem() -> Problem {
        Problem {
            name: "michaelis-menten",
            summary: "s' = -s + (s+K-lambda)*c, eps*c' = s - (s+K)*c, K = 1, lambda = 1/2",
            provenance: "reduced substrate s = K W0((s0/K) exp((s0 - lambda t)/K)): Schnell & Mendoza (1997); scaling of Segel & Slemrod (1989)",
            system: Box::new(MichaelisMenten::default()),
            x0: vec![1.0],
            y0: vec![0.0],
            t_end: 2.0,
            exact: None,
            reduced_exact: Some(reduced),
            layer_exact: Some(layer),
        }
    }
}

/// The van der Pol relaxation oscillator in standard slow–fast (Liénard) form: with
/// `u'' − μ(1 − u²)u' + u = 0`, `t = s/μ`, `ε = 1/μ²`,
///
/// ```text
///   x' = −y,      ε y' = x − y³/3 + y.
/// ```
///
/// The critical manifold `x = y³/3 − y` is attracting for `|y| > 1` and folds at
/// `(x, y) = (∓2/3, ±1)`; a jump from the fold `y = 1` lands at `y = −2`. On a branch,
/// `dt = −(y² − 1)/y dy`, so the reduced solution from `y = y₀` solves
/// `y²/2 − ln y = y₀²/2 − ln y₀ − t`, i.e. `y = √(−W₋₁(−e^{−2c}))` with
/// `c = y₀²/2 − ln y₀ − t`. The relaxation period is (A. A. Dorodnitsyn, Prikl. Mat. Mekh.
/// 11 (1947) 313–328; J. Grasman, *Asymptotic Methods for Relaxation Oscillations and
/// Applications*, Springer 1987)
///
/// ```text
///   T(ε) = 3 − 2 ln 2 + 3|a₁| ε^{2/3} + O(ε ln ε),      a₁ = first zero of Ai.
/// ```
///
/// From `x(0) = 2/3`, `y(0) = 0` the layer `dy/dτ = −(y − 2)(y + 1)²/3` lands at `y = 2`
/// and takes `τ(y) = 1 + ln2/3 − ln((2 − y)/(y + 1))/3 − 1/(y + 1)` to reach `y`.
pub mod van_der_pol {
    use super::*;

    /// The system.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct VanDerPol;

    impl SlowFastSystem for VanDerPol {
        fn slow_dim(&self) -> usize {
            1
        }
        fn fast_dim(&self) -> usize {
            1
        }
        fn slow_names(&self) -> Vec<String> {
            vec!["x".into()]
        }
        fn fast_names(&self) -> Vec<String> {
            vec!["y".into()]
        }
        fn slow_field(&self, _x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
            out[0] = -y[0];
        }
        fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
            out[0] = x[0] - y[0] * y[0] * y[0] / 3.0 + y[0];
        }
        fn jacobian(&self, _x: &[f64], y: &[f64], _eps: f64, b: &mut JacobianBlocks) -> bool {
            b.gx[(0, 0)] = 0.0;
            b.gy[(0, 0)] = -1.0;
            b.fx[(0, 0)] = 1.0;
            b.fy[(0, 0)] = 1.0 - y[0] * y[0];
            true
        }
        fn eps_derivative(
            &self,
            _x: &[f64],
            _y: &[f64],
            _eps: f64,
            g_eps: &mut [f64],
            f_eps: &mut [f64],
        ) -> bool {
            g_eps[0] = 0.0;
            f_eps[0] = 0.0;
            true
        }
    }

    /// Period of the singular (ε → 0) relaxation cycle, `3 − 2 ln 2`.
    pub const REDUCED_PERIOD: f64 = 3.0 - 2.0 * std::f64::consts::LN_2;

    /// Dorodnitsyn's two-term period `3 − 2 ln 2 + 3|a₁| ε^{2/3}`.
    pub fn period(eps: f64) -> f64 {
        REDUCED_PERIOD + 3.0 * AIRY_A1.abs() * eps.powf(2.0 / 3.0)
    }

    /// Reduced solution on the upper branch from `y(0) = y0 > 1`:
    /// `y = √(−W₋₁(−e^{−2c}))`, `c = y₀²/2 − ln y₀ − t`, `x = y³/3 − y`; valid until the
    /// fold time `y₀²/2 − ln y₀ − 1/2`.
    pub fn reduced_from(t: f64, y0: f64) -> Vec<f64> {
        let c = y0 * y0 / 2.0 - y0.ln() - t;
        let y = (-lambert_wm1(-(-2.0 * c).exp()).unwrap_or(f64::NAN)).sqrt();
        vec![y * y * y / 3.0 - y, y]
    }

    /// Reduced solution from `x(0) = 2/3` (upper branch point `y = 2`).
    pub fn reduced(t: f64) -> Vec<f64> {
        reduced_from(t, 2.0)
    }

    /// Time of the fold on the upper branch starting from `y₀`: `y₀²/2 − ln y₀ − 1/2`.
    pub fn fold_time(y0: f64) -> f64 {
        y0 * y0 / 2.0 - y0.ln() - 0.5
    }

    /// Layer time to reach `y ∈ [0, 2)` from `y = 0` at `x = 2/3`.
    pub fn layer_time(y: f64) -> f64 {
        1.0 + std::f64::consts::LN_2 / 3.0 - ((2.0 - y) / (y + 1.0)).ln() / 3.0 - 1.0 / (y + 1.0)
    }

    /// The layer `η₀(τ)`, inverting [`layer_time`] by bisection.
    pub fn layer(tau: f64) -> Vec<f64> {
        let (mut lo, mut hi) = (0.0, 2.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid == lo || mid == hi {
                break;
            }
            if layer_time(mid) < tau {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        vec![0.5 * (lo + hi)]
    }

    /// The problem entry.
    pub fn problem() -> Problem {
        Problem {
            name: "van-der-pol",
            summary: "x' = -y, eps*y' = x - y^3/3 + y (relaxation oscillator, folds at y = ±1)",
            provenance: "reduced branch by Lambert W_-1; period 3 - 2 ln 2 + 3|a1| eps^(2/3): Dorodnitsyn (1947), Grasman (1987)",
            system: Box::new(VanDerPol),
            x0: vec![2.0 / 3.0],
            y0: vec![0.0],
            t_end: 0.5,
            exact: None,
            reduced_exact: Some(reduced),
            layer_exact: Some(layer),
        }
    }
}

/// The canonical fold (saddle-node) of the slow manifold (M. Krupa & P. Szmolyan,
/// "Extending geometric singular perturbation theory to nonhyperbolic points — fold and
/// canard points in two dimensions", SIAM J. Math. Anal. 33 (2001) 286–314, normal form
/// with the slow drift made exact):
///
/// ```text
///   s' = −1,      ε u' = u² − s,      s(0) = 1, u(0) = 0.
/// ```
///
/// The attracting branch `u = −√s` (`∂f/∂u = 2u < 0`) ends at the fold `s = 0`, reached at
/// `t = s₀`. With `s = s₀ − t` the fast equation is a Riccati equation solved by Airy
/// functions: `u = ε^{1/3} φ'(ξ)/φ(ξ)`, `φ = Ai + (exponentially small) Bi`,
/// `ξ = (s₀ − t)/ε^{2/3}`, so `u` blows up (the jump) at
///
/// ```text
///   t* = s₀ + |a₁| ε^{2/3}  (up to exponentially small terms),
/// ```
///
/// with `a₁` the first zero of Ai ([`AIRY_A1`]); near it `1/u = (t* − t)/ε (1 + O((t*−t)²/ε^{4/3}))`.
/// Layer from `(1, 0)`: `u = −tanh τ`.
pub mod fold {
    use super::*;

    /// The system.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Fold;

    impl SlowFastSystem for Fold {
        fn slow_dim(&self) -> usize {
            1
        }
        fn fast_dim(&self) -> usize {
            1
        }
        fn slow_names(&self) -> Vec<String> {
            vec!["s".into()]
        }
        fn fast_names(&self) -> Vec<String> {
            vec!["u".into()]
        }
        fn slow_field(&self, _x: &[f64], _y: &[f64], _eps: f64, out: &mut [f64]) {
            out[0] = -1.0;
        }
        fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
            out[0] = y[0] * y[0] - x[0];
        }
        fn jacobian(&self, _x: &[f64], y: &[f64], _eps: f64, b: &mut JacobianBlocks) -> bool {
            b.gx[(0, 0)] = 0.0;
            b.gy[(0, 0)] = 0.0;
            b.fx[(0, 0)] = -1.0;
            b.fy[(0, 0)] = 2.0 * y[0];
            true
        }
        fn eps_derivative(
            &self,
            _x: &[f64],
            _y: &[f64],
            _eps: f64,
            g_eps: &mut [f64],
            f_eps: &mut [f64],
        ) -> bool {
            g_eps[0] = 0.0;
            f_eps[0] = 0.0;
            true
        }
    }

    /// Time of the fold of the reduced flow from `s₀`: `t = s₀`.
    pub fn fold_time(s0: f64) -> f64 {
        s0
    }

    /// Blow-up (jump) time of the full solution, `s₀ + |a₁| ε^{2/3}`.
    pub fn jump_time(s0: f64, eps: f64) -> f64 {
        s0 + AIRY_A1.abs() * eps.powf(2.0 / 3.0)
    }

    /// Reduced `(s, u) = (1 − t, −√(1 − t))`.
    pub fn reduced(t: f64) -> Vec<f64> {
        vec![1.0 - t, -(1.0 - t).sqrt()]
    }

    /// Layer `u = −tanh τ`.
    pub fn layer(tau: f64) -> Vec<f64> {
        vec![-tau.tanh()]
    }

    /// The problem entry.
    pub fn problem() -> Problem {
        Problem {
            name: "fold",
            summary: "s' = -1, eps*u' = u^2 - s (attracting branch u = -sqrt(s) folds at s = 0)",
            provenance: "fold at t = s0; jump at s0 + |a1| eps^(2/3), a1 = first Airy zero (DLMF Table 9.9.1); Krupa & Szmolyan (2001)",
            system: Box::new(Fold),
            x0: vec![1.0],
            y0: vec![0.0],
            t_end: 0.5,
            exact: None,
            reduced_exact: Some(reduced),
            layer_exact: Some(layer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_ode::finite_difference_blocks;

    #[test]
    fn analytic_jacobians_match_finite_differences() {
        for p in list() {
            let (x, y) = ([0.7], [-1.3]);
            let mut b = JacobianBlocks::zeros(1, 1);
            assert!(p.system.jacobian(&x, &y, 0.01, &mut b), "{}", p.name);
            let fd = finite_difference_blocks(p.system.as_ref(), &x, &y, 0.01);
            assert!((b.gx[(0, 0)] - fd.gx[(0, 0)]).abs() < 1e-8, "{}", p.name);
            assert!((b.gy[(0, 0)] - fd.gy[(0, 0)]).abs() < 1e-8, "{}", p.name);
            assert!((b.fx[(0, 0)] - fd.fx[(0, 0)]).abs() < 1e-8, "{}", p.name);
            assert!((b.fy[(0, 0)] - fd.fy[(0, 0)]).abs() < 1e-8, "{}", p.name);
        }
    }

    #[test]
    fn reduced_closed_forms_solve_the_reduced_problem() {
        // f(X₀, Y₀) = 0 and X₀' = g(X₀, Y₀) (central difference in t) for every problem.
        for p in list() {
            let r = p.reduced_exact.unwrap();
            for t in [0.0, 0.1, 0.3, p.t_end] {
                let (a, b) = (r(t), r(t + 1e-5));
                let am = if t > 0.0 { r(t - 1e-5) } else { a.clone() };
                let (mut f, mut g) = ([0.0], [0.0]);
                p.system.fast_field(&a[..1], &a[1..], 0.0, &mut f);
                p.system.slow_field(&a[..1], &a[1..], 0.0, &mut g);
                assert!(f[0].abs() < 1e-13, "{} t={t}: f = {}", p.name, f[0]);
                let dx = if t > 0.0 {
                    (b[0] - am[0]) / 2e-5
                } else {
                    (b[0] - a[0]) / 1e-5
                };
                let tol = if t > 0.0 { 1e-8 } else { 1e-4 };
                assert!(
                    (dx - g[0]).abs() < tol,
                    "{} t={t}: {dx} vs {}",
                    p.name,
                    g[0]
                );
            }
        }
    }

    #[test]
    fn layer_closed_forms_solve_the_layer_problem() {
        for p in list() {
            let l = p.layer_exact.unwrap();
            assert!((l(0.0)[0] - p.y0[0]).abs() < 1e-14, "{}", p.name);
            for tau in [0.2, 1.0, 3.0] {
                let h = 1e-5;
                let d = (l(tau + h)[0] - l(tau - h)[0]) / (2.0 * h);
                let mut f = [0.0];
                p.system.fast_field(&p.x0, &l(tau), 0.0, &mut f);
                assert!(
                    (d - f[0]).abs() < 1e-8,
                    "{} τ={tau}: {d} vs {}",
                    p.name,
                    f[0]
                );
            }
        }
    }

    #[test]
    fn linear_exact_solves_the_full_problem() {
        let eps = 0.03;
        for t in [0.0, 0.01, 0.1, 1.0] {
            let h = 1e-6;
            let u = linear::exact(t, eps);
            let d: Vec<f64> = (0..2)
                .map(|i| {
                    (linear::exact(t + h, eps)[i] - linear::exact((t - h).max(0.0), eps)[i])
                        / (h + h.min(t))
                })
                .collect();
            let (mut g, mut f) = ([0.0], [0.0]);
            linear::Linear.slow_field(&u[..1], &u[1..], eps, &mut g);
            linear::Linear.fast_field(&u[..1], &u[1..], eps, &mut f);
            assert!((d[0] - g[0]).abs() < 1e-4, "t={t}");
            assert!((eps * d[1] - f[0]).abs() < 1e-4, "t={t}");
        }
        assert_eq!(linear::exact(0.0, 0.1), vec![1.0, 0.0]);
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = by_name("brusselator").unwrap_err();
        assert!(
            e.to_string()
                .contains("linear, michaelis-menten, van-der-pol, fold")
        );
        assert_eq!(by_name("fold").unwrap().name, "fold");
    }
}
