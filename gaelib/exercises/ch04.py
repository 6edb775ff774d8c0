r"""Chapter 4 exercise checker: GAE over a rollout of several episodes (the effective-horizon
exercise is :mod:`gaelib.exercises.ch04_horizon`).

:func:`check_gae` runs the learner's ``gae`` on hand-designed rollouts — several episodes in
one array, terminations and truncations in the middle and at the end, both flags on one step,
and episode ends whose ``next_values[t]`` differs from ``values[t+1]`` — and compares with
:func:`gaelib.compute_gae`. When an answer is wrong it recomputes each classic mistake on the
same rollouts; the mistake that reproduces the learner's numbers on *every* rollout names the
bug (running time forwards, off-by-one flags, no bootstrap on truncation, bootstrapping from
a terminal state, a trace that crosses an episode boundary, ``values[t+1]`` instead of
``next_values[t]``, …).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.advantages import compute_gae
from ._common import Report, attempt, not_attempted

__all__ = ["check_gae"]


# ---------------------------------------------------------------------- the rollouts


@dataclass(frozen=True)
class _Rollout:
    """One test rollout in the course's index conventions (all arrays ``[T]``)."""

    label: str
    rewards: np.ndarray
    values: np.ndarray
    next_values: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    gamma: float
    lam: float

    def args(self) -> tuple:
        """Fresh copies of the learner's arguments, in the exercise's order."""
        arrays = (self.rewards, self.values, self.next_values, self.terminated, self.truncated)
        return (*(a.copy() for a in arrays), self.gamma, self.lam)

    def reference(self) -> np.ndarray:
        return compute_gae(
            self.rewards,
            self.values,
            self.next_values,
            self.terminated,
            self.truncated,
            gamma=self.gamma,
            lam=self.lam,
        )

    def role(self, t: int) -> str:
        """How step t ends (for the failure messages)."""
        tags = [
            n for n, f in (("terminated", self.terminated), ("truncated", self.truncated)) if f[t]
        ]
        if t == len(self.rewards) - 1:
            tags.append("last step of the array")
        return f"t={t}" + (f" ({', '.join(tags)})" if tags else "")


def _rollout(label: str, r, v, nv, term_at=(), trunc_at=(), *, gamma: float, lam: float):
    T = len(r)
    term, trunc = np.zeros(T, dtype=bool), np.zeros(T, dtype=bool)
    term[list(term_at)] = True
    trunc[list(trunc_at)] = True
    floats = (np.asarray(x, dtype=float) for x in (r, v, nv))
    return _Rollout(label, *floats, term, trunc, gamma, lam)


ARG_NAMES = ("rewards", "values", "next_values", "terminated", "truncated")

# Inside an episode next_values[t] == values[t+1]. At an episode's end it is V of the real final
# observation, deliberately different from values[t+1] (the next episode's start); after a
# termination it is nonzero on purpose: a critic outputs *something* for a terminal observation,
# and the `terminated` flag — not the critic — says that nothing follows.
_R1, _V1, _NV1 = [1.0, 0.0, -1.0, 2.0, 0.5], [0.5, 0.2, -0.3, 0.8, 0.1], [0.2, -0.3, 0.8, 0.1, 0.6]
_R2 = [0.0, 1.0, 2.0, 0.5, -1.0, 1.0, 0.0, 0.5, 1.0, -0.5]
_V2 = [0.4, 0.9, 1.5, 0.3, -0.2, 0.7, 0.2, 0.6, 0.8, 0.1]
_NV2 = [0.9, 1.5, 0.7, -0.2, 0.7, 1.2, 0.6, 0.8, 0.1, 0.4]  # episode ends: t=2, 5, 9
_R3 = [1.0, 0.0, 0.5, 2.0, -1.0, 0.5, 1.0, 0.0, 1.5]
_V3 = [0.5, 0.8, 1.1, 1.4, 0.3, -0.4, 0.6, 0.9, 1.2]
_NV3 = [0.8, 1.1, 1.4, 0.9, -0.7, 0.6, 1.3, 1.2, -0.5]  # episode ends: t=3, 4, 6, 8
_R4, _V4 = [2.0, 0.5, 1.0, -0.5, 0.0, 1.0], [1.0, 0.4, 0.6, 0.2, 0.3, 0.5]
_NV4 = [-0.8, 0.6, 1.1, 0.3, 0.5, 0.9]  # episode ends: t=0, 2, 5


