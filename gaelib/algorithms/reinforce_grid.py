r"""Chapter 1: several REINFORCE runs — every (seed, with/without baseline) — in lockstep.

One run of :func:`gaelib.algorithms.reinforce.reinforce` on CartPole spends most of its time on
Python and NumPy call overhead, not arithmetic: 16 CartPoles and a 32-unit network, stepped one
vector step at a time, up to 500 steps per batch. :func:`reinforce_grid` trains K runs at once
instead: one vector env of K × ``episodes_per_batch`` CartPoles plays every run's batch of
complete episodes in the same steps; the K policies act through one batched NumPy forward
pass, and learn — with the value networks of the runs that have a baseline — through batched
matrix products in torch (weights stacked along a leading axis of size K).

Each run is still exactly the REINFORCE of :func:`~gaelib.algorithms.reinforce.reinforce`: N
complete episodes per iteration, the reward-to-go

.. math::
    G_t = \sum_{l \ge 0} \gamma^l r_{t+l},

one Adam step on the surrogate of :func:`~gaelib.algorithms.reinforce.reinforce_loss`,

.. math::
    L(\theta) = -\frac1N \sum_{i=1}^{N} \sum_t \log\pi_\theta(a^i_t \mid s^i_t)\,
                \big(G^i_t - b(s^i_t)\big),

and with a baseline, :math:`b(s) = V_\phi(s)` predicted *before* :math:`V_\phi` is fitted to
this batch's :math:`G_t` by ``value_epochs`` full-batch Adam steps on
:math:`\frac1n \sum_t (V_\phi(s_t) - G_t)^2` (n valid steps). The runs' losses are summed
and differentiated by autograd (run k's weights get exactly the gradient of run k's loss), and
``torch.optim.Adam``, an elementwise rule, updates each run as its own optimiser would.
Only the random numbers are shared among the runs: the actions' and the environments' come
from one stream seeded by ``grid_seed`` (CartPole's vector env has one generator for all its
copies), so a run's episodes also depend on which other runs share the grid. A grid of one run
with ``grid_seed`` equal to its seed plays the same first batch as ``reinforce`` and then
follows it up to float32 rounding (``tests/test_reinforce_grid.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..core._validate import check_non_empty, check_positive_int, check_unit_interval
from ..core.advantages import discounted_returns
from ..core.history import History
from ..core.numpy_mlp import mlp_forward
from ..core.policies import MLPPolicy, ValueNet
from ..core.rollouts import collect_episodes, make_vector_env
from ..core.seeding import one_thread

__all__ = ["BatchedReinforce", "reinforce_grid"]


def _stacked_parameters(modules: list[nn.Module]) -> list[torch.Tensor]:
    """``[W_1, b_1, W_2, b_2, ...]``: leaf tensors ``W [K, out, in]``, ``b [K, 1, out]`` holding
    copies of K identical-shape MLPs' weights (run k's in row k)."""
    per = [[m for m in mod.net if isinstance(m, nn.Linear)] for mod in modules]
    if len({tuple(tuple(lin.weight.shape) for lin in layers) for layers in per}) != 1:
        raise ValueError("the networks must all have the same layer sizes")
    params = []
    for i in range(len(per[0])):
        params.append(torch.stack([layers[i].weight.detach() for layers in per]))
        params.append(torch.stack([layers[i].bias.detach()[None] for layers in per]))
    return [p.clone().requires_grad_() for p in params]


def _forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """K stacked tanh MLPs: ``x [K, B, in]`` -> ``[K, B, out]``."""
    n = len(params) // 2
    for i in range(n):
        w, b = params[2 * i], params[2 * i + 1]
        x = torch.baddbmm(b, x, w.transpose(1, 2))
        if i < n - 1:
            x = torch.tanh(x)
    return x


def _copy_into(params: list[torch.Tensor], modules: list[nn.Module]) -> None:
    with torch.no_grad():
        for k, mod in enumerate(modules):
            lins = [m for m in mod.net if isinstance(m, nn.Linear)]
            for i, lin in enumerate(lins):
                lin.weight.copy_(params[2 * i][k])
                lin.bias.copy_(params[2 * i + 1][k, 0])


def _compact(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``mask [K, B]``: indices ``[K, B']`` that put each run's valid steps first (in their
    order; B' = the largest number of valid steps of a run) and the mask of those ``[K, B']``."""
    n = mask.sum(axis=1)
    order = np.argsort(~mask, axis=1, kind="stable")[:, : n.max()]
    return order, np.arange(order.shape[1]) < n[:, None]


