//! Quick look at one run of the public problem: `cargo run --release -p timescales-meanfield
//! --example explore -- EPS N LO HI [RTOL]` prints the risk on a coarse log grid and the
//! solver statistics.
use timescales_meanfield::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: f64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (eps, n, lo, hi, rtol) = (
        arg(1, 1e-8),
        arg(2, 64.0) as usize,
        arg(3, -1.0),
        arg(4, 1.0),
        arg(5, 1e-8),
    );
    let sigma: Vec<f64> = (0..6)
        .scan(1.0, |f, k| {
            if k > 0 {
                *f *= k as f64;
            }
            Some(1.0 / f64::sqrt(*f))
        })
        .collect();
    let p = FlowProblem {
        sigma,
        phi: vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
        tail_energy: 0.0,
        law: InitialLaw::Uniform { lo, hi },
        particles: n,
        placement: Placement::Quadrature,
        epsilon: eps,
        t_end: 3.0,
        rtol,
        atol: rtol * 1e-2,
        times: OutputTimes::LogGrid { samples: 41 },
        method: Method::Rodas4,
    };
    let r = simulate(&p).expect("run");
    let risk = r.trajectory.column("risk").expect("risk");
    for (t, v) in r.trajectory.t.iter().zip(risk) {
        print!("{t:.1e}:{v:.3} ");
    }
    println!("\n{:?}", r.stats);
}
