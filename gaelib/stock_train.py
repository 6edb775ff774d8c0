r"""Chapter 6: the softmax-linear trading policy, its vectorised simulator, and its training.

Split from :mod:`gaelib.stock` (the environment, the data, the article's pieces and the
baselines), which re-exports everything here: ``gaelib.stock.train_trading_policy`` is this
module's :func:`train_trading_policy`. :func:`run_policy` simulates many episodes at once with
the accounting of :class:`~gaelib.stock.StockTradingEnv` (checked against it in
``tests/test_stock.py``); :func:`train_trading_policy` trains chapter 1's softmax-linear
policy on it with REINFORCE, or with GAE advantages when given ``lam``.

The lockstep versions train many runs — K seeds, or K price series — at once, as chapter 5's
:mod:`gaelib.sweeps` does for CartPole: :class:`BatchedTradingEnv` steps K × E episodes in one
NumPy call per day (checked against the gymnasium environment ``gaelib/StockTrading-v0``
reward by reward), :func:`run_policies` acts for K stacked policies, and
:func:`train_trading_policies` is :func:`train_trading_policy` for K runs, each with its own
random stream, so that run k of a lockstep batch is the single run with seed k (up to
float rounding: sums are taken in another order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._validate import check_positive_int, check_unit_interval
from .advantages import compute_gae, discounted_returns
from .policies import softmax_linear_probs, softmax_linear_score
from .stock import BUY, SELL, check_prices, next_position

__all__ = [
    "TradingPolicy",
    "run_policy",
    "TrainResult",
    "train_trading_policy",
    "BatchedTradingEnv",
    "BatchRollout",
    "run_policies",
    "train_trading_policies",
]


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
class Rollout:
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
) -> Rollout:
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
    return Rollout(np.asarray(feats), np.asarray(acts), np.asarray(rews), np.asarray(poss))


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
    r"""Chapter 6: REINFORCE (chapter 1) for the softmax-linear :class:`TradingPolicy` — or,
    with ``lam``, the GAE actor-critic of chapter 5 with the same policy and critic.

    Each iteration plays ``episodes`` episodes of ``horizon`` days, each starting flat at a
    random day with its whole episode inside ``train_range = (lo, hi)`` (prices ``lo … hi``),
    and ascends

    .. math::
        \hat g = \frac1N \sum_i \sum_t \nabla_\theta \log\pi_\theta(a_t^i \mid s_t^i)
        \,\big(G_t^i - b(s_t^i)\big)

    with the analytic score :func:`~gaelib.policies.softmax_linear_score`, the discounted
    reward-to-go :math:`G_t` and, with ``baseline``, a linear value baseline :math:`b`
    (features φ(s) and the days left in the episode — the value of the rest of a 60-day episode
    depends on them; the policy does not see them) refitted by least squares after each use.
    Steps by Adam.

    With ``lam`` the weight of the score is instead the GAE advantage
    :math:`\hat A^{GAE(\gamma,\lambda)}_t` (:func:`~gaelib.advantages.compute_gae`) of that
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


# ------------------------------------------------------------------ lockstep: K runs at once


def _stack_series(prices, x, x_name: str = "x") -> tuple[np.ndarray, np.ndarray]:
    """``prices [K, T]`` and ``x [K, T, k]`` from one series (``[T]``, ``[T, k]``) or K."""
    p = np.asarray(prices, dtype=np.float64)
    if p.ndim == 1:
        p = p[None]
    if p.ndim != 2:
        raise ValueError(f"prices must have shape [T] or [K, T], got {p.shape}")
    for k, row in enumerate(p):
        check_prices(row, f"prices[{k}]")
    f = np.asarray(x, dtype=np.float64)
    if f.ndim == 2:
        f = f[None]
    if f.ndim != 3 or f.shape[1] != p.shape[1]:
        raise ValueError(
            f"{x_name} must have shape [T={p.shape[1]}, k] or [K, T, k], got {f.shape}"
        )
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{x_name} must be finite")
    if len(p) != len(f):
        if len(p) == 1:
            p = np.repeat(p, len(f), axis=0)
        elif len(f) == 1:
            f = np.repeat(f, len(p), axis=0)
        else:
            raise ValueError(
                f"prices ({len(p)} series) and {x_name} ({len(f)}) must have the same K"
            )
    return p, f


