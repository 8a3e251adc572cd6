//! How the particle loops are spread over threads: fixed chunks of [`CHUNK`] particles, run
//! in parallel when there is more than one, with partial sums combined in chunk order (so
//! that results do not depend on the number of threads), and the raw pointer ([`Shared`])
//! through which the chunks write their disjoint ranges of one output.

use std::ops::Range;

use rayon::prelude::*;

/// Particles per parallel work unit. Reductions sum per-chunk partial results in chunk
/// order, so results are bit-identical whatever the number of threads; systems with at most
/// one chunk run sequentially (no scheduling overhead for small `N`).
pub(super) const CHUNK: usize = 4096;

/// `total = Σ_c f(range_c)` over fixed chunks, combined in chunk order (deterministic).
/// One chunk (small `N`) accumulates straight into `total`: no allocation.
pub(super) fn chunked_sum(
    n: usize,
    total: &mut [f64],
    f: impl Fn(Range<usize>, &mut [f64]) + Sync,
) {
    total.fill(0.0);
    if n <= CHUNK {
        f(0..n, total);
        return;
    }
    let len = total.len();
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut part = vec![0.0; len];
            f(c * CHUNK..((c + 1) * CHUNK).min(n), &mut part);
            part
        })
        .collect();
    for part in parts {
        for (t, p) in total.iter_mut().zip(part) {
            *t += p;
        }
    }
}

/// Runs `f(range)` over fixed chunks, in parallel when there is more than one.
pub(super) fn chunked_for(n: usize, f: impl Fn(Range<usize>) + Sync) {
    if n <= CHUNK {
        f(0..n);
    } else {
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .for_each(|c| f(c * CHUNK..((c + 1) * CHUNK).min(n)));
    }
}

/// A raw pointer that chunks write through at disjoint indices.
#[derive(Clone, Copy)]
pub(super) struct Shared(pub(super) *mut f64);
// SAFETY: every use writes disjoint index ranges (one chunk of particles each).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}
impl Shared {
    /// # Safety
    /// `range` is in bounds and no other thread touches it while the slice lives.
    #[inline]
    pub(super) unsafe fn slice<'a>(self, range: Range<usize>) -> &'a mut [f64] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(range.start), range.len()) }
    }
}
