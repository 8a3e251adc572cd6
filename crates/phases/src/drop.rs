//! The drop through phases 2 and 3 in the continuum order of limits (`N → ∞` first): the
//! inner problem of phase 2 with the residuals of degree ≥ 2 fed back at a given ε.
//!
//! In `t = ε^{1/4} T`, `a = ε^{−1/4} A`, `s = ε^{1/4} S` the per-particle law of model.md §4
//! is, exactly,
//!
//! ```text
//!   dA/dT = Σ_k c_k S^k,   dS/dT = (1 − ε^{1/2} S²) A Σ_k k c_k S^{k−1},
//!   c_k = ε^{(k−2)/4} σ_k r_k,   r_k = φ_k − σ_k ε^{(k−1)/4} ⟨A S^k⟩_w .
//! ```
//!
//! Degrees 0 and 1 carry `ε^{−1/2}` and `ε^{−1/4}`: their residuals are slaved, and in the
//! limit `c_0`, `c_1` are multipliers holding `⟨A⟩` and `⟨A S⟩` fixed — as in the ε-free
//! problem of phase 2 ([`crate::solve_inner`]). That problem also drops everything else of
//! order `ε^{1/4}`: the feedback `r_2 < φ_2` that ends the blow-up, degree 3, and the
//! saturation `1 − s²`. Near its blow-up at `T*` the carriers have `S ~ (T* − T)^{−1}`, so
//! those terms stop being small once `T* − T ~ ε^p`; what happens then — `M_2` saturates, the
//! blow-up is arrested, degree 3 grows on the carriers — is the width of the drop, `t_3 − t_2`,
//! and the ε-free problem cannot give it.
//!
//! [`DropProblem`] keeps all of them and slaves only degrees 0 and 1. It is the leading-order
//! problem of the whole drop, the multipliers in place of the fast relaxation of `a`: free of
//! stiffness, so an explicit solver takes it to ε far below what the full ODE reaches. It is
//! not ε-free — ε sets when the feedback starts — and it is not the full ODE: the particles'
//! initial data are the end of phase 1 at leading order ([`crate::phase_two_start`]), the
//! residuals of degrees 0 and 1 are zero rather than `O(ε^{1/2})`, `O(ε^{1/4})`.

use std::f64::consts::FRAC_1_SQRT_2;

use timescales_meanfield::FlowProblem;
use timescales_ode::{
    Direction, Dop853, Event, Observer, OdeSystem, SolverOptions, SolverStats, integrate,
};
use timescales_outer::ManifoldFlow;

use crate::held::HeldMoments;
use crate::{InnerProblem, PhaseError};

/// The inner problem of the drop at one ε (module docs), state `(S_1..S_N, A_1..A_N)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropProblem {
    /// ε.
    pub epsilon: f64,
    /// Activation coefficients `σ_k`.
    pub sigma: Vec<f64>,
    /// Target coefficients `φ_k` (as long as `sigma`).
    pub phi: Vec<f64>,
    /// Degrees held by multipliers (those of 0 and 1 with `σ_k ≠ 0`).
    pub held: Vec<usize>,
    /// Particle weights.
    pub weights: Vec<f64>,
}

/// Where the risk midpoint of phase `l` lies: `σ_l M_l / φ_l = 1 − 1/√2`, i.e. `r_l = φ_l/√2`.
const MIDPOINT: f64 = 1.0 - FRAC_1_SQRT_2;

