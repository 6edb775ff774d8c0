r"""Chapter 5 exercise checker: the autoreset mask of a fixed-length rollout (the critic's λ-return
targets are :mod:`gaelib.exercises.ch05_targets`; PPO's clipped loss, chapter 6,
:mod:`gaelib.exercises.ch06`).

:func:`check_autoreset_mask` gives the learner the ``terminated``/``truncated`` flags ``[T, N]``
of a rollout from a gymnasium 1.x vector environment (next-step autoreset) and the carry-over
``after_end_start`` ``[N]``; the answer is the ``mask`` that is False exactly at the reset
steps.

As in chapter 4, a wrong answer is recomputed under each classic mistake; the mistake that
reproduces the learner's output on every case it got wrong names the bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._common import Report, attempt, not_attempted

__all__ = ["check_autoreset_mask"]


# =========================================================== (a) the autoreset mask


@dataclass(frozen=True)
class _MaskCase:
    label: str
    terminated: np.ndarray  # [T, N] bool
    truncated: np.ndarray  # [T, N] bool
    after_end_start: np.ndarray  # [N] bool

    def args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.terminated.copy(), self.truncated.copy(), self.after_end_start.copy()

    def reference(self) -> np.ndarray:
        """Written as the definition: step t is a reset step iff step t−1 ended an episode
        (for t = 0: iff the previous rollout's last step did)."""
        T, N = self.terminated.shape
        mask = np.ones((T, N), dtype=bool)
        for i in range(N):
            prev_ended = bool(self.after_end_start[i])
            for t in range(T):
                mask[t, i] = not prev_ended
                prev_ended = bool(self.terminated[t, i] or self.truncated[t, i])
        return mask

    def role(self, t: int, i: int) -> str:
        ref = self.reference()
        if not ref[t, i]:
            what = "a reset step: the step after an episode ended"
            if t == 0:
                what = "a reset step: the previous rollout's last step ended the episode"
        elif self.terminated[t, i] or self.truncated[t, i]:
            what = "the episode's last step: a real transition, kept"
        else:
            what = "an ordinary step, kept"
        return f"t={t}, env {i} ({what})"


def _mask_case(label: str, T: int, N: int, ends, start=None) -> _MaskCase:
    """``ends``: (t, env, "term" | "trunc" | "both"); a reset step never carries a flag."""
    term, trunc = np.zeros((T, N), dtype=bool), np.zeros((T, N), dtype=bool)
    start = np.zeros(N, dtype=bool) if start is None else np.asarray(start, dtype=bool)
    for t, i, kind in ends:
        prev = start[i] if t == 0 else term[t - 1, i] or trunc[t - 1, i]
        assert not prev, f"step {t} of env {i} is a reset step: it cannot end an episode"
        term[t, i] = kind in ("term", "both")
        trunc[t, i] = kind in ("trunc", "both")
    return _MaskCase(label, term, trunc, start)


def _random_mask_case(seed: int, T: int, N: int) -> _MaskCase:
    """A rollout as a next-step-autoreset vector env makes it: episodes end by termination
    (p = 0.15 per step) or by a time limit of 6 steps; the step after each end is a reset."""
    rng = np.random.default_rng(seed)
    ends, start = [], rng.random(N) < 0.5
    for i in range(N):
        after_end, length = bool(start[i]), int(rng.integers(0, 5))
        for t in range(T):
            if after_end:
                after_end, length = False, 0
                continue
            length += 1
            term, trunc = rng.random() < 0.15, length >= 6
            if term or trunc:
                ends.append((t, i, "both" if term and trunc else "term" if term else "trunc"))
                after_end = True
    label = f"a random rollout, {N} environments × {T} steps (time limit 6 steps)"
    return _mask_case(label, T, N, ends, start)


def _mask_cases() -> list[_MaskCase]:
    return [
        _mask_case("one environment, terminated at t=2", 6, 1, [(2, 0, "term")]),
        _mask_case(
            "two environments: a time-limit truncation at t=1 (env 0), terminated at t=4 (env 1)",
            7, 2, [(1, 0, "trunc"), (4, 1, "term")],
        ),
        _mask_case(
            "carry-over: envs 0 and 2 ended their episodes on the previous rollout's last step",
            5, 3, [(2, 1, "trunc"), (3, 2, "term")], start=[True, False, True],
        ),
        _mask_case(
            "an episode ends on the rollout's last step (env 0: its reset step is in the next "
            "rollout); both flags on one step (env 1, t=1)",
            5, 2, [(4, 0, "term"), (1, 1, "both")],
        ),
        _mask_case(
            "several episodes in one environment (env 0 ends at t=1, 4 and 7) and a carry-over "
            "in env 1",
            10, 2, [(1, 0, "term"), (4, 0, "trunc"), (7, 0, "term"), (5, 1, "trunc")],
            start=[False, True],
        ),
        _random_mask_case(5, 24, 4),
    ]  # fmt: skip


MSG_MASK_LAST_STEP = (
    "this masks each episode's LAST step — the step whose terminated/truncated is True. That "
    "step is a real transition (its reward and final observation count). The step to drop is "
    "the one AFTER it, where the vector env resets: mask[t] = not (terminated[t−1] or "
    "truncated[t−1])"
)
MSG_MASK_NOTHING = (
    "nothing is masked: with next-step autoreset the step after an episode ends returns the new "
    "episode's first observation with reward 0 and ignores the action — it belongs to no "
    "episode and must be masked (False)"
)
MSG_MASK_TERM_ONLY = (
    "truncation is forgotten: a time limit ends the episode too, and the vector env resets on "
    "the next step just the same — mask the step after terminated OR truncated"
)
MSG_MASK_NO_CARRY = (
    "the carry-over is forgotten: where after_end_start is True the previous rollout's last "
    "step ended an episode, so THIS rollout's first step (t=0) is a reset step — "
    "mask[0] = not after_end_start"
)
MSG_MASK_FINISHED = (
    "everything after the first episode end is masked, as if the environment stopped: a vector "
    "env resets itself and a new episode starts right after the reset step — only that one "
    "step is masked"
)
MSG_MASK_ROLL = (
    "row 0 wraps round to the rollout's LAST step (np.roll): whether t=0 is a reset step "
    "depends on the previous rollout, which after_end_start tells — not on step T−1 of this one"
)
MSG_MASK_INVERTED = (
    "the mask is inverted: it must be True for the steps to KEEP and False at the reset steps"
)


def _shift_down(x: np.ndarray, first: np.ndarray) -> np.ndarray:
    """``y[t] = x[t−1]``, ``y[0] = first``."""
    return np.concatenate([first[None, :], x[:-1]], axis=0)


def _mask_mistakes(c: _MaskCase) -> list[tuple[str, list[np.ndarray]]]:
    term, trunc, start = c.terminated, c.truncated, c.after_end_start
    done = term | trunc
    none = np.zeros_like(start)
    ref = ~_shift_down(done, start)
    last_with_carry = ~done
    last_with_carry[0] &= ~start
    ended_before = np.cumsum(_shift_down(done, none), axis=0) > 0
    return [
        (MSG_MASK_LAST_STEP, [~done, last_with_carry]),
        (MSG_MASK_NOTHING, [np.ones_like(done)]),
        (MSG_MASK_TERM_ONLY, [~_shift_down(term, start)]),
        (MSG_MASK_NO_CARRY, [~_shift_down(done, none)]),
        (MSG_MASK_FINISHED, [~ended_before & ~start[None, :], ~ended_before]),
        (MSG_MASK_ROLL, [~np.roll(done, 1, axis=0)]),
        (MSG_MASK_INVERTED, [~ref]),
    ]


def _as_mask(got, shape) -> tuple[str, object]:
    if got is None:
        return "none", None
    try:
        arr = np.asarray(got.detach().cpu().numpy() if hasattr(got, "detach") else got)
    except (TypeError, ValueError) as exc:
        return "notarray", exc
    if arr.shape != shape:
        return "shape", arr.shape
    if arr.dtype != np.bool_:
        if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
            return "notbool", arr.dtype
        arr = arr.astype(bool)
    return "ok", arr


def _fmt_mask(m: np.ndarray) -> str:
    """Time down, environments across: 1 = kept, 0 = masked."""
    return " ".join("".join("1" if x else "0" for x in col) for col in m.T)


def check_autoreset_mask(fn: Callable) -> bool:
    r"""Chapter 5 exercise: ``fn(terminated, truncated, after_end_start)`` → ``mask``.

    ``terminated``, ``truncated``: boolean ``[T, N]`` flags of a rollout from a gymnasium 1.x
    vector env with next-step autoreset; ``after_end_start``: boolean ``[N]``, True where the
    previous rollout's last step ended an episode. The answer ``mask [T, N]`` is False exactly
    at the reset steps:

    .. math::
        \text{mask}_{t} = \lnot(\text{terminated}_{t-1} \lor \text{truncated}_{t-1}), \qquad
        \text{mask}_0 = \lnot\,\text{after\_end\_start}.
    """
    cases = _mask_cases()
    report = Report("check_autoreset_mask")
    outcomes: list[tuple[str, object]] = []
    wrong: dict[int, np.ndarray] = {}
    for k, c in enumerate(cases):
        args = c.args()
        status, got = attempt(fn, *args)
        if status == "todo":
            return not_attempted("check_autoreset_mask")
        if status == "ok":
            names = ("terminated", "truncated", "after_end_start")
            fresh = c.args()
            changed = [n for n, a, b in zip(names, args, fresh, strict=True) if not (a == b).all()]
            if changed:
                status, got = "mutated", changed
            else:
                status, got = _as_mask(got, c.terminated.shape)
                if status == "ok" and not np.array_equal(got, c.reference()):
                    wrong[k] = got
        outcomes.append((status, got))
    diagnosis = None
    if wrong:
        per_case = {k: _mask_mistakes(cases[k]) for k in wrong}
        for j, (msg, _) in enumerate(_mask_mistakes(cases[0])):
            if all(any(np.array_equal(g, w) for w in per_case[k][j][1]) for k, g in wrong.items()):
                diagnosis = msg
                break
    for c, (status, got) in zip(cases, outcomes, strict=True):
        shape = c.terminated.shape
        if status == "error":
            report.failed(c.label, f"raised {type(got).__name__}: {got}")
        elif status == "mutated":
            report.failed(c.label, f"changed its input {', '.join(got)} in place")
        elif status == "none":
            report.failed(c.label, "returned None: return the mask, a boolean array [T, N]")
        elif status == "notarray":
            report.failed(c.label, f"return a boolean numpy array of shape {shape}: {got}")
        elif status == "shape":
            report.failed(c.label, f"return one flag per step and env, shape {shape}, got {got}")
        elif status == "notbool":
            report.failed(c.label, f"return booleans (True = keep), got dtype {got}")
        else:
            want = c.reference()
            if np.array_equal(got, want):
                report.passed(c.label)
                continue
            bad = np.argwhere(got != want)
            where = "; ".join(c.role(int(t), int(i)) for t, i in bad[:3])
            where += " …" if len(bad) > 3 else ""
            hint = diagnosis or next(
                (m for m, ws in _mask_mistakes(c) if any(np.array_equal(got, w) for w in ws)),
                "mask[t] = not (terminated[t−1] or truncated[t−1]) and mask[0] = "
                "not after_end_start",
            )
            report.failed(
                c.label,
                f"wrong at {where}\n      expected {_fmt_mask(want)}  (per env, time →; "
                f"0 = masked)\n      got      {_fmt_mask(got)}\n      {hint}",
            )
    return report.show()
