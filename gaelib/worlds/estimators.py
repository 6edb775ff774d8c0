r"""Exact bias and variance of advantage estimators on a tabular MDP (chapters 3–4).

For a policy :math:`\pi`, a critic :math:`\hat V` and a transition :math:`(s, a, s')` the TD
residual is :math:`\delta = R(s,a) + \gamma [s' \text{ not terminal}]\, \hat V(s') - \hat V(s)`.
Both families of estimators in the GAE paper are discounted sums of residuals along the
trajectory, cut at termination:

* k-step: :math:`\hat A^{(k)}_t = \sum_{l=0}^{k-1} \gamma^l \delta_{t+l}`,
* GAE: :math:`\hat A^{GAE(\gamma,\lambda)}_t = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l}`.

Given :math:`(s_t, a_t)` the future is Markov, so the first two moments of
:math:`X = \delta_t + c\, X'` (with :math:`X'` the same sum started at :math:`(s_{t+1}, a_{t+1})`)
solve linear equations over state–action pairs:

.. math::
    m_1(s,a) = \mathbb{E}_{s' \mid s,a}\big[\delta + c\, \bar m_1(s')\big], \qquad
    m_2(s,a) = \mathbb{E}_{s' \mid s,a}\big[\delta^2 + 2c\,\delta\, \bar m_1(s')
               + c^2\, \bar m_2(s')\big],

where :math:`\bar m(s') = \sum_{a'} \pi(a' \mid s')\, m(s', a')`
(terminal :math:`s'` contribute only :math:`\delta`). No sampling: the bias and variance
below are exact. Rewards are taken to be deterministic given :math:`(s, a)`; all randomness
comes from the policy and the transitions.

Chapter 3's problem, :class:`AdvantageProblem` (:func:`advantage_problem`), bundles a small MDP
and a policy with their exact values and a critic :math:`\hat V = V^\pi + \sigma z` whose error
is one number σ; :func:`delta_moments` and :func:`kstep_tradeoff` are the exact moments the
chapter's sliders draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core._validate import check_non_negative, check_positive_int, check_unit_interval
from .mdp import exact_values

__all__ = [
    "CriticErrorProblem",
    "AdvantageProblem",
    "advantage_problem",
    "delta_moments",
    "kstep_tradeoff",
    "Moments",
    "gae_moments",
    "kstep_moments",
    "visitation",
    "bias_variance_mse",
    "gae_error_vs_lambda",
]


@dataclass(frozen=True)
class Moments:
    """Exact conditional mean and variance of an estimator, each ``[S, A]``."""

    mean: np.ndarray
    var: np.ndarray


def _setup(P, R, pi, V_hat, gamma, terminal):
    P = np.asarray(P, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    pi = np.asarray(pi, dtype=np.float64)
    S, A = R.shape
    exact_values(P, R, pi, gamma, terminal)  # validates P, R, pi, gamma, terminal
    term = np.zeros(S, bool) if terminal is None else np.asarray(terminal, bool)
    V_hat = np.asarray(V_hat, dtype=np.float64)
    if V_hat.shape != (S,) or not np.all(np.isfinite(V_hat)):
        raise ValueError(f"V_hat must be a finite vector of shape ({S},), got {V_hat.shape}")
    live = (~term).astype(float)
    # delta[s, a, s'] for every transition; V_hat of a terminal s' is never used
    delta = (
        R[:, :, None] + gamma * live[None, None, :] * V_hat[None, None, :] - V_hat[:, None, None]
    )
    # M[(s,a), (s',a')] = P(s'|s,a) [s' live] pi(a'|s')
    M = np.einsum("sat,t,tb->satb", P, live, pi).reshape(S * A, S * A)
    return P, pi, delta, M, S, A, term


def gae_moments(P, R, pi, V_hat, *, gamma: float, lam: float, terminal=None) -> Moments:
    r"""Chapter 4: exact mean and variance of :math:`\hat A^{GAE(\gamma,\lambda)}` given (s, a).

    Args:
        P: ``[S, A, S]`` transitions; R: ``[S, A]`` rewards; pi: ``[S, A]`` policy.
        V_hat: ``[S]`` the critic :math:`\hat V` (its values at terminal states are unused).
        gamma, lam: in [0, 1]; :math:`\gamma\lambda < 1` or a policy that terminates.
        terminal: ``[S]`` booleans marking absorbing terminal states.
    """
    gamma = check_unit_interval("gamma", gamma)
    lam = check_unit_interval("lam", lam)
    return _gae_moments(*_setup(P, R, pi, V_hat, gamma, terminal), gamma * lam)


def _gae_moments(P, pi, delta, M, S, A, term, c: float) -> Moments:
    """:func:`gae_moments` after :func:`_setup` (validated inputs), for ``c = γλ``."""
    I = np.eye(S * A)
    e_d = (P * delta).sum(-1).ravel()
    try:
        m1 = np.linalg.solve(I - c * M, e_d)
        # E[δ · Σ_a' π m1(s',a') [s' live]] : δ depends on s', the continuation on s' only
        cont = np.einsum("tb,tb->t", pi, m1.reshape(S, A)) * (~term)
        cross = (P * delta * cont[None, None, :]).sum(-1).ravel()
        m2 = np.linalg.solve(I - c**2 * M, (P * delta**2).sum(-1).ravel() + 2 * c * cross)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            "the estimator's moments are infinite: with gamma*lam = 1 the policy must reach "
            "a terminal state from every state"
        ) from exc
    m1, m2 = m1.reshape(S, A), m2.reshape(S, A)
    return Moments(mean=m1, var=np.maximum(m2 - m1**2, 0.0))


def kstep_moments(P, R, pi, V_hat, *, gamma: float, k: int, terminal=None) -> list[Moments]:
    r"""Chapter 3: exact moments of :math:`\hat A^{(1)}, \dots, \hat A^{(k)}` given (s, a).

    Uses the recursion :math:`X^{(j)} = \delta + \gamma X'^{(j-1)}`, :math:`X^{(0)} = 0`.

    Returns:
        A list of ``k`` :class:`Moments`; entry ``j-1`` is for the j-step estimator.
    """
    gamma = check_unit_interval("gamma", gamma)
    k = check_positive_int("k", k)
    P, pi, delta, M, S, A, term = _setup(P, R, pi, V_hat, gamma, terminal)
    e_d = (P * delta).sum(-1).ravel()
    e_d2 = (P * delta**2).sum(-1).ravel()
    m1, m2 = np.zeros(S * A), np.zeros(S * A)
    out = []
    for _ in range(k):
        cont = np.einsum("tb,tb->t", pi, m1.reshape(S, A)) * (~term)
        cross = (P * delta * cont[None, None, :]).sum(-1).ravel()
        m1, m2 = e_d + gamma * (M @ m1), e_d2 + 2 * gamma * cross + gamma**2 * (M @ m2)
        out.append(Moments(mean=m1.reshape(S, A), var=np.maximum(m2 - m1**2, 0).reshape(S, A)))
    return out


def visitation(P, pi, mu0, terminal=None) -> np.ndarray:
    r"""Chapters 3–4: how often on-policy data visits each (s, a), normalised to sum 1.

    Expected visits before termination :math:`d = \mu_0^\top (I - P_\pi)^{-1}` over the
    non-terminal states, times :math:`\pi(a \mid s)`. The policy must terminate.
    """
    P = np.asarray(P, dtype=np.float64)
    pi = np.asarray(pi, dtype=np.float64)
    S = P.shape[0]
    mu0 = np.asarray(mu0, dtype=np.float64)
    if mu0.shape != (S,) or np.any(mu0 < 0) or not np.isclose(mu0.sum(), 1.0):
        raise ValueError(f"mu0 must be a probability vector of shape ({S},)")
    term = np.zeros(S, bool) if terminal is None else np.asarray(terminal, bool)
    live = ~term
    P_pi = np.einsum("sa,sat->st", pi, P)[np.ix_(live, live)]
    try:
        d_live = np.linalg.solve((np.eye(int(live.sum())) - P_pi).T, mu0[live])
    except np.linalg.LinAlgError as exc:
        raise ValueError("the policy must reach a terminal state from every state") from exc
    d = np.zeros(S)
    d[live] = d_live
    w = d[:, None] * pi
    return w / w.sum()


def bias_variance_mse(moments: Moments, target: np.ndarray, weights: np.ndarray):
    r"""Chapters 3–4: weighted :math:`(\text{bias}^2, \text{variance}, \text{MSE})`, floats.

    :math:`\text{bias}^2 = \sum w\,(m_1 - \text{target})^2`, variance :math:`= \sum w\,\text{Var}`,
    MSE = their sum, with ``weights`` ``[S, A]`` summing to 1 (e.g. :func:`visitation`).
    """
    target = np.asarray(target, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if target.shape != moments.mean.shape:
        raise ValueError(f"target must have shape {moments.mean.shape}, got {target.shape}")
    if weights.shape != moments.mean.shape or not np.isclose(weights.sum(), 1.0):
        raise ValueError(f"weights must have shape {moments.mean.shape} and sum to 1")
    bias2 = float((weights * (moments.mean - target) ** 2).sum())
    var = float((weights * moments.var).sum())
    return bias2, var, bias2 + var


def gae_error_vs_lambda(
    P, R, pi, V_error, lams, *, gamma: float, mu0, terminal=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Chapter 4: exact bias², variance and MSE of GAE(γ, λ) for each λ in ``lams``.

    The critic is :math:`\hat V = V^\pi + \text{V\_error}`; the target is
    :math:`Q^\pi(s,a) - \hat V(s)` (the weight whose expectation makes the policy gradient
    exact with :math:`\hat V` as baseline); errors are weighted by the on-policy
    :func:`visitation` from the start distribution ``mu0``.

    Returns:
        ``(bias2, var, mse)``, each of shape ``[len(lams)]``.
    """
    V, Q = exact_values(P, R, pi, gamma, terminal)
    V_error = np.asarray(V_error, dtype=np.float64)
    if V_error.shape != V.shape or not np.all(np.isfinite(V_error)):
        raise ValueError(f"V_error must be a finite vector of shape {V.shape}")
    V_hat = V + V_error
    target = Q - V_hat[:, None]
    weights = visitation(P, pi, mu0, terminal)
    lams = [check_unit_interval("lams", lam) for lam in np.asarray(lams).ravel()]
    if not lams:
        raise ValueError("lams must hold at least one λ in [0, 1]")
    setup = _setup(P, R, pi, V_hat, gamma, terminal)  # validated once for every λ
    rows = [bias_variance_mse(_gae_moments(*setup, gamma * lam), target, weights) for lam in lams]
    return tuple(np.array(col) for col in zip(*rows, strict=True))


