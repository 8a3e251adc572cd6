//! The exact finite-`(d, m)` population risk, its gradient and the gradient-flow field
//! (model.md §1, §3).

use faer::linalg::matmul::{matmul, triangular};
use faer::{Accum, MatMut, MatRef, Par};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

use crate::{Model, NetworkError, NetworkState};

/// Columns per parallel block of the entrywise passes (kernels, `C`, projection). Fixed
/// (not derived from the thread count) so that results are bitwise identical whatever the
/// number of threads.
const BLOCK: usize = 64;

/// Side of the square tiles in which the lower triangle of `G` is copied to the upper.
const TILE: usize = 32;

/// The parallelism of the two matrix products: every thread of the current rayon pool.
/// faer (through `private-gemm-x86`) splits a product over tiles of the output only and
/// sums over the inner dimension in chunks of a fixed size (512), so each entry is
/// reduced in the same order whatever the number of threads
/// (`tests/network_threads.rs` checks the bits with 1, 2 and 3 threads).
fn par() -> Par {
    Par::rayon(0)
}

/// `G = WᵀW` for `W` (`d × m`, column-major in `w`) into `g` (`m × m`): the lower
/// triangle by a symmetric rank-`d` update (SYRK, `m² d` multiply–adds), then copied to
/// the upper triangle, so that `G` is exactly symmetric.
fn gram_into(w: &[f64], d: usize, m: usize, g: &mut [f64]) {
    let wf = MatRef::from_column_major_slice(w, d, m);
    let gf = MatMut::from_column_major_slice_mut(g, m, m);
    triangular::matmul(
        gf,
        triangular::BlockStructure::TriangularLower,
        Accum::Replace,
        wf.transpose(),
        triangular::BlockStructure::Rectangular,
        wf,
        triangular::BlockStructure::Rectangular,
        1.0,
        par(),
    );
    // Upper from lower, tile by tile (G[i, j] = G[j, i] for i < j; column-major index
    // i + j m).
    for j0 in (0..m).step_by(TILE) {
        let j1 = (j0 + TILE).min(m);
        for i0 in (0..=j0).step_by(TILE) {
            let i1 = (i0 + TILE).min(m);
            for j in j0..j1 {
                for i in i0..i1.min(j) {
                    g[i + j * m] = g[j + i * m];
                }
            }
        }
    }
}

/// Evaluates the population risk of a width-`m` network in dimension `d`,
///
/// ```text
///   R = ½‖φ‖² − (1/m) Σ_i a_i V(s_i) + (1/(2m²)) Σ_{i,j} a_i a_j U(G_ij),
///   s_i = <w_i, u*> = W[0, i],   G = WᵀW (Gram matrix),
/// ```
///
/// and the gradient flow `ε da/dt = F_a`, `dW/dt = F_W` with
///
/// ```text
///   F_a,i = −m ∂R/∂a_i = V(s_i) − (1/m) Σ_j U(G_ij) a_j,
///   g_i   = m ∇_{w_i} R = −a_i V'(s_i) u* + (1/m) Σ_j a_i a_j U'(G_ij) w_j,
///   F_W,i = −(I − w_i w_iᵀ/|w_i|²) g_i.
/// ```
///
/// The projector is written with `|w_i|²` so that the field is tangent to the sphere of
/// each `w_i`'s own radius; on the unit sphere it is model.md's `I − w_i w_iᵀ`.
///
/// Cost: a symmetric rank-`d` update `G = WᵀW` (`m² d` multiply–adds) and a matrix
/// product `W C` with `C_ij = a_i a_j U'(G_ij)/m` (`m² d`), both by faer on the rayon
/// pool, plus `O(m² K)` for the kernels. The buffers are kept between calls.
#[derive(Debug, Clone)]
pub struct Population {
    model: Model,
    d: usize,
    m: usize,
    g: DMatrix<f64>,
    ug: DMatrix<f64>,
    dug: DMatrix<f64>,
    c: DMatrix<f64>,
    wc: DMatrix<f64>,
    v: DVector<f64>,
    dv: DVector<f64>,
}

