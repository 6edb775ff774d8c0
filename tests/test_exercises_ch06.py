"""Chapter 6 checkers (the clipped policy loss; the whole PPO loss, a bug hunt): correct answers
pass, each classic mistake fails with its own hint.

The wrong variants are written the way a learner would write them (loops, numpy one-liners),
not by calling the checker's own variant code, so they test the diagnosis independently.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gaelib.exercises import ch06, ch06_bugs

LOSS_MESSAGES = {k: v for k, v in vars(ch06).items() if k.startswith("MSG_LOSS_")}


def template(*args):
    raise NotImplementedError


def assert_only_hint(out: str, name: str, messages: dict[str, str]) -> None:
    """The output fails and carries the message ``name`` and no other specific message."""
    assert "✗" in out and "Not yet" in out
    assert messages[name] in out, out
    others = [k for k, m in messages.items() if k != name and m in out]
    assert not others, f"{name} also printed {others}:\n{out}"


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
    assert ch06.check_ppo_clip_loss(loss_ref) is True
    out = capsys.readouterr().out
    assert out.count("✓") == len(ch06._loss_cases()) and "All cases pass" in out


@pytest.mark.parametrize("fn", [loss_loop, loss_torch, lambda *a: [loss_ref(*a)]])
def test_loss_other_correct_answers_pass(fn, capsys):
    assert ch06.check_ppo_clip_loss(fn) is True
    assert "All cases pass" in capsys.readouterr().out


def test_loss_template_is_not_attempted(capsys):
    assert ch06.check_ppo_clip_loss(template) is False
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
    assert ch06.check_ppo_clip_loss(wrong) is False
    assert_only_hint(capsys.readouterr().out, name, LOSS_MESSAGES)


def test_each_loss_mistake_is_caught_and_distinct():
    cases = ch06._loss_cases()
    per_case = [ch06._loss_mistakes(c) for c in cases]
    n = len(per_case[0])
    for j in range(n):
        assert any(
            not ch06._same(w, c.reference())
            for c, ms in zip(cases, per_case, strict=True)
            for w in ms[j][1]
        ), per_case[0][j][0]
        for k in range(n):
            if k != j:
                assert any(
                    not any(ch06._same(a, b) for a in ms[j][1] for b in ms[k][1]) for ms in per_case
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
    assert ch06.check_ppo_clip_loss(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def test_loss_input_mutation_is_reported(capsys):
    def mutates(logp, old_logp, adv, clip):
        adv -= adv.mean()  # "normalise" in place
        return loss_ref(logp, old_logp, adv, clip)

    assert ch06.check_ppo_clip_loss(mutates) is False
    assert "changed its input adv in place" in capsys.readouterr().out


# ------------------------------------------------------------------ check_ppo_loss

PPO_MESSAGES = {
    k: v
    for k, v in vars(ch06_bugs).items()
    if k.startswith("MSG_PPO_") and not k.startswith("MSG_PPO_NORM_")
}


def minibatch_normalised(advantages, norm):
    """The learner's choice: normalise within the minibatch (SB3: torch's sample std) or not."""
    if not norm:
        return advantages
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


def ppo_reference(new_logp, old_logp, advantages, values, old_values, clip, vf_coef=0.5):
    """As Stable-Baselines3 writes it: advantages normalised within the minibatch."""
    a = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    ratio = torch.exp(new_logp - old_logp)
    policy_loss = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    returns = advantages + old_values
    value_loss = ((values - returns) ** 2).mean()
    return policy_loss + vf_coef * value_loss


def ppo_as_given(new_logp, old_logp, advantages, values, old_values, clip, vf_coef=0.5):
    """Advantages used as given (the batch was normalised before the minibatches were cut)."""
    ratio = (new_logp - old_logp).exp()
    surrogate = torch.minimum(ratio * advantages, ratio.clip(1 - clip, 1 + clip) * advantages)
    return -surrogate.mean() + vf_coef * F.mse_loss(values, advantages + old_values)


def ppo_population_std(new_logp, old_logp, advantages, values, old_values, clip, vf_coef=0.5):
    a = (advantages - advantages.mean()) / (advantages.std(unbiased=False) + 1e-8)
    ratio = torch.exp(new_logp - old_logp)
    policy_loss = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return policy_loss + vf_coef * F.mse_loss(values, advantages + old_values)


def ppo_loop(new_logp, old_logp, advantages, values, old_values, clip, vf_coef=0.5):
    """Per sample, the clipped objective's two cases by the sign of Â; no normalisation."""
    terms = []
    for lp, old, a, v, v_old in zip(
        new_logp, old_logp, advantages, values, old_values, strict=True
    ):
        r = torch.exp(lp - old)
        r_used = torch.clamp(r, max=1 + clip) if a >= 0 else torch.clamp(r, min=1 - clip)
        terms.append(-r_used * a + vf_coef * (v - (a + v_old)) ** 2)
    return torch.stack(terms).mean()


