r"""What a CartPole training run returns (chapters 1 and 5), and how runs are compared.

Every CartPole trainer of :mod:`gaelib.algorithms` — REINFORCE, the actor-critic, PPO and
their lockstep grids — returns one :class:`History` per run, so the chapters' figures and
comparisons read every learner the same way. A run's learning curve is its mean return over
the last episodes, against environment steps; its area (:func:`sweep_auc`) is the mean
return over training, one number per run that rewards learning fast:

.. math::
    \mathrm{AUC} = \frac{1}{S}\int_0^{S} \bar G(s)\,ds,

with :math:`\bar G(s)` the curve at :math:`s` environment steps and :math:`S` the shortest
run's length (the integral on a common grid of 100 points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .policies import MLPPolicy, ValueNet

__all__ = ["History", "sweep_curves", "sweep_auc", "grid_auc"]


@dataclass
class History:
    r"""What a training run returns. One entry per episode in ``episode_returns`` and
    ``episode_env_steps`` (environment steps collected when that episode's batch ended);
    one entry per update in the ``iteration_*`` arrays and, for :func:`gaelib.algorithms.ppo.ppo`
    and the actor-critic, in each array of ``diagnostics``: ``approx_kl``, ``clip_fraction``,
    ``entropy``, ``policy_loss``, ``value_loss`` (each measured on a minibatch before its step;
    means over the update's steps, ``approx_kl`` over its last epoch's, as Stable-Baselines3
    logs them) and ``explained_variance`` (of the critic's targets by its values before the
    update, :math:`1 - \mathrm{Var}[G - V] / \mathrm{Var}[G]`)."""

    episode_returns: np.ndarray
    episode_env_steps: np.ndarray
    iteration_mean_return: np.ndarray
    iteration_env_steps: np.ndarray
    wall_time: float
    policy: MLPPolicy
    value: ValueNet | None = None
    config: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)

    def last_mean(self, n: int = 100) -> float:
        """Mean return of the last ``n`` episodes."""
        return float(self.episode_returns[-n:].mean())


def _curve(history, grid: np.ndarray) -> np.ndarray:
    """A run's 'mean return of the last 20 episodes' on ``grid`` (steps), 0 before data."""
    steps, ret = history.iteration_env_steps, history.iteration_mean_return
    ok = ~np.isnan(ret)
    if not ok.any():
        return np.zeros_like(grid, dtype=float)
    return np.interp(grid, steps[ok], ret[ok], left=ret[ok][0])


def sweep_curves(sweep: dict, n_points: int = 100) -> tuple[np.ndarray, dict]:
    """Chapter 5: ``(grid, {lam: [n_seeds, n_points] curves})`` on a common step grid."""
    if not sweep:
        raise ValueError("sweep must map at least one λ to a list of runs")
    end = min(h.iteration_env_steps[-1] for runs in sweep.values() for h in runs)
    grid = np.linspace(0, end, n_points)
    return grid, {lam: np.array([_curve(h, grid) for h in runs]) for lam, runs in sweep.items()}


def sweep_auc(sweep: dict) -> dict:
    """Chapter 5: the area under each run's learning curve, as its mean return over training
    (``{lam: array over seeds}``) — one number per run that rewards learning fast."""
    _, curves = sweep_curves(sweep)
    return {lam: c.mean(axis=1) for lam, c in curves.items()}


def grid_auc(grid: dict) -> tuple[list[float], list[float], np.ndarray, np.ndarray]:
    """Chapter 5: a γ × λ grid ``{(gamma, lam): [History, ...]}`` (from
    :func:`gaelib.algorithms.lockstep.actor_critic_grid`) as ``(gammas, lams, mean, se)``: the mean
    area under the learning curve over seeds, ``[n_gamma, n_lam]``, and its standard error."""
    if not grid or not all(isinstance(k, tuple) and len(k) == 2 for k in grid):
        raise ValueError("grid must map (gamma, lam) pairs to lists of runs")
    auc = sweep_auc(grid)
    gammas = sorted({g for g, _ in grid})
    lams = sorted({lam for _, lam in grid})
    mean = np.full((len(gammas), len(lams)), np.nan)
    se = np.full_like(mean, np.nan)
    for (g, lam), a in auc.items():
        i, j = gammas.index(g), lams.index(lam)
        mean[i, j] = a.mean()
        se[i, j] = a.std(ddof=1) / math.sqrt(len(a)) if len(a) > 1 else 0.0
    return gammas, lams, mean, se
