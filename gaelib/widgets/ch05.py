r"""Chapter 5 figures and the "train with this λ and γ" widget.

A λ sweep is a dict ``{lam: [History, ...]}`` (one History per seed) from
:func:`gaelib.algorithms.actor_critic.actor_critic`; the figures summarise it on a common grid
of environment steps. The widget trains one more run with the chosen λ and γ and draws it live next
to the sweep's mean curve for that λ.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..core.history import grid_auc, sweep_auc, sweep_curves
from .blit import BlitFrames

__all__ = [
    "plot_lambda_sweep",
    "plot_sweep_auc",
    "plot_learners_auc",
    "lambda_sweep_figure",
    "plot_gamma_lambda_map",
    "gamma_row_figure",
    "grid_rows_figure",
    "grid_explorer",
    "train_explorer",
]


# Okabe & Ito's colour-blind-safe palette (yellow left out: too pale on white), ordered so that
# neighbouring λ values get contrasting hues; up to 7 λ values, then viridis.
_OKABE_ITO = ["#D55E00", "#E69F00", "#CC79A7", "#56B4E9", "#0072B2", "#009E73", "#000000"]


_CHAPTER_LAMS = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 1.0]  # chapter 5's λ values: fixed colours


def _colors(lams) -> dict:
    if all(lam in _CHAPTER_LAMS for lam in lams):  # the same λ, the same colour in every figure
        return {lam: _OKABE_ITO[_CHAPTER_LAMS.index(lam)] for lam in lams}
    if len(lams) <= len(_OKABE_ITO):
        return {lam: _OKABE_ITO[i] for i, lam in enumerate(lams)}
    cmap = plt.get_cmap("viridis")
    return {lam: cmap(i / max(1, len(lams) - 1)) for i, lam in enumerate(lams)}


def plot_lambda_sweep(ax: plt.Axes, sweep: dict) -> None:
    """Chapter 5: mean learning curve over seeds for each λ."""
    grid, curves = sweep_curves(sweep)
    colors = _colors(list(curves))
    for lam, c in curves.items():
        ax.plot(grid, c.mean(axis=0), color=colors[lam], lw=2, label=f"λ={lam:g}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return (mean of last 20 episodes)")
    ax.legend(ncols=2)


def plot_sweep_auc(ax: plt.Axes, sweep: dict) -> None:
    """Chapter 5: area under the curve per λ, mean ± standard error over seeds."""
    auc = sweep_auc(sweep)
    lams = list(auc)
    colors = _colors(lams)
    means = [auc[lam].mean() for lam in lams]
    ses = [
        auc[lam].std(ddof=1) / math.sqrt(len(auc[lam])) if len(auc[lam]) > 1 else 0.0
        for lam in lams
    ]
    x = np.arange(len(lams))
    ax.bar(x, means, yerr=ses, color=[colors[lam] for lam in lams], capsize=3)
    for i, lam in enumerate(lams):
        ax.plot(np.full(len(auc[lam]), i), auc[lam], "k.", ms=4)
    ax.set_xticks(x, [f"{lam:g}" for lam in lams])
    ax.set_xlabel("λ")
    ax.set_ylabel("mean return over training (AUC)")


def plot_learners_auc(ax: plt.Axes, aucs: dict, random_level: float | None = None) -> None:
    """Chapter 5: the AUC per λ of several learners side by side — ``aucs`` maps a learner's
    name to ``{lam: array over seeds}`` (from :func:`gaelib.core.history.sweep_auc`); bars show the
    mean, dots the seeds; ``random_level`` draws a random policy's score as a dashed line."""
    if not aucs or not all(isinstance(v, dict) and v for v in aucs.values()):
        raise ValueError("aucs must map each learner to a non-empty {lam: scores} dict")
    lams = sorted({lam for v in aucs.values() for lam in v})
    colors = _colors(lams)
    width = 0.8 / len(aucs)
    hatches = ["", "//", "..", "xx"]
    for j, auc in enumerate(aucs.values()):
        for i, lam in enumerate(lams):
            if lam not in auc:
                continue
            x = i - 0.4 + width * (j + 0.5)
            ax.bar([x], [np.mean(auc[lam])], width * 0.9, color=colors[lam], alpha=0.85,
                   hatch=hatches[j % len(hatches)], edgecolor="k", lw=0.6)  # fmt: skip
            ax.plot(np.full(len(auc[lam]), x), auc[lam], "k.", ms=4)
    # legend swatches in neutral grey: the hatch tells the learners apart, the colour is λ's
    handles = [
        Patch(facecolor="0.85", edgecolor="k", hatch=hatches[j % len(hatches)], label=name)
        for j, name in enumerate(aucs)
    ]
    if random_level is not None:
        ax.axhline(random_level, color="0.3", ls="--", lw=1)
        handles.append(Line2D([], [], color="0.3", ls="--", lw=1, label="random policy"))
    ax.set_xticks(np.arange(len(lams)), [f"{lam:g}" for lam in lams])
    ax.set_xlabel("λ")
    ax.set_ylabel("mean return over training (AUC)")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def lambda_sweep_figure(sweep: dict) -> plt.Figure:
    """Chapter 5: one panel per λ (seeds thin, mean thick) — the static fallback figure."""
    grid, curves = sweep_curves(sweep)
    lams = list(curves)
    colors = _colors(lams)
    fig, axes = plt.subplots(1, len(lams), figsize=(2.3 * len(lams), 2.8), sharey=True)
    for ax, lam in zip(np.atleast_1d(axes), lams, strict=True):
        for c in curves[lam]:
            ax.plot(grid, c, color=colors[lam], alpha=0.35, lw=0.8)
        ax.plot(grid, curves[lam].mean(axis=0), color=colors[lam], lw=2.2)
        ax.set_title(f"λ = {lam:g}")
        ax.set_xlabel("steps")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    np.atleast_1d(axes)[0].set_ylabel("return (last 20)")
    fig.tight_layout()
    return fig


