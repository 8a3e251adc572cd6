//! Do phases 2 and 3 separate when the width is converged? The measurement behind
//! `results/phase_separation.md` (issue "Asymptotics to the end", README "Phase 3 with N
//! converged").
//!
//! ```sh
//! cargo run --release --example phase_separation -- converged [--n-max 65536] [--only NAME]
//! cargo run --release --example phase_separation -- fixed-n  [--only NAME]
//! cargo run --release --example phase_separation -- edge     [--only NAME]
//! cargo run --release --example phase_separation -- continuum [--only NAME]
//! cargo run --release --example phase_separation -- drop
//! cargo run --release --example phase_separation -- inner-drop [--only NAME]
//! cargo run --release --example phase_separation -- summary
//! ```
//!
//! `converged`: for every case (a law of `a(0)`, a placement, a seed, a tolerance, a target)
//! and every ε of 1e-6 … 1e-14, the particle count is doubled from 64 until the onsets of
//! phases 1–3 are converged ([`converge_n`]: Richardson error estimate ≤ 1 %) and the risk
//! is measured there: `t₂`, `t₃`, `t₃/t₂`, the dwell at `R₂` (the longest stretch of log
//! time, in e-folds, with `|R − R₂| ≤ 0.05 (R₁ − R₃)`). `fixed-n`: the public law on
//! Gauss–Legendre atoms and on quantile midpoints (edge weights ∝ N^{−2} and 1/N), N = 8 … 256,
//! every decade of ε = 1e-6 … 1e-22, without doubling:
//! the fixed-N laws `t₂ = C₂ ε^{1/4}`, `t₃ = C₃(N) ε^{1/6}` and the ε*(N) below which the
//! phases separate. Every row goes to `results/phase_separation_*.csv`;
//! `summary` reads them back and writes `results/phase_separation.md`: per case the exponents
//! of `t₂`, `t₃` and `t₃ − t₂` over ε (power law, 95 % CI) beside the edge-exponent
//! prediction `γ₃₋₂ = 1/(2(2 − κ))`, the local slopes, `t₃/t₂` and the dwell per ε; per
//! fixed N the threshold ε*(N). `edge`: who carries `M₂` at `t₂` (the edge layer's width,
//! mass, overlaps and weights against ε, beside the scaling argument's exponents).
//! `continuum`: the ε-free inner problem of phase 2 at N up to 65 536, read at degrees 2 and
//! 3 and at the carriers' `A S` ([`continuum`]); `drop`: `t₃ − t₂` converged in N itself
//! ([`drop_width`]); `summary` sets them side by side, and after `M₂` saturates gives
//! `t₃ − t₂ = K/(3 σ₃ φ₃ (A S)_c)` and whether the phases separate ([`saturation_summary`])
//! and why `p` takes its value: the blow-up in similarity variables, with the multiplier's
//! self-consistency (and the closure it reduces to) that gives `p` from the edge exponent κ
//! alone ([`similarity_summary`], `timescales::phases::self_consistent_exponents`).

use std::path::PathBuf;

use rayon::prelude::*;
use timescales::analysis::{ConvergeOptions, converge_n, fit_power_law, richardson};
use timescales::meanfield::FlowProblem;
use timescales::phases::{PhaseError, direct_run, dwell_near};
use timescales::prelude::*;
use timescales::report::{Column, Table, read_table, write_csv};

/// Activation and target of the public scenario, and the law and placement of each case.
struct Case {
    name: &'static str,
    /// The `[init]` table.
    init: &'static str,
    /// Target Hermite coefficients.
    target: &'static str,
    rtol: f64,
    /// `bdf` or `rodas4`.
    method: &'static str,
    /// Edge exponent κ of the law at its growing edge (density ∝ x^κ at distance x from
    /// it; −1 for atoms); NaN for an unbounded law.
    kappa: f64,
}

const PUBLIC_TARGET: &str = "[0.0, 1.0, 1.0, 1.0, 0.0, 0.0]";

/// The `[init]` tables of the graded cases (in [`CASES`] and, at rtol 1e-10, [`GRADED_TIGHT`]).
const UNIFORM_GRADED: &str = "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nplacement = \"graded\"";
const BETA_HALF_GRADED: &str =
    "law = \"beta\"\nalpha = 0.5\nbeta = 0.5\nlo = -1.0\nhi = 1.0\nplacement = \"graded\"";

const CASES: &[Case] = &[
    Case {
        name: "uniform_gl",
        init: "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nplacement = \"quadrature\"",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: 0.0,
    },
    Case {
        name: "uniform_gl_rodas4_rtol1e-10",
        init: "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nplacement = \"quadrature\"",
        target: PUBLIC_TARGET,
        rtol: 1e-10,
        method: "rodas4",
        kappa: 0.0,
    },
    Case {
        name: "uniform_quantile",
        init: "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nplacement = \"quantile\"",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: 0.0,
    },
    Case {
        name: "uniform_random_1",
        init: "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nplacement = \"random\"\nseed = 1",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: 0.0,
    },
    Case {
        name: "uniform_random_2",
        init: "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nplacement = \"random\"\nseed = 2",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: 0.0,
    },
    Case {
        name: "uniform_random_3",
        init: "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nplacement = \"random\"\nseed = 3",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: 0.0,
    },
    Case {
        name: "normal_quantile",
        init: "law = \"normal\"\nmean = 0.0\nstd = 0.5773502691896258\nplacement = \"quantile\"",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: f64::NAN,
    },
    // The same law on the trapezoidal rule, which reaches the tail (12 std) where the first
    // carriers of phase 2 sit (BDF: its onsets agree with RODAS4's to 2e-7 at N = 512,
    // ε = 1e-10 and 1e-14, examples/bdf_tail.rs).
    Case {
        name: "normal_trapezoid",
        init: "law = \"normal\"\nmean = 0.0\nstd = 0.5773502691896258\nplacement = \"trapezoid\"",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: f64::NAN,
    },
    Case {
        name: "beta0.5_quantile",
        init: "law = \"beta\"\nalpha = 0.5\nbeta = 0.5\nlo = -1.0\nhi = 1.0",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: -0.5,
    },
    Case {
        name: "beta2_quantile",
        init: "law = \"beta\"\nalpha = 2.0\nbeta = 2.0\nlo = -1.0\nhi = 1.0",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: 1.0,
    },
    Case {
        name: "discrete5",
        init: "law = \"discrete\"\nvalues = [-1.0, -0.5, 0.0, 0.5, 1.0]\nplacement = \"quadrature\"",
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: -1.0,
    },
    Case {
        name: "uniform_graded",
        init: UNIFORM_GRADED,
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: 0.0,
    },
    Case {
        name: "beta0.5_graded",
        init: BETA_HALF_GRADED,
        target: PUBLIC_TARGET,
        rtol: 1e-8,
        method: "bdf",
        kappa: -0.5,
    },
    Case {
        name: "uniform_gl_phi3_heavy",
        init: "law = \"uniform\"\nlo = -1.0\nhi = 1.0\nplacement = \"quadrature\"",
        target: "[0.0, 1.0, 0.5, 1.5, 0.0, 0.0]",
        rtol: 1e-8,
        method: "bdf",
        kappa: 0.0,
    },
];

/// The graded cases at rtol 1e-10, for the full ODE of `-- graded` only.
const GRADED_TIGHT: &[Case] = &[
    Case {
        name: "uniform_graded_rtol1e-10",
        init: UNIFORM_GRADED,
        target: PUBLIC_TARGET,
        rtol: 1e-10,
        method: "bdf",
        kappa: 0.0,
    },
    Case {
        name: "beta0.5_graded_rtol1e-10",
        init: BETA_HALF_GRADED,
        target: PUBLIC_TARGET,
        rtol: 1e-10,
        method: "bdf",
        kappa: -0.5,
    },
];

fn problem(
    case: &Case,
    particles: usize,
    eps: f64,
) -> Result<FlowProblem, Box<dyn std::error::Error>> {
    let particles = if case.init.contains("discrete") {
        String::new()
    } else {
        format!("particles = {particles}\n")
    };
    let text = format!(
        "[activation]\nhermite = [1.0, 1.0, 0.7071067811865475, 0.4082482904638631, \
         0.20412414523193154, 0.09128709291752768]\n[target]\nhermite = {}\n[init]\n{}\n{}\
         [run]\nepsilon = {eps:e}\nt_end = 3.0\nrtol = {:e}\natol = {:e}\nmethod = \"{}\"\n",
        case.target,
        case.init,
        particles,
        case.rtol,
        case.rtol * 1e-2,
        case.method
    );
    Ok(Scenario::from_toml_str(&text, case.name)?.problem)
}

/// Log-spaced output times of a measuring run, ε/10 … 3, for the dwell at R₂ (recorded in
/// each row's `samples` column). The onsets do not depend on them: they are located on the
/// integrator's dense output ([`timescales::meanfield::FlowRun::onsets`]). Read off samples,
/// as until 2026-12-06, they were biased — t₃/t₂ of `normal_trapezoid` at ε = 1e-14, N = 512
/// read 1.0948 on 600 samples and 1.0812 on 5000; 6000 samples put the width t₃ − t₂ 13 %
/// wide at ε = 1e-16 (N = 4096), and even 120 000 put it 0.8 % wide at ε = 1e-20 (graded,
/// N = 1024; 8.2272e-8 against 8.1605e-8 located), where R falls from R₂ within less than
/// one sample's spacing.
const SAMPLES: usize = 6000;

/// What one integration shows of phases 1–3.
#[derive(Clone, Copy)]
struct Measure {
    onsets: [Option<f64>; 3],
    /// Longest stretch of log time (e-folds) with `|R − R₂| ≤ 0.05 (R₁ − R₃)`.
    dwell_r2: f64,
}

fn measure(p: &FlowProblem, samples: usize) -> Result<Measure, PhaseError> {
    let levels = p.plateau_levels();
    let run = direct_run(p, samples)?;
    let on = run.onsets;
    let (t, risk) = (
        &run.trajectory.t,
        run.trajectory.column("risk").expect("risk"),
    );
    let best = dwell_near(t, risk, levels[2], 0.05 * (levels[1] - levels[3]));
    Ok(Measure {
        onsets: [on[0], on[1], on[2]],
        dwell_r2: best,
    })
}

#[derive(Default)]
struct Rows {
    case: Vec<String>,
    kappa: Vec<f64>,
    epsilon: Vec<f64>,
    n: Vec<u64>,
    t1: Vec<f64>,
    t2: Vec<f64>,
    t3: Vec<f64>,
    dwell: Vec<f64>,
    err2: Vec<f64>,
    err3: Vec<f64>,
    last: Vec<bool>,
    converged: Vec<bool>,
    samples: Vec<u64>,
}

