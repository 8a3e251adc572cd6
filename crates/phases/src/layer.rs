//! Phase 1 to first order in `δ = ε^{1/4}`: the degree-2 forcing at `s ~ ε^{1/4}`, the drift
//! of `E[s]`, the skewness of the law of `a(0)`, in closed form ([`PhaseOneLayer`]); the
//! first-order state at the exit of phase 1 that starts the plateau flows
//! ([`PhaseOneLayer::exit_state`]).
//!
//! **Frame.** With `t = √ε τ`, `a = ε^{−1/4} A`, `s = ε^{1/4} S` (model.md §5) the flow reads
//!
//! ```text
//!   dA_i/dτ = μ_0 + σ_1 r_1 S_i + δ σ_2 r_2 S_i² + O(δ²),
//!   dS_i/dτ = (1 − δ⁴ S_i²) A_i (σ_1 r_1 + 2 δ σ_2 r_2 S_i) + O(δ²),
//!   r_1 = φ_1 − σ_1 ⟨A S⟩,   r_2 = φ_2 − δ σ_2 ⟨A S²⟩,   ⟨A⟩ = δ ā  (σ_0 ≠ 0),
//! ```
//!
//! `⟨·⟩` the weighted mean over particles. When `σ_0 ≠ 0` the degree-0 residual is slaved (its
//! rate `σ_0²/ε` is `ε^{−1/2}` in `τ`): `μ_0 = σ_0 r_0 ε^{−1/4}` is the multiplier that holds
//! `⟨A⟩ = δ ā`, `ā = φ_0/σ_0`; when `σ_0 = 0` there is no `μ_0` and `ā = 0`. Degrees `k ≥ 3`
//! enter at `δ^{k−1}`, the factor `1 − s²` at `δ⁴`: both beyond first order.
//!
//! **Leading order** (`δ⁰`). With `α_i` the weights after phase 0 minus their mean (the weights
//! themselves when `σ_0 = 0`), `V = ⟨α²⟩`, `c = σ_1 φ_1`, `ς = sgn c`, `β = |σ_1/φ_1| V`:
//! `A_i = α_i F`, `S_i = ς α_i F` on one profile, `F' = |c| ρ F`, `ρ = r_1/φ_1 = 1 − β F²`:
//!
//! ```text
//!   F² = g/β,   g(x) = 1/(1 + e^{−2|c| x}),   ρ = 1 − g,   x = τ − τ*,
//! ```
//!
//! `τ* = t*/√ε` the logistic midpoint of [`EarlyPhases`].
//!
//! **First order** (`δ¹`). Write `A = A⁰ + δ A¹`, `S = S⁰ + δ S¹`. The forcing `σ_2 φ_2 S⁰²` and
//! `2 σ_2 φ_2 A⁰ S⁰` is `∝ α_i²`, so with `b_i = α_i² − V` (`b_i = α_i²` when `σ_0 = 0`),
//! `c_2 = σ_2 φ_2`, `μ_3 = ⟨α³⟩`:
//!
//! ```text
//!   A¹_i = ā + b_i X + α_i y,     S¹_i = ⟨S¹⟩ + ς (b_i Z̃ + α_i y),
//!   u = X + Z̃:   u' = |c| ρ u + 3 c_2 F²        ⇒  u = 3 c_2 F ∫F,
//!   w = X − Z̃:   w' = −|c| ρ w − c_2 F²         ⇒  w = −(c_2/F) ∫F³,
//!   y' = |c| (1 − 3 β F²) y − σ_1² μ_3 F² u     ⇒  y = −K F' J(e^{|c| x}),
//!   ⟨S¹⟩' = ā c ρ + 2 ς c_2 V F²,
//!   r_1 = φ_1 ρ + δ r_1¹,   r_1¹ = −ς σ_1 F (μ_3 u + 2 V y),
//! ```
//!
//! all integrals from `x = −∞` (the forcing vanishes in the linear regime, where the leading
//! order is exact), `∫F = β^{−½} asinh(e^{|c|x})/|c|`,
//! `∫F³ = β^{−3/2} (asinh Y − Y/√(1+Y²))/|c|` (`Y = e^{|c|x}`), `K = 3 σ_1² μ_3 c_2/(|c|³ β^{3/2})`,
//! `J(Y) = ¼ (2Y² + 1) asinh Y − ¼ Y √(1 + Y²)` (the homogeneous solution of the `y` equation
//! is `F'`, a shift of time; matching to the linear regime leaves none). `⟨S¹⟩` is integrated
//! from the start `τ = 0`: the mean weight `ā` drives `E[s]` at the rate `ā c ρ` all through
//! the linear regime, which makes `E[s] = ā c t` grow to `√ε ā c τ* ~ √ε log(1/ε)` — larger
//! than the `O(ε^{1/2})` of the other first-order terms by the factor `log(1/ε)`.
//!
//! **Exit.** For `x → ∞` the first-order terms grow linearly (secular terms: the start of the
//! plateau flow, in which the degree-2 forcing keeps acting):
//!
//! ```text
//!   u → (3 c_2/β) (x + ln 2/|c|),   w → −(c_2/β) (x + (ln 2 − 1)/|c|),
//!   y → −(K c²/(2 √β)) (x + (ln 2 − ½)/|c|),   ⟨S¹⟩ → ā c τ* + (2 ς c_2 V/β) x,
//!   r_1¹ → −3 ς σ_1 μ_3 c_2 / (2 |c| β^{3/2}),
//! ```
//!
//! and `F → β^{−½}`. The plateau flow (the outer solution) started at `t*` continues every
//! secular term, so its start is the composite of the two at `t*`: the asymptotes at `x = 0`,
//!
//! ```text
//!   a_i = ā + ε^{−1/4} α_i/√β + b_i X_0 + α_i y_0,
//!   s_i = ς ε^{1/4} α_i/√β + √ε (ā c τ* + ς (b_i Z̃_0 + α_i y_0)),
//!   X_0 = (u_0 + w_0)/2,   Z̃_0 = (u_0 − w_0)/2,
//!   u_0 = 3 c_2 ln 2/(|c| β),   w_0 = c_2 (1 − ln 2)/(|c| β),   y_0 = −K |c| (ln 2 − ½)/(2 √β),
//! ```
//!
//! (in the original variables, `δ A¹ ε^{−1/4} = A¹`, `δ S¹ ε^{1/4} = √ε S¹`), projected on the
//! plateau's constraint manifold by the plateau flow. `ā c τ* √ε = ā σ_1 φ_1 t*` is the drift of
//! `E[s]` through phase 1.
//!
//! **Risk.** To first order `r_0 = O(δ²)`, `r_1 = φ_1 ρ + δ r_1¹`, and
//! `r_2 = φ_2 − δ σ_2 ⟨A⁰ S⁰²⟩ = φ_2 − δ σ_2 μ_3 F³` ([`PhaseOneLayer::risk`]).

