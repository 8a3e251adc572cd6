//! Properties of the full ODE checked by direct integration: the phase-0 closed form,
//! the `φ_1 σ_1 = 0` degenerate case, monotone risk, explicit vs implicit agreement,
//! convergence in tolerance (RODAS4 and BDF), reproducibility.

use std::ops::ControlFlow;

use timescales_meanfield::{
    FlowError, FlowProblem, InitialLaw, Method, OutputTimes, Placement, simulate, simulate_with,
};

fn problem(
    sigma: Vec<f64>,
    phi: Vec<f64>,
    law: InitialLaw,
    eps: f64,
    times: OutputTimes,
) -> FlowProblem {
    FlowProblem {
        sigma,
        phi,
        tail_energy: 0.0,
        law,
        particles: 16,
        placement: Placement::Quadrature,
        epsilon: eps,
        t_end: 3.0,
        rtol: 1e-10,
        atol: 1e-12,
        times,
        method: Method::Rodas4,
    }
}

/// [`problem`] with the activation `exp`, the target `h₁ + h₂ + h₃` and a(0) uniform on
/// [−1, 1].
fn public_uniform(eps: f64, times: OutputTimes) -> FlowProblem {
    problem(
        exp_sigma(),
        vec![0.0, 1.0, 1.0, 1.0],
        InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
        eps,
        times,
    )
}

fn exp_sigma() -> Vec<f64> {
    // σ(x) = exp(x − ½): σ_k = 1/sqrt(k!) (model.md §2).
    vec![1.0, 1.0, 0.5f64.sqrt(), (1.0 / 6.0f64).sqrt()]
}

#[test]
fn phase_zero_matches_closed_form_for_t_much_less_than_sqrt_eps() {
    // model.md §5: a_i(t) = a_i(0) + (φ_0/σ_0 − M_0(0)) (1 − e^{−σ_0² t/ε}) while s ≈ 0.
    let eps = 1e-8;
    let (sigma0, phi0) = (0.8, 0.3);
    let times: Vec<f64> = [0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|c| c * eps)
        .collect();
    let mut p = problem(
        vec![sigma0, 1.0, 0.5, 0.3],
        vec![phi0, 1.0, 0.5, 0.2],
        InitialLaw::Uniform { lo: -0.5, hi: 1.5 },
        eps,
        OutputTimes::Explicit(times.clone()),
    );
    p.t_end = times[times.len() - 1];
    let run = simulate(&p).unwrap();
    let m0 = run.trajectory.column("M_0").unwrap();
    let m00 = 0.5; // mean of Uniform[−0.5, 1.5]
    for (i, &t) in times.iter().enumerate() {
        let shift = (phi0 / sigma0 - m00) * (1.0 - (-sigma0 * sigma0 * t / eps).exp());
        let expected = m00 + shift;
        // First neglected term: s ≈ σ_1 φ_1 a t feeds ε ȧ = σ_1 r_1 s, so δa = O(σ_1²φ_1² a t²/ε).
        let bound = 2.0 * t * t / eps + 1e-10;
        assert!(
            (m0[i] - expected).abs() < bound,
            "t = {t:e}: M_0 = {} vs {expected}",
            m0[i]
        );
    }
    // Every particle moved by the same shift.
    let particles = p.law.particles(p.particles, p.placement).unwrap();
    let shift = (phi0 / sigma0 - m00) * (1.0 - (-sigma0 * sigma0 * 10.0f64).exp());
    for (a, a0) in run.final_a.iter().zip(&particles.a) {
        let bound = 2.0 * (10.0 * eps) * (10.0 * eps) / eps * a0.abs().max(1.0);
        assert!((a - (a0 + shift)).abs() < bound, "{a} vs {}", a0 + shift);
    }
}

#[test]
fn no_first_degree_coupling_freezes_s_and_says_why() {
    // φ_1 = 0: s ≡ 0 is invariant, only r_0 is learnt; R → ½ Σ_{k≥1} φ_k².
    let p = problem(
        exp_sigma(),
        vec![0.4, 0.0, 1.0, 0.5],
        InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
        1e-4,
        OutputTimes::LogGrid { samples: 40 },
    );
    let run = simulate(&p).expect("the run ends normally");
    assert!(
        run.trajectory
            .column("max_abs_s")
            .unwrap()
            .iter()
            .all(|s| *s == 0.0)
    );
    let risk = *run.trajectory.column("risk").unwrap().last().unwrap();
    assert!(
        (risk - 0.5 * (1.0 + 0.25)).abs() < 1e-9,
        "final risk {risk}"
    );
    assert!(
        run.notes.iter().any(|n| n.contains("φ_1 σ_1 = 0")),
        "{:?}",
        run.notes
    );
}