impl Rows {
    fn table(self) -> Table {
        let ratio: Vec<f64> = self.t3.iter().zip(&self.t2).map(|(a, b)| a / b).collect();
        Table::new()
            .str("case", self.case)
            .f64("kappa", self.kappa)
            .f64("epsilon", self.epsilon)
            .u64("n", self.n)
            .f64("t1", self.t1)
            .f64("t2", self.t2)
            .f64("t3", self.t3)
            .f64("t3_over_t2", ratio)
            .f64("dwell_r2", self.dwell)
            .f64("rel_error_t2", self.err2)
            .f64("rel_error_t3", self.err3)
            .bool("n_final", self.last)
            .bool("converged", self.converged)
            .u64("samples", self.samples)
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let only = arg("--only");
    let out = PathBuf::from(arg("--out").unwrap_or_else(|| "results".into()));
    std::fs::create_dir_all(&out)?;
    let opt = |x: Option<f64>| x.unwrap_or(f64::NAN);
    match mode.as_str() {
        "converged" => {
            let n_max: usize = arg("--n-max").map_or(Ok(65536), |s| s.parse())?;
            let eps = [1e-6, 1e-8, 1e-10, 1e-12, 1e-14];
            for case in CASES {
                if only.as_deref().is_some_and(|o| o != case.name) {
                    continue;
                }
                let started = std::time::Instant::now();
                let per_eps: Vec<_> = eps
                    .par_iter()
                    .filter_map(|&e| -> Option<_> {
                        let r = (|| -> Result<_, String> {
                            let base = problem(case, 64, e).map_err(|x| x.to_string())?;
                            let n0 = base.particles;
                            let fixed = base.particle_count_is_fixed();
                            let opts = ConvergeOptions {
                                n_start: n0,
                                n_max: if fixed { n0 } else { n_max.max(n0) },
                                rel_tol: 1e-2,
                            };
                            let mut seen = Vec::new();
                            let conv = converge_n(&opts, |n| -> Result<Vec<f64>, PhaseError> {
                                let p = FlowProblem {
                                    particles: n,
                                    ..base.clone()
                                };
                                let m = measure(&p, SAMPLES)?;
                                seen.push((n, m));
                                Ok(m.onsets.iter().flatten().copied().collect())
                            })
                            .map_err(|x| format!("{} ε = {e:e}: {x}", case.name))?;
                            Ok((e, conv, seen))
                        })();
                        r.map_err(|x| eprintln!("skipped (failed): {x}")).ok()
                    })
                    .collect();
                let mut rows = Rows::default();
                for (e, conv, seen) in per_eps {
                    for (i, ((n, m), h)) in seen.iter().zip(&conv.history).enumerate() {
                        let est = |l: usize| -> f64 {
                            // Estimates index the phases present; phases 1–3 are all present
                            // when t₃ is.
                            if m.onsets.iter().all(Option::is_some) {
                                h.error_estimate.get(l).copied().unwrap_or(f64::NAN)
                            } else {
                                f64::NAN
                            }
                        };
                        rows.case.push(case.name.into());
                        rows.kappa.push(case.kappa);
                        rows.epsilon.push(e);
                        rows.n.push(*n as u64);
                        rows.t1.push(opt(m.onsets[0]));
                        rows.t2.push(opt(m.onsets[1]));
                        rows.t3.push(opt(m.onsets[2]));
                        rows.dwell.push(m.dwell_r2);
                        rows.err2.push(est(1));
                        rows.err3.push(est(2));
                        rows.last.push(i + 1 == seen.len());
                        rows.converged.push(conv.converged);
                        rows.samples.push(SAMPLES as u64);
                    }
                }
                write_csv(
                    &rows.table(),
                    &out.join(format!("phase_separation_converged_{}.csv", case.name)),
                )?;
                eprintln!("{}: {:.0} s", case.name, started.elapsed().as_secs_f64());
            }
        }
        "fixed-n" => {
            // Gauss–Legendre atoms (edge weight ∝ N^{−2}) and quantile midpoints (equal
            // weights 1/N): which of N and the edge atom's weight sets C₃(N).
            let cases: Vec<&Case> = ["uniform_gl", "uniform_quantile"]
                .iter()
                .filter_map(|name| CASES.iter().find(|c| c.name == *name))
                .collect();
            // Below ε ≈ 1e-22 the step falls under the rounding of t (t₂ ~ ε^{1/4}): N = 512
            // fails there, and reaches its fixed-N regime (t₃/t₂ ≥ 4) only below it.
            let ns = [8usize, 16, 32, 64, 128, 256];
            let eps: Vec<f64> = (6..=22).map(|k| 10f64.powi(-k)).collect();
            let jobs: Vec<(&Case, usize, f64)> = cases
                .iter()
                .flat_map(|&c| ns.iter().map(move |&n| (c, n)))
                .flat_map(|(c, n)| eps.iter().map(move |&e| (c, n, e)))
                .filter(|(_, n, _)| only.as_deref().is_none_or(|o| o == n.to_string()))
                .collect();
            // Atoms: κ = −1.
            let rows = fixed_rows(&jobs, |_| -1.0, SAMPLES, |_| 3.0);
            write_csv(&rows.table(), &out.join("phase_separation_fixed_n.csv"))?;
        }
        "edge" => edge(&out, only.as_deref())?,
        "continuum" => continuum(&out, only.as_deref())?,
        "drop" => drop_width(&out)?,
        "inner-drop" => inner_drop(
            &out,
            only.as_deref(),
            &INNER_DROP,
            "phase_separation_inner_drop.csv",
        )?,
        "graded" => graded(&out, only.as_deref())?,
        "summary" => summary(&out)?,
        _ => {
            eprintln!(
                "usage: phase_separation (converged [--n-max N] | fixed-n | edge | continuum | drop | inner-drop | graded | summary) [--only NAME] [--out DIR]"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}

/// The edge layer at `t₂`: for a bounded law with edge exponent κ, the scaling argument of
/// the README ("Phase 3 with N converged") predicts that half of `M₂ = Σ w_i a_i s_i²` is
/// carried by the labels within `x½ ∝ ε^{1/(4(2−κ))}` of the growing edge, with overlaps
/// `s ∝ ε^{(1−κ)/(4(2−κ))}` and weights `a ∝ ε^{−(3−κ)/(4(2−κ))}`. Each case runs at N and
/// N/2 (its converged N from `converged`) for ε = 1e-8 … 1e-16: once to find `t₂`, once to
/// record the particles there.
fn edge(out: &std::path::Path, only: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    let cases: [(&str, usize); 2] = [("uniform_gl", 8192), ("beta0.5_quantile", 32768)];
    let eps: Vec<f64> = (8..=16).step_by(2).map(|k| 10f64.powi(-k)).collect();
    let jobs: Vec<(&Case, usize, f64)> = cases
        .iter()
        .filter(|(name, _)| only.is_none_or(|o| o == *name))
        .flat_map(|(name, n)| {
            let case = CASES
                .iter()
                .find(|c| c.name == *name)
                .expect("a listed case");
            let eps = eps.clone();
            [*n, n / 2]
                .into_iter()
                .flat_map(move |n| eps.clone().into_iter().map(move |e| (case, n, e)))
        })
        .collect();
    let rows: Vec<_> = jobs
        .par_iter()
        .filter_map(|&(case, n, e)| {
            let r = (|| -> Result<_, Box<dyn std::error::Error>> {
                let p = problem(case, n, e)?;
                let t2 = measure(&p, SAMPLES)?.onsets[1].ok_or("no phase 2 onset")?;
                let at = FlowProblem {
                    t_end: t2,
                    times: timescales::meanfield::OutputTimes::Explicit(vec![0.0, t2]),
                    ..p.clone()
                };
                let run = timescales::meanfield::simulate_with_particles(&at, &mut |_| {
                    std::ops::ControlFlow::Continue(())
                })?;
                let parts = run.particles.ok_or("no particles recorded")?;
                Ok((case, n, e, t2, carriers(&parts)))
            })();
            r.map_err(|x| eprintln!("skipped (failed): {} N = {n} ε = {e:e}: {x}", case.name))
                .ok()
        })
        .collect();
    let table = Table::new()
        .str("case", rows.iter().map(|r| r.0.name.to_string()))
        .f64("kappa", rows.iter().map(|r| r.0.kappa).collect::<Vec<_>>())
        .f64("epsilon", rows.iter().map(|r| r.2).collect::<Vec<_>>())
        .u64("n", rows.iter().map(|r| r.1 as u64).collect::<Vec<_>>())
        .f64("t2", rows.iter().map(|r| r.3).collect::<Vec<_>>())
        .f64(
            "x_half",
            rows.iter().map(|r| r.4.x_half).collect::<Vec<_>>(),
        )
        .f64(
            "carrier_mass",
            rows.iter().map(|r| r.4.mass).collect::<Vec<_>>(),
        )
        .f64("s_carrier", rows.iter().map(|r| r.4.s).collect::<Vec<_>>())
        .f64("a_carrier", rows.iter().map(|r| r.4.a).collect::<Vec<_>>());
    write_csv(&table, &out.join("phase_separation_edge.csv"))?;
    Ok(())
}

/// The ε-free inner problem of phase 2 with the width converged, read at degrees 2 and 3:
/// the theory of the merged 2–3 drop (README, "Phase 3 with N converged").
///
/// In `t = ε^{1/4} T`, `a = ε^{−1/4} A`, `s = ε^{1/4} S` the flow after phase 1 is, at
/// leading order, the inner problem of phase 2 ([`phase_two_start`], [`solve_inner`]):
/// `A' = μ₀ + μ₁ S + c₂ S²`, `S' = A (μ₁ + 2 c₂ S)`, `⟨A⟩`, `⟨A S⟩` held by the multipliers,
/// free of ε. Its moments give both learnt degrees at every ε at once,
///
/// ```text
///   M₂ = ε^{1/4} ⟨A S²⟩,   M₃ = ε^{1/2} ⟨A S³⟩,
/// ```
///
/// and `T_l(ε)`, where `σ_l M_l / φ_l` reaches `1 − 1/√2` (the risk halfway between the
/// plateaus when the lower degree is learnt), predicts `t_l = ε^{1/4} T_l(ε)`. The degree-3
/// moment here grows passively, carried by the particles that blow up for degree 2; its own
/// drive is `O(ε^{1/4} S)` relative, and the feedback of the learnt `r₂` is left out. For a
/// law with a continuous density the crossings are collective (at `T₂(ε)` the edge atom's
/// share of `⟨A S²⟩` falls with N: 0.68, 0.059, 0.0035 … 1.3e-5 for the uniform law at
/// ε = 1e-14, N = 256 … 65 536) and `T_l(ε)` converge in N, although the blow-up itself,
/// later, is the edge atom's alone. For degree 3 after `M₂` saturates it records the
/// carriers' `A S` at `T₂`, which sets the time scale `1/(3 σ₃ φ₃ A S)` of `t₃ − t₂`
/// ([`saturation_summary`]).
///
/// Writes `phase_separation_continuum_inner.csv` (the inner solution per N, once per unit of
/// the blow-up clock: `T`, the moments, the largest `S`, the edge layer's width `x½` in
/// `a(0)`, the edge atom's share, the carriers' mean `A S` and the largest `A S`) and
/// `phase_separation_continuum.csv` (per case, N and ε: `T₂`, `T₃`, the predicted `t₂`, `t₃`,
/// `ε^{1/4} max S` at `T₃`, which must stay below 1 for `|s| ≤ 1`, `x½` at `T₂`, and at `T₂`
/// the carriers' `A S`, the time scale `1/(3 σ₃ φ₃ A S)` and the largest `A S`).
fn continuum(out: &std::path::Path, only: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    use timescales::inner::{BlowupOptions, solve_blowup};
    use timescales::phases::phase_two_start;
    let cases: [(&str, &[usize]); 3] = [
        ("uniform_gl", &[256, 1024, 4096, 16384, 65536]),
        ("beta0.5_quantile", &[1024, 4096, 16384, 65536]),
        ("normal_trapezoid", &[256, 1024, 4096]),
    ];
    let eps: Vec<f64> = (6..=24).step_by(2).map(|k| 10f64.powi(-k)).collect();
    let jobs: Vec<(&Case, usize)> = cases
        .iter()
        .filter(|(name, _)| only.is_none_or(|o| o == *name))
        .flat_map(|(name, ns)| {
            let case = CASES
                .iter()
                .find(|c| c.name == *name)
                .expect("a listed case");
            ns.iter().map(move |&n| (case, n))
        })
        .collect();
    struct Sample {
        t: f64,
        m2: f64,
        m3: f64,
        s_max: f64,
        x_half: f64,
        edge_share: f64,
        /// `Σ c_i A_i S_i / Σ c_i` over the carriers of `⟨A S²⟩` (`c_i = w_i A_i S_i² > 0`):
        /// their growth rate at degree 3 is `3 σ₃ φ₃ a s = 3 σ₃ φ₃ A S` in the time t.
        as_carrier: f64,
        /// The largest `A S`: with `a` frozen, `s` of that particle blows up first, after
        /// `1/(3 σ₃ φ₃ max A S)`.
        as_max: f64,
        /// `⟨S⟩`.
        mean_s: f64,
        /// `Var S + ⟨A²⟩`, the denominator of the multiplier `μ₁`.
        spread: f64,
        /// The multiplier of degree 1, from the two constraints `d⟨A⟩/dT = d⟨A S⟩/dT = 0`:
        /// `μ₁ = −c₂ (⟨S³⟩ + 2⟨A² S⟩ − ⟨S²⟩⟨S⟩)/(Var S + ⟨A²⟩)`.
        mu1: f64,
    }
    let solved: Vec<_> = jobs
        .par_iter()
        .filter_map(|&(case, n)| {
            let r = (|| -> Result<_, Box<dyn std::error::Error>> {
                // ε does not enter the inner problem; the scenario needs one.
                let p = problem(case, n, 1e-10)?;
                let labels = p.law.particles(p.particles, p.placement)?.a;
                let (inner, a, s) = phase_two_start(&p)?;
                let w = inner.weights.clone();
                let c2_drive = inner.drive;
                let w_total: f64 = w.iter().sum();
                let mut u0 = s.clone();
                u0.extend_from_slice(&a);
                let (lo, hi) = labels
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
                        (l.min(*x), h.max(*x))
                    });
                let mut ascending: Vec<usize> = (0..n).collect();
                ascending.sort_by(|&i, &j| labels[i].total_cmp(&labels[j]));
                let mut samples = Vec::new();
                let started = std::time::Instant::now();
                // The blow-up clock advances as 1/(1 + ‖U‖₂), and ‖U‖₂ ~ √N of the bulk: give
                // large N the room.
                let opts = BlowupOptions {
                    tau_max: 4000.0,
                    ..BlowupOptions::default()
                };
                solve_blowup(&inner, &u0, &opts, |t, u| {
                    let (s, a) = u.split_at(n);
                    let c2: Vec<f64> = (0..n).map(|i| w[i] * a[i] * s[i] * s[i]).collect();
                    let m2: f64 = c2.iter().sum();
                    let m3: f64 = (0..n).map(|i| w[i] * a[i] * s[i].powi(3)).sum();
                    let top = (0..n).max_by(|&i, &j| c2[i].total_cmp(&c2[j])).unwrap_or(0);
                    let upper = hi - labels[top] <= labels[top] - lo;
                    let edge = if upper { hi } else { lo };
                    // The labels from the growing edge inwards.
                    let from_edge: Box<dyn Iterator<Item = &usize>> = if upper {
                        Box::new(ascending.iter().rev())
                    } else {
                        Box::new(ascending.iter())
                    };
                    let positive: f64 = c2.iter().filter(|c| **c > 0.0).sum();
                    let as_carrier = as_carrier(&w, a, s);
                    let mut acc = 0.0;
                    let mut x_half = f64::NAN;
                    for &i in from_edge {
                        acc += c2[i].max(0.0);
                        if acc >= 0.5 * positive {
                            x_half = (labels[i] - edge).abs();
                            break;
                        }
                    }
                    let edge_atom = if upper {
                        ascending[n - 1]
                    } else {
                        ascending[0]
                    };
                    let mean = |f: &dyn Fn(f64, f64) -> f64| -> f64 {
                        (0..n).map(|i| w[i] * f(a[i], s[i])).sum::<f64>() / w_total
                    };
                    let mean_s = mean(&|_, s| s);
                    let s2 = mean(&|_, s| s * s);
                    let spread = s2 - mean_s * mean_s + mean(&|a, _| a * a);
                    let mu1 = -c2_drive
                        * (mean(&|_, s| s * s * s) + 2.0 * mean(&|a, s| a * a * s) - s2 * mean_s)
                        / spread;
                    samples.push(Sample {
                        t,
                        m2,
                        m3,
                        mean_s,
                        spread,
                        mu1,
                        s_max: s.iter().fold(0.0f64, |x, v| x.max(v.abs())),
                        x_half,
                        edge_share: c2[edge_atom] / positive,
                        as_carrier,
                        as_max: (0..n)
                            .map(|i| a[i] * s[i])
                            .fold(f64::NEG_INFINITY, f64::max),
                    });
                })?;
                eprintln!(
                    "{} N = {n}: inner problem solved in {:.1} s",
                    case.name,
                    started.elapsed().as_secs_f64()
                );
                Ok((case, n, p.sigma.clone(), p.phi.clone(), samples))
            })();
            r.map_err(|x| eprintln!("skipped (failed): {} N = {n}: {x}", case.name))
                .ok()
        })
        .collect();
    let mut inner_rows: (Vec<String>, Vec<u64>, Vec<[f64; 11]>) = Default::default();
    let mut rows: (Vec<String>, Vec<u64>, Vec<[f64; 10]>) = Default::default();
    for (case, n, sigma, phi, samples) in &solved {
        // Every tenth sample (one per unit of the blow-up clock) and the last.
        let every = samples.len().saturating_sub(1);
        for x in samples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 10 == 0 || *i == every)
            .map(|(_, x)| x)
        {
            inner_rows.0.push(case.name.into());
            inner_rows.1.push(*n as u64);
            inner_rows.2.push([
                x.t,
                x.m2,
                x.m3,
                x.s_max,
                x.x_half,
                x.edge_share,
                x.as_carrier,
                x.as_max,
                x.mean_s,
                x.spread,
                x.mu1,
            ]);
        }
        let target = 1.0 - std::f64::consts::FRAC_1_SQRT_2;
        // The first T where σ_l M_l / φ_l reaches the target, M_l = ε^{(l−1)/4} ⟨A S^l⟩
        // (linear interpolation between samples), with the sample index after it and the
        // fraction of the interval before it.
        let crossing = |e: f64, l: usize| -> Option<(f64, usize, f64)> {
            let scale = e.powf((l as f64 - 1.0) / 4.0) * sigma[l] / phi[l];
            let m = |x: &Sample| scale * if l == 2 { x.m2 } else { x.m3 };
            samples.windows(2).enumerate().find_map(|(i, w)| {
                let (y0, y1) = (m(&w[0]), m(&w[1]));
                (y0 < target && y1 >= target).then(|| {
                    let f = (target - y0) / (y1 - y0);
                    (w[0].t + f * (w[1].t - w[0].t), i + 1, f)
                })
            })
        };
        for &e in &eps {
            let c2 = crossing(e, 2);
            let c3 = crossing(e, 3);
            let q = e.powf(0.25);
            let t2 = c2.map_or(f64::NAN, |c| c.0);
            let t3 = c3.map_or(f64::NAN, |c| c.0);
            let s_at_3 = c3.map_or(f64::NAN, |c| q * samples[c.1].s_max);
            let x_at_2 = c2.map_or(f64::NAN, |c| samples[c.1].x_half);
            // The carriers' A S at T₂ (interpolated like T₂) and the degree-3 time scale it
            // sets after M₂ saturates, 1/(3 σ₃ φ₃ a s), in t itself (a s = A S).
            let at_2 = |f: fn(&Sample) -> f64| {
                c2.map_or(f64::NAN, |c| {
                    let (x0, x1) = (f(&samples[c.1 - 1]), f(&samples[c.1]));
                    x0 + c.2 * (x1 - x0)
                })
            };
            let as_at_2 = at_2(|x| x.as_carrier);
            let as_max_at_2 = at_2(|x| x.as_max);
            let dt3_scale = 1.0 / (3.0 * sigma[3] * phi[3] * as_at_2);
            rows.0.push(case.name.into());
            rows.1.push(*n as u64);
            rows.2.push([
                e,
                t2,
                t3,
                q * t2,
                q * t3,
                s_at_3,
                x_at_2,
                as_at_2,
                dt3_scale,
                as_max_at_2,
            ]);
        }
    }
    /// A table of `case`, `n` and the named f64 columns of `values`.
    fn numbers<const K: usize>(
        rows: (Vec<String>, Vec<u64>, Vec<[f64; K]>),
        names: [&str; K],
    ) -> Table {
        names.iter().enumerate().fold(
            Table::new().str("case", rows.0).u64("n", rows.1),
            |t, (k, name)| t.f64(name, rows.2.iter().map(|r| r[k]).collect::<Vec<_>>()),
        )
    }
    let names = [
        "t_inner",
        "m2_inner",
        "m3_inner",
        "s_max_inner",
        "x_half",
        "edge_share",
        "as_carrier",
        "as_max",
        "mean_s",
        "spread",
        "mu1",
    ];
    write_csv(
        &numbers(inner_rows, names),
        &out.join("phase_separation_continuum_inner.csv"),
    )?;
    let names = [
        "epsilon",
        "t2_inner",
        "t3_inner",
        "t2_predicted",
        "t3_predicted",
        "s_max_at_t3",
        "x_half_at_t2",
        "as_carrier_at_t2",
        "dt3_scale",
        "as_max_at_t2",
    ];
    write_csv(
        &numbers(rows, names),
        &out.join("phase_separation_continuum.csv"),
    )?;
    Ok(())
}

/// The cases of `-- inner-drop`: the uniform law goes to N = 262 144, so that the
/// extrapolation in N of its smallest ε has three N past the pre-asymptotic 4096 (Beta's
/// N = 262 144 would take hours at ε ≤ 1e-20).
const INNER_DROP: [(&str, &[usize]); 2] = [
    ("uniform_gl", &[4096, 16384, 65536, 262_144]),
    ("beta0.5_quantile", &[4096, 16384, 65536]),
];

/// The cases of `-- graded`: the same laws placed by the rule graded toward their edges
/// (`placement = "graded"`), whose error does not grow as the carriers close in on the edge.
const GRADED: [(&str, &[usize]); 2] = [
    ("uniform_graded", &[1024, 2048, 4096, 8192]),
    ("beta0.5_graded", &[1024, 2048, 4096, 8192]),
];

/// The inner problem of the drop ([`timescales::phases::DropProblem`]): the continuum inner
/// problem of phase 2 with the residuals of degree ≥ 2 fed back at ε and the saturation
/// `1 − s²` kept, degrees 0 and 1 held by multipliers; integrated through both midpoints
/// for each `(case, N)` of `cases` ([`INNER_DROP`], [`GRADED`]) at ε = 1e-6 … 1e-24. Writes
/// `file`:
/// `T₂`, `T₃` (inner time) by the moments (`σ_l M_l/φ_l = 1 − 1/√2`) and by the risk (its
/// plateau midpoints, as the measured onsets), `t₂`, `t₃` and `t₃/t₂` by the risk
/// (`t = ε^{1/4} T`), the carriers' `A S` at `T₂` and the largest `s` at `T₃`.
fn inner_drop(
    out: &std::path::Path,
    only: Option<&str>,
    cases: &[(&str, &[usize])],
    file: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    use timescales::phases::{DropProblem, phase_two_start, solve_drop};
    let eps: Vec<f64> = (6..=24).step_by(2).map(|k| 10f64.powi(-k)).collect();
    let starts: Vec<_> = cases
        .iter()
        .filter(|(name, _)| only.is_none_or(|o| o == *name))
        .flat_map(|(name, ns)| ns.iter().map(move |&n| (*name, n)))
        .collect::<Vec<_>>()
        .par_iter()
        .map(|&(name, n)| -> Result<_, String> {
            let case = CASES
                .iter()
                .find(|c| c.name == name)
                .expect("a listed case");
            let p = problem(case, n, 1e-10).map_err(|x| x.to_string())?;
            let (inner, a, s) = phase_two_start(&p).map_err(|x| x.to_string())?;
            Ok((case, n, p, inner, a, s))
        })
        .collect::<Result<_, _>>()?;
    let jobs: Vec<_> = starts
        .iter()
        .flat_map(|st| eps.iter().map(move |&e| (st, e)))
        .collect();
    let done: Vec<_> = jobs
        .par_iter()
        .filter_map(|&((case, n, p, inner, a, s), e)| {
            let started = std::time::Instant::now();
            let r = (|| -> Result<_, PhaseError> {
                let at = FlowProblem {
                    epsilon: e,
                    ..p.clone()
                };
                let drop = DropProblem::new(inner, &at)?;
                let c = solve_drop(&drop, a, s, 40.0, 40.0, 1e-10, |_, _| {})?;
                Ok((drop, c))
            })();
            let seconds = started.elapsed().as_secs_f64();
            eprintln!("{}, N = {n}, ε = {e:e}: {seconds:.1} s", case.name);
            r.map_err(|x| eprintln!("skipped (failed): {}, N = {n}, ε = {e:e}: {x}", case.name))
                .ok()
                .map(|(drop, c)| (case, *n, e, drop, c, seconds))
        })
        .collect();
    let mut rows: (Vec<String>, Vec<u64>, Vec<[f64; 12]>) = Default::default();
    for (case, n, e, drop, c, seconds) in done {
        let q = e.powf(0.25);
        let [t2, t3] = c.by_risk.map(|x| x.unwrap_or(f64::NAN));
        // The carriers' A S at T₂ and the largest overlap s = ε^{1/4} S at T₃.
        let as_carrier = c.second.as_ref().map_or(f64::NAN, |(_, u)| {
            let (s, a) = u.split_at(n);
            as_carrier(&drop.weights, a, s)
        });
        let s_max = c.third.as_ref().map_or(f64::NAN, |(_, u)| {
            q * u[..n].iter().fold(0.0f64, |x, v| x.max(v.abs()))
        });
        rows.0.push(case.name.into());
        rows.1.push(n as u64);
        rows.2.push([
            e,
            c.t2(),
            c.t3(),
            t2,
            t3,
            q * t2,
            q * t3,
            t3 / t2,
            as_carrier,
            s_max,
            c.stats.steps as f64,
            seconds,
        ]);
    }
    let names = [
        "epsilon",
        "t2_moment_inner",
        "t3_moment_inner",
        "t2_inner",
        "t3_inner",
        "t2",
        "t3",
        "ratio",
        "as_carrier_at_t2",
        "s_max_at_t3",
        "steps",
        "seconds",
    ];
    let table = names.iter().enumerate().fold(
        Table::new().str("case", rows.0).u64("n", rows.1),
        |t, (k, name)| t.f64(name, rows.2.iter().map(|r| r[k]).collect::<Vec<_>>()),
    );
    write_csv(&table, &out.join(file))?;
    Ok(())
}

/// The carriers' `A S`, weighted by their share `c_i = w_i A_i S_i²` of `⟨A S²⟩` over the
/// `c_i > 0`: `Σ c_i A_i S_i / Σ c_i`.
fn as_carrier(w: &[f64], a: &[f64], s: &[f64]) -> f64 {
    let share = |i: usize| w[i] * a[i] * s[i] * s[i];
    let positive = (0..w.len()).filter(|&i| share(i) > 0.0);
    positive
        .clone()
        .map(|i| share(i) * a[i] * s[i])
        .sum::<f64>()
        / positive.map(share).sum::<f64>()
}

/// Measures each `(case, N, ε)` at its N (no doubling), in parallel, and returns the rows
/// (`kappa` per case; failures are said on stderr and left out).
/// The horizon of a run that measures only t₂ and t₃ (`drop`, `graded`): t₃ ≤ 3 ε^{1/4} for
/// every case, and the phases after it, integrated to t = 3, took minutes at ε ≤ 1e-22.
fn drop_horizon(eps: f64) -> f64 {
    (10.0 * eps.powf(0.25)).min(3.0)
}

fn fixed_rows(
    jobs: &[(&Case, usize, f64)],
    kappa: impl Fn(&Case) -> f64,
    samples: usize,
    t_end: impl Fn(f64) -> f64 + Sync,
) -> Rows {
    let opt = |x: Option<f64>| x.unwrap_or(f64::NAN);
    let done: Vec<_> = jobs
        .par_iter()
        .filter_map(|&(case, n, e)| {
            let started = std::time::Instant::now();
            let r = problem(case, n, e)
                .map(|p| FlowProblem {
                    t_end: t_end(e),
                    ..p
                })
                .map_err(|x| x.to_string())
                .and_then(|p| measure(&p, samples).map_err(|x| x.to_string()));
            eprintln!(
                "{}, N = {n}, ε = {e:e}: {:.1} s",
                case.name,
                started.elapsed().as_secs_f64()
            );
            r.map_err(|x| eprintln!("skipped (failed): {}, N = {n}, ε = {e:e}: {x}", case.name))
                .ok()
                .map(|m| (case, n, e, m))
        })
        .collect();
    let mut rows = Rows::default();
    for (case, n, e, m) in done {
        rows.case.push(case.name.into());
        rows.kappa.push(kappa(case));
        rows.epsilon.push(e);
        rows.n.push(n as u64);
        rows.t1.push(opt(m.onsets[0]));
        rows.t2.push(opt(m.onsets[1]));
        rows.t3.push(opt(m.onsets[2]));
        rows.dwell.push(m.dwell_r2);
        rows.err2.push(f64::NAN);
        rows.err3.push(f64::NAN);
        rows.last.push(true);
        rows.converged.push(false);
        rows.samples.push(samples as u64);
    }
    rows
}

/// The placement graded toward the edge: the drop problem of [`GRADED`] into
/// `phase_separation_graded_drop.csv`, and the full ODE of the same laws at ε = 1e-8 …
/// 1e-24 into `phase_separation_graded_full.csv`: N = 1024, 2048, 4096 at the cases' rtol
/// 1e-8, and N = 1024, 2048 at rtol 1e-10 ([`GRADED_TIGHT`]: below ε ≈ 1e-22 the
/// width at 1e-8 is off by up to 1e-3).
fn graded(out: &std::path::Path, only: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    inner_drop(out, only, &GRADED, "phase_separation_graded_drop.csv")?;
    let eps: Vec<f64> = (8..=24).step_by(2).map(|k| 10f64.powi(-k)).collect();
    let full: [(&str, &[usize]); 4] = [
        ("uniform_graded", &[1024, 2048, 4096]),
        ("beta0.5_graded", &[1024, 2048, 4096]),
        ("uniform_graded_rtol1e-10", &[1024, 2048]),
        ("beta0.5_graded_rtol1e-10", &[1024, 2048]),
    ];
    let jobs: Vec<(&Case, usize, f64)> = full
        .iter()
        .filter(|(name, _)| only.is_none_or(|o| name.starts_with(o)))
        .filter_map(|(name, ns)| {
            let case = CASES.iter().chain(GRADED_TIGHT).find(|c| c.name == *name)?;
            Some((case, *ns))
        })
        .flat_map(|(case, ns)| ns.iter().map(move |&n| (case, n)))
        .flat_map(|(case, n)| eps.iter().map(move |&e| (case, n, e)))
        .collect();
    let rows = fixed_rows(&jobs, |c| c.kappa, SAMPLES, drop_horizon);
    write_csv(&rows.table(), &out.join("phase_separation_graded_full.csv"))?;
    Ok(())
}

/// The width of the merged drop, `t₃ − t₂`, converged in N itself (the `converged` mode
/// stops when `t₂` and `t₃` move by < 1 %, which leaves `t₃ − t₂ ≈ 0.02 t₃` unresolved):
/// the public law on Gauss–Legendre atoms, N = 2048 … 16 384, ε = 1e-8 … 1e-20 every two
/// decades. Writes
/// `phase_separation_drop.csv`.
fn drop_width(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let case = CASES
        .iter()
        .find(|c| c.name == "uniform_gl")
        .expect("a listed case");
    let ns = [2048usize, 4096, 8192, 16384];
    let eps: Vec<f64> = (8..=20).step_by(2).map(|k| 10f64.powi(-k)).collect();
    let jobs: Vec<(&Case, usize, f64)> = ns
        .iter()
        .flat_map(|&n| eps.iter().map(move |&e| (case, n, e)))
        .collect();
    let rows = fixed_rows(&jobs, |c| c.kappa, SAMPLES, drop_horizon);
    write_csv(&rows.table(), &out.join("phase_separation_drop.csv"))?;
    Ok(())
}

/// Who carries `M₂` at one time.
struct Carriers {
    /// Distance in `a(0)` from the growing end of the support within which half of
    /// `M₂` sits.
    x_half: f64,
    /// The weight (probability) of those labels.
    mass: f64,
    /// `Σ c_i |s_i| / Σ c_i` with `c_i = w_i a_i s_i²` over the `c_i > 0`: the typical
    /// overlap of a carrier.
    s: f64,
    /// The same mean of `|a_i|`.
    a: f64,
}

/// [`Carriers`] from the particles at the last recorded time (row 1); row 0 is `t = 0`,
/// whose `a_i(0)` label the particles.
fn carriers(p: &timescales::meanfield::ParticleStates) -> Carriers {
    let n = p.count;
    let (a0, a, s) = (&p.a[..n], &p.a[n..2 * n], &p.s[n..2 * n]);
    let c: Vec<f64> = (0..n).map(|i| p.weights[i] * a[i] * s[i] * s[i]).collect();
    let top = (0..n).max_by(|&i, &j| c[i].total_cmp(&c[j])).unwrap_or(0);
    // The growing end: the end of the support nearer the largest carrier.
    let (lo, hi) = a0
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(*x), h.max(*x))
        });
    let upper = hi - a0[top] <= a0[top] - lo;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a0[i].total_cmp(&a0[j]));
    if upper {
        order.reverse();
    }
    let positive: f64 = c.iter().filter(|c| **c > 0.0).sum();
    let (mut acc, mut mass, mut x_half) = (0.0, 0.0, f64::NAN);
    for &i in &order {
        acc += c[i].max(0.0);
        mass += p.weights[i];
        if acc >= 0.5 * positive {
            x_half = (a0[i] - a0[order[0]]).abs();
            break;
        }
    }
    let mean = |v: &[f64]| -> f64 {
        (0..n)
            .filter(|&i| c[i] > 0.0)
            .map(|i| c[i] * v[i].abs())
            .sum::<f64>()
            / positive
    };
    Carriers {
        x_half,
        mass,
        s: mean(s),
        a: mean(a),
    }
}

