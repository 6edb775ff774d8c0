r"""Chapter 9 figures and slider: who gets the credit for one wrong token — GAE(λ) over token
positions with a trained critic, against GRPO's one-advantage-per-sequence.

The figure has a static part (axes, limits, the GRPO panel) and a dynamic part (the GAE bars
for the slider's λ); the explorer redraws only the dynamic part (:mod:`gaelib.widgets.blit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from ..algorithms.token_ppo import token_advantages
from ..core._validate import check_unit_interval
from .blit import BlitFrames, blit_explorer

__all__ = [
    "CreditAssignment",
    "plot_credit_assignment",
    "credit_assignment_figure",
    "credit_assignment_grid",
    "credit_assignment_explorer",
]


LAMS = (0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 1.0)


@dataclass(frozen=True)
class CreditAssignment:
    """One generated text and what each method credits its tokens with (all ``[n]``).

    ``labels``: the tokens as text; ``rewards``: per-token rewards (score on the last token);
    ``values``: the critic's :math:`V(s_t)`; ``grpo``: the GRPO advantage on every token;
    ``wrong``: the index of the wrong token (highlighted).
    """

    labels: tuple[str, ...]
    rewards: np.ndarray
    values: np.ndarray
    grpo: np.ndarray
    wrong: int

    def advantages(self, lam: float, gamma: float = 1.0) -> np.ndarray:
        """GAE(γ, λ) over the positions (the text ended at EOS: terminated)."""
        n = len(self.rewards)
        adv, _ = token_advantages(self.rewards[None], self.values[None], [n], gamma=gamma, lam=lam)
        return adv[0]

    def ylim(self) -> tuple[float, float]:
        a = np.concatenate([self.advantages(lam) for lam in LAMS])
        lo, hi = min(0.0, a.min()), max(0.0, a.max())
        pad = 0.1 * (hi - lo + 1e-9)
        return lo - pad, hi + pad


def _colors(c: CreditAssignment) -> list[str]:
    return ["C3" if i == c.wrong else "C0" for i in range(len(c.labels))]


def _axes_static(ax: plt.Axes, c: CreditAssignment, ylim, ylabel: str) -> None:
    n = len(c.labels)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(n), c.labels)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(*ylim)
    ax.set_xlabel("token (red: the wrong one)")
    ax.set_ylabel(ylabel)


def _grpo_panel(ax: plt.Axes, c: CreditAssignment) -> None:
    lo = min(0.0, float(c.grpo.min()))
    hi = max(0.0, float(c.grpo.max()))
    _axes_static(ax, c, (1.15 * lo - 0.05, 1.15 * hi + 0.05), "advantage (group std units)")
    ax.bar(range(len(c.labels)), c.grpo, color=_colors(c))
    ax.set_title("GRPO: the same advantage on every token")


def _gae_dynamic(ax: plt.Axes, c: CreditAssignment, lam: float) -> list:
    lam = check_unit_interval("lam", lam)
    a = c.advantages(lam)
    bars = ax.bar(range(len(a)), a, color=_colors(c))
    share = abs(a[c.wrong]) / max(np.abs(a).sum(), 1e-12)
    ax.set_title(f"GAE, γ=1, λ={lam:g}: {share:.0%} of |Â| on the wrong token")
    return list(bars)


def plot_credit_assignment(ax: plt.Axes, c: CreditAssignment, lam: float, ylim=None) -> None:
    """Chapter 9: the GAE(γ=1, λ) advantage of each token of ``c`` (score units)."""
    _axes_static(ax, c, ylim or c.ylim(), "advantage Â_t (score units)")
    _gae_dynamic(ax, c, lam)


def credit_assignment_figure(c: CreditAssignment, lam: float) -> plt.Figure:
    """Chapter 9: GAE(λ) per token (left) next to GRPO (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    plot_credit_assignment(axes[0], c, lam)
    _grpo_panel(axes[1], c)
    fig.tight_layout()
    return fig


def credit_assignment_grid(
    c: CreditAssignment, lams=(0.0, 0.5, 0.95, 1.0), title: str | None = None
) -> plt.Figure:
    """Chapter 9, the slider's static version: one panel per λ, then GRPO (with an optional
    ``title`` over the row, e.g. which critic and which group the panels use)."""
    lams = [check_unit_interval("lam", x) for x in lams]
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be a string or None, got {title!r}")
    fig, axes = plt.subplots(1, len(lams) + 1, figsize=(3.1 * (len(lams) + 1), 3.2))
    ylim = c.ylim()
    for ax, lam in zip(axes, lams, strict=False):
        plot_credit_assignment(ax, c, lam, ylim)
        ax.set_title(f"GAE λ={lam:g}", fontsize=10)
    _grpo_panel(axes[-1], c)
    axes[-1].set_title("GRPO", fontsize=10)
    if title is not None:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def credit_assignment_explorer(c: CreditAssignment, lam: float = 0.95):
    """Chapter 9: a λ slider over :func:`credit_assignment_figure` (blitted)."""
    import ipywidgets as widgets

    opts = [(f"{x:g}", float(x)) for x in LAMS]
    if float(lam) not in LAMS:
        raise ValueError(f"lam must be one of {list(LAMS)}, got {lam!r}")
    slider = widgets.SelectionSlider(options=opts, value=float(lam), description="λ")
    ylim = c.ylim()

    def static(axes):
        _axes_static(axes[0], c, ylim, "advantage Â_t (score units)")
        _grpo_panel(axes[1], c)

    frames = BlitFrames((11, 3.4), 2, static, lambda axes, x: _gae_dynamic(axes[0], c, x), lam)
    return blit_explorer(frames, lam=slider)
