r"""Chapter 9: GRPO's group-relative advantages (Shao et al. 2024).

GRPO drops the critic: each prompt gets a group of G sampled texts with scores
:math:`s_1, \dots, s_G`, and every token of text :math:`i` gets the same advantage

.. math::
    \hat A_{i,t} = \frac{s_i - \text{mean}(s_{\text{group}})}{\text{std}(s_{\text{group}}) +
    \epsilon}.

The training loop that uses it (next to PPO's, on the same texts) is
:mod:`gaelib.algorithms.lm_lockstep`.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core._validate import any_torch, as_batch_array, as_lengths, check_positive_int, like_input
from ..worlds.lm_task import token_mask

__all__ = ["group_relative_advantages"]


def group_relative_advantages(
    scores, group_size: int, lengths=None, *, max_len: int | None = None, eps: float = 1e-4
):
    r"""Chapter 9: GRPO's advantages (Shao et al. 2024), no critic.

    Sequences ``[i·G, (i+1)·G)`` are the ``G = group_size`` samples for one prompt:

    .. math::
        \hat A_i = \frac{s_i - \text{mean}(s_{\text{group}})}{\text{std}(s_{\text{group}})
        + \epsilon}

    (``std`` with ``ddof=0``; ``eps`` keeps a group of equal scores at 0 instead of 0/0).

    Args:
        scores: ``[B]``, ``B`` a multiple of ``group_size``.
        group_size: samples per prompt, ≥ 2.
        lengths: optional ``[B]``; then the result is per token, ``[B, L]``: the same
            advantage on every real token of a sequence, 0 on padding.
        max_len: ``L`` (default ``max(lengths)``).
        eps: ε > 0.

    Returns:
        ``[B]`` or ``[B, L]`` (torch in → torch out).
    """
    torch_out = any_torch(scores)
    s = as_batch_array("scores", scores, 1)
    G = check_positive_int("group_size", group_size)
    if G < 2 or len(s) % G:
        raise ValueError(f"group_size must be ≥ 2 and divide len(scores)={len(s)}, got {G}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < np.inf:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    g = s.reshape(-1, G)
    adv = ((g - g.mean(1, keepdims=True)) / (g.std(1, keepdims=True) + eps)).ravel()
    if lengths is not None:
        n = as_lengths(lengths, len(s), max_len)
        adv = adv[:, None] * token_mask(n, max_len or int(n.max()))
    return like_input(adv, torch_out)
