//! Explicit Runge–Kutta integration (ode_solvers' Dopri5 and Dop853) for non-stiff runs.
//!
//! ode_solvers works on nalgebra 0.34 vectors; this adapter crosses through slices so the
//! rest of the workspace sees only `&[f64]`. Output times are reached by integrating
//! interval by interval, each interval ending exactly on an output time.

use std::ops::ControlFlow;

use ode_solvers::{DVector, Dop853, Dopri5, OutputType, System};

use crate::{IntegrationError, Observer, OdeSystem, SolverStats};

fn validate_request(
    n: usize,
    t0: f64,
    u0: &[f64],
    t_out: &[f64],
) -> Result<(), IntegrationError> {
    crate::solver::check_start(n, t0, u0)?;
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

/// Which explicit pair to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplicitMethod {
    /// Dormand–Prince 5(4).
    Dopri5,
    /// Dormand–Prince 8(5,3).
    Dop853,
}

struct Adapter<'a, S: ?Sized> {
    sys: &'a S,
    evals: std::cell::Cell<usize>,
}

impl<S: OdeSystem + ?Sized> System<f64, DVector<f64>> for Adapter<'_, S> {
    fn system(&self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        self.evals.set(self.evals.get() + 1);
        self.sys.rhs(y.as_slice(), dy.as_mut_slice());
    }
}

/// The state recorded at `target` (the last accepted step lands there).
fn last_at(x: &[f64], y: &[DVector<f64>], target: f64) -> Option<DVector<f64>> {
    match (x.last(), y.last()) {
        (Some(&xl), Some(yl)) if (xl - target).abs() <= 1e-12 * target.abs().max(1.0) => {
            Some(yl.clone())
        }
        _ => None,
    }
}

/// Integrates `u' = F(u)` explicitly through the output times `t_out` (increasing, `≥ t0`),
/// with at most `max_steps` steps per output interval. Returns the final state and the
/// work counters (no Jacobians or solves).
///
/// # Errors
/// [`IntegrationError::Explicit`] when ode_solvers gives up (step limit, step-size
/// underflow, stiffness detected), [`IntegrationError::NonFinite`] on a NaN state,
/// [`IntegrationError::StoppedByObserver`], or an invalid request.
#[allow(clippy::too_many_arguments)]
pub fn integrate_explicit<S, O>(
    method: ExplicitMethod,
    sys: &S,
    t0: f64,
    u0: &[f64],
    t_out: &[f64],
    rtol: f64,
    atol: f64,
    observer: &mut O,
) -> Result<(Vec<f64>, SolverStats), IntegrationError>
where
    S: OdeSystem + ?Sized,
    O: Observer + ?Sized,
{
    let started = std::time::Instant::now();
    validate_request(sys.dim(), t0, u0, t_out)?;
    if !(rtol > 0.0 && atol > 0.0) {
        return Err(IntegrationError::InvalidRequest(format!(
            "tolerances must be positive, got rtol = {rtol}, atol = {atol}"
        )));
    }
    let mut stats = SolverStats::default();
    let mut t = t0;
    let mut u = DVector::from_column_slice(u0);
    for &target in t_out {
        if target > t {
            let f = Adapter {
                sys,
                evals: std::cell::Cell::new(0),
            };
            let dx = target - t;
            let (res, y_end) = match method {
                ExplicitMethod::Dopri5 => {
                    let mut s = Dopri5::new(f, t, target, dx, u.clone(), rtol, atol);
                    s.set_output(OutputType::Sparse);
                    let r = s.integrate();
                    (r, last_at(s.x_out(), s.y_out(), target))
                }
                ExplicitMethod::Dop853 => {
                    let mut s = Dop853::new(f, t, target, dx, u.clone(), rtol, atol);
                    s.set_output(OutputType::Sparse);
                    let r = s.integrate();
                    (r, last_at(s.x_out(), s.y_out(), target))
                }
            };
            let st = res.map_err(|e| IntegrationError::Explicit {
                t0: t,
                t1: target,
                reason: e.to_string(),
            })?;
            stats.steps += st.accepted_steps as usize;
            stats.rejected_steps += st.rejected_steps as usize;
            stats.rhs_evals += st.num_eval as usize;
            u = y_end.ok_or_else(|| IntegrationError::Explicit {
                t0: t,
                t1: target,
                reason: "no output produced".into(),
            })?;
            if let Some(i) = u.iter().position(|v| !v.is_finite()) {
                return Err(IntegrationError::NonFinite {
                    t: target,
                    component: i,
                    h: 0.0,
                });
            }
            t = target;
        }
        if let ControlFlow::Break(()) = observer.observe(t, u.as_slice()) {
            return Err(IntegrationError::StoppedByObserver { t });
        }
    }
    stats.wall_seconds = started.elapsed().as_secs_f64();
    Ok((u.as_slice().to_vec(), stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Recorder;

    /// Harmonic oscillator u'' = −u: exact (cos t, −sin t).
    struct Oscillator;
    impl OdeSystem for Oscillator {
        fn dim(&self) -> usize {
            2
        }
        fn rhs(&self, u: &[f64], du: &mut [f64]) {
            du[0] = u[1];
            du[1] = -u[0];
        }
    }

    #[test]
    fn both_methods_hit_output_times_accurately() {
        let times = [0.0, 0.3, 1.0, 2.5, 6.0];
        for m in [ExplicitMethod::Dopri5, ExplicitMethod::Dop853] {
            let mut rec = Recorder::new(vec!["u".into(), "v".into()]);
            let (_, stats) = integrate_explicit(
                m,
                &Oscillator,
                0.0,
                &[1.0, 0.0],
                &times,
                1e-10,
                1e-12,
                &mut rec,
            )
            .unwrap();
            assert_eq!(rec.trajectory.t, times);
            for (i, &t) in times.iter().enumerate() {
                assert!(
                    (rec.trajectory.columns[0][i] - t.cos()).abs() < 1e-8,
                    "{m:?} t={t}"
                );
                assert!((rec.trajectory.columns[1][i] + t.sin()).abs() < 1e-8);
            }
            assert!(stats.rhs_evals > 0);
        }
    }

    #[test]
    fn step_limit_is_an_error() {
        // Very stiff decay with an explicit method exhausts ode_solvers' step budget.
        struct Stiff;
        impl OdeSystem for Stiff {
            fn dim(&self) -> usize {
                1
            }
            fn rhs(&self, u: &[f64], du: &mut [f64]) {
                du[0] = -1e9 * (u[0] - 1.0);
            }
        }
        let mut rec = Recorder::new(vec!["u".into()]);
        let r = integrate_explicit(
            ExplicitMethod::Dopri5,
            &Stiff,
            0.0,
            &[0.0],
            &[1.0],
            1e-8,
            1e-10,
            &mut rec,
        );
        assert!(matches!(r, Err(IntegrationError::Explicit { .. })), "{r:?}");
    }
}
