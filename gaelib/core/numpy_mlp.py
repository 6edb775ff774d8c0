r"""The tanh MLPs of :mod:`gaelib.core.policies` in plain NumPy: forward, backward, and a
clipped Adam step (chapter 5's fast trainers use them).

For CartPole-sized networks (two layers of 64 units) PyTorch spends most of a step on
per-operation overhead, not arithmetic. These functions compute the same forward pass, the
gradient by the chain rule — for hidden layers :math:`h^k = \tanh(W^k h^{k-1} + b^k)`,

.. math::
    \frac{\partial L}{\partial W^k} = d^k\, (h^{k-1})^\top, \qquad
    d^{k-1} = (W^k)^\top d^k \odot (1 - (h^{k-1})^2),

— and Adam after global gradient-norm clipping, on weights of one run or of K runs stacked
along a leading axis. :class:`gaelib.algorithms.numpy_ppo.NumpyPPOUpdate` and the lockstep
grids (:mod:`gaelib.algorithms.batched_actor_critic`) are built on them;
``tests/test_numpy_ppo.py`` checks them against autograd and ``torch.optim.Adam``.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["mlp_forward", "mlp_backward", "clip_and_adam"]


def mlp_forward(layers, x):
    """tanh MLP forward pass: ``(hidden activations, outputs)``. One network — ``x [B, in]``,
    weights ``[out, in]``, biases ``[out]`` — or K stacked ones (:mod:`gaelib.algorithms.lockstep`):
    ``x [K, B, in]``, weights ``[K, out, in]``, biases ``[K, 1, out]``."""
    if x.ndim == 3:  # K stacked networks: torch's batched kernels (MKL's bmm, a vectorised
        # tanh) are faster here than NumPy's stacked matmul and tanh, and write in place
        hs, h = [x], torch.from_numpy(x)
        for w, b in layers[:-1]:
            h = torch.baddbmm(torch.from_numpy(b), h, torch.from_numpy(w).transpose(1, 2))
            hs.append(torch.tanh_(h).numpy())
        w, b = layers[-1]
        return hs, torch.baddbmm(
            torch.from_numpy(b), h, torch.from_numpy(w).transpose(1, 2)
        ).numpy()
    hs = [x]
    for w, b in layers[:-1]:
        x = np.tanh(x @ w.swapaxes(-1, -2) + b)
        hs.append(x)
    w, b = layers[-1]
    return hs, x @ w.swapaxes(-1, -2) + b


def mlp_backward(layers, grads, hs, d) -> None:
    """Back-propagate ``d`` = ∂L/∂outputs through :func:`mlp_forward`'s network, writing
    ∂L/∂W and ∂L/∂b into ``grads`` (views shaped like the weights)."""
    for i in range(len(layers) - 1, -1, -1):
        gw, gb = grads[i]
        if d.ndim == 3:  # K stacked networks: ∂L/∂W_k = d_kᵀ h_k, a batched product whose
            # first factor is transposed — NumPy's stacked matmul is several times slower at
            # that than torch.bmm (MKL), which reads the transpose in place
            gw[...] = torch.bmm(
                torch.from_numpy(d).transpose(1, 2), torch.from_numpy(hs[i])
            ).numpy()
        else:
            np.matmul(d.swapaxes(-1, -2), hs[i], out=gw)
        d.sum(axis=-2, keepdims=gb.ndim == d.ndim, out=gb)
        if i and d.ndim == 3:  # (d W) ⊙ (1 − h²), stacked, in torch as above
            h = torch.from_numpy(hs[i])
            d = torch.bmm(torch.from_numpy(d), torch.from_numpy(layers[i][0]))
            d = d.addcmul_(d, h * h, value=-1.0).numpy()  # d − d h² = d (1 − h²), in place
        elif i:
            d = (d @ layers[i][0]) * (1.0 - hs[i] * hs[i])


def clip_and_adam(flat, grad, m, v, tmp, *, t: int, lr: float, max_grad_norm: float,
                  betas: tuple[float, float], eps: float):  # fmt: skip
    """Clip the gradient's global norm to ``max_grad_norm`` (as ``clip_grad_norm_``), then one
    Adam step (as ``torch.optim.Adam``, step number ``t``), in place on float32 buffers of one
    learner (``[P]``) or of K learners (``[K, P]``, a norm per row). Returns the norm(s)
    before clipping."""
    if grad.ndim == 1:
        norms = float(np.sqrt(np.dot(grad, grad)))
        coef = max_grad_norm / (norms + 1e-6)
        if coef < 1.0:
            grad *= np.float32(coef)
    else:
        norms = np.sqrt(np.einsum("kp,kp->k", grad, grad))
        grad *= np.minimum(1.0, max_grad_norm / (norms + 1e-6)).astype(np.float32)[:, None]
    if not np.all(np.isfinite(norms)):  # before any weight moves
        raise ValueError("the gradient is not finite (diverged weights or extreme inputs?)")
    b1, b2 = betas
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    np.multiply(grad, grad, out=tmp)
    tmp *= 1 - b2
    v += tmp
    np.sqrt(v, out=tmp)
    tmp /= np.float32(np.sqrt(1 - b2**t))
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= np.float32(lr / (1 - b1**t))
    flat -= tmp
    return norms