def _gae_cases() -> list[_Rollout]:
    return [
        _rollout(
            "one episode the rollout stops mid-way (no flags): the plain backward recursion",
            _R1, _V1, _NV1, gamma=0.9, lam=0.8,
        ),
        _rollout(
            "three episodes: terminated at t=2, truncated at t=5, the rollout stops mid-episode",
            _R2, _V2, _NV2, [2], [5], gamma=0.9, lam=0.8,
        ),
        _rollout(
            "both flags at t=3 (terminated wins), a one-step episode at t=4, truncated at t=6, "
            "terminated at the last step",
            _R3, _V3, _NV3, [3, 4, 8], [3, 6], gamma=0.95, lam=0.9,
        ),
        _rollout(
            "a one-step episode at t=0, truncated at t=2 and at the last step",
            _R4, _V4, _NV4, [0], [2, 5], gamma=0.9, lam=0.95,
        ),
        _rollout(
            "λ=0: GAE is the TD residual δ_t (the three-episode rollout)",
            _R2, _V2, _NV2, [2], [5], gamma=0.9, lam=0.0,
        ),
        _rollout(
            "γ=1, λ=1: the return minus V, bootstrapped only where truncated (both-flags rollout)",
            _R3, _V3, _NV3, [3, 4, 8], [3, 6], gamma=1.0, lam=1.0,
        ),
    ]  # fmt: skip


# ------------------------------------------------------------ the classic mistakes


def _shift(x: np.ndarray, k: int, fill: str) -> np.ndarray:
    """``y[t] = x[t+k]`` (k = ±1); the step that falls off the end is ``False``, keeps its
    own flag (``"edge"``), or wraps round like numpy's ``x[-1]`` (``"wrap"``)."""
    y = np.roll(x, -k)
    edge = -1 if k > 0 else 0
    if fill == "zero":
        y[edge] = False
    elif fill == "edge":
        y[edge] = x[edge]
    return y


def _trace(delta: np.ndarray, decay: float, cont: np.ndarray, forward: bool = False):
    """``A_t = δ_t + decay·cont_t·A_{t∓1}``: backwards from A_T = 0 (or forwards from A_{-1})."""
    out, acc = np.zeros(len(delta)), 0.0
    steps = range(len(delta)) if forward else range(len(delta) - 1, -1, -1)
    for t in steps:
        acc = delta[t] + decay * cont[t] * acc
        out[t] = acc
    return out


MSG_FORWARD = (
    "time runs the wrong way: GAE looks ahead, Â_t = δ_t + γλ(1 − done_t)·Â_{t+1}, so the loop "
    "must go backwards, t = T−1 … 0, starting from Â_T = 0 (this accumulated forwards, the past)"
)
MSG_REVERSED = (
    "the advantages come out in reverse order: you looped backwards but stored them in the order "
    "computed — put Â_t at index t (or flip the list at the end)"
)
MSG_OFF_BY_ONE = (
    "off by one in the done flags: terminated[t] and truncated[t] belong to step t — they say "
    "whether step t ended its episode — so δ_t and the cut between Â_t and Â_{t+1} use the flags "
    "at the same t, not those of step t+1 or t−1"
)
MSG_VALUES_NEXT = (
    "values[t+1] was used for V(s_{t+1}): inside an episode it is the same number, but where an "
    "episode ends values[t+1] is the first state of the NEXT episode — use next_values[t], V of "
    "the observation step t really returned"
)
MSG_NO_BOOT_TRUNC = (
    "no bootstrap on truncation: a time limit stops the episode, not the world, so a truncated "
    "step keeps δ_t = r_t + γ·next_values[t] − values[t]; only terminated removes the γV term "
    "(both flags end the trace, but they differ in δ)"
)
MSG_BOOT_TERM = (
    "bootstrapped from a terminal state: when terminated[t] is True nothing follows, so "
    "δ_t = r_t − values[t], whatever next_values[t] holds (a critic outputs something even for a "
    "terminal observation)"
)
MSG_TRUNC_WINS = (
    "a step with both flags set is terminal: terminated wins (no bootstrap), even though "
    "truncated is True too"
)
MSG_LAST_NO_BOOT = (
    "the last step of the array must bootstrap from next_values[T−1] unless it terminated: the "
    "rollout stopped there, the episode did not"
)
MSG_CROSSES = (
    "the trace crosses an episode boundary: δ is right, but Â_t must not reach into the next "
    "episode — cut the recursion where step t ended its episode: "
    "Â_t = δ_t + γλ(1 − done_t)·Â_{t+1}, done_t = terminated_t or truncated_t"
)
MSG_CUT_TERM_ONLY = (
    "the trace must stop at a truncation too: the step after a truncated step belongs to a new "
    "episode, so done_t = terminated_t OR truncated_t cuts the recursion (truncation only "
    "changes δ, by keeping the bootstrap)"
)
MSG_LAMBDA_RETURN = (
    "this is the λ-return Â_t + V(s_t), the critic's target; return the advantage Â_t itself"
)
MSG_DELTA_ONLY = (
    "this is δ_t alone (GAE with λ=0): accumulate the trace Â_t = δ_t + γλ(1 − done_t)·Â_{t+1}"
)
MSG_DECAY = "the trace decays by the product γλ per step, not by γ alone or λ alone"


