"""Chapter 4 checkers: correct answers pass, each classic GAE mistake fails with its own hint.

The wrong variants below are written the way a learner would write them (loops over t), not
by calling the checker's own variant code, so they test the diagnosis independently.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaelib import compute_gae
from gaelib.exercises import ch04, ch04_horizon

GAE_MESSAGES = {k: v for k, v in vars(ch04).items() if k.startswith("MSG_") and "_H_" not in k}
H_MESSAGES = {k: v for k, v in vars(ch04_horizon).items() if k.startswith("MSG_H_")}


def template(*args):
    raise NotImplementedError


def assert_only_hint(out: str, name: str, messages: dict[str, str]) -> None:
    """The output fails and carries the message ``name`` and no other specific message."""
    assert "✗" in out and "Not yet" in out
    assert messages[name] in out, out
    others = [k for k, m in messages.items() if k != name and m in out]
    assert not others, f"{name} also printed {others}:\n{out}"


# --------------------------------------------------------------------- check_gae


def gae_loop(r, v, nv, term, trunc, gamma, lam, *, flag=None, delta_fn=None, cut=None):
    """A learner's backward loop; the keyword hooks let each wrong variant change one thing."""
    T = len(r)
    adv, last = np.zeros(T), 0.0
    for t in reversed(range(T)):
        if delta_fn is None:
            delta = r[t] + gamma * nv[t] * (1 - term[t]) - v[t]
        else:
            delta = delta_fn(t)
        done = (term[t] or trunc[t]) if cut is None else cut(t)
        last = delta + gamma * lam * (1 - done) * last
        adv[t] = last
    return adv


def literal_sum(r, v, nv, term, trunc, gamma, lam):
    """Written differently: the GAE article's sum of (γλ)^l δ_{t+l}, to the episode's end."""
    T = len(r)
    delta = [r[t] + (0.0 if term[t] else gamma * nv[t]) - v[t] for t in range(T)]
    out = []
    for t in range(T):
        end = t
        while end < T - 1 and not (term[end] or trunc[end]):
            end += 1
        out.append(sum((gamma * lam) ** l * delta[t + l] for l in range(end - t + 1)))
    return out  # a plain list is accepted too


def numpy_only(r, v, nv, term, trunc, gamma, lam):
    """Vectorised δ; asserts the checker passes plain 1-D numpy arrays (no torch)."""
    for x in (r, v, nv, term, trunc):
        assert type(x) is np.ndarray and x.ndim == 1
    assert r.dtype == np.float64 and term.dtype == np.bool_ and trunc.dtype == np.bool_
    assert isinstance(gamma, float) and isinstance(lam, float)
    delta = r + gamma * nv * ~term - v
    cont = ~(term | trunc)
    adv = np.zeros_like(delta)
    for t in range(len(r) - 2, -1, -1):
        adv[t] = gamma * lam * cont[t] * (delta[t + 1] + adv[t + 1])
    return adv + delta


def test_gae_reference_passes(capsys):
    def reference(r, v, nv, term, trunc, gamma, lam):
        return compute_gae(r, v, nv, term, trunc, gamma=gamma, lam=lam)

    assert ch04.check_gae(reference) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 6 and "All cases pass" in out


@pytest.mark.parametrize("fn", [gae_loop, literal_sum, numpy_only])
def test_gae_other_correct_implementations_pass(fn, capsys):
    assert ch04.check_gae(fn) is True
    assert "All cases pass" in capsys.readouterr().out


def test_gae_torch_answer_is_accepted(capsys):
    torch = pytest.importorskip("torch")

    def with_torch(*args):
        return torch.as_tensor(gae_loop(*args))

    assert ch04.check_gae(with_torch) is True


