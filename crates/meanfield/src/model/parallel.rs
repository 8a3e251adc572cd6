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

/// Fewest chunks worth spreading over threads: below this, or when the pool has one
/// thread, the chunks run one after the other on the calling thread — the same chunks and
/// the same order of the partial sums, so the same bits, without waking the pool (which at
/// N = 10⁴ cost a quarter of the run, even with one thread).
pub(super) const PARALLEL_MIN_CHUNKS: usize = 8;

/// Whether `chunks` chunks run on the pool.
fn parallel(chunks: usize) -> bool {
    chunks >= PARALLEL_MIN_CHUNKS && rayon::current_num_threads() > 1
}

/// The particle range of chunk `c` of `n` particles.
fn chunk(c: usize, n: usize) -> Range<usize> {
    c * CHUNK..((c + 1) * CHUNK).min(n)
}

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
    let (len, chunks) = (total.len(), n.div_ceil(CHUNK));
    let add = |total: &mut [f64], part: &[f64]| {
        for (t, p) in total.iter_mut().zip(part) {
            *t += p;
        }
    };
    if !parallel(chunks) {
        let mut part = vec![0.0; len];
        for c in 0..chunks {
            part.fill(0.0);
            f(chunk(c, n), &mut part);
            add(total, &part);
        }
        return;
    }
    let mut parts = vec![0.0; chunks * len];
    parts
        .par_chunks_mut(len)
        .enumerate()
        .for_each(|(c, part)| f(chunk(c, n), part));
    for part in parts.chunks_exact(len) {
        add(total, part);
    }
}

/// Runs `f(range)` over fixed chunks, in parallel when there are enough of them.
pub(super) fn chunked_for(n: usize, f: impl Fn(Range<usize>) + Sync) {
    let chunks = n.div_ceil(CHUNK);
    if parallel(chunks) {
        (0..chunks).into_par_iter().for_each(|c| f(chunk(c, n)));
    } else {
        for c in 0..chunks {
            f(chunk(c, n));
        }
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
