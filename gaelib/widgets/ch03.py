r"""Chapter 3 figures and sliders: the exact advantage, the bias of the TD residual, and the
bias–variance trade-off of the k-step estimators.

Everything is exact (no sampling): :func:`gaelib.exact_values` gives :math:`V^\pi, Q^\pi`,
:mod:`gaelib.worlds.estimators` gives the mean and variance of each estimator given
:math:`(s, a)`, for the problem :class:`~gaelib.worlds.estimators.AdvantageProblem`. The
critic is :math:`\hat V = V^\pi + \sigma z` with a fixed, seeded direction :math:`z`
(0 at terminal states), so one number, the critic's error σ, drives every slider. Each
figure has a static part (axes, limits, reference curves) and a dynamic part (what σ moves);
the explorers redraw only the dynamic part (:mod:`gaelib.widgets.blit`), a few milliseconds a
frame.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from ..core._validate import check_non_negative, check_positive_int
from ..worlds.estimators import AdvantageProblem, delta_moments, kstep_tradeoff
from .blit import BlitFrames, blit_explorer

__all__ = [
    "SIGMAS",
    "plot_advantages",
    "advantage_figure",
    "plot_critic",
    "plot_delta_vs_advantage",
    "delta_bias_figure",
    "delta_bias_explorer",
    "plot_delta_bias_split",
    "plot_kstep_tradeoff",
    "kstep_tradeoff_figure",
    "kstep_explorer",
]


SIGMAS = tuple(round(0.05 * i, 2) for i in range(11))  # the σ slider: 0, 0.05, …, 0.5


_ACTION_COLORS = ("C0", "C3", "C2", "C4")


# ------------------------------------------------------------ the advantage itself


def plot_advantages(ax: plt.Axes, problem: AdvantageProblem) -> None:
    r"""Chapter 3: :math:`A^\pi(s, a)` per state, one bar per action, and the π-weighted mean
    :math:`\sum_a \pi(a \mid s) A^\pi(s, a)` (black dots: 0 in every state)."""
    live, A = problem.live, problem.A
    n = A.shape[1]
    width = 0.8 / n
    for a in range(n):
        x = live + (a - (n - 1) / 2) * width
        color = _ACTION_COLORS[a % len(_ACTION_COLORS)]
        ax.bar(x, A[live, a], width, color=color, label=f"A(s, {problem.action_names[a]})")
    mean = (problem.pi * A).sum(axis=1)[live]
    ax.plot(live, mean, "o", color="k", ms=4, label=r"$\Sigma_a\, \pi(a|s)\,A(s,a)$")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(live)
    ax.set_xlabel("state s")
    ax.set_ylabel(r"$A^\pi(s, a)$")
    ax.legend(fontsize=8)


def advantage_figure(problem: AdvantageProblem) -> plt.Figure:
    r"""Chapter 3: left, :math:`V^\pi(s)` and :math:`Q^\pi(s, a)`; right,
    :math:`A^\pi = Q^\pi - V^\pi` (:func:`plot_advantages`)."""
    live = problem.live
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
    ax1.plot(live, problem.V[live], "k-o", ms=4, lw=2, label=r"$V^\pi(s)$")
    for a in range(problem.Q.shape[1]):
        color = _ACTION_COLORS[a % len(_ACTION_COLORS)]
        name = problem.action_names[a]
        ax1.plot(
            live, problem.Q[live, a], "--", marker=".", color=color, label=f"$Q^\\pi$(s, {name})"
        )
    ax1.set_xticks(live)
    ax1.set_xlabel("state s")
    ax1.set_ylabel("expected discounted return")
    ax1.set_title(f"$V^\\pi$ and $Q^\\pi$ (γ = {problem.gamma:g})")
    ax1.legend(fontsize=8)
    plot_advantages(ax2, problem)
    ax2.set_title(r"$A^\pi(s, a) = Q^\pi(s, a) - V^\pi(s)$")
    fig.tight_layout()
    return fig


# ------------------------------------------------------- δ: its mean against A^π


def _critic_limits(problem: AdvantageProblem, sigma_max: float):
    live = problem.live
    v = problem.V[live]
    dz = sigma_max * np.abs(problem.z[live]).max()
    return v.min() - dz - 0.05, v.max() + dz + 0.05


def _delta_limits(problem: AdvantageProblem, sigma_max: float):
    live = problem.live
    lo, hi = problem.A[live].min(), problem.A[live].max()
    for s in (0.0, sigma_max):
        m = delta_moments(problem, s).mean[live]
        lo, hi = min(lo, m.min()), max(hi, m.max())
    pad = 0.06 * (hi - lo)
    return lo - pad, hi + pad


def _critic_static(ax: plt.Axes, problem: AdvantageProblem, sigma_max: float) -> None:
    live = problem.live
    ax.plot(live, problem.V[live], "k-", lw=1.5)
    handles = [
        Line2D([], [], color="k", lw=1.5, label=r"$V^\pi$ (true)"),
        Line2D(
            [], [], color="C1", lw=2, marker="o", ms=4, label=r"critic $\hat V = V^\pi + \sigma z$"
        ),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    ax.set_xticks(live)
    ax.set_xlim(live[0] - 0.5, live[-1] + 0.5)
    ax.set_ylim(*_critic_limits(problem, sigma_max))
    ax.set_xlabel("state s")
    ax.set_ylabel("value")


def _critic_dynamic(ax: plt.Axes, problem: AdvantageProblem, sigma: float) -> list:
    live = problem.live
    v_hat = problem.critic(sigma)[live]
    artists = ax.plot(live, v_hat, "-o", color="C1", lw=2, ms=4)
    rms = np.sqrt(np.mean((v_hat - problem.V[live]) ** 2))
    ax.set_title(f"σ = {sigma:.2f}: critic RMS error {rms:.3f}")
    return artists


def _delta_static(ax: plt.Axes, problem: AdvantageProblem, sigma_max: float) -> None:
    live, A = problem.live, problem.A
    handles = []
    for a in range(A.shape[1]):
        color = _ACTION_COLORS[a % len(_ACTION_COLORS)]
        ax.plot(live, A[live, a], "-", color=color, lw=1.2, alpha=0.6)
        name = problem.action_names[a]
        handles.append(Line2D([], [], color=color, alpha=0.6, label=f"$A^\\pi$(s, {name})"))
        handles.append(
            Line2D([], [], color=color, ls="", marker="o", ms=5, label=f"E[δ | s, {name}]")
        )
    ax.axhline(0, color="k", lw=0.8)
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xticks(live)
    ax.set_xlim(live[0] - 0.5, live[-1] + 0.5)
    ax.set_ylim(*_delta_limits(problem, sigma_max))
    ax.set_xlabel("state s")
    ax.set_ylabel("advantage")


def _delta_dynamic(ax: plt.Axes, problem: AdvantageProblem, sigma: float) -> list:
    live = problem.live
    mean = delta_moments(problem, sigma).mean
    artists: list = []
    for a in range(mean.shape[1]):
        color = _ACTION_COLORS[a % len(_ACTION_COLORS)]
        artists += ax.plot(live, mean[live, a], "o", color=color, ms=5, mec="k", mew=0.4)
    w = problem.weights
    bias2_a = float((w * (mean - problem.A) ** 2).sum())
    bias2_q = float((w * (mean - (problem.Q - problem.critic(sigma)[:, None])) ** 2).sum())
    ax.set_title(f"bias² of δ: vs $A^\\pi$ {bias2_a:.4f}, vs $Q^\\pi - \\hat V(s)$ {bias2_q:.4f}")
    return artists


def plot_critic(ax: plt.Axes, problem: AdvantageProblem, sigma: float, sigma_max=0.5) -> None:
    r"""Chapter 3: the critic :math:`\hat V = V^\pi + \sigma z` against :math:`V^\pi`."""
    _critic_static(ax, problem, max(sigma_max, check_non_negative("sigma", sigma)))
    _critic_dynamic(ax, problem, check_non_negative("sigma", sigma))


def plot_delta_vs_advantage(
    ax: plt.Axes, problem: AdvantageProblem, sigma: float, sigma_max=0.5
) -> None:
    r"""Chapter 3: :math:`\mathbb E[\delta \mid s, a]` (dots) against :math:`A^\pi(s, a)`
    (lines) per state; the title gives the visitation-weighted bias² against :math:`A^\pi`
    and against :math:`Q^\pi(s,a) - \hat V(s)`."""
    _delta_static(ax, problem, max(sigma_max, check_non_negative("sigma", sigma)))
    _delta_dynamic(ax, problem, check_non_negative("sigma", sigma))


def delta_bias_figure(problem: AdvantageProblem, sigma: float, sigma_max=0.5) -> plt.Figure:
    """Chapter 3: what the σ slider shows — the critic, and the mean TD residual against A^π."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6))
    plot_critic(ax1, problem, sigma, sigma_max)
    plot_delta_vs_advantage(ax2, problem, sigma, sigma_max)
    fig.tight_layout()
    return fig


