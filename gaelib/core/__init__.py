"""Layer 1, the core the chapters teach: what a reader holds beside the equations.

``advantages`` (TD residuals, GAE, λ-returns, discounted and n-step returns), ``rollouts``
(collecting episodes and rollouts from gymnasium vector environments, with terminated vs
truncated and autoreset handled), ``policies`` (softmax-linear and MLP policies, value
networks), ``numpy_mlp`` (the same MLPs' forward and backward passes in NumPy), ``seeding``,
``stats`` (paired comparisons over seeds), ``plots`` (the course style and ``save_figure``),
``background`` (a trainer in a second process) and ``_validate`` (input checks).
Imports nothing else from gaelib.
"""

from ._lazy import lazy_submodules

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

__getattr__, __dir__ = lazy_submodules(__name__, __all__)
