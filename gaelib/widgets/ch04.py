r"""Chapter 4 figures and sliders: GAE's weights, advantages along a trajectory, and the exact
bias–variance trade-off in λ.

Each figure has a static part (axes, fixed limits, legend) and a dynamic part (what the
sliders move); the explorers redraw only the dynamic part (:mod:`gaelib.widgets.blit`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from ..core._validate import check_positive_int, check_unit_interval
from ..core.advantages import compute_gae
from ..worlds.estimators import CriticErrorProblem
from .blit import BlitFrames, blit_explorer

__all__ = [
    "plot_gae_weights",
    "gae_weights_figure",
    "gae_weights_explorer",
    "Trajectory",
    "plot_trajectory_advantages",
    "trajectory_advantages_figure",
    "trajectory_advantages_explorer",
    "plot_bias_variance",
    "bias_variance_figure",
    "bias_variance_explorer",
]


GAMMAS = (0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0)


LAMS = (0.0, 0.5, 0.8, 0.9, 0.92, 0.95, 0.97, 0.98, 0.99, 1.0)


def _slider(name: str, options, value):
    import ipywidgets as widgets

    opts = [(f"{x:g}", float(x)) for x in options]
    if float(value) not in [o[1] for o in opts]:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
    return widgets.SelectionSlider(options=opts, value=float(value), description=name)


# ------------------------------------------------------------- (a) the weights (γλ)^k


def _weights_static(ax: plt.Axes, max_k: int) -> None:
    ax.set_xlim(0, max_k)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("steps ahead l")
    ax.set_ylabel(r"weight $(\gamma\lambda)^l$ of $\delta_{t+l}$")


def _weights_dynamic(ax: plt.Axes, gamma: float, lam: float, max_k: int) -> list:
    gamma, lam = check_unit_interval("gamma", gamma), check_unit_interval("lam", lam)
    k = np.arange(max_k + 1)
    w = (gamma * lam) ** k
    c = gamma * lam
    h = math.inf if c == 1.0 else 1.0 / (1.0 - c)
    artists = [ax.fill_between(k, w, alpha=0.3, color="C0"), *ax.plot(k, w, color="C0")]
    if h <= max_k:
        artists.append(ax.axvline(h, color="C3", ls="--", lw=1.2))
    h_text = "∞" if math.isinf(h) else f"{h:.3g}"
    unit = "step" if h == 1 else "steps"
    drawn = " (dashed)" if h <= max_k else ""
    ax.set_title(f"γ={gamma:g}, λ={lam:g}\nhorizon 1/(1−γλ) = {h_text} {unit}{drawn}")
    return artists


def plot_gae_weights(ax: plt.Axes, gamma: float, lam: float, max_k: int = 100) -> None:
    r"""Chapter 4: the weight :math:`(\gamma\lambda)^l` GAE gives the residual :math:`\delta_{t+l}`,
    with the effective horizon :math:`1/(1-\gamma\lambda)` dashed."""
    max_k = check_positive_int("max_k", max_k)
    _weights_static(ax, max_k)
    _weights_dynamic(ax, gamma, lam, max_k)


def gae_weights_figure(gamma: float, lam: float, max_k: int = 100) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    plot_gae_weights(ax, gamma, lam, max_k)
    fig.tight_layout()
    return fig


def gae_weights_explorer(gamma: float = 0.99, lam: float = 0.95, max_k: int = 100):
    """Chapter 4: γ and λ sliders over :func:`gae_weights_figure`."""
    frames = BlitFrames(
        (6.4, 3.2),
        1,
        lambda axes: _weights_static(axes[0], max_k),
        lambda axes, v: _weights_dynamic(axes[0], v[0], v[1], max_k),
        (gamma, lam),
    )
    return blit_explorer(frames, gamma=_slider("γ", GAMMAS, gamma), lam=_slider("λ", LAMS, lam))


# ------------------------------------------------- (b) advantages along one trajectory


@dataclass(frozen=True)
class Trajectory:
    """One episode with a critic's values, in the course's index conventions (all ``[T]``)."""

    rewards: np.ndarray
    values: np.ndarray
    next_values: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray

    def advantages(self, gamma: float, lam: float) -> np.ndarray:
        return compute_gae(
            self.rewards,
            self.values,
            self.next_values,
            self.terminated,
            self.truncated,
            gamma=gamma,
            lam=lam,
        )


def _traj_limits(traj: Trajectory) -> tuple[float, float]:
    lo, hi = 0.0, 0.0
    for g in GAMMAS:
        for lam in (0.0, 1.0):
            a = traj.advantages(g, lam)
            lo, hi = min(lo, a.min()), max(hi, a.max())
    pad = 0.05 * (hi - lo + 1e-9)
    return lo - pad, hi + pad


def _traj_static(ax: plt.Axes, traj: Trajectory, ylim) -> None:
    T = len(traj.rewards)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlim(-0.5, T - 0.5)
    ax.set_ylim(*ylim)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"advantage estimate $\hat A_t$")
    end = "terminated" if traj.terminated[-1] else "truncated"
    ax.annotate(
        end,
        (T - 1, 0),
        xytext=(-60, 20),
        textcoords="offset points",
        arrowprops={"arrowstyle": "->"},
    )
    ax.legend(
        handles=[
            Line2D([], [], color="C0", lw=2, label="GAE(γ, λ)"),
            Line2D([], [], color="0.5", ls="--", label="λ=1: return − V̂"),
        ],
        loc="upper right",
    )


def _traj_dynamic(ax: plt.Axes, traj: Trajectory, gamma: float, lam: float) -> list:
    t = np.arange(len(traj.rewards))
    a = traj.advantages(gamma, lam)
    mc = traj.advantages(gamma, 1.0)
    ax.set_title(f"γ={gamma:g}, λ={lam:g}: mean |Â| = {np.abs(a).mean():.2f}")
    return [*ax.plot(t, mc, color="0.5", ls="--", lw=1), *ax.plot(t, a, color="C0", lw=2)]


def plot_trajectory_advantages(
    ax: plt.Axes, traj: Trajectory, gamma: float, lam: float, ylim=None
) -> None:
    """Chapter 4: GAE advantages along one episode (and the λ=1 estimate for reference)."""
    _traj_static(ax, traj, ylim or _traj_limits(traj))
    _traj_dynamic(ax, traj, gamma, lam)


def trajectory_advantages_figure(traj: Trajectory, gamma: float, lam: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 3.4))
    plot_trajectory_advantages(ax, traj, gamma, lam)
    fig.tight_layout()
    return fig


def trajectory_advantages_explorer(traj: Trajectory, gamma: float = 0.99, lam: float = 0.95):
    """Chapter 4: γ and λ sliders over :func:`trajectory_advantages_figure`."""
    ylim = _traj_limits(traj)
    frames = BlitFrames(
        (7, 3.4),
        1,
        lambda axes: _traj_static(axes[0], traj, ylim),
        lambda axes, v: _traj_dynamic(axes[0], traj, v[0], v[1]),
        (gamma, lam),
    )
    return blit_explorer(frames, gamma=_slider("γ", GAMMAS, gamma), lam=_slider("λ", LAMS, lam))


# ------------------------------------------------ (c) exact bias², variance, MSE vs λ


SIGMAS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6)


BV_GAMMAS = (0.9, 0.95, 0.98, 0.99, 1.0)


def _bv_static(ax: plt.Axes) -> None:
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 3)
    ax.set_xlim(0, 1)
    ax.set_xlabel("λ")
    ax.set_ylabel("bias², variance, MSE of Â\n(weighted by visits to (s, a))")
    ax.legend(
        handles=[
            Line2D([], [], color="C1", label="bias²"),
            Line2D([], [], color="C0", label="variance"),
            Line2D([], [], color="k", lw=2, label="MSE = bias² + variance"),
            Line2D([], [], color="C3", marker="o", ls="", label="best λ"),
        ],
        loc="upper center",
        ncols=2,
    )


def _bv_dynamic(ax: plt.Axes, problem: CriticErrorProblem, sigma: float, gamma: float) -> list:
    b, v, m = problem.curves(sigma, gamma)
    i = int(np.argmin(m))
    lams = problem.lams
    ax.set_title(f"critic error σ={sigma:g}, γ={gamma:g}: best λ = {lams[i]:.3g}")
    return [
        *ax.plot(lams, np.maximum(b, 1e-12), color="C1"),
        *ax.plot(lams, np.maximum(v, 1e-12), color="C0"),
        *ax.plot(lams, m, color="k", lw=2),
        *ax.plot([lams[i]], [m[i]], "o", color="C3", ms=8),
    ]


def plot_bias_variance(
    ax: plt.Axes, problem: CriticErrorProblem, sigma: float, gamma: float
) -> None:
    """Chapter 4: exact bias², variance and MSE of GAE against λ."""
    _bv_static(ax)
    _bv_dynamic(ax, problem, sigma, gamma)


def bias_variance_figure(problem: CriticErrorProblem, sigma: float, gamma: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    plot_bias_variance(ax, problem, sigma, gamma)
    fig.tight_layout()
    return fig


def bias_variance_explorer(problem: CriticErrorProblem, sigma: float = 0.2, gamma: float = 0.99):
    """Chapter 4: sliders for the critic's error σ and for γ over :func:`bias_variance_figure`."""
    frames = BlitFrames(
        (6.4, 3.8),
        1,
        lambda axes: _bv_static(axes[0]),
        lambda axes, v: _bv_dynamic(axes[0], problem, v[0], v[1]),
        (sigma, gamma),
    )
    return blit_explorer(
        frames, sigma=_slider("σ", SIGMAS, sigma), gamma=_slider("γ", BV_GAMMAS, gamma)
    )
