//! Work snapshots on the public problem at N = 64, ε = 1e-8, t_end = 3, rtol 1e-8, atol 1e-10,
//! 201 outputs (benches/RESULTS.md §1): a change that silently costs more steps, Jacobians or
//! factorizations fails here. The windows are ±10 % around the counts measured when they were
//! written (release and debug builds give the same counts); a deliberate algorithmic change
//! updates them, with the reason in the commit.

use timescales_meanfield::{FlowProblem, Method, OutputTimes, simulate};

fn public_n64(method: Method) -> FlowProblem {
    FlowProblem {
        method,
        ..FlowProblem::public(1e-8)
    }
}

fn within(name: &str, value: usize, measured: usize) {
    let (lo, hi) = (measured * 9 / 10, measured * 11 / 10);
    assert!(
        (lo..=hi).contains(&value),
        "{name} = {value}, outside [{lo}, {hi}] (measured {measured})"
    );
}

#[test]
fn bdf_work_on_the_public_problem() {
    let run = simulate(&public_n64(Method::Bdf)).expect("run succeeds");
    let s = run.stats;
    // Measured: 1332 steps, 4539 RHS, 451 Jacobians, 653 LU (scipy 1.17.1's BDF: 1467
    // steps; this BDF before it re-linearized at the first Newton iterate: 1460, 4834, 434,
    // 704).
    within("steps", s.steps, 1332);
    within("rhs_evals", s.rhs_evals, 4539);
    within("jacobian_evals", s.jacobian_evals, 451);
    within("factorizations", s.factorizations, 653);
    assert_eq!(s.linear_solves + 2, s.rhs_evals, "one solve per Newton RHS");
    assert!(run.max_risk_increase <= 1e-12, "{}", run.max_risk_increase);
}

#[test]
fn rodas4_work_on_the_public_problem() {
    let run = simulate(&public_n64(Method::Rodas4)).expect("run succeeds");
    let s = run.stats;
    // Measured: 6209 steps, 80 rejected, 37 735 RHS; one Jacobian per step, six solves.
    within("steps", s.steps, 6209);
    within("rhs_evals", s.rhs_evals, 37735);
    assert_eq!(s.jacobian_evals, s.steps);
}

/// BDF far below the flagship's usual ε: the public problem at ε = 1e-18, N = 128. There the
/// a's grow large and the moment matrix is badly conditioned; the Newton iteration from the
/// predictor, with `J` taken at the predictor, used to fail with a contraction rate growing
/// like `h`, and every failure halved the step: 9182 steps with 7181 rejections (nearly all
/// Newton failures) before BDF re-linearized at the first iterate, 2215 with 263 (148 Newton)
/// after, and the step size collapsed at ε = 1e-20 (N = 16 384) before.
#[test]
fn bdf_at_small_epsilon_is_not_held_back_by_newton_failures() {
    // RODAS4 at rtol 1e-10, atol 1e-12 (an independent integrator; 312 957 steps; its rtol
    // 1e-9 run agrees to 5e-8): (t, risk).
    const REFERENCE: [(f64, f64); 6] = [
        (0.00036485643264735695, 0.002615856729929095),
        (0.01343141309475227, 0.0007076797542836536),
        (0.04144733509482366, 6.616883777717862e-07),
        (0.05192441274976696, 1.296800953933279e-07),
        (0.4944488888763728, 2.3706441191800035e-08),
        (3.0, 2.325794854011364e-08),
    ];
    let problem = FlowProblem {
        method: Method::Bdf,
        particles: 128,
        times: OutputTimes::Explicit(REFERENCE.iter().map(|(t, _)| *t).collect()),
        ..FlowProblem::public(1e-18)
    };
    let run = simulate(&problem).expect("run succeeds");
    let s = run.stats;
    assert_eq!(
        s.error_test_failures + s.convergence_failures + s.non_finite_failures + s.domain_failures,
        s.rejected_steps,
        "every rejection has one cause: {s:?}"
    );
    // Measured: 2215 steps, 263 rejected (115 error test, 148 Newton).
    within("steps", s.steps, 2215);
    assert!(
        4 * s.convergence_failures < s.steps,
        "Newton failures {} against {} steps",
        s.convergence_failures,
        s.steps
    );
    // Measured: 1.04e-5 at most (BDF's error; 1.11e-5 before the change).
    let risk = &run.trajectory.columns[0];
    for ((t, want), got) in REFERENCE.iter().zip(risk) {
        assert!(
            ((got - want) / want).abs() < 3e-5,
            "risk at t = {t}: {got:e} against RODAS4's {want:e}"
        );
    }
}

/// BDF at ε = 1e-20 on the flagship, N = 2048 (about 20 s in release; run by hand:
/// `cargo test --release -p timescales-meanfield --test solver_statistics -- --ignored`).
/// There the a's reach 10⁴ and more, and late in the run the Newton corrections stay at
/// 1e-3 … 5e-2 (weighted) however small the step: the rounding floor of the residual. With
/// the re-linearization alone every such iteration failed, the step was halved down to 10
/// ulps of t and collapsed at t = 2.16; with the stagnation floor (BDF takes corrections ≤ 0.03
/// that the rate test rejects as converged, after a re-linearization only)
/// the run completes (82 182 steps in `timescales run` with the scenario's outputs; the
/// outputs do not change BDF's steps).
#[test]
#[ignore = "20 s in release, minutes in debug"]
fn bdf_completes_the_flagship_at_epsilon_1e_20() {
    let problem = FlowProblem {
        method: Method::Bdf,
        particles: 2048,
        times: OutputTimes::LogGrid { samples: 20 },
        ..FlowProblem::public(1e-20)
    };
    let run = simulate(&problem).unwrap_or_else(|e| panic!("{e}"));
    assert!(run.final_s.iter().all(|s| s.abs() <= 1.0));
    assert!(run.stats.steps > 0);
}