def plot_gamma_lambda_map(ax: plt.Axes, grid: dict) -> None:
    """Chapter 5: the γ × λ heat map of mean AUC (numbers in the cells; each row's best λ
    framed) — our analogue of the GAE paper's Figure 2 (right)."""
    gammas, lams, mean, _ = grid_auc(grid)
    im = ax.imshow(mean, cmap="viridis", aspect="auto", origin="lower")
    lo, hi = np.nanmin(mean), np.nanmax(mean)
    for i in range(len(gammas)):
        for j in range(len(lams)):
            light = mean[i, j] < lo + 0.6 * (hi - lo)
            ax.text(j, i, f"{mean[i, j]:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if light else "black")  # fmt: skip
        j = int(np.nanargmax(mean[i]))
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="C3", lw=2))
    ax.set_xticks(range(len(lams)), [f"{lam:g}" for lam in lams])
    ax.set_yticks(range(len(gammas)), [f"{g:g}" for g in gammas])
    ax.set_xlabel("λ")
    ax.set_ylabel("γ")
    ax.grid(False)
    ax.figure.colorbar(im, ax=ax, label="mean return over training (AUC)")


class _GridRows:
    """What the γ explorer draws, computed once: mean curves and AUC per (γ, λ)."""

    def __init__(self, grid: dict):
        self.gammas, self.lams, self.mean, self.se = grid_auc(grid)
        self.x, curves = sweep_curves(grid)
        self.curves = {k: c.mean(axis=0) for k, c in curves.items()}
        self.colors = _colors(self.lams)
        self.ymax = 1.1 * float(np.nanmax(self.mean + self.se))
        self.cmax = 1.05 * max(float(c.max()) for c in self.curves.values())

    def check(self, gamma) -> int:
        if gamma not in self.gammas:
            raise ValueError(f"gamma must be one of the grid's {self.gammas}, got {gamma!r}")
        return self.gammas.index(gamma)

    def bar_axes(self, ax1) -> None:
        ax1.set_xticks(range(len(self.lams)), [f"{lam:g}" for lam in self.lams])
        ax1.set_xlim(-0.6, len(self.lams) - 0.4)
        ax1.set_ylim(0, self.ymax)
        ax1.set_xlabel("λ")
        ax1.set_ylabel("AUC (± s.e.)")

    def static(self, axes) -> None:
        ax0, ax1 = axes
        ax0.set_xlim(0, self.x[-1])
        ax0.set_ylim(0, self.cmax)
        ax0.set_xlabel("environment steps")
        ax0.set_ylabel("return (mean of last 20)")
        self.bar_axes(ax1)
        handles = [Line2D([], [], color=self.colors[lam], lw=1.8, label=f"λ={lam:g}")
                   for lam in self.lams]  # fmt: skip
        ax0.legend(handles=handles, ncols=2, fontsize=8, loc="upper left")  # drawn once

    def dynamic(self, axes, gamma) -> list:
        i = self.check(gamma)
        ax0, ax1 = axes
        artists = []
        for lam in self.lams:
            artists += ax0.plot(self.x, self.curves[(gamma, lam)], color=self.colors[lam], lw=1.8)
        best = int(np.nanargmax(self.mean[i]))
        edges = ["C3" if j == best else "none" for j in range(len(self.lams))]
        bars = ax1.bar(range(len(self.lams)), self.mean[i], lw=2.5, ec=edges,
                       color=[self.colors[lam] for lam in self.lams])  # fmt: skip
        artists += list(bars.patches)
        artists.append(ax1.vlines(range(len(self.lams)), self.mean[i] - self.se[i],
                                  self.mean[i] + self.se[i], color="k", lw=1.2))  # fmt: skip
        ax0.set_title(f"γ = {gamma:g}: mean learning curve per λ")
        ax1.set_title(f"γ = {gamma:g}: AUC per λ (red: best)")
        return artists


