//! The rescaled inner problem of phase `l ≥ 2`: a constrained gradient flow that blows up in
//! finite time.
//!
//! **Scalings.** Suppose the degrees below `l` are learnt and the particles that carry them
//! have `s ~ ε^β`, `a ~ ε^{β−½}` (then `M_{l−1} = Σ w a s^{l−1} = O(1)` forces `β = 1/(2l)`).
//! In `t = t_0 + ε^β T`, `s = ε^β S`, `a = ε^{β−½} A` the flow becomes
//!
//! ```text
//!   dA_i/dT = Σ_k σ_k r_k ε^{kβ−½} S_i^k,   dS_i/dT = A_i Σ_k k σ_k r_k ε^{kβ−½} S_i^{k−1}
//! ```
//!
//! (`1 − s² = 1` at leading order). The degree-`l` term is `O(1)` with `r_l = φ_l` (its moment
//! `M_l ~ ε^{1/(2l)}` is still small); higher degrees are `o(1)`; the lower degrees carry
//! factors `ε^{kβ−½} → ∞`, so their residuals must be `O(ε^{½−kβ})`: in the limit they are
//! Lagrange multipliers `μ_k` holding `⟨A S^k⟩_w` fixed. The ε-free inner problem is
//!
//! ```text
//!   dA_i/dT = Σ_{k∈C} μ_k S_i^k + c_l S_i^l,    dS_i/dT = A_i (Σ_{k∈C} k μ_k S_i^{k−1} + l c_l S_i^{l−1}),
//!   ⟨A S^k⟩_w fixed for k ∈ C = {k < l : σ_k ≠ 0},   c_l = σ_l φ_l,
//! ```
//!
//! the gradient flow of `c_l ⟨A S^l⟩` on the constraint manifold. Growing particles satisfy
//! `d(S² − lA²)/dT = 0` without constraints, so `dA/dT ≈ c_l (l A²)^{l/2}`: a finite-time
//! blow-up at `T_c`, `A ~ (T_c − T)^{−1/(l−1)}`. The blow-up is the phase: `M_l` becomes `O(1)`
//! just before it, so `t_l = t_0 + ε^{1/(2l)} T_c + o(ε^{1/(2l)})` and `γ_l = 1/(2l)` — the
//! conjecture of model.md §5 — provided the phase starts from such a state.
//!
//! For `l = 2` the start is the end of phase 1, known in closed form ([`phase_two_start`]):
//! `A_i = κ α_i`, `S_i = sgn(σ_1 φ_1) κ α_i`, `κ² = |φ_1/σ_1| / V`, so `t_2 = ε^{1/4} T_c` with
//! `T_c` independent of `ε`. For `l ≥ 3` the start is the state after phase `l − 1`, which this
//! crate takes from the plateau flow (`plateau_chain`) rather than from a closed form.
//!
//! In the terms of the generic layer it is a reduced flow on a constraint manifold (the held
//! moments, [`timescales_outer::ManifoldFlow`]) that blows up in finite stretched time
//! ([`timescales_inner::solve_blowup`], rate `p = l − 1`), in the [`Scaling`] of phase `l`.

use serde::{Deserialize, Serialize};
use timescales_inner::{BlowupOptions, Scaling, solve_blowup};
use timescales_meanfield::FlowProblem;
use timescales_ode::OdeSystem;
use timescales_outer::ManifoldFlow;

use crate::held::HeldMoments;
use crate::{EarlyPhases, PhaseError};

/// The scaling of phase `l` (module docs) for `particles` particles `(s, a)`:
/// `t = t_0 + ε^β T`, `s = ε^β S`, `a = ε^{β−½} A`, `β = 1/(2l)`.
pub fn phase_scaling(l: usize, t0: f64, particles: usize) -> Scaling {
    let beta = 1.0 / (2.0 * l as f64);
    let mut exponents = vec![beta; particles];
    exponents.extend(std::iter::repeat_n(beta - 0.5, particles));
    Scaling::new(t0, beta, exponents)
}

