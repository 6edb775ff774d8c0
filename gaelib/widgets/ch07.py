r"""Chapter 7's figures and slider: what a Gaussian policy does to a bounded 1-D action (the
torque of ``Pendulum-v1``, in [−2, 2]).

The policy samples an unbounded action :math:`a \sim \mathcal N(\mu, \sigma^2)`. The
environment clips it to ``[low, high]``, so when the mean is near a bound or σ is large, a share
of the samples piles up *at* the bound; the log-probability, and so the score that PPO
follows, is that of the unclipped sample (as Stable-Baselines3 does).

:func:`gaussian_action_figure` draws both sides: (left) the density of the unclipped action
and a histogram of the clipped samples the environment receives; (right) the score of one
sample as a function of the action,

.. math::
    \frac{\partial \log\pi}{\partial \mu} = \frac{a - \mu}{\sigma^2}, \qquad
    \frac{\partial \log\pi}{\partial \log\sigma} = \Big(\frac{a - \mu}{\sigma}\Big)^2 - 1,

what that sample pushes the mean and the spread towards. :func:`gaussian_explorer` puts μ and
log σ on sliders; :func:`gaussian_grid_figure` is its static fallback. Samples come from
NumPy's seeded generator only, so a figure is the same on every machine.
"""

from __future__ import annotations

import io
import math
import numbers

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..core._validate import check_non_empty, check_positive_int

__all__ = [
    "LOG_STD_LIMITS",
    "MEAN_SLIDER",
    "LOG_STD_SLIDER",
    "sample_clipped_actions",
    "clip_probability",
    "plot_clipped_actions",
    "plot_action_score",
    "gaussian_action_figure",
    "gaussian_grid_figure",
    "gaussian_explorer",
]

LOG_STD_LIMITS = (-4.0, 2.0)  # what the figures accept: σ from 0.018 to 7.4
MEAN_SLIDER = (-3.0, 3.0, 0.1)  # (min, max, step) of the explorer's sliders
LOG_STD_SLIDER = (-2.0, 1.0, 0.1)
_BINS = 20  # histogram bins across [low, high]
_SIZE = (11.0, 3.6)


def _number(name: str, x, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x!r}")
    if not lo <= x <= hi:
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}], got {x!r}")
    return float(x)


def _check(mean, log_std, low, high) -> tuple[float, float, float, float]:
    mean, log_std = _number("mean", mean), _number("log_std", log_std, *LOG_STD_LIMITS)
    low, high = _number("low", low), _number("high", high)
    if not low < high:
        raise ValueError(f"low must be less than high, got low={low:g}, high={high:g}")
    return mean, log_std, low, high


