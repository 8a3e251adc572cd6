use timescales_ode::{
    DenseSlowFast, Method, Recorder, SlowFastSystem, SolverOptions, SolverStats, Trajectory,
    integrate,
};

use crate::MatchingError;

/// Integrates the full system `x' = g`, `ε y' = f` from `(x0, y0)` at `t = 0` through the
/// output times with [`Rodas4`](timescales_ode::Rodas4) on the dense Jacobian, recording `(x, y)` under the
/// system's variable names.
///
/// # Errors
/// [`MatchingError::Direct`] with ε when the integrator fails.
pub fn integrate_full<S: SlowFastSystem + ?Sized>(
    sys: &S,
    eps: f64,
    x0: &[f64],
    y0: &[f64],
    times: &[f64],
    options: SolverOptions,
) -> Result<(Trajectory, SolverStats), MatchingError> {
    integrate_full_with(sys, eps, x0, y0, times, options, Method::Rodas4)
}

/// As [`integrate_full`] with the integrator `method` (RODAS4, BDF, or an explicit
/// Dormand–Prince pair for a problem that is not stiff).
///
/// # Errors
/// [`MatchingError::Direct`] with ε when the integrator fails (an explicit method on a
/// stiff problem stops with [`IntegrationError::Stiff`](timescales_ode::IntegrationError)).
pub fn integrate_full_with<S: SlowFastSystem + ?Sized>(
    sys: &S,
    eps: f64,
    x0: &[f64],
    y0: &[f64],
    times: &[f64],
    options: SolverOptions,
    method: Method,
) -> Result<(Trajectory, SolverStats), MatchingError> {
    let mut names = sys.slow_names();
    names.extend(sys.fast_names());
    let mut rec = Recorder::new(names);
    let mut u0 = x0.to_vec();
    u0.extend_from_slice(y0);
    let direct = |source| MatchingError::Direct { eps, source };
    let mut solver = method
        .solver(DenseSlowFast::new(sys, eps), 0.0, &u0, &options)
        .map_err(direct)?;
    let outcome = integrate(&mut *solver, times, &mut [], &mut rec).map_err(direct)?;
    Ok((rec.trajectory, outcome.stats))
}
