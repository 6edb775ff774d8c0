r"""Policies and value networks (chapter 1; the value network from chapter 2 on).

* The **softmax-linear policy** of the policy-gradient article's §4.2,
  :math:`\pi_\theta(a \mid s) = \exp(\theta^\top f(s,a)) / \sum_b \exp(\theta^\top f(s,b))`,
  with its analytic score function
  :math:`\nabla_\theta \log \pi_\theta(a \mid s) = f(s,a) - \sum_b \pi_\theta(b \mid s) f(s,b)`.
* A small **MLP categorical policy** and an MLP **value network** in torch. The policy also
  acts through a NumPy copy-free view of its weights, which makes acting in a vectorised
  environment several times faster than a torch forward pass per step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._validate import check_positive_int

__all__ = [
    "softmax_linear_probs",
    "softmax_linear_log_prob",
    "softmax_linear_score",
    "MLPPolicy",
    "ValueNet",
]


def _check_features(theta: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    theta = np.asarray(theta, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    if theta.ndim != 1:
        raise ValueError(f"theta must be a vector [d], got shape {theta.shape}")
    if features.ndim < 2 or features.shape[-1] != theta.shape[0]:
        raise ValueError(
            f"features must have shape [..., A, d] with d={theta.shape[0]}, got {features.shape}"
        )
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(features))):
        raise ValueError("theta and features must be finite")
    return theta, features


def softmax_linear_probs(theta: np.ndarray, features: np.ndarray) -> np.ndarray:
    r"""Chapter 1: :math:`\pi_\theta(a \mid s) = \mathrm{softmax}_a(\theta^\top f(s,a))`.

    Args:
        theta: parameters ``[d]``.
        features: :math:`f(s, a)` for every action, shape ``[..., A, d]``.

    Returns:
        Probabilities ``[..., A]`` (each row sums to 1).
    """
    theta, features = _check_features(theta, features)
    logits = features @ theta
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def _check_actions(features: np.ndarray, action) -> np.ndarray:
    action = np.asarray(action)
    n_actions = features.shape[-2]
    if action.shape != features.shape[:-2]:
        raise ValueError(f"action must have shape {features.shape[:-2]}, got {action.shape}")
    if not np.issubdtype(action.dtype, np.integer) or np.any((action < 0) | (action >= n_actions)):
        raise ValueError(f"action must hold integers in [0, {n_actions - 1}], got {action}")
    return action


def softmax_linear_log_prob(theta: np.ndarray, features: np.ndarray, action) -> np.ndarray:
    r"""Chapter 1: :math:`\log \pi_\theta(a \mid s)` for the taken ``action`` (shape ``[...]``)."""
    probs = softmax_linear_probs(theta, features)
    action = _check_actions(np.asarray(features), action)
    return np.log(np.take_along_axis(probs, action[..., None], axis=-1)[..., 0])


def softmax_linear_score(theta: np.ndarray, features: np.ndarray, action) -> np.ndarray:
    r"""Chapter 1: the score function of the softmax-linear policy,

    .. math::
        \nabla_\theta \log \pi_\theta(a \mid s) = f(s,a) - \sum_b \pi_\theta(b \mid s)\, f(s,b).

    Args:
        theta: ``[d]``; features: ``[..., A, d]``; action: integers ``[...]``.

    Returns:
        The score, shape ``[..., d]``.
    """
    theta, features = _check_features(theta, features)
    action = _check_actions(features, action)
    probs = softmax_linear_probs(theta, features)
    taken = np.take_along_axis(features, action[..., None, None], axis=-2)[..., 0, :]
    expected = np.einsum("...a,...ad->...d", probs, features)
    return taken - expected


def _hidden_sizes(hidden) -> tuple[int, ...]:
    sizes = (hidden,) if isinstance(hidden, int) and not isinstance(hidden, bool) else hidden
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if not sizes or not all(
        isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in sizes
    ):
        raise ValueError(f"hidden must be a positive int or a tuple of them, got {hidden!r}")
    return sizes


def _mlp(n_in: int, hidden, n_out: int, *, orthogonal: bool, out_gain: float) -> nn.Sequential:
    """tanh MLP. ``orthogonal``: orthogonal weights (gain √2 hidden, ``out_gain`` output), zero
    biases — the initialisation Stable-Baselines3 uses for PPO."""
    layers, n = [], n_in
    for h in _hidden_sizes(hidden):
        layers += [nn.Linear(n, h), nn.Tanh()]
        n = h
    layers.append(nn.Linear(n, n_out))
    net = nn.Sequential(*layers)
    if orthogonal:
        linears = [m for m in net if isinstance(m, nn.Linear)]
        for i, lin in enumerate(linears):
            nn.init.orthogonal_(lin.weight, gain=out_gain if i == len(linears) - 1 else 2**0.5)
            nn.init.zeros_(lin.bias)
    return net


class _NumpyForward:
    """A NumPy forward pass for tanh MLPs (acting and evaluating without torch overhead)."""

    def _numpy_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """NumPy views of the weights. ``.detach().numpy()`` shares memory with the parameters,
        and optimisers update them in place, so the views always hold the current weights;
        they are rebuilt only if a parameter's storage is replaced."""
        key = tuple(p.data_ptr() for lin in self._linear_layers() for p in (lin.weight, lin.bias))
        if getattr(self, "_np_key", None) != key:
            self._np_views = [
                (lin.weight.detach().numpy(), lin.bias.detach().numpy())
                for lin in self._linear_layers()
            ]
            self._np_key = key
        return self._np_views

    def _linear_layers(self) -> list[nn.Linear]:
        if "_linears" not in self.__dict__:  # a plain attribute, not a registered submodule
            self.__dict__["_linears"] = [m for m in self.net if isinstance(m, nn.Linear)]
        return self.__dict__["_linears"]

    def _forward_numpy(self, h: np.ndarray) -> np.ndarray:
        layers = self._numpy_weights()
        for w, b in layers[:-1]:
            h = np.tanh(h @ w.T + b)
        w, b = layers[-1]
        return h @ w.T + b