def _gae_mistakes(c: _Rollout) -> list[tuple[str, list[np.ndarray]]]:
    """Each classic mistake: its explanation and its possible outputs on rollout ``c``."""
    r, v, nv, g, lam = c.rewards, c.values, c.next_values, c.gamma, c.lam
    term, trunc = c.terminated, c.truncated
    done = term | trunc

    def delta(boot: np.ndarray, nxt: np.ndarray = nv) -> np.ndarray:
        return r + g * boot * nxt - v

    d = delta(~term)
    ref = _trace(d, g * lam, ~done)
    fills = ("zero", "edge", "wrap")
    off_by_one = []
    for k in (1, -1):
        for fill in fills:
            s_term, s_done = _shift(term, k, fill), _shift(done, k, fill)
            off_by_one += [
                _trace(d, g * lam, ~s_done),
                _trace(delta(~s_term), g * lam, ~done),
                _trace(delta(~s_term), g * lam, ~s_done),
            ]
    last_no_boot = ~term
    last_no_boot[-1] = False
    return [
        (
            MSG_FORWARD,
            [
                _trace(d, g * lam, cont, forward=True)
                for cont in (~done, ~_shift(done, -1, "zero"), np.ones_like(done))
            ],
        ),
        (MSG_REVERSED, [ref[::-1]]),
        (
            MSG_VALUES_NEXT,
            [_trace(delta(~term, np.append(v[1:], e)), g * lam, ~done) for e in (nv[-1], 0.0)],
        ),
        (MSG_NO_BOOT_TRUNC, [_trace(delta(~done), g * lam, ~done)]),
        (
            MSG_BOOT_TERM,
            [_trace(delta(np.ones_like(term)), g * lam, c) for c in (~done, ~trunc)],
        ),
        (MSG_TRUNC_WINS, [_trace(delta(~(term & ~trunc)), g * lam, ~done)]),
        (MSG_LAST_NO_BOOT, [_trace(delta(last_no_boot), g * lam, ~done)]),
        (MSG_CROSSES, [_trace(d, g * lam, np.ones_like(done))]),
        (MSG_CUT_TERM_ONLY, [_trace(d, g * lam, ~term)]),
        (MSG_OFF_BY_ONE, off_by_one),
        (MSG_LAMBDA_RETURN, [ref + v]),
        (MSG_DELTA_ONLY, [d]),
        (MSG_DECAY, [_trace(d, g, ~done), _trace(d, lam, ~done)]),
    ]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-7, atol=1e-9)


