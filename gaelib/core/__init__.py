"""Layer 1, the core the chapters teach: what a reader holds beside the equations.

``advantages`` (TD residuals, GAE, λ-returns, discounted and n-step returns), ``rollouts``
(collecting episodes and rollouts from gymnasium vector environments, with terminated vs
truncated and autoreset handled), ``policies`` (softmax-linear and MLP policies, value
networks), ``numpy_mlp`` (the same MLPs' forward and backward passes in NumPy), ``seeding``,
``stats`` (paired comparisons over seeds), ``plots`` (the course style and ``save_figure``),
``background`` (a trainer in a second process) and ``_validate`` (input checks).
Imports nothing else from gaelib.
"""

import importlib

__all__ = [
    "advantages",
    "background",
    "numpy_mlp",
    "plots",
    "policies",
    "rollouts",
    "seeding",
    "stats",
]


def __getattr__(name: str):
    # ``gaelib.core.<module>`` works without importing the module first (PEP 562): a module
    # is imported the first time it is named, so ``import gaelib`` loads only what it uses.
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
