r"""Chapter 0's slider: how γ weights future rewards, and the effective horizon.

Like every module of :mod:`gaelib.widgets`, each explorer wraps a plain, tested function
that returns a figure; the figure function does the work (and is what the static fallback
figures and the latency benchmark call); the explorer only connects it to ipywidgets sliders.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..core._validate import check_positive_int, check_unit_interval
from ..core.advantages import effective_horizon

__all__ = [
    "plot_discount_weights",
    "discount_weights_figure",
    "discount_explorer",
]


def _discount_static(ax: plt.Axes, max_k: int) -> None:
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, max_k)
    ax.set_xlabel("steps ahead k")
    ax.set_ylabel("weight γ^k")


def _discount_dynamic(ax: plt.Axes, gamma: float, max_k: int) -> list:
    gamma = check_unit_interval("gamma", gamma)
    k = np.arange(max_k + 1)
    w = gamma**k
    artists = [*ax.plot(k, w, color="C0", lw=1.5), ax.fill_between(k, w, alpha=0.35, color="C0")]
    h = effective_horizon(gamma)
    if h <= max_k:
        artists.append(ax.axvline(h, color="C3", ls="--", lw=1.2, label=f"1/(1-γ) = {h:.3g} steps"))
        # label the line at the top of the axes, on the side with room: to its right while the
        # line is in the left half (right of it the curve is below γ^H ≈ e^-1), else to its left
        right = h <= max_k / 2
        artists.append(
            ax.annotate(
                f"1/(1-γ) = {h:.3g}",
                xy=(h, 0.98),
                xycoords=ax.get_xaxis_transform(),
                xytext=(4 if right else -4, 0),
                textcoords="offset points",
                ha="left" if right else "right",
                va="top",
                color="C3",
                fontsize=9,
            )
        )
    ax.set_title(f"γ = {gamma:.3g}")
    return artists


def plot_discount_weights(ax: plt.Axes, gamma: float, max_k: int = 150) -> None:
    r"""Chapter 0: draw the weights :math:`\gamma^k` of a reward k steps ahead on ``ax``."""
    max_k = check_positive_int("max_k", max_k)
    _discount_static(ax, max_k)
    _discount_dynamic(ax, gamma, max_k)


def discount_weights_figure(gamma: float, max_k: int = 150) -> plt.Figure:
    """Chapter 0: one figure of the discount weights for one γ (what the slider shows)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    plot_discount_weights(ax, gamma, max_k)
    fig.tight_layout()
    return fig


def discount_explorer(gamma: float = 0.9, max_k: int = 150):
    """Chapter 0: a γ slider over :func:`discount_weights_figure`."""
    import ipywidgets as widgets

    from .blit import BlitFrames, blit_explorer

    gamma = check_unit_interval("gamma", gamma)
    max_k = check_positive_int("max_k", max_k)
    slider = widgets.FloatSlider(
        value=gamma, min=0.0, max=0.99, step=0.01, description="γ", readout_format=".2f"
    )
    frames = BlitFrames(
        (6.4, 3.2),
        1,
        lambda axes: _discount_static(axes[0], max_k),
        lambda axes, g: _discount_dynamic(axes[0], g, max_k),
        gamma,
    )
    return blit_explorer(frames, gamma=slider)
