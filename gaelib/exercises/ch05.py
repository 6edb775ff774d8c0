r"""Chapter 5 exercise checkers: the autoreset mask of a fixed-length rollout; PPO's clipped loss.

:func:`check_autoreset_mask` gives the learner the ``terminated``/``truncated`` flags ``[T, N]``
of a rollout from a gymnasium 1.x vector environment (next-step autoreset) and the carry-over
``after_end_start`` ``[N]``; the answer is the ``mask`` that is False exactly at the reset
steps. :func:`check_ppo_clip_loss` checks the PPO-clip policy loss on hand-made batches where
the ratio lies inside and outside the clip range, with advantages of both signs.

As in chapter 4, a wrong answer is recomputed under each classic mistake; the mistake that
reproduces the learner's output on every case it got wrong names the bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._common import Report, attempt, not_attempted

__all__ = ["check_autoreset_mask", "check_ppo_clip_loss"]


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


# ======================================================= (b) the PPO-clip policy loss


@dataclass(frozen=True)
class _LossCase:
    label: str
    logp: np.ndarray
    old_logp: np.ndarray
    adv: np.ndarray
    clip: float

    def args(self) -> tuple:
        return self.logp.copy(), self.old_logp.copy(), self.adv.copy(), self.clip

    def reference(self) -> float:
        return _clip_loss(self.logp, self.old_logp, self.adv, self.clip)


def _clip_loss(logp, old_logp, adv, clip, ratio=None, lo=None, hi=None, op=np.minimum):
    rho = np.exp(logp - old_logp) if ratio is None else ratio
    lo = 1.0 - clip if lo is None else lo
    hi = 1.0 + clip if hi is None else hi
    return float(-np.mean(op(rho * adv, np.clip(rho, lo, hi) * adv)))


def _loss_case(label: str, ratios, adv, clip: float, seed: int) -> _LossCase:
    """log-probabilities of a 2- to 4-action policy whose ratios π/π_old are ``ratios``."""
    rng = np.random.default_rng(seed)
    ratios = np.asarray(ratios, dtype=float)
    old_logp = np.log(rng.uniform(0.1, 0.6, size=len(ratios)))
    logp = old_logp + np.log(ratios)
    return _LossCase(label, logp, old_logp, np.asarray(adv, dtype=float), clip)


def _loss_cases() -> list[_LossCase]:
    return [
        _loss_case(
            "first epoch: the policy has not moved yet (ρ = 1 everywhere)",
            [1.0, 1.0, 1.0, 1.0], [1.5, -0.5, 0.3, -1.2], 0.2, 0,
        ),
        _loss_case(
            "ratios inside the clip range 1 ± 0.2",
            [0.9, 1.1, 1.05, 0.85], [1.0, -2.0, 0.5, -0.7], 0.2, 1,
        ),
        _loss_case(
            "A > 0: ratios above 1+ε are clipped, a ratio below 1−ε is not",
            [1.5, 2.0, 0.5, 1.1], [1.0, 0.5, 2.0, 1.5], 0.2, 2,
        ),
        _loss_case(
            "A < 0: ratios below 1−ε are clipped, a ratio above 1+ε is not",
            [0.5, 0.7, 1.6, 0.95], [-1.0, -0.4, -2.0, -1.5], 0.2, 3,
        ),
        _loss_case(
            "mixed signs and ratios, ε = 0.1",
            [1.3, 0.6, 1.02, 0.8, 1.5, 0.97], [0.8, -1.1, 2.0, 0.6, -0.3, -1.4], 0.1, 4,
        ),
        _loss_case(
            "a larger batch of random ratios and advantages, ε = 0.3",
            np.exp(np.random.default_rng(5).normal(0, 0.4, 16)),
            np.random.default_rng(6).normal(0, 1, 16), 0.3, 5,
        ),
    ]  # fmt: skip


MSG_LOSS_MAX = (
    "max instead of min: the clipped objective is the PESSIMISTIC bound, "
    "min(ρÂ, clip(ρ, 1−ε, 1+ε)Â), so the policy gains nothing from moving ρ past 1 ± ε"
)
MSG_LOSS_SIGN = (
    "the sign: the objective min(ρÂ, clip(ρ)Â) is to be MAXIMISED; an optimiser minimises, so "
    "the loss is its negative, −mean(min(…))"
)
MSG_LOSS_CLIP_ADV = (
    "the advantage (or the product ρÂ) was clipped: PPO clips the probability RATIO ρ to "
    "[1−ε, 1+ε] and multiplies the clipped ratio by the unclipped Â"
)
MSG_LOSS_RATIO_DIVIDE = (
    "logp / old_logp divides log-probabilities: the ratio of probabilities is "
    "ρ = π/π_old = exp(logp − old_logp)"
)
MSG_LOSS_RATIO_NO_EXP = (
    "logp − old_logp is log ρ, the LOG of the ratio: take ρ = exp(logp − old_logp)"
)
MSG_LOSS_RATIO_INVERTED = (
    "the ratio is upside down: ρ = π_new/π_old = exp(logp − old_logp), not exp(old_logp − logp)"
)
MSG_LOSS_CLIPPED_ONLY = (
    "only the clipped term: the loss takes the minimum of BOTH terms, min(ρÂ, clip(ρ)Â) — "
    "where moving ρ made things worse (e.g. Â > 0 and ρ < 1−ε) the unclipped ρÂ is smaller "
    "and must be used"
)
MSG_LOSS_CLIP_RANGE = (
    "the clip range is [1−ε, 1+ε] around ρ = 1 (the old policy), not [−ε, ε]: "
    "np.clip(ratio, 1 - clip, 1 + clip)"
)
MSG_LOSS_SUM = "the loss is the MEAN over the batch, not the sum"


def _loss_mistakes(c: _LossCase) -> list[tuple[str, list[float]]]:
    lp, old, a, eps = c.logp, c.old_logp, c.adv, c.clip
    rho = np.exp(lp - old)
    n = len(a)
    return [
        (MSG_LOSS_MAX, [_clip_loss(lp, old, a, eps, op=np.maximum)]),
        (MSG_LOSS_SIGN, [-c.reference()]),
        (
            MSG_LOSS_CLIP_ADV,
            [
                float(-np.mean(np.minimum(rho * a, rho * np.clip(a, 1 - eps, 1 + eps)))),
                float(-np.mean(np.minimum(rho * a, np.clip(rho * a, 1 - eps, 1 + eps)))),
                float(-np.mean(np.minimum(rho * a, np.clip(a, 1 - eps, 1 + eps)))),
                float(-np.mean(np.minimum(rho * a, rho * np.clip(a, -eps, eps)))),
            ],
        ),
        (MSG_LOSS_RATIO_DIVIDE, [_clip_loss(lp, old, a, eps, ratio=lp / old)]),
        (MSG_LOSS_RATIO_NO_EXP, [_clip_loss(lp, old, a, eps, ratio=lp - old)]),
        (MSG_LOSS_RATIO_INVERTED, [_clip_loss(lp, old, a, eps, ratio=1 / rho)]),
        (MSG_LOSS_CLIPPED_ONLY, [float(-np.mean(np.clip(rho, 1 - eps, 1 + eps) * a))]),
        (MSG_LOSS_CLIP_RANGE, [_clip_loss(lp, old, a, eps, lo=-eps, hi=eps)]),
        (MSG_LOSS_SUM, [c.reference() * n]),
    ]


def _same(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=1e-6, atol=1e-9))


def _as_scalar(got) -> tuple[str, object]:
    if got is None:
        return "none", None
    try:
        arr = np.asarray(got.detach().cpu().numpy() if hasattr(got, "detach") else got)
        arr = arr.astype(float)
    except (TypeError, ValueError) as exc:
        return "notnumber", exc
    if arr.ndim == 1 and arr.size > 1:
        return "pervector", arr.shape
    if arr.size != 1:
        return "notnumber", f"shape {arr.shape}"
    return "ok", float(arr.reshape(()))


def check_ppo_clip_loss(fn: Callable) -> bool:
    r"""Chapter 5 exercise: ``fn(logp, old_logp, adv, clip)`` → PPO's clipped policy loss,

    .. math::
        L = -\frac1B \sum_b \min\!\big(\rho_b \hat A_b,\;
            \mathrm{clip}(\rho_b, 1-\epsilon, 1+\epsilon)\,\hat A_b\big), \qquad
        \rho_b = \exp(\log\pi_\theta(a_b|s_b) - \log\pi_{\theta_\text{old}}(a_b|s_b)),

    a single number. ``logp``, ``old_logp``, ``adv``: numpy arrays ``[B]``; ``clip`` = ε.
    """
    cases = _loss_cases()
    report = Report("check_ppo_clip_loss")
    outcomes: list[tuple[str, object]] = []
    wrong: dict[int, float] = {}
    for k, c in enumerate(cases):
        args = c.args()
        with np.errstate(all="ignore"):
            status, got = attempt(fn, *args)
        if status == "todo":
            return not_attempted("check_ppo_clip_loss")
        if status == "ok":
            names = ("logp", "old_logp", "adv")
            fresh = c.args()
            pairs = zip(names, args[:3], fresh[:3], strict=True)
            changed = [n for n, a, b in pairs if not np.array_equal(a, b)]
            if changed:
                status, got = "mutated", changed
            else:
                status, got = _as_scalar(got)
                if status == "ok" and not _same(got, c.reference()):
                    wrong[k] = got
        outcomes.append((status, got))
    diagnosis = None
    if wrong:
        per_case = {k: _loss_mistakes(cases[k]) for k in wrong}
        for j, (msg, _) in enumerate(_loss_mistakes(cases[0])):
            if all(any(_same(g, w) for w in per_case[k][j][1]) for k, g in wrong.items()):
                diagnosis = msg
                break
    for c, (status, got) in zip(cases, outcomes, strict=True):
        if status == "error":
            report.failed(c.label, f"raised {type(got).__name__}: {got}")
        elif status == "mutated":
            report.failed(c.label, f"changed its input {', '.join(got)} in place")
        elif status == "none":
            report.failed(c.label, "returned None: return the loss, a single number")
        elif status == "pervector":
            report.failed(
                c.label,
                f"returned an array of shape {got}, one loss per sample: the loss is their "
                "mean, a single number",
            )
        elif status == "notnumber":
            report.failed(c.label, f"return a single number: {got}")
        else:
            want = c.reference()
            if _same(got, want):
                report.passed(c.label)
                continue
            hint = diagnosis or next(
                (m for m, ws in _loss_mistakes(c) if any(_same(got, w) for w in ws)),
                "compare with −mean(min(ρ·adv, clip(ρ, 1−ε, 1+ε)·adv)), ρ = exp(logp − old_logp)",
            )
            report.failed(c.label, f"expected {want:.6f}, got {got:.6f}: {hint}")
    return report.show()
