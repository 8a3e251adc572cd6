//! The plateau flow: the two-layer flow reduced to the manifold where the learnt residuals
//! vanish (model.md §5–§6), and the chain of plateau flows that follows the learning of one
//! degree after another.
//!
//! After phase `l − 1` the residuals `r_k` of the learnt degrees `k ∈ C` relax on timescales
//! (`ε/σ_k² ⟨s^{2k}⟩`) much shorter than the next phase. Their limit is a constraint: the state
//! stays on `M_k = φ_k/σ_k` (`k ∈ C`), and the forces `σ_k r_k` of those degrees become
//! Lagrange multipliers `λ_k`:
//!
//! ```text
//!   ε ȧ_i = Σ_{k∈C} λ_k s_i^k + Σ_{k∉C} σ_k r_k s_i^k
//!     ṡ_i = (1 − s_i²) a_i (Σ_{k∈C} k λ_k s_i^{k−1} + Σ_{k∉C} k σ_k r_k s_i^{k−1})
//! ```
//!
//! with `λ` fixed by `dM_k/dt = 0` (`k ∈ C`): the Gram system `Σ_j G_kj λ_j = −b_k` of the
//! constraint gradients in the flow's metric,
//!
//! ```text
//!   G_kj = Σ_i w_i [ s_i^{k+j}/ε + k j (1 − s_i²) a_i² s_i^{k+j−2} ],
//!   b_k  = Σ_i w_i [ s_i^k F_i/ε + k (1 − s_i²) a_i² s_i^{k−1} G_i ],
//! ```
//!
//! `F_i`, `G_i` the unconstrained sums above. It is the gradient flow of the risk projected on
//! the tangent space of the constraint manifold, so the risk still never increases. Nothing in
//! it is faster than the phases still to come, so it is integrated explicitly (Dop853); the
//! constraint drift is removed by a Gauss–Newton projection whenever the integration restarts.
//!
//! **First order** ([`PlateauFlow::first_order`]). Holding `M_k` exactly is the limit of a
//! fast relaxation: with the forces `λ_k = σ_k r_k` of the learnt degrees free, the flow
//! `u̇ = F + Σ_k λ_k D_k` moves them by
//!
//! ```text
//!   dλ_j/dt = −σ_j² ∇M_j · u̇ = −σ_j² (b_j + Σ_k G_jk λ_k),
//! ```
//!
//! a relaxation at the rates of `σ² G` (`~ ε^{−1/2}` for degree 1 on the phase-1 plateau,
//! against the `ε^{−1/4}` of phase 2). Its slow manifold is `λ = λ⁰ + λ¹ + …`, `λ⁰ = −G⁻¹ b`
//! the multipliers above and
//!
//! ```text
//!   λ¹ = −G⁻¹ Σ⁻² dλ⁰/dt,     Σ = diag(σ_k),
//! ```
//!
//! `dλ⁰/dt` the derivative of the multipliers along the flow (a central difference along
//! `u̇⁰`). The learnt moments then drift, `dM_k/dt = −σ_k⁻² dλ⁰_k/dt`, and stay at
//! `M_k = (φ_k − λ_k/σ_k)/σ_k`: the residuals are slaved, `r_k = λ_k/σ_k`, not zero. The
//! correction is relative `O(ε^{1/4})` on the phase-1 plateau (`λ¹/λ⁰` is the ratio of the
//! relaxation and phase-2 timescales) and `O(ε^{1/6})` for degree 2 before phase 3: the
//! leading-order plateau flow shifts phase `l` by that much in time, the first-order one by
//! its square (up to logarithms). Projections ([`PlateauFlow::project`]) then aim at the first-order manifold.
//!
//! [`plateau_chain`] starts on the phase-1 plateau (`C = {0, 1}`, or `{1}` when `σ_0 = 0`) from the
//! leading-order state at the end of phase 1 ([`phase_one_exit`]) and adds degree `l` to `C`
//! once `|r_l| ≤ 10⁻² |φ_l|`: degree `l` counts as learnt. [`plateau_chain_from`] with
//! [`PlateauStart::FirstOrder`] starts it from the first-order exit
//! ([`PhaseOneLayer::exit_state`]) on the first-order slow manifold: the outer solution of the
//! composite risk.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use timescales_meanfield::FlowProblem;
use timescales_ode::{
    Direction, Dop853, Event, EventHit, Observer, OdeSystem, Solver, SolverOptions, Stop, integrate,
};
use timescales_outer::{ConstrainedSystem, ManifoldFlow};

use crate::held::HeldMoments;
use crate::{EarlyPhases, PhaseError, PhaseOneLayer};

