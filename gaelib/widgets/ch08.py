r"""Chapter 8 figures and sliders: the article's moving-average feature, and what trading costs
do to a strategy's equity curve.

Each figure has a static part (axes, limits, the price or the buy-and-hold curve) and a
dynamic part (what the slider moves); the explorers redraw only the dynamic part
(:mod:`gaelib.widgets.blit`) from curves computed once for every slider position.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from ..worlds.stock import article_feature, check_prices, moving_average, strategy_rewards
from .blit import BlitFrames, blit_explorer

__all__ = [
    "MA_WINDOWS",
    "COSTS",
    "plot_moving_average",
    "moving_average_figure",
    "moving_average_explorer",
    "plot_trading_costs",
    "trading_costs_figure",
    "trading_costs_explorer",
]


MA_WINDOWS = (2, 5, 10, 20, 50, 100, 200)


COSTS = (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02)


def _selection(name: str, options, value, fmt: str = "{:g}"):
    import ipywidgets as widgets

    opts = [(fmt.format(x), x) for x in options]
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
    return widgets.SelectionSlider(options=opts, value=value, description=name)


# ----------------------------------------------- (a) the article's moving-average feature


def _ma_stats(prices: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, str]:
    prev_ma = np.concatenate([[prices[0]], moving_average(prices, n)[:-1]])
    feat = article_feature(prices, n)
    nxt = np.diff(np.log(prices))
    on = feat[:-1] > 0
    corr = np.corrcoef(feat[:-1], nxt)[0, 1] if feat[:-1].std() > 0 else 0.0
    title = (
        f"n={n}: feature > 0 on {on.mean():.0%} of days; "
        f"corr(feature, next log-return) = {corr:+.3f}"
    )
    return prev_ma, feat, title


def _ma_static(axes, prices: np.ndarray, feat_max: float) -> None:
    t = np.arange(len(prices))
    top, bottom = axes
    top.plot(t, prices, color="0.3", lw=0.8)
    top.set_xlim(0, len(prices) - 1)
    top.set_ylabel("price P_t")
    top.legend(
        handles=[
            Line2D([], [], color="0.3", lw=0.8, label="price"),
            Line2D([], [], color="C1", lw=1.5, label="average of the previous n prices"),
        ],
        loc="lower center",
        fontsize=8,
        frameon=True,
        framealpha=0.9,
    )
    bottom.set_xlim(0, len(prices) - 1)
    bottom.set_ylim(0, feat_max * 1.05 + 1e-12)
    bottom.set_xlabel("day t")
    bottom.set_ylabel("f(s, buy), $")


def _ma_dynamic(axes, prices: np.ndarray, stats) -> list:
    prev_ma, feat, title = stats
    t = np.arange(len(prices))
    top, bottom = axes
    top.set_title(title)
    return [*top.plot(t, prev_ma, color="C1", lw=1.5), bottom.fill_between(t, feat, color="C0")]


def plot_moving_average(axes, prices, n: int) -> None:
    """Chapter 8: the price with the average of its previous ``n`` values (top) and the
    article's feature :func:`~gaelib.worlds.stock.article_feature` (bottom) on two axes."""
    p = check_prices(prices)
    stats = _ma_stats(p, n)
    _ma_static(axes, p, float(stats[1].max()))
    _ma_dynamic(axes, p, stats)


def moving_average_figure(prices, n: int) -> plt.Figure:
    fig, axes = plt.subplots(2, 1, figsize=(8, 4.6), sharex=True, height_ratios=[2, 1])
    plot_moving_average(axes, prices, n)
    fig.tight_layout()
    return fig


def moving_average_explorer(prices, n: int = 20):
    """Chapter 8: an ``n`` (moving-average window) slider over :func:`moving_average_figure`."""
    p = check_prices(prices)
    stats = {k: _ma_stats(p, k) for k in MA_WINDOWS}
    feat_max = max(float(s[1].max()) for s in stats.values())

    class _Frames(BlitFrames):  # two stacked axes instead of a row
        def __init__(self):
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            self.fig = Figure(figsize=(8, 4.6))
            FigureCanvasAgg(self.fig)
            self.axes = list(self.fig.subplots(2, 1, sharex=True, height_ratios=[2, 1]))
            self.dynamic = lambda axes, k: _ma_dynamic(axes, p, stats[k])
            _ma_static(self.axes, p, feat_max)
            for artist in self.dynamic(self.axes, n):
                artist.remove()
            self.fig.tight_layout()
            for ax in self.axes:
                ax.title.set_animated(True)
            self.fig.canvas.draw()
            self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
            self.artists = []

    if n not in MA_WINDOWS:
        raise ValueError(f"n must be one of {list(MA_WINDOWS)}, got {n!r}")
    return blit_explorer(_Frames(), n=_selection("n", MA_WINDOWS, n))


# ------------------------------------------------------- (b) costs and the equity curve


def _equity(prices: np.ndarray, positions: dict, cost: float) -> dict:
    return {
        name: np.exp(np.concatenate([[0.0], np.cumsum(strategy_rewards(prices, pos, cost))]))
        for name, pos in positions.items()
    }


