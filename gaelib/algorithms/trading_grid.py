r"""Chapter 8: :func:`gaelib.algorithms.trading.train_trading_policy` for many runs at once.

The lockstep version trains K runs — K seeds, or K price series — at once, as chapter 5's
:mod:`gaelib.algorithms.lockstep` does for CartPole:
:class:`gaelib.worlds.stock_batch.BatchedTradingEnv` steps K × E episodes in one NumPy call
per day, :func:`run_policies` acts for K stacked policies, and :func:`train_trading_policies`
is ``train_trading_policy`` for K runs, each with its own random stream, so that run k of a
lockstep batch is the single run with seed k (up to float rounding: sums are taken in
another order).

The policy gradient of each run is REINFORCE's,
:math:`\hat g = \frac1E\sum_e\sum_t \nabla_\theta\log\pi_\theta(a_t|s_t)\,\hat A_t`, with
:math:`\hat A_t` the reward-to-go minus a baseline, or GAE(γ, λ) over a linear critic's
residuals when ``lam`` is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core._validate import check_positive_int, check_unit_interval
from ..core.advantages import compute_gae, discounted_returns
from ..worlds.stock_batch import BatchedTradingEnv, stack_series
from .trading import TradingPolicy, TrainResult

__all__ = ["BatchRollout", "run_policies", "train_trading_policies"]


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
        _, r, _ = env.step(a, observe=False, check=False)
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
    r"""Chapter 8: K softmax-linear policies (policy k acts in ``env``'s series k) play E
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
    r"""Chapter 8: :func:`train_trading_policy` for K runs at once, in lockstep.

    Run k trains on ``prices[k]`` with features ``x[k]`` (or on the one series given, for
    every run) with ``seeds[k]`` — its own random stream, drawn in the single run's order —
    and ascends the same estimate,

    .. math::
        \hat g_k = \frac1E \sum_{e=1}^{E} \sum_t \big(e_{a_t} - \pi_{\theta_k}(\cdot \mid s_t)\big)
        \otimes \varphi(s_t)\; \hat A_t,

    the score of the softmax-linear policy written as an outer product (it is
    :func:`~gaelib.core.policies.softmax_linear_score` for :math:`f(s, a) = e_a \otimes
    \varphi(s)`), with :math:`\hat A` the reward-to-go minus the linear baseline (``lam=None``) or
    the GAE advantage of the linear critic (``lam``), by Adam with the same settings. One
    :class:`BatchedTradingEnv` step per day serves all K × E episodes, and the K
    least-squares fits are one batched solve. Run k of the result equals
    ``train_trading_policy(prices[k], x[k], seed=seeds[k], ...)`` up to float rounding (sums
    taken in another order); ``tests/test_stock.py`` checks it.

    ``progress``: show a tqdm bar over iterations (a string is its description).
    """
    p, f = stack_series(prices, x)
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
