"""Chapter 2 exercise checkers: one TD(0) update; the n-step return."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._common import Report, attempt, not_attempted

__all__ = ["check_td0_update", "check_nstep_return"]

# A 5-state walk: states 0..6, where 0 and 6 are terminal. The terminal entries hold nonzero
# numbers on purpose: a learned critic outputs *something* for a terminal observation, and
# the `terminated` flag — not the table — says that nothing follows.
_V = np.array([0.3, 0.2, -0.1, 0.4, 0.5, 0.1, -0.6])


# ------------------------------------------------------------------- TD(0) update


def _td0(V, s, r, s2, term, alpha, gamma, *, boot_terminal=False, use_gamma=True):
    V = V.copy()
    g = gamma if use_gamma else 1.0
    target = r + (0.0 if term and not boot_terminal else g * V[s2])
    V[s] += alpha * (target - V[s])
    return V


def _td0_mistakes(V, s, r, s2, term, alpha, gamma):
    target = r + (0.0 if term else gamma * V[s2])
    no_alpha, no_minus, wrong_state, wrong_sign = V.copy(), V.copy(), V.copy(), V.copy()
    no_alpha[s] = target
    no_minus[s] += alpha * target
    wrong_state[s2] += alpha * (target - V[s2])
    wrong_sign[s] -= alpha * (target - V[s])
    return [
        (
            "bootstrapped from a terminal state: when terminated is True the target is just r "
            "(nothing follows a terminal state, whatever V holds there)",
            _td0(V, s, r, s2, term, alpha, gamma, boot_terminal=True),
        ),
        ("γ is missing: the target is r + γ·V[s_next]", _td0(V, s, r, s2, term, alpha, 1.0)),
        (
            "α is missing: V[s] was set to the target instead of moved a step α towards it",
            no_alpha,
        ),
        (
            "the step must be α times the TD error δ = target − V[s], not α times the target",
            no_minus,
        ),
        ("the wrong entry changed: update V[s] (the state you left), not V[s_next]", wrong_state),
        ("wrong sign: V[s] must move towards the target, V[s] += α·δ", wrong_sign),
    ]


def check_td0_update(fn: Callable) -> bool:
    r"""Chapter 2 exercise: ``fn(V, s, r, s_next, terminated, alpha, gamma)`` applies one
    TD(0) update to the table ``V`` (in place, or returning the new table):

    .. math::
        V(s) \leftarrow V(s) + \alpha\,[\,r + \gamma\,(1 - \text{terminated})\,V(s') - V(s)\,]
    """
    cases = [
        (2, 0.0, 3, False, 0.1, 1.0, "a step to the right, no reward, α=0.1, γ=1"),
        (4, 0.5, 3, False, 0.5, 0.9, "a reward of 0.5, α=0.5, γ=0.9"),
        (5, 1.0, 6, True, 0.2, 1.0, "stepping into the right terminal state (+1)"),
        (1, -1.0, 0, True, 1.0, 0.9, "stepping into the left terminal state (−1), α=1"),
    ]
    report = Report("check_td0_update")
    for s, r, s2, term, alpha, gamma, label in cases:
        V = _V.copy()
        status, got = attempt(fn, V, s, r, s2, term, alpha, gamma)
        if status == "todo":
            return not_attempted("check_td0_update")
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
            continue
        table = V if got is None else np.asarray(got, dtype=float)
        want = _td0(_V, s, r, s2, term, alpha, gamma)
        if table.shape != want.shape:
            report.failed(label, f"return the whole table V (shape {want.shape}) or None")
            continue
        if np.allclose(table, want, atol=1e-9):
            report.passed(label)
            continue
        if np.array_equal(table, _V):
            hint = "V did not change: update V[s] in place (or return the updated table)"
        else:
            hint = next(
                (msg for msg, w in _td0_mistakes(_V, s, r, s2, term, alpha, gamma)
                 if np.allclose(table, w, atol=1e-9)),
                "compare with V[s] += α·(r + γ·(0 if terminated else V[s_next]) − V[s])",
            )  # fmt: skip
        got_s = f"got V[{s}] = {table[s]:.4g}"
        report.failed(label, f"expected V[{s}] = {want[s]:.4g}, {got_s}: {hint}")
    return report.show()


# ------------------------------------------------------------------ n-step return


def _nstep(rewards, states, V, t, n, gamma, *, shift=0, extra=0, boot_shift=0, gpow=0, end=True):
    T = len(rewards)
    m = min(n + extra, T - t - shift)
    g = sum(gamma**k * rewards[t + shift + k] for k in range(max(m, 0)))
    if t + n < T or not end:
        g += gamma ** (n + gpow) * V[states[min(t + n + boot_shift, T)]]
    return float(g)


def _nstep_mistakes(rewards, states, V, t, n, gamma):
    T = len(rewards)
    undiscounted = sum(rewards[t : min(t + n, T)])
    if t + n < T:
        undiscounted += gamma**n * V[states[t + n]]
    return [
        (
            "the rewards are shifted by one: rewards[t] is the reward returned by step t (the "
            "article's r_{t+1}), so the sum starts at rewards[t]",
            _nstep(rewards, states, V, t, n, gamma, shift=1),
        ),
        (
            "bootstrapped although the episode had ended: when t + n ≥ T there is no V term",
            _nstep(rewards, states, V, t, n, gamma, end=False),
        ),
        (
            "off by one in the bootstrap: after n rewards the state is states[t + n]",
            _nstep(rewards, states, V, t, n, gamma, boot_shift=-1),
        ),
        (
            "the bootstrap term is discounted by γ^n, the n-th power (n rewards came before it)",
            _nstep(rewards, states, V, t, n, gamma, gpow=-1),
        ),
        (
            "off by one: sum exactly n rewards, rewards[t] … rewards[t+n−1]",
            _nstep(rewards, states, V, t, n, gamma, extra=1),
        ),
        ("the rewards must be discounted: γ^k · rewards[t+k]", float(undiscounted)),
        (
            "this is G − V(s_t), an advantage; return the n-step return G itself",
            _nstep(rewards, states, V, t, n, gamma) - float(V[states[t]]),
        ),
    ]


def check_nstep_return(fn: Callable) -> bool:
    r"""Chapter 2 exercise: ``fn(rewards, states, V, t, n, gamma)`` → the n-step return

    .. math::
        G_{t:t+n} = \sum_{k=0}^{m-1} \gamma^k r_{t+k} + [t + n < T]\,\gamma^n V(s_{t+n}),
        \qquad m = \min(n, T - t),

    for one finished episode: ``rewards[k]`` is the reward returned by step k (T of them),
    ``states[k]`` is :math:`s_k` (T + 1 of them; ``states[T]`` is the terminal state).
    """
    rewards = [0.1, -0.2, 0.3, 0.0, 1.0]
    states = [3, 4, 3, 4, 5, 6]
    cases = [
        (0, 1, 0.9, "n=1 from t=0: r_0 + γ V(s_1)"),
        (0, 3, 0.9, "n=3 from t=0"),
        (1, 2, 0.5, "n=2 from t=1, γ=0.5"),
        (2, 3, 0.9, "n=3 from t=2: t+n = T, the episode has ended — no bootstrap"),
        (3, 4, 0.9, "n=4 from t=3: fewer than n rewards are left"),
        (0, 10, 1.0, "n=10 ≥ T: the Monte Carlo return"),
    ]
    report = Report("check_nstep_return")
    for t, n, gamma, label in cases:
        status, got = attempt(fn, list(rewards), list(states), _V.copy(), t, n, gamma)
        if status == "todo":
            return not_attempted("check_nstep_return")
        want = _nstep(rewards, states, _V, t, n, gamma)
        if status == "error":
            msg = f"raised {type(got).__name__}: {got}"
            if isinstance(got, IndexError):
                msg += (
                    " — an index ran past the episode's end: stop the sum at T, and add no V term"
                )
            report.failed(label, msg)
            continue
        try:
            got = float(got)
        except (TypeError, ValueError):
            report.failed(label, f"return a single number, got {type(got).__name__}")
            continue
        if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9):
            report.passed(label)
            continue
        hint = next(
            (msg for msg, w in _nstep_mistakes(rewards, states, _V, t, n, gamma)
             if math.isclose(got, w, rel_tol=1e-9, abs_tol=1e-9)),
            "compare with G = r_t + γ r_{t+1} + … + γ^{n−1} r_{t+n−1} + γ^n V(s_{t+n})",
        )  # fmt: skip
        report.failed(label, f"expected {want:.6g}, got {got:.6g}: {hint}")
    return report.show()
