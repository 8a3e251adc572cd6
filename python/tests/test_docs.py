"""The examples in the docstrings run and print what they say (from the repository root,
where their relative paths point)."""

from __future__ import annotations

import doctest

import timescales
import timescales._api


def test_docstring_examples(root, monkeypatch):
    monkeypatch.chdir(root)
    for module in (timescales, timescales._api):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0, module
        assert result.failed == 0, module


def test_every_public_name_is_documented():
    for name in timescales.__all__:
        obj = getattr(timescales, name)
        assert obj.__doc__ and len(obj.__doc__.strip()) > 20, name
