//! The direct integrator (RODAS4 on the full system) against each built-in problem's
//! closed form or published reference, and the outer/inner solvers against theirs.

use timescales_matching::{MatchingOptions, integrate_full, study};
use timescales_ode::{
    DenseSlowFast, Direction, Event, Recorder, Rodas4, Solver, SolverOptions, Stop, integrate,
};
use timescales_systems::builtin::{self, AIRY_A1, fold, michaelis_menten, van_der_pol};

#[test]
fn linear_direct_matches_the_exact_solution_in_units_of_tolerance() {
    // Closed form from the characteristic roots −1 and −1/ε.
    let p = builtin::by_name("linear").unwrap();
    let times: Vec<f64> = (0..=60)
        .map(|k| 1e-7 * 10f64.powf(k as f64 / 10.0))
        .collect();
    for eps in [1e-2, 1e-4, 1e-6] {
        for rtol in [1e-6, 1e-9] {
            let opts = SolverOptions {
                rtol,
                atol: rtol * 1e-2,
                ..SolverOptions::default()
            };
            let times: Vec<f64> = times.iter().copied().filter(|&t| t <= 2.0).collect();
            let (traj, _) =
                integrate_full(p.system.as_ref(), eps, &p.x0, &p.y0, &times, opts).unwrap();
            for (k, &t) in times.iter().enumerate() {
                let ex = linear_exact(t, eps);
                for (v, e) in ex.iter().enumerate() {
                    let got = traj.columns[v][k];
                    let units = (got - e).abs() / (rtol * e.abs() + opts.atol);
                    assert!(
                        units < 50.0,
                        "eps {eps} rtol {rtol} t {t} var {v}: {units} tol"
                    );
                }
            }
        }
    }
}

fn linear_exact(t: f64, eps: f64) -> Vec<f64> {
    builtin::linear::exact(t, eps)
}

#[test]
fn michaelis_menten_direct_is_lambert_w_plus_first_order_outer() {
    // Outside the layer s(t) = s_W(t) + ε X₁(t) + O(ε²), with s_W the Lambert-W closed form
    // (Schnell & Mendoza 1997) and X₁ from the first-order outer solver: the remainder
    // shrinks by ≈ 100 per factor 10 in ε.
    let p = builtin::by_name("michaelis-menten").unwrap();
    let mut remainders = Vec::new();
    for eps in [1e-2, 1e-3] {
        let s = study(
            p.system.as_ref(),
            &p.x0,
            &p.y0,
            p.t_end,
            &[eps],
            &MatchingOptions::default(),
        )
        .unwrap();
        let c = &s.comparisons[0];
        let outer = &s.asymptotics.outer;
        let x1 = &outer.first_order.as_ref().unwrap().x1;
        let mut worst: f64 = 0.0;
        for (k, &t) in c.t.iter().enumerate() {
            if t < 0.5 {
                continue;
            }
            let i = outer.t.iter().position(|&s| s == t).unwrap();
            let sw = michaelis_menten::reduced_substrate(t, 1.0, 1.0, 0.5);
            // The outer solver reproduces the closed form to its tolerance.
            assert!((outer.x[i][0] - sw).abs() < 1e-9, "t {t}");
            worst = worst.max((c.full[0][k] - sw - eps * x1[i][0]).abs());
        }
        remainders.push(worst);
    }
    let ratio = remainders[0] / remainders[1];
    assert!(ratio > 70.0 && ratio < 130.0, "{remainders:?}");
}

