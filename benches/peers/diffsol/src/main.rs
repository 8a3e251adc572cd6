//! diffsol peer of `benches/peers_wp.py`: the full particle ODE of model.md §4 integrated by
//! diffsol 0.19 (BDF or ESDIRK34) with one of its linear-algebra back ends.
//!
//! Model (state per particle (s_i, a_i), interleaved; k = 0..5):
//!   M_k = Σ_i w_i a_i s_i^k,  c_k = σ_k (φ_k − σ_k M_k),  P(s) = Σ_k c_k s^k,
//!   ε ȧ_i = P(s_i),  ṡ_i = (1 − s_i²) a_i P'(s_i).
//!
//! Back ends:
//! * `nalgebra` / `faer-dense`: the ODE as written, dense Jacobian (diffsol assembles it column by
//!   column from the analytic J·v below) and dense LU (NalgebraLU / FaerLU);
//! * `faer-sparse`: the ODE's Jacobian is dense (every particle feels every other through M_k),
//!   so for the sparse back end the moments become six algebraic unknowns, a semi-explicit
//!   index-1 DAE with a singular mass matrix (ṡ_i, ȧ_i as above with c_k from the unknowns
//!   M_k, and 0 = Σ_i w_i a_i s_i^k − M_k), whose Jacobian is an arrow (2 + 6 entries per particle row, 6 dense rows): sparse LU
//!   (FaerSparseLU) with diffsol's sparsity detection and Jacobian colouring.
//!
//! J·v (ODE): B v + [q a Q'(s_i); Q(s_i)/ε] with q = 1 − s², B the per-particle 2×2 block
//! (∂ṡ/∂s = a(−2sP' + qP''), ∂ṡ/∂a = qP', ∂ȧ/∂s = P'/ε) and Q(s) = Σ_k δc_k s^k,
//! δc_k = −σ_k² Σ_j w_j (a_j k s_j^{k−1} v_{s_j} + s_j^k v_{a_j}).
//!
//! Usage: diffsol-peer BACKEND METHOD PROBLEM_FILE RTOL ATOL
//! (BACKEND nalgebra | faer-dense | faer-sparse, METHOD bdf | esdirk34; PROBLEM_FILE as for
//! cvode_peer.c.) Prints one JSON object: solver wall and process CPU time (step and interpolate calls only; the
//! problem build, including diffsol's sparsity detection, and the risk evaluations excluded),
//! diffsol's counters and the risk at every output time.

use std::time::Instant;

use diffsol::{
    FaerLU, FaerMat, FaerSparseLU, FaerSparseMat, Matrix, NalgebraLU, NalgebraMat, OdeBuilder,
    OdeEquationsImplicit, OdeSolverMethod, OdeSolverProblem, OdeSolverStopReason, Vector,
};

const KK: usize = 6;

struct Problem {
    eps: f64,
    times: Vec<f64>,
    a0: Vec<f64>,
    w: Vec<f64>,
    sigma: [f64; KK],
    phi: [f64; KK],
}

fn read_problem(path: &str) -> Result<Problem, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut it = text.split_whitespace().map(|x| x.parse::<f64>());
    let mut next = || -> Result<f64, String> {
        it.next()
            .ok_or_else(|| format!("{path}: truncated"))?
            .map_err(|e| format!("{path}: {e}"))
    };
    let eps = next()?;
    let nt = next()? as usize;
    let times = (0..nt).map(|_| next()).collect::<Result<Vec<_>, _>>()?;
    let n = next()? as usize;
    let (mut a0, mut w) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        a0.push(next()?);
        w.push(next()?);
    }
    let mut sigma = [0.0; KK];
    let mut fact = 1.0;
    for (k, s) in sigma.iter_mut().enumerate() {
        if k > 0 {
            fact *= k as f64;
        }
        *s = 1.0 / fact.sqrt();
    }
    Ok(Problem {
        eps,
        times,
        a0,
        w,
        sigma,
        phi: [0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
    })
}

/// P, P', P'' at s (Horner).
#[inline]
fn poly(c: &[f64; KK], s: f64) -> (f64, f64, f64) {
    let (mut a, mut b, mut e) = (c[KK - 1], 0.0, 0.0);
    for k in (0..KK - 1).rev() {
        e = e * s + b;
        b = b * s + a;
        a = a * s + c[k];
    }
    (a, b, 2.0 * e)
}

