"""gaelib: the small helper library shared by the course's notebooks.

Four layers; a module imports from its own layer (with no cycle) and from the layers below,
never from one above (``ARCHITECTURE.md``; the contract is checked by
``tests/test_architecture.py``):

* :mod:`gaelib.widgets`, :mod:`gaelib.exercises` — per-chapter teaching code, one module a
  chapter (``gaelib.widgets.ch04``, ``gaelib.exercises.ch04``);
* :mod:`gaelib.algorithms` — the learning algorithms, one per module;
* :mod:`gaelib.worlds` — the environments and problems they learn in, with exact answers;
* :mod:`gaelib.core` — what the chapters teach beside the equations: advantages and returns,
  rollouts, policies, a run's history, seeding, statistics, plotting.

The names the notebooks use most are here at the top: ``gaelib.compute_gae``,
``gaelib.seed_everything``, ``gaelib.save_figure``, … Everything else is reached by its home,
e.g. ``gaelib.algorithms.ppo.ppo``; the subpackages and their modules load on first use.
Data flows one way: gaelib knows nothing of notebooks; notebooks import gaelib.
"""

import os
from typing import TYPE_CHECKING

# CartPole's rgb_array rendering initialises pygame (SDL). On a machine with no sound card or
# no display, SDL's start-up prints "XDG_RUNTIME_DIR is invalid" / ALSA errors into the
# notebook. The course plays no sound, and with no display there is no window to open anyway.
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium as gym  # noqa: E402

from .algorithms.td_prediction import (  # noqa: E402
    mc_prediction,
    nstep_td_prediction,
    td0_prediction,
)
from .core._lazy import lazy_submodules  # noqa: E402
from .core.advantages import (  # noqa: E402
    compute_gae,
    discounted_returns,
    lambda_returns,
    nstep_advantages,
    td_residuals,
)
from .core.plots import save_figure, use_course_style  # noqa: E402
from .core.seeding import seed_everything  # noqa: E402
from .worlds.mdp import (  # noqa: E402
    exact_values,
    random_walk_episodes,
    random_walk_true_values,
    rms_error,
)

# Chapter 8: gymnasium.make("gaelib/StockTrading-v0", prices=..., window=..., cost=...)
if "gaelib/StockTrading-v0" not in gym.registry:
    gym.register("gaelib/StockTrading-v0", entry_point="gaelib.worlds.stock:StockTradingEnv")

__version__ = "0.1.0"

# ``gaelib.algorithms.ppo.ppo`` works after a bare ``import gaelib``: a subpackage is imported
# the first time it is named (PEP 562), so ``import gaelib`` stays quick.
__getattr__, __dir__ = lazy_submodules(
    __name__, ("core", "worlds", "algorithms", "widgets", "exercises")
)

if TYPE_CHECKING:  # what a type checker or an IDE sees; at run time each loads on first use
    from . import algorithms as algorithms
    from . import core as core
    from . import exercises as exercises
    from . import widgets as widgets
    from . import worlds as worlds

del gym, lazy_submodules, os, TYPE_CHECKING  # helpers, not part of the library

__all__ = [
    "compute_gae",
    "discounted_returns",
    "lambda_returns",
    "nstep_advantages",
    "td_residuals",
    "exact_values",
    "random_walk_episodes",
    "random_walk_true_values",
    "rms_error",
    "mc_prediction",
    "nstep_td_prediction",
    "td0_prediction",
    "save_figure",
    "seed_everything",
    "use_course_style",
]
