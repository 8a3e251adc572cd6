//! A fully specified run of the full ODE, and the driver that integrates it.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use timescales_ode::{
    Direction, Event, IntegrationError, Method, Observer, Outcome, SolverOptions, SolverStats,
    Stop, Trajectory, integrate,
};

use crate::{FlowError, InitialLaw, Invariant, Placement, TwoLayerFlow};

/// The smallest `ε` a [`FlowProblem`] accepts: the Newton matrices of the implicit solvers
/// hold products of rates `~ 1/ε`, so `1/ε²` must stay well inside double precision.
pub const MIN_EPSILON: f64 = 1e-100;

/// Where to record the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputTimes {
    /// `t = 0` and `samples` log-spaced points from `ε/10` to `t_end`.
    LogGrid {
        /// Number of log-spaced points.
        samples: usize,
    },
    /// An explicit increasing list of times in `[0, t_end]`.
    Explicit(Vec<f64>),
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowProblem {
    /// Activation coefficients `σ_0..σ_K`.
    pub sigma: Vec<f64>,
    /// Target coefficients `φ_0..φ_K`.
    pub phi: Vec<f64>,
    /// `½ Σ_{k>K} φ_k²`, added to reported risks.
    pub tail_energy: f64,
    /// Law of `a(0)`.
    pub law: InitialLaw,
    /// Particle count `N`.
    pub particles: usize,
    /// Placement of the particles.
    pub placement: Placement,
    /// `ε > 0`.
    pub epsilon: f64,
    /// Final time.
    pub t_end: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Output times.
    pub times: OutputTimes,
    /// Integrator.
    pub method: Method,
}

/// The result of [`simulate`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowRun {
    /// Columns `risk, r_0..r_K, M_0..M_K, max_abs_a, max_abs_s` at the output times.
    pub trajectory: Trajectory,
    /// Solver work counters and wall time.
    pub stats: SolverStats,
    /// Final `a_i`.
    pub final_a: Vec<f64>,
    /// Final `s_i`.
    pub final_s: Vec<f64>,
    /// Structural facts about the problem a reader should know (absent phases, …).
    pub notes: Vec<String>,
    /// Largest risk increase seen over one step (≤ 0 up to round-off for a monotone run).
    pub max_risk_increase: f64,
    /// `Some(t)` when the caller stopped the run at the accepted step ending at `t` (the
    /// trajectory is then partial, the final state and the solver statistics are that
    /// step's).
    pub interrupted_at: Option<f64>,
    /// The measured onsets `t_l`, `l = 1 … K`: the first time the risk falls through the
    /// midpoint `(R_{l−1} + R_l)/2` of consecutive plateau levels
    /// ([`FlowProblem::plateau_levels`]), located as an event on the integrator's dense output
    /// (to `~1e-14` of `t`, whatever the output times); `None` where the phase does not
    /// exist (`σ_l φ_l = 0` or `R_{l−1} = R_l`) or the risk does not get there by the end
    /// (or the interruption).
    #[serde(default)]
    pub onsets: Vec<Option<f64>>,
    /// The particles `(a_i, s_i)` at every output time, when asked for
    /// ([`simulate_with_particles`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particles: Option<ParticleStates>,
}

/// The particles at the output times of a run, row-major: row `j` holds `a_i(t_j)` (or
/// `s_i(t_j)`) for `i = 0..N`, so entry `(j, i)` is at `j · N + i`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticleStates {
    /// Particle count `N`.
    pub count: usize,
    /// The weights `w_i` of the particles (they sum to 1).
    pub weights: Vec<f64>,
    /// Second-layer weights `a_i(t_j)`, `times × N`.
    pub a: Vec<f64>,
    /// Overlaps `s_i(t_j)`, `times × N`.
    pub s: Vec<f64>,
}

