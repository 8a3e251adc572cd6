"""The public functions and result types of ``timescales`` (see the package docstring)."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import polars as pl

from . import _native
from ._errors import Interrupted, ScenarioError

ScenarioLike = Union[None, str, "os.PathLike[str]", Mapping[str, Any]]
ProgressLike = Union[bool, Callable[[float, str], None]]

__all__ = [
    "run",
    "sweep",
    "asymptotics",
    "match_system",
    "network",
    "problems",
    "analyze",
    "Run",
    "Sweep",
    "SweepRun",
    "Asymptotics",
    "Match",
    "Network",
    "NetworkPair",
    "Analysis",
]


# ---------------------------------------------------------------------------------------------
# Inputs


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise ScenarioError(f"scenario value {value!r} of type {type(value).__name__} is not TOML data")


def _source(scenario: ScenarioLike) -> Tuple[str, str, str]:
    """``(kind, text, origin)`` for the native layer: the built-in default, TOML text, or
    a JSON object of the TOML's structure."""
    if scenario is None:
        return "default", "", "<default>"
    if isinstance(scenario, Mapping):
        return "json", json.dumps(scenario, default=_jsonable), "<dict>"
    if isinstance(scenario, os.PathLike) or (
        isinstance(scenario, str) and "\n" not in scenario and "=" not in scenario
    ):
        path = Path(scenario)
        try:
            return "toml", path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise ScenarioError(f"scenario: no such file {str(path)!r}") from None
        except OSError as e:
            raise ScenarioError(f"scenario: cannot read {str(path)!r}: {e}") from None
    if isinstance(scenario, str):
        return "toml", scenario, "<string>"
    raise ScenarioError(
        "scenario: expected a path, a TOML string, a dict or None, "
        f"got {type(scenario).__name__}"
    )


def _scenario(scenario: ScenarioLike, overrides: Mapping[str, Any]) -> Tuple[str, str, str, str]:
    """``(kind, text, origin, overrides as JSON)`` for the native layer."""
    return (*_source(scenario), json.dumps(dict(overrides), default=_jsonable))


def _out(out: Union[None, str, "os.PathLike[str]"]) -> Optional[str]:
    return None if out is None else os.fspath(out)


def _eps(eps: Union[str, Sequence[float]]) -> str:
    """A grid ``"start:stop:count"`` as given, or a list of ε as a comma-separated list."""
    if isinstance(eps, str):
        return eps
    values = [float(e) for e in eps]
    if not values:
        raise ScenarioError("eps: no values")
    return ",".join(repr(v) for v in values)


