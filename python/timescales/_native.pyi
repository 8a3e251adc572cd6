"""Type stubs of the native module (the Rust side; use the functions of ``timescales``)."""

from typing import Any, Callable, Dict, List, Optional, Tuple

Progress = Optional[Callable[[float, str], None]]

def run(
    kind: str, source: str, origin: str, overrides: str, out: Optional[str] = ..., progress: Progress = ...
) -> Dict[str, Any]: ...
def sweep(
    kind: str,
    source: str,
    origin: str,
    overrides: str,
    eps: str,
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
    kind: str,
    source: str,
    origin: str,
    overrides: str,
    eps: str,
    out: Optional[str] = ...,
    samples: int = ...,
    n_max: int = ...,
    fresh: bool = ...,
    progress: Progress = ...,
) -> Dict[str, Any]: ...
def match_system(
    kind: str,
    source: str,
    origin: str,
    eps: str,
    t_end: Optional[float] = ...,
    out: Optional[str] = ...,
    progress: Progress = ...,
) -> Dict[str, Any]: ...
def network(
    kind: str,
    source: str,
    origin: str,
    overrides: str,
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