def gamma_row_figure(grid: dict, gamma: float) -> plt.Figure:
    """Chapter 5: one row of a γ × λ grid — the mean learning curve per λ and the AUC per λ
    (± standard error, best λ framed) at ``gamma``; what :func:`grid_explorer` shows."""
    rows = _GridRows(grid)
    rows.check(gamma)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    rows.static(axes)
    rows.dynamic(axes, gamma)
    fig.tight_layout()
    return fig


def grid_rows_figure(grid: dict) -> plt.Figure:
    """Chapter 5: AUC per λ for every γ of the grid side by side (± s.e., best λ framed) —
    the static fallback of :func:`grid_explorer`."""
    rows = _GridRows(grid)
    n = len(rows.gammas)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.9), sharey=True)
    for ax, gamma in zip(np.atleast_1d(axes), rows.gammas, strict=True):
        rows.bar_axes(ax)
        ax.set_ylabel("")
        i = rows.check(gamma)
        best = int(np.nanargmax(rows.mean[i]))
        for j, lam in enumerate(rows.lams):
            ax.bar([j], [rows.mean[i, j]], color=rows.colors[lam],
                   ec="C3" if j == best else "none", lw=2)  # fmt: skip
        ax.vlines(range(len(rows.lams)), rows.mean[i] - rows.se[i], rows.mean[i] + rows.se[i],
                  color="k", lw=1)  # fmt: skip
        ax.set_xticks(range(len(rows.lams)), [f"{lam:g}" for lam in rows.lams], fontsize=7)
        ax.set_title(f"γ = {gamma:g}")
    np.atleast_1d(axes)[0].set_ylabel("AUC (± s.e.)")
    fig.tight_layout()
    return fig


def grid_explorer(grid: dict, gamma: float = 0.99):
    """Chapter 5: a γ slider over a γ × λ grid: which λ learns fastest at each horizon
    (:func:`gamma_row_figure`, redrawn by blitting; nothing is trained)."""
    import ipywidgets as widgets

    from .blit import BlitFrames, blit_explorer

    rows = _GridRows(grid)
    rows.check(gamma)
    slider = widgets.SelectionSlider(options=rows.gammas, value=gamma, description="γ")
    frames = BlitFrames((11, 3.4), 2, rows.static, rows.dynamic, gamma)
    return blit_explorer(frames, gamma=slider)


