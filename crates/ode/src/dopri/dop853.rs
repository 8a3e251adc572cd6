//! DOP853: the Dormand–Prince 8(5,3) pair with its dense output of order 7.
//!
//! Coefficients of P. J. Prince & J. R. Dormand, "High order embedded Runge–Kutta
//! formulae", *J. Comput. Appl. Math.* 7 (1981), in the form of Hairer, Nørsett & Wanner,
//! *Solving ODEs I*, §II.5 and §II.6 (the 5th- and 3rd-order error estimators and the three
//! extra stages of the 7th-order continuous extension), as in Hairer's `dop853.f`; the
//! 30-digit constants there are rounded to the nearest `f64`.

use std::cell::RefCell;

use super::{
    Controller, Pair, Stages, States, Tolerance, combine, continuous_extension, first_non_finite,
    scaled_sum_squares,
};
use crate::OdeSystem;

/// Rows `a_ij` (`j < i`) of stages `i = 2, …, 12`.
pub(super) const STAGES: [&[f64]; 11] = [
    &[0.05260015195876773],
    &[0.0197250569845379, 0.0591751709536137],
    &[0.02958758547680685, 0.0, 0.08876275643042054],
    &[
        0.2413651341592667,
        0.0,
        -0.8845494793282861,
        0.924834003261792,
    ],
    &[
        0.037037037037037035,
        0.0,
        0.0,
        0.17082860872947386,
        0.12546768756682242,
    ],
    &[
        0.037109375,
        0.0,
        0.0,
        0.17025221101954405,
        0.06021653898045596,
        -0.017578125,
    ],
    &[
        0.03709200011850479,
        0.0,
        0.0,
        0.17038392571223998,
        0.10726203044637328,
        -0.015319437748624402,
        0.008273789163814023,
    ],
    &[
        0.6241109587160757,
        0.0,
        0.0,
        -3.3608926294469414,
        -0.868219346841726,
        27.59209969944671,
        20.154067550477894,
        -43.48988418106996,
    ],
    &[
        0.47766253643826434,
        0.0,
        0.0,
        -2.4881146199716677,
        -0.590290826836843,
        21.230051448181193,
        15.279233632882423,
        -33.28821096898486,
        -0.020331201708508627,
    ],
    &[
        -0.9371424300859873,
        0.0,
        0.0,
        5.186372428844064,
        1.0914373489967295,
        -8.149787010746927,
        -18.52006565999696,
        22.739487099350505,
        2.4936055526796523,
        -3.0467644718982196,
    ],
    &[
        2.273310147516538,
        0.0,
        0.0,
        -10.53449546673725,
        -2.0008720582248625,
        -17.9589318631188,
        27.94888452941996,
        -2.8589982771350235,
        -8.87285693353063,
        12.360567175794303,
        0.6433927460157636,
    ],
];

/// Rows `a_ij` of the dense-output stages `i = 14, 15, 16` (over `k_1, …, k_15`; `k_13 = F(u_new)`).
pub(super) const EXTRA: [&[f64]; 3] = [
    &[
        0.056167502283047954,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.25350021021662483,
        -0.2462390374708025,
        -0.12419142326381637,
        0.15329179827876568,
        0.00820105229563469,
        0.007567897660545699,
        -0.008298,
    ],
    &[
        0.03183464816350214,
        0.0,
        0.0,
        0.0,
        0.0,
        0.028300909672366776,
        0.053541988307438566,
        -0.05492374857139099,
        0.0,
        0.0,
        -0.00010834732869724932,
        0.0003825710908356584,
        -0.00034046500868740456,
        0.1413124436746325,
    ],
    &[
        -0.42889630158379194,
        0.0,
        0.0,
        0.0,
        0.0,
        -4.697621415361164,
        7.683421196062599,
        4.06898981839711,
        0.3567271874552811,
        0.0,
        0.0,
        0.0,
        -0.0013990241651590145,
        2.9475147891527724,
        -9.15095847217987,
    ],
];

/// Weights `b_i` of the 8th-order solution, `i = 1, …, 12`.
pub(super) const B: [f64; 12] = [
    0.054293734116568765,
    0.0,
    0.0,
    0.0,
    0.0,
    4.450312892752409,
    1.8915178993145003,
    -5.801203960010585,
    0.3111643669578199,
    -0.1521609496625161,
    0.20136540080403034,
    0.04471061572777259,
];

