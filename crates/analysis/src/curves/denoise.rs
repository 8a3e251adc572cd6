//! Denoising in log time: the noise level from successive differences, and a running median
//! on a log-time grid whose windows hold enough samples (see the [module
//! documentation](super), steps 1–2).

use super::AnalyzeOptions;

/// Median of `v` (reordered in place); NaN for an empty slice.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, hi, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let hi = *hi;
    if n % 2 == 1 {
        hi
    } else {
        let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lo + hi)
    }
}

/// Robust noise level of the samples `y` (in time order): `1.4826 · median |y_{i+1} − y_i| / √2`.
/// For independent noise of standard deviation `σ` on a curve that moves little between
/// neighbouring samples, `y_{i+1} − y_i` has standard deviation `σ√2`, and `1.4826 · MAD`
/// estimates a standard deviation robustly (spikes and the few large differences across a
/// drop do not move a median). 0 with fewer than two samples.
pub(crate) fn difference_noise(y: &[f64]) -> f64 {
    if y.len() < 2 {
        return 0.0;
    }
    let mut d: Vec<f64> = y.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    1.4826 * median(&mut d) / std::f64::consts::SQRT_2
}

/// The denoised curve on its log-time grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Smoothed {
    /// Times (the median time of each window, in `ln t`, exponentiated), increasing.
    pub(crate) t: Vec<f64>,
    /// Denoised loss (median of each window), in the loss's own units.
    pub(crate) loss: Vec<f64>,
    /// Standard deviation of each denoised value.
    pub(crate) sd: Vec<f64>,
    /// Samples in each window.
    pub(crate) n: Vec<usize>,
    /// Noise level of one sample, `σ̂` (of `ln loss` when `log_scale`, else of the loss).
    pub(crate) noise: f64,
    /// The medians were taken of `ln loss` (every loss positive).
    pub(crate) log_scale: bool,
}

/// Running medians of `(t, loss)` (`t > 0` increasing, finite) on a log-time grid.
pub(crate) fn smooth(t: &[f64], loss: &[f64], opts: &AnalyzeOptions) -> Smoothed {
    let n = t.len().min(loss.len());
    if n == 0 {
        return Smoothed::default();
    }
    let x: Vec<f64> = t[..n].iter().map(|v| v.ln()).collect();
    let log_scale = loss[..n].iter().all(|&l| l > 0.0);
    let y: Vec<f64> = if log_scale {
        loss[..n].iter().map(|l| l.ln()).collect()
    } else {
        loss[..n].to_vec()
    };
    let noise = difference_noise(&y);
    // Enough samples in a window for a median of standard deviation `target_sd` (relative
    // to the loss, or to its 5–95 % range when not every loss is positive).
    let target = if log_scale {
        opts.target_sd
    } else {
        let mut sorted = y.clone();
        sorted.sort_by(f64::total_cmp);
        let q = |p: f64| sorted[((n - 1) as f64 * p).round() as usize];
        opts.target_sd * (q(0.95) - q(0.05))
    };
    let wanted = if target > 0.0 {
        (1.2533 * noise / target).powi(2).ceil()
    } else {
        f64::INFINITY
    };
    let (h, k_min) = (
        opts.half_width,
        opts.min_points
            .max(1)
            .max(wanted.min(opts.max_points as f64) as usize),
    );
    let mut out = Smoothed {
        noise,
        log_scale,
        ..Smoothed::default()
    };
    let mut buf_x = Vec::new();
    let mut buf_y = Vec::new();
    let mut i = 0;
    let (mut lo, mut hi) = (0usize, 0usize);
    while i < n {
        // The grid cell of sample i, and its first sample after it.
        let cell = ((x[i] - x[0]) / opts.bin_width).floor();
        let centre = x[0] + (cell + 0.5) * opts.bin_width;
        let mut next = i + 1;
        while next < n && ((x[next] - x[0]) / opts.bin_width).floor() <= cell {
            next += 1;
        }
        // The window: samples within `h` of the centre (the cell included), widened to the
        // `k_min` samples nearest the centre.
        while lo < n && x[lo] < centre - h && lo < i {
            lo += 1;
        }
        hi = hi.max(next);
        while hi < n && x[hi] <= centre + h {
            hi += 1;
        }
        let (mut a, mut b) = (lo.min(i), hi);
        while b - a < k_min && (a > 0 || b < n) {
            let left = (a > 0).then(|| centre - x[a - 1]);
            let right = (b < n).then(|| x[b] - centre);
            match (left, right) {
                (Some(l), Some(r)) if l <= r => a -= 1,
                (Some(_), Some(_)) | (None, Some(_)) => b += 1,
                (Some(_), None) => a -= 1,
                (None, None) => break,
            }
        }
        buf_x.clear();
        buf_x.extend_from_slice(&x[a..b]);
        buf_y.clear();
        buf_y.extend_from_slice(&y[a..b]);
        let xm = median(&mut buf_x);
        let ym = median(&mut buf_y);
        let count = b - a;
        // The standard deviation of a median of `count` Gaussian samples, √(π/2) σ/√count.
        let sd = 1.2533 * noise / (count as f64).sqrt();
        let tm = xm.exp();
        if out.t.last().is_none_or(|&last| tm > last) {
            let (value, sd_value) = if log_scale {
                (ym.exp(), ym.exp() * sd)
            } else {
                (ym, sd)
            };
            out.t.push(tm);
            out.loss.push(value);
            out.sd.push(sd_value);
            out.n.push(count);
        }
        i = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_noise() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&mut []).is_nan());
        assert_eq!(difference_noise(&[1.0]), 0.0);
        // Alternating ±1: differences 2, σ̂ = 1.4826 · 2/√2.
        let y: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        assert!((difference_noise(&y) - 1.4826 * 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn a_noiseless_monotone_curve_is_kept_exactly() {
        // The median of a monotone function over a window is its value at the median time,
        // so the denoised points lie on the curve.
        let t: Vec<f64> = (1..=20_000).map(|i| i as f64).collect();
        let f = |t: f64| 1.0 + 1.0 / (1.0 + (t / 300.0).powi(3));
        let l: Vec<f64> = t.iter().map(|&t| f(t)).collect();
        let s = smooth(&t, &l, &AnalyzeOptions::default());
        assert!(s.log_scale && s.noise < 1e-3);
        assert!(s.t.windows(2).all(|w| w[1] > w[0]));
        for (tt, v) in s.t.iter().zip(&s.loss) {
            assert!(
                (v - f(*tt)).abs() < 1e-3 * f(*tt),
                "t {tt}: {v} vs {}",
                f(*tt)
            );
        }
        // ~ ln(20000)/0.02 cells, fewer at the start where cells hold no sample.
        assert!(s.t.len() > 300 && s.t.len() < 500, "{}", s.t.len());
    }
}