impl DropProblem {
    /// The drop of `problem` (its σ, φ and ε) over the particles of the ε-free phase-2 problem
    /// `inner` (from [`crate::phase_two_start`]).
    ///
    /// # Errors
    /// [`PhaseError::Invalid`] when `inner` is not of phase 2, ε is not positive and finite,
    /// or degree 2 or 3 is absent (`σ_l φ_l = 0`: no midpoint to cross).
    pub fn new(inner: &InnerProblem, problem: &FlowProblem) -> Result<Self, PhaseError> {
        let eps = problem.epsilon;
        if inner.degree != 2 {
            return Err(PhaseError::Invalid(format!(
                "the drop starts from the inner problem of phase 2, not {}",
                inner.degree
            )));
        }
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(PhaseError::Invalid(format!(
                "epsilon must be positive and finite, got {eps}"
            )));
        }
        let mut sigma = problem.sigma.clone();
        let mut phi = problem.phi.clone();
        let k = sigma.len().max(phi.len());
        sigma.resize(k, 0.0);
        phi.resize(k, 0.0);
        degrees_two_and_three(&sigma, &phi)?;
        Ok(Self {
            epsilon: eps,
            sigma,
            phi,
            held: inner.held.clone(),
            weights: inner.weights.clone(),
        })
    }

    fn n(&self) -> usize {
        self.weights.len()
    }

    /// `M_l = ε^{(l−1)/4} ⟨A S^l⟩_w` at `u = (S, A)`: the moment of degree `l` in the original
    /// variables.
    pub fn moment(&self, l: usize, u: &[f64]) -> f64 {
        let n = self.n();
        let (s, a) = u.split_at(n);
        let m: f64 = (0..n)
            .map(|i| self.weights[i] * a[i] * s[i].powi(l as i32))
            .sum();
        self.epsilon.powf((l as f64 - 1.0) / 4.0) * m
    }

    /// The risk `R = ½ Σ_{k≥2} r_k²` (`r_0 = r_1 = 0`: held) at `u`.
    pub fn risk(&self, u: &[f64]) -> f64 {
        (2..self.sigma.len())
            .map(|k| (self.phi[k] - self.sigma[k] * self.moment(k, u)).powi(2))
            .sum::<f64>()
            / 2.0
    }

    /// The plateau level `R_l = ½ Σ_{k>l} φ_k²` ([`timescales_hermite::plateau_levels`], no
    /// tail: the risk here has none).
    pub fn plateau(&self, l: usize) -> f64 {
        timescales_hermite::plateau_levels(&self.phi, 0.0)[l]
    }

    /// `σ_l M_l / φ_l`: 0 before phase `l`, 1 once it is learnt.
    pub fn learnt(&self, l: usize, u: &[f64]) -> f64 {
        self.sigma[l] * self.moment(l, u) / self.phi[l]
    }

    /// The coefficients `c_k = ε^{(k−2)/4} σ_k r_k` at `u` (those of held degrees unused).
    fn coefficients(&self, u: &[f64]) -> Vec<f64> {
        (0..self.sigma.len())
            .map(|k| {
                if k < 2 || self.sigma[k] == 0.0 {
                    return 0.0;
                }
                let r = self.phi[k] - self.sigma[k] * self.moment(k, u);
                self.epsilon.powf((k as f64 - 2.0) / 4.0) * self.sigma[k] * r
            })
            .collect()
    }

    fn system(&self) -> HeldMoments<'_, impl Fn(&[f64]) -> Vec<f64> + '_> {
        HeldMoments {
            weights: &self.weights,
            held: &self.held,
            targets: &[],
            fast: 1.0,
            saturation: self.epsilon.sqrt(),
            free: move |u: &[f64]| self.coefficients(u),
        }
    }
}

impl OdeSystem for DropProblem {
    fn dim(&self) -> usize {
        2 * self.n()
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        ManifoldFlow::new(self.system()).rhs(u, du);
    }
}

/// [`PhaseError::Invalid`] unless `σ_l φ_l ≠ 0` for `l = 2, 3`: the drop crosses both
/// midpoints.
fn degrees_two_and_three(sigma: &[f64], phi: &[f64]) -> Result<(), PhaseError> {
    for l in [2, 3] {
        if sigma
            .get(l)
            .zip(phi.get(l))
            .is_none_or(|(s, p)| s * p == 0.0)
        {
            return Err(PhaseError::Invalid(format!(
                "the drop needs degrees 2 and 3: σ_{l} φ_{l} = 0"
            )));
        }
    }
    Ok(())
}

/// The crossings of [`solve_drop`], in the inner time `T` (`t = ε^{1/4} T`); `None` for one
/// not crossed before `t_max`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropCrossings {
    /// `T_2` by the moment, where `σ_2 M_2/φ_2` rises through `1 − 1/√2`, with the state
    /// `(S, A)` there.
    pub second: Option<(f64, Vec<f64>)>,
    /// The same for degree 3.
    pub third: Option<(f64, Vec<f64>)>,
    /// `T_2` and `T_3` by the risk, where `R` falls through the midpoints
    /// `(R_1 + R_2)/2` and `(R_2 + R_3)/2` — the definition of the measured onsets
    /// ([`timescales_meanfield::FlowRun::onsets`]). They differ from the moments' where the phases overlap: `r_3`
    /// has already fallen at the first, `r_2`, `r_4`, … are not yet zero at the second.
    pub by_risk: [Option<f64>; 2],
    /// The integrator's counters.
    pub stats: SolverStats,
}

impl DropCrossings {
    /// `T_2` by the moment, or NaN.
    pub fn t2(&self) -> f64 {
        self.second.as_ref().map_or(f64::NAN, |c| c.0)
    }
    /// `T_3` by the moment, or NaN.
    pub fn t3(&self) -> f64 {
        self.third.as_ref().map_or(f64::NAN, |c| c.0)
    }
}

struct Samples<F>(F);

