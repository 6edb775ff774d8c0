"""Layer 2, the worlds: the environments and problems the algorithms learn in, with exact
answers where they exist.

``mdp`` (tabular MDPs with exact values, the 19-state random walk, the slippery corridor),
``estimators`` (exact bias and variance of advantage estimators), ``pg_toy`` (a tiny MDP
with an exact policy gradient), ``stock`` and ``stock_batch`` (the stock-trading
environment, its data and baselines), ``pendulum`` (``Pendulum-v1`` batched in NumPy,
chapter 7), ``lm_task`` and ``lm_model`` (the toy language task and
its tiny GRU language model). Imports from its own layer (with no cycle) and
:mod:`gaelib.core`.
"""

from typing import TYPE_CHECKING

from ..core._lazy import lazy_submodules

__all__ = [
    "estimators",
    "lm_model",
    "lm_task",
    "mdp",
    "pendulum",
    "pg_toy",
    "stock",
    "stock_batch",
]

__getattr__, __dir__ = lazy_submodules(__name__, __all__)

if TYPE_CHECKING:  # what a type checker or an IDE sees; at run time each loads on first use
    from . import estimators, lm_model, lm_task, mdp, pendulum, pg_toy, stock, stock_batch

del lazy_submodules, TYPE_CHECKING  # helpers, not modules of the layer
