r"""Chapter 5: a whole grid of actor-critic runs — every (γ, λ, seed) — trained in lockstep.

One run of :func:`gaelib.agents.actor_critic` on CartPole spends most of its time on Python
and NumPy call overhead for 8 small environments and a 2×64 network. :func:`actor_critic_grid`
trains K runs at once instead: one vector env of K × ``num_envs`` CartPoles steps all of them
in one call, and K stacked networks act and learn through batched matrix products. Each run
is still the actor-critic of :func:`~gaelib.agents.actor_critic` (one full-batch step
per rollout on the valid steps, advantages normalised per run, global-norm clipping and Adam
per run, GAE by :func:`~gaelib.advantages.compute_gae` with that run's γ and λ); only the
random numbers are shared among the runs. ``tests/test_sweeps.py`` checks the batched
gradient against :class:`~gaelib.backprop.NumpyPPOUpdate` run by run, and a one-run grid
against ``actor_critic`` itself.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from torch import nn

from ._validate import check_non_empty, check_positive_int, check_unit_interval
from .advantages import compute_gae
from .agents import History, make_vector_env
from .backprop import clip_and_adam, mlp_backward, mlp_forward
from .policies import MLPPolicy, ValueNet
from .rollouts import RolloutCollector
from .seeding import one_thread

__all__ = ["BatchedActorCritic", "actor_critic_grid", "ppo_grid", "train_in_background"]


def _stack(modules: list[nn.Module]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W [K, out, in], b [K, 1, out]), ...]`` float32 copies of K identical-shape MLPs."""
    per = [[m for m in mod.net if isinstance(m, nn.Linear)] for mod in modules]
    return [
        (
            np.stack([layers[i].weight.detach().numpy() for layers in per]),
            np.stack([layers[i].bias.detach().numpy()[None] for layers in per]),
        )
        for i in range(len(per[0]))
    ]


