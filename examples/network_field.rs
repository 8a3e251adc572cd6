//! Timing of the finite network's population field (`Population::field`: the Gram matrix
//! `G = WᵀW` by a symmetric rank-`d` update, the kernels `U(G)`, `U'(G)`, the fast field
//! `F_a` and the projected slow field `F_W` with its product `W C`) at `d = m = n`, on the
//! public scenario's coefficients; `benches/network_blas.py` runs it beside the same
//! products in numpy/OpenBLAS.
//!
//! ```sh
//! cargo run --release --example network_field -- 1024,2048 3
//! ```
//!
//! Arguments: the sizes `n` (comma-separated) and the number of repetitions. Prints one JSON
//! object per size: the wall seconds of each repetition of `field` and of its two halves,
//! `prepare` (Gram matrix and kernels) and `w_field_prepared` (`C`, `W C`, projection).

use std::time::Instant;

use timescales::network::{InitialLaw, Model, NetworkState, Population};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let sizes: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1024".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let repeat: usize = args.next().map_or(Ok(3), |s| s.parse())?;
    let sigma: Vec<f64> = (0..6u32)
        .map(|k| 1.0 / ((1..=k).product::<u32>() as f64).sqrt())
        .collect();
    let model = Model::new(&sigma, &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0], 0.0)?;
    for n in sizes {
        let state = NetworkState::random(n, n, &InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 1)?;
        let mut pop = Population::new(model.clone(), n, n)?;
        let mut fw = state.w.clone();
        let (mut field, mut prepare, mut w_field) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..repeat {
            let t0 = Instant::now();
            let out = pop.field(std::hint::black_box(&state))?;
            field.push(t0.elapsed().as_secs_f64());
            std::hint::black_box(out);
            let t0 = Instant::now();
            pop.prepare(&state.w);
            prepare.push(t0.elapsed().as_secs_f64());
            let t0 = Instant::now();
            pop.w_field_prepared(&state.w, &state.a, &mut fw);
            w_field.push(t0.elapsed().as_secs_f64());
        }
        println!(
            "{{\"n\": {n}, \"threads\": {}, \"field_s\": {field:?}, \"prepare_s\": {prepare:?}, \"w_field_s\": {w_field:?}}}",
            rayon::current_num_threads()
        );
    }
    Ok(())
}