class BatchedReinforce:
    r"""K REINFORCE learners: a policy MLP each, a value MLP for the runs with a baseline.

    The K policies' weights are stacked into tensors ``[K, ...]`` (and the value networks'
    likewise), so one batched forward pass serves every run, autograd differentiates the sum
    of the runs' losses (run k's weights get exactly the gradient of run k's loss) and one
    ``torch.optim.Adam`` — an elementwise rule — updates each run as its own Adam would.
    :meth:`step` takes one REINFORCE update for every run on its batch (the module docstring's
    equations): baseline :math:`V_\phi(s_t)` (0 for runs without one), one Adam step of the
    policy at ``lr`` on :math:`L(\theta)`, then ``value_epochs`` full-batch Adam steps of the
    value network at ``value_lr`` on the mean squared error to :math:`G_t`.
    Acting (:meth:`probs`) runs in NumPy on views of the same weights.
    """

    def __init__(self, policies: list[MLPPolicy], values: list[ValueNet | None], *,
                 lr: float = 0.01, value_lr: float = 0.01, value_epochs: int = 5):  # fmt: skip
        if not policies or len(policies) != len(values):
            raise ValueError("policies and values must be two equally long, non-empty lists")
        for name, x in (("lr", lr), ("value_lr", value_lr)):
            if isinstance(x, bool) or not isinstance(x, int | float) or not 0 < x < 1:
                raise ValueError(f"{name} must be a number in (0, 1), got {x!r}")
        self.k = len(policies)
        self.policy_params = _stacked_parameters(policies)
        self.opt = torch.optim.Adam(self.policy_params, lr=lr)
        self.has_baseline = np.array([v is not None for v in values])
        based = [v for v in values if v is not None]
        self.value_params = _stacked_parameters(based) if based else []
        self.vopt = torch.optim.Adam(self.value_params, lr=value_lr) if based else None
        self.value_epochs = check_positive_int("value_epochs", value_epochs)
        # NumPy views (shared memory: Adam updates the weights in place)
        p = [x.detach().numpy() for x in self.policy_params]
        self._np_policy = list(zip(p[::2], p[1::2], strict=True))

    def probs(self, obs: np.ndarray) -> np.ndarray:
        """Action probabilities ``[K, B, A]`` for observations ``[K, B, obs_dim]`` (float32), in
        NumPy with :class:`~gaelib.core.policies.MLPPolicy`'s arithmetic."""
        z = mlp_forward(self._np_policy, obs)[1]
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Sample actions ``[K, B]`` for observations ``[K, B, obs_dim]`` by
        :meth:`MLPPolicy.act <gaelib.core.policies.MLPPolicy.act>`'s rule and arithmetic (one
        ``rng.random`` draw per observation, in row order), with fewer NumPy calls."""
        x = np.asarray(obs, dtype=np.float32)
        for w, b in self._np_policy[:-1]:
            x = np.matmul(x, w.swapaxes(-1, -2))
            x += b
            np.tanh(x, out=x)
        w, b = self._np_policy[-1]
        z = np.matmul(x, w.swapaxes(-1, -2))
        z += b
        z -= z.max(axis=-1, keepdims=True)
        np.exp(z, out=z)  # unnormalised probabilities
        u = rng.random((z.shape[0] * z.shape[1], 1))
        if z.shape[-1] == 2:  # the cumulative rule for two actions: a = [p_0 < u]
            p0 = z[..., 0] / z.sum(axis=-1)
            return (p0.reshape(-1, 1) < u)[:, 0].astype(np.int64).reshape(z.shape[:2])
        p = (z / z.sum(axis=-1, keepdims=True)).reshape(-1, z.shape[-1])
        a = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), z.shape[-1] - 1)
        return a.reshape(z.shape[:2])

    def log_probs(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        r""":math:`\log\pi_\theta(a \mid s)` ``[K, B]`` for ``obs [K, B, obs_dim]``."""
        logits = _forward(self.policy_params, obs)
        return logits.log_softmax(-1).gather(-1, actions[..., None])[..., 0]

    def values(self, obs: torch.Tensor) -> torch.Tensor:
        r""":math:`V_\phi(s)` ``[K_b, B]`` of the runs with a baseline (``obs [K_b, B, d]``)."""
        return _forward(self.value_params, obs)[..., 0]

    def step(self, obs: np.ndarray, actions: np.ndarray, mask: np.ndarray, returns: np.ndarray,
             n_episodes: int) -> None:  # fmt: skip
        """One REINFORCE update of every run.

        Args:
            obs: ``[K, B, obs_dim]`` float32 (run k's steps; masked ones are left out).
            actions: ``[K, B]`` integers; mask: ``[K, B]`` bool (True: the step belongs to an
                episode); returns: ``[K, B]`` reward-to-go :math:`G_t`.
            n_episodes: N, the number of episodes in each run's batch (the loss's 1/N).
        """
        if obs.ndim != 3 or obs.shape[0] != self.k:
            raise ValueError(f"obs must have shape [{self.k}, B, obs_dim], got {obs.shape}")
        for name, x in (("actions", actions), ("mask", mask), ("returns", returns)):
            if x.shape != obs.shape[:2]:
                raise ValueError(f"{name} must have shape {list(obs.shape[:2])}, got {x.shape}")
        if mask.dtype != np.bool_ or not mask.any(axis=1).all():
            raise ValueError("mask must be boolean with at least one valid step for every run")
        if not np.isfinite(returns).all():
            raise ValueError("returns must be finite")
        n_episodes = check_positive_int("n_episodes", n_episodes)
        idx, valid = _compact(mask)  # the valid steps only, each run's first
        obs_c = np.take_along_axis(obs, idx[..., None], 1).astype(np.float32)
        ret = np.where(valid, np.take_along_axis(returns, idx, 1), 0.0)  # float64, as reinforce
        act = torch.from_numpy(np.take_along_axis(actions, idx, 1).astype(np.int64))
        sel = self.has_baseline
        if self.vopt is not None:  # b(s) = V(s) before the fit; runs without a baseline: 0
            n_b = valid[sel].sum(axis=1).max()
            obs_b, valid_b = torch.from_numpy(obs_c[sel][:, :n_b]), valid[sel][:, :n_b]
            v = self.values(obs_b)  # also the first value epoch's forward pass (same weights)
            b = np.zeros(ret.shape)
            b[sel, :n_b] = v.detach().numpy()
        else:
            b = 0.0
        weights = torch.from_numpy(np.where(valid, ret - b, 0.0).astype(np.float32))
        self.opt.zero_grad()
        (-(self.log_probs(torch.from_numpy(obs_c), act) * weights).sum() / n_episodes).backward()
        self.opt.step()
        if self.vopt is not None:
            target = torch.from_numpy(ret[sel][:, :n_b].astype(np.float32))
            w = torch.from_numpy((valid_b / valid_b.sum(axis=1, keepdims=True)).astype(np.float32))
            for epoch in range(self.value_epochs):
                if epoch:
                    v = self.values(obs_b)
                self.vopt.zero_grad()
                (((v - target) ** 2) * w).sum().backward()
                self.vopt.step()

    def copy_into(self, policies: list[MLPPolicy], values: list[ValueNet | None]) -> None:
        """Write run k's weights into ``policies[k]`` (and ``values[k]``, if not None)."""
        _copy_into(self.policy_params, policies)
        if self.value_params:
            _copy_into(self.value_params, [v for v in values if v is not None])


