"""Chapter 10 checkers: the reference passes, each classic wrong variant fails with its hint."""

from __future__ import annotations

import numpy as np
import pytest

from gaelib.exercises import ch10


def template(*args):
    raise NotImplementedError


def ref_lambda_return(r, v, nv, term, trunc, gamma, lam):
    out, nxt = np.zeros(len(r)), 0.0
    for t in reversed(range(len(r))):
        if term[t]:
            g = r[t]
        elif trunc[t] or t == len(r) - 1:
            g = r[t] + gamma * nv[t]
        else:
            g = r[t] + gamma * ((1 - lam) * nv[t] + lam * nxt)
        out[t] = nxt = g
    return out


def variant(weight_one=False, use_v=False, no_trunc_boot=False):
    def fn(r, v, nv, term, trunc, gamma, lam):
        out, nxt = np.zeros(len(r)), 0.0
        for t in reversed(range(len(r))):
            vn = v[t] if use_v else nv[t]
            if term[t] or (trunc[t] and no_trunc_boot):
                g = r[t]
            elif trunc[t] or t == len(r) - 1:
                g = r[t] + gamma * vn
            else:
                g = r[t] + gamma * ((1.0 if weight_one else 1 - lam) * vn + lam * nxt)
            out[t] = nxt = g
        return out

    return fn


def test_lambda_return_reference_and_template(capsys):
    assert ch10.check_lambda_return(ref_lambda_return) is True
    assert ch10.check_lambda_return(template) is False
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (variant(weight_one=True), "(1 − λ)"),
        (variant(use_v=True), "not from V(s_t)"),
        (variant(no_trunc_boot=True), "truncated step still has a future"),
        (lambda *a: ref_lambda_return(*a)[:-1], "one value per step"),
        (lambda *a: ref_lambda_return(*a) + 1.0, "expected"),
    ],
)
def test_lambda_return_wrong_variants(wrong, hint, capsys):
    assert ch10.check_lambda_return(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def ref_ev(values, returns):
    return 1 - np.var(returns - values) / np.var(returns)


def test_explained_variance_reference_and_template(capsys):
    assert ch10.check_explained_variance(ref_ev) is True
    assert ch10.check_explained_variance(template) is False
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda v, g: 1 - np.var(g - v) / np.var(v), "variance of the returns"),
        (lambda v, g: 1 - np.std(g - v) / np.std(g), "not standard deviations"),
        (lambda v, g: np.var(g - v) / np.var(g), "one minus it"),
        (lambda v, g: 1 - np.mean((g - v) ** 2) / np.var(g), "subtract its mean"),
        (lambda v, g: [1.0, 2.0], "single number"),
    ],
)
def test_explained_variance_wrong_variants(wrong, hint, capsys):
    assert ch10.check_explained_variance(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
