use nalgebra::{DMatrix, DVector};

/// An autonomous ODE `u' = F(u)` as an explicit integrator sees it.
pub trait OdeSystem {
    /// Dimension of `u`.
    fn dim(&self) -> usize;
    /// Writes `F(u)` into `du`.
    fn rhs(&self, u: &[f64], du: &mut [f64]);
}

impl<S: OdeSystem + ?Sized> OdeSystem for &S {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        (**self).rhs(u, du);
    }
}

impl<S: OdeSystem + ?Sized> OdeSystem for &mut S {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        (**self).rhs(u, du);
    }
}

/// What an implicit method (RODAS4, BDF) needs beyond [`OdeSystem`]: the Jacobian
/// `J = ∂F/∂u` and solves with the Newton matrix `W = c·I − J`.
///
/// The split lets a system keep whatever structure its Jacobian has. RODAS4 calls
/// [`update_jacobian`](Linearization::update_jacobian) once per step,
/// [`factor`](Linearization::factor) once per step size tried and
/// [`solve`](Linearization::solve) once per stage; BDF keeps a Jacobian and a factorization
/// over many steps (a new `J` only when its Newton iteration fails, a new factorization when
/// the step size or order changes) and calls `solve` once per Newton iteration.
pub trait Linearization: OdeSystem {
    /// Evaluates and stores `J(u)`.
    fn update_jacobian(&mut self, u: &[f64]);
    /// Prepares solves with `W = c·I − J` for the stored `J`.
    ///
    /// # Errors
    /// A message when `W` is singular to working precision.
    fn factor(&mut self, c: f64) -> Result<(), String>;
    /// Overwrites `b` with `W⁻¹ b`.
    fn solve(&self, b: &mut [f64]);
    /// One simplified-Newton correction of BDF (see [`NewtonCorrection`]):
    ///
    /// ```text
    ///   Δ = W⁻¹ (α F(y) − β (ψ + d)),   y ← y + Δ,   d ← d + Δ,
    /// ```
    ///
    /// returning `Σ_i (Δ_i w_i)²`, or `Err(i)` with the first non-finite component of
    /// `F(y)` (else of `Δ`) when that sum is not finite. The default evaluates
    /// [`rhs`](OdeSystem::rhs), forms the right-hand side, [`solve`](Self::solve)s and
    /// updates in four passes over the state, summing in eight interleaved partial sums. A
    /// system may fuse these passes (the result must be the same numbers, the sum the same
    /// up to the order of its terms) and ignore the work arrays.
    ///
    /// # Errors
    /// The index of the first non-finite component, as above.
    fn newton_correction(&self, c: NewtonCorrection<'_>) -> Result<f64, usize> {
        self.rhs(c.y, c.f);
        for (((dy, f), psi), ds) in c.dy.iter_mut().zip(&*c.f).zip(c.psi).zip(&*c.d) {
            *dy = c.alpha * f - c.beta * (psi + ds);
        }
        self.solve(c.dy);
        let sum = crate::bdf::add_and_sum_sq(c.dy, c.weight, c.y, c.d);
        if sum.is_finite() {
            return Ok(sum);
        }
        let culprit = |x: &[f64]| x.iter().position(|v| !v.is_finite());
        Err(culprit(c.f).or_else(|| culprit(c.dy)).unwrap_or(0))
    }
    /// Keeps a step from `start` to `u` in the domain where the solution must stay (for
    /// example overlaps `|s| ≤ 1`, up to a few units of rounding): returns the first
    /// component that the step carried out of the domain from inside, if any (BDF rejects
    /// the step and retries it with half the step, as SUNDIALS CVODE's inequality
    /// constraints do); otherwise moves the components of `u` outside the domain that were
    /// outside at `start` already (by rounding) back into it, calling `moved(i, δ_i)` with
    /// each move (new value − old). An empty `start` checks `u` by itself (BDF's dense
    /// output): everything outside the domain, rounding allowance included, is moved back.
    /// The default domain is everything.
    fn enforce_domain(
        &self,
        _start: &[f64],
        _u: &mut [f64],
        _moved: &mut dyn FnMut(usize, f64),
    ) -> Option<usize> {
        None
    }
}

