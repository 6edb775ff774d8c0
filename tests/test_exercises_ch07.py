"""Chapter 7 checkers (the Gaussian policy's log-density and score): correct answers pass, each
classic mistake fails with its own hint.

The wrong variants are written the way a learner would write them (loops, numpy one-liners,
torch), not by calling the checker's own variant code, so they test the diagnosis
independently.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gaelib.core.policies import gaussian_log_prob, gaussian_score
from gaelib.exercises import ch07

LP_MESSAGES = {k: v for k, v in vars(ch07).items() if k.startswith("MSG_LP_")}
SC_MESSAGES = {k: v for k, v in vars(ch07).items() if k.startswith("MSG_SC_")}
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def template(mean, log_std, actions):
    raise NotImplementedError


def assert_only_hint(out: str, name: str, messages: dict[str, str]) -> None:
    """The output fails and carries the message ``name`` and no other specific message."""
    assert "✗" in out and "Not yet" in out
    assert messages[name] in out, out
    others = [k for k, m in messages.items() if k != name and m in out]
    assert not others, f"{name} also printed {others}:\n{out}"


# ------------------------------------------------------------ check_gaussian_log_prob


def lp_loop(mean, log_std, actions):
    """Written differently: a double loop with the math module."""
    out = []
    for row_m, row_a in zip(mean, actions, strict=True):
        total = 0.0
        for m, s, a in zip(row_m, log_std, row_a, strict=True):
            sigma = math.exp(s)
            total += -0.5 * ((a - m) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
        out.append(total)
    return out  # a plain list is accepted too


def lp_torch_normal(mean, log_std, actions):
    dist = torch.distributions.Normal(torch.as_tensor(mean), torch.as_tensor(log_std).exp())
    return dist.log_prob(torch.as_tensor(actions)).sum(-1)  # a torch tensor is accepted


def lp_torch_mvn_float32(mean, log_std, actions):
    cov = torch.diag(torch.as_tensor(log_std, dtype=torch.float32).exp() ** 2)
    mvn = torch.distributions.MultivariateNormal(torch.as_tensor(mean, dtype=torch.float32), cov)
    return mvn.log_prob(torch.as_tensor(actions, dtype=torch.float32)).numpy()


def test_log_prob_reference_passes(capsys):
    assert ch07.check_gaussian_log_prob(gaussian_log_prob) is True
    out = capsys.readouterr().out
    assert out.count("✓") == len(ch07._cases()) and "All cases pass" in out and "✗" not in out


@pytest.mark.parametrize("fn", [lp_loop, lp_torch_normal, lp_torch_mvn_float32])
def test_log_prob_other_correct_answers_pass(fn, capsys):
    assert ch07.check_gaussian_log_prob(fn) is True
    assert "All cases pass" in capsys.readouterr().out


def test_log_prob_template_is_not_attempted(capsys):
    assert ch07.check_gaussian_log_prob(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out


def lp_no_sum(mean, log_std, actions):
    z = (actions - mean) / np.exp(log_std)
    return -0.5 * z**2 - log_std - HALF_LOG_2PI


def lp_mean_over_d(mean, log_std, actions):
    return lp_no_sum(mean, log_std, actions).mean(axis=1)


def lp_no_log_std(mean, log_std, actions):
    z = (actions - mean) / np.exp(log_std)
    return np.sum(-0.5 * z**2 - HALF_LOG_2PI, axis=1)


def lp_div_std(mean, log_std, actions):
    std = np.exp(log_std)
    return np.sum(-((actions - mean) ** 2) / (2 * std) - log_std - HALF_LOG_2PI, axis=1)


def lp_log_std_is_std(mean, log_std, actions):
    std = log_std  # forgot the exp
    return np.sum(-0.5 * ((actions - mean) / std) ** 2 - np.log(std) - HALF_LOG_2PI, axis=1)


def lp_log_std_is_std_in_square(mean, log_std, actions):
    return np.sum(-0.5 * ((actions - mean) / log_std) ** 2 - log_std - HALF_LOG_2PI, axis=1)


def lp_std_is_variance(mean, log_std, actions):
    var = np.exp(log_std)  # read as the variance
    return np.sum(-((actions - mean) ** 2) / (2 * var) - 0.5 * np.log(var) - HALF_LOG_2PI, axis=1)


def lp_no_const(mean, log_std, actions):
    z = (actions - mean) / np.exp(log_std)
    return (-0.5 * z**2 - log_std).sum(axis=1)


def lp_const_once(mean, log_std, actions):
    z = (actions - mean) / np.exp(log_std)
    return (-0.5 * z**2).sum(axis=1) - log_std.sum() - 0.5 * np.log(2 * np.pi)


def lp_sign(mean, log_std, actions):
    z = (actions - mean) / np.exp(log_std)
    return np.sum(0.5 * z**2 + log_std + HALF_LOG_2PI, axis=1)


def lp_log_of_density(mean, log_std, actions):
    std = np.exp(log_std)
    density = np.exp(-0.5 * ((actions - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
    return np.log(np.prod(density, axis=1))


@pytest.mark.parametrize(
    "wrong, name",
    [
        (lp_no_sum, "MSG_LP_NO_SUM"),
        (lp_mean_over_d, "MSG_LP_MEAN_OVER_D"),
        (lp_no_log_std, "MSG_LP_NO_LOG_STD"),
        (lp_div_std, "MSG_LP_DIV_STD"),
        (lp_log_std_is_std, "MSG_LP_LOG_STD_AS_STD"),
        (lp_log_std_is_std_in_square, "MSG_LP_LOG_STD_AS_STD"),
        (lp_std_is_variance, "MSG_LP_STD_AS_VAR"),
        (lp_no_const, "MSG_LP_NO_CONST"),
        (lp_const_once, "MSG_LP_CONST_ONCE"),
        (lp_sign, "MSG_LP_SIGN"),
        (lp_log_of_density, "MSG_LP_UNDERFLOW"),
    ],
)
def test_log_prob_classic_mistakes_get_their_own_hint(wrong, name, capsys):
    assert ch07.check_gaussian_log_prob(wrong) is False
    assert_only_hint(capsys.readouterr().out, name, LP_MESSAGES)


def test_log_prob_missing_constant_fails_and_says_why(capsys):
    """The decision: a constant offset FAILS, and the hint says what it does and does not
    change (gradient and PPO ratio unchanged; not the log-density)."""
    assert ch07.check_gaussian_log_prob(lp_no_const) is False
    out = capsys.readouterr().out
    assert "gradient is 0" in out and "ratio" in out and "not the log-density" in out


def test_each_log_prob_mistake_is_caught_and_distinct():
    cases = ch07._cases()
    per_case = [ch07._lp_mistakes(c) for c in cases]
    n = len(per_case[0])
    for j in range(n):
        assert any(
            not ch07._close(w, gaussian_log_prob(c.mean, c.log_std, c.actions))
            for c, ms in zip(cases, per_case, strict=True)
            for w in ms[j][1]
        ), per_case[0][j][0]
        for k in range(j + 1, n):
            assert any(
                not any(ch07._close(a, b) for a in ms[j][1] for b in ms[k][1]) for ms in per_case
            ), (per_case[0][j][0], per_case[0][k][0])


def test_log_prob_cases_cover_what_the_exercise_promises():
    cases = ch07._cases()
    assert {c.mean.shape[1] for c in cases} == {1, 3}
    assert len({c.mean.shape[0] for c in cases}) >= 4
    log_stds = np.concatenate([c.log_std for c in cases])
    assert (log_stds < 0).any() and (log_stds == 0).any() and (log_stds > 0).any()
    z = [np.abs((c.actions - c.mean) / np.exp(c.log_std)).max() for c in cases]
    assert max(z) >= 39  # an action far in the tail: its density underflows in float64


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda m, s, a: gaussian_log_prob(m, s, a)[:-1], "return one log-density per row"),
        (lambda m, s, a: gaussian_log_prob(m, s, a).sum(), "return one log-density per row"),
        (lambda *a: None, "returned None"),
        (lambda *a: "log-densities", "return a float array"),
        (lambda *a: 1 / 0, "raised ZeroDivisionError"),
        (lambda m, s, a: gaussian_log_prob(m, s, a) + 0.5, "compare with log π(a|s)"),
        (lambda m, s, a: gaussian_log_prob(m, s, a) * np.nan, "returned NaN or inf"),
    ],
)
def test_log_prob_generic_failures(wrong, hint, capsys):
    assert ch07.check_gaussian_log_prob(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
    assert not [k for k, m in LP_MESSAGES.items() if m in out]


def test_log_prob_input_mutation_is_reported(capsys):
    def mutates(mean, log_std, actions):
        actions -= mean  # centre in place
        return gaussian_log_prob(np.zeros_like(mean), log_std, actions)

    assert ch07.check_gaussian_log_prob(mutates) is False
    assert "changed its input actions in place" in capsys.readouterr().out


# --------------------------------------------------------------- check_gaussian_score


def sc_loop(mean, log_std, actions):
    B, D = mean.shape
    d_mean, d_log_std = np.zeros((B, D)), np.zeros((B, D))
    for b in range(B):
        for j in range(D):
            var = math.exp(2 * log_std[j])
            d_mean[b, j] = (actions[b, j] - mean[b, j]) / var
            d_log_std[b, j] = (actions[b, j] - mean[b, j]) ** 2 / var - 1
    return d_mean, d_log_std


def sc_autograd(mean, log_std, actions):
    """torch.distributions + autograd: per-sample gradients, log σ expanded to [B, D]."""
    m = torch.tensor(mean, requires_grad=True)
    s = torch.tensor(np.broadcast_to(log_std, mean.shape).copy(), requires_grad=True)
    logp = torch.distributions.Normal(m, s.exp()).log_prob(torch.as_tensor(actions))
    logp.sum().backward()  # each row's log π depends on its own row only
    return m.grad, s.grad  # torch tensors are accepted


def test_score_reference_passes_and_shows_the_zero_mean(capsys):
    assert ch07.check_gaussian_score(gaussian_score) is True
    out = capsys.readouterr().out
    assert out.count("✓") == len(ch07._cases()) + 1 and "All cases pass" in out
    assert "E[∇ log π] = 0" in out and "baseline" in out


@pytest.mark.parametrize("fn", [sc_loop, sc_autograd, lambda *a: list(gaussian_score(*a))])
def test_score_other_correct_answers_pass(fn, capsys):
    assert ch07.check_gaussian_score(fn) is True
    assert "All cases pass" in capsys.readouterr().out


def test_score_template_is_not_attempted(capsys):
    assert ch07.check_gaussian_score(template) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "✗" not in out and "E[" not in out


def sc_wrt_std(mean, log_std, actions):
    std = np.exp(log_std)
    return (actions - mean) / std**2, (actions - mean) ** 2 / std**3 - 1 / std


def sc_wrt_variance(mean, log_std, actions):
    var = np.exp(2 * log_std)
    return (actions - mean) / var, (actions - mean) ** 2 / (2 * var**2) - 1 / (2 * var)


def sc_no_minus_one(mean, log_std, actions):
    z = (actions - mean) / np.exp(log_std)
    return z / np.exp(log_std), z**2


def sc_divide_once(mean, log_std, actions):
    z = (actions - mean) / np.exp(log_std)
    return z, z**2 - 1


def sc_sign_mean(mean, log_std, actions):
    var = np.exp(2 * log_std)
    return (mean - actions) / var, (mean - actions) ** 2 / var - 1


def sc_gradient_of_loss(mean, log_std, actions):
    d_mean, d_log_std = gaussian_score(mean, log_std, actions)
    return -d_mean, -d_log_std  # the gradient of −log π


def sc_swapped(mean, log_std, actions):
    d_mean, d_log_std = sc_loop(mean, log_std, actions)
    return d_log_std, d_mean


def sc_batch_summed(mean, log_std, actions):
    d_mean, d_log_std = sc_loop(mean, log_std, actions)
    return d_mean, d_log_std.sum(axis=0)  # "log_std is [D], so its gradient is [D]"


@pytest.mark.parametrize(
    "wrong, name",
    [
        (sc_wrt_std, "MSG_SC_WRT_STD"),
        (sc_wrt_variance, "MSG_SC_WRT_STD"),
        (sc_no_minus_one, "MSG_SC_NO_MINUS_ONE"),
        (sc_divide_once, "MSG_SC_MEAN_STD"),
        (sc_sign_mean, "MSG_SC_SIGN"),
        (sc_gradient_of_loss, "MSG_SC_SIGN"),
        (sc_swapped, "MSG_SC_SWAPPED"),
        (sc_batch_summed, "MSG_SC_BATCH_SUM"),
    ],
)
def test_score_classic_mistakes_get_their_own_hint(wrong, name, capsys):
    assert ch07.check_gaussian_score(wrong) is False
    out = capsys.readouterr().out
    assert_only_hint(out, name, SC_MESSAGES)
    assert "E[∇ log π]" not in out  # the teaching point is shown on success only


def test_score_names_the_wrong_output(capsys):
    ch07.check_gaussian_score(sc_no_minus_one)
    out = capsys.readouterr().out
    assert "d_log_std wrong" in out and "d_mean wrong" not in out
    ch07.check_gaussian_score(sc_divide_once)
    out = capsys.readouterr().out
    assert "d_mean wrong" in out and "d_log_std wrong" not in out


def test_each_score_mistake_is_caught_and_distinct():
    cases = ch07._cases()
    for i, name in enumerate(ch07._COMPONENTS):
        per_case = [ch07._sc_mistakes(c)[name] for c in cases]
        n = len(per_case[0])
        for j in range(n):
            assert any(
                not ch07._close(w, gaussian_score(c.mean, c.log_std, c.actions)[i])
                for c, ms in zip(cases, per_case, strict=True)
                for w in ms[j][1]
            ), per_case[0][j][0]
            for k in range(j + 1, n):
                assert any(
                    not any(ch07._close(a, b) for a in ms[j][1] for b in ms[k][1])
                    for ms in per_case
                ), (per_case[0][j][0], per_case[0][k][0])
    for c in cases:  # a swapped pair is told apart from a right one
        d_mean, d_log_std = gaussian_score(c.mean, c.log_std, c.actions)
        assert not ch07._close(d_mean, d_log_std)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda *a: gaussian_score(*a)[0], "return a pair (d_mean, d_log_std)"),
        (lambda *a: (*gaussian_score(*a), 0), "return a pair (d_mean, d_log_std)"),
        (lambda *a: None, "returned None"),
        (lambda *a: ("d_mean", "d_log_std"), "return a pair (d_mean, d_log_std)"),
        (lambda *a: 1 / 0, "raised ZeroDivisionError"),
        (lambda *a: tuple(g[:, :1] for g in gaussian_score(*a)), "each have shape"),
        (lambda *a: tuple(g * np.inf for g in gaussian_score(*a)), "returned NaN or inf"),
        (lambda *a: tuple(g + 0.1 for g in gaussian_score(*a)), "compare with ∂log π/∂μ"),
    ],
)
def test_score_generic_failures(wrong, hint, capsys):
    assert ch07.check_gaussian_score(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
    assert not [k for k, m in SC_MESSAGES.items() if m in out]


def test_score_input_mutation_is_reported(capsys):
    def mutates(mean, log_std, actions):
        log_std *= 2  # "the variance's log", in place
        d_mean = (actions - mean) / np.exp(log_std)
        return d_mean, (actions - mean) ** 2 / np.exp(log_std) - 1

    assert ch07.check_gaussian_score(mutates) is False
    assert "changed its input log_std in place" in capsys.readouterr().out


def test_score_zero_mean_line_fails_for_an_answer_that_only_fits_the_cases(capsys):
    cases = ch07._cases()

    def memorised(mean, log_std, actions):
        if any(mean.shape == c.mean.shape and np.array_equal(mean, c.mean) for c in cases):
            return gaussian_score(mean, log_std, actions)
        d_mean, d_log_std = gaussian_score(mean, log_std, actions)
        return d_mean + 1.0, d_log_std

    assert ch07.check_gaussian_score(memorised) is False
    out = capsys.readouterr().out
    assert "each score must average to 0" in out
