r"""Chapter 3 exercise checkers: the advantage from Q and π; the k-step advantage estimator."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._common import Report, attempt, not_attempted

__all__ = ["check_advantage_from_q_v", "check_kstep_advantage"]


# ------------------------------------------------------------ A = Q − V from Q and π


def _adv_cases():
    rng = np.random.default_rng(303)
    cases = [
        (
            np.array([[1.0, 3.0], [0.5, -0.5], [2.0, 2.0]]),
            np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]),
            "3 states, 2 actions, a uniform policy",
        ),
        (
            np.array([[1.0, 3.0, -2.0], [0.0, 1.0, 4.0]]),
            np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]),
            "2 states, 3 actions, a non-uniform policy",
        ),
        (
            np.array([[5.0, 1.0], [-1.0, 2.0], [0.0, 0.0], [3.0, -3.0]]),
            np.array([[1.0, 0.0], [0.25, 0.75], [0.5, 0.5], [0.9, 0.1]]),
            "4 states, 2 actions, a deterministic state and a near-greedy one",
        ),
    ]
    for i in range(2):
        Q = np.round(rng.normal(size=(3, 4)), 2)
        pi = rng.dirichlet(np.ones(4), size=3)
        cases.append((Q, pi, f"random Q and π, 3 states × 4 actions #{i + 1}"))
    return cases


def _adv_mistakes(Q, pi):
    V = (pi * Q).sum(axis=1)
    return [
        (
            "this used V(s) = max_a Q(s,a), the value of the greedy policy; V^π(s) is the "
            "π-weighted average Σ_a π(a|s) Q(s,a)",
            Q - Q.max(axis=1, keepdims=True),
        ),
        (
            "this used the plain mean over actions; V^π(s) weights each action by how often π "
            "takes it: Σ_a π(a|s) Q(s,a)",
            Q - Q.mean(axis=1, keepdims=True),
        ),
        ("the sign is flipped: A = Q − V, not V − Q", V[:, None] - Q),
        (
            "this is V^π repeated for every action; the advantage is Q − V",
            np.repeat(V[:, None], Q.shape[1], 1),
        ),
        ("V was weighted by π but not subtracted: A(s,a) = Q(s,a) − V(s)", pi * Q),
    ]


def check_advantage_from_q_v(fn: Callable) -> bool:
    r"""Chapter 3: ``fn(Q [S, A], pi [S, A])`` → the advantage ``[S, A]``,

    .. math::
        A^\pi(s, a) = Q^\pi(s, a) - V^\pi(s), \qquad V^\pi(s) = \sum_a \pi(a \mid s)\, Q^\pi(s, a).
    """
    report = Report("check_advantage_from_q_v")
    for Q, pi, label in _adv_cases():
        status, got = attempt(fn, Q.copy(), pi.copy())
        if status == "todo":
            return not_attempted("check_advantage_from_q_v")
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
            continue
        want = Q - (pi * Q).sum(axis=1, keepdims=True)
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            report.failed(label, "return an array of numbers shaped like Q")
            continue
        if got.shape != want.shape:
            hint = ""
            if got.shape == (Q.shape[0],):
                hint = " — one number per state looks like V; return A for every (s, a)"
            report.failed(label, f"return an array of shape {want.shape}, got {got.shape}{hint}")
            continue
        if np.allclose(got, want, atol=1e-9):
            report.passed(label)
            continue
        hint = next(
            (m for m, w in _adv_mistakes(Q, pi) if np.allclose(got, w, atol=1e-9)),
            "compare with A = Q − V[:, None], where V = (pi * Q).sum(axis=1)",
        )
        shown = f"expected {np.round(want, 3).tolist()}, got {np.round(got, 3).tolist()}"
        report.failed(label, f"{shown}: {hint}")
    return report.show()


# ------------------------------------------------------------ the k-step advantage


def _kstep(
    rewards,
    values,
    terminated,
    k,
    gamma,
    *,
    boot_terminal=False,
    no_boot_end=False,
    gpow=0,
    sub=True,
    boot_shift=0,
    sign=1.0,
):
    """Â^(k)_t for every t of one episode (with switches that reproduce classic mistakes)."""
    T = len(rewards)
    out = []
    for t in range(T):
        m = min(k, T - t)
        g = sum(gamma**l * rewards[t + l] for l in range(m))
        j = t + k  # the state we bootstrap from
        if j < T:
            g += gamma ** (k + gpow) * values[min(j + boot_shift, T)]
        elif (not terminated or boot_terminal) and not no_boot_end:
            g += gamma ** (T - t + gpow) * values[T]
        out.append(sign * (g - values[t]) if sub else g)
    return np.array(out)


def _kstep_mistakes(rewards, values, terminated, k, gamma):
    args = (rewards, values, terminated, k, gamma)
    return [
        (
            "bootstrapped from a terminal state: when the episode terminated, nothing follows "
            "its last step, whatever the critic says about the terminal state — no γ^m V term",
            _kstep(*args, boot_terminal=True),
        ),
        (
            "the bootstrap term must be discounted by γ^k (k rewards come before it), not γ^(k−1)",
            _kstep(*args, gpow=-1),
        ),
        ("V(s_t) was not subtracted: Â^(k)_t = (k-step return) − V(s_t)", _kstep(*args, sub=False)),
        (
            "off by one: the window holds exactly k rewards, rewards[t] … rewards[t+k−1], "
            "then V(s_{t+k})",
            _kstep(rewards, values, terminated, k + 1, gamma),
        ),
        (
            "off by one in the bootstrap: after k rewards the state is s_{t+k}, values[t+k]",
            _kstep(*args, boot_shift=-1),
        ),
        (
            "the sign is flipped: Â = (k-step return) − V(s_t), not V(s_t) − return",
            _kstep(*args, sign=-1.0),
        ),
        (
            "the episode was cut by a time limit (terminated=False): the state after the last "
            "step still has a value, so bootstrap from values[T] with γ^(T−t)",
            _kstep(*args, no_boot_end=True),
        ),
        (
            "the rewards and the bootstrap must be discounted (γ^l r_{t+l}, γ^k V)",
            _kstep(rewards, values, terminated, k, 1.0),
        ),
    ]


def check_kstep_advantage(fn: Callable) -> bool:
    r"""Chapter 3: ``fn(rewards [T], values [T+1], terminated, k, gamma)`` → ``[T]`` advantages

    .. math::
        \hat A^{(k)}_t = \sum_{l=0}^{m-1} \gamma^l r_{t+l} + \gamma^m\, \hat V(s_{t+m})\,
        [\,t + m < T \text{ or not terminated}\,] - \hat V(s_t), \qquad m = \min(k, T - t),

    for one episode: ``rewards[t]`` is the reward returned by step t, ``values[t]`` is
    :math:`\hat V(s_t)` for ``t = 0..T`` (``values[T]`` is the critic's number for the final
    observation), and ``terminated`` says whether the last step reached a terminal state
    (``False``: the episode was cut by a time limit, so bootstrap from ``values[T]``).
    """
    rewards = [0.5, -1.0, 0.0, 2.0, 1.0]
    values = [0.2, 0.4, -0.3, 0.6, 0.1, 0.8]  # values[5] ≠ 0: a critic's output at the end
    cases = [
        (1, 0.9, True, "k=1 (the TD residual δ_t), the episode terminated"),
        (2, 0.9, True, "k=2, γ=0.9, the episode terminated"),
        (3, 0.5, True, "k=3, γ=0.5, the episode terminated"),
        (3, 0.9, False, "k=3, the episode was truncated by a time limit"),
        (10, 0.9, True, "k=10 ≥ T: the Monte-Carlo advantage"),
    ]
    report = Report("check_kstep_advantage")
    for k, gamma, term, label in cases:
        status, got = attempt(fn, np.array(rewards), np.array(values), term, k, gamma)
        if status == "todo":
            return not_attempted("check_kstep_advantage")
        if status == "error":
            msg = f"raised {type(got).__name__}: {got}"
            if isinstance(got, IndexError):
                msg += " — near the end fewer than k rewards are left: stop the sum at T"
            report.failed(label, msg)
            continue
        want = _kstep(rewards, values, term, k, gamma)
        try:
            got = np.asarray(got, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            report.failed(label, "return an array of numbers, one per step")
            continue
        if got.shape != want.shape:
            report.failed(label, f"return {len(want)} numbers (one per step), got {got.size}")
            continue
        if np.allclose(got, want, atol=1e-9):
            report.passed(label)
            continue
        hint = next(
            (m for m, w in _kstep_mistakes(rewards, values, term, k, gamma)
             if np.allclose(got, w, atol=1e-9)),
            "compare with r_t + γ r_{t+1} + … + γ^(k−1) r_{t+k−1} + γ^k V(s_{t+k}) − V(s_t), "
            "cut at the episode's end",
        )  # fmt: skip
        shown = f"expected {np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()}"
        report.failed(label, f"{shown}: {hint}")
    return report.show()
