//! Inner problems that blow up in finite stretched time.
//!
//! An inner problem `dU/dT = F(U)` whose solution blows up at `T_c` with
//! `|U| ~ (T_c − T)^{−1/p}` (`p > 0`; `U' = U^{1+p}` is the model) is followed in the time `τ`
//! defined by
//!
//! ```text
//!   dT/dτ = 1/g(U),   dU/dτ = F(U)/g(U),   g = 1 + ‖U‖₂^p,
//! ```
//!
//! which turns the blow-up into exponential growth in `τ`. The run stops when
//! `max_i |U_i|` reaches a threshold (a terminal [`Event`] located on the dense output) and
//! the blow-up time is extrapolated from the largest component `j` there,
//!
//! ```text
//!   T_c = T + U_j / (p dU_j/dT),
//! ```
//!
//! exact for `U_j ∝ (T_c − T)^{−1/p}`. The two-layer model's phases `l ≥ 2` are such inner
//! problems (`p = l − 1`): their blow-up is the phase.
//!
//! ```
//! use timescales_inner::{solve_blowup, BlowupOptions};
//! use timescales_ode::OdeSystem;
//!
//! /// U' = U², U(0) = 1: U = 1/(1 − T), T_c = 1 (p = 1).
//! struct Square;
//! impl OdeSystem for Square {
//!     fn dim(&self) -> usize { 1 }
//!     fn rhs(&self, u: &[f64], du: &mut [f64]) { du[0] = u[0] * u[0]; }
//! }
//! let b = solve_blowup(&Square, &[1.0], &BlowupOptions::default(), |_t, _u| {}).unwrap();
//! assert!((b.t_blowup - 1.0).abs() < 1e-9);
//! ```

use std::ops::ControlFlow;

use timescales_ode::{
    Direction, Dop853, Event, Observer, OdeSystem, SolverOptions, SolverStats, Stop, integrate,
};

use crate::InnerError;

/// Options of [`solve_blowup`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlowupOptions {
    /// The rate `p` of the blow-up, `|U| ~ (T_c − T)^{−1/p}`.
    pub exponent: f64,
    /// `max_i |U_i|` that counts as blown up.
    pub threshold: f64,
    /// Largest blow-up time `τ` before giving up.
    pub tau_max: f64,
    /// Spacing in `τ` of the samples handed to the caller.
    pub sample_every: f64,
    /// Relative tolerance of the integration (Dop853).
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Default for BlowupOptions {
    fn default() -> Self {
        Self {
            exponent: 1.0,
            threshold: 1e8,
            tau_max: 400.0,
            sample_every: 0.1,
            rtol: 1e-11,
            atol: 1e-13,
        }
    }
}

/// The blow-up of an inner problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Blowup {
    /// Extrapolated blow-up time `T_c`.
    pub t_blowup: f64,
    /// Stretched time `T` where the threshold was reached.
    pub t_threshold: f64,
    /// `U` there.
    pub state: Vec<f64>,
    /// `dU/dT` there.
    pub rate: Vec<f64>,
    /// Integrator counters.
    pub stats: SolverStats,
}

/// `(U, T)` in the blow-up time `τ` (module documentation).
struct Reparametrized<'a, S: ?Sized> {
    system: &'a S,
    exponent: f64,
}

impl<S: OdeSystem + ?Sized> OdeSystem for Reparametrized<'_, S> {
    fn dim(&self) -> usize {
        self.system.dim() + 1
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        let m = self.system.dim();
        self.system.rhs(&u[..m], &mut du[..m]);
        let norm = u[..m].iter().map(|x| x * x).sum::<f64>().sqrt();
        let g = 1.0 + norm.powf(self.exponent);
        for d in &mut du[..m] {
            *d /= g;
        }
        du[m] = 1.0 / g;
    }
}

/// Hands `(T, U)` at the sample times to the caller.
struct Samples<F> {
    m: usize,
    sample: F,
}

impl<F: FnMut(f64, &[f64])> Observer for Samples<F> {
    fn observe(&mut self, _tau: f64, u: &[f64]) -> ControlFlow<()> {
        (self.sample)(u[self.m], &u[..self.m]);
        ControlFlow::Continue(())
    }
}

