"""Layer 4, per-chapter teaching code: the sliders and figures of chapter N are
``gaelib.widgets.chNN``; ``blit`` is the fast redraw they share.

Each explorer wraps a plain, tested function that returns a figure (what the static fallback
figures and the latency benchmark call); the explorer only connects it to ipywidgets
sliders. Imports from its own layer (with no cycle) and the layers below; never from
:mod:`gaelib.exercises`.
"""

from typing import TYPE_CHECKING

from ..core._lazy import lazy_submodules

__all__ = ["blit", "ch00", "ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08", "ch09"]

__getattr__, __dir__ = lazy_submodules(__name__, __all__)

if TYPE_CHECKING:  # what a type checker or an IDE sees; at run time each loads on first use
    from . import blit, ch00, ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09

del lazy_submodules, TYPE_CHECKING  # helpers, not modules of the layer