/// Moments M_k = Σ w_i a_i s_i^k of an interleaved particle state.
fn moments(w: &[f64], y: &[f64]) -> [f64; KK] {
    let mut m = [0.0; KK];
    for (i, wi) in w.iter().enumerate() {
        let (s, mut p) = (y[2 * i], wi * y[2 * i + 1]);
        for mk in m.iter_mut() {
            *mk += p;
            p *= s;
        }
    }
    m
}

fn coeffs(sigma: &[f64; KK], phi: &[f64; KK], m: &[f64; KK]) -> [f64; KK] {
    std::array::from_fn(|k| sigma[k] * (phi[k] - sigma[k] * m[k]))
}

fn risk(pr: &Problem, y: &[f64]) -> f64 {
    let m = moments(&pr.w, y);
    0.5 * (0..KK)
        .map(|k| (pr.phi[k] - pr.sigma[k] * m[k]).powi(2))
        .sum::<f64>()
}

/// Particle rows of f and of J·v given c and δc (the DAE passes δc from the moment unknowns).
fn particle_rhs(c: &[f64; KK], inv_eps: f64, y: &[f64], f: &mut [f64], n: usize) {
    for i in 0..n {
        let (s, a) = (y[2 * i], y[2 * i + 1]);
        let (p, dp, _) = poly(c, s);
        f[2 * i] = (1.0 - s * s) * a * dp;
        f[2 * i + 1] = p * inv_eps;
    }
}

#[allow(clippy::too_many_arguments)]
fn particle_jv(
    c: &[f64; KK],
    dc: &[f64; KK],
    inv_eps: f64,
    y: &[f64],
    v: &[f64],
    out: &mut [f64],
    n: usize,
) {
    for i in 0..n {
        let (s, a) = (y[2 * i], y[2 * i + 1]);
        let q = 1.0 - s * s;
        let (_, dp, d2p) = poly(c, s);
        let (qq, dqq, _) = poly(dc, s);
        out[2 * i] = a * (-2.0 * s * dp + q * d2p) * v[2 * i] + q * dp * v[2 * i + 1] + q * a * dqq;
        out[2 * i + 1] = dp * inv_eps * v[2 * i] + qq * inv_eps;
    }
}

/// Σ_j w_j (a_j k s_j^{k−1} v_{s_j} + s_j^k v_{a_j}), the derivative of M_k along v.
fn moment_derivative(w: &[f64], y: &[f64], v: &[f64]) -> [f64; KK] {
    let mut dm = [0.0; KK];
    for (j, wj) in w.iter().enumerate() {
        let (s, a, vs, va) = (y[2 * j], y[2 * j + 1], v[2 * j], v[2 * j + 1]);
        let (mut pk, mut pkm1) = (1.0, 0.0);
        for (k, dmk) in dm.iter_mut().enumerate() {
            *dmk += wj * (a * k as f64 * pkm1 * vs + pk * va);
            pkm1 = pk;
            pk *= s;
        }
    }
    dm
}

/// CPU time of this process (all threads), seconds.
fn process_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + 1e-9 * ts.tv_nsec as f64
}

struct Output {
    wall: f64,
    cpu: f64,
    setup: f64,
    risk: Vec<f64>,
    /// steps, error-test failures, Newton iterations, Newton failures, linear-solver set-ups
    stats: [usize; 5],
}

fn integrate<'a, Eqn, S>(pr: &Problem, mut solver: S, setup: f64) -> Result<Output, String>
where
    Eqn: OdeEquationsImplicit<T = f64> + 'a,
    S: OdeSolverMethod<'a, Eqn>,
{
    let t_end = *pr.times.last().ok_or("no output times")?;
    solver.set_stop_time(t_end).map_err(|e| e.to_string())?;
    let n = pr.a0.len();
    let mut risks = Vec::with_capacity(pr.times.len());
    let y0 = solver.state().y.clone_as_vec();
    risks.push(risk(pr, &y0[..2 * n]));
    let (mut wall, mut cpu) = (0.0, 0.0);
    for &t in &pr.times[1..] {
        let (t0, c0) = (Instant::now(), process_cpu());
        while solver.state().t < t {
            if let OdeSolverStopReason::TstopReached = solver.step().map_err(|e| e.to_string())? {
                break;
            }
        }
        let y = solver.interpolate(t).map_err(|e| e.to_string())?;
        wall += t0.elapsed().as_secs_f64();
        cpu += process_cpu() - c0;
        risks.push(risk(pr, &y.clone_as_vec()[..2 * n]));
    }
    let st = solver.get_statistics();
    let stats = [
        st.number_of_steps,
        st.number_of_error_test_failures,
        st.number_of_nonlinear_solver_iterations,
        st.number_of_nonlinear_solver_fails,
        st.number_of_linear_solver_setups,
    ];
    Ok(Output {
        wall,
        cpu,
        setup,
        risk: risks,
        stats,
    })
}

