"""Chapter 5 checkers (the autoreset mask; the critic's λ-return targets): correct answers
pass, each classic mistake fails with its own hint.

The wrong variants are written the way a learner would write them (loops, numpy one-liners),
not by calling the checker's own variant code, so they test the diagnosis independently.
"""

from __future__ import annotations

import numpy as np
import pytest

from gaelib.core.advantages import compute_gae
from gaelib.exercises import ch05, ch05_targets

MASK_MESSAGES = {k: v for k, v in vars(ch05).items() if k.startswith("MSG_MASK_")}


def template(*args):
    raise NotImplementedError


def assert_only_hint(out: str, name: str, messages: dict[str, str]) -> None:
    """The output fails and carries the message ``name`` and no other specific message."""
    assert "✗" in out and "Not yet" in out
    assert messages[name] in out, out
    others = [k for k, m in messages.items() if k != name and m in out]
    assert not others, f"{name} also printed {others}:\n{out}"


# ------------------------------------------------------------ check_autoreset_mask


def mask_loop(terminated, truncated, after_end_start):
    T, N = terminated.shape
    mask = np.ones((T, N), dtype=bool)
    prev = after_end_start.copy()
    for t in range(T):
        mask[t] = ~prev
        prev = terminated[t] | truncated[t]
    return mask


def mask_numpy(terminated, truncated, after_end_start):
    for x in (terminated, truncated, after_end_start):
        assert type(x) is np.ndarray and x.dtype == np.bool_
    assert terminated.ndim == 2 and after_end_start.shape == terminated.shape[1:]
    done = terminated | truncated
    return ~np.vstack([after_end_start[None], done[:-1]])


def mask_as_ints(terminated, truncated, after_end_start):
    return mask_loop(terminated, truncated, after_end_start).astype(int)


def mask_as_torch(terminated, truncated, after_end_start):
    torch = pytest.importorskip("torch")
    return torch.as_tensor(mask_loop(terminated, truncated, after_end_start))


def test_mask_reference_passes(capsys):
    assert ch05.check_autoreset_mask(mask_loop) is True
    out = capsys.readouterr().out
    assert out.count("✓") == len(ch05._mask_cases()) and "All cases pass" in out


@pytest.mark.parametrize("fn", [mask_numpy, mask_as_ints, mask_as_torch])
def test_mask_other_correct_answers_pass(fn, capsys):
    assert ch05.check_autoreset_mask(fn) is True
    assert "All cases pass" in capsys.readouterr().out


