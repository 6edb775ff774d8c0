r"""Chapter 4 exercise checker: GAE's effective horizon, :math:`H = 1/(1-\gamma\lambda)`.

:func:`check_effective_horizon` compares the learner's ``effective_horizon(gamma, lam)`` with
:func:`gaelib.core.advantages.effective_horizon`, the sum of GAE's weights; a wrong answer is
recomputed under each classic mistake (γ or λ alone, an off-by-one, a bracket, the time constant) to
name the bug.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..core.advantages import effective_horizon
from ._common import Report, attempt, not_attempted

__all__ = ["check_effective_horizon"]


# --------------------------------------------------------------- effective horizon


def _div(a: float, b: float) -> float:
    return math.inf if b == 0 else a / b


MSG_H_GAMMA = (
    "this is 1/(1−γ), the horizon of the discount alone: GAE weighs δ_{t+l} by (γλ)^l, so λ "
    "shortens it — H = Σ_l (γλ)^l = 1/(1−γλ)"
)
MSG_H_LAM = "this is 1/(1−λ): the weights are (γλ)^l, so γ belongs in it too — H = 1/(1−γλ)"
MSG_H_OFF_BY_ONE = (
    "off by one: γλ/(1−γλ) counts only the steps after the first; the sum starts at l=0 with "
    "weight (γλ)^0 = 1 for δ_t itself — H = 1/(1−γλ)"
)
MSG_H_PRECEDENCE = "this is 1 − γλ: check the brackets — 1/(1 - gamma * lam), not 1/1 - gamma * lam"
MSG_H_TIME_CONSTANT = (
    "this is the 1/e time constant −1/ln(γλ); this exercise's horizon is the total weight "
    "Σ_l (γλ)^l = 1/(1−γλ)"
)


def _horizon_mistakes(gamma: float, lam: float) -> list[tuple[str, float]]:
    c = gamma * lam
    return [
        (MSG_H_GAMMA, _div(1.0, 1.0 - gamma)),
        (MSG_H_LAM, _div(1.0, 1.0 - lam)),
        (MSG_H_OFF_BY_ONE, _div(c, 1.0 - c)),
        (MSG_H_PRECEDENCE, 1.0 - c),
        (MSG_H_TIME_CONSTANT, 0.0 if c == 0 else _div(-1.0, math.log(c))),
    ]


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def check_effective_horizon(fn: Callable) -> bool:
    r"""Chapter 4 exercise: ``fn(gamma, lam)`` → GAE's effective horizon, the total weight of
    the residuals it sums,

    .. math::
        H = \sum_{l \ge 0} (\gamma\lambda)^l = \frac{1}{1 - \gamma\lambda},

    and ``math.inf`` when :math:`\gamma\lambda = 1` (the weights never decay).
    """
    cases = [
        (0.99, 0.95, "γ=0.99, λ=0.95 (PPO's usual setting)"),
        (0.9, 0.5, "γ=0.9, λ=0.5"),
        (0.99, 0.0, "λ=0: only δ_t itself counts, a horizon of one step"),
        (0.5, 1.0, "λ=1: the discount alone sets the horizon"),
        (1.0, 0.9, "γ=1: λ alone sets the horizon"),
        (1.0, 1.0, "γλ=1: the weights never decay — return math.inf"),
    ]
    report = Report("check_effective_horizon")
    got_all: dict[int, float] = {}
    outcomes = []
    for i, (gamma, lam, _) in enumerate(cases):
        with np.errstate(divide="ignore", invalid="ignore"):
            status, got = attempt(fn, gamma, lam)
        if status == "todo":
            return not_attempted("check_effective_horizon")
        if status == "ok":
            try:
                got = float(got)
            except (TypeError, ValueError):
                status = "type"
            else:
                if not _same(got, effective_horizon(gamma, lam)):
                    got_all[i] = got
        outcomes.append((status, got))
    names = [msg for msg, _ in _horizon_mistakes(0.5, 0.5)]
    diagnosis = next(
        (
            msg
            for j, msg in enumerate(names)
            if got_all
            and all(_same(g, _horizon_mistakes(*cases[i][:2])[j][1]) for i, g in got_all.items())
        ),
        None,
    )
    for (gamma, lam, label), (status, got) in zip(cases, outcomes, strict=True):
        want = effective_horizon(gamma, lam)
        if status == "error":
            msg = f"raised {type(got).__name__}: {got}"
            if isinstance(got, ZeroDivisionError) and gamma * lam == 1.0:
                msg += " — when γλ = 1 the sum Σ (γλ)^l diverges: return math.inf"
            report.failed(label, msg)
        elif status == "type":
            report.failed(label, f"return a single number, got {type(got).__name__}")
        elif _same(got, want):
            report.passed(label)
        else:
            hint = diagnosis or next(
                (m for m, w in _horizon_mistakes(gamma, lam) if _same(got, w)), None
            )
            if hint is None:
                hint = (
                    "when γλ = 1 the weights never decay and the sum diverges: return math.inf"
                    if math.isinf(want)
                    else "compare with H = Σ_{l≥0} (γλ)^l = 1/(1−γλ), math.inf when γλ = 1"
                )
            report.failed(label, f"expected {want:.6g}, got {got:.6g}: {hint}")
    return report.show()