/// Integrates `dU/dT = F(U)` from `U(0) = u0` until it blows up (module documentation),
/// handing `(T, U)` to `sample` every `opts.sample_every` in `τ`.
///
/// # Errors
/// [`InnerError::InvalidRequest`] for bad options or a start of the wrong length,
/// [`InnerError::NoBlowup`] when `max |U_i|` stays below the threshold up to `τ_max`,
/// [`InnerError::Blowup`] when the integration fails first (a non-finite field, for
/// example).
pub fn solve_blowup<S: OdeSystem + ?Sized>(
    system: &S,
    u0: &[f64],
    opts: &BlowupOptions,
    sample: impl FnMut(f64, &[f64]),
) -> Result<Blowup, InnerError> {
    let m = system.dim();
    if u0.len() != m {
        return Err(InnerError::InvalidRequest(format!(
            "the inner problem has {m} variables, the start {}",
            u0.len()
        )));
    }
    let positive = |v: f64| v > 0.0 && v.is_finite();
    if !(positive(opts.exponent)
        && positive(opts.threshold)
        && positive(opts.tau_max)
        && positive(opts.sample_every))
    {
        return Err(InnerError::InvalidRequest(format!(
            "exponent, threshold, tau_max and sample_every must be positive and finite: {opts:?}"
        )));
    }
    let mut start = u0.to_vec();
    start.push(0.0);
    let count = (opts.tau_max / opts.sample_every).round() as usize;
    let taus: Vec<f64> = (0..=count).map(|i| i as f64 * opts.sample_every).collect();
    let threshold = opts.threshold;
    let largest = |u: &[f64]| u[..m].iter().fold(0.0f64, |x, v| x.max(v.abs()));
    let mut blown_up =
        [Event::new(move |_t, u: &[f64]| largest(u) - threshold).direction(Direction::Rising)];
    let solver_opts = SolverOptions {
        rtol: opts.rtol,
        atol: opts.atol,
        ..SolverOptions::default()
    };
    let failed = |source| InnerError::Blowup { source };
    let reparametrized = Reparametrized {
        system,
        exponent: opts.exponent,
    };
    let mut solver = Dop853::new(reparametrized, 0.0, &start, &solver_opts).map_err(failed)?;
    let mut samples = Samples { m, sample };
    let outcome = integrate(&mut solver, &taus, &mut blown_up, &mut samples).map_err(failed)?;
    let Stop::Event(hit) = outcome.stop else {
        let end = timescales_ode::Solver::state(&solver);
        return Err(InnerError::NoBlowup {
            tau_max: opts.tau_max,
            largest: largest(end),
            threshold,
        });
    };
    let (state, t_threshold) = (hit.state[..m].to_vec(), hit.state[m]);
    let mut rate = vec![0.0; m];
    system.rhs(&state, &mut rate);
    let j = (0..m)
        .max_by(|&x, &y| state[x].abs().total_cmp(&state[y].abs()))
        .ok_or_else(|| InnerError::InvalidRequest("an inner problem without variables".into()))?;
    Ok(Blowup {
        t_blowup: t_threshold + state[j] / (opts.exponent * rate[j]),
        t_threshold,
        state,
        rate,
        stats: outcome.stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `U' = U³`, `U(0) = 1`: `U = (1 − 2T)^{−1/2}`, `T_c = 1/2` (closed form, `p = 2`).
    struct Cube;
    impl OdeSystem for Cube {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&self, u: &[f64], du: &mut [f64]) {
            du[0] = u[0].powi(3);
        }
    }

    /// `U' = −U`: no blow-up.
    struct Decay;
    impl OdeSystem for Decay {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&self, u: &[f64], du: &mut [f64]) {
            du[0] = -u[0];
        }
    }

    #[test]
    fn blow_up_time_of_the_cubic_is_the_closed_form() {
        let opts = BlowupOptions {
            exponent: 2.0,
            ..BlowupOptions::default()
        };
        let mut samples = Vec::new();
        let b = solve_blowup(&Cube, &[1.0], &opts, |t, u| samples.push((t, u[0]))).unwrap();
        assert!((b.t_blowup - 0.5).abs() < 1e-9, "{}", b.t_blowup);
        assert!(b.state[0] >= opts.threshold * (1.0 - 1e-9));
        // The samples follow the closed form.
        for (t, u) in samples.iter().filter(|(t, _)| *t < 0.49) {
            assert!((u - (1.0 - 2.0 * t).powf(-0.5)).abs() < 1e-8 * u, "T = {t}");
        }
    }

    #[test]
    fn bounded_problems_and_bad_requests_are_errors() {
        let opts = BlowupOptions {
            tau_max: 20.0,
            ..BlowupOptions::default()
        };
        assert!(matches!(
            solve_blowup(&Decay, &[1.0], &opts, |_, _| {}),
            Err(InnerError::NoBlowup { .. })
        ));
        assert!(matches!(
            solve_blowup(&Decay, &[1.0, 2.0], &opts, |_, _| {}),
            Err(InnerError::InvalidRequest(_))
        ));
        let bad = BlowupOptions {
            exponent: 0.0,
            ..opts
        };
        assert!(matches!(
            solve_blowup(&Cube, &[1.0], &bad, |_, _| {}),
            Err(InnerError::InvalidRequest(_))
        ));
    }
}
