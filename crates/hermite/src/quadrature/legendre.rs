//! Gauss–Legendre rules by Newton's method on the three-term (Bonnet) recurrence, from a
//! cosine guess: the rules with `n ≤ 100` nodes, in `O(n²)` operations.

/// Gauss–Legendre rule by Newton's method on the three-term recurrence (`O(n²)`).
pub(super) fn gauss_legendre_newton(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..n.div_ceil(2) {
        let (z, wi) = legendre_newton_pair(n, i);
        x[i] = -z;
        x[n - 1 - i] = z;
        w[i] = wi;
        w[n - 1 - i] = wi;
    }
    if n % 2 == 1 {
        x[n / 2] = 0.0;
    }
    (x, w)
}

/// The `i`-th largest zero `z` of `P_n` (`i = 0, 1, …`) and its Gauss–Legendre weight, by
/// Newton's method on the recurrence from a Tricomi-type initial guess (`O(n)` per node).
pub(super) fn legendre_newton_pair(n: usize, i: usize) -> (f64, f64) {
    let nf = n as f64;
    let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
    // Newton until the step is tiny, then one more step (quadratic convergence makes
    // that last step reach rounding level).
    for _ in 0..100 {
        let (p, d) = legendre_with_derivative(n, z);
        let dz = p / d;
        z -= dz;
        if dz.abs() <= 1e-10 {
            let (p, d) = legendre_with_derivative(n, z);
            z -= p / d;
            break;
        }
    }
    let dp = legendre_with_derivative(n, z).1;
    (z, 2.0 / ((1.0 - z * z) * dp * dp))
}

/// `(P_n(z), P_n'(z))` by the Bonnet recurrence `j P_j = (2j − 1) z P_{j−1} − (j − 1) P_{j−2}`
/// and `P_n' = n (z P_n − P_{n−1}) / (z² − 1)`.
fn legendre_with_derivative(n: usize, z: f64) -> (f64, f64) {
    let mut p0 = 1.0;
    let mut p1 = 0.0;
    for j in 1..=n {
        let jf = j as f64;
        let p2 = p1;
        p1 = p0;
        p0 = ((2.0 * jf - 1.0) * z * p1 - (jf - 1.0) * p2) / jf;
    }
    let d = n as f64 * (z * p0 - p1) / (z * z - 1.0);
    (p0, d)
}