/// Column names of a recorded trajectory for truncation degree `K` (without `t`).
pub fn column_names(degree: usize) -> Vec<String> {
    let mut names = vec!["risk".to_string()];
    names.extend((0..=degree).map(|k| format!("r_{k}")));
    names.extend((0..=degree).map(|k| format!("M_{k}")));
    names.push("max_abs_a".into());
    names.push("max_abs_s".into());
    names
}

impl FlowProblem {
    /// The shared public reference problem (model.md; `data/scenarios/public.toml` has the
    /// same physics): `σ(x) = exp(x − ½)` truncated at degree 5 (`σ_k = 1/sqrt(k!)`),
    /// `φ = [0, 1, 1, 1, 0, 0]`, `a(0) ~ Uniform[−1, 1]` on 64 quadrature nodes, `t_end = 3`,
    /// rtol 1e-8, atol 1e-10, 200 log-spaced outputs, the default method. Tests and benches
    /// change what they need with struct update syntax.
    pub fn public(epsilon: f64) -> Self {
        let mut factorial = 1.0;
        let sigma = (0..=5)
            .map(|k| {
                if k > 0 {
                    factorial *= f64::from(k);
                }
                1.0 / factorial.sqrt()
            })
            .collect();
        Self {
            sigma,
            phi: vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            tail_energy: 0.0,
            law: InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
            particles: 64,
            placement: Placement::Quadrature,
            epsilon,
            t_end: 3.0,
            rtol: 1e-8,
            atol: 1e-10,
            times: OutputTimes::LogGrid { samples: 200 },
            method: Method::default(),
        }
    }

    /// Checks every field; errors name the scenario key.
    ///
    /// # Errors
    /// [`FlowError::InvalidParameter`].
    pub fn validate(&self) -> Result<(), FlowError> {
        let bad = |key: &str, reason: String| {
            Err(FlowError::InvalidParameter {
                key: key.into(),
                reason,
            })
        };
        if self.sigma.is_empty() || self.sigma.len() != self.phi.len() {
            return bad(
                "activation/target",
                format!(
                    "coefficient lists must be non-empty and padded to one length (σ: {}, φ: {})",
                    self.sigma.len(),
                    self.phi.len()
                ),
            );
        }
        if let Some(k) = self.sigma.iter().position(|v| !v.is_finite()) {
            return bad(
                "activation",
                format!("coefficient σ_{k} is {}", self.sigma[k]),
            );
        }
        if let Some(k) = self.phi.iter().position(|v| !v.is_finite()) {
            return bad("target", format!("coefficient φ_{k} is {}", self.phi[k]));
        }
        if !(self.tail_energy.is_finite() && self.tail_energy >= 0.0) {
            return bad("target", format!("tail energy is {}", self.tail_energy));
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return bad(
                "run.epsilon",
                format!("must be positive and finite, got {}", self.epsilon),
            );
        }
        if self.epsilon < MIN_EPSILON {
            return bad(
                "run.epsilon",
                format!(
                    "must be at least {MIN_EPSILON:e}, got {:e}: the fast rates ~ 1/ε enter the \
                     implicit solvers' Newton matrices squared, which overflows double precision",
                    self.epsilon
                ),
            );
        }
        if !(self.t_end.is_finite() && self.t_end > 0.0) {
            return bad(
                "run.t_end",
                format!("must be positive and finite, got {}", self.t_end),
            );
        }
        if !(self.rtol.is_finite() && self.rtol > 0.0 && self.rtol < 1.0) {
            return bad("run.rtol", format!("must be in (0, 1), got {}", self.rtol));
        }
        if !(self.atol.is_finite() && self.atol > 0.0) {
            return bad(
                "run.atol",
                format!("must be positive and finite, got {}", self.atol),
            );
        }
        match &self.times {
            OutputTimes::LogGrid { samples } => {
                if *samples < 2 {
                    return bad("run.samples", format!("must be at least 2, got {samples}"));
                }
                if self.t_end <= self.epsilon / 10.0 {
                    return bad(
                        "run.t_end",
                        format!(
                            "must exceed ε/10 = {:e} for a log grid",
                            self.epsilon / 10.0
                        ),
                    );
                }
            }
            OutputTimes::Explicit(ts) => {
                if ts.is_empty() {
                    return bad("run.times", "must not be empty".into());
                }
                let mut prev = 0.0;
                for (i, &t) in ts.iter().enumerate() {
                    if !t.is_finite() || t < prev || t > self.t_end {
                        return bad(
                            "run.times",
                            format!(
                                "must be finite, non-decreasing, in [0, t_end = {}]; times[{i}] = {t}",
                                self.t_end
                            ),
                        );
                    }
                    prev = t;
                }
            }
        }
        self.law.validate()?;
        self.law.check_placement(self.particles, self.placement)?;
        Ok(())
    }

