r"""Chapter 8: the stock-trading toy — the article's design, and a corrected environment.

The policy-gradient article's §4.3 trades one asset with actions buy/sell/hold, uses the raw
price as the state, the feature "price minus its n-day moving average when positive", and a
reward of +0.1 for a buy before a rise and −0.1 for a sell before a fall. This module holds

* the article's pieces, reproduced (:func:`article_feature`, :func:`article_reward`);
* the corrected environment ``gaelib/StockTrading-v0`` (:class:`StockTradingEnv`): a
  position (flat or long), a stationary observation (log-returns, a moving-average ratio and
  the position), and the reward of the position actually held, net of trading costs,

  .. math::
      r_t = \mathrm{pos}_t \log\frac{P_{t+1}}{P_t} - c\,|\mathrm{pos}_t - \mathrm{pos}_{t-1}|;

* price data: a seeded regime-switching random walk (:func:`synthetic_prices`) and a small
  real daily series shipped with the package (:func:`load_prices`);
* baselines (buy-and-hold, flat, random, momentum: :func:`strategy_rewards`).

The batched environment is :mod:`gaelib.worlds.stock_batch`; the trading policy and its
training are :mod:`gaelib.algorithms.trading` and :mod:`gaelib.algorithms.trading_grid`.

Index conventions: ``prices[t]`` is the close of day t; the observation at t uses prices up
to t only; the step taken at t earns the move from t to t+1. So an order decided at t is
filled at ``prices[t]``, the very close the decision has already seen (a *same-bar fill*: an
optimistic idealisation — no latency, no slippage; a real order placed after seeing a close
fills later, at another price).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import gymnasium as gym
import numpy as np

from ..core._validate import check_positive_int, check_unit_interval

__all__ = [
    "SELL",
    "HOLD",
    "BUY",
    "ACTIONS",
    "check_prices",
    "log_returns",
    "moving_average",
    "market_features",
    "next_position",
    "StockTradingEnv",
    "SyntheticPrices",
    "synthetic_prices",
    "DATASETS",
    "load_prices",
    "article_feature",
    "article_reward",
    "strategy_rewards",
    "momentum_positions",
]


SELL, HOLD, BUY = 0, 1, 2


ACTIONS = ("sell", "hold", "buy")


# ------------------------------------------------------------------------ price features


def check_prices(prices, name: str = "prices") -> np.ndarray:
    """``prices`` as a float64 vector after checking it is 1-D, finite and positive."""
    try:
        p = np.asarray(prices, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D array of positive numbers") from exc
    if p.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must be finite, found {p[~np.isfinite(p)][0]}")
    if np.any(p <= 0):
        raise ValueError(f"{name} must be positive, found {p[p <= 0][0]}")
    return p


def log_returns(prices) -> np.ndarray:
    r"""``r[t] = log(P[t] / P[t-1])`` for t ≥ 1 and ``r[0] = 0`` (no earlier price); ``[T]``."""
    p = check_prices(prices)
    return np.concatenate([[0.0], np.diff(np.log(p))])


def moving_average(prices, n: int) -> np.ndarray:
    r"""Trailing mean of the last ``n`` prices, :math:`\bar P_t = \frac1n\sum_{k=0}^{n-1} P_{t-k}`
    (fewer at the start, where there is less history); uses prices up to t only. ``[T]``."""
    p = check_prices(prices)
    n = check_positive_int("n", n)
    c = np.concatenate([[0.0], np.cumsum(p)])
    t = np.arange(1, len(p) + 1)
    lo = np.maximum(t - n, 0)
    return (c[t] - c[lo]) / (t - lo)


def market_features(prices, window: int, ma_window: int) -> np.ndarray:
    r"""The price part of the corrected observation at every t, ``[T, window + 1]``:
    the last ``window`` log-returns :math:`r_{t-window+1}, \dots, r_t` (zeros before the data
    starts) and :math:`\log(P_t / \bar P_t)` with :math:`\bar P` the ``ma_window``-day average.
    Row t uses ``prices[: t + 1]`` only."""
    p = check_prices(prices)
    window = check_positive_int("window", window)
    r = np.concatenate([np.zeros(window - 1), log_returns(p)])
    lagged = np.lib.stride_tricks.sliding_window_view(r, window)  # row t: r[t-window+1 .. t]
    ma = np.log(p / moving_average(p, ma_window))
    return np.column_stack([lagged, ma])


def next_position(position, action) -> np.ndarray | int:
    """0 = sell (go flat), 1 = hold (keep the position), 2 = buy (go long)."""
    return np.where(action == SELL, 0, np.where(action == BUY, 1, position))


# --------------------------------------------------------------------- the environment


class StockTradingEnv(gym.Env):
    r"""Chapter 8: one asset, flat or long, log-return reward net of costs.

    Registered as ``gaelib/StockTrading-v0`` on ``import gaelib``.

    Args:
        prices: 1-D array of positive, finite prices (daily closes), at least ``window + 1``.
        window: number of log-returns in the observation (≥ 1).
        cost: proportional cost per change of position (≥ 0; 0.001 = 0.1 %).
        ma_window: days in the moving average of the observation's trend feature.
        horizon: maximum steps per episode (``None``: until the end of the data).
        start: first index t of an episode (default: ``window - 1``, the earliest).
        random_start: draw the start uniformly from ``start_range`` at each reset.
        start_range: ``(lo, hi)`` inclusive range of random starts (default: every start that
            leaves ``horizon`` steps, or at least one step, inside the data). Keep it inside
            the training period when the rest is held out.

    Observation at t (``float32``, shape ``[window + 2]``): the last ``window`` log-returns,
    :math:`\log(P_t/\bar P_t)`, and the current position (0 or 1). Actions: 0 sell (go flat),
    1 hold, 2 buy (go long). Episodes start flat. Reward of the step at t:
    :math:`\mathrm{pos}\,\log(P_{t+1}/P_t) - c\,|\mathrm{pos} - \mathrm{pos}_{prev}|`, with pos
    the position after the action, filled at :math:`P_t` — the close that the observation
    already contains (a same-bar fill: optimistic, see the module docstring). ``info["t"]`` is
    the index of the latest price the observation may use. Episodes end with
    ``truncated=True`` at the end of the data or after ``horizon`` steps; ``terminated`` is
    always False.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        prices,
        window: int = 10,
        cost: float = 0.001,
        *,
        ma_window: int = 20,
        horizon: int | None = None,
        start: int | None = None,
        random_start: bool = False,
        start_range: tuple[int, int] | None = None,
        render_mode: str | None = None,
    ):
        self.prices = check_prices(prices)
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
            raise ValueError(f"window must be an integer >= 1, got {window!r}")
        self.window = int(window)
        if len(self.prices) < self.window + 1:
            raise ValueError(
                f"prices must hold at least window + 1 = {self.window + 1} prices (the window "
                f"plus one step), got {len(self.prices)}"
            )
        if isinstance(cost, bool) or not isinstance(cost, int | float) or not cost >= 0:
            raise ValueError(f"cost must be a non-negative number, got {cost!r}")
        if not np.isfinite(cost):
            raise ValueError(f"cost must be finite, got {cost!r}")
        self.cost = float(cost)
        self.ma_window = check_positive_int("ma_window", ma_window)
        self.horizon = None if horizon is None else check_positive_int("horizon", horizon)
        last = len(self.prices) - 2  # the latest t that still has a next price
        self.earliest = self.window - 1
        self.start = self.earliest if start is None else self._check_start("start", start, last)
        self.random_start = bool(random_start)
        if start_range is None:
            hi = last if self.horizon is None else max(self.earliest, last + 1 - self.horizon)
            start_range = (self.earliest, hi)
        if not (isinstance(start_range, tuple | list) and len(start_range) == 2):
            raise ValueError(f"start_range must be a pair (lo, hi), got {start_range!r}")
        lo = self._check_start("start_range", start_range[0], last)
        hi = self._check_start("start_range", start_range[1], last)
        if lo > hi:
            raise ValueError(f"start_range must have lo <= hi, got {start_range!r}")
        self.start_range = (lo, hi)
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        self.render_mode = None
        self._features = market_features(self.prices, self.window, self.ma_window).astype(
            np.float32
        )
        # |log-ratio| of two positive float64 numbers is < 1500: finite bounds; position in {0, 1}
        low = np.full(self.window + 2, -1e4, np.float32)
        high = np.full(self.window + 2, 1e4, np.float32)
        low[-1], high[-1] = 0.0, 1.0
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.action_space = gym.spaces.Discrete(3)
        self.t = self.start
        self.t0 = self.start
        self.position = 0

    def _check_start(self, name: str, t, last: int) -> int:
        if isinstance(t, bool) or not isinstance(t, int | np.integer):
            raise ValueError(f"{name} must be an integer index, got {t!r}")
        if not (self.earliest <= int(t) <= last):
            raise ValueError(f"{name} must lie in [{self.earliest}, {last}], got {t}")
        return int(t)

    def _obs(self) -> np.ndarray:
        return np.append(self._features[self.t], np.float32(self.position))

    def _info(self) -> dict:
        return {"t": self.t, "position": self.position, "price": float(self.prices[self.t])}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        last = len(self.prices) - 2
        if options and "start" in options:
            self.t = self._check_start("start", options["start"], last)
        elif self.random_start:
            self.t = int(self.np_random.integers(self.start_range[0], self.start_range[1] + 1))
        else:
            self.t = self.start
        self.t0 = self.t
        self.position = 0
        return self._obs(), self._info()

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0 (sell), 1 (hold) or 2 (buy), got {action!r}")
        new = int(next_position(self.position, int(action)))
        p = self.prices
        reward = new * float(np.log(p[self.t + 1] / p[self.t])) - self.cost * abs(
            new - self.position
        )
        self.position = new
        self.t += 1
        truncated = self.t == len(p) - 1 or (
            self.horizon is not None and self.t - self.t0 >= self.horizon
        )
        return self._obs(), reward, False, truncated, self._info()