/// The rows of `path` ([`read_rows`]), none when the file is absent (its command has not run).
fn read_rows_if_any(path: &std::path::Path) -> Result<CsvRows, Box<dyn std::error::Error>> {
    if path.is_file() {
        read_rows(path)
    } else {
        Ok(Vec::new())
    }
}

/// What `-- continuum` wrote, by case (the rows with a `T₂` crossing, in file order; a case
/// without any has none), with `-- drop`'s rows and the case's `converged` rows beside it.
/// `None` when `continuum` has not run.
struct ContinuumRun {
    cases: Vec<(String, CsvRows)>,
    drop: CsvRows,
}

impl ContinuumRun {
    fn read(out: &std::path::Path) -> Result<Option<Self>, Box<dyn std::error::Error>> {
        let path = out.join("phase_separation_continuum.csv");
        if !path.is_file() {
            return Ok(None);
        }
        let inner = read_rows(&path)?;
        let mut names: Vec<String> = inner
            .iter()
            .filter_map(|r| r.get("case").cloned())
            .collect();
        names.dedup();
        let cases = names
            .into_iter()
            .map(|name| {
                let of = inner
                    .iter()
                    .filter(|r| r.get("case") == Some(&name) && num(r, "t2_inner").is_finite())
                    .cloned()
                    .collect();
                (name, of)
            })
            .collect();
        let drop = read_rows_if_any(&out.join("phase_separation_drop.csv"))?;
        Ok(Some(Self { cases, drop }))
    }