def _sigma_slider(sigma: float):
    import ipywidgets as widgets

    sigma = check_non_negative("sigma", sigma)
    if not any(np.isclose(sigma, s) for s in SIGMAS):
        raise ValueError(f"sigma must be one of {list(SIGMAS)}, got {sigma!r}")
    options = [(f"{s:.2f}", s) for s in SIGMAS]
    value = SIGMAS[int(np.argmin(np.abs(np.array(SIGMAS) - sigma)))]
    return widgets.SelectionSlider(options=options, value=value, description="σ")


def delta_bias_explorer(problem: AdvantageProblem, sigma: float = 0.2):
    """Chapter 3: a critic-error σ slider over :func:`delta_bias_figure`."""
    slider = _sigma_slider(sigma)
    sigma_max = SIGMAS[-1]

    def static(axes):
        _critic_static(axes[0], problem, sigma_max)
        _delta_static(axes[1], problem, sigma_max)

    def dynamic(axes, s):
        return _critic_dynamic(axes[0], problem, s) + _delta_dynamic(axes[1], problem, s)

    frames = BlitFrames((12, 3.6), 2, static, dynamic, slider.value)
    return blit_explorer(frames, sigma=slider)


def plot_delta_bias_split(ax: plt.Axes, problem: AdvantageProblem, sigma: float) -> None:
    r"""Chapter 3: the bias of δ given (s, a) split in two,

    .. math::
        \mathbb E[\delta \mid s,a] - A^\pi(s,a)
        = \underbrace{-\varepsilon(s)}_{\text{state only}}
        + \underbrace{\gamma\, \mathbb E[\varepsilon(s') \mid s, a]}_{\text{vs } Q^\pi - \hat V(s)},
        \qquad \varepsilon = \hat V - V^\pi .

    Grey bars: the state-only part (a baseline: it cannot bias the policy gradient); coloured
    bars: the part that depends on the action.
    """
    live = problem.live
    mean = delta_moments(problem, sigma).mean
    eps = problem.critic(sigma) - problem.V
    n = mean.shape[1]
    ax.bar(live, -eps[live], 0.9, color="0.8", label="−ε(s): state only (a baseline)")
    width = 0.8 / n
    for a in range(n):
        x = live + (a - (n - 1) / 2) * width
        part = mean[live, a] - (problem.Q[live, a] - problem.critic(sigma)[live])
        color = _ACTION_COLORS[a % len(_ACTION_COLORS)]
        ax.bar(x, part, width * 0.8, color=color, label=f"γE[ε(s′)|s,{problem.action_names[a]}]")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(live)
    ax.set_xlabel("state s")
    ax.set_ylabel("bias of δ given (s, a)")
    ax.set_title(f"σ = {sigma:g}: E[δ|s,a] − $A^\\pi$(s,a), split in two")
    ax.legend(fontsize=8)