use serde::{Deserialize, Serialize};
use timescales_meanfield::FlowProblem;

use crate::{EarlyPhases, PhaseError};

/// The first-order solution of phase 1 (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseOneLayer {
    /// The leading-order predictions it corrects.
    pub early: EarlyPhases,
    /// `δ = ε^{1/4}`.
    pub delta: f64,
    /// `ς = sgn(σ_1 φ_1)`.
    pub sign: f64,
    /// `|c| = |σ_1 φ_1|`.
    pub c_abs: f64,
    /// `β = |σ_1/φ_1| V`.
    pub beta: f64,
    /// `c_2 = σ_2 φ_2` (0 without degree 2).
    pub c2: f64,
    /// `σ_2` (0 without degree 2).
    pub sigma2: f64,
    /// `φ_2` (0 without degree 2).
    pub phi2: f64,
    /// `ā`: the mean weight after phase 0, held by the slaved degree 0 (0 when `σ_0 = 0`).
    pub mean: f64,
    /// `μ_3 = ⟨α³⟩`.
    pub skew: f64,
    /// `τ* = t*/√ε`.
    pub tau_star: f64,
    /// Whether the mean of `a` is held (`σ_0 ≠ 0`): then `b_i = α_i² − V`.
    pub centred: bool,
}

/// The first-order terms of the profile at one `x = τ − τ*` (module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerTerms {
    /// `F`.
    pub f: f64,
    /// `ρ = 1 − β F²`.
    pub rho: f64,
    /// `u = X + Z̃`.
    pub u: f64,
    /// `w = X − Z̃`.
    pub w: f64,
    /// `y`.
    pub y: f64,
    /// `r_1¹`.
    pub r1: f64,
}