/// The arguments of [`Linearization::newton_correction`]: the iterate `y` and the
/// accumulated correction `d` (both updated), the constant part `ψ` of the residual, the
/// error weights `w`, the factors `α = c/c_W` and `β = 1/c_W`, and two work arrays (`F(y)`
/// and `Δ` of the default; a fused implementation may leave them untouched). All have the
/// dimension of the system.
#[derive(Debug)]
pub struct NewtonCorrection<'a> {
    /// The iterate `y`, updated to `y + Δ`.
    pub y: &'a mut [f64],
    /// The accumulated correction `d`, updated to `d + Δ`.
    pub d: &'a mut [f64],
    /// `ψ`.
    pub psi: &'a [f64],
    /// Error weights `w_i`.
    pub weight: &'a [f64],
    /// `α`.
    pub alpha: f64,
    /// `β`.
    pub beta: f64,
    /// Work array (`F(y)`).
    pub f: &'a mut [f64],
    /// Work array (`Δ`).
    pub dy: &'a mut [f64],
}

impl<S: Linearization + ?Sized> Linearization for &mut S {
    fn newton_correction(&self, c: NewtonCorrection<'_>) -> Result<f64, usize> {
        (**self).newton_correction(c)
    }
    fn update_jacobian(&mut self, u: &[f64]) {
        (**self).update_jacobian(u);
    }
    fn factor(&mut self, c: f64) -> Result<(), String> {
        (**self).factor(c)
    }
    fn solve(&self, b: &mut [f64]) {
        (**self).solve(b);
    }
    fn enforce_domain(
        &self,
        start: &[f64],
        u: &mut [f64],
        moved: &mut dyn FnMut(usize, f64),
    ) -> Option<usize> {
        (**self).enforce_domain(start, u, moved)
    }
}

/// A slow–fast system `x' = g(x, y, ε)`, `ε y' = f(x, y, ε)`.
///
/// `slow_field` returns `g` and `fast_field` returns `f` *without* the `1/ε`: the
/// reduced problem sets `f = 0`, the boundary layer integrates `dy/dτ = f` in `τ = t/ε`.
pub trait SlowFastSystem {
    /// Number of slow variables `x`.
    fn slow_dim(&self) -> usize;
    /// Number of fast variables `y`.
    fn fast_dim(&self) -> usize;
    /// Names of the slow variables (default `x0, x1, …`).
    fn slow_names(&self) -> Vec<String> {
        (0..self.slow_dim()).map(|i| format!("x{i}")).collect()
    }
    /// Names of the fast variables (default `y0, y1, …`).
    fn fast_names(&self) -> Vec<String> {
        (0..self.fast_dim()).map(|i| format!("y{i}")).collect()
    }
    /// `g(x, y, ε)`.
    fn slow_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]);
    /// `f(x, y, ε)`.
    fn fast_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]);
    /// Analytic Jacobian blocks; return `false` (the default) to have them computed by
    /// central finite differences.
    fn jacobian(&self, _x: &[f64], _y: &[f64], _eps: f64, _blocks: &mut JacobianBlocks) -> bool {
        false
    }
    /// Analytic `∂g/∂ε` (into `g_eps`) and `∂f/∂ε` (into `f_eps`), needed by the first-order
    /// (O(ε)) outer and inner corrections; return `false` (the default) to have them computed
    /// by finite differences in `ε`.
    fn eps_derivative(
        &self,
        _x: &[f64],
        _y: &[f64],
        _eps: f64,
        _g_eps: &mut [f64],
        _f_eps: &mut [f64],
    ) -> bool {
        false
    }
}

impl<S: SlowFastSystem + ?Sized> SlowFastSystem for &S {
    fn slow_dim(&self) -> usize {
        (**self).slow_dim()
    }
    fn fast_dim(&self) -> usize {
        (**self).fast_dim()
    }
    fn slow_names(&self) -> Vec<String> {
        (**self).slow_names()
    }
    fn fast_names(&self) -> Vec<String> {
        (**self).fast_names()
    }
    fn slow_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]) {
        (**self).slow_field(x, y, eps, out)
    }
    fn fast_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]) {
        (**self).fast_field(x, y, eps, out)
    }
    fn jacobian(&self, x: &[f64], y: &[f64], eps: f64, blocks: &mut JacobianBlocks) -> bool {
        (**self).jacobian(x, y, eps, blocks)
    }
    fn eps_derivative(
        &self,
        x: &[f64],
        y: &[f64],
        eps: f64,
        g_eps: &mut [f64],
        f_eps: &mut [f64],
    ) -> bool {
        (**self).eps_derivative(x, y, eps, g_eps, f_eps)
    }
}

