//! The additive Runge–Kutta pair ARK4(3)6L[2]SA of C. A. Kennedy & M. H. Carpenter,
//! "Additive Runge–Kutta schemes for convection–diffusion–reaction equations",
//! *Appl. Numer. Math.* 44 (2003) 139–181, Table "ARK4(3)6L[2]SA" (the rational
//! coefficients as published; the same method is `ARK436L2SA` in SUNDIALS/ARKODE).
//!
//! Explicit part (`AE`, `b`), ESDIRK part (`AI`, `b`, diagonal `γ = 1/4`, stiffly accurate,
//! L-stable), shared `c`, and the embedded third-order weights `B_HAT`.

/// Number of stages.
pub const STAGES: usize = 6;
/// Diagonal of the ESDIRK tableau.
pub const GAMMA: f64 = 0.25;

/// Explicit tableau (strictly lower triangular).
pub const AE: [[f64; STAGES]; STAGES] = [
    [0.0; STAGES],
    [0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
    [13861.0 / 62500.0, 6889.0 / 62500.0, 0.0, 0.0, 0.0, 0.0],
    [
        -116923316275.0 / 2393684061468.0,
        -2731218467317.0 / 15368042101831.0,
        9408046702089.0 / 11113171139209.0,
        0.0,
        0.0,
        0.0,
    ],
    [
        -451086348788.0 / 2902428689909.0,
        -2682348792572.0 / 7519795681897.0,
        12662868775082.0 / 11960479115383.0,
        3355817975965.0 / 11060851509271.0,
        0.0,
        0.0,
    ],
    [
        647845179188.0 / 3216320057751.0,
        73281519250.0 / 8382639484533.0,
        552539513391.0 / 3454668386233.0,
        3354512671639.0 / 8306763924573.0,
        4040.0 / 17871.0,
        0.0,
    ],
];

/// Implicit (ESDIRK) tableau, lower triangular with diagonal `γ` after the first stage.
pub const AI: [[f64; STAGES]; STAGES] = [
    [0.0; STAGES],
    [0.25, 0.25, 0.0, 0.0, 0.0, 0.0],
    [8611.0 / 62500.0, -1743.0 / 31250.0, 0.25, 0.0, 0.0, 0.0],
    [
        5012029.0 / 34652500.0,
        -654441.0 / 2922500.0,
        174375.0 / 388108.0,
        0.25,
        0.0,
        0.0,
    ],
    [
        15267082809.0 / 155376265600.0,
        -71443401.0 / 120774400.0,
        730878875.0 / 902184768.0,
        2285395.0 / 8070912.0,
        0.25,
        0.0,
    ],
    B_ROW,
];

const B_ROW: [f64; STAGES] = [
    82889.0 / 524892.0,
    0.0,
    15625.0 / 83664.0,
    69875.0 / 102672.0,
    -2260.0 / 8211.0,
    0.25,
];

/// Weights of the fourth-order solution (shared by both tableaux).
pub const B: [f64; STAGES] = B_ROW;

/// Weights of the embedded third-order solution.
pub const B_HAT: [f64; STAGES] = [
    4586570599.0 / 29645900160.0,
    0.0,
    178811875.0 / 945068544.0,
    814220225.0 / 1159782912.0,
    -3700637.0 / 11593932.0,
    61727.0 / 225920.0,
];

/// Stage times (used by the order-condition test; kept for completeness).
#[allow(dead_code)]
pub const C: [f64; STAGES] = [0.0, 0.5, 83.0 / 250.0, 31.0 / 50.0, 17.0 / 20.0, 1.0];

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }
    fn mul(a: &[[f64; STAGES]; STAGES], v: &[f64]) -> Vec<f64> {
        a.iter().map(|row| dot(row, v)).collect()
    }
    fn pow(v: &[f64], k: i32) -> Vec<f64> {
        v.iter().map(|x| x.powi(k)).collect()
    }

    /// The order conditions up to order 4 of each tableau and the coupling conditions
    /// between them (every choice of E/I in each slot), and order 3 of the embedding.
    #[test]
    fn order_conditions_hold() {
        let tol = 1e-10;
        let tabs = [&AE, &AI];
        for a in tabs {
            for i in 0..STAGES {
                assert!((a[i].iter().sum::<f64>() - C[i]).abs() < tol, "row sum {i}");
            }
        }
        let one = vec![1.0; STAGES];
        for (w, order) in [(&B, 4), (&B_HAT, 3)] {
            assert!((dot(w, &one) - 1.0).abs() < tol);
            assert!((dot(w, &C) - 0.5).abs() < tol);
            for a in tabs {
                assert!((dot(w, &mul(a, &C)) - 1.0 / 6.0).abs() < tol);
            }
            assert!((dot(w, &pow(&C, 2)) - 1.0 / 3.0).abs() < tol);
            if order == 4 {
                assert!((dot(w, &pow(&C, 3)) - 0.25).abs() < tol);
                for a in tabs {
                    let bc: Vec<f64> = w.iter().zip(&C).map(|(b, c)| b * c).collect();
                    assert!((dot(&bc, &mul(a, &C)) - 1.0 / 8.0).abs() < tol);
                    assert!((dot(w, &mul(a, &pow(&C, 2))) - 1.0 / 12.0).abs() < tol);
                    for a2 in tabs {
                        assert!((dot(w, &mul(a, &mul(a2, &C))) - 1.0 / 24.0).abs() < tol);
                    }
                }
            }
        }
        for (i, row) in AI.iter().enumerate().skip(1) {
            assert_eq!(row[i], GAMMA);
        }
        assert_eq!(AI[STAGES - 1], B, "stiffly accurate");
    }
}
