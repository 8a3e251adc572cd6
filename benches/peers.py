#!/usr/bin/env python3
"""Peer comparison for the full ODE (model.md §4): timescales vs scipy and SUNDIALS.

Runs, in this one process tree and on the same problem, tolerances and output times,

  * scipy ``solve_ivp`` with Radau, BDF and LSODA (vectorized numpy right-hand side,
    analytic dense Jacobian),
  * SUNDIALS CVODE (BDF, dense direct linear solver, analytic dense Jacobian) through
    scikit-sundae,
  * ``timescales run`` (the release binary, on a generated scenario with explicit
    ``times``): the integrator's own wall time from ``run.json`` and the whole-process
    wall time (start-up, scenario resolution, CSV/Parquet/SVG/JSON output included),

and checks the risk of every solver at every output time against a tight reference
(timescales RODAS4 at rtol 1e-12 / atol 1e-14), itself cross-checked against scipy Radau at
rtol 1e-12 / atol 1e-12. (With atol 1e-14, scipy Radau stalls at t ≈ 0.588 for ε = 1e-8,
taking steps of ~1e-9 for more than 20 minutes; the cause was not investigated.)

Problem (the shared public problem, ../shared/reference/README.md): σ_k = 1/sqrt(k!),
k = 0..5; φ = [0, 1, 1, 1, 0, 0]; a(0) ~ Uniform[−1, 1] placed at the N Gauss–Legendre
nodes with normalized weights; s(0) = 0. Output at t = 0 and 200 log-spaced times from
ε/10 to t_end.

Usage (from the repository root, after ``cargo build --release --bin timescales``):

    python3 benches/peers.py                      # N = 64, ε = 1e-8, rtol 1e-8, atol 1e-10
    python3 benches/peers.py --repeat 3 --match --work-precision 1e-5,1e-6,1e-7,1e-8,1e-9,1e-10
    python3 benches/peers.py --method rodas4      # the main timescales run with RODAS4, not the
                                                  # default (BDF); the reference is RODAS4
    python3 benches/peers.py --particles 256 --epsilon 1e-6
    python3 benches/peers.py --scaling 1000,10000,100000              # timescales alone
    python3 benches/peers.py --scaling 1000000 --placement random

benches/RESULTS.md has the measured tables and what each column means.

Exits non-zero if any solver fails, or if the reference and its cross-check disagree by
more than --ref-agreement. Python is not needed by the Rust build, tests or CI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

# Single-threaded BLAS/LAPACK: the matrices here are small (2N × 2N), and multi-threaded
# OpenBLAS on a 2-core machine only adds spin-wait overhead (scipy Radau ran ~50× slower
# with the default thread pool on a loaded machine). Set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.integrate import BDF, LSODA, Radau, solve_ivp  # noqa: E402

try:
    import sksundae
    from sksundae.cvode import CVODE
except ImportError:  # reported as a failure of that solver, not silently skipped
    sksundae = None
    CVODE = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BINARY = os.path.join(ROOT, "target", "release", "timescales")

SIGMA = np.array([1.0 / math.sqrt(math.factorial(k)) for k in range(6)])
PHI = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 0.0])


# --------------------------------------------------------------------------------------
# The model (model.md §4), vectorized over particles. State y = (s_1..s_N, a_1..a_N).
# --------------------------------------------------------------------------------------


class Flow:
    """RHS, dense analytic Jacobian and risk of the particle system."""

    def __init__(self, sigma, phi, a0, weights, eps):
        self.sigma = np.asarray(sigma, float)
        self.phi = np.asarray(phi, float)
        self.kk = len(self.sigma)  # K + 1
        self.n = len(a0)
        self.w = np.asarray(weights, float)
        self.eps = float(eps)
        self.inv_eps = 1.0 / self.eps
        self.a0 = np.asarray(a0, float)
        kvec = np.arange(self.kk, dtype=float)
        self.k1 = kvec[1:]  # k for P'
        self.k2 = kvec[2:] * (kvec[2:] - 1.0)  # k(k−1) for P''
        self.ksig = kvec[1:] * self.sigma[1:]  # k σ_k, k ≥ 1
        n = self.n
        self.idx = np.arange(n)
        self.pw = np.empty((self.kk, n))  # s^k, rows k = 0..K
        self.pw[0] = 1.0
        self.jac_buf = np.empty((2 * n, 2 * n))
        self.u = np.empty((2 * n, self.kk))
        self.v = np.empty((2 * n, self.kk))

    def y0(self):
        return np.concatenate([np.zeros(self.n), self.a0])

    def _powers(self, s):
        pw = self.pw
        for k in range(1, self.kk):
            np.multiply(pw[k - 1], s, out=pw[k])
        return pw

    def _coeffs(self, s, a):
        pw = self._powers(s)
        m = pw @ (self.w * a)
        r = self.phi - self.sigma * m
        return pw, self.sigma * r, r

    def rhs(self, t, y):
        n = self.n
        s, a = y[:n], y[n:]
        pw, c, _ = self._coeffs(s, a)
        p = c @ pw
        dp = (c[1:] * self.k1) @ pw[:-1]
        out = np.empty(2 * n)
        out[:n] = (1.0 - s * s) * a * dp
        out[n:] = p * self.inv_eps
        return out

    def rhs_into(self, t, y, yp):
        yp[:] = self.rhs(t, y)

    def jac(self, t, y):
        """Dense J = B + U Vᵀ (block-diagonal part plus the moment coupling)."""
        n, kk = self.n, self.kk
        s, a = y[:n], y[n:]
        pw, c, _ = self._coeffs(s, a)
        dp = (c[1:] * self.k1) @ pw[:-1]
        d2p = (c[2:] * self.k2) @ pw[:-2] if kk > 2 else np.zeros(n)
        q = 1.0 - s * s
        u, v = self.u, self.v
        # degree-k columns; k = 0 has no s-derivative
        u[:n, 0] = 0.0
        u[:n, 1:] = ((q * a)[:, None] * pw[:-1].T) * self.ksig
        u[n:, :] = pw.T * (self.sigma * self.inv_eps)
        wa = self.w * a
        v[:n, 0] = 0.0
        v[:n, 1:] = -(wa[:, None] * pw[:-1].T) * self.ksig
        v[n:, :] = -(self.w[:, None] * pw.T) * self.sigma
        jm = np.matmul(u, v.T, out=self.jac_buf)
        i = self.idx
        jm[i, i] += a * (-2.0 * s * dp + q * d2p)
        jm[i, n + i] += q * dp
        jm[n + i, i] += dp * self.inv_eps
        return jm

    def jac_into(self, t, y, yp, jj):
        jj[:, :] = self.jac(t, y)

    def risk_rows(self, ys):
        """Risk for each row of ys (shape T × 2N)."""
        n = self.n
        s, a = ys[:, :n], ys[:, n:]
        pows = s[:, None, :] ** np.arange(self.kk)[None, :, None]  # T × (K+1) × N
        m = np.einsum("tkn,tn->tk", pows, a * self.w)
        r = self.phi - self.sigma * m
        return 0.5 * np.sum(r * r, axis=1)


def public_flow(n, eps):
    x, w = np.polynomial.legendre.leggauss(n)
    return Flow(SIGMA, PHI, x, w / w.sum(), eps)


def output_times(eps, t_end, samples):
    """t = 0 and `samples` log-spaced times from ε/10 to t_end (last one exactly t_end)."""
    ts = np.geomspace(eps / 10.0, t_end, samples)
    ts[-1] = t_end
    return np.concatenate([[0.0], ts])


# --------------------------------------------------------------------------------------
# Solvers. Each returns a Result with the risk at every output time.
# --------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    wall: float  # seconds spent in the integrator (best of --repeat)
    process: float | None = None  # whole-process wall time (timescales only)
    cpu: float | None = None  # CPU seconds of the solve call (timescales: whole process)
    risk: np.ndarray | None = None
    steps: int | None = None
    rhs: int | None = None
    jac: int | None = None
    lu: int | None = None
    note: str = ""
    walls: list = field(default_factory=list)


class SolverFailed(RuntimeError):
    pass


def counting(base):
    """An OdeSolver subclass of `base` that counts accepted steps (one per _step_impl)."""

    class Counting(base):
        steps = 0

        def _step_impl(self):
            ok, msg = super()._step_impl()
            if ok:
                type(self).steps += 1
            return ok, msg

    Counting.__name__ = base.__name__
    return Counting


def run_scipy(method, flow, times, rtol, atol):
    cls = counting({"Radau": Radau, "BDF": BDF, "LSODA": LSODA}[method])
    y0 = flow.y0()
    c0, t0 = time.process_time(), time.perf_counter()
    sol = solve_ivp(
        flow.rhs,
        (0.0, times[-1]),
        y0,
        method=cls,
        t_eval=times,
        rtol=rtol,
        atol=atol,
        jac=flow.jac,
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if not sol.success or sol.y.shape[1] != len(times):
        raise SolverFailed(f"scipy {method}: {sol.message}")
    return Result(
        name=f"scipy {method}",
        wall=wall,
        cpu=cpu,
        risk=flow.risk_rows(sol.y.T),
        steps=cls.steps,
        rhs=sol.nfev,
        jac=sol.njev,
        lu=sol.nlu,
    )


def run_cvode(flow, times, rtol, atol):
    if CVODE is None:
        raise SolverFailed("scikit-sundae is not installed (pip install -r benches/requirements.txt)")
    opts = dict(
        method="BDF",
        rtol=rtol,
        atol=atol,
        linsolver="dense",
        jacfn=flow.jac_into,
        max_num_steps=1_000_000,
    )
    y0 = flow.y0()
    c0, t0 = time.process_time(), time.perf_counter()
    sol = CVODE(flow.rhs_into, **opts).solve(times, y0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if not sol.success or sol.y.shape[0] != len(times):
        raise SolverFailed(f"CVODE: {sol.message}")
    # scikit-sundae does not expose the step count; an untimed second run with tspan =
    # [0, t_end] records every internal step (CVODE interpolates to output times, so its
    # step sequence does not depend on them).
    steps_run = CVODE(flow.rhs_into, **opts).solve(np.array([0.0, times[-1]]), y0)
    return Result(
        name="CVODE (BDF, dense)",
        wall=wall,
        cpu=cpu,
        risk=flow.risk_rows(np.asarray(sol.y)),
        steps=len(steps_run.t) - 1,
        rhs=sol.nfev,
        jac=sol.njev,
    )


def scenario_toml(flow_n, eps, t_end, rtol, atol, times, placement="quadrature", seed=1,
                  method=None):
    def arr(v):
        return "[" + ", ".join(repr(float(x)) for x in v) + "]"

    return f"""# generated by benches/peers.py
