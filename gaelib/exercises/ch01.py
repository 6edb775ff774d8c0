"""Chapter 1 exercise checkers: the softmax-linear score function; the reward-to-go."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.policies import softmax_linear_probs, softmax_linear_score
from ._common import Report, attempt, not_attempted

__all__ = ["check_softmax_linear_score", "check_reward_to_go"]


def _score_cases():
    rng = np.random.default_rng(123)
    cases = [
        (np.zeros(3), np.eye(3), 0, "θ = 0 (uniform policy), one-hot features"),
        (np.array([2.0, -1.0, 0.5]), np.eye(3), 1, "one-hot features, non-uniform policy"),
    ]
    for i in range(3):
        theta, feats = rng.normal(size=4), rng.normal(size=(3, 4))
        cases.append((theta, feats, int(rng.integers(3)), f"random θ and features #{i + 1}"))
    return cases


def _score_mistakes(theta, feats, a):
    p = softmax_linear_probs(theta, feats)
    return [
        ("the expectation term is missing: ∇log π = f(s,a) − Σ_b π(b|s) f(s,b)", feats[a]),
        ("the sign is flipped: it is f(s,a) minus the expected feature", -(feats[a] - p @ feats)),
        (
            "the expected feature must be weighted by π(b|s), not a plain average over actions",
            feats[a] - feats.mean(axis=0),
        ),
        (
            "this is ∇π(a|s), the gradient of the probability; the score is ∇log π = ∇π / π",
            p[a] * (feats[a] - p @ feats),
        ),
        (
            "the expectation uses exp(θᵀf) without normalising: divide by Σ_b exp(θᵀf(s,b))",
            feats[a] - np.exp(feats @ theta) @ feats,
        ),
    ]


def check_softmax_linear_score(fn: Callable) -> bool:
    r"""Chapter 1: ``fn(theta [d], features [A, d], action)`` → the score ∇_θ log π(a|s)."""
    report = Report("check_softmax_linear_score")
    for theta, feats, a, label in _score_cases():
        status, got = attempt(fn, theta.copy(), feats.copy(), a)
        if status == "todo":
            return not_attempted("check_softmax_linear_score")
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
            continue
        want = softmax_linear_score(theta, feats, a)
        got = np.asarray(got, dtype=float)
        if got.shape != want.shape:
            report.failed(label, f"return a vector of shape {want.shape}, got {got.shape}")
            continue
        if np.allclose(got, want, atol=1e-8):
            report.passed(label)
            continue
        hint = next(
            (m for m, w in _score_mistakes(theta, feats, a) if np.allclose(got, w)),
            "compare term by term with f(s,a) − Σ_b π(b|s) f(s,b)",
        )
        report.failed(label, f"expected {np.round(want, 4)}, got {np.round(got, 4)}: {hint}")
    return report.show()


def _rtg(rewards, gamma):
    out, g = [], 0.0
    for r in reversed(rewards):
        g = r + gamma * g
        out.append(g)
    return out[::-1]


def _rtg_mistakes(rewards, gamma):
    T = len(rewards)
    total = sum(gamma**t * r for t, r in enumerate(rewards))
    return [
        (
            "every step got the whole episode's return G_0: the reward-to-go G_t only counts "
            "rewards from step t on (actions cannot change the past)",
            [total] * T,
        ),
        (
            "this accumulates the past: G_t = r_t + γ r_{t+1} + … looks forward, not backward",
            [sum(gamma ** (t - k) * rewards[k] for k in range(t + 1)) for t in range(T)],
        ),
        (
            "off by one: G_t includes r_t itself (the reward returned by step t)",
            [g - r for g, r in zip(_rtg(rewards, gamma), rewards, strict=True)],
        ),
        ("γ was not applied", _rtg(rewards, 1.0)),
        (
            "the discount exponent restarts wrongly: G_t = Σ_{l≥t} γ^(l−t) r_l, not γ^l",
            [sum(gamma**l * rewards[l] for l in range(t, T)) for t in range(T)],
        ),
    ]


def check_reward_to_go(fn: Callable) -> bool:
    r"""Chapter 1: ``fn(rewards, gamma)`` → the list :math:`G_t = \sum_{l\ge t}\gamma^{l-t}r_l`."""
    cases = [
        ([1.0, 1.0, 1.0], 1.0, "three rewards of 1, γ=1"),
        ([1.0, 2.0, 3.0], 0.5, "rewards 1, 2, 3 with γ=0.5"),
        ([0.0, 0.0, 0.0, 10.0], 0.9, "a single late reward, γ=0.9"),
        ([5.0], 0.99, "a one-step episode"),
        ([-1.0, 2.0, -3.0, 4.0, -5.0], 0.8, "mixed signs, γ=0.8"),
    ]
    report = Report("check_reward_to_go")
    for rewards, gamma, label in cases:
        status, got = attempt(fn, list(rewards), gamma)
        if status == "todo":
            return not_attempted("check_reward_to_go")
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
            continue
        want = _rtg(rewards, gamma)
        try:
            got = [float(x) for x in got]
        except (TypeError, ValueError):
            report.failed(label, "return a list of numbers, one per step")
            continue
        if len(got) != len(want):
            report.failed(label, f"return {len(want)} numbers (one per step), got {len(got)}")
            continue
        if np.allclose(got, want, atol=1e-9):
            report.passed(label)
            continue
        hint = next(
            (m for m, w in _rtg_mistakes(rewards, gamma) if np.allclose(got, w)),
            "compare with G_t = r_t + γ G_{t+1}, computed from the last step backwards",
        )
        report.failed(
            label, f"expected {np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()}: {hint}"
        )
    return report.show()
