r"""Chapter 2 figures and sliders: TD(0) vs Monte Carlo, and n-step TD, on the random walk.

Each figure is drawn in two parts: a *static* part that does not depend on the slider (axes,
reference curves, legend) and a *dynamic* part that does. The figure functions draw both; a
slider draws the static part once and, when moved, redraws only the dynamic artists on top of
a saved background (blitting) — so an update is a few milliseconds of drawing plus a PNG
encode, not a whole new figure. The data come from a
:class:`gaelib.algorithms.td_prediction.PredictionSweep` computed once.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from ..algorithms.td_prediction import PredictionSweep
from ..worlds.mdp import random_walk_true_values
from .blit import BlitFrames, blit_explorer

__all__ = [
    "n_label",
    "plot_td_mc_curves",
    "td_mc_figure",
    "td_mc_learning_curves_figure",
    "td_mc_explorer",
    "nstep_avg_rms",
    "plot_nstep_rms",
    "plot_nstep_estimate",
    "nstep_figure",
    "nstep_rms_vs_alpha_figure",
    "nstep_explorer",
]


def n_label(n: int | None) -> str:
    """``'n=4'``, or ``'MC (n=∞)'`` for ``None``."""
    return "MC (n=∞)" if n is None else f"n={n}"


def _alpha_index(sweep: PredictionSweep, alpha: float) -> int:
    hits = np.flatnonzero(np.isclose(sweep.alphas, alpha, rtol=0, atol=1e-9))
    if hits.size == 0:
        raise ValueError(f"alpha must be one of the sweep's step sizes {sweep.alphas.tolist()}")
    return int(hits[0])


def _n_index(sweep: PredictionSweep, n: int | None) -> int:
    if n not in sweep.ns:
        raise ValueError(f"n must be one of the sweep's {list(sweep.ns)}, got {n!r}")
    return sweep.ns.index(n)


def _td_mc(sweep: PredictionSweep) -> tuple[int, int]:
    if 1 not in sweep.ns or None not in sweep.ns:
        raise ValueError("sweep must include n=1 (TD(0)) and None (Monte Carlo)")
    return sweep.ns.index(1), sweep.ns.index(None)


# ------------------------------------------------------------- TD(0) vs Monte Carlo


def _td_mc_static(ax: plt.Axes, sweep: PredictionSweep) -> None:
    td, mc = _td_mc(sweep)
    mean = sweep.mean_rms()
    episodes = np.arange(mean.shape[-1])
    for k, color in ((td, "C0"), (mc, "C3")):
        ax.plot(episodes, mean[k].min(axis=0), color=color, lw=1, ls="--", alpha=0.6)
    handles = [
        Line2D([], [], color="C0", lw=2, label="TD(0) at this α"),
        Line2D([], [], color="C3", lw=2, label="Monte Carlo at this α"),
        Line2D([], [], color="C0", lw=1, ls="--", alpha=0.6, label="TD(0), best α at each episode"),
        Line2D([], [], color="C3", lw=1, ls="--", alpha=0.6, label="MC, best α at each episode"),
    ]
    ax.legend(handles=handles, loc="upper right")
    ax.set_xlabel("episodes")
    ax.set_ylabel("RMS error over the 19 states")
    ax.set_ylim(0, 0.75)
    ax.set_xlim(0, episodes[-1])


def _td_mc_dynamic(ax: plt.Axes, sweep: PredictionSweep, alpha: float) -> list:
    td, mc = _td_mc(sweep)
    a = _alpha_index(sweep, alpha)
    mean = sweep.mean_rms()
    episodes = np.arange(mean.shape[-1])
    lines = ax.plot(episodes, mean[td, a], color="C0", lw=2)
    lines += ax.plot(episodes, mean[mc, a], color="C3", lw=2)
    ax.set_title(
        f"α = {alpha:g}: after {episodes[-1]} episodes TD(0) {mean[td, a, -1]:.3f}, "
        f"MC {mean[mc, a, -1]:.3f}"
    )
    return lines


def plot_td_mc_curves(ax: plt.Axes, sweep: PredictionSweep, alpha: float) -> None:
    """Chapter 2: RMS error vs episodes of TD(0) and constant-α MC at one step size α.

    Dashed: the best step size of each method at every episode count (the lower envelope).
    """
    _td_mc_static(ax, sweep)
    _td_mc_dynamic(ax, sweep, alpha)


def td_mc_figure(sweep: PredictionSweep, alpha: float) -> plt.Figure:
    """Chapter 2: what the α slider shows (one :func:`plot_td_mc_curves` panel)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    plot_td_mc_curves(ax, sweep, alpha)
    fig.tight_layout()
    return fig