impl<F: FnMut(f64, &[f64])> Observer for Samples<F> {
    fn observe(&mut self, t: f64, u: &[f64]) -> std::ops::ControlFlow<()> {
        (self.0)(t, u);
        std::ops::ControlFlow::Continue(())
    }
}

/// Integrates the drop from `(A, S)` at `T = 0` (Dormand–Prince 8(5,3), `rtol`, with `atol`
/// `rtol · 1e-3`) until the risk is three quarters down from `R_2` to `R_3` (past both
/// midpoints of degree 3) or `T = t_max`, calling `sample` at `T = 0, dt, 2dt, …` on the way.
///
/// # Errors
/// [`PhaseError::Invalid`] for inconsistent sizes, degree 2 or 3 absent, or a non-positive
/// `t_max`, `dt` or `rtol`;
/// [`PhaseError::Drop`] when the integration fails (a singular constraint Gram matrix
/// included: the field is NaN there).
pub fn solve_drop(
    problem: &DropProblem,
    a: &[f64],
    s: &[f64],
    t_max: f64,
    dt: f64,
    rtol: f64,
    mut sample: impl FnMut(f64, &[f64]),
) -> Result<DropCrossings, PhaseError> {
    let n = problem.n();
    if a.len() != n || s.len() != n || problem.sigma.len() != problem.phi.len() {
        return Err(PhaseError::Invalid(format!(
            "drop with {n} weights, {} A and {} S values, {} σ and {} φ",
            a.len(),
            s.len(),
            problem.sigma.len(),
            problem.phi.len()
        )));
    }
    degrees_two_and_three(&problem.sigma, &problem.phi)?;
    for (name, v) in [("t_max", t_max), ("dt", dt), ("rtol", rtol)] {
        if !(v > 0.0 && v.is_finite()) {
            return Err(PhaseError::Invalid(format!(
                "{name} must be positive and finite, got {v}"
            )));
        }
    }
    let eps = problem.epsilon;
    let failed = |source| PhaseError::Drop { eps, source };
    let mut u0 = s.to_vec();
    u0.extend_from_slice(a);
    let opts = SolverOptions {
        rtol,
        atol: rtol * 1e-3,
        ..SolverOptions::default()
    };
    let count = (t_max / dt).ceil() as usize;
    let times: Vec<f64> = (0..=count).map(|i| (i as f64 * dt).min(t_max)).collect();
    let level = |l: usize| (problem.plateau(l - 1) + problem.plateau(l)) / 2.0;
    let (level2, level3) = (level(2), level(3));
    // Three quarters down from R_2 to R_3: r_3² ≤ φ_3²/4 there, so σ_3 M_3/φ_3 ≥ ½ and both
    // midpoints of degree 3 lie behind (the risk never increases along the flow).
    let level_past = (problem.plateau(2) + 3.0 * problem.plateau(3)) / 4.0;
    let mut crossings = [
        Event::new(|_t, u: &[f64]| problem.learnt(2, u) - MIDPOINT)
            .direction(Direction::Rising)
            .non_terminal(),
        Event::new(|_t, u: &[f64]| problem.learnt(3, u) - MIDPOINT)
            .direction(Direction::Rising)
            .non_terminal(),
        Event::new(move |_t, u: &[f64]| problem.risk(u) - level2)
            .direction(Direction::Falling)
            .non_terminal(),
        Event::new(move |_t, u: &[f64]| problem.risk(u) - level3)
            .direction(Direction::Falling)
            .non_terminal(),
        Event::new(move |_t, u: &[f64]| problem.risk(u) - level_past).direction(Direction::Falling),
    ];
    let mut solver = Dop853::new(problem, 0.0, &u0, &opts).map_err(failed)?;
    let outcome = integrate(
        &mut solver,
        &times,
        &mut crossings,
        &mut Samples(&mut sample),
    )
    .map_err(failed)?;
    let first = |index: usize| {
        outcome
            .events
            .iter()
            .find(|h| h.index == index)
            .map(|h| (h.t, h.state.clone()))
    };
    Ok(DropCrossings {
        second: first(0),
        third: first(1),
        by_risk: [first(2).map(|c| c.0), first(3).map(|c| c.0)],
        stats: outcome.stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lone(eps: f64) -> DropProblem {
        DropProblem {
            epsilon: eps,
            sigma: vec![0.0, 0.0, 0.8, 0.6],
            phi: vec![0.0, 0.0, 0.5, 0.7],
            held: vec![],
            weights: vec![1.0],
        }
    }

    /// Simpson's rule with `n` (even) intervals.
    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let inner: f64 = (1..n)
            .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
            .sum();
        (f(a) + f(b) + inner) * h / 3.0
    }

    #[test]
    fn a_lone_particle_crosses_when_the_closed_form_says() {
        // One particle, nothing held, degree 3 switched off (σ₃ φ₃ tiny): with S² = 2A²
        // (conserved while the saturation 1 − ε^{1/2} S² is 1 to rounding: ε^{1/2} S² < 1e-8
        // here), dA/dT = c₂ S² = 2σ₂(φ₂ − 2σ₂ e A³) A², e = ε^{1/4}. T₂ is the integral of
        // dA / (2σ₂ A² (φ₂ − 2σ₂ e A³)) from A₀ to where 2σ₂ e A³ = (1 − 1/√2) φ₂, here by
        // Simpson's rule in x = 1/A.
        let eps: f64 = 1e-24;
        let mut p = lone(eps);
        p.sigma[3] = 1e-30;
        let (s2, f2) = (p.sigma[2], p.phi[2]);
        let e = eps.powf(0.25);
        let a0 = 0.3;
        let top = (MIDPOINT * f2 / (2.0 * s2 * e)).cbrt();
        let exact = simpson(
            |x| 1.0 / (2.0 * s2 * (f2 - 2.0 * s2 * e / x.powi(3))),
            1.0 / top,
            1.0 / a0,
            20_000,
        );
        let mut last = 0.0;
        let c = solve_drop(&p, &[a0], &[2f64.sqrt() * a0], 20.0, 0.5, 1e-12, |t, _| {
            last = t;
        })
        .unwrap();
        let (t2, at) = c.second.clone().expect("degree 2 crosses");
        assert!(
            (t2 - exact).abs() < 1e-8 * exact,
            "T₂ = {t2} against the quadrature {exact}"
        );
        assert!((p.learnt(2, &at) - MIDPOINT).abs() < 1e-9);
        // With r₃ = φ₃ throughout, the risk's midpoint is the moment's: r₂ = φ₂/√2.
        let by_risk = c.by_risk[0].expect("the risk crosses");
        assert!((by_risk - t2).abs() < 1e-8 * t2, "{by_risk} against {t2}");
        // Degree 3 never crosses, and the run goes to t_max.
        assert!(c.third.is_none() && c.t3().is_nan());
        assert_eq!(last, 20.0);
    }

    #[test]
    fn held_moments_stay_put_through_the_drop() {
        let p = DropProblem {
            epsilon: 1e-8,
            sigma: vec![1.0, 1.0, 0.7, 0.4],
            phi: vec![0.0, 1.0, 1.0, 1.0],
            held: vec![0, 1],
            weights: vec![0.25, 0.25, 0.25, 0.25],
        };
        let a = [0.9, 0.3, -0.3, -0.9];
        let s = a;
        let m = |u: &[f64], k: i32| -> f64 { (0..4).map(|i| 0.25 * u[4 + i] * u[i].powi(k)).sum() };
        let mut u0 = s.to_vec();
        u0.extend_from_slice(&a);
        let (m0, m1) = (m(&u0, 0), m(&u0, 1));
        let mut worst: f64 = 0.0;
        let (mut risk, mut rise): (f64, f64) = (f64::INFINITY, 0.0);
        let c = solve_drop(&p, &a, &s, 1e3, 0.05, 1e-10, |_, u| {
            worst = worst.max((m(u, 0) - m0).abs()).max((m(u, 1) - m1).abs());
            let r = p.risk(u);
            rise = rise.max(r - risk);
            risk = r;
        })
        .unwrap();
        assert!(worst < 1e-8, "held moments moved by {worst:e}");
        // A gradient flow on the constraint manifold: the risk never increases.
        assert!(rise <= 1e-12, "the risk rose by {rise:e}");
        assert!(
            risk < p.plateau(2),
            "the run ends past phase 3's midpoint: R = {risk}"
        );
        // Both degrees cross, degree 2 first, and each crossing is on its midpoint.
        assert!(c.t2() < c.t3(), "{} {}", c.t2(), c.t3());
        let (_, at3) = c.third.as_ref().unwrap();
        assert!((p.learnt(3, at3) - MIDPOINT).abs() < 1e-9);
    }

    #[test]
    fn bad_input_is_named() {
        let p = lone(1e-8);
        let e = solve_drop(&p, &[0.1, 0.2], &[0.1], 1.0, 0.1, 1e-8, |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("weights"), "{e}");
        let e = solve_drop(&p, &[0.1], &[0.1], f64::NAN, 0.1, 1e-8, |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("t_max"), "{e}");
        // Without degree 3 (fields set by hand, past `new`): an error, not an index panic.
        let short = DropProblem {
            sigma: vec![0.0, 0.0, 0.8],
            phi: vec![0.0, 0.0, 0.5],
            ..lone(1e-8)
        };
        let e = solve_drop(&short, &[0.1], &[0.1], 1.0, 0.1, 1e-8, |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("degrees 2 and 3"), "{e}");
    }
}
