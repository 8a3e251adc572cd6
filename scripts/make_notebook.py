"""Writes examples/timescales.ipynb (without outputs) from the cells below; the test suite
executes it (python/tests/test_notebook.py). Run from the repository root:
    python scripts/make_notebook.py
"""

import nbformat as nbf

cells = [
    ("md", """# `timescales` from Python

A run of the full ODE, an ε sweep with its exponent table beside the predictions, the phase
plot, and a training log of your own analysed with `analyze`. Run top to bottom (each cell
takes seconds). The same library as the `timescales` program: the same numbers, bit for bit."""),
    ("code", """import numpy as np
import polars as pl
import matplotlib
import matplotlib.pyplot as plt
import timescales as ts

pl.Config.set_tbl_cols(12)
print("timescales", ts.__version__)"""),
    ("md", """## 1. A run

The built-in default scenario (σ(x) = exp(x − ½), φ = h₁ + h₂ + h₃, 8 particles) at ε = 1e-6.
`Run.t`, `Run.risk` are numpy arrays; `Run.residuals` is `(times, K+1)`; `Run.a`, `Run.s` hold
every particle at every output time."""),
    ("code", """run = ts.run(epsilon=1e-6)
print("output times:", run.t.shape, " particles a, s:", run.a.shape, run.s.shape)
print("risk from", run.risk[0], "to", f"{run.risk[-1]:.2e}", "in", run.stats["steps"], "steps")
assert np.all(np.diff(run.risk) <= 1e-10) and np.all(np.abs(run.s) <= 1)
ax = run.plot()
ax.set_title("risk, ε = 1e-6");"""),
    ("md", """## 2. A sweep over ε

Six values of ε from 1e-4 to 1e-9. `Sweep.phases`, `.plateaus`, `.exponents` are polars
DataFrames with the columns of the CSV files `timescales sweep` writes."""),
    ("code", """sweep = ts.sweep(eps="1e-4:1e-9:6")
print(sweep.status, "—", len(sweep.runs), "runs")
sweep.phases.head()"""),
    ("md", """### The exponent table beside the predictions (model.md §5)"""),
    ("code", """table = (
    sweep.exponents.filter(pl.col("status") == "ok")
    .select("phase", "quantity", "model", "gamma", "ci_low", "ci_high", "predicted", "n_points")
)
phase1 = table.filter((pl.col("phase") == "1") & (pl.col("quantity") == "t_mid"))
print("phase 1, t_mid: γ =", [round(g, 3) for g in phase1["gamma"]], "predicted ½ (log-corrected law)")
table"""),
    ("md", """### The phase plot: when each phase happens, against ε"""),
    ("code", """fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
sweep.plot(ax=left)
for phase, rows in sweep.phases.filter(pl.col("t_mid").is_not_nan()).group_by("phase", maintain_order=True):
    right.loglog(rows["epsilon"], rows["t_mid"], "o-", label=f"phase {phase[0]}")
right.set_xlabel("ε"); right.set_ylabel("t_mid"); right.legend()
fig.tight_layout()"""),
    ("md", """## 3. Your own training log

A PyTorch-style log: the loss every 10 steps of runs at four widths, with 5% multiplicative
noise. Here it is synthetic, with known drop times (the first drop halfway at step 1000,
the second at step 30 000·(width/64)^0.5), so that what `analyze` finds can be checked; with your own log, pass
your DataFrame (polars or pandas), a CSV or Parquet path, or arrays."""),
    ("code", """rng = np.random.default_rng(0)
rows = []
for width in [64, 128, 256, 512]:
    step = np.arange(10, 2_000_000, 10)
    t2 = 30_000 * (width / 64) ** 0.5
    clean = 0.05 + 0.5 / (1 + (step / 1000) ** 4) + 0.5 / (1 + (step / t2) ** 4)
    loss = clean * np.exp(0.05 * rng.standard_normal(step.size))
    rows.append(pl.DataFrame({"width": width, "step": step, "loss": loss}))
log = pl.concat(rows)
log.head()"""),
    ("code", """found = ts.analyze(log, time="step", loss="loss", by="width")
found.phases"""),
    ("code", """second = found.exponents.filter(
    (pl.col("drop") == 2) & (pl.col("quantity") == "t_mid") & (pl.col("law") == "power_law")
)
print("second drop, t_mid against width: γ =", [round(g, 3) for g in second["gamma"]], "(truth 0.5)")
second"""),
]

nb = nbf.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src) for kind, src in cells]
nbf.write(nb, "examples/timescales.ipynb")
print("wrote examples/timescales.ipynb")