/// Coefficients of the 5th-order error estimate `Σ_i er_i k_i` (`ER` in dop853.f).
pub(super) const ER: [f64; 12] = [
    0.01312004499419488,
    0.0,
    0.0,
    0.0,
    0.0,
    -1.2251564463762044,
    -0.4957589496572502,
    1.6643771824549864,
    -0.35032884874997366,
    0.3341791187130175,
    0.08192320648511571,
    -0.022355307863886294,
];

/// Weights `b̂_i` of the 3rd-order solution (`BHH1, BHH2, BHH3` at `i = 1, 9, 12`): the
/// second estimate `Σ_i (b_i − b̂_i) k_i`.
pub(super) const BHH: [f64; 12] = [
    0.2440944881889764,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.7338466882816118,
    0.0,
    0.0,
    0.022058823529411766,
];

/// Coefficients `d_ij` of the dense output's terms `r_i = h Σ_j d_ij k_j`, `i = 5, …, 8`
/// (`D4j…D7j` in dop853.f), `j = 1, …, 16`.
const D: [[f64; 16]; 4] = [
    [
        -8.428938276109013,
        0.0,
        0.0,
        0.0,
        0.0,
        0.5667149535193777,
        -3.0689499459498917,
        2.38466765651207,
        2.117034582445028,
        -0.871391583777973,
        2.2404374302607883,
        0.6315787787694688,
        -0.08899033645133331,
        18.148505520854727,
        -9.194632392478356,
        -4.436036387594894,
    ],
    [
        10.427508642579134,
        0.0,
        0.0,
        0.0,
        0.0,
        242.28349177525817,
        165.20045171727028,
        -374.5467547226902,
        -22.113666853125306,
        7.733432668472264,
        -30.674084731089398,
        -9.332130526430229,
        15.697238121770845,
        -31.139403219565178,
        -9.35292435884448,
        35.81684148639408,
    ],
    [
        19.985053242002433,
        0.0,
        0.0,
        0.0,
        0.0,
        -387.0373087493518,
        -189.17813819516758,
        527.8081592054236,
        -11.57390253995963,
        6.8812326946963,
        -1.0006050966910838,
        0.7777137798053443,
        -2.778205752353508,
        -60.19669523126412,
        84.32040550667716,
        11.99229113618279,
    ],
    [
        -25.69393346270375,
        0.0,
        0.0,
        0.0,
        0.0,
        -154.18974869023643,
        -231.5293791760455,
        357.6391179106141,
        93.40532418362432,
        -37.45832313645163,
        104.0996495089623,
        29.8402934266605,
        -43.53345659001114,
        96.32455395918828,
        -39.17726167561544,
        -149.72683625798564,
    ],
];

/// The stages of one Dop853 attempt, and the last accepted step's for the dense output.
pub(crate) struct Dop853Stages {
    /// `k_2, …, k_12` of the attempt, in slots `0..11` of 15 (the vectors are swapped with
    /// [`Dense::stages`] on acceptance, whose slots `11..15` hold `k_13, …, k_16`); after an
    /// attempt, the argument of stage 12 (`c = 1`).
    stages: Stages,
    /// `Σ_i b_i k_i`: `u_new = u + h Σ_i b_i k_i`.
    increment: Vec<f64>,
    /// The 5th-order error estimate `Σ_i er_i k_i`.
    err5: Vec<f64>,
    /// The 3rd-order error estimate `Σ_i (b_i − b̂_i) k_i`.
    err3: Vec<f64>,
    /// The dense output of the last accepted step. Its three extra stages cost three right-hand
    /// sides, so they are computed on the first [`interpolate`](Pair::interpolate) after a
    /// step, not after every step (a run that reads no output between two steps never pays
    /// them); the cell lets `interpolate(&self)` fill them in.
    dense: RefCell<Dense>,
}

/// The dense output of the last accepted step: its stages and, once computed, its
/// coefficients `r₅…r₈`.
struct Dense {
    /// `k_2, …, k_16` (slots `0..15`); `k_13 = F(u)` and `k_14…k_16` are filled in by
    /// [`Dense::prepare`].
    stages: Stages,
    /// `r_i = h Σ_j d_ij k_j`, `i = 5, …, 8`.
    r: Vec<Vec<f64>>,
    /// `r` belongs to the last accepted step.
    ready: bool,
    /// Right-hand sides evaluated here.
    rhs_evals: usize,
}

