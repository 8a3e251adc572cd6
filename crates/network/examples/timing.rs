//! Times one population-field evaluation and one stage solve at a given size.
//! `cargo run --release -p timescales-network --example timing -- 1024 1024`
use std::time::Instant;
use timescales_network::{InitialLaw, Model, NetworkState, Population};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let (d, m) = (
        args.first().copied().unwrap_or(1024),
        args.get(1).copied().unwrap_or(1024),
    );
    let sigma: Vec<f64> = (0..6u32)
        .map(|k| 1.0 / ((1..=k).product::<u32>() as f64).sqrt())
        .collect();
    let model = Model::new(&sigma, &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0], 0.0).unwrap();
    let s = NetworkState::random(d, m, &InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 1).unwrap();
    let mut pop = Population::new(model, d, m).unwrap();
    for _ in 0..2 {
        let t = Instant::now();
        pop.prepare(&s.w);
        let t1 = t.elapsed().as_secs_f64();
        let (r, _fa, _fw) = pop.field(&s).unwrap();
        println!(
            "prepare {t1:.3}s, field {:.3}s, risk {r}",
            t.elapsed().as_secs_f64() - t1
        );
    }
    let t = Instant::now();
    let mut mat = pop.kernel_matrix() * (0.25e-3 / m as f64);
    for i in 0..m {
        mat[(i, i)] += 1e-3;
    }
    let ch = mat.cholesky().unwrap();
    println!(
        "cholesky {:.3}s {}",
        t.elapsed().as_secs_f64(),
        ch.l().nrows()
    );
}
