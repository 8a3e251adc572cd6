#!/usr/bin/env python3
"""The finite network's population field against the machine's optimized BLAS, in one run.

For each size d = m = n it times, alternating, in the same process tree:

* numpy/scipy (OpenBLAS) doing the two products the field needs: the Gram matrix
  G = WᵀW as a symmetric rank-k update (``scipy.linalg.blas.dsyrk``, one triangle) and
  the product W C with an m × m matrix C (``numpy.matmul``, DGEMM);
* ``timescales``' ``Population::field`` (examples/network_field.rs: the same two products
  by faer, plus the kernels U(G), U'(G), the fast field and the projection), and its two
  halves (``prepare``: Gram matrix and kernels; ``w_field``: C, W C, projection).

It prints, per size, the best of ``--repeat`` for each and the ratios
field / (SYRK + GEMM), prepare / SYRK and w_field / GEMM. Both sides use every core
(OpenBLAS's default threads; rayon's default pool).

    cargo build --release --workspace --example network_field
    python3 benches/network_blas.py --sizes 1024,2048,4096,8192 --repeat 3

Needs numpy and scipy (benches/requirements.txt).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import scipy
from scipy.linalg import blas

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blas_times(n, repeat):
    """Best wall seconds of DSYRK (G = WᵀW, one triangle) and DGEMM (W C) at d = m = n."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((n, n))
    w /= np.linalg.norm(w, axis=0)
    wf = np.asfortranarray(w)
    c = np.asfortranarray(rng.standard_normal((n, n)) / n)
    syrk, gemm = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        g = blas.dsyrk(1.0, wf, trans=1)  # WᵀW (upper triangle), m × m
        syrk.append(time.perf_counter() - t0)
        del g
        t0 = time.perf_counter()
        wc = np.matmul(wf, c)
        gemm.append(time.perf_counter() - t0)
        del wc
    return min(syrk), min(gemm)


def ours(binary, n, repeat):
    out = subprocess.run(
        [binary, str(n), str(repeat)], check=True, capture_output=True, text=True
    ).stdout
    rec = json.loads(out.strip().splitlines()[-1])
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1024,2048,4096,8192")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--binary",
        default=os.path.join(ROOT, "target", "release", "examples", "network_field"),
    )
    args = ap.parse_args()
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load {os.getloadavg()}; "
        f"numpy {np.__version__}, scipy {scipy.__version__}; cores {os.cpu_count()}"
    )
    cfg = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    print(f"# BLAS: {cfg.get('name')} {cfg.get('version')}")
    print(
        f"{'n':>6} {'SYRK':>9} {'GEMM':>9} {'BLAS sum':>9} | {'field':>9} {'prepare':>9} "
        f"{'w_field':>9} | {'field/BLAS':>10} {'prep/SYRK':>9} {'wf/GEMM':>8}"
    )
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        syrk, gemm = blas_times(n, args.repeat)
        rec = ours(args.binary, n, args.repeat)
        field, prep, wfield = (min(rec[k]) for k in ("field_s", "prepare_s", "w_field_s"))
        total = syrk + gemm
        print(
            f"{n:>6} {syrk:9.4f} {gemm:9.4f} {total:9.4f} | {field:9.4f} {prep:9.4f} "
            f"{wfield:9.4f} | {field / total:10.2f} {prep / syrk:9.2f} {wfield / gemm:8.2f}",
            flush=True,
        )
        rows.append(dict(rec, syrk_s=syrk, gemm_s=gemm))
    print(f"# load at the end {os.getloadavg()}")
    print(json.dumps(rows))


if __name__ == "__main__":
    sys.exit(main())
