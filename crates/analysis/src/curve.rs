//! Sampled curves in log time: interpolation and level crossings. A risk curve sampled on a
//! log grid is read linearly in `ln t` between samples (samples at `t ≤ 0` are skipped), the
//! one convention every table of the toolkit uses.

/// Linear interpolation of `(xs, ys)` at `x` (`xs` increasing), clamped to the end values.
///
/// ```
/// let y = timescales_analysis::interp_clamped(&[0.0, 1.0], &[2.0, 4.0], 0.25);
/// assert_eq!(y, 2.5);
/// assert_eq!(timescales_analysis::interp_clamped(&[0.0, 1.0], &[2.0, 4.0], 5.0), 4.0);
/// ```
pub fn interp_clamped(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let n = xs.len().min(ys.len());
    if n == 0 {
        return f64::NAN;
    }
    if x <= xs[0] || n == 1 {
        return ys[0];
    }
    if x >= xs[n - 1] {
        return ys[n - 1];
    }
    let k = xs[..n]
        .partition_point(|&v| v <= x)
        .saturating_sub(1)
        .min(n - 2);
    let w = (x - xs[k]) / (xs[k + 1] - xs[k]);
    ys[k] + w * (ys[k + 1] - ys[k])
}

/// `y(tq)` by linear interpolation in `ln t` between the samples `(t, y)` (`t` increasing;
/// samples at `t ≤ 0` skipped); `None` outside the positive samples' range.
///
/// ```
/// let t = [0.0, 1.0, 100.0];
/// let y = timescales_analysis::interp_log_time(&t, &[9.0, 1.0, 3.0], 10.0).unwrap();
/// assert!((y - 2.0).abs() < 1e-12);
/// assert!(timescales_analysis::interp_log_time(&t, &[9.0, 1.0, 3.0], 0.5).is_none());
/// ```
pub fn interp_log_time(t: &[f64], y: &[f64], tq: f64) -> Option<f64> {
    let n = t.len().min(y.len());
    let first = t[..n].iter().position(|&s| s > 0.0)?;
    let (t, y) = (&t[first..n], &y[first..n]);
    if !(tq >= t[0] && tq <= t[t.len() - 1]) {
        return None;
    }
    let k = t.partition_point(|&s| s < tq);
    if t[k] == tq {
        return Some(y[k]);
    }
    let (t0, t1) = (t[k - 1], t[k]);
    let f = (tq / t0).ln() / (t1 / t0).ln();
    Some(y[k - 1] + f * (y[k] - y[k - 1]))
}

/// First time the sampled curve `(t, y)` crosses `level` downwards, by linear interpolation
/// in `log t` between the two samples around it (points with `t ≤ 0` are skipped). `None` if
/// it never does.
///
/// ```
/// // y falls from 2 at t = 1 to 1 at t = 10: y = 1.5 at t = √10.
/// let t = timescales_analysis::crossing_time(&[0.0, 1.0, 10.0], &[2.0, 2.0, 1.0], 1.5).unwrap();
/// assert!((t - 10f64.sqrt()).abs() < 1e-12);
/// ```
pub fn crossing_time(t: &[f64], y: &[f64], level: f64) -> Option<f64> {
    let pts: Vec<(f64, f64)> = t
        .iter()
        .zip(y)
        .filter(|(t, _)| **t > 0.0)
        .map(|(t, y)| (*t, *y))
        .collect();
    pts.windows(2).find_map(|w| {
        let ((t0, y0), (t1, y1)) = (w[0], w[1]);
        (y0 > level && y1 <= level).then(|| {
            let f = (y0 - level) / (y0 - y1);
            (t0.ln() + f * (t1.ln() - t0.ln())).exp()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_in_log_time() {
        let t = [0.0, 1.0, 10.0, 100.0];
        let y = [5.0, 1.0, 2.0, 3.0];
        assert!((interp_log_time(&t, &y, 10f64.sqrt()).unwrap() - 1.5).abs() < 1e-12);
        assert_eq!(interp_log_time(&t, &y, 100.0), Some(3.0));
        assert_eq!(interp_log_time(&t, &y, 1.0), Some(1.0));
        assert_eq!(interp_log_time(&t, &y, 1e3), None);
        assert_eq!(interp_log_time(&t, &y, 0.5), None);
        assert_eq!(interp_log_time(&[0.0], &[1.0], 0.0), None);
        assert!(interp_clamped(&[], &[], 1.0).is_nan());
    }

    #[test]
    fn crossing_interpolates_in_log_time() {
        let t = [0.0, 1.0, 10.0, 100.0];
        let y = [2.0, 2.0, 1.0, 0.0];
        assert!((crossing_time(&t, &y, 1.5).unwrap() - 10f64.sqrt()).abs() < 1e-12);
        assert!((crossing_time(&t, &y, 0.5).unwrap() - 10f64.powf(1.5)).abs() < 1e-9);
        assert!(crossing_time(&t, &y, -1.0).is_none());
        // Upward crossings do not count.
        assert!(crossing_time(&[1.0, 2.0], &[0.0, 1.0], 0.5).is_none());
    }
}