class BatchedTradingEnv:
    r"""Chapter 6: K price series × E episodes of :class:`~gaelib.stock.StockTradingEnv`'s
    accounting, stepped together by a few NumPy operations per day.

    Run k trades ``prices[k]`` and observes ``features[k]``; its E episodes start flat at the
    days ``starts[k, e]`` given to :meth:`reset` and last ``horizon`` steps. Each :meth:`step`
    moves every episode one day:

    .. math::
        r_{ke} = \mathrm{pos}_{ke} \log\frac{P_{k,t+1}}{P_{k,t}}
                 - c\,\lvert \mathrm{pos}_{ke} - \mathrm{pos}^{\mathrm{prev}}_{ke} \rvert,

    with the position after the action (0 sell = go flat, 1 hold, 2 buy = go long). The
    observation ``[K, E, k + 1]`` is ``features[k, t]`` and the position — with
    ``features = market_features(prices, window, ma_window)`` the gymnasium environment's
    observation (in float64 instead of float32); the rewards are the environment's to the last
    bit (``tests/test_stock.py`` plays both side by side). ``t [K, E]`` and
    ``position [K, E]`` are every episode's current day and position.

    Args:
        prices: ``[T]`` (one series for every run) or ``[K, T]``, positive and finite.
        features: ``[T, k]`` or ``[K, T, k]``, row t using prices up to t only.
        cost: proportional cost per change of position (≥ 0).
    """

    def __init__(self, prices, features, cost: float):
        self.prices, self.features = _stack_series(prices, features, "features")
        if isinstance(cost, bool) or not isinstance(cost, int | float) or not cost >= 0:
            raise ValueError(f"cost must be a non-negative number, got {cost!r}")
        if not np.isfinite(cost):
            raise ValueError(f"cost must be finite, got {cost!r}")
        self.cost = float(cost)
        p = self.prices
        self.n_runs, self.n_days = p.shape
        # the env's log(P[t+1] / P[t]), flat: run k's day t is entry k·T + t
        moves = np.log(p[:, 1:] / p[:, :-1])
        self._moves = np.concatenate([moves, np.zeros((self.n_runs, 1))], axis=1).ravel()
        self._flat_features = self.features.reshape(self.n_runs * self.n_days, -1)
        self.offset = (np.arange(self.n_runs) * self.n_days)[:, None]  # [K, 1]
        self.t = self.position = None
        self.steps_left = 0

    def observation(self) -> np.ndarray:
        """``[K, E, k + 1]``: ``features[k, t]`` and the position, for every episode."""
        x = self._flat_features[self.offset + self.t]
        return np.concatenate([x, self.position[..., None]], axis=-1)

    def reset(self, starts, horizon: int) -> np.ndarray:
        """Start every episode flat at ``starts [K, E]`` for ``horizon`` steps (all inside the
        data: ``starts + horizon ≤ T - 1``). Returns the observations ``[K, E, k + 1]``."""
        horizon = check_positive_int("horizon", horizon)
        starts = np.asarray(starts)
        if (
            starts.ndim != 2
            or len(starts) != self.n_runs
            or not np.issubdtype(starts.dtype, np.integer)
        ):
            raise ValueError(f"starts must be integers of shape [K={self.n_runs}, E], got {starts}")
        if starts.min() < 0 or starts.max() + horizon > self.n_days - 1:
            raise ValueError(
                f"starts + horizon must stay inside the data (T={self.n_days}), got "
                f"starts in [{starts.min()}, {starts.max()}] and horizon {horizon}"
            )
        self.t = starts.astype(np.int64)
        self.position = np.zeros(starts.shape)
        # each episode's log-moves, day by day: [horizon, K, E]
        self._episode_moves = self._moves[self.offset + self.t + np.arange(horizon)[:, None, None]]
        self._h = 0
        self.steps_left = horizon
        return self.observation()

    def step(self, actions: np.ndarray, *, observe: bool = True):
        """Apply ``actions [K, E]`` (0 sell, 1 hold, 2 buy). Returns the observations (``None``
        with ``observe=False``), the rewards ``[K, E]`` and ``truncated`` (True on the last of
        the ``horizon`` steps)."""
        if self.steps_left <= 0:
            raise ValueError("step called after the last step of the horizon; call reset")
        actions = np.asarray(actions)
        if actions.shape != self.t.shape:
            raise ValueError(f"actions must have shape {self.t.shape}, got {actions.shape}")
        if not np.issubdtype(actions.dtype, np.integer) or np.any((actions < 0) | (actions > 2)):
            raise ValueError("actions must be integers 0 (sell), 1 (hold) or 2 (buy)")
        return self._step(actions, observe)

    def _step(self, actions: np.ndarray, observe: bool):
        # step without the checks, for the rollout loop (its actions are valid by construction)
        new = np.where(actions == SELL, 0.0, np.where(actions == BUY, 1.0, self.position))
        move = self._episode_moves[self._h]
        rewards = new * move - self.cost * np.abs(new - self.position)
        self.position = new
        self.t = self.t + 1
        self._h += 1
        self.steps_left -= 1
        return self.observation() if observe else None, rewards, self.steps_left == 0


