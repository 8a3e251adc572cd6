//! Wall time of `gauss_legendre(n)` (a plain timing loop, no benchmark framework).
//!
//! `n = 100` is the largest size served by Newton's method (`O(n²)`); above it the rule comes
//! from Bogaert's iteration-free expansions (`O(n)`), so the time per node should stay flat
//! from `n = 10⁴` to `n = 10⁶`. Run with
//! `cargo bench -p timescales-hermite --bench gauss_legendre`; each size is repeated for
//! about half a second and the best and median times per call are printed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use timescales_hermite::quadrature::gauss_legendre;

fn main() {
    println!(
        "{:>9} {:>8} {:>12} {:>12} {:>10}",
        "n", "calls", "best", "median", "ns/node"
    );
    for n in [100usize, 10_000, 100_000, 1_000_000] {
        black_box(gauss_legendre(black_box(n))); // warm-up
        let mut times = Vec::new();
        let start = Instant::now();
        while times.len() < 5
            || (start.elapsed() < Duration::from_millis(500) && times.len() < 10_000)
        {
            let t = Instant::now();
            black_box(gauss_legendre(black_box(n)));
            times.push(t.elapsed());
        }
        times.sort();
        let (best, median) = (times[0], times[times.len() / 2]);
        println!(
            "{n:>9} {:>8} {:>12.3?} {:>12.3?} {:>10.1}",
            times.len(),
            best,
            median,
            best.as_secs_f64() * 1e9 / n as f64
        );
    }
}
