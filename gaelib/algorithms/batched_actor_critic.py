r"""K actor-critic (or PPO) runs' networks stacked, with their gradient written out —
chapters 5 and 6, explained in Appendix A.

:class:`BatchedActorCritic` holds K policies and K value networks as arrays with a leading
axis of size K, acts for all of them in one batched forward pass, and computes every run's
full-batch gradient of

.. math::
    L_k = -\frac1{B_k}\sum_i \min\big(\rho_i \hat A_i,\ \mathrm{clip}(\rho_i, 1\pm\epsilon)
          \hat A_i\big) + c_v \frac1{B_k}\sum_i (V_{\phi_k}(s_i) - G_i)^2

(the plain actor-critic's :math:`-\frac1{B_k}\sum_i \hat A_i\log\pi_{\theta_k}(a_i|s_i)` when
there is no clip) with :mod:`gaelib.core.numpy_mlp`, then clips and applies Adam run by run.
``tests/test_lockstep.py`` checks it against :class:`gaelib.algorithms.numpy_ppo.NumpyPPOUpdate`
run by run. :mod:`gaelib.algorithms.lockstep` drives it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core.numpy_mlp import clip_and_adam, mlp_backward, mlp_forward
from ..core.policies import MLPPolicy, ValueNet

__all__ = ["BatchedActorCritic"]


def _stack(modules: list[nn.Module]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W [K, out, in], b [K, 1, out]), ...]`` float32 copies of K identical-shape MLPs."""
    per = [[m for m in mod.net if isinstance(m, nn.Linear)] for mod in modules]
    return [
        (
            np.stack([layers[i].weight.detach().numpy() for layers in per]),
            np.stack([layers[i].bias.detach().numpy()[None] for layers in per]),
        )
        for i in range(len(per[0]))
    ]