#[test]
fn van_der_pol_period_follows_dorodnitsyn() {
    // T(ε) = 3 − 2 ln 2 + 3|a₁| ε^{2/3} + O(ε ln ε) (Dorodnitsyn 1947): after removing the
    // two known terms the remainder must be within ε ln(1/ε) (the ε^{2/3} term itself is
    // 0.070 at ε = 1e-3 and 0.015 at ε = 1e-4, 10 and 16 times larger than that bound).
    for eps in [1e-3, 1e-4] {
        // The fast jumps from the right branch: y falls through 0, located on the dense
        // output (non-terminal events).
        let sys = DenseSlowFast::new(&van_der_pol::VanDerPol, eps);
        let opts = SolverOptions {
            rtol: 1e-9,
            atol: 1e-11,
            ..SolverOptions::default()
        };
        let mut rodas = Rodas4::new(sys, 0.0, &[2.0 / 3.0, 0.0], &opts).unwrap();
        let mut jumps = [Event::new(|_t, u: &[f64]| u[1])
            .direction(Direction::Falling)
            .non_terminal()];
        let mut rec = Recorder::new(vec!["x".into(), "y".into()]);
        let out = integrate(&mut rodas, &[5.0], &mut jumps, &mut rec).unwrap();
        assert!(out.events.len() >= 3, "{:?}", out.events);
        let period = out.events[2].t - out.events[1].t;
        let remainder = period - van_der_pol::period(eps);
        let bound = eps * (1.0 / eps).ln();
        assert!(
            remainder.abs() < bound,
            "eps {eps}: period {period}, two-term formula {}, remainder {remainder:e} > {bound:e}",
            van_der_pol::period(eps)
        );
        assert!(rodas.stats().steps < 20_000, "{:?}", rodas.stats());
    }
}

#[test]
fn fold_jump_time_is_the_airy_delay() {
    // The full solution is u = ε^{1/3} Ai'(ξ)/Ai(ξ) (+ exponentially small), ξ = (1−t)/ε^{2/3},
    // which blows up at t* = 1 + |a₁| ε^{2/3}; near it 1/u = (t* − t)/ε to relative
    // O((t* − t)² ε^{−4/3}), so t* ≈ t + ε/u once u is large.
    for eps in [1e-2, 1e-3, 1e-4] {
        let sys = DenseSlowFast::new(&fold::Fold, eps);
        let level = 1e3 / eps.powf(1.0 / 3.0);
        let opts = SolverOptions {
            rtol: 1e-11,
            atol: 1e-13,
            ..SolverOptions::default()
        };
        let mut rodas = Rodas4::new(sys, 0.0, &[1.0, 0.0], &opts).unwrap();
        let mut blow_up = [Event::new(|_t, u: &[f64]| u[1] - level).direction(Direction::Rising)];
        let mut rec = Recorder::new(vec!["s".into(), "u".into()]);
        let out = integrate(&mut rodas, &[3.0], &mut blow_up, &mut rec).unwrap();
        let Stop::Event(hit) = out.stop else {
            panic!("u blows up after the fold: {:?}", out.stop)
        };
        let (t, u) = (hit.t, hit.state[1]);
        let t_star = t + eps / u;
        let reference = fold::jump_time(1.0, eps);
        let delay = reference - 1.0;
        assert!(
            (t_star - reference).abs() < 1e-6 * delay,
            "eps {eps}: t* = {t_star}, reference {reference} (delay {delay})"
        );
        assert!((delay - AIRY_A1.abs() * eps.powf(2.0 / 3.0)).abs() < 1e-15);
    }
}

#[test]
fn reduced_and_layer_closed_forms_on_the_study_grid() {
    // The study's outer and inner solutions against every problem's reduced and layer
    // closed forms, in units of their tolerances.
    let opts = MatchingOptions::default();
    for p in builtin::list() {
        let s = study(p.system.as_ref(), &p.x0, &p.y0, p.t_end, &[1e-2], &opts).unwrap();
        let a = &s.asymptotics;
        let reduced = p.reduced_exact.unwrap();
        for (i, &t) in a.outer.t.iter().enumerate() {
            let r = reduced(t);
            let scale = opts.outer.rtol * r[0].abs() + opts.outer.atol;
            assert!(
                (a.outer.x[i][0] - r[0]).abs() < 50.0 * scale,
                "{} t {t}",
                p.name
            );
            let fy_scale = opts.outer.rtol * r[1].abs() + opts.outer.atol;
            assert!(
                (a.outer.y[i][0] - r[1]).abs() < 100.0 * fy_scale,
                "{} t {t}",
                p.name
            );
        }
        let layer = p.layer_exact.unwrap();
        for (k, &tau) in a.layer.tau.iter().enumerate() {
            let e = layer(tau)[0];
            let scale = opts.layer.rtol * e.abs() + opts.layer.atol;
            assert!(
                (a.layer.y[k][0] - e).abs() < 100.0 * scale,
                "{} τ {tau}",
                p.name
            );
        }
    }
}
