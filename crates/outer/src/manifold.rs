//! Reduced problems on a constraint manifold: the fast directions are a few forces whose
//! amplitudes relax quickly, so in the limit they hold constraints with Lagrange multipliers.
//!
//! A [`ConstrainedSystem`] gives a free field `F(u)`, force directions `D_k(u)` and
//! constraints `c_j(u) = 0` (`j, k = 1..m`). The reduced flow is
//!
//! ```text
//!   u' = F(u) + Σ_k λ_k D_k(u),    Σ_k (∇c_j · D_k) λ_k = −∇c_j · F    (j = 1..m),
//! ```
//!
//! the multipliers fixed so that `dc/dt = 0` along the flow ([`ManifoldFlow`]). When the
//! directions are the constraint gradients in the flow's metric, `D_k = M ∇c_k`, this is the
//! gradient flow projected on the manifold's tangent space: a potential that decreases along
//! the free flow still decreases. This is the outer problem of a slow–fast system whose fast
//! variables are the multipliers' amplitudes (the two-layer model's learnt residuals, model.md
//! §6: "a reduced flow on the manifold where the already-learnt residuals vanish").
//!
//! The Gram matrix `G_jk = ∇c_j · D_k` is solved after a symmetric diagonal scaling by
//! `√|G_jj|` (its entries can span many orders of magnitude). Drift off the manifold is
//! removed by [`ManifoldFlow::project`]: Gauss–Newton steps `u ← u − ∇cᵀ (∇c ∇cᵀ)⁻¹ c(u)`.
//!
//! ```
//! use timescales_outer::{ConstrainedSystem, ManifoldFlow};
//! use timescales_ode::OdeSystem;
//!
//! /// u' = (1, 0) held on the unit circle c = |u|² − 1 by a normal force D = u:
//! /// the projected flow is rotation, u' = (1, 0) − u₁ u.
//! struct Circle;
//! impl ConstrainedSystem for Circle {
//!     fn dim(&self) -> usize { 2 }
//!     fn constraint_count(&self) -> usize { 1 }
//!     fn free_field(&self, _u: &[f64], out: &mut [f64]) { out.copy_from_slice(&[1.0, 0.0]); }
//!     fn force_directions(&self, u: &[f64], out: &mut [f64]) { out.copy_from_slice(u); }
//!     fn constraint_gradients(&self, u: &[f64], out: &mut [f64]) {
//!         out[0] = 2.0 * u[0];
//!         out[1] = 2.0 * u[1];
//!     }
//!     fn constraints(&self, u: &[f64], out: &mut [f64]) { out[0] = u[0] * u[0] + u[1] * u[1] - 1.0; }
//! }
//! let flow = ManifoldFlow::new(Circle);
//! let mut du = [0.0; 2];
//! flow.rhs(&[0.6, 0.8], &mut du);
//! assert!((du[0] - 0.64).abs() < 1e-15 && (du[1] + 0.48).abs() < 1e-15);
//! let mut u = [1.2, 0.0];
//! flow.project(&mut u).unwrap();
//! assert!((u[0] - 1.0).abs() < 1e-12);
//! ```

use nalgebra::{DMatrix, DVector};
use timescales_ode::OdeSystem;

use crate::OuterError;

/// A free field held on `c(u) = 0` by forces along `D_k(u)` (module documentation).
pub trait ConstrainedSystem {
    /// Dimension of `u`.
    fn dim(&self) -> usize;
    /// Number `m` of constraints (and of force directions).
    fn constraint_count(&self) -> usize;
    /// `F(u)` into `out` (length `dim`).
    fn free_field(&self, u: &[f64], out: &mut [f64]);
    /// `D_k(u)`, `k = 1..m`, into `out` row by row (`m × dim`, row-major).
    fn force_directions(&self, u: &[f64], out: &mut [f64]);
    /// `∇c_j(u)`, `j = 1..m`, into `out` row by row (`m × dim`, row-major).
    fn constraint_gradients(&self, u: &[f64], out: &mut [f64]);
    /// `c_j(u)` into `out` (length `m`); the manifold is `c = 0`.
    fn constraints(&self, u: &[f64], out: &mut [f64]);
    /// The size of each `c_j`, against which [`ManifoldFlow::project`] judges a defect
    /// (default 1: absolute defects). A constraint that is a sum with cancellations should
    /// give the sum of the absolute values of its terms.
    fn constraint_scales(&self, _u: &[f64], out: &mut [f64]) {
        out.fill(1.0);
    }
}