# ------------------------------------------------------------------------------ data


@dataclass(frozen=True)
class SyntheticPrices:
    """A synthetic series: ``prices [T]`` and the hidden ``regime [T]`` (0 up, 1 down) that
    sets the drift of the move from t to t+1 (an *oracle* feature: no trader observes it)."""

    prices: np.ndarray
    regime: np.ndarray
    drift: float
    vol: float


def synthetic_prices(
    n_days: int,
    *,
    seed: int,
    drift: float = 0.002,
    vol: float = 0.01,
    switch_prob: float = 0.02,
    start_price: float = 100.0,
) -> SyntheticPrices:
    r"""Chapter 8: geometric Brownian motion with a two-regime (Markov-switching) drift.

    .. math::
        \log P_{t+1} - \log P_t = \mu_{z_t} + \sigma\,\varepsilon_t, \quad
        \mu_0 = +\texttt{drift},\ \mu_1 = -\texttt{drift},\ \varepsilon_t \sim N(0, 1),

    where the regime :math:`z_t` flips with probability ``switch_prob`` per day (mean
    duration 1/switch_prob days). ``drift=0`` gives a driftless random walk in log-price:
    then no strategy that uses only past prices has an edge. Same seed → same series.
    """
    n_days = check_positive_int("n_days", n_days)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    for name, x in (("drift", drift), ("vol", vol), ("start_price", start_price)):
        if isinstance(x, bool) or not isinstance(x, int | float) or not np.isfinite(x):
            raise ValueError(f"{name} must be a finite number, got {x!r}")
    if drift < 0 or vol < 0 or start_price <= 0:
        raise ValueError(
            f"drift and vol must be >= 0 and start_price > 0, got {drift}, {vol}, {start_price}"
        )
    switch_prob = check_unit_interval("switch_prob", switch_prob)
    rng = np.random.default_rng(seed)
    flips = rng.random(n_days) < switch_prob
    regime = (np.cumsum(flips) + rng.integers(2)) % 2
    mu = np.where(regime == 0, drift, -drift)
    steps = mu[:-1] + vol * rng.standard_normal(n_days - 1)
    prices = start_price * np.exp(np.concatenate([[0.0], np.cumsum(steps)]))
    return SyntheticPrices(prices, regime.astype(np.int64), float(drift), float(vol))


