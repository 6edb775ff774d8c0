"""Subpackages and modules loaded the first time they are named (PEP 562).

Each layer's ``__init__.py`` lists its modules in ``__all__`` and calls
:func:`lazy_submodules`, so that ``gaelib.algorithms.ppo.ppo`` works after a bare
``import gaelib`` while ``import gaelib`` itself loads only what its short names need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from types import ModuleType

__all__ = ["lazy_submodules"]


def lazy_submodules(
    package: str, names: Sequence[str]
) -> tuple[Callable[[str], ModuleType], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package named ``package``: ``package.<name>``, for a
    name in ``names``, imports the submodule on first use; any other name is an
    ``AttributeError``, as for a plain module."""
    names = tuple(names)

    def __getattr__(name: str) -> ModuleType:
        if name in names:
            return importlib.import_module(f".{name}", package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(importlib.import_module(package)), *names})

    return __getattr__, __dir__