    /// Whether the particle count is fixed by the law: a discrete law with quadrature
    /// placement has one particle per atom, so no other `N` (no convergence in `N`) exists.
    pub fn particle_count_is_fixed(&self) -> bool {
        matches!(
            (&self.law, self.placement),
            (InitialLaw::Discrete { .. }, Placement::Quadrature)
        )
    }

    /// The output times: `[0] ∪ geomspace(ε/10, t_end, samples)`
    /// ([`log_grid`](timescales_ode::log_grid)), or the explicit list.
    pub fn output_times(&self) -> Vec<f64> {
        match &self.times {
            OutputTimes::Explicit(ts) => ts.clone(),
            OutputTimes::LogGrid { samples } => {
                let mut ts = vec![0.0];
                // validate() guarantees ε/10 < t_end and samples ≥ 2.
                ts.extend(
                    timescales_ode::log_grid(self.epsilon / 10.0, self.t_end, *samples)
                        .unwrap_or_default(),
                );
                ts
            }
        }
    }

    /// The plateau levels `R_l = ½ Σ_{k>l} φ_k² + tail`, `l = 0..K`
    /// ([`timescales_hermite::plateau_levels`]).
    pub fn plateau_levels(&self) -> Vec<f64> {
        timescales_hermite::plateau_levels(&self.phi, self.tail_energy)
    }

    /// The level the risk falls through at each onset `t_l`, `l = 1 … K`: the midpoint
    /// `(R_{l−1} + R_l)/2` of consecutive plateau levels, `None` where phase `l` does not
    /// exist (`σ_l φ_l = 0` or `R_{l−1} = R_l`).
    pub fn onset_levels(&self) -> Vec<Option<f64>> {
        let levels = self.plateau_levels();
        (1..levels.len())
            .map(|l| {
                let (before, after) = (levels[l - 1], levels[l]);
                let learnt = self
                    .sigma
                    .get(l)
                    .zip(self.phi.get(l))
                    .is_some_and(|(s, p)| s * p != 0.0);
                (learnt && before > after).then_some(0.5 * (before + after))
            })
            .collect()
    }

    /// Structural facts read off the coefficients (model.md §2, §4): a zero `σ_l φ_l`
    /// removes phase `l`; `φ_1 σ_1 = 0` freezes `s ≡ 0`.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let k = self.sigma.len() - 1;
        if k == 0 || self.sigma[1] * self.phi[1] == 0.0 {
            notes.push(
                "φ_1 σ_1 = 0: s ≡ 0 is invariant (ds/dt = (1 − s²) a Σ_k k σ_k r_k s^(k−1) vanishes \
                 at s = 0 with r_1 = φ_1), so only the degree-0 component is learnt; the risk \
                 cannot fall below ½ Σ_{k≥1} φ_k²."
                    .to_string(),
            );
        } else {
            for l in 2..=k {
                if self.sigma[l] * self.phi[l] == 0.0 {
                    let why = if self.sigma[l] == 0.0 {
                        format!("σ_{l} = 0: the network cannot represent degree {l}")
                    } else {
                        format!("φ_{l} = 0: the target has no degree-{l} part")
                    };
                    notes.push(format!("no phase {l}: {why}."));
                }
            }
        }
        if self.sigma[0] == 0.0 && self.phi[0] != 0.0 {
            notes.push(
                "σ_0 = 0 with φ_0 ≠ 0: the degree-0 residual r_0 = φ_0 is never learnt.".into(),
            );
        }
        notes
    }
}

