r"""Chapters 5 and 6 (explained in Appendix A): a whole grid of actor-critic or PPO runs — every
(γ, λ, seed) — in lockstep.

One run of :func:`gaelib.algorithms.actor_critic.actor_critic` on CartPole spends most of its time
on Python and NumPy call overhead for 8 small environments and a 2×64 network.
:func:`actor_critic_grid` trains K runs at once instead: one vector env of K × ``num_envs``
CartPoles steps all of them in one call, and K stacked networks act and learn through batched matrix
products. Each run is still the actor-critic of :func:`~gaelib.algorithms.actor_critic.actor_critic`
(one full-batch step per rollout on the valid steps, advantages normalised per run, global-norm
clipping and Adam per run, GAE by :func:`~gaelib.core.advantages.compute_gae` with that run's γ and
λ); only the random numbers are shared among the runs. ``tests/test_lockstep.py`` checks the batched
gradient against :class:`~gaelib.algorithms.numpy_ppo.NumpyPPOUpdate` run by run, and a one-run grid
against ``actor_critic`` itself.

Run k, with its own :math:`(\gamma_k, \lambda_k)` and weights, takes the steps of the single
run on its :math:`n_k` valid steps,

.. math::
    L_k = -\frac{1}{n_k}\sum_i \hat A^{GAE(\gamma_k,\lambda_k)}_i \log\pi_{\theta_k}(a_i \mid s_i)
          + \frac{c_v}{n_k}\sum_i \big(V_{\phi_k}(s_i) - G_i\big)^2,
    \qquad G_i = \hat A_i + V_{\phi_k}(s_i).

:func:`ppo_grid` runs PPO the same way (``epochs`` full-batch steps on the clipped surrogate
per rollout); a one-run grid reproduces :func:`gaelib.algorithms.ppo.ppo`. The stacked networks
and their gradient are :class:`gaelib.algorithms.batched_actor_critic.BatchedActorCritic`.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..core._validate import check_non_empty, check_positive_int, check_unit_interval
from ..core.advantages import compute_gae
from ..core.history import History
from ..core.policies import MLPPolicy, ValueNet
from ..core.rollouts import RolloutCollector, make_vector_env
from ..core.seeding import one_thread
from .batched_actor_critic import BatchedActorCritic

__all__ = ["actor_critic_grid", "ppo_grid"]


# One thread for torch and BLAS (as seed_everything sets): the batched products are small, and
# two threads sharing a core with another program spin-wait for each other.
@one_thread
def _lockstep_grid(
    algo: str,
    gammas,
    lams,
    seeds,
    *,
    env_id: str,
    total_steps: int,
    num_envs: int,
    n_steps: int,
    epochs: int,
    lr: float,
    lr_decay: bool,
    clip: float | None,
    vf_coef: float,
    max_grad_norm: float,
    hidden: int | tuple[int, ...],
    grid_seed: int,
    progress: bool,
) -> dict[tuple[float, float], list[History]]:
    """The lockstep loop behind :func:`actor_critic_grid` (``epochs=1, clip=None``) and
    :func:`ppo_grid`: every iteration collects one rollout for all K runs, then takes
    ``epochs`` full-batch steps per run (PPO's clip range decays with the learning rate)."""
    gammas = [check_unit_interval("gammas", g) for g in check_non_empty("gammas", gammas)]
    lams = [check_unit_interval("lams", x) for x in check_non_empty("lams", lams)]
    seeds = check_non_empty("seeds", seeds)
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
    total_steps = check_positive_int("total_steps", total_steps)
    ne = check_positive_int("num_envs", num_envs)
    n_steps = check_positive_int("n_steps", n_steps)
    epochs = check_positive_int("epochs", epochs)
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int | float)
                             or not 0 < clip <= 10):  # fmt: skip
        raise ValueError(f"clip must be a number in (0, 10] or None, got {clip!r}")
    if n_steps < 2:  # a reset step is never followed by another: 2 steps hold a valid one
        raise ValueError(f"n_steps must be >= 2 (every rollout needs a valid step), got {n_steps}")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr <= 1:
        raise ValueError(f"lr must be a number in (0, 1], got {lr!r}")
    for name, x in (("vf_coef", vf_coef), ("max_grad_norm", max_grad_norm)):
        if isinstance(x, bool) or not isinstance(x, int | float) or not 0 <= x < float("inf"):
            raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    if isinstance(grid_seed, bool) or not isinstance(grid_seed, int) or grid_seed < 0:
        raise ValueError(f"grid_seed must be a non-negative integer, got {grid_seed!r}")
    runs = [(g, lam, s) for g in gammas for lam in lams for s in seeds]
    K = len(runs)
    rng = np.random.default_rng(grid_seed)
    envs = make_vector_env(env_id, K * ne)
    collector = RolloutCollector(envs, seed=grid_seed)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    n_actions = int(envs.single_action_space.n)
    policies, values = [], []
    for _, _, s in runs:  # on one thread, as seed_everything sets: the same weights anywhere
        torch.manual_seed(s)  # the initial weights of actor_critic(seed=s)
        policies.append(MLPPolicy(obs_dim, n_actions, hidden, orthogonal=True))
        values.append(ValueNet(obs_dim, hidden, orthogonal=True))
    learner = BatchedActorCritic(policies, values, vf_coef=vf_coef, max_grad_norm=max_grad_norm)
    groups: dict[tuple[float, float], np.ndarray] = {}
    for k, (g, lam, _) in enumerate(runs):  # columns of the vector env that belong to (γ, λ)
        cols = np.arange(k * ne, (k + 1) * ne)
        groups[(g, lam)] = np.concatenate([groups.get((g, lam), np.zeros(0, int)), cols])
    iterations = max(1, total_steps // (ne * n_steps))
    steps = np.zeros(K, dtype=np.int64)
    ep_returns = [[] for _ in range(K)]
    ep_steps = [[] for _ in range(K)]
    it_mean = np.full((iterations, K), np.nan)
    it_steps = np.zeros((iterations, K), dtype=np.int64)
    start = time.perf_counter()
    bar = range(iterations)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc=f"{K} {algo} runs in lockstep")

    passes: list[tuple[list[np.ndarray], np.ndarray]] = []  # this rollout's acting passes

    def act(obs: np.ndarray) -> np.ndarray:  # the sampling rule of MLPPolicy.act
        hs, p = learner.policy_forward(obs.reshape(K, ne, obs_dim).astype(np.float32))
        passes.append((hs, p))
        p = p.reshape(K * ne, -1)
        u = rng.random((p.shape[0], 1))
        return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), n_actions - 1)

    def by_run(x: np.ndarray) -> np.ndarray:  # [T, K*ne, ...] -> [K, T*ne, ...]
        T = x.shape[0]
        return x.reshape(T, K, ne, *x.shape[2:]).swapaxes(0, 1).reshape(K, T * ne, *x.shape[2:])

    for it in bar:
        n_ep = len(collector.episode_returns)
        passes.clear()
        ro = collector.collect(act, n_steps)
        T = n_steps
        o_run = by_run(ro.obs)
        # One step per rollout, so the policy's passes made while acting are the gradient's
        # (run k's steps t-major, as by_run orders them), and so is the critic's pass on the
        # rollout's observations. With next-step autoreset next_obs[t] is obs[t + 1]: only the
        # observations after the last step need a pass of their own.
        policy_pass = (
            [np.concatenate([hs[i] for hs, _ in passes], axis=1) for i in range(len(passes[0][0]))],
            np.concatenate([p for _, p in passes], axis=1),
        )
        value_pass = learner.value_forward(o_run)
        v_last = learner.values(ro.next_obs[-1].reshape(K, ne, obs_dim))
        v = value_pass[1].astype(np.float64)
        nv = np.concatenate([v[:, ne:], v_last], axis=1)
        v_t, nv_t = (x.reshape(K, T, ne).swapaxes(0, 1).reshape(T, K * ne) for x in (v, nv))
        adv = np.empty((T, K * ne))
        for (g, lam), cols in groups.items():
            adv[:, cols] = compute_gae(ro.rewards[:, cols], v_t[:, cols], nv_t[:, cols],
                                       ro.cut[:, cols], ro.truncated[:, cols],
                                       gamma=g, lam=lam)  # fmt: skip
        ret = adv + v_t
        mask = by_run(ro.mask)
        frac = 1.0 - it / iterations if lr_decay else 1.0
        a_run, adv_run, ret_run = by_run(ro.actions), by_run(adv), by_run(ret)
        old_logp = None
        if clip is not None:  # log π_old(a|s) from the acting pass (floored: finite everywhere)
            p_a = np.take_along_axis(policy_pass[1], a_run[..., None], axis=-1)[..., 0]
            old_logp = np.log(np.maximum(p_a, np.finfo(np.float32).tiny))
        for epoch in range(epochs):
            for k in range(K):  # ppo draws its minibatch order here; keep the stream
                rng.permutation(int(mask[k].sum()))
            first = epoch == 0  # the acting passes are the gradient's until the first step
            learner.step(o_run, a_run, mask, adv_run.astype(np.float32),
                         ret_run.astype(np.float32), lr=lr * frac,
                         policy_pass=policy_pass if first else None,
                         value_pass=value_pass if first else None, old_logp=old_logp,
                         clip=None if clip is None else clip * frac)  # fmt: skip
        # per-run bookkeeping: finished episodes, environment steps
        valid_per_t = ro.mask.reshape(T, K, ne).sum(axis=2)  # [T, K]
        cum = steps[None, :] + np.cumsum(valid_per_t, axis=0)
        new_returns = collector.episode_returns[n_ep:]
        ended = (ro.terminated | ro.truncated) & ro.mask
        for (t, col), r in zip(np.argwhere(ended), new_returns, strict=True):
            k = col // ne
            ep_returns[k].append(r)
            ep_steps[k].append(int(cum[t, k]))
        steps = cum[-1]
        it_steps[it] = steps
        for k in range(K):
            if ep_returns[k]:
                it_mean[it, k] = np.mean(ep_returns[k][-20:])
        if progress:
            bar.set_postfix(mean_return=f"{np.nanmean(it_mean[it]):.0f}")
    envs.close()
    learner.copy_into(policies, values)
    wall = time.perf_counter() - start
    out: dict[tuple[float, float], list[History]] = {(g, lam): [] for g in gammas for lam in lams}
    for k, (g, lam, s) in enumerate(runs):
        out[(g, lam)].append(
            History(
                episode_returns=np.asarray(ep_returns[k]),
                episode_env_steps=np.asarray(ep_steps[k]),
                iteration_mean_return=it_mean[:, k].copy(),
                iteration_env_steps=it_steps[:, k].copy(),
                wall_time=wall,
                policy=policies[k],
                value=values[k],
                config={
                    "algo": algo,
                    "epochs": epochs,
                    "clip": clip,
                    "env_id": env_id,
                    "seed": s,
                    "gamma": g,
                    "lam": lam,
                    "total_steps": total_steps,
                    "num_envs": ne,
                    "n_steps": n_steps,
                    "lr": lr,
                    "hidden": hidden,
                    "grid_seed": grid_seed,
                    "grid_runs": K,
                },
            )  # fmt: skip
        )
    return out