[activation]
hermite = {arr(SIGMA)}

[target]
hermite = {arr(PHI)}

[init]
law = "uniform"
lo = -1.0
hi = 1.0
particles = {flow_n}
placement = "{placement}"{f"{chr(10)}seed = {seed}" if placement == "random" else ""}

[run]
epsilon = {float(eps)!r}
t_end = {float(t_end)!r}
rtol = {float(rtol)!r}
atol = {float(atol)!r}
times = {arr(times)}
{f'method = "{method}"' if method else "# method: the binary's default"}
"""


def run_timescales(binary, workdir, n, eps, t_end, rtol, atol, times, tag, rusage=False,
                   method=None):
    """`timescales run` on a generated scenario; `method` None leaves the binary's default."""
    scen = os.path.join(workdir, f"{tag}.toml")
    out = os.path.join(workdir, f"{tag}-out")
    with open(scen, "w") as f:
        f.write(scenario_toml(n, eps, t_end, rtol, atol, times, method=method))
    if os.path.exists(out):
        shutil.rmtree(out)
    cmd = [binary, "run", scen, "--out", out]
    c0, t0 = children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    process, cpu = time.perf_counter() - t0, children_cpu() - c0
    if proc.returncode != 0:
        raise SolverFailed(
            f"timescales ({' '.join(cmd)}) exited {proc.returncode}:\n{proc.stderr[-3000:]}"
        )
    with open(os.path.join(out, "run.json")) as f:
        record = json.load(f)
    st = record["stats"]
    data = np.genfromtxt(os.path.join(out, "trajectory.csv"), delimiter=",", names=True)
    if len(data["t"]) != len(times) or np.max(np.abs(data["t"] - times)) > 1e-15 * t_end:
        raise SolverFailed(f"timescales wrote {len(data['t'])} rows at other times than requested")
    used = record.get("scenario", {}).get("problem", {}).get("method", "?")
    return Result(
        name=f"timescales ({ {'rodas4': 'RODAS4', 'bdf': 'BDF'}.get(used, used) })",
        wall=st["wall_seconds"],
        process=process,
        cpu=cpu,
        risk=np.asarray(data["risk"]),
        steps=st["steps"],
        rhs=st["rhs_evals"],
        jac=st["jacobian_evals"],
        lu=st["factorizations"],
        note=f"{st['rejected_steps']} rejected",
    )


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def best_of(k, fn):
    """Runs fn k times; returns the run with the least wall time, all wall times kept."""
    runs = [fn() for _ in range(k)]
    best = min(runs, key=lambda r: r.wall)
    best.walls = [r.wall for r in runs]
    if best.process is not None:
        best.process = min(r.process for r in runs)
    best.cpu = min(r.cpu for r in runs)
    return best