/// A degree counts as learnt, and becomes a constraint, once its residual is small and
/// settled: `|r_l| ≤ LEARNT·|φ_l|` and `|dr_l/d ln t| ≤ LEARNT·|φ_l|` ([`PlateauFlow::unlearnt`]).
pub const LEARNT: f64 = 1e-2;

/// The plateau flow with the learnt degrees `C` held by Lagrange multipliers (module docs).
///
/// State layout as in the full ODE: `u = (s_1..s_N, a_1..a_N)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateauFlow {
    sigma: Vec<f64>,
    phi: Vec<f64>,
    weights: Vec<f64>,
    eps: f64,
    learnt: Vec<usize>,
    /// `φ_k/σ_k` for each learnt degree.
    targets: Vec<f64>,
    /// Whether the learnt residuals follow the first-order slow manifold
    /// ([`PlateauFlow::first_order`]) instead of vanishing.
    first_order: bool,
}

impl PlateauFlow {
    /// The plateau flow of `σ_0..σ_K`, `φ_0..φ_K` over particles with `weights` at `ε`, with
    /// the degrees in `learnt` held at `M_k = φ_k/σ_k`.
    ///
    /// # Errors
    /// [`PhaseError::Invalid`] when a learnt degree is out of range or has `σ_k = 0` (nothing
    /// to hold), or the sizes disagree.
    pub fn new(
        sigma: &[f64],
        phi: &[f64],
        weights: &[f64],
        eps: f64,
        learnt: &[usize],
    ) -> Result<Self, PhaseError> {
        if sigma.len() != phi.len() || sigma.is_empty() {
            return Err(PhaseError::Invalid(format!(
                "σ has {} coefficients and φ has {}",
                sigma.len(),
                phi.len()
            )));
        }
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(PhaseError::Invalid(format!(
                "epsilon must be > 0, got {eps}"
            )));
        }
        let mut learnt = learnt.to_vec();
        learnt.sort_unstable();
        learnt.dedup();
        if let Some(&k) = learnt
            .iter()
            .find(|&&k| k >= sigma.len() || sigma[k] == 0.0)
        {
            return Err(PhaseError::Invalid(format!(
                "degree {k} cannot be held learnt (out of range or σ_{k} = 0)"
            )));
        }
        let targets = learnt.iter().map(|&k| phi[k] / sigma[k]).collect();
        Ok(Self {
            sigma: sigma.to_vec(),
            phi: phi.to_vec(),
            weights: weights.to_vec(),
            eps,
            learnt,
            targets,
            first_order: false,
        })
    }

    /// The same flow on the first-order slow manifold (module docs, "First order"): the
    /// learnt residuals are not zero but slaved, `σ_k r_k = λ_k + λ_k¹`.
    #[must_use]
    pub fn first_order(mut self) -> Self {
        self.first_order = true;
        self
    }

    /// The learnt (constrained) degrees `C`, ascending.
    pub fn learnt(&self) -> &[usize] {
        &self.learnt
    }

    /// A copy with degree `k` added to `C`.
    ///
    /// # Errors
    /// As [`PlateauFlow::new`].
    pub fn with_learnt(&self, k: usize) -> Result<Self, PhaseError> {
        let mut c = self.learnt.clone();
        c.push(k);
        let mut next = Self::new(&self.sigma, &self.phi, &self.weights, self.eps, &c)?;
        next.first_order = self.first_order;
        Ok(next)
    }

    fn n(&self) -> usize {
        self.weights.len()
    }

    /// `M_k = Σ_i w_i a_i s_i^k`, `k = 0..K`.
    pub fn moments(&self, u: &[f64]) -> Vec<f64> {
        let n = self.n();
        let mut m = vec![0.0; self.sigma.len()];
        for i in 0..n {
            let (s, wa) = (u[i], self.weights[i] * u[n + i]);
            let mut p = wa;
            for mk in &mut m {
                *mk += p;
                p *= s;
            }
        }
        m
    }

    /// `r_k = φ_k − σ_k M_k`.
    pub fn residuals(&self, u: &[f64]) -> Vec<f64> {
        self.moments(u)
            .iter()
            .enumerate()
            .map(|(k, m)| self.phi[k] - self.sigma[k] * m)
            .collect()
    }

    /// How far degree `k` is from counting as learnt at `(t, u)`:
    /// `max(|r_k|, t |dr_k/dt|)/|φ_k| − LEARNT`, negative once its residual is small and
    /// settled on the log-time scale of the plateaus. The second condition keeps a residual
    /// that merely passes through zero during a merged drop (it overshoots, then returns)
    /// from being frozen there: `dr_k/dt = −σ_k Σ_i w_i (ȧ_i s_i^k + k a_i s_i^{k−1} ṡ_i)`
    /// along this flow.
    pub fn unlearnt(&self, k: usize, t: f64, u: &[f64]) -> f64 {
        let n = self.n();
        let r = self.residuals(u)[k];
        let mut du = vec![0.0; 2 * n];
        self.rhs(u, &mut du);
        let (s, a) = u.split_at(n);
        let (ds, da) = du.split_at(n);
        let kk = k as i32;
        let dm: f64 = (0..n)
            .map(|i| {
                let grow = if k > 0 {
                    k as f64 * a[i] * s[i].powi(kk - 1) * ds[i]
                } else {
                    0.0
                };
                self.weights[i] * (da[i] * s[i].powi(kk) + grow)
            })
            .sum();
        let dr = -self.sigma[k] * dm;
        r.abs().max(t * dr.abs()) / self.phi[k].abs() - LEARNT
    }

    /// `max_{k∈C} |σ_k M_k − φ_k|`: how far the state is off the constraint manifold.
    pub fn constraint_defect(&self, u: &[f64]) -> f64 {
        let r = self.residuals(u);
        self.learnt.iter().map(|&k| r[k].abs()).fold(0.0, f64::max)
    }

    /// The multipliers `λ_k`, `k ∈ C`, at `u` (module docs), or `None` when the Gram matrix
    /// is singular (the constraints are degenerate there, e.g. all `s_i = 0`).
    pub fn multipliers(&self, u: &[f64]) -> Option<Vec<f64>> {
        ManifoldFlow::new(self.held_moments()).multipliers(u)
    }

    /// The constrained system: `ȧ = P(s)/ε`, `ṡ = (1 − s²) a P'(s)`, `P`'s free coefficients
    /// `σ_k r_k`, the learnt degrees held at `M_k = φ_k/σ_k`.
    fn held_moments(&self) -> HeldMoments<'_, impl Fn(&[f64]) -> Vec<f64> + '_> {
        self.held_at(&self.targets)
    }

    /// As [`held_moments`](Self::held_moments), the learnt moments held at `targets`.
    fn held_at<'a>(
        &'a self,
        targets: &'a [f64],
    ) -> HeldMoments<'a, impl Fn(&[f64]) -> Vec<f64> + 'a> {
        HeldMoments {
            weights: &self.weights,
            held: &self.learnt,
            targets,
            fast: 1.0 / self.eps,
            saturation: 1.0,
            free: move |u: &[f64]| {
                self.residuals(u)
                    .iter()
                    .zip(&self.sigma)
                    .map(|(r, s)| s * r)
                    .collect()
            },
        }
    }

    /// Moves `u` onto the constraint manifold `M_k = φ_k/σ_k` (`k ∈ C`) by Gauss–Newton steps
    /// along the constraint gradients ([`ManifoldFlow::project`]), each defect measured
    /// relative to the size of the sum it comes from, `Σ_i w_i |a_i s_i^k| + |φ_k/σ_k|`.
    /// Returns the iterations used.
    ///
    /// # Errors
    /// [`PhaseError::Invalid`] when the gradients are degenerate or the relative defect is
    /// still above `1e-9` after 30 iterations.
    pub fn project(&self, u: &mut [f64]) -> Result<usize, PhaseError> {
        let fail = |e| PhaseError::Invalid(format!("learnt degrees {:?}: {e}", self.learnt));
        let mut used = ManifoldFlow::new(self.held_moments())
            .project(u)
            .map_err(fail)?;
        if self.first_order {
            // M_k = (φ_k − λ_k/σ_k)/σ_k with λ at the projected state: a fixed point, reached
            // to O(δ²) relative by a few rounds (λ changes by O(δ) per round).
            for _ in 0..4 {
                let Some(lambda) = self.multipliers(u) else {
                    break;
                };
                let targets: Vec<f64> = self
                    .learnt
                    .iter()
                    .zip(&self.targets)
                    .zip(&lambda)
                    .map(|((&k, t), l)| t - l / self.sigma[k].powi(2))
                    .collect();
                used += ManifoldFlow::new(self.held_at(&targets))
                    .project(u)
                    .map_err(fail)?;
            }
        }
        Ok(used)
    }

    /// The first-order correction `λ¹ = −G⁻¹ Σ⁻² dλ/dt` of the multipliers (module docs) at
    /// `u`, given the leading-order field `du0` there; `None` where the multipliers or the
    /// Gram matrix do not exist.
    fn multiplier_correction(&self, u: &[f64], du0: &[f64]) -> Option<Vec<f64>> {
        let (n, m) = (self.n(), self.learnt.len());
        let norm = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>().sqrt();
        // A step of about 1e-6 of the state along the flow, per block (s and a differ by ε^{1/2}).
        let step = |x: &[f64], dx: &[f64]| {
            let (a, b) = (norm(x), norm(dx));
            if b > 0.0 && a > 0.0 {
                1e-6 * a / b
            } else {
                f64::INFINITY
            }
        };
        let h = step(&u[..n], &du0[..n]).min(step(&u[n..], &du0[n..]));
        if !h.is_finite() {
            return Some(vec![0.0; m]);
        }
        let shifted =
            |sign: f64| -> Vec<f64> { u.iter().zip(du0).map(|(x, d)| x + sign * h * d).collect() };
        let plus = self.multipliers(&shifted(1.0))?;
        let minus = self.multipliers(&shifted(-1.0))?;
        let system = self.held_moments();
        let (mut d, mut g) = (vec![0.0; m * 2 * n], vec![0.0; m * 2 * n]);
        system.force_directions(u, &mut d);
        system.constraint_gradients(u, &mut g);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let gram = nalgebra::DMatrix::from_fn(m, m, |j, k| {
            dot(
                &g[j * 2 * n..(j + 1) * 2 * n],
                &d[k * 2 * n..(k + 1) * 2 * n],
            )
        });
        let rhs = nalgebra::DVector::from_fn(m, |j, _| {
            let k = self.learnt[j];
            -(plus[j] - minus[j]) / (2.0 * h) / self.sigma[k].powi(2)
        });
        // Scaled as the multipliers themselves (ManifoldFlow): G's diagonal spans many decades.
        let scale: Vec<f64> = (0..m).map(|j| gram[(j, j)].abs().sqrt()).collect();
        if scale.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return None;
        }
        let scaled = nalgebra::DMatrix::from_fn(m, m, |j, k| gram[(j, k)] / (scale[j] * scale[k]));
        let r = nalgebra::DVector::from_fn(m, |j, _| rhs[j] / scale[j]);
        let z = scaled.lu().solve(&r)?;
        let out: Vec<f64> = (0..m).map(|j| z[j] / scale[j]).collect();
        out.iter().all(|v| v.is_finite()).then_some(out)
    }
}