DATASETS = {
    "wti": "wti_daily.csv",
}


def load_prices(name: str = "wti", *, with_dates: bool = False):
    """A real daily price series shipped with gaelib (no network): ``prices [T]``, or
    ``(dates [T] datetime64[D], prices [T])`` with ``with_dates=True``.

    ``"wti"``: West Texas Intermediate crude-oil spot price, Cushing OK, US dollars per
    barrel, trading days 2009-01-02 … 2018-12-28 (U.S. Energy Information Administration,
    public domain; FRED series DCOILWTICO). A commodity, not a stock: see
    ``gaelib/data/README.md`` for why, and for exactly how the file was made.
    """
    if name not in DATASETS:
        raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}")
    text = resources.files("gaelib").joinpath("data", DATASETS[name]).read_text("utf-8")
    rows = list(csv.reader(line for line in text.splitlines() if not line.startswith("#")))
    dates = np.array([r[0] for r in rows[1:]], dtype="datetime64[D]")
    prices = check_prices(np.array([float(r[1]) for r in rows[1:]]), name)
    return (dates, prices) if with_dates else prices


# ------------------------------------------------------------------ the article's toy


def article_feature(prices, n: int) -> np.ndarray:
    r"""The article's §4.3 feature of buying, in price units (dollars):

    .. math::
        f(s_t, \text{buy}) = \max\big(P_t - \tfrac1n \textstyle\sum_{k=1}^{n} P_{t-k},\ 0\big),

    the average over the previous n prices (fewer at the start; 0 at t = 0). ``[T]``."""
    p = check_prices(prices)
    prev = np.concatenate([[p[0]], moving_average(p, n)[:-1]])
    # moving_average(...)[t-1] averages P[t-n .. t-1]: the article's n previous prices
    return np.maximum(p - prev, 0.0)