/// The four Jacobian blocks of a slow–fast system: `∂g/∂x`, `∂g/∂y`, `∂f/∂x`, `∂f/∂y`.
#[derive(Debug, Clone, PartialEq)]
pub struct JacobianBlocks {
    /// `∂g/∂x` (slow × slow).
    pub gx: DMatrix<f64>,
    /// `∂g/∂y` (slow × fast).
    pub gy: DMatrix<f64>,
    /// `∂f/∂x` (fast × slow).
    pub fx: DMatrix<f64>,
    /// `∂f/∂y` (fast × fast).
    pub fy: DMatrix<f64>,
}

impl JacobianBlocks {
    /// Zero blocks for `n` slow and `m` fast variables.
    pub fn zeros(n: usize, m: usize) -> Self {
        Self {
            gx: DMatrix::zeros(n, n),
            gy: DMatrix::zeros(n, m),
            fx: DMatrix::zeros(m, n),
            fy: DMatrix::zeros(m, m),
        }
    }
}

/// Central finite-difference Jacobian blocks, step `h_j = ∛(eps_mach)·max(1, |u_j|)`
/// (error `O(h²)`, about 1e-10 relative for smooth fields).
pub fn finite_difference_blocks<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x: &[f64],
    y: &[f64],
    eps: f64,
) -> JacobianBlocks {
    let (n, m) = (sys.slow_dim(), sys.fast_dim());
    let mut b = JacobianBlocks::zeros(n, m);
    let (mut xp, mut yp) = (x.to_vec(), y.to_vec());
    let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
    let (mut fp, mut fm) = (vec![0.0; m], vec![0.0; m]);
    let cbrt_eps = f64::EPSILON.cbrt();
    for j in 0..n + m {
        let base = if j < n { x[j] } else { y[j - n] };
        let h = cbrt_eps * base.abs().max(1.0);
        let mut eval = |value: f64, g: &mut [f64], f: &mut [f64]| {
            if j < n {
                xp[j] = value;
            } else {
                yp[j - n] = value;
            }
            sys.slow_field(&xp, &yp, eps, g);
            sys.fast_field(&xp, &yp, eps, f);
        };
        eval(base + h, &mut gp, &mut fp);
        eval(base - h, &mut gm, &mut fm);
        if j < n {
            xp[j] = base;
        } else {
            yp[j - n] = base;
        }
        for i in 0..n {
            let d = (gp[i] - gm[i]) / (2.0 * h);
            if j < n {
                b.gx[(i, j)] = d;
            } else {
                b.gy[(i, j - n)] = d;
            }
        }
        for i in 0..m {
            let d = (fp[i] - fm[i]) / (2.0 * h);
            if j < n {
                b.fx[(i, j)] = d;
            } else {
                b.fy[(i, j - n)] = d;
            }
        }
    }
    b
}

/// A slow–fast system seen as one stiff ODE `u' = (g, f/ε)` with `u = (x, y)`, with a dense
/// Jacobian (analytic when the system provides it, finite differences otherwise) and dense
/// LU solves. Right for small systems; large structured ones implement [`Linearization`]
/// themselves.
pub struct DenseSlowFast<S> {
    system: S,
    eps: f64,
    jacobian: DMatrix<f64>,
    lu: Option<nalgebra::LU<f64, nalgebra::Dyn, nalgebra::Dyn>>,
}