def actor_critic_grid(
    gammas,
    lams,
    seeds,
    *,
    env_id: str = "CartPole-v1",
    total_steps: int = 30_000,
    num_envs: int = 8,
    n_steps: int = 32,
    lr: float = 3e-3,
    lr_decay: bool = True,
    vf_coef: float = 0.5,
    max_grad_norm: float = 0.5,
    hidden: int | tuple[int, ...] = (64, 64),
    grid_seed: int = 0,
    progress: bool = False,
) -> dict[tuple[float, float], list[History]]:
    """Chapter 5: :func:`~gaelib.algorithms.actor_critic.actor_critic` for every (γ, λ, seed), all
    at once.

    Run (γ, λ, s) starts from the same weights as ``actor_critic(seed=s)`` (orthogonal
    initialisation under ``torch.manual_seed(s)``) and follows the same algorithm: one
    full-batch step per rollout — ``actor_critic`` with ``minibatch_size >= num_envs *
    n_steps`` (its default 256 covers the default 8 × 32) and the settings passed here (the
    defaults here are chapter 5's, not ``actor_critic``'s). The environments' and the actions'
    random numbers come from one stream seeded by ``grid_seed`` (CartPole's vector env has one
    generator for all its copies), so a run's episodes also depend on which other runs share
    the grid. A grid of one run, with ``grid_seed`` equal to its seed, plays the same episodes
    as ``actor_critic`` for its first updates, with weights equal to float32 rounding (the
    batched products round differently, so over a long run the two drift apart).

    Returns:
        ``{(gamma, lam): [History per seed]}``, each History as ``actor_critic`` returns it
        (episode returns and the mean of the last 20 per update, per-run environment steps,
        the trained networks; ``wall_time`` is the whole grid's).
    """
    return _lockstep_grid("actor-critic", gammas, lams, seeds, env_id=env_id,
                          total_steps=total_steps, num_envs=num_envs, n_steps=n_steps, epochs=1,
                          lr=lr, lr_decay=lr_decay, clip=None, vf_coef=vf_coef,
                          max_grad_norm=max_grad_norm, hidden=hidden, grid_seed=grid_seed,
                          progress=progress)  # fmt: skip


