//! The driver: the loop around a [`Solver`] that serves output times, locates events and
//! lets an observer watch (and stop) the run.
//!
//! [`integrate`] steps the solver until the last output time, a terminal event, or the
//! observer's request to stop. Within each accepted step it, in time order: locates the
//! event roots inside the step and shows each to [`Observer::root`]; hands the observer every output time before the step's end
//! (dense output, or the step's end itself for a solver that lands on outputs); calls
//! [`Observer::accepted_step`]; then the output times equal to the step's end. A terminal
//! event ends the run at its root, after the output times up to the root. Solver failures
//! are returned as errors; the solver's statistics stay readable after any outcome.

use std::ops::ControlFlow;
use std::time::Instant;

use crate::event::EventState;
use crate::{Event, EventHit, IntegrationError, Observer, OutputMode, Solver, SolverStats};

/// `n ≥ 2` output times log-spaced from `t_min > 0` to `t_max`:
/// `t_i = exp(ln t_min + (ln t_max − ln t_min) i/(n − 1))`, the last exactly `t_max`.
///
/// ```
/// let t = timescales_ode::log_grid(1e-3, 1.0, 4).unwrap();
/// assert_eq!(t.len(), 4);
/// assert!((t[1] - 1e-2).abs() < 1e-15 && t[3] == 1.0);
/// ```
///
/// # Errors
/// [`IntegrationError::InvalidRequest`] unless `0 < t_min < t_max < ∞` and `n ≥ 2`.
pub fn log_grid(t_min: f64, t_max: f64, n: usize) -> Result<Vec<f64>, IntegrationError> {
    if !(t_min > 0.0 && t_max > t_min && t_max.is_finite()) || n < 2 {
        return Err(IntegrationError::InvalidRequest(format!(
            "a log grid needs 0 < t_min < t_max and at least 2 points, got [{t_min}, {t_max}] with {n}"
        )));
    }
    let (l0, l1) = (t_min.ln(), t_max.ln());
    Ok((0..n)
        .map(|i| {
            if i == n - 1 {
                t_max
            } else {
                (l0 + (l1 - l0) * i as f64 / (n - 1) as f64).exp()
            }
        })
        .collect())
}

/// Why [`integrate`] returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The last output time was reached.
    Completed,
    /// A terminal event fired: its root (also the last entry of [`Outcome::events`]).
    Event(EventHit),
    /// The observer returned `Break` at time `t` (after an accepted step ending there, or at
    /// an output time).
    Observer {
        /// Time of the observation that stopped the run.
        t: f64,
    },
}

/// What a run of [`integrate`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Why it returned.
    pub stop: Stop,
    /// Every event root located, in time order (the terminal one last).
    pub events: Vec<EventHit>,
    /// The solver's counters at the end, with the wall time of this run.
    pub stats: SolverStats,
}

impl Outcome {
    /// Whether the last output time was reached.
    pub fn completed(&self) -> bool {
        self.stop == Stop::Completed
    }
}

/// Checks output times: finite, non-decreasing, none before `t0`.
fn check_outputs(t0: f64, t_out: &[f64]) -> Result<(), IntegrationError> {
    let mut prev = t0;
    for (i, &t) in t_out.iter().enumerate() {
        if !t.is_finite() || t < prev {
            return Err(IntegrationError::InvalidRequest(format!(
                "output times must be finite, non-decreasing and ≥ t0 = {t0}; times[{i}] = {t}"
            )));
        }
        prev = t;
    }
    Ok(())
}

fn stopped(flow: ControlFlow<()>) -> bool {
    flow.is_break()
}