class _Progress:
    """Progress in terminals and notebooks: ``tqdm.auto`` when it is installed, else one line
    on standard error rewritten in place."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.bar = None
        self.last = 0.0
        self.shown = False
        try:
            from tqdm.auto import tqdm  # type: ignore[import-not-found]

            self.bar = tqdm(total=1000, desc=what, leave=False)
        except Exception:
            self.bar = None

    def __call__(self, fraction: float, label: str) -> None:
        if self.bar is not None:
            self.bar.n = int(1000 * fraction)
            self.bar.set_postfix_str(label, refresh=False)
            self.bar.refresh()
            return
        now = time.monotonic()
        if now - self.last < 0.25 and fraction < 1.0:
            return
        self.last = now
        width = 30
        filled = int(width * fraction)
        sys.stderr.write(
            f"\r{self.what} [{'=' * filled}{' ' * (width - filled)}] {100 * fraction:5.1f}% {label}   "
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.shown:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()


class _Reporter:
    def __init__(self, progress: ProgressLike, what: str) -> None:
        self.own = None
        if progress is True:
            self.own = _Progress(what)
            self.callback: Optional[Callable[[float, str], None]] = self.own
        elif callable(progress):
            self.callback = progress
        else:
            self.callback = None

    def __enter__(self) -> Optional[Callable[[float, str], None]]:
        return self.callback

    def __exit__(self, *exc: Any) -> None:
        if self.own is not None:
            self.own.close()


def _frame(columns: List[Tuple[str, Any]]):
    """A polars DataFrame from ``(name, values)`` pairs, in order (an empty text column
    stays text)."""
    return pl.DataFrame(
        [pl.Series(name, values, dtype=pl.Utf8 if isinstance(values, list) and not values else None) for name, values in columns]
    )


# ---------------------------------------------------------------------------------------------
# run


@dataclass
class Run:
    """A direct integration of the full ODE (or of a user-defined ``[system]``).

    ``t`` (shape ``(n,)``) and ``risk`` (``(n,)``) are float64 arrays at the output times;
    ``residuals`` is ``(n, K + 1)`` with ``r_k(t_j)`` in row ``j``, ``moments`` the same for
    ``M_k``; ``a`` and ``s`` are ``(n, N)``: every particle at every output time, ``weights``
    its weight ``w_i``. For a ``[system]``, ``columns`` holds each variable and the others are
    empty. ``stats`` has the solver's counters (steps, rejections, right-hand sides,
    Jacobians, factorizations, wall time). ``onsets`` holds ``t_l``, ``l = 1 … K``: the first
    time the risk falls through the midpoint ``(R_{l−1} + R_l)/2`` of consecutive plateau
    levels, located on the integrator's dense output (not read off the output times), and
    ``None`` for a phase that does not exist or that the run did not reach; empty for a
    ``[system]``.
    """

    t: np.ndarray
    risk: np.ndarray
    residuals: np.ndarray
    moments: np.ndarray
    a: np.ndarray
    s: np.ndarray
    weights: np.ndarray
    columns: Dict[str, np.ndarray]
    stats: Dict[str, Any]
    notes: List[str]
    scenario: Optional[Dict[str, Any]]
    interrupted_at: Optional[float] = None
    max_risk_increase: Optional[float] = None
    onsets: List[Optional[float]] = field(default_factory=list)

    @classmethod
    def _from_native(cls, d: Dict[str, Any]) -> "Run":
        columns = {name: values for name, values in d["trajectory"]}
        t = columns.get("t", np.zeros(0))
        n = len(t)
        empty = np.zeros((n, 0))
        if d["kind"] == "system":
            return cls(
                t=t,
                risk=np.zeros(0),
                residuals=empty,
                moments=empty,
                a=empty,
                s=empty,
                weights=np.zeros(0),
                columns=columns,
                stats=d["stats"],
                notes=d["notes"],
                scenario=None,
            )
        k = d["degree"]
        residuals = np.column_stack([columns[f"r_{i}"] for i in range(k + 1)]) if n else np.zeros((0, k + 1))
        moments = np.column_stack([columns[f"M_{i}"] for i in range(k + 1)]) if n else np.zeros((0, k + 1))
        return cls(
            t=t,
            risk=columns["risk"],
            residuals=residuals,
            moments=moments,
            a=d["a"],
            s=d["s"],
            weights=d["weights"],
            columns=columns,
            stats=d["stats"],
            notes=d["notes"],
            scenario=d["scenario"],
            interrupted_at=d["interrupted_at"],
            max_risk_increase=d["max_risk_increase"],
            onsets=d["onsets"],
        )

    def to_polars(self):
        """The trajectory as a polars DataFrame: ``t``, then the columns of
        ``trajectory.csv`` (``risk``, ``r_k``, ``M_k``, ``max_abs_a``, ``max_abs_s``, or a
        system's variables)."""
        return _frame(list(self.columns.items()))

    def to_pandas(self):
        """The trajectory as a pandas DataFrame (needs pandas)."""
        return self.to_polars().to_pandas()

    def plot(self, ax=None, **kwargs):
        """The risk (or a system's variables) against ``t`` on log axes; returns the axes
        (needs matplotlib)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        if self.risk.size:
            keep = self.t > 0
            ax.loglog(self.t[keep], self.risk[keep], **kwargs)
            ax.set_ylabel("risk")
        else:
            for name, values in self.columns.items():
                if name != "t":
                    ax.plot(self.t, values, label=name, **kwargs)
            ax.legend()
        ax.set_xlabel("t")
        return ax


def run(
    scenario: ScenarioLike = None,
    *,
    out: Union[None, str, "os.PathLike[str]"] = None,
    progress: ProgressLike = True,
    **overrides: Any,
) -> Run:
    """Integrates the full ODE of a scenario directly (or a user-defined ``[system]``).

    ``scenario`` is a path to a TOML file, a TOML string, a ``dict`` of the TOML's structure,
    or ``None`` for the built-in default. ``overrides`` set ``epsilon``, ``t_end``, ``rtol``,
    ``atol``, ``samples``, ``times``, ``method`` (``run.*``) and ``particles``,
    ``placement``, ``seed`` (``init.*``). With ``out`` the same files as
    ``timescales run --out`` are written (without Parquet). The numbers are those of the
    command-line program, bit for bit.

    >>> import timescales
    >>> r = timescales.run("data/scenarios/public.toml", epsilon=1e-4, particles=16, progress=False)
    >>> r.t.dtype, r.a.shape == (r.t.size, 16)
    (dtype('float64'), True)
    >>> bool(r.risk[-1] < r.risk[0])
    True

    Raises ``ScenarioError`` (naming the key) for bad input, ``SolverError`` when the
    integration fails, ``Interrupted`` (with the partial run) on Ctrl-C.
    """
    with _Reporter(progress, "run") as cb:
        d = _native.run(_scenario(scenario, overrides), _out(out), cb)
    result = Run._from_native(d)
    if d["interrupted"]:
        raise Interrupted("interrupted: the partial run is in .partial", result)
    return result


# ---------------------------------------------------------------------------------------------
# sweep


@dataclass
class SweepRun:
    """One ε of a sweep: its trajectory (``t``, ``risk`` and the other columns)."""

    epsilon: float
    particles: int
    t: np.ndarray
    risk: np.ndarray
    columns: Dict[str, np.ndarray]
    stats: Dict[str, Any]

    def to_polars(self):
        """The trajectory as a polars DataFrame."""
        return _frame(list(self.columns.items()))


@dataclass
class Sweep:
    """An ε sweep: plateaus, phase times and exponent fits, as polars DataFrames with the
    columns of the CSV files the command-line program writes (``phases``, ``plateaus``,
    ``exponents``, ``local_slopes``; ``convergence_n`` with ``converge_n=True``), the runs
    (one ``SweepRun`` per ε), and the manifest's record (``status``, computed, resumed,
    missing and failed points, fingerprint, version, commit)."""

    phases: Any
    plateaus: Any
    exponents: Any
    local_slopes: Any
    convergence_n: Any
    runs: List[SweepRun]
    record: Dict[str, Any]
    text: Optional[str] = None

    @property
    def status(self) -> str:
        """``complete``, ``partial``, ``failed`` or ``interrupted``."""
        return self.record["status"]

    @property
    def failed(self) -> List[Tuple[float, List[str]]]:
        """The points that failed, each with its chain of errors."""
        return [(e, chain) for e, chain in self.record["failed"]]

    def __str__(self) -> str:
        return self.text or f"Sweep({self.status}, {len(self.runs)} points)"

    def plot(self, ax=None):
        """Every risk curve against ``t`` on log axes, coloured by ε (needs matplotlib)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        cmap = plt.get_cmap("viridis")
        n = max(len(self.runs) - 1, 1)
        for i, r in enumerate(self.runs):
            keep = r.t > 0
            ax.loglog(r.t[keep], r.risk[keep], color=cmap(i / n), label=f"ε = {r.epsilon:.0e}")
        ax.set_xlabel("t")
        ax.set_ylabel("risk")
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
        return ax


