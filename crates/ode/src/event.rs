//! Events: roots of functions of the solution, located on a solver's dense output.
//!
//! An event function `g(t, u)` is watched across every accepted step: when its sign changes
//! between the ends of a step (in the chosen [`Direction`]), the root is bracketed in
//! `[t_{n−1}, t_n]` and refined by the Illinois variant of regula falsi on
//! [`Solver::interpolate`] until the bracket is shorter than
//! `100 u (|t_n| + |h|)` (`u` the unit round-off; SUNDIALS CVODE's root finder uses the
//! same algorithm and tolerance). The located time is the bracket's end on the far side of
//! the crossing, so `g` has changed sign there.

use crate::{IntegrationError, Solver};

/// Which sign changes of `g` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `g` goes from negative to non-negative.
    Rising,
    /// `g` goes from positive to non-positive.
    Falling,
    /// Either.
    #[default]
    Either,
}

impl Direction {
    /// Whether a change from `before` to `after` is a crossing in this direction. A value
    /// that starts at exactly zero is not a crossing (the root was at the previous point).
    fn crosses(self, before: f64, after: f64) -> bool {
        let rising = before < 0.0 && after >= 0.0;
        let falling = before > 0.0 && after <= 0.0;
        match self {
            Self::Rising => rising,
            Self::Falling => falling,
            Self::Either => rising || falling,
        }
    }
}

/// A boxed event function `g(t, u)`.
type EventFunction<'a> = Box<dyn FnMut(f64, &[f64]) -> f64 + 'a>;

/// An event function `g(t, u)` with its direction and whether it stops the integration.
///
/// ```
/// use timescales_ode::{Direction, Event};
/// // Stop when the first component falls through 1/2.
/// let event = Event::new(|_t, u: &[f64]| u[0] - 0.5).direction(Direction::Falling);
/// assert!(event.is_terminal());
/// ```
pub struct Event<'a> {
    g: EventFunction<'a>,
    direction: Direction,
    terminal: bool,
}

impl std::fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("direction", &self.direction)
            .field("terminal", &self.terminal)
            .finish_non_exhaustive()
    }
}

impl<'a> Event<'a> {
    /// A terminal event on sign changes of `g` in either direction.
    pub fn new(g: impl FnMut(f64, &[f64]) -> f64 + 'a) -> Self {
        Self {
            g: Box::new(g),
            direction: Direction::Either,
            terminal: true,
        }
    }
    /// Counts only sign changes in `direction`.
    #[must_use]
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }
    /// Records the root and carries on instead of stopping.
    #[must_use]
    pub fn non_terminal(mut self) -> Self {
        self.terminal = false;
        self
    }
    /// Whether the event stops the integration.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }
    /// `g(t, u)`.
    pub fn value(&mut self, t: f64, u: &[f64]) -> f64 {
        (self.g)(t, u)
    }
}

/// A located root.
#[derive(Debug, Clone, PartialEq)]
pub struct EventHit {
    /// Index of the event in the list given to the driver.
    pub index: usize,
    /// Time of the root.
    pub t: f64,
    /// The state there (dense output).
    pub state: Vec<f64>,
    /// `true` when `g` rose through zero, `false` when it fell.
    pub rising: bool,
}

/// The values of every event function at the start of a step.
pub(crate) struct EventState {
    before: Vec<f64>,
    after: Vec<f64>,
}

impl EventState {
    /// Evaluates every event at the solver's current point.
    pub(crate) fn new<V: Solver + ?Sized>(solver: &V, events: &mut [Event<'_>]) -> Self {
        let (t, u) = (solver.t(), solver.state());
        Self {
            before: events.iter_mut().map(|e| e.value(t, u)).collect(),
            after: vec![0.0; events.len()],
        }
    }

    /// The roots inside the step just taken, in time order, up to and including the first
    /// terminal one; then moves the start values to the step's end. `scratch` (the
    /// dimension of the system; the driver lends its dense-output buffer) holds the dense
    /// output while a root is located.
    ///
    /// # Errors
    /// A dense-output failure (a bug of the solver, not of the data).
    pub(crate) fn roots_in_step<V: Solver + ?Sized>(
        &mut self,
        solver: &V,
        events: &mut [Event<'_>],
        scratch: &mut [f64],
    ) -> Result<Vec<EventHit>, IntegrationError> {
        let (t0, t1) = (solver.t_previous(), solver.t());
        for (a, e) in self.after.iter_mut().zip(events.iter_mut()) {
            *a = e.value(t1, solver.state());
        }
        let mut hits = Vec::new();
        for (i, e) in events.iter_mut().enumerate() {
            let (g0, g1) = (self.before[i], self.after[i]);
            if !e.direction.crosses(g0, g1) {
                continue;
            }
            let t = locate(solver, e, t0, g0, t1, g1, scratch)?;
            solver.interpolate(t, scratch)?;
            hits.push(EventHit {
                index: i,
                t,
                state: scratch.to_vec(),
                rising: g0 < 0.0,
            });
        }
        hits.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.index.cmp(&b.index)));
        if let Some(k) = hits.iter().position(|h| events[h.index].terminal) {
            hits.truncate(k + 1);
        }
        std::mem::swap(&mut self.before, &mut self.after);
        Ok(hits)
    }
}

/// The root of `g` in `[t0, t1]` (a sign change from `g0` to `g1`) by the Illinois method on
/// the dense output: the end of the final bracket on the `g1` side.
fn locate<V: Solver + ?Sized>(
    solver: &V,
    event: &mut Event<'_>,
    t0: f64,
    g0: f64,
    t1: f64,
    g1: f64,
    u: &mut [f64],
) -> Result<f64, IntegrationError> {
    let tol = 100.0 * f64::EPSILON * (t1.abs() + (t1 - t0).abs());
    let (mut a, mut ga, mut b, mut gb) = (t0, g0, t1, g1);
    if gb == 0.0 {
        // The root is the step's end: nothing to refine.
        return Ok(b);
    }
    // Which end was kept last time (Illinois halves its value when it is kept twice).
    let mut kept: Option<bool> = None;
    for _ in 0..200 {
        if b - a <= tol {
            break;
        }
        let mut c = b - gb * (b - a) / (gb - ga);
        // Stay strictly inside, at least a tenth of the tolerance from each end.
        let margin = 0.1 * tol;
        if !(c > a + margin && c < b - margin) {
            c = 0.5 * (a + b);
        }
        solver.interpolate(c, u)?;
        let gc = event.value(c, u);
        if gc == 0.0 || gc.signum() == gb.signum() {
            // The root is in [a, c].
            b = c;
            gb = gc;
            if kept == Some(true) {
                ga *= 0.5;
            }
            kept = Some(true);
            if gc == 0.0 {
                break;
            }
        } else {
            a = c;
            ga = gc;
            if kept == Some(false) {
                gb *= 0.5;
            }
            kept = Some(false);
        }
    }
    Ok(b)
}
