"""The exceptions of ``timescales``.

``ScenarioError`` (a ``ValueError``) is raised for bad input and names the key or argument at
fault; ``SolverError`` (a ``RuntimeError``) when an integration or a study fails, with the
context of the failure; ``OutputError`` (an ``OSError``) when result files cannot be written;
``Interrupted`` (a ``KeyboardInterrupt``) when Ctrl-C or Jupyter's interrupt stopped a call,
with what had finished in ``partial``.
"""

from __future__ import annotations

from typing import Any, Optional


class TimescalesError(Exception):
    """Base class of the errors raised by ``timescales``."""


class ScenarioError(TimescalesError, ValueError):
    """Bad input: the message names the key or argument at fault."""


class SolverError(TimescalesError, RuntimeError):
    """An integration or a study failed; the message carries the whole chain of causes."""


class OutputError(TimescalesError, OSError):
    """A result file could not be written."""


class Interrupted(KeyboardInterrupt):
    """The call was interrupted (Ctrl-C, Jupyter's interrupt, SIGINT).

    ``partial`` holds what finished before the interrupt (a partial ``Run`` or ``Sweep``),
    or ``None``. A sweep with ``out=`` keeps its finished points there: the same call again
    resumes.
    """

    def __init__(self, message: str = "interrupted", partial: Optional[Any] = None) -> None:
        super().__init__(message)
        self.partial = partial
