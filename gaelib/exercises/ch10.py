"""Chapter 10 exercise checkers: the λ-return by its own recursion; explained variance."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.advantages import lambda_returns
from ._common import Report, attempt, not_attempted

__all__ = ["check_lambda_return", "check_explained_variance"]


def _lambda_cases():
    rng = np.random.default_rng(8)
    cases = []
    # (rewards, values, next_values, terminated, truncated, gamma, lam, label)
    r, v = np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.0, 1.5])
    nv = np.array([1.0, 1.5, 2.0])
    z = np.zeros(3, bool)
    cases.append((r, v, nv, z, z, 0.9, 0.0, "λ=0: one-step target r + γV(s')"))
    cases.append((r, v, nv, z, z, 0.9, 1.0, "λ=1: the discounted return, bootstrapped at the end"))
    cases.append((r, v, nv, z, z, 0.9, 0.5, "λ=0.5 on one unfinished episode"))
    T = 9
    r, v = rng.normal(size=T).round(2), rng.normal(size=T).round(2)
    nv = np.append(v[1:], 0.7).copy()
    term, trunc = np.zeros(T, bool), np.zeros(T, bool)
    term[2], trunc[5] = True, True
    nv[2], nv[5] = 5.0, -3.0  # a terminal observation's value must be ignored; a truncated one used
    cases.append((r, v, nv, term, trunc, 0.95, 0.8, "a termination and a truncation inside"))
    return cases


def _lambda_mistakes(r, v, nv, term, trunc, gamma, lam):
    def rec(weight_v, use_next_values=True, bootstrap_trunc=True, cut=True):
        T = len(r)
        out = np.zeros(T)
        nxt = 0.0
        for t in range(T - 1, -1, -1):
            vnext = nv[t] if use_next_values else v[t]
            done = term[t] or trunc[t]
            if term[t] or (trunc[t] and not bootstrap_trunc):
                g = r[t]
            elif done and cut or t == T - 1:
                g = r[t] + gamma * vnext
            else:
                g = r[t] + gamma * (weight_v * vnext + lam * nxt)
            out[t] = nxt = g
        return out

    return [
        (
            "the bootstrap weight is (1 − λ): G^λ_t = r_t + γ[(1−λ)V(s_{t+1}) + λ G^λ_{t+1}]",
            rec(1.0),
        ),
        (
            "bootstrap from V(s_{t+1}) — next_values[t] — not from V(s_t)",
            rec(1 - lam, use_next_values=False),
        ),
        (
            "a truncated step still has a future: bootstrap r + γV(s_{t+1}) there",
            rec(1 - lam, bootstrap_trunc=False),
        ),
    ]


def check_lambda_return(fn: Callable) -> bool:
    r"""Chapter 10: ``fn(rewards, values, next_values, terminated, truncated, gamma, lam)`` →
    the λ-returns, by the recursion
    :math:`G^\lambda_t = r_t + \gamma[(1-\lambda)V(s_{t+1}) + \lambda G^\lambda_{t+1}]`
    within an episode (``r_t`` at a termination; ``r_t + γV(s_{t+1})`` at a truncation or the
    end of the array)."""
    report = Report("check_lambda_return")
    for r, v, nv, te, tr, gamma, lam, label in _lambda_cases():
        args = (r.copy(), v.copy(), nv.copy(), te.copy(), tr.copy(), gamma, lam)
        status, got = attempt(fn, *args)
        if status == "todo":
            return not_attempted("check_lambda_return")
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
            continue
        want = lambda_returns(r, v, nv, te, tr, gamma=gamma, lam=lam)
        got = np.asarray(got, dtype=float)
        if got.shape != want.shape:
            report.failed(label, f"return one value per step, shape {want.shape}; got {got.shape}")
            continue
        if np.allclose(got, want, atol=1e-9):
            report.passed(label)
            continue
        hint = next(
            (m for m, w in _lambda_mistakes(r, v, nv, te, tr, gamma, lam) if np.allclose(got, w)),
            "compare with G^λ = Â^GAE + V: the two must agree",
        )
        report.failed(label, f"expected {np.round(want, 3)}, got {np.round(got, 3)}: {hint}")
    return report.show()


def _ev(values, returns):
    var = np.var(returns)
    return float("nan") if var == 0 else float(1 - np.var(returns - values) / var)


def check_explained_variance(fn: Callable) -> bool:
    r"""Chapter 10: ``fn(values, returns)`` → :math:`1 - \mathrm{Var}[G - V]/\mathrm{Var}[G]`, the
    share of the return's variance the critic explains (1 perfect, 0 no better than a
    constant, negative worse than a constant)."""
    rng = np.random.default_rng(3)
    g = rng.normal(size=200) * 5 + 10
    cases = [
        (g.copy(), g, "a perfect critic explains everything: 1"),
        (np.full(200, g.mean()), g, "a constant critic explains nothing: 0"),
        (g + rng.normal(size=200) * 2, g, "a noisy critic: between 0 and 1"),
        (-g + 2 * g.mean(), g, "an anti-correlated critic: negative"),
        (g * 0.5 + 3, g, "a biased, shrunken critic"),
    ]
    report = Report("check_explained_variance")
    for values, returns, label in cases:
        status, got = attempt(fn, values.copy(), returns.copy())
        if status == "todo":
            return not_attempted("check_explained_variance")
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
            continue
        want = _ev(values, returns)
        try:
            got = float(got)
        except (TypeError, ValueError):
            report.failed(label, "return a single number")
            continue
        if np.isclose(got, want, atol=1e-9):
            report.passed(label)
            continue
        mistakes = [
            ("divide by the variance of the returns, not of the values", _ev(returns, values)),
            (
                "use variances, not standard deviations",
                1 - np.std(returns - values) / np.std(returns),
            ),
            (
                "this is Var[G−V]/Var[G]: explained variance is one minus it",
                np.var(returns - values) / np.var(returns),
            ),
            (
                "the variance of the error is not the mean squared error (subtract its mean)",
                1 - np.mean((returns - values) ** 2) / np.var(returns),
            ),
        ]
        hint = next(
            (m for m, w in mistakes if np.isclose(got, w, atol=1e-9)),
            "compare with 1 − Var[G − V] / Var[G]",
        )
        report.failed(label, f"expected {want:.4f}, got {got:.4f}: {hint}")
    return report.show()
