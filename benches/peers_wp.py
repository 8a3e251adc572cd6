#!/usr/bin/env python3
"""Work–precision against the strongest peers (issue 17), all in one run.

For each N (default 64, 1024, 65 536) and each solver configuration, integrates the shared
public problem (model.md §4; σ_k = 1/sqrt(k!), φ = [0, 1, 1, 1, 0, 0], a(0) at the N
Gauss–Legendre nodes of [−1, 1] with normalized weights, s(0) = 0, ε = 1e-8, t_end = 3; output at
t = 0 and 200 log-spaced times from ε/10 to t_end) over a sweep of rtol (atol = rtol / 100),
and records the solver time against the error: the maximum relative error of the risk at the
output times against a tight reference (timescales RODAS4 at rtol 1e-12, atol 1e-14, as in
peers.py; --ref-rtol to change).

Solvers (each a separate program; times are the integrator's own, set-up excluded):

  * timescales BDF and RODAS4: `timescales run` on a generated scenario (--binary; the
    integrator wall time from run.json), the same function as peers.py;
  * CVODE 6.4.1 (benches/peers/cvode_peer.c, built by benches/peers/build.sh): dense LAPACK LU
    with the analytic Jacobian; SPGMR with the 2×2 block-diagonal preconditioner; SPGMR with the
    exact Woodbury preconditioner — C right-hand side, analytic J·v, -O3 -march=native vector
    kernels;
  * diffsol 0.19 (benches/peers/diffsol): BDF with dense nalgebra LU, with dense faer LU and
    with sparse faer LU (the moments as algebraic unknowns, a DAE with an arrow-shaped
    Jacobian), and ESDIRK34 with sparse faer LU;
  * scipy BDF (peers.py's vectorized numpy right-hand side, dense analytic Jacobian), N = 64.

Configurations that cannot run at a size are skipped with the reason printed (dense
Jacobians at N = 65 536 need 2N × 2N × 8 B = 137 GB; see SKIP below). Every run has a time cap
(--cap seconds): a run over the cap is killed, reported, and the tighter tolerances of that
configuration at that size are skipped (they would take longer still).

Usage (from the repository root, after `cargo build --release --workspace` and
`benches/peers/build.sh`; numpy, scipy and matplotlib needed):

    python3 benches/peers_wp.py                                  # N = 64, 1024, 65536
    python3 benches/peers_wp.py --sizes 64 --binary /path/to/other/timescales
    python3 benches/peers_wp.py --sizes 1024 --solvers ts-bdf,cvode-spgmr-wb --rtols 1e-6,1e-8
    python3 benches/peers_wp.py --plot benches/results/peers_wp_n*.json new.json --figure wp.svg

Writes --json (all runs), prints markdown tables (every run; then, per N, each timescales run
against the best peer at its error), and draws --figure (one panel per N). References are cached
in --ref-cache (benches/peers/build/reference/), so a rerun with a new --binary and
`--solvers ts-bdf,ts-rodas4` costs only the timescales runs; `--plot` then merges its JSON with
the committed peer runs (benches/results/peers_wp_n*.json; the later file's rows win).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402  (the model, scipy runner and timescales runner)

ROOT = peers.ROOT
PEERS = os.path.join(ROOT, "benches", "peers")
CVODE = os.path.join(PEERS, "build", "cvode_peer")
DIFFSOL = os.path.join(PEERS, "diffsol", "target", "release", "diffsol-peer")

# name -> (label, kind, args)
SOLVERS = {
    "ts-bdf": ("timescales BDF", "ts", "bdf"),
    "ts-rodas4": ("timescales RODAS4", "ts", "rodas4"),
    "cvode-dense": ("CVODE BDF, dense LAPACK LU, analytic J", "cvode", "dense"),
    "cvode-spgmr-bd": ("CVODE BDF, SPGMR + block-diagonal prec.", "cvode", "spgmr-bd"),
    "cvode-spgmr-wb": ("CVODE BDF, SPGMR + exact Woodbury prec.", "cvode", "spgmr-wb"),
    "diffsol-nalgebra": ("diffsol BDF, dense nalgebra LU", "diffsol", "nalgebra:bdf"),
    "diffsol-faer-dense": ("diffsol BDF, dense faer LU", "diffsol", "faer-dense:bdf"),
    "diffsol-faer-sparse": ("diffsol BDF, sparse faer LU (DAE)", "diffsol", "faer-sparse:bdf"),
    "diffsol-faer-sparse-esdirk": ("diffsol ESDIRK34, sparse faer LU (DAE)", "diffsol", "faer-sparse:esdirk34"),
    "scipy-bdf": ("scipy BDF (numpy RHS, dense J)", "scipy", "BDF"),
}

# Dense configurations: O(N³) per factorization, minutes per run at N = 1024 (--slow-rtols).
SLOW = {"cvode-dense", "diffsol-nalgebra", "diffsol-faer-dense"}

# Configurations that cannot run at a size, with the reason.
SKIP = {
    ("cvode-dense", 65536): "dense 2N × 2N Newton matrix: 137 GB",
    ("diffsol-nalgebra", 65536): "dense 2N × 2N Jacobian: 137 GB",
    ("diffsol-faer-dense", 65536): "dense 2N × 2N Jacobian: 137 GB",
    ("diffsol-faer-sparse", 65536): "diffsol's sparsity detection holds one probe lane per "
    "column (ncols × nrows = 131 078² doubles, 137 GB) and its coloured Jacobian costs O(N²)",
    ("diffsol-faer-sparse-esdirk", 65536): "as diffsol BDF, sparse faer LU",
    ("scipy-bdf", 1024): "dense numpy Jacobian; minutes per run at N = 64 already at tight rtol",
    ("scipy-bdf", 65536): "dense 2N × 2N Jacobian: 137 GB",
}


def gauss_legendre(n):
    """Nodes (increasing) and weights of the n-point Gauss–Legendre rule on [−1, 1].

    Newton's method on P_n from Tricomi's initial guesses x_i ≈ (1 − (n−1)/(8n³)) cos(π(i − ¼)/(n + ½)),
    P_n and P_n' by the three-term recurrence (k+1) P_{k+1} = (2k+1) x P_k − k P_{k−1} vectorized
    over one half of the nodes; w_i = 2 / ((1 − x_i²) P_n'(x_i)²). O(n²) work (33 s at n = 65 536;
    numpy's leggauss is O(n³), scipy's roots_legendre took 205 s here and is less accurate)."""
    m = (n + 1) // 2
    i = np.arange(1, m + 1)
    x = np.cos(np.pi * (i - 0.25) / (n + 0.5)) * (1 - (n - 1) / (8.0 * n**3))

    def legendre(x):
        p0, p1 = np.ones_like(x), x.copy()
        for k in range(2, n + 1):
            p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
        return p1, n * (x * p1 - p0) / (x * x - 1)

    for _ in range(20):
        p, dp = legendre(x)
        dx = p / dp
        x -= dx
        if np.max(np.abs(dx)) < 1e-16:
            break
    _, dp = legendre(x)
    w = 2.0 / ((1 - x * x) * dp * dp)
    return (np.concatenate([-x, x[: n - m][::-1]]), np.concatenate([w, w[: n - m][::-1]]))


def nodes(n, cache_dir):
    path = os.path.join(cache_dir, f"gauss_legendre_{n}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return d["x"], d["w"]
    x, w = gauss_legendre(n)
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(path, x=x, w=w)
    return x, w


def write_problem(path, eps, times, x, w):
    with open(path, "w") as f:
        f.write(f"{eps!r} {len(times)}\n")
        f.write("\n".join(repr(float(t)) for t in times) + "\n")
        f.write(f"{len(x)}\n")
        for xi, wi in zip(x, w):
            f.write(f"{float(xi)!r} {float(wi)!r}\n")


def reference(args, tmp, n, times):
    """The reference risk: timescales at --ref-rtol, read from --ref-cache when that file
    exists for the same N, ε, t_end, output times, method and tolerances (a reference at
    N = 65 536 takes minutes; reruns with a new --binary reuse it), else computed with
    --ref-binary (default --binary) and stored there."""
    key = (f"ref_n{n}_eps{args.epsilon:g}_t{args.t_end:g}_s{args.samples}_{args.ref_method}_"
           f"rtol{args.ref_rtol:g}_atol{args.ref_atol:g}.json")
    path = os.path.join(args.ref_cache, key) if args.ref_cache else None
    if path and os.path.exists(path):
        with open(path) as f:
            rec = json.load(f)
        if np.array_equal(np.asarray(rec["times"]), times):
            rec["source"] = f"cached in {os.path.relpath(path, ROOT)}, computed {rec['date']} by {rec['commit']}"
            return rec
    binary = args.ref_binary or args.binary
    t0 = time.perf_counter()
    r = peers.run_timescales(binary, tmp, n, args.epsilon, args.t_end, args.ref_rtol, args.ref_atol,
                             times, "reference", method=args.ref_method)
    with open(os.path.join(tmp, "reference-out", "run.json")) as f:
        commit = json.load(f).get("commit", "?")
    rec = dict(name=r.name, wall=r.wall, steps=r.steps, risk=[float(x) for x in r.risk],
               times=[float(t) for t in times], commit=commit, binary=binary,
               date=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    if path:
        os.makedirs(args.ref_cache, exist_ok=True)
        with open(path, "w") as f:
            json.dump(rec, f)
    rec["source"] = f"computed now by {commit}, process {time.perf_counter() - t0:.1f} s"
    return rec


class Capped(RuntimeError):
    pass


def run_program(cmd, cap):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=cap)
    except subprocess.TimeoutExpired as e:
        raise Capped(f"over the {cap:g} s cap") from e
    line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise peers.SolverFailed(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}") from e
    if "error" in rec or proc.returncode != 0:
        raise peers.SolverFailed(f"{rec.get('solver', cmd[0])}: {rec.get('error', proc.stderr[-2000:])}")
    return rec


def one_run(name, n, rtol, atol, ctx):
    label, kind, arg = SOLVERS[name]
    if kind == "ts":
        r = peers.run_timescales(ctx["binary"], ctx["tmp"], n, ctx["eps"], ctx["t_end"], rtol, atol,
                                 ctx["times"], "wp", method=arg)
        return dict(wall=r.wall, cpu=r.cpu, steps=r.steps, risk=np.asarray(r.risk),
                    detail=f"{r.rhs} RHS, {r.lu} LU; CPU of the whole process")
    if kind == "scipy":
        r = peers.run_scipy(arg, ctx["flow"], ctx["times"], rtol, atol)
        return dict(wall=r.wall, cpu=r.cpu, steps=r.steps, risk=np.asarray(r.risk),
                    detail=f"{r.rhs} RHS, {r.lu} LU")
    if kind == "cvode":
        rec = run_program([CVODE, arg, ctx["problem"], repr(rtol), repr(atol)], ctx["cap"])
        detail = f"{rec['newton_iters']} Newton, {rec['lin_setups']} setups"
        if arg != "dense":
            detail += f", {rec['lin_iters']} Krylov"
    else:
        backend, method = arg.split(":")
        rec = run_program([DIFFSOL, backend, method, ctx["problem"], repr(rtol), repr(atol)], ctx["cap"])
        detail = f"{rec['newton_iters']} Newton, {rec['lin_setups']} setups, set-up {rec['setup']:.2f} s"
    return dict(wall=rec["wall"], cpu=rec["cpu"], steps=rec["steps"], risk=np.asarray(rec["risk"]),
                detail=detail)


def interp_time(points, err):
    """Solver time at error `err` on a work–precision curve (log-log linear interpolation
    between the two runs bracketing err); None outside the curve's range."""
    pts = sorted((e, t) for e, t in points if e > 0)
    for (e0, t0), (e1, t1) in zip(pts, pts[1:]):
        if e0 <= err <= e1:
            if e1 == e0:
                return min(t0, t1)
            f = (math.log(err) - math.log(e0)) / (math.log(e1) - math.log(e0))
            return math.exp(math.log(t0) + f * (math.log(t1) - math.log(t0)))
    if len(pts) == 1 and pts[0][0] == err:
        return pts[0][1]
    return None


