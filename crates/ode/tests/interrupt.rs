//! The process's interrupt request stops every method at its next step, as an error that
//! says where. (Its own test binary: the request is process-wide, and the unit tests of the
//! crate run in parallel threads of another process.)

use std::ops::ControlFlow;

use timescales_ode::{
    DenseSlowFast, IntegrationError, Method, Observer, SlowFastSystem, SolverOptions, integrate,
    interrupt,
};

/// Van der Pol in Liénard form as a slow–fast pair, `x' = −y`, `ε y' = x − (y³/3 − y)`, kept mild
/// (ε = 0.2) so that every method, explicit ones included, takes many steps to t = 20.
struct VanDerPol;

impl SlowFastSystem for VanDerPol {
    fn slow_dim(&self) -> usize {
        1
    }
    fn fast_dim(&self) -> usize {
        1
    }
    fn slow_field(&self, _x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        out[0] = -y[0];
    }
    fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        out[0] = x[0] - (y[0] * y[0] * y[0] / 3.0 - y[0]);
    }
}

/// Requests the interrupt at the `at`-th accepted step and counts the steps it sees.
struct InterruptAt {
    at: usize,
    steps: usize,
    t_requested: f64,
}

impl Observer for InterruptAt {
    fn observe(&mut self, _t: f64, _u: &[f64]) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    fn accepted_step(&mut self, t: f64, _u: &[f64]) -> ControlFlow<()> {
        self.steps += 1;
        if self.steps == self.at {
            assert!(!interrupt::request(), "no request was pending");
            self.t_requested = t;
        }
        ControlFlow::Continue(())
    }
}

#[test]
fn every_method_stops_at_the_step_that_saw_the_request() {
    let opts = SolverOptions {
        rtol: 1e-8,
        atol: 1e-10,
        ..SolverOptions::default()
    };
    for method in [Method::Rodas4, Method::Bdf, Method::Dopri5, Method::Dop853] {
        let mut solver = method
            .solver(DenseSlowFast::new(VanDerPol, 0.2), 0.0, &[0.5, 2.0], &opts)
            .unwrap();
        let mut obs = InterruptAt {
            at: 7,
            steps: 0,
            t_requested: f64::NAN,
        };
        let r = integrate(&mut *solver, &[0.0, 20.0], &mut [], &mut obs);
        match r {
            Err(IntegrationError::Interrupted { t }) => {
                assert_eq!(t, obs.t_requested, "{method:?}");
                assert_eq!(obs.steps, 7, "{method:?}: stopped at the next step");
                assert_eq!(solver.t(), t);
                assert!(solver.stats().steps >= 7);
            }
            other => panic!("{method:?}: {other:?}"),
        }
        interrupt::clear();
        // Cleared: the same integration runs to the end.
        let mut solver = method
            .solver(DenseSlowFast::new(VanDerPol, 0.2), 0.0, &[0.5, 2.0], &opts)
            .unwrap();
        let mut quiet = InterruptAt {
            at: usize::MAX,
            steps: 0,
            t_requested: f64::NAN,
        };
        let out = integrate(&mut *solver, &[0.0, 20.0], &mut [], &mut quiet).unwrap();
        assert!(
            quiet.steps > 7 && out.stats.steps == quiet.steps,
            "{method:?}"
        );
    }
    // A second request reports the first as pending.
    assert!(!interrupt::request());
    assert!(interrupt::request());
    interrupt::clear();
}
