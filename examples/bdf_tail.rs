//! BDF against RODAS4 on the normal law's trapezoidal rule (nodes out to 12 std, weights
//! down to ~1e-32), the case where BDF's step collapsed on the saturated far-tail particles
//! (README, "Phase 3 with N converged"; `Linearization::enforce_domain`).
//!
//! ```sh
//! cargo run --release --example bdf_tail -- [N] [eps,eps,...]
//! ZETA=1 cargo run --release --example bdf_tail -- 64 1e-10
//! SCENARIO=data/scenarios/relu_normal.toml ZETA=1 cargo run --release --example bdf_tail -- 32 1e-7
//! ```
//!
//! For each ε (default 1e-10 and 1e-14) and N (default 512), both methods at rtol 1e-8,
//! atol 1e-10 from t = 0 to 3 on 6000 log-spaced output times from ε/10 (the grid of
//! `phase_separation`): the onsets t₁, t₂, t₃ (risk crossing the mid-levels), steps,
//! rejections and wall time, and the largest relative risk difference between the methods
//! up to 1.5 t₃, 2 t₃ and 3. `ZETA=1` adds a reference for small N: the same flow in
//! `ζ = atanh s` (dense RODAS4, rtol 1e-10), which resolves a saturated particle's distance
//! from `|s| = 1` far below the ulp of 1 (`1 − s ≈ 2 e^{−2ζ}`, ζ reaches ~50), and with it
//! the time at which the particle leaves saturation when the flow there turns repelling:
//! in `s`, a particle rounded to `s = 1` stays there for good (`ṡ ∝ 1 − s²`). `SCENARIO`
//! runs a scenario file instead (its tolerances and output times).

use std::ops::ControlFlow;

use timescales::meanfield::OutputTimes;
use timescales::ode::{DenseSlowFast, JacobianBlocks, Observer, Rodas4, log_grid};
use timescales::prelude::*;

