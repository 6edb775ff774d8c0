"""Chapter 8 checkers: the reference passes, the template is "not attempted yet", and each
classic mistake fails with its own hint. The wrong variants are written as a learner would
write them (loops over days), not by calling the checker's variant code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaelib.exercises import ch08
from gaelib.worlds import stock

MESSAGES = {k: v for k, v in vars(ch08).items() if k.startswith("MSG_")}


def template(*args):
    raise NotImplementedError


def assert_only_hint(out: str, name: str) -> None:
    assert "✗" in out and "Not yet" in out
    assert MESSAGES[name] in out, out
    others = [k for k, m in MESSAGES.items() if k != name and m in out]
    assert not others, f"{name} also printed {others}:\n{out}"


# ------------------------------------------------------------- check_trading_rewards


def rewards_loop(prices, actions, cost, *, new_pos=None, ret=None, fee=None, use_old=False):
    """A learner's loop; the keyword hooks let each wrong variant change one thing."""
    pos, out = 0, []
    for t, a in enumerate(actions):
        old = pos
        if new_pos is not None:
            pos = new_pos(pos, a)
        else:
            pos = 0 if a == 0 else 1 if a == 2 else pos
        r = ret(t) if ret is not None else math.log(prices[t + 1] / prices[t])
        held = old if use_old else pos
        c = fee(t, a, old, pos) if fee is not None else cost * abs(pos - old)
        out.append(held * r - c)
    return out


def test_rewards_reference_passes(capsys):
    def reference(prices, actions, cost):
        pos = stock.next_position(0, actions[0])
        positions = [pos]
        for a in actions[1:]:
            pos = stock.next_position(pos, a)
            positions.append(pos)
        return stock.strategy_rewards(prices, positions, cost)

    assert ch08.check_trading_rewards(reference) is True
    assert ch08.check_trading_rewards(rewards_loop) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 8 and "All cases pass" in out


def test_rewards_template_not_attempted(capsys):
    assert ch08.check_trading_rewards(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out


def article(prices, actions, cost):
    out = []
    for t, a in enumerate(actions):
        up, down = prices[t + 1] > prices[t], prices[t + 1] < prices[t]
        out.append(0.1 if (a == 2 and up) else -0.1 if (a == 0 and down) else 0.0)
    return out


def old_position(prices, actions, cost):
    return rewards_loop(prices, actions, cost, use_old=True)


def simple_return(prices, actions, cost):
    return rewards_loop(prices, actions, cost, ret=lambda t: prices[t + 1] / prices[t] - 1)


def no_cost(prices, actions, cost):
    return rewards_loop(prices, actions, 0.0)


def cost_per_order(prices, actions, cost):
    return rewards_loop(prices, actions, cost, fee=lambda t, a, o, p: cost * (a != 1))


def cost_every_step(prices, actions, cost):
    return rewards_loop(prices, actions, cost, fee=lambda t, a, o, p: cost)


def short_selling(prices, actions, cost):
    return rewards_loop(
        prices, actions, cost, new_pos=lambda p, a: -1 if a == 0 else 1 if a == 2 else p
    )


def backward(prices, actions, cost):
    return rewards_loop(
        prices, actions, cost, ret=lambda t: math.log(prices[t] / prices[t - 1]) if t else 0.0
    )


def cost_times_price(prices, actions, cost):
    return rewards_loop(prices, actions, cost, fee=lambda t, a, o, p: cost * abs(p - o) * prices[t])


@pytest.mark.parametrize(
    "fn, name",
    [
        (article, "MSG_ARTICLE"),
        (old_position, "MSG_OLD_POSITION"),
        (simple_return, "MSG_SIMPLE_RETURN"),
        (no_cost, "MSG_NO_COST"),
        (cost_per_order, "MSG_COST_PER_ORDER"),
        (cost_every_step, "MSG_COST_EVERY_STEP"),
        (short_selling, "MSG_SHORT"),
        (backward, "MSG_BACKWARD"),
        (cost_times_price, "MSG_PCT_COST"),
    ],
)
def test_rewards_mistakes_get_their_hint(fn, name, capsys):
    assert ch08.check_trading_rewards(fn) is False
    assert_only_hint(capsys.readouterr().out, name)


def test_rewards_crash_and_shape_are_reported(capsys):
    assert ch08.check_trading_rewards(lambda p, a, c: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert ch08.check_trading_rewards(lambda p, a, c: np.zeros(len(p))) is False
    assert "one reward per action" in capsys.readouterr().out


# ------------------------------------------------------------- check_moving_average


def ma_loop(prices, n):
    out = []
    for t in range(len(prices)):
        lo = max(0, t - n + 1)
        out.append(sum(prices[lo : t + 1]) / (t + 1 - lo))
    return np.array(out)


def test_ma_reference_passes(capsys):
    assert ch08.check_moving_average(stock.moving_average) is True
    assert ch08.check_moving_average(ma_loop) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 8 and "All cases pass" in out


def test_ma_template_not_attempted(capsys):
    assert ch08.check_moving_average(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out


def centred(prices, n):
    out = []
    for t in range(len(prices)):
        lo, hi = max(0, t - n // 2), min(len(prices), t + n // 2 + 1)
        out.append(np.mean(prices[lo:hi]))
    return np.array(out)


def convolve_same(prices, n):
    return np.convolve(prices, np.ones(n) / n, mode="same")


def forward_window(prices, n):
    return np.array([np.mean(prices[t : t + n]) for t in range(len(prices))])


def previous_n(prices, n):
    return np.array(
        [np.mean(prices[max(0, t - n) : t]) if t else prices[0] for t in range(len(prices))]
    )


def divide_by_n(prices, n):
    return np.array([np.sum(prices[max(0, t - n + 1) : t + 1]) / n for t in range(len(prices))])


def valid_only(prices, n):
    return np.convolve(prices, np.ones(n) / n, mode="valid")


@pytest.mark.parametrize(
    "fn, name",
    [
        (centred, "MSG_LOOKAHEAD"),
        (convolve_same, "MSG_LOOKAHEAD"),
        (forward_window, "MSG_LOOKAHEAD"),
        (previous_n, "MSG_PREVIOUS_N"),
        (divide_by_n, "MSG_DIVIDE_N"),
        (valid_only, "MSG_VALID"),
    ],
)
def test_ma_mistakes_get_their_hint(fn, name, capsys):
    assert ch08.check_moving_average(fn) is False
    assert_only_hint(capsys.readouterr().out, name)
