r"""Tiny tabular MDPs with exact values, and the 19-state random walk (chapter 2).

Two parts:

* :func:`exact_values` — :math:`V^\pi` and :math:`Q^\pi` of any small tabular MDP, exactly,
  by solving the Bellman linear system (chapters 2–4 use it for exact :math:`A = Q - V`).
* The random walk of Sutton & Barto (2nd ed., Example 7.1): states ``1..n`` in a row, start
  in the middle, step left or right with probability 1/2; stepping off the left end gives
  reward −1, off the right end +1, everything else 0; γ = 1. With ``n = 19`` the true values
  are :math:`V(s) = s/10 - 1`. :func:`random_walk_episodes` generates seeded episodes for
  many independent runs at once; :mod:`gaelib.algorithms.td_prediction` learns values from
  them.

Value tables are indexed by state number: ``V[..., s]`` for ``s = 0..n+1``, where states 0
and ``n+1`` are the two terminal states and always hold 0. Episode arrays follow the course's
index conventions (time-first, ``rewards[t]`` is the reward returned by step t,
``terminated[t]`` marks the step that reached a terminal state).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core._validate import check_positive_int, check_unit_interval

__all__ = [
    "exact_values",
    "slippery_corridor",
    "random_walk_mdp",
    "random_walk_true_values",
    "rms_error",
    "WalkEpisodes",
    "random_walk_episodes",
]


# ------------------------------------------------------------------ exact values


def _probabilities(name: str, x: np.ndarray) -> None:
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"{name} must hold finite, non-negative probabilities")
    sums = x.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=1e-8):
        bad = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
        raise ValueError(
            f"{name} rows must sum to 1, row {list(map(int, bad))} sums to {sums[bad]}"
        )


def exact_values(
    P: np.ndarray,
    R: np.ndarray,
    pi: np.ndarray,
    gamma: float,
    terminal: np.ndarray | Sequence[bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact :math:`V^\pi` and :math:`Q^\pi` of a tabular MDP (chapter 2; reused in 3–4).

    Solves the Bellman expectation equation as a linear system:

    .. math::
        Q^\pi(s,a) = R(s,a) + \gamma \sum_{s'} P(s' \mid s,a)\, V^\pi(s'), \qquad
        V^\pi(s) = \sum_a \pi(a \mid s)\, Q^\pi(s,a),

    i.e. :math:`(I - \gamma P_\pi) V = r_\pi` over the non-terminal states, with
    :math:`V = 0` (and :math:`Q = 0`) at terminal states: nothing follows a terminal state.

    Args:
        P: ``[S, A, S]`` transition probabilities ``P[s, a, s']``; each ``P[s, a]`` sums to 1.
        R: ``[S, A]`` expected reward of taking ``a`` in ``s``.
        pi: ``[S, A]`` policy ``pi[s, a]`` :math:`= \pi(a \mid s)`; rows sum to 1.
        gamma: discount :math:`\gamma \in [0, 1]`.
        terminal: optional ``[S]`` booleans marking absorbing terminal states.

    Returns:
        ``(V, Q)`` with shapes ``[S]`` and ``[S, A]``.

    Raises:
        ValueError: bad shapes or probabilities, γ outside [0, 1], or (γ = 1) a policy that
        can stay among non-terminal states forever, so the values are not finite.
    """
    gamma = check_unit_interval("gamma", gamma)
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 3 or P.shape[0] != P.shape[2] or P.shape[0] == 0 or P.shape[1] == 0:
        raise ValueError(f"P must have shape [S, A, S], got {P.shape}")
    S, A = P.shape[:2]
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (S, A) or not np.all(np.isfinite(R)):
        raise ValueError(f"R must be finite with shape [S, A] = {(S, A)}, got {R.shape}")
    pi = np.asarray(pi, dtype=np.float64)
    if pi.shape != (S, A):
        raise ValueError(f"pi must have shape [S, A] = {(S, A)}, got {pi.shape}")
    _probabilities("P", P)
    _probabilities("pi", pi)
    term = np.zeros(S, dtype=bool) if terminal is None else np.asarray(terminal)
    if term.shape != (S,) or term.dtype != np.bool_:
        raise ValueError(f"terminal must be {S} booleans, got shape {term.shape}, {term.dtype}")
    live = ~term
    P_pi = np.einsum("sa,sat->st", pi, P)[np.ix_(live, live)]
    r_pi = (pi * R).sum(axis=1)[live]
    M = np.eye(int(live.sum())) - gamma * P_pi
    if np.linalg.matrix_rank(M) < M.shape[0]:
        raise ValueError(
            "the Bellman system is singular: with gamma=1 the policy must reach a terminal "
            "state (mark them with terminal=...) from every state, or use gamma < 1"
        )
    V = np.zeros(S)
    V[live] = np.linalg.solve(M, r_pi)
    Q = R + gamma * P @ V
    Q[term] = 0.0
    return V, Q