impl OdeSystem for PlateauFlow {
    fn dim(&self) -> usize {
        2 * self.n()
    }
    /// The constrained flow of the module docs (NaN everywhere when the multipliers do not
    /// exist, so the integrator stops with a non-finite-state error at that time). The
    /// factor `1 − s²` is taken as `max(0, 1 − s²)`: `|s| = 1` is invariant for the exact
    /// flow, but repelling from outside where `a P'(±1)` has the wrong sign, so a rounding
    /// overshoot past `±1` is frozen there instead of running away.
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        ManifoldFlow::new(self.held_moments()).rhs(u, du);
        if !self.first_order || self.learnt.is_empty() || du.iter().any(|v| v.is_nan()) {
            return;
        }
        let Some(correction) = self.multiplier_correction(u, du) else {
            du.fill(f64::NAN);
            return;
        };
        let n = self.n();
        let mut d = vec![0.0; self.learnt.len() * 2 * n];
        self.held_moments().force_directions(u, &mut d);
        for (l, dk) in correction.iter().zip(d.chunks_exact(2 * n)) {
            for (o, x) in du.iter_mut().zip(dk) {
                *o += l * x;
            }
        }
    }
}

/// The leading-order state at the end of phase 1, on the phase-1 plateau.
///
/// From the phase-1 inner problem: every particle moves on one profile, and as the profile
/// saturates `A_i² − S_i² → 0`, so with `α_i` the weights after phase 0 minus their mean (the
/// weights themselves when `σ_0 = 0`) and `c = σ_1 φ_1`:
///
/// ```text
///   a_i = ā + γ α_i,   s_i = sgn(c) √ε γ α_i,   γ² = |φ_1/σ_1| / (√ε V),
/// ```
///
/// `ā = φ_0/σ_0` (0 when `σ_0 = 0`), `V = Σ w_i α_i²`, so that `M_1 = φ_1/σ_1` exactly.
/// Returns the particle weights and `u = (s, a)`.
///
/// # Errors
/// [`PhaseError`] as [`EarlyPhases::new`].
pub fn phase_one_exit(problem: &FlowProblem) -> Result<(Vec<f64>, Vec<f64>), PhaseError> {
    let early = EarlyPhases::new(problem)?;
    let (weights, mean, alpha) = early.growth_directions(problem)?;
    let gamma =
        ((early.phi1 / early.sigma1).abs() / (early.eps.sqrt() * early.growth_variance)).sqrt();
    let sign = (early.sigma1 * early.phi1).signum();
    let n = alpha.len();
    let mut u = vec![0.0; 2 * n];
    for (i, alpha) in alpha.iter().enumerate() {
        u[i] = sign * early.eps.sqrt() * gamma * alpha;
        u[n + i] = mean + gamma * alpha;
    }
    Ok((weights, u))
}