def fmt_t(x):
    return "–" if x is None else (f"{x * 1e3:.2f} ms" if x < 1 else f"{x:.2f} s")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="64,1024,65536")
    p.add_argument("--solvers", default=",".join(SOLVERS))
    p.add_argument("--rtols", default="1e-4,1e-5,1e-6,1e-7,1e-8,1e-9,1e-10",
                   help="rtol sweep of every solver (atol = rtol × --atol-ratio)")
    p.add_argument("--ts-rtols", help="rtol sweep of the timescales runs (default --rtols)")
    p.add_argument("--atol-ratio", type=float, default=1e-2)
    p.add_argument("--epsilon", type=float, default=1e-8)
    p.add_argument("--t-end", type=float, default=3.0)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--ref-rtol", type=float, default=1e-12)
    p.add_argument("--ref-atol", type=float, default=1e-14)
    p.add_argument("--ref-method", default="rodas4")
    p.add_argument("--ref-binary", help="timescales binary of the reference (default --binary)")
    p.add_argument("--ref-cache", default=os.path.join(PEERS, "build", "reference"),
                   help="directory of cached references ('' to always recompute)")
    p.add_argument("--cap", type=float, default=240.0, help="seconds per run before it is killed")
    p.add_argument("--repeat", type=int, default=1,
                   help="best of k runs (timing only); a run over 5 s is not repeated")
    p.add_argument("--slow-rtols", default="1e-5,1e-7",
                   help="rtol sweep of the dense configurations at N ≥ 1024 (minutes per run)")
    p.add_argument("--plot", metavar="JSON", nargs="+",
                   help="only merge the --json files of earlier runs (sweeps of one N combine; "
                   "a later file's run of the same solver, N and rtol replaces an earlier one): "
                   "print the equal-accuracy tables and draw --figure")
    p.add_argument("--binary", default=peers.DEFAULT_BINARY, help="timescales binary")
    p.add_argument("--json", help="write every run to this JSON file")
    p.add_argument("--figure", help="work–precision figure (SVG or PNG by extension)")
    args = p.parse_args()
    if args.plot:
        if not args.figure:
            sys.exit("--plot needs --figure")
        merged, sizes = {}, []
        for path in args.plot:
            with open(path) as f:
                rec = json.load(f)
            for r in rec["runs"]:  # a later file's run of the same solver, N and rtol wins
                merged[(r["n"], r["solver"], r.get("rtol"))] = r
            sizes += [n for n in sorted({r["n"] for r in rec["runs"]}) if n not in sizes]
        runs = list(merged.values())
        for n in sorted(sizes):
            summary(n, runs, list(SOLVERS))
        figure(runs, sorted(sizes), args.figure)
        return

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    names = [s for s in args.solvers.split(",") if s]
    for s in names:
        if s not in SOLVERS:
            sys.exit(f"unknown solver {s}; known: {', '.join(SOLVERS)}")
    rtols = [float(x) for x in args.rtols.split(",")]
    ts_rtols = [float(x) for x in (args.ts_rtols or args.rtols).split(",")]
    slow_rtols = [float(x) for x in args.slow_rtols.split(",")]
    for prog, kind in ((CVODE, "cvode"), (DIFFSOL, "diffsol")):
        if any(SOLVERS[s][1] == kind for s in names) and not os.access(prog, os.X_OK):
            sys.exit(f"{prog} missing: run benches/peers/build.sh")
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} missing: cargo build --release --workspace")
    times = peers.output_times(args.epsilon, args.t_end, args.samples)
    print(f"# work–precision, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load {os.getloadavg()}")
    print(f"binary {args.binary}; ε = {args.epsilon:g}, t_end = {args.t_end:g}, atol = rtol × "
          f"{args.atol_ratio:g}; reference timescales {args.ref_method} rtol {args.ref_rtol:g} "
          f"atol {args.ref_atol:g}; best of {args.repeat}; cap {args.cap:g} s per run\n", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="timescales-wp-") as tmp:
        for n in sizes:
            x, w = nodes(n, os.path.join(PEERS, "build"))
            problem = os.path.join(tmp, f"problem_{n}.txt")
            write_problem(problem, args.epsilon, times, x, w / w.sum())
            ctx = dict(binary=args.binary, tmp=tmp, eps=args.epsilon, t_end=args.t_end, times=times,
                       problem=problem, cap=args.cap)
            if any(SOLVERS[s][1] == "scipy" and (s, n) not in SKIP for s in names):
                ctx["flow"] = peers.Flow(peers.SIGMA, peers.PHI, x, w / w.sum(), args.epsilon)
            ref = reference(args, tmp, n, times)
            print(f"## N = {n}\n\nreference: {ref['name']} rtol {args.ref_rtol:g}: {ref['steps']} steps, "
                  f"{fmt_t(ref['wall'])} ({ref['source']}); load {os.getloadavg()[0]:.2f}\n")
            ref = peers.Result(name=ref["name"], wall=ref["wall"], risk=np.asarray(ref["risk"]))
            print("| solver | rtol | max rel. risk error | solver wall | CPU | steps | work | load |")
            print("|---|---:|---:|---:|---:|---:|---|---:|", flush=True)
            for name in names:
                if (name, n) in SKIP:
                    print(f"| {SOLVERS[name][0]} | – | – | skipped: {SKIP[(name, n)]} | | | | |", flush=True)
                    runs.append(dict(n=n, solver=name, label=SOLVERS[name][0], skipped=SKIP[(name, n)]))
                    continue
                slow = n >= 1024 and name in SLOW
                sweep = ts_rtols if SOLVERS[name][1] == "ts" else slow_rtols if slow else rtols
                for rtol in sweep:
                    atol = rtol * args.atol_ratio
                    try:
                        best = None
                        for _ in range(args.repeat):
                            r = one_run(name, n, rtol, atol, ctx)
                            if best is None or r["wall"] < best["wall"]:
                                best = r
                            if r["wall"] > 5.0:
                                break
                    except Capped as e:
                        print(f"| {SOLVERS[name][0]} | {rtol:g} | – | {e}; tighter rtols skipped | | | | "
                              f"{os.getloadavg()[0]:.2f} |", flush=True)
                        runs.append(dict(n=n, solver=name, label=SOLVERS[name][0], rtol=rtol, capped=str(e)))
                        break
                    except peers.SolverFailed as e:
                        msg = str(e).replace("\n", " ")[:200]
                        print(f"| {SOLVERS[name][0]} | {rtol:g} | – | failed: {msg} | | | | |", flush=True)
                        runs.append(dict(n=n, solver=name, label=SOLVERS[name][0], rtol=rtol, failed=msg))
                        continue
                    err = peers.rel_err(best["risk"], ref.risk)
                    load = os.getloadavg()[0]
                    print(f"| {SOLVERS[name][0]} | {rtol:g} | {err:.2e} | {fmt_t(best['wall'])} | "
                          f"{fmt_t(best['cpu'])} | {best['steps']} | {best['detail']} | {load:.2f} |", flush=True)
                    runs.append(dict(n=n, solver=name, label=SOLVERS[name][0], rtol=rtol, atol=atol,
                                     error=err, wall=best["wall"], cpu=best["cpu"], steps=best["steps"],
                                     detail=best["detail"], load=load))
            summary(n, runs, names)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), binary=args.binary, sizes=sizes,
                           epsilon=args.epsilon, t_end=args.t_end, ref_rtol=args.ref_rtol,
                           ref_method=args.ref_method, runs=runs), f, indent=1)
    if args.figure:
        figure(runs, sizes, args.figure)


