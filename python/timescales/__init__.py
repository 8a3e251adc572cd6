"""``timescales``: multiscale asymptotic analysis of singularly perturbed learning dynamics.

A Python binding of the Rust library (the same code as the ``timescales`` program: the same
numbers, bit for bit). The flagship system is the gradient flow of a wide two-layer network
learning a single-index target, with a second layer ``1/ε`` times faster than the first; in
the limit it is a singularly perturbed ODE over particles ``(a_i, s_i)``::

    ε da_i/dt = Σ_k σ_k r_k s_i^k,   ds_i/dt = (1 − s_i²) a_i Σ_k k σ_k r_k s_i^(k−1),
    r_k = φ_k − σ_k M_k,   M_k = Σ_i w_i a_i s_i^k,   R = ½ Σ_k r_k²,

which learns in phases, one Hermite degree at a time, with plateaus between them.

========================  ===================================================================
``run(scenario, **o)``    direct integration: ``Run.t``, ``.risk``, ``.residuals``, ``.a``,
                          ``.s`` (numpy), ``.stats``, ``.to_polars()``, ``.plot()``
``sweep(scenario, eps)``  ε sweep: ``Sweep.phases``, ``.plateaus``, ``.exponents`` (polars),
                          ``.runs``; resumable with ``out=``
``asymptotics(...)``      predicted vs measured phase onsets, composite risk
``match_system(system)``  outer, inner and composite expansions of a slow–fast system;
                          a relaxation cycle's period and the composite across its folds
``network(...)``          finite networks (population flow, online SGD) against the limit
``analyze(data, ...)``    plateaus, drops and exponents of users' own loss curves
========================  ===================================================================

A scenario is a path to a TOML file, a TOML string, a ``dict`` of the TOML's structure, or
``None`` (the built-in default). Bad input raises ``ScenarioError`` (a ``ValueError`` naming
the key), failed integrations ``SolverError``; Ctrl-C raises ``Interrupted`` (a
``KeyboardInterrupt``) within a fraction of a second, with what finished in ``.partial``.
Long calls release the GIL and show progress (``progress=False`` to hide it).

>>> import timescales
>>> r = timescales.run(epsilon=1e-5, progress=False)
>>> float(r.risk[0])
1.5
"""

from . import _api
from ._api import (
    Analysis,
    analyze,
    Asymptotics,
    Match,
    Network,
    NetworkPair,
    Run,
    Sweep,
    SweepRun,
    asymptotics,
    match_system,
    network,
    problems,
    run,
    sweep,
)
from ._errors import Interrupted, OutputError, ScenarioError, SolverError, TimescalesError
from ._native import build_info as _build_info

__version__, __commit__ = _build_info()

__all__ = [
    *_api.__all__,
    "TimescalesError",
    "ScenarioError",
    "SolverError",
    "OutputError",
    "Interrupted",
]
