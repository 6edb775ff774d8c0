r"""Chapter 6's figures and slider: PPO's clipped objective, and the diagnostics of runs pushed
too far.

:func:`clip_objective_figure` draws one step's clipped surrogate
:math:`\min(\rho \hat A, \mathrm{clip}(\rho, 1\pm\epsilon)\hat A)` against the ratio ρ for a
positive and a negative advantage (the PPO paper's Figure 1, with the flat — zero-gradient —
stretches shaded). :func:`diagnostics_figure` draws a PPO run's return and the diagnostics a
practitioner watches (approximate KL, clip fraction, entropy, the critic's explained variance)
against environment steps, one run highlighted over the others in grey;
:func:`diagnostics_explorer` puts the choice of run on a slider and :func:`runs_figure` is its
static fallback (one row per run).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..core.history import History

__all__ = [
    "DIAGNOSTICS",
    "clipped_objective",
    "clip_objective_figure",
    "diagnostics_figure",
    "runs_figure",
    "diagnostics_explorer",
]

# what each panel shows: (key, axis label, log scale)
DIAGNOSTICS = (
    ("return", "mean return (last 20)", False),
    ("approx_kl", "approx. KL (log)", True),
    ("clip_fraction", "clip fraction", False),
    ("entropy", "entropy (nats)", False),
    ("explained_variance", "explained variance", False),
)
_KL_FLOOR = 1e-5  # a KL of 0 (a step that did not move) drawn at the floor of the log axis


def clipped_objective(ratio, advantage: float, clip: float) -> np.ndarray:
    r"""One step's PPO objective :math:`\min(\rho \hat A, \mathrm{clip}(\rho, 1-\epsilon,
    1+\epsilon)\hat A)` for an array of ratios ρ (to be *maximised*; the loss is its negative
    mean)."""
    ratio = np.asarray(ratio, dtype=float)
    if ratio.size == 0 or not np.all(np.isfinite(ratio)) or np.any(ratio < 0):
        raise ValueError("ratio must be a non-empty array of finite numbers ≥ 0")
    if isinstance(advantage, bool) or not isinstance(advantage, int | float | np.floating):
        raise ValueError(f"advantage must be a number, got {advantage!r}")
    if isinstance(clip, bool) or not isinstance(clip, int | float) or not 0 < clip < 1:
        raise ValueError(f"clip must be a number in (0, 1), got {clip!r}")
    return np.minimum(ratio * advantage, np.clip(ratio, 1 - clip, 1 + clip) * advantage)


def clip_objective_figure(clip: float = 0.2) -> plt.Figure:
    """Chapter 6: the clipped objective against the ratio for Â = +1 and Â = −1, the unclipped
    ρÂ dashed, the stretches where the objective is flat in ρ (no gradient) shaded."""
    rho = np.linspace(0.0, 2.0, 401)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=False)
    for ax, adv in zip(axes, (1.0, -1.0), strict=True):
        ax.plot(rho, rho * adv, color="0.55", ls="--", lw=1.2, label="unclipped ρÂ")
        ax.plot(rho, clipped_objective(rho, adv, clip), color="C0", lw=2.2,
                label="min(ρÂ, clip(ρ, 1±ε)Â)")  # fmt: skip
        flat = (1 + clip, 2.0) if adv > 0 else (0.0, 1 - clip)
        ax.axvspan(*flat, color="C3", alpha=0.12, label="flat: no gradient")
        for x in (1 - clip, 1 + clip):
            ax.axvline(x, color="0.3", lw=0.8, ls=":", label="1 ± ε" if x < 1 else None)
        ax.axvline(1.0, color="0.3", lw=0.8)
        ax.set_xlim(0, 2)
        ax.set_xlabel("ratio ρ = π_θ(a|s) / π_old(a|s)")
        ax.set_title(f"Â {'> 0' if adv > 0 else '< 0'} (here {adv:+g}), ε = {clip:g}")
        ax.legend(fontsize=8, loc="upper left" if adv > 0 else "lower left")
    axes[0].set_ylabel("objective (maximised)")
    fig.tight_layout()
    return fig


def _check_runs(runs: dict) -> list[str]:
    if not isinstance(runs, dict) or not runs:
        raise ValueError("runs must be a non-empty dict {label: History}")
    for label, h in runs.items():
        if not isinstance(label, str) or not isinstance(h, History):
            raise ValueError(f"runs must map str labels to History objects, got {label!r}")
        missing = [k for k, _, _ in DIAGNOSTICS[1:] if k not in h.diagnostics]
        if missing:
            raise ValueError(f"runs[{label!r}] has no diagnostics {missing} (train it with ppo)")
    return list(runs)


def _series(h: History, key: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(h.iteration_env_steps, dtype=float)
    y = h.iteration_mean_return if key == "return" else h.diagnostics[key]
    y = np.asarray(y, dtype=float)
    if key == "approx_kl":
        y = np.maximum(y, _KL_FLOOR)
    return x[: len(y)], y


def _draw(axes, runs: dict, highlight: str) -> None:
    frames = _Frames(runs)
    frames.static(axes)
    frames.dynamic(axes, highlight)


def diagnostics_figure(runs: dict, highlight: str | None = None) -> plt.Figure:
    """Chapter 6: return and diagnostics against environment steps, ``highlight`` (default:
    the first run) in red over the other runs in grey; what :func:`diagnostics_explorer`
    shows."""
    labels = _check_runs(runs)
    highlight = labels[0] if highlight is None else highlight
    if highlight not in runs:
        raise ValueError(f"highlight must be one of {labels}, got {highlight!r}")
    fig, axes = plt.subplots(1, len(DIAGNOSTICS), figsize=(16, 3.0))
    _draw(axes, runs, highlight)
    fig.suptitle(f"PPO on CartPole-v1 — red: {highlight}; grey: the other runs", fontsize=11)
    fig.tight_layout()
    return fig


def runs_figure(runs: dict) -> plt.Figure:
    """Chapter 6: one row per run (return and diagnostics), the other runs in grey — the
    static fallback of :func:`diagnostics_explorer`."""
    labels = _check_runs(runs)
    fig, axes = plt.subplots(len(labels), len(DIAGNOSTICS), figsize=(16, 2.6 * len(labels)),
                             squeeze=False)  # fmt: skip
    for row, label in zip(axes, labels, strict=True):
        _draw(row, runs, label)
        row[0].set_title(label, loc="left", fontsize=10, color="C3")
    fig.tight_layout()
    return fig


class _Frames:
    """What :func:`diagnostics_explorer` draws: every run in grey once (the static part), the
    chosen run in red on top of it per frame."""

    def __init__(self, runs: dict):
        self.runs = runs

    def static(self, axes) -> None:
        for ax, (key, label, log) in zip(axes, DIAGNOSTICS, strict=True):
            for h in self.runs.values():
                ax.plot(*_series(h, key), color="0.75", lw=1)
            if log:
                ax.set_yscale("log")
            ax.set_ylabel(label, fontsize=9)
            ax.set_xlabel("environment steps", fontsize=9)

    def dynamic(self, axes, highlight: str) -> list:
        artists = []
        for ax, (key, _, _) in zip(axes, DIAGNOSTICS, strict=True):
            artists += ax.plot(*_series(self.runs[highlight], key), color="C3", lw=1.8)
        axes[0].set_title(f"red: {highlight}", loc="left", fontsize=10, color="C3")
        return artists


def diagnostics_explorer(runs: dict, highlight: str | None = None):
    """Chapter 6: a slider over the runs: each run's return and diagnostics in red, the others
    in grey (:func:`diagnostics_figure`, redrawn by blitting; nothing is trained)."""
    import ipywidgets as widgets

    from .blit import BlitFrames, blit_explorer

    labels = _check_runs(runs)
    highlight = labels[0] if highlight is None else highlight
    if highlight not in runs:
        raise ValueError(f"highlight must be one of {labels}, got {highlight!r}")
    frames = _Frames(runs)
    blit = BlitFrames((16, 3.0), len(DIAGNOSTICS), frames.static, frames.dynamic, highlight)
    slider = widgets.SelectionSlider(options=labels, value=highlight, description="run",
                                     layout=widgets.Layout(width="520px"))  # fmt: skip
    return blit_explorer(blit, run=slider)
