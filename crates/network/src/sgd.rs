//! Online SGD on fresh Gaussian samples, with the exact population risk along the run.

use std::ops::ControlFlow;
use std::time::Instant;

use nalgebra::{DMatrix, DMatrixViewMut, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::{FlowObserver, Model, NetworkError, NetworkState, Population, Snapshot};

/// Samples per random stream and per parallel block. Fixed, so that the numbers do not
/// depend on the thread count.
const CHUNK: usize = 64;
/// Mixed into the seed so that the sample streams never coincide with the initialization.
const SGD_KEY: u64 = 0x9E37_79B9_7F4A_7C15;

/// Options of [`Sgd`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdOptions {
    /// Relative learning rate `ε` (the second layer steps with `η/ε`).
    pub eps: f64,
    /// Step `η` of the first layer; time is `t = step · η`.
    pub lr: f64,
    /// Batch size `B` (fresh samples every step).
    pub batch: usize,
    /// Seed of the sample streams.
    pub seed: u64,
}

/// Work counters of an SGD run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SgdStats {
    /// SGD steps taken.
    pub steps: usize,
    /// Samples drawn.
    pub samples: usize,
    /// Wall time, seconds.
    pub wall_seconds: f64,
}

/// Online SGD with the mean-field scaling of the flow (model.md §1): with fresh samples
/// `x_b ~ N(0, I_d)`, `y_b = φ(x_b[0])` (`u* = e_1`), the batch loss
/// `L = (1/2B) Σ_b (y_b − f(x_b))²`, `f(x) = (1/m) Σ_i a_i σ_K(<w_i, x>)` and
/// `r_b = f(x_b) − y_b`, one step is
///
/// ```text
///   a_i ← a_i − (η/ε) m ∂L/∂a_i = a_i − (η/ε) (1/B) Σ_b r_b σ_K(z_bi),
///   w_i ← normalize( w_i − η (I − w_i w_iᵀ) (1/B) Σ_b r_b a_i σ_K'(z_bi) x_b ),
/// ```
///
/// both from the same `(a, W)`, `z_bi = <w_i, x_b>`. Since `E[L] = R` (model.md §3, with
/// the truncated activation `σ_K` of [`Model`]), this is a stochastic Euler discretization
/// of the population flow with time `t = step · η`; it follows the flow as `η → 0` and
/// `B η` fixed or growing. Stability of the fast layer needs `η U(1)/ε ≲ 2`.
///
/// The samples come from ChaCha8 streams keyed by `(seed, step, block of 64 samples)`,
/// so a run is reproducible bit for bit whatever the thread count. Costs per step: two
/// `B × d × m` products.
#[derive(Debug, Clone)]
pub struct Sgd {
    model: Model,
    pop: Population,
    opts: SgdOptions,
    stats: SgdStats,
    d: usize,
    m: usize,
}

