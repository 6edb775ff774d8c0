"""Chapter 5 checkers: correct answers pass, each classic mistake fails with its own hint.

The wrong variants are written the way a learner would write them (loops, numpy one-liners),
not by calling the checker's own variant code, so they test the diagnosis independently.
"""

from __future__ import annotations

import numpy as np
import pytest

from gaelib.exercises import ch05, ch05_ppo

MASK_MESSAGES = {k: v for k, v in vars(ch05).items() if k.startswith("MSG_MASK_")}
LOSS_MESSAGES = {k: v for k, v in vars(ch05_ppo).items() if k.startswith("MSG_LOSS_")}


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


# ------------------------------------------------------------- check_ppo_clip_loss


def loss_ref(logp, old_logp, adv, clip):
    ratio = np.exp(logp - old_logp)
    return -np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))


def loss_loop(logp, old_logp, adv, clip):
    """Written differently: per sample, the clipped objective's two cases by the sign of A."""
    total = 0.0
    for lp, old, a in zip(logp, old_logp, adv, strict=True):
        r = float(np.exp(lp - old))
        r_used = min(r, 1 + clip) if a >= 0 else max(r, 1 - clip)
        total += r_used * a
    return -total / len(adv)


def loss_torch(logp, old_logp, adv, clip):
    torch = pytest.importorskip("torch")
    lp, old, a = (torch.as_tensor(x) for x in (logp, old_logp, adv))
    ratio = torch.exp(lp - old)
    return -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()


def test_loss_reference_passes(capsys):
    assert ch05_ppo.check_ppo_clip_loss(loss_ref) is True
    out = capsys.readouterr().out
    assert out.count("✓") == len(ch05_ppo._loss_cases()) and "All cases pass" in out


@pytest.mark.parametrize("fn", [loss_loop, loss_torch, lambda *a: [loss_ref(*a)]])
def test_loss_other_correct_answers_pass(fn, capsys):
    assert ch05_ppo.check_ppo_clip_loss(fn) is True
    assert "All cases pass" in capsys.readouterr().out


def test_loss_template_is_not_attempted(capsys):
    assert ch05_ppo.check_ppo_clip_loss(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out


def loss_max(logp, old_logp, adv, clip):
    ratio = np.exp(logp - old_logp)
    return -np.mean(np.maximum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))


def loss_no_minus(logp, old_logp, adv, clip):
    ratio = np.exp(logp - old_logp)
    return np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))


def loss_clip_adv(logp, old_logp, adv, clip):
    ratio = np.exp(logp - old_logp)
    return -np.mean(np.minimum(ratio * adv, ratio * np.clip(adv, 1 - clip, 1 + clip)))


def loss_clip_product(logp, old_logp, adv, clip):
    ratio = np.exp(logp - old_logp)
    return -np.mean(np.minimum(ratio * adv, np.clip(ratio * adv, 1 - clip, 1 + clip)))


def loss_ratio_divide(logp, old_logp, adv, clip):
    ratio = logp / old_logp
    return -np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))


def loss_ratio_log(logp, old_logp, adv, clip):
    ratio = logp - old_logp
    return -np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))


def loss_ratio_inverted(logp, old_logp, adv, clip):
    ratio = np.exp(old_logp - logp)
    return -np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))


def loss_clipped_only(logp, old_logp, adv, clip):
    ratio = np.exp(logp - old_logp)
    return -np.mean(np.clip(ratio, 1 - clip, 1 + clip) * adv)


def loss_clip_range(logp, old_logp, adv, clip):
    ratio = np.exp(logp - old_logp)
    return -np.mean(np.minimum(ratio * adv, np.clip(ratio, -clip, clip) * adv))


def loss_sum(logp, old_logp, adv, clip):
    ratio = np.exp(logp - old_logp)
    return -np.sum(np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv))


@pytest.mark.parametrize(
    "wrong, name",
    [
        (loss_max, "MSG_LOSS_MAX"),
        (loss_no_minus, "MSG_LOSS_SIGN"),
        (loss_clip_adv, "MSG_LOSS_CLIP_ADV"),
        (loss_clip_product, "MSG_LOSS_CLIP_ADV"),
        (loss_ratio_divide, "MSG_LOSS_RATIO_DIVIDE"),
        (loss_ratio_log, "MSG_LOSS_RATIO_NO_EXP"),
        (loss_ratio_inverted, "MSG_LOSS_RATIO_INVERTED"),
        (loss_clipped_only, "MSG_LOSS_CLIPPED_ONLY"),
        (loss_clip_range, "MSG_LOSS_CLIP_RANGE"),
        (loss_sum, "MSG_LOSS_SUM"),
    ],
)
def test_loss_classic_mistakes_get_their_own_hint(wrong, name, capsys):
    assert ch05_ppo.check_ppo_clip_loss(wrong) is False
    assert_only_hint(capsys.readouterr().out, name, LOSS_MESSAGES)


def test_each_loss_mistake_is_caught_and_distinct():
    cases = ch05_ppo._loss_cases()
    per_case = [ch05_ppo._loss_mistakes(c) for c in cases]
    n = len(per_case[0])
    for j in range(n):
        assert any(
            not ch05_ppo._same(w, c.reference())
            for c, ms in zip(cases, per_case, strict=True)
            for w in ms[j][1]
        ), per_case[0][j][0]
        for k in range(n):
            if k != j:
                assert any(
                    not any(ch05_ppo._same(a, b) for a in ms[j][1] for b in ms[k][1])
                    for ms in per_case
                ), (per_case[0][j][0], per_case[0][k][0])


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (
            lambda lp, old, a, c: (
                -np.minimum(np.exp(lp - old) * a, np.clip(np.exp(lp - old), 1 - c, 1 + c) * a)
            ),
            "one loss per sample",
        ),
        (lambda *a: None, "returned None"),
        (lambda *a: "loss", "return a single number"),
        (lambda *a: 1 / 0, "raised ZeroDivisionError"),
        (lambda *a: loss_ref(*a) + 0.1, "compare with −mean(min(ρ·adv"),
    ],
)
def test_loss_generic_failures(wrong, hint, capsys):
    assert ch05_ppo.check_ppo_clip_loss(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_loss_input_mutation_is_reported(capsys):
    def mutates(logp, old_logp, adv, clip):
        adv -= adv.mean()  # "normalise" in place
        return loss_ref(logp, old_logp, adv, clip)

    assert ch05_ppo.check_ppo_clip_loss(mutates) is False
    assert "changed its input adv in place" in capsys.readouterr().out
