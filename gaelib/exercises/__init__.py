"""Layer 4, per-chapter teaching code — exercise checkers: ``check_*`` functions that give
learners feedback, one module a chapter (``gaelib.exercises.ch04.check_gae``).

Each checker takes the learner's function. While the template is untouched (it raises
``NotImplementedError``) the checker prints "not attempted yet" and returns ``False``, so the
notebook still runs top to bottom. Otherwise it runs its cases, prints one line per case and,
for a wrong answer, an explanation of the likely mistake. It returns ``True`` when all pass.

(A package rather than one ``exercises.py``: each chapter's checkers with their wrong-variant
hints fill a module of their own, and chapters can be written side by side.)

Imports from its own layer (with no cycle) and the layers below; never from
:mod:`gaelib.widgets`.
"""

from typing import TYPE_CHECKING

from ..core._lazy import lazy_submodules

__all__ = [
    "ch00",
    "ch01",
    "ch02",
    "ch03",
    "ch04",
    "ch04_horizon",
    "ch05",
    "ch05_targets",
    "ch06",
    "ch06_bugs",
    "ch07",
    "ch08",
    "ch09",
    "ch10",
]

__getattr__, __dir__ = lazy_submodules(__name__, __all__)

if TYPE_CHECKING:  # what a type checker or an IDE sees; at run time each loads on first use
    from . import (
        ch00,
        ch01,
        ch02,
        ch03,
        ch04,
        ch04_horizon,
        ch05,
        ch05_targets,
        ch06,
        ch06_bugs,
        ch07,
        ch08,
        ch09,
        ch10,
    )

del lazy_submodules, TYPE_CHECKING  # helpers, not modules of the layer