def _sweep_from_native(d: Dict[str, Any]) -> Sweep:
    tables = d["tables"]

    def frame(name: str):
        return _frame(tables[name]) if name in tables else None

    runs = []
    for p in d["points"]:
        columns = {name: values for name, values in p["trajectory"]}
        runs.append(
            SweepRun(
                epsilon=p["epsilon"],
                particles=p["particles"],
                t=columns["t"],
                risk=columns["risk"],
                columns=columns,
                stats=p["stats"],
            )
        )
    return Sweep(
        phases=frame("phases"),
        plateaus=frame("plateaus"),
        exponents=frame("exponents"),
        local_slopes=frame("local_slopes"),
        convergence_n=frame("convergence_n"),
        runs=runs,
        record=d["record"],
        text=d["text"],
    )


def sweep(
    scenario: ScenarioLike = None,
    eps: Union[None, str, Sequence[float]] = None,
    out: Union[None, str, "os.PathLike[str]"] = None,
    converge_n: bool = False,
    shard: Optional[str] = None,
    progress: ProgressLike = True,
    *,
    n_tol: float = 0.02,
    n_max: int = 512,
    threads: Optional[int] = None,
    fresh: bool = False,
    **overrides: Any,
) -> Sweep:
    """Sweeps ε over a log grid (``"start:stop:count"``, or a list of values), in parallel:
    plateaus, phase times and exponent fits with confidence intervals. Without ``eps``, the
    scenario's own grid (its ``[sweep] eps``; the built-in default scenario has one) or
    ``"1e-3:1e-9:13"``, as the program does.

    With ``out`` the run is the command-line program's ``timescales sweep --out``: finished
    points are kept in ``out/runs`` (a rerun resumes; ``fresh=True`` discards them; a
    directory of another computation is refused) and the same tables, plots and manifest
    are written (without Parquet). ``shard="i/n"`` runs one share of the grid. The numbers
    do not depend on ``threads``.

    >>> import timescales
    >>> s = timescales.sweep(eps="1e-6:1e-8:3", progress=False)
    >>> s.status, s.exponents.columns[:3]
    ('complete', ['phase', 'quantity', 'model'])

    A failed point does not stop the others: it is in ``Sweep.failed`` and the status is
    ``failed``. On Ctrl-C, ``Interrupted`` is raised within a fraction of a second with the
    points that finished in ``.partial`` (and kept in ``out/runs`` when ``out`` is given).
    """
    with _Reporter(progress, "sweep") as cb:
        d = _native.sweep(
            _scenario(scenario, overrides),
            None if eps is None else _eps(eps),
            _out(out),
            converge_n,
            n_tol,
            n_max,
            shard,
            threads,
            fresh,
            cb,
        )
    result = _sweep_from_native(d)
    if d["stopped"]:
        raise Interrupted(
            f"interrupted: {len(result.runs)} points finished (in .partial"
            + (f" and kept in {out}/runs: the same call resumes)" if out is not None else ")"),
            result,
        )
    return result


