r"""Chapter 9 exercise checkers: per-token rewards of a padded batch; GRPO's group-relative
advantages.

:func:`check_token_rewards` gives the learner padded batches ``[B, L]`` (batch-first, as
language-model code stores them) with garbage in the KL array's padded positions and rows that
fill the whole length (cut at the maximum, no padding). :func:`check_group_advantages` gives
groups of scores, one of them constant, and padded lengths. A wrong answer is recomputed
under each classic mistake; the mistake that reproduces the learner's output on every case it
got wrong names the bug. The references are :func:`gaelib.algorithms.token_ppo.token_rewards` and
:func:`gaelib.algorithms.grpo.group_relative_advantages`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..algorithms.grpo import group_relative_advantages
from ..algorithms.token_ppo import token_rewards
from ..worlds.lm_task import token_mask
from ._common import Report, attempt, not_attempted

__all__ = ["check_token_rewards", "check_group_advantages"]


def _fmt(x: np.ndarray) -> str:
    return np.array2string(np.round(x, 3), separator=", ", max_line_width=10_000)


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-7) -> bool:
    atol = max(1e-9, 1e-3 * rtol)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def _run(name: str, fn: Callable, cases, report: Report, mistakes, rtol: float) -> bool | None:
    """Shared loop: call, validate, diagnose, report. ``None`` means "not attempted"."""
    outcomes, wrong = [], {}
    for i, c in enumerate(cases):
        args = c.args()
        status, got = attempt(fn, *args)
        if status == "todo":
            return None
        if status == "ok":
            fresh = c.args()
            if any(
                isinstance(a, np.ndarray) and not np.array_equal(a, b)
                for a, b in zip(args, fresh, strict=True)
            ):
                status = "mutated"
            elif got is None:
                status = "none"
            else:
                try:
                    got = np.asarray(got, dtype=float)
                except (TypeError, ValueError) as exc:
                    status, got = "notarray", exc
                else:
                    if got.shape != c.want.shape:
                        status = "shape"
                    elif not _close(got, c.want, rtol):
                        wrong[i] = got
        outcomes.append((status, got))
    per_case = {i: mistakes(cases[i]) for i in wrong}
    diagnosis = None
    if per_case:
        msgs = [m for m, _ in next(iter(per_case.values()))]
        for j, msg in enumerate(msgs):
            if all(any(_close(g, w, rtol) for w in per_case[i][j][1]) for i, g in wrong.items()):
                diagnosis = msg
                break
    for i, (c, (status, got)) in enumerate(zip(cases, outcomes, strict=True)):
        if status == "error":
            msg = f"raised {type(got).__name__}: {got}"
            if isinstance(got, IndexError):
                msg += f" — {MSG_INDEX}"
            report.failed(c.label, msg)
        elif status == "mutated":
            report.failed(c.label, "changed an input array in place: write into a new array")
        elif status == "none":
            report.failed(c.label, "returned None: return the [B, L] array")
        elif status == "notarray":
            report.failed(c.label, f"return a numpy array: {got}")
        elif status == "shape":
            report.failed(c.label, f"return shape {c.want.shape} ([B, L]), got {got.shape}")
        elif i not in wrong:
            report.passed(c.label)
        else:
            hint = diagnosis or next(
                (m for m, ws in mistakes(c) if any(_close(got, w, rtol) for w in ws)), c.generic
            )
            report.failed(
                c.label, f"expected {_fmt(c.want)}\n      got      {_fmt(got)}\n      {hint}"
            )
    return report.show()


MSG_INDEX = (
    "an index ran off the array: a row that fills all L positions (cut at the maximum length) "
    "has its last real token at L−1 = lengths[b]−1; index lengths[b] is one past it"
)

# ======================================================== (a) per-token rewards

MSG_R_FIRST_PAD = (
    "the score landed on the first pad after the text (index lengths[b]), not on its last real "
    "token: a sequence of n tokens occupies positions 0 … n−1 and the EOS is at n−1 — padding "
    "is not part of the episode, its rewards must stay 0"
)
MSG_R_PAD_KL = (
    "the KL penalty reached the padding: kl holds garbage after each sequence's end (the model "
    "still computes log-probabilities there) — multiply by the mask t < lengths[b] so padded "
    "positions get exactly 0"
)
MSG_R_FIRST_TOKEN = (
    "the score went on the first token: the reward model scores the whole text, so it is paid "
    "when the text is complete — on the last real token, lengths[b]−1"
)
MSG_R_SIGN = (
    "the KL term has the wrong sign: the penalty is r_t = −β·(log π − log π_ref), so a token "
    "the policy likes more than the reference did costs reward"
)
MSG_R_SCORE_EVERY = (
    "the score was added to every real token: it is one number for the whole text, paid once, "
    "on the last real token (GAE with γ=1 carries it back to the earlier tokens)"
)
MSG_R_NO_KL = "the KL penalty is missing: add −β·kl on every real token"
GENERIC_R = (
    "compare with r[b, t] = −β·kl[b, t] for t < lengths[b] (0 on padding), plus scores[b] at "
    "t = lengths[b]−1"
)


@dataclass(frozen=True)
class _RewardCase:
    label: str
    scores: np.ndarray
    lengths: np.ndarray
    kl: np.ndarray
    beta: float
    generic: str = GENERIC_R

    def args(self) -> tuple:
        return self.scores.copy(), self.lengths.copy(), self.kl.copy(), self.beta

    @property
    def want(self) -> np.ndarray:
        return token_rewards(self.scores, self.lengths, self.kl, beta=self.beta)


def _reward_cases() -> list[_RewardCase]:
    rng = np.random.default_rng(7)
    kl1 = rng.normal(0, 0.5, (3, 6)).round(2)
    kl2 = rng.normal(0, 0.5, (4, 5)).round(2)
    return [
        _RewardCase(
            "3 texts of lengths 4, 2, 5 padded to L=6 (kl holds garbage on the padding)",
            np.array([0.8, -0.4, 1.0]), np.array([4, 2, 5]), kl1, 0.1,
        ),
        _RewardCase(
            "a row that fills all L=5 positions (cut at the maximum length, no padding)",
            np.array([0.2, 0.6, -1.0, 0.4]), np.array([5, 3, 1, 5]), kl2, 0.05,
        ),
        _RewardCase(
            "β = 0: only the score, on the last real token",
            np.array([1.0, 0.5, -0.2]), np.array([2, 6, 3]), kl1, 0.0,
        ),
    ]  # fmt: skip


def _reward_mistakes(c: _RewardCase) -> list[tuple[str, list[np.ndarray]]]:
    B, L = c.kl.shape
    rows = np.arange(B)
    mask = token_mask(c.lengths, L)
    pen = -c.beta * c.kl * mask

    def at(idx, base, keep=True):
        r = base.copy()
        ok = idx < L
        r[rows[ok], idx[ok]] += c.scores[ok]
        if not keep:
            r[rows[~ok], L - 1] += c.scores[~ok]
        return r

    n = c.lengths
    return [
        (MSG_R_FIRST_PAD, [at(n, pen), at(n, pen, keep=False), at(n, -c.beta * c.kl)]),
        (MSG_R_PAD_KL, [at(n - 1, -c.beta * c.kl)]),
        (MSG_R_FIRST_TOKEN, [at(np.zeros(B, int), pen)]),
        (MSG_R_SIGN, [at(n - 1, -pen)]),
        (MSG_R_SCORE_EVERY, [pen + c.scores[:, None] * mask]),
        (MSG_R_NO_KL, [at(n - 1, np.zeros((B, L)))]),
    ]


def check_token_rewards(fn: Callable) -> bool:
    r"""Chapter 9 exercise: ``fn(scores, lengths, kl, beta)`` → RLHF's per-token rewards
    ``[B, L]`` of a padded batch (numpy arrays; ``lengths[b]`` real tokens, EOS included):

    .. math::
        r_{b,t} = -\beta\,\text{kl}_{b,t}\,\mathbb{1}[t < n_b] + \text{score}_b\,
        \mathbb{1}[t = n_b - 1].

    The reference is :func:`gaelib.algorithms.token_ppo.token_rewards`. Returns ``True`` when all
    cases pass.
    """
    report = Report("check_token_rewards")
    out = _run("check_token_rewards", fn, _reward_cases(), report, _reward_mistakes, 1e-7)
    return not_attempted("check_token_rewards") if out is None else out


# ================================================== (b) group-relative advantages

EPS = 1e-4
MSG_G_BATCH_STD = (
    "the scores were divided by the std of the whole batch: GRPO normalises within each group "
    "(the samples of one prompt) — an easy prompt's small differences must count as much as a "
    "hard prompt's large ones"
)
MSG_G_BATCH = (
    "this normalises over the whole batch (mean and std of all scores): GRPO compares each "
    "sample with the other samples of the same prompt — use the group's mean and std"
)
MSG_G_NO_EPS = (
    "a group whose scores are all equal gave NaN (0/0): add ε to the std, (s − mean)/(std + ε) "
    "with ε = 1e-4, so a constant group — nothing to learn from it — gets advantage 0"
)
MSG_G_PAD = (
    "the advantage reached the padding: put it on the real tokens t < lengths[b] only; "
    "padded positions must be exactly 0"
)
MSG_G_DDOF = (
    "this uses the sample std (ddof=1); the exercise uses np.std's default, ddof=0 (both occur "
    "in practice: pick ddof=0 here)"
)
MSG_G_NO_STD = (
    "this is s − group mean without dividing by the group's std (Dr. GRPO's variant, Liu et al. "
    "2025); this exercise asks for GRPO's (s − mean)/(std + ε)"
)
MSG_G_STRIDED = (
    "the groups are wrong: the G samples of one prompt are consecutive rows, "
    "scores[i·G:(i+1)·G] — use scores.reshape(-1, G), not a stride"
)
GENERIC_G = (
    "compare with A[b, t] = (s_b − mean_group)/(std_group + 1e-4) for t < lengths[b], 0 after, "
    "groups = consecutive blocks of group_size"
)


@dataclass(frozen=True)
class _GroupCase:
    label: str
    scores: np.ndarray
    group_size: int
    lengths: np.ndarray
    max_len: int
    generic: str = GENERIC_G

    def args(self) -> tuple:
        return self.scores.copy(), self.group_size, self.lengths.copy(), self.max_len

    @property
    def want(self) -> np.ndarray:
        return group_relative_advantages(
            self.scores, self.group_size, self.lengths, max_len=self.max_len, eps=EPS
        )


def _group_cases() -> list[_GroupCase]:
    return [
        _GroupCase(
            "2 prompts × 4 samples, very different score scales, lengths padded to L=5",
            np.array([0.2, 0.4, 0.6, 0.2, -3.0, 1.0, -1.0, 2.0]), 4,
            np.array([3, 5, 2, 4, 1, 5, 3, 2]), 5,
        ),
        _GroupCase(
            "3 prompts × 3 samples; the second group's scores are all equal",
            np.array([1.0, 0.0, 0.5, 0.7, 0.7, 0.7, -0.2, 0.4, 1.0]), 3,
            np.array([2, 3, 4, 4, 1, 2, 3, 3, 1]), 4,
        ),
    ]  # fmt: skip


def _group_mistakes(c: _GroupCase) -> list[tuple[str, list[np.ndarray]]]:
    s, G = c.scores, c.group_size
    mask = token_mask(c.lengths, c.max_len)
    g = s.reshape(-1, G)
    mean = np.repeat(g.mean(1), G)
    std = np.repeat(g.std(1), G)

    def per_token(a, m=mask):
        return a[:, None] * m

    with np.errstate(divide="ignore", invalid="ignore"):
        no_eps = (s - mean) / std
    strided = s.reshape(G, -1)
    st_mean = np.tile(strided.mean(0), G)
    st_std = np.tile(strided.std(0), G)
    ones = np.ones_like(mask)
    return [
        (MSG_G_NO_EPS, [per_token(no_eps)]),
        (MSG_G_BATCH, [per_token((s - s.mean()) / (s.std() + e)) for e in (EPS, 0.0)]),
        (MSG_G_BATCH_STD, [per_token((s - mean) / (s.std() + e)) for e in (EPS, 0.0)]),
        (MSG_G_PAD, [per_token((s - mean) / (std + EPS), ones)]),
        (MSG_G_DDOF, [per_token((s - mean) / (np.repeat(g.std(1, ddof=1), G) + EPS))]),
        (MSG_G_NO_STD, [per_token(s - mean)]),
        (MSG_G_STRIDED, [per_token((s - st_mean) / (st_std + EPS))]),
    ]


def check_group_advantages(fn: Callable) -> bool:
    r"""Chapter 9 exercise: ``fn(scores, group_size, lengths, max_len)`` → GRPO's per-token
    advantages ``[B, L]``: groups are consecutive blocks of ``group_size`` rows,

    .. math::
        \hat A_{b,t} = \frac{s_b - \text{mean}(s_{\text{group}(b)})}
        {\text{std}(s_{\text{group}(b)}) + 10^{-4}}\,\mathbb{1}[t < n_b]

    (``np.std``, ddof=0). The reference is :func:`gaelib.algorithms.grpo.group_relative_advantages`;
    a smaller ε also passes. Returns ``True`` when all cases pass.
    """
    report = Report("check_group_advantages")
    out = _run("check_group_advantages", fn, _group_cases(), report, _group_mistakes, 1e-3)
    return not_attempted("check_group_advantages") if out is None else out