/// Integrates `problem`; see [`simulate_with`].
///
/// # Errors
/// See [`simulate_with`].
pub fn simulate(problem: &FlowProblem) -> Result<FlowRun, FlowError> {
    simulate_with(problem, &mut |_| ControlFlow::Continue(()))
}

/// Integrates `problem` from `s_i(0) = 0`, `a_i(0)` placed by the law, reporting each
/// accepted step's time to `progress`. When `progress` returns `Break` (for example on
/// Ctrl-C) the run stops there and returns what it has: the trajectory up to the last output
/// time before that step, with [`FlowRun::interrupted_at`] set.
///
/// # Errors
/// [`FlowError::InvalidParameter`] for a bad problem, [`FlowError::Integration`] when the
/// integrator fails, [`FlowError::InvariantViolated`] when the risk increases beyond the
/// tolerance (`10·rtol·R + 1e-12·R(0)` per step, plus the rise its own error can cause near a
/// minimum of `R`) or some `|s_i| > 1 + 10·rtol`.
pub fn simulate_with(
    problem: &FlowProblem,
    progress: &mut dyn FnMut(f64) -> ControlFlow<()>,
) -> Result<FlowRun, FlowError> {
    simulate_recording(problem, false, progress)
}

/// [`simulate_with`], also recording every particle `(a_i, s_i)` at the output times in
/// [`FlowRun::particles`] (`2 · N` numbers per output time).
///
/// ```
/// # use timescales_meanfield::{FlowProblem, simulate_with_particles};
/// let problem = FlowProblem { particles: 8, ..FlowProblem::public(1e-4) };
/// let run = simulate_with_particles(&problem, &mut |_| std::ops::ControlFlow::Continue(()))?;
/// let p = run.particles.unwrap();
/// assert_eq!(p.s.len(), run.trajectory.t.len() * 8);
/// assert!(p.s.iter().all(|s| s.abs() <= 1.0));
/// assert_eq!(&p.a[p.a.len() - 8..], &run.final_a[..]); // the last output is t_end
/// # Ok::<(), timescales_meanfield::FlowError>(())
/// ```
///
/// # Errors
/// See [`simulate_with`].
pub fn simulate_with_particles(
    problem: &FlowProblem,
    progress: &mut dyn FnMut(f64) -> ControlFlow<()>,
) -> Result<FlowRun, FlowError> {
    simulate_recording(problem, true, progress)
}