/// The ε-free inner problem of phase `l` (module docs) over weighted particles, state
/// `(S_1..S_N, A_1..A_N)`.
#[derive(Debug, Clone, PartialEq)]
pub struct InnerProblem {
    /// Phase (degree) `l ≥ 2`.
    pub degree: usize,
    /// `c_l = σ_l φ_l`.
    pub drive: f64,
    /// Degrees held by multipliers.
    pub held: Vec<usize>,
    /// Particle weights.
    pub weights: Vec<f64>,
}

impl InnerProblem {
    fn n(&self) -> usize {
        self.weights.len()
    }

    /// The constrained system with the held moments at `targets` (needed by projections
    /// only: the field keeps whatever values the moments have).
    fn system<'a>(
        &'a self,
        targets: &'a [f64],
    ) -> HeldMoments<'a, impl Fn(&[f64]) -> Vec<f64> + 'a> {
        HeldMoments {
            weights: &self.weights,
            held: &self.held,
            targets,
            fast: 1.0,
            saturation: 0.0,
            free: move |_u: &[f64]| {
                let mut coef = vec![0.0; self.degree + 1];
                coef[self.degree] = self.drive;
                coef
            },
        }
    }

    /// `(dS/dT, dA/dT)` at `(S, A)`, or `None` when the multipliers do not exist.
    pub fn field(&self, u: &[f64], du: &mut [f64]) -> Option<()> {
        ManifoldFlow::new(self.system(&[])).field(u, du)
    }
}

impl OdeSystem for InnerProblem {
    fn dim(&self) -> usize {
        2 * self.n()
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        ManifoldFlow::new(self.system(&[])).rhs(u, du);
    }
}

/// The outcome of [`solve_inner`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InnerBlowup {
    /// Phase `l`.
    pub degree: usize,
    /// Blow-up time `T_c` of the inner problem.
    pub t_blowup: f64,
    /// Particles that carry 90% of `Σ_i w_i |A_i S_i^l|` at the blow-up (indices).
    pub growing: Vec<usize>,
    /// Their total weight: the part of the measure that learns degree `l`.
    pub growing_weight: f64,
    /// `(T, ⟨A S^l⟩_w)` along the solution up to the blow-up, every 0.1 in the blow-up time `τ`.
    pub moment: Vec<(f64, f64)>,
}

impl InnerBlowup {
    /// The inner prediction of the phase-`l` crossing at a given `ε`, in inner time: the `T`
    /// where the degree-`l` moment `M_l = ε^{1/(2l)} ⟨A S^l⟩_w` of the ε-free solution reaches
    /// the risk-midpoint value `σ_l M_l / φ_l = 1 − 1/√2` (linear interpolation between
    /// samples; saturation is not fed back). It tends to `T_c` as `ε → 0`. When the blow-up is
    /// carried by atoms of tiny weight (the edge of a normal law), those atoms reach `|s| = 1`
    /// long before their moment counts, and the multipliers' response to their blow-up is an
    /// artefact of `ε = 0`: the prediction is then not uniform in `N` (see `growing_weight`).
    pub fn crossing(&self, eps: f64, sigma_l: f64, phi_l: f64) -> Option<f64> {
        let scale = eps.powf(1.0 / (2.0 * self.degree as f64)) * sigma_l / phi_l;
        let target = 1.0 - std::f64::consts::FRAC_1_SQRT_2;
        self.moment.windows(2).find_map(|w| {
            let ((t0, m0), (t1, m1)) = (w[0], w[1]);
            let (y0, y1) = (scale * m0, scale * m1);
            (y0 < target && y1 >= target).then(|| t0 + (target - y0) / (y1 - y0) * (t1 - t0))
        })
    }
}

/// `⟨A S^l⟩_w` at `u = (S, A)`.
fn moment(weights: &[f64], l: usize, u: &[f64]) -> f64 {
    let n = weights.len();
    (0..n)
        .map(|i| weights[i] * u[n + i] * u[i].powi(l as i32))
        .sum()
}

