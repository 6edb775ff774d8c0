r"""Collecting experience from gymnasium vector environments (chapter 1; chapter 5 adds more).

gymnasium 1.x vector environments reset an environment *on the step after* its episode ended
(next-step autoreset): that step returns the reset observation with reward 0 and both flags
False, and ignores the action. Such a step is not a transition of any episode and must never
reach a loss. :func:`collect_episodes` sidesteps it: it runs every environment for exactly one
episode and masks whatever an environment does after its episode ended.

:func:`make_vector_env` builds the vector environment every CartPole trainer uses, and
:func:`evaluate` plays complete episodes with a trained policy (chapter 5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ._validate import check_positive_int
from .policies import MLPPolicy

__all__ = [
    "EpisodeBatch",
    "collect_episodes",
    "Rollout",
    "RolloutCollector",
    "make_vector_env",
    "evaluate",
]


@dataclass
class EpisodeBatch:
    """One complete episode per environment, time-first (T = the longest episode).

    Attributes:
        obs: ``[T, N, obs_dim]`` observation :math:`s_t` the action was chosen in.
        actions: ``[T, N]``.
        rewards: ``[T, N]``, the reward returned by step t (0 where ``mask`` is False).
        terminated, truncated: ``[T, N]`` flags of step t (False where ``mask`` is False).
        next_obs: ``[T, N, obs_dim]`` the observation step t returned (the real final one at
            an episode's last step).
        mask: ``[T, N]`` True for steps that belong to the episode.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_obs: np.ndarray
    mask: np.ndarray

    @property
    def episode_returns(self) -> np.ndarray:
        """Undiscounted return of each environment's episode, ``[N]``."""
        return self.rewards.sum(axis=0)

    @property
    def episode_lengths(self) -> np.ndarray:
        return self.mask.sum(axis=0)

    @property
    def ended(self) -> np.ndarray:
        """``[T, N]``: step t ended its episode (terminated or truncated), or lies after it.

        Pass this as ``terminated``/``truncated``-style stop flags so that no return or trace
        reaches past an episode's end into the masked steps.
        """
        return self.terminated | self.truncated | ~self.mask


def collect_episodes(
    envs: gym.vector.VectorEnv,
    act: Callable[[np.ndarray], np.ndarray],
    *,
    seed: int | None = None,
    max_steps: int = 100_000,
) -> EpisodeBatch:
    """Chapter 1: reset ``envs`` and play exactly one episode in each of its N environments.

    Args:
        envs: a gymnasium 1.x vector environment (any autoreset mode: steps after an
            environment's episode ended are masked out, so its reset step never counts).
        act: maps observations ``[N, obs_dim]`` to actions ``[N]``.
        seed: passed to ``envs.reset`` (``None`` continues the environments' RNG streams).
        max_steps: safety limit on T.
    """
    obs, _ = envs.reset(seed=seed)
    n = envs.num_envs
    alive = np.ones(n, dtype=bool)
    cols: dict[str, list] = {k: [] for k in ("o", "a", "r", "te", "tr", "no", "m")}
    for _ in range(max_steps):
        action = np.asarray(act(obs))
        next_obs, reward, term, trunc, _ = envs.step(action)
        term, trunc = np.asarray(term, bool) & alive, np.asarray(trunc, bool) & alive
        cols["o"].append(obs)
        cols["a"].append(action)
        cols["r"].append(np.where(alive, reward, 0.0))
        cols["te"].append(term)
        cols["tr"].append(trunc)
        cols["no"].append(next_obs)
        cols["m"].append(alive.copy())
        alive &= ~(term | trunc)
        obs = next_obs
        if not alive.any():
            break
    else:
        raise ValueError(f"max_steps={max_steps} reached before every episode ended")
    return EpisodeBatch(
        obs=np.asarray(cols["o"], dtype=np.float32),
        actions=np.asarray(cols["a"]),
        rewards=np.asarray(cols["r"], dtype=np.float64),
        terminated=np.asarray(cols["te"]),
        truncated=np.asarray(cols["tr"]),
        next_obs=np.asarray(cols["no"], dtype=np.float32),
        mask=np.asarray(cols["m"]),
    )


@dataclass
class Rollout:
    """A fixed-length rollout from N environments, time-first ``[T, N, ...]`` (chapter 5).

    ``mask[t, i]`` is False for the *reset steps* of next-step autoreset: the step after an
    episode ended, which returns the new episode's first observation with reward 0 and both
    flags False and ignores the action. Those steps belong to no episode; they must never
    reach a loss. Everything else follows the course's index conventions; ``next_obs[t]`` is
    the observation step t returned — the real final observation when the episode ended.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_obs: np.ndarray
    mask: np.ndarray

    @property
    def cut(self) -> np.ndarray:
        """``terminated`` for GAE: true terminations, plus the masked reset steps (so that no
        trace or bootstrap involves them). Truncations stay in ``truncated`` (bootstrap)."""
        return self.terminated | ~self.mask


class RolloutCollector:
    """Collects consecutive fixed-length rollouts from a next-step-autoreset vector env.

    The environments keep running between rollouts (episodes span rollouts); the collector
    remembers which environments ended their episode on the last step, so their next step
    — the reset step — is masked. Finished episodes' returns and lengths are recorded in
    :attr:`episode_returns` / :attr:`episode_lengths` (with the total step count at the end of
    each, in :attr:`episode_end_steps`).
    """

    def __init__(self, envs: gym.vector.VectorEnv, *, seed: int | None = None):
        mode = envs.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
        if mode != gym.vector.AutoresetMode.NEXT_STEP:
            raise ValueError(f"envs must use next-step autoreset, got {mode}")
        self.envs = envs
        space = envs.single_action_space
        self.box = None  # a continuous action space's (low, high); None for discrete actions
        if isinstance(space, gym.spaces.Box):
            if len(space.shape) != 1:
                raise ValueError(f"envs must have a 1-D Box action space, got {space}")
            self.box = (space.low, space.high)
        self.obs, _ = envs.reset(seed=seed)
        self.after_end = np.zeros(envs.num_envs, dtype=bool)  # the next step is a reset step
        self.running_return = np.zeros(envs.num_envs)
        self.running_length = np.zeros(envs.num_envs, dtype=int)
        self.steps = 0
        self.episode_returns: list[float] = []
        self.episode_lengths: list[int] = []
        self.episode_end_steps: list[int] = []

    def collect(self, act: Callable[[np.ndarray], np.ndarray], n_steps: int) -> Rollout:
        """Chapter 5: ``n_steps`` steps of every environment with ``act(obs) -> actions``.

        Discrete actions are ``[N]`` integers, stored ``[T, N]``. Continuous ones (a ``Box``
        action space, chapter 7) are ``[N, act_dim]`` floats, stored ``[T, N, act_dim]`` as
        ``act`` returned them, while the environment receives them clipped to the space's
        bounds (the policy's log-probability is of the unclipped sample)."""
        n_steps = check_positive_int("n_steps", n_steps)
        n = self.envs.num_envs
        shape = (n_steps, n)
        obs = np.empty((n_steps, *self.obs.shape), dtype=np.float32)
        next_obs = np.empty_like(obs)
        if self.box is None:
            actions = np.empty(shape, dtype=np.int64)
        else:
            actions = np.empty((*shape, self.box[0].shape[0]), dtype=np.float32)
        rewards = np.empty(shape)
        term = np.empty(shape, dtype=bool)
        trunc = np.empty(shape, dtype=bool)
        mask = np.empty(shape, dtype=bool)
        for t in range(n_steps):
            a = np.asarray(act(self.obs))
            if self.box is None:
                nxt, r, te, tr, _ = self.envs.step(a)
            else:
                a = a.astype(np.float32, copy=False)
                if a.shape != actions.shape[1:]:
                    raise ValueError(
                        f"act must return actions of shape {actions.shape[1:]}, got {a.shape}"
                    )
                nxt, r, te, tr, _ = self.envs.step(np.clip(a, *self.box))
            valid = ~self.after_end
            obs[t], actions[t], next_obs[t], mask[t] = self.obs, a, nxt, valid
            rewards[t] = np.where(valid, r, 0.0)
            term[t], trunc[t] = te & valid, tr & valid
            ended = term[t] | trunc[t]
            self.running_return += rewards[t]
            self.running_length += valid
            self.steps += int(valid.sum())
            for i in np.flatnonzero(ended):
                self.episode_returns.append(float(self.running_return[i]))
                self.episode_lengths.append(int(self.running_length[i]))
                self.episode_end_steps.append(self.steps)
            self.running_return[ended] = 0.0
            self.running_length[ended] = 0
            self.after_end = ended
            self.obs = nxt
        return Rollout(obs, actions, rewards, term, trunc, next_obs, mask)


def make_vector_env(
    env_id: str, num_envs: int, env_kwargs: dict | None = None
) -> gym.vector.VectorEnv:
    """A gymnasium vector env: the environment's own vectorised version when it has one
    (CartPole does: all environments step in one NumPy call), else a synchronous one.

    ``env_kwargs`` go to the environment (for CartPole e.g. ``{"max_episode_steps": 200}`` or
    ``{"sutton_barto_reward": True}``).
    """
    num_envs = check_positive_int("num_envs", num_envs)
    if env_kwargs is None:
        env_kwargs = {}
    if not isinstance(env_kwargs, dict) or not all(isinstance(k, str) for k in env_kwargs):
        raise ValueError(f"env_kwargs must be a dict of keyword arguments, got {env_kwargs!r}")
    try:
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **env_kwargs
        )
    except (gym.error.Error, ValueError, TypeError):
        pass
    try:
        return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync", **env_kwargs)
    except TypeError as e:  # an argument the environment does not take
        raise ValueError(f"env_kwargs {env_kwargs!r} not accepted by {env_id}: {e}") from None


def evaluate(
    policy: MLPPolicy,
    env_id: str = "CartPole-v1",
    *,
    episodes: int = 10,
    seed: int = 0,
    greedy: bool = True,
    env_kwargs: dict | None = None,
) -> np.ndarray:
    """Chapter 5: returns of ``episodes`` complete episodes (greedy actions by default)."""
    episodes = check_positive_int("episodes", episodes)
    envs = make_vector_env(env_id, episodes, env_kwargs)
    rng = np.random.default_rng(seed)
    if greedy:
        act = lambda o: policy.probs_numpy(o).argmax(axis=1)  # noqa: E731
    else:
        act = lambda o: policy.act(o, rng)  # noqa: E731
    batch = collect_episodes(envs, act, seed=seed)
    envs.close()
    return batch.episode_returns