#[test]
fn absent_phases_are_announced() {
    // σ_2 = 0 (an odd activation's even coefficient) removes phase 2.
    let p = problem(
        vec![0.0, 1.0, 0.0, 0.5],
        vec![0.0, 1.0, 1.0, 1.0],
        InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
        1e-3,
        OutputTimes::LogGrid { samples: 10 },
    );
    assert!(
        p.notes()
            .iter()
            .any(|n| n.starts_with("no phase 2: σ_2 = 0")),
        "{:?}",
        p.notes()
    );
}

#[test]
fn risk_never_increases_and_overlaps_stay_in_range() {
    let p = problem(
        exp_sigma(),
        vec![0.0, 1.0, 1.0, 1.0],
        InitialLaw::Normal {
            mean: 0.2,
            std: 1.0,
        },
        1e-6,
        OutputTimes::LogGrid { samples: 200 },
    );
    let run = simulate(&p).unwrap();
    let risk = run.trajectory.column("risk").unwrap();
    for w in risk.windows(2) {
        assert!(
            w[1] <= w[0] * (1.0 + 1e-9),
            "risk rose from {} to {}",
            w[0],
            w[1]
        );
    }
    assert!(run.max_risk_increase <= 1e-9, "{}", run.max_risk_increase);
    assert!(
        run.trajectory
            .column("max_abs_s")
            .unwrap()
            .iter()
            .all(|s| *s <= 1.0)
    );
    // It learnt something: the risk fell well below the degree-1 plateau ½(φ_2² + φ_3²) = 1.
    assert!(*risk.last().unwrap() < 0.9);
}

#[test]
fn explicit_and_implicit_integrators_agree_when_not_stiff() {
    let mk = |method| {
        let mut p = problem(
            exp_sigma(),
            vec![0.0, 1.0, 0.5, 0.0],
            InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
            0.1,
            OutputTimes::LogGrid { samples: 30 },
        );
        p.method = method;
        p.t_end = 5.0;
        simulate(&p).unwrap()
    };
    let (a, b, c) = (mk(Method::Rodas4), mk(Method::Dopri5), mk(Method::Dop853));
    let ra = a.trajectory.column("risk").unwrap();
    for other in [&b, &c] {
        let rb = other.trajectory.column("risk").unwrap();
        for (x, y) in ra.iter().zip(rb) {
            assert!((x - y).abs() < 1e-8 * x.abs().max(1e-3), "{x} vs {y}");
        }
    }
}

#[test]
fn error_converges_with_tolerance() {
    // Against a tight run (rtol 1e-12), the error falls as rtol tightens.
    let run_at = |rtol: f64| {
        let mut p = public_uniform(1e-4, OutputTimes::LogGrid { samples: 60 });
        p.rtol = rtol;
        p.atol = rtol * 1e-2;
        simulate(&p)
            .unwrap()
            .trajectory
            .column("risk")
            .unwrap()
            .to_vec()
    };
    let reference = run_at(1e-12);
    let err = |r: &[f64]| {
        r.iter()
            .zip(&reference)
            .map(|(x, y)| ((x - y) / y).abs())
            .fold(0.0, f64::max)
    };
    let (e6, e9) = (err(&run_at(1e-6)), err(&run_at(1e-9)));
    assert!(e9 < e6 / 30.0, "rtol 1e-6: {e6:e}, rtol 1e-9: {e9:e}");
    assert!(e9 < 1e-6, "{e9:e}");
}