def article_reward(actions, prices) -> np.ndarray:
    r"""The article's §4.3 reward of the action at t (``actions [T-1]``, ``prices [T]``):
    +0.1 for buy when :math:`P_{t+1} > P_t`, −0.1 for **sell** when :math:`P_{t+1} < P_t`,
    0 otherwise. Reproduced as written (it punishes selling before a fall)."""
    p = check_prices(prices)
    a = np.asarray(actions)
    if a.shape != (len(p) - 1,):
        raise ValueError(f"actions must have shape [{len(p) - 1}] (one per move), got {a.shape}")
    up, down = p[1:] > p[:-1], p[1:] < p[:-1]
    return 0.1 * ((a == BUY) & up) - 0.1 * ((a == SELL) & down)


# ------------------------------------------------------------------------ strategies


def strategy_rewards(prices, positions, cost: float, start_position: int = 0) -> np.ndarray:
    r"""The environment's accounting for a whole sequence of positions: ``positions[k]`` is
    held over the move from ``prices[k]`` to ``prices[k+1]`` (``[T-1]``), and

    .. math:: r_k = \mathrm{pos}_k \log(P_{k+1}/P_k) - c\,|\mathrm{pos}_k - \mathrm{pos}_{k-1}|,

    with :math:`\mathrm{pos}_{-1}` = ``start_position``. The sum is the log of final wealth.
    """
    p = check_prices(prices)
    pos = np.asarray(positions, dtype=np.float64)
    if pos.shape[0] != len(p) - 1:
        raise ValueError(f"positions must have {len(p) - 1} rows (one per move), got {pos.shape}")
    if not (isinstance(cost, int | float) and cost >= 0):
        raise ValueError(f"cost must be a non-negative number, got {cost!r}")
    r = np.diff(np.log(p))
    prev = np.concatenate([np.full((1, *pos.shape[1:]), float(start_position)), pos[:-1]])
    r = r.reshape(-1, *([1] * (pos.ndim - 1)))
    return pos * r - cost * np.abs(pos - prev)


def momentum_positions(prices, ma_window: int) -> np.ndarray:
    """A classic trend rule: long while the price is above its ``ma_window``-day average
    (:func:`moving_average`, so it uses prices up to t only), flat otherwise. ``[T]``."""
    p = check_prices(prices)
    return (p > moving_average(p, ma_window)).astype(np.float64)
