"""Layer 1, the core the chapters teach: what a reader holds beside the equations.

``advantages`` (TD residuals, GAE, λ-returns, discounted and n-step returns), ``rollouts``
(collecting episodes and rollouts from gymnasium vector environments, with terminated vs
truncated and autoreset handled), ``policies`` (softmax-linear and MLP policies, value
networks), ``numpy_mlp`` (the same MLPs' forward and backward passes in NumPy), ``seeding``,
``stats`` (paired comparisons over seeds), ``plots`` (the course style and ``save_figure``),
``history`` (what a CartPole trainer returns, and the area under its learning curve),
``background`` (a trainer in a second process), ``_validate`` (input checks) and ``_lazy``
(the layers' loading on first use). Imports nothing from the other layers.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_submodules

__all__ = [
    "advantages",
    "background",
    "history",
    "numpy_mlp",
    "plots",
    "policies",
    "rollouts",
    "seeding",
    "stats",
]

__getattr__, __dir__ = lazy_submodules(__name__, __all__)

if TYPE_CHECKING:  # what a type checker or an IDE sees; at run time each loads on first use
    from . import (
        advantages,
        background,
        history,
        numpy_mlp,
        plots,
        policies,
        rollouts,
        seeding,
        stats,
    )

del lazy_submodules, TYPE_CHECKING  # helpers, not modules of the layer