/// A degree added to the learnt set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learnt {
    /// The degree.
    pub degree: usize,
    /// When degree `l` became learnt (the root of [`PlateauFlow::unlearnt`], an event
    /// located on the dense output).
    pub t: f64,
}

/// The chain of plateau flows from the end of phase 1 to `t_end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlateauRun {
    /// Start time (the phase-1 logistic midpoint `t*`).
    pub t_start: f64,
    /// Output times (those of the request that are `≥ t_start`).
    pub t: Vec<f64>,
    /// Risk `½ Σ_k r_k² + tail` at each output time.
    pub risk: Vec<f64>,
    /// Degrees learnt along the way, in order.
    pub learnt: Vec<Learnt>,
    /// Largest constraint defect `|σ_k M_k − φ_k|` seen at an output time.
    pub max_defect: f64,
    /// Why the chain stopped before the last requested time, if it did (the rows before
    /// that are kept).
    pub failure: Option<String>,
    /// The state `u = (s, a)` where the chain ended (the last output time, or the last
    /// switch when no output time followed it).
    pub final_state: Vec<f64>,
    /// For each level asked of [`plateau_chain_through`], the first time the shifted risk
    /// falls through it, located on the dense output (`None` if it does not before the chain
    /// ends); empty for the other entry points.
    pub crossings: Vec<Option<f64>>,
}