# ---------------------------------------------------------------------------------------------
# asymptotics, match_system, network, problems


@dataclass
class Asymptotics:
    """Phase asymptotics against direct integration: ``phases_predicted``,
    ``convergence_n``, ``composite_risk``, ``composite_error``, ``composite_order`` (polars
    DataFrames with the CSV files' columns), the ε not finished, and the printed summary."""

    phases_predicted: Any
    convergence_n: Any
    composite_risk: Any
    composite_error: Any
    missing: List[float]
    failed: List[Tuple[float, List[str]]]
    text: Optional[str] = None
    composite_order: Any = None

    def __str__(self) -> str:
        return self.text or "Asymptotics(no point finished)"


def asymptotics(
    scenario: ScenarioLike = None,
    eps: Union[str, Sequence[float]] = "1e-3:1e-9:7",
    out: Union[None, str, "os.PathLike[str]"] = None,
    *,
    samples: int = 600,
    n_max: int = 256,
    fresh: bool = False,
    progress: ProgressLike = True,
    **overrides: Any,
) -> Asymptotics:
    """Predicted phase onsets (closed forms, plateau flows, inner problems) against the
    measured ones (N doubled up to ``n_max`` until they move < 1%), exponents, and the
    composite risk across all phases, at each ε of the grid; ``timescales asymptotics``.

    >>> import timescales
    >>> a = timescales.asymptotics(eps="1e-5:1e-6:2", samples=200, n_max=8, progress=False)
    >>> a.phases_predicted.height > 0
    True
    """
    with _Reporter(progress, "asymptotics") as cb:
        d = _native.asymptotics(_scenario(scenario, overrides), _eps(eps), _out(out), samples, n_max, fresh, cb)
    tables = d["tables"]

    def frame(name: str):
        return _frame(tables[name]) if name in tables else None

    result = Asymptotics(
        phases_predicted=frame("phases_predicted"),
        convergence_n=frame("convergence_n"),
        composite_risk=frame("composite_risk"),
        composite_error=frame("composite_error"),
        missing=d["missing"],
        failed=[(e, c) for e, c in d["failed"]],
        text=d.get("text"),
        composite_order=frame("composite_order"),
    )
    if d["stopped"]:
        raise Interrupted("interrupted: the finished ε are in .partial", result)
    return result