def rel_err(risk, ref):
    return float(np.max(np.abs(risk - ref) / np.abs(ref)))


def fmt_time(x):
    if x is None:
        return "–"
    return f"{x * 1e3:.1f} ms" if x < 1.0 else f"{x:.2f} s"


def fmt_ratio(x):
    return f"{x:.0f}×" if x >= 10 else f"{x:.1f}×"


def fmt_int(x):
    return "–" if x is None else str(x)


def comparison(args):
    eps, n, t_end = args.epsilon, args.particles, args.t_end
    times = output_times(eps, t_end, args.samples)
    flow = public_flow(n, eps)
    binary = args.binary
    if not os.access(binary, os.X_OK):
        raise SolverFailed(f"{binary} not found: run `cargo build --release --bin timescales`")
    print(
        f"problem: public (σ_k = 1/sqrt(k!), φ = {PHI.tolist()}), N = {n}, ε = {eps:g}, "
        f"t_end = {t_end:g}, rtol = {args.rtol:g}, atol = {args.atol:g}, "
        f"{len(times)} output times (0 and {args.samples} log-spaced from ε/10)"
    )
    print(
        f"versions: python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-sundae "
        f"{getattr(sksundae, '__version__', 'missing')}; binary {binary}"
    )
    print(f"machine: {os.cpu_count()} logical CPUs; best of {args.repeat} run(s) per solver\n")

    with tempfile.TemporaryDirectory(prefix="timescales-peers-") as tmp:
        # reference and its independent cross-check
        ref = run_timescales(
            binary, tmp, n, eps, t_end, args.ref_rtol, args.ref_atol, times, "reference",
            method=args.ref_method,
        )
        print(
            f"reference: {ref.name} rtol {args.ref_rtol:g} atol {args.ref_atol:g}: "
            f"{ref.steps} steps, {fmt_time(ref.wall)}",
            flush=True,
        )
        check = None
        if not args.no_cross_check:
            check = run_scipy("Radau", flow, times, args.check_rtol, args.check_atol)
            agree = rel_err(check.risk, ref.risk)
            print(
                f"cross-check: scipy Radau rtol {args.check_rtol:g} atol {args.check_atol:g}: "
                f"{check.steps} steps, {fmt_time(check.wall)}; "
                f"max |R_radau − R_ref| / R_ref = {agree:.2e}",
                flush=True,
            )
            if agree > args.ref_agreement:
                raise SolverFailed(
                    f"reference and cross-check disagree by {agree:.2e} > {args.ref_agreement:g}"
                )
        print()

        rows = []
        ts = best_of(
            args.repeat,
            lambda: run_timescales(binary, tmp, n, eps, t_end, args.rtol, args.atol, times, "run",
                                   method=args.method),
        )
        rows.append(ts)
        print(f"  done {ts.name}: {fmt_time(ts.wall)}", flush=True)
        solvers = [m for m in args.solvers.split(",") if m]
        for m in solvers:
            if m == "CVODE":
                r = best_of(args.repeat, lambda: run_cvode(flow, times, args.rtol, args.atol))
            else:
                r = best_of(
                    args.repeat, lambda m=m: run_scipy(m, flow, times, args.rtol, args.atol)
                )
            rows.append(r)
            print(f"  done {r.name}: {fmt_time(r.wall)}", flush=True)

        print()
        print(
            "| solver | wall (solver) | × ts solver | × ts process | CPU | × ts process CPU | "
            "max rel. risk error | vs Radau cross-check | steps | RHS evals | Jacobians | LU |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            if r is ts:
                ratio_s, ratio_p, ratio_c = "1", f"(process {fmt_time(ts.process)})", "1"
            else:
                ratio_s, ratio_p, ratio_c = (
                    fmt_ratio(r.wall / ts.wall),
                    fmt_ratio(r.wall / ts.process),
                    fmt_ratio(r.cpu / ts.cpu),
                )
            e_check = f"{rel_err(r.risk, check.risk):.1e}" if check is not None else "–"
            print(
                f"| {r.name} | {fmt_time(r.wall)} | {ratio_s} | {ratio_p} | {fmt_time(r.cpu)} | {ratio_c} | "
                f"{rel_err(r.risk, ref.risk):.1e} | {e_check} | {fmt_int(r.steps)} | {fmt_int(r.rhs)} | "
                f"{fmt_int(r.jac)} | {fmt_int(r.lu)} |"
            )
        print()
        print("wall (solver): integrator only, best of --repeat (timescales: stats.wall_seconds from")
        print("run.json; scipy/CVODE: the solve_ivp / CVODE.solve call). × ts solver / × ts process:")
        print("peer wall time over the timescales solver time / over the whole `timescales run` process")
        print("(start-up, scenario, integration, CSV/Parquet/SVG/JSON output). CPU: CPU seconds of the")
        print("solve call (timescales: of the whole process), least of --repeat; × ts process CPU is the")
        print("peer's CPU time over the whole timescales process CPU time (robust to machine load).")
        matched = matched_accuracy(args, flow, times, ts, ref, solvers) if args.match else []
        wp = work_precision(args, flow, times, ref, binary, tmp, solvers, rows[1:]) if args.work_precision else []
        if args.json:
            with open(args.json, "w") as f:
                json.dump(
                    {
                        "problem": dict(n=n, eps=eps, t_end=t_end, rtol=args.rtol, atol=args.atol),
                        "rows": [
                            dict(
                                name=r.name,
                                wall=r.wall,
                                walls=r.walls,
                                process=r.process,
                                cpu=r.cpu,
                                max_rel_err=rel_err(r.risk, ref.risk),
                                steps=r.steps,
                                rhs=r.rhs,
                                jac=r.jac,
                                lu=r.lu,
                            )
                            for r in rows
                        ],
                        "matched": [
                            dict(name=r.name, rtol=tol, wall=r.wall, cpu=r.cpu,
                                 max_rel_err=rel_err(r.risk, ref.risk))
                            for r, tol in matched
                        ],
                        "work_precision": [
                            dict(name=r.name, rtol=tol, wall=r.wall, cpu=r.cpu, max_rel_err=err,
                                 steps=r.steps, rhs=r.rhs)
                            for _, tol, err, r in wp
                        ],
                    },
                    f,
                    indent=1,
                    default=lambda o: o.item() if hasattr(o, "item") else str(o),
                )


def matched_accuracy(args, flow, times, ts, ref, solvers):
    """Each peer at tightening tolerances until its risk error is at most timescales' own.

    rtol runs down from --rtol by factors of sqrt(10) (atol keeps its ratio to rtol) to
    --match-floor; the first tolerance whose max relative risk error against the reference
    is ≤ timescales' error at --rtol is timed (best of --repeat).
    """
    target = rel_err(ts.risk, ref.risk)
    ratio = args.atol / args.rtol
    print(
        f"\nmatched accuracy: each peer tightened (rtol ÷ √10 per try) until its max relative "
        f"risk error ≤ timescales' {target:.1e} (timescales at rtol {args.rtol:g})\n"
    )
    print(
        "| solver | rtol reached | max rel. risk error | wall | × ts solver | × ts process | CPU | "
        "× ts process CPU | steps |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {ts.name} | {args.rtol:g} | {target:.1e} | {fmt_time(ts.wall)} | 1 | "
        f"(process {fmt_time(ts.process)}) | {fmt_time(ts.cpu)} | 1 | {ts.steps} |"
    )
    out = []
    for m in solvers:
        k = 0
        while True:
            rtol = args.rtol * 10.0 ** (-k / 2)
            if rtol < args.match_floor * (1 - 1e-9):
                print(f"| {m} | not reached by rtol {args.match_floor:g} | | | | | | | |", flush=True)
                break

            def once(m=m, rtol=rtol):
                if m == "CVODE":
                    return run_cvode(flow, times, rtol, rtol * ratio)
                return run_scipy(m, flow, times, rtol, rtol * ratio)

            r = once()
            if rel_err(r.risk, ref.risk) <= target:
                if args.repeat > 1:
                    r = best_of(args.repeat, once)
                x = r.wall / ts.wall
                print(
                    f"| {r.name} | {rtol:.2g} | {rel_err(r.risk, ref.risk):.1e} | {fmt_time(r.wall)} | "
                    f"{fmt_ratio(x)} | {fmt_ratio(r.wall / ts.process)} | {fmt_time(r.cpu)} | "
                    f"{fmt_ratio(r.cpu / ts.cpu)} | {r.steps} |",
                    flush=True,
                )
                out.append((r, rtol))
                break
            k += 1
    return out


def work_precision(args, flow, times, ref, binary, tmp, solvers, peers_at_rtol):
    """Every solver (timescales included) at each rtol of --work-precision; then, for each
    peer at --rtol, the cheapest timescales run of the sweep that is at least as accurate."""
    tols = [float(x) for x in args.work_precision.split(",")]
    ratio = args.atol / args.rtol
    print(
        f"\nwork–precision: atol = rtol × {ratio:g}; error = max relative risk error against the "
        f"reference over all {len(times)} output times; best of {args.repeat} by wall time\n"
    )
    print("| solver | rtol | max rel. risk error | wall | CPU | steps | RHS evals |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    table = []
    own_methods = [m for m in args.ts_methods.split(",") if m]
    ts_tols = [float(x) for x in (args.ts_work_precision or args.work_precision).split(",")]
    for name in [f"timescales:{m}" for m in own_methods] + solvers:
        for tol in ts_tols if name.startswith("timescales") else tols:
            if name.startswith("timescales"):
                def once(tol=tol, name=name):
                    return run_timescales(binary, tmp, flow.n, flow.eps, times[-1], tol, tol * ratio,
                                          times, "wp", method=name.split(":")[1])
            elif name == "CVODE":
                def once(tol=tol):
                    return run_cvode(flow, times, tol, tol * ratio)
            else:
                def once(tol=tol, name=name):
                    return run_scipy(name, flow, times, tol, tol * ratio)
            r = best_of(args.repeat, once)
            err = rel_err(r.risk, ref.risk)
            table.append((name, tol, err, r))
            cpu = fmt_time(r.cpu) + (" (process)" if name.startswith("timescales") else "")
            print(
                f"| {r.name} | {tol:g} | {err:.1e} | {fmt_time(r.wall)} | {cpu} | "
                f"{fmt_int(r.steps)} | {fmt_int(r.rhs)} |",
                flush=True,
            )
    own = [(tol, err, r) for name, tol, err, r in table if name.startswith("timescales")]
    print(
        f"\nat equal or better accuracy: each peer at rtol {args.rtol:g} against the cheapest "
        f"(by CPU) timescales run of the sweep whose error is no larger\n"
    )
    print("| peer at rtol | its error | its CPU | timescales run | timescales rtol | timescales error | "
          "timescales process CPU | CPU ratio | wall ratio (solver) |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in peers_at_rtol:
        err = rel_err(r.risk, ref.risk)
        ok = [o for o in own if o[1] <= err]
        if not ok:
            print(f"| {r.name} | {err:.1e} | {fmt_time(r.cpu)} | none in the sweep | | | | | |")
            continue
        t_tol, t_err, t = min(ok, key=lambda o: o[2].cpu)
        print(
            f"| {r.name} | {err:.1e} | {fmt_time(r.cpu)} | {t.name} | {t_tol:g} | {t_err:.1e} | "
            f"{fmt_time(t.cpu)} | {fmt_ratio(r.cpu / t.cpu)} | {fmt_ratio(r.wall / t.wall)} |"
        )
    return table


def scaling(args):
    """timescales alone at increasing N; wall time, steps, time/step/particle, peak RSS.

    Process CPU (user + sys, all threads) includes placement (Gauss–Legendre, O(N)) and
    output, so CPU / step / particle is an upper bound on the integrator's own cost."""
    eps, t_end = args.epsilon, args.t_end
    times = output_times(eps, t_end, args.samples)
    ns = [int(float(x)) for x in args.scaling.split(",")]
    timev = "/usr/bin/time"
    if not os.access(timev, os.X_OK):
        raise SolverFailed("/usr/bin/time is needed for peak RSS")
    print(
        f"scaling: timescales alone, ε = {eps:g}, t_end = {t_end:g}, rtol = {args.rtol:g}, "
        f"atol = {args.atol:g}, uniform law, {args.placement} placement\n"
    )
    print(
        "| N | solver wall | process wall | process CPU | steps | rejected | wall / step | "
        "wall / step / particle | CPU / step / particle | peak RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="timescales-scaling-") as tmp:
        for n in ns:
            scen = os.path.join(tmp, f"n{n}.toml")
            out = os.path.join(tmp, f"n{n}-out")
            with open(scen, "w") as f:
                f.write(
                    scenario_toml(n, eps, t_end, args.rtol, args.atol, times, args.placement, args.seed,
                                  method=args.method)
                )
            cmd = [timev, "-v", args.binary, "run", scen, "--out", out]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            process = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SolverFailed(f"N = {n}: exited {proc.returncode}:\n{proc.stderr[-3000:]}")
            def field(name):
                return next(
                    float(line.split(":")[1]) for line in proc.stderr.splitlines() if name in line
                )

            rss = field("Maximum resident set size")
            cpu = field("User time (seconds)") + field("System time (seconds)")
            with open(os.path.join(out, "run.json")) as f:
                st = json.load(f)["stats"]
            per_step = st["wall_seconds"] / st["steps"]
            print(
                f"| {n} | {fmt_time(st['wall_seconds'])} | {fmt_time(process)} | {fmt_time(cpu)} | "
                f"{st['steps']} | {st['rejected_steps']} | {per_step * 1e3:.3f} ms | "
                f"{per_step / n * 1e9:.1f} ns | {cpu / st['steps'] / n * 1e9:.1f} ns | "
                f"{rss / 1024:.0f} MiB |",
                flush=True,
            )
            shutil.rmtree(out)


def add_reference_args(p):
    """The N = 64 reference run's arguments (particles, ε, horizon, tolerances, output times)."""
    p.add_argument("--particles", type=int, default=64)
    p.add_argument("--epsilon", type=float, default=1e-8)
    p.add_argument("--t-end", type=float, default=3.0)
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-10)
    p.add_argument("--samples", type=int, default=200, help="log-spaced output times (plus t = 0)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_reference_args(p)
    p.add_argument("--repeat", type=int, default=1, help="best of k runs for each solver")
    p.add_argument("--solvers", default="Radau,BDF,LSODA,CVODE", help="peers to run (comma-separated)")
    p.add_argument("--ref-rtol", type=float, default=1e-12)
    p.add_argument("--ref-atol", type=float, default=1e-14)
    p.add_argument("--check-rtol", type=float, default=1e-12, help="rtol of the Radau cross-check")
    p.add_argument("--check-atol", type=float, default=1e-12, help="atol of the Radau cross-check")
    p.add_argument("--ref-agreement", type=float, default=1e-6,
                   help="fail if reference and Radau cross-check differ by more (relative)")
    p.add_argument("--no-cross-check", action="store_true", help="skip the Radau cross-check")
    p.add_argument("--match", action="store_true",
                   help="also tighten each peer's tolerance until it is as accurate as timescales")
    p.add_argument("--work-precision", metavar="RTOLS",
                   help="comma-separated rtols: every solver at each (atol keeps its ratio to rtol)")
    p.add_argument("--match-floor", type=float, default=1e-12, help="tightest rtol tried by --match")
    p.add_argument("--binary", default=DEFAULT_BINARY)
    p.add_argument("--method", choices=["bdf", "rodas4"], default=None,
                   help="timescales method of the main run and --scaling (default: the binary's)")
    p.add_argument("--ref-method", choices=["bdf", "rodas4"], default="rodas4",
                   help="timescales method of the reference (default rodas4: error ≈ rtol)")
    p.add_argument("--ts-methods", default="bdf,rodas4",
                   help="timescales methods swept by --work-precision (comma-separated)")
    p.add_argument("--ts-work-precision", metavar="RTOLS",
                   help="rtols of the timescales runs of the sweep (default: --work-precision's)")
    p.add_argument("--json", help="also write the table as JSON to this file")
    p.add_argument("--placement", choices=["quadrature", "random"], default="quadrature",
                   help="particle placement for --scaling (the comparison always uses quadrature)")
    p.add_argument("--seed", type=int, default=1, help="seed of random placement")
    p.add_argument("--scaling", help="comma-separated N list: timescales-only scaling study instead")
    args = p.parse_args()
    try:
        if args.scaling:
            scaling(args)
        else:
            comparison(args)
    except SolverFailed as e:
        print(f"\nFAILED: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