impl PhaseOneLayer {
    /// The first-order layer of `problem`.
    ///
    /// # Errors
    /// As [`EarlyPhases::new`].
    pub fn new(problem: &FlowProblem) -> Result<Self, PhaseError> {
        let early = EarlyPhases::new(problem)?;
        let (weights, _, alpha) = early.growth_directions(problem)?;
        let skew = weights.iter().zip(&alpha).map(|(w, a)| w * a * a * a).sum();
        let c = early.sigma1 * early.phi1;
        let (sigma2, phi2) = if problem.sigma.len() > 2 {
            (problem.sigma[2], problem.phi[2])
        } else {
            (0.0, 0.0)
        };
        let centred = early.sigma0 != 0.0;
        let mean = if centred {
            early.phi0 / early.sigma0
        } else {
            0.0
        };
        Ok(Self {
            delta: early.eps.powf(0.25),
            sign: c.signum(),
            c_abs: c.abs(),
            beta: (early.sigma1 / early.phi1).abs() * early.growth_variance,
            c2: sigma2 * phi2,
            sigma2,
            phi2,
            mean,
            skew,
            tau_star: early.t_star / early.eps.sqrt(),
            centred,
            early,
        })
    }

    /// `K = 3 σ_1² μ_3 c_2 / (|c|³ β^{3/2})`.
    fn k(&self) -> f64 {
        3.0 * self.early.sigma1.powi(2) * self.skew * self.c2
            / (self.c_abs.powi(3) * self.beta.powf(1.5))
    }

    /// The profile and first-order terms at `x = τ − τ*` (closed forms of the module docs).
    pub fn terms(&self, x: f64) -> LayerTerms {
        let (c, beta) = (self.c_abs, self.beta);
        let cx = c * x;
        // g = 1/(1 + e^{−2cx}), ρ = 1 − g, written to stay finite for |cx| large.
        let (g, rho) = if cx >= 0.0 {
            let e = (-2.0 * cx).exp();
            (1.0 / (1.0 + e), e / (1.0 + e))
        } else {
            let e = (2.0 * cx).exp();
            (e / (1.0 + e), 1.0 / (1.0 + e))
        };
        let f = (g / beta).sqrt();
        // Y = e^{cx}; asinh Y, Y/√(1+Y²) = √g and, for large Y, the secular forms.
        let (asinh_y, ratio) = if cx > 30.0 {
            (
                cx + std::f64::consts::LN_2 + 0.25 * (-2.0 * cx).exp(),
                g.sqrt(),
            )
        } else {
            (cx.exp().asinh(), g.sqrt())
        };
        let int_f = asinh_y / (beta.sqrt() * c);
        let int_f3 = (asinh_y - ratio) / (beta.powf(1.5) * c);
        let u = 3.0 * self.c2 * f * int_f;
        let w = if f > 0.0 { -self.c2 * int_f3 / f } else { 0.0 };
        // y = −K F' J(Y), F' = c F ρ; for large Y, F'·J ~ secular (module docs).
        let y = if cx > 30.0 {
            -self.k() * c * c / (2.0 * beta.sqrt()) * (x + (std::f64::consts::LN_2 - 0.5) / c)
        } else {
            let yy = cx.exp();
            let j = 0.25 * (2.0 * yy * yy + 1.0) * asinh_y - 0.25 * yy * (1.0 + yy * yy).sqrt();
            -self.k() * c * f * rho * j
        };
        let r1 = -self.sign
            * self.early.sigma1
            * f
            * (self.skew * u + 2.0 * self.early.growth_variance * y);
        LayerTerms {
            f,
            rho,
            u,
            w,
            y,
            r1,
        }
    }