/// Records risk rows and the largest constraint defect at the output times, and the roots
/// of the events from `first_crossing` on (index, time), kept even if the segment fails.
struct ChainWatch<'a> {
    flow: &'a PlateauFlow,
    tail: f64,
    t: Vec<f64>,
    risk: Vec<f64>,
    max_defect: f64,
    first_crossing: usize,
    crossings: Vec<(usize, f64)>,
}

impl Observer for ChainWatch<'_> {
    fn observe(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        let r = self.flow.residuals(u);
        self.t.push(t);
        self.risk
            .push(0.5 * r.iter().map(|x| x * x).sum::<f64>() + self.tail);
        self.max_defect = self.max_defect.max(self.flow.constraint_defect(u));
        ControlFlow::Continue(())
    }
    fn root(&mut self, hit: &EventHit) {
        if let Some(j) = hit.index.checked_sub(self.first_crossing) {
            self.crossings.push((j, hit.t));
        }
    }
}

/// Integrates the chain of plateau flows of `problem` from the end of phase 1 (at `t*`, state
/// [`phase_one_exit`]) through every later phase, reporting at the requested `times` that are
/// `≥ t*`. Tolerances are the problem's `rtol`, `atol`.
///
/// # Errors
/// [`PhaseError`] when phase 1 does not exist or the start cannot be projected on the
/// plateau. A later failure of the integration or of a projection ends the chain early:
/// the rows up to it are kept and [`PlateauRun::failure`] says what happened.
pub fn plateau_chain(problem: &FlowProblem, times: &[f64]) -> Result<PlateauRun, PhaseError> {
    plateau_chain_from(problem, times, PlateauStart::LeadingOrder)
}

/// Which state at the end of phase 1 starts the chain of plateau flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PlateauStart {
    /// [`phase_one_exit`]: the saturated leading-order profile.
    LeadingOrder,
    /// [`PhaseOneLayer::exit_state`]: the first-order exit (degree-2 forcing, drift of
    /// `E[s]`, skewness of the law), the composite's start.
    FirstOrder,
}

/// [`plateau_chain`] from the chosen start at `t*`.
///
/// # Errors
/// As [`plateau_chain`].
pub fn plateau_chain_from(
    problem: &FlowProblem,
    times: &[f64],
    start: PlateauStart,
) -> Result<PlateauRun, PhaseError> {
    plateau_chain_through(problem, times, start, &[], &|_| 0.0)
}

