//! A signal that arrives between the progress callback's check of the process's interrupt
//! and the driver's own check (after the same step) stops a run the same way as one seen
//! by the callback: with the trajectory so far, not with an error. A caller that does not
//! stop on the interrupt still gets the error. (Its own test binary: the interrupt is
//! process-wide.)

use std::ops::ControlFlow;

use timescales_meanfield::{FlowError, FlowProblem, simulate_with};
use timescales_ode::{IntegrationError, interrupt};

#[test]
fn an_interrupt_between_the_two_checks_keeps_the_trajectory() {
    let problem = FlowProblem {
        particles: 8,
        ..FlowProblem::public(1e-4)
    };
    // The callback lets step 40 pass, and the interrupt is requested right then: the
    // driver sees it first, after that step.
    let mut calls = 0;
    let run = simulate_with(&problem, &mut |_| {
        calls += 1;
        if calls == 40 {
            interrupt::request();
            ControlFlow::Continue(())
        } else if interrupt::requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    interrupt::clear();
    let run = run.expect("a stop, not an error");
    let t = run.interrupted_at.expect("interrupted");
    assert!(t > 0.0 && t < problem.t_end);
    assert_eq!(calls, 41, "asked once more, after the driver's check");
    assert!(!run.trajectory.t.is_empty() && run.trajectory.t.iter().all(|&s| s <= t));
    assert!(run.stats.steps >= 40);

    // A callback that never stops: the interrupt is an error, as before.
    let mut calls = 0;
    let err = simulate_with(&problem, &mut |_| {
        calls += 1;
        if calls == 40 {
            interrupt::request();
        }
        ControlFlow::Continue(())
    });
    interrupt::clear();
    match err {
        Err(FlowError::Integration {
            source: IntegrationError::Interrupted { .. },
            ..
        }) => {}
        other => panic!("expected the interrupt as an error, got {other:?}"),
    }
}
