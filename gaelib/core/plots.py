r"""One plotting style and ``save_figure`` (chapter 0).

Figures are written to the repository's ``figures/`` folder under stable names, with no
timestamps or version strings in the file, so re-running a notebook rewrites identical bytes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["use_course_style", "figures_dir", "save_figure", "smooth", "plot_learning_curves"]


_NAME = re.compile(r"^ch\d\d_[a-z0-9_]+$")


STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (6.4, 3.6),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "font.size": 10,
    "svg.hashsalt": "gaelib",
}


def use_course_style() -> None:
    """Apply the course's matplotlib style (call once at the top of a notebook)."""
    mpl.rcParams.update(STYLE)


def figures_dir(*, committed: bool = False) -> Path:
    """The folder figures are saved to.

    ``$GAELIB_FIGURES_DIR`` if set (the test suite sets it, so that a test run leaves the
    committed figures alone); otherwise the ``figures/`` folder of the checkout that holds this
    package (editable install); otherwise ``./figures``. ``committed=True`` ignores
    ``$GAELIB_FIGURES_DIR``: the checkout's own ``figures/``, the ones the README shows.
    """
    env = os.environ.get("GAELIB_FIGURES_DIR")
    if env and not committed:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]  # gaelib/core/plots.py -> the checkout
    if (repo / "figures").is_dir() and (repo / "pyproject.toml").is_file():
        return repo / "figures"
    return Path.cwd() / "figures"


def save_figure(fig: plt.Figure, name: str) -> None:
    """Write ``fig`` to ``figures/<name>.png`` deterministically.

    ``name`` must look like ``ch04_gae_weights`` (chapter number, then lowercase words). It
    returns nothing, so a notebook cell may end with it and print nothing: a trailing ``;``
    does not hide a value when nbval executes the cell (IPython decides on ``;`` from the
    input history, which nbval's executions do not record).
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must look like 'ch04_gae_weights', got {name!r}")
    if not isinstance(fig, plt.Figure):
        raise ValueError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    folder = figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})


def smooth(x, window: int):
    """Moving average over the last ``window`` values (shorter at the start)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    c = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_learning_curves(ax: plt.Axes, histories, *, label: str, color: str, window: int = 100):
    """Chapters 1 and 5: each run's return (moving average over ``window`` episodes) against
    environment steps, thin; their mean, thick."""
    import numpy as np

    grid = np.linspace(0, min(h.episode_env_steps[-1] for h in histories), 200)
    curves = []
    for h in histories:
        y = smooth(h.episode_returns, window)
        ax.plot(h.episode_env_steps, y, color=color, alpha=0.25, lw=0.8)
        curves.append(np.interp(grid, h.episode_env_steps, y))
    ax.plot(grid, np.mean(curves, axis=0), color=color, lw=2, label=label)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"return (mean of last {window} episodes)")