#[test]
fn an_interrupted_run_returns_what_it_has() {
    let p = public_uniform(1e-6, OutputTimes::LogGrid { samples: 100 });
    let full = simulate(&p).unwrap();
    assert_eq!(full.interrupted_at, None);
    let run = simulate_with(&p, &mut |t| {
        if t > 1e-3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    let t_stop = run.interrupted_at.expect("stopped");
    assert!(t_stop > 1e-3 && t_stop < p.t_end, "{t_stop}");
    let n = run.trajectory.t.len();
    assert!(n > 10 && n < full.trajectory.t.len(), "{n}");
    assert!(*run.trajectory.t.last().unwrap() <= t_stop);
    // What was recorded is the uninterrupted run's beginning, bit for bit.
    assert_eq!(run.trajectory.t[..], full.trajectory.t[..n]);
    assert_eq!(
        run.trajectory.columns[0][..],
        full.trajectory.columns[0][..n]
    );
    assert!(run.notes.iter().any(|x| x.contains("interrupted")));
}

#[test]
fn random_placement_is_reproducible() {
    let mk = |seed| {
        let mut p = problem(
            exp_sigma(),
            vec![0.0, 1.0, 1.0, 0.0],
            InitialLaw::Normal {
                mean: 0.0,
                std: 1.0,
            },
            1e-3,
            OutputTimes::LogGrid { samples: 20 },
        );
        p.placement = Placement::Random { seed };
        p.particles = 50;
        simulate(&p).unwrap()
    };
    let (a, b, c) = (mk(3), mk(3), mk(4));
    assert_eq!(a.trajectory, b.trajectory);
    assert_ne!(a.trajectory, c.trajectory);
}

#[test]
fn invalid_problems_are_rejected_before_integrating() {
    let mut p = problem(
        exp_sigma(),
        vec![0.0, 1.0, 1.0, 0.0],
        InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
        1e-3,
        OutputTimes::LogGrid { samples: 20 },
    );
    p.sigma[2] = f64::NAN;
    match simulate(&p) {
        Err(FlowError::InvalidParameter { key, .. }) => assert_eq!(key, "activation"),
        other => panic!("{other:?}"),
    }
    // Degenerate but named: an ε whose 1/ε² overflows the Newton matrices, and a discrete
    // law by quadrature with a particle count other than its atom count.
    p.sigma[2] = 0.5;
    for (q, key) in [
        (
            FlowProblem {
                epsilon: 1e-300,
                ..p.clone()
            },
            "run.epsilon",
        ),
        (
            FlowProblem {
                law: InitialLaw::Discrete {
                    values: vec![0.5],
                    weights: vec![1.0],
                },
                particles: 2,
                ..p.clone()
            },
            "init.particles",
        ),
    ] {
        match q.validate() {
            Err(FlowError::InvalidParameter { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{key}: {other:?}"),
        }
        assert!(!q.particle_count_is_fixed() || key == "init.particles");
    }
}

#[test]
fn bdf_agrees_with_rodas4_and_converges_with_tolerance() {
    // BDF (the default method) against RODAS4 at rtol 1e-12 on the stiff ε = 1e-4 problem of
    // `error_converges_with_tolerance`: its error falls as rtol tightens (measured: 2.4e-4 at
    // rtol 1e-6 in 310 steps, 3.3e-7 at 1e-9 in 912 steps: 200–400 × rtol, as for scipy's BDF on
    // the public problem, benches/RESULTS.md).
    let run_at = |rtol: f64, method: Method| {
        let mut p = public_uniform(1e-4, OutputTimes::LogGrid { samples: 60 });
        p.rtol = rtol;
        p.atol = rtol * 1e-2;
        p.method = method;
        simulate(&p).unwrap()
    };
    let reference = run_at(1e-12, Method::Rodas4);
    let rr = reference.trajectory.column("risk").unwrap();
    let err = |run: &timescales_meanfield::FlowRun| {
        let r = run.trajectory.column("risk").unwrap();
        assert_eq!(run.trajectory.t, reference.trajectory.t);
        r.iter()
            .zip(rr)
            .map(|(x, y)| ((x - y) / y).abs())
            .fold(0.0, f64::max)
    };
    let (b6, b9) = (run_at(1e-6, Method::Bdf), run_at(1e-9, Method::Bdf));
    let (e6, e9) = (err(&b6), err(&b9));
    assert!(e6 < 1e-3, "{e6:e}");
    assert!(e9 < e6 / 100.0, "rtol 1e-6: {e6:e}, rtol 1e-9: {e9:e}");
    assert!(e9 < 2e-6, "{e9:e}");
    // The invariants hold along the way (simulate checks them at every step and output).
    assert!(b9.max_risk_increase <= 1e-12, "{}", b9.max_risk_increase);
}

#[test]
fn onsets_are_located_on_the_dense_output_whatever_the_output_times() {
    // BDF interpolates its outputs, so two runs that differ only in their output times take
    // the same steps: their onsets, located as events on the dense output, are the same bits.
    // A crossing read off samples moves with the grid instead; on 20 001 samples between
    // 0.9 t_l and 1.1 t_l (a spacing of 1e-5 t_l) it agrees with the located one to the
    // interpolation error of the samples.
    let run_with = |times: OutputTimes| {
        let mut p = public_uniform(1e-8, times);
        p.method = Method::Bdf;
        p.rtol = 1e-8;
        p.atol = 1e-10;
        (simulate(&p).unwrap(), p.plateau_levels())
    };
    let (coarse, levels) = run_with(OutputTimes::LogGrid { samples: 8 });
    let (fine, _) = run_with(OutputTimes::LogGrid { samples: 4000 });
    assert_eq!(coarse.onsets.len(), 3);
    assert_eq!(coarse.onsets, fine.onsets);
    for (l, onset) in coarse.onsets.iter().enumerate() {
        let t = onset.expect("all three phases are present");
        let mut times: Vec<f64> = (0..=20_000)
            .map(|i| t * (0.9 + 0.2 * i as f64 / 20_000.0))
            .collect();
        times.push(3.0);
        let (dense, _) = run_with(OutputTimes::Explicit(times));
        let (tt, risk) = (
            &dense.trajectory.t,
            dense.trajectory.column("risk").unwrap(),
        );
        let level = 0.5 * (levels[l] + levels[l + 1]);
        let i = (1..tt.len())
            .find(|&i| risk[i - 1] > level && risk[i] <= level)
            .expect("a crossing in the window");
        let read =
            tt[i - 1] + (tt[i] - tt[i - 1]) * (risk[i - 1] - level) / (risk[i - 1] - risk[i]);
        assert!(
            ((read - t) / t).abs() < 1e-7,
            "t_{}: samples {read:e}, located {t:e}",
            l + 1
        );
    }
    // A phase that does not exist has no onset: φ_2 = 0.
    let mut p = public_uniform(1e-4, OutputTimes::LogGrid { samples: 8 });
    p.phi[2] = 0.0;
    p.method = Method::Bdf;
    let run = simulate(&p).unwrap();
    assert!(
        run.onsets[0].is_some() && run.onsets[1].is_none(),
        "{:?}",
        run.onsets
    );
}

/// A particle that reaches `|s| = 1` to within rounding is named in the notes, and so is its
/// later exit, whose time rounding sets. The relu scenario of `data/scenarios/relu_normal.toml`
/// at ε = 1e-9 (N = 16 Gauss–Hermite atoms): particle 13 (a(0) = 4.69) gets to 1 − s = 1.1e-16
/// after phase 2 (t ≈ 4e-3 … 6e-3) and leaves at t ≈ 1e-2 (README, "Composite risk at its order"; the flow in
/// ζ = atanh s, `benches/zeta_reference.py`, times it otherwise). The public problem at
/// ε = 1e-4 and t ≤ 3 keeps every overlap well inside: no note.
#[test]
fn saturation_to_rounding_is_named_in_the_notes() {
    let relu = FlowProblem {
        // ReLU's Hermite coefficients to degree 4, as the scenario resolves `name = "relu"`.
        sigma: vec![
            0.3989422804014327,
            0.5,
            0.28209479177387814,
            0.0,
            -0.08143375198382,
        ],
        phi: vec![0.3, 1.0, 0.8, 0.0, 0.0],
        law: InitialLaw::Normal {
            mean: 0.2,
            std: 1.0,
        },
        t_end: 10.0,
        rtol: 1e-9,
        atol: 1e-11,
        ..problem(
            vec![],
            vec![],
            InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
            1e-9,
            OutputTimes::LogGrid { samples: 200 },
        )
    };
    let run = simulate(&relu).unwrap();
    let note = run
        .notes
        .iter()
        .find(|n| n.contains("to within rounding"))
        .unwrap_or_else(|| panic!("no saturation note in {:?}", run.notes));
    assert!(
        note.contains("left saturation") && note.contains("Particle 13 "),
        "{note}"
    );
    let calm = simulate(&public_uniform(1e-4, OutputTimes::LogGrid { samples: 20 })).unwrap();
    assert!(
        calm.notes.iter().all(|n| !n.contains("rounding")),
        "{:?}",
        calm.notes
    );
}