def train_explorer(
    sweep: dict | None = None,
    *,
    total_steps: int = 40_000,
    lam: float = 0.95,
    gamma: float = 0.99,
    seed: int = 100,
    **trainer_kwargs,
):
    """Chapter 5: choose λ and γ, press *train*: one actor-critic run, drawn live.

    Uses :func:`gaelib.algorithms.actor_critic.actor_critic` with ``total_steps`` and
    ``trainer_kwargs`` (pass the sweep's settings so the runs are comparable). ``sweep`` is a λ
    sweep ``{lam: runs}`` or a γ × λ grid ``{(gamma, lam): runs}``; its mean curve for the chosen λ
    (and γ), if it has one, is drawn in grey. About a second per run on 2 cores at 40k steps.
    """
    import ipywidgets as widgets
    from IPython.display import Image as PNG
    from IPython.display import display

    from ..algorithms.actor_critic import actor_critic

    grid, curves = sweep_curves(sweep) if sweep else (None, {})
    by_pair = bool(curves) and all(isinstance(k, tuple) for k in curves)
    key = (lambda g, lam: (g, lam)) if by_pair else (lambda g, lam: lam)  # noqa: E731
    lam_options = sorted({0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 1.0, lam,
                          *(k[1] if by_pair else k for k in curves)})  # fmt: skip
    gamma_options = sorted({0.9, 0.95, 0.98, 0.99, 0.995, 1.0, gamma,
                            *(k[0] for k in curves if by_pair)})  # fmt: skip
    lam_s = widgets.SelectionSlider(options=lam_options, value=lam, description="λ")
    gamma_s = widgets.SelectionSlider(options=gamma_options, value=gamma, description="γ")
    button = widgets.Button(description="train", button_style="primary", icon="play")
    bar = widgets.IntProgress(min=0, max=total_steps, description="steps")
    status = widgets.Label("press train")
    out = widgets.Output()
    ymax = 520.0

    def static(axes):
        ax = axes[0]
        ax.set_xlim(0, total_steps)
        ax.set_ylim(0, ymax)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("return (mean of last 20 episodes)")

    def dynamic(axes, state):
        ax = axes[0]
        lam_, gamma_, xs, ys = state
        artists = []
        k = key(gamma_, lam_)
        if k in curves:
            what = f"γ={gamma_:g}, λ={lam_:g}" if by_pair else f"λ={lam_:g}"
            artists += ax.plot(
                grid, curves[k].mean(axis=0), color="0.6", lw=2, label=f"sweep mean, {what}"
            )
        artists += ax.plot(xs, ys, color="C3", lw=2, label=f"this run: λ={lam_:g}, γ={gamma_:g}")
        artists.append(ax.legend(loc="upper left"))
        ax.set_title(f"actor-critic with GAE(γ={gamma_:g}, λ={lam_:g})")
        return artists

    frames = BlitFrames((6.4, 3.6), 1, static, dynamic, (lam, gamma, [], []))

    def show(state):
        out.clear_output(wait=True)
        with out:
            display(PNG(data=frames.render(state), format="png"))

    def train(_=None):
        lam_, gamma_ = float(lam_s.value), float(gamma_s.value)
        xs, ys = [], []
        button.disabled = True
        status.value = "training…"

        def on_iteration(steps, mean_return):
            bar.value = min(steps, total_steps)
            if not np.isnan(mean_return):
                xs.append(steps)
                ys.append(mean_return)
            if len(xs) % 25 == 1:
                show((lam_, gamma_, list(xs), list(ys)))

        try:
            h = actor_critic(
                seed=seed,
                lam=lam_,
                gamma=gamma_,
                total_steps=total_steps,
                on_iteration=on_iteration,
                **trainer_kwargs,
            )
            show((lam_, gamma_, xs, ys))
            status.value = (
                f"done in {h.wall_time:.1f} s: last-20 mean return "
                f"{h.episode_returns[-20:].mean():.0f}"
            )
        finally:
            button.disabled = False

    button.on_click(train)
    show((lam, gamma, [], []))
    return widgets.VBox([widgets.HBox([lam_s, gamma_s]), widgets.HBox([button, bar, status]), out])