def ppo_float32(new_logp, old_logp, advantages, values, old_values, clip, vf_coef=0.5):
    args = (x.float() for x in (new_logp, old_logp, advantages, values, old_values))
    return ppo_reference(*args, clip, vf_coef)


def test_ppo_reference_passes(capsys):
    assert ch06_bugs.check_ppo_loss(ppo_reference) is True
    out = capsys.readouterr().out
    assert out.count("✓") == len(ch06_bugs._ppo_cases()) and "All cases pass" in out
    assert ch06_bugs.MSG_PPO_NORM_MINIBATCH in out and ch06_bugs.MSG_PPO_NORM_NONE not in out


@pytest.mark.parametrize(
    "fn, normalised",
    [(ppo_as_given, False), (ppo_population_std, True), (ppo_loop, False), (ppo_float32, True)],
)
def test_ppo_other_correct_answers_pass_and_the_choice_is_named(fn, normalised, capsys):
    assert ch06_bugs.check_ppo_loss(fn) is True
    out = capsys.readouterr().out
    assert "All cases pass" in out
    said, unsaid = ch06_bugs.MSG_PPO_NORM_MINIBATCH, ch06_bugs.MSG_PPO_NORM_NONE
    said, unsaid = (said, unsaid) if normalised else (unsaid, said)
    assert said in out and unsaid not in out