/// Integrates with `solver` from its current time through the output times `t_out`
/// (non-decreasing, none before the solver's time), watching `events` and reporting to
/// `observer` (see the module documentation for the order of calls).
///
/// ```
/// use timescales_ode::{integrate, Direction, Dopri5, Event, OdeSystem, Recorder, SolverOptions, Stop};
///
/// /// u' = −u: u = e^{−t} crosses 1/2 at t = ln 2.
/// struct Decay;
/// impl OdeSystem for Decay {
///     fn dim(&self) -> usize { 1 }
///     fn rhs(&self, u: &[f64], du: &mut [f64]) { du[0] = -u[0]; }
/// }
/// # fn main() -> Result<(), timescales_ode::IntegrationError> {
/// let opts = SolverOptions { rtol: 1e-10, atol: 1e-12, ..SolverOptions::default() };
/// let mut solver = Dopri5::new(Decay, 0.0, &[1.0], &opts)?;
/// let mut half = [Event::new(|_t, u: &[f64]| u[0] - 0.5).direction(Direction::Falling)];
/// let mut rec = Recorder::new(vec!["u".into()]);
/// let out = integrate(&mut solver, &[0.0, 0.5, 1.0, 2.0], &mut half, &mut rec)?;
/// let Stop::Event(hit) = out.stop else { panic!("the event fires") };
/// assert!((hit.t - 2f64.ln()).abs() < 1e-9);
/// assert_eq!(rec.trajectory.t, [0.0, 0.5]); // outputs after the root are not reached
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`IntegrationError::InvalidRequest`] for bad output times, any failure of the solver
/// (with the time it reached), and [`IntegrationError::Interrupted`] after the first step
/// that ends once the process's [`interrupt`](crate::interrupt) was requested (the
/// observer has seen that step).
pub fn integrate<V, O>(
    solver: &mut V,
    t_out: &[f64],
    events: &mut [Event<'_>],
    observer: &mut O,
) -> Result<Outcome, IntegrationError>
where
    V: Solver + ?Sized,
    O: Observer + ?Sized,
{
    let started = Instant::now();
    let t0 = solver.t();
    check_outputs(t0, t_out)?;
    let mut hits = Vec::new();
    let finish = |stop, hits, solver: &V| {
        let mut stats = solver.stats();
        stats.wall_seconds = started.elapsed().as_secs_f64();
        Ok(Outcome {
            stop,
            events: hits,
            stats,
        })
    };
    let mut next = 0;
    while next < t_out.len() && t_out[next] <= t0 {
        if stopped(observer.observe(t0, solver.state())) {
            return finish(Stop::Observer { t: t0 }, hits, solver);
        }
        next += 1;
    }
    let Some(&t_end) = t_out.last() else {
        return finish(Stop::Completed, hits, solver);
    };
    if next == t_out.len() {
        return finish(Stop::Completed, hits, solver);
    }
    let mode = solver.output_mode();
    if mode == OutputMode::Interpolate {
        solver.set_stop_time(t_end)?;
    }
    let mut watch = EventState::new(solver, events);
    let mut dense = vec![0.0; solver.dim()];
    while next < t_out.len() {
        if mode == OutputMode::LandOnOutputs {
            solver.set_stop_time(t_out[next])?;
        }
        let t = solver.step()?;
        let roots = watch.roots_in_step(solver, events, &mut dense)?;
        for hit in &roots {
            observer.root(hit);
        }
        let terminal = roots
            .last()
            .filter(|h| events[h.index].is_terminal())
            .map(|h| h.t);
        hits.extend(roots);
        // Output times inside the step (before its end, or up to a terminal root).
        let before = |tq: f64| match terminal {
            Some(tr) => tq <= tr,
            None => tq < t,
        };
        while next < t_out.len() && before(t_out[next]) {
            let tq = t_out[next];
            solver.interpolate(tq, &mut dense)?;
            if stopped(observer.observe(tq, &dense)) {
                return finish(Stop::Observer { t: tq }, hits, solver);
            }
            next += 1;
        }
        if terminal.is_some() {
            let hit = hits.last().cloned().expect("a terminal hit was found");
            return finish(Stop::Event(hit), hits, solver);
        }
        if stopped(observer.accepted_step(t, solver.state())) {
            return finish(Stop::Observer { t }, hits, solver);
        }
        if crate::interrupt::requested() {
            return Err(IntegrationError::Interrupted { t });
        }
        while next < t_out.len() && t_out[next] <= t {
            if stopped(observer.observe(t, solver.state())) {
                return finish(Stop::Observer { t }, hits, solver);
            }
            next += 1;
        }
    }
    finish(Stop::Completed, hits, solver)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_systems::Linear;
    use crate::{Bdf, DenseSlowFast, Direction, Recorder, Rodas4, SlowFastSystem, SolverOptions};

    /// `x' = y, ε y' = −x` with ε = 1: the harmonic oscillator, `x = cos t`, `y = −sin t`.
    struct Oscillator;
    impl SlowFastSystem for Oscillator {
        fn slow_dim(&self) -> usize {
            1
        }
        fn fast_dim(&self) -> usize {
            1
        }
        fn slow_field(&self, _x: &[f64], y: &[f64], _e: f64, out: &mut [f64]) {
            out[0] = y[0];
        }
        fn fast_field(&self, x: &[f64], _y: &[f64], _e: f64, out: &mut [f64]) {
            out[0] = -x[0];
        }
    }

    fn opts() -> SolverOptions {
        SolverOptions {
            rtol: 1e-10,
            atol: 1e-12,
            ..SolverOptions::default()
        }
    }

    fn solvers() -> Vec<Box<dyn Solver>> {
        let sys = || DenseSlowFast::new(Oscillator, 1.0);
        vec![
            Box::new(Rodas4::new(sys(), 0.0, &[1.0, 0.0], &opts()).unwrap()),
            Box::new(Bdf::new(sys(), 0.0, &[1.0, 0.0], &opts()).unwrap()),
        ]
    }

    #[test]
    fn terminal_event_is_located_on_the_dense_output() {
        // x = cos t falls through 0 at t = π/2 (closed form); the outputs after it are not
        // served, those before it are.
        for mut solver in solvers() {
            let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
            let mut ev = [Event::new(|_t, u: &[f64]| u[0]).direction(Direction::Falling)];
            let out =
                integrate(&mut *solver, &[0.0, 1.0, 1.5, 2.0, 4.0], &mut ev, &mut rec).unwrap();
            let Stop::Event(hit) = &out.stop else {
                panic!("no event: {out:?}")
            };
            // BDF's error is ~100 rtol (module docs of bdf): judge both at 1e-7.
            assert!(
                (hit.t - std::f64::consts::FRAC_PI_2).abs() < 1e-7,
                "{}",
                hit.t
            );
            assert!(!hit.rising && hit.index == 0);
            assert!((hit.state[1] + 1.0).abs() < 1e-7);
            assert_eq!(rec.trajectory.t, [0.0, 1.0, 1.5]);
            assert_eq!(out.events.len(), 1);
            assert_eq!(out.stats.steps, solver.stats().steps);
        }
    }

    #[test]
    fn non_terminal_events_are_recorded_in_time_order() {
        // x = cos t crosses 0 at π/2, 3π/2, 5π/2 (falling, rising, falling); y + 1/2 =
        // 1/2 − sin t falls through 0 at π/6 and 13π/6 and rises at 5π/6 (then 17π/6 > 8):
        // only the rising crossing of the second event is kept.
        use std::f64::consts::PI;
        for mut solver in solvers() {
            let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
            let mut ev = [
                Event::new(|_t, u: &[f64]| u[0]).non_terminal(),
                Event::new(|_t, u: &[f64]| u[1] + 0.5)
                    .direction(Direction::Rising)
                    .non_terminal(),
            ];
            let out = integrate(&mut *solver, &[0.0, 8.0], &mut ev, &mut rec).unwrap();
            assert!(out.completed());
            let got: Vec<(usize, f64)> = out.events.iter().map(|h| (h.index, h.t)).collect();
            let want = [
                (0, PI / 2.0),
                (1, 5.0 * PI / 6.0),
                (0, 3.0 * PI / 2.0),
                (0, 5.0 * PI / 2.0),
            ];
            assert_eq!(got.len(), want.len(), "{got:?}");
            for ((i, t), (j, s)) in got.iter().zip(want) {
                assert_eq!(*i, j);
                assert!((t - s).abs() < 1e-7, "{t} vs {s}");
            }
            assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
            assert!(!out.events[0].rising && out.events[1].rising && out.events[2].rising);
        }
    }

    /// `u' = u²`, `u(0) = 1`: `u = 1/(1 − t)` passes 2 at `t = ½` and blows up at 1; the
    /// root is shown to the observer, which keeps it, although the run then fails.
    #[test]
    fn the_observer_keeps_the_roots_located_before_a_failure() {
        struct Blowup;
        impl crate::OdeSystem for Blowup {
            fn dim(&self) -> usize {
                1
            }
            fn rhs(&self, u: &[f64], du: &mut [f64]) {
                du[0] = u[0] * u[0];
            }
        }
        struct Roots(Vec<f64>);
        impl Observer for Roots {
            fn observe(&mut self, _t: f64, _u: &[f64]) -> ControlFlow<()> {
                ControlFlow::Continue(())
            }
            fn root(&mut self, hit: &EventHit) {
                self.0.push(hit.t);
            }
        }
        let mut solver = crate::Dopri5::new(Blowup, 0.0, &[1.0], &opts()).unwrap();
        let mut ev = [Event::new(|_t, u: &[f64]| u[0] - 2.0).non_terminal()];
        let mut roots = Roots(vec![]);
        let result = integrate(&mut solver, &[0.0, 2.0], &mut ev, &mut roots);
        assert!(result.is_err(), "{result:?}");
        assert_eq!(roots.0.len(), 1);
        assert!((roots.0[0] - 0.5).abs() < 1e-9, "{:?}", roots.0);
    }

    #[test]
    fn event_at_the_start_does_not_fire() {
        // g = x − 1 is zero at t = 0 and negative after: no crossing.
        let mut s = Bdf::new(
            DenseSlowFast::new(Oscillator, 1.0),
            0.0,
            &[1.0, 0.0],
            &opts(),
        )
        .unwrap();
        let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
        let mut ev = [Event::new(|_t, u: &[f64]| u[0] - 1.0)];
        let out = integrate(&mut s, &[1.0], &mut ev, &mut rec).unwrap();
        assert!(out.completed() && out.events.is_empty());
    }

    #[test]
    fn outputs_at_the_start_and_empty_requests() {
        let mut s =
            Rodas4::new(DenseSlowFast::new(Linear, 0.1), 0.0, &[1.0, 0.0], &opts()).unwrap();
        let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
        let out = integrate(&mut s, &[], &mut [], &mut rec).unwrap();
        assert!(out.completed() && rec.trajectory.is_empty());
        let out = integrate(&mut s, &[0.0, 0.0], &mut [], &mut rec).unwrap();
        assert!(out.completed());
        assert_eq!(rec.trajectory.t, [0.0, 0.0]);
        assert_eq!(s.stats().steps, 0);
        assert!(integrate(&mut s, &[f64::NAN], &mut [], &mut rec).is_err());
    }
}
