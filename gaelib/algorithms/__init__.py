"""Layer 3, the learning algorithms: one per module, each readable top to bottom, its
docstring carrying its equations and the chapter that teaches it.

``reinforce`` and ``reinforce_grid`` (chapter 1), ``td_prediction`` (chapter 2),
``actor_critic`` (chapter 5), ``ppo`` (chapters 5–6), ``numpy_ppo`` (Appendix A),
``batched_actor_critic`` and ``lockstep`` (chapters 5–6, Appendix A), ``gaussian_ppo``
(chapter 7), ``trading`` and ``trading_grid`` (chapter 8), ``token_ppo``, ``grpo`` and
``lm_lockstep`` (chapter 9). Imports from its own layer (with no cycle),
:mod:`gaelib.worlds` and :mod:`gaelib.core`.
"""

from typing import TYPE_CHECKING

from ..core._lazy import lazy_submodules

__all__ = [
    "actor_critic",
    "batched_actor_critic",
    "gaussian_ppo",
    "grpo",
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

if TYPE_CHECKING:  # what a type checker or an IDE sees; at run time each loads on first use
    from . import (
        actor_critic,
        batched_actor_critic,
        gaussian_ppo,
        grpo,
        lm_lockstep,
        lockstep,
        numpy_ppo,
        ppo,
        reinforce,
        reinforce_grid,
        td_prediction,
        token_ppo,
        trading,
        trading_grid,
    )

del lazy_submodules, TYPE_CHECKING  # helpers, not modules of the layer