fn simulate_recording(
    problem: &FlowProblem,
    record_particles: bool,
    progress: &mut dyn FnMut(f64) -> ControlFlow<()>,
) -> Result<FlowRun, FlowError> {
    problem.validate()?;
    let particles = problem
        .law
        .particles(problem.particles, problem.placement)?;
    let n = particles.a.len();
    let mut flow = TwoLayerFlow::new(
        problem.sigma.clone(),
        problem.phi.clone(),
        particles.weights.clone(),
        problem.epsilon,
        problem.tail_energy,
    );
    let mut u0 = vec![0.0; n];
    u0.extend_from_slice(&particles.a);
    let times = problem.output_times();
    let risk = RiskAt::new(flow.clone());
    let mut watch = Watch::new(
        &u0,
        problem.rtol * error_per_rtol(problem.method),
        problem.atol * error_per_rtol(problem.method),
        progress,
        &risk,
    );
    if record_particles {
        watch.particles = Some(ParticleStates {
            count: n,
            weights: particles.weights.clone(),
            a: Vec::new(),
            s: Vec::new(),
        });
    }
    // The onsets: falling events of the risk through the plateau midpoints.
    let midpoints = problem.onset_levels();
    // The events are evaluated one after another at the same (t, u) at the end of each
    // step, and the invariant check after them: one O(N) pass of the risk serves them all.
    let mut events: Vec<Event> = midpoints
        .iter()
        .flatten()
        .map(|&level| {
            let risk = &risk;
            Event::new(move |t, u: &[f64]| risk.at(t, u) - level)
                .direction(Direction::Falling)
                .non_terminal()
        })
        .collect();
    let wrap = |source, stats| FlowError::Integration {
        eps: problem.epsilon,
        particles: n,
        source,
        stats: Box::new(stats),
    };
    let opts = SolverOptions {
        rtol: problem.rtol,
        atol: problem.atol,
        ..SolverOptions::default()
    };
    let mut solver = problem
        .method
        .solver(&mut flow, 0.0, &u0, &opts)
        .map_err(|e| wrap(e, SolverStats::default()))?;
    let outcome = match integrate(&mut *solver, &times, &mut events, &mut watch) {
        // The process's interrupt, seen by the driver after `progress` let the step pass (a
        // signal arriving between the two checks): when `progress` stops there now, it is
        // the same stop as if it had seen it first. A caller that does not stop on the
        // interrupt gets the error.
        Err(IntegrationError::Interrupted { t }) if (watch.progress)(t).is_break() => Outcome {
            stop: Stop::Observer { t },
            events: Vec::new(),
            stats: solver.stats(),
        },
        other => other.map_err(|e| wrap(e, solver.stats()))?,
    };
    if let Some((t, invariant)) = watch.violation.take() {
        return Err(FlowError::InvariantViolated { t, invariant });
    }
    let mut notes = problem.notes();
    notes.extend(watch.saturation.note());
    let interrupted_at = match outcome.stop {
        Stop::Observer { t } => {
            notes.push(format!(
                "interrupted at t = {t:e}: the trajectory stops at the last output time before it"
            ));
            Some(t)
        }
        Stop::Completed | Stop::Event(_) => None,
    };
    // Event k is the k-th existing midpoint; its first root is the onset.
    let mut first_roots = (0..).map(|k| outcome.events.iter().find(|h| h.index == k).map(|h| h.t));
    let onsets = midpoints
        .iter()
        .map(|m| m.and_then(|_| first_roots.next().flatten()))
        .collect();
    let (s, a) = solver.state().split_at(n);
    Ok(FlowRun {
        trajectory: watch.trajectory,
        stats: outcome.stats,
        final_a: a.to_vec(),
        final_s: s.to_vec(),
        notes,
        max_risk_increase: watch.max_increase,
        interrupted_at,
        onsets,
        particles: watch.particles.take(),
    })
}

/// The integrator's global error in units of `rtol`, for the invariant checks. RODAS4 and the
/// explicit methods stay near `rtol`; BDF's risk error is 60–300 × rtol on the public problem
/// (`benches/RESULTS.md`), and a rise of the risk of that size is its error, not a broken
/// invariant. (BDF itself keeps `|s| ≤ 1` up to rounding, by step rejection and reflection;
/// the check on `|s|` guards the other methods and any regression.)
fn error_per_rtol(method: Method) -> f64 {
    match method {
        Method::Bdf => 300.0,
        Method::Rodas4 | Method::Dopri5 | Method::Dop853 => 1.0,
    }
}

/// The risk `R(u)` at `(t, u)`, remembering the last time it was asked for: the events
/// and the invariant check at the end of a step ask at the same `(t, u)`.
struct RiskAt {
    flow: TwoLayerFlow,
    last: std::cell::Cell<(f64, f64)>,
}

