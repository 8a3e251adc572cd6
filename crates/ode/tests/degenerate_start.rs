//! Degenerate starts: every method refuses an empty system, a right-hand side that is not
//! finite at the initial state, and one too large for any representable first step, with a
//! typed error instead of a panic or a step-size collapse at `h = 0`.

use timescales_ode::{
    DenseSlowFast, IntegrationError, Method, Recorder, SlowFastSystem, SolverOptions, integrate,
};

/// `x' = c·x`, `ε y' = c·(x − y)` with a given `c` (or no variable at all).
struct Scaled {
    c: f64,
    dims: (usize, usize),
}

impl SlowFastSystem for Scaled {
    fn slow_dim(&self) -> usize {
        self.dims.0
    }
    fn fast_dim(&self) -> usize {
        self.dims.1
    }
    fn slow_field(&self, x: &[f64], _y: &[f64], _e: f64, out: &mut [f64]) {
        if let (Some(o), Some(x)) = (out.first_mut(), x.first()) {
            *o = self.c * x;
        }
    }
    fn fast_field(&self, x: &[f64], y: &[f64], _e: f64, out: &mut [f64]) {
        if let (Some(o), Some(x), Some(y)) = (out.first_mut(), x.first(), y.first()) {
            *o = self.c * (x - y);
        }
    }
}

fn start(c: f64, dims: (usize, usize), u0: &[f64], atol: f64) -> Vec<IntegrationError> {
    let opts = SolverOptions {
        rtol: 1e-6,
        atol,
        ..SolverOptions::default()
    };
    Method::ALL
        .iter()
        .filter_map(|m| {
            let sys = DenseSlowFast::new(Scaled { c, dims }, 1e-3);
            let mut rec = Recorder::new(Vec::new());
            m.solver(sys, 0.0, u0, &opts)
                .and_then(|mut s| integrate(&mut *s, &[1.0], &mut [], &mut rec))
                .err()
        })
        .collect()
}

#[test]
fn an_empty_system_is_refused() {
    let errors = start(-1.0, (0, 0), &[], 1e-9);
    assert_eq!(errors.len(), Method::ALL.len());
    for e in errors {
        assert!(
            matches!(&e, IntegrationError::InvalidRequest(m) if m.contains("no variable")),
            "{e}"
        );
    }
}

#[test]
fn a_non_finite_initial_field_is_reported_at_the_start() {
    let errors = start(f64::INFINITY, (1, 1), &[1.0, 0.0], 1e-9);
    assert_eq!(errors.len(), Method::ALL.len());
    for e in errors {
        assert!(
            matches!(e, IntegrationError::NonFinite { t, .. } if t == 0.0),
            "{e}"
        );
    }
}

#[test]
fn a_field_beyond_double_precision_gives_a_first_step_error() {
    // F(u0) ~ 1e306 / ε = 1e309 overflows in the first stage; scaled by atol = 1e-300 no
    // representable first step meets the tolerance.
    for e in start(1e306, (1, 1), &[1.0, 0.0], 1e-300) {
        assert!(
            matches!(
                e,
                IntegrationError::FirstStep { .. } | IntegrationError::NonFinite { .. }
            ),
            "{e}"
        );
        assert!(!e.to_string().contains("h = 0e0 < h_min = 0e0"), "{e}");
    }
}

#[test]
fn a_huge_but_finite_field_still_gets_a_positive_first_step() {
    // ‖F‖ in the weighted norm overflows when squared (1e200 / 1e-10 = 1e210); the guess is
    // taken relative to its largest term and stays positive, so the run proceeds.
    let opts = SolverOptions {
        rtol: 1e-6,
        atol: 1e-10,
        ..SolverOptions::default()
    };
    for m in [Method::Rodas4, Method::Dopri5, Method::Dop853] {
        let sys = DenseSlowFast::new(
            Scaled {
                c: -1e200,
                dims: (1, 1),
            },
            1.0,
        );
        let mut s = m.solver(sys, 0.0, &[1.0, 0.0], &opts).unwrap();
        let t = s.step();
        assert!(
            !matches!(t, Err(IntegrationError::FirstStep { .. })),
            "{m}: {t:?}"
        );
    }
}