/// The constants every closure needs (Copy: each `move` closure takes its own).
#[derive(Clone, Copy)]
struct Consts {
    n: usize,
    inv_eps: f64,
    sigma: [f64; KK],
    phi: [f64; KK],
    /// σ_k²
    sig2: [f64; KK],
}

impl Consts {
    fn new(pr: &Problem) -> Self {
        let sigma = pr.sigma;
        Consts {
            n: pr.a0.len(),
            inv_eps: 1.0 / pr.eps,
            sigma,
            phi: pr.phi,
            sig2: std::array::from_fn(|k| sigma[k] * sigma[k]),
        }
    }
}

/// s_i(0) = 0, a_i(0) = a0_i (interleaved).
fn init_particles(a0: &[f64], y: &mut [f64]) {
    for (i, a) in a0.iter().enumerate() {
        y[2 * i] = 0.0;
        y[2 * i + 1] = *a;
    }
}

fn build_ode<M>(
    pr: &Problem,
    rtol: f64,
    atol: f64,
) -> Result<OdeSolverProblem<impl OdeEquationsImplicit<M = M, V = M::V, T = f64, C = M::C>>, String>
where
    M: Matrix<T = f64> + 'static,
{
    let cs = Consts::new(pr);
    let n = cs.n;
    let (w, w2, a0) = (pr.w.clone(), pr.w.clone(), pr.a0.clone());
    OdeBuilder::<M>::new()
        .rtol(rtol)
        .atol([atol])
        .rhs_implicit(
            move |y: &[f64], _p: &[f64], _t: f64, f: &mut [f64]| {
                let c = coeffs(&cs.sigma, &cs.phi, &moments(&w, y));
                particle_rhs(&c, cs.inv_eps, y, f, n);
            },
            move |y: &[f64], _p: &[f64], _t: f64, v: &[f64], out: &mut [f64]| {
                let c = coeffs(&cs.sigma, &cs.phi, &moments(&w2, y));
                let dm = moment_derivative(&w2, y, v);
                let dc: [f64; KK] = std::array::from_fn(|k| -cs.sig2[k] * dm[k]);
                particle_jv(&c, &dc, cs.inv_eps, y, v, out, n);
            },
        )
        .init(
            move |_p: &[f64], _t: f64, y: &mut [f64]| init_particles(&a0, y),
            2 * n,
        )
        .build()
        .map_err(|e| e.to_string())
}

fn build_dae<M>(
    pr: &Problem,
    rtol: f64,
    atol: f64,
) -> Result<OdeSolverProblem<impl OdeEquationsImplicit<M = M, V = M::V, T = f64, C = M::C>>, String>
where
    M: Matrix<T = f64> + 'static,
{
    let cs = Consts::new(pr);
    let n = cs.n;
    let (w, w2, w0, a0) = (pr.w.clone(), pr.w.clone(), pr.w.clone(), pr.a0.clone());
    OdeBuilder::<M>::new()
        .rtol(rtol)
        .atol([atol])
        .rhs_implicit(
            move |y: &[f64], _p: &[f64], _t: f64, f: &mut [f64]| {
                let mstate: [f64; KK] = std::array::from_fn(|k| y[2 * n + k]);
                let c = coeffs(&cs.sigma, &cs.phi, &mstate);
                particle_rhs(&c, cs.inv_eps, y, f, n);
                let m = moments(&w, &y[..2 * n]);
                for k in 0..KK {
                    f[2 * n + k] = m[k] - mstate[k];
                }
            },
            move |y: &[f64], _p: &[f64], _t: f64, v: &[f64], out: &mut [f64]| {
                let mstate: [f64; KK] = std::array::from_fn(|k| y[2 * n + k]);
                let c = coeffs(&cs.sigma, &cs.phi, &mstate);
                let dc: [f64; KK] = std::array::from_fn(|k| -cs.sig2[k] * v[2 * n + k]);
                particle_jv(&c, &dc, cs.inv_eps, y, v, out, n);
                let dm = moment_derivative(&w2, &y[..2 * n], &v[..2 * n]);
                for k in 0..KK {
                    out[2 * n + k] = dm[k] - v[2 * n + k];
                }
            },
        )
        .mass(
            move |v: &[f64], _p: &[f64], _t: f64, beta: f64, y: &mut [f64]| {
                for i in 0..2 * n {
                    y[i] = v[i] + beta * y[i];
                }
                for yk in y[2 * n..].iter_mut() {
                    *yk *= beta;
                }
            },
        )
        .init(
            move |_p: &[f64], _t: f64, y: &mut [f64]| {
                init_particles(&a0, y);
                let m = moments(&w0, &y[..2 * n]);
                y[2 * n..2 * n + KK].copy_from_slice(&m);
            },
            2 * n + KK,
        )
        .build()
        .map_err(|e| e.to_string())
}

