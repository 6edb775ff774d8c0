r"""Chapter 1 sliders: Monte-Carlo policy-gradient estimates on the tiny MDP.

The figure function draws from estimates computed once (:func:`precompute_pg_estimates`), so
moving a slider only averages and redraws.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..core._validate import check_positive_int
from ..worlds.pg_toy import TinyMDP, exact_gradient, sample_gradients

__all__ = [
    "BATCH_SIZES",
    "precompute_pg_estimates",
    "batch_estimates",
    "plot_pg_estimates",
    "pg_estimates_figure",
    "pg_estimates_explorer",
]


BATCH_SIZES = (1, 4, 16, 64, 256, 1024)


def precompute_pg_estimates(
    mdp: TinyMDP, theta, *, n_batches: int = 200, max_n: int = 1024, seed: int = 0
) -> dict:
    """Chapter 1: ``n_batches × max_n`` single-episode gradient estimates, without and with
    the baseline, plus the exact gradient. Returns a dict the figure functions read."""
    n_batches = check_positive_int("n_batches", n_batches)
    max_n = check_positive_int("max_n", max_n)
    rng = np.random.default_rng(seed)
    out = {"exact": exact_gradient(mdp, theta), "max_n": max_n}
    for baseline in (False, True):
        g = sample_gradients(mdp, theta, n_batches * max_n, rng, baseline=baseline)
        out[baseline] = g.reshape(n_batches, max_n, -1)
    return out


def batch_estimates(data: dict, n: int, baseline: bool) -> np.ndarray:
    """The estimates from batches of ``n`` episodes, ``[n_batches, d]``."""
    n = check_positive_int("n", n)
    if n > data["max_n"]:
        raise ValueError(f"n must be at most {data['max_n']}, got {n}")
    return data[bool(baseline)][:, :n].mean(axis=1)


def _pg_static(ax: plt.Axes, data: dict, lim: float) -> None:
    exact = data["exact"]
    ax.scatter([exact[0]], [exact[1]], marker="*", s=180, color="C3", zorder=3, label="exact ∇J")
    ax.set_xlim(exact[0] - lim, exact[0] + lim)
    ax.set_ylim(exact[1] - lim, exact[1] + lim)
    ax.set_aspect("equal")
    ax.set_xlabel("∂J/∂θ₀")
    ax.set_ylabel("∂J/∂θ₁")


def _pg_dynamic(ax: plt.Axes, data: dict, n: int, baseline: bool) -> list:
    est = batch_estimates(data, n, baseline)
    var = est.var(axis=0, ddof=1).sum()
    color = "C2" if baseline else "C0"
    dots = ax.scatter(est[:, 0], est[:, 1], s=8, alpha=0.5, color=color, label="estimates")
    ax.set_title(f"{'with' if baseline else 'no'} baseline, N={n}: total var {var:.3g}")
    return [dots]


def plot_pg_estimates(ax: plt.Axes, data: dict, n: int, baseline: bool, lim: float = 3.0):
    """Scatter the batch estimates of the first two gradient components around the exact one."""
    _pg_static(ax, data, lim)
    _pg_dynamic(ax, data, n, baseline)


def pg_estimates_figure(data: dict, n: int, baseline: bool) -> plt.Figure:
    """Chapter 1: what the slider shows — one panel of batch estimates."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    plot_pg_estimates(ax, data, n, baseline)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def pg_estimates_explorer(data: dict):
    """Chapter 1: sliders for the batch size N and the baseline (off/on)."""
    import ipywidgets as widgets
    from matplotlib.lines import Line2D

    from .blit import BlitFrames, blit_explorer

    n = widgets.SelectionSlider(options=list(BATCH_SIZES), value=16, description="episodes N")
    baseline = widgets.ToggleButtons(
        options=[("off", False), ("on", True)], value=False, description="baseline"
    )

    def static(axes):
        _pg_static(axes[0], data, 3.0)
        handles = [
            Line2D([], [], marker="*", ms=12, color="C3", ls="", label="exact ∇J"),
            Line2D([], [], marker="o", ms=4, color="0.4", ls="", label="estimates"),
        ]
        axes[0].legend(handles=handles, loc="upper right")

    frames = BlitFrames(
        (4.6, 4.4), 1, static, lambda axes, v: _pg_dynamic(axes[0], data, v[0], v[1]), (16, False)
    )
    return blit_explorer(frames, n=n, baseline=baseline)
