use timescales_ode::{
    DenseSlowFast, JacobianBlocks, Recorder, Rodas4, SlowFastSystem, SolverStats, SolverOptions,
    Trajectory,
};

use crate::MatchingError;

/// A borrowed system, so that adapters taking a system by value (like
/// [`DenseSlowFast`]) can use a `&dyn SlowFastSystem`.
#[derive(Debug, Clone, Copy)]
pub struct Borrowed<'a, S: ?Sized>(pub &'a S);

impl<S: SlowFastSystem + ?Sized> SlowFastSystem for Borrowed<'_, S> {
    fn slow_dim(&self) -> usize {
        self.0.slow_dim()
    }
    fn fast_dim(&self) -> usize {
        self.0.fast_dim()
    }
    fn slow_names(&self) -> Vec<String> {
        self.0.slow_names()
    }
    fn fast_names(&self) -> Vec<String> {
        self.0.fast_names()
    }
    fn slow_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]) {
        self.0.slow_field(x, y, eps, out)
    }
    fn fast_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]) {
        self.0.fast_field(x, y, eps, out)
    }
    fn jacobian(&self, x: &[f64], y: &[f64], eps: f64, blocks: &mut JacobianBlocks) -> bool {
        self.0.jacobian(x, y, eps, blocks)
    }
    fn eps_derivative(
        &self,
        x: &[f64],
        y: &[f64],
        eps: f64,
        g_eps: &mut [f64],
        f_eps: &mut [f64],
    ) -> bool {
        self.0.eps_derivative(x, y, eps, g_eps, f_eps)
    }
}

/// Integrates the full system `x' = g`, `ε y' = f` from `(x0, y0)` at `t = 0` through the
/// output times with [`Rodas4`] on the dense Jacobian, recording `(x, y)` under the
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
    let mut names = sys.slow_names();
    names.extend(sys.fast_names());
    let mut rec = Recorder::new(names);
    let mut u0 = x0.to_vec();
    u0.extend_from_slice(y0);
    let mut dense = DenseSlowFast::new(Borrowed(sys), eps);
    let mut rodas = Rodas4::new(options).map_err(|source| MatchingError::Direct { eps, source })?;
    rodas
        .integrate(&mut dense, 0.0, &u0, times, &mut rec)
        .map_err(|source| MatchingError::Direct { eps, source })?;
    Ok((rec.trajectory, rodas.stats()))
}