impl RiskAt {
    fn new(flow: TwoLayerFlow) -> Self {
        Self {
            flow,
            last: std::cell::Cell::new((f64::NAN, 0.0)),
        }
    }

    /// `R(u)`; `u` must be the same at the same `t` (the solver's state at a step's end).
    fn at(&self, t: f64, u: &[f64]) -> f64 {
        let (tc, r) = self.last.get();
        if tc == t {
            return r;
        }
        let (s, a) = u.split_at(self.flow.particles());
        let r = self.flow.risk_at(s, a);
        self.last.set((t, r));
        r
    }
}

/// Records the derived columns and checks the invariants after every accepted step.
struct Watch<'a> {
    trajectory: Trajectory,
    last_risk: f64,
    risk0: f64,
    rtol: f64,
    atol: f64,
    max_increase: f64,
    violation: Option<(f64, Invariant)>,
    progress: &'a mut dyn FnMut(f64) -> ControlFlow<()>,
    particles: Option<ParticleStates>,
    risk: &'a RiskAt,
    saturation: Saturation,
}

/// Particles whose overlap reached `|s| = 1` to within rounding ([`Saturation::PINNED`]): from
/// then on `1 − |s|`, which decides whether and when the particle leaves saturation, is not
/// resolved in `s` (the flow in `ζ = atanh s` resolves it: `benches/zeta_reference.py`).
#[derive(Debug, Default)]
struct Saturation {
    /// The first [`Saturation::TRACKED`] particles to get there, with the time.
    pinned: Vec<(usize, f64)>,
    /// The first of them to leave again (`|s| < 1 − 10⁻⁶`): (particle, pinned at, left at).
    released: Option<(usize, f64, f64)>,
}

impl Saturation {
    /// `1 − |s|` at or below this (8 ulps of 1) is rounding.
    const PINNED: f64 = 4.0 * f64::EPSILON;
    const TRACKED: usize = 64;

    /// `i` is at `|s| = 1` to within rounding at `t`.
    fn pin(&mut self, i: usize, t: f64) {
        if self.pinned.len() < Self::TRACKED && !self.pinned.iter().any(|p| p.0 == i) {
            self.pinned.push((i, t));
        }
    }

    fn watch_release(&mut self, t: f64, s: &[f64]) {
        if self.released.is_none()
            && let Some(&(i, at)) = self.pinned.iter().find(|p| s[p.0].abs() < 1.0 - 1e-6)
        {
            self.released = Some((i, at, t));
        }
    }

    /// The note a run's reader needs, if any particle got there.
    fn note(&self) -> Option<String> {
        let &(i, at) = self.pinned.first()?;
        let what = match self.released {
            Some((j, pinned, left)) => format!(
                " Particle {j} (pinned at t = {pinned:.4e}) left saturation at t = {left:.4e}: \
                 that time, and the risk from then on, are set by rounding; compare with the \
                 flow in ζ = atanh s (benches/zeta_reference.py)."
            ),
            None => " None of them left saturation here; in exact arithmetic some may, later \
                     (benches/zeta_reference.py integrates the flow in ζ = atanh s)."
                .into(),
        };
        let count = self.pinned.len();
        Some(format!(
            "{count}{} particle(s) reached |s| = 1 to within rounding (1 − |s| ≤ {:.1e}), the \
             first, particle {i}, at t = {at:.4e}: from then on their distance from 1 is not \
             resolved in s.{what}",
            if count == Self::TRACKED {
                " or more"
            } else {
                ""
            },
            Self::PINNED
        ))
    }
}

