"""The cost of calling the library from Python: `timescales.run` on the N = 64 public scenario
against the same solve inside the Rust binary, measured alternately in one run.

    cargo build --release --bin timescales
    pip install ./python                       # into the active virtual environment
    python benches/python_overhead.py [--repeats 15]

Reported: the median of
- `python call`: the whole `timescales.run(...)` call (reading the TOML, the solve, recording
  the particles, building the numpy arrays), by `time.perf_counter`;
- `python solve`: the solver's own wall time inside that call (`Run.stats["wall_seconds"]`);
- `binary solve`: the solver's wall time inside `timescales run` (`run.json` → stats),
- `binary process`: the whole `timescales run` process (start, solve, CSV, Parquet, SVG,
  manifest);
and the ratio `python call / binary solve` (the issue's bar: within 1.10).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import timescales

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--binary", default=str(ROOT / "target/release/timescales"))
    args = ap.parse_args()
    scenario = ROOT / "data/scenarios/public.toml"
    py_call, py_solve, bin_solve, bin_process = [], [], [], []
    steps = set()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats + 1):
            t0 = time.perf_counter()
            r = timescales.run(scenario, progress=False)
            t1 = time.perf_counter()
            out = Path(tmp) / f"run{i}"
            t2 = time.perf_counter()
            subprocess.run([args.binary, "run", scenario, "--out", out], check=True, capture_output=True)
            t3 = time.perf_counter()
            stats = json.loads((out / "run.json").read_text())["stats"]
            steps.add((r.stats["steps"], stats["steps"]))
            if i == 0:
                continue  # warm-up
            py_call.append(t1 - t0)
            py_solve.append(r.stats["wall_seconds"])
            bin_solve.append(stats["wall_seconds"])
            bin_process.append(t3 - t2)
    med = statistics.median
    print(f"timescales {timescales.__version__} ({timescales.__commit__[:10]}), Python {sys.version.split()[0]}")
    print(f"steps (python, binary): {sorted(steps)}")
    print(f"{'':16}{'median ms':>10}{'min ms':>10}")
    for name, xs in [
        ("python call", py_call),
        ("python solve", py_solve),
        ("binary solve", bin_solve),
        ("binary process", bin_process),
    ]:
        print(f"{name:16}{1e3 * med(xs):10.2f}{1e3 * min(xs):10.2f}")
    print(f"python call / binary solve: {med(py_call) / med(bin_solve):.3f} (median), "
          f"{min(py_call) / min(bin_solve):.3f} (min)")


if __name__ == "__main__":
    main()
