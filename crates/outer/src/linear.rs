//! Linearization of a slow–fast system on its slow manifold: the Jacobian blocks, the
//! `ε`-derivatives, the slope `H = dh/dx` of the manifold and the spectrum of `∂f/∂y`.

use nalgebra::{Complex, DMatrix, DVector, Dyn, LU};
use timescales_ode::{JacobianBlocks, SlowFastSystem, finite_difference_blocks};

/// The blocks `∂g/∂x, ∂g/∂y, ∂f/∂x, ∂f/∂y` at `(x, y, ε)`: analytic when the system
/// provides them, central finite differences otherwise.
pub fn blocks<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x: &[f64],
    y: &[f64],
    eps: f64,
) -> JacobianBlocks {
    let mut b = JacobianBlocks::zeros(sys.slow_dim(), sys.fast_dim());
    if sys.jacobian(x, y, eps, &mut b) {
        b
    } else {
        finite_difference_blocks(sys, x, y, eps)
    }
}

/// `(∂g/∂ε, ∂f/∂ε)` at `(x, y, ε)`: analytic when the system provides them, otherwise the
/// one-sided second-order difference `(−3F(ε) + 4F(ε+δ) − F(ε+2δ)) / (2δ)`,
/// `δ = 10⁻⁴ max(1, ε)` (one-sided so that `ε < 0` is never evaluated).
pub fn eps_partials<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x: &[f64],
    y: &[f64],
    eps: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (n, m) = (sys.slow_dim(), sys.fast_dim());
    let (mut ge, mut fe) = (vec![0.0; n], vec![0.0; m]);
    if sys.eps_derivative(x, y, eps, &mut ge, &mut fe) {
        return (ge, fe);
    }
    let d = 1e-4 * eps.abs().max(1.0);
    let eval = |e: f64| {
        let (mut g, mut f) = (vec![0.0; n], vec![0.0; m]);
        sys.slow_field(x, y, e, &mut g);
        sys.fast_field(x, y, e, &mut f);
        (g, f)
    };
    let (g0, f0) = eval(eps);
    let (g1, f1) = eval(eps + d);
    let (g2, f2) = eval(eps + 2.0 * d);
    for i in 0..n {
        ge[i] = (-3.0 * g0[i] + 4.0 * g1[i] - g2[i]) / (2.0 * d);
    }
    for i in 0..m {
        fe[i] = (-3.0 * f0[i] + 4.0 * f1[i] - f2[i]) / (2.0 * d);
    }
    (ge, fe)
}

/// LU factors of `∂f/∂y`, or `None` when it is singular or not finite.
pub fn factor_fast(fy: &DMatrix<f64>) -> Option<LU<f64, Dyn, Dyn>> {
    if fy.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let lu = fy.clone().lu();
    // Relative pivot test: a pivot below 1e-14 of the largest entry counts as zero.
    let scale = fy.amax().max(f64::MIN_POSITIVE);
    let u = lu.u();
    if (0..u.nrows()).any(|i| u[(i, i)].abs() <= 1e-14 * scale) {
        return None;
    }
    Some(lu)
}

/// Slope of the slow manifold, `H = dh/dx = −(∂f/∂y)⁻¹ ∂f/∂x`, or `None` where `∂f/∂y`
/// is singular.
pub fn manifold_slope(b: &JacobianBlocks) -> Option<DMatrix<f64>> {
    let lu = factor_fast(&b.fy)?;
    let h = lu.solve(&b.fx)?;
    Some(-h)
}

/// `(∂f/∂y)⁻¹ v` with the factors of [`factor_fast`].
pub fn solve_with(lu: &LU<f64, Dyn, Dyn>, v: &[f64]) -> Option<Vec<f64>> {
    lu.solve(&DVector::from_column_slice(v))
        .map(|s| s.as_slice().to_vec())
}

/// The spectrum of `∂f/∂y` on the manifold: the branch is attracting (normally hyperbolic
/// and stable) when `max_real < 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attractivity {
    /// Eigenvalues of `∂f/∂y`.
    pub eigenvalues: Vec<Complex<f64>>,
    /// Largest real part.
    pub max_real: f64,
    /// Whether the eigenvalue(s) with the largest real part form a complex pair (a crossing
    /// there is oscillatory, Hopf-like; a real one crossing zero is a fold).
    pub oscillatory: bool,
}

/// Eigenvalues of `∂f/∂y` (Schur decomposition, at most 1000 QR iterations); `None` when
/// the matrix has non-finite entries or the iteration does not converge.
pub fn attractivity(fy: &DMatrix<f64>) -> Option<Attractivity> {
    if fy.nrows() == 0 {
        return Some(Attractivity {
            eigenvalues: Vec::new(),
            max_real: f64::NEG_INFINITY,
            oscillatory: false,
        });
    }
    if fy.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let eigenvalues: Vec<Complex<f64>> = if fy.nrows() == 1 {
        vec![Complex::new(fy[(0, 0)], 0.0)]
    } else {
        let schur = nalgebra::linalg::Schur::try_new(fy.clone(), f64::EPSILON, 1000)?;
        schur.complex_eigenvalues().iter().copied().collect()
    };
    let lead = eigenvalues
        .iter()
        .copied()
        .max_by(|a, b| a.re.total_cmp(&b.re))?;
    let scale = fy.amax().max(f64::MIN_POSITIVE);
    Some(Attractivity {
        max_real: lead.re,
        oscillatory: lead.im.abs() > 1e-10 * scale,
        eigenvalues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_of_a_rotation_with_damping() {
        // [[-a, -b], [b, -a]] has eigenvalues -a ± ib.
        let m = DMatrix::from_row_slice(2, 2, &[-0.5, -2.0, 2.0, -0.5]);
        let a = attractivity(&m).unwrap();
        assert!((a.max_real + 0.5).abs() < 1e-14);
        assert!(a.oscillatory);
        let d = DMatrix::from_row_slice(2, 2, &[-3.0, 1.0, 0.0, -1.0]);
        let a = attractivity(&d).unwrap();
        assert!((a.max_real + 1.0).abs() < 1e-14 && !a.oscillatory);
        assert!(attractivity(&DMatrix::from_element(2, 2, f64::NAN)).is_none());
    }

    #[test]
    fn singular_fast_jacobian_has_no_slope() {
        let mut b = JacobianBlocks::zeros(1, 2);
        b.fy = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 4.0]);
        b.fx = DMatrix::from_row_slice(2, 1, &[1.0, 0.0]);
        assert!(manifold_slope(&b).is_none());
        b.fy = DMatrix::from_row_slice(2, 2, &[-2.0, 0.0, 0.0, -4.0]);
        let h = manifold_slope(&b).unwrap();
        assert!((h[(0, 0)] - 0.5).abs() < 1e-15 && h[(1, 0)] == 0.0);
    }
}
