"""Chapter 5 library: :func:`gaelib.algorithms.lockstep.actor_critic_grid` and
:func:`~gaelib.algorithms.lockstep.ppo_grid` — many actor-critic or PPO runs in lockstep — against
the one-run trainers they batch.

Oracles: :func:`gaelib.algorithms.actor_critic.actor_critic` and :func:`gaelib.algorithms.ppo.ppo`
themselves (a one-run grid must reproduce them: the same episodes, the same weights), and
:class:`gaelib.algorithms.numpy_ppo.NumpyPPOUpdate` (itself held to autograd in
``test_numpy_ppo.py``) run by run for the batched gradient (plain and PPO-clipped), clipping and
Adam.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gaelib.algorithms.actor_critic import actor_critic
from gaelib.algorithms.batched_actor_critic import BatchedActorCritic
from gaelib.algorithms.lockstep import actor_critic_grid, ppo_grid
from gaelib.algorithms.numpy_ppo import NumpyPPOUpdate
from gaelib.algorithms.ppo import ppo
from gaelib.core import history
from gaelib.core.background import train_in_background
from gaelib.core.policies import MLPPolicy, ValueNet


def params(h):
    return [p.detach().numpy() for p in [*h.policy.parameters(), *h.value.parameters()]]


@pytest.mark.parametrize("lam, gamma", [(0.95, 0.99), (0.5, 1.0)])
def test_a_one_run_grid_reproduces_actor_critic(lam, gamma):
    kw = dict(total_steps=6 * 256, lr=3e-3)
    grid = actor_critic_grid([gamma], [lam], [3], grid_seed=3, **kw)
    assert list(grid) == [(gamma, lam)]
    (g,) = grid[(gamma, lam)]
    a = actor_critic(seed=3, lam=lam, gamma=gamma, **kw)
    np.testing.assert_array_equal(g.episode_returns, a.episode_returns)
    np.testing.assert_array_equal(g.episode_env_steps, a.episode_env_steps)
    np.testing.assert_array_equal(g.iteration_env_steps, a.iteration_env_steps)
    np.testing.assert_array_equal(g.iteration_mean_return, a.iteration_mean_return)
    assert len(a.episode_returns) > 20  # episodes ended, so the bookkeeping was exercised
    for x, y in zip(params(g), params(a), strict=True):
        np.testing.assert_allclose(x, y, atol=1e-5)
    fresh = MLPPolicy(4, 2, (64, 64), orthogonal=True)  # the check has teeth: weights moved
    assert not np.allclose(params(g)[0], fresh.net[0].weight.detach().numpy(), atol=1e-3)


def nets(k: int):
    out = []
    for s in range(k):
        torch.manual_seed(10 + s)
        out.append(
            (MLPPolicy(4, 2, (16, 8), orthogonal=True), ValueNet(4, (16, 8), orthogonal=True))
        )
    return out


def test_a_one_run_ppo_grid_reproduces_ppo():
    kw = dict(total_steps=6 * 256, gamma=0.99, lam=0.5)
    (g,) = ppo_grid([kw["gamma"]], [kw["lam"]], [3], grid_seed=3, total_steps=kw["total_steps"])[
        (0.99, 0.5)
    ]
    a = ppo(seed=3, **kw)
    np.testing.assert_array_equal(g.episode_returns, a.episode_returns)
    np.testing.assert_array_equal(g.iteration_mean_return, a.iteration_mean_return)
    assert len(a.episode_returns) > 20
    for x, y in zip(params(g), params(a), strict=True):
        np.testing.assert_allclose(x, y, atol=1e-5)
    assert g.config["algo"] == "ppo" and g.config["epochs"] == 20 and g.config["clip"] == 0.2
    fresh = MLPPolicy(4, 2, (64, 64), orthogonal=True)  # 20 epochs x 6 updates moved them
    assert not np.allclose(params(g)[0], fresh.net[0].weight.detach().numpy(), atol=1e-3)


def test_background_run_returns_what_a_direct_call_returns():
    kw = dict(total_steps=512, grid_seed=1)
    job = train_in_background(ppo_grid, [0.9], [0.5], [0, 1], **kw)
    direct = ppo_grid([0.9], [0.5], [0, 1], **kw)
    far = job.result()
    assert list(far) == list(direct)
    for h1, h2 in zip(far[(0.9, 0.5)], direct[(0.9, 0.5)], strict=True):
        np.testing.assert_array_equal(h1.episode_returns, h2.episode_returns)
        for x, y in zip(params(h1), params(h2), strict=True):
            np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="fn"):
        train_in_background(np.mean, [1.0])


@pytest.mark.parametrize("clip", [None, 0.2])
def test_batched_steps_match_numpy_update_run_by_run(clip):
    K, B = 3, 40
    pairs = nets(K)
    learner = BatchedActorCritic([p for p, _ in pairs], [v for _, v in pairs], max_grad_norm=0.3)
    single = []
    for p, v in pairs:
        p2, v2 = copy.deepcopy(p), copy.deepcopy(v)
        single.append((p2, v2, NumpyPPOUpdate(p2, v2, max_grad_norm=0.3, eps=1e-5)))
    gen = np.random.default_rng(0)
    norms = []
    for _ in range(8):
        obs = gen.normal(size=(K, B, 4)).astype(np.float32)
        act = gen.integers(0, 2, size=(K, B))
        mask = gen.random((K, B)) < np.array([[1.0], [0.7], [0.4]])  # runs differ in n_k
        adv = (gen.normal(size=(K, B)) * 5).astype(np.float32)
        ret = (gen.normal(size=(K, B)) * 20).astype(np.float32)
        old = np.stack([up.log_prob(obs[k], act[k]) for k, (_, _, up) in enumerate(single)])
        old = (old + gen.normal(scale=0.3, size=(K, B))).astype(np.float32)  # ratios ≠ 1
        norms.append(learner.step(obs, act, mask, adv, ret, lr=1e-2, old_logp=old, clip=clip))
        for k, (_, _, up) in enumerate(single):
            m = mask[k]
            up.step(obs[k, m], act[k, m], old[k, m], adv[k, m], ret[k, m], clip=clip, lr=1e-2)
            assert norms[-1][k] == pytest.approx(up.last_grad_norm, rel=1e-4)
    assert np.max(norms) > 0.3  # gradient-norm clipping was active
    policies = [MLPPolicy(4, 2, (16, 8)) for _ in range(K)]
    values = [ValueNet(4, (16, 8)) for _ in range(K)]
    learner.copy_into(policies, values)
    for k, (p2, v2, _) in enumerate(single):
        for x, y in zip([*policies[k].parameters(), *values[k].parameters()],
                        [*p2.parameters(), *v2.parameters()], strict=True):  # fmt: skip
            np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), atol=2e-6)
    probs = learner.probs(obs)
    for k in range(K):
        np.testing.assert_allclose(probs[k], policies[k].probs_numpy(obs[k]), atol=1e-6)
        np.testing.assert_allclose(learner.values(obs)[k], values[k].values_numpy(obs[k]),
                                   atol=1e-5)  # fmt: skip


def test_grid_learns_and_keeps_runs_apart():
    grid = actor_critic_grid([0.99], [0.0, 0.95], [0, 1], total_steps=20_000)
    auc = history.sweep_auc(grid)
    # measured (2026-12-01): AUC λ=0: 30.2, 11.5; λ=0.95: 63.6, 80.0 — learning, and not by luck
    assert auc[(0.99, 0.95)].mean() > 2 * auc[(0.99, 0.0)].mean()
    assert auc[(0.99, 0.95)].min() > 2 * 22  # random play scores about 22
    h = grid[(0.99, 0.95)][0]
    assert h.config["grid_runs"] == 4 and h.config["lam"] == 0.95 and h.config["seed"] == 0
    assert len(h.iteration_env_steps) == 20_000 // 256
    assert np.all(np.diff(h.episode_env_steps) >= 0)
    assert h.episode_env_steps[-1] <= h.iteration_env_steps[-1] <= 20_000
    # each run's episodes really are its own: measured last-20 means 16.9, 9.6 (λ=0) against
    # 121.3, 158.2 (λ=0.95)
    last = {k: [h.episode_returns[-20:].mean() for h in runs] for k, runs in grid.items()}
    assert min(last[(0.99, 0.95)]) > 3 * max(last[(0.99, 0.0)])


def test_every_episode_is_booked_to_its_own_run():
    """Exact bookkeeping invariants. In CartPole an episode's return is its length, so a run's
    finished episodes can never add up to more steps than the run took; and every step of a
    run belongs to a finished episode or to one still going in one of its ``num_envs``
    environments (each at most 500 steps long)."""
    ne = 3
    budget = 40 * ne * 32  # 40 rollouts of 32 steps per run
    grid = actor_critic_grid([0.9, 0.99], [0.0, 0.95], [0], total_steps=budget, num_envs=ne)
    total = 0
    for runs in grid.values():
        (h,) = runs
        steps = int(h.iteration_env_steps[-1])
        total += steps
        assert len(h.iteration_env_steps) == 40
        assert len(h.episode_returns) > 5
        assert np.all(np.diff(h.episode_env_steps) >= 0)  # (two envs may end on one step)
        assert np.all(np.diff(h.iteration_env_steps) > 0)
        # episode k ended at step episode_env_steps[k] >= the lengths of episodes 0..k
        assert np.all(np.cumsum(h.episode_returns) <= h.episode_env_steps)
        assert steps - h.episode_returns.sum() <= ne * 500
        # per iteration at most num_envs * n_steps valid steps, at least half of them
        inc = np.diff(np.concatenate([[0], h.iteration_env_steps]))
        assert np.all((inc <= ne * 32) & (inc >= ne * 32 // 2))
    assert total <= 4 * budget


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"gammas": [1.5]}, "gammas"),
        ({"lams": []}, "lams"),
        ({"lams": [0.9, 0.9]}, "lams"),
        ({"seeds": [-1]}, "seeds"),
        ({"seeds": 3}, "seeds"),
        ({"total_steps": 0}, "total_steps"),
        ({"num_envs": 0}, "num_envs"),
        ({"lr": 0}, "lr"),
        ({"n_steps": 1}, "n_steps"),
        ({"vf_coef": -1.0}, "vf_coef"),
        ({"max_grad_norm": float("nan")}, "max_grad_norm"),
        ({"grid_seed": -2}, "grid_seed"),
    ],
)
def test_rejects_bad_arguments(kwargs, name):
    args = {"gammas": [0.99], "lams": [0.9], "seeds": [0], "total_steps": 256, **kwargs}
    with pytest.raises(ValueError, match=name):
        actor_critic_grid(args.pop("gammas"), args.pop("lams"), args.pop("seeds"), **args)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"clip": 0.0}, "clip"), ({"clip": True}, "clip"), ({"epochs": 0}, "epochs")],
)
def test_ppo_grid_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ppo_grid([0.99], [0.9], [0], total_steps=256, **kwargs)


def test_batched_learner_rejects_bad_input():
    pairs = nets(2)
    with pytest.raises(ValueError, match="policies and values"):
        BatchedActorCritic([pairs[0][0]], [])
    learner = BatchedActorCritic([p for p, _ in pairs], [v for _, v in pairs])
    obs = np.zeros((2, 5, 4), np.float32)
    act, adv, ret = np.zeros((2, 5), int), np.zeros((2, 5), np.float32), np.ones((2, 5), np.float32)
    mask = np.ones((2, 5), bool)
    with pytest.raises(ValueError, match="obs"):
        learner.step(obs[:1], act, mask, adv, ret, lr=1e-3)
    with pytest.raises(ValueError, match="returns"):
        learner.step(obs, act, mask, adv, ret[:, :3], lr=1e-3)
    empty = mask.copy()
    empty[1] = False
    with pytest.raises(ValueError, match="mask"):
        learner.step(obs, act, empty, adv, ret, lr=1e-3)
    with pytest.raises(ValueError, match="lr"):
        learner.step(obs, act, mask, adv, ret, lr=0.0)
    bad = adv.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="advantages"):
        learner.step(obs, act, mask, bad, ret, lr=1e-3)