def random_walk_mdp(n_states: int = 19) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""The random walk as an MDP with actions left (0) and right (1) (chapter 2).

    States ``0..n+1``; 0 and ``n+1`` are terminal. The walk's policy picks each action with
    probability 1/2. Stepping onto state 0 gives reward −1, onto ``n+1`` gives +1.

    Returns:
        ``(P, R, pi, terminal)`` ready for :func:`exact_values` (with γ = 1).
    """
    n = check_positive_int("n_states", n_states)
    S = n + 2
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    for s in range(S):
        if s in (0, S - 1):
            P[s, :, s] = 1.0
            continue
        P[s, 0, s - 1] = P[s, 1, s + 1] = 1.0
    R[1, 0], R[n, 1] = -1.0, 1.0
    pi = np.full((S, 2), 0.5)
    terminal = np.zeros(S, dtype=bool)
    terminal[[0, S - 1]] = True
    return P, R, pi, terminal


def random_walk_true_values(n_states: int = 19) -> np.ndarray:
    r"""Closed-form values of the random walk (chapter 2): ``V[s]`` for ``s = 0..n+1``.

    .. math::
        V(s) = \frac{2s}{n+1} - 1 \quad (s = 1..n), \qquad V(0) = V(n+1) = 0,

    which for ``n = 19`` is :math:`V(s) = s/10 - 1`: the probability of leaving on the right,
    :math:`s/(n+1)`, times +1, plus the probability of leaving on the left times −1.
    """
    n = check_positive_int("n_states", n_states)
    v = 2.0 * np.arange(n + 2) / (n + 1) - 1.0
    v[[0, -1]] = 0.0
    return v


def rms_error(values: np.ndarray, true_values: np.ndarray) -> np.ndarray:
    r"""Root-mean-square error over states, the last axis (chapter 2).

    .. math::
        \mathrm{RMS}(V) = \sqrt{\tfrac{1}{|\mathcal S|} \sum_{s} (V(s) - v_\pi(s))^2}

    Pass only the states to average over (for the random walk, ``V[..., 1:-1]``).
    """
    values = np.asarray(values, dtype=np.float64)
    true_values = np.asarray(true_values, dtype=np.float64)
    if true_values.ndim != 1 or values.shape[-1:] != true_values.shape:
        raise ValueError(
            f"values' last axis must match true_values {true_values.shape}, got {values.shape}"
        )
    return np.sqrt(np.mean((values - true_values) ** 2, axis=-1))


# ------------------------------------------------------------------ the random walk


@dataclass(frozen=True)
class WalkEpisodes:
    """Episodes of the random walk for ``N`` independent runs, time-first ``[T, N]``.

    Each run's episodes are laid end to end (episode boundaries are the ``terminated`` steps).
    Runs finish at different times; after its last episode a run is padded with
    ``episode == -1``, state 0, reward 0, not terminated.
    """

    states: np.ndarray  # [T, N] s_t
    next_states: np.ndarray  # [T, N] s_{t+1}, the state step t returned (0 or n+1: terminal)
    rewards: np.ndarray  # [T, N] the reward returned by step t
    terminated: np.ndarray  # [T, N] step t reached a terminal state
    episode: np.ndarray  # [T, N] which episode (0-based) step t belongs to; -1 = padding
    n_states: int

    @property
    def n_runs(self) -> int:
        return self.states.shape[1]

    @property
    def n_episodes(self) -> int:
        return int(self.episode.max()) + 1

    def one_episode(self, run: int = 0, episode: int = 0) -> dict[str, np.ndarray]:
        """The ``[T]`` arrays of one episode: states, next_states, rewards, terminated."""
        mask = self.episode[:, run] == episode
        if not mask.any():
            raise ValueError(f"run {run} has no episode {episode}")
        return {
            k: getattr(self, k)[mask, run]
            for k in ("states", "next_states", "rewards", "terminated")
        }


def random_walk_episodes(
    n_episodes: int, n_runs: int, rng: np.random.Generator, n_states: int = 19
) -> WalkEpisodes:
    """Generate ``n_episodes`` random-walk episodes for each of ``n_runs`` runs (chapter 2).

    All runs step together (one numpy draw per step for all runs); the same ``rng`` state
    gives the same episodes.
    """
    n_episodes = check_positive_int("n_episodes", n_episodes)
    n_runs = check_positive_int("n_runs", n_runs)
    n = check_positive_int("n_states", n_states)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    start = (n + 1) // 2
    pos = np.full(n_runs, start)
    ep = np.zeros(n_runs, dtype=np.int64)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("s", "s2", "r", "term", "ep")}
    chunk = 256
    while (ep < n_episodes).any():
        moves = rng.integers(0, 2, size=(chunk, n_runs)) * 2 - 1
        for step in moves:
            live = ep < n_episodes
            if not live.any():
                break
            nxt = np.where(live, pos + step, 0)
            term = live & ((nxt == 0) | (nxt == n + 1))
            cols["s"].append(np.where(live, pos, 0))
            cols["s2"].append(nxt)
            cols["r"].append((nxt == n + 1).astype(float) - (live & (nxt == 0)))
            cols["term"].append(term)
            cols["ep"].append(np.where(live, ep, -1))
            pos = np.where(term, start, nxt)
            ep = ep + term
    s, s2, r, term, e = (np.stack(cols[k]) for k in ("s", "s2", "r", "term", "ep"))
    return WalkEpisodes(s, s2, r, term, e, n)


def slippery_corridor(
    n_cells: int = 9, slip: float = 0.2, p_right: float = 0.6
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Chapter 3's MDP: a corridor of ``n_cells`` with a door at each end.

    States: 0 = left door, 1..n = cells, n+1 = right door, n+2 = outside (terminal). A move
    goes the intended way with probability ``1 - slip`` and the other way with ``slip``; the
    doors lead outside, paying −1 (left) or +1 (right). The policy goes right with probability
    ``p_right``; episodes start in the middle cell.

    Returns:
        ``(P, R, pi, terminal, mu0)``.
    """
    n = check_positive_int("n_cells", n_cells)
    slip = check_unit_interval("slip", slip)
    p_right = check_unit_interval("p_right", p_right)
    S = n + 3
    out = S - 1
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    for s in range(1, n + 1):
        P[s, 0, s - 1] += 1 - slip
        P[s, 0, s + 1] += slip
        P[s, 1, s + 1] += 1 - slip
        P[s, 1, s - 1] += slip
    P[[0, n + 1, out], :, out] = 1.0
    R[0, :], R[n + 1, :] = -1.0, 1.0
    pi = np.tile([1 - p_right, p_right], (S, 1))
    terminal = np.arange(S) == out
    mu0 = np.eye(S)[(n + 1) // 2]
    return P, R, pi, terminal, mu0
