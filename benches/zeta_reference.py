#!/usr/bin/env python3
"""A reference that resolves saturation: the full ODE in ζ = atanh s, beside the direct run in s
and the composite of ``timescales asymptotics`` (README, "Composite risk at its order").

In s, a particle that saturates gets 1 − s rounded to the ulp of 1 (1.1e-16), and the time at
which it leaves saturation when the flow there turns repelling is then set by rounding. In
ζ = atanh s the same flow,

    ζ̇_i = a_i P'(tanh ζ_i),   ε ȧ_i = P(tanh ζ_i),   P(s) = Σ_k σ_k r_k s^k,
    r_k = φ_k − σ_k Σ_i w_i a_i tanh(ζ_i)^k,

has no boundary and resolves 1 − s = 2 e^{−2ζ} far below the ulp. This script integrates it
with scipy's Radau (rtol 1e-10, atol 1e-13; an independent solver) from the scenario's
particles (``timescales.run``: the same placement, σ_k, φ_k), at the output times of
``timescales.asymptotics`` at one ε, and prints the largest risk differences between the
reference, the direct run in s and the composite.

Usage (an environment with the timescales package, numpy and scipy):

    python3 benches/zeta_reference.py data/scenarios/relu_normal.toml 1e-9

Not needed by the Rust build, tests or CI.
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.integrate import solve_ivp

import timescales as ts


def main():
    scenario = sys.argv[1] if len(sys.argv) > 1 else "data/scenarios/relu_normal.toml"
    eps = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-9
    run = ts.run(scenario, epsilon=eps, samples=2, progress=False)
    problem = run.scenario["problem"]
    sigma, phi = np.array(problem["sigma"]), np.array(problem["phi"])
    tail = problem["tail_energy"]
    a0, w = run.a[0], run.weights
    n, k_max = len(w), len(sigma)
    s0 = run.s[0]

    def residuals(s, a):
        return phi - sigma * np.array([np.sum(w * a * s**k) for k in range(k_max)])

    def rhs(_t, y):
        s, a = np.tanh(y[:n]), y[n:]
        c = sigma * residuals(s, a)
        p = sum(c[k] * s**k for k in range(k_max))
        dp = sum(k * c[k] * s ** (k - 1) for k in range(1, k_max))
        return np.concatenate([a * dp, p / eps])

    asym = ts.asymptotics(scenario, eps=[eps], n_max=problem["particles"], progress=False)
    table = asym.composite_risk.filter(asym.composite_risk["epsilon"] == eps)
    t = table["t"].to_numpy()
    full, composite = table["risk_full"].to_numpy(), table["risk_composite"].to_numpy()
    keep = t > 0
    t, full, composite = t[keep], full[keep], composite[keep]
    y0 = np.concatenate([np.arctanh(s0), a0])
    sol = solve_ivp(rhs, [0.0, t[-1]], y0, method="Radau", rtol=1e-10, atol=1e-13, t_eval=t)
    if sol.status != 0:
        sys.exit(f"Radau failed: {sol.message}")
    zeta = np.array(
        [0.5 * np.sum(residuals(np.tanh(sol.y[:n, i]), sol.y[n:, i]) ** 2) + tail for i in range(t.size)]
    )
    ok = np.isfinite(composite)

    def worst(x, y):
        d = np.abs(x[ok] - y[ok])
        return d.max(), t[ok][np.argmax(d)]

    print(f"{scenario}, ε = {eps:g}, N = {n}: max |risk difference| (at t)")
    for name, (d, at) in [
        ("ζ reference vs direct run in s", worst(zeta, full)),
        ("ζ reference vs composite", worst(zeta, composite)),
        ("direct run in s vs composite", worst(full, composite)),
    ]:
        print(f"  {name:32s} {d:.3e} (t = {at:.3e})")


if __name__ == "__main__":
    main()