impl<C: ConstrainedSystem + ?Sized> ConstrainedSystem for &C {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn constraint_count(&self) -> usize {
        (**self).constraint_count()
    }
    fn free_field(&self, u: &[f64], out: &mut [f64]) {
        (**self).free_field(u, out);
    }
    fn force_directions(&self, u: &[f64], out: &mut [f64]) {
        (**self).force_directions(u, out);
    }
    fn constraint_gradients(&self, u: &[f64], out: &mut [f64]) {
        (**self).constraint_gradients(u, out);
    }
    fn constraints(&self, u: &[f64], out: &mut [f64]) {
        (**self).constraints(u, out);
    }
    fn constraint_scales(&self, u: &[f64], out: &mut [f64]) {
        (**self).constraint_scales(u, out);
    }
}

/// The reduced flow of a [`ConstrainedSystem`]: an [`OdeSystem`] whose right-hand side is NaN
/// where the multipliers do not exist (a singular Gram matrix), so an integrator stops there
/// with a typed error.
#[derive(Debug, Clone)]
pub struct ManifoldFlow<C> {
    system: C,
}

/// Largest relative defect accepted by [`ManifoldFlow::project`] after its last iteration.
const PROJECTION_ACCEPT: f64 = 1e-9;
/// Relative defect at which [`ManifoldFlow::project`] stops early.
const PROJECTION_TARGET: f64 = 1e-13;
/// Gauss–Newton iterations of [`ManifoldFlow::project`].
const PROJECTION_ITERATIONS: usize = 30;

/// Solves `G z = r` after the scaling `G ← S G S`, `S = diag(1/√|G_jj|)`; `None` when a
/// diagonal entry vanishes or `G` is singular.
fn scaled_solve(mut g: DMatrix<f64>, mut r: DVector<f64>) -> Option<DVector<f64>> {
    let m = r.len();
    let d: Vec<f64> = (0..m).map(|j| g[(j, j)].abs().sqrt()).collect();
    if d.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return None;
    }
    for j in 0..m {
        for k in 0..m {
            g[(j, k)] /= d[j] * d[k];
        }
        r[j] /= d[j];
    }
    let mut z = g.lu().solve(&r)?;
    for (zj, dj) in z.iter_mut().zip(&d) {
        *zj /= dj;
    }
    z.iter().all(|v| v.is_finite()).then_some(z)
}

impl<C: ConstrainedSystem> ManifoldFlow<C> {
    /// The reduced flow of `system`.
    pub fn new(system: C) -> Self {
        Self { system }
    }

    /// The constrained system.
    pub fn system(&self) -> &C {
        &self.system
    }

    /// The system, taken back.
    pub fn into_system(self) -> C {
        self.system
    }

    /// `(F(u), D(u), ∇c(u))`, the last two `m × dim` row-major.
    fn parts(&self, u: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (n, m) = (self.system.dim(), self.system.constraint_count());
        let mut f = vec![0.0; n];
        let mut d = vec![0.0; m * n];
        let mut g = vec![0.0; m * n];
        self.system.free_field(u, &mut f);
        self.system.force_directions(u, &mut d);
        self.system.constraint_gradients(u, &mut g);
        (f, d, g)
    }

