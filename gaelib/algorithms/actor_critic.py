r"""The actor-critic with GAE — chapter 5.

Each rollout of B valid steps gives GAE(γ, λ) advantages :math:`\hat A_i` (standardised over
the batch) and critic targets :math:`G_i = \hat A_i + V_\phi(s_i)`; the policy and the critic
then take one Adam step together, after clipping the global gradient norm, on

.. math::
    L(\theta, \phi) = -\frac1B \sum_i \hat A_i \log\pi_\theta(a_i \mid s_i)
        + c_v\,\frac1B \sum_i \big(V_\phi(s_i) - G_i\big)^2 .

This is :func:`gaelib.algorithms.ppo.ppo` with one epoch and no clipped ratio (the
``clip=None`` branch of its loss, :func:`~gaelib.algorithms.ppo.ppo_loss`): the same rollout,
advantage and critic code, so the two learners differ only in what chapter 5 compares. With
the default ``num_envs × n_steps`` equal to ``minibatch_size`` (8 × 32 = 256) the step is one
full-batch step per rollout; a larger rollout is cut into minibatches.
"""

from __future__ import annotations

from ..core.history import History
from .ppo import ppo

__all__ = ["actor_critic"]


def actor_critic(env_id: str = "CartPole-v1", **kwargs) -> History:
    """Chapter 5: the plain actor-critic with GAE — :func:`ppo` without the clipped ratio."""
    kwargs.setdefault("epochs", 1)
    return ppo(env_id, clip=None, **kwargs)