/// [`plateau_chain_from`], and the first times `t_j` at which the chain's risk shifted by
/// `shift`, `R(t) + shift(t)` with `R = ½ Σ_k r_k² + tail`, falls through each of `levels`
/// ([`PlateauRun::crossings`], `None` entries skipped): roots of that function located as
/// events on the integrator's dense output, whatever the output `times`. A level the risk
/// passes at a switch between plateau flows (where the state is projected on the next
/// plateau) is crossed at the switch; a crossing located before a failure that ends the
/// chain early is kept. With `shift` the phase-0/1 layer minus its limit, these are the
/// onsets of the composite ([`crate::composite_risk`]).
///
/// # Errors
/// As [`plateau_chain_from`].
pub fn plateau_chain_through(
    problem: &FlowProblem,
    times: &[f64],
    start: PlateauStart,
    levels: &[Option<f64>],
    shift: &dyn Fn(f64) -> f64,
) -> Result<PlateauRun, PhaseError> {
    let early = EarlyPhases::new(problem)?;
    let (weights, mut u) = match start {
        PlateauStart::LeadingOrder => phase_one_exit(problem)?,
        PlateauStart::FirstOrder => PhaseOneLayer::new(problem)?.exit_state(problem)?,
    };
    let initial: Vec<usize> = [0, 1]
        .into_iter()
        .filter(|&k| problem.sigma[k] != 0.0)
        .collect();
    let mut flow = PlateauFlow::new(
        &problem.sigma,
        &problem.phi,
        &weights,
        problem.epsilon,
        &initial,
    )?;
    if start == PlateauStart::FirstOrder {
        flow = flow.first_order();
    }
    flow.project(&mut u)?;
    let t_start = early.t_star;
    let mut out = PlateauRun {
        t_start,
        t: vec![],
        risk: vec![],
        learnt: vec![],
        max_defect: 0.0,
        failure: None,
        final_state: vec![],
        crossings: vec![None; levels.len()],
    };
    let mut t = t_start;
    let mut pending: Vec<f64> = times.iter().copied().filter(|&x| x >= t_start).collect();
    let opts = SolverOptions {
        rtol: problem.rtol,
        atol: problem.atol,
        ..SolverOptions::default()
    };
    while !pending.is_empty() {
        // A degree is learnt when its residual is small and settled (PlateauFlow::unlearnt
        // falls through 0): one terminal event per free degree that the flow can learn.
        let candidates: Vec<usize> = (0..problem.sigma.len())
            .filter(|&k| !flow.learnt.contains(&k) && problem.sigma[k] * problem.phi[k] != 0.0)
            .collect();
        let tail = problem.tail_energy;
        let above = |flow: &PlateauFlow, level: f64, t: f64, u: &[f64]| {
            let r = flow.residuals(u);
            0.5 * r.iter().map(|x| x * x).sum::<f64>() + tail + shift(t) - level
        };
        // An event for each level not yet crossed; one the risk is below already (passed at
        // a switch, or at the start) is crossed at t.
        let mut unfound: Vec<(usize, f64)> = Vec::new();
        for (j, level) in levels.iter().enumerate() {
            match (*level, out.crossings[j]) {
                (Some(level), None) if above(&flow, level, t, &u) < 0.0 => {
                    out.crossings[j] = Some(t);
                }
                (Some(level), None) => unfound.push((j, level)),
                _ => {}
            }
        }
        let mut events: Vec<Event<'_>> = candidates
            .iter()
            .map(|&k| {
                let f = &flow;
                Event::new(move |t, u: &[f64]| f.unlearnt(k, t, u)).direction(Direction::Falling)
            })
            .chain(unfound.iter().map(|&(_, level)| {
                let (f, above) = (&flow, &above);
                Event::new(move |t, u: &[f64]| above(f, level, t, u))
                    .direction(Direction::Falling)
                    .non_terminal()
            }))
            .collect();
        let mut watch = ChainWatch {
            flow: &flow,
            tail: problem.tail_energy,
            t: vec![],
            risk: vec![],
            max_defect: 0.0,
            first_crossing: candidates.len(),
            crossings: vec![],
        };
        let result = Dop853::new(&flow, t, &u, &opts).and_then(|mut solver| {
            let outcome = integrate(&mut solver, &pending, &mut events, &mut watch)?;
            Ok((outcome, solver.state().to_vec()))
        });
        drop(events);
        out.t.extend_from_slice(&watch.t);
        out.risk.extend_from_slice(&watch.risk);
        out.max_defect = out.max_defect.max(watch.max_defect);
        // Also those located before a failure of the segment.
        for &(i, t) in &watch.crossings {
            let (j, _) = unfound[i];
            out.crossings[j] = out.crossings[j].or(Some(t));
        }
        match result {
            Ok((outcome, state)) => match outcome.stop {
                Stop::Event(hit) => {
                    let k = candidates[hit.index];
                    flow = flow.with_learnt(k)?;
                    u = hit.state;
                    flow.project(&mut u)?;
                    out.learnt.push(Learnt {
                        degree: k,
                        t: hit.t,
                    });
                    out.final_state.clone_from(&u);
                    t = hit.t;
                    pending.retain(|&x| x > hit.t);
                }
                Stop::Completed | Stop::Observer { .. } => {
                    out.final_state = state;
                    break;
                }
            },
            Err(e) => {
                out.failure = Some(
                    PhaseError::Plateau {
                        learnt: flow.learnt.clone(),
                        source: e,
                    }
                    .to_string(),
                );
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_meanfield::{InitialLaw, Method, OutputTimes, Placement};

    fn problem(eps: f64) -> FlowProblem {
        FlowProblem {
            sigma: (0..6)
                .map(|k| 1.0 / (1..=k).product::<usize>().max(1) as f64)
                .map(f64::sqrt)
                .collect(),
            phi: vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            tail_energy: 0.0,
            law: InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
            particles: 8,
            placement: Placement::Quadrature,
            epsilon: eps,
            t_end: 3.0,
            rtol: 1e-10,
            atol: 1e-12,
            times: OutputTimes::LogGrid { samples: 2 },
            method: Method::Rodas4,
        }
    }

    #[test]
    fn phase_one_exit_sits_on_the_plateau_manifold() {
        let p = problem(1e-8);
        let (w, u) = phase_one_exit(&p).unwrap();
        let f = PlateauFlow::new(&p.sigma, &p.phi, &w, p.epsilon, &[0, 1]).unwrap();
        assert!(
            f.constraint_defect(&u) < 1e-12,
            "{}",
            f.constraint_defect(&u)
        );
    }

    #[test]
    fn multipliers_keep_the_learnt_moments_fixed() {
        // d/dt M_k = ∇M_k · u̇ must vanish for k ∈ C: checked by a finite difference along the
        // flow, against the size of the unconstrained change.
        let p = problem(1e-6);
        let (w, mut u) = phase_one_exit(&p).unwrap();
        // Move off the symmetric start so that all terms are non-zero.
        u[3] *= 1.3;
        u[8 + 5] += 0.2;
        let f = PlateauFlow::new(&p.sigma, &p.phi, &w, p.epsilon, &[0, 1]).unwrap();
        f.project(&mut u).unwrap();
        let mut du = vec![0.0; u.len()];
        f.rhs(&u, &mut du);
        let h = 1e-9;
        let up: Vec<f64> = u.iter().zip(&du).map(|(a, b)| a + h * b).collect();
        let um: Vec<f64> = u.iter().zip(&du).map(|(a, b)| a - h * b).collect();
        let (mp, mm) = (f.moments(&up), f.moments(&um));
        let free = PlateauFlow::new(&p.sigma, &p.phi, &w, p.epsilon, &[]).unwrap();
        let mut dfree = vec![0.0; u.len()];
        free.rhs(&u, &mut dfree);
        let upf: Vec<f64> = u.iter().zip(&dfree).map(|(a, b)| a + h * b).collect();
        let umf: Vec<f64> = u.iter().zip(&dfree).map(|(a, b)| a - h * b).collect();
        let (fp, fm) = (free.moments(&upf), free.moments(&umf));
        for k in [0, 1] {
            let held = (mp[k] - mm[k]) / (2.0 * h);
            let unheld = (fp[k] - fm[k]) / (2.0 * h);
            assert!(
                held.abs() < 1e-6 * unheld.abs(),
                "k = {k}: {held:e} vs {unheld:e}"
            );
        }
        // The projected flow still decreases the risk.
        let risk = |u: &[f64]| f.residuals(u).iter().map(|r| r * r).sum::<f64>();
        assert!(risk(&up) < risk(&um));
    }

    #[test]
    fn projection_reaches_the_manifold() {
        let p = problem(1e-6);
        let (w, mut u) = phase_one_exit(&p).unwrap();
        for (i, v) in u.iter_mut().enumerate() {
            *v *= 1.0 + 0.05 * (i as f64).sin();
        }
        let f = PlateauFlow::new(&p.sigma, &p.phi, &w, p.epsilon, &[0, 1, 2]).unwrap();
        assert!(f.constraint_defect(&u) > 1e-3);
        f.project(&mut u).unwrap();
        assert!(f.constraint_defect(&u) < 1e-11);
    }

    #[test]
    fn holding_a_degree_without_activation_is_an_error() {
        let mut p = problem(1e-6);
        p.sigma[2] = 0.0;
        let r = PlateauFlow::new(&p.sigma, &p.phi, &[1.0], p.epsilon, &[2]);
        assert!(matches!(r, Err(PhaseError::Invalid(_))), "{r:?}");
    }

    #[test]
    fn chain_learns_degrees_in_order_with_monotone_risk() {
        let p = problem(1e-8);
        let times: Vec<f64> = (0..=300)
            .map(|i| 1e-4 * (3e4f64).powf(i as f64 / 300.0))
            .collect();
        let run = plateau_chain(&p, &times).unwrap();
        let degrees: Vec<usize> = run.learnt.iter().map(|l| l.degree).collect();
        assert_eq!(degrees, vec![2, 3], "{:?}", run.learnt);
        for w in run.risk.windows(2) {
            // Projections at the switches may move the risk by ½(LEARNT φ_l)².
            assert!(w[1] <= w[0] + 1e-4, "risk rose: {w:?}");
        }
        assert!(run.max_defect < 1e-6, "{}", run.max_defect);
        assert!(run.failure.is_none(), "{:?}", run.failure);
        assert!(*run.risk.last().unwrap() < 1e-3);
    }

    /// The chain's crossings are its risk's roots on the dense output: the same (to the
    /// integrator's tolerance) from 8 or 4000 output times, and where 20 001 samples in a
    /// window around each put the sampled crossing (an independent reading, linear between
    /// samples); a shift moves a crossing exactly as a level moved the other way does; a
    /// level the risk never reaches gives `None`.
    #[test]
    fn chain_crossings_are_located_on_the_dense_output() {
        let p = problem(1e-8);
        let levels = [Some(0.75), Some(0.25), Some(-1.0)];
        let grid = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| 1e-4 * (3e4f64).powf(i as f64 / (n - 1) as f64))
                .collect()
        };
        let zero = |_: f64| 0.0;
        let coarse =
            plateau_chain_through(&p, &grid(8), PlateauStart::FirstOrder, &levels, &zero).unwrap();
        let fine = plateau_chain_through(&p, &grid(4000), PlateauStart::FirstOrder, &levels, &zero)
            .unwrap();
        assert!(coarse.failure.is_none() && fine.failure.is_none());
        assert_eq!(coarse.crossings[2], None);
        for (j, level) in levels.iter().take(2).enumerate() {
            let (a, b) = (coarse.crossings[j].unwrap(), fine.crossings[j].unwrap());
            assert!((a / b - 1.0).abs() < 1e-7, "level {j}: {a} vs {b}");
            let window: Vec<f64> = (0..20_001)
                .map(|i| b * (0.98 + 0.04 * i as f64 / 20_000.0))
                .collect();
            let sampled = plateau_chain_from(&p, &window, PlateauStart::FirstOrder).unwrap();
            let read =
                timescales_analysis::crossing_time(&sampled.t, &sampled.risk, level.unwrap())
                    .expect("the window holds the crossing");
            assert!(
                (read / b - 1.0).abs() < 1e-7,
                "level {j}: sampled {read} vs {b}"
            );
        }
        // R + 0.1 through 0.75 is R through 0.65.
        let shifted = plateau_chain_through(
            &p,
            &grid(8),
            PlateauStart::FirstOrder,
            &[Some(0.75)],
            &|_| 0.1,
        )
        .unwrap();
        let lowered =
            plateau_chain_through(&p, &grid(8), PlateauStart::FirstOrder, &[Some(0.65)], &zero)
                .unwrap();
        assert_eq!(shifted.crossings[0], lowered.crossings[0]);
        assert!(shifted.crossings[0].unwrap() > coarse.crossings[0].unwrap());
    }

    /// At ε = 1e-13 (N = 8, rtol 1e-8, the `--eps 1e-9:1e-15:4` point of the README) the
    /// explicit chain turns stiff and stops at t = 6.3e-3, after the risk has fallen through
    /// both midpoints: those crossings, located in the segment that failed, are kept.
    #[test]
    fn crossings_located_before_a_failure_are_kept() {
        let mut p = problem(1e-13);
        (p.rtol, p.atol) = (1e-8, 1e-10);
        let times: Vec<f64> = (0..600)
            .map(|i| 1e-14 * (3e14f64).powf(i as f64 / 599.0))
            .collect();
        let levels = [Some(0.75), Some(0.25)];
        let run =
            plateau_chain_through(&p, &times, PlateauStart::FirstOrder, &levels, &|_| 0.0).unwrap();
        let end = *run.t.last().unwrap();
        assert!(
            run.failure.is_some(),
            "the chain no longer fails: pick another case"
        );
        let (t2, t3) = (run.crossings[0].unwrap(), run.crossings[1].unwrap());
        assert!(t2 < t3 && t3 < end, "{t2} {t3} {end}");
        // And they are where the sampled risk puts them, to a grid spacing (2 % of t here).
        for (t, level) in [(t2, 0.75), (t3, 0.25)] {
            let read = timescales_analysis::crossing_time(&run.t, &run.risk, level).unwrap();
            assert!((read / t - 1.0).abs() < 0.03, "{read} vs {t}");
        }
    }
}
