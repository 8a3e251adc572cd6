//! Work snapshots on the public problem at N = 64, ε = 1e-8, t_end = 3, rtol 1e-8, atol 1e-10,
//! 201 outputs (benches/RESULTS.md §1): a change that silently costs more steps, Jacobians or
//! factorizations fails here. The windows are ±10 % around the counts measured when they were
//! written (release and debug builds give the same counts); a deliberate algorithmic change
//! updates them, with the reason in the commit.

use timescales_meanfield::{FlowProblem, Method, simulate};

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
    // Measured: 1460 steps (scipy 1.17.1's BDF: 1467), 4834 RHS, 434 Jacobians, 704 LU.
    within("steps", s.steps, 1460);
    within("rhs_evals", s.rhs_evals, 4834);
    within("jacobian_evals", s.jacobian_evals, 434);
    within("factorizations", s.factorizations, 704);
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
