"""Chapter 1 library: softmax-linear policy, MLP policy, episode collection, REINFORCE."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from gaelib import agents, policies, rollouts
from gaelib.advantages import discounted_returns


def lean(obs):
    return (obs[..., 2] + 0.5 * obs[..., 3] > 0).astype(int)


@pytest.mark.parametrize("seed", range(5))
def test_softmax_linear_score_matches_autograd(seed):
    rng = np.random.default_rng(seed)
    d, A, B = 5, 3, 4
    theta, feats = rng.normal(size=d), rng.normal(size=(B, A, d))
    actions = rng.integers(0, A, size=B)
    score = policies.softmax_linear_score(theta, feats, actions)
    t = torch.tensor(theta, requires_grad=True)
    for i in range(B):
        logp = torch.log_softmax(torch.tensor(feats[i]) @ t, dim=0)[actions[i]]
        (g,) = torch.autograd.grad(logp, t)
        np.testing.assert_allclose(score[i], g.numpy(), atol=1e-12)
    lp = policies.softmax_linear_log_prob(theta, feats, actions)
    np.testing.assert_allclose(
        np.exp(lp), policies.softmax_linear_probs(theta, feats)[np.arange(B), actions]
    )


def test_softmax_linear_probs_are_stable_and_normalised():
    p = policies.softmax_linear_probs(np.array([1000.0]), np.array([[[1.0], [0.0], [-1.0]]]))
    np.testing.assert_allclose(p.sum(-1), 1.0)
    assert np.all(np.isfinite(p)) and p[0, 0] == pytest.approx(1.0)


def test_softmax_linear_validation():
    theta, feats = np.zeros(2), np.zeros((3, 2))
    with pytest.raises(ValueError, match="theta"):
        policies.softmax_linear_probs(np.zeros((2, 2)), feats)
    with pytest.raises(ValueError, match="features"):
        policies.softmax_linear_probs(theta, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="action"):
        policies.softmax_linear_score(theta, feats, 3)
    with pytest.raises(ValueError, match="action"):
        policies.softmax_linear_score(theta, feats, 0.5)
    with pytest.raises(ValueError, match="finite"):
        policies.softmax_linear_probs(np.array([np.nan, 0.0]), feats)


def test_mlp_policy_numpy_path_matches_torch_and_samples_its_probs():
    torch.manual_seed(0)
    pol = policies.MLPPolicy(4, 3, hidden=8)
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    with torch.no_grad():
        want = torch.softmax(pol(torch.as_tensor(obs)), dim=1).numpy()
    np.testing.assert_allclose(pol.probs_numpy(obs), want, rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(1)
    many = np.repeat(obs[:1], 40_000, axis=0)
    freq = np.bincount(pol.act(many, rng), minlength=3) / len(many)
    np.testing.assert_allclose(freq, want[0], atol=0.01)
    with pytest.raises(ValueError, match="obs"):
        pol.probs_numpy(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="hidden"):
        policies.MLPPolicy(4, 2, hidden=0)


def test_collect_episodes_matches_single_env_episodes_and_masks_autoreset():
    n, seed = 6, 42
    envs = gym.make_vec(
        "CartPole-v1",
        num_envs=n,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP},
    )
    envs_short = gym.make_vec(
        "CartPole-v1", num_envs=n, vectorization_mode="sync", max_episode_steps=30
    )
    for vec, limit in ((envs, 500), (envs_short, 30)):
        policy = lean if limit == 30 else (lambda o: np.zeros(len(o), int))
        batch = rollouts.collect_episodes(vec, policy, seed=seed)
        for i in range(n):
            env = gym.make("CartPole-v1", max_episode_steps=limit)
            obs, _ = env.reset(seed=seed + i)
            length = int(batch.mask[:, i].sum())
            # the mask is a prefix: the episode, then nothing (autoreset steps are masked)
            assert batch.mask[:length, i].all() and not batch.mask[length:, i].any()
            for t in range(length):
                np.testing.assert_allclose(batch.obs[t, i], obs, rtol=1e-6)
                obs, r, term, trunc, _ = env.step(int(batch.actions[t, i]))
                np.testing.assert_allclose(batch.next_obs[t, i], obs, rtol=1e-6)
                assert batch.rewards[t, i] == r
                assert (batch.terminated[t, i], batch.truncated[t, i]) == (term, trunc)
            assert term or trunc
            assert trunc == (limit == 30)  # the balancing policy hits the short time limit
            assert not batch.terminated[length:, i].any() and not batch.truncated[length:, i].any()
            assert batch.rewards[length:, i].sum() == 0
        assert batch.ended[batch.episode_lengths - 1, np.arange(n)].all()


def test_policy_gradient_estimate_matches_per_step_autograd():
    torch.manual_seed(3)
    pol = policies.MLPPolicy(4, 2, hidden=8)
    value = policies.ValueNet(4, hidden=8)
    envs = agents.make_vector_env("CartPole-v1", 3)
    rng = np.random.default_rng(0)
    batch = rollouts.collect_episodes(envs, lambda o: pol.act(o, rng), seed=1)
    gamma = 0.9
    g = discounted_returns(batch.rewards, batch.ended, gamma=gamma)
    with torch.no_grad():
        b = value(torch.as_tensor(batch.obs)).numpy()
    want_plain, want_base = 0.0, 0.0
    for t, i in zip(*np.nonzero(batch.mask), strict=True):
        logp = pol.dist(torch.as_tensor(batch.obs[t, i][None])).log_prob(
            torch.as_tensor([batch.actions[t, i]])
        )[0]
        grad = torch.autograd.grad(logp, list(pol.parameters()))
        flat = torch.cat([x.flatten() for x in grad]).numpy()
        want_plain = want_plain + flat * g[t, i] / 3
        want_base = want_base + flat * (g[t, i] - b[t, i]) / 3
    got = agents.policy_gradient_estimate(pol, batch, gamma=gamma)
    np.testing.assert_allclose(got, want_plain, rtol=1e-4, atol=1e-5)
    got = agents.policy_gradient_estimate(pol, batch, gamma=gamma, value=value)
    np.testing.assert_allclose(got, want_base, rtol=1e-4, atol=1e-5)


def test_reinforce_learns_and_is_reproducible():
    """A short seeded run must clearly beat the random policy (about 22 steps)."""
    h = agents.reinforce(seed=0, baseline=True, iterations=25)
    assert h.last_mean(50) > 100
    assert len(h.episode_returns) == 25 * 16
    assert np.all(np.diff(h.episode_env_steps) >= 0)
    again = agents.reinforce(seed=0, baseline=True, iterations=3)
    np.testing.assert_array_equal(again.episode_returns, h.episode_returns[:48])


def test_reinforce_validation():
    for kwargs, name in [
        ({"gamma": 2.0}, "gamma"),
        ({"iterations": 0}, "iterations"),
        ({"lr": 0.0}, "lr"),
        ({"episodes_per_batch": -1}, "episodes_per_batch"),
    ]:
        with pytest.raises(ValueError, match=name):
            agents.reinforce(**kwargs)
