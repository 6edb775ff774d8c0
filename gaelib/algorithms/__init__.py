"""Layer 3, the learning algorithms: one per module, each readable top to bottom, its
docstring carrying its equations and the chapter that teaches it.

``reinforce`` and ``reinforce_grid`` (chapter 1), ``td_prediction`` (chapter 2),
``actor_critic``, ``ppo``, ``numpy_ppo``, ``batched_actor_critic`` and ``lockstep`` (chapter
5), ``trading`` and ``trading_grid`` (chapter 6), ``token_ppo``, ``grpo`` and
``lm_lockstep`` (chapter 7); ``history`` is what a CartPole trainer returns. Imports only
from :mod:`gaelib.worlds` and :mod:`gaelib.core`.
"""

from ..core._lazy import lazy_submodules

__all__ = [
    "actor_critic",
    "batched_actor_critic",
    "grpo",
    "history",
    "lm_lockstep",
    "lockstep",
    "numpy_ppo",
    "ppo",
    "reinforce",
    "reinforce_grid",
    "td_prediction",
    "token_ppo",
    "trading",
    "trading_grid",
]

__getattr__, __dir__ = lazy_submodules(__name__, __all__)