impl Dense {
    /// The three extra stages (`k_13 = F(u)` is known) and `r₅…r₈`, from
    /// `st.u_old`, `k_1 = st.f_old` and `k_13 = st.f` (after [`States::rotate`]).
    fn prepare<S: OdeSystem>(&mut self, system: &S, st: &States, h: f64) {
        self.stages.k[11].copy_from_slice(&st.f);
        self.rhs_evals += self
            .stages
            .evaluate(system, &EXTRA, 12, h, &st.u_old, &st.f_old);
        for (r, d) in self.r.iter_mut().zip(&D) {
            combine(r, None, h, d, &st.f_old, &self.stages.k);
        }
        self.ready = true;
    }
}

impl Pair for Dop853Stages {
    const HINIT_ORDER: i32 = 8;
    const STIFFNESS_BOUND: f64 = 6.1;

    /// `α = 1/8`, `β = 0`, `h_new/h ∈ [0.333, 6]` (dop853.f's defaults).
    fn controller() -> Controller {
        Controller::new(1.0 / 8.0, 0.0, 0.333, 6.0)
    }

    fn with_dim(n: usize) -> Self {
        Self {
            stages: Stages::new(15, n),
            increment: vec![0.0; n],
            err5: vec![0.0; n],
            err3: vec![0.0; n],
            dense: RefCell::new(Dense {
                stages: Stages::new(15, n),
                r: vec![vec![0.0; n]; 4],
                ready: false,
                rhs_evals: 0,
            }),
        }
    }

    /// Eleven right-hand sides (stages 2–12); the error norm of dop853.f combines both
    /// estimates, `err = |h| E₅ / √(n (E₅ + 0.01 E₃))` with `E_p = Σ_i (err_p,i / sc_i)²`, so
    /// that it behaves like the 5th-order estimate while it dominates and cannot vanish by
    /// accident.
    fn attempt<S: OdeSystem>(
        &mut self,
        system: &S,
        h: f64,
        st: &mut States,
        tol: Tolerance,
        rhs_evals: &mut usize,
    ) -> Result<f64, usize> {
        *rhs_evals += self.stages.evaluate(system, &STAGES, 0, h, &st.u, &st.f);
        let k = &self.stages.k[..11];
        combine(&mut self.increment, None, 1.0, &B, &st.f, k);
        for ((y, &u), &dy) in st.u_new.iter_mut().zip(&st.u).zip(&self.increment) {
            *y = u + h * dy;
        }
        combine(&mut self.err5, None, 1.0, &ER, &st.f, k);
        combine(&mut self.err3, None, 1.0, &BHH, &st.f, k);
        for (e, &dy) in self.err3.iter_mut().zip(&self.increment) {
            *e = dy - *e;
        }
        let e5 = scaled_sum_squares(tol, &st.u, &st.u_new, &self.err5)?;
        let e3 = scaled_sum_squares(tol, &st.u, &st.u_new, &self.err3)?;
        let deno = e5 + 0.01 * e3;
        let deno = if deno > 0.0 { deno } else { 1.0 };
        Ok(h.abs() * e5 / (st.u.len().max(1) as f64 * deno).sqrt())
    }

    /// `k_13 = F(u_new)`, one right-hand side (only for accepted steps).
    fn complete<S: OdeSystem>(
        &mut self,
        system: &S,
        st: &mut States,
        rhs_evals: &mut usize,
    ) -> Result<(), usize> {
        system.rhs(&st.u_new, &mut st.f_new);
        *rhs_evals += 1;
        first_non_finite(&st.f_new).map_or(Ok(()), Err)
    }

    /// Stage 12 (`c₁₂ = 1`): `ρ ≈ ‖k₁₃ − k₁₂‖ / ‖u_new − y₁₂‖`.
    fn stiffness_stage(&self) -> (&[f64], &[f64]) {
        (&self.stages.k[10], &self.stages.arg)
    }

    /// Keeps the stages for a later [`interpolate`](Pair::interpolate) (a swap, no copy).
    fn accept(&mut self, _h: f64, _st: &States) {
        let dense = self.dense.get_mut();
        std::mem::swap(&mut self.stages.k, &mut dense.stages.k);
        dense.ready = false;
    }