@dataclass
class Match:
    """Outer, inner and composite expansions of a slow–fast system against direct
    integration: ``composite`` (at the largest ε), ``composite_error``, ``order`` (the
    fitted orders with CIs), ``matching`` (polars DataFrames with the CSV files' columns).
    For a relaxation oscillation also ``cycle`` (period direct, leading, predicted per ε),
    ``cycle_order``, ``folds`` and the composite across the folds: ``fold_composite`` (at
    the largest ε), ``fold_error`` (outside and inside the jump windows), ``fold_order``;
    they are ``None`` otherwise, and ``cycle_note`` says why when the cycle was asked for."""

    label: str
    names: List[str]
    eps: List[float]
    composite: Any
    composite_error: Any
    order: Any
    matching: Any
    cycle: Any = None
    cycle_order: Any = None
    folds: Any = None
    fold_composite: Any = None
    fold_error: Any = None
    fold_order: Any = None
    cycle_note: Optional[str] = None


def match_system(
    system: ScenarioLike,
    eps: Union[str, Sequence[float]] = "1e-1:1e-4:7",
    *,
    t_end: Optional[float] = None,
    out: Union[None, str, "os.PathLike[str]"] = None,
    progress: ProgressLike = True,
    cycle: bool = True,
    cycle_horizon: Optional[float] = None,
    cycle_jumps: int = 8,
) -> Match:
    """``timescales match`` for a built-in problem (its name, see ``problems()``) or a
    user-defined ``[system]`` (a path, a TOML string or a dict). With ``cycle`` (the
    default) a relaxation cycle is looked for on ``[0, cycle_horizon]`` (default 50 T) within
    ``cycle_jumps`` jumps, as ``--no-cycle``, ``--cycle-horizon`` and ``--cycle-jumps`` do.

    >>> import timescales
    >>> m = timescales.match_system("linear", eps="1e-1:1e-3:3", progress=False)
    >>> sorted(m.order["approximation"].unique())[:2]
    ['composite', 'composite1']
    """
    if isinstance(system, str) and system in {p[0] for p in _native.problems()}:
        source = ("builtin", system, system, "{}")
    elif system is None:
        raise ScenarioError("system: give a built-in problem's name, a path, a TOML string or a dict")
    else:
        source = _scenario(system, {})
    with _Reporter(progress, "match") as cb:
        d = _native.match_system(source, _eps(eps), t_end, _out(out), cb, cycle, cycle_horizon, cycle_jumps)
    tables = d["tables"]
    optional = {k: _frame(tables[k]) if k in tables else None
                for k in ["cycle", "cycle_order", "folds", "fold_composite", "fold_error", "fold_order"]}
    result = Match(
        label=d["label"],
        names=d["names"],
        eps=d["eps"],
        composite=_frame(tables["composite"]),
        composite_error=_frame(tables["composite_error"]),
        order=_frame(tables["order"]),
        matching=_frame(tables["matching"]),
        cycle_note=d["cycle_note"],
        **optional,
    )
    if d["interrupted"]:
        raise Interrupted("interrupted: the study finished before the interrupt was seen; it is in .partial", result)
    return result


@dataclass
class NetworkPair:
    """One finite network (d, m) against the limit: the risks at the output times, the sup
    distance between them and the phase-1 times."""

    d: int
    m: int
    t: np.ndarray
    risk_network: np.ndarray
    risk_limit: np.ndarray
    max_abs_overlap: np.ndarray
    sup_distance: float
    t_sup: float
    t1_network: Optional[float]
    t1_limit: Optional[float]
    t1_predicted: Optional[float]
    seeding: float

    def to_polars(self):
        """``t, risk_network, risk_limit, max_abs_overlap`` as a polars DataFrame."""
        return _frame(
            [
                ("t", self.t),
                ("risk_network", self.risk_network),
                ("risk_limit", self.risk_limit),
                ("max_abs_overlap", self.max_abs_overlap),
            ]
        )