# ------------------------------------------------------ k-step: bias² and variance


def _kstep_limits(problem: AdvantageProblem, k_max: int, sigma_max: float):
    top = kstep_tradeoff(problem, sigma_max, k_max)
    hi = max(top["bias2"].max(), top["bias2_vs_A"].max(), top["mse"].max())
    return 0.0, 1.08 * hi


def _kstep_static(ax, problem: AdvantageProblem, k_max: int, sigma_max: float) -> None:
    zero = kstep_tradeoff(problem, 0.0, k_max)
    ax.plot(zero["k"], zero["var"], color="0.6", lw=1, ls=":")
    handles = [
        Line2D([], [], color="C3", lw=2, label=r"bias² vs $Q^\pi - \hat V(s)$"),
        Line2D([], [], color="C3", lw=1, ls="--", alpha=0.6, label=r"bias² vs $A^\pi$"),
        Line2D([], [], color="C0", lw=3, label="variance"),
        Line2D([], [], color="k", lw=1.5, ls="--", label="MSE = bias² + var"),
        Line2D([], [], color="0.6", lw=1, ls=":", label="variance, exact critic"),
    ]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xlim(1, k_max)
    ax.set_ylim(*_kstep_limits(problem, k_max, sigma_max))
    ax.set_xlabel("k (steps before bootstrapping)")
    ax.set_ylabel("bias², variance, MSE of $\\hat A^{(k)}$\n(weighted by visits to (s, a))")