def td_mc_learning_curves_figure(
    sweep: PredictionSweep, td_alphas: Sequence[float], mc_alphas: Sequence[float]
) -> plt.Figure:
    """Chapter 2: RMS error vs episodes for several α of each method (the right-hand graph of
    Sutton & Barto's Example 6.2, here on the 19-state walk)."""
    td, mc = _td_mc(sweep)
    mean = sweep.mean_rms()
    episodes = np.arange(mean.shape[-1])
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for k, alphas, cmap, name in ((td, td_alphas, "Blues", "TD(0)"), (mc, mc_alphas, "Reds", "MC")):
        shades = plt.get_cmap(cmap)(np.linspace(0.45, 0.95, len(alphas)))
        for alpha, color in zip(alphas, shades, strict=True):
            a = _alpha_index(sweep, alpha)
            ax.plot(episodes, mean[k, a], color=color, lw=1.6, label=f"{name} α={alpha:g}")
    ax.set_xlabel("episodes")
    ax.set_ylabel("RMS error, averaged over runs")
    ax.set_ylim(0, 0.6)
    ax.set_xlim(0, episodes[-1])
    ax.set_title(f"19-state random walk: TD(0) vs constant-α MC ({sweep.rms.shape[-1]} runs)")
    ax.legend(ncol=2, loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def td_mc_explorer(sweep: PredictionSweep, alpha: float = 0.1):
    """Chapter 2: an α slider over :func:`td_mc_figure` (the sweep is computed once)."""
    import ipywidgets as widgets

    _td_mc(sweep)
    a = _alpha_index(sweep, alpha)
    options = [(f"{x:g}", float(x)) for x in sweep.alphas]
    slider = widgets.SelectionSlider(options=options, value=options[a][1], description="α")
    frames = BlitFrames(
        (6.4, 3.4),
        1,
        lambda axes: _td_mc_static(axes[0], sweep),
        lambda axes, x: _td_mc_dynamic(axes[0], sweep, x),
        options[a][1],
    )
    return blit_explorer(frames, alpha=slider)


# ------------------------------------------------------------------- n-step TD


def nstep_avg_rms(sweep: PredictionSweep) -> np.ndarray:
    """``[K, A]``: RMS error averaged over runs and over episodes 1..E (S&B Figure 7.2)."""
    return sweep.rms[:, :, 1:, :].mean(axis=(2, 3))


def _nstep_rms_static(ax: plt.Axes, sweep: PredictionSweep, highlight: bool) -> None:
    avg = nstep_avg_rms(sweep)
    # Without a highlight: distinct colours, a dot at each curve's minimum, and n = 128 and 256
    # left out (their curves lie between n = 64 and n = 512 and would be indistinguishable).
    shown = [k for k, nk in enumerate(sweep.ns) if nk not in (128, 256)]
    for j, k in enumerate(shown if not highlight else range(len(sweep.ns))):
        if highlight:
            ax.plot(sweep.alphas, avg[k], color="0.75", lw=1)
        else:
            color = plt.get_cmap("tab10")(j % 10)
            ax.plot(sweep.alphas, avg[k], color=color, lw=1.5, label=n_label(sweep.ns[k]))
            best = int(np.argmin(avg[k]))
            ax.plot(sweep.alphas[best], avg[k, best], "o", color=color, ms=4)
    if not highlight:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="dot: best α")
    ax.set_xlabel("step size α")
    ax.set_ylabel(f"RMS error, first {sweep.rms.shape[2] - 1} episodes")
    ax.set_ylim(0.2, 0.6)
    ax.set_xlim(0, 1)


def _nstep_rms_dynamic(ax: plt.Axes, sweep: PredictionSweep, n: int | None) -> list:
    avg = nstep_avg_rms(sweep)
    k = _n_index(sweep, n)
    best = int(np.argmin(avg[k]))
    artists = ax.plot(sweep.alphas, avg[k], color="C1", lw=2.5)
    artists += ax.plot(sweep.alphas[best], avg[k, best], "o", color="C1")
    ax.set_title(f"{n_label(n)}: best α={sweep.alphas[best]:g}, RMS {avg[k, best]:.3f}")
    return artists