impl Population {
    /// An evaluator for `d × m` first layers.
    ///
    /// # Errors
    /// [`NetworkError::InvalidParameter`] for `d = 0` or `m = 0`.
    pub fn new(model: Model, d: usize, m: usize) -> Result<Self, NetworkError> {
        if d == 0 || m == 0 {
            return Err(NetworkError::InvalidParameter {
                what: "(d, m)",
                value: format!("({d}, {m})"),
                reason: "both must be positive",
            });
        }
        Ok(Self {
            model,
            d,
            m,
            g: DMatrix::zeros(m, m),
            ug: DMatrix::zeros(m, m),
            dug: DMatrix::zeros(m, m),
            c: DMatrix::zeros(m, m),
            wc: DMatrix::zeros(d, m),
            v: DVector::zeros(m),
            dv: DVector::zeros(m),
        })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// `(d, m)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.d, self.m)
    }

    fn check(&self, state: &NetworkState) -> Result<(), NetworkError> {
        if state.dim() != self.d || state.width() != self.m {
            return Err(NetworkError::Mismatch {
                what: "state shape (d*m)",
                expected: self.d * self.m,
                got: state.dim() * state.width(),
            });
        }
        Ok(())
    }

    /// Computes `G = WᵀW`, `U(G)`, `U'(G)`, `V(s)`, `V'(s)` for the first layer `w`
    /// (`d × m`). Every `*_prepared` method uses these.
    pub fn prepare(&mut self, w: &DMatrix<f64>) {
        let (d, m) = (self.d, self.m);
        assert_eq!(w.shape(), (d, m), "prepare: W has the wrong shape");
        gram_into(w.as_slice(), d, m, self.g.as_mut_slice());
        let k = self.model.kernels();
        self.ug
            .as_mut_slice()
            .par_chunks_mut(m * BLOCK)
            .zip(self.dug.as_mut_slice().par_chunks_mut(m * BLOCK))
            .zip(self.g.as_slice().par_chunks(m * BLOCK))
            .for_each(|((u, du), g)| {
                for ((u, du), &g) in u.iter_mut().zip(du.iter_mut()).zip(g) {
                    let (val, der, _) = k.u_all(g);
                    *u = val;
                    *du = der;
                }
            });
        for i in 0..m {
            let (v, dv, _) = k.v_all(w[(0, i)]);
            self.v[i] = v;
            self.dv[i] = dv;
        }
    }

    /// The Gram matrix `G = WᵀW` of the last [`prepare`](Self::prepare).
    pub fn gram(&self) -> &DMatrix<f64> {
        &self.g
    }

    /// The kernel matrix `U(G)` (entrywise) of the last [`prepare`](Self::prepare).
    pub fn kernel_matrix(&self) -> &DMatrix<f64> {
        &self.ug
    }

    /// `V(s_i)` of the last [`prepare`](Self::prepare).
    pub fn v_values(&self) -> &DVector<f64> {
        &self.v
    }

    /// The risk for second layer `a` and the prepared first layer.
    pub fn risk_prepared(&self, a: &DVector<f64>) -> f64 {
        let m = self.m as f64;
        let ua = &self.ug * a;
        0.5 * self.model.target_norm_sq() - a.dot(&self.v) / m + 0.5 * a.dot(&ua) / (m * m)
    }

    /// Writes `F_a = V(s) − (1/m) U(G) a` (the fast field without its `1/ε`).
    pub fn a_field_prepared(&self, a: &DVector<f64>, out: &mut DVector<f64>) {
        out.copy_from(&self.v);
        out.gemv(-1.0 / self.m as f64, &self.ug, a, 1.0);
    }

