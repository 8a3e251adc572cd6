//! Robust derivatives on non-uniform grids.

use crate::error::{AnalysisError, Result, check_finite, check_same_len};

/// Derivative `dy/dx` at every abscissa by a local quadratic least-squares fit.
///
/// For each `x_i` the window is every `x_j` with `|x_j − x_i| ≤ half_width`, widened one
/// neighbour at a time (nearer side first) until it holds at least `min_points` points. On the
/// window, `y_j ≈ c₀ + c₁ (x_j − x_i) + c₂ (x_j − x_i)²` is fitted by least squares and the
/// derivative is `c₁`. The fit is exact for quadratics, works on any strictly increasing grid
/// (uniform or not), averages noise over the window and is one-sided at the ends. With a
/// window that is symmetric about `x_i` the estimate is even-smoothing, so the extremum of the
/// derivative of a symmetric step is not displaced.
///
/// `x` must be strictly increasing and finite, `min_points ≥ 3` and `half_width ≥ 0`.
///
/// ```
/// # use timescales_analysis::local_quadratic_slope;
/// let x: Vec<f64> = (0..20).map(|i| (i as f64 * 0.37).powf(1.3)).collect();
/// let y: Vec<f64> = x.iter().map(|&v| 2.0 * v * v - v + 3.0).collect();
/// let d = local_quadratic_slope(&x, &y, 0.5, 5)?;
/// for (xi, di) in x.iter().zip(&d) {
///     assert!((di - (4.0 * xi - 1.0)).abs() < 1e-9);
/// }
/// # Ok::<(), timescales_analysis::AnalysisError>(())
/// ```
pub fn local_quadratic_slope(
    x: &[f64],
    y: &[f64],
    half_width: f64,
    min_points: usize,
) -> Result<Vec<f64>> {
    Ok(local_quadratic(x, y, half_width, min_points)?
        .into_iter()
        .map(|[_, d]| d)
        .collect())
}

/// Value and slope `[c₀, c₁]` of the local quadratic fit at every abscissa (see
/// [`local_quadratic_slope`]).
pub(crate) fn local_quadratic(
    x: &[f64],
    y: &[f64],
    half_width: f64,
    min_points: usize,
) -> Result<Vec<[f64; 2]>> {
    check_same_len("x", x.len(), "y", y.len())?;
    check_finite("x", x)?;
    check_finite("y", y)?;
    if !(half_width >= 0.0 && half_width.is_finite()) {
        return Err(AnalysisError::InvalidParameter {
            name: "half_width",
            value: half_width,
            reason: "must be finite and >= 0",
        });
    }
    if min_points < 3 {
        return Err(AnalysisError::InvalidParameter {
            name: "min_points",
            value: min_points as f64,
            reason: "a quadratic fit needs at least 3 points",
        });
    }
    let n = x.len();
    if n < min_points {
        return Err(AnalysisError::TooFewPoints {
            what: "local quadratic derivative",
            needed: min_points,
            got: n,
        });
    }
    for i in 1..n {
        if x[i] <= x[i - 1] {
            return Err(AnalysisError::NonIncreasingTime {
                index: i,
                previous: x[i - 1],
                value: x[i],
            });
        }
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (lo, hi) = window(x, i, half_width, min_points);
        out.push(quadratic_at(&x[lo..=hi], &y[lo..=hi], x[i]));
    }
    Ok(out)
}

/// Index range `[lo, hi]` of the fitting window around `i`.
fn window(x: &[f64], i: usize, half_width: f64, min_points: usize) -> (usize, usize) {
    let n = x.len();
    let (mut lo, mut hi) = (i, i);
    while lo > 0 && x[i] - x[lo - 1] <= half_width {
        lo -= 1;
    }
    while hi + 1 < n && x[hi + 1] - x[i] <= half_width {
        hi += 1;
    }
    while hi - lo + 1 < min_points {
        let left = (lo > 0).then(|| x[i] - x[lo - 1]);
        let right = (hi + 1 < n).then(|| x[hi + 1] - x[i]);
        match (left, right) {
            (Some(l), Some(r)) if l <= r => lo -= 1,
            (Some(_), Some(_)) => hi += 1,
            (Some(_), None) => lo -= 1,
            (None, Some(_)) => hi += 1,
            (None, None) => break,
        }
    }
    (lo, hi)
}

