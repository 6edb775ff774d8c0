r"""Chapter 8: the softmax-linear trading policy, its vectorised simulator, and its training —
REINFORCE, or GAE advantages with a linear critic.

The environment, the data, the article's pieces and the baselines are in
:mod:`gaelib.worlds.stock`. :func:`run_policy` simulates many episodes at once with
the accounting of :class:`~gaelib.worlds.stock.StockTradingEnv` (checked against it in
``tests/test_stock.py``); :func:`train_trading_policy` trains chapter 1's softmax-linear
policy on it with REINFORCE, or with GAE advantages when given ``lam``:

.. math::
    \hat g = \frac1E\sum_{e}\sum_t \nabla_\theta\log\pi_\theta(a_t \mid s_t)\,\hat A_t,
    \qquad \hat A_t = G_t - b(s_t) \ \text{(REINFORCE, linear baseline)} \quad\text{or}\quad
    \hat A_t = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l} \ \text{(GAE, linear critic)},

with the score :math:`\nabla_\theta\log\pi_\theta` of chapter 1's softmax-linear policy.

The lockstep version, which trains many runs at once, is :mod:`gaelib.algorithms.trading_grid`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core._validate import check_unit_interval
from ..core.advantages import compute_gae, discounted_returns
from ..core.policies import softmax_linear_probs, softmax_linear_score
from ..worlds.stock import check_prices, next_position

__all__ = ["TradingPolicy", "TradingRollout", "run_policy", "TrainResult", "train_trading_policy"]


@dataclass
class TradingPolicy:
    r"""Chapter 1's softmax-linear policy on the corrected observation.

    :math:`\varphi(s) = [1, (x_t - m)/s, \mathrm{pos}]` with :math:`x_t` the market features
    (standardised with training-period statistics ``mean``, ``std``), and
    :math:`f(s, a) = e_a \otimes \varphi(s)`: one weight vector per action, so
    :math:`\pi_\theta(a \mid s) = \mathrm{softmax}_a(\theta_a^\top \varphi(s))`.

    The policy does not see how many days are left in a training episode; only the critic
    (the baseline of :func:`train_trading_policy`) does: the policy is one rule for every day,
    and the held-out test has no episode clock to give it.
    """

    theta: np.ndarray
    mean: np.ndarray
    std: np.ndarray

    @property
    def n_features(self) -> int:
        return len(self.mean) + 2

    def action_features(self, x: np.ndarray, position: np.ndarray) -> np.ndarray:
        """``f(s, a)`` for every action, ``[N, 3, 3·d]`` from market features ``x [N, k]``."""
        z = (x - self.mean) / self.std
        phi = np.column_stack([np.ones(len(z)), z, position])
        d = phi.shape[1]
        f = np.zeros((len(z), 3, 3 * d))
        for a in range(3):
            f[:, a, a * d : (a + 1) * d] = phi
        return f

    def probs(self, x: np.ndarray, position: np.ndarray) -> np.ndarray:
        return softmax_linear_probs(self.theta, self.action_features(x, position))


@dataclass
class TradingRollout:
    """A batch of episodes from :func:`run_policy`, time-first ``[H, N]``."""

    features: np.ndarray  # [H, N, 3, D] f(s_t, a) for every action
    actions: np.ndarray  # [H, N]
    rewards: np.ndarray  # [H, N]
    positions: np.ndarray  # [H, N] position after the action
    phi: np.ndarray = field(repr=False, default=None)  # [H, N, d] baseline features


def run_policy(
    policy: TradingPolicy,
    prices: np.ndarray,
    x: np.ndarray,
    starts: np.ndarray,
    horizon: int,
    cost: float,
    rng: np.random.Generator | None = None,
    *,
    greedy: bool = False,
) -> TradingRollout:
    """Play ``len(starts)`` episodes of ``horizon`` steps at once, with the environment's
    accounting (the tests check it against :class:`StockTradingEnv` step by step).

    ``x [T, k]`` are the market features at every t (e.g. :func:`market_features`, optionally
    with extra columns); actions are sampled with ``rng`` (or argmax when ``greedy``).
    """
    starts = np.asarray(starts)
    if starts.min() < 0 or starts.max() + horizon > len(prices) - 1:
        raise ValueError(f"starts + horizon must stay inside the data (T={len(prices)})")
    logp = np.log(prices)
    n = len(starts)
    pos = np.zeros(n)
    feats, acts, rews, poss = [], [], [], []
    for h in range(horizon):
        t = starts + h
        f = policy.action_features(x[t], pos)
        probs = softmax_linear_probs(policy.theta, f)
        if greedy:
            a = probs.argmax(axis=1)
        else:
            a = (probs.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1).clip(max=2)
        new = next_position(pos, a).astype(np.float64)
        rews.append(new * (logp[t + 1] - logp[t]) - cost * np.abs(new - pos))
        feats.append(f)
        acts.append(a)
        poss.append(new)
        pos = new
    return TradingRollout(np.asarray(feats), np.asarray(acts), np.asarray(rews), np.asarray(poss))


@dataclass
class TrainResult:
    """What :func:`train_trading_policy` returns."""

    policy: TradingPolicy
    mean_return: np.ndarray  # per iteration: mean episode return (sum of log-returns)
    config: dict


def train_trading_policy(
    prices,
    x: np.ndarray,
    *,
    train_range: tuple[int, int],
    horizon: int = 60,
    cost: float = 0.001,
    iterations: int = 150,
    episodes: int = 64,
    lr: float = 0.05,
    gamma: float = 0.9,
    baseline: bool = True,
    lam: float | None = None,
    seed: int = 0,
) -> TrainResult:
    r"""Chapter 8: REINFORCE (chapter 1) for the softmax-linear :class:`TradingPolicy` — or,
    with ``lam``, the GAE actor-critic of chapter 5 with the same policy and critic.

    Each iteration plays ``episodes`` episodes of ``horizon`` days, each starting flat at a
    random day with its whole episode inside ``train_range = (lo, hi)`` (prices ``lo … hi``),
    and ascends

    .. math::
        \hat g = \frac1N \sum_i \sum_t \nabla_\theta \log\pi_\theta(a_t^i \mid s_t^i)
        \,\big(G_t^i - b(s_t^i)\big)

    with the analytic score :func:`~gaelib.core.policies.softmax_linear_score`, the discounted
    reward-to-go :math:`G_t` and, with ``baseline``, a linear value baseline :math:`b`
    (features φ(s) and the days left in the episode — the value of the rest of a 60-day episode
    depends on them; the policy does not see them) refitted by least squares after each use.
    Steps by Adam.

    With ``lam`` the weight of the score is instead the GAE advantage
    :math:`\hat A^{GAE(\gamma,\lambda)}_t` (:func:`~gaelib.core.advantages.compute_gae`) of that
    linear critic — the episode's last day terminates the finite-horizon task, whose state
    includes the days left — and the critic is refitted to the λ-returns
    :math:`\hat A_t + V(s_t)`. ``lam=1`` gives back REINFORCE with the baseline (up to float
    rounding).
    """
    p = check_prices(prices)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(p):
        raise ValueError(f"x must have shape [T={len(p)}, k], got {x.shape}")
    lo, hi = train_range
    if not (0 <= lo and hi < len(p) and hi - lo > horizon):
        raise ValueError(f"train_range must hold more than horizon={horizon} moves, got {lo, hi}")
    gamma = check_unit_interval("gamma", gamma)
    if lam is not None:
        lam = check_unit_interval("lam", lam)
    rng = np.random.default_rng(seed)
    seg = x[lo : hi + 1]
    policy = TradingPolicy(np.zeros(3 * (x.shape[1] + 2)), seg.mean(0), seg.std(0) + 1e-12)
    w = np.zeros(x.shape[1] + 3)
    m, v = np.zeros_like(policy.theta), np.zeros_like(policy.theta)
    history = []
    for it in range(iterations):
        starts = rng.integers(lo, hi - horizon + 1, size=episodes)
        ro = run_policy(policy, p, x, starts, horizon, cost, rng)
        done = np.zeros_like(ro.rewards, dtype=bool)
        done[-1] = True
        G = discounted_returns(ro.rewards, done, gamma=gamma)
        d = policy.n_features
        phi = np.concatenate(  # φ(s) of the state each action was taken in, + days left
            [
                ro.features[:, :, 0, :d].reshape(horizon, episodes, d),
                np.broadcast_to(
                    (horizon - np.arange(horizon))[:, None, None] / horizon,
                    (horizon, episodes, 1),
                ),
            ],
            axis=2,
        )
        if lam is None:
            adv = G - phi @ w if baseline else G
            target = G
        else:
            values = phi @ w
            next_values = np.concatenate([values[1:], np.zeros((1, episodes))])
            adv = compute_gae(ro.rewards, values, next_values, done, gamma=gamma, lam=lam)
            target = adv + values
        if baseline or lam is not None:
            A = phi.reshape(-1, len(w))
            w = np.linalg.solve(A.T @ A + 1e-3 * np.eye(len(w)), A.T @ target.ravel())
        score = softmax_linear_score(policy.theta, ro.features, ro.actions)
        grad = np.einsum("hn,hnd->d", adv, score) / episodes
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        step = lr * (m / (1 - 0.9 ** (it + 1))) / (np.sqrt(v / (1 - 0.999 ** (it + 1))) + 1e-8)
        policy.theta = policy.theta + step
        history.append(float(ro.rewards.sum(0).mean()))
    config = {
        "train_range": (lo, hi),
        "horizon": horizon,
        "cost": cost,
        "iterations": iterations,
        "episodes": episodes,
        "lr": lr,
        "gamma": gamma,
        "baseline": baseline,
        "lam": lam,
        "seed": seed,
    }
    return TrainResult(policy, np.asarray(history), config)