fn problem(n: usize, eps: f64, method: &str) -> Result<FlowProblem, Box<dyn std::error::Error>> {
    if let Some(path) = std::env::var_os("SCENARIO") {
        let sc = Scenario::from_path(std::path::Path::new(&path))?
            .with_particles(n)?
            .with_epsilon(eps)?;
        let mut p = sc.problem;
        p.method = Method::from_name(method).ok_or("unknown method")?;
        p.times = OutputTimes::Explicit(p.output_times());
        return Ok(p);
    }
    let text = format!(
        "[activation]\nhermite = [1.0, 1.0, 0.7071067811865475, 0.4082482904638631, \
         0.20412414523193154, 0.09128709291752768]\n[target]\nhermite = [0.0, 1.0, 1.0, 1.0, \
         0.0, 0.0]\n[init]\nlaw = \"normal\"\nmean = 0.0\nstd = 0.5773502691896258\n\
         placement = \"trapezoid\"\nparticles = {n}\n[run]\nepsilon = {eps:e}\nt_end = 3.0\n\
         rtol = 1e-8\natol = 1e-10\nmethod = \"{method}\"\n"
    );
    let mut p = Scenario::from_toml_str(&text, "normal_trapezoid")?.problem;
    let mut times = log_grid(eps / 10.0, 3.0, 6000)?;
    times.insert(0, 0.0);
    p.times = OutputTimes::Explicit(times);
    Ok(p)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(Ok(512), |s| s.parse())?;
    let eps: Vec<f64> = match args.get(2) {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![1e-10, 1e-14],
    };
    println!("N = {n}, trapezoid normal law (std 1/√3), public target, rtol 1e-8, atol 1e-10");
    for &e in &eps {
        let mut risks = Vec::new();
        let mut onsets3 = None;
        for method in ["rodas4", "bdf"] {
            let p = problem(n, e, method)?;
            match simulate(&p) {
                Ok(run) => {
                    let risk = run.trajectory.column("risk").expect("risk").to_vec();
                    let on = &run.onsets;
                    onsets3 = onsets3.or(on[2]);
                    let st = run.stats;
                    let max_s = run.final_s.iter().fold(0.0f64, |m, s| m.max(s.abs()));
                    println!(
                        "ε = {e:e} {method:>6}: t1 = {:.6e} t2 = {:.6e} t3 = {:.6e} \
                         steps {} rejected {} jac {} fact {} rhs {} wall {:.2} s, final max|s| = {max_s}",
                        on[0].unwrap_or(f64::NAN),
                        on[1].unwrap_or(f64::NAN),
                        on[2].unwrap_or(f64::NAN),
                        st.steps,
                        st.rejected_steps,
                        st.jacobian_evals,
                        st.factorizations,
                        st.rhs_evals,
                        st.wall_seconds
                    );
                    risks.push(risk);
                }
                Err(err) => println!("ε = {e:e} {method:>6}: FAILED: {err}"),
            }
        }
        if std::env::var_os("ZETA").is_some() {
            let p = problem(n, e, "rodas4")?;
            let (zr, wall, steps) = zeta_reference(&p)?;
            println!(
                "ε = {e:e} ζ-reference (RODAS4 rtol 1e-10, dense): {steps} steps, {wall:.1} s"
            );
            for (name, r) in ["rodas4", "bdf"].iter().zip(&risks) {
                let d = zr
                    .iter()
                    .zip(r)
                    .map(|(x, y)| ((x - y) / x).abs())
                    .fold(0.0, f64::max);
                println!("ε = {e:e}: max relative risk difference {name} vs ζ-reference {d:.3e}");
            }
        }
        if let [a, b] = &risks[..] {
            let times = problem(n, e, "bdf")?.output_times();
            let upto = |t_max: f64| {
                a.iter()
                    .zip(b)
                    .zip(&times)
                    .filter(|(_, t)| **t <= t_max)
                    .map(|((x, y), _)| ((x - y) / x).abs())
                    .fold(0.0, f64::max)
            };
            let t3 = onsets3.unwrap_or(f64::NAN);
            println!(
                "ε = {e:e}: max relative risk difference BDF vs RODAS4: t ≤ 1.5 t₃ {:.3e}, t ≤ 2 t₃ {:.3e}, t ≤ 3 {:.3e}",
                upto(1.5 * t3),
                upto(2.0 * t3),
                upto(f64::INFINITY)
            );
        }
    }
    Ok(())
}
/// The flow in `ζ_i = atanh s_i` (`ζ̇_i = a_i P'(tanh ζ_i)`, `ε ȧ_i = P(tanh ζ_i)`): the
/// same solution, without a boundary at `|s| = 1`, and with `1 − s = 2 e^{−2ζ}` resolved far
/// below the ulp of 1 (a saturated particle's distance from 1, which decides when it
/// leaves saturation if the flow there turns repelling).
struct ZetaFlow {
    sigma: Vec<f64>,
    phi: Vec<f64>,
    w: Vec<f64>,
}

impl ZetaFlow {
    /// `c_k = σ_k r_k`.
    fn coeffs(&self, z: &[f64], a: &[f64]) -> Vec<f64> {
        let mut m = vec![0.0; self.sigma.len()];
        for ((z, a), w) in z.iter().zip(a).zip(&self.w) {
            let s = z.tanh();
            let mut p = w * a;
            for mk in m.iter_mut() {
                *mk += p;
                p *= s;
            }
        }
        m.iter()
            .zip(&self.phi)
            .zip(&self.sigma)
            .map(|((m, p), sg)| (p - sg * m) * sg)
            .collect()
    }
    /// `(P, P', P'')` at `s`.
    fn poly(c: &[f64], s: f64) -> (f64, f64, f64) {
        let (mut p, mut dp, mut ddp) = (0.0, 0.0, 0.0);
        for &ck in c.iter().rev() {
            ddp = ddp * s + 2.0 * dp;
            dp = dp * s + p;
            p = p * s + ck;
        }
        (p, dp, ddp)
    }
    fn risk(&self, u: &[f64]) -> f64 {
        let n = self.w.len();
        let c = self.coeffs(&u[..n], &u[n..]);
        0.5 * c
            .iter()
            .zip(&self.sigma)
            .map(|(c, sg)| if *sg == 0.0 { 0.0 } else { (c / sg).powi(2) })
            .sum::<f64>()
    }
}

