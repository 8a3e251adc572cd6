//! Level crossings of sampled curves in log-time.

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
