"""Chapter 1 library: softmax-linear policy, MLP policy, episode collection, REINFORCE."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from gaelib.algorithms import reinforce
from gaelib.core import policies, rollouts
from gaelib.core.advantages import discounted_returns


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
    envs = rollouts.make_vector_env("CartPole-v1", 3)
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
    got = reinforce.policy_gradient_estimate(pol, batch, gamma=gamma)
    np.testing.assert_allclose(got, want_plain, rtol=1e-4, atol=1e-5)
    got = reinforce.policy_gradient_estimate(pol, batch, gamma=gamma, value=value)
    np.testing.assert_allclose(got, want_base, rtol=1e-4, atol=1e-5)


def test_reinforce_learns_and_is_reproducible():
    """A short seeded run must clearly beat the random policy (about 22 steps, chapter 1)."""
    h = reinforce.reinforce(seed=0, baseline=True, iterations=25)
    assert h.last_mean(50) > 100
    assert len(h.episode_returns) == 25 * 16
    assert np.all(np.diff(h.episode_env_steps) >= 0)
    again = reinforce.reinforce(seed=0, baseline=True, iterations=3)
    np.testing.assert_array_equal(again.episode_returns, h.episode_returns[:48])


def test_reinforce_validation():
    for kwargs, name in [
        ({"gamma": 2.0}, "gamma"),
        ({"iterations": 0}, "iterations"),
        ({"lr": 0.0}, "lr"),
        ({"episodes_per_batch": -1}, "episodes_per_batch"),
    ]:
        with pytest.raises(ValueError, match=name):
            reinforce.reinforce(**kwargs)


# ------------------------------------------------------------------ the tiny MDP


@pytest.mark.parametrize("seed", range(4))
def test_policy_gradient_theorem_holds_exactly_on_the_tiny_mdp(seed):
    from gaelib.worlds import pg_toy

    mdp = pg_toy.make_tiny_mdp(seed)
    theta = np.random.default_rng(seed).normal(size=mdp.dim)
    np.testing.assert_allclose(
        pg_toy.enumerated_gradient(mdp, theta), pg_toy.exact_gradient(mdp, theta), atol=1e-12
    )
    # finite differences of J as a third, independent check
    eps, fd = 1e-6, np.zeros(mdp.dim)
    for i in range(mdp.dim):
        e = np.zeros(mdp.dim)
        e[i] = eps
        fd[i] = pg_toy.exact_objective(mdp, theta + e) - pg_toy.exact_objective(mdp, theta - e)
        fd[i] /= 2 * eps
    np.testing.assert_allclose(pg_toy.exact_gradient(mdp, theta), fd, atol=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_per_step_terms_sum_to_the_gradient_only_with_gamma_t(seed):
    from gaelib.worlds import pg_toy

    mdp = pg_toy.make_tiny_mdp(seed)
    theta = np.random.default_rng(seed + 10).normal(size=mdp.dim)
    d = pg_toy.state_distribution(mdp, theta)
    assert d.shape == (mdp.H, 2)
    np.testing.assert_allclose(d.sum(axis=1), 1.0)
    np.testing.assert_allclose(d[0], mdp.mu0)
    # oracle for P(s_t = s): the enumerated trajectories' probabilities, summed by hand
    pi = policies.softmax_linear_probs(theta, mdp.features)
    p = {(s,): mdp.mu0[s] for s in range(2)}
    for t in range(1, mdp.H):
        p = {
            path + (a, s2): q * pi[path[-1], a] * mdp.P[path[-1], a, s2]
            for path, q in p.items()
            for a in range(3)
            for s2 in range(2)
        }
        for s in range(2):
            assert d[t, s] == pytest.approx(sum(q for path, q in p.items() if path[-1] == s))
    adv = pg_toy.exact_advantages(mdp, theta)
    np.testing.assert_allclose((pi[None] * adv).sum(-1), 0.0, atol=1e-12)  # E_a[A] = 0
    g = pg_toy.per_step_gradient_terms(mdp, theta)
    w = mdp.gamma ** np.arange(mdp.H)
    exact = pg_toy.exact_gradient(mdp, theta)  # autograd through backward induction
    np.testing.assert_allclose((w[:, None] * g).sum(0), exact, atol=1e-12)
    assert np.abs(g.sum(0) - exact).max() > 1e-3  # without γ^t: not the gradient
    with pytest.raises(ValueError, match="theta"):
        pg_toy.per_step_gradient_terms(mdp, np.zeros(3))


@pytest.mark.parametrize("baseline", [False, True])
def test_sampled_gradients_are_unbiased(baseline):
    from gaelib.worlds import pg_toy

    mdp = pg_toy.make_tiny_mdp(0)
    theta = np.array([0.3, -0.5, 0.2, 0.1])
    g = pg_toy.sample_gradients(mdp, theta, 200_000, np.random.default_rng(1), baseline=baseline)
    se = g.std(axis=0, ddof=1) / np.sqrt(len(g))
    assert np.all(np.abs(g.mean(axis=0) - pg_toy.exact_gradient(mdp, theta)) < 5 * se)


def test_baseline_cuts_variance_on_the_tiny_mdp():
    from gaelib.worlds import pg_toy

    mdp = pg_toy.make_tiny_mdp(0)
    theta = np.array([0.3, -0.5, 0.2, 0.1])
    rng = np.random.default_rng(2)
    plain = pg_toy.sample_gradients(mdp, theta, 50_000, rng).var(axis=0).sum()
    based = pg_toy.sample_gradients(mdp, theta, 50_000, rng, baseline=True).var(axis=0).sum()
    assert based < 0.5 * plain


def test_tiny_mdp_validation():
    from gaelib.worlds import pg_toy

    mdp = pg_toy.make_tiny_mdp(0)
    with pytest.raises(ValueError, match="theta"):
        pg_toy.exact_gradient(mdp, np.zeros(3))
    with pytest.raises(ValueError, match="theta"):
        pg_toy.exact_objective(mdp, np.array([np.nan, 0, 0, 0]))
    with pytest.raises(ValueError, match="n"):
        pg_toy.sample_gradients(mdp, np.zeros(4), 0, np.random.default_rng(0))


def test_pg_estimates_widget_functions():
    import matplotlib.pyplot as plt

    from gaelib.widgets import ch01
    from gaelib.worlds import pg_toy

    mdp = pg_toy.make_tiny_mdp(0)
    data = ch01.precompute_pg_estimates(mdp, np.zeros(4), n_batches=20, max_n=64)
    est = ch01.batch_estimates(data, 16, True)
    assert est.shape == (20, 4)
    np.testing.assert_allclose(est, data[True][:, :16].mean(axis=1))
    with pytest.raises(ValueError, match="n"):
        ch01.batch_estimates(data, 128, True)
    fig = ch01.pg_estimates_figure(data, 4, False)
    assert "no baseline, N=4" in fig.axes[0].get_title()
    offsets = fig.axes[0].collections[-1].get_offsets()  # the estimates, drawn last
    np.testing.assert_allclose(offsets, ch01.batch_estimates(data, 4, False)[:, :2])
    plt.close(fig)
    w = ch01.pg_estimates_explorer(data)
    assert [c.description for c in w.children[:2]] == ["episodes N", "baseline"]
    plt.close("all")


def test_sampled_returns_average_to_the_exact_objective():
    from gaelib.worlds import pg_toy

    mdp = pg_toy.make_tiny_mdp(1)
    theta = np.array([0.5, 0.1, -0.3, 0.2])
    g = pg_toy.sample_returns(mdp, theta, 200_000, np.random.default_rng(0))
    assert abs(g.mean() - pg_toy.exact_objective(mdp, theta)) < 5 * g.std() / np.sqrt(len(g))
