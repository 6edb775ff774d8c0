r"""Chapter 8 exercise checkers: the corrected trading reward with costs; a moving average that
uses only past prices (no look-ahead).

Each checker runs hand-made cases against :mod:`gaelib.worlds.stock`; when an answer is wrong it
recomputes each classic mistake on the same cases, and the mistake that reproduces the
learner's numbers on every case names the bug. :func:`check_moving_average` also tests for
look-ahead directly: it changes the prices after day t and checks that the answer up to t
does not move.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..worlds.stock import BUY, SELL, article_reward, moving_average, strategy_rewards
from ._common import Report, attempt, not_attempted

__all__ = ["check_trading_rewards", "check_moving_average"]


def _close(a, b) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12)


def _fmt(x: np.ndarray) -> str:
    return np.array2string(np.round(x, 5), separator=", ", max_line_width=10_000)


# ------------------------------------------------------------- the reward with costs

_PRICES = {
    "a": [100.0, 102.0, 101.0, 99.0, 103.0, 104.0, 100.0],
    "b": [50.0, 49.0, 48.0, 50.0, 52.0, 51.0, 53.0, 55.0, 54.0],
}


def _reward_cases() -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    pa, pb = (np.array(v) for v in _PRICES.values())
    return [
        ("buy, hold, hold, sell, hold, buy; no cost", pa, np.array([2, 1, 1, 0, 1, 2]), 0.0),
        ("the same actions with a 1% cost per trade", pa, np.array([2, 1, 1, 0, 1, 2]), 0.01),
        (
            "buy twice in a row and sell twice: a repeated order is no trade (cost 0.5%)",
            pb,
            np.array([2, 2, 1, 0, 0, 2, 1, 0]),
            0.005,
        ),
        ("only holds and sells while flat: nothing happens", pb, np.array([1, 0, 1, 0] * 2), 0.01),
    ]


def _positions(actions: np.ndarray, short: bool = False) -> np.ndarray:
    pos, out = 0, []
    for a in actions:
        pos = (-1 if short else 0) if a == SELL else 1 if a == BUY else pos
        out.append(pos)
    return np.asarray(out, dtype=float)


MSG_ARTICLE = (
    "this is the article's ±0.1 reward: it scores a guess about the next move, not the money "
    "made, and it punishes selling before a fall — reward the position held: "
    "pos_t·log(P_{t+1}/P_t) − cost·|pos_t − pos_{t−1}|"
)
MSG_OLD_POSITION = (
    "the move from t to t+1 is earned by the position held AFTER the action at t (you trade at "
    "the close of day t); this used the position from before the action"
)
MSG_SIMPLE_RETURN = (
    "use the log-return log(P_{t+1}/P_t), not the simple return P_{t+1}/P_t − 1: log-returns "
    "add up over time, so the episode's return is the log of final wealth"
)
MSG_NO_COST = "the cost is missing: subtract cost·|pos_t − pos_{t−1}| whenever the position changes"
MSG_COST_PER_ORDER = (
    "the cost was charged for every buy or sell order; only a CHANGE of position costs "
    "anything: buying while already long (or selling while flat) trades nothing"
)
MSG_COST_EVERY_STEP = "the cost was charged at every step; charge it only when the position changes"
MSG_SHORT = (
    "sell means go flat (position 0) in this environment, not go short (−1): the toy is long-only"
)
MSG_BACKWARD = (
    "the reward of the step at t uses the move from t to t+1, log(P_{t+1}/P_t); this used the "
    "past move log(P_t/P_{t−1})"
)
MSG_PCT_COST = (
    "the cost is a fraction of the position's value (0.01 = 1%), subtracted from the "
    "log-return as cost·|Δpos|; it is not multiplied by the price"
)


def _reward_mistakes(p: np.ndarray, a: np.ndarray, c: float) -> list[tuple[str, list]]:
    pos = _positions(a)
    prev = np.concatenate([[0.0], pos[:-1]])
    lr = np.diff(np.log(p))
    simple = p[1:] / p[:-1] - 1
    change = np.abs(pos - prev)
    orders = ((a == BUY) | (a == SELL)).astype(float)
    past = np.concatenate([[0.0], lr[:-1]])
    short = _positions(a, short=True)
    sprev = np.concatenate([[0.0], short[:-1]])
    return [
        (MSG_ARTICLE, [article_reward(a, p)]),
        (MSG_OLD_POSITION, [prev * lr - c * change, prev * lr]),
        (MSG_SIMPLE_RETURN, [pos * simple - c * change, pos * simple]),
        (MSG_SHORT, [short * lr - c * np.abs(short - sprev), short * lr - c * change]),
        (MSG_BACKWARD, [pos * past - c * change]),
        (MSG_COST_PER_ORDER, [pos * lr - c * orders]),
        (MSG_COST_EVERY_STEP, [pos * lr - c]),
        (MSG_PCT_COST, [pos * lr - c * change * p[:-1], pos * lr - c * change * p[1:]]),
        (MSG_NO_COST, [pos * lr]),
    ]


def _diagnose(results: dict[int, np.ndarray], mistakes: dict[int, list]) -> str | None:
    if not results:
        return None
    names = [m for m, _ in next(iter(mistakes.values()))]
    for j, msg in enumerate(names):
        if all(any(_close(got, w) for w in mistakes[i][j][1]) for i, got in results.items()):
            return msg
    return None


def check_trading_rewards(fn: Callable) -> bool:
    r"""Chapter 8 exercise: ``fn(prices [T], actions [T-1], cost)`` → the reward of each step,
    starting flat, actions 0 sell (go flat), 1 hold, 2 buy (go long):

    .. math::
        r_t = \mathrm{pos}_t \log\frac{P_{t+1}}{P_t} - \text{cost}\,|\mathrm{pos}_t -
        \mathrm{pos}_{t-1}|,

    :math:`\mathrm{pos}_t` being the position after the action at t. The reference is
    :func:`gaelib.worlds.stock.strategy_rewards`. Returns ``True`` when all cases pass.
    """
    report = Report("check_trading_rewards")
    cases = _reward_cases()
    outcomes, valid, mistakes = [], {}, {}
    for i, (_, p, a, c) in enumerate(cases):
        status, got = attempt(fn, p.copy(), a.copy(), c)
        if status == "todo":
            return not_attempted("check_trading_rewards")
        want = strategy_rewards(p, _positions(a), c)
        if status == "ok":
            try:
                got = np.asarray(got, dtype=float)
            except (TypeError, ValueError):
                status = "notarray"
            else:
                if got.shape != want.shape:
                    status = "shape"
                elif not _close(got, want):
                    valid[i] = got
                    mistakes[i] = _reward_mistakes(p, a, c)
        outcomes.append((status, got, want))
    hint = _diagnose(valid, mistakes)
    for i, ((label, *_), (status, got, want)) in enumerate(zip(cases, outcomes, strict=True)):
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
        elif status == "notarray":
            report.failed(label, "return a 1-D array of numbers, one reward per action")
        elif status == "shape":
            report.failed(label, f"return one reward per action, shape {want.shape}")
        elif i in valid:
            why = hint or (
                "compare with pos_t·log(P_{t+1}/P_t) − cost·|pos_t − pos_{t−1}|, pos after the "
                "action, starting flat"
            )
            report.failed(label, f"expected {_fmt(want)}, got {_fmt(got)}\n      {why}")
        else:
            report.passed(label)
    return report.show()


# --------------------------------------------------- the moving average, no look-ahead

MSG_LOOKAHEAD = (
    "look-ahead: your average at day t changed when only prices AFTER t changed — a trader at "
    "day t cannot know them (a centred window, np.convolve(..., 'same'), or a forward window "
    "does this); average P_{t−n+1} … P_t"
)
MSG_PREVIOUS_N = (
    "this averages the n prices BEFORE t (the article's P_{t−1} … P_{t−n}); the exercise asks "
    "for the last n prices including today's, P_{t−n+1} … P_t (both avoid look-ahead)"
)
MSG_DIVIDE_N = (
    "at the start there are fewer than n prices: divide by how many you summed "
    "(min(n, t+1)), not by n"
)
MSG_VALID = (
    "return one value per day (shape [T]): np.convolve(..., 'valid') drops the first n−1 days; "
    "average the prices available there"
)


def _ma_cases():
    rng = np.random.default_rng(6)
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 40)))
    return [
        ("eight prices, n=3", np.array([10.0, 11, 12, 11, 13, 15, 14, 16]), 3),
        ("n=1 is the price itself", np.array([5.0, 7, 6, 8]), 1),
        ("a random walk of 40 days, n=10", walk, 10),
        ("n longer than the series: the running mean", np.array([3.0, 1, 2, 6]), 10),
    ]


def _ma_mistakes(p: np.ndarray, n: int) -> list[tuple[str, list]]:
    T = len(p)
    prev = np.array([p[max(0, t - n) : t].mean() if t else p[0] for t in range(T)])
    div_n = np.array([p[max(0, t - n + 1) : t + 1].sum() / n for t in range(T)])
    return [(MSG_PREVIOUS_N, [prev]), (MSG_DIVIDE_N, [div_n])]


def _looks_ahead(fn: Callable, p: np.ndarray, n: int, base: np.ndarray) -> bool:
    """Change every price after t (for several t); any change of the answer at ≤ t is
    look-ahead."""
    for t in range(len(p) - 1):
        q = p.copy()
        q[t + 1 :] *= 1.5
        status, got = attempt(fn, q, n)
        if status != "ok":
            continue
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return False
        if got.shape != base.shape:
            return False
        if not np.allclose(got[: t + 1], base[: t + 1], rtol=1e-12, atol=1e-12, equal_nan=True):
            return True
    return False


def check_moving_average(fn: Callable) -> bool:
    r"""Chapter 8 exercise: ``fn(prices [T], n)`` → the trailing average at every day,

    .. math::
        \bar P_t = \frac{1}{\min(n, t+1)} \sum_{k=0}^{\min(n, t+1)-1} P_{t-k},

    using prices up to t only. The reference is :func:`gaelib.worlds.stock.moving_average`. Before
    comparing numbers, the checker perturbs the prices after t and fails any answer that
    moves at or before t (look-ahead). Returns ``True`` when all cases pass.
    """
    report = Report("check_moving_average")
    for label, p, n in _ma_cases():
        status, got = attempt(fn, p.copy(), n)
        if status == "todo":
            return not_attempted("check_moving_average")
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
            continue
        want = moving_average(p, n)
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            report.failed(label, "return a 1-D array of numbers, one per day")
            continue
        if got.shape != want.shape:
            msg = MSG_VALID if got.ndim == 1 and len(got) == len(p) - n + 1 else ""
            report.failed(label, f"expected shape {want.shape}, got {got.shape}. {msg}".strip())
            continue
        if _looks_ahead(fn, p, n, got):
            report.failed(label, MSG_LOOKAHEAD)
            continue
        if np.allclose(got, want, rtol=1e-9, atol=1e-12):
            report.passed(label)
            continue
        hint = next(
            (msg for msg, ws in _ma_mistakes(p, n) if any(_close(got, w) for w in ws)),
            "compare with the mean of the last min(n, t+1) prices, today's included",
        )
        report.failed(label, f"expected {_fmt(want)}, got {_fmt(got)}\n      {hint}")
    return report.show()