def _kstep_dynamic(ax, problem: AdvantageProblem, k_max: int, sigma: float) -> list:
    t = kstep_tradeoff(problem, sigma, k_max)
    k = t["k"]
    artists = ax.plot(k, t["bias2"], color="C3", lw=2)
    artists += ax.plot(k, t["bias2_vs_A"], color="C3", lw=1, ls="--", alpha=0.6)
    artists += ax.plot(k, t["var"], color="C0", lw=3)
    artists += ax.plot(k, t["mse"], color="k", lw=1.5, ls="--")  # dashed: the variance shows
    best = int(np.argmin(t["mse"]))
    artists += ax.plot(k[best], t["mse"][best], "o", color="k", ms=6)
    ax.set_title(f"σ = {sigma:.2f}: lowest MSE {t['mse'][best]:.4f} at k = {k[best]}")
    return artists


def plot_kstep_tradeoff(
    ax: plt.Axes, problem: AdvantageProblem, sigma: float, k_max: int = 30, sigma_max=0.5
) -> None:
    r"""Chapter 3: bias², variance and MSE of :math:`\hat A^{(k)}` against k, for
    the critic :math:`\hat V = V^\pi + \sigma z`; the dot marks the k of lowest MSE."""
    k_max = check_positive_int("k_max", k_max)
    _kstep_static(ax, problem, k_max, max(sigma_max, check_non_negative("sigma", sigma)))
    _kstep_dynamic(ax, problem, k_max, check_non_negative("sigma", sigma))


def kstep_tradeoff_figure(
    problem: AdvantageProblem, sigma: float, k_max: int = 30, sigma_max=0.5
) -> plt.Figure:
    """Chapter 3: what the second σ slider shows (one :func:`plot_kstep_tradeoff` panel)."""
    fig, ax = plt.subplots(figsize=(8.6, 3.8))
    plot_kstep_tradeoff(ax, problem, sigma, k_max, sigma_max)
    fig.tight_layout()
    return fig


def kstep_explorer(problem: AdvantageProblem, sigma: float = 0.2, k_max: int = 30):
    """Chapter 3: a critic-error σ slider over :func:`kstep_tradeoff_figure`."""
    k_max = check_positive_int("k_max", k_max)
    slider = _sigma_slider(sigma)
    frames = BlitFrames(
        (8.6, 3.8),
        1,
        lambda axes: _kstep_static(axes[0], problem, k_max, SIGMAS[-1]),
        lambda axes, s: _kstep_dynamic(axes[0], problem, k_max, s),
        slider.value,
    )
    return blit_explorer(frames, sigma=slider)
