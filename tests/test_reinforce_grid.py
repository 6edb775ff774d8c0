"""Chapter 1's lockstep REINFORCE (gaelib.algorithms.reinforce_grid): each run of the grid is the
update of gaelib.algorithms.reinforce.reinforce, checked against that readable torch version run by
run."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gaelib.algorithms import reinforce
from gaelib.algorithms.reinforce_grid import BatchedReinforce, reinforce_grid
from gaelib.core import rollouts
from gaelib.core.advantages import discounted_returns
from gaelib.core.policies import MLPPolicy, ValueNet
from gaelib.core.seeding import seed_everything


def _flat(module) -> np.ndarray:
    return torch.cat([p.detach().flatten() for p in module.parameters()]).numpy().copy()


def _columns(batch: rollouts.EpisodeBatch, cols: np.ndarray) -> rollouts.EpisodeBatch:
    return rollouts.EpisodeBatch(
        *(getattr(batch, f)[:, cols] for f in
          ("obs", "actions", "rewards", "terminated", "truncated", "next_obs", "mask"))
    )  # fmt: skip


def _by_run(x: np.ndarray, K: int) -> np.ndarray:
    """``[T, K*n, ...]`` -> ``[K, T*n, ...]``: run k's columns, time-major."""
    T, n = x.shape[0], x.shape[1] // K
    return x.reshape(T, K, n, *x.shape[2:]).swapaxes(0, 1).reshape(K, T * n, *x.shape[2:])


def _reference_update(policy, value, opt, vopt, batch, gamma, epochs=5):
    """One iteration of gaelib.algorithms.reinforce.reinforce's loop body, on one run's batch."""
    returns = discounted_returns(batch.rewards, batch.ended, gamma=gamma)
    base = np.zeros(returns.shape)
    if value is not None:
        with torch.no_grad():
            base = value(torch.as_tensor(batch.obs)).numpy().astype(np.float64)
    opt.zero_grad()
    reinforce.reinforce_loss(policy, batch, returns - base).backward()
    opt.step()
    if value is not None:
        obs = torch.as_tensor(batch.obs[batch.mask])
        target = torch.as_tensor(returns[batch.mask], dtype=torch.float32)
        for _ in range(epochs):
            vopt.zero_grad()
            ((value(obs) - target) ** 2).mean().backward()
            vopt.step()


def test_batched_step_is_reinforce_update_run_by_run():
    """Three runs (two with a baseline, of different seeds) take two steps in lockstep; each
    run's policy and value weights equal those of reinforce's own update on that run's
    columns of the batch (torch autograd on reinforce_loss, torch.optim.Adam)."""
    seed_everything(0)  # also one torch thread, as in the notebooks
    n, gamma, K = 4, 0.99, 3
    policies, values = [], []
    for s, based in ((0, True), (1, False), (2, True)):
        torch.manual_seed(s)
        policies.append(MLPPolicy(4, 2, 8))
        values.append(ValueNet(4, 8) if based else None)
    refs = [
        (p, v, torch.optim.Adam(p.parameters(), lr=0.01),
         torch.optim.Adam(v.parameters(), lr=0.01) if v is not None else None)
        for p, v in (copy.deepcopy(pv) for pv in zip(policies, values, strict=True))
    ]  # fmt: skip
    learner = BatchedReinforce(policies, values, lr=0.01, value_lr=0.01, value_epochs=5)
    envs = rollouts.make_vector_env("CartPole-v1", K * n)
    rng = np.random.default_rng(0)
    for it in range(2):
        batch = rollouts.collect_episodes(
            envs, lambda o: rng.integers(0, 2, len(o)), seed=7 if it == 0 else None
        )
        returns = discounted_returns(batch.rewards, batch.ended, gamma=gamma)
        learner.step(*(_by_run(x, K) for x in (batch.obs, batch.actions, batch.mask, returns)), n)
        for k, (p, v, opt, vopt) in enumerate(refs):
            cols = np.arange(k * n, (k + 1) * n)
            _reference_update(p, v, opt, vopt, _columns(batch, cols), gamma)
    learner.copy_into(policies, values)
    for k, (p, v, _, _) in enumerate(refs):
        np.testing.assert_allclose(_flat(policies[k]), _flat(p), atol=2e-6)
        if v is not None:
            np.testing.assert_allclose(_flat(values[k]), _flat(v), atol=2e-6)
    assert not np.allclose(_flat(policies[0]), _flat(policies[2]))  # the runs stay apart