impl<'a> Watch<'a> {
    /// `rtol`, `atol` here are the expected errors (the requested tolerances times
    /// [`error_per_rtol`]); the checks allow ten times them.
    /// The flow is `risk`'s.
    fn new(
        u0: &[f64],
        rtol: f64,
        atol: f64,
        progress: &'a mut dyn FnMut(f64) -> ControlFlow<()>,
        risk: &'a RiskAt,
    ) -> Self {
        let mut w = Self {
            trajectory: Trajectory::new(column_names(risk.flow.degree())),
            last_risk: f64::INFINITY,
            risk0: 0.0,
            rtol,
            atol,
            max_increase: f64::NEG_INFINITY,
            violation: None,
            progress,
            particles: None,
            risk,
            saturation: Saturation::default(),
        };
        w.risk0 = w.row(u0)[0];
        w.last_risk = w.risk0;
        w
    }

    fn row(&self, u: &[f64]) -> Vec<f64> {
        let n = self.risk.flow.particles();
        let (s, a) = u.split_at(n);
        let m = self.risk.flow.moments(s, a);
        let r = self.risk.flow.residuals(&m);
        let mut row = vec![self.risk.flow.risk(&r)];
        row.extend_from_slice(&r);
        row.extend_from_slice(&m);
        row.push(a.iter().fold(0.0, |x: f64, v| x.max(v.abs())));
        row.push(s.iter().fold(0.0, |x: f64, v| x.max(v.abs())));
        row
    }

    fn check(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        let n = self.risk.flow.particles();
        let s_limit = 1.0 + 10.0 * self.rtol;
        self.saturation.watch_release(t, &u[..n]);
        // One pass: the range of every overlap, and the ones at |s| = 1 to within rounding.
        for (i, s) in u[..n].iter().enumerate() {
            let m = s.abs();
            if m > s_limit || !s.is_finite() {
                self.violation = Some((
                    t,
                    Invariant::OverlapOutOfRange {
                        particle: i,
                        s: u[i],
                    },
                ));
                return ControlFlow::Break(());
            }
            if 1.0 - m <= Saturation::PINNED {
                self.saturation.pin(i, t);
            }
        }
        let a = &u[n..];
        let risk = self.risk.at(t, u);
        let slack = 10.0 * self.rtol * self.last_risk + 1e-12 * self.risk0 + self.error_floor(a);
        self.max_increase = self.max_increase.max(risk - self.last_risk);
        if risk.is_nan() || risk > self.last_risk + slack {
            self.violation = Some((
                t,
                Invariant::RiskIncrease {
                    before: self.last_risk,
                    after: risk,
                    slack,
                },
            ));
            return ControlFlow::Break(());
        }
        self.last_risk = risk;
        ControlFlow::Continue(())
    }
}

impl Watch<'_> {
    /// The risk change the solver's own error can cause where the risk is near a minimum (so
    /// quadratic in that error): `½ Σ_k σ_k² (δ (1 + k max|a|))²`, with `δ = 10 (rtol ·
    /// max(|a|, 1) + atol)` the error allowed per component (`δM_k ≤ |δa| + k |a| |δs|`).
    /// Without it a run that has learnt everything (`R` at round-off) fails on a rise of
    /// the size of its own error, e.g. K = 0 with BDF at rtol 1e-6.
    fn error_floor(&self, a: &[f64]) -> f64 {
        let a_max = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let delta = 10.0 * (self.rtol * a_max + self.atol);
        let sum: f64 = self
            .risk
            .flow
            .sigma()
            .iter()
            .enumerate()
            .map(|(k, sk)| (sk * delta * (1.0 + k as f64 * a_max)).powi(2))
            .sum();
        0.5 * sum
    }
}

impl Observer for Watch<'_> {
    fn observe(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        let row = self.row(u);
        self.trajectory.push(t, &row);
        if let Some(p) = &mut self.particles {
            let (s, a) = u.split_at(p.count);
            p.s.extend_from_slice(s);
            p.a.extend_from_slice(a);
        }
        // Explicit integrators report only here, so check here too.
        self.check(t, u)
    }
    fn accepted_step(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        if (self.progress)(t).is_break() {
            return ControlFlow::Break(());
        }
        self.check(t, u)
    }
}
