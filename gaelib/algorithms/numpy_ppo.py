r"""Appendix A: the actor-critic / PPO minibatch step with its gradient written out by hand.

:func:`gaelib.algorithms.ppo.ppo_loss` defines the loss in PyTorch — the readable definition that
autograd differentiates. For CartPole-sized networks (two layers of 64 units, minibatches of
256) PyTorch spends most of each step on per-operation overhead, not arithmetic, so
:class:`NumpyPPOUpdate` computes *the same step* — loss gradient, global gradient-norm
clipping, Adam — in a few dozen NumPy calls, several times faster
(``benchmarks/ppo_step.py`` times both). ``tests/test_numpy_ppo.py``
checks its gradients against autograd on :func:`~gaelib.algorithms.ppo.ppo_loss` and its parameters
against ``torch.optim.Adam`` after many steps.

The gradient, for a minibatch of B steps with normalised advantages :math:`\hat A_i`,
log-probabilities :math:`\ell_i = \log\pi_\theta(a_i|s_i)` from logits :math:`z_i` and
ratios :math:`\rho_i = e^{\ell_i - \ell_i^{old}}`:

.. math::
    L = \frac1B\sum_i \Big[-\min\big(\rho_i\hat A_i,\ \mathrm{clip}(\rho_i, 1\pm\epsilon)
        \hat A_i\big) + c_v\,(V_\phi(s_i) - G_i)^2 - c_e\,H(\pi_\theta(\cdot|s_i))\Big]

.. math::
    \frac{\partial L}{\partial \ell_i} = -\frac{\hat A_i\,\rho_i}{B}\,
        \big[\rho_i\hat A_i \le \mathrm{clip}(\rho_i)\hat A_i\big], \qquad
    \frac{\partial \ell_i}{\partial z_i} = e_{a_i} - \pi_i, \qquad
    \frac{\partial H_i}{\partial z_i} = -\pi_i \odot (\log\pi_i + H_i),

(the indicator is 0 exactly where the clipped term is the smaller one: there the loss does
not depend on θ), :math:`\partial L/\partial V_i = 2c_v(V_i - G_i)/B`, and the plain
actor-critic (no clip) has :math:`\partial L/\partial \ell_i = -\hat A_i/B`. From the logits
and the value outputs the gradient flows back through the tanh layers as in any MLP:
:math:`\partial z^{k}/\partial h^{k-1} = W^k`, :math:`\tanh' = 1 - \tanh^2`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core.numpy_mlp import clip_and_adam, mlp_backward, mlp_forward

__all__ = ["NumpyPPOUpdate", "ratio_diagnostics", "record_update"]


def _linears(name: str, module: nn.Module) -> list[nn.Linear]:
    """The Linear layers of a module that is exactly Linear, Tanh, ..., Tanh, Linear (biases
    included) — the only shape whose gradient this module writes out."""
    leaves = [m for m in module.modules() if not list(m.children())]
    ok = (
        len(leaves) % 2 == 1
        and all(isinstance(m, nn.Linear) and m.bias is not None for m in leaves[::2])
        and all(isinstance(m, nn.Tanh) for m in leaves[1::2])
    )
    if not ok:
        raise ValueError(
            f"{name} must be an MLP of Linear layers (with biases) separated by Tanh, ending "
            f"in a Linear layer; got {[type(m).__name__ for m in leaves]}"
        )
    return leaves[::2]


def ratio_diagnostics(ratio: np.ndarray, log_ratio: np.ndarray, clip: float | None) -> dict:
    r"""What a practitioner watches in one PPO minibatch, from its probability ratios
    :math:`\rho_i = \pi_\theta(a_i|s_i) / \pi_{old}(a_i|s_i)` (``log_ratio`` = their logs):

    * ``approx_kl`` — the mean of :math:`(\rho_i - 1) - \log\rho_i`, an estimate of
      :math:`\mathrm{KL}(\pi_{old}\,\|\,\pi_\theta)` that is unbiased and never negative
      (J. Schulman, *Approximating KL Divergence*, 2020);
    * ``clip_fraction`` — the share of steps with :math:`|\rho_i - 1| > \epsilon`, where the
      clip is active for one sign of the advantage (NaN when there is no clip).
    """
    kl = float(np.mean((ratio - 1.0) - log_ratio))
    frac = float("nan") if clip is None else float(np.mean(np.abs(ratio - 1.0) > clip))
    return {"approx_kl": kl, "clip_fraction": frac}


def record_update(diag: dict, steps_stats: list[dict], per_epoch: int, returns, values) -> None:
    r"""Append one update's diagnostics to ``diag`` (``{key: [one float per update]}``), as
    Stable-Baselines3 logs them: ``approx_kl`` averaged over the last epoch's ``per_epoch``
    minibatch steps, every other key of ``steps_stats`` (one dict per minibatch step) over all
    of them, and ``explained_variance`` :math:`1 - \mathrm{Var}[G - V]/\mathrm{Var}[G]` of
    the critic's targets ``returns`` by its ``values`` before the update (NaN if
    :math:`\mathrm{Var}[G] = 0`). Shared by :mod:`gaelib.algorithms.ppo` and
    :mod:`gaelib.algorithms.gaussian_ppo`."""
    for key in steps_stats[0]:
        over = steps_stats[-per_epoch:] if key == "approx_kl" else steps_stats
        diag.setdefault(key, []).append(float(np.mean([st[key] for st in over])))
    var_ret = float(np.var(returns))
    diag.setdefault("explained_variance", []).append(
        1.0 - float(np.var(returns - values)) / var_ret if var_ret > 0 else float("nan")
    )


def _check_coef(name: str, x, *, positive: bool = False) -> float:
    bad = isinstance(x, bool) or not isinstance(x, int | float) or not np.isfinite(x)
    if bad or x < 0 or (positive and x == 0):
        raise ValueError(
            f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {x!r}"
        )
    return float(x)


class NumpyPPOUpdate:
    r"""One Adam step on :func:`gaelib.algorithms.ppo.ppo_loss` per call of :meth:`step`, in NumPy.

    The policy's and the critic's parameters are moved into one contiguous float32 buffer
    (each ``nn.Parameter`` stays the same object; its data becomes a view of the buffer), so
    the optimiser's arithmetic is a handful of whole-buffer operations. The modules stay
    ordinary PyTorch modules: they see every update at once, because NumPy and PyTorch share
    the memory.

    Args:
        policy: a :class:`~gaelib.core.policies.MLPPolicy` (tanh MLP → logits).
        value: a :class:`~gaelib.core.policies.ValueNet` (tanh MLP → one output).
        max_grad_norm: the global gradient norm is clipped to this, as
            ``torch.nn.utils.clip_grad_norm_`` does.
        vf_coef, ent_coef: the value-loss and entropy coefficients.
        betas, eps: Adam's, as in ``torch.optim.Adam``.
    """

    def __init__(
        self,
        policy: nn.Module,
        value: nn.Module,
        *,
        max_grad_norm: float = 0.5,
        vf_coef: float = 0.5,
        ent_coef: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        max_grad_norm = _check_coef("max_grad_norm", max_grad_norm, positive=True)
        vf_coef, ent_coef = _check_coef("vf_coef", vf_coef), _check_coef("ent_coef", ent_coef)
        eps = _check_coef("eps", eps, positive=True)
        if not (len(betas) == 2 and all(0 <= b < 1 for b in betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        p_layers, v_layers = _linears("policy", policy), _linears("value", value)
        if v_layers[-1].out_features != 1:
            raise ValueError("value must have one output")
        params = [p for lin in p_layers + v_layers for p in (lin.weight, lin.bias)]
        n = sum(p.numel() for p in params)
        flat = torch.empty(n, dtype=torch.float32)
        views, o = [], 0
        with torch.no_grad():
            for p in params:
                k = p.numel()
                flat[o : o + k].copy_(p.reshape(-1))
                p.data = flat[o : o + k].view(p.shape)
                views.append((o, k, tuple(p.shape)))
                o += k
        self.params = params
        self._ptrs = [p.data_ptr() for p in params]
        self.obs_dim, self.n_actions = p_layers[0].in_features, p_layers[-1].out_features
        if v_layers[0].in_features != self.obs_dim:
            raise ValueError("value must take the same observations as policy")
        self._flat_t = flat  # keeps the storage alive
        self.flat = flat.numpy()
        self.grad = np.zeros(n, np.float32)
        self._m, self._v, self._tmp = (np.zeros(n, np.float32) for _ in range(3))
        self.t = 0

        def pairs(buf, start, count):
            out = []
            for i in range(start, start + count):
                (ow, kw, sw), (ob, kb, sb) = views[2 * i], views[2 * i + 1]
                out.append((buf[ow : ow + kw].reshape(sw), buf[ob : ob + kb].reshape(sb)))
            return out

        np_, nv_ = len(p_layers), len(v_layers)
        self._pw, self._pg = pairs(self.flat, 0, np_), pairs(self.grad, 0, np_)
        self._vw, self._vg = pairs(self.flat, np_, nv_), pairs(self.grad, np_, nv_)
        self.max_grad_norm, self.vf_coef, self.ent_coef = max_grad_norm, vf_coef, ent_coef
        self.beta1, self.beta2, self.eps = float(betas[0]), float(betas[1]), float(eps)
        self.last_grad_norm = float("nan")

    def log_prob(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """:math:`\\log\\pi_\\theta(a|s)` under the current weights, ``[B]`` float32."""
        _, z = mlp_forward(self._pw, np.asarray(obs, dtype=np.float32))
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return logp[np.arange(len(logp)), actions]

    def gradient(self, obs, actions, old_logp, advantages, returns, clip: float | None):
        """Fill :attr:`grad` with :math:`\\nabla L` (policy then critic parameters, flat).

        ``advantages`` are used as given (normalise them first); ``clip=None`` is the plain
        actor-critic loss :math:`-\\hat A \\log\\pi`. Returns the loss parts and the
        diagnostics of :func:`ratio_diagnostics` (floats).
        """
        B = len(actions)
        hs, z = mlp_forward(self._pw, obs)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        probs = e / s
        logp_all = z - np.log(s)
        rows = np.arange(B)
        logp = logp_all[rows, actions]
        log_ratio = logp - old_logp
        ratio = np.exp(log_ratio)
        if clip is None:
            dlogp = advantages * np.float32(-1.0 / B)
            pg_loss = -float(np.dot(logp, advantages)) / B
        else:
            surr1, surr2 = ratio * advantages, np.clip(ratio, 1 - clip, 1 + clip) * advantages
            dlogp = np.where(surr1 <= surr2, surr1 * np.float32(-1.0 / B), np.float32(0.0))
            pg_loss = -float(np.minimum(surr1, surr2).mean())
        dz = probs * -dlogp[:, None]
        dz[rows, actions] += dlogp
        entropy = -(probs * logp_all).sum(axis=1)
        if self.ent_coef > 0:
            dz += np.float32(self.ent_coef / B) * probs * (logp_all + entropy[:, None])
        mlp_backward(self._pw, self._pg, hs, dz)
        hv, v = mlp_forward(self._vw, obs)
        err = v[:, 0] - returns
        mlp_backward(self._vw, self._vg, hv, (np.float32(2 * self.vf_coef / B) * err)[:, None])
        return {
            "policy_loss": pg_loss,
            "value_loss": float(np.dot(err, err)) / B,
            "entropy": float(entropy.mean()),
            **ratio_diagnostics(ratio, log_ratio, clip),
        }

    # ------------------------------------------------------------------ the step
    def step(self, obs, actions, old_logp, advantages, returns, *, clip: float | None,
             lr: float, normalize: bool = True) -> dict:  # fmt: skip
        """One step: gradient of the loss on this minibatch, clip its norm, Adam at ``lr``.

        Args:
            obs: ``[B, obs_dim]`` float32; actions ``[B]`` integers; old_logp, advantages,
                returns ``[B]`` float32.
            clip: PPO's ε, or None for the plain actor-critic loss.
            lr: this step's learning rate.
            normalize: standardise the advantages within the minibatch first (B > 1).
        """
        B = len(actions)
        if B < 1:
            raise ValueError("actions must hold at least one step")
        if obs.ndim != 2 or obs.shape != (B, self.obs_dim):
            raise ValueError(f"obs must have shape [{B}, {self.obs_dim}], got {obs.shape}")
        if not np.issubdtype(actions.dtype, np.integer) or actions.shape != (B,):
            raise ValueError(f"actions must be integers of shape [{B}], got {actions.dtype}")
        if actions.min() < 0 or actions.max() >= self.n_actions:
            raise ValueError(f"actions must lie in [0, {self.n_actions - 1}]")
        for name, x in (("old_logp", old_logp), ("advantages", advantages), ("returns", returns)):
            if x.shape != (B,):
                raise ValueError(f"{name} must have shape [{B}], got {x.shape}")
            if not np.all(np.isfinite(x)):
                raise ValueError(f"{name} must be finite")
        if clip is not None:
            _check_coef("clip", clip, positive=True)
        _check_coef("lr", lr, positive=True)
        if [p.data_ptr() for p in self.params] != self._ptrs:
            raise ValueError(
                "the policy's or value's parameters were moved (another NumpyPPOUpdate, .to(), "
                ".double()?): this updater no longer writes into them"
            )
        if normalize and B > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std(ddof=1) + 1e-8)
        parts = self.gradient(obs, actions, old_logp, advantages, returns, clip)
        self.last_grad_norm = clip_and_adam(
            self.flat, self.grad, self._m, self._v, self._tmp, t=self.t + 1, lr=lr,
            max_grad_norm=self.max_grad_norm, betas=(self.beta1, self.beta2), eps=self.eps,
        )  # fmt: skip
        self.t += 1
        return parts
