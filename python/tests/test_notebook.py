"""examples/timescales.ipynb runs top to bottom, and its outputs say what they should."""

from __future__ import annotations

import re

import nbformat
from nbclient import NotebookClient


def text_of(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "".join(parts)


def test_the_notebook_runs_and_shows_the_results(root, tmp_path):
    nb = nbformat.read(root / "examples/timescales.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = [text_of(c) for c in code]
    assert all(not any(o.get("output_type") == "error" for o in c.get("outputs", [])) for c in code)
    # The run: the default scenario's risk starts at ½ Σ φ_k² = 1.5.
    assert "risk from 1.5 to" in outputs[1]
    # The sweep finished, and its phase-1 exponent is the predicted ½ up to the logarithm.
    assert outputs[2].startswith("complete — 6 runs")
    gammas = [float(g) for g in re.findall(r"γ = \[([0-9.]+)", outputs[3])]
    assert gammas and all(0.4 < g < 0.55 for g in gammas), outputs[3]
    # The plot cell drew a figure.
    assert any("image/png" in o.get("data", {}) for o in code[4].get("outputs", []))
    # The training log: the second drop's exponent against width is found near the truth 0.5.
    found = re.search(r"γ = \[([0-9.]+)", outputs[7])
    assert found and abs(float(found.group(1)) - 0.5) < 0.05, outputs[7]
