"""The Gaussian policy for continuous actions: its log-density and its score written out by hand,
against torch's ``Normal`` and autograd; the score's zero mean; the policy module's sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gaelib.core.policies import GaussianMLPPolicy, gaussian_log_prob, gaussian_score


def sample_problem(seed: int = 0, n: int = 32, d: int = 3):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(n, d))
    log_std = rng.normal(0, 0.5, d)
    actions = mean + np.exp(log_std) * rng.normal(size=(n, d)) + rng.normal(0, 0.3, (n, d))
    return mean, log_std, actions


def test_log_prob_is_the_normal_density():
    mean, log_std, actions = sample_problem()
    ref = torch.distributions.Normal(torch.as_tensor(mean), torch.as_tensor(log_std).exp())
    want = ref.log_prob(torch.as_tensor(actions)).sum(-1).numpy()
    np.testing.assert_allclose(gaussian_log_prob(mean, log_std, actions), want, rtol=1e-12)


def test_the_score_by_hand_is_autograd_of_the_log_density():
    mean, log_std, actions = sample_problem(1)
    m = torch.tensor(mean, requires_grad=True)
    s = torch.tensor(log_std, requires_grad=True)
    logp = torch.distributions.Normal(m, s.exp()).log_prob(torch.as_tensor(actions)).sum(-1)
    d_mean, d_log_std = gaussian_score(mean, log_std, actions)
    # row i's score is the gradient of log π(a_i | s_i) alone: sum over rows with unit weights
    g_mean, g_log_std = torch.autograd.grad(logp.sum(), (m, s), retain_graph=True)
    np.testing.assert_allclose(d_mean, g_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(d_log_std.sum(axis=0), g_log_std.numpy(), rtol=1e-12)
    w = torch.as_tensor(np.random.default_rng(2).normal(size=len(actions)))  # per-row weights
    (g_log_std_w,) = torch.autograd.grad((w * logp).sum(), (s,))
    np.testing.assert_allclose((w.numpy()[:, None] * d_log_std).sum(0), g_log_std_w.numpy())


def test_the_score_has_mean_zero_under_the_policy():
    rng = np.random.default_rng(3)
    n, mu, log_std = 400_000, np.array([[0.5, -1.0]]), np.array([-0.3, 0.4])
    actions = mu + np.exp(log_std) * rng.normal(size=(n, 2))
    d_mean, d_log_std = gaussian_score(np.repeat(mu, n, 0), log_std, actions)
    for g in (d_mean, d_log_std):
        se = g.std(axis=0) / math.sqrt(n)
        assert np.all(np.abs(g.mean(axis=0)) < 5 * se)


def test_bad_input_names_the_argument():
    mean, log_std, actions = sample_problem()
    for args, name in [
        ((mean[0], log_std, actions[0]), "mean"),
        ((mean, log_std[:2], actions), "log_std"),
        ((mean, log_std, actions[:, :2]), "actions"),
        ((mean, log_std, np.full_like(actions, np.nan)), "actions"),
        ((mean, "wide", actions), "log_std"),
    ]:
        with pytest.raises(ValueError, match=name):
            gaussian_score(*args)
        with pytest.raises(ValueError, match=name):
            gaussian_log_prob(*args)


def test_the_policy_module_samples_and_scores_its_own_density():
    torch.manual_seed(0)
    pi = GaussianMLPPolicy(3, 2, 16, log_std_init=-0.5)
    obs = np.random.default_rng(4).normal(size=(5, 3)).astype(np.float32)
    with torch.no_grad():
        mean_t = pi(torch.as_tensor(obs)).numpy()
    np.testing.assert_allclose(pi.mean_numpy(obs), mean_t, rtol=1e-5, atol=1e-7)
    rng = np.random.default_rng(5)
    a = np.stack([pi.act(obs, rng) for _ in range(20_000)])  # [draws, 5, 2]
    assert a.dtype == np.float32 and a.shape == (20_000, 5, 2)
    np.testing.assert_allclose(a.mean(0), mean_t, atol=0.02)
    np.testing.assert_allclose(a.std(0), np.exp(-0.5), rtol=0.03)
    with torch.no_grad():
        logp = pi.dist(torch.as_tensor(obs)).log_prob(torch.as_tensor(a[0])).sum(-1).numpy()
    np.testing.assert_allclose(logp, gaussian_log_prob(mean_t, np.full(2, -0.5), a[0]), rtol=1e-5)
    with pytest.raises(ValueError, match="obs"):
        pi.mean_numpy(obs[:, :2])
    with pytest.raises(ValueError, match="log_std_init"):
        GaussianMLPPolicy(3, 2, log_std_init=float("inf"))
    with pytest.raises(ValueError, match="act_dim"):
        GaussianMLPPolicy(3, 0)