    /// The `converged` rows of `case`.
    fn converged(out: &std::path::Path, case: &str) -> Result<CsvRows, Box<dyn std::error::Error>> {
        read_rows_if_any(&out.join(format!("phase_separation_converged_{case}.csv")))
    }
}

/// The rows of one of this program's CSV files ([`read_table`]), as text cells by column
/// name (numbers as Rust prints them, a missing one as NaN).
fn read_rows(
    path: &std::path::Path,
) -> Result<Vec<std::collections::HashMap<String, String>>, Box<dyn std::error::Error>> {
    let table = read_table(path)?;
    let cell = |c: &Column, i: usize| -> String {
        match c {
            Column::Str(v) => v[i].clone(),
            Column::F64(v) => v[i].to_string(),
            Column::OptF64(v) => v[i].map_or_else(|| "NaN".into(), |x| x.to_string()),
            Column::I64(v) => v[i].to_string(),
            Column::U64(v) => v[i].to_string(),
            Column::OptI64(v) => v[i].map_or_else(|| "NaN".into(), |x| x.to_string()),
            Column::Bool(v) => v[i].to_string(),
        }
    };
    Ok((0..table.height())
        .map(|i| {
            table
                .columns()
                .map(|(name, c)| (name.to_string(), cell(c, i)))
                .collect()
        })
        .collect())
}