class BatchedActorCritic:
    r"""K actor-critic learners (policy and critic MLPs each) stacked along a leading axis.

    Parameters live in one ``[K, P]`` float32 buffer (run k's are row k), so gradient
    clipping and Adam are whole-buffer operations with per-run norms. :meth:`step` takes one
    full-batch step for every run: the actor-critic loss

    .. math::
        L_k = -\frac{1}{n_k}\sum_{i} m_{ki}\,\hat A_{ki} \log\pi_k(a_{ki}|s_{ki})
              + c_v \frac{1}{n_k}\sum_i m_{ki}\,(V_k(s_{ki}) - G_{ki})^2,

    with :math:`m` the valid-step mask, :math:`n_k = \sum_i m_{ki}` and :math:`\hat A`
    standardised over run k's valid steps — the gradient written out as in
    :mod:`gaelib.core.numpy_mlp`.
    """

    def __init__(self, policies: list[MLPPolicy], values: list[ValueNet], *, vf_coef: float = 0.5,
                 max_grad_norm: float = 0.5, eps: float = 1e-5):  # fmt: skip
        if not policies or len(policies) != len(values):
            raise ValueError("policies and values must be two equally long, non-empty lists")
        self.k = len(policies)
        layers = _stack(policies) + _stack(values)
        self.n_policy_layers = sum(isinstance(m, nn.Linear) for m in policies[0].net)
        sizes = [w[0].size + b[0].size for w, b in layers]
        self.flat = np.empty((self.k, sum(sizes)), np.float32)
        self.grad = np.zeros_like(self.flat)
        self._m, self._v, self._tmp = (np.zeros_like(self.flat) for _ in range(3))
        self.t = 0
        self.w, self.g = [], []
        o = 0
        for w, b in layers:
            ow, ob = o + w[0].size, o + w[0].size + b[0].size
            self.flat[:, o:ow], self.flat[:, ow:ob] = w.reshape(self.k, -1), b.reshape(self.k, -1)
            self.w.append(
                (self.flat[:, o:ow].reshape(w.shape), self.flat[:, ow:ob].reshape(b.shape))
            )
            self.g.append(
                (self.grad[:, o:ow].reshape(w.shape), self.grad[:, ow:ob].reshape(b.shape))
            )
            o = ob
        self.vf_coef, self.max_grad_norm, self.eps = vf_coef, max_grad_norm, eps

    def _policy(self):
        return self.w[: self.n_policy_layers]

    def policy_forward(self, obs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """``(activations, probabilities [K, B, A])`` for observations ``[K, B, obs_dim]``;
        the activations (input and hidden layers) are what :meth:`gradient` back-propagates
        through, so a rollout's acting passes can be kept and reused."""
        hs, z = mlp_forward(self._policy(), obs)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return hs, e / e.sum(axis=-1, keepdims=True)

    def probs(self, obs: np.ndarray) -> np.ndarray:
        """Action probabilities ``[K, B, A]`` for observations ``[K, B, obs_dim]``."""
        return self.policy_forward(obs)[1]

    def value_forward(self, obs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """``(activations, V [K, B])`` for observations ``[K, B, obs_dim]``."""
        hv, v = mlp_forward(self.w[self.n_policy_layers :], obs)
        return hv, v[..., 0]

    def values(self, obs: np.ndarray) -> np.ndarray:
        """:math:`V_k(s)` ``[K, B]`` for observations ``[K, B, obs_dim]``."""
        return self.value_forward(obs)[1]

    def gradient(self, obs, actions, mask, advantages, returns, *, policy_pass=None,
                 value_pass=None, old_logp=None, clip=None) -> None:  # fmt: skip
        r"""Fill :attr:`grad` ``[K, P]`` with every run's gradient. ``obs [K, B, obs_dim]``;
        ``actions``, ``mask`` (bool), ``advantages`` (standardised), ``returns``: ``[K, B]``.
        With ``clip`` (PPO's ε) and ``old_logp [K, B]`` the policy term is PPO's clipped
        surrogate :math:`-\min(\rho \hat A, \mathrm{clip}(\rho, 1\pm\epsilon)\hat A)`, whose
        gradient is that of :math:`-\rho\hat A` where the unclipped term is the smaller one and
        0 elsewhere (as in :class:`~gaelib.algorithms.numpy_ppo.NumpyPPOUpdate`).

        ``policy_pass`` / ``value_pass``: the outputs of :meth:`policy_forward` /
        :meth:`value_forward` on ``obs`` with the current weights, if already computed (the
        actor-critic takes one step per rollout, so the passes made while acting and while
        computing advantages are the ones the gradient needs)."""
        n = np.maximum(mask.sum(axis=1, keepdims=True), 1).astype(np.float32)
        weight = mask / n  # [K, B]: 1/n_k on valid steps, 0 elsewhere
        hs, probs = policy_pass if policy_pass is not None else self.policy_forward(obs)
        if clip is None:
            dlogp = (-weight * advantages).astype(np.float32)
        else:
            k_idx, b_idx = np.indices(actions.shape)
            logp = np.log(probs[k_idx, b_idx, actions])
            ratio = np.exp(logp - old_logp)
            surr1, surr2 = ratio * advantages, np.clip(ratio, 1 - clip, 1 + clip) * advantages
            dlogp = np.where(surr1 <= surr2, -weight * surr1, 0.0).astype(np.float32)
        onehot = actions[..., None] == np.arange(probs.shape[-1])
        dz = (onehot - probs) * dlogp[..., None]  # ∂L/∂z = ∂L/∂logπ(a) · (e_a − π)
        mlp_backward(self._policy(), self.g[: self.n_policy_layers], hs, dz)
        hv, v = value_pass if value_pass is not None else self.value_forward(obs)
        dv = (2 * self.vf_coef) * weight * (v - returns)
        vl = self.w[self.n_policy_layers :]
        mlp_backward(vl, self.g[self.n_policy_layers :], hv, dv[..., None].astype(np.float32))

    def step(self, obs, actions, mask, advantages, returns, *, lr: float, policy_pass=None,
             value_pass=None, old_logp=None, clip=None) -> np.ndarray:  # fmt: skip
        """One step for every run: advantages standardised over each run's valid steps,
        gradient, per-run global-norm clipping, Adam. Returns the per-run gradient norms.

        ``obs [K, B, obs_dim]``; ``actions``, ``mask``, ``advantages``, ``returns``: ``[K, B]``.
        Every run needs at least one valid step (``mask`` True). ``policy_pass``,
        ``value_pass``, ``old_logp``, ``clip``: see :meth:`gradient`."""
        if obs.ndim != 3 or obs.shape[0] != self.k:
            raise ValueError(f"obs must have shape [{self.k}, B, obs_dim], got {obs.shape}")
        shape = obs.shape[:2]
        for name, x in (("actions", actions), ("mask", mask), ("advantages", advantages),
                        ("returns", returns)):  # fmt: skip
            if x.shape != shape:
                raise ValueError(f"{name} must have shape {list(shape)}, got {x.shape}")
        if not mask.any(axis=1).all():
            raise ValueError("mask must hold at least one valid step for every run")
        if not (np.isfinite(advantages).all() and np.isfinite(returns).all()):
            raise ValueError("advantages and returns must be finite")
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
            raise ValueError(f"lr must be a number > 0, got {lr!r}")
        if clip is not None:
            if isinstance(clip, bool) or not isinstance(clip, int | float) or not clip > 0:
                raise ValueError(f"clip must be a number > 0 or None, got {clip!r}")
            if old_logp is None or old_logp.shape != shape or not np.isfinite(old_logp).all():
                raise ValueError(f"old_logp must be finite, of shape {list(shape)}, with clip")
        n = mask.sum(axis=1, keepdims=True)
        mean = (advantages * mask).sum(axis=1, keepdims=True) / np.maximum(n, 1)
        var = (((advantages - mean) * mask) ** 2).sum(axis=1, keepdims=True) / np.maximum(n - 1, 1)
        adv = np.where(n > 1, (advantages - mean) / (np.sqrt(var) + 1e-8), advantages)
        self.gradient(obs, actions, mask, adv.astype(np.float32), returns,
                      policy_pass=policy_pass, value_pass=value_pass, old_logp=old_logp,
                      clip=clip)  # fmt: skip
        norms = clip_and_adam(self.flat, self.grad, self._m, self._v, self._tmp, t=self.t + 1,
                              lr=lr, max_grad_norm=self.max_grad_norm, betas=(0.9, 0.999),
                              eps=self.eps)  # fmt: skip
        self.t += 1
        return norms

    def copy_into(self, policies: list[MLPPolicy], values: list[ValueNet]) -> None:
        """Write run k's weights into ``policies[k]`` and ``values[k]``."""
        with torch.no_grad():
            for k, (pol, val) in enumerate(zip(policies, values, strict=True)):
                lins = [m for mod in (pol, val) for m in mod.net if isinstance(m, nn.Linear)]
                for lin, (w, b) in zip(lins, self.w, strict=True):
                    lin.weight.copy_(torch.from_numpy(w[k].copy()))
                    lin.bias.copy_(torch.from_numpy(b[k, 0].copy()))