    /// Writes `F_W` (the slow field) for second layer `a` and the prepared first layer `w`.
    pub fn w_field_prepared(&mut self, w: &DMatrix<f64>, a: &DVector<f64>, out: &mut DMatrix<f64>) {
        let (d, m) = (self.d, self.m);
        assert_eq!(out.shape(), (d, m), "w_field: output has the wrong shape");
        let inv_m = 1.0 / m as f64;
        // C_ij = a_i a_j U'(G_ij) / m, column by column.
        self.c
            .as_mut_slice()
            .par_chunks_mut(m)
            .zip(self.dug.as_slice().par_chunks(m))
            .enumerate()
            .for_each(|(j, (c, du))| {
                let aj = a[j] * inv_m;
                for (i, (c, du)) in c.iter_mut().zip(du).enumerate() {
                    *c = a[i] * aj * du;
                }
            });
        matmul(
            MatMut::from_column_major_slice_mut(self.wc.as_mut_slice(), d, m),
            Accum::Replace,
            MatRef::from_column_major_slice(w.as_slice(), d, m),
            MatRef::from_column_major_slice(self.c.as_slice(), m, m),
            1.0,
            par(),
        );
        // g_i = −a_i V'(s_i) e_1 + (W C)_i;  <w_i, g_i> = −a_i V'(s_i) s_i + Σ_j C_ij G_ij.
        let (c, g, wc, dv) = (&self.c, &self.g, &self.wc, &self.dv);
        out.as_mut_slice()
            .par_chunks_mut(d)
            .enumerate()
            .for_each(|(i, o)| {
                let lin = -a[i] * dv[i];
                let wi = w.column(i);
                let dot = lin * wi[0] + c.column(i).dot(&g.column(i));
                let lambda = dot / g[(i, i)];
                for (r, o) in o.iter_mut().enumerate() {
                    let gi = wc[(r, i)] + if r == 0 { lin } else { 0.0 };
                    *o = -(gi - lambda * wi[r]);
                }
            });
    }

    /// The risk `R` of `state`.
    ///
    /// # Errors
    /// [`NetworkError::Mismatch`] when the state has another shape.
    pub fn risk(&mut self, state: &NetworkState) -> Result<f64, NetworkError> {
        self.check(state)?;
        self.prepare(&state.w);
        Ok(self.risk_prepared(&state.a))
    }

    /// The fields `(F_a, F_W)` at `state` (so that `ε da/dt = F_a`, `dW/dt = F_W`) and the
    /// risk there.
    ///
    /// # Errors
    /// [`NetworkError::Mismatch`] when the state has another shape.
    pub fn field(
        &mut self,
        state: &NetworkState,
    ) -> Result<(f64, DVector<f64>, DMatrix<f64>), NetworkError> {
        self.check(state)?;
        self.prepare(&state.w);
        let mut fa = DVector::zeros(self.m);
        let mut fw = DMatrix::zeros(self.d, self.m);
        self.a_field_prepared(&state.a, &mut fa);
        self.w_field_prepared(&state.w, &state.a, &mut fw);
        Ok((self.risk_prepared(&state.a), fa, fw))
    }

    /// The Euclidean gradient `(∂R/∂a, ∇_W R)` of the risk (no projection), for checks
    /// against finite differences:
    /// `∂R/∂a_i = −F_a,i / m`, `∇_{w_i} R = g_i / m`.
    ///
    /// # Errors
    /// [`NetworkError::Mismatch`] when the state has another shape.
    pub fn gradient(
        &mut self,
        state: &NetworkState,
    ) -> Result<(DVector<f64>, DMatrix<f64>), NetworkError> {
        self.check(state)?;
        self.prepare(&state.w);
        let m = self.m as f64;
        let mut fa = DVector::zeros(self.m);
        self.a_field_prepared(&state.a, &mut fa);
        let ga = fa / -m;
        // Re-use the field with the projection removed: g_i = W C + lin e_1.
        let mut dummy = DMatrix::zeros(self.d, self.m);
        self.w_field_prepared(&state.w, &state.a, &mut dummy);
        let mut gw = self.wc.clone();
        for i in 0..self.m {
            gw[(0, i)] -= state.a[i] * self.dv[i];
        }
        Ok((ga, gw / m))
    }
}