fn num(row: &std::collections::HashMap<String, String>, key: &str) -> f64 {
    row.get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// `γ [lo, hi]` of `y ~ ε^γ` over the points where `y` is positive, or `—`.
fn gamma(eps: &[f64], y: &[f64]) -> String {
    let (x, y): (Vec<f64>, Vec<f64>) = eps
        .iter()
        .zip(y)
        .filter(|(_, y)| **y > 0.0 && y.is_finite())
        .map(|(e, y)| (*e, *y))
        .unzip();
    match fit_power_law(&x, &y, 0.95) {
        Ok(f) if x.len() >= 3 => format!(
            "{:.3} [{:.3}, {:.3}]",
            f.gamma, f.gamma_ci[0], f.gamma_ci[1]
        ),
        Ok(f) => format!("{:.3} (2 points)", f.gamma),
        Err(_) => "—".into(),
    }
}

fn slopes(eps: &[f64], y: &[f64]) -> String {
    eps.windows(2)
        .zip(y.windows(2))
        .map(|(e, y)| {
            let s = (y[1] / y[0]).ln() / (e[1] / e[0]).ln();
            if s.is_finite() {
                format!("{s:.3}")
            } else {
                "—".into()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use std::fmt::Write as _;
    let mut md = String::from(
        "# Do phases 2 and 3 separate when the width is converged?\n\n\
         Written by `cargo run --release --example phase_separation -- summary` from the CSV \
         files beside it (`converged`: N doubled from 64 until the Richardson error estimate \
         of t₁, t₂, t₃ is ≤ 1 %, BDF; `fixed-n`: Gauss–Legendre atoms, no doubling). Public \
         activation; target φ = h₁ + h₂ + h₃ unless the case says otherwise. t_l: the risk \
         crosses halfway between R_(l−1) and R_l (located on the integrator's dense output). dwell: the longest stretch of log time \
         (e-folds) with |R − R₂| ≤ 0.05 (R₁ − R₃); a plateau at R₂ is seen when it is ≥ 0.5. \
         κ: edge exponent of the law of a(0) at its growing edge (density ∝ x^κ; atoms −1). \
         Prediction (README, \"Phase 3 with N converged\"): t₃ − t₂ ∝ ε^{1/(2(2−κ))}.\n\n\
         ## N converged first\n\n\
         | case | κ | γ₂ | γ₃ | γ(t₃ − t₂) | predicted γ(t₃ − t₂) | local slopes of t₃ | t₃/t₂ per ε | dwell at R₂ per ε | N used per ε | samples |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for case in CASES {
        let path = out.join(format!("phase_separation_converged_{}.csv", case.name));
        if !path.is_file() {
            continue;
        }
        let rows: Vec<_> = read_rows(&path)?
            .into_iter()
            .filter(|r| r.get("n_final").is_some_and(|v| v == "true"))
            .collect();
        let eps: Vec<f64> = rows.iter().map(|r| num(r, "epsilon")).collect();
        let t2: Vec<f64> = rows.iter().map(|r| num(r, "t2")).collect();
        let t3: Vec<f64> = rows.iter().map(|r| num(r, "t3")).collect();
        let gap: Vec<f64> = t3.iter().zip(&t2).map(|(a, b)| a - b).collect();
        let predicted = if case.kappa.is_finite() && case.kappa < 2.0 {
            format!("{:.3}", 1.0 / (2.0 * (2.0 - case.kappa)))
        } else {
            "—".into()
        };
        let list = |k: &str, digits: usize| {
            rows.iter()
                .map(|r| format!("{:.*}", digits, num(r, k)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ns = rows
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    r.get("n").map_or("?", String::as_str),
                    if r.get("converged").is_some_and(|v| v == "true") {
                        ""
                    } else {
                        "*"
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        // Rows written before the `samples` column was measured on 600 samples.
        let samples = rows
            .first()
            .map(|r| num(r, "samples"))
            .filter(|v| v.is_finite())
            .unwrap_or(600.0);
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {samples} |",
            case.name,
            if case.kappa.is_finite() {
                format!("{}", case.kappa)
            } else {
                "—".into()
            },
            gamma(&eps, &t2),
            gamma(&eps, &t3),
            gamma(&eps, &gap),
            predicted,
            slopes(&eps, &t3),
            list("t3_over_t2", 3),
            list("dwell_r2", 2),
            ns
        )?;
    }
    md.push_str("\nε per row: 1e-6, 1e-8, 1e-10, 1e-12, 1e-14. `*`: the doubling hit --n-max before the estimate met 1 %.\n");
    let fixed = out.join("phase_separation_fixed_n.csv");
    if fixed.is_file() {
        let all_rows = read_rows(&fixed)?;
        md.push_str(
            "\n## Fixed N (the uniform law's atoms: Gauss–Legendre, then quantile midpoints), ε → 0\n\n\
             C₂ = t₂ ε^{−1/4} (median over ε); C₃(N) = t₃ ε^{−1/6}, the mean over the ε where \
             t₃/t₂ ≥ 4 (the fixed-N regime; its spread in brackets); ε*₃(N): where t₃/t₂ \
             crosses 3 (log-interpolated between grid ε); ε*_dwell: the largest grid ε from \
             which on every smaller ε dwells ≥ 0.5 e-fold at R₂. w_edge: the weight of the \
             atom at the growing edge (Gauss–Legendre ∝ N^{−2}, quantile midpoints 1/N).\n",
        );
        let mut cases: Vec<String> = all_rows
            .iter()
            .filter_map(|r| r.get("case").cloned())
            .collect();
        cases.sort();
        cases.dedup();
        for case in cases {
            let rows: Vec<_> = all_rows
                .iter()
                .filter(|r| r.get("case") == Some(&case))
                .collect();
            let mut ns: Vec<u64> = rows.iter().map(|r| num(r, "n") as u64).collect();
            ns.sort_unstable();
            ns.dedup();
            writeln!(
                md,
                "\n### {case}\n\n\
             | N | C₂ | C₃(N) | ε*₃(N) | (C₃/(3 C₂))¹² | ε*_dwell | t₃/t₂ per ε | dwell at R₂ per ε |\n\
             |---|---|---|---|---|---|---|---|"
            )?;
            let (mut fit_n, mut fit_c3, mut fit_star_n, mut fit_star) =
                (vec![], vec![], vec![], vec![]);
            for n in ns {
                let mut r: Vec<_> = rows
                    .iter()
                    .copied()
                    .filter(|r| num(r, "n") as u64 == n)
                    .collect();
                r.sort_by(|a, b| num(b, "epsilon").total_cmp(&num(a, "epsilon")));
                let eps: Vec<f64> = r.iter().map(|row| num(row, "epsilon")).collect();
                let ratio: Vec<f64> = r.iter().map(|row| num(row, "t3_over_t2")).collect();
                let mut c2: Vec<f64> = r
                    .iter()
                    .map(|row| num(row, "t2") / num(row, "epsilon").powf(0.25))
                    .filter(|c| c.is_finite())
                    .collect();
                c2.sort_by(f64::total_cmp);
                let c2 = c2.get(c2.len() / 2).copied().unwrap_or(f64::NAN);
                let c3: Vec<f64> = r
                    .iter()
                    .filter(|row| num(row, "t3_over_t2") >= 4.0)
                    .map(|row| num(row, "t3") / num(row, "epsilon").powf(1.0 / 6.0))
                    .collect();
                let c3_mean = c3.iter().sum::<f64>() / c3.len() as f64;
                let (lo, hi) = c3
                    .iter()
                    .fold((f64::INFINITY, 0.0f64), |(l, h), c| (l.min(*c), h.max(*c)));
                // ε*₃: the first crossing of t₃/t₂ = 3, going down in ε.
                let star = eps.windows(2).zip(ratio.windows(2)).find_map(|(e, q)| {
                    (q[0] < 3.0 && q[1] >= 3.0).then(|| {
                        let f = (3.0f64.ln() - q[0].ln()) / (q[1].ln() - q[0].ln());
                        (e[0].ln() + f * (e[1].ln() - e[0].ln())).exp()
                    })
                });
                let mut dwell_star = None;
                for row in r.iter().rev() {
                    if num(row, "dwell_r2") >= 0.5 {
                        dwell_star = Some(num(row, "epsilon"));
                    } else {
                        break;
                    }
                }
                if c3.len() >= 2 {
                    fit_n.push(n as f64);
                    fit_c3.push(c3_mean);
                }
                if let Some(e) = star {
                    fit_star_n.push(n as f64);
                    fit_star.push(e);
                }
                let cells = |k: &str| {
                    r.iter()
                        .map(|row| format!("{:e}: {:.2}", num(row, "epsilon"), num(row, k)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                writeln!(
                    md,
                    "| {n} | {c2:.3} | {} | {} | {} | {} | {} | {} |",
                    if c3.is_empty() {
                        "— (not reached)".to_string()
                    } else {
                        format!("{c3_mean:.4} [{lo:.4}, {hi:.4}] ({} ε)", c3.len())
                    },
                    star.map_or("—".into(), |e| format!("{e:.2e}")),
                    if c3.is_empty() {
                        "—".to_string()
                    } else {
                        format!("{:.2e}", (c3_mean / (3.0 * c2)).powi(12))
                    },
                    dwell_star.map_or("below the grid".into(), |e| format!("{e:e}")),
                    cells("t3_over_t2"),
                    cells("dwell_r2")
                )?;
            }
            let fit = |x: &[f64], y: &[f64]| {
                fit_power_law(x, y, 0.95).map_or("—".to_string(), |f| {
                    format!(
                        "{:.2} [{:.2}, {:.2}] ({} N)",
                        f.gamma,
                        f.gamma_ci[0],
                        f.gamma_ci[1],
                        x.len()
                    )
                })
            };
            writeln!(
                md,
                "\nC₃(N) ∝ N^β: β = {}; ε*₃(N) ∝ N^δ: δ = {} (over all N), {} (N ≥ 32); \
             if t₃/t₂ = (C₃(N)/C₂) ε^{{−1/12}} held at the crossing, δ = 12 β.",
                fit(&fit_n, &fit_c3),
                fit(&fit_star_n, &fit_star),
                {
                    let (x, y): (Vec<f64>, Vec<f64>) = fit_star_n
                        .iter()
                        .zip(&fit_star)
                        .filter(|(n, _)| **n >= 32.0)
                        .map(|(a, b)| (*a, *b))
                        .unzip();
                    fit(&x, &y)
                }
            )?;
        }
    }
    let edge = out.join("phase_separation_edge.csv");
    if edge.is_file() {
        let rows = read_rows(&edge)?;
        md.push_str(
            "\n## The edge layer at t₂ (`-- edge`)\n\n\
             Who carries M₂ = Σ w_i a_i s_i² at t₂: x½, the distance in a(0) from the growing \
             end of the support within which half of M₂ sits; the mass of those labels; the \
             M₂-weighted mean |s| and |a| of the carriers. Exponents of ε (95 % CI) over \
             ε = 1e-8 … 1e-16 at the larger N, beside the scaling argument's \
             x½ ∝ ε^{1/(4(2−κ))}, mass ∝ x½^{κ+1}, s ∝ ε^{(1−κ)/(4(2−κ))}, \
             a ∝ ε^{−(3−κ)/(4(2−κ))}; the last column, the largest relative change of x½, s, \
             a from N/2 to N.\n\n\
             | case | κ | N | x½: γ (predicted) | mass: γ (predicted) | s: γ (predicted) | a: γ (predicted) | x½ per ε | change N/2 → N |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        let mut names: Vec<String> = rows.iter().filter_map(|r| r.get("case").cloned()).collect();
        names.dedup();
        for name in names {
            let of: Vec<_> = rows
                .iter()
                .filter(|r| r.get("case") == Some(&name))
                .collect();
            let n_big = of.iter().map(|r| num(r, "n") as u64).max().unwrap_or(0);
            let mut big: Vec<_> = of.iter().filter(|r| num(r, "n") as u64 == n_big).collect();
            big.sort_by(|a, b| num(b, "epsilon").total_cmp(&num(a, "epsilon")));
            let kappa = num(big.first().map_or(of[0], |r| r), "kappa");
            let d = 4.0 * (2.0 - kappa);
            let col = |k: &str| big.iter().map(|r| num(r, k)).collect::<Vec<_>>();
            let eps = col("epsilon");
            let change = big
                .iter()
                .filter_map(|r| {
                    let e = num(r, "epsilon");
                    let half = of
                        .iter()
                        .find(|h| num(h, "epsilon") == e && num(h, "n") as u64 * 2 == n_big)?;
                    ["x_half", "s_carrier", "a_carrier"]
                        .iter()
                        .map(|k| (num(r, k) / num(half, k) - 1.0).abs())
                        .reduce(f64::max)
                })
                .reduce(f64::max);
            writeln!(
                md,
                "| {name} | {kappa} | {n_big} | {} ({:.3}) | {} ({:.3}) | {} ({:.3}) | {} ({:.3}) | {} | {} |",
                gamma(&eps, &col("x_half")),
                1.0 / d,
                gamma(&eps, &col("carrier_mass")),
                (kappa + 1.0) / d,
                gamma(&eps, &col("s_carrier")),
                (1.0 - kappa) / d,
                gamma(&eps, &col("a_carrier")),
                -(3.0 - kappa) / d,
                big.iter()
                    .map(|r| format!("{:.3e}", num(r, "x_half")))
                    .collect::<Vec<_>>()
                    .join(", "),
                change.map_or("—".into(), |c| format!("{:.1} %", 100.0 * c)),
            )?;
        }
    }
    if let Some(run) = ContinuumRun::read(out)? {
        continuum_summary(&run, out, &mut md)?;
        saturation_summary(&run, out, &mut md)?;
        inner_drop_summary(&run, out, &mut md)?;
        let graded = ["graded_drop", "graded_full", "inner_drop"]
            .map(|f| read_rows_if_any(&out.join(format!("phase_separation_{f}.csv"))));
        let [drop, full, old] = graded;
        graded_summary(&run, [drop?, full?, old?], &mut md)?;
        similarity_summary(&run, out, &mut md)?;
    }
    timescales::report::write_bytes_atomic(&out.join("phase_separation.md"), md.as_bytes())?;
    print!("{md}");
    Ok(())
}

/// The section of `summary` on the width of the drop after `M₂` saturates: the continuum
/// inner problem's `T₂`, its blow-up time `T*` (Aitken's extrapolation of `T₂` over the
/// three smallest ε) and the carriers' `A S` at `T₂`, beside the measured `t₃ − t₂`.
///
/// After `t₂` the carriers of `M₂` (the edge layer) learn degree 3: their overlap grows as
/// `ṡ = 3 σ₃ φ₃ a s²`, at the rate `3 σ₃ φ₃ a s` relative to itself, and `a s = A S` is free
/// of ε. So `t₃ − t₂ = K / (3 σ₃ φ₃ (A S)_c)`, with `K` of order one and free of ε when the
/// picture is right. Near the blow-up `A, S ∝ 1/(T* − T)`, so `(A S)_c ∝ θ₂^{−2}` with
/// `θ₂ = T* − T₂(ε) ∝ ε^p`: `t₃ − t₂ ∝ ε^{2p}` and `t₃/t₂ − 1 ∝ ε^{2p − 1/4}`. Phases 2 and 3
/// separate as ε → 0 if `p < 1/8` and merge if `p > 1/8`.
fn saturation_summary(
    run: &ContinuumRun,
    out: &std::path::Path,
    md: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::fmt::Write as _;
    md.push_str(
        "\n## After M₂ saturates: the width of the drop, t₃ − t₂\n\n\
         At t₂ the carriers of M₂ (the edge layer, `x½` above) hold a s = A S, free of ε, \
         and grow at degree 3 as ṡ = 3σ₃φ₃ a s², at the rate 3σ₃φ₃ a s relative to \
         their overlap: t₃ − t₂ = K/(3σ₃φ₃ (A S)_c), with (A S)_c the carriers' A S \
         (weighted by their share of ⟨A S²⟩) at T₂ in the continuum inner problem and K of \
         order one, the same at every ε if this is the mechanism. Near the inner problem's \
         blow-up A, S ∝ 1/(T* − T), so (A S)_c ∝ θ₂^{−2} with θ₂ = T* − T₂(ε) ∝ ε^p: \
         t₃ − t₂ ∝ ε^{2p} and t₃/t₂ − 1 ∝ ε^{2p − 1/4}. Phases 2 and 3 separate as ε → 0 \
         when p < 1/8 and merge when p > 1/8. T*: Aitken's extrapolation of T₂ over the three \
         smallest ε; p: the local slope of θ₂ (centred); t₃ − t₂ measured as in the table \
         above (`drop`, else `converged`), its slope against the previous ε beside 2p.\n\n\
         | case | ε | θ₂ | p | (A S)_c | 1/(3σ₃φ₃ (A S)_c) | t₃ − t₂ measured | K | (t₃ − t₂)/θ₂² | (A S)_c/max A S | slope of t₃ − t₂ | 2p | t₃/t₂ from K̄ | t₃/t₂ measured |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut verdicts = String::new();
    for (name, of) in &run.cases {
        let Some((n_big, rows, eps, t2, clock)) = BlowupClock::at_largest_n(of) else {
            continue;
        };
        let k = t2.len();
        let BlowupClock { t_star, theta, p } = clock;
        let measured = ContinuumRun::converged(out, name)?;
        struct Line {
            width: f64,
            ratio: f64,
            note: String,
            asymptotic: bool,
            slope: Option<f64>,
        }
        let mut previous: Option<(f64, f64)> = None;
        let lines: Vec<Line> = eps
            .iter()
            .map(|&e| {
                let Measured {
                    t2: t2m,
                    t3: t3m,
                    note,
                    resolved,
                    ..
                } = measured_t2_t3(name, e, &run.drop, &measured).unwrap_or_else(Measured::none);
                let width = t3m - t2m;
                let ratio = t3m / t2m;
                let slope = previous
                    .filter(|_| width.is_finite())
                    .map(|(e0, w0)| log_slope(e0, w0, e, width));
                if width.is_finite() {
                    previous = Some((e, width));
                }
                // K is read where θ₂ is small (ε ≤ 1e-10) and t₃ − t₂ resolved.
                Line {
                    width,
                    ratio,
                    note,
                    asymptotic: resolved && e <= 1e-10,
                    slope,
                }
            })
            .collect();
        let ks: Vec<f64> = lines
            .iter()
            .zip(&rows)
            .filter(|(l, _)| l.asymptotic)
            .map(|(l, r)| l.width / num(r, "dt3_scale"))
            .collect();
        let k_mean = ks.iter().sum::<f64>() / ks.len() as f64;
        for (i, (r, l)) in rows.iter().zip(&lines).enumerate() {
            let e = eps[i];
            let scale = num(r, "dt3_scale");
            let cell = |x: f64, f: &dyn Fn(f64) -> String| {
                if x.is_finite() { f(x) } else { "—".into() }
            };
            writeln!(
                md,
                "| {name} | {e:.0e} | {:.3e} | {:.4} | {:.3e} | {:.3e} | {} | {} | {} | {:.3} | {} | {:.3} | {} | {} |",
                theta[i],
                p[i],
                num(r, "as_carrier_at_t2"),
                scale,
                cell(l.width, &|w| format!("{w:.4e} (N = {})", l.note)),
                cell(l.width / scale, &|x| format!(
                    "{x:.3}{}",
                    if l.asymptotic { "" } else { "*" }
                )),
                cell(l.width / (theta[i] * theta[i]), &|x| format!("{x:.3}")),
                num(r, "as_carrier_at_t2") / num(r, "as_max_at_t2"),
                l.slope.map_or("—".into(), |s| format!("{s:.3}")),
                2.0 * p[i],
                cell(k_mean * scale / (t2[i] * e.powf(0.25)), &|x| format!(
                    "{:.4}",
                    1.0 + x
                )),
                cell(l.ratio, &|x| format!("{x:.4}")),
            )?;
        }
        let p_end = p[k - 1];
        let (lo, hi) = ks
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
                (l.min(*x), h.max(*x))
            });
        writeln!(
            verdicts,
            "- {name} (N = {n_big}): T* = {t_star:.6}, p → {p_end:.4} at ε = {:.0e}, so \
             t₃/t₂ − 1 ∝ ε^{{{:+.3}}}: phases 2 and 3 {} as ε → 0. K over the measured ε: \
             {lo:.3} … {hi:.3}, mean K̄ = {k_mean:.3} (ε ≤ 1e-10, t₃ − t₂ resolved; `*` in the \
             table: not); t₃/t₂ from K̄ = 1 + K̄/(3σ₃φ₃ (A S)_c T₂ ε^{{1/4}}) (t₂ taken \
             from the inner problem too, so this column uses no measured onset; K itself does), \
             beside the measured t₃/t₂.",
            eps[k - 1],
            2.0 * p_end - 0.25,
            if 2.0 * p_end < 0.25 {
                "separate (slowly)"
            } else {
                "merge (slowly)"
            },
        )?;
    }
    md.push('\n');
    md.push_str(&verdicts);
    Ok(())
}

/// The section of `summary` on the placement graded toward the edge (`-- graded`), from the
/// rows of `phase_separation_{graded_drop, graded_full, inner_drop}.csv`: the drop
/// problem's `t₃ − t₂` per N beside the Gauss–Legendre / quantile rule's at its largest N and
/// its extrapolation to N → ∞, and the full ODE with the graded rule (rtol 1e-8 and 1e-10)
/// against the drop problem at the same N.
fn graded_summary(
    run: &ContinuumRun,
    [drop, full, old]: [CsvRows; 3],
    md: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    if drop.is_empty() {
        return Ok(());
    }
    md.push_str(
        "\n## The width converged in N: particles graded toward the edge (`-- graded`)\n\n\
         The carriers of the drop sit ever closer to the growing edge of the law as ε falls, \
         and a rule whose nodes thin out there (Gauss–Legendre, quantile midpoints: the last \
         node ~1/N² from the edge) needs N to grow with 1/ε. `placement = \"graded\"` \
         (`timescales::meanfield::Placement::Graded`) cuts each half of the support into 41 \
         cells halving toward its edge and an edge cell of 2·10⁻¹³ of the support, with the \
         same number of Gauss nodes in each and the law's density as weight (Gauss in x^(κ+1) \
         on the edge cell), so its error does not depend on how close to the edge the \
         structure lies. Below: the drop problem of the section above with this rule \
         (ε = 1e-6 … 1e-24, N = 1024 … 8192), beside the Gauss–Legendre / quantile rule at \
         its largest N and that rule's extrapolation to N → ∞ (section above); and the full \
         ODE with this rule (BDF, t₂ and t₃ located on its dense output; N = 1024 … 4096 at \
         rtol 1e-8, N = 1024, 2048 at rtol 1e-10) set beside the drop problem at the same N. \
         \"Spread over N\": the largest relative difference of any N from the largest.\n\n\
         | case | ε | t₃ − t₂ (drop, graded, N) | spread over N | t₃/t₂ | slope of t₃/t₂ − 1 | 2p − 1/4 | GL/quantile at its largest N: vs graded | its N → ∞ estimate: vs graded | full ODE t₃ − t₂ (N, rtol) | spread over N | rtol 1e-8 vs 1e-10 | drop/full at N | full ODE t₃/t₂ |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    type ByEpsN = BTreeMap<(i64, u64), Onsets>;
    let of = |rows: &CsvRows, case: &str| -> ByEpsN {
        rows.iter()
            .filter(|r| r.get("case").is_some_and(|c| c == case))
            .filter(|r| num(r, "t3").is_finite() && num(r, "t2").is_finite())
            .map(|r| {
                (
                    (
                        (-num(r, "epsilon").log10()).round() as i64,
                        num(r, "n") as u64,
                    ),
                    [num(r, "t2"), num(r, "t3"), num(r, "t3") / num(r, "t2")],
                )
            })
            .collect()
    };
    let width = |x: &Onsets| x[1] - x[0];
    // Per ε: the rows at every N, the largest N last.
    let by_eps = |m: &ByEpsN, k: i64| -> Vec<(u64, Onsets)> {
        m.range((k, 0)..=(k, u64::MAX))
            .map(|(&(_, n), x)| (n, *x))
            .collect()
    };
    let spread = |rows: &[(u64, Onsets)]| -> Option<f64> {
        let (_, last) = rows.last()?;
        (rows.len() > 1).then(|| {
            rows.iter()
                .map(|(_, x)| (width(x) / width(last) - 1.0).abs())
                .fold(0.0, f64::max)
        })
    };
    let mut verdicts = String::new();
    for (name, counterpart) in [
        ("uniform_graded", "uniform_gl"),
        ("beta0.5_graded", "beta0.5_quantile"),
    ] {
        let tight_name = format!("{name}_rtol1e-10");
        let (mine, theirs) = (of(&drop, name), of(&old, counterpart));
        let (loose, tight) = (of(&full, name), of(&full, &tight_name));
        let clock = run
            .cases
            .iter()
            .find(|(c, _)| c == counterpart)
            .and_then(|(_, rows)| BlowupClock::at_largest_n(rows));
        let mut ks: Vec<i64> = mine.keys().map(|&(k, _)| k).collect();
        ks.dedup();
        let mut previous: Option<(f64, f64)> = None;
        let mut last = None;
        let mut agreement: Vec<(f64, f64)> = Vec::new();
        for k in ks {
            let e = 10f64.powi(-k as i32);
            let rows = by_eps(&mine, k);
            let Some(&(n, x)) = rows.last() else { continue };
            let w = width(&x);
            let slope = previous.map(|(e0, y0)| log_slope(e0, y0, e, x[2] - 1.0));
            previous = Some((e, x[2] - 1.0));
            let predicted = clock.as_ref().and_then(|(_, _, eps, _, c)| {
                eps.iter()
                    .position(|&f| (f / e - 1.0).abs() < 1e-9)
                    .map(|i| 2.0 * c.p[i] - 0.25)
            });
            let other = by_eps(&theirs, k);
            let vs_other = other.last().map(|(m, y)| (m, width(y) / w - 1.0));
            // As the section above: over N/16, N/4, N, taken as is where N/4 to N moves
            // it < 1e-4.
            let limit = other.last().and_then(|(m, y)| {
                let at = |n: u64| other.iter().find(|(q, _)| *q == n).map(|(_, z)| width(z));
                let (w1, w2, w3) = (at(m / 16)?, at(m / 4)?, width(y));
                Some(if (w3 - w2).abs() <= 1e-4 * w3.abs() {
                    w3
                } else {
                    richardson(w1, w2, w3).1
                })
            });
            // The full ODE at rtol 1e-10 where it ran, else at 1e-8.
            let (measured, rtol) = match by_eps(&tight, k) {
                v if v.is_empty() => (by_eps(&loose, k), "1e-8"),
                v => (v, "1e-10"),
            };
            let loose_rows = by_eps(&loose, k);
            let vs_rtol = measured.last().and_then(|(m, y)| {
                let (_, z) = loose_rows.iter().find(|(q, _)| q == m)?;
                (rtol == "1e-10").then(|| width(z) / width(y) - 1.0)
            });
            let at_same_n = measured.last().and_then(|(m, y)| {
                let same = rows.iter().find(|(q, _)| q == m)?;
                Some((width(&same.1) / width(y), y[2]))
            });
            if let Some((r, _)) = at_same_n {
                agreement.push((e, r));
            }
            let dash = || "—".to_string();
            writeln!(
                md,
                "| {name} | {e:.0e} | {w:.6e} ({n}) | {} | {:.5} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                spread(&rows).map_or_else(dash, |s| format!("{s:.1e}")),
                x[2],
                slope.map_or_else(dash, |s| format!("{s:+.3}")),
                predicted.map_or_else(dash, |s| format!("{s:+.3}")),
                vs_other.map_or_else(dash, |(m, d)| format!("{:+.2} % ({m})", 100.0 * d)),
                limit.map_or_else(dash, |l| format!("{:+.2} %", 100.0 * (l / w - 1.0))),
                measured
                    .last()
                    .map_or_else(dash, |(m, y)| format!("{:.6e} ({m}, {rtol})", width(y))),
                spread(&measured).map_or_else(dash, |s| format!("{s:.1e}")),
                vs_rtol.map_or_else(dash, |d| format!("{d:+.1e}")),
                at_same_n.map_or_else(dash, |(r, _)| format!("{r:.6}")),
                at_same_n.map_or_else(dash, |(_, t)| format!("{t:.5}")),
            )?;
            last = Some((e, n, x[2], slope, predicted));
        }
        if let Some((e, n, ratio, slope, predicted)) = last {
            let signed = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:+.3}"));
            let worst = agreement
                .iter()
                .filter(|(e, _)| *e <= 1e-12)
                .map(|(_, r)| (r - 1.0).abs())
                .fold(f64::NAN, f64::max);
            writeln!(
                verdicts,
                "- {name}: at ε = {e:.0e}, N = {n}, t₃/t₂ = {ratio:.4}; t₃/t₂ − 1 moves like \
                 ε^{{{}}} between the two smallest ε (2p − 1/4 = {}); the drop problem gives \
                 the full ODE's t₃ − t₂ to {:.1e} (largest relative difference at ε ≤ 1e-12).",
                signed(slope),
                signed(predicted),
                worst,
            )?;
        }
    }
    md.push('\n');
    md.push_str(&verdicts);
    Ok(())
}

/// `t₂`, `t₃`, `t₃/t₂` of one row.
type Onsets = [f64; 3];

/// The section of `summary` on the inner problem of the drop (`-- inner-drop`): its `t₃/t₂`
/// and `t₃ − t₂` beside the measured ones, the K it implies, and how `t₃/t₂ − 1` moves
/// with ε below the measured range.
fn inner_drop_summary(
    run: &ContinuumRun,
    out: &std::path::Path,
    md: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::fmt::Write as _;
    let all = read_rows_if_any(&out.join("phase_separation_inner_drop.csv"))?;
    if all.is_empty() {
        return Ok(());
    }
    md.push_str(
        "\n## The drop's own inner problem: t₃ − t₂ without a fitted K (`-- inner-drop`)\n\n\
         The continuum inner problem of phase 2 with what it drops at order ε^{1/4} put back \
         (`timescales::phases::DropProblem`): in t = ε^{1/4}T, a = ε^{−1/4}A, s = ε^{1/4}S the \
         particles follow dA/dT = Σ_k c_k S^k, dS/dT = (1 − ε^{1/2}S²) A Σ_k k c_k S^{k−1} with \
         c_k = ε^{(k−2)/4} σ_k (φ_k − σ_k ε^{(k−1)/4}⟨A S^k⟩) for k ≥ 2 — the learnt r₂ that \
         arrests the blow-up, degree 3, the saturation — and c₀, c₁ multipliers holding ⟨A⟩, \
         ⟨A S⟩ (the fast relaxation of a slaved). Started from the end of phase 1 as the \
         continuum problem, integrated explicitly (Dormand–Prince 8(5,3), rtol 1e-10) until \
         the risk is three quarters down from R₂ to R₃, at N = 4096, 16 384, 65 536 (and 262 144 for the uniform law); its onsets are read where the risk \
         R = ½ Σ_{k≥2} r_k² falls through the plateau midpoints, as the measured ones are (T₂ \
         by σ₂M₂/φ₂ = 1 − 1/√2 as well, beside the ε-free problem's). No constant is \
         fitted: K = (t₃ − t₂)/dt3_scale is what this problem implies, set beside the K that \
         the full ODE's t₃ − t₂ gives (section above). Its t₃/t₂ − 1 is followed below the ε \
         that the full ODE reaches; its local slope against ε is set beside 2p − 1/4, the \
         exponent the scaling t₃ − t₂ ∝ θ₂² predicts. The predicted columns are at the \
         largest N; \"predicted/measured\" sets the measured width beside the prediction at \
         the measured N where this job ran it, else at the largest. \
         Where the width still moves with N, it is extrapolated to N → ∞ over N/16, N/4, N by \
         the geometric tail that `converge_n` sums (`timescales::analysis::richardson`; none \
         where the changes do not contract, taken as is where N/4 to N moves it < 1e-4), and \
         t₃/t₂ and its slope are given from that too.\n\n\
         | case | ε | N | T₂ by M₂ (drop) | T₂ by M₂ (ε-free) | t₃ − t₂ predicted | vs N/4 | t₃ − t₂ measured (N) | predicted/measured (at N) | t₃/t₂ predicted | t₃/t₂ measured | K implied | K measured | slope of t₃/t₂ − 1 | t₃/t₂ at N → ∞ | its slope | 2p − 1/4 | max s at t₃ |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut verdicts = String::new();
    for (name, of) in &run.cases {
        let Some((_, rows, eps, t2_free, clock)) = BlowupClock::at_largest_n(of) else {
            continue;
        };
        let mine: Vec<_> = all
            .iter()
            .filter(|r| r.get("case") == Some(name) && num(r, "t3").is_finite())
            .collect();
        let Some(n_big) = mine.iter().map(|r| num(r, "n") as u64).max() else {
            continue;
        };
        let same = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-9;
        let at = |e: f64, n: u64| {
            mine.iter()
                .find(|r| same(num(r, "epsilon"), e) && num(r, "n") as u64 == n)
        };
        let measured = ContinuumRun::converged(out, name)?;
        let mut previous: Option<(f64, f64)> = None;
        let mut previous_limit: Option<(f64, f64)> = None;
        let mut last = None;
        for (i, &e) in eps.iter().enumerate() {
            let Some(r) = at(e, n_big) else { continue };
            let width = num(r, "t3") - num(r, "t2");
            let width_at = |n: u64| at(e, n).map(|q| num(q, "t3") - num(q, "t2"));
            let quarter = width_at(n_big / 4);
            let ratio = num(r, "ratio");
            // Extrapolated over N/16, N/4, N as `converge_n` does over N/4, N/2, N.
            let width_limit = match (width_at(n_big / 16), quarter) {
                (Some(_), Some(w2)) if (width - w2).abs() <= 1e-4 * width.abs() => width,
                (Some(w1), Some(w2)) => richardson(w1, w2, width).1,
                _ => f64::NAN,
            };
            let ratio_limit = 1.0 + width_limit / num(r, "t2");
            let slope_limit = previous_limit
                .filter(|_| ratio_limit.is_finite())
                .map(|(e0, x0)| log_slope(e0, x0, e, ratio_limit - 1.0));
            previous_limit = Some((e, ratio_limit - 1.0)).filter(|_| ratio_limit.is_finite());
            let m = measured_t2_t3(name, e, &run.drop, &measured).unwrap_or_else(Measured::none);
            let (t2m, t3m) = (m.t2, m.t3);
            let width_m = t3m - t2m;
            // The prediction at the measured N where it ran, else at the largest.
            let (same_n, n_pred) = at(e, m.n).map_or((r, n_big), |x| (x, m.n));
            let width_same_n = num(same_n, "t3") - num(same_n, "t2");
            let scale = num(rows[i], "dt3_scale");
            let slope = previous.map(|(e0, x0)| log_slope(e0, x0, e, ratio - 1.0));
            previous = Some((e, ratio - 1.0));
            let cell = |x: f64, f: &dyn Fn(f64) -> String| {
                if x.is_finite() { f(x) } else { "—".into() }
            };
            writeln!(
                md,
                "| {name} | {e:.0e} | {n_big} | {:.5} | {:.5} | {width:.4e} | {} | {} | {} | {ratio:.4} | {} | {:.3} | {} | {} | {} | {} | {:.3} | {:.3} |",
                num(r, "t2_moment_inner"),
                t2_free[i],
                cell(quarter.map_or(f64::NAN, |q| width / q - 1.0), &|x| format!(
                    "{:+.2} %",
                    100.0 * x
                )),
                cell(width_m, &|x| format!("{x:.4e} ({})", m.n)),
                cell(width_same_n / width_m, &|x| format!("{x:.4} ({n_pred})")),
                cell(t3m / t2m, &|x| format!("{x:.4}")),
                width / scale,
                cell(width_m / scale, &|x| format!("{x:.3}")),
                slope.map_or("—".into(), |x| format!("{x:.3}")),
                cell(ratio_limit, &|x| format!("{x:.4}")),
                slope_limit.map_or("—".into(), |x| format!("{x:.3}")),
                2.0 * clock.p[i] - 0.25,
                num(r, "s_max_at_t3"),
            )?;
            last = Some((
                e,
                ratio,
                slope,
                2.0 * clock.p[i] - 0.25,
                width / scale,
                ratio_limit,
                slope_limit,
            ));
        }
        if let Some((e, ratio, slope, predicted, k, ratio_limit, slope_limit)) = last {
            let signed = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:+.3}"));
            writeln!(
                verdicts,
                "- {name} (N = {n_big}): at ε = {e:.0e} the drop's own problem gives \
                 t₃/t₂ = {ratio:.4} ({} at N → ∞), K = {k:.3}, and t₃/t₂ − 1 moves like \
                 ε^{{{}}} ({} at N → ∞) between the two smallest ε (2p − 1/4 = \
                 {predicted:+.3}).",
                if ratio_limit.is_finite() {
                    format!("{ratio_limit:.4}")
                } else {
                    "—".into()
                },
                signed(slope),
                signed(slope_limit),
            )?;
        }
    }
    md.push('\n');
    md.push_str(&verdicts);
    Ok(())
}

type CsvRows = Vec<std::collections::HashMap<String, String>>;

/// The local exponent of `x(ε)` between `(e0, x0)` and `(e, x)`: `ln(x/x0) / ln(e/e0)`.
fn log_slope(e0: f64, x0: f64, e: f64, x: f64) -> f64 {
    (x / x0).ln() / (e / e0).ln()
}

/// The continuum's blow-up time `T*` (Aitken's extrapolation of `T₂(ε)` over the three
/// smallest ε), `θ₂ = T* − T₂(ε)` and its local exponent `p` (centred slope of ln θ₂ against
/// ln ε), from `T₂` at decreasing `ε`; `None` with fewer than four ε.
struct BlowupClock {
    t_star: f64,
    theta: Vec<f64>,
    p: Vec<f64>,
}

impl BlowupClock {
    fn new(eps: &[f64], t2: &[f64]) -> Option<Self> {
        let k = t2.len();
        if k < 4 {
            return None;
        }
        let (_, t_star) = richardson(t2[k - 3], t2[k - 2], t2[k - 1]);
        let theta: Vec<f64> = t2.iter().map(|t| t_star - t).collect();
        let p = (0..k)
            .map(|i| {
                let (l, h) = (i.saturating_sub(1), (i + 1).min(k - 1));
                (theta[h] / theta[l]).ln() / (eps[h] / eps[l]).ln()
            })
            .collect();
        Some(Self { t_star, theta, p })
    }

    /// The clock of a case's `continuum` rows at their largest N, with that N, the rows
    /// (decreasing ε), ε and `T₂`.
    #[allow(clippy::type_complexity)]
    fn at_largest_n(
        of: &CsvRows,
    ) -> Option<(
        u64,
        Vec<&std::collections::HashMap<String, String>>,
        Vec<f64>,
        Vec<f64>,
        Self,
    )> {
        let n_big = of.iter().map(|r| num(r, "n") as u64).max()?;
        let mut rows: Vec<_> = of.iter().filter(|r| num(r, "n") as u64 == n_big).collect();
        rows.sort_by(|a, b| num(b, "epsilon").total_cmp(&num(a, "epsilon")));
        let eps: Vec<f64> = rows.iter().map(|r| num(r, "epsilon")).collect();
        let t2: Vec<f64> = rows.iter().map(|r| num(r, "t2_inner")).collect();
        let clock = Self::new(&eps, &t2)?;
        Some((n_big, rows, eps, t2, clock))
    }
}

/// Why `p`: the continuum inner problem's blow-up read in similarity variables, from
/// `phase_separation_continuum_inner.csv` at the largest N (README, "Phase 3 with N
/// converged"). Local exponents against `θ = T* − T` over windows of `θ`, the multiplier's
/// `λ = μ₁ θ`, and the closure's and the self-consistency's `p` from κ alone beside the continuum's.
fn similarity_summary(
    run: &ContinuumRun,
    out: &std::path::Path,
    md: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::fmt::Write as _;
    let inner = read_rows_if_any(&out.join("phase_separation_continuum_inner.csv"))?;
    if inner.first().is_none_or(|r| !r.contains_key("mu1")) {
        return Ok(());
    }
    md.push_str(
        "\n## Why p: the blow-up in similarity variables\n\n\
         Near the continuum's blow-up, with θ = T* − T, the edge particle has S, A ∝ θ^{−1} \
         and the multiplier of degree 1 is μ₁ = λ/θ (λ < 0), of the order of the particles' \
         own rates, so it changes how neighbouring labels part. In u = c₂θS, v = c₂θA, \
         σ = −ln θ a particle follows u' = −u + v(λ + 2u), v' = −v + λu + u²; the edge \
         particle sits at its fixed point and a label at distance x from the edge leaves it \
         along the unstable direction, x θ^{−λ_u} with λ_u = −1 + v + √(v² + (λ + 2u)²) at \
         u = (−3λ + √(λ² + 8))/4, v = λu + u² (λ = 0: λ_u = 1, the layer argument). So the \
         layer has width x½ ∝ θ^{λ_u}, ⟨A S²⟩ ∝ θ^{−q} with q = 3 − (κ + 1)λ_u, and \
         p = 1/(4q). μ₁ = −c₂(⟨S³⟩ + 2⟨A²S⟩ − ⟨S²⟩⟨S⟩)/(Var S + ⟨A²⟩) is set by the layer, \
         whose Var S + ⟨A²⟩ grows like θ^{−(2 − (κ+1)λ_u)}, and by the bulk, which μ₁ = λ/θ \
         drives as S − A ∝ θ^{λ}, so that its Var S grows like θ^{2λ}. **Closure**: the two \
         balance, 2|λ| = 2 − (κ + 1)λ_u(λ), one equation for λ given κ. **Derived** \
         (`timescales::phases::self_consistent_exponents`): over the layer, μ₁θ = −I_N/I_D, \
         the integrals of u³ + 2v²u and u² + v² along the branch of the unstable manifold that \
         runs from the edge fixed point into the origin, weighted by the labels' density \
         e^{(κ+1)λ_u τ}; I_D converges while (κ + 1)λ_u < 2(1 − |λ|) — the closure is where it \
         diverges. On the whole interval between the closure's λ_m and 0 the layer alone asks \
         for a stronger multiplier than λ (−I_N/I_D ≈ −0.5 for κ = 0), so the root of \
         λ = −I_N/I_D lies just inside λ_m, where the layer's far tail (the labels leaving for \
         the bulk) makes I_D large: the closure is the self-consistency up to the tail rate \
         2(1 − |λ|) − (κ + 1)λ_u ≈ 0.01–0.02 left at its root. Local exponents against θ (least squares over each window \
         of the inner solution at its largest N; T* as in the section above) and λ = μ₁θ \
         (its mean there), with the λ_u that this λ gives, to set beside the slope of x½:\n\n\
         | case | κ | θ window | max S (−1) | max A S (−2) | x½ (λ_u) | ⟨A S²⟩ (−q) | Var S + ⟨A²⟩ (2λ) | ⟨S⟩ | λ = μ₁θ | λ_u(λ) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut lines = String::new();
    for (name, of) in &run.cases {
        let Some(case) = CASES.iter().find(|c| c.name == name) else {
            continue;
        };
        let Some((n_big, _, eps, _, clock)) = BlowupClock::at_largest_n(of) else {
            continue;
        };
        let samples: Vec<_> = inner
            .iter()
            .filter(|r| r.get("case") == Some(name) && num(r, "n") as u64 == n_big)
            .map(|r| (clock.t_star - num(r, "t_inner"), r))
            .filter(|(theta, _)| *theta > 0.0)
            .collect();
        for (hi, lo) in [
            (0.1, 0.03),
            (0.03, 0.01),
            (0.01, 0.003),
            (0.003, 0.001),
            (0.001, 3e-4),
        ] {
            let window: Vec<_> = samples
                .iter()
                .filter(|(theta, _)| *theta <= hi && *theta >= lo)
                .collect();
            if window.len() < 3 {
                continue;
            }
            let x: Vec<f64> = window.iter().map(|(theta, _)| theta.ln()).collect();
            let slope = |key: &str| -> String {
                let y: Vec<f64> = window.iter().map(|(_, r)| num(r, key).abs().ln()).collect();
                if y.iter().all(|v| v.is_finite()) {
                    format!("{:.3}", least_squares_slope(&x, &y))
                } else {
                    "—".into()
                }
            };
            let lambda = window
                .iter()
                .map(|(theta, r)| num(r, "mu1") * theta)
                .sum::<f64>()
                / window.len() as f64;
            writeln!(
                md,
                "| {name} | {} | {hi:.0e} … {lo:.0e} | {} | {} | {} | {} | {} | {} | {lambda:.3} | {:.3} |",
                case.kappa,
                slope("s_max_inner"),
                slope("as_max"),
                slope("x_half"),
                slope("m2_inner"),
                slope("spread"),
                slope("mean_s"),
                timescales::phases::unstable_exponent(lambda),
            )?;
        }
        if let Some(m) = timescales::phases::closure_exponents(case.kappa) {
            let p_end = clock.p[clock.p.len() - 1];
            writeln!(
                lines,
                "- {name} (κ = {}): the closure gives λ = {:.4}, λ_u = {:.4}, \
                 q = {:.4}, p = {:.4} (t₃/t₂ − 1 ∝ ε^{{{:+.4}}}), from κ alone; the continuum's \
                 p → {p_end:.4} at ε = {:.0e} ({:+.2} %).",
                case.kappa,
                m.lambda,
                m.lambda_u,
                m.q,
                m.p,
                2.0 * m.p - 0.25,
                eps[eps.len() - 1],
                100.0 * (m.p / p_end - 1.0),
            )?;
            if let Some(s) = timescales::phases::self_consistent_exponents(case.kappa)? {
                writeln!(
                    lines,
                    "  The self-consistency gives λ = {:.4}, λ_u = {:.4}, q = {:.4}, p = {:.4} \
                     (t₃/t₂ − 1 ∝ ε^{{{:+.4}}}; {:+.2} % from the continuum's p, {:+.2} % from the \
                     closure's).",
                    s.lambda,
                    s.lambda_u,
                    s.q,
                    s.p,
                    2.0 * s.p - 0.25,
                    100.0 * (s.p / p_end - 1.0),
                    100.0 * (s.p / m.p - 1.0),
                )?;
            }
        }
    }
    md.push('\n');
    md.push_str(&lines);
    for kappa in [-0.75, -0.25, 0.25, 0.5, 0.75] {
        if let (Some(m), Some(s)) = (
            timescales::phases::closure_exponents(kappa),
            timescales::phases::self_consistent_exponents(kappa)?,
        ) {
            write!(
                md,
                "{}κ = {kappa}: λ = {:.3} ({:.3}), λ_u = {:.3} ({:.3}), p = {:.4} ({:.4})",
                if kappa == -0.75 {
                    "- The closure (and the self-consistency) at other edge exponents (phases \
                     separate iff p < 1/8): "
                } else {
                    "; "
                },
                m.lambda,
                s.lambda,
                m.lambda_u,
                s.lambda_u,
                m.p,
                s.p,
            )?;
        }
    }
    md.push_str("; at κ = 1, λ = 0 and p = 1/4.");
    let closure =
        timescales::phases::separation_threshold(|k| Ok(timescales::phases::closure_exponents(k)))?;
    let consistent =
        timescales::phases::separation_threshold(timescales::phases::self_consistent_exponents)?;
    if let (Some(c), Some(s)) = (closure, consistent) {
        writeln!(
            md,
            " Phases 2 and 3 separate (p < 1/8) for κ < κ* = {c:.3} by the closure, {s:.3} by the \
             self-consistency."
        )?;
    } else {
        md.push('\n');
    }
    Ok(())
}

/// The least-squares slope of `y` against `x`.
fn least_squares_slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// The measured `t₂`, `t₃` of `case` at `e`, with the N they come from and whether they
/// resolve `t₃ − t₂`: from `drop` (t₃ − t₂ converged in N itself) where it ran, with the
/// change of t₃ − t₂ from N/2 (resolved if ≤ 2 %), else from the final N of `converged`
/// (1 % on t₃: resolved if t₃ − t₂ ≥ t₃/5).
fn measured_t2_t3(case: &str, e: f64, drop: &CsvRows, converged: &CsvRows) -> Option<Measured> {
    let same = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-9;
    let in_drop: Vec<_> = drop
        .iter()
        .filter(|m| m.get("case").is_some_and(|c| c == case) && same(num(m, "epsilon"), e))
        .collect();
    let big = in_drop
        .iter()
        .max_by(|a, b| num(a, "n").total_cmp(&num(b, "n")));
    let half = big.and_then(|b| in_drop.iter().find(|m| 2.0 * num(m, "n") == num(b, "n")));
    if let (Some(b), Some(h)) = (big, half) {
        let width = |m: &std::collections::HashMap<String, String>| num(m, "t3") - num(m, "t2");
        let change = width(b) / width(h) - 1.0;
        return Some(Measured {
            t2: num(b, "t2"),
            t3: num(b, "t3"),
            n: num(b, "n") as u64,
            note: format!("{}; t₃ − t₂ {:+.1} % from N/2", num(b, "n"), 100.0 * change),
            resolved: change.abs() <= 0.02,
        });
    }
    converged
        .iter()
        .find(|m| same(num(m, "epsilon"), e) && m.get("n_final").is_some_and(|v| v == "true"))
        .map(|m| {
            let (t2, t3) = (num(m, "t2"), num(m, "t3"));
            Measured {
                t2,
                t3,
                n: num(m, "n") as u64,
                note: format!("{}", num(m, "n")),
                resolved: t3 - t2 >= 0.2 * t3,
            }
        })
}

/// The onsets of one (case, ε) that [`measured_t2_t3`] takes, with the N they were measured
/// at, a note on their convergence in N, and whether `t₃ − t₂` is resolved.
struct Measured {
    t2: f64,
    t3: f64,
    n: u64,
    note: String,
    resolved: bool,
}

impl Measured {
    /// NaN onsets, for an ε without a measurement.
    fn none() -> Self {
        Self {
            t2: f64::NAN,
            t3: f64::NAN,
            n: 0,
            note: String::new(),
            resolved: false,
        }
    }
}

/// The section of `summary` on the continuum inner problem (`-- continuum`) beside the
/// measured onsets (`converged`, and `drop` where it ran).
fn continuum_summary(
    run: &ContinuumRun,
    out: &std::path::Path,
    md: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::fmt::Write as _;
    md.push_str(
        "\n## The continuum inner problem of phase 2, read at degrees 2 and 3 (`-- continuum`)\n\n\
         The ε-free inner problem of phase 2 (t = ε^{1/4} T, a = ε^{−1/4} A, s = ε^{1/4} S; \
         ⟨A⟩ and ⟨A S⟩ held) at the largest N it was solved for, converged in N: T₂, T₃ where \
         σ_l M_l/φ_l reaches 1 − 1/√2 with M₂ = ε^{1/4}⟨A S²⟩, M₃ = ε^{1/2}⟨A S³⟩ (degree 3 \
         carried passively by the degree-2 blow-up, the feedback of the learnt r₂ and of \
         |s| ≤ 1 left out), beside the measured t_l ε^{−1/4} (`converged`: final N; from \
         1e-8 `drop` where it ran: its largest N, with the change of t₃ − t₂ from N/2). ε^{1/4} max S at T₃: the \
         largest overlap the inner problem implies (≪ 1 for the neglect of saturation to be \
         right). ΔN: the largest relative change of T₂, T₃ from the previous N.\n\n\
         | case | ε | N | T₂ | t₂ ε^{−1/4} measured | error | T₃ | t₃ ε^{−1/4} measured | t₃/t₂ inner | t₃/t₂ measured | ε^{1/4} max S at T₃ | ΔN |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, of) in &run.cases {
        let Some(n_big) = of.iter().map(|r| num(r, "n") as u64).max() else {
            writeln!(
                md,
                "| {name} | — | — | no crossing: the inner problem blows up on atoms of the far tail before M₂ counts | | | | | | | | |"
            )?;
            continue;
        };
        let n_prev = of
            .iter()
            .map(|r| num(r, "n") as u64)
            .filter(|&n| n < n_big)
            .max();
        let measured = ContinuumRun::converged(out, name)?;
        for r in of.iter().filter(|r| num(r, "n") as u64 == n_big) {
            let e = num(r, "epsilon");
            let q = e.powf(0.25);
            let Measured {
                t2: t2m,
                t3: t3m,
                note,
                ..
            } = measured_t2_t3(name, e, &run.drop, &measured).unwrap_or_else(Measured::none);
            let same = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-9;
            let change = n_prev
                .and_then(|np| {
                    of.iter()
                        .find(|h| same(num(h, "epsilon"), e) && num(h, "n") as u64 == np)
                })
                .map(|h| {
                    ["t2_inner", "t3_inner"]
                        .iter()
                        .map(|k| (num(r, k) / num(h, k) - 1.0).abs())
                        .fold(0.0f64, f64::max)
                });
            let (t2i, t3i) = (num(r, "t2_inner"), num(r, "t3_inner"));
            let cell = |x: f64, d: usize| {
                if x.is_finite() {
                    format!("{x:.d$}")
                } else {
                    "—".into()
                }
            };
            writeln!(
                md,
                "| {name} | {e:.0e} | {n_big} | {:.4} | {} | {} | {:.4} | {} | {:.4} | {} | {:.3} | {} |",
                t2i,
                cell(t2m / q, 4),
                if t2m.is_finite() {
                    format!("{:+.2} %", 100.0 * (t2i * q / t2m - 1.0))
                } else {
                    "—".into()
                },
                t3i,
                if note.is_empty() {
                    "—".into()
                } else {
                    format!("{} (N = {note})", cell(t3m / q, 4))
                },
                t3i / t2i,
                cell(t3m / t2m, 4),
                num(r, "s_max_at_t3"),
                change.map_or("—".into(), |c| format!("{c:.1e}")),
            )?;
        }
    }
    Ok(())
}
