"""PPO's diagnostics: the approximate KL and the clip fraction of a minibatch
(``ratio_diagnostics``), the same numbers from the torch loss and the NumPy step, and the
per-update record ``History.diagnostics`` that ``ppo`` and ``actor_critic`` return.

Oracle for the KL estimate: for actions drawn from the old policy, the mean of
(ρ − 1) − log ρ converges to KL(π_old ‖ π_new), computed exactly for two categorical
distributions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gaelib.algorithms.actor_critic import actor_critic
from gaelib.algorithms.numpy_ppo import NumpyPPOUpdate, ratio_diagnostics
from gaelib.algorithms.ppo import ppo, ppo_loss
from gaelib.core.policies import MLPPolicy, ValueNet

KEYS = {"approx_kl", "clip_fraction", "entropy", "policy_loss", "value_loss", "explained_variance"}


def test_approx_kl_estimates_the_kl_of_the_old_policy_to_the_new():
    rng = np.random.default_rng(0)
    old, new = np.array([0.5, 0.3, 0.2]), np.array([0.35, 0.4, 0.25])
    exact = float(np.sum(old * np.log(old / new)))  # KL(π_old ‖ π_new)
    a = rng.choice(3, size=400_000, p=old)  # actions come from the old policy
    log_ratio = np.log(new[a]) - np.log(old[a])
    d = ratio_diagnostics(np.exp(log_ratio), log_ratio, clip=0.2)
    assert d["approx_kl"] == pytest.approx(exact, rel=0.02)
    # the naive estimate mean(−log ρ) is unbiased too, but can go negative on a batch; this
    # one cannot: (ρ − 1) − log ρ ≥ 0 for every ρ > 0
    few = log_ratio[:5]
    assert ratio_diagnostics(np.exp(few), few, None)["approx_kl"] >= 0


def test_clip_fraction_counts_ratios_outside_the_clip_range():
    ratio = np.array([1.0, 1.5, 0.5, 1.1, 0.79])
    d = ratio_diagnostics(ratio, np.log(ratio), clip=0.2)
    assert d["clip_fraction"] == pytest.approx(3 / 5)  # 1.5, 0.5 and 0.79 are out
    assert d["approx_kl"] == pytest.approx(np.mean(ratio - 1 - np.log(ratio)))
    assert math.isnan(ratio_diagnostics(ratio, np.log(ratio), clip=None)["clip_fraction"])


@pytest.mark.parametrize("clip", [0.2, None])
def test_the_torch_loss_and_the_numpy_step_report_the_same_diagnostics(clip):
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    policy, value = MLPPolicy(4, 2, 16), ValueNet(4, 16)
    obs = rng.normal(size=(64, 4)).astype(np.float32)
    act = rng.integers(0, 2, 64)
    with torch.no_grad():
        # an old policy a little away from the current one, so ratios differ from 1
        old = policy.dist(torch.as_tensor(obs)).log_prob(torch.as_tensor(act)).numpy()
    old = (old + rng.normal(0, 0.3, 64)).astype(np.float32)
    adv = rng.normal(size=64).astype(np.float32)
    ret = rng.normal(size=64).astype(np.float32)
    stats: dict = {}
    args = map(torch.as_tensor, (obs, act, old, adv, ret))
    ppo_loss(policy, value, *args, clip=clip, stats=stats)
    adv_n = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)  # as ppo_loss normalises
    parts = NumpyPPOUpdate(policy, value).gradient(obs, act, old, adv_n, ret, clip)
    assert set(stats) == set(parts) == KEYS - {"explained_variance"}
    for key in stats:
        if clip is None and key == "clip_fraction":
            assert math.isnan(stats[key]) and math.isnan(parts[key])
        else:
            assert stats[key] == pytest.approx(parts[key], rel=1e-4, abs=1e-6), key
    assert stats["approx_kl"] > 0.01  # the ratios were moved on purpose
    if clip is not None:
        assert 0 < stats["clip_fraction"] < 1


def test_ppo_records_the_diagnostics_of_every_update_with_either_backend():
    runs = {b: ppo(seed=1, total_steps=2048, backend=b) for b in ("numpy", "torch")}
    for backend, h in runs.items():
        assert set(h.diagnostics) == KEYS, backend
        for key, x in h.diagnostics.items():
            assert x.shape == h.iteration_mean_return.shape and np.all(np.isfinite(x)), key
        d = h.diagnostics
        assert np.all(d["approx_kl"] >= 0) and np.all(d["approx_kl"] > 0)  # 20 epochs move π
        assert np.all((0 <= d["clip_fraction"]) & (d["clip_fraction"] <= 1))
        assert np.all(d["entropy"] <= math.log(2) + 1e-6)  # two actions
        assert np.all(d["explained_variance"] <= 1) and np.all(d["value_loss"] >= 0)
    for key in KEYS:  # the same steps, computed twice
        np.testing.assert_allclose(
            runs["numpy"].diagnostics[key], runs["torch"].diagnostics[key], rtol=2e-3, atol=1e-5
        )


def test_the_actor_critic_measures_each_step_before_it_is_taken():
    h = actor_critic(seed=2, total_steps=1024)
    d = h.diagnostics
    # one full-batch step per rollout, measured before the step: the policy is still π_old, so
    # the estimate is 0 up to float32 rounding (the old log-probs come from a forward pass over
    # the whole batch, the new ones from the minibatch's: another CPU rounds them differently)
    assert np.all(np.abs(d["approx_kl"]) < 1e-6)
    assert np.all(np.isnan(d["clip_fraction"]))  # no clip
    assert np.all(np.isfinite(d["explained_variance"]))