impl Sgd {
    /// SGD for `d × m` networks of `model`.
    ///
    /// # Errors
    /// [`NetworkError::InvalidParameter`] for non-positive `ε`, `η`, `B` or sizes.
    pub fn new(model: Model, d: usize, m: usize, opts: SgdOptions) -> Result<Self, NetworkError> {
        for (what, v) in [("eps", opts.eps), ("lr", opts.lr)] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(NetworkError::InvalidParameter {
                    what,
                    value: v.to_string(),
                    reason: "must be positive and finite",
                });
            }
        }
        if opts.batch == 0 || opts.batch / CHUNK >= 1 << 20 {
            return Err(NetworkError::InvalidParameter {
                what: "batch",
                value: opts.batch.to_string(),
                reason: "must be in 1..2^26",
            });
        }
        Ok(Self {
            pop: Population::new(model.clone(), d, m)?,
            model,
            opts,
            stats: SgdStats::default(),
            d,
            m,
        })
    }

    /// The batch estimate, with the samples of SGD step `step`, of the flow field
    /// `(F_a, F_W)` of [`Population::field`]: `F_a ≈ −m ∂L/∂a`,
    /// `F_W ≈ −(I − w_i w_iᵀ) m ∇_{w_i} L`. Unbiased: its mean over samples is the
    /// population field (used to test exactly that).
    pub fn batch_field(&self, state: &NetworkState, step: usize) -> (DVector<f64>, DMatrix<f64>) {
        let (d, m, bsz) = (self.d, self.m, self.opts.batch);
        let mut xt = DMatrix::zeros(d, bsz);
        let mut zt = DMatrix::zeros(m, bsz);
        let mut q = DMatrix::zeros(bsz, m);
        let mut gw = DMatrix::zeros(d, m);
        let mut wt = DMatrix::zeros(m, d);
        let mut resid = DVector::zeros(bsz);
        let mut act = DMatrix::zeros(m, bsz);
        let ga = self.batch_gradient(
            state, step, &mut xt, &mut zt, &mut q, &mut gw, &mut wt, &mut resid, &mut act,
        );
        for (w, mut g) in state.w.column_iter().zip(gw.column_iter_mut()) {
            let proj = w.dot(&g);
            g.axpy(-proj, &w, 1.0);
            g.neg_mut();
        }
        (-ga, gw)
    }

    /// The counters of the last run.
    pub fn stats(&self) -> SgdStats {
        self.stats
    }

    /// Runs SGD from `state` at `t = 0` through the output times `t_out` (increasing,
    /// `≥ 0`), each rounded to the nearest step `n = round(t/η)` (output times falling on
    /// the same step are reported once, at `t = n η`). At each the exact population risk is
    /// handed to `observer`. On success `state` is the state at the last output time.
    ///
    /// # Errors
    /// [`NetworkError::SgdDiverged`] (with the step) when the state blows up (`η` too large
    /// for `ε`), [`NetworkError::StoppedByObserver`], shape or parameter errors (a step `η`
    /// longer than the run included).
    pub fn run<O: FlowObserver + ?Sized>(
        &mut self,
        state: &mut NetworkState,
        t_out: &[f64],
        observer: &mut O,
    ) -> Result<(), NetworkError> {
        let started = Instant::now();
        self.stats = SgdStats::default();
        let r = self.run_inner(state, t_out, observer);
        self.stats.wall_seconds = started.elapsed().as_secs_f64();
        r
    }

    fn run_inner<O: FlowObserver + ?Sized>(
        &mut self,
        state: &mut NetworkState,
        t_out: &[f64],
        observer: &mut O,
    ) -> Result<(), NetworkError> {
        let (d, m, bsz) = (self.d, self.m, self.opts.batch);
        if state.dim() != d || state.width() != m {
            return Err(NetworkError::Mismatch {
                what: "state shape (d*m)",
                expected: d * m,
                got: state.dim() * state.width(),
            });
        }
        if let Some(&t) = t_out.iter().find(|t| !(**t >= 0.0 && t.is_finite())) {
            return Err(NetworkError::InvalidParameter {
                what: "output time",
                value: t.to_string(),
                reason: "must be finite and >= 0",
            });
        }
        let lr = self.opts.lr;
        if let Some(&t_last) = t_out.last()
            && t_last > 0.0
            && (t_last / lr).round() < 1.0
        {
            return Err(NetworkError::InvalidParameter {
                what: "lr",
                value: lr.to_string(),
                reason: "exceeds twice the last output time: not a single SGD step would be taken",
            });
        }
        let mut marks: Vec<usize> = t_out.iter().map(|t| (t / lr).round() as usize).collect();
        marks.dedup();
        if marks.windows(2).any(|w| w[1] < w[0]) {
            return Err(NetworkError::InvalidParameter {
                what: "output times",
                value: format!("{t_out:?}"),
                reason: "must be increasing",
            });
        }
        state.project_to_sphere();
        let mut xt = DMatrix::zeros(d, bsz);
        let mut zt = DMatrix::zeros(m, bsz);
        let mut q = DMatrix::zeros(bsz, m);
        let mut gw = DMatrix::zeros(d, m);
        let mut wt = DMatrix::zeros(m, d);
        let mut resid = DVector::zeros(bsz);
        let mut act = DMatrix::zeros(m, bsz);
        let mut step = 0usize;
        for &mark in &marks {
            while step < mark {
                if timescales_ode::interrupt::requested() {
                    return Err(NetworkError::Interrupted {
                        t: step as f64 * self.opts.lr,
                    });
                }
                self.step(
                    state, step, &mut xt, &mut zt, &mut q, &mut gw, &mut wt, &mut resid, &mut act,
                );
                step += 1;
                self.stats.steps += 1;
                self.stats.samples += bsz;
                if let Some((what, neuron)) = state.first_non_finite() {
                    return Err(NetworkError::SgdDiverged {
                        t: step as f64 * lr,
                        step,
                        what,
                        neuron,
                        fast_step: lr / self.opts.eps,
                    });
                }
            }
            let t = step as f64 * lr;
            let risk = self.pop.risk(state)?;
            if !risk.is_finite() {
                return Err(NetworkError::SgdDiverged {
                    t,
                    step,
                    what: "risk",
                    neuron: 0,
                    fast_step: lr / self.opts.eps,
                });
            }
            if let ControlFlow::Break(()) = observer.observe(&Snapshot { t, state, risk }) {
                return Err(NetworkError::StoppedByObserver { t });
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_gradient(
        &self,
        state: &NetworkState,
        step: usize,
        xt: &mut DMatrix<f64>,
        zt: &mut DMatrix<f64>,
        q: &mut DMatrix<f64>,
        gw: &mut DMatrix<f64>,
        wt: &mut DMatrix<f64>,
        resid: &mut DVector<f64>,
        act: &mut DMatrix<f64>,
    ) -> DVector<f64> {
        let (d, m, bsz) = (self.d, self.m, self.opts.batch);
        let seed = self.opts.seed ^ SGD_KEY;
        // Samples: column b of xt is x_b.
        xt.as_mut_slice()
            .par_chunks_mut(d * CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(((step as u64) << 20) | c as u64);
                for x in chunk.iter_mut() {
                    *x = StandardNormal.sample(&mut rng);
                }
            });
        // z_b = Wᵀ x_b.
        state.w.transpose_to(wt);
        let wtr = &*wt;
        let xtr = &*xt;
        zt.as_mut_slice()
            .par_chunks_mut(m * CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let nc = chunk.len() / m;
                let mut o = DMatrixViewMut::from_slice(chunk, m, nc);
                o.gemm(1.0, wtr, &xtr.columns(c * CHUNK, nc), 0.0);
            });
        // Residuals r_b, activations σ(z_bi) into act, and σ'(z_bi) overwriting zt.
        let model = &self.model;
        let a = &state.a;
        let inv_m = 1.0 / m as f64;
        let sl = model.scratch_len();
        zt.as_mut_slice()
            .par_chunks_mut(m)
            .zip(act.as_mut_slice().par_chunks_mut(m))
            .zip(resid.as_mut_slice().par_iter_mut())
            .zip(xtr.as_slice().par_chunks(d))
            .for_each(|(((z, s), r), x)| {
                let mut scratch = vec![0.0; sl];
                let mut f = 0.0;
                for i in 0..m {
                    let (val, der) = model.activation(z[i], &mut scratch);
                    f += a[i] * val;
                    s[i] = val;
                    z[i] = der;
                }
                *r = f * inv_m - model.target(x[0], &mut scratch);
            });
        let inv_b = 1.0 / bsz as f64;
        // m ∂L/∂a = σ(Z)ᵀ r / B   (act is m × B).
        let grad_a = &*act * &*resid * inv_b;
        // q_bi = r_b a_i σ'(z_bi) / B   (B × m), then m ∇_W L = X q  (d × m).
        let ztr = &*zt;
        let rr = &*resid;
        q.as_mut_slice()
            .par_chunks_mut(bsz)
            .enumerate()
            .for_each(|(i, col)| {
                let ai = a[i] * inv_b;
                for (b, qb) in col.iter_mut().enumerate() {
                    *qb = rr[b] * ai * ztr[(i, b)];
                }
            });
        let qr = &*q;
        gw.as_mut_slice()
            .par_chunks_mut(d * CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let nc = chunk.len() / d;
                let mut o = DMatrixViewMut::from_slice(chunk, d, nc);
                o.gemm(1.0, xtr, &qr.columns(c * CHUNK, nc), 0.0);
            });
        grad_a
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        state: &mut NetworkState,
        step: usize,
        xt: &mut DMatrix<f64>,
        zt: &mut DMatrix<f64>,
        q: &mut DMatrix<f64>,
        gw: &mut DMatrix<f64>,
        wt: &mut DMatrix<f64>,
        resid: &mut DVector<f64>,
        act: &mut DMatrix<f64>,
    ) {
        let d = self.d;
        let grad_a = self.batch_gradient(state, step, xt, zt, q, gw, wt, resid, act);
        let lr = self.opts.lr;
        state.a.axpy(-lr / self.opts.eps, &grad_a, 1.0);
        // w_i ← normalize(w_i − η (g_i − <w_i, g_i> w_i)), from the pre-step w_i.
        state
            .w
            .as_mut_slice()
            .par_chunks_mut(d)
            .zip(gw.as_slice().par_chunks(d))
            .for_each(|(w, g)| {
                let proj: f64 = w.iter().zip(g).map(|(x, y)| x * y).sum();
                for (x, y) in w.iter_mut().zip(g) {
                    *x -= lr * (y - proj * *x);
                }
                let n = w.iter().map(|x| x * x).sum::<f64>().sqrt();
                if n > 0.0 {
                    w.iter_mut().for_each(|x| *x /= n);
                }
            });
    }
}