def test_mask_template_is_not_attempted(capsys):
    assert ch05.check_autoreset_mask(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out


def mask_last_step(terminated, truncated, after_end_start):
    return ~(terminated | truncated)


def mask_last_step_with_carry(terminated, truncated, after_end_start):
    mask = ~(terminated | truncated)
    mask[0] &= ~after_end_start
    return mask


def mask_nothing(terminated, truncated, after_end_start):
    return np.ones(terminated.shape, dtype=bool)


def mask_terminated_only(terminated, truncated, after_end_start):
    mask = np.ones(terminated.shape, dtype=bool)
    mask[0] = ~after_end_start
    mask[1:] = ~terminated[:-1]
    return mask


def mask_no_carry(terminated, truncated, after_end_start):
    mask = np.ones(terminated.shape, dtype=bool)
    for t in range(1, len(terminated)):
        mask[t] = ~(terminated[t - 1] | truncated[t - 1])
    return mask


def mask_finished(terminated, truncated, after_end_start):
    T, N = terminated.shape
    mask = np.ones((T, N), dtype=bool)
    for i in range(N):
        finished = bool(after_end_start[i])
        for t in range(T):
            mask[t, i] = not finished
            if terminated[t, i] or truncated[t, i]:
                finished = True  # "the environment is done": never un-set
    return mask


def mask_finished_cumsum(terminated, truncated, after_end_start):
    done = terminated | truncated
    ended_before = np.cumsum(done, axis=0) - done > 0
    return ~ended_before


def mask_roll(terminated, truncated, after_end_start):
    return ~np.roll(terminated | truncated, 1, axis=0)


def mask_inverted(terminated, truncated, after_end_start):
    return ~mask_loop(terminated, truncated, after_end_start)


@pytest.mark.parametrize(
    "wrong, name",
    [
        (mask_last_step, "MSG_MASK_LAST_STEP"),
        (mask_last_step_with_carry, "MSG_MASK_LAST_STEP"),
        (mask_nothing, "MSG_MASK_NOTHING"),
        (mask_terminated_only, "MSG_MASK_TERM_ONLY"),
        (mask_no_carry, "MSG_MASK_NO_CARRY"),
        (mask_finished, "MSG_MASK_FINISHED"),
        (mask_finished_cumsum, "MSG_MASK_FINISHED"),
        (mask_roll, "MSG_MASK_ROLL"),
        (mask_inverted, "MSG_MASK_INVERTED"),
    ],
)
def test_mask_classic_mistakes_get_their_own_hint(wrong, name, capsys):
    assert ch05.check_autoreset_mask(wrong) is False
    assert_only_hint(capsys.readouterr().out, name, MASK_MESSAGES)


def test_each_mask_mistake_is_caught_and_distinct():
    """Every variant differs from the reference on some case, and from every other variant."""
    cases = ch05._mask_cases()
    per_case = [ch05._mask_mistakes(c) for c in cases]
    n = len(per_case[0])
    for j in range(n):
        assert any(
            not np.array_equal(w, c.reference())
            for c, ms in zip(cases, per_case, strict=True)
            for w in ms[j][1]
        ), per_case[0][j][0]
        for k in range(n):
            if k != j:  # some case where no output of j equals any output of k
                assert any(
                    not any(np.array_equal(a, b) for a in ms[j][1] for b in ms[k][1])
                    for ms in per_case
                ), (per_case[0][j][0], per_case[0][k][0])


def test_mask_cases_are_realistic():
    """A reset step never carries a flag, and every case has resets to find."""
    for c in ch05._mask_cases():
        ref = c.reference()
        assert not (c.terminated | c.truncated)[~ref].any(), c.label
        assert (~ref).any(), c.label


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda te, tr, s: mask_loop(te, tr, s)[:-1], "shape"),
        (lambda te, tr, s: None, "returned None"),
        (lambda te, tr, s: mask_loop(te, tr, s) * 0.5, "return booleans"),
        (lambda te, tr, s: 1 / 0, "raised ZeroDivisionError"),
        (lambda te, tr, s: mask_loop(te, tr, s) ^ np.eye(*te.shape, dtype=bool), "mask[t] = not"),
    ],
)
def test_mask_generic_failures(wrong, hint, capsys):
    assert ch05.check_autoreset_mask(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_mask_input_mutation_is_reported(capsys):
    def mutates(terminated, truncated, after_end_start):
        terminated |= truncated  # changes the caller's array
        return mask_loop(terminated, truncated, after_end_start)

    assert ch05.check_autoreset_mask(mutates) is False
    assert "changed its input terminated in place" in capsys.readouterr().out


def test_mask_failure_names_the_steps(capsys):
    ch05.check_autoreset_mask(mask_no_carry)
    out = capsys.readouterr().out
    assert "t=0, env 0 (a reset step: the previous rollout's last step ended" in out


# ------------------------------------------------------------- check_value_targets

TARGET_MESSAGES = {k: v for k, v in vars(ch05_targets).items() if k.startswith("MSG_VT_")}


def targets_reference(rewards, values, next_values, terminated, truncated, gamma, lam):
    adv = compute_gae(rewards, values, next_values, terminated, truncated, gamma=gamma, lam=lam)
    return adv + values


def targets_loop(rewards, values, next_values, terminated, truncated, gamma, lam):
    """The backward recursion, written out."""
    T = len(rewards)
    targets, adv = np.zeros(T), 0.0
    for t in reversed(range(T)):
        bootstrap = 0.0 if terminated[t] else gamma * next_values[t]
        delta = rewards[t] + bootstrap - values[t]
        if terminated[t] or truncated[t]:
            adv = 0.0  # the trace ends here
        adv = delta + gamma * lam * adv
        targets[t] = adv + values[t]
    return targets


def targets_sum(rewards, values, next_values, terminated, truncated, gamma, lam):
    """The GAE sum Σ (γλ)^l δ_{t+l} over the rest of t's episode segment, term by term."""
    delta = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    T, targets = len(rewards), []
    for t in range(T):
        total = 0.0
        for l in range(T - t):
            total += (gamma * lam) ** l * delta[t + l]
            if terminated[t + l] or truncated[t + l]:
                break
        targets.append(total + values[t])
    return targets  # a list is fine


def targets_torch_float32(rewards, values, next_values, terminated, truncated, gamma, lam):
    torch = pytest.importorskip("torch")
    r, v, nv = (torch.tensor(x, dtype=torch.float32) for x in (rewards, values, next_values))
    term = torch.tensor(terminated, dtype=torch.float32)
    done = torch.tensor(terminated | truncated, dtype=torch.float32)
    delta = r + gamma * (1 - term) * nv - v
    adv, out = torch.tensor(0.0), torch.zeros_like(r)
    for t in range(len(r) - 1, -1, -1):
        adv = delta[t] + gamma * lam * (1 - done[t]) * adv
        out[t] = adv
    return out + v


def test_targets_reference_passes(capsys):
    assert ch05_targets.check_value_targets(targets_reference) is True
    out = capsys.readouterr().out
    assert out.count("✓") == len(ch05_targets._target_cases()) and "All cases pass" in out


@pytest.mark.parametrize("fn", [targets_loop, targets_sum, targets_torch_float32])
def test_targets_other_correct_answers_pass(fn, capsys):
    assert ch05_targets.check_value_targets(fn) is True
    assert "All cases pass" in capsys.readouterr().out


def test_targets_template_is_not_attempted(capsys):
    assert ch05_targets.check_value_targets(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out


def compute_returns(rewards, dones, gamma):
    """The GAE article's critic target (§5), as its name promises."""
    returns, running = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running * (1 - dones[t])
        returns[t] = running
    return returns


def targets_article(rewards, values, next_values, terminated, truncated, gamma, lam):
    return compute_returns(rewards, terminated | truncated, gamma)


def gae_targets(rewards, values, next_values, no_bootstrap, cut, gamma, lam):
    """A learner's GAE loop with its own (possibly wrong) flags."""
    targets, adv = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        nxt = 0.0 if no_bootstrap[t] else next_values[t]
        adv = rewards[t] + gamma * nxt - values[t] + gamma * lam * (0.0 if cut[t] else adv)
        targets[t] = adv + values[t]
    return targets


def targets_no_flags(rewards, values, next_values, terminated, truncated, gamma, lam):
    deltas = rewards + gamma * next_values - values
    adv, out = 0.0, []
    for d in deltas[::-1]:
        adv = d + gamma * lam * adv
        out.append(adv)
    return np.array(out[::-1]) + values


def targets_no_cut(rewards, values, next_values, terminated, truncated, gamma, lam):
    never = np.zeros(len(rewards), dtype=bool)
    return gae_targets(rewards, values, next_values, terminated, never, gamma, lam)


def targets_trunc_as_term(rewards, values, next_values, terminated, truncated, gamma, lam):
    dones = terminated | truncated
    return targets_reference(rewards, values, next_values, dones, dones, gamma, lam)


def targets_term_bootstrapped(rewards, values, next_values, terminated, truncated, gamma, lam):
    never = np.zeros(len(rewards), dtype=bool)
    cut = terminated | truncated
    return gae_targets(rewards, values, next_values, never, cut, gamma, lam)


def targets_trunc_checked_first(rewards, values, next_values, terminated, truncated, gamma, lam):
    targets, adv = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        if truncated[t]:  # time limit: bootstrap (even if the state was terminal too)
            delta, adv = rewards[t] + gamma * next_values[t] - values[t], 0.0
        elif terminated[t]:
            delta, adv = rewards[t] - values[t], 0.0
        else:
            delta = rewards[t] + gamma * next_values[t] - values[t]
        adv = delta + gamma * lam * adv
        targets[t] = adv + values[t]
    return targets


def targets_advantages_only(rewards, values, next_values, terminated, truncated, gamma, lam):
    return compute_gae(rewards, values, next_values, terminated, truncated, gamma=gamma, lam=lam)


def targets_values_shifted(rewards, values, next_values, terminated, truncated, gamma, lam):
    nxt = np.append(values[1:], next_values[-1])  # "V(s_{t+1}) is the next row of values"
    return targets_reference(rewards, values, nxt, terminated, truncated, gamma, lam)


def targets_values_shifted_zero(rewards, values, next_values, terminated, truncated, gamma, lam):
    nxt = np.append(values[1:], 0.0)
    return targets_reference(rewards, values, nxt, terminated, truncated, gamma, lam)


def targets_td0(rewards, values, next_values, terminated, truncated, gamma, lam):
    return rewards + gamma * (1 - terminated) * next_values


def targets_monte_carlo(rewards, values, next_values, terminated, truncated, gamma, lam):
    return targets_reference(rewards, values, next_values, terminated, truncated, gamma, 1.0)


@pytest.mark.parametrize(
    "wrong, name",
    [
        (targets_article, "MSG_VT_ARTICLE_MC"),
        (targets_no_flags, "MSG_VT_NO_FLAGS"),
        (targets_no_cut, "MSG_VT_NO_FLAGS"),
        (targets_trunc_as_term, "MSG_VT_TRUNC_AS_TERM"),
        (targets_term_bootstrapped, "MSG_VT_TERM_BOOTSTRAP"),
        (targets_trunc_checked_first, "MSG_VT_TERM_BOOTSTRAP"),
        (targets_advantages_only, "MSG_VT_ADV_ONLY"),
        (targets_values_shifted, "MSG_VT_VALUES_NEXT"),
        (targets_values_shifted_zero, "MSG_VT_VALUES_NEXT"),
        (targets_td0, "MSG_VT_LAMBDA"),
        (targets_monte_carlo, "MSG_VT_LAMBDA"),
    ],
)
def test_targets_classic_mistakes_get_their_own_hint(wrong, name, capsys):
    assert ch05_targets.check_value_targets(wrong) is False
    assert_only_hint(capsys.readouterr().out, name, TARGET_MESSAGES)


def test_each_target_mistake_is_caught_and_distinct():
    """Every variant of every mistake differs from the reference on some case; no two
    mistakes can explain the same answers on every case."""
    cases = ch05_targets._target_cases()
    per_case = [ch05_targets._target_mistakes(c) for c in cases]
    close = ch05_targets._close
    n = len(per_case[0])
    for j in range(n):
        for v in range(len(per_case[0][j][1])):
            assert any(
                not close(ms[j][1][v], c.reference()) for c, ms in zip(cases, per_case, strict=True)
            ), (per_case[0][j][0], v)
        for k in range(n):
            if k != j:
                assert any(
                    not any(close(a, b) for a in ms[j][1] for b in ms[k][1]) for ms in per_case
                ), (per_case[0][j][0], per_case[0][k][0])


def test_target_cases_are_realistic():
    """One critic on consecutive observations: next_values[t] = values[t+1] unless step t
    ended the episode; and the cases hold what their labels promise."""
    cases = ch05_targets._target_cases()
    for c in cases:
        inside = ~(c.term | c.trunc)[:-1]
        assert np.array_equal(c.nv[:-1][inside], c.v[1:][inside]), c.label
        assert not (c.term | c.trunc)[-1], c.label  # every rollout stops mid-episode
    assert {(c.gamma, c.lam) for c in cases} >= {(1.0, 1.0), (0.9, 0.0)}
    assert (cases[-1].term & cases[-1].trunc).any() and cases[-1].term.sum() >= 2


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (
            lambda r, v, nv, te, tr, g, lam: targets_reference(r, v, nv, te, tr, g, lam)[:-1],
            "shape",
        ),
        (lambda *a: None, "returned None"),
        (lambda *a: "targets", "return a float array"),
        (lambda *a: targets_reference(*a) * np.nan, "returned NaN or inf"),
        (lambda *a: 1 / 0, "raised ZeroDivisionError"),
        (lambda *a: targets_reference(*a) + 0.1, "G_t = Â_t + values[t] with"),
    ],
)
def test_targets_generic_failures(wrong, hint, capsys):
    assert ch05_targets.check_value_targets(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
    assert not [k for k, m in TARGET_MESSAGES.items() if m in out]


def test_targets_input_mutation_is_reported(capsys):
    def mutates(rewards, values, next_values, terminated, truncated, gamma, lam):
        next_values[terminated] = 0.0  # "a terminal state is worth 0", in the caller's array
        return targets_reference(rewards, values, next_values, terminated, truncated, gamma, lam)

    assert ch05_targets.check_value_targets(mutates) is False
    assert "changed its input next_values in place" in capsys.readouterr().out


def test_targets_failure_names_the_steps(capsys):
    ch05_targets.check_value_targets(targets_trunc_as_term)
    out = capsys.readouterr().out
    assert "t=3 (a time limit): expected" in out