def _check_positions(prices, positions: dict) -> tuple[np.ndarray, dict]:
    p = check_prices(prices)
    if not isinstance(positions, dict) or not positions:
        raise ValueError("positions must be a non-empty dict {name: positions [T-1]}")
    out = {}
    for name, pos in positions.items():
        pos = np.asarray(pos, dtype=np.float64)
        if pos.shape != (len(p) - 1,) or not np.all((pos == 0) | (pos == 1)):
            raise ValueError(f"positions[{name!r}] must be {len(p) - 1} values in {{0, 1}}")
        out[name] = pos
    return p, out


def _cost_static(ax: plt.Axes, n_days: int, ylim, trades: dict) -> None:
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_xlim(0, n_days * 1.13)  # room for the final-wealth labels
    ax.set_ylim(*ylim)
    ax.set_xlabel("day of the held-out period")
    ax.set_ylabel("wealth (start = 1)")
    handles = [
        Line2D([], [], color=f"C{i}", lw=1.4, label=f"{name} ({k} trade{'s' * (k != 1)})")
        for i, (name, k) in enumerate(trades.items())
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=8)


def _cost_dynamic(ax: plt.Axes, curves: dict, cost: float) -> list:
    artists = []
    ends = _label_heights(ax, [eq[-1] for eq in curves.values()])
    for i, (eq, y) in enumerate(zip(curves.values(), ends, strict=True)):
        artists += ax.plot(np.arange(len(eq)), eq, color=f"C{i}", lw=1.2)
        artists.append(
            ax.annotate(
                f"×{eq[-1]:.2f}",
                (len(eq) - 1, eq[-1]),
                xytext=(1.01 * (len(eq) - 1), y),
                textcoords="data",
                xycoords="data",
                color=f"C{i}",
                fontsize=8,
                va="center",
                ha="left",
                annotation_clip=False,
            )
        )
    ax.set_title(f"cost per trade {cost:.2%}")
    return artists


def _label_heights(ax: plt.Axes, ends: list, gap: float = 0.07) -> list:
    """Heights for the final-wealth labels: the curves' ends, pushed apart to at least ``gap``
    of the y-range so that labels of curves ending close together do not overprint."""
    lo, hi = ax.get_ylim()
    step = gap * (hi - lo)
    order = np.argsort(ends)
    ys = np.array(ends, dtype=float)
    for a, b in zip(order[:-1], order[1:], strict=True):  # bottom up
        ys[b] = max(ys[b], ys[a] + step)
    top = hi - step / 2
    if ys[order[-1]] > top:  # shift the stack down to stay inside the axes
        ys[order[-1]] = top
        for a, b in zip(order[::-1][1:], order[::-1][:-1], strict=True):
            ys[a] = min(ys[a], ys[b] - step)
    return list(ys)


def _trades(positions: dict) -> dict:
    return {k: int(np.abs(np.diff(np.concatenate([[0.0], v]))).sum()) for k, v in positions.items()}


def _limits(p: np.ndarray, positions: dict) -> tuple[float, float]:
    lo, hi = 1.0, 1.0
    for c in (min(COSTS), max(COSTS)):
        for eq in _equity(p, positions, c).values():
            lo, hi = min(lo, eq.min()), max(hi, eq.max())
    pad = 0.08 * (hi - lo)  # room for the labels at the ends of the lowest and highest curves
    return max(lo - pad, 0.0), hi + pad


def plot_trading_costs(ax: plt.Axes, prices, positions: dict, cost: float) -> None:
    """Chapter 8: the equity curves :math:`\\exp(\\sum_k r_k)` of fixed position sequences
    ``positions = {name: [T-1] of 0/1}`` over ``prices`` when each trade costs ``cost``
    (:func:`~gaelib.worlds.stock.strategy_rewards`)."""
    p, pos = _check_positions(prices, positions)
    _cost_static(ax, len(p) - 1, _limits(p, pos), _trades(pos))
    _cost_dynamic(ax, _equity(p, pos, cost), cost)


def trading_costs_figure(prices, positions: dict, cost: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 3.8))
    plot_trading_costs(ax, prices, positions, cost)
    fig.tight_layout()
    return fig


def trading_costs_explorer(prices, positions: dict, cost: float = 0.001):
    """Chapter 8: a trading-cost slider over :func:`trading_costs_figure`."""
    p, pos = _check_positions(prices, positions)
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {list(COSTS)}, got {cost!r}")
    curves = {c: _equity(p, pos, c) for c in COSTS}
    trades = _trades(pos)
    ylim = _limits(p, pos)
    frames = BlitFrames(
        (7, 3.8),
        1,
        lambda axes: _cost_static(axes[0], len(p) - 1, ylim, trades),
        lambda axes, c: _cost_dynamic(axes[0], curves[c], c),
        cost,
    )
    return blit_explorer(frames, cost=_selection("cost", COSTS, cost, "{:.2%}"))