impl SlowFastSystem for ZetaFlow {
    fn slow_dim(&self) -> usize {
        self.w.len()
    }
    fn fast_dim(&self) -> usize {
        self.w.len()
    }
    fn slow_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        let c = self.coeffs(x, y);
        for ((o, z), a) in out.iter_mut().zip(x).zip(y) {
            *o = a * Self::poly(&c, z.tanh()).1;
        }
    }
    fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        let c = self.coeffs(x, y);
        for (o, z) in out.iter_mut().zip(x) {
            *o = Self::poly(&c, z.tanh()).0;
        }
    }
    fn jacobian(&self, x: &[f64], y: &[f64], _eps: f64, b: &mut JacobianBlocks) -> bool {
        let n = self.w.len();
        let c = self.coeffs(x, y);
        let len = c.len();
        let s: Vec<f64> = x.iter().map(|z| z.tanh()).collect();
        let pw = |s: f64, k: usize| if k == 0 { 1.0 } else { s.powi(k as i32) };
        // ∂c_k/∂ζ_j and ∂c_k/∂a_j.
        let mut dcz = vec![0.0; n * len];
        let mut dca = vec![0.0; n * len];
        for j in 0..n {
            for k in 0..len {
                let sg2 = self.sigma[k] * self.sigma[k];
                let dsk = if k == 0 {
                    0.0
                } else {
                    k as f64 * pw(s[j], k - 1)
                };
                dcz[j * len + k] = -sg2 * self.w[j] * y[j] * dsk * (1.0 - s[j] * s[j]);
                dca[j * len + k] = -sg2 * self.w[j] * pw(s[j], k);
            }
        }
        *b = JacobianBlocks::zeros(n, n);
        for i in 0..n {
            let (_, dp, ddp) = Self::poly(&c, s[i]);
            let q = 1.0 - s[i] * s[i];
            for j in 0..n {
                let (mut gz, mut ga, mut fz, mut fa) = (0.0, 0.0, 0.0, 0.0);
                for k in 0..len {
                    let dsk = if k == 0 {
                        0.0
                    } else {
                        k as f64 * pw(s[i], k - 1)
                    };
                    let sk = pw(s[i], k);
                    gz += y[i] * dsk * dcz[j * len + k];
                    ga += y[i] * dsk * dca[j * len + k];
                    fz += sk * dcz[j * len + k];
                    fa += sk * dca[j * len + k];
                }
                if i == j {
                    gz += y[i] * ddp * q;
                    ga += dp;
                    fz += dp * q;
                }
                b.gx[(i, j)] = gz;
                b.gy[(i, j)] = ga;
                b.fx[(i, j)] = fz;
                b.fy[(i, j)] = fa;
            }
        }
        true
    }
}

struct RiskLog<'a> {
    flow: &'a ZetaFlow,
    risk: Vec<f64>,
}

impl Observer for RiskLog<'_> {
    fn observe(&mut self, _t: f64, u: &[f64]) -> ControlFlow<()> {
        self.risk.push(self.flow.risk(u));
        ControlFlow::Continue(())
    }
}

/// The risk of the ζ formulation (RODAS4 at rtol 1e-10, atol 1e-12, dense Jacobian: for
/// small N only) at the output times of `p`.
fn zeta_reference(p: &FlowProblem) -> Result<(Vec<f64>, f64, usize), Box<dyn std::error::Error>> {
    let q = p.law.particles(p.particles, p.placement)?;
    let flow = ZetaFlow {
        sigma: p.sigma.clone(),
        phi: p.phi.clone(),
        w: q.weights.clone(),
    };
    let n = q.a.len();
    let mut u0 = vec![0.0; n];
    u0.extend_from_slice(&q.a);
    let opts = SolverOptions {
        rtol: 1e-10,
        atol: 1e-12,
        max_steps: 10_000_000,
        ..SolverOptions::default()
    };
    let OutputTimes::Explicit(times) = &p.times else {
        return Err("explicit output times expected".into());
    };
    let mut solver = Rodas4::new(DenseSlowFast::new(&flow, p.epsilon), 0.0, &u0, &opts)?;
    let mut log = RiskLog {
        flow: &flow,
        risk: Vec::new(),
    };
    let out = integrate(&mut solver, times, &mut [], &mut log)?;
    Ok((log.risk, out.stats.wall_seconds, out.stats.steps))
}
