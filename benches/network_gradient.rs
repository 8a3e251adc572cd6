//! One population-gradient evaluation of the finite network at d = m = 1024
//! (`Population::field`: Gram matrix, kernels, the fast field `F_a` and the projected
//! slow field `F_W`; two 1024³ matrix products), on the public scenario's coefficients.

use criterion::{Criterion, criterion_group, criterion_main};
use timescales_network::{InitialLaw, Model, NetworkState, Population};

fn network_gradient(c: &mut Criterion) {
    let sigma: Vec<f64> = (0..6u32)
        .map(|k| 1.0 / ((1..=k).product::<u32>() as f64).sqrt())
        .collect();
    let model = Model::new(&sigma, &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0], 0.0).expect("model");
    let mut group = c.benchmark_group("network_gradient");
    group.sample_size(10);
    for n in [256usize, 1024] {
        let state = NetworkState::random(n, n, &InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 1)
            .expect("state");
        let mut pop = Population::new(model.clone(), n, n).expect("population");
        group.bench_function(format!("field d=m={n}"), |b| {
            b.iter(|| pop.field(std::hint::black_box(&state)).expect("field"))
        });
    }
    group.finish();
}

criterion_group!(benches, network_gradient);
criterion_main!(benches);