/// Builds the problem for a concrete matrix type and runs the method with linear solver LS (a
/// macro rather than a generic function: diffsol's solver constructors carry long trait bounds).
macro_rules! solve {
    ($M:ty, $LS:ty, $build:ident, $pr:expr, $method:expr, $rtol:expr, $atol:expr) => {{
        let t0 = Instant::now();
        match $build::<$M>($pr, $rtol, $atol) {
            Err(e) => Err(e),
            Ok(problem) => match $method {
                "bdf" => match problem.bdf::<$LS>() {
                    Ok(solver) => integrate($pr, solver, t0.elapsed().as_secs_f64()),
                    Err(e) => Err(e.to_string()),
                },
                "esdirk34" => match problem.esdirk34::<$LS>() {
                    Ok(solver) => integrate($pr, solver, t0.elapsed().as_secs_f64()),
                    Err(e) => Err(e.to_string()),
                },
                other => Err(format!("unknown method {other} (bdf | esdirk34)")),
            },
        }
    }};
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!(
            "usage: {} nalgebra|faer-dense|faer-sparse bdf|esdirk34 PROBLEM_FILE RTOL ATOL",
            args[0]
        );
        std::process::exit(64);
    }
    let (backend, method) = (args[1].as_str(), args[2].as_str());
    let parse = |s: &str| {
        s.parse::<f64>().unwrap_or_else(|e| {
            eprintln!("{s}: {e}");
            std::process::exit(64)
        })
    };
    let (rtol, atol) = (parse(&args[4]), parse(&args[5]));
    let pr = match read_problem(&args[3]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(65)
        }
    };
    let label = match backend {
        "nalgebra" => "dense nalgebra LU",
        "faer-dense" => "dense faer LU",
        "faer-sparse" => "sparse faer LU, moments as algebraic unknowns (DAE)",
        _ => {
            eprintln!("unknown back end {backend}");
            std::process::exit(64)
        }
    };
    let out = match backend {
        "nalgebra" => solve!(
            NalgebraMat<f64>,
            NalgebraLU<f64>,
            build_ode,
            &pr,
            method,
            rtol,
            atol
        ),
        "faer-dense" => solve!(
            FaerMat<f64>,
            FaerLU<f64>,
            build_ode,
            &pr,
            method,
            rtol,
            atol
        ),
        _ => solve!(
            FaerSparseMat<f64>,
            FaerSparseLU<f64>,
            build_dae,
            &pr,
            method,
            rtol,
            atol
        ),
    };
    let name = format!("diffsol {} ({label})", method.to_uppercase());
    match out {
        Ok(o) => {
            let s = &o.stats;
            let risk: Vec<String> = o.risk.iter().map(|r| format!("{r:.17e}")).collect();
            println!(
                "{{\"solver\": \"{name}\", \"config\": \"{backend}-{method}\", \"n\": {}, \"rtol\": {rtol:e}, \"atol\": {atol:e}, \
                 \"wall\": {:.9}, \"cpu\": {:.9}, \"setup\": {:.9}, \"steps\": {}, \"error_test_fails\": {}, \"newton_iters\": {}, \
                 \"newton_fails\": {}, \"lin_setups\": {}, \"risk\": [{}]}}",
                pr.a0.len(),
                o.wall,
                o.cpu,
                o.setup,
                s[0],
                s[1],
                s[2],
                s[3],
                s[4],
                risk.join(", ")
            );
        }
        Err(e) => {
            println!(
                "{{\"solver\": \"{name}\", \"config\": \"{backend}-{method}\", \"error\": {:?}}}",
                e
            );
            std::process::exit(2);
        }
    }
}
