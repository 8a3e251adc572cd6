"""Every public function of ``timescales``: shapes and dtypes, agreement with the
command-line program (bit for bit), the three ways to give a scenario, and error mapping."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import timescales as ts


def read_csv(path: Path) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [r[k] for r in rows] for k in rows[0]}


def floats(values) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=np.float64)


# --------------------------------------------------------------------------------------------
# run


def test_run_shapes_and_dtypes(root):
    r = ts.run(root / "data/scenarios/public.toml", particles=16, epsilon=1e-4, progress=False)
    n = r.t.size
    assert r.t.dtype == np.float64 and r.t.shape == (n,) and n == 1 + 121  # t = 0 and `samples`
    assert r.risk.dtype == np.float64 and r.risk.shape == (n,)
    assert r.residuals.shape == (n, 6) and r.moments.shape == (n, 6)
    assert r.a.shape == (n, 16) and r.s.shape == (n, 16) and r.a.dtype == np.float64
    assert r.weights.shape == (16,) and abs(r.weights.sum() - 1.0) < 1e-12
    # The invariants the library checks, seen from Python: |s| ≤ 1, the risk never rises.
    assert np.all(np.abs(r.s) <= 1.0)
    assert np.all(np.diff(r.risk) <= 1e-10)
    # R = ½ Σ r_k² (no tail beyond K = 5 in the public scenario).
    assert np.allclose(r.risk, 0.5 * (r.residuals**2).sum(axis=1), rtol=1e-13, atol=0)
    # The particles and the recorded moments agree: M_k = Σ w_i a_i s_i^k.
    for k in range(6):
        m_k = (r.weights * r.a * r.s**k).sum(axis=1)
        assert np.allclose(m_k, r.moments[:, k], rtol=1e-10, atol=1e-14)
    assert r.stats["steps"] > 0 and r.stats["rejected_steps"] >= 0
    df = r.to_polars()
    assert isinstance(df, pl.DataFrame) and df.columns[:2] == ["t", "risk"] and df.height == n
    assert r.to_pandas().shape == (n, df.width)


def test_run_equals_the_program_bit_for_bit(root, cli, tmp_path):
    out = tmp_path / "cli"
    subprocess.run(
        [cli, "run", root / "data/scenarios/public.toml", "--out", out, "--epsilon", "1e-5"],
        check=True,
        capture_output=True,
    )
    table = read_csv(out / "trajectory.csv")
    r = ts.run(root / "data/scenarios/public.toml", epsilon=1e-5, progress=False)
    assert np.array_equal(floats(table["t"]), r.t)
    for name in ["risk", "r_1", "M_3", "max_abs_s"]:
        assert np.array_equal(floats(table[name]), r.columns[name]), name
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["stats"]["steps"] == r.stats["steps"]
    # The onsets located on the dense output, the same in Python as in run.json; each lies
    # between the two output times where the sampled risk passes its plateau midpoint.
    assert r.onsets == manifest["onsets"] and len(r.onsets) == 5
    levels = r.scenario["plateau_levels"]
    for l, t_l in enumerate(r.onsets, start=1):
        if t_l is None:
            assert levels[l - 1] == levels[l]  # φ_4 = φ_5 = 0: no phase
            continue
        j = int(np.argmax(r.risk < 0.5 * (levels[l - 1] + levels[l])))
        assert r.t[j - 1] <= t_l <= r.t[j], (l, t_l)


def test_dict_path_and_toml_string_agree(root):
    path = root / "data/scenarios/public.toml"
    text = path.read_text()
    import tomllib

    as_dict = tomllib.loads(text)
    runs = [
        ts.run(path, particles=8, progress=False),
        ts.run(str(path), particles=8, progress=False),
        ts.run(text, particles=8, progress=False),
        ts.run(as_dict, particles=8, progress=False),
    ]
    for r in runs[1:]:
        assert np.array_equal(r.t, runs[0].t) and np.array_equal(r.risk, runs[0].risk)
        assert np.array_equal(r.a, runs[0].a)


def test_run_writes_the_programs_files(tmp_path):
    ts.run(epsilon=1e-4, out=tmp_path, progress=False)
    manifest = json.loads((tmp_path / "run.json").read_text())
    names = {f["name"] for f in manifest["files"]}
    assert {"trajectory.csv", "risk.svg"} <= names


def test_run_of_a_user_system(root):
    r = ts.run(root / "data/systems/example.toml", epsilon=1e-3, progress=False)
    assert list(r.columns) == ["t", "x", "y"]
    assert r.t.tolist() == [0.5, 1.0, 2.0]  # the file's `times`
    with pytest.raises(ts.ScenarioError, match="particles"):
        ts.run(root / "data/systems/example.toml", particles=4, progress=False)


# --------------------------------------------------------------------------------------------
# errors


def test_bad_input_raises_scenario_error_naming_the_key(root):
    with pytest.raises(ts.ScenarioError, match=r"run\.epsilon"):
        ts.run(epsilon=-1.0, progress=False)
    with pytest.raises(ValueError, match="unknown override `particle`"):
        ts.run(particle=3, progress=False)
    with pytest.raises(ts.ScenarioError, match="no such file"):
        ts.run("no/such/scenario.toml", progress=False)
    with pytest.raises(ts.ScenarioError, match="init"):
        ts.run({"activation": {"hermite": [1, 1]}, "target": {"hermite": [0, 1]}, "run": {"epsilon": 1e-3, "t_end": 1}}, progress=False)
    with pytest.raises(ts.ScenarioError, match="eps"):
        ts.sweep(eps="1e-3:x:3", progress=False)
    with pytest.raises(ts.ScenarioError, match="shard"):
        ts.sweep(eps="1e-3:1e-4:2", shard="3/2", progress=False)
    with pytest.raises(ts.ScenarioError):
        ts.network(d=0, progress=False)
    assert issubclass(ts.ScenarioError, ValueError) and issubclass(ts.SolverError, RuntimeError)


def test_solver_failure_raises_solver_error_with_context():
    # An explicit method on a stiff problem: refused at the first sign of stiffness.
    with pytest.raises(ts.SolverError, match=r"ε = 1e-9.*stiff") as e:
        ts.run(method="dopri5", epsilon=1e-9, progress=False)
    assert "rodas4 or bdf" in str(e.value)
    assert str(e.value).count("the problem became stiff") == 1


# --------------------------------------------------------------------------------------------
# sweep, asymptotics, match_system, network


def test_sweep_tables_equal_the_programs(cli, tmp_path):
    out = tmp_path / "cli"
    subprocess.run(
        [cli, "sweep", "--eps", "1e-5:1e-7:3", "--out", out], check=True, capture_output=True
    )
    s = ts.sweep(eps="1e-5:1e-7:3", out=tmp_path / "py", progress=False)
    assert s.status == "complete" and len(s.runs) == 3
    for name in ["phases", "plateaus", "exponents", "local_slopes"]:
        frame = getattr(s, name)
        table = read_csv(out / f"{name}.csv")
        assert frame.columns == list(table), name
        for col in frame.columns:
            if frame[col].dtype == pl.Float64:
                assert np.array_equal(floats(table[col]), frame[col].to_numpy(), equal_nan=True), (name, col)
    # The same files, the same bytes (timings and the command line aside).
    for name in ["phases.csv", "exponents.csv", "plateaus.csv"]:
        assert (out / name).read_bytes() == (tmp_path / "py" / name).read_bytes()
    run = s.runs[0]
    assert run.t.dtype == np.float64 and run.risk.shape == run.t.shape
    assert [r.epsilon for r in s.runs] == sorted(r.epsilon for r in s.runs)


def test_sweep_resumes_and_refuses_another_computation(tmp_path):
    first = ts.sweep(eps="1e-4:1e-5:2", out=tmp_path, progress=False, particles=8)
    assert first.record["computed"] and not first.record["resumed"]
    again = ts.sweep(eps="1e-4:1e-5:2", out=tmp_path, progress=False, particles=8)
    assert sorted(again.record["resumed"]) == sorted(first.record["computed"])
    assert again.exponents.equals(first.exponents)
    with pytest.raises(ts.ScenarioError, match=r"particles: 8 → 16.*fresh=True"):
        ts.sweep(eps="1e-4:1e-5:2", out=tmp_path, progress=False, particles=16)
    fresh = ts.sweep(eps="1e-4:1e-5:2", out=tmp_path, progress=False, particles=16, fresh=True)
    assert len(fresh.record["computed"]) == 2


def test_sweep_takes_a_list_of_eps_and_shards():
    s = ts.sweep(eps=[1e-4, 1e-5, 1e-6], shard="0/2", progress=False, particles=8)
    assert [r.epsilon for r in s.runs] == [1e-6, 1e-4]  # points 0 and 2 of the grid, ascending
    assert s.status == "partial" and s.phases.columns[0] == "partial"


def test_progress_callable_is_called():
    seen = []
    ts.sweep(eps="1e-4:1e-6:3", particles=8, progress=lambda f, label: seen.append((f, label)))
    assert seen and seen[-1][0] == 1.0 and seen[-1][1] == "3/3 points"
    assert all(0.0 <= f <= 1.0 for f, _ in seen)


def test_asymptotics():
    a = ts.asymptotics(eps="1e-5:1e-6:2", samples=200, n_max=8, progress=False)
    assert a.phases_predicted.height > 0 and "onset_predicted" in a.phases_predicted.columns
    assert set(a.composite_error["epsilon"].to_list()) == {1e-5, 1e-6}
    assert a.composite_risk["t"].dtype == pl.Float64 and not a.missing
    assert "phase" in str(a)


def test_match_system_builtin_file_and_dict(root):
    names = [p[0] for p in ts.problems()]
    assert names == ["linear", "michaelis-menten", "van-der-pol", "fold"]
    m = ts.match_system("linear", eps="1e-1:1e-3:3", progress=False)
    composite = m.order.filter(pl.col("approximation") == "composite")
    # The leading-order composite of the linear problem errs by O(ε) (closed form).
    orders = composite["fitted_order"].to_list()
    assert len(orders) == 2 and all(0.85 < g < 1.15 for g in orders), orders
    path = root / "data/systems/example.toml"
    from_file = ts.match_system(path, eps="1e-2:1e-3:2", t_end=0.5, progress=False)
    import tomllib

    from_dict = ts.match_system(tomllib.loads(path.read_text()), eps="1e-2:1e-3:2", t_end=0.5, progress=False)
    assert from_file.composite_error.equals(from_dict.composite_error)
    with pytest.raises(ts.ScenarioError, match="no_such_problem|unknown|no such"):
        ts.match_system("no_such_problem", progress=False)
    assert m.cycle is None and "no fold" in m.cycle_note


def test_match_system_relaxation_cycle_and_the_composite_across_folds(cli, tmp_path):
    # The same job as `timescales match`: the same tables, and the composite across the
    # folds converging like ε^{2/3} ln(1/ε) outside the jump windows.
    m = ts.match_system("van-der-pol", eps="1e-2,1e-3", out=tmp_path / "py", progress=False)
    out = tmp_path / "cli"
    subprocess.run([cli, "match", "--problem", "van-der-pol", "--eps", "1e-2,1e-3", "--out", out],
                   check=True, capture_output=True)
    for name in ["cycle", "cycle_order", "folds", "fold_composite", "fold_error", "fold_order"]:
        assert getattr(m, name).columns == list(read_csv(out / f"{name}.csv")), name
        assert (out / f"{name}.csv").read_bytes() == (tmp_path / "py" / f"{name}.csv").read_bytes(), name
    y = m.fold_error.filter(pl.col("variable") == "y")
    assert (y["folds"] == 2).all() and y["max_error_outside_windows"][1] < 0.05
    assert (tmp_path / "py" / "fold_composite_y.svg").exists()
    assert ts.match_system("van-der-pol", eps="1e-2,1e-3", cycle=False, progress=False).cycle is None


def test_network(tmp_path):
    n = ts.network(d=[8, 16], m=[8, 16], epsilon=1e-2, particles=8, out=tmp_path, progress=False)
    assert [(p.d, p.m) for p in n.pairs] == [(8, 8), (16, 16)]
    p = n.pairs[0]
    assert p.t.dtype == np.float64 and p.risk_network.shape == p.t.shape == p.risk_limit.shape
    assert p.sup_distance >= 0 and n.convergence().height == 2
    assert (tmp_path / "network.json").exists() and (tmp_path / "convergence.csv").exists()


# --------------------------------------------------------------------------------------------
# analyze


def staged_log(seed: int = 0):
    """Runs at four widths, the loss every 10 steps with 5% multiplicative noise; the first
    drop halfway at step 1000, the second at step 30 000·(width/64)^½ (closed form of the
    synthetic curve; the detector was not tuned on it)."""
    rng = np.random.default_rng(seed)
    frames = []
    for width in [64, 128, 256, 512]:
        step = np.arange(10, 2_000_000, 10)
        clean = 0.05 + 0.5 / (1 + (step / 1000) ** 4) + 0.5 / (1 + (step / (30_000 * (width / 64) ** 0.5)) ** 4)
        loss = clean * np.exp(0.05 * rng.standard_normal(step.size))
        frames.append(pl.DataFrame({"width": float(width), "step": step, "loss": loss}))
    return pl.concat(frames)


def test_analyze_finds_the_drops_and_their_exponent():
    a = ts.analyze(staged_log(), time="step", loss="loss", by="width")
    assert a.phases.columns == ["curve", "width", "drop", "level_before", "level_after", "t_start", "t_mid", "t_end", "merged"]
    assert a.phases.height == 8 and not any(a.phases["merged"].to_list())
    second = a.phases.filter(pl.col("drop") == 2)
    truth = 30_000 * (second["width"].to_numpy() / 64) ** 0.5
    assert np.all(np.abs(second["t_mid"].to_numpy() / truth - 1) < 0.05)
    fit = a.exponents.filter((pl.col("drop") == 2) & (pl.col("quantity") == "t_mid") & (pl.col("law") == "power_law"))
    assert fit.height == 1 and abs(fit["gamma"][0] - 0.5) < 0.05 and fit["status"][0] == "ok"
    assert len(a.curves) == 4 and all(c["error"] is None for c in a.curves)
    assert "drop" in str(a)


def test_analyze_equals_the_program_from_a_file_a_frame_pandas_and_arrays(cli, tmp_path):
    log = staged_log(1)
    path = tmp_path / "log.csv"
    log.write_csv(path)
    out = tmp_path / "cli"
    subprocess.run(
        [cli, "analyze", path, "--out", out, "--time", "step", "--by", "width"], check=True, capture_output=True
    )
    from_path = ts.analyze(path, time="step", by="width", out=tmp_path / "py")
    for name in ["phases.csv", "plateaus.csv", "exponents.csv"]:
        assert (out / name).read_bytes() == (tmp_path / "py" / name).read_bytes(), name
    # The same numbers from memory: a polars frame read back from the CSV, and pandas.
    frame = pl.read_csv(path)
    from_frame = ts.analyze(frame, time="step", by="width")
    from_pandas = ts.analyze(frame.to_pandas(), time="step", by="width")
    for a in (from_frame, from_pandas):
        assert a.phases.equals(from_path.phases) and a.exponents.equals(from_path.exponents)
    one = log.filter(pl.col("width") == 64)
    from_arrays = ts.analyze((one["step"].to_numpy(), one["loss"].to_numpy()))
    from_dict = ts.analyze({"step": one["step"].to_numpy(), "loss": one["loss"].to_numpy()})
    assert from_arrays.phases.height == 2
    assert from_arrays.phases.drop("curve").equals(from_dict.phases.drop("curve"))


def test_analyze_bad_input_names_the_column():
    with pytest.raises(ts.ScenarioError, match="no_such"):
        ts.analyze(staged_log(), time="no_such", loss="loss")
    with pytest.raises(ts.ScenarioError, match="no such file"):
        ts.analyze("no/such/log.csv")
    with pytest.raises(ts.ScenarioError, match="data"):
        ts.analyze(42)
    with pytest.raises(ts.ScenarioError, match="1-D"):
        ts.analyze((np.arange(3), np.arange(4)))


def test_sweep_without_eps_uses_the_scenarios_grid():
    # The built-in default scenario carries [sweep] eps = "1e-10:1e-18:9" (as the program's
    # `timescales sweep` without --eps); a scenario without one gets 1e-3:1e-9:13.
    s = ts.sweep(progress=False)
    got = sorted(r.epsilon for r in s.runs)
    assert got == pytest.approx([10.0 ** -k for k in range(18, 9, -1)], rel=1e-12)
    assert set(s.phases["phase"].cast(str).to_list()) >= {"1", "2", "3"}
    default = (Path(__file__).parents[2] / "data/scenarios/default.toml").read_text()
    bad = default.replace('eps = "1e-10:1e-18:9"', 'eps = "1e-10:1e-18"')
    assert bad != default
    with pytest.raises(ts.ScenarioError, match="sweep.eps"):
        ts.sweep(bad, progress=False)