@dataclass
class Network:
    """Finite networks against their ``d, m → ∞`` limit, one ``NetworkPair`` per (d, m)."""

    pairs: List[NetworkPair] = field(default_factory=list)

    def convergence(self):
        """``d, m, sup_distance, t1_network, t1_limit`` over the pairs (polars)."""
        return _frame(
            [
                ("d", np.array([p.d for p in self.pairs], dtype=np.int64)),
                ("m", np.array([p.m for p in self.pairs], dtype=np.int64)),
                ("sup_distance", np.array([p.sup_distance for p in self.pairs])),
                ("t1_network", [p.t1_network for p in self.pairs]),
                ("t1_limit", [p.t1_limit for p in self.pairs]),
            ]
        )


def network(
    scenario: ScenarioLike = None,
    d: Union[int, Sequence[int]] = 512,
    m: Union[int, Sequence[int], None] = None,
    *,
    sgd: bool = False,
    lr: float = 1e-3,
    batch: int = 1024,
    seed: int = 0,
    rtol: float = 1e-6,
    out: Union[None, str, "os.PathLike[str]"] = None,
    progress: ProgressLike = True,
    **overrides: Any,
) -> Network:
    """A finite network (population gradient flow, or online SGD with ``sgd=True``) of
    input dimension ``d`` and width ``m`` (lists run a convergence study; ``m`` defaults to
    ``d``) against the limit flow of the same scenario; ``timescales network``.

    >>> import timescales
    >>> n = timescales.network(d=16, m=16, epsilon=1e-2, particles=8, progress=False)
    >>> n.pairs[0].risk_network.shape == n.pairs[0].t.shape
    True
    """
    ds = [int(d)] if isinstance(d, (int, np.integer)) else [int(x) for x in d]
    if m is None:
        ms = ds
    else:
        ms = [int(m)] if isinstance(m, (int, np.integer)) else [int(x) for x in m]
    if not ds or not ms:
        raise ScenarioError("d, m: at least one value each")
    if len(ds) == len(ms):
        pairs = list(zip(ds, ms))
    elif len(ds) == 1:
        pairs = [(ds[0], x) for x in ms]
    elif len(ms) == 1:
        pairs = [(x, ms[0]) for x in ds]
    else:
        raise ScenarioError(f"d has {len(ds)} values and m {len(ms)}: give equal lengths or one value")
    if any(x < 1 for pair in pairs for x in pair):
        raise ScenarioError("d, m: every value must be at least 1")
    with _Reporter(progress, "network") as cb:
        r = _native.network(_scenario(scenario, overrides), pairs, sgd, lr, batch, seed, rtol, _out(out), cb)
    result = Network(pairs=[NetworkPair(**p) for p in r["pairs"]])
    if r["interrupted"]:
        raise Interrupted("interrupted: the finished pairs are in .partial", result)
    return result


def problems() -> List[Tuple[str, str, str]]:
    """The built-in slow–fast problems of ``match_system``: ``(name, summary, reference)``."""
    return [tuple(p) for p in _native.problems()]  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# analyze


@dataclass
class Analysis:
    """Plateaus, drops and exponents of loss curves (``timescales analyze``): ``plateaus``
    (curve, the ``by`` column, level and its CI, t_entry, t_exit, length_log), ``phases``
    (one row per curve and drop: level_before, level_after, t_start, t_mid, t_end, merged)
    and ``exponents`` (drop, quantity, law, gamma, ci_low, ci_high, n_points, status), as
    polars DataFrames with the CSV files' columns; ``curves`` says per curve how many points
    it had, what the clean-up skipped or merged, the estimated noise, and why it was left
    out (if it was); ``fits`` names the curves each fit used and left out."""

    plateaus: Any
    phases: Any
    exponents: Any
    curves: List[Dict[str, Any]]
    fits: List[Dict[str, Any]]
    columns: Dict[str, Any]
    text: str = ""

    def __str__(self) -> str:
        return self.text