def test_ppo_template_is_not_attempted(capsys):
    assert ch06_bugs.check_ppo_loss(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out


# Each classic mistake, written the way a learner would; ``norm`` is the learner's choice
# of normalising the advantages within the minibatch, which must not change the diagnosis.


def ppo_ratio_swapped(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(old_lp - lp)
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_ratio_detached(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp).detach()  # "the ratio is just a weight"
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_new_logp_detached(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.from_numpy(np.exp(lp.detach().numpy() - old_lp.numpy()))
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_log_ratio(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = lp - old_lp
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_prob_difference(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp) - torch.exp(old_lp)
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_clip_ratio_only(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.clamp(torch.exp(lp - old_lp), 1 - clip, 1 + clip)
    return -(ratio * a).mean() + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_max(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = -torch.max(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_max_for_negative(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    unclipped, clipped = ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a
    pessimistic = torch.where(a >= 0, torch.min(unclipped, clipped), torch.max(unclipped, clipped))
    return -pessimistic.mean() + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_clip_advantage(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * a, ratio * torch.clamp(a, 1 - clip, 1 + clip)).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_clip_product(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    surrogate = torch.exp(lp - old_lp) * a
    pg = -torch.min(surrogate, torch.clamp(surrogate, 1 - clip, 1 + clip)).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_target_leak(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    returns = adv + v  # "the return is the advantage plus the value"
    return pg + vf_coef * F.mse_loss(v, returns)


def ppo_target_leak_detached(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    returns = (adv + v).detach()  # detached, so "no leak"
    return pg + vf_coef * F.mse_loss(v, returns)


def ppo_normalised_target(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=True):
    adv = minibatch_normalised(adv, True)  # one name for both uses
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_no_minus(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).mean()


def ppo_sum(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).sum()
    return pg + vf_coef * ((v - (adv + old_v)) ** 2).sum()


def ppo_sum_value(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * F.mse_loss(v, adv + old_v, reduction="sum")


def ppo_cleanrl_value_half(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    return pg + vf_coef * 0.5 * ((v - (adv + old_v)) ** 2).mean()


def ppo_cleanrl_value_clipped(lp, old_lp, adv, v, old_v, clip, vf_coef=0.5, norm=False):
    a = minibatch_normalised(adv, norm)
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    returns = adv + old_v
    v_clipped = old_v + torch.clamp(v - old_v, -clip, clip)
    v_loss_max = torch.max((v - returns) ** 2, (v_clipped - returns) ** 2)
    return pg + vf_coef * 0.5 * v_loss_max.mean()


PPO_MISTAKES = [
    (ppo_ratio_swapped, "MSG_PPO_RATIO_SWAPPED"),
    (ppo_ratio_detached, "MSG_PPO_RATIO_DETACHED"),
    (ppo_new_logp_detached, "MSG_PPO_RATIO_DETACHED"),
    (ppo_log_ratio, "MSG_PPO_RATIO_NO_EXP"),
    (ppo_prob_difference, "MSG_PPO_RATIO_NO_EXP"),
    (ppo_clip_ratio_only, "MSG_PPO_CLIP_RATIO_ONLY"),
    (ppo_max, "MSG_PPO_MAX"),
    (ppo_max_for_negative, "MSG_PPO_MAX"),
    (ppo_clip_advantage, "MSG_PPO_CLIP_ADV"),
    (ppo_clip_product, "MSG_PPO_CLIP_ADV"),
    (ppo_target_leak, "MSG_PPO_TARGET_LEAK"),
    (ppo_target_leak_detached, "MSG_PPO_TARGET_LEAK"),
    (ppo_no_minus, "MSG_PPO_SIGN"),
    (ppo_sum, "MSG_PPO_SUM"),
    (ppo_sum_value, "MSG_PPO_SUM"),
    (ppo_cleanrl_value_half, "MSG_PPO_VALUE_HALF"),
    (ppo_cleanrl_value_clipped, "MSG_PPO_VALUE_CLIPPED"),
]


@pytest.mark.parametrize("norm", [False, True], ids=["as-given", "minibatch-normalised"])
@pytest.mark.parametrize("wrong, name", PPO_MISTAKES, ids=lambda x: getattr(x, "__name__", x))
def test_ppo_classic_mistakes_get_their_own_hint(wrong, name, norm, capsys):
    assert ch06_bugs.check_ppo_loss(functools.partial(wrong, norm=norm)) is False
    out = capsys.readouterr().out
    assert_only_hint(out, name, PPO_MESSAGES)
    assert ch06_bugs.MSG_PPO_NORM_NONE not in out and ch06_bugs.MSG_PPO_NORM_MINIBATCH not in out


def test_ppo_normalised_value_target_gets_its_own_hint(capsys):
    assert ch06_bugs.check_ppo_loss(ppo_normalised_target) is False
    assert_only_hint(capsys.readouterr().out, "MSG_PPO_TARGET_NORMALISED", PPO_MESSAGES)


def test_ppo_every_message_has_a_learner_variant():
    tested = {name for _, name in PPO_MISTAKES} | {"MSG_PPO_TARGET_NORMALISED"}
    assert tested == set(PPO_MESSAGES)


def test_ppo_detached_ratio_is_caught_by_its_gradient(capsys):
    ch06_bugs.check_ppo_loss(ppo_ratio_detached)
    out = capsys.readouterr().out
    assert "the loss is right" in out and "∂L/∂new_logp expected" in out
    assert "∂L/∂values" not in out


def test_each_ppo_mistake_is_caught_and_distinct():
    """Every variant of every mistake (under every normalisation choice) differs from all the
    correct answers on some case; no two mistakes explain the same answers on every case."""
    cases = ch06_bugs._ppo_cases()
    per_case = [ch06_bugs._ppo_mistakes(c) for c in cases]
    same = ch06_bugs._same
    n = len(per_case[0])
    for j in range(n):
        for v in range(len(per_case[0][j][1])):
            assert any(
                not any(same(ms[j][1][v], c.reference(norm)) for norm in ch06_bugs.NORMS)
                for c, ms in zip(cases, per_case, strict=True)
            ), (per_case[0][j][0], v)
        for k in range(n):
            if k != j:
                assert any(
                    not any(same(a, b) for a in ms[j][1] for b in ms[k][1]) for ms in per_case
                ), (per_case[0][j][0], per_case[0][k][0])


def test_ppo_cases_cover_what_they_must():
    """Advantages of both signs with a nonzero mean and a spread ≠ 1 (so the two
    normalisation choices differ); ratios outside [1−ε, 1+ε] on both sides, for both signs."""
    cases = ch06_bugs._ppo_cases()
    quadrants = set()
    for c in cases:
        assert (c.adv > 0).any() and (c.adv < 0).any(), c.label
        assert abs(c.adv.mean()) > 0.1 and abs(c.adv.std() - 1) > 0.1, c.label
        ratio = np.exp(c.new_logp - c.old_logp)
        side = np.where(ratio > 1 + c.clip, 1, np.where(ratio < 1 - c.clip, -1, 0))
        quadrants |= set(zip(side.tolist(), np.sign(c.adv).tolist(), strict=True))
    assert {(1, 1.0), (-1, 1.0), (1, -1.0), (-1, -1.0)} <= quadrants
    for c in cases[:4]:  # the hand-made ones: normalising keeps each sign, as the labels say
        a = c.adv - c.adv.mean()
        assert np.array_equal(np.sign(a), np.sign(c.adv)), c.label


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda *a: ppo_reference(*a).item(), "returned a float: return the loss as a torch"),
        (lambda *a: np.float64(ppo_reference(*a).item()), "returned a float64"),
        (
            lambda lp, old, adv, v, old_v, clip, vf=0.5: (
                -torch.min(
                    torch.exp(lp - old) * adv, torch.exp(lp - old).clamp(1 - clip, 1 + clip) * adv
                )
                + vf * (v - adv - old_v) ** 2
            ),
            "one loss per sample",
        ),
        (lambda *a: ppo_reference(*a).reshape(1, 1).expand(2, 2), "return a scalar tensor"),
        (lambda *a: None, "returned None"),
        (lambda *a: ppo_reference(*a) * torch.nan, "returned NaN or inf"),
        (lambda *a: torch.tensor(ppo_reference(*a).item()), "the loss carries no gradient"),
        (lambda *a: 1 / 0, "raised ZeroDivisionError"),
        (lambda *a: ppo_reference(*a) + 0.1, "compare with −mean(min(ρ·Â"),
    ],
)
def test_ppo_generic_failures(wrong, hint, capsys):
    assert ch06_bugs.check_ppo_loss(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
    assert not [k for k, m in PPO_MESSAGES.items() if m in out]


def test_ppo_input_mutation_is_reported(capsys):
    def mutates(new_logp, old_logp, advantages, values, old_values, clip, vf_coef=0.5):
        advantages -= advantages.mean()  # "normalise" in place: the caller's target changes
        advantages /= advantages.std() + 1e-8
        return ppo_as_given(new_logp, old_logp, advantages, values, old_values, clip, vf_coef)

    assert ch06_bugs.check_ppo_loss(mutates) is False
    assert "changed its input advantages in place" in capsys.readouterr().out
