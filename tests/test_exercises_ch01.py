"""Chapter 1 checkers: the reference passes, each classic wrong variant fails with its hint."""

from __future__ import annotations

import numpy as np
import pytest

from gaelib.exercises import ch01


def template(*args):
    raise NotImplementedError


def ref_score(theta, feats, a):
    logits = feats @ theta
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return feats[a] - p @ feats


def probs(theta, feats):
    e = np.exp(feats @ theta)
    return e / e.sum()


def test_score_reference_and_template(capsys):
    assert ch01.check_softmax_linear_score(ref_score) is True
    assert ch01.check_softmax_linear_score(template) is False
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda th, f, a: f[a], "expectation term is missing"),
        (lambda th, f, a: -ref_score(th, f, a), "sign is flipped"),
        (lambda th, f, a: f[a] - f.mean(axis=0), "weighted by π(b|s)"),
        (lambda th, f, a: probs(th, f)[a] * ref_score(th, f, a), "gradient of the probability"),
        (lambda th, f, a: f[a] - np.exp(f @ th) @ f, "without normalising"),
        (lambda th, f, a: ref_score(th, f, a)[:2], "shape"),
        (lambda th, f, a: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_score_wrong_variants(wrong, hint, capsys):
    assert ch01.check_softmax_linear_score(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def ref_rtg(rewards, gamma):
    out, g = [], 0.0
    for r in reversed(rewards):
        g = r + gamma * g
        out.insert(0, g)
    return out


def test_rtg_reference_and_template(capsys):
    assert ch01.check_reward_to_go(ref_rtg) is True
    assert ch01.check_reward_to_go(template) is False
    assert "not attempted yet" in capsys.readouterr().out


def whole_return(rewards, gamma):
    return [sum(gamma**t * r for t, r in enumerate(rewards))] * len(rewards)


def past_sum(rewards, gamma):
    out, g = [], 0.0
    for r in rewards:
        g = r + gamma * g
        out.append(g)
    return out


def from_next(rewards, gamma):
    return [g - r for g, r in zip(ref_rtg(rewards, gamma), rewards, strict=True)]


def absolute_exponent(rewards, gamma):
    return [sum(gamma**l * rewards[l] for l in range(t, len(rewards))) for t in range(len(rewards))]


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (whole_return, "whole episode's return"),
        (past_sum, "accumulates the past"),
        (from_next, "off by one"),
        (lambda r, g: ref_rtg(r, 1.0), "γ was not applied"),
        (absolute_exponent, "exponent restarts"),
        (lambda r, g: ref_rtg(r, g)[:-1], "one per step"),
    ],
)
def test_rtg_wrong_variants(wrong, hint, capsys):
    assert ch01.check_reward_to_go(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
