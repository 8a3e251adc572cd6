//! The reduced flow `x' = g(x, h(x), 0)` on an attracting branch `y = h(x)`, with fold
//! detection and the optional first-order correction.

mod branch;
mod extended;
mod fold;
mod ode;
mod watch;

use std::cell::Cell;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use timescales_ode::{
    IntegrationError, Rodas4, SlowFastSystem, Solver, SolverOptions, SolverStats, integrate,
};

use crate::linear::{blocks, factor_fast};
use crate::{NewtonOptions, OuterError, solve_fast};
use branch::{Tracker, local};
use extended::{impasse, solve_fold};
use fold::locate;
use ode::ReducedOde;
use watch::{Sample, Watch};

pub use extended::{ImpasseEvent, ImpasseKind};
pub use fold::{FoldEvent, FoldKind};

/// Options of [`solve_reduced`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReducedOptions {
    /// Relative tolerance of the integrator.
    pub rtol: f64,
    /// Absolute tolerance of the integrator.
    pub atol: f64,
    /// Newton settings for `f(x, y, 0) = 0`.
    pub newton: NewtonOptions,
    /// The flow stops when the largest real part of the eigenvalues of `∂f/∂y` rises above
    /// `−margin · |max Re λ at t₀|` (loss of attractivity ahead).
    pub attractivity_margin: f64,
    /// Largest step (unbounded when `None`).
    pub h_max: Option<f64>,
    /// Most accepted steps.
    pub max_steps: usize,
}

impl Default for ReducedOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-10,
            atol: 1e-12,
            newton: NewtonOptions::default(),
            attractivity_margin: 1e-4,
            h_max: None,
            max_steps: 1_000_000,
        }
    }
}

/// Where the reduced flow starts: `x(t₀) = x0`, the branch through the root of
/// `f(x0, ·, 0) = 0` that Newton reaches from `y_guess`, and, to compute the first-order
/// correction, `X₁(t₀)` (given by matching with the initial layer).
#[derive(Debug, Clone, PartialEq)]
pub struct OuterStart {
    /// Initial time.
    pub t0: f64,
    /// Slow state at `t₀`.
    pub x0: Vec<f64>,
    /// Guess of the fast state on the wanted branch.
    pub y_guess: Vec<f64>,
    /// `X₁(t₀)`; `None` skips the first-order correction.
    pub x1_0: Option<Vec<f64>>,
}

/// How the reduced flow ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Termination {
    /// All output times were reached.
    Completed,
    /// The flow stopped at a loss of normal hyperbolicity before the last output time.
    Fold(FoldEvent),
    /// The flow stopped at an impasse (the branch or the slow flow ran away where
    /// `∂f/∂y` is regular) before the last output time.
    Impasse(ImpasseEvent),
}

/// The first-order outer correction at the output times.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FirstOrderOuter {
    /// `X₁(t)`, one row per output time.
    pub x1: Vec<Vec<f64>>,
    /// `Y₁(t)`.
    pub y1: Vec<Vec<f64>>,
}

/// The reduced solution at the output times reached.
#[derive(Debug, Clone, PartialEq)]
pub struct OuterSolution {
    /// Output times reached (all of them when [`Termination::Completed`]).
    pub t: Vec<f64>,
    /// `X₀(t)`, one row per output time.
    pub x: Vec<Vec<f64>>,
    /// `Y₀(t) = h(X₀(t))`.
    pub y: Vec<Vec<f64>>,
    /// `Y₀'(t) = H g` (the slope of the fast variables along the flow).
    pub dydt: Vec<Vec<f64>>,
    /// Largest real part of the eigenvalues of `∂f/∂y` at each output time.
    pub max_real: Vec<f64>,
    /// The first-order correction, when requested.
    pub first_order: Option<FirstOrderOuter>,
    /// How the flow ended.
    pub termination: Termination,
    /// Integrator counters.
    pub stats: SolverStats,
}

impl OuterSolution {
    /// The solution if every output time was reached.
    ///
    /// # Errors
    /// [`OuterError::Fold`] or [`OuterError::Impasse`] with the event otherwise.
    pub fn into_complete(self) -> Result<Self, OuterError> {
        match &self.termination {
            Termination::Completed => Ok(self),
            Termination::Fold(ev) => Err(OuterError::Fold(Box::new(ev.clone()))),
            Termination::Impasse(ev) => Err(OuterError::Impasse(Box::new(ev.clone()))),
        }
    }
}

