r"""Chapter 7: gymnasium's ``Pendulum-v1``, N pendulums stepped in one NumPy call.

The swing-up task of ``gymnasium/envs/classic_control/pendulum.py`` — the same spaces,
dynamics, reward and clipping — as a ``gymnasium.vector.VectorEnv``. Angle :math:`\theta`
(0 = upright), angular velocity :math:`\dot\theta`, torque :math:`u \in [-2, 2]`; each step

.. math::
    r_t = -\big(\mathrm{norm}(\theta)^2 + 0.1\,\dot\theta^2 + 0.001\,u^2\big), \qquad
    \dot\theta' = \mathrm{clip}\Big(\dot\theta + \big(\tfrac{3g}{2l}\sin\theta
        + \tfrac{3}{ml^2}u\big)\,dt,\ \pm 8\Big), \qquad
    \theta' = \theta + \dot\theta'\,dt,

with :math:`g = 10`, :math:`m = l = 1`, :math:`dt = 0.05`, :math:`\mathrm{norm}(\theta)`
the angle wrapped into :math:`[-\pi, \pi)`, and the observation
:math:`(\cos\theta, \sin\theta, \dot\theta)`. An episode starts at a uniform
:math:`\theta \in [-\pi, \pi]`, :math:`\dot\theta \in [-1, 1]` and is **truncated** after 200
steps — never terminated: the pendulum's future goes on, so GAE bootstraps there.

Stepping N pendulums is one vectorised update, not N Python calls (gymnasium's
``make_vec("Pendulum-v1")`` is a ``SyncVectorEnv``: a Python loop over wrapped
environments). Autoreset is gymnasium 1.x's next-step mode: the step after an episode ended
returns the new episode's first observation with reward 0 and both flags False, and ignores
its action. ``tests/test_pendulum.py`` checks every step against ``gymnasium.make``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from ..core._validate import check_positive_int
from ..core.rollouts import collect_episodes, make_vector_env

__all__ = ["PendulumVectorEnv", "make_pendulum_env", "evaluate_pendulum"]

MAX_SPEED = 8.0
MAX_TORQUE = 2.0
DT = 0.05


def _angle_normalize(x: np.ndarray) -> np.ndarray:
    return ((x + np.pi) % (2 * np.pi)) - np.pi


class PendulumVectorEnv(gym.vector.VectorEnv):
    r"""Chapter 7: ``num_envs`` independent ``Pendulum-v1`` swing-ups in one NumPy array.

    ``state`` is ``[N, 2]`` float64 (:math:`\theta, \dot\theta`), as gymnasium keeps it;
    actions are ``[N, 1]`` torques (clipped to :math:`[-2, 2]` inside, as gymnasium does);
    rewards ``[N]`` float64. Episodes are truncated after ``max_episode_steps`` (200, as
    ``gymnasium.make("Pendulum-v1")``). One generator (``reset(seed=...)``) draws every
    pendulum's start state.
    """

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, *, max_episode_steps: int = 200, g: float = 10.0):
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.max_episode_steps = check_positive_int("max_episode_steps", max_episode_steps)
        if isinstance(g, bool) or not isinstance(g, int | float) or not np.isfinite(g):
            raise ValueError(f"g must be a finite number, got {g!r}")
        self.g = float(g)
        high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
        self.single_observation_space = spaces.Box(low=-high, high=high, dtype=np.float32)
        self.single_action_space = spaces.Box(-MAX_TORQUE, MAX_TORQUE, (1,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.state: np.ndarray | None = None
        self.steps = np.zeros(self.num_envs, dtype=np.int64)
        self.prev_done = np.zeros(self.num_envs, dtype=bool)

    def _obs(self) -> np.ndarray:
        th, thdot = self.state[:, 0], self.state[:, 1]
        return np.stack([np.cos(th), np.sin(th), thdot], axis=1).astype(np.float32)

    def _draw_states(self, n: int) -> np.ndarray:
        high = np.array([np.pi, 1.0])
        return self.np_random.uniform(low=-high, high=high, size=(n, 2))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        """Start all N episodes (``seed`` seeds the one generator, as gymnasium's vector envs
        do); returns observations ``[N, 3]`` and an empty info dict."""
        super().reset(seed=seed)
        if options:
            raise ValueError(f"options are not supported, got {options!r}")
        self.state = self._draw_states(self.num_envs)
        self.steps[:] = 0
        self.prev_done[:] = False
        return self._obs(), {}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """One step of every pendulum with torques ``actions [N, 1]``; environments whose
        episode ended on the previous step are reset instead (next-step autoreset)."""
        if self.state is None:
            raise ValueError("call reset before step")
        u = np.asarray(actions)
        if u.shape != (self.num_envs, 1) or not np.issubdtype(u.dtype, np.number):
            raise ValueError(
                f"actions must be numbers of shape ({self.num_envs}, 1), got {u.dtype} {u.shape}"
            )
        if not np.all(np.isfinite(u)):
            raise ValueError("actions must be finite")
        # in the action's own dtype, as gymnasium computes the torque terms (float32 usually)
        u = np.clip(u[:, 0], -MAX_TORQUE, MAX_TORQUE)
        th, thdot = self.state[:, 0], self.state[:, 1]
        costs = _angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
        newthdot = thdot + (3 * self.g / 2 * np.sin(th) + 3.0 * u) * DT
        newthdot = np.clip(newthdot, -MAX_SPEED, MAX_SPEED)
        self.state = np.stack([th + newthdot * DT, newthdot], axis=1)
        rewards = -costs.astype(np.float64)
        self.steps += 1
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = self.steps >= self.max_episode_steps
        done = self.prev_done
        if done.any():  # the reset step: a fresh start, reward 0, flags False
            self.state[done] = self._draw_states(int(done.sum()))
            self.steps[done] = 0
            rewards[done] = 0.0
            truncated[done] = False
        self.prev_done = terminated | truncated
        return self._obs(), rewards, terminated, truncated, {}


def make_pendulum_env(num_envs: int, *, max_episode_steps: int = 200) -> PendulumVectorEnv:
    """Chapter 7: ``num_envs`` batched ``Pendulum-v1`` environments (:class:`PendulumVectorEnv`);
    a drop-in, faster replacement for ``gymnasium.make_vec("Pendulum-v1", num_envs)``."""
    return PendulumVectorEnv(num_envs, max_episode_steps=max_episode_steps)


def evaluate_pendulum(
    policy, *, episodes: int = 20, seed: int = 0, gymnasium_env: bool = False
) -> np.ndarray:
    """Chapter 7: the returns ``[episodes]`` of complete ``Pendulum-v1`` episodes played by
    the greedy (mean-action) policy, clipped to the torque bounds.

    ``policy`` needs a ``mean_numpy(obs [N, 3]) -> [N, 1]`` method (a
    :class:`~gaelib.core.policies.GaussianMLPPolicy` has one). The episodes run in one
    :class:`PendulumVectorEnv` reset with ``seed``, or with ``gymnasium_env`` in gymnasium's own
    ``make_vec("Pendulum-v1")`` (the same dynamics; other start states for the same seed).
    """
    episodes = check_positive_int("episodes", episodes)
    if not callable(getattr(policy, "mean_numpy", None)):
        raise ValueError(f"policy must have a mean_numpy(obs) method, got {type(policy).__name__}")
    if gymnasium_env:
        envs = make_vector_env("Pendulum-v1", episodes)
    else:
        envs = PendulumVectorEnv(episodes)
    act = lambda o: np.clip(policy.mean_numpy(o), -MAX_TORQUE, MAX_TORQUE)  # noqa: E731
    batch = collect_episodes(envs, act, seed=seed)
    envs.close()
    return batch.episode_returns
