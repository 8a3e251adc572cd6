"""Type stubs of the native module (the Rust side; use the functions of ``timescales``).

``scenario`` is ``(kind, source, origin, overrides)``: ``kind`` is ``"default"``, ``"toml"``
(``source`` is TOML text) or ``"json"`` (a JSON object of the TOML's structure), and for
``match_system`` also ``"builtin"`` (``source`` is a problem's name); ``overrides`` is a JSON
object. ``progress`` is called as ``progress(fraction, label)``.
"""

from typing import Any, Callable, Dict, List, Optional, Tuple

Source = Tuple[str, str, str, str]
Progress = Optional[Callable[[float, str], None]]

def run(scenario: Source, out: Optional[str] = ..., progress: Progress = ...) -> Dict[str, Any]: ...
def sweep(
    scenario: Source,
    eps: Optional[str] = ...,
    out: Optional[str] = ...,
    converge_n: bool = ...,
    n_tol: float = ...,
    n_max: int = ...,
    shard: Optional[str] = ...,
    threads: Optional[int] = ...,
    fresh: bool = ...,
    progress: Progress = ...,
) -> Dict[str, Any]: ...
def asymptotics(
    scenario: Source,
    eps: str,
    out: Optional[str] = ...,
    samples: int = ...,
    n_max: int = ...,
    fresh: bool = ...,
    progress: Progress = ...,
) -> Dict[str, Any]: ...
def match_system(
    system: Source,
    eps: str,
    t_end: Optional[float] = ...,
    out: Optional[str] = ...,
    progress: Progress = ...,
    cycle: bool = ...,
    cycle_horizon: Optional[float] = ...,
    cycle_jumps: int = ...,
) -> Dict[str, Any]: ...
def network(
    scenario: Source,
    pairs: List[Tuple[int, int]],
    sgd: bool = ...,
    lr: float = ...,
    batch: int = ...,
    seed: int = ...,
    rtol: float = ...,
    out: Optional[str] = ...,
    progress: Progress = ...,
) -> Dict[str, Any]: ...
def problems() -> List[Tuple[str, str, str]]: ...
def build_info() -> Tuple[str, str]: ...
