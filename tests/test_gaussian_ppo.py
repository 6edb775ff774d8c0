"""PPO with a Gaussian policy (gaelib.algorithms.gaussian_ppo): the clipped surrogate's gradient
against the hand formula and autograd, the written-out NumPy step against autograd + Adam, the
truncation bootstrap, diagnostics, validation, determinism and a short learning test."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gaelib.algorithms import gaussian_ppo as gp
from gaelib.algorithms.gaussian_ppo import gaussian_ppo, gaussian_ppo_loss
from gaelib.core.policies import GaussianMLPPolicy, ValueNet, gaussian_score
from gaelib.worlds.pendulum import evaluate_pendulum

DIAGNOSTICS = {
    "approx_kl",
    "clip_fraction",
    "entropy",
    "policy_loss",
    "value_loss",
    "explained_variance",
}


def problem(seed: int = 0, B: int = 256, d: int = 2, spread: float = 0.3):
    """A policy, a critic and a minibatch whose old log-probs differ from the current ones by
    N(0, spread²), so that some ratios fall outside [1 - ε, 1 + ε]."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    policy = GaussianMLPPolicy(3, d, (16, 16), log_std_init=-0.4)
    value = ValueNet(3, (16, 16), orthogonal=True)
    obs = torch.as_tensor(rng.normal(size=(B, 3)), dtype=torch.float32)
    with torch.no_grad():
        dist = policy.dist(obs)
        actions = dist.sample()
        logp = dist.log_prob(actions).sum(-1)
    old_logp = logp + torch.as_tensor(rng.normal(0, spread, B), dtype=torch.float32)
    adv = torch.as_tensor(rng.normal(size=B), dtype=torch.float32)
    ret = torch.as_tensor(rng.normal(size=B), dtype=torch.float32)
    return policy, value, obs, actions, old_logp, adv, ret


def policy_grads(policy, loss) -> list[torch.Tensor]:
    params = list(policy.parameters())
    return list(torch.autograd.grad(loss, params, allow_unused=False))


def hand_policy_gradient(policy, obs, actions, weights) -> list[torch.Tensor]:
    r"""Σ_i w_i ∇_θ log π(a_i|s_i) with the score ∂logπ/∂μ, ∂logπ/∂logσ of
    :func:`gaussian_score` (written out in NumPy); autograd only carries ∂μ/∂θ through the
    network (μ is linear in nothing else)."""
    mean = policy(obs)
    log_std = policy.log_std.detach().numpy().astype(np.float64)
    d_mean, d_log_std = gaussian_score(
        mean.detach().numpy().astype(np.float64), log_std, actions.numpy().astype(np.float64)
    )
    w = weights.numpy().astype(np.float64)
    coef = torch.as_tensor(w[:, None] * d_mean, dtype=torch.float32)
    net_params = [p for n, p in policy.named_parameters() if n != "log_std"]
    g_net = torch.autograd.grad((coef * mean).sum(), net_params)
    g_log_std = torch.as_tensor((w[:, None] * d_log_std).sum(0), dtype=torch.float32)
    names = [n for n, _ in policy.named_parameters()]
    out, it = [], iter(g_net)
    for n in names:
        out.append(g_log_std if n == "log_std" else next(it))
    return out


@pytest.mark.parametrize("clip", [0.1, 0.2])
def test_the_surrogate_gradient_is_the_hand_formula(clip):
    r"""-∇L_clip = (1/B) Σ_i ρ_i Â_i 1[unclipped_i] ∇ log π(a_i|s_i): the clipped surrogate
    passes a step's gradient only where its unclipped term is the smaller one."""
    policy, value, obs, actions, old_logp, adv, ret = problem()
    loss = gaussian_ppo_loss(policy, value, obs, actions, old_logp, adv, ret, clip=clip,
                             vf_coef=0.0, normalize=False)  # fmt: skip
    auto = policy_grads(policy, loss)
    with torch.no_grad():
        logp = policy.dist(obs).log_prob(actions).sum(-1)
        rho = torch.exp(logp - old_logp)
    unclipped = ((adv > 0) & (rho < 1 + clip)) | ((adv < 0) & (rho > 1 - clip))
    assert 0.1 < unclipped.float().mean() < 0.95  # both cases are present
    hand = hand_policy_gradient(policy, obs, actions, rho * adv * unclipped / len(adv))
    for a, h in zip(auto, hand, strict=True):
        torch.testing.assert_close(-a, h, rtol=1e-4, atol=1e-6)


