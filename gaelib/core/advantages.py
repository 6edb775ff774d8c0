r"""Advantage estimators: TD residuals, GAE, λ-returns, discounted returns, k-step advantages.

The TD residual is chapter 2's, the k-step advantages chapter 3's, GAE and the λ-return
chapter 4's, the effective horizon chapter 0's (discounted returns are used from chapter 1 on). Pure
array maths: numpy in → numpy out, torch in → torch out (same dtype and device; the result is
detached, because advantages and returns are *targets* — no gradient may flow through them into the
policy or the critic).

Index conventions (the same everywhere in the course). Arrays are time-first, ``[T]`` or
``[T, N]`` for N parallel environments:

* ``rewards[t]``: the reward returned by step t (the GAE article writes it :math:`r_{t+1}`).
* ``values[t]`` :math:`= V(s_t)`; ``next_values[t]`` :math:`= V(s_{t+1})`, where
  :math:`s_{t+1}` is the observation step t returned — the real final observation when the
  episode ended there.
* ``terminated[t]``: step t reached a terminal state, so nothing follows: no bootstrap.
* ``truncated[t]``: step t hit a time limit; the state still has a future: bootstrap from
  ``next_values[t]``. When both flags are set, ``terminated`` wins.
* Either flag ends the trace: no sum ever reaches across an episode boundary. The last step
  of the array is treated like a truncation (the rollout stops, the episode goes on), so it
  bootstraps from ``next_values[T-1]`` unless it terminated.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._validate import (
    as_flag_array,
    as_float_array,
    check_positive_int,
    check_same_kind,
    check_same_shape,
    check_unit_interval,
)

__all__ = [
    "effective_horizon",
    "td_residuals",
    "compute_gae",
    "lambda_returns",
    "discounted_returns",
    "nstep_advantages",
]


Array = Any  # np.ndarray or torch.Tensor


class _Batch:
    """Validated float64 2-D views of the inputs plus how to convert results back."""

    def __init__(self, rewards, values, next_values, terminated, truncated, need_values=True):
        arrays = {"rewards": rewards, "values": values, "next_values": next_values}
        arrays.update({"terminated": terminated, "truncated": truncated})
        self.torch = check_same_kind(arrays)
        self.r = as_float_array("rewards", rewards)
        shape = tuple(self.r.shape)
        self.v = None
        if need_values:
            self.v = as_float_array("values", values)
            check_same_shape("rewards", shape, "values", self.v)
        self.nv = None
        if next_values is not None:
            self.nv = as_float_array("next_values", next_values)
            check_same_shape("rewards", shape, "next_values", self.nv)
        if terminated is None:
            raise ValueError("terminated is required (a 0/1 or boolean array shaped like rewards)")
        self.term = as_flag_array("terminated", terminated, shape)
        if truncated is None:
            self.trunc = np.zeros(shape, dtype=bool)
        else:
            self.trunc = as_flag_array("truncated", truncated, shape)
        self.trunc = self.trunc & ~self.term  # terminated wins
        self.squeeze = self.r.ndim == 1
        if self.squeeze:
            self.r = self.r[:, None]
            self.term, self.trunc = self.term[:, None], self.trunc[:, None]
            if self.v is not None:
                self.v = self.v[:, None]
            if self.nv is not None:
                self.nv = self.nv[:, None]
        floats = [x for x in (rewards, values, next_values) if x is not None]
        if self.torch:
            dtypes = [x.dtype for x in floats if x.is_floating_point()]
            self.dtype = dtypes[0] if dtypes else torch.get_default_dtype()
            for d in dtypes[1:]:
                self.dtype = torch.promote_types(self.dtype, d)
            self.device = rewards.device
        else:
            dtypes = [np.asarray(x).dtype for x in floats]
            dtypes = [d for d in dtypes if np.issubdtype(d, np.floating)]
            self.dtype = np.result_type(*dtypes) if dtypes else np.float64

    def out(self, arr: np.ndarray) -> Array:
        if self.squeeze:
            arr = arr[:, 0]
        if self.torch:
            return torch.from_numpy(np.ascontiguousarray(arr)).to(self.dtype).to(self.device)
        return arr.astype(self.dtype)


def _deltas(b: _Batch, gamma: float) -> np.ndarray:
    return b.r + gamma * (~b.term) * b.nv - b.v


def td_residuals(
    rewards: Array, values: Array, next_values: Array, terminated: Array, *, gamma: float
) -> Array:
    r"""TD residuals (chapter 2).

    .. math::
        \delta_t = r_t + \gamma\,(1 - \text{terminated}_t)\,V(s_{t+1}) - V(s_t)

    Truncation does not change :math:`\delta_t`: the state after a time limit still has a
    value, so ``next_values[t]`` is used whenever step t did not terminate.

    Args:
        rewards, values, next_values: ``[T]`` or ``[T, N]`` floats (see module docstring).
        terminated: 0/1 or bool, same shape.
        gamma: discount :math:`\gamma \in [0, 1]`.

    Returns:
        :math:`\delta`, same shape and kind (numpy/torch) as ``rewards``.
    """
    gamma = check_unit_interval("gamma", gamma)
    b = _Batch(rewards, values, next_values, terminated, None)
    return b.out(_deltas(b, gamma))


def _backward_discount(x: np.ndarray, decay: float, cont: np.ndarray, tail: np.ndarray):
    """y_t = x_t + decay * cont_t * y_{t+1}, with y_T = tail (all [T, N])."""
    y = np.empty_like(x)
    nxt = tail
    for t in range(x.shape[0] - 1, -1, -1):
        nxt = x[t] + decay * cont[t] * nxt
        y[t] = nxt
    return y


def compute_gae(
    rewards: Array,
    values: Array,
    next_values: Array,
    terminated: Array,
    truncated: Array | None = None,
    *,
    gamma: float,
    lam: float,
) -> Array:
    r"""Generalized Advantage Estimation (chapter 4; Schulman et al. 2016, eq. 16).

    The GAE article's §4.1 sum, cut at the end of each episode segment:

    .. math::
        \hat A_t = \sum_{l=0}^{e_t - t} (\gamma\lambda)^l \, \delta_{t+l},

    where :math:`e_t` is the last step of the episode segment containing t (the first step
    :math:`\ge t` that terminated or truncated, or the end of the rollout). Computed with the
    backward recursion

    .. math::
        \hat A_t = \delta_t + \gamma\lambda\,(1 - d_t)\,\hat A_{t+1}, \qquad
        d_t = \text{terminated}_t \lor \text{truncated}_t, \quad \hat A_T = 0.

    λ=0 gives :math:`\delta_t`; λ=1 gives the Monte-Carlo return minus :math:`V(s_t)`
    (bootstrapped from ``next_values`` on truncation).

    Args:
        rewards, values, next_values: ``[T]`` or ``[T, N]`` floats.
        terminated: step t reached a terminal state (no bootstrap).
        truncated: step t hit a time limit (bootstrap); ``None`` means never.
        gamma, lam: :math:`\gamma, \lambda \in [0, 1]`.

    Returns:
        Advantages :math:`\hat A`, same shape and kind as ``rewards`` (detached for torch).
    """
    gamma = check_unit_interval("gamma", gamma)
    lam = check_unit_interval("lam", lam)
    b = _Batch(rewards, values, next_values, terminated, truncated)
    delta = _deltas(b, gamma)
    cont = ~(b.term | b.trunc)
    adv = _backward_discount(delta, gamma * lam, cont, np.zeros(delta.shape[1:]))
    return b.out(adv)


def lambda_returns(
    rewards: Array,
    values: Array,
    next_values: Array,
    terminated: Array,
    truncated: Array | None = None,
    *,
    gamma: float,
    lam: float,
) -> Array:
    r"""λ-returns (chapter 4): :math:`G^\lambda_t = \hat A^{GAE}_t + V(s_t)` — the critic's target.

    Same arguments as :func:`compute_gae`.
    """
    adv = compute_gae(rewards, values, next_values, terminated, truncated, gamma=gamma, lam=lam)
    if isinstance(adv, torch.Tensor):
        return adv + values.detach().to(adv.dtype)
    return adv + np.asarray(values, dtype=adv.dtype)


def discounted_returns(
    rewards: Array,
    terminated: Array,
    truncated: Array | None = None,
    *,
    gamma: float,
    next_values: Array | None = None,
) -> Array:
    r"""Discounted returns to go within each episode (chapter 1, "reward-to-go").

    .. math::
        G_t = r_t + \gamma\,(1 - d_t)\,G_{t+1}
              + \gamma\,\text{truncated}_t\,(1-\text{terminated}_t)\,V(s_{t+1})

    With ``next_values`` given, a truncated step (and the last step of the rollout, if it did
    not terminate) bootstraps from ``next_values[t]``. Without it, the return simply stops
    there — the pure Monte-Carlo return of the observed rewards, which treats a time limit as
    if the world ended (biased for time-limited tasks; chapter 4 shows by how much).

    Args:
        rewards: ``[T]`` or ``[T, N]`` floats.
        terminated, truncated: done flags shaped like ``rewards`` (``truncated`` optional).
        gamma: :math:`\gamma \in [0, 1]`.
        next_values: optional :math:`V(s_{t+1})` shaped like ``rewards``.

    Returns:
        :math:`G`, same shape and kind as ``rewards``.
    """
    gamma = check_unit_interval("gamma", gamma)
    b = _Batch(rewards, None, next_values, terminated, truncated, need_values=False)
    x = b.r.copy()
    cont = ~(b.term | b.trunc)
    tail = np.zeros(x.shape[1:])
    if b.nv is not None:
        x = x + gamma * b.trunc * b.nv
        tail = np.where(b.term[-1] | b.trunc[-1], 0.0, b.nv[-1]) if len(x) else tail
    return b.out(_backward_discount(x, gamma, cont, tail))


def nstep_advantages(
    rewards: Array,
    values: Array,
    next_values: Array,
    terminated: Array,
    truncated: Array | None = None,
    *,
    gamma: float,
    k: int,
) -> Array:
    r"""k-step advantage estimators (chapter 3; GAE paper eqs. 11–14).

    .. math::
        \hat A^{(k)}_t = \sum_{l=0}^{k-1} \gamma^l \delta_{t+l}
        = r_t + \gamma r_{t+1} + \dots + \gamma^{k-1} r_{t+k-1} + \gamma^k V(s_{t+k}) - V(s_t),

    with the sum cut where the episode segment ends (bootstrapping on truncation, not on
    termination). ``k=1`` is :math:`\delta_t`; ``k >= T`` is the Monte-Carlo advantage.

    Args:
        rewards, values, next_values, terminated, truncated: as in :func:`compute_gae`.
        gamma: :math:`\gamma \in [0, 1]`.
        k: number of steps, an integer >= 1.
    """
    gamma = check_unit_interval("gamma", gamma)
    k = check_positive_int("k", k)
    b = _Batch(rewards, values, next_values, terminated, truncated)
    delta = _deltas(b, gamma)
    cont = ~(b.term | b.trunc)
    T = delta.shape[0]
    adv = delta.copy()
    alive = np.ones_like(delta, dtype=bool)  # alive[t]: segment of t continues to t+l
    for l in range(1, min(k, T)):
        alive = alive[: T - l] & cont[l - 1 : T - 1]
        adv[: T - l] += (gamma**l) * alive * delta[l:]
    return b.out(adv)


def effective_horizon(gamma: float, lam: float = 1.0) -> float:
    r"""Chapters 0 and 4: the total weight of the discounted sum,
    :math:`H = \sum_{k\ge0} (\gamma\lambda)^k = 1/(1-\gamma\lambda)` (``inf`` when
    :math:`\gamma\lambda = 1`); with λ = 1, the discount's horizon :math:`1/(1-\gamma)`."""
    gamma = check_unit_interval("gamma", gamma)
    lam = check_unit_interval("lam", lam)
    decay = gamma * lam
    return math.inf if decay == 1.0 else 1.0 / (1.0 - decay)
