"""Chapter 5 library: :class:`gaelib.algorithms.numpy_ppo.NumpyPPOUpdate` — the hand-written
gradient of :func:`gaelib.algorithms.ppo.ppo_loss` and its Adam step — against PyTorch's autograd
and optimiser.

The oracle is PyTorch itself: the same loss differentiated by autograd, clipped by
``clip_grad_norm_`` and stepped by ``torch.optim.Adam``. Inputs are chosen so that every branch
is exercised (ratios inside and outside the clip range, positive and negative advantages).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gaelib.algorithms.numpy_ppo import NumpyPPOUpdate
from gaelib.algorithms.ppo import ppo, ppo_loss
from gaelib.core.policies import MLPPolicy, ValueNet


def nets(hidden, seed=0, obs_dim=4, n_actions=3):
    torch.manual_seed(seed)
    return (
        MLPPolicy(obs_dim, n_actions, hidden, orthogonal=True),
        ValueNet(obs_dim, hidden, orthogonal=True),
    )


def batch(policy, B=96, seed=1):
    gen = np.random.default_rng(seed)
    obs = gen.normal(size=(B, policy.obs_dim)).astype(np.float32)
    act = gen.integers(0, policy.n_actions, size=B)
    with torch.no_grad():
        logp = policy(torch.as_tensor(obs)).log_softmax(-1)[np.arange(B), act].numpy()
    old = (logp + gen.normal(0, 0.3, size=B)).astype(np.float32)  # ratios far from 1, too
    adv = (gen.normal(size=B) * 3 + 0.5).astype(np.float32)
    ret = (gen.normal(size=B) * 10).astype(np.float32)
    return obs, act, old, adv, ret


def torch_grad(policy, value, b, **kw) -> np.ndarray:
    obs, act, old, adv, ret = (torch.as_tensor(x) for x in b)
    params = [*policy.parameters(), *value.parameters()]
    for p in params:
        p.grad = None
    ppo_loss(policy, value, obs, act, old, adv, ret, **kw).backward()
    return torch.cat([p.grad.reshape(-1) for p in params]).numpy()


def normalised(adv):
    return (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)


@pytest.mark.parametrize("hidden", [(64, 64), 16, (8, 8, 8)])
@pytest.mark.parametrize("clip", [0.2, None])
@pytest.mark.parametrize("ent_coef", [0.0, 0.05])
def test_gradient_matches_autograd(hidden, clip, ent_coef):
    policy, value = nets(hidden)
    with torch.no_grad():  # peaked policies: the entropy's gradient is far from zero
        policy.net[-1].weight.mul_(300.0)
    b = batch(policy)
    expected = torch_grad(policy, value, b, clip=clip, vf_coef=0.7, ent_coef=ent_coef)
    up = NumpyPPOUpdate(policy, value, vf_coef=0.7, ent_coef=ent_coef)
    obs, act, old, adv, ret = b
    parts = up.gradient(obs, act, old, normalised(adv), ret, clip)
    np.testing.assert_allclose(up.grad, expected, rtol=2e-4, atol=2e-6)
    assert np.abs(expected).max() > 1e-3  # a real gradient, not zeros on both sides
    assert set(parts) == {"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"}
    t = [torch.as_tensor(x) for x in b]
    with torch.no_grad():
        policy_only = ppo_loss(policy, value, *t, clip=clip, vf_coef=0.0).item()
        value_only = ppo_loss(policy, value, *t, clip=clip, vf_coef=1.0).item() - policy_only
        probs = policy(t[0]).softmax(-1)
        entropy = -(probs * probs.clamp_min(1e-30).log()).sum(-1).mean().item()
    assert parts["policy_loss"] == pytest.approx(policy_only, rel=1e-4, abs=1e-6)
    assert parts["value_loss"] == pytest.approx(value_only, rel=1e-4)
    assert parts["entropy"] == pytest.approx(entropy, rel=1e-3, abs=1e-6)
    if ent_coef:  # the entropy term really moves the gradient here
        without = torch_grad(policy, value, b, clip=clip, vf_coef=0.7, ent_coef=0.0)
        assert np.abs(expected - without).max() > 100 * 2e-6
    if clip is not None:  # both branches of the min were exercised
        ratio = np.exp(up.log_prob(obs, act) - old)
        outside = (ratio < 1 - clip) | (ratio > 1 + clip)
        assert 10 < outside.sum() < len(ratio) - 10


class NoIndicator(NumpyPPOUpdate):
    """A classic slip: differentiate ρ·Â everywhere, forgetting that where the clipped term
    is the smaller one the loss is flat in θ."""

    def gradient(self, obs, actions, old_logp, advantages, returns, clip):
        # a clip range that is never reached: -ρÂ/B flows back from every step
        return super().gradient(obs, actions, old_logp, advantages, returns, 1e9)


def test_the_comparison_has_teeth():
    policy, value = nets((16, 16))
    b = batch(policy)
    obs, act, old, adv, ret = b
    right = torch_grad(policy, value, b, clip=0.2)
    up = NumpyPPOUpdate(copy.deepcopy(policy), copy.deepcopy(value))
    up.gradient(obs, act, old, normalised(adv), ret, 0.2)
    np.testing.assert_allclose(up.grad, right, rtol=2e-4, atol=2e-6)
    slip = NoIndicator(copy.deepcopy(policy), copy.deepcopy(value))
    slip.gradient(obs, act, old, normalised(adv), ret, 0.2)
    assert not np.allclose(slip.grad, right, rtol=2e-4, atol=2e-6)


def test_adam_steps_match_torch_adam_with_gradient_clipping():
    policy, value = nets((64, 64), seed=3, n_actions=2)
    p2, v2 = copy.deepcopy(policy), copy.deepcopy(value)
    params = [*policy.parameters(), *value.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, eps=1e-5)
    up = NumpyPPOUpdate(p2, v2, max_grad_norm=0.5, eps=1e-5)
    obs, act, old, adv, ret = batch(policy, B=256, seed=5)
    gen = np.random.default_rng(0)
    norms = []
    for k in range(60):
        lr = 1e-3 * (1 - k / 60)
        idx = gen.permutation(256)[:200]
        for g in opt.param_groups:
            g["lr"] = lr
        tb = (torch.as_tensor(x[idx]) for x in (obs, act, old, adv, ret))
        opt.zero_grad()
        ppo_loss(policy, value, *tb, clip=0.2).backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, 0.5)))
        opt.step()
        up.step(obs[idx], act[idx], old[idx], adv[idx], ret[idx], clip=0.2, lr=lr)
        assert up.last_grad_norm == pytest.approx(norms[-1], rel=1e-4)
    assert max(norms) > 0.5  # clipping was active
    for a, b in zip(params, [*p2.parameters(), *v2.parameters()], strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), atol=2e-6)
    # the modules see the updates: their torch forward and numpy forward agree
    t_obs = torch.as_tensor(obs)
    with torch.no_grad():
        np.testing.assert_allclose(p2.probs_numpy(obs), p2.dist(t_obs).probs.numpy(), atol=1e-6)
        np.testing.assert_allclose(v2.values_numpy(obs), v2(t_obs).numpy(), atol=1e-5)
        assert not torch.allclose(p2(t_obs), nets((64, 64), seed=3, n_actions=2)[0](t_obs))


def test_ppo_backends_agree_on_the_first_iteration():
    kw = dict(seed=2, total_steps=256, num_envs=8, n_steps=32)
    a, b = ppo(backend="numpy", **kw), ppo(backend="torch", **kw)
    pa = [*a.policy.parameters(), *a.value.parameters()]
    pb = [*b.policy.parameters(), *b.value.parameters()]
    moved = 0.0
    for x, y in zip(pa, pb, strict=True):
        np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), atol=5e-5)
    fresh = nets((64, 64), seed=2, n_actions=2)  # seed_everything(2) → same initial weights
    for x, y in zip(pa, [*fresh[0].parameters(), *fresh[1].parameters()], strict=True):
        moved = max(moved, float((x - y).detach().abs().max()))
    assert moved > 1e-3  # 20 epochs of steps really happened
    assert a.config["backend"] == "numpy" and b.config["backend"] == "torch"


def test_rejects_bad_input():
    policy, value = nets(8)
    up = NumpyPPOUpdate(policy, value)
    obs, act, old, adv, ret = batch(policy, B=10)
    with pytest.raises(ValueError, match="obs"):
        up.step(obs[:9], act, old, adv, ret, clip=0.2, lr=1e-3)
    for name, args in [
        ("old_logp", (obs, act, old[:9], adv, ret)),
        ("advantages", (obs, act, old, adv[:, None], ret)),
        ("returns", (obs, act, old, adv, ret[:3])),
    ]:
        with pytest.raises(ValueError, match=name):
            up.step(*args, clip=0.2, lr=1e-3)
    with pytest.raises(ValueError, match="actions"):
        up.step(obs[:0], act[:0], old[:0], adv[:0], ret[:0], clip=0.2, lr=1e-3)
    with pytest.raises(ValueError, match="vf_coef"):
        NumpyPPOUpdate(*nets(8), vf_coef=-1)
    with pytest.raises(ValueError, match="betas"):
        NumpyPPOUpdate(*nets(8), betas=(0.9, 1.0))
    lin, tanh = torch.nn.Linear, torch.nn.Tanh
    for bad in [
        torch.nn.Sequential(lin(4, 8), torch.nn.ReLU(), lin(8, 2)),  # not tanh
        torch.nn.Sequential(lin(4, 8), tanh(), lin(8, 2), tanh()),  # an output tanh
        torch.nn.Sequential(lin(4, 8), lin(8, 2)),  # a missing tanh
        torch.nn.Sequential(lin(4, 8), tanh(), lin(8, 2, bias=False)),  # no bias
    ]:
        with pytest.raises(ValueError, match="policy must be an MLP"):
            NumpyPPOUpdate(bad, value)
    with pytest.raises(ValueError, match="one output"):
        NumpyPPOUpdate(policy, policy)
    with pytest.raises(ValueError, match="eps"):
        NumpyPPOUpdate(*nets(8), eps=0.0)
    with pytest.raises(ValueError, match="vf_coef"):
        NumpyPPOUpdate(*nets(8), vf_coef=float("inf"))
    with pytest.raises(ValueError, match="same observations"):
        NumpyPPOUpdate(policy, ValueNet(5, 8))
    kw = dict(clip=0.2, lr=1e-3)
    with pytest.raises(ValueError, match="obs"):
        up.step(obs[:, :3], act, old, adv, ret, **kw)  # wrong width
    with pytest.raises(ValueError, match="actions"):
        up.step(obs, act - 5, old, adv, ret, **kw)  # negative actions would wrap around
    with pytest.raises(ValueError, match="actions"):
        up.step(obs, act.astype(float), old, adv, ret, **kw)
    nan_adv = adv.copy()
    nan_adv[0] = np.nan
    with pytest.raises(ValueError, match="advantages"):
        up.step(obs, act, old, nan_adv, ret, **kw)
    with pytest.raises(ValueError, match="lr"):
        up.step(obs, act, old, adv, ret, clip=0.2, lr=-1e-3)
    with pytest.raises(ValueError, match="clip"):
        up.step(obs, act, old, adv, ret, clip=-0.2, lr=1e-3)
    NumpyPPOUpdate(policy, value)  # a second updater moves the weights: the first refuses
    with pytest.raises(ValueError, match="moved"):
        up.step(obs, act, old, adv, ret, **kw)


def test_ppo_loss_rejects_bad_input():
    policy, value = nets(8)
    obs, act, old, adv, ret = (torch.as_tensor(x) for x in batch(policy, B=10))
    with pytest.raises(ValueError, match="returns"):  # [B, 1] would broadcast to [B, B]
        ppo_loss(policy, value, obs, act, old, adv, ret[:, None], clip=0.2)
    with pytest.raises(ValueError, match="advantages"):
        ppo_loss(policy, value, obs, act, old, adv[:5], ret, clip=0.2)
    with pytest.raises(ValueError, match="obs"):
        ppo_loss(policy, value, obs[:9], act, old, adv, ret, clip=0.2)
    with pytest.raises(ValueError, match="actions"):
        ppo_loss(policy, value, obs, act.float(), old, adv, ret, clip=0.2)
    with pytest.raises(ValueError, match="clip"):
        ppo_loss(policy, value, obs, act, old, adv, ret, clip=-1.0)
    with pytest.raises(ValueError, match="backend"):
        ppo(total_steps=256, backend="jax")