def _columns(data: Any) -> List[Tuple[str, Any]]:
    """``(name, values)`` pairs from a DataFrame (polars or pandas), a dict of columns, or a
    pair ``(time, loss)`` of arrays: float64 numpy arrays (missing values NaN), booleans, or
    text."""
    if isinstance(data, pl.DataFrame):
        frame = data
    elif hasattr(data, "to_dict") and hasattr(data, "columns") and hasattr(data, "dtypes"):
        frame = pl.from_pandas(data)  # a pandas DataFrame
    elif isinstance(data, Mapping):
        try:
            frame = pl.DataFrame({str(k): v for k, v in data.items()})
        except Exception as e:
            raise ScenarioError(f"data: the columns do not make a table: {e}") from None
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        t, loss = (np.asarray(x) for x in data)
        if t.ndim != 1 or loss.shape != t.shape:
            raise ScenarioError(f"data: time and loss must be 1-D of one length, got {t.shape} and {loss.shape}")
        frame = pl.DataFrame({"t": t, "loss": loss})
    else:
        raise ScenarioError(
            "data: expected a path (CSV or Parquet), a polars or pandas DataFrame, a dict of "
            f"columns or a pair (time, loss) of arrays, got {type(data).__name__}"
        )
    out: List[Tuple[str, Any]] = []
    for name in frame.columns:
        s = frame[name]
        if s.dtype.is_numeric():
            # Numbers as the program's CSV reader reads them: float64, missing as NaN.
            values: Any = s.cast(pl.Float64).fill_null(float("nan")).to_numpy()
        elif s.dtype == pl.Boolean and s.null_count() == 0:
            values = s.to_numpy()
        else:
            values = ["" if v is None else str(v) for v in s.to_list()]
        out.append((name, values))
    return out


def analyze(
    data: Any,
    time: Optional[str] = None,
    loss: Optional[str] = None,
    by: Optional[str] = None,
    run: Optional[str] = None,
    *,
    out: Union[None, str, "os.PathLike[str]"] = None,
) -> Analysis:
    """Plateaus, drops and timescale exponents of the loss curves users bring (training logs
    from PyTorch, JAX, TensorBoard, W&B): ``timescales analyze``.

    ``data`` is a path to a CSV or Parquet file (read as the program reads it), a polars or
    pandas DataFrame, a dict of columns, or a pair ``(time, loss)`` of arrays. Long tables
    (one row per logged point; curves by ``run``, else by the value of ``by``, else one
    curve), wide tables (one loss column per run; ``by`` a label in the column names such as
    ``width=64``) and TensorBoard exports (``Wall time, Step, Value``) are read as they are;
    ``time`` and ``loss`` default to the usual names. With ``out`` the program's files are
    written (tables, plots, the manifest ``analyze.json``).

    >>> import numpy as np, timescales
    >>> step = np.unique(np.geomspace(1, 1e6, 3000).round())
    >>> loss = 0.1 + 1 / (1 + (step / 300) ** 3) + 1 / (1 + (step / 20_000) ** 3)
    >>> a = timescales.analyze((step, loss))   # drops halfway at steps 300 and 20 000
    >>> a.phases["drop"].to_list(), bool(np.allclose(a.phases["t_mid"], [300, 20_000], rtol=0.01))
    ([1, 2], True)
    """
    path: Optional[str] = None
    columns: Optional[List[Tuple[str, Any]]] = None
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.exists(path):
            raise ScenarioError(f"data: no such file {path!r}")
    else:
        columns = _columns(data)
    d = _native.analyze(columns, path, time, loss, by, run, _out(out))
    tables = d["tables"]
    return Analysis(
        plateaus=_frame(tables["plateaus"]),
        phases=_frame(tables["phases"]),
        exponents=_frame(tables["exponents"]),
        curves=d["curves"],
        fits=d["fits"],
        columns=d["columns"],
        text=d["text"],
    )
