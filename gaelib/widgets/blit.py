r"""Fast slider redraws shared by every chapter's explorers (chapter 2 introduced them).

A figure is drawn in two parts: a *static* part that does not depend on the sliders (axes,
reference curves, legend) and a *dynamic* part that does. :class:`BlitFrames` draws the static
part once and, for each slider position, redraws only the dynamic artists on top of a saved
background (blitting): an update costs a few milliseconds of drawing plus a PNG encode, not a
whole new figure.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["BlitFrames", "blit_explorer"]


class BlitFrames:
    """Render frames of a figure fast: static part drawn once, dynamic artists per frame.

    Args:
        figsize: figure size in inches; ``ncols``: number of side-by-side axes.
        static: ``static(axes)`` draws what never changes.
        dynamic: ``dynamic(axes, value)`` draws what depends on the slider and returns the
            artists it created (axes titles are redrawn every frame too).
        first: a value used once to lay the figure out.
    """

    def __init__(self, figsize, ncols: int, static: Callable, dynamic: Callable, first: Any):
        self.fig = Figure(figsize=figsize)  # not pyplot's: never shown by the inline backend
        FigureCanvasAgg(self.fig)
        self.axes = list(self.fig.subplots(1, ncols, squeeze=False)[0])
        self.dynamic = dynamic
        static(self.axes)
        for artist in dynamic(self.axes, first):
            artist.remove()
        self.fig.tight_layout()
        for ax in self.axes:
            ax.title.set_animated(True)
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.artists: list = []

    def render(self, value: Any) -> bytes:
        """The PNG bytes of the frame for ``value``."""
        for artist in self.artists:
            artist.remove()
        self.artists = list(self.dynamic(self.axes, value))
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for artist in self.artists:
            artist.axes.draw_artist(artist)
        for ax in self.axes:
            self.fig.draw_artist(ax.title)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, "png", compress_level=1)
        return buf.getvalue()


def blit_explorer(frames: BlitFrames, to_value: Callable | None = None, **sliders: Any):
    """An ``ipywidgets.interactive`` whose sliders (keyword arguments) drive ``frames``.

    With one slider the frame's value is that slider's value; with several, it is
    ``to_value(**values)`` (by default the tuple of values in the order given).
    """
    import ipywidgets as widgets
    from IPython.display import Image as PNG
    from IPython.display import display

    names = list(sliders)

    def show(**kw: Any) -> None:
        if to_value is not None:
            value = to_value(**kw)
        else:
            value = kw[names[0]] if len(names) == 1 else tuple(kw[n] for n in names)
        display(PNG(data=frames.render(value), format="png"))

    return widgets.interactive(show, **sliders)