class MLPPolicy(_NumpyForward, nn.Module):
    r"""Chapter 1: a categorical policy.

    :math:`\pi_\theta(\cdot \mid s) = \mathrm{softmax}(\mathrm{MLP}_\theta(s))`.

    tanh hidden layers of sizes ``hidden`` (an int: one layer). ``forward`` returns logits;
    :meth:`dist` a ``torch.distributions.Categorical``; :meth:`act` samples actions for a batch
    of NumPy observations without building a torch graph. ``orthogonal=True`` initialises as
    Stable-Baselines3 does (output gain 0.01: a near-uniform initial policy).
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden=32, *, orthogonal: bool = False):
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.n_actions = check_positive_int("n_actions", n_actions)
        self.net = _mlp(obs_dim, hidden, n_actions, orthogonal=orthogonal, out_gain=0.01)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)

    def dist(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self(obs), validate_args=False)

    def probs_numpy(self, obs: np.ndarray) -> np.ndarray:
        """Action probabilities ``[N, A]`` for observations ``[N, obs_dim]``, in NumPy."""
        h = np.asarray(obs, dtype=np.float32)
        if h.ndim != 2 or h.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have shape [N, {self.obs_dim}], got {h.shape}")
        logits = self._forward_numpy(h)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Sample one action per observation (``[N]`` integers) with the generator ``rng``."""
        p = self.probs_numpy(obs)
        u = rng.random((p.shape[0], 1))
        return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), self.n_actions - 1)


class ValueNet(_NumpyForward, nn.Module):
    r"""Chapters 1–5: a state-value network :math:`V_\phi(s)`; ``forward`` returns ``[N]``."""

    def __init__(self, obs_dim: int, hidden=32, *, orthogonal: bool = False):
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.net = _mlp(obs_dim, hidden, 1, orthogonal=orthogonal, out_gain=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)

    def values_numpy(self, obs: np.ndarray) -> np.ndarray:
        """:math:`V_\\phi(s)` ``[N]`` (float32) for observations ``[N, obs_dim]``, in NumPy."""
        h = np.asarray(obs, dtype=np.float32)
        if h.ndim != 2 or h.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have shape [N, {self.obs_dim}], got {h.shape}")
        return self._forward_numpy(h)[:, 0]
