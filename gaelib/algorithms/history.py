r"""What a CartPole training run returns (chapters 1 and 5): :class:`History`.

Every trainer in :mod:`gaelib.algorithms` — REINFORCE, the actor-critic, PPO and their
lockstep grids — returns one :class:`History` per run, so the chapters' figures and
comparisons read every learner the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.policies import MLPPolicy, ValueNet

__all__ = ["History"]


@dataclass
class History:
    """What a training run returns. One entry per episode in ``episode_returns`` and
    ``episode_env_steps`` (environment steps collected when that episode's batch ended);
    one entry per update in the ``iteration_*`` arrays."""

    episode_returns: np.ndarray
    episode_env_steps: np.ndarray
    iteration_mean_return: np.ndarray
    iteration_env_steps: np.ndarray
    wall_time: float
    policy: MLPPolicy
    value: ValueNet | None = None
    config: dict = field(default_factory=dict)

    def last_mean(self, n: int = 100) -> float:
        """Mean return of the last ``n`` episodes."""
        return float(self.episode_returns[-n:].mean())