    /// The multipliers `λ` at `u` from the free field `f`, directions `d` and gradients `g`.
    fn solve_multipliers(&self, f: &[f64], d: &[f64], g: &[f64]) -> Option<DVector<f64>> {
        let (n, m) = (self.system.dim(), self.system.constraint_count());
        if m == 0 {
            return Some(DVector::zeros(0));
        }
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let gram = DMatrix::from_fn(m, m, |j, k| {
            dot(&g[j * n..(j + 1) * n], &d[k * n..(k + 1) * n])
        });
        let rhs = DVector::from_fn(m, |j, _| -dot(&g[j * n..(j + 1) * n], f));
        scaled_solve(gram, rhs)
    }

    /// The multipliers `λ_k` at `u`, or `None` when the Gram matrix is singular there (the
    /// constraints are degenerate, e.g. all gradients vanish).
    pub fn multipliers(&self, u: &[f64]) -> Option<Vec<f64>> {
        let (f, d, g) = self.parts(u);
        self.solve_multipliers(&f, &d, &g)
            .map(|l| l.as_slice().to_vec())
    }

    /// `u' = F + Σ λ_k D_k` into `du`, or `None` where the multipliers do not exist.
    pub fn field(&self, u: &[f64], du: &mut [f64]) -> Option<()> {
        let n = self.system.dim();
        let (f, d, g) = self.parts(u);
        let lambda = self.solve_multipliers(&f, &d, &g)?;
        du.copy_from_slice(&f);
        for (k, l) in lambda.iter().enumerate() {
            for (o, dk) in du.iter_mut().zip(&d[k * n..(k + 1) * n]) {
                *o += l * dk;
            }
        }
        Some(())
    }

    /// `max_j |c_j(u)| / scale_j`: how far `u` is off the manifold, relative to the size of
    /// each constraint.
    pub fn defect(&self, u: &[f64]) -> f64 {
        let m = self.system.constraint_count();
        let (mut c, mut scale) = (vec![0.0; m], vec![0.0; m]);
        self.system.constraints(u, &mut c);
        self.system.constraint_scales(u, &mut scale);
        c.iter()
            .zip(&scale)
            .map(|(c, s)| c.abs() / s)
            .fold(0.0, f64::max)
    }

    /// Moves `u` onto the manifold by Gauss–Newton steps along the constraint gradients,
    /// `u ← u − ∇cᵀ (∇c ∇cᵀ)⁻¹ c(u)`, until the relative [`defect`](Self::defect) is below
    /// `1e-13` (at most 30 iterations). Returns the iterations used.
    ///
    /// # Errors
    /// [`OuterError::InvalidRequest`] when the gradients are degenerate, or the relative
    /// defect is still above `1e-9` after the last iteration.
    pub fn project(&self, u: &mut [f64]) -> Result<usize, OuterError> {
        let (n, m) = (self.system.dim(), self.system.constraint_count());
        let mut defect = self.defect(u);
        let mut c = vec![0.0; m];
        let mut g = vec![0.0; m * n];
        for it in 0..PROJECTION_ITERATIONS {
            if defect <= PROJECTION_TARGET {
                return Ok(it);
            }
            self.system.constraints(u, &mut c);
            self.system.constraint_gradients(u, &mut g);
            let row = |j: usize| &g[j * n..(j + 1) * n];
            let gram = DMatrix::from_fn(m, m, |j, k| {
                row(j).iter().zip(row(k)).map(|(a, b)| a * b).sum()
            });
            let z = scaled_solve(gram, DVector::from_column_slice(&c)).ok_or_else(|| {
                OuterError::InvalidRequest("degenerate constraint gradients".into())
            })?;
            for (j, zj) in z.iter().enumerate() {
                for (ui, gi) in u.iter_mut().zip(row(j)) {
                    *ui -= zj * gi;
                }
            }
            defect = self.defect(u);
        }
        if defect <= PROJECTION_ACCEPT {
            return Ok(PROJECTION_ITERATIONS);
        }
        Err(OuterError::InvalidRequest(format!(
            "projection onto the constraint manifold did not converge (relative defect {defect:.1e})"
        )))
    }
}