@pytest.mark.parametrize("baseline", [False, True])
def test_one_run_grid_follows_reinforce(baseline):
    """A grid of one run, seeded like reinforce(seed=3), plays the same first batch bit for
    bit (same initial weights, same random numbers, the same NumPy acting arithmetic) and
    takes the same update from it up to float32 rounding (autograd on reinforce_loss there,
    batched autograd here). Later batches would agree too, until rounding flips one sampled
    action; that is not asserted."""
    ref = reinforce.reinforce(seed=3, baseline=baseline, iterations=1)
    got = reinforce_grid([3], [baseline], iterations=1, grid_seed=3)[baseline][0]
    np.testing.assert_array_equal(got.episode_returns, ref.episode_returns)
    np.testing.assert_array_equal(got.iteration_env_steps, ref.iteration_env_steps)
    np.testing.assert_allclose(_flat(got.policy), _flat(ref.policy), atol=1e-6)
    torch.manual_seed(3)
    assert np.abs(_flat(got.policy) - _flat(MLPPolicy(4, 2, 32))).max() > 1e-3  # it learned
    if baseline:
        np.testing.assert_allclose(_flat(got.value), _flat(ref.value), atol=1e-6)
    else:
        assert got.value is None


def test_grid_bookkeeping_and_initial_weights():
    iters, n = 2, 3
    grid = reinforce_grid([5, 6], (False, True), iterations=iters, episodes_per_batch=n)
    assert list(grid) == [False, True]
    for b, hs in grid.items():
        assert [h.config["seed"] for h in hs] == [5, 6]
        for h in hs:
            assert h.config["baseline"] is b and h.config["grid_runs"] == 4
            assert h.episode_returns.shape == (iters * n,)
            assert h.iteration_mean_return.shape == h.iteration_env_steps.shape == (iters,)
            np.testing.assert_allclose(
                h.iteration_mean_return, h.episode_returns.reshape(iters, n).mean(axis=1)
            )
            # CartPole pays 1 per step: a run's steps are the sum of its episode returns
            assert h.iteration_env_steps[-1] == h.episode_returns.sum()
            np.testing.assert_array_equal(h.episode_env_steps, np.repeat(h.iteration_env_steps, n))
            assert (h.value is not None) is b
    # a run starts from the weights reinforce(seed=s) draws (its first step moves them by lr)
    starts = {}
    for s in (5, 6):
        torch.manual_seed(s)
        starts[s] = _flat(MLPPolicy(4, 2, 32))
    for b in (False, True):
        moved = np.abs(_flat(grid[b][1].policy) - starts[6]).max()
        assert 0 < moved < 2.5 * 0.01  # two Adam steps of about lr each
        assert np.abs(_flat(grid[b][1].policy) - starts[5]).max() > 0.1


def test_grid_learns():
    """A short grid must clearly beat the random policy (about 22 steps, chapter 1)."""
    grid = reinforce_grid([0, 1], [True], iterations=25)
    for h in grid[True]:
        assert h.last_mean(50) > 60  # seen: 206 and 93
        assert h.iteration_mean_return[-5:].mean() > 2 * h.iteration_mean_return[:5].mean()


def test_grid_validation():
    for kwargs, name in [
        ({"seeds": []}, "seeds"),
        ({"seeds": [0, 0]}, "seeds"),
        ({"seeds": [-1]}, "seeds"),
        ({"seeds": [0], "baselines": [1]}, "baselines"),
        ({"seeds": [0], "baselines": []}, "baselines"),
        ({"seeds": [0], "gamma": 1.5}, "gamma"),
        ({"seeds": [0], "iterations": 0}, "iterations"),
        ({"seeds": [0], "episodes_per_batch": 0}, "episodes_per_batch"),
        ({"seeds": [0], "grid_seed": -1}, "grid_seed"),
        ({"seeds": [0], "lr": 0.0}, "lr"),
        ({"seeds": [0], "value_lr": 1.0}, "value_lr"),
        ({"seeds": [0], "value_epochs": 0}, "value_epochs"),
    ]:
        with pytest.raises(ValueError, match=name):
            reinforce_grid(**kwargs)


def test_batched_step_validation():
    torch.manual_seed(0)
    learner = BatchedReinforce([MLPPolicy(4, 2, 8)] * 2, [None, ValueNet(4, 8)])
    obs = np.zeros((2, 5, 4), np.float32)
    act, mask, ret = np.zeros((2, 5), int), np.ones((2, 5), bool), np.ones((2, 5))
    with pytest.raises(ValueError, match="obs"):
        learner.step(obs[0], act, mask, ret, 1)
    with pytest.raises(ValueError, match="actions"):
        learner.step(obs, act[:, :4], mask, ret, 1)
    with pytest.raises(ValueError, match="mask"):
        learner.step(obs, act, mask & np.array([[True], [False]]), ret, 1)
    with pytest.raises(ValueError, match="returns"):
        learner.step(obs, act, mask, ret * np.nan, 1)
    with pytest.raises(ValueError, match="n_episodes"):
        learner.step(obs, act, mask, ret, 0)
    with pytest.raises(ValueError, match="policies"):
        BatchedReinforce([MLPPolicy(4, 2, 8)], [])