@one_thread  # torch and BLAS on one thread, as seed_everything sets in reinforce
def reinforce_grid(
    seeds: Sequence[int],
    baselines: Sequence[bool] = (False, True),
    *,
    env_id: str = "CartPole-v1",
    iterations: int = 60,
    episodes_per_batch: int = 16,
    lr: float = 0.01,
    value_lr: float = 0.01,
    value_epochs: int = 5,
    gamma: float = 0.99,
    hidden: int | tuple[int, ...] = 32,
    grid_seed: int = 0,
    progress: bool = False,
    env_kwargs: dict | None = None,
) -> dict[bool, list[History]]:
    """Chapter 1: :func:`~gaelib.algorithms.reinforce.reinforce` for every (baseline, seed), all at
    once.

    Run (b, s) starts from the weights of ``reinforce(seed=s, baseline=b)`` (the policy, and
    the value network when b, drawn under ``torch.manual_seed(s)``) and follows the same
    algorithm with the same settings (see the module docstring); ``episodes_per_batch``
    environments of one vector env of K × ``episodes_per_batch`` belong to each run. The
    random numbers of actions and environments come from one stream seeded by ``grid_seed``.

    Returns:
        ``{baseline: [History per seed]}``, each History as ``reinforce`` returns it (16
        episode returns per iteration, per-run environment steps, the trained networks;
        ``wall_time`` is the whole grid's).
    """
    seeds = check_non_empty("seeds", seeds)
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
    baselines = check_non_empty("baselines", baselines)
    if not all(isinstance(b, bool) for b in baselines):
        raise ValueError(f"baselines must hold True and/or False, got {baselines!r}")
    gamma = check_unit_interval("gamma", gamma)
    iterations = check_positive_int("iterations", iterations)
    n = check_positive_int("episodes_per_batch", episodes_per_batch)
    if isinstance(grid_seed, bool) or not isinstance(grid_seed, int) or grid_seed < 0:
        raise ValueError(f"grid_seed must be a non-negative integer, got {grid_seed!r}")
    runs = [(b, s) for b in baselines for s in seeds]
    K = len(runs)
    envs = make_vector_env(env_id, K * n, env_kwargs)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    n_actions = int(envs.single_action_space.n)
    policies, values = [], []
    try:
        for b, s in runs:
            torch.manual_seed(s)  # the initial weights of reinforce(seed=s, baseline=b)
            policies.append(MLPPolicy(obs_dim, n_actions, hidden))
            values.append(ValueNet(obs_dim, hidden) if b else None)
        learner = BatchedReinforce(policies, values, lr=lr, value_lr=value_lr,
                                   value_epochs=value_epochs)  # fmt: skip
        rng = np.random.default_rng(grid_seed)  # the stream seed_everything(grid_seed) returns

        def act(obs: np.ndarray) -> np.ndarray:  # column k*n + i of the env is run k's
            return learner.act(obs.reshape(K, n, obs_dim), rng).reshape(K * n)

        def by_run(x: np.ndarray) -> np.ndarray:  # [T, K*n, ...] -> [K, T*n, ...], time-major
            T = x.shape[0]
            return x.reshape(T, K, n, *x.shape[2:]).swapaxes(0, 1).reshape(K, T * n, *x.shape[2:])

        ep_returns = np.zeros((K, iterations, n))
        it_steps = np.zeros((K, iterations), dtype=np.int64)
        steps = np.zeros(K, dtype=np.int64)
        start = time.perf_counter()
        bar = range(iterations)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc=f"{K} REINFORCE runs in lockstep")
        for it in bar:
            batch = collect_episodes(envs, act, seed=grid_seed * 100_003 if it == 0 else None)
            returns = discounted_returns(batch.rewards, batch.ended, gamma=gamma)
            learner.step(by_run(batch.obs), by_run(batch.actions), by_run(batch.mask),
                         by_run(returns), n)  # fmt: skip
            steps += batch.mask.sum(axis=0).reshape(K, n).sum(axis=1)
            it_steps[:, it] = steps
            ep_returns[:, it] = batch.episode_returns.reshape(K, n)
            if progress:
                means = {b: ep_returns[[k for k, r in enumerate(runs) if r[0] == b], it].mean()
                         for b in baselines}  # fmt: skip
                bar.set_postfix({("baseline" if b else "no baseline"): f"{m:.0f}"
                                 for b, m in means.items()})  # fmt: skip
    finally:
        envs.close()
    learner.copy_into(policies, values)
    wall = time.perf_counter() - start
    out: dict[bool, list[History]] = {b: [] for b in baselines}
    for k, (b, s) in enumerate(runs):
        out[b].append(
            History(
                episode_returns=ep_returns[k].reshape(-1),
                episode_env_steps=np.repeat(it_steps[k], n),
                iteration_mean_return=ep_returns[k].mean(axis=1),
                iteration_env_steps=it_steps[k].copy(),
                wall_time=wall,
                policy=policies[k],
                value=values[k],
                config={
                    "env_id": env_id,
                    "seed": s,
                    "baseline": b,
                    "iterations": iterations,
                    "episodes_per_batch": n,
                    "lr": lr,
                    "gamma": gamma,
                    "hidden": hidden,
                    "grid_seed": grid_seed,
                    "grid_runs": K,
                },
            )
        )
    return out
