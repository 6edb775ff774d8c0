"""Each exercise checker passes the reference and fails each classic wrong variant."""

from __future__ import annotations

import pytest

from gaelib.exercises import ch00

# ------------------------------------------------------------- check_discounted_return


def ref_return(rewards, gamma):
    g = 0.0
    for r in reversed(rewards):
        g = r + gamma * g
    return g


def template(*args):
    raise NotImplementedError


def test_discounted_return_reference_passes(capsys):
    assert ch00.check_discounted_return(ref_return) is True
    assert "All cases pass" in capsys.readouterr().out


def test_discounted_return_template_is_not_attempted(capsys):
    assert ch00.check_discounted_return(template) is False
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda r, g: sum(g ** (t + 1) * x for t, x in enumerate(r)), "exponent starts at γ^0"),
        (lambda r, g: sum(g ** (len(r) - 1 - t) * x for t, x in enumerate(r)), "wrong way"),
        (lambda r, g: sum(r), "γ was not applied"),
        (lambda r, g: r[0], "raised IndexError"),
        (lambda r, g: [ref_return(r, g)], "single number"),
        (lambda r, g: sum(g * x for x in r), "expected"),
    ],
)
def test_discounted_return_wrong_variants_fail(wrong, hint, capsys):
    assert ch00.check_discounted_return(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


# ----------------------------------------------------------------- check_run_episode


def ref_run_episode(env, policy, seed):
    obs, info = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += reward
        steps += 1
        if terminated or truncated:
            return total, steps, terminated, truncated


def only_terminated(env, policy, seed):
    obs, info = env.reset(seed=seed)
    total, steps = 0.0, 0
    terminated = truncated = False
    while not terminated:  # classic: ignores the time limit
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += reward
        steps += 1
    return total, steps, terminated, truncated


def old_gym_api(env, policy, seed):
    obs = env.reset(seed=seed)
    total, steps, done = 0.0, 0, False
    while not done:
        obs, reward, done, info = env.step(policy(obs))
        total += reward
        steps += 1
    return total, steps, done, False


def no_seed(env, policy, seed):
    obs, info = env.reset()
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += reward
        steps += 1
        if terminated or truncated:
            return total, steps, terminated, truncated


def merged_done(env, policy, seed):
    total, steps, term, trunc = ref_run_episode(env, policy, seed)
    return total, steps, term or trunc, False  # one "done" flag, as in old gym


def test_run_episode_reference_passes(capsys):
    assert ch00.check_run_episode(ref_run_episode) is True
    assert "All cases pass" in capsys.readouterr().out


def test_run_episode_template_is_not_attempted(capsys):
    assert ch00.check_run_episode(template) is False
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (only_terminated, "terminated OR truncated"),
        (old_gym_api, "five"),
        (no_seed, "reset(seed=seed)"),
        (merged_done, "terminated and truncated separately"),
    ],
)
def test_run_episode_wrong_variants_fail(wrong, hint, capsys):
    assert ch00.check_run_episode(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