impl<S: SlowFastSystem> DenseSlowFast<S> {
    /// Wraps `system` at the given `ε > 0`.
    pub fn new(system: S, eps: f64) -> Self {
        let d = system.slow_dim() + system.fast_dim();
        Self {
            system,
            eps,
            jacobian: DMatrix::zeros(d, d),
            lu: None,
        }
    }
    /// The wrapped system.
    pub fn system(&self) -> &S {
        &self.system
    }
    /// `ε`.
    pub fn eps(&self) -> f64 {
        self.eps
    }
    /// The dense Jacobian of `u' = (g, f/ε)` at `u`.
    pub fn dense_jacobian(&self, u: &[f64]) -> DMatrix<f64> {
        let n = self.system.slow_dim();
        let m = self.system.fast_dim();
        let (x, y) = u.split_at(n);
        let mut b = JacobianBlocks::zeros(n, m);
        if !self.system.jacobian(x, y, self.eps, &mut b) {
            b = finite_difference_blocks(&self.system, x, y, self.eps);
        }
        let mut j = DMatrix::zeros(n + m, n + m);
        j.view_mut((0, 0), (n, n)).copy_from(&b.gx);
        j.view_mut((0, n), (n, m)).copy_from(&b.gy);
        j.view_mut((n, 0), (m, n)).copy_from(&(b.fx / self.eps));
        j.view_mut((n, n), (m, m)).copy_from(&(b.fy / self.eps));
        j
    }
}

impl<S: SlowFastSystem> OdeSystem for DenseSlowFast<S> {
    fn dim(&self) -> usize {
        self.system.slow_dim() + self.system.fast_dim()
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        let n = self.system.slow_dim();
        let (x, y) = u.split_at(n);
        let (dx, dy) = du.split_at_mut(n);
        self.system.slow_field(x, y, self.eps, dx);
        self.system.fast_field(x, y, self.eps, dy);
        for v in dy.iter_mut() {
            *v /= self.eps;
        }
    }
}

impl<S: SlowFastSystem> Linearization for DenseSlowFast<S> {
    fn update_jacobian(&mut self, u: &[f64]) {
        self.jacobian = self.dense_jacobian(u);
    }
    fn factor(&mut self, c: f64) -> Result<(), String> {
        let d = self.jacobian.nrows();
        let w = DMatrix::identity(d, d) * c - &self.jacobian;
        let lu = w.lu();
        if !lu.is_invertible() {
            return Err("LU factorization found a zero pivot".into());
        }
        self.lu = Some(lu);
        Ok(())
    }
    fn solve(&self, b: &mut [f64]) {
        let lu = self.lu.as_ref().expect("factor() is called before solve()");
        let mut v = DVector::from_column_slice(b);
        lu.solve_mut(&mut v);
        b.copy_from_slice(v.as_slice());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x' = y, ε y' = −x − y + x²` with its analytic Jacobian, to check the FD blocks.
    struct Quad;
    impl SlowFastSystem for Quad {
        fn slow_dim(&self) -> usize {
            1
        }
        fn fast_dim(&self) -> usize {
            1
        }
        fn slow_field(&self, _x: &[f64], y: &[f64], _e: f64, out: &mut [f64]) {
            out[0] = y[0];
        }
        fn fast_field(&self, x: &[f64], y: &[f64], _e: f64, out: &mut [f64]) {
            out[0] = -x[0] - y[0] + x[0] * x[0];
        }
    }

    #[test]
    fn finite_difference_blocks_match_analytic() {
        let b = finite_difference_blocks(&Quad, &[0.7], &[-0.3], 0.1);
        assert!((b.gx[(0, 0)] - 0.0).abs() < 1e-9);
        assert!((b.gy[(0, 0)] - 1.0).abs() < 1e-9);
        assert!((b.fx[(0, 0)] - (-1.0 + 1.4)).abs() < 1e-9);
        assert!((b.fy[(0, 0)] + 1.0).abs() < 1e-9);
    }

    #[test]
    fn dense_solve_inverts_newton_matrix() {
        let mut d = DenseSlowFast::new(Quad, 0.01);
        let u = [0.5, 0.2];
        d.update_jacobian(&u);
        d.factor(3.0).unwrap();
        let mut b = [1.0, -2.0];
        d.solve(&mut b);
        let j = d.dense_jacobian(&u);
        let w = DMatrix::identity(2, 2) * 3.0 - j;
        let r = w * DVector::from_column_slice(&b) - DVector::from_column_slice(&[1.0, -2.0]);
        assert!(r.norm() < 1e-12, "residual {}", r.norm());
    }
}
