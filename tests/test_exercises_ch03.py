"""Chapter 3 checkers: the reference passes, each classic wrong variant fails with its hint."""

from __future__ import annotations

import numpy as np
import pytest

from gaelib import nstep_advantages
from gaelib.exercises import ch03


def template(*args):
    raise NotImplementedError


# ------------------------------------------------------------ A = Q − V


def ref_adv(Q, pi):
    V = (pi * Q).sum(axis=1)
    return Q - V[:, None]


def test_advantage_reference_and_template(capsys):
    assert ch03.check_advantage_from_q_v is ch03.check_advantage_from_q_v
    assert ch03.check_advantage_from_q_v(ref_adv) is True
    assert "All cases pass" in capsys.readouterr().out
    assert ch03.check_advantage_from_q_v(template) is False
    assert "not attempted yet" in capsys.readouterr().out


def test_advantage_reference_gives_zero_mean_under_pi():
    for Q, pi, _ in ch03._adv_cases():
        np.testing.assert_allclose((pi * ref_adv(Q, pi)).sum(axis=1), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda Q, pi: Q - Q.max(axis=1, keepdims=True), "greedy policy"),
        (lambda Q, pi: Q - Q.mean(axis=1, keepdims=True), "plain mean over actions"),
        (lambda Q, pi: -ref_adv(Q, pi), "sign is flipped"),
        (lambda Q, pi: np.repeat((pi * Q).sum(1)[:, None], Q.shape[1], 1), "V^π repeated"),
        (lambda Q, pi: pi * Q, "not subtracted"),
        (lambda Q, pi: (pi * Q).sum(axis=1), "looks like V"),
        (lambda Q, pi: Q - (pi * Q).sum(axis=1)[None, :], "shape"),  # broadcast on the wrong axis
        (lambda Q, pi: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_advantage_wrong_variants(wrong, hint, capsys):
    assert ch03.check_advantage_from_q_v(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


# ------------------------------------------------------------ the k-step advantage


def ref_kstep(rewards, values, terminated, k, gamma):
    """Written out term by term, independently of the checker's oracle."""
    T = len(rewards)
    out = np.empty(T)
    for t in range(T):
        end = min(t + k, T)
        g = sum(gamma ** (l - t) * rewards[l] for l in range(t, end))
        if end < T or not terminated:
            g += gamma ** (end - t) * values[end]
        out[t] = g - values[t]
    return out


def ref_with_gaelib(rewards, values, terminated, k, gamma):
    T = len(rewards)
    term = np.zeros(T, dtype=bool)
    term[-1] = terminated
    return nstep_advantages(rewards, values[:-1], values[1:], term, gamma=gamma, k=k)


@pytest.mark.parametrize("ref", [ref_kstep, ref_with_gaelib])
def test_kstep_reference_and_template(ref, capsys):
    assert ch03.check_kstep_advantage is ch03.check_kstep_advantage
    assert ch03.check_kstep_advantage(ref) is True
    assert "All cases pass" in capsys.readouterr().out
    assert ch03.check_kstep_advantage(template) is False
    assert "not attempted yet" in capsys.readouterr().out


def _with_terminal_bootstrap(rewards, values, terminated, k, gamma):
    return ref_kstep(rewards, values, False, k, gamma)


def _gamma_k_minus_1(rewards, values, terminated, k, gamma):
    T = len(rewards)
    out = np.empty(T)
    for t in range(T):
        end = min(t + k, T)
        g = sum(gamma ** (l - t) * rewards[l] for l in range(t, end))
        if end < T or not terminated:
            g += gamma ** (end - t - 1) * values[end]
        out[t] = g - values[t]
    return out


def _no_subtract(rewards, values, terminated, k, gamma):
    return ref_kstep(rewards, values, terminated, k, gamma) + np.asarray(values[:-1])


def _window_too_long(rewards, values, terminated, k, gamma):
    return ref_kstep(rewards, values, terminated, k + 1, gamma)


def _bootstrap_one_early(rewards, values, terminated, k, gamma):
    T = len(rewards)
    out = np.empty(T)
    for t in range(T):
        end = min(t + k, T)
        g = sum(gamma ** (l - t) * rewards[l] for l in range(t, end))
        if end < T:
            g += gamma**k * values[end - 1]
        elif not terminated:
            g += gamma ** (end - t) * values[end]
        out[t] = g - values[t]
    return out


def _never_bootstrap_at_end(rewards, values, terminated, k, gamma):
    return ref_kstep(rewards, values, True, k, gamma)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_with_terminal_bootstrap, "bootstrapped from a terminal state"),
        (_gamma_k_minus_1, "not γ^(k−1)"),
        (_no_subtract, "V(s_t) was not subtracted"),
        (_window_too_long, "exactly k rewards"),
        (_bootstrap_one_early, "off by one in the bootstrap"),
        (lambda *a: -ref_kstep(*a), "sign is flipped"),
        (_never_bootstrap_at_end, "time limit"),
        (lambda r, v, term, k, g: ref_kstep(r, v, term, k, 1.0), "must be discounted"),
        (lambda *a: ref_kstep(*a)[:-1], "one per step"),
        (lambda r, v, term, k, g: [v[t + k] for t in range(len(r))], "stop the sum at T"),
    ],
)
def test_kstep_wrong_variants(wrong, hint, capsys):
    assert ch03.check_kstep_advantage(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
