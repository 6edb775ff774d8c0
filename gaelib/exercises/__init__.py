"""Layer 4, per-chapter teaching code — exercise checkers: ``check_*`` functions that give
learners feedback, one module a chapter (``gaelib.exercises.ch04.check_gae``).

Each checker takes the learner's function. While the template is untouched (it raises
``NotImplementedError``) the checker prints "not attempted yet" and returns ``False``, so the
notebook still runs top to bottom. Otherwise it runs its cases, prints one line per case and,
for a wrong answer, an explanation of the likely mistake. It returns ``True`` when all pass.

(A package rather than one ``exercises.py``: each chapter's checkers with their wrong-variant
hints fill a module of their own, and chapters can be written side by side.)

Imports from any layer below; never from :mod:`gaelib.widgets`.
"""

import importlib

__all__ = [
    "ch00",
    "ch01",
    "ch02",
    "ch03",
    "ch04",
    "ch04_horizon",
    "ch05",
    "ch05_ppo",
    "ch06",
    "ch07",
    "ch08",
]


def __getattr__(name: str):
    # ``gaelib.exercises.<module>`` works without importing the module first (PEP 562): a module
    # is imported the first time it is named, so ``import gaelib`` loads only what it uses.
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