def plot_nstep_rms(ax: plt.Axes, sweep: PredictionSweep, n: int | None = None) -> None:
    """Chapter 2: average RMS error vs α; one coloured curve per n, or, given ``n``, that
    n highlighted over the others in grey."""
    _nstep_rms_static(ax, sweep, highlight=n is not None)
    if n is not None:
        _nstep_rms_dynamic(ax, sweep, n)


def _estimate_static(ax: plt.Axes, sweep: PredictionSweep) -> None:
    n_states = sweep.values.shape[-1] - 2
    s = np.arange(1, n_states + 1)
    ax.plot(s, random_walk_true_values(n_states)[1:-1], color="k", lw=1)
    handles = [
        Line2D([], [], color="k", lw=1, label="true V"),
        Line2D([], [], color="C1", lw=2, label="mean of runs"),
        Line2D([], [], color="C1", lw=8, alpha=0.25, label="10–90% of runs"),
        Line2D([], [], color="C1", ls="", marker="o", ms=3.5, mec="k", mew=0.4, label="run 0"),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    ax.set_ylim(-1.25, 1.25)
    ax.set_xlim(0.5, n_states + 0.5)
    ax.set_xticks([1, 5, 10, 15, n_states])
    ax.set_xlabel("state s")
    ax.set_ylabel("V(s)")


def _estimate_dynamic(ax: plt.Axes, sweep: PredictionSweep, n: int | None, run: int = 0):
    k = _n_index(sweep, n)
    a = int(np.argmin(nstep_avg_rms(sweep)[k]))
    v = sweep.values[k, a][:, 1:-1]
    s = np.arange(1, v.shape[-1] + 1)
    lo, hi = np.percentile(v, [10, 90], axis=0)
    artists = [ax.fill_between(s, lo, hi, color="C1", alpha=0.25, lw=0)]
    artists += ax.plot(s, v.mean(axis=0), color="C1", lw=2)
    artists += ax.plot(s, v[run], "o", color="C1", ms=3.5, mec="k", mew=0.4)
    ax.set_title(f"{n_label(n)}, α={sweep.alphas[a]:g}: V after {sweep.rms.shape[2] - 1} episodes")
    return artists


def plot_nstep_estimate(ax: plt.Axes, sweep: PredictionSweep, n: int | None) -> None:
    """Chapter 2: V after the sweep's episodes for one n at its best α, against the truth.

    Line: mean over runs (its gap to the truth is the bias); band: 10–90 % of runs (the
    spread is the variance); dots: run 0.
    """
    _estimate_static(ax, sweep)
    _estimate_dynamic(ax, sweep, n)


def nstep_figure(sweep: PredictionSweep, n: int | None) -> plt.Figure:
    """Chapter 2: what the n slider shows (:func:`plot_nstep_rms` and the estimate)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    plot_nstep_rms(axes[0], sweep, n)
    plot_nstep_estimate(axes[1], sweep, n)
    fig.tight_layout()
    return fig


def nstep_rms_vs_alpha_figure(sweep: PredictionSweep) -> plt.Figure:
    """Chapter 2: every n's average RMS error vs α (S&B Figure 7.2)."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    plot_nstep_rms(ax, sweep)
    ax.set_title(f"n-step TD on the 19-state random walk ({sweep.rms.shape[-1]} runs)")
    fig.tight_layout()
    return fig


def _nstep_frames(sweep: PredictionSweep, first: int | None) -> BlitFrames:
    def static(axes):
        _nstep_rms_static(axes[0], sweep, highlight=True)
        _estimate_static(axes[1], sweep)

    def dynamic(axes, n):
        return _nstep_rms_dynamic(axes[0], sweep, n) + _estimate_dynamic(axes[1], sweep, n)

    return BlitFrames((10, 3.4), 2, static, dynamic, first)


def nstep_explorer(sweep: PredictionSweep, n: int | None = 4):
    """Chapter 2: an n slider over :func:`nstep_figure` (the sweep is computed once)."""
    import ipywidgets as widgets

    k = _n_index(sweep, n)
    # The slider's values are positions in sweep.ns (an option's value may not be None).
    options = [(n_label(x).removeprefix("n="), i) for i, x in enumerate(sweep.ns)]
    slider = widgets.SelectionSlider(options=options, value=k, description="n")
    return blit_explorer(_nstep_frames(sweep, n), lambda k: sweep.ns[k], k=slider)