def test_gae_template_is_not_attempted(capsys):
    assert ch04.check_gae(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out


def forward(r, v, nv, term, trunc, gamma, lam):
    adv, last = np.zeros(len(r)), 0.0
    for t in range(len(r)):  # (a) forgot to reverse time
        delta = r[t] + gamma * nv[t] * (1 - term[t]) - v[t]
        last = delta + gamma * lam * (1 - (term[t] or trunc[t])) * last
        adv[t] = last
    return adv


def forward_reset(r, v, nv, term, trunc, gamma, lam):
    adv, last = np.zeros(len(r)), 0.0
    for t in range(len(r)):  # (a) forwards, resetting when a new episode starts
        if t > 0 and (term[t - 1] or trunc[t - 1]):
            last = 0.0
        last = r[t] + gamma * nv[t] * (1 - term[t]) - v[t] + gamma * lam * last
        adv[t] = last
    return adv


def reversed_order(r, v, nv, term, trunc, gamma, lam):
    out, last = [], 0.0
    for t in reversed(range(len(r))):
        delta = r[t] + gamma * nv[t] * (1 - term[t]) - v[t]
        last = delta + gamma * lam * (1 - (term[t] or trunc[t])) * last
        out.append(last)  # never flipped back
    return np.array(out)


def cleanrl_port(r, v, nv, term, trunc, gamma, lam):
    """(b) the flags of step t+1 (CleanRL's dones[t+1] read with this course's arrays)."""
    T = len(r)
    done = term | trunc
    adv, last = np.zeros(T), 0.0
    for t in reversed(range(T)):
        next_nonterminal = 1.0 - (term[t + 1] if t + 1 < T else False)
        next_continue = 1.0 - (done[t + 1] if t + 1 < T else False)
        delta = r[t] + gamma * nv[t] * next_nonterminal - v[t]
        last = delta + gamma * lam * next_continue * last
        adv[t] = last
    return adv


def flag_previous(*a):
    r, v, nv, term, trunc, gamma, lam = a
    # (b) the flags of step t−1 (at t=0 numpy's [-1] wraps to the last step)
    return gae_loop(
        *a,
        delta_fn=lambda t: r[t] + gamma * nv[t] * (1 - term[t - 1]) - v[t],
        cut=lambda t: term[t - 1] or trunc[t - 1],
    )


def cut_next_flag(*a):
    r, v, nv, term, trunc, gamma, lam = a
    return gae_loop(*a, cut=lambda t: t + 1 < len(r) and (term[t + 1] or trunc[t + 1]))


def no_boot_on_truncation(*a):
    r, v, nv, term, trunc, gamma, lam = a
    return gae_loop(
        *a, delta_fn=lambda t: r[t] + gamma * nv[t] * (1 - (term[t] or trunc[t])) - v[t]
    )


def boot_on_termination(*a):
    r, v, nv, term, trunc, gamma, lam = a
    return gae_loop(*a, delta_fn=lambda t: r[t] + gamma * nv[t] - v[t])


def terminated_ignored(*a):
    r, v, nv, term, trunc, gamma, lam = a
    return gae_loop(*a, delta_fn=lambda t: r[t] + gamma * nv[t] - v[t], cut=lambda t: trunc[t])


def truncated_wins(*a):
    r, v, nv, term, trunc, gamma, lam = a

    def delta(t):
        if trunc[t]:
            return r[t] + gamma * nv[t] - v[t]
        if term[t]:
            return r[t] - v[t]
        return r[t] + gamma * nv[t] - v[t]

    return gae_loop(*a, delta_fn=delta)


def last_step_no_bootstrap(*a):
    r, v, nv, term, trunc, gamma, lam = a

    def delta(t):
        if t == len(r) - 1:
            return r[t] - v[t]
        return r[t] + gamma * nv[t] * (1 - term[t]) - v[t]

    return gae_loop(*a, delta_fn=delta)


def crosses_boundary(*a):
    return gae_loop(*a, cut=lambda t: False)


def cut_only_on_terminated(*a):
    term = a[3]
    return gae_loop(*a, cut=lambda t: term[t])


def values_next(*a):
    r, v, nv, term, trunc, gamma, lam = a

    def delta(t):
        nxt = v[t + 1] if t + 1 < len(r) else nv[t]
        return r[t] + gamma * nxt * (1 - term[t]) - v[t]

    return gae_loop(*a, delta_fn=delta)


def values_appended_zero(*a):
    r, v, nv, term, trunc, gamma, lam = a
    v_ext = np.append(v, 0.0)  # "V after the last step is 0"
    return gae_loop(*a, delta_fn=lambda t: r[t] + gamma * v_ext[t + 1] * (1 - term[t]) - v[t])


@pytest.mark.parametrize(
    "wrong, name",
    [
        (forward, "MSG_FORWARD"),
        (forward_reset, "MSG_FORWARD"),
        (reversed_order, "MSG_REVERSED"),
        (cleanrl_port, "MSG_OFF_BY_ONE"),
        (flag_previous, "MSG_OFF_BY_ONE"),
        (cut_next_flag, "MSG_OFF_BY_ONE"),
        (no_boot_on_truncation, "MSG_NO_BOOT_TRUNC"),
        (boot_on_termination, "MSG_BOOT_TERM"),
        (terminated_ignored, "MSG_BOOT_TERM"),
        (truncated_wins, "MSG_TRUNC_WINS"),
        (last_step_no_bootstrap, "MSG_LAST_NO_BOOT"),
        (crosses_boundary, "MSG_CROSSES"),
        (cut_only_on_terminated, "MSG_CUT_TERM_ONLY"),
        (values_next, "MSG_VALUES_NEXT"),
        (values_appended_zero, "MSG_VALUES_NEXT"),
        (lambda *a: gae_loop(*a) + a[1], "MSG_LAMBDA_RETURN"),
        (lambda *a: gae_loop(*a[:-1], 0.0), "MSG_DELTA_ONLY"),
        (lambda *a: gae_loop(*a[:-1], 1.0), "MSG_DECAY"),  # γ only
    ],
)
def test_gae_classic_mistakes_get_their_own_hint(wrong, name, capsys):
    assert ch04.check_gae(wrong) is False
    assert_only_hint(capsys.readouterr().out, name, GAE_MESSAGES)


def test_gae_lambda_only_decay(capsys):
    def lam_only(r, v, nv, term, trunc, gamma, lam):
        delta = r + gamma * nv * ~term - v
        adv, last = np.zeros(len(r)), 0.0
        for t in reversed(range(len(r))):
            last = delta[t] + lam * (1 - (term[t] or trunc[t])) * last  # γ forgotten here only
            adv[t] = last
        return adv

    assert ch04.check_gae(lam_only) is False
    assert_only_hint(capsys.readouterr().out, "MSG_DECAY", GAE_MESSAGES)


def test_each_mistake_differs_from_the_reference_somewhere():
    """Every variant the checker knows is caught by at least one rollout."""
    cases = ch04._gae_cases()
    n = len(ch04._gae_mistakes(cases[0]))
    for j in range(n):
        caught = any(
            not np.allclose(w, c.reference()) for c in cases for w in ch04._gae_mistakes(c)[j][1]
        )
        assert caught, ch04._gae_mistakes(cases[0])[j][0]


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda *a: gae_loop(*a)[:-1], "shape (5,)"),
        (lambda *a: None, "returned None"),
        (lambda *a: "advantages", "return a numpy array"),
        (lambda *a: 1 / 0, "raised ZeroDivisionError"),
        (lambda r, v, *a: [v[t + 1] for t in range(len(r))], "index ran off the array"),
        (lambda *a: gae_loop(*a) + 0.5, "compare with δ_t"),
    ],
)
def test_gae_generic_failures(wrong, hint, capsys):
    assert ch04.check_gae(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_gae_input_mutation_is_reported(capsys):
    def mutates(r, v, nv, term, trunc, gamma, lam):
        done = term
        done |= trunc  # changes the caller's terminated array
        return gae_loop(r, v, nv, term, trunc, gamma, lam)

    assert ch04.check_gae(mutates) is False
    out = capsys.readouterr().out
    assert "changed its input terminated in place" in out


def test_gae_failure_names_the_wrong_steps(capsys):
    ch04.check_gae(values_next)
    out = capsys.readouterr().out
    assert "wrong at t=5 (truncated)" in out  # the three-episode rollout's truncation


# ----------------------------------------------------------- check_effective_horizon


def ref_horizon(gamma, lam):
    return math.inf if gamma * lam == 1 else 1 / (1 - gamma * lam)


def numpy_horizon(gamma, lam):  # numpy divides by zero to inf (with a warning the checker mutes)
    return np.float64(1.0) / (1.0 - np.float64(gamma) * lam)


def series_horizon(gamma, lam):  # written differently: the geometric series summed
    c = gamma * lam
    if c == 1:
        return float("inf")
    return math.fsum(c**k for k in range(20_000))


@pytest.mark.parametrize("fn", [ref_horizon, numpy_horizon, series_horizon])
def test_horizon_correct_answers_pass(fn, capsys):
    with np.errstate(all="raise"):  # the checker must not leak numpy's warnings
        assert ch04_horizon.check_effective_horizon(fn) is True
    assert "All cases pass" in capsys.readouterr().out


def test_horizon_template_is_not_attempted(capsys):
    assert ch04_horizon.check_effective_horizon(template) is False
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, name",
    [
        (lambda g, l: 1 / (1 - g), "MSG_H_GAMMA"),
        (lambda g, l: 1 / (1 - l), "MSG_H_LAM"),
        (lambda g, l: g * l / (1 - g * l), "MSG_H_OFF_BY_ONE"),
        (lambda g, l: 1 / 1 - g * l, "MSG_H_PRECEDENCE"),
        (lambda g, l: -1 / math.log(g * l), "MSG_H_TIME_CONSTANT"),
    ],
)
def test_horizon_wrong_variants_get_their_own_hint(wrong, name, capsys):
    assert ch04_horizon.check_effective_horizon(wrong) is False
    assert_only_hint(capsys.readouterr().out, name, H_MESSAGES)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda g, l: 1 / (1 - g * l), "raised ZeroDivisionError: float division by zero — when"),
        (lambda g, l: 1e9 if g * l == 1 else 1 / (1 - g * l), "return math.inf"),
        (lambda g, l: [1 / (1 - g * l + 1e-300)], "single number"),
        (lambda g, l: 2.0 / (1 - g * l + 1e-300), "compare with H"),
    ],
)
def test_horizon_generic_failures(wrong, hint, capsys):
    assert ch04_horizon.check_effective_horizon(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
