//! A signal that arrives between the progress callback's check of the process's interrupt
//! and the driver's own check (after the same step) stops a run the same way as one seen
//! by the callback: with the trajectory so far, not with an error. A caller that does not
//! stop on the interrupt still gets the error. (Its own test binary: the interrupt is
//! process-wide.)

use std::ops::ControlFlow;

use timescales_meanfield::{FlowError, FlowProblem, simulate_with};
use timescales_ode::{IntegrationError, interrupt};

/// Runs `problem`, requesting the interrupt inside the progress callback's 40th call (after
/// it decided to let that step pass); with `stops`, the callback stops on the interrupt.
fn run_interrupted(
    problem: &FlowProblem,
    stops: bool,
) -> (Result<timescales_meanfield::FlowRun, FlowError>, usize) {
    let mut calls = 0;
    let result = simulate_with(problem, &mut |_| {
        calls += 1;
        if calls == 40 {
            interrupt::request();
            ControlFlow::Continue(())
        } else if stops && interrupt::requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    interrupt::clear();
    (result, calls)
}

#[test]
fn an_interrupt_between_the_two_checks_keeps_the_trajectory() {
    let problem = FlowProblem {
        particles: 8,
        ..FlowProblem::public(1e-4)
    };
    // The driver sees the interrupt first, after step 40.
    let (result, calls) = run_interrupted(&problem, true);
    let run = result.expect("a stop, not an error");
    let t = run.interrupted_at.expect("interrupted");
    assert!(t > 0.0 && t < problem.t_end);
    assert_eq!(calls, 41, "asked once more, after the driver's check");
    assert!(!run.trajectory.t.is_empty() && run.trajectory.t.iter().all(|&s| s <= t));
    assert!(run.stats.steps >= 40);

    // A callback that never stops: the interrupt is an error, as before.
    let (result, _) = run_interrupted(&problem, false);
    assert!(
        matches!(
            result,
            Err(FlowError::Integration {
                source: IntegrationError::Interrupted { .. },
                ..
            })
        ),
        "expected the interrupt as an error, got {result:?}"
    );
    // The error carries the work done before it, with the rejections by cause.
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains(" rejected: ") && message.contains(" Newton, "),
        "{message}"
    );
}
