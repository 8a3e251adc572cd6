//! Gauss–Hermite rules with `n ≤ 4096` nodes, in `O(n²)` operations: eigenvalues of the
//! Jacobi matrix (Golub–Welsch, by implicit QL without eigenvectors) as starting values,
//! polished by Newton's method on the three-term recurrence.

use super::LogRule;
use crate::basis::hermite_pair_scaled;

/// Golub–Welsch starting values polished by Newton on the three-term recurrence (`O(n²)`).
pub(super) fn gauss_hermite_golub_welsch(n: usize) -> LogRule {
    if n == 0 {
        return LogRule {
            nodes: Vec::new(),
            log_weights: Vec::new(),
        };
    }
    // Golub–Welsch: eigenvalues of the Jacobi matrix (zero diagonal, off-diagonal sqrt(k)).
    let mut d = vec![0.0; n];
    let mut e: Vec<f64> = (1..=n)
        .map(|k| if k < n { (k as f64).sqrt() } else { 0.0 })
        .collect();
    tridiagonal_eigenvalues(&mut d, &mut e);
    d.sort_by(f64::total_cmp);

    let nf = n as f64;
    let mut nodes = vec![0.0; n];
    let mut log_weights = vec![0.0; n];
    let half = n / 2;
    // Polish the non-negative half by Newton on h_n (h_n' = sqrt(n) h_{n−1}) and mirror.
    for i in 0..n.div_ceil(2) {
        let j = n - 1 - i; // index of the i-th largest node
        let mut z = if j == i { 0.0 } else { 0.5 * (d[j] - d[i]) };
        if j != i {
            let mut close = false;
            for _ in 0..20 {
                let (hm1, hn, _) = hermite_pair_scaled(n, z);
                let dz = hn / (nf.sqrt() * hm1);
                if !dz.is_finite() {
                    break;
                }
                z -= dz;
                if close {
                    break;
                }
                close = dz.abs() <= 1e-10 * z.abs().max(1.0);
            }
        }
        let (hm1, _, log_scale) = hermite_pair_scaled(n, z);
        let lw = -nf.ln() - 2.0 * (hm1.abs().ln() + log_scale);
        nodes[j] = z;
        nodes[i] = -z;
        log_weights[j] = lw;
        log_weights[i] = lw;
    }
    if n % 2 == 1 {
        nodes[half] = 0.0;
    }
    LogRule { nodes, log_weights }
}

/// Eigenvalues of a symmetric tridiagonal matrix by the implicit QL method with Wilkinson
/// shifts (eigenvalues only, `O(n²)`). `d` holds the diagonal and receives the eigenvalues
/// (unordered); `e[i]` couples rows `i` and `i + 1` (`e[n−1]` is ignored and destroyed).
/// Stops after 60 sweeps per eigenvalue; the Newton polish that follows absorbs any
/// remaining inaccuracy.
fn tridiagonal_eigenvalues(d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    if n == 0 {
        return;
    }
    e[n - 1] = 0.0;
    for l in 0..n {
        let mut iter = 0;
        loop {
            let mut m = l;
            while m < n - 1 {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l || iter >= 60 {
                break;
            }
            iter += 1;
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + r.copysign(g));
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut deflated = false;
            let mut i = m;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if deflated {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
}
