r"""Chapter 8: the stock-trading environment for many episodes at once.

:class:`BatchedTradingEnv` steps K × E episodes — K price series or K runs, E episodes each —
in one NumPy call per day, with the accounting of
:class:`gaelib.worlds.stock.StockTradingEnv`,

.. math::
    r_t = \mathrm{pos}_t \log\frac{P_{t+1}}{P_t} - c\,|\mathrm{pos}_t - \mathrm{pos}_{t-1}|,

checked against the gymnasium environment ``gaelib/StockTrading-v0`` reward by reward
(``tests/test_stock.py``).
"""

from __future__ import annotations

import numpy as np

from ..core._validate import check_positive_int
from .stock import BUY, SELL, check_prices

__all__ = ["BatchedTradingEnv", "stack_series"]


# ------------------------------------------------------------------ lockstep: K runs at once


def stack_series(prices, x, x_name: str = "x") -> tuple[np.ndarray, np.ndarray]:
    """``prices [K, T]`` and ``x [K, T, k]`` from one series (``[T]``, ``[T, k]``) or K."""
    p = np.asarray(prices, dtype=np.float64)
    if p.ndim == 1:
        p = p[None]
    if p.ndim != 2:
        raise ValueError(f"prices must have shape [T] or [K, T], got {p.shape}")
    for k, row in enumerate(p):
        check_prices(row, f"prices[{k}]")
    f = np.asarray(x, dtype=np.float64)
    if f.ndim == 2:
        f = f[None]
    if f.ndim != 3 or f.shape[1] != p.shape[1]:
        raise ValueError(
            f"{x_name} must have shape [T={p.shape[1]}, k] or [K, T, k], got {f.shape}"
        )
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{x_name} must be finite")
    if len(p) != len(f):
        if len(p) == 1:
            p = np.repeat(p, len(f), axis=0)
        elif len(f) == 1:
            f = np.repeat(f, len(p), axis=0)
        else:
            raise ValueError(
                f"prices ({len(p)} series) and {x_name} ({len(f)}) must have the same K"
            )
    return p, f


class BatchedTradingEnv:
    r"""Chapter 8: K price series × E episodes of :class:`~gaelib.worlds.stock.StockTradingEnv`'s
    accounting, stepped together by a few NumPy operations per day.

    Run k trades ``prices[k]`` and observes ``features[k]``; its E episodes start flat at the
    days ``starts[k, e]`` given to :meth:`reset` and last ``horizon`` steps. Each :meth:`step`
    moves every episode one day:

    .. math::
        r_{ke} = \mathrm{pos}_{ke} \log\frac{P_{k,t+1}}{P_{k,t}}
                 - c\,\lvert \mathrm{pos}_{ke} - \mathrm{pos}^{\mathrm{prev}}_{ke} \rvert,

    with the position after the action (0 sell = go flat, 1 hold, 2 buy = go long). The
    observation ``[K, E, k + 1]`` is ``features[k, t]`` and the position — with
    ``features = market_features(prices, window, ma_window)`` the gymnasium environment's
    observation (in float64 instead of float32); the rewards are the environment's to the last
    bit (``tests/test_stock.py`` plays both side by side). ``t [K, E]`` and
    ``position [K, E]`` are every episode's current day and position.

    Args:
        prices: ``[T]`` (one series for every run) or ``[K, T]``, positive and finite.
        features: ``[T, k]`` or ``[K, T, k]``, row t using prices up to t only.
        cost: proportional cost per change of position (≥ 0).
    """

    def __init__(self, prices, features, cost: float):
        self.prices, self.features = stack_series(prices, features, "features")
        if isinstance(cost, bool) or not isinstance(cost, int | float) or not cost >= 0:
            raise ValueError(f"cost must be a non-negative number, got {cost!r}")
        if not np.isfinite(cost):
            raise ValueError(f"cost must be finite, got {cost!r}")
        self.cost = float(cost)
        p = self.prices
        self.n_runs, self.n_days = p.shape
        # the env's log(P[t+1] / P[t]), flat: run k's day t is entry k·T + t
        moves = np.log(p[:, 1:] / p[:, :-1])
        self._moves = np.concatenate([moves, np.zeros((self.n_runs, 1))], axis=1).ravel()
        self._flat_features = self.features.reshape(self.n_runs * self.n_days, -1)
        self.offset = (np.arange(self.n_runs) * self.n_days)[:, None]  # [K, 1]
        self.t = self.position = None
        self.steps_left = 0

    def observation(self) -> np.ndarray:
        """``[K, E, k + 1]``: ``features[k, t]`` and the position, for every episode."""
        x = self._flat_features[self.offset + self.t]
        return np.concatenate([x, self.position[..., None]], axis=-1)

    def reset(self, starts, horizon: int) -> np.ndarray:
        """Start every episode flat at ``starts [K, E]`` for ``horizon`` steps (all inside the
        data: ``starts + horizon ≤ T - 1``). Returns the observations ``[K, E, k + 1]``."""
        horizon = check_positive_int("horizon", horizon)
        starts = np.asarray(starts)
        if (
            starts.ndim != 2
            or len(starts) != self.n_runs
            or not np.issubdtype(starts.dtype, np.integer)
        ):
            raise ValueError(f"starts must be integers of shape [K={self.n_runs}, E], got {starts}")
        if starts.min() < 0 or starts.max() + horizon > self.n_days - 1:
            raise ValueError(
                f"starts + horizon must stay inside the data (T={self.n_days}), got "
                f"starts in [{starts.min()}, {starts.max()}] and horizon {horizon}"
            )
        self.t = starts.astype(np.int64)
        self.position = np.zeros(starts.shape)
        # each episode's log-moves, day by day: [horizon, K, E]
        self._episode_moves = self._moves[self.offset + self.t + np.arange(horizon)[:, None, None]]
        self._h = 0
        self.steps_left = horizon
        return self.observation()

    def step(self, actions: np.ndarray, *, observe: bool = True, check: bool = True):
        """Apply ``actions [K, E]`` (0 sell, 1 hold, 2 buy). Returns the observations (``None``
        with ``observe=False``), the rewards ``[K, E]`` and ``truncated`` (True on the last of
        the ``horizon`` steps). ``check=False`` skips the checks of ``actions``, for a rollout loop
        whose actions are valid by construction (``gaelib.algorithms.trading_grid``)."""
        if self.steps_left <= 0:
            raise ValueError("step called after the last step of the horizon; call reset")
        if check:
            actions = np.asarray(actions)
            if actions.shape != self.t.shape:
                raise ValueError(f"actions must have shape {self.t.shape}, got {actions.shape}")
            if not np.issubdtype(actions.dtype, np.integer) or np.any(
                (actions < 0) | (actions > 2)
            ):
                raise ValueError("actions must be integers 0 (sell), 1 (hold) or 2 (buy)")
        new = np.where(actions == SELL, 0.0, np.where(actions == BUY, 1.0, self.position))
        move = self._episode_moves[self._h]
        rewards = new * move - self.cost * np.abs(new - self.position)
        self.position = new
        self.t = self.t + 1
        self._h += 1
        self.steps_left -= 1
        return self.observation() if observe else None, rewards, self.steps_left == 0
