"""Shared fixtures: the repository's paths and the command-line program built by
``cargo test --workspace`` (the README's test command builds it before these run)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli() -> Path:
    """The ``timescales`` binary: ``$TIMESCALES_BIN``, else ``target/debug/timescales``
    (built when missing, so the comparison with the program is never skipped)."""
    given = os.environ.get("TIMESCALES_BIN")
    if given:
        path = Path(given)
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        path = target / "debug" / "timescales"
        if not path.exists():
            subprocess.run(["cargo", "build", "--bin", "timescales"], cwd=ROOT, check=True)
    assert path.exists(), f"no timescales binary at {path}"
    return path