    /// `CONTD8`: the continuous extension with `r₅…r₈` (computed here on the first call
    /// after a step).
    fn interpolate<S: OdeSystem>(
        &self,
        system: &S,
        st: &States,
        h: f64,
        theta: f64,
        out: &mut [f64],
    ) {
        let mut dense = self.dense.borrow_mut();
        if !dense.ready {
            dense.prepare(system, st, h);
        }
        continuous_extension(st, h, theta, &dense.r, out);
    }

    fn dense_rhs_evals(&self) -> usize {
        self.dense.borrow().rhs_evals
    }
}

explicit_solver! {
    /// The Dormand–Prince 8(5,3) pair (DOP853) as a step-based [`Solver`](crate::Solver),
    /// with Hairer's step-size control, stiffness detection and dense output of order 7.
    ///
    /// A step of size `h` from `u`: twelve stages `k_i = F(u + h Σ_{j<i} a_ij k_j)`
    /// (`k_1 = F(u)`), `u_new = u + h Σ_i b_i k_i` (order 8), and two error estimates, of
    /// order 5 (`err₅ = Σ er_i k_i`) and 3 (`err₃ = Σ (b_i − b̂_i) k_i`), combined as
    ///
    /// ```text
    ///   err = |h| E₅ / √(n (E₅ + 0.01 E₃)),   E_p = Σ_i (err_p,i / sc_i)²,
    ///   sc_i = atol + rtol·max(|u_i|, |u_new,i|);
    /// ```
    ///
    /// the step is accepted when `err ≤ 1`. Then `k_13 = F(u_new)` is evaluated and becomes
    /// the next step's `k_1`: eleven right-hand sides per attempt and one per accepted step,
    /// plus two at the first step (`F(u0)` and the starting-step heuristic). Rejected attempts
    /// are retried inside [`step`](crate::Solver::step) with the controller's smaller step
    /// (or `h/4` after a non-finite value). Every 1000 accepted steps, and then after every
    /// step while it keeps answering "stiff", `h·‖k₁₃ − k₁₂‖/‖u_new − y₁₂‖` is compared with
    /// 6.1; 15 such answers end the integration with
    /// [`IntegrationError::Stiff`](crate::IntegrationError::Stiff).
    ///
    /// Dense output ([`interpolate`](crate::Solver::interpolate)): Hairer's `CONTD8`,
    /// `u(t_old + θh) ≈ r₁ + θ(r₂ + θ₁(r₃ + θ(r₄ + θ₁(r₅ + θ(r₆ + θ₁(r₇ + θ r₈))))))`,
    /// `θ₁ = 1 − θ`, with `r₅…r₈ = h Σ_j d_ij k_j` over sixteen stages: the three extra ones
    /// (three right-hand sides) are computed on the first `interpolate` after a step.
    ///
    /// ```
    /// use timescales_ode::{Dop853, OdeSystem, Solver, SolverOptions};
    ///
    /// /// u' = −u², u(0) = 1: u = 1/(1 + t).
    /// struct Riccati;
    /// impl OdeSystem for Riccati {
    ///     fn dim(&self) -> usize { 1 }
    ///     fn rhs(&self, u: &[f64], du: &mut [f64]) { du[0] = -u[0] * u[0]; }
    /// }
    /// # fn main() -> Result<(), timescales_ode::IntegrationError> {
    /// let opts = SolverOptions { rtol: 1e-12, atol: 1e-14, ..SolverOptions::default() };
    /// let mut solver = Dop853::new(Riccati, 0.0, &[1.0], &opts)?;
    /// solver.set_stop_time(4.0)?;
    /// while solver.t() < 4.0 {
    ///     solver.step()?;
    /// }
    /// assert!((solver.state()[0] - 0.2).abs() < 1e-11);
    /// // The dense output of the last step, at its midpoint.
    /// let t_mid = 0.5 * (solver.t_previous() + solver.t());
    /// let mut u = [0.0];
    /// solver.interpolate(t_mid, &mut u)?;
    /// assert!((u[0] - 1.0 / (1.0 + t_mid)).abs() < 1e-11);
    /// # Ok(()) }
    /// ```
    Dop853,
    Dop853Stages
}