# ------------------------------------------- chapter 3: a problem with a controlled critic error


@dataclass(frozen=True)
class AdvantageProblem:
    r"""A small tabular MDP, a policy, its exact values and a fixed critic-error direction.

    ``P [S, A, S]``, ``R [S, A]``, ``pi [S, A]``, ``terminal [S]``, ``gamma`` as in
    :func:`gaelib.exact_values`; ``mu0 [S]`` the start distribution; ``V [S]``, ``Q [S, A]``
    exact; ``z [S]`` the critic's error direction (0 at terminal states); ``weights [S, A]``
    the on-policy visitation of :func:`gaelib.worlds.estimators.visitation` (sums to 1).
    """

    P: np.ndarray
    R: np.ndarray
    pi: np.ndarray
    terminal: np.ndarray
    gamma: float
    mu0: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    z: np.ndarray
    weights: np.ndarray
    action_names: tuple[str, ...]

    @property
    def A(self) -> np.ndarray:
        r""":math:`A^\pi = Q^\pi - V^\pi`, ``[S, A]`` (0 at terminal states)."""
        return self.Q - self.V[:, None]

    @property
    def live(self) -> np.ndarray:
        """The non-terminal states, in order (the x axis of the per-state plots)."""
        return np.flatnonzero(~self.terminal)

    def critic(self, sigma: float) -> np.ndarray:
        r"""The critic :math:`\hat V = V^\pi + \sigma z`, ``[S]``."""
        return self.V + check_non_negative("sigma", sigma) * self.z