def _diagnose(results: dict[int, np.ndarray], cases: list[_Rollout]) -> str | None:
    """The first mistake that reproduces the learner's output on every rollout it returned."""
    per_case = {i: _gae_mistakes(cases[i]) for i in results}
    if not per_case:
        return None
    names = [msg for msg, _ in next(iter(per_case.values()))]
    for j, msg in enumerate(names):
        if all(any(_close(got, w) for w in per_case[i][j][1]) for i, got in results.items()):
            return msg
    return None


GENERIC_GAE_HINT = (
    "compare with δ_t = r_t + γ(1 − terminated_t)·next_values[t] − values[t] and "
    "Â_t = δ_t + γλ(1 − done_t)·Â_{t+1}, for t = T−1 down to 0, with Â_T = 0"
)


def _fmt(x: np.ndarray) -> str:
    return np.array2string(np.round(x, 3), separator=", ", max_line_width=10_000)


def check_gae(fn: Callable) -> bool:
    r"""Chapter 4 exercise: ``fn(rewards, values, next_values, terminated, truncated, gamma,
    lam)`` → the GAE advantages of a rollout (1-D numpy arrays, the course's conventions):

    .. math::
        \delta_t = r_t + \gamma\,(1 - \text{terminated}_t)\,V(s_{t+1}) - V(s_t), \qquad
        \hat A_t = \delta_t + \gamma\lambda\,(1 - \text{done}_t)\,\hat A_{t+1}, \quad
        \hat A_T = 0,

    with :math:`V(s_{t+1})` = ``next_values[t]`` and done = terminated or truncated. The
    reference is :func:`gaelib.compute_gae`. Prints one line per rollout and, for a wrong
    answer, the steps that differ and the likely mistake. Returns ``True`` when all pass.
    """
    cases = _gae_cases()
    report = Report("check_gae")
    outcomes: list[tuple[str, object]] = []
    valid: dict[int, np.ndarray] = {}
    for i, c in enumerate(cases):
        args = c.args()
        status, got = attempt(fn, *args)
        if status == "todo":
            return not_attempted("check_gae")
        if status == "ok":
            fresh = c.args()
            pairs = zip(ARG_NAMES, args[:5], fresh[:5], strict=True)
            changed = [n for n, a, b in pairs if not np.array_equal(a, b)]
            if changed:
                status, got = "mutated", changed
            elif got is None:
                status = "none"
            else:
                try:
                    got = np.asarray(got, dtype=float)
                except (TypeError, ValueError) as exc:
                    status, got = "notarray", exc
                else:
                    if got.shape == c.rewards.shape:
                        valid[i] = got
                    else:
                        status = "shape"
        outcomes.append((status, got))
    wrong_outputs = {i: g for i, g in valid.items() if not _close(g, cases[i].reference())}
    diagnosis = _diagnose(wrong_outputs, cases)
    for c, (status, got) in zip(cases, outcomes, strict=True):
        T = len(c.rewards)
        if status == "error":
            msg = f"raised {type(got).__name__}: {got}"
            if isinstance(got, IndexError):
                msg += (
                    " — an index ran off the array: at t = T−1 there is no values[T] (use "
                    "next_values[t]) and the recursion starts from Â_T = 0"
                )
            report.failed(c.label, msg)
        elif status == "mutated":
            changed = ", ".join(got)
            report.failed(c.label, f"changed its input {changed} in place: write into a new array")
        elif status == "none":
            report.failed(c.label, "returned None: return the array of advantages")
        elif status == "notarray":
            report.failed(c.label, f"return a numpy array of {T} numbers: {got}")
        elif status == "shape":
            report.failed(c.label, f"return one advantage per step, shape ({T},), got {got.shape}")
        else:
            want = c.reference()
            if _close(got, want):
                report.passed(c.label)
                continue
            wrong = np.flatnonzero(~np.isclose(got, want, rtol=1e-7, atol=1e-9))
            where = ", ".join(c.role(int(t)) for t in wrong[:4]) + (" …" if len(wrong) > 4 else "")
            hint = diagnosis or next(
                (m for m, ws in _gae_mistakes(c) if any(_close(got, w) for w in ws)),
                GENERIC_GAE_HINT,
            )
            report.failed(
                c.label,
                f"wrong at {where}\n      expected {_fmt(want)}\n      got      {_fmt(got)}\n"
                f"      {hint}",
            )
    return report.show()