def test_at_ratio_one_the_loss_is_the_policy_gradient_loss():
    """With π_old = π_θ every ρ is 1, nothing is clipped, and ∇L_clip = ∇(-mean(Â log π)) —
    the actor-critic's loss (clip=None) — = -(1/B) Σ Â_i ∇ log π(a_i|s_i)."""
    policy, value, obs, actions, _, adv, ret = problem(1)
    with torch.no_grad():
        logp = policy.dist(obs).log_prob(actions).sum(-1)
    args = (policy, value, obs, actions, logp, adv, ret)
    g_clip = policy_grads(policy, gaussian_ppo_loss(*args, clip=0.2, vf_coef=0.0))
    g_ac = policy_grads(policy, gaussian_ppo_loss(*args, clip=None, vf_coef=0.0))
    a = (adv - adv.mean()) / (adv.std() + 1e-8)  # normalize=True, the default
    g_plain = policy_grads(policy, -(policy.dist(obs).log_prob(actions).sum(-1) * a).mean())
    hand = hand_policy_gradient(policy, obs, actions, a / len(a))
    for x, y, z, h in zip(g_clip, g_ac, g_plain, hand, strict=True):
        torch.testing.assert_close(x, z, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(y, z, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(-x, h, rtol=1e-4, atol=1e-6)


def test_loss_value_entropy_and_stats():
    policy, value, obs, actions, old_logp, adv, ret = problem(2)
    stats: dict = {}
    loss = gaussian_ppo_loss(policy, value, obs, actions, old_logp, adv, ret, clip=0.2,
                             vf_coef=0.5, ent_coef=0.01, normalize=False, stats=stats)  # fmt: skip
    dist = policy.dist(obs)
    logp = dist.log_prob(actions).sum(-1)
    rho = torch.exp(logp - old_logp)
    pg = -torch.min(rho * adv, rho.clamp(0.8, 1.2) * adv).mean()
    vl = ((value(obs) - ret) ** 2).mean()
    ent = dist.entropy().sum(-1).mean()
    torch.testing.assert_close(loss, pg + 0.5 * vl - 0.01 * ent)
    assert set(stats) == DIAGNOSTICS - {"explained_variance"}
    assert stats["entropy"] == pytest.approx(float(ent.detach()), rel=1e-6)
    assert stats["clip_fraction"] == pytest.approx(float(((rho - 1).abs() > 0.2).float().mean()))
    kl = float(((rho - 1) - torch.log(rho)).mean().detach())
    assert stats["approx_kl"] == pytest.approx(kl, rel=1e-5)


@pytest.mark.parametrize(("clip", "ent_coef"), [(0.2, 0.0), (0.1, 0.01), (None, 0.0)])
def test_the_numpy_step_is_autograd_and_adam(clip, ent_coef):
    """The written-out step (gradient, global-norm clipping, Adam ε = 1e-5) takes the same
    steps as autograd on gaussian_ppo_loss + clip_grad_norm_ + torch.optim.Adam."""
    policy, value, obs, actions, old_logp, adv, ret = problem(3, B=128, d=1)
    p2, v2 = copy.deepcopy(policy), copy.deepcopy(value)
    params = [*p2.parameters(), *v2.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3, eps=1e-5)
    step = gp._NumpyGaussianStep(policy, value, max_grad_norm=0.5, vf_coef=0.5,
                                 ent_coef=ent_coef)  # fmt: skip
    np_args = [x.numpy() for x in (obs, actions, old_logp, adv, ret)]
    for k in range(40):
        got = step.step(*np_args, clip=clip, lr=3e-3)
        want: dict = {}
        loss = gaussian_ppo_loss(p2, v2, obs, actions, old_logp, adv, ret, clip=clip,
                                 ent_coef=ent_coef, stats=want)  # fmt: skip
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        if k in (0, 39):
            for key in want:
                np.testing.assert_allclose(got[key], want[key], rtol=2e-4, atol=1e-6)
    for a, b in zip([*policy.parameters(), *value.parameters()], params, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(step.log_prob(np_args[0], np_args[1]),
                               policy.dist(obs).log_prob(actions).sum(-1).detach().numpy(),
                               rtol=1e-5, atol=1e-5)  # fmt: skip


def test_bad_input_names_the_argument():
    policy, value, obs, actions, old_logp, adv, ret = problem(4, B=8)
    good = dict(zip(["obs", "actions", "old_logp", "advantages", "returns"],
                    [obs, actions, old_logp, adv, ret], strict=True))  # fmt: skip
    for name, bad in [
        ("actions", actions[:, 0]),
        ("actions", actions.long()),
        ("actions", actions[:, :1]),
        ("obs", obs[:4]),
        ("old_logp", old_logp[:, None]),
        ("advantages", adv[:5]),
        ("returns", ret[:, None]),
    ]:
        kw = {**good, name: bad}
        with pytest.raises(ValueError, match=name):
            gaussian_ppo_loss(policy, value, *kw.values(), clip=0.2)
    with pytest.raises(ValueError, match="clip"):
        gaussian_ppo_loss(policy, value, *good.values(), clip=-0.1)
    for kwargs, name in [
        ({"gamma": 1.5}, "gamma"),
        ({"lam": -0.1}, "lam"),
        ({"num_envs": 0}, "num_envs"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"epochs": 0}, "epochs"),
        ({"minibatch_size": True}, "minibatch_size"),
        ({"lr": 0.0}, "lr"),
        ({"clip": 0.0}, "clip"),
        ({"max_grad_norm": -1.0}, "max_grad_norm"),
        ({"log_std_init": float("nan")}, "log_std_init"),
        ({"reward_scale": 0.0}, "reward_scale"),
        ({"backend": "jax"}, "backend"),
        ({"env_id": 3}, "env_id"),
        ({"stop_at": "high"}, "stop_at"),
        ({"hidden": 0}, "hidden"),
        ({"seed": -1}, "seed"),
    ]:
        with pytest.raises(ValueError, match=name):
            gaussian_ppo(**{"total_steps": 256, "num_envs": 2, "n_steps": 128, **kwargs})


def test_the_time_limit_is_bootstrapped_not_terminated(monkeypatch):
    """Pendulum only truncates: gaussian_ppo passes those steps as ``truncated`` (bootstrap from
    V(next_obs), the real last observation) and cuts only at next-step autoreset's reset steps."""
    seen = []
    real = gp.compute_gae

    def spy(rewards, values, next_values, terminated, truncated, *, gamma, lam):
        seen.append((terminated.copy(), truncated.copy()))
        return real(rewards, values, next_values, terminated, truncated, gamma=gamma, lam=lam)

    monkeypatch.setattr(gp, "compute_gae", spy)
    hist = gaussian_ppo(seed=0, total_steps=2 * 3 * 250, num_envs=3, n_steps=250, epochs=1)
    (term0, trunc0), (term1, trunc1) = seen  # two rollouts of 250 steps, 3 environments
    # episode 1 is truncated at step 199; step 200 is the reset step (cut: masked, no trace)
    np.testing.assert_array_equal(np.flatnonzero(trunc0.all(axis=1)), [199])
    np.testing.assert_array_equal(np.flatnonzero(term0.all(axis=1)), [200])
    assert trunc0.sum() == term0.sum() == 3
    # episode 2 (steps 201..400) is truncated at 400 = index 150 of the second rollout
    np.testing.assert_array_equal(np.flatnonzero(trunc1.all(axis=1)), [150])
    np.testing.assert_array_equal(np.flatnonzero(term1.all(axis=1)), [151])
    assert trunc1.sum() == term1.sum() == 3
    assert hist.episode_returns.shape == (6,) and np.all(hist.episode_returns < 0)


def short_run(seed: int = 0, **kw):
    return gaussian_ppo(seed=seed, total_steps=4096, num_envs=4, n_steps=256, epochs=2,
                        minibatch_size=256, **kw)  # fmt: skip


def test_history_diagnostics_are_ppos():
    hist = short_run()
    assert set(hist.diagnostics) == DIAGNOSTICS
    for key, x in hist.diagnostics.items():
        assert x.shape == (4,) and np.all(np.isfinite(x)), key
    assert np.all(hist.diagnostics["approx_kl"] >= 0)
    assert np.all(
        (hist.diagnostics["clip_fraction"] >= 0) & (hist.diagnostics["clip_fraction"] <= 1)
    )
    # env steps count real transitions: 4 × 256 per update, less one reset step per episode
    # and environment (at steps 200, 401, 602, 803 and 1004)
    np.testing.assert_array_equal(hist.iteration_env_steps, [1020, 2040, 3060, 4076])
    assert hist.config["backend"] == "numpy" and hist.wall_time > 0


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_same_seed_same_result(backend):
    a, b, c = (
        short_run(0, backend=backend),
        short_run(0, backend=backend),
        short_run(1, backend=backend),
    )
    np.testing.assert_array_equal(a.episode_returns, b.episode_returns)
    for p, q in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert not np.array_equal(a.episode_returns, c.episode_returns)


def test_callback_and_stop_at_end_training():
    calls = []
    hist = short_run(callback=lambda it, steps, policy: calls.append(steps) or it == 1)
    assert calls == [1020, 2040] and len(hist.iteration_env_steps) == 2
    hist = gaussian_ppo(seed=0, total_steps=8192, num_envs=4, n_steps=256, epochs=1,
                        stop_at=-1e9)  # fmt: skip
    assert len(hist.iteration_env_steps) == 4  # the first update after 20 episodes ended
    assert len(hist.episode_returns) == 20


def test_another_box_environment_runs_through_gymnasium():
    hist = gaussian_ppo("MountainCarContinuous-v0", seed=0, total_steps=256, num_envs=2,
                        n_steps=128, epochs=1)  # fmt: skip
    assert hist.policy.obs_dim == 2 and hist.policy.act_dim == 1


def test_learns_pendulum_at_the_course_settings_in_a_short_run():
    """60% of the course's run (61 440 steps, ~3 s) takes the greedy policy from random's
    ≈ -1200 to about -200 (seed 0: -186); asserted with a wide margin."""
    hist = gaussian_ppo(seed=0, total_steps=61_440)
    greedy = evaluate_pendulum(hist.policy, episodes=20, seed=123).mean()
    rng = np.random.default_rng(0)

    class Random:
        def mean_numpy(self, obs):
            return rng.uniform(-2, 2, (len(obs), 1))

    random = evaluate_pendulum(Random(), episodes=20, seed=123).mean()
    assert random < -1000
    assert greedy > -400, (greedy, random)
    assert hist.diagnostics["explained_variance"][-1] > 0.5  # the critic has learned too
