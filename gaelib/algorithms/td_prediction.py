r"""Policy evaluation on the random walk: n-step TD, TD(0) and constant-α Monte Carlo — chapter 2.

For every run, step size α and n together (all runs step in lock-step as NumPy arrays, so a
100-run sweep takes a fraction of a second), after each episode of
:func:`gaelib.worlds.mdp.random_walk_episodes`:

.. math::
    V(s_t) \leftarrow V(s_t) + \alpha\,\big(G_{t:t+n} - V(s_t)\big), \qquad
    G_{t:t+n} = \sum_{l=0}^{n-1} \gamma^l r_{t+l} + \gamma^n V(s_{t+n}),

with the bootstrap dropped when the episode ends before :math:`t+n`. TD(0) is n = 1 and
constant-α Monte Carlo is n = ∞ (Sutton & Barto, 2nd ed., §7.1). Value tables are indexed
by state number as in :mod:`gaelib.worlds.mdp`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core._validate import check_positive_int, check_unit_interval
from ..core.advantages import discounted_returns
from ..worlds.mdp import WalkEpisodes, random_walk_true_values, rms_error

__all__ = ["PredictionSweep", "nstep_td_prediction", "td0_prediction", "mc_prediction"]


@dataclass(frozen=True)
class PredictionSweep:
    """Result of :func:`nstep_td_prediction` over step sizes and n.

    ``rms[k, a, e, r]``: RMS error (over the n states) of run ``r`` with ``ns[k]``,
    ``alphas[a]`` after ``e`` episodes (``e = 0`` is the initial table).
    ``values[k, a, r]``: the final value table ``[n + 2]`` of each run.
    """

    ns: tuple[int | None, ...]  # None = Monte Carlo (n = ∞)
    alphas: np.ndarray
    rms: np.ndarray
    values: np.ndarray

    def mean_rms(self) -> np.ndarray:
        """``[K, A, E+1]``: RMS error averaged over runs."""
        return self.rms.mean(axis=-1)


def nstep_td_prediction(
    episodes: WalkEpisodes,
    alphas: Sequence[float],
    ns: Sequence[int | None],
    *,
    gamma: float = 1.0,
    v0: float = 0.0,
) -> PredictionSweep:
    r"""n-step TD prediction on random-walk episodes, every run, α and n at once (chapter 2).

    For each step t of an episode that ends at step T (Sutton & Barto eq. 7.1–7.2):

    .. math::
        G_{t:t+n} = \sum_{k=0}^{m-1} \gamma^k r_{t+k}
                    + [t+n < T]\, \gamma^n V(s_{t+n}), \quad m = \min(n, T-t), \qquad
        V(s_t) \leftarrow V(s_t) + \alpha\,[G_{t:t+n} - V(s_t)].

    Updates are applied in the order of t, as in the book; n = 1 is TD(0), and ``None``
    (n = ∞) is constant-α every-visit Monte Carlo, :math:`G_{t:T}` with no bootstrap.

    Args:
        episodes: from :func:`random_walk_episodes`.
        alphas: step sizes, each in (0, 1].
        ns: integers >= 1, or ``None`` for Monte Carlo.
        gamma: :math:`\gamma \in [0, 1]`.
        v0: the initial value of every non-terminal state.
    """
    gamma = check_unit_interval("gamma", gamma)
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0 or np.any(~(alphas > 0)) or np.any(alphas > 1):
        raise ValueError(f"alphas must be a non-empty list of step sizes in (0, 1], got {alphas}")
    if isinstance(ns, int | None) or len(ns) == 0:
        raise ValueError(f"ns must be a non-empty list of n (int >= 1, or None), got {ns!r}")
    ns = tuple(None if n is None else check_positive_int("n", n) for n in ns)
    if not np.isfinite(v0):
        raise ValueError(f"v0 must be finite, got {v0}")
    n, T, N = episodes.n_states, *episodes.states.shape
    K, A, W = len(ns), alphas.size, n + 3  # W: states 0..n+1 plus a dummy for padding
    valid = episodes.episode >= 0
    s_idx = np.where(valid, episodes.states, n + 2)
    # G_t = Σ_{k≥0} γ^k r_{t+k} to the end of t's episode (the last real step terminates).
    G = discounted_returns(episodes.rewards, episodes.terminated, gamma=gamma)
    # end[t]: index of the last step of t's episode.
    idx = np.where(episodes.terminated | ~valid, np.arange(T)[:, None], T)
    end = np.minimum.accumulate(idx[::-1], axis=0)[::-1]
    t_idx = np.arange(T)[:, None]
    Rn = np.empty((K, T, N))
    boot = np.zeros((K, T, N), dtype=np.int64)  # bootstrap state; 0 = terminal (V = 0)
    gn = np.zeros(K)
    for k, nk in enumerate(ns):
        if nk is None or nk > T:
            Rn[k] = G
            continue
        gn[k] = gamma**nk
        ahead = t_idx + nk <= end  # s_{t+n} is inside the episode: bootstrap from it
        G_ahead = np.concatenate([G[nk:], np.zeros((nk, N))])
        s_ahead = np.concatenate([episodes.states[nk:], np.zeros((nk, N), dtype=np.int64)])
        Rn[k] = G - gn[k] * np.where(ahead, G_ahead, 0.0)
        boot[k] = np.where(ahead & valid, s_ahead, 0)
    Rn *= valid
    V = np.zeros((K, A, N, W))
    V[..., 1 : n + 1] = v0
    Vf = V.reshape(-1)
    base = (np.arange(K * A * N) * W).reshape(K, A, N)
    step = alphas[None, :, None]
    true = random_walk_true_values(n)[1 : n + 1]
    rms = np.empty((K, A, episodes.n_episodes + 1, N))
    rms[:, :, 0, :] = rms_error(V[..., 1 : n + 1], true)
    end_t, end_r = np.nonzero(episodes.terminated)
    bounds = np.searchsorted(end_t, np.arange(T + 1))
    gn_b = gn[:, None, None]
    for t in range(T):
        ix = base + s_idx[t]
        v = Vf[ix]
        target = Rn[:, t, None, :] + gn_b * Vf[base + boot[:, t, None, :]]
        Vf[ix] = v + step * (target - v)
        lo, hi = bounds[t], bounds[t + 1]
        if hi > lo:  # some runs just finished an episode: record their error
            runs = end_r[lo:hi]
            eps = episodes.episode[t, runs] + 1
            rms[:, :, eps, runs] = rms_error(V[:, :, runs, 1 : n + 1], true)
    return PredictionSweep(ns, alphas, rms, V[..., : n + 2].copy())


def td0_prediction(
    episodes: WalkEpisodes, alphas: Sequence[float], *, gamma: float = 1.0, v0: float = 0.0
) -> PredictionSweep:
    r"""TD(0) (chapter 2): :math:`V(s_t) \leftarrow V(s_t) + \alpha\,\delta_t`, with
    :math:`\delta_t = r_t + \gamma (1 - \text{terminated}_t) V(s_{t+1}) - V(s_t)`."""
    return nstep_td_prediction(episodes, alphas, [1], gamma=gamma, v0=v0)


def mc_prediction(
    episodes: WalkEpisodes, alphas: Sequence[float], *, gamma: float = 1.0, v0: float = 0.0
) -> PredictionSweep:
    r"""Constant-α every-visit Monte Carlo (chapter 2):
    :math:`V(s_t) \leftarrow V(s_t) + \alpha\,[G_t - V(s_t)]`, updated after each episode."""
    return nstep_td_prediction(episodes, alphas, [None], gamma=gamma, v0=v0)