/// Integrates the reduced problem from `start` through the output times `t_out`
/// (increasing, `≥ t₀`).
///
/// The branch is the root of `f(x₀, ·, 0) = 0` that Newton reaches from `start.y_guess`; it
/// must be attracting there. The flow stops, with [`Termination::Fold`], where
/// attractivity is lost (largest real part of the eigenvalues of `∂f/∂y` above
/// `−margin·|max Re λ(t₀)|`, or the branch ends and Newton fails); the outputs before
/// that point are returned.
///
/// # Errors
/// [`OuterError::NotAttracting`] for a repelling or degenerate initial branch, Newton
/// failures at `t₀`, [`OuterError::Integration`] when the integrator fails away from any
/// loss of hyperbolicity, [`OuterError::InvalidRequest`] for inconsistent dimensions.
pub fn solve_reduced<S: SlowFastSystem + ?Sized>(
    sys: &S,
    start: &OuterStart,
    t_out: &[f64],
    opts: &ReducedOptions,
) -> Result<OuterSolution, OuterError> {
    let (n, m) = (sys.slow_dim(), sys.fast_dim());
    if start.x0.len() != n || start.y_guess.len() != m {
        return Err(OuterError::InvalidRequest(format!(
            "the system has {n} slow and {m} fast variables; got x0 of length {} and y_guess of length {}",
            start.x0.len(),
            start.y_guess.len()
        )));
    }
    if let Some(x1) = &start.x1_0
        && x1.len() != n
    {
        return Err(OuterError::InvalidRequest(format!(
            "X₁(t₀) has {} components, expected {n}",
            x1.len()
        )));
    }
    if n == 0 {
        return Err(OuterError::InvalidRequest(
            "the system has no slow variable".into(),
        ));
    }
    let y0 = solve_fast(sys, &start.x0, &start.y_guess, 0.0, &opts.newton)?.y;
    let loc = local(sys, &start.x0, &y0).ok_or_else(|| {
        if factor_fast(&blocks(sys, &start.x0, &y0, 0.0).fy).is_none() {
            OuterError::SingularFastJacobian {
                x: start.x0.clone(),
                y: y0.clone(),
            }
        } else {
            OuterError::Eigenvalues {
                x: start.x0.clone(),
                y: y0.clone(),
            }
        }
    })?;
    let mu0 = loc.max_real;
    let y_start = y0.clone();
    let threshold = -opts.attractivity_margin * mu0.abs();
    if loc.max_real.is_nan() || loc.max_real >= threshold.min(0.0) {
        return Err(OuterError::NotAttracting {
            t: start.t0,
            x: start.x0.clone(),
            y: y0,
            max_real: loc.max_real,
        });
    }
    let tracker = Tracker {
        x: start.x0.clone(),
        y: y0.clone(),
        h: loc.h.clone(),
    };
    let first_order = start.x1_0.is_some();
    let mut ode = ReducedOde {
        sys,
        n,
        first_order,
        newton: opts.newton,
        tracker: tracker.clone(),
        jac: DMatrix::zeros(0, 0),
        lu: None,
        newton_solves: Cell::new(0),
    };
    let mut watch = Watch {
        sys,
        n,
        newton: opts.newton,
        tracker,
        threshold,
        first_order,
        regular: vec![Sample {
            t: start.t0,
            x: start.x0.clone(),
            y: y0,
            max_real: loc.max_real,
            oscillatory: loc.oscillatory,
        }],
        stop: None,
        lost: false,
        out_t: Vec::new(),
        out_x: Vec::new(),
        out_y: Vec::new(),
        out_dy: Vec::new(),
        out_mu: Vec::new(),
        out_x1: Vec::new(),
        out_y1: Vec::new(),
        output_failure: None,
    };
    let mut u0 = start.x0.clone();
    if let Some(x1) = &start.x1_0 {
        u0.extend_from_slice(x1);
    }
    let solver_opts = SolverOptions {
        rtol: opts.rtol,
        atol: opts.atol,
        h_max: opts.h_max,
        max_steps: opts.max_steps,
        ..SolverOptions::default()
    };
    let mut rodas = Rodas4::new(&mut ode, start.t0, &u0, &solver_opts)?;
    let result = integrate(&mut rodas, t_out, &mut [], &mut watch);
    let stats = rodas.stats();
    if let Some(e) = watch.output_failure.take() {
        return Err(e);
    }
    // The observer stops the flow where attractivity falls below the margin or the branch
    // is lost; an integrator failure where attractivity was fading is the loss itself.
    let failure = match result {
        Ok(outcome) if outcome.completed() => None,
        Ok(_) => Some(None),
        Err(err) => Some(Some(err)),
    };
    let termination = match failure {
        None => Termination::Completed,
        Some(err) => {
            // Fading: attractivity down to 5% of its initial strength, or the extrapolated
            // loss within ten steps.
            let fading = watch.regular.len() == 2 && {
                let (a, b) = (&watch.regular[0], &watch.regular[1]);
                let (ma, mb) = (a.max_real, b.max_real);
                let ahead = if b.oscillatory {
                    -mb / (mb - ma)
                } else {
                    mb * mb / (ma * ma - mb * mb)
                };
                mb > ma && (ahead <= 10.0 || mb > 0.05 * mu0)
            };
            let near_loss = err.is_none() || fading;
            let runaway = impasse(sys, &watch.regular, &start.x0, &y_start);
            match (near_loss || watch.lost, err) {
                (false, Some(err)) => match runaway {
                    Some(ev) if ev.kind != ImpasseKind::BranchLost => Termination::Impasse(ev),
                    _ => return Err(OuterError::Integration(err)),
                },
                (_, err) => match locate(&watch.regular, watch.stop.as_ref()) {
                    // A fold: solved from the extended system; where it has no solution
                    // and attractivity was not fading, the branch ran away: an impasse.
                    Some(ev) if ev.kind == FoldKind::Fold => {
                        match (solve_fold(sys, &ev, &opts.newton), runaway) {
                            (Some(solved), _) => Termination::Fold(solved),
                            (None, Some(imp)) if !near_loss => Termination::Impasse(imp),
                            (None, _) => Termination::Fold(ev),
                        }
                    }
                    Some(ev) => Termination::Fold(ev),
                    None => {
                        return Err(OuterError::Integration(err.unwrap_or_else(|| {
                            IntegrationError::InvalidRequest(
                                "attractivity lost with no regular point to locate it from".into(),
                            )
                        })));
                    }
                },
            }
        }
    };
    let first_order = first_order.then(|| FirstOrderOuter {
        x1: std::mem::take(&mut watch.out_x1),
        y1: std::mem::take(&mut watch.out_y1),
    });
    Ok(OuterSolution {
        t: watch.out_t,
        x: watch.out_x,
        y: watch.out_y,
        dydt: watch.out_dy,
        max_real: watch.out_mu,
        first_order,
        termination,
        stats,
    })
}

#[cfg(test)]
mod tests;