impl<C: ConstrainedSystem> OdeSystem for ManifoldFlow<C> {
    fn dim(&self) -> usize {
        self.system.dim()
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        if self.field(u, du).is_none() {
            du.fill(f64::NAN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_ode::{Dop853, Solver, SolverOptions};

    /// Gradient flow of `V(u) = u₁ + 2u₂ + 3u₃` (free field `−∇V`) held on the sphere
    /// `|u|² = 1` and the plane `u₁ + u₂ + u₃ = 0` by the normal forces `D = ∇c`.
    struct SpherePlane;
    impl ConstrainedSystem for SpherePlane {
        fn dim(&self) -> usize {
            3
        }
        fn constraint_count(&self) -> usize {
            2
        }
        fn free_field(&self, _u: &[f64], out: &mut [f64]) {
            out.copy_from_slice(&[-1.0, -2.0, -3.0]);
        }
        fn force_directions(&self, u: &[f64], out: &mut [f64]) {
            self.constraint_gradients(u, out);
        }
        fn constraint_gradients(&self, u: &[f64], out: &mut [f64]) {
            out[..3].copy_from_slice(&[2.0 * u[0], 2.0 * u[1], 2.0 * u[2]]);
            out[3..].copy_from_slice(&[1.0, 1.0, 1.0]);
        }
        fn constraints(&self, u: &[f64], out: &mut [f64]) {
            out[0] = u.iter().map(|x| x * x).sum::<f64>() - 1.0;
            out[1] = u.iter().sum();
        }
    }

    #[test]
    fn the_flow_keeps_the_constraints_and_descends_to_the_constrained_minimum() {
        // On the circle {|u| = 1, Σu = 0} the minimum of V is at u = −(e − ē)/|e − ē| with
        // e = (1, 2, 3), ē its mean: u* = (1, 0, −1)/√2 (Lagrange's closed form).
        let flow = ManifoldFlow::new(SpherePlane);
        let s = 1.0 / 6f64.sqrt();
        let mut u0 = [-s, 2.0 * s, -s];
        flow.project(&mut u0).unwrap();
        let opts = SolverOptions {
            rtol: 1e-11,
            atol: 1e-13,
            ..SolverOptions::default()
        };
        let mut solver = Dop853::new(&flow, 0.0, &u0, &opts).unwrap();
        solver.set_stop_time(40.0).unwrap();
        let v = |u: &[f64]| u[0] + 2.0 * u[1] + 3.0 * u[2];
        let mut last = v(&u0);
        while solver.t() < 40.0 {
            solver.step().unwrap();
            let now = v(solver.state());
            assert!(now <= last + 1e-12, "V increased: {last} -> {now}");
            last = now;
            assert!(flow.defect(solver.state()) < 1e-9);
        }
        let u = solver.state();
        let r = 1.0 / 2f64.sqrt();
        for (got, want) in u.iter().zip([r, 0.0, -r]) {
            assert!((got - want).abs() < 1e-8, "{u:?}");
        }
        let lambda = flow.multipliers(u).unwrap();
        assert_eq!(lambda.len(), 2);
    }

    #[test]
    fn projection_reaches_the_manifold_and_degenerate_gradients_are_errors() {
        let flow = ManifoldFlow::new(SpherePlane);
        let mut u = [0.9, 0.3, -0.1];
        let iterations = flow.project(&mut u).unwrap();
        assert!(iterations > 0 && flow.defect(&u) <= 1e-13);
        // At the origin the sphere's gradient vanishes.
        let mut zero = [0.0; 3];
        assert!(flow.project(&mut zero).is_err());
        assert!(flow.multipliers(&[0.0; 3]).is_none());
        let mut du = [0.0; 3];
        flow.rhs(&[0.0; 3], &mut du);
        assert!(du.iter().all(|v| v.is_nan()));
    }
}
