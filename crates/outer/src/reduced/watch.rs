//! The observer of the reduced flow ([`Watch`]): records the outputs, and watches
//! attractivity at every accepted step, keeping the last regular [`Sample`]s from which a
//! loss is located.

use std::ops::ControlFlow;

use timescales_ode::{Observer, SlowFastSystem};

use super::branch::{Local, Tracker, local};
use crate::linear::eps_partials;
use crate::{NewtonOptions, OuterError};

#[derive(Debug, Clone)]
pub(super) struct Sample {
    pub(super) t: f64,
    pub(super) x: Vec<f64>,
    pub(super) y: Vec<f64>,
    pub(super) max_real: f64,
    pub(super) oscillatory: bool,
}

/// Records the outputs and watches attractivity at every accepted step.
pub(super) struct Watch<'a, S: ?Sized> {
    pub(super) sys: &'a S,
    pub(super) n: usize,
    pub(super) newton: NewtonOptions,
    pub(super) tracker: Tracker,
    pub(super) threshold: f64,
    pub(super) first_order: bool,
    /// The last two regular samples.
    pub(super) regular: Vec<Sample>,
    /// The sample that stopped the flow (attractivity below the margin, or lost).
    pub(super) stop: Option<Sample>,
    /// Newton failed at an accepted point.
    pub(super) lost: bool,
    pub(super) out_t: Vec<f64>,
    pub(super) out_x: Vec<Vec<f64>>,
    pub(super) out_y: Vec<Vec<f64>>,
    pub(super) out_dy: Vec<Vec<f64>>,
    pub(super) out_mu: Vec<f64>,
    pub(super) out_x1: Vec<Vec<f64>>,
    pub(super) out_y1: Vec<Vec<f64>>,
    /// A failure while recording an output (should not happen after an accepted step).
    pub(super) output_failure: Option<OuterError>,
}

impl<S: SlowFastSystem + ?Sized> Watch<'_, S> {
    fn sample(&mut self, t: f64, x: &[f64]) -> Option<(Sample, Local)> {
        let y = self.tracker.follow(self.sys, x, &self.newton).ok()?;
        let loc = local(self.sys, x, &y)?;
        self.tracker = Tracker {
            x: x.to_vec(),
            y: y.clone(),
            h: loc.h.clone(),
        };
        Some((
            Sample {
                t,
                x: x.to_vec(),
                y,
                max_real: loc.max_real,
                oscillatory: loc.oscillatory,
            },
            loc,
        ))
    }
}

impl<S: SlowFastSystem + ?Sized> Observer for Watch<'_, S> {
    fn accepted_step(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        let x = &u[..self.n];
        match self.sample(t, x) {
            None => {
                self.lost = true;
                ControlFlow::Break(())
            }
            Some((s, _)) => {
                if s.max_real >= self.threshold {
                    self.stop = Some(s);
                    ControlFlow::Break(())
                } else {
                    if self.regular.len() == 2 {
                        self.regular.remove(0);
                    }
                    self.regular.push(s);
                    ControlFlow::Continue(())
                }
            }
        }
    }

    fn observe(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        let x = &u[..self.n];
        let Some((s, loc)) = self.sample(t, x) else {
            self.output_failure = Some(OuterError::NewtonFailed {
                x: x.to_vec(),
                y: self.tracker.y.clone(),
                residual: f64::NAN,
                iterations: 0,
                reason: format!("the branch could not be followed at the output time t = {t}"),
            });
            return ControlFlow::Break(());
        };
        self.out_t.push(t);
        self.out_x.push(s.x.clone());
        self.out_dy.push(loc.dydt().as_slice().to_vec());
        self.out_mu.push(s.max_real);
        if self.first_order {
            let (ge, fe) = eps_partials(self.sys, x, &s.y, 0.0);
            match loc.first_order(&u[self.n..], &ge, &fe) {
                Some((_, y1)) => {
                    self.out_x1.push(u[self.n..].to_vec());
                    self.out_y1.push(y1);
                }
                None => {
                    self.output_failure = Some(OuterError::SingularFastJacobian {
                        x: x.to_vec(),
                        y: s.y.clone(),
                    });
                    return ControlFlow::Break(());
                }
            }
        }
        self.out_y.push(s.y);
        ControlFlow::Continue(())
    }
}