class BatchedActorCritic:
    r"""K actor-critic learners (policy and critic MLPs each) stacked along a leading axis.

    Parameters live in one ``[K, P]`` float32 buffer (run k's are row k), so gradient
    clipping and Adam are whole-buffer operations with per-run norms. :meth:`step` takes one
    full-batch step for every run: the actor-critic loss

    .. math::
        L_k = -\frac{1}{n_k}\sum_{i} m_{ki}\,\hat A_{ki} \log\pi_k(a_{ki}|s_{ki})
              + c_v \frac{1}{n_k}\sum_i m_{ki}\,(V_k(s_{ki}) - G_{ki})^2,

    with :math:`m` the valid-step mask, :math:`n_k = \sum_i m_{ki}` and :math:`\hat A`
    standardised over run k's valid steps — the gradient written out as in
    :mod:`gaelib.backprop`.
    """

    def __init__(self, policies: list[MLPPolicy], values: list[ValueNet], *, vf_coef: float = 0.5,
                 max_grad_norm: float = 0.5, eps: float = 1e-5):  # fmt: skip
        if not policies or len(policies) != len(values):
            raise ValueError("policies and values must be two equally long, non-empty lists")
        self.k = len(policies)
        layers = _stack(policies) + _stack(values)
        self.n_policy_layers = sum(isinstance(m, nn.Linear) for m in policies[0].net)
        sizes = [w[0].size + b[0].size for w, b in layers]
        self.flat = np.empty((self.k, sum(sizes)), np.float32)
        self.grad = np.zeros_like(self.flat)
        self._m, self._v, self._tmp = (np.zeros_like(self.flat) for _ in range(3))
        self.t = 0
        self.w, self.g = [], []
        o = 0
        for w, b in layers:
            ow, ob = o + w[0].size, o + w[0].size + b[0].size
            self.flat[:, o:ow], self.flat[:, ow:ob] = w.reshape(self.k, -1), b.reshape(self.k, -1)
            self.w.append(
                (self.flat[:, o:ow].reshape(w.shape), self.flat[:, ow:ob].reshape(b.shape))
            )
            self.g.append(
                (self.grad[:, o:ow].reshape(w.shape), self.grad[:, ow:ob].reshape(b.shape))
            )
            o = ob
        self.vf_coef, self.max_grad_norm, self.eps = vf_coef, max_grad_norm, eps

    def _policy(self):
        return self.w[: self.n_policy_layers]

    def policy_forward(self, obs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """``(activations, probabilities [K, B, A])`` for observations ``[K, B, obs_dim]``;
        the activations (input and hidden layers) are what :meth:`gradient` back-propagates
        through, so a rollout's acting passes can be kept and reused."""
        hs, z = mlp_forward(self._policy(), obs)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return hs, e / e.sum(axis=-1, keepdims=True)

    def probs(self, obs: np.ndarray) -> np.ndarray:
        """Action probabilities ``[K, B, A]`` for observations ``[K, B, obs_dim]``."""
        return self.policy_forward(obs)[1]

    def value_forward(self, obs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """``(activations, V [K, B])`` for observations ``[K, B, obs_dim]``."""
        hv, v = mlp_forward(self.w[self.n_policy_layers :], obs)
        return hv, v[..., 0]

    def values(self, obs: np.ndarray) -> np.ndarray:
        """:math:`V_k(s)` ``[K, B]`` for observations ``[K, B, obs_dim]``."""
        return self.value_forward(obs)[1]

    def gradient(self, obs, actions, mask, advantages, returns, *, policy_pass=None,
                 value_pass=None, old_logp=None, clip=None) -> None:  # fmt: skip
        r"""Fill :attr:`grad` ``[K, P]`` with every run's gradient. ``obs [K, B, obs_dim]``;
        ``actions``, ``mask`` (bool), ``advantages`` (standardised), ``returns``: ``[K, B]``.
        With ``clip`` (PPO's ε) and ``old_logp [K, B]`` the policy term is PPO's clipped
        surrogate :math:`-\min(\rho \hat A, \mathrm{clip}(\rho, 1\pm\epsilon)\hat A)`, whose
        gradient is that of :math:`-\rho\hat A` where the unclipped term is the smaller one and
        0 elsewhere (as in :class:`~gaelib.backprop.NumpyPPOUpdate`).

        ``policy_pass`` / ``value_pass``: the outputs of :meth:`policy_forward` /
        :meth:`value_forward` on ``obs`` with the current weights, if already computed (the
        actor-critic takes one step per rollout, so the passes made while acting and while
        computing advantages are the ones the gradient needs)."""
        n = np.maximum(mask.sum(axis=1, keepdims=True), 1).astype(np.float32)
        weight = mask / n  # [K, B]: 1/n_k on valid steps, 0 elsewhere
        hs, probs = policy_pass if policy_pass is not None else self.policy_forward(obs)
        if clip is None:
            dlogp = (-weight * advantages).astype(np.float32)
        else:
            k_idx, b_idx = np.indices(actions.shape)
            logp = np.log(probs[k_idx, b_idx, actions])
            ratio = np.exp(logp - old_logp)
            surr1, surr2 = ratio * advantages, np.clip(ratio, 1 - clip, 1 + clip) * advantages
            dlogp = np.where(surr1 <= surr2, -weight * surr1, 0.0).astype(np.float32)
        onehot = actions[..., None] == np.arange(probs.shape[-1])
        dz = (onehot - probs) * dlogp[..., None]  # ∂L/∂z = ∂L/∂logπ(a) · (e_a − π)
        mlp_backward(self._policy(), self.g[: self.n_policy_layers], hs, dz)
        hv, v = value_pass if value_pass is not None else self.value_forward(obs)
        dv = (2 * self.vf_coef) * weight * (v - returns)
        vl = self.w[self.n_policy_layers :]
        mlp_backward(vl, self.g[self.n_policy_layers :], hv, dv[..., None].astype(np.float32))

    def step(self, obs, actions, mask, advantages, returns, *, lr: float, policy_pass=None,
             value_pass=None, old_logp=None, clip=None) -> np.ndarray:  # fmt: skip
        """One step for every run: advantages standardised over each run's valid steps,
        gradient, per-run global-norm clipping, Adam. Returns the per-run gradient norms.

        ``obs [K, B, obs_dim]``; ``actions``, ``mask``, ``advantages``, ``returns``: ``[K, B]``.
        Every run needs at least one valid step (``mask`` True). ``policy_pass``,
        ``value_pass``, ``old_logp``, ``clip``: see :meth:`gradient`."""
        if obs.ndim != 3 or obs.shape[0] != self.k:
            raise ValueError(f"obs must have shape [{self.k}, B, obs_dim], got {obs.shape}")
        shape = obs.shape[:2]
        for name, x in (("actions", actions), ("mask", mask), ("advantages", advantages),
                        ("returns", returns)):  # fmt: skip
            if x.shape != shape:
                raise ValueError(f"{name} must have shape {list(shape)}, got {x.shape}")
        if not mask.any(axis=1).all():
            raise ValueError("mask must hold at least one valid step for every run")
        if not (np.isfinite(advantages).all() and np.isfinite(returns).all()):
            raise ValueError("advantages and returns must be finite")
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
            raise ValueError(f"lr must be a number > 0, got {lr!r}")
        if clip is not None:
            if isinstance(clip, bool) or not isinstance(clip, int | float) or not clip > 0:
                raise ValueError(f"clip must be a number > 0 or None, got {clip!r}")
            if old_logp is None or old_logp.shape != shape or not np.isfinite(old_logp).all():
                raise ValueError(f"old_logp must be finite, of shape {list(shape)}, with clip")
        n = mask.sum(axis=1, keepdims=True)
        mean = (advantages * mask).sum(axis=1, keepdims=True) / np.maximum(n, 1)
        var = (((advantages - mean) * mask) ** 2).sum(axis=1, keepdims=True) / np.maximum(n - 1, 1)
        adv = np.where(n > 1, (advantages - mean) / (np.sqrt(var) + 1e-8), advantages)
        self.gradient(obs, actions, mask, adv.astype(np.float32), returns,
                      policy_pass=policy_pass, value_pass=value_pass, old_logp=old_logp,
                      clip=clip)  # fmt: skip
        norms = clip_and_adam(self.flat, self.grad, self._m, self._v, self._tmp, t=self.t + 1,
                              lr=lr, max_grad_norm=self.max_grad_norm, betas=(0.9, 0.999),
                              eps=self.eps)  # fmt: skip
        self.t += 1
        return norms

    def copy_into(self, policies: list[MLPPolicy], values: list[ValueNet]) -> None:
        """Write run k's weights into ``policies[k]`` and ``values[k]``."""
        with torch.no_grad():
            for k, (pol, val) in enumerate(zip(policies, values, strict=True)):
                lins = [m for mod in (pol, val) for m in mod.net if isinstance(m, nn.Linear)]
                for lin, (w, b) in zip(lins, self.w, strict=True):
                    lin.weight.copy_(torch.from_numpy(w[k].copy()))
                    lin.bias.copy_(torch.from_numpy(b[k, 0].copy()))


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
    """Chapter 5: :func:`~gaelib.agents.actor_critic` for every (γ, λ, seed), all at once.

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
    """Chapter 5: :func:`~gaelib.agents.ppo` for every (γ, λ, seed), all at once.

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


class BackgroundRun:
    """A training call running in a second process (:func:`train_in_background`)."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict):
        self.name = fn.__name__
        # "spawn": a fresh interpreter that imports gaelib, never a fork of a process whose
        # torch and OpenMP threads are already running (forking those can deadlock)
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._future = self._pool.submit(fn, *args, **kwargs)

    def done(self) -> bool:
        """True once the run has finished (or failed)."""
        return self._future.done()

    def result(self):
        """Wait for the run and return what the function returned (its error is raised here)."""
        try:
            return self._future.result()
        finally:
            self._pool.shutdown()

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        return f"<{self.name} in a background process: {state}>"


def train_in_background(fn: Callable, *args, **kwargs) -> BackgroundRun:
    """Chapter 5: start ``fn(*args, **kwargs)`` — a gaelib trainer such as :func:`ppo_grid` —
    in a second process and return at once; ``.result()`` waits for it and returns its value.

    The course's trainers run on one thread (results do not depend on the core count), so on
    a machine with two cores a second process trains while the notebook goes on with other
    cells. The result is the same as calling ``fn`` directly: the process starts from a fresh
    interpreter, and each trainer seeds itself."""
    if not callable(fn) or not getattr(fn, "__module__", "").startswith("gaelib."):
        raise ValueError(f"fn must be a gaelib training function (importable by name), got {fn!r}")
    return BackgroundRun(fn, args, kwargs)
