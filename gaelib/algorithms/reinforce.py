r"""REINFORCE (Williams 1992), with and without a learned baseline — chapter 1.

.. math::
    \hat g = \frac{1}{N} \sum_{i=1}^{N} \sum_{t} \nabla_\theta \log \pi_\theta(a_t^i \mid s_t^i)
             \,\big(G_t^i - b(s_t^i)\big), \qquad
    G_t = \sum_{l \ge 0} \gamma^l r_{t+l} \ \text{(reward-to-go)},

followed by the update :math:`\theta \leftarrow \theta + \alpha \hat g` (the policy-gradient
article's eq. 4.1, here through Adam). With a baseline, :math:`b(s) = V_\phi(s)` is fitted to
the reward-to-go after each batch.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..core._validate import check_positive_int, check_unit_interval
from ..core.advantages import discounted_returns
from ..core.history import History
from ..core.policies import MLPPolicy, ValueNet
from ..core.rollouts import EpisodeBatch, collect_episodes, make_vector_env
from ..core.seeding import seed_everything

__all__ = ["reinforce_loss", "policy_gradient_estimate", "reinforce"]


def reinforce_loss(policy: MLPPolicy, batch: EpisodeBatch, weights: np.ndarray) -> torch.Tensor:
    r"""Chapter 1: the surrogate :math:`-\frac1N \sum_i \sum_t \log\pi_\theta(a^i_t|s^i_t)\,w^i_t`.

    Its gradient is minus the REINFORCE estimate :math:`\hat g` when ``weights`` are
    :math:`G_t - b(s_t)`. Masked (post-episode) steps are left out.
    """
    m = batch.mask
    obs = torch.as_tensor(batch.obs[m])
    act = torch.as_tensor(batch.actions[m])
    w = torch.as_tensor(np.asarray(weights)[m], dtype=torch.float32)
    logp = policy.dist(obs).log_prob(act)
    return -(logp * w).sum() / batch.mask.shape[1]


def _returns(batch: EpisodeBatch, gamma: float) -> np.ndarray:
    # ended = terminated | truncated | masked: no reward-to-go reaches past an episode's end.
    return discounted_returns(batch.rewards, batch.ended, gamma=gamma)


def _baseline(value: ValueNet | None, batch: EpisodeBatch) -> np.ndarray:
    if value is None:
        return np.zeros(batch.rewards.shape)
    with torch.no_grad():
        return value(torch.as_tensor(batch.obs)).numpy().astype(np.float64)


def policy_gradient_estimate(
    policy: MLPPolicy, batch: EpisodeBatch, *, gamma: float, value: ValueNet | None = None
) -> np.ndarray:
    """Chapter 1: the REINFORCE gradient estimate :math:`\\hat g` from one batch, flattened.

    With ``value`` the baseline :math:`b(s_t) = V(s_t)` is subtracted from the reward-to-go.
    """
    gamma = check_unit_interval("gamma", gamma)
    weights = _returns(batch, gamma) - _baseline(value, batch)
    policy.zero_grad()
    (-reinforce_loss(policy, batch, weights)).backward()
    return torch.cat([p.grad.flatten() for p in policy.parameters()]).numpy().copy()


def reinforce(
    env_id: str = "CartPole-v1",
    *,
    seed: int = 0,
    baseline: bool = True,
    iterations: int = 60,
    episodes_per_batch: int = 16,
    lr: float = 0.01,
    value_lr: float = 0.01,
    value_epochs: int = 5,
    gamma: float = 0.99,
    hidden: int = 32,
    progress: bool = False,
    env_kwargs: dict | None = None,
) -> History:
    """Chapter 1: train an MLP policy with REINFORCE (reward-to-go, optional learned baseline).

    Each iteration plays ``episodes_per_batch`` complete episodes (one per environment of a
    vector env), computes the reward-to-go :math:`G_t` with :func:`discounted_returns`, and
    takes one Adam step on :func:`reinforce_loss`. With ``baseline=True`` a value network
    :math:`V_\\phi` is fitted to :math:`G_t` (``value_epochs`` full-batch steps) after its
    current prediction was used as the baseline (so the baseline never depends on the action
    it is compared with).

    :func:`gaelib.algorithms.reinforce_grid.reinforce_grid` runs this same loop for several (seed,
    baseline) pairs at once, in lockstep, several times faster than calling this function
    for each.

    Returns:
        A :class:`History` (episode returns, environment steps, wall time, trained networks).
    """
    gamma = check_unit_interval("gamma", gamma)
    iterations = check_positive_int("iterations", iterations)
    n = check_positive_int("episodes_per_batch", episodes_per_batch)
    value_epochs = check_positive_int("value_epochs", value_epochs)
    for name, x in (("lr", lr), ("value_lr", value_lr)):
        if not (isinstance(x, int | float) and 0 < x < 1):
            raise ValueError(f"{name} must be a number in (0, 1), got {x!r}")
    rng = seed_everything(seed)
    envs = make_vector_env(env_id, n, env_kwargs)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    policy = MLPPolicy(obs_dim, int(envs.single_action_space.n), hidden)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    value = ValueNet(obs_dim, hidden) if baseline else None
    vopt = torch.optim.Adam(value.parameters(), lr=value_lr) if value is not None else None

    ep_returns, ep_steps, it_mean, it_steps = [], [], [], []
    steps = 0
    start = time.perf_counter()
    bar = range(iterations)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc=f"REINFORCE {'+ baseline ' if baseline else ''}seed {seed}")
    for it in bar:
        batch = collect_episodes(
            envs, lambda o: policy.act(o, rng), seed=seed * 100_003 + it if it == 0 else None
        )
        returns = _returns(batch, gamma)
        weights = returns - _baseline(value, batch)
        opt.zero_grad()
        reinforce_loss(policy, batch, weights).backward()
        opt.step()
        if value is not None:
            obs = torch.as_tensor(batch.obs[batch.mask])
            target = torch.as_tensor(returns[batch.mask], dtype=torch.float32)
            for _ in range(value_epochs):
                vopt.zero_grad()
                ((value(obs) - target) ** 2).mean().backward()
                vopt.step()
        steps += int(batch.mask.sum())
        r = batch.episode_returns
        ep_returns.extend(r.tolist())
        ep_steps.extend([steps] * len(r))
        it_mean.append(float(r.mean()))
        it_steps.append(steps)
        if progress:
            bar.set_postfix(mean_return=f"{r.mean():.0f}")
    envs.close()
    return History(
        episode_returns=np.asarray(ep_returns),
        episode_env_steps=np.asarray(ep_steps),
        iteration_mean_return=np.asarray(it_mean),
        iteration_env_steps=np.asarray(it_steps),
        wall_time=time.perf_counter() - start,
        policy=policy,
        value=value,
        config={
            "env_id": env_id,
            "seed": seed,
            "baseline": baseline,
            "iterations": iterations,
            "episodes_per_batch": n,
            "lr": lr,
            "gamma": gamma,
            "hidden": hidden,
        },
    )
