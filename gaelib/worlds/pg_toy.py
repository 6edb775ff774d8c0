r"""A tiny episodic MDP on which the policy gradient can be computed exactly (chapter 1).

Two states, three actions, horizon three, a softmax-linear policy
:math:`\pi_\theta(a \mid s) = \mathrm{softmax}_a(\theta^\top f(s,a))`. Small enough to compute

* :math:`J(\theta) = \mathbb{E}_{\tau \sim \pi_\theta}\big[\sum_t \gamma^t r_t\big]` exactly
  by backward induction (and its gradient by autograd through it),
* the same gradient by the policy-gradient theorem, enumerating every trajectory:
  :math:`\nabla J = \sum_\tau P_\theta(\tau) \sum_t \nabla_\theta \log\pi_\theta(a_t|s_t)\,
  \gamma^t G_t(\tau)`, with :math:`G_t = \sum_{l \ge t} \gamma^{l-t} r_l`,

* the gradient split into its per-step terms
  :math:`g_t = \mathbb{E}\big[\nabla_\theta \log\pi_\theta(a_t|s_t)\, A_t(s_t, a_t)\big]`,
  with the exact advantage :math:`A_t = Q_t - V_t` and the exact distribution of :math:`s_t`,
  so that :math:`\nabla J = \sum_t \gamma^t g_t` can be checked term by term,

and to draw millions of sampled trajectories per second for Monte-Carlo estimates.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from ..core._validate import check_positive_int
from ..core.policies import softmax_linear_probs, softmax_linear_score

__all__ = [
    "TinyMDP",
    "make_tiny_mdp",
    "exact_objective",
    "exact_gradient",
    "enumerated_gradient",
    "state_distribution",
    "exact_advantages",
    "per_step_gradient_terms",
    "sample_returns",
    "sample_gradients",
]


@dataclass(frozen=True)
class TinyMDP:
    """``P[s, a, s']`` transitions, ``R[s, a]`` rewards, ``mu0[s]`` start distribution,
    ``features[s, a, d]`` the softmax-linear features, horizon ``H``, discount ``gamma``."""

    P: np.ndarray
    R: np.ndarray
    mu0: np.ndarray
    features: np.ndarray
    H: int
    gamma: float

    @property
    def dim(self) -> int:
        return self.features.shape[-1]


def make_tiny_mdp(seed: int = 0, *, horizon: int = 3, gamma: float = 0.9) -> TinyMDP:
    """Chapter 1: a fixed random 2-state, 3-action MDP with 4 features per (s, a)."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(2), size=(2, 3))
    R = np.round(rng.normal(size=(2, 3)), 2)
    features = rng.normal(size=(2, 3, 4))
    return TinyMDP(
        P, R, np.array([0.5, 0.5]), features, check_positive_int("horizon", horizon), float(gamma)
    )


def _check_theta(mdp: TinyMDP, theta) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (mdp.dim,) or not np.all(np.isfinite(theta)):
        raise ValueError(f"theta must be a finite vector of shape ({mdp.dim},), got {theta}")
    return theta


def _objective_torch(mdp: TinyMDP, theta: torch.Tensor) -> torch.Tensor:
    feats = torch.as_tensor(mdp.features)
    pi = torch.softmax(feats @ theta, dim=-1)  # [S, A]
    P, R = torch.as_tensor(mdp.P), torch.as_tensor(mdp.R)
    v = torch.zeros(P.shape[0], dtype=theta.dtype)
    for _ in range(mdp.H):  # V_h(s) = Σ_a π(a|s) [R(s,a) + γ Σ_s' P(s'|s,a) V_{h+1}(s')]
        v = (pi * (R + mdp.gamma * P @ v)).sum(-1)
    return torch.as_tensor(mdp.mu0) @ v


def exact_objective(mdp: TinyMDP, theta) -> float:
    r"""Chapter 1: :math:`J(\theta)` by backward induction over the horizon."""
    theta = _check_theta(mdp, theta)
    return float(_objective_torch(mdp, torch.as_tensor(theta)))


def exact_gradient(mdp: TinyMDP, theta) -> np.ndarray:
    r"""Chapter 1: :math:`\nabla_\theta J(\theta)` by autograd through the backward induction."""
    t = torch.tensor(_check_theta(mdp, theta), requires_grad=True)
    (g,) = torch.autograd.grad(_objective_torch(mdp, t), t)
    return g.numpy()


def enumerated_gradient(mdp: TinyMDP, theta) -> np.ndarray:
    r"""Chapter 1: the policy-gradient theorem summed over *every* trajectory (no sampling)."""
    theta = _check_theta(mdp, theta)
    S, A = mdp.R.shape
    pi = softmax_linear_probs(theta, mdp.features)
    total = np.zeros(mdp.dim)
    steps = [range(S)] + [range(A), range(S)] * mdp.H  # s0, a0, s1, a1, s2, …
    for path in itertools.product(*steps):
        s, prob, scores, rewards = path[0], mdp.mu0[path[0]], [], []
        for t in range(mdp.H):
            a, s_next = path[1 + 2 * t], path[2 + 2 * t]
            prob *= pi[s, a] * mdp.P[s, a, s_next]
            scores.append(softmax_linear_score(theta, mdp.features[s], a))
            rewards.append(mdp.R[s, a])
            s = s_next
        for t in range(mdp.H):
            g_t = sum(mdp.gamma ** (l - t) * rewards[l] for l in range(t, mdp.H))
            total += prob * scores[t] * mdp.gamma**t * g_t
    return total


def _values_by_step(mdp: TinyMDP, theta: np.ndarray) -> np.ndarray:
    """``V[t, s]``: expected reward-to-go from state s at step t (the ideal baseline)."""
    pi = softmax_linear_probs(theta, mdp.features)
    v = np.zeros((mdp.H + 1, mdp.R.shape[0]))
    for t in range(mdp.H - 1, -1, -1):
        v[t] = (pi * (mdp.R + mdp.gamma * mdp.P @ v[t + 1])).sum(-1)
    return v[:-1]


def state_distribution(mdp: TinyMDP, theta) -> np.ndarray:
    r"""Chapter 1: ``[H, S]``, row t the distribution of :math:`s_t` under :math:`\pi_\theta`
    (:math:`P(s_0 = s) = \mu_0(s)`,
    :math:`P(s_{t+1} = s') = \sum_{s,a} P(s_t = s)\, \pi_\theta(a|s)\, P(s'|s,a)`)."""
    theta = _check_theta(mdp, theta)
    pi = softmax_linear_probs(theta, mdp.features)
    d = np.zeros((mdp.H, mdp.R.shape[0]))
    d[0] = mdp.mu0
    for t in range(mdp.H - 1):
        d[t + 1] = np.einsum("s,sa,sap->p", d[t], pi, mdp.P)
    return d


def exact_advantages(mdp: TinyMDP, theta) -> np.ndarray:
    r"""Chapter 1: ``[H, S, A]``, the exact advantage :math:`A_t(s,a) = Q_t(s,a) - V_t(s)` with
    :math:`Q_t(s,a) = R(s,a) + \gamma \sum_{s'} P(s'|s,a) V_{t+1}(s')` (reward-to-go from step
    t of the horizon-H episode; :math:`V_H = 0`)."""
    theta = _check_theta(mdp, theta)
    v = np.vstack([_values_by_step(mdp, theta), np.zeros((1, mdp.R.shape[0]))])
    q = mdp.R[None] + mdp.gamma * np.einsum("sap,tp->tsa", mdp.P, v[1:])
    return q - v[:-1, :, None]


def per_step_gradient_terms(mdp: TinyMDP, theta) -> np.ndarray:
    r"""Chapter 1: ``[H, d]``, row t the expected term of step t,

    .. math::
        g_t = \mathbb{E}_{\pi_\theta}\big[\nabla_\theta \log\pi_\theta(a_t|s_t)\,
              A_t(s_t, a_t)\big]
            = \sum_s P(s_t = s) \sum_a \pi_\theta(a|s)\, \nabla_\theta \log\pi_\theta(a|s)\,
              A_t(s, a),

    the GAE article's §4.2 formula for one t. The policy gradient is
    :math:`\nabla J = \sum_t \gamma^t g_t` (chapter 1 checks it against :func:`exact_gradient`).
    """
    theta = _check_theta(mdp, theta)
    S, A = mdp.R.shape
    pi = softmax_linear_probs(theta, mdp.features)
    scores = np.array(
        [[softmax_linear_score(theta, mdp.features[s], a) for a in range(A)] for s in range(S)]
    )  # [S, A, d]
    return np.einsum(
        "ts,sa,sad,tsa->td",
        state_distribution(mdp, theta),
        pi,
        scores,
        exact_advantages(mdp, theta),
    )


def _sample(mdp: TinyMDP, theta: np.ndarray, n: int, rng: np.random.Generator):
    """``n`` trajectories at once: lists over t of states, actions, rewards (each ``[n]``)."""
    pi = softmax_linear_probs(theta, mdp.features)  # [S, A]
    cum_pi, cum_P = pi.cumsum(-1), mdp.P.cumsum(-1)
    s = (rng.random(n) > mdp.mu0[0]).astype(int)
    states, actions, rewards = [], [], []
    for _ in range(mdp.H):
        a = np.minimum((cum_pi[s] < rng.random((n, 1))).sum(-1), pi.shape[1] - 1)
        states.append(s)
        actions.append(a)
        rewards.append(mdp.R[s, a])
        s = np.minimum((cum_P[s, a] < rng.random((n, 1))).sum(-1), mdp.P.shape[2] - 1)
    return states, actions, rewards


def sample_returns(mdp: TinyMDP, theta, n: int, rng: np.random.Generator) -> np.ndarray:
    r"""Chapter 1: the discounted returns :math:`\sum_t \gamma^t r_t` of ``n`` sampled episodes."""
    theta = _check_theta(mdp, theta)
    _, _, rewards = _sample(mdp, theta, check_positive_int("n", n), rng)
    return sum(mdp.gamma**t * r for t, r in enumerate(rewards))


def sample_gradients(
    mdp: TinyMDP, theta, n: int, rng: np.random.Generator, *, baseline: bool = False
) -> np.ndarray:
    r"""Chapter 1: ``n`` single-trajectory REINFORCE estimates, shape ``[n, d]``.

    Each row is :math:`\sum_t \nabla\log\pi_\theta(a_t|s_t)\,\gamma^t (G_t - b_t(s_t))` for one
    sampled trajectory; :math:`b = 0` or, with ``baseline=True``, the exact value
    :math:`V_t(s_t)` — a function of the state (and step) only, so the estimate stays unbiased.
    The mean of ``k`` rows is the estimate from a batch of ``k`` episodes.
    """
    theta = _check_theta(mdp, theta)
    states, actions, rewards = _sample(mdp, theta, check_positive_int("n", n), rng)
    v = _values_by_step(mdp, theta) if baseline else np.zeros((mdp.H, mdp.R.shape[0]))
    grad = np.zeros((n, mdp.dim))
    g_t = np.zeros(n)
    for t in range(mdp.H - 1, -1, -1):
        g_t = rewards[t] + mdp.gamma * g_t
        score = softmax_linear_score(theta, mdp.features[states[t]], actions[t])
        grad += score * (mdp.gamma**t * (g_t - v[t, states[t]]))[:, None]
    return grad
