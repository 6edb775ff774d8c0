"""Layer 2, the worlds: the environments and problems the algorithms learn in, with exact
answers where they exist.

``mdp`` (tabular MDPs with exact values, the 19-state random walk, the slippery corridor),
``estimators`` (exact bias and variance of advantage estimators), ``pg_toy`` (a tiny MDP
with an exact policy gradient), ``stock`` and ``stock_batch`` (the stock-trading
environment, its data and baselines), ``lm_task`` and ``lm_model`` (the toy language task and
its tiny GRU language model). Imports only from :mod:`gaelib.core`.
"""

import importlib

__all__ = ["estimators", "lm_model", "lm_task", "mdp", "pg_toy", "stock", "stock_batch"]


def __getattr__(name: str):
    # ``gaelib.worlds.<module>`` works without importing the module first (PEP 562): a module
    # is imported the first time it is named, so ``import gaelib`` loads only what it uses.
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