def sample_clipped_actions(
    mean: float, log_std: float, low: float = -2.0, high: float = 2.0, samples: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    r"""Chapter 7: ``samples`` actions :math:`a = \mu + \sigma\varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, 1)` from ``numpy.random.default_rng(seed)``, and the
    same actions clipped to ``[low, high]`` as the environment applies them.

    Returns:
        ``(actions, clipped)``, each ``[samples]``: the policy's sample (its log-probability is
        what PPO uses) and what the environment receives.
    """
    mean, log_std, low, high = _check(mean, log_std, low, high)
    samples = check_positive_int("samples", samples)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    actions = mean + math.exp(log_std) * np.random.default_rng(int(seed)).standard_normal(samples)
    return actions, np.clip(actions, low, high)


def clip_probability(mean: float, log_std: float, low: float = -2.0, high: float = 2.0) -> float:
    r"""Chapter 7: the exact share of actions the environment clips,
    :math:`P(a < \text{low}) + P(a > \text{high}) = \Phi\big(\frac{\text{low}-\mu}{\sigma}\big)
    + 1 - \Phi\big(\frac{\text{high}-\mu}{\sigma}\big)`."""
    mean, log_std, low, high = _check(mean, log_std, low, high)
    s = math.exp(log_std) * math.sqrt(2.0)
    return 0.5 * math.erfc((mean - low) / s) + 0.5 * math.erfc((high - mean) / s)


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 else f"{share:.1%}"


def _xlim(mean: float, sigma: float, low: float, high: float) -> tuple[float, float]:
    pad = 0.125 * (high - low)
    return min(low - pad, mean - 3.5 * sigma), max(high + pad, mean + 3.5 * sigma)


def _shade_outside(ax: plt.Axes, low: float, high: float, xlim: tuple[float, float]) -> None:
    for a, b in ((xlim[0], low), (high, xlim[1])):
        if b > a:
            ax.axvspan(a, b, color="0.92", lw=0, zorder=0)
    for x in (low, high):
        ax.axvline(x, color="0.3", lw=1, ls="--")


def plot_clipped_actions(
    ax: plt.Axes, mean: float, log_std: float, low: float = -2.0, high: float = 2.0,
    samples: int = 2000, seed: int = 0, xlim: tuple[float, float] | None = None,
) -> float:  # fmt: skip
    r"""Chapter 7, left panel: the density of the unclipped action
    :math:`\mathcal N(\mu, \sigma^2)`, the bounds, and a histogram (as a density, 20 bins over
    ``[low, high]``) of the sampled actions after clipping — the clipped ones pile up in the
    first and last bins. Returns the share of samples clipped, stated in the title."""
    actions, clipped = sample_clipped_actions(mean, log_std, low, high, samples, seed)
    sigma = math.exp(log_std)
    xlim = _xlim(mean, sigma, low, high) if xlim is None else xlim
    _shade_outside(ax, low, high, xlim)
    edges = np.linspace(low, high, _BINS + 1)
    width = edges[1] - edges[0]
    heights = np.histogram(clipped, edges)[0] / (len(actions) * width)
    inner = np.r_[False, np.ones(_BINS - 2, bool), False]
    ax.bar(edges[:-1][inner], heights[inner], width, align="edge", color="C1", alpha=0.6, lw=0,
           label="actions sent (after clipping)")  # fmt: skip
    ax.bar(edges[:-1][~inner], heights[~inner], width, align="edge", color="C3", alpha=0.6, lw=0,
           label="edge bin (incl. clipped)")  # fmt: skip
    x = np.linspace(*xlim, 400)
    pdf = np.exp(-0.5 * ((x - mean) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    ax.plot(x, pdf, color="C0", lw=2, label="N(μ, σ²), unclipped")
    # the y-axis shows a pile-up at a bound up to 2.5× the density's peak, and says its share
    peak = max(pdf.max(), heights[1:-1].max(initial=0.0))
    top = 1.2 * max(peak, min(max(heights[0], heights[-1]), 2.5 * peak))
    ax.set(xlim=xlim, ylim=(0, top), xlabel="action a (torque)", ylabel="density")
    below, above = float(np.mean(actions < low)), float(np.mean(actions > high))
    for share, h, x0 in (
        (below, heights[0], low + width / 2),
        (above, heights[-1], high - width / 2),
    ):
        if share > 0:
            ax.text(x0, min(h, 0.9 * top), _pct(share) + (" ↑" if h > 0.9 * top else ""),
                    ha="center", va="bottom", fontsize=8, color="C3")  # fmt: skip
    ax.set_title(
        f"μ = {mean:g}, log σ = {log_std:g} (σ = {sigma:.2f}): {below + above:.1%} clipped\n"
        f"{below:.1%} to {low:g}, {above:.1%} to {high:g} (of {len(actions)} samples)",
        fontsize=9,
    )
    return below + above


def plot_action_score(
    ax: plt.Axes, mean: float, log_std: float, low: float = -2.0, high: float = 2.0
) -> None:
    r"""Chapter 7, right panel: one sample's score against the action a over μ ± 3.5σ,
    :math:`(a-\mu)/\sigma^2` (it moves μ towards a) and :math:`((a-\mu)/\sigma)^2 - 1` (it widens
    σ when :math:`|a-\mu| > \sigma`, narrows it otherwise); outside the bounds the environment
    clipped the action, but the score is of the unclipped one."""
    mean, log_std, low, high = _check(mean, log_std, low, high)
    sigma = math.exp(log_std)
    xlim = (mean - 3.5 * sigma, mean + 3.5 * sigma)
    _shade_outside(ax, max(low, xlim[0]), min(high, xlim[1]), xlim)
    a = np.linspace(*xlim, 400)
    z = (a - mean) / sigma
    ax.axhline(0, color="k", lw=0.8)
    ax.plot(a, z / sigma, color="C0", lw=2, label="∂log π/∂μ = (a − μ)/σ²")
    ax.plot(a, z**2 - 1, color="C3", lw=2, label="∂log π/∂log σ = ((a − μ)/σ)² − 1")
    for x in (mean - sigma, mean + sigma):
        ax.axvline(x, color="C3", lw=0.8, ls=":")
    ax.set(xlim=xlim, xlabel="action a (unclipped)", ylabel="score of one sample")
    ax.set_title("the score of one sample a; with a positive advantage it pushes μ towards a\n"
                 "and σ up if |a − μ| > σ (outside the dotted lines); negative: the reverse",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=8, loc="upper center")


def _draw(fig: Figure, mean, log_std, low, high, samples, seed) -> None:
    left, right = fig.subplots(1, 2)
    plot_clipped_actions(left, mean, log_std, low, high, samples, seed)
    left.legend(fontsize=8, loc="upper left" if mean > (low + high) / 2 else "upper right")
    plot_action_score(right, mean, log_std, low, high)
    # fixed margins, not tight_layout: a layout pass costs a whole extra draw per frame
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.14, top=0.84, wspace=0.2)


def gaussian_action_figure(
    mean: float, log_std: float, low: float = -2.0, high: float = 2.0, samples: int = 2000,
    seed: int = 0,
) -> plt.Figure:  # fmt: skip
    """Chapter 7: the clipped actions of a Gaussian policy (:func:`plot_clipped_actions`) beside
    one sample's score (:func:`plot_action_score`); what :func:`gaussian_explorer` shows."""
    sample_clipped_actions(mean, log_std, low, high, samples, seed)  # validate before drawing
    fig = plt.figure(figsize=_SIZE)
    _draw(fig, mean, log_std, low, high, samples, seed)
    return fig


def gaussian_grid_figure(
    means=(0.0, 1.5), log_stds=(-1.0, 0.0, 0.7), low: float = -2.0, high: float = 2.0,
    samples: int = 2000, seed: int = 0,
) -> plt.Figure:  # fmt: skip
    """Chapter 7: the static fallback of :func:`gaussian_explorer` — the left panel for every
    (μ, log σ), one row per mean, one column per log σ, on one action axis; each title
    states the share of samples clipped."""
    means = [_number("means", m) for m in check_non_empty("means", means)]
    log_stds = check_non_empty("log_stds", log_stds)
    log_stds = [_number("log_stds", s, *LOG_STD_LIMITS) for s in log_stds]
    for m in means:
        for s in log_stds:
            sample_clipped_actions(m, s, low, high, samples, seed)  # validate before drawing
    spans = [_xlim(m, math.exp(s), low, high) for m in means for s in log_stds]
    xlim = (min(a for a, _ in spans), max(b for _, b in spans))
    fig, axes = plt.subplots(len(means), len(log_stds), squeeze=False,
                             figsize=(3.9 * len(log_stds), 2.9 * len(means)))  # fmt: skip
    for row, m in zip(axes, means, strict=True):
        for ax, s in zip(row, log_stds, strict=True):
            plot_clipped_actions(ax, m, s, low, high, samples, seed, xlim=xlim)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def gaussian_explorer(mean: float = 0.0, log_std: float = 0.0):
    """Chapter 7: sliders for μ (−3 … 3) and log σ (−2 … 1) over
    :func:`gaussian_action_figure`. Each position's figure is drawn once, then shown from
    memory (the axes rescale with σ, so a blitted frame would not do)."""
    import ipywidgets as widgets

    mean = _number("mean", mean, *MEAN_SLIDER[:2])
    log_std = _number("log_std", log_std, *LOG_STD_SLIDER[:2])
    pngs: dict[tuple[float, float], bytes] = {}

    def png(m: float, s: float) -> bytes:
        key = (round(m, 6), round(s, 6))
        if key not in pngs:
            fig = Figure(figsize=_SIZE)
            FigureCanvasAgg(fig)  # not pyplot's: nothing to close, never shown twice
            _draw(fig, key[0], key[1], -2.0, 2.0, 2000, 0)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=80)
            pngs[key] = buf.getvalue()
        return pngs[key]

    def slider(label: str, spec: tuple[float, float, float], value: float):
        lo, hi, step = spec
        return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=label,
                                   readout_format=".1f", continuous_update=False)  # fmt: skip

    mean_slider = slider("μ", MEAN_SLIDER, mean)
    log_std_slider = slider("log σ", LOG_STD_SLIDER, log_std)
    image = widgets.Image(value=png(mean, log_std), format="png")

    def show(_change) -> None:
        image.value = png(mean_slider.value, log_std_slider.value)

    mean_slider.observe(show, names="value")
    log_std_slider.observe(show, names="value")
    return widgets.VBox([mean_slider, log_std_slider, image])
