r"""Chapter 6 exercise checker: PPO's clipped policy loss (the whole minibatch loss, a bug hunt,
is :mod:`gaelib.exercises.ch06_bugs`).

:func:`check_ppo_clip_loss` checks the PPO-clip policy loss

.. math::
    L = -\frac1B\sum_i \min\big(\rho_i \hat A_i,\ \mathrm{clip}(\rho_i, 1\pm\epsilon)\hat A_i\big),
    \qquad \rho_i = e^{\log\pi_\theta(a_i|s_i) - \log\pi_{old}(a_i|s_i)},

on hand-made batches where the ratio lies inside and outside the clip range, with advantages
of both signs. A wrong answer is recomputed under each classic mistake; the mistake that
reproduces the learner's output on every case it got wrong names the bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._common import Report, attempt, not_attempted

__all__ = ["check_ppo_clip_loss"]


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
    r"""Chapter 6 exercise: ``fn(logp, old_logp, adv, clip)`` → PPO's clipped policy loss,

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