    /// `⟨S¹⟩` at `x = τ − τ*` (0 when `σ_0 = 0`):
    /// `ā c [τ − ln(1 + e^{2|c|x})/(2|c|) + ln(1 + e^{−2|c|τ*})/(2|c|)]
    ///   + (2 ς c_2 V/β) [x + ln(1 + e^{−2|c|x})/(2|c|)]`.
    pub fn mean_s1(&self, x: f64) -> f64 {
        if !self.centred {
            return 0.0;
        }
        let c = self.c_abs;
        // ln(1 + e^z), stable for either sign of z.
        let softplus = |z: f64| z.max(0.0) + (-z.abs()).exp().ln_1p();
        let tau = x + self.tau_star;
        let drift = self.mean
            * self.sign
            * c
            * (tau - softplus(2.0 * c * x) / (2.0 * c)
                + softplus(-2.0 * c * self.tau_star) / (2.0 * c));
        let forced = 2.0 * self.sign * self.c2 * self.early.growth_variance / self.beta
            * (x + softplus(-2.0 * c * x) / (2.0 * c));
        drift + forced
    }

    /// The asymptotes of `(u, w, y)` at `x = 0` (module docs: the secular lines continued
    /// back to the midpoint).
    pub fn exit_intercepts(&self) -> (f64, f64, f64) {
        let (c, beta, ln2) = (self.c_abs, self.beta, std::f64::consts::LN_2);
        let u0 = 3.0 * self.c2 * ln2 / (c * beta);
        let w0 = self.c2 * (1.0 - ln2) / (c * beta);
        let y0 = -self.k() * c * (ln2 - 0.5) / (2.0 * beta.sqrt());
        (u0, w0, y0)
    }

    /// `r_1¹` for `x → ∞`.
    pub fn r1_exit(&self) -> f64 {
        -3.0 * self.sign * self.early.sigma1 * self.skew * self.c2
            / (2.0 * self.c_abs * self.beta.powf(1.5))
    }

    /// The first-order state at the exit of phase 1, at `t*` (module docs), as the particle
    /// weights and `u = (s, a)` (not yet projected on the plateau manifold).
    ///
    /// # Errors
    /// As [`EarlyPhases::new`] (discretizing the law).
    pub fn exit_state(&self, problem: &FlowProblem) -> Result<(Vec<f64>, Vec<f64>), PhaseError> {
        let (weights, mean, alpha) = self.early.growth_directions(problem)?;
        let eps = self.early.eps;
        let v = self.early.growth_variance;
        let (u0, w0, y0) = self.exit_intercepts();
        let (x0, z0) = (0.5 * (u0 + w0), 0.5 * (u0 - w0));
        let drift = if self.centred {
            self.mean * self.sign * self.c_abs * self.tau_star
        } else {
            0.0
        };
        let f = 1.0 / self.beta.sqrt();
        let n = alpha.len();
        let mut u = vec![0.0; 2 * n];
        for (i, &al) in alpha.iter().enumerate() {
            let b = if self.centred { al * al - v } else { al * al };
            u[n + i] = mean + al * f / self.delta + b * x0 + al * y0;
            u[i] = self.sign * self.delta * al * f
                + eps.sqrt() * (drift + self.sign * (b * z0 + al * y0));
        }
        Ok((weights, u))
    }

    /// The phase-0/1 risk to first order at `t` (module docs):
    /// `½ r_0² + ½ r_1² + ½ (r_2² − φ_2²) + R_1`, `r_1 = φ_1 ρ + δ r_1¹`,
    /// `r_2 = φ_2 − δ σ_2 μ_3 F³`.
    pub fn risk(&self, t: f64) -> f64 {
        let x = (t - self.early.t_star) / self.early.eps.sqrt();
        let terms = self.terms(x);
        self.risk_from(&terms, t)
    }

    fn risk_from(&self, terms: &LayerTerms, t: f64) -> f64 {
        let r0 = self.early.r0(t);
        let r1 = self.early.phi1 * terms.rho + self.delta * terms.r1;
        let r2 = self.phi2 - self.delta * self.sigma2 * self.skew * terms.f.powi(3);
        0.5 * r0 * r0
            + 0.5 * r1 * r1
            + 0.5 * (r2 * r2 - self.phi2 * self.phi2)
            + self.early.plateau_levels[1]
    }