/// Value and slope at `x0` of the least-squares quadratic through `(xs, ys)` (at least 3
/// distinct points).
fn quadratic_at(xs: &[f64], ys: &[f64], x0: f64) -> [f64; 2] {
    // Scale the offsets to [-1, 1] for conditioning.
    let scale = xs
        .iter()
        .map(|&v| (v - x0).abs())
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut s = [0.0_f64; 5];
    let mut b = [0.0_f64; 3];
    for (&xv, &yv) in xs.iter().zip(ys) {
        let u = (xv - x0) / scale;
        let mut p = 1.0;
        for (k, sk) in s.iter_mut().enumerate() {
            *sk += p;
            if k < 3 {
                b[k] += p * yv;
            }
            p *= u;
        }
    }
    let a = [[s[0], s[1], s[2]], [s[1], s[2], s[3]], [s[2], s[3], s[4]]];
    match solve3(a, b) {
        Some(c) => [c[0], c[1] / scale],
        None => {
            // Fall back to a straight line (fewer than three distinct abscissae cannot happen
            // for a strictly increasing grid, but stay total).
            let det = s[0] * s[2] - s[1] * s[1];
            if det.abs() > 0.0 {
                [
                    (s[2] * b[0] - s[1] * b[1]) / det,
                    (s[0] * b[1] - s[1] * b[0]) / det / scale,
                ]
            } else {
                [b[0] / s[0].max(1.0), 0.0]
            }
        }
    }
}

/// Solves a 3×3 system by Gaussian elimination with partial pivoting; `None` if singular.
pub(crate) fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    solve_n(a, b)
}

/// Solves an `N×N` system by Gaussian elimination with partial pivoting; `None` if
/// (numerically) singular.
pub(crate) fn solve_n<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    let norm = a
        .iter()
        .flat_map(|r| r.iter())
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    if norm == 0.0 || !norm.is_finite() {
        return None;
    }
    for col in 0..N {
        let piv = (col..N).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[piv][col].abs() <= 1e-13 * norm {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col];
        for row in col + 1..N {
            let f = a[row][col] / pivot_row[col];
            for (ak, pk) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *ak -= f * pk;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let mut acc = b[row];
        for k in row + 1..N {
            acc -= a[row][k] * x[k];
        }
        x[row] = acc / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_on_quadratics_non_uniform() {
        let x: Vec<f64> = (0..40).map(|i| (i as f64).powf(1.7) * 0.01).collect();
        let y: Vec<f64> = x.iter().map(|&v| -0.5 * v * v + 3.0 * v + 1.0).collect();
        let d = local_quadratic_slope(&x, &y, 0.3, 5).unwrap();
        for (xi, di) in x.iter().zip(&d) {
            assert!((di - (-xi + 3.0)).abs() < 1e-9, "{xi} {di}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        let x = [0.0, 1.0, 1.0, 2.0, 3.0];
        let y = [0.0; 5];
        assert!(matches!(
            local_quadratic_slope(&x, &y, 1.0, 3),
            Err(AnalysisError::NonIncreasingTime { index: 2, .. })
        ));
        assert!(matches!(
            local_quadratic_slope(&x[..2], &y[..2], 1.0, 3),
            Err(AnalysisError::TooFewPoints { .. })
        ));
        assert!(matches!(
            local_quadratic_slope(&x, &y[..3], 1.0, 3),
            Err(AnalysisError::LengthMismatch { .. })
        ));
        assert!(local_quadratic_slope(&[0.0, 1.0, 2.0], &[0.0, f64::NAN, 0.0], 1.0, 3).is_err());
    }

    #[test]
    fn values_are_smoothed_samples() {
        let x: Vec<f64> = (0..30).map(|i| i as f64 * 0.1).collect();
        let y: Vec<f64> = x.iter().map(|&v| v * v).collect();
        for (v, [c0, _]) in x.iter().zip(local_quadratic(&x, &y, 0.3, 5).unwrap()) {
            assert!((c0 - v * v).abs() < 1e-12);
        }
    }

    #[test]
    fn solve3_singular_is_none() {
        assert!(
            solve3(
                [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]],
                [1.0, 2.0, 3.0]
            )
            .is_none()
        );
    }
}
