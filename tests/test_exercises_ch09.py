"""Chapter 9 checkers: correct answers pass, each classic mistake fails with its own hint.

The wrong variants are written the way a learner would write them (loops over the batch), not
by calling the checker's own variant code, so they test the diagnosis independently.
"""

from __future__ import annotations

import numpy as np
import pytest

from gaelib.algorithms import token_ppo
from gaelib.exercises import ch09

R_MESSAGES = {k: v for k, v in vars(ch09).items() if k.startswith("MSG_R_")}
G_MESSAGES = {k: v for k, v in vars(ch09).items() if k.startswith("MSG_G_")}


def template(*args):
    raise NotImplementedError


def assert_only_hint(out: str, name: str, messages: dict[str, str]) -> None:
    assert "✗" in out and "Not yet" in out
    assert messages[name] in out, out
    others = [k for k, m in messages.items() if k != name and m in out]
    assert not others, f"{name} also printed {others}:\n{out}"


# ------------------------------------------------------------- check_token_rewards


def rewards_loop(scores, lengths, kl, beta, *, where="last", mask_kl=True, sign=-1.0):
    B, L = kl.shape
    r = np.zeros((B, L))
    for b in range(B):
        n = lengths[b]
        for t in range(L):
            if t < n or not mask_kl:
                r[b, t] = sign * beta * kl[b, t]
        if where == "last":
            r[b, n - 1] += scores[b]
        elif where == "first_pad":
            if n < L:  # a learner who noticed the IndexError and skipped full rows
                r[b, n] += scores[b]
        elif where == "first":
            r[b, 0] += scores[b]
        elif where == "every":
            r[b, :n] += scores[b]
    return r


def test_token_rewards_reference_passes(capsys):
    assert ch09.check_token_rewards(rewards_loop)
    assert ch09.check_token_rewards(
        lambda s, n, kl, beta: token_ppo.token_rewards(s, n, kl, beta=beta)
    )
    out = capsys.readouterr().out
    assert "✗" not in out and "well done" in out


def test_token_rewards_template_not_attempted(capsys):
    assert not ch09.check_token_rewards(template)
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"where": "first_pad"}, "MSG_R_FIRST_PAD"),
        ({"mask_kl": False}, "MSG_R_PAD_KL"),
        ({"where": "first"}, "MSG_R_FIRST_TOKEN"),
        ({"sign": 1.0}, "MSG_R_SIGN"),
        ({"where": "every"}, "MSG_R_SCORE_EVERY"),
        ({"sign": 0.0}, "MSG_R_NO_KL"),
    ],
)
def test_token_rewards_mistakes_named(capsys, kwargs, name):
    def wrong(s, n, kl, beta):
        return rewards_loop(s, n, kl, beta, **kwargs)

    assert not ch09.check_token_rewards(wrong)
    assert_only_hint(capsys.readouterr().out, name, R_MESSAGES)


def test_token_rewards_first_pad_index_error_explained(capsys):
    def wrong(scores, lengths, kl, beta):
        r = -beta * kl * (np.arange(kl.shape[1]) < lengths[:, None])
        r[np.arange(len(scores)), lengths] += scores  # IndexError on a full row
        return r

    assert not ch09.check_token_rewards(wrong)
    out = capsys.readouterr().out
    assert "IndexError" in out and ch09.MSG_INDEX in out


# ---------------------------------------------------------- check_group_advantages


def group_loop(scores, G, lengths, max_len, *, scope="group", eps=1e-4, pad=False, ddof=0):
    B = len(scores)
    out = np.zeros((B, max_len))
    for b in range(B):
        if scope == "group":
            g = scores[(b // G) * G : (b // G + 1) * G]
            mean, std = g.mean(), g.std(ddof=ddof)
        elif scope == "batch":
            mean, std = scores.mean(), scores.std()
        elif scope == "batch_std":
            mean, std = scores[(b // G) * G : (b // G + 1) * G].mean(), scores.std()
        elif scope == "strided":
            g = scores[b % (B // G) :: B // G]
            mean, std = g.mean(), g.std()
        with np.errstate(invalid="ignore", divide="ignore"):
            a = (scores[b] - mean) / (std + eps) if std is not None else scores[b] - mean
        out[b, : (max_len if pad else lengths[b])] = a
    return out


def no_std(scores, G, lengths, max_len):
    out = np.zeros((len(scores), max_len))
    for b in range(len(scores)):
        out[b, : lengths[b]] = scores[b] - scores[(b // G) * G : (b // G + 1) * G].mean()
    return out


def test_group_advantages_reference_passes(capsys):
    assert ch09.check_group_advantages(group_loop)
    assert ch09.check_group_advantages(lambda s, G, n, L: group_loop(s, G, n, L, eps=1e-8))
    out = capsys.readouterr().out
    assert "✗" not in out and "well done" in out


def test_group_advantages_template_not_attempted(capsys):
    assert not ch09.check_group_advantages(template)
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"scope": "batch_std"}, "MSG_G_BATCH_STD"),
        ({"scope": "batch"}, "MSG_G_BATCH"),
        ({"eps": 0.0}, "MSG_G_NO_EPS"),
        ({"pad": True}, "MSG_G_PAD"),
        ({"ddof": 1}, "MSG_G_DDOF"),
        ({"scope": "strided"}, "MSG_G_STRIDED"),
    ],
)
def test_group_advantages_mistakes_named(capsys, kwargs, name):
    def wrong(s, G, n, L):
        return group_loop(s, G, n, L, **kwargs)

    assert not ch09.check_group_advantages(wrong)
    assert_only_hint(capsys.readouterr().out, name, G_MESSAGES)


def test_group_advantages_no_std_named(capsys):
    assert not ch09.check_group_advantages(no_std)
    assert_only_hint(capsys.readouterr().out, "MSG_G_NO_STD", G_MESSAGES)


def test_group_advantages_errors_and_shapes(capsys):
    assert not ch09.check_group_advantages(lambda s, G, n, L: np.zeros(len(s)))
    assert "return shape" in capsys.readouterr().out

    def crash(*args):
        raise KeyError("oops")

    assert not ch09.check_group_advantages(crash)
    assert "raised KeyError" in capsys.readouterr().out
