r"""Policies and value networks (chapter 1; the value network from chapter 2 on).

* The **softmax-linear policy** of the policy-gradient article's §4.2,
  :math:`\pi_\theta(a \mid s) = \exp(\theta^\top f(s,a)) / \sum_b \exp(\theta^\top f(s,b))`,
  with its analytic score function
  :math:`\nabla_\theta \log \pi_\theta(a \mid s) = f(s,a) - \sum_b \pi_\theta(b \mid s) f(s,b)`.
* A small **MLP categorical policy** and an MLP **value network** in torch. The policy also
  acts through a NumPy copy-free view of its weights, which makes acting in a vectorised
  environment several times faster than a torch forward pass per step.
* For continuous actions, a **Gaussian MLP policy** with a state-independent log-std,
  :math:`a \sim \mathcal N(\mu_\theta(s), \mathrm{diag}\,\sigma^2)`, and its score written
  out (:func:`gaussian_log_prob`, :func:`gaussian_score`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._validate import as_float_array, check_positive_int

__all__ = [
    "softmax_linear_probs",
    "softmax_linear_log_prob",
    "softmax_linear_score",
    "MLPPolicy",
    "ValueNet",
    "gaussian_log_prob",
    "gaussian_score",
    "GaussianMLPPolicy",
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


# ------------------------------------------------------------------ continuous actions


def _real(name: str, x) -> np.ndarray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real numeric array, got {type(x).__name__}") from exc


def _gaussian_args(mean, log_std, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = _real("mean", mean)
    if mean.ndim != 2 or mean.shape[0] < 1 or mean.shape[1] < 1:
        raise ValueError(f"mean must have shape [N, d], got {mean.shape}")
    log_std = _real("log_std", log_std)
    if log_std.shape != (mean.shape[1],):
        raise ValueError(f"log_std must have shape [{mean.shape[1]}], got {log_std.shape}")
    actions = _real("actions", actions)
    if actions.shape != mean.shape:
        raise ValueError(f"actions must have the shape of mean {mean.shape}, got {actions.shape}")
    for name, x in (("mean", mean), ("log_std", log_std), ("actions", actions)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} must be finite")
    return mean, log_std, actions


def gaussian_log_prob(mean, log_std, actions) -> np.ndarray:
    r"""The log-density of each row of ``actions [N, d]`` under
    :math:`\mathcal N(\mu, \mathrm{diag}\,\sigma^2)`, ``mean [N, d]``, ``log_std [d]``:

    .. math::
        \log\pi(a \mid s) = -\frac12\sum_j \Big(\frac{a_j - \mu_j}{\sigma_j}\Big)^2
            - \sum_j \log\sigma_j - \frac d2 \log 2\pi .
    """
    mean, log_std, actions = _gaussian_args(mean, log_std, actions)
    z = (actions - mean) * np.exp(-log_std)
    d = mean.shape[1]
    return -0.5 * (z**2).sum(axis=1) - log_std.sum() - 0.5 * d * np.log(2 * np.pi)


def gaussian_score(mean, log_std, actions) -> tuple[np.ndarray, np.ndarray]:
    r"""The score of the Gaussian policy, by hand: the gradient of :func:`gaussian_log_prob`
    with respect to the mean and to the log-std, each ``[N, d]``,

    .. math::
        \frac{\partial \log\pi}{\partial \mu_j} = \frac{a_j - \mu_j}{\sigma_j^2}, \qquad
        \frac{\partial \log\pi}{\partial \log\sigma_j}
            = \Big(\frac{a_j - \mu_j}{\sigma_j}\Big)^2 - 1 .

    Both have mean zero when :math:`a \sim \pi` (the score's expectation is 0, which is why a
    baseline may be subtracted); the policy's parameters get :math:`\partial\log\pi/\partial\mu`
    back-propagated through the network that outputs :math:`\mu_\theta(s)`.
    """
    mean, log_std, actions = _gaussian_args(mean, log_std, actions)
    inv_var = np.exp(-2.0 * log_std)
    diff = actions - mean
    return diff * inv_var, diff**2 * inv_var - 1.0


class GaussianMLPPolicy(_NumpyForward, nn.Module):
    r"""A Gaussian policy for continuous actions:
    :math:`\pi_\theta(\cdot \mid s) = \mathcal N(\mu_\theta(s), \mathrm{diag}\,\sigma^2)`.

    ``forward`` returns the mean :math:`\mu_\theta(s)` (a tanh MLP, ``orthogonal`` initialised
    as Stable-Baselines3 does, output gain 0.01); :math:`\log\sigma` is one learned vector,
    the same in every state (``log_std_init`` to start; PPO's usual choice).
    :meth:`dist` is a ``torch.distributions.Normal`` over the ``act_dim`` coordinates (sum its
    ``log_prob`` over the last axis); :meth:`act` samples in NumPy. Actions are not squashed:
    clip them to the environment's bounds when stepping, and score the unclipped ones.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden=64,
        *,
        orthogonal: bool = True,
        log_std_init: float = 0.0,
    ):
        super().__init__()
        self.obs_dim = check_positive_int("obs_dim", obs_dim)
        self.act_dim = check_positive_int("act_dim", act_dim)
        if (
            isinstance(log_std_init, bool)
            or not isinstance(log_std_init, int | float)
            or not np.isfinite(log_std_init)
        ):
            raise ValueError(f"log_std_init must be a finite number, got {log_std_init!r}")
        self.net = _mlp(obs_dim, hidden, act_dim, orthogonal=orthogonal, out_gain=0.01)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std_init)))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)

    def dist(self, obs: torch.Tensor) -> torch.distributions.Normal:
        mean = self(obs)
        return torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))

    def mean_numpy(self, obs: np.ndarray) -> np.ndarray:
        """:math:`\\mu_\theta(s)` ``[N, act_dim]`` for observations ``[N, obs_dim]``, in NumPy."""
        h = as_float_array("obs", obs).astype(np.float32)
        if h.ndim != 2 or h.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have shape [N, {self.obs_dim}], got {h.shape}")
        return self._forward_numpy(h)

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Sample one action per observation (``[N, act_dim]`` float32) with ``rng``."""
        mean = self.mean_numpy(obs)
        std = np.exp(self.log_std.detach().numpy())
        return (mean + std * rng.standard_normal(mean.shape)).astype(np.float32)