def ppo_grid(
    gammas,
    lams,
    seeds,
    *,
    env_id: str = "CartPole-v1",
    total_steps: int = 30_000,
    num_envs: int = 8,
    n_steps: int = 32,
    epochs: int = 20,
    lr: float = 1e-3,
    lr_decay: bool = True,
    clip: float = 0.2,
    vf_coef: float = 0.5,
    max_grad_norm: float = 0.5,
    hidden: int | tuple[int, ...] = (64, 64),
    grid_seed: int = 0,
    progress: bool = False,
) -> dict[tuple[float, float], list[History]]:
    """Chapter 6: :func:`~gaelib.algorithms.ppo.ppo` for every (γ, λ, seed), all at once.

    The same lockstep engine as :func:`actor_critic_grid`, with PPO's update: each rollout is
    used for ``epochs`` full-batch steps on the clipped surrogate (ε = ``clip``, decayed
    linearly to 0 with the learning rate when ``lr_decay``), advantages standardised over
    the run's valid steps. That is ``ppo`` with ``minibatch_size >= num_envs * n_steps`` (its
    default 256 covers the default 8 × 32: one minibatch per epoch); the other defaults are
    ``ppo``'s (rl-baselines3-zoo's CartPole settings). Run (γ, λ, s) starts from the weights of
    ``ppo(seed=s)``; a grid of one run with ``grid_seed`` equal to its seed plays the same
    episodes as ``ppo`` for its first updates, with weights equal to float32 rounding.

    Returns ``{(gamma, lam): [History per seed]}`` as :func:`actor_critic_grid` does.
    """
    return _lockstep_grid("ppo", gammas, lams, seeds, env_id=env_id, total_steps=total_steps,
                          num_envs=num_envs, n_steps=n_steps, epochs=epochs, lr=lr,
                          lr_decay=lr_decay, clip=clip, vf_coef=vf_coef,
                          max_grad_norm=max_grad_norm, hidden=hidden, grid_seed=grid_seed,
                          progress=progress)  # fmt: skip
