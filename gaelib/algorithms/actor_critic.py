r"""The actor-critic with GAE — chapter 5.

.. math::
    \theta \leftarrow \theta + \alpha\, \frac1B \sum_i \nabla_\theta \log\pi_\theta(a_i|s_i)\,
    \hat A^{GAE(\gamma,\lambda)}_i, \qquad
    \phi \leftarrow \phi - \alpha\, \nabla_\phi \frac1B \sum_i (V_\phi(s_i) - G_i)^2,

one full-batch step per rollout: :func:`gaelib.algorithms.ppo.ppo` with one epoch and no
clipped ratio (the same rollout, advantage and critic code, so the two learners differ only
in what the chapter compares).
"""

from __future__ import annotations

from .history import History
from .ppo import ppo

__all__ = ["actor_critic"]


def actor_critic(env_id: str = "CartPole-v1", **kwargs) -> History:
    """Chapter 5: the plain actor-critic with GAE — :func:`ppo` without the clipped ratio."""
    kwargs.setdefault("epochs", 1)
    return ppo(env_id, clip=None, **kwargs)
