"""gaelib: the small helper library shared by the course's notebooks.

Data flows one way: gaelib knows nothing of notebooks; notebooks import gaelib.
"""

import os

# CartPole's rgb_array rendering initialises pygame (SDL). On a machine with no sound card or
# no display, SDL's start-up prints "XDG_RUNTIME_DIR is invalid" / ALSA errors into the
# notebook. The course plays no sound, and with no display there is no window to open anyway.
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium as gym  # noqa: E402

from . import (  # noqa: E402
    advantages,
    agents,
    estimators,
    exercises,
    lm,
    pg_toy,
    plots,
    policies,
    rollouts,
    stats,
    stock,
    sweeps,
    widgets,
)
from .advantages import (  # noqa: E402
    compute_gae,
    discounted_returns,
    lambda_returns,
    nstep_advantages,
    td_residuals,
)
from .mdp import (  # noqa: E402
    exact_values,
    mc_prediction,
    nstep_td_prediction,
    random_walk_episodes,
    random_walk_true_values,
    rms_error,
    td0_prediction,
)
from .plots import save_figure, use_course_style  # noqa: E402
from .seeding import seed_everything  # noqa: E402

# Chapter 6: gymnasium.make("gaelib/StockTrading-v0", prices=..., window=..., cost=...)
if "gaelib/StockTrading-v0" not in gym.registry:
    gym.register("gaelib/StockTrading-v0", entry_point="gaelib.stock:StockTradingEnv")

__version__ = "0.1.0"

__all__ = [
    "advantages",
    "agents",
    "estimators",
    "lm",
    "pg_toy",
    "policies",
    "rollouts",
    "stats",
    "stock",
    "sweeps",
    "compute_gae",
    "discounted_returns",
    "exercises",
    "lambda_returns",
    "mdp",
    "exact_values",
    "mc_prediction",
    "nstep_td_prediction",
    "random_walk_episodes",
    "random_walk_true_values",
    "rms_error",
    "td0_prediction",
    "nstep_advantages",
    "plots",
    "save_figure",
    "seed_everything",
    "td_residuals",
    "use_course_style",
    "widgets",
]