def advantage_problem(
    P,
    R,
    pi,
    terminal,
    gamma: float,
    mu0,
    *,
    seed: int = 0,
    action_names: Sequence[str] | None = None,
) -> AdvantageProblem:
    r"""Chapter 3: bundle an MDP and a policy with :math:`V^\pi, Q^\pi`, the visitation
    weights and a seeded error direction :math:`z \sim \mathcal N(0, I)` (0 at terminals)."""
    gamma = check_unit_interval("gamma", gamma)
    term = np.asarray(terminal, dtype=bool)
    V, Q = exact_values(P, R, pi, gamma, term)
    weights = visitation(P, pi, mu0, term)
    z = np.random.default_rng(seed).normal(size=V.shape)
    z[term] = 0.0
    n_actions = np.asarray(R).shape[1]
    names = tuple(action_names) if action_names is not None else tuple(map(str, range(n_actions)))
    if len(names) != n_actions:
        raise ValueError(f"action_names must name the {n_actions} actions, got {names}")
    arrays = (np.asarray(x, dtype=np.float64) for x in (P, R, pi))
    return AdvantageProblem(*arrays, term, gamma, np.asarray(mu0, float), V, Q, z, weights, names)


def delta_moments(problem: AdvantageProblem, sigma: float) -> Moments:
    r"""Chapter 3: exact mean and variance of :math:`\delta = r + \gamma \hat V(s') - \hat V(s)`
    given :math:`(s, a)`, for the critic :math:`\hat V = V^\pi + \sigma z`."""
    p = problem
    return kstep_moments(p.P, p.R, p.pi, p.critic(sigma), gamma=p.gamma, k=1, terminal=p.terminal)[
        0
    ]


