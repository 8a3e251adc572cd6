//! The reduced flow as an ODE for Rodas: `X₀' = g(X₀, h(X₀), 0)` (and the first-order
//! correction `X₁`), with the exact Jacobian `g_x + g_y H` and Newton on the branch at every
//! evaluation.

use std::cell::Cell;

use nalgebra::{DMatrix, DVector, Dyn, LU};
use timescales_ode::{Linearization, OdeSystem, SlowFastSystem};

use super::branch::{Tracker, local};
use crate::NewtonOptions;
use crate::linear::eps_partials;

/// The reduced flow as an ODE for Rodas: state `X₀` (and `X₁`).
pub(super) struct ReducedOde<'a, S: ?Sized> {
    pub(super) sys: &'a S,
    pub(super) n: usize,
    pub(super) first_order: bool,
    pub(super) newton: NewtonOptions,
    pub(super) tracker: Tracker,
    pub(super) jac: DMatrix<f64>,
    pub(super) lu: Option<LU<f64, Dyn, Dyn>>,
    pub(super) newton_solves: Cell<usize>,
}

impl<S: SlowFastSystem + ?Sized> ReducedOde<'_, S> {
    /// `(X₀', X₁')` at `u`, or `None` off the branch.
    fn field(&self, u: &[f64]) -> Option<Vec<f64>> {
        let x = &u[..self.n];
        self.newton_solves.set(self.newton_solves.get() + 1);
        let y = self.tracker.follow(self.sys, x, &self.newton).ok()?;
        let mut out = vec![0.0; u.len()];
        self.sys.slow_field(x, &y, 0.0, &mut out[..self.n]);
        if self.first_order {
            let loc = local(self.sys, x, &y)?;
            let (ge, fe) = eps_partials(self.sys, x, &y, 0.0);
            let (dx1, _) = loc.first_order(&u[self.n..], &ge, &fe)?;
            out[self.n..].copy_from_slice(&dx1);
        }
        Some(out)
    }
}

impl<S: SlowFastSystem + ?Sized> OdeSystem for ReducedOde<'_, S> {
    fn dim(&self) -> usize {
        if self.first_order { 2 * self.n } else { self.n }
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        match self.field(u) {
            Some(v) => du.copy_from_slice(&v),
            None => du.fill(f64::NAN),
        }
    }
}

impl<S: SlowFastSystem + ?Sized> Linearization for ReducedOde<'_, S> {
    fn update_jacobian(&mut self, u: &[f64]) {
        let n = self.n;
        let d = self.dim();
        self.jac = DMatrix::from_element(d, d, f64::NAN);
        let x = &u[..n];
        self.newton_solves.set(self.newton_solves.get() + 1);
        let Ok(y) = self.tracker.follow(self.sys, x, &self.newton) else {
            return;
        };
        let Some(loc) = local(self.sys, x, &y) else {
            return;
        };
        self.tracker = Tracker {
            x: x.to_vec(),
            y,
            h: loc.h.clone(),
        };
        self.jac.fill(0.0);
        self.jac.view_mut((0, 0), (n, n)).copy_from(&loc.a);
        if self.first_order {
            // ∂X₁'/∂X₁ = A; ∂X₁'/∂X₀ by central differences.
            self.jac.view_mut((n, n), (n, n)).copy_from(&loc.a);
            let mut up = u.to_vec();
            for j in 0..n {
                let step = f64::EPSILON.cbrt() * u[j].abs().max(1.0);
                up[j] = u[j] + step;
                let plus = self.field(&up);
                up[j] = u[j] - step;
                let minus = self.field(&up);
                up[j] = u[j];
                match (plus, minus) {
                    (Some(p), Some(m)) => {
                        for i in 0..n {
                            self.jac[(n + i, j)] = (p[n + i] - m[n + i]) / (2.0 * step);
                        }
                    }
                    _ => {
                        self.jac.fill(f64::NAN);
                        return;
                    }
                }
            }
        }
    }
    fn factor(&mut self, c: f64) -> Result<(), String> {
        if self.jac.iter().any(|v| !v.is_finite()) {
            self.lu = None;
            return Err("the slow manifold could not be followed here (Newton failed)".into());
        }
        let d = self.jac.nrows();
        let lu = (DMatrix::identity(d, d) * c - &self.jac).lu();
        if !lu.is_invertible() {
            return Err("zero pivot".into());
        }
        self.lu = Some(lu);
        Ok(())
    }
    fn solve(&self, b: &mut [f64]) {
        match &self.lu {
            Some(lu) => {
                let mut v = DVector::from_column_slice(b);
                if lu.solve_mut(&mut v) {
                    b.copy_from_slice(v.as_slice());
                } else {
                    b.fill(f64::NAN);
                }
            }
            None => b.fill(f64::NAN),
        }
    }
}
