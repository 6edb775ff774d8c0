r"""Chapter 5 exercise checker: the critic's targets, done right (the autoreset mask is
:mod:`gaelib.exercises.ch05`).

:func:`check_value_targets` gives the learner one environment's rollout — ``rewards``,
``values``, ``next_values``, ``terminated``, ``truncated`` (1-D, several episodes, the last
possibly cut mid-episode) and γ, λ — and asks for the λ-returns
:math:`G_t = \hat A^{GAE(\gamma,\lambda)}_t + V(s_t)` that PPO fits its critic to. The GAE
article's own target, ``compute_returns(rewards, dones, gamma)``, is the first classic mistake.

As in chapter 4, a wrong answer is recomputed under each classic mistake; the mistake that
reproduces the learner's output on every case it got wrong names the bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.advantages import compute_gae
from ._common import Report, attempt, not_attempted

__all__ = ["check_value_targets"]


@dataclass(frozen=True)
class _TargetCase:
    label: str
    r: np.ndarray
    v: np.ndarray
    nv: np.ndarray
    term: np.ndarray
    trunc: np.ndarray
    gamma: float
    lam: float

    def args(self) -> tuple:
        arrays = (self.r, self.v, self.nv, self.term, self.trunc)
        return (*(x.copy() for x in arrays), self.gamma, self.lam)

    def reference(self) -> np.ndarray:
        g, lam = self.gamma, self.lam
        return (
            compute_gae(self.r, self.v, self.nv, self.term, self.trunc, gamma=g, lam=lam) + self.v
        )

    def role(self, t: int) -> str:
        what = "terminated" if self.term[t] else "a time limit" if self.trunc[t] else ""
        what = what or ("the rollout's last step" if t == len(self.r) - 1 else "")
        return f"t={t}" + (f" ({what})" if what else "")


def _target_case(label: str, T: int, ends: dict | None, gamma: float, lam: float, seed: int):
    """``ends``: {t: ("term" | "trunc" | "both", V of the episode's final observation)};
    elsewhere next_values[t] = values[t+1], as one critic evaluated on consecutive observations
    gives. ``ends=None``: random episodes, terminated (p = 0.15 a step) or cut by a time limit
    of 6 steps (both flags when the two coincide, as gymnasium reports it)."""
    rng = np.random.default_rng(seed)
    r, v = rng.normal(0.5, 1.0, T).round(2), rng.normal(2.0, 1.0, T).round(2)
    nv = np.append(v[1:], round(rng.normal(2.0, 1.0), 2))
    if ends is None:
        ends, length = {}, 0
        for t in range(T):
            length += 1
            term, trunc = rng.random() < 0.15, length == 6
            if term or trunc:
                kind = "both" if term and trunc else "term" if term else "trunc"
                ends[t], length = (kind, rng.normal(2.0, 1.0)), 0
    term, trunc = np.zeros(T, dtype=bool), np.zeros(T, dtype=bool)
    for t, (kind, final_value) in ends.items():
        term[t], trunc[t] = kind in ("term", "both"), kind in ("trunc", "both")
        nv[t] = round(final_value, 2)
    return _TargetCase(label, r, v, nv, term, trunc, gamma, lam)


def _target_cases() -> list[_TargetCase]:
    return [
        _target_case(
            "a termination at t=2, then a new episode (next_values[2] is the critic's value of "
            "the terminal observation)",
            6, {2: ("term", 4.0)}, 0.9, 0.8, 10,
        ),
        _target_case(
            "a time limit at t=3 (next_values[3] is V of the episode's final observation, "
            "values[4] V of the next episode's first)",
            7, {3: ("trunc", 3.5)}, 0.9, 0.8, 11,
        ),
        _target_case(
            "no episode ends: the rollout stops mid-episode, so its last step bootstraps",
            5, {}, 0.95, 0.9, 12,
        ),
        _target_case(
            "γ = 1, λ = 1: the Monte-Carlo return, bootstrapped at a time limit and at the "
            "rollout's end",
            8, {2: ("term", -1.5), 5: ("trunc", 2.5)}, 1.0, 1.0, 13,
        ),
        _target_case(
            "λ = 0: the one-step target r_t + γ·V(s_{t+1}) (just r_t at a termination)",
            6, {1: ("term", 3.0), 3: ("trunc", -2.0)}, 0.9, 0.0, 14,
        ),
        _target_case(
            "a random rollout of 24 steps: several episodes, a time limit of 6 steps; at t=18 "
            "both flags (a terminal state at the time limit: terminated wins)",
            24, None, 0.97, 0.92, 20,
        ),
    ]  # fmt: skip


MSG_VT_ARTICLE_MC = (
    "this is the GAE article's compute_returns(rewards, dones, gamma): a Monte-Carlo return that "
    "stops at every done and at the rollout's end. It throws away the future after a time limit "
    "(the task goes on: bootstrap γ·next_values[t]) and after the rollout's last step, and it is "
    "not the λ-return PPO fits: G_t = Â_t + values[t] with Â from GAE(γ, λ)"
)
MSG_VT_NO_FLAGS = (
    "the trace runs on across episode ends: a done step (terminated OR truncated) must cut it, "
    "Â_t = δ_t + γλ·(1 − done_t)·Â_{t+1}, or the next episode's rewards leak into this one's"
)
MSG_VT_TRUNC_AS_TERM = (
    "a time limit is treated as a termination: a truncated step still has a future, so "
    "bootstrap there, δ_t = r_t + γ·next_values[t] − values[t]; only terminated drops it"
)
MSG_VT_TERM_BOOTSTRAP = (
    "a termination is bootstrapped: nothing follows a terminal state, so δ_t = r_t − values[t] "
    "there — next_values[t], the critic's guess at the terminal observation, must not be used "
    "(also when truncated is True as well: a terminal state reached at the time limit is still "
    "terminal)"
)
MSG_VT_ADV_ONLY = "these are the advantages Â_t: the critic's target is G_t = Â_t + values[t]"
MSG_VT_VALUES_NEXT = (
    "bootstrapping from values[t+1]: after an episode end it is the NEXT episode's first state "
    "(and after the rollout's last step there is none). Use next_values[t] = V(s_{t+1}), the "
    "value of the observation step t returned"
)
MSG_VT_LAMBDA = (
    "λ is ignored: these are the one-step TD(0) targets (λ = 0) or the Monte-Carlo returns "
    "(λ = 1); the λ-return mixes them, Â_t = δ_t + γλ·(1 − done_t)·Â_{t+1}"
)


def _gae_loop(r, v, nv, no_boot, cut, gamma, lam) -> np.ndarray:
    out, a = np.empty(len(r)), 0.0
    for t in range(len(r) - 1, -1, -1):
        a = r[t] + gamma * (1 - no_boot[t]) * nv[t] - v[t] + gamma * lam * (1 - cut[t]) * a
        out[t] = a
    return out


def _target_mistakes(c: _TargetCase) -> list[tuple[str, list[np.ndarray]]]:
    r, v, nv, te, tr, g, lam = c.args()
    done, no, zero = te | tr, np.zeros_like(te), np.zeros_like(r)

    def gae(no_boot=te, cut=done, nxt=nv, lam=lam):
        return _gae_loop(r, v, nxt, no_boot, cut, g, lam)

    return [
        (MSG_VT_ARTICLE_MC, [_gae_loop(r, zero, zero, done, done, g, 1.0)]),
        (MSG_VT_NO_FLAGS, [gae(no, no) + v, gae(cut=no) + v]),
        (MSG_VT_TRUNC_AS_TERM, [gae(no_boot=done) + v]),
        (MSG_VT_TERM_BOOTSTRAP, [gae(no_boot=no) + v, gae(no_boot=te & ~tr) + v]),
        (MSG_VT_ADV_ONLY, [gae()]),
        (MSG_VT_VALUES_NEXT, [gae(nxt=np.append(v[1:], x)) + v for x in (nv[-1], 0.0)]),
        (MSG_VT_LAMBDA, [gae(lam=0.0) + v, gae(lam=1.0) + v]),
    ]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6))  # float32 arithmetic passes too


def _as_targets(got, T: int) -> tuple[str, object]:
    if got is None:
        return "none", None
    try:
        arr = np.asarray(got.detach().cpu().numpy() if hasattr(got, "detach") else got, float)
    except (TypeError, ValueError) as exc:
        return "notarray", exc
    if arr.shape != (T,):
        return "shape", arr.shape
    return ("ok", arr) if np.isfinite(arr).all() else ("nonfinite", None)


def check_value_targets(fn: Callable) -> bool:
    r"""Chapter 5 exercise: ``fn(rewards, values, next_values, terminated, truncated, gamma,
    lam)`` → the critic's targets, the λ-returns of one environment's rollout (1-D arrays
    ``[T]``, several episodes, the last possibly unfinished):

    .. math::
        G_t = \hat A_t + V(s_t), \quad \hat A_t = \delta_t + \gamma\lambda(1-d_t)\hat A_{t+1},
        \quad \delta_t = r_t + \gamma(1-\text{terminated}_t)V(s_{t+1}) - V(s_t),

    with :math:`d_t` = terminated or truncated and :math:`\hat A_T = 0`.
    """
    cases = _target_cases()
    report = Report("check_value_targets")
    names = ("rewards", "values", "next_values", "terminated", "truncated")
    outcomes: list[tuple[str, object]] = []
    wrong: dict[int, np.ndarray] = {}
    for k, c in enumerate(cases):
        args = c.args()
        with np.errstate(all="ignore"):
            status, got = attempt(fn, *args)
        if status == "todo":
            return not_attempted("check_value_targets")
        if status == "ok":
            pairs = zip(names, args, c.args(), strict=False)  # gamma, lam are not arrays
            changed = [n for n, a, b in pairs if not np.array_equal(a, b)]
            if changed:
                status, got = "mutated", changed
            else:
                status, got = _as_targets(got, len(c.r))
                if status == "ok" and not _close(got, c.reference()):
                    wrong[k] = got
        outcomes.append((status, got))
    diagnosis = None
    if wrong:
        per_case = {k: _target_mistakes(cases[k]) for k in wrong}
        for j, (msg, _) in enumerate(_target_mistakes(cases[0])):
            if all(any(_close(g, w) for w in per_case[k][j][1]) for k, g in wrong.items()):
                diagnosis = msg
                break
    for c, (status, got) in zip(cases, outcomes, strict=True):
        T = len(c.r)
        if status == "error":
            report.failed(c.label, f"raised {type(got).__name__}: {got}")
        elif status == "mutated":
            report.failed(c.label, f"changed its input {', '.join(got)} in place")
        elif status == "none":
            report.failed(c.label, "returned None: return the targets, a float array [T]")
        elif status == "notarray":
            report.failed(c.label, f"return a float array of shape ({T},): {got}")
        elif status == "shape":
            report.failed(c.label, f"return one target per step, shape ({T},), got {got}")
        elif status == "nonfinite":
            report.failed(c.label, "returned NaN or inf: every target is a finite number")
        elif _close(got, want := c.reference()):
            report.passed(c.label)
        else:
            bad = ~np.isclose(got, want, rtol=1e-5, atol=1e-6)
            # where an error starts: not just carried back by the trace from step t+1
            carried = np.append(bad[1:], False) & ~(c.term | c.trunc)
            shown = np.flatnonzero(bad & ~carried)[:3]
            where = "; ".join(
                f"{c.role(t)}: expected {want[t]:.4f}, got {got[t]:.4f}" for t in shown
            )
            if (rest := int(bad.sum()) - len(shown)) > 0:
                where += f" (and {rest} more step{'s' * (rest > 1)})"
            hint = diagnosis or next(
                (m for m, ws in _target_mistakes(c) if any(_close(got, w) for w in ws)),
                "G_t = Â_t + values[t] with Â_t = δ_t + γλ·(1 − done_t)·Â_{t+1} and "
                "δ_t = r_t + γ·(1 − terminated_t)·next_values[t] − values[t]",
            )
            report.failed(c.label, f"wrong at {where}\n      {hint}")
    return report.show()