/// Integrates the inner problem from `(A, S)` at `T = 0` until it blows up.
///
/// # Errors
/// [`PhaseError::Invalid`] for `l < 2`, inconsistent sizes, or no blow-up (`c_l = 0`, or none
/// before `τ = 400`); [`PhaseError::Blowup`] when the integration fails.
pub fn solve_inner(
    problem: &InnerProblem,
    a: &[f64],
    s: &[f64],
) -> Result<InnerBlowup, PhaseError> {
    let (n, l) = (problem.n(), problem.degree);
    if l < 2 || a.len() != n || s.len() != n {
        return Err(PhaseError::Invalid(format!(
            "inner problem of phase {l} with {n} weights, {} A and {} S values",
            a.len(),
            s.len()
        )));
    }
    if problem.drive == 0.0 {
        return Err(PhaseError::Invalid(format!(
            "phase {l} is absent: σ_{l} φ_{l} = 0"
        )));
    }
    let mut u0 = s.to_vec();
    u0.extend_from_slice(a);
    let opts = BlowupOptions {
        exponent: l as f64 - 1.0,
        ..BlowupOptions::default()
    };
    let mut samples = Vec::new();
    let b = solve_blowup(problem, &u0, &opts, |t, u| {
        samples.push((t, moment(&problem.weights, l, u)));
    })
    .map_err(|source| PhaseError::Blowup { phase: l, source })?;
    let u = &b.state;
    let mass: Vec<f64> = (0..n)
        .map(|i| problem.weights[i] * (u[n + i] * u[i].powi(l as i32)).abs())
        .collect();
    let total: f64 = mass.iter().sum();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| mass[y].total_cmp(&mass[x]));
    let (mut acc, mut growing) = (0.0, vec![]);
    for i in order {
        if acc >= 0.9 * total {
            break;
        }
        acc += mass[i];
        growing.push(i);
    }
    growing.sort_unstable();
    let growing_weight = growing.iter().map(|&i| problem.weights[i]).sum();
    Ok(InnerBlowup {
        degree: l,
        t_blowup: b.t_blowup,
        growing,
        growing_weight,
        moment: samples,
    })
}

/// The start of phase 2 at leading order: the end of phase 1 (see the module docs), as
/// `(weights, A, S)`, and the inner problem of phase 2.
///
/// # Errors
/// [`PhaseError`] as [`EarlyPhases::new`].
#[allow(clippy::type_complexity)]
pub fn phase_two_start(
    problem: &FlowProblem,
) -> Result<(InnerProblem, Vec<f64>, Vec<f64>), PhaseError> {
    let early = EarlyPhases::new(problem)?;
    if problem.sigma.len() < 3 {
        return Err(PhaseError::Invalid("no degree 2 in the truncation".into()));
    }
    let (weights, _, alpha) = early.growth_directions(problem)?;
    let kappa = ((early.phi1 / early.sigma1).abs() / early.growth_variance).sqrt();
    let sign = (early.sigma1 * early.phi1).signum();
    let a: Vec<f64> = alpha.iter().map(|x| kappa * x).collect();
    let s: Vec<f64> = a.iter().map(|x| sign * x).collect();
    let held = (0..2).filter(|&k| problem.sigma[k] != 0.0).collect();
    Ok((
        InnerProblem {
            degree: 2,
            drive: problem.sigma[2] * problem.phi[2],
            held,
            weights,
        },
        a,
        s,
    ))
}

