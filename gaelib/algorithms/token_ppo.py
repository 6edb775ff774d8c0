r"""Chapter 9: PPO for a language model — per-token rewards, GAE over token positions, and
the token-mean clipped surrogate.

RLHF's per-token reward (Ziegler et al. 2019; Stiennon et al. 2020; Ouyang et al. 2022):

.. math::
    r_t = -\beta\,\big(\log\pi_\theta(y_t \mid x, y_{<t}) - \log\pi_{\text{ref}}(y_t \mid x,
    y_{<t})\big) + \mathbb{1}[t = n-1]\;\text{score}(x, y),

with the score on the last real token :math:`n-1` (the ``EOS``), and GAE over positions with
:math:`\gamma = 1` (:func:`token_advantages` transposes the batch-first ``[B, L]`` arrays to
the course's time-first ``[L, B]`` to call :func:`gaelib.core.advantages.compute_gae`, and
back). The policy loss is a **token mean** over the real tokens of a minibatch,
:math:`\frac{1}{\sum_i |o_i|}\sum_i\sum_t \ell_{i,t}` (:func:`clipped_surrogate`), not
DeepSeekMath's per-sequence mean :math:`\frac1G\sum_i \frac{1}{|o_i|}\sum_t \ell_{i,t}`.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ..core._validate import any_torch, as_batch_array, as_lengths, check_unit_interval, like_input
from ..core.advantages import compute_gae
from ..worlds.lm_task import token_mask

__all__ = ["token_rewards", "token_advantages", "clipped_surrogate"]


def token_rewards(scores, lengths, kl=None, *, beta: float = 0.0, max_len: int | None = None):
    r"""Chapter 9: RLHF's per-token rewards, batch-first ``[B, L]``.

    .. math::
        r_{b,t} = -\beta\,\text{kl}_{b,t}\,\mathbb{1}[t < n_b]
                  + \text{score}_b\,\mathbb{1}[t = n_b - 1]

    The score lands on the **last real token** :math:`n_b - 1` (the ``EOS``), never on the
    first pad after it; every padded position is exactly 0.

    Args:
        scores: ``[B]`` one score per sequence.
        lengths: ``[B]`` real tokens per sequence (``EOS`` included), in ``[1, L]``.
        kl: ``[B, L]`` per-token :math:`\log\pi - \log\pi_{\text{ref}}` of the sampled tokens
            (values on padding are ignored), or ``None`` (no penalty).
        beta: KL coefficient :math:`\beta \ge 0`.
        max_len: ``L`` when ``kl`` is ``None`` (default: ``max(lengths)``).

    Returns:
        ``[B, L]`` rewards (torch in → torch out, detached).
    """
    torch_out = any_torch(scores, kl)
    s = as_batch_array("scores", scores, 1)
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < np.inf:
        raise ValueError(f"beta must be a finite number ≥ 0, got {beta!r}")
    if kl is not None:
        k = as_batch_array("kl", kl, 2)
        if k.shape[0] != len(s):
            raise ValueError(f"kl must have shape [B={len(s)}, L], got {k.shape}")
        max_len = k.shape[1]
    n = as_lengths(lengths, len(s), max_len)
    if max_len is None:
        max_len = int(n.max()) if len(n) else 1
    mask = token_mask(n, max_len)
    r = np.zeros((len(s), max_len)) if kl is None else -float(beta) * k * mask
    r[np.arange(len(s)), n - 1] += s
    return like_input(r, torch_out)


def token_advantages(
    rewards,
    values,
    lengths,
    *,
    gamma: float = 1.0,
    lam: float = 0.95,
    truncated=None,
    bootstrap_values=None,
):
    r"""Chapter 9: GAE over token positions of a padded batch, via :func:`gaelib.compute_gae`.

    The batch is batch-first ``[B, L]``; this transposes it to the course's time-first
    ``[L, B]``, builds ``next_values[t] = values[t+1]`` inside each sequence and sets, at the
    last real token :math:`n_b - 1`: ``terminated`` (the text ended at ``EOS``: no bootstrap)
    or, where ``truncated[b]``, ``truncated`` with ``next_values = bootstrap_values[b]`` (the
    text goes on past the cut: bootstrap from the critic). Padded positions get reward 0,
    value 0 and ``terminated``, so their advantage is exactly 0 and no trace crosses them.

    .. math::
        \delta_t = r_t + \gamma V(s_{t+1}) - V(s_t), \qquad
        \hat A_t = \delta_t + \gamma\lambda\,\hat A_{t+1} \quad (t < n_b - 1)

    Args:
        rewards, values: ``[B, L]`` (values on padding are ignored).
        lengths: ``[B]`` real tokens per sequence.
        gamma, lam: in [0, 1]; RLHF uses :math:`\gamma = 1`, :math:`\lambda = 0.95`.
        truncated: ``[B]`` bools, True where the sequence was cut before its end (default:
            none — every sequence ended).
        bootstrap_values: ``[B]`` :math:`V(s_{n_b})` of the state after the last token;
            required when any sequence is truncated.

    Returns:
        ``(advantages, returns)``, each ``[B, L]``, zero on padding; returns = advantages +
        values (the critic's λ-return targets). Torch in → torch out, detached.
    """
    torch_out = any_torch(rewards, values)
    gamma = check_unit_interval("gamma", gamma)
    lam = check_unit_interval("lam", lam)
    r = as_batch_array("rewards", rewards, 2)
    v = as_batch_array("values", values, 2)
    if v.shape != r.shape:
        raise ValueError(f"values must have the same shape as rewards {r.shape}, got {v.shape}")
    B, L = r.shape
    n = as_lengths(lengths, B, L)
    mask = token_mask(n, L)
    trunc_b = np.zeros(B, bool) if truncated is None else as_batch_array("truncated", truncated, 1)
    if len(trunc_b) != B or not np.all((trunc_b == 0) | (trunc_b == 1)):
        raise ValueError(f"truncated must hold {B} booleans (one per sequence)")
    trunc_b = trunc_b.astype(bool)
    boot = np.zeros(B)
    if bootstrap_values is not None:
        boot = as_batch_array("bootstrap_values", bootstrap_values, 1)
        if len(boot) != B:
            raise ValueError(f"bootstrap_values must have shape [B={B}], got {boot.shape}")
    elif trunc_b.any():
        raise ValueError("bootstrap_values is required when a sequence is truncated")
    r, v = r * mask, v * mask
    nv = np.zeros_like(v)
    nv[:, :-1] = v[:, 1:]
    last = np.arange(B), n - 1
    nv[last] = np.where(trunc_b, boot, 0.0)
    end = np.zeros((B, L), bool)
    end[last] = True
    term = (end & ~trunc_b[:, None]) | ~mask
    trunc = end & trunc_b[:, None]
    # batch-first [B, L] → the course's time-first [L, B] and back
    adv = compute_gae(r.T, v.T, nv.T, term.T, trunc.T, gamma=gamma, lam=lam).T * mask
    return like_input(adv, torch_out), like_input((adv + v) * mask, torch_out)


def clipped_surrogate(
    ratio: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor, clip: float
) -> torch.Tensor:
    r"""Chapter 9: the PPO-clip policy loss of :func:`train_lm_lockstep`, one per run — a
    **token mean** over the real tokens of the minibatch:

    .. math::
        L = -\frac{1}{\sum_{b,t} m_{b,t}} \sum_{b,t} m_{b,t}\,
        \min\big(\rho_{b,t}\hat A_{b,t},\ \operatorname{clip}(\rho_{b,t}, 1 \pm \epsilon)
        \hat A_{b,t}\big).

    Every real token weighs :math:`1/\sum_{b,t} m_{b,t}`, whatever the length of its text
    (DeepSeekMath's GRPO objective instead averages within each text first, weighing a token of
    text :math:`i` by :math:`1/(G\,|o_i|)`).

    Args:
        ratio, adv, mask: ``[R, B, L]`` (``mask`` 1 on real tokens, 0 on padding).
        clip: :math:`\epsilon`.

    Returns:
        ``[R]`` losses.
    """
    surr = torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return -(surr * mask).sum((1, 2)) / mask.sum((1, 2))