def curves(runs, n, key="wall"):
    out = {}
    for r in runs:
        if r["n"] == n and "error" in r:
            out.setdefault(r["solver"], []).append((r["error"], r[key]))
    return out


def summary(n, runs, names):
    """At each timescales run's error: the best peer's time there (interpolated) over ours, in
    wall time and in CPU time (timescales' CPU is its whole process: start-up, Gauss–Legendre
    nodes and output included, so the CPU ratio is a lower bound)."""
    cv, cc = curves(runs, n), curves(runs, n, "cpu")
    peer_names = [s for s in names if SOLVERS[s][1] != "ts" and s in cv]
    print(f"\nN = {n}: at equal accuracy (peer times interpolated log-log at each timescales run's error)\n")
    print("| timescales run | error | wall | best peer there (wall) | its wall | wall ratio | "
          "process CPU | best peer (CPU) | its CPU | CPU ratio |")
    print("|---|---:|---:|---|---:|---:|---:|---|---:|---:|")
    for r in runs:
        if r["n"] != n or SOLVERS[r["solver"]][1] != "ts" or "error" not in r:
            continue
        cols = []
        for cur, key in ((cv, "wall"), (cc, "cpu")):
            best = None
            for s in peer_names:
                t = interp_time(cur[s], r["error"])
                if t is not None and (best is None or t < best[1]):
                    best = (s, t)
            if best is None:
                cols.append(f"{fmt_t(r[key])} | none reaches this error | | ")
            else:
                cols.append(f"{fmt_t(r[key])} | {SOLVERS[best[0]][0]} | {fmt_t(best[1])} | "
                            f"{best[1] / r[key]:.2f}×")
            r[f"ratio_{key}"] = None if best is None else best[1] / r[key]
            r[f"best_peer_{key}"] = None if best is None else best[0]
        print(f"| {r['label']} rtol {r['rtol']:g} | {r['error']:.2e} | {cols[0]} | {cols[1]} |")
    print(flush=True)


def figure(runs, sizes, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sizes), figsize=(max(5.2 * len(sizes), 12), 5.6), squeeze=False)
    style = {"ts": dict(lw=2.2, marker="o"), "cvode": dict(lw=1.2, marker="s"),
             "diffsol": dict(lw=1.2, marker="^"), "scipy": dict(lw=1.0, marker="x")}
    for ax, n in zip(axes[0], sizes):
        for s, pts in curves(runs, n).items():
            pts = sorted(pts)
            ax.loglog([e for e, _ in pts], [t for _, t in pts], label=SOLVERS[s][0],
                      color=f"C{list(SOLVERS).index(s)}", **style[SOLVERS[s][1]])
        ax.set_title(f"N = {n}")
        ax.set_xlabel("max relative risk error")
        ax.set_ylabel("solver time [s]")
        ax.grid(True, which="both", alpha=0.3)
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=3, fontsize=8)
    fig.suptitle("Work–precision, public problem (ε = 1e-8, t_end = 3)")
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    fig.savefig(path)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
