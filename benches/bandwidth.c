/* The machine's memory bandwidth out of cache, one thread and all (issue 17 part 2: the
 * roofline of a step at N = 10⁶–10⁷, benches/RESULTS.md).
 *
 * STREAM-like kernels over three arrays of 2²⁴ doubles (128 MiB each, far beyond the caches),
 * best of 10 passes each: copy (c = a), triad (a = b + 3c), a read-only dot product, and a
 * two-array update (a += c, b += c: the shape of the integrator's update passes). Bytes are
 * counted as STREAM counts them, reads plus writes without the write-allocate reads, the
 * convention of the traffic counted for a step in RESULTS.md.
 *
 *   cc -O3 -march=native -fopenmp benches/bandwidth.c -o /tmp/bandwidth
 *   OMP_NUM_THREADS=1 /tmp/bandwidth; OMP_NUM_THREADS=2 OMP_PROC_BIND=spread /tmp/bandwidth
 *
 * (The dot product, summed in one chain as written, is bound by the add latency on one
 * thread, not by memory.)
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N (1L << 24)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(void) {
    double *a = aligned_alloc(64, N * 8), *b = aligned_alloc(64, N * 8),
           *c = aligned_alloc(64, N * 8);
    if (!a || !b || !c) return 1;
#pragma omp parallel for
    for (long i = 0; i < N; i++) { a[i] = 1; b[i] = 2; c[i] = 0; }
    double best[4] = {1e9, 1e9, 1e9, 1e9}, sink = 0;
    for (int r = 0; r < 10; r++) {
        double t = now();
#pragma omp parallel for
        for (long i = 0; i < N; i++) c[i] = a[i];
        t = now() - t; if (t < best[0]) best[0] = t;
        t = now();
#pragma omp parallel for
        for (long i = 0; i < N; i++) a[i] = b[i] + 3.0 * c[i];
        t = now() - t; if (t < best[1]) best[1] = t;
        t = now();
        double s = 0;
#pragma omp parallel for reduction(+ : s)
        for (long i = 0; i < N; i++) s += a[i] * b[i];
        t = now() - t; if (t < best[2]) best[2] = t;
        sink += s;
        t = now();
#pragma omp parallel for
        for (long i = 0; i < N; i++) { a[i] += c[i]; b[i] += c[i]; }
        t = now() - t; if (t < best[3]) best[3] = t;
    }
    double gb = N * 8 / 1e9;
    printf("threads %d: copy %.1f GB/s, triad %.1f GB/s, dot %.1f GB/s, two-array update %.1f GB/s%s\n",
           omp_get_max_threads(), 2 * gb / best[0], 3 * gb / best[1], 2 * gb / best[2],
           5 * gb / best[3], sink > 0 ? "" : " (check failed)");
    return 0;
}
