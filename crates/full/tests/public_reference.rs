//! The direct integrator against an independent implementation: `data/reference/public_flow.csv`
//! (scipy Radau at rtol 1e-11, cross-checked with BDF; see data/reference/README.md).
//! Bar: relative error of the risk below 1e-6 at every listed time, for both ε.

use timescales_full::{FlowProblem, InitialLaw, Method, OutputTimes, Placement, simulate};

struct Row {
    eps: f64,
    t: f64,
    risk: f64,
    r: [f64; 6],
}

fn reference() -> Vec<Row> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/reference/public_flow.csv"
    );
    let text = std::fs::read_to_string(path).expect("data/reference/public_flow.csv is readable");
    text.lines()
        .skip(1)
        .map(|line| {
            let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
            Row {
                eps: v[0],
                t: v[1],
                risk: v[2],
                r: [v[3], v[4], v[5], v[6], v[7], v[8]],
            }
        })
        .collect()
}

fn public_problem(eps: f64, times: Vec<f64>) -> FlowProblem {
    let mut fact = 1.0;
    let sigma = (0..6)
        .map(|k| {
            if k > 0 {
                fact *= k as f64;
            }
            1.0 / fact.sqrt()
        })
        .collect();
    FlowProblem {
        sigma,
        phi: vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
        tail_energy: 0.0,
        law: InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
        particles: 64,
        placement: Placement::Quadrature,
        epsilon: eps,
        t_end: 3.0,
        rtol: 1e-10,
        atol: 1e-12,
        times: OutputTimes::Explicit(times),
        method: Method::Rodas4,
    }
}

#[test]
fn risk_matches_scipy_reference_to_1e6_relative() {
    let rows = reference();
    for eps in [1e-4, 1e-6] {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.eps == eps).collect();
        assert_eq!(mine.len(), 122, "ε = {eps}: 122 reference rows");
        let times: Vec<f64> = mine.iter().map(|r| r.t).collect();
        let run = simulate(&public_problem(eps, times)).expect("run succeeds");
        let risk = run.trajectory.column("risk").unwrap();
        let mut worst: f64 = 0.0;
        for (i, row) in mine.iter().enumerate() {
            assert_eq!(run.trajectory.t[i], row.t);
            let rel = (risk[i] - row.risk).abs() / row.risk;
            worst = worst.max(rel);
            assert!(
                rel < 1e-6,
                "ε = {eps}, t = {}: risk {} vs {} (rel {rel:e})",
                row.t,
                risk[i],
                row.risk
            );
            for k in 0..6 {
                let rk = run.trajectory.column(&format!("r_{k}")).unwrap()[i];
                assert!(
                    (rk - row.r[k]).abs() < 1e-6 * (1.0 + row.r[k].abs()),
                    "r_{k} at t = {}",
                    row.t
                );
            }
        }
        eprintln!(
            "ε = {eps:e}: worst relative risk error {worst:e}, {:?}",
            run.stats
        );
    }
}