/// The inner problem of phase `l ≥ 3` started from a state `u = (s, a)` of the full variables
/// at `ε` (for example the plateau flow's state when degree `l − 1` became learnt), rescaled
/// by [`phase_scaling`]: `S = s ε^{−1/(2l)}`, `A = a ε^{½−1/(2l)}`. Returns the problem and
/// `(A, S)`.
pub fn rescaled_start(
    problem: &FlowProblem,
    weights: &[f64],
    l: usize,
    u: &[f64],
) -> (InnerProblem, Vec<f64>, Vec<f64>) {
    let n = weights.len();
    let inner = phase_scaling(l, 0.0, n).to_inner(problem.epsilon, u);
    let (s, a) = inner.split_at(n);
    let held = (0..l).filter(|&k| problem.sigma[k] != 0.0).collect();
    (
        InnerProblem {
            degree: l,
            drive: problem.sigma[l] * problem.phi[l],
            held,
            weights: weights.to_vec(),
        },
        a.to_vec(),
        s.to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_particle_blow_up_time_matches_closed_form() {
        // One particle, no constraints, l = 2, c = 1, A(0) = S(0)/√2 = x₀: S² − 2A² = 0 is
        // conserved, so dA/dT = 2A², A = x₀/(1 − 2x₀T): T_c = 1/(2x₀).
        let p = InnerProblem {
            degree: 2,
            drive: 1.0,
            held: vec![],
            weights: vec![1.0],
        };
        let x0 = 0.3;
        let b = solve_inner(&p, &[x0], &[2f64.sqrt() * x0]).unwrap();
        let exact = 1.0 / (2.0 * x0);
        assert!(
            (b.t_blowup - exact).abs() < 1e-6 * exact,
            "{} vs {exact}",
            b.t_blowup
        );
        assert_eq!(b.growing, vec![0]);
        // ⟨A S²⟩ = 2A³ = 2x₀³/(1 − 2x₀T)³: the ε-scaled crossing inverts it.
        let (eps, sigma, phi) = (1e-8, 0.5, 0.8);
        let t = b.crossing(eps, sigma, phi).unwrap();
        let target = (1.0 - std::f64::consts::FRAC_1_SQRT_2) * phi / (sigma * eps.powf(0.25));
        let exact = (1.0 - (2.0 * x0.powi(3) / target).cbrt()) / (2.0 * x0);
        assert!((t - exact).abs() < 1e-3 * exact, "{t} vs {exact}");
    }

    #[test]
    fn cubic_blow_up_time_matches_closed_form() {
        // l = 3, c = 1, one particle with S² − 3A² = 0: dA/dT = c S³ = 3√3 A³,
        // A = x₀/√(1 − 6√3 x₀² T): T_c = 1/(6√3 x₀²).
        let p = InnerProblem {
            degree: 3,
            drive: 1.0,
            held: vec![],
            weights: vec![1.0],
        };
        let x0 = 0.5;
        let b = solve_inner(&p, &[x0], &[3f64.sqrt() * x0]).unwrap();
        let exact = 1.0 / (6.0 * 3f64.sqrt() * x0 * x0);
        assert!(
            (b.t_blowup - exact).abs() < 1e-6 * exact,
            "{} vs {exact}",
            b.t_blowup
        );
    }

    #[test]
    fn constraints_hold_along_the_inner_flow() {
        let p = InnerProblem {
            degree: 2,
            drive: 0.7,
            held: vec![0, 1],
            weights: vec![0.2, 0.3, 0.5],
        };
        // (S, A)
        let u = [0.3, 0.2, -0.5, 0.4, -0.1, -0.1];
        let mut du = [0.0; 6];
        p.field(&u, &mut du).unwrap();
        // d⟨A⟩ = Σ w dA, d⟨AS⟩ = Σ w (S dA + A dS).
        let d0: f64 = (0..3).map(|i| p.weights[i] * du[3 + i]).sum();
        let d1: f64 = (0..3)
            .map(|i| p.weights[i] * (u[i] * du[3 + i] + u[3 + i] * du[i]))
            .sum();
        assert!(d0.abs() < 1e-14 && d1.abs() < 1e-14, "{d0:e} {d1:e}");
    }

    #[test]
    fn absent_phase_is_an_error() {
        let p = InnerProblem {
            degree: 2,
            drive: 0.0,
            held: vec![],
            weights: vec![1.0],
        };
        assert!(matches!(
            solve_inner(&p, &[1.0], &[1.0]),
            Err(PhaseError::Invalid(_))
        ));
    }
}
