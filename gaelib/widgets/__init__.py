"""Layer 4, per-chapter teaching code: the sliders and figures of chapter N are
``gaelib.widgets.chNN``; ``blit`` is the fast redraw they share.

Each explorer wraps a plain, tested function that returns a figure (what the static fallback
figures and the latency benchmark call); the explorer only connects it to ipywidgets
sliders. Imports from any layer below; never from :mod:`gaelib.exercises`.
"""

import importlib

__all__ = ["blit", "ch00", "ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07"]


def __getattr__(name: str):
    # ``gaelib.widgets.<module>`` works without importing the module first (PEP 562): a module
    # is imported the first time it is named, so ``import gaelib`` loads only what it uses.
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