@dataclass
class BatchRollout:
    """K runs × E episodes from :func:`run_policies`, time-first ``[H, K, E, ...]``."""

    days: np.ndarray  # [H, K, E] the day t of each step
    probs: np.ndarray  # [H, K, E, 3] π(· | s_t)
    actions: np.ndarray  # [H, K, E]
    rewards: np.ndarray  # [H, K, E]
    positions: np.ndarray  # [H, K, E] position after the action

    @property
    def positions_before(self) -> np.ndarray:
        """``[H, K, E]``: the position in s_t (before the action; episodes start flat)."""
        return np.concatenate([np.zeros_like(self.positions[:1]), self.positions[:-1]])


def _standardise(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` per run: ``[K, T, k]``, exactly as :class:`TradingPolicy` does."""
    return (features - mean[:, None, :]) / std[:, None, :]


def _policy_tables(theta: np.ndarray, z: np.ndarray) -> np.ndarray:
    r""":math:`\pi_{\theta_k}(a \mid s)` for every run k, day t and position (flat, long):
    ``[2, 3, K·T]`` (position, action, flat day). The state is the day's features and the
    position, which is 0 or 1, so one softmax per iteration over all days replaces one per step.
    """
    K, d = theta.shape[0], theta.shape[1] // 3
    th = theta.reshape(K, 3, d)
    market = z @ th[:, :, 1:-1].transpose(0, 2, 1) + th[:, None, :, 0]  # [K, T, 3]
    market = market.transpose(2, 0, 1).reshape(3, -1)  # [3, K·T]: actions first
    pos_w = np.repeat(th[:, :, -1].T, z.shape[1], axis=1)  # [3, K·T]: θ_a's position weight
    tables = np.empty((2, *market.shape))
    for pos in (0, 1):
        logits = market + pos * pos_w
        e = np.exp(logits - np.maximum(np.maximum(logits[0], logits[1]), logits[2]))
        tables[pos] = e / (e[0] + e[1] + e[2])  # as softmax_linear_probs, summed in its order
    return tables


def _rollout(theta, z, env, starts, horizon, uniforms) -> BatchRollout:
    """The loop of :func:`run_policies` on stacked parameters ``theta [K, 3·d]`` and
    standardised features ``z [K, T, k]``."""
    tables = _policy_tables(theta, z)
    env.reset(starts, horizon)
    days = starts[None] + np.arange(horizon)[:, None, None]  # [H, K, E]
    probs = tables[:, :, env.offset[None] + days]  # [2, 3, H, K, E]
    if uniforms is not None:  # inverse CDF, as run_policy samples: a = #{b : π_0+…+π_b < u}
        cdf0, cdf1 = probs[:, 0], probs[:, 0] + probs[:, 1]  # [2, H, K, E]
    acts, rews, poss = [], [], []
    for h in range(horizon):
        flat = env.position == 0.0
        if uniforms is None:
            a = np.where(flat, probs[0, :, h], probs[1, :, h]).argmax(axis=0)
        else:
            u = uniforms[h]
            below0 = np.where(flat, cdf0[0, h], cdf0[1, h]) < u
            below1 = np.where(flat, cdf1[0, h], cdf1[1, h]) < u
            a = np.where(below0, np.where(below1, 2, 1), 0)
        _, r, _ = env._step(a, observe=False)
        acts.append(a)
        rews.append(r)
        poss.append(env.position)
    ro = BatchRollout(days, None, np.asarray(acts), np.asarray(rews), np.asarray(poss))
    ro.probs = np.moveaxis(np.where(ro.positions_before == 0.0, probs[0], probs[1]), 0, -1)
    return ro


def run_policies(
    policies: Sequence[TradingPolicy],
    env: BatchedTradingEnv,
    starts,
    horizon: int,
    uniforms: np.ndarray | None = None,
) -> BatchRollout:
    r"""Chapter 6: K softmax-linear policies (policy k acts in ``env``'s series k) play E
    episodes each, in lockstep, from flat at ``starts [K, E]`` for ``horizon`` days.

    Policy k's action is drawn from :math:`\pi_{\theta_k}(\cdot \mid s)` by the inverse CDF,
    :math:`a = \#\{b : \sum_{b' \le b} \pi(b') < u\}` (at most 2) with ``uniforms
    [horizon, K, E]`` in [0, 1) — the sampling of :func:`run_policy`, which draws
    ``rng.random((E, 1))`` each day, so ``rng.random((horizon, E))`` reproduces it — or is the
    argmax when ``uniforms`` is ``None`` (greedy).
    """
    if len(policies) != env.n_runs or not all(isinstance(p, TradingPolicy) for p in policies):
        raise ValueError(f"policies must be {env.n_runs} TradingPolicy objects (one per run)")
    k = env.features.shape[2]
    theta = np.stack([np.asarray(p.theta, dtype=np.float64) for p in policies])
    if theta.shape[1] != 3 * (k + 2) or any(np.shape(p.mean) != (k,) for p in policies):
        raise ValueError(
            f"policies must have 3·(k+2) = {3 * (k + 2)} weights and k={k} means and stds for "
            f"the env's features, got {theta.shape[1]} weights"
        )
    horizon = check_positive_int("horizon", horizon)
    starts = np.asarray(starts)
    if uniforms is not None:
        uniforms = np.asarray(uniforms, dtype=np.float64)
        if uniforms.shape != (horizon, *starts.shape):
            raise ValueError(
                f"uniforms must have shape [horizon, K, E] = {(horizon, *starts.shape)}, "
                f"got {uniforms.shape}"
            )
        if not np.all((uniforms >= 0) & (uniforms < 1)):
            raise ValueError("uniforms must lie in [0, 1)")
    mean = np.stack([p.mean for p in policies])
    std = np.stack([p.std for p in policies])
    z = _standardise(env.features, mean, std)
    return _rollout(theta, z, env, starts, horizon, uniforms)


def train_trading_policies(
    prices,
    x,
    *,
    seeds: Sequence[int],
    train_range: tuple[int, int],
    horizon: int = 60,
    cost: float = 0.001,
    iterations: int = 150,
    episodes: int = 64,
    lr: float = 0.05,
    gamma: float = 0.9,
    baseline: bool = True,
    lam: float | None = None,
    progress: bool | str = False,
) -> list[TrainResult]:
    r"""Chapter 6: :func:`train_trading_policy` for K runs at once, in lockstep.

    Run k trains on ``prices[k]`` with features ``x[k]`` (or on the one series given, for
    every run) with ``seeds[k]`` — its own random stream, drawn in the single run's order —
    and ascends the same estimate,

    .. math::
        \hat g_k = \frac1E \sum_{e=1}^{E} \sum_t \big(e_{a_t} - \pi_{\theta_k}(\cdot \mid s_t)\big)
        \otimes \varphi(s_t)\; \hat A_t,

    the score of the softmax-linear policy written as an outer product (it is
    :func:`~gaelib.policies.softmax_linear_score` for :math:`f(s, a) = e_a \otimes \varphi(s)`),
    with :math:`\hat A` the reward-to-go minus the linear baseline (``lam=None``) or the GAE
    advantage of the linear critic (``lam``), by Adam with the same settings. One
    :class:`BatchedTradingEnv` step per day serves all K × E episodes, and the K
    least-squares fits are one batched solve. Run k of the result equals
    ``train_trading_policy(prices[k], x[k], seed=seeds[k], ...)`` up to float rounding (sums
    taken in another order); ``tests/test_stock.py`` checks it.

    ``progress``: show a tqdm bar over iterations (a string is its description).
    """
    p, f = _stack_series(prices, x)
    seeds = list(seeds)
    if not seeds or not all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s >= 0 for s in seeds
    ):
        raise ValueError(
            f"seeds must be a non-empty sequence of non-negative integers, got {seeds}"
        )
    if len(p) == 1:
        p, f = np.repeat(p, len(seeds), axis=0), np.repeat(f, len(seeds), axis=0)
    if len(p) != len(seeds):
        raise ValueError(f"seeds must give one seed per series (K={len(p)}), got {len(seeds)}")
    horizon = check_positive_int("horizon", horizon)
    iterations = check_positive_int("iterations", iterations)
    episodes = check_positive_int("episodes", episodes)
    lo, hi = train_range
    if not (0 <= lo and hi < p.shape[1] and hi - lo > horizon):
        raise ValueError(f"train_range must hold more than horizon={horizon} moves, got {lo, hi}")
    gamma = check_unit_interval("gamma", gamma)
    if lam is not None:
        lam = check_unit_interval("lam", lam)
    K, E, H = len(seeds), episodes, horizon
    rngs = [np.random.default_rng(int(s)) for s in seeds]
    env = BatchedTradingEnv(p, f, cost)
    seg = f[:, lo : hi + 1]
    mean, std = seg.mean(1), seg.std(1) + 1e-12
    z = _standardise(f, mean, std)
    z_flat = z.reshape(K * env.n_days, -1)
    d = f.shape[2] + 2
    theta = np.zeros((K, 3 * d))
    w = np.zeros((K, d + 1))
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    done = np.zeros((H, K * E), dtype=bool)
    done[-1] = True
    # critic features [1, z, position, days left]; the policy's φ(s) is the first d
    A = np.empty((K, H, E, d + 1))
    A[..., 0] = 1.0
    A[..., d] = ((H - np.arange(H)) / H)[None, :, None]
    ridge = 1e-3 * np.eye(d + 1)
    history = np.zeros((iterations, K))
    bar = range(iterations)
    if progress:
        from tqdm.auto import tqdm

        desc = progress if isinstance(progress, str) else f"{K} trading runs in lockstep"
        bar = tqdm(bar, desc=desc)
    for it in bar:
        starts = np.stack([rng.integers(lo, hi - horizon + 1, size=E) for rng in rngs])
        uniforms = np.stack([rng.random((H, E)) for rng in rngs], axis=1)  # [H, K, E]
        ro = _rollout(theta, z, env, starts, H, uniforms)
        A[..., 1 : d - 1] = z_flat[env.offset[:, None] + ro.days.transpose(1, 0, 2)]
        A[..., d - 1] = ro.positions_before.transpose(1, 0, 2)
        rows = A.reshape(K, H * E, d + 1)
        rewards = ro.rewards.reshape(H, K * E)
        G = discounted_returns(rewards, done, gamma=gamma)  # [H, K·E]
        values = (rows @ w[:, :, None]).reshape(K, H, E).transpose(1, 0, 2).reshape(H, K * E)
        if lam is None:
            adv = G - values if baseline else G
            target = G
        else:
            next_values = np.concatenate([values[1:], np.zeros((1, K * E))])
            adv = compute_gae(rewards, values, next_values, done, gamma=gamma, lam=lam)
            target = adv + values
        if baseline or lam is not None:
            b = target.reshape(H, K, E).transpose(1, 0, 2).reshape(K, H * E, 1)
            rows_t = rows.transpose(0, 2, 1)
            w = np.linalg.solve(rows_t @ rows + ridge, rows_t @ b)[..., 0]
        # adv · (e_a − π(·|s)) for each action: [K, 3, H·E]
        onehot = ro.actions[..., None] == np.arange(3)
        coef = ((onehot - ro.probs) * adv.reshape(H, K, E)[..., None]).transpose(1, 3, 0, 2)
        grad = (coef.reshape(K, 3, H * E) @ rows[..., :d]).reshape(K, 3 * d) / E
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        step = lr * (m / (1 - 0.9 ** (it + 1))) / (np.sqrt(v / (1 - 0.999 ** (it + 1))) + 1e-8)
        theta = theta + step
        history[it] = ro.rewards.sum(0).mean(1)
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
    }
    return [
        TrainResult(
            TradingPolicy(theta[k].copy(), mean[k], std[k]),
            history[:, k].copy(),
            config | {"seed": int(seeds[k])},
        )
        for k in range(K)
    ]