def kstep_tradeoff(problem: AdvantageProblem, sigma: float, k_max: int = 30) -> dict:
    r"""Chapter 3: exact visitation-weighted errors of :math:`\hat A^{(k)}`, ``k = 1..k_max``.

    Returns a dict of ``[k_max]`` arrays: ``"k"``; ``"bias2"`` against :math:`Q^\pi - \hat V(s)`
    (what biases the policy gradient); ``"bias2_vs_A"`` against :math:`A^\pi`; ``"var"``;
    ``"mse"`` = bias2 + var (against :math:`Q^\pi - \hat V(s)`).
    """
    k_max = check_positive_int("k_max", k_max)
    p = problem
    v_hat = p.critic(sigma)
    ms = kstep_moments(p.P, p.R, p.pi, v_hat, gamma=p.gamma, k=k_max, terminal=p.terminal)
    target = p.Q - v_hat[:, None]
    rows = np.array([bias_variance_mse(m, target, p.weights) for m in ms])
    bias2_a = np.array([float((p.weights * (m.mean - p.A) ** 2).sum()) for m in ms])
    return {
        "k": np.arange(1, k_max + 1),
        "bias2": rows[:, 0],
        "bias2_vs_A": bias2_a,
        "var": rows[:, 1],
        "mse": rows[:, 2],
    }


# ------------------------------------------- chapter 4: GAE's error against λ, for a critic error σ


@dataclass(frozen=True)
class CriticErrorProblem:
    """Chapter 4: a tabular MDP, its start distribution and a fixed direction of critic error:
    the critic is :math:`\\hat V = V^\\pi + \\sigma z`."""

    P: np.ndarray
    R: np.ndarray
    pi: np.ndarray
    terminal: np.ndarray
    mu0: np.ndarray
    z: np.ndarray
    lams: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.0, 41))

    def curves(self, sigma: float, gamma: float):
        """``(bias2, var, mse)`` over ``self.lams`` (exact; :func:`gae_error_vs_lambda`)."""
        sigma = check_non_negative("sigma", sigma)
        return gae_error_vs_lambda(
            self.P,
            self.R,
            self.pi,
            sigma * self.z,
            self.lams,
            gamma=gamma,
            mu0=self.mu0,
            terminal=self.terminal,
        )

    def best_lambda(self, sigma: float, gamma: float) -> float:
        return float(self.lams[np.argmin(self.curves(sigma, gamma)[2])])