    /// The limit of [`risk`](Self::risk) for `t → ∞` (the part the plateau flow shares with
    /// the layer: the common part of the composite).
    pub fn risk_exit(&self) -> f64 {
        let r1 = self.delta * self.r1_exit();
        let r2 = self.phi2 - self.delta * self.sigma2 * self.skew * self.beta.powf(-1.5);
        0.5 * r1 * r1 + 0.5 * (r2 * r2 - self.phi2 * self.phi2) + self.early.plateau_levels[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_meanfield::{InitialLaw, Method, OutputTimes, Placement};

    /// A skewed three-atom law (`μ_3 ≠ 0`), `σ_0 φ_0 ≠ 0` (held mean `ā ≠ 0`), `σ_1 φ_1 < 0`.
    fn skewed(eps: f64) -> FlowProblem {
        FlowProblem {
            sigma: vec![0.8, 1.2, 0.6, 0.3],
            phi: vec![0.5, -0.9, 0.7, 0.4],
            tail_energy: 0.0,
            law: InitialLaw::Discrete {
                values: vec![-0.6, 0.1, 1.3],
                weights: vec![0.3, 0.5, 0.2],
            },
            particles: 3,
            placement: Placement::Quadrature,
            epsilon: eps,
            t_end: 1.0,
            rtol: 1e-10,
            atol: 1e-12,
            times: OutputTimes::LogGrid { samples: 2 },
            method: Method::Rodas4,
        }
    }

    /// The truncated phase-1 system of the module docs (degree 2 at `O(δ)`, `⟨A⟩ = δ ā` held)
    /// integrated by RK4 in `τ` from `A_i = δ (ā + α_i)`, `S_i = 0`; returns `(A, S)` at
    /// `τ_end`.
    fn integrate(layer: &PhaseOneLayer, w: &[f64], alpha: &[f64], tau_end: f64) -> Vec<f64> {
        let (d, e) = (layer.delta, &layer.early);
        let n = w.len();
        let field = |u: &[f64]| -> Vec<f64> {
            let (s, a) = u.split_at(n);
            let m1: f64 = (0..n).map(|i| w[i] * a[i] * s[i]).sum();
            let g = e.sigma1 * (e.phi1 - e.sigma1 * m1);
            let mut du = vec![0.0; 2 * n];
            for i in 0..n {
                du[n + i] = g * s[i] + d * layer.c2 * s[i] * s[i];
                du[i] = a[i] * (g + 2.0 * d * layer.c2 * s[i]);
            }
            // μ_0 holds ⟨A⟩.
            let mean: f64 = (0..n).map(|i| w[i] * du[n + i]).sum();
            for v in &mut du[n..] {
                *v -= mean;
            }
            du
        };
        let mut u = vec![0.0; 2 * n];
        for i in 0..n {
            u[n + i] = d * (layer.mean + alpha[i]);
        }
        let steps = (tau_end / 2e-3).ceil() as usize;
        let h = tau_end / steps as f64;
        for _ in 0..steps {
            let k1 = field(&u);
            let at = |k: &[f64], f: f64| -> Vec<f64> {
                u.iter().zip(k).map(|(x, y)| x + f * h * y).collect()
            };
            let k2 = field(&at(&k1, 0.5));
            let k3 = field(&at(&k2, 0.5));
            let k4 = field(&at(&k3, 1.0));
            for j in 0..2 * n {
                u[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
            }
        }
        u
    }

    #[test]
    fn first_order_terms_match_the_truncated_phase_one_system() {
        // (A − A⁰)/δ and (S − S⁰)/δ of the integrated system against the closed forms, at
        // two δ: the mismatch must be O(δ) (it falls by about 10 for δ 10× smaller).
        let mut worst = vec![];
        for eps in [1e-8, 1e-12] {
            let p = skewed(eps);
            let layer = PhaseOneLayer::new(&p).unwrap();
            assert!(layer.skew.abs() > 0.05 && layer.mean != 0.0 && layer.sign < 0.0);
            let (w, _, alpha) = layer.early.growth_directions(&p).unwrap();
            let v = layer.early.growth_variance;
            let mut err = 0.0f64;
            for x in [-1.0, 0.0, 1.0, 2.5] {
                let u = integrate(&layer, &w, &alpha, layer.tau_star + x / layer.c_abs);
                let t = layer.terms(x / layer.c_abs);
                let (xx, zz) = (0.5 * (t.u + t.w), 0.5 * (t.u - t.w));
                for i in 0..3 {
                    let b = alpha[i] * alpha[i] - v;
                    let a1 = (u[3 + i] - alpha[i] * t.f) / layer.delta;
                    let s1 = (u[i] - layer.sign * alpha[i] * t.f) / layer.delta;
                    let a1_pred = layer.mean + b * xx + alpha[i] * t.y;
                    let s1_pred =
                        layer.mean_s1(x / layer.c_abs) + layer.sign * (b * zz + alpha[i] * t.y);
                    err = err.max((a1 - a1_pred).abs()).max((s1 - s1_pred).abs());
                }
                // r_1 = φ_1 ρ + δ r_1¹.
                let m1: f64 = (0..3).map(|i| w[i] * u[3 + i] * u[i]).sum();
                let r1 = layer.early.phi1 - layer.early.sigma1 * m1;
                err = err.max(((r1 - layer.early.phi1 * t.rho) / layer.delta - t.r1).abs());
            }
            worst.push(err);
        }
        eprintln!("{worst:?}");
        assert!(worst[0] < 0.1 && worst[1] < worst[0] / 5.0, "{worst:?}");
    }

    #[test]
    fn exit_intercepts_are_the_secular_asymptotes() {
        // Far past the midpoint the terms lie on their secular lines (module docs).
        let layer = PhaseOneLayer::new(&skewed(1e-8)).unwrap();
        let (u0, w0, y0) = layer.exit_intercepts();
        let c = layer.c_abs;
        let x = 12.0 / c;
        let t = layer.terms(x);
        let slope_u = 3.0 * layer.c2 / layer.beta;
        let slope_w = -layer.c2 / layer.beta;
        let slope_y = -layer.k() * c * c / (2.0 * layer.beta.sqrt());
        for (got, want) in [
            (t.u, u0 + slope_u * x),
            (t.w, w0 + slope_w * x),
            (t.y, y0 + slope_y * x),
            (t.r1, layer.r1_exit()),
        ] {
            assert!(
                (got - want).abs() < 1e-6 * (1.0 + want.abs()),
                "{got} vs {want}"
            );
        }
        // The large-x branches agree with the general ones where they meet.
        let (a, b) = (layer.terms(29.999 / c), layer.terms(30.001 / c));
        assert!((a.y - b.y).abs() < 1e-3 * (1.0 + a.y.abs()), "{a:?} {b:?}");
        assert!((a.u - b.u).abs() < 1e-3 * (1.0 + a.u.abs()), "{a:?} {b:?}");
    }

    #[test]
    fn plateau_multiplier_at_the_exit_matches_the_layer() {
        // The slaved r_1 of the plateau flow at the first-order exit equals the layer's limit
        // δ r_1¹(∞) to leading order: the two expansions match.
        for eps in [1e-8, 1e-12] {
            let p = skewed(eps);
            let layer = PhaseOneLayer::new(&p).unwrap();
            let (w, mut u) = layer.exit_state(&p).unwrap();
            let flow = crate::PlateauFlow::new(&p.sigma, &p.phi, &w, eps, &[0, 1])
                .unwrap()
                .first_order();
            flow.project(&mut u).unwrap();
            let lambda = flow.multipliers(&u).unwrap();
            let r1 = lambda[1] / p.sigma[1];
            let want = layer.delta * layer.r1_exit();
            assert!(
                (r1 - want).abs() < 0.1 * want.abs(),
                "ε = {eps:e}: {r1:e} vs {want:e}"
            );
        }
    }
}
