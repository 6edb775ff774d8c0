r"""Chapter 7 exercise checkers: the Gaussian policy's log-density and its score, for a diagonal
Gaussian as :class:`~gaelib.core.policies.GaussianMLPPolicy` has it — ``mean [B, D]``,
``log_std [D]`` (state-independent), ``actions [B, D]`` — against the references
:func:`~gaelib.core.policies.gaussian_log_prob` and :func:`~gaelib.core.policies.gaussian_score`.

The cases mix D = 1 and D = 3, log σ negative, zero and positive, an action at the mean and one
40σ out in the tail. A wrong answer is recomputed under each classic mistake; the mistake that
reproduces the learner's numbers on every case it got wrong names the bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.policies import gaussian_log_prob, gaussian_score
from ._common import Report, attempt, not_attempted

__all__ = ["check_gaussian_log_prob", "check_gaussian_score"]

ARG_NAMES = ("mean", "log_std", "actions")
_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True)
class _Case:
    label: str
    mean: np.ndarray
    log_std: np.ndarray
    actions: np.ndarray

    def args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fresh copies of the learner's arguments."""
        return self.mean.copy(), self.log_std.copy(), self.actions.copy()

    def parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """log σ ``[D]``, σ ``[D]``, a − μ and z = (a − μ)/σ ``[B, D]``."""
        sig, diff = np.exp(self.log_std), self.actions - self.mean
        return self.log_std, sig, diff, diff / sig


def _case(label: str, mean, log_std, actions) -> _Case:
    mean, actions = (np.asarray(x, dtype=float).reshape(len(x), -1) for x in (mean, actions))
    return _Case(label, mean, np.asarray(log_std, dtype=float), actions)


def _cases() -> list[_Case]:
    rng = np.random.default_rng(7)

    def batch(b: int, log_std: list[float]) -> tuple:
        """``b`` rows of means and of actions drawn 1.5σ wide around them (2 decimals)."""
        m = np.round(rng.normal(0, 1, (b, len(log_std))), 2)
        return m, log_std, np.round(m + 1.5 * np.exp(log_std) * rng.normal(size=m.shape), 2)

    ls2, ls3, ls4, ls5 = [-0.7], [-0.5, 0.0, 0.4], [0.3, 0.7, 1.0], [-1.2, 0.5, -0.2]
    return [
        _case("D = 1, σ = 1 (log σ = 0), B = 4, one action exactly at the mean",
              [0.0, 0.5, -1.0, 2.0], [0.0], [0.3, 0.5, 0.2, -0.5]),
        _case("D = 1, σ < 1 (log σ = −0.7), B = 5", *batch(5, ls2)),
        _case("D = 3, log σ = (−0.5, 0, 0.4): both signs and zero, B = 6", *batch(6, ls3)),
        _case("D = 3, σ > 1 (log σ = 0.3, 0.7, 1.0), B = 2", *batch(2, ls4)),
        _case("D = 3, a single sample (B = 1), log σ = (−1.2, 0.5, −0.2)", *batch(1, ls5)),
        _case("D = 1, σ = 0.05: one action 40σ out in the tail, one at the mean, B = 3",
              [0.0, 0.3, -0.2], [np.log(0.05)], [2.0, 0.35, -0.2]),
    ]  # fmt: skip


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """float32 answers pass; NaN and ±inf match only themselves (for the NaN-making mistakes)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))


def _to_array(got) -> tuple[str, object]:
    """A NumPy float array from the learner's array, list or torch tensor."""
    try:
        got = got.detach().cpu().numpy() if hasattr(got, "detach") else got
        return ("none", None) if got is None else ("ok", np.asarray(got, dtype=float))
    except (TypeError, ValueError) as exc:
        return "notarray", exc


def _fmt(x: np.ndarray) -> str:
    fmt = {"float_kind": lambda v: f"{v + 0.0:.4g}"}  # 0.0043, not 4.3000e-03; no "-0"
    return np.array2string(np.asarray(x), separator=", ", max_line_width=10_000, formatter=fmt)


def _fmt3(x: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in np.round(x, 3) + 0.0) + ")"  # no "-0.000"


def _diagnose(wrong: dict[int, np.ndarray], mistakes: dict[int, list]) -> str | None:
    """The first mistake that reproduces the learner's output on every case it got wrong."""
    if not wrong:
        return None
    for j, (msg, _) in enumerate(mistakes[next(iter(wrong))]):
        if all(any(_close(g, w) for w in mistakes[k][j][1]) for k, g in wrong.items()):
            return msg
    return None


def _run(fn: Callable, cases: list[_Case], parse: Callable) -> list[tuple[str, object]] | None:
    """Call ``fn`` on each case: ``[(status, got)]``, or None while the template is untouched."""
    outcomes = []
    for c in cases:
        args = c.args()
        with np.errstate(all="ignore"):
            status, got = attempt(fn, *args)
        if status == "todo":
            return None
        if status == "ok":
            changed = [n for n, a, b in zip(ARG_NAMES, args, c.args(), strict=True)
                       if not np.array_equal(a, b)]  # fmt: skip
            status, got = ("mutated", changed) if changed else parse(got, c)
        outcomes.append((status, got))
    return outcomes


def _failure(status: str, got, messages: dict[str, str]) -> str | None:
    """The message for an answer that failed before its numbers could be compared."""
    if status == "error":
        return f"raised {type(got).__name__}: {got}"
    if status == "mutated":
        return f"changed its input {', '.join(got)} in place: work on a copy"
    return messages[status].format(got=got) if status in messages else None


# ====================================================== Exercise 7.1: the log-density
# fmt: off
MSG_LP_NO_SUM = ("one log-density per coordinate, shape (B, D): the D coordinates are "
                 "independent, so the density is their product and the log-density the SUM over "
                 "the last axis — return one number per row, shape (B,)")
MSG_LP_MEAN_OVER_D = ("averaged over the D coordinates: the log of a product of densities is the "
                      "SUM of their logs, not their mean")
MSG_LP_NO_LOG_STD = ("the −log σ term is missing (−Σ_j log σ_j = −sum(log_std)): it normalises "
                     "the density — a wider Gaussian is lower everywhere — and its gradient is "
                     "the −1 in ∂log π/∂log σ, without which training would only ever widen σ")
MSG_LP_DIV_STD = ("the squared distance is divided by σ instead of σ²: "
                  "−(a − μ)²/(2σ²) = −½((a − μ)/σ)²")
MSG_LP_LOG_STD_AS_STD = ("log_std was used as if it were σ: it is log σ, so σ = exp(log_std) and "
                         "the normaliser −log σ is −log_std itself (no np.log)")
MSG_LP_STD_AS_VAR = ("σ was used as if it were the variance: N(μ, σ²) has variance "
                     "σ² = exp(2·log_std), so the terms are −(a − μ)²/(2σ²) and −log σ "
                     "(not −(a − μ)²/(2σ) and −½ log σ)")
MSG_LP_NO_CONST = ("off by a constant, (D/2)·log 2π ≈ 0.919·D: the −½ log 2π of each coordinate "
                   "is missing. Its gradient is 0 and PPO's ratio exp(log π − log π_old) cancels "
                   "it, so training would not notice — but this is not the log-density (its exp "
                   "does not integrate to 1), and every number compared with it (torch's "
                   "Normal.log_prob, an entropy, a logged log-likelihood) would be off")
MSG_LP_CONST_ONCE = ("−½ log 2π was subtracted once: each of the D coordinates has its own "
                     "normaliser, so the constant is −(D/2)·log 2π")
MSG_LP_SIGN = ("the sign: this is −log π, a negative log-likelihood (a loss); the log-density is "
               "−½ Σ z² − Σ log σ − (D/2) log 2π, at most −Σ log σ − (D/2) log 2π")
MSG_LP_UNDERFLOW = ("the density underflowed: 40σ out, exp(−½z²) = exp(−800) rounds to 0 and log "
                    "0 = −inf. Stay in log space: write log π as −½z² − log σ − ½ log 2π, never "
                    "as the log of the density")
GENERIC_LP_HINT = ("compare with log π(a|s) = −½ Σ_j ((a_j − μ_j)/σ_j)² − Σ_j log σ_j − (D/2)·log "
                   "2π, σ = exp(log_std), one number per row of actions")
# fmt: on


def _lp_mistakes(c: _Case) -> list[tuple[str, list[np.ndarray]]]:
    """Each classic mistake: its explanation and its possible outputs ``[B]`` on case ``c``."""
    s, sig, diff, z = c.parts()
    d, per_dim = c.mean.shape[1], -0.5 * z**2 - s - _HALF_LOG_2PI
    ref = per_dim.sum(axis=1)
    with np.errstate(all="ignore"):
        as_std = [
            (-0.5 * (diff / s) ** 2 - np.log(s) - _HALF_LOG_2PI).sum(axis=1),
            (-0.5 * (diff / s) ** 2 - s - _HALF_LOG_2PI).sum(axis=1),
        ]
        density = np.exp(-0.5 * z**2) / (sig * np.sqrt(2 * np.pi))
        underflow = [np.log(density.prod(axis=1)), np.log(density).sum(axis=1)]
    return [
        (MSG_LP_SIGN, [-ref]),
        (MSG_LP_NO_CONST, [ref + d * _HALF_LOG_2PI]),
        (MSG_LP_CONST_ONCE, [ref + (d - 1) * _HALF_LOG_2PI]),
        (MSG_LP_NO_LOG_STD, [ref + s.sum()]),
        (MSG_LP_DIV_STD, [(-0.5 * diff**2 / sig - s - _HALF_LOG_2PI).sum(axis=1)]),
        (MSG_LP_STD_AS_VAR, [(-0.5 * diff**2 / sig - 0.5 * s - _HALF_LOG_2PI).sum(axis=1)]),
        (MSG_LP_LOG_STD_AS_STD, as_std),
        (MSG_LP_MEAN_OVER_D, [per_dim.mean(axis=1)]),
        (MSG_LP_UNDERFLOW, underflow),
    ]


_LP_FAILURES = {
    "none": "returned None: return the log-densities, an array [B]",
    "notarray": "return a float array, one log-density per row: {got}",
    "nosum": MSG_LP_NO_SUM,
    "shape": "return one log-density per row of actions, shape {got}",
}


def _parse_lp(got, c: _Case) -> tuple[str, object]:
    status, arr = _to_array(got)
    B = len(c.mean)
    if status != "ok":
        return status, arr
    if arr.shape == c.mean.shape:
        return "nosum", None
    if arr.shape != (B,):
        return "shape", f"({B},), got {arr.shape}"
    ok = _close(arr, gaussian_log_prob(c.mean, c.log_std, c.actions))
    return ("ok" if ok else "wrong"), arr


def check_gaussian_log_prob(fn: Callable) -> bool:
    r"""Chapter 7, exercise 7.1: ``fn(mean [B, D], log_std [D], actions [B, D])`` → the
    log-density ``[B]`` of each row of ``actions`` under the diagonal Gaussian policy,

    .. math::
        \log\pi(a \mid s) = -\frac12\sum_{j=1}^D \Big(\frac{a_j - \mu_j}{\sigma_j}\Big)^2
            - \sum_{j=1}^D \log\sigma_j - \frac D2 \log 2\pi, \qquad \sigma = e^{\log\sigma}.

    NumPy in; NumPy, torch or a list out. Prints one line per case and, for a wrong answer, the
    likely mistake; returns ``True`` when all pass.

    A missing :math:`\frac D2\log 2\pi` **fails**, with its own explanation. It is a constant
    offset: the gradient and PPO's ratio are unchanged, so training would not notice. But the
    exercise asks for the log-density, the number ``torch.distributions.Normal.log_prob``
    returns and that the chapter compares with it, uses in the entropy
    :math:`-\mathbb E[\log\pi]` and logs; an offset of :math:`0.92\,D` nats there is a bug, and a
    checker that passed it would teach that a density need not be normalised.
    """
    cases = _cases()
    outcomes = _run(fn, cases, _parse_lp)
    if outcomes is None:
        return not_attempted("check_gaussian_log_prob")
    wrong = {k: got for k, (status, got) in enumerate(outcomes) if status == "wrong"}
    diagnosis = _diagnose(wrong, {k: _lp_mistakes(cases[k]) for k in wrong})
    report = Report("check_gaussian_log_prob")
    for c, (status, got) in zip(cases, outcomes, strict=True):
        if (why := _failure(status, got, _LP_FAILURES)) is not None:
            report.failed(c.label, why)
        elif status == "ok":
            report.passed(c.label)
        else:
            if diagnosis or not np.isfinite(got).all():  # NaN alone is weak evidence
                hint = diagnosis or "returned NaN or inf: a log-density is a finite number"
            else:
                hint = next(
                    (m for m, ws in _lp_mistakes(c) if any(_close(got, w) for w in ws)),
                    GENERIC_LP_HINT,
                )
            want = gaussian_log_prob(c.mean, c.log_std, c.actions)
            report.failed(
                c.label, f"expected {_fmt(want)}\n      got      {_fmt(got)}\n      {hint}"
            )
    return report.show()


# ============================================================ Exercise 7.2: the score
# fmt: off
MSG_SC_WRT_STD = ("this is the derivative with respect to σ (or to the variance σ²), not to log "
                  "σ: by the chain rule ∂/∂log σ = σ·∂/∂σ, so σ·((a − μ)²/σ³ − 1/σ) = ((a − "
                  "μ)/σ)² − 1")
MSG_SC_NO_MINUS_ONE = ("the −1 is missing from ∂log π/∂log σ = ((a − μ)/σ)² − 1: it is the "
                       "derivative of the −log σ term of log π (without it every sample would "
                       "push σ up)")
MSG_SC_MEAN_STD = ("divided by σ once: (a − μ)/σ is z; the derivative of −½((a − μ)/σ)² with "
                   "respect to μ is (a − μ)/σ²")
MSG_SC_SIGN = ("the sign: log π grows as μ moves towards the action and as σ grows to reach a far "
               "one, so ∂log π/∂μ = (a − μ)/σ² and ∂log π/∂log σ = ((a − μ)/σ)² − 1; (μ − a)/σ² "
               "or 1 − z² is the gradient of −log π, the loss")
MSG_SC_SWAPPED = ("in the wrong order: return (d_mean, d_log_std), the mean's gradient first")
MSG_SC_BATCH_SUM = ("d_log_std has shape (D,), like log_std: that sums (or averages) over the "
                    "batch. The exercise asks for each sample's score, shape (B, D); the batch "
                    "gradient comes later, weighted by each sample's advantage")
GENERIC_SC_HINT = ("compare with ∂log π/∂μ = (a − μ)/σ² and ∂log π/∂log σ = ((a − μ)/σ)² − 1, "
                   "σ = exp(log_std), element by element, shape (B, D)")
# fmt: on
_COMPONENTS = ("d_mean", "d_log_std")


def _sc_mistakes(c: _Case) -> dict[str, list[tuple[str, list[np.ndarray]]]]:
    """Each classic mistake in each of the two outputs, with its possible values ``[B, D]``."""
    _, sig, diff, z = c.parts()
    ref_m, ref_s = gaussian_score(c.mean, c.log_std, c.actions)
    wrt_std = [diff**2 / sig**3 - 1 / sig, diff**2 / (2 * sig**4) - 1 / (2 * sig**2)]
    return {
        "d_mean": [(MSG_SC_SIGN, [-ref_m]), (MSG_SC_MEAN_STD, [z])],
        "d_log_std": [(MSG_SC_SIGN, [-ref_s]), (MSG_SC_NO_MINUS_ONE, [z**2]),
                      (MSG_SC_WRT_STD, wrt_std)],
    }  # fmt: skip


_SC_FAILURES = {
    "none": "returned None: return the pair (d_mean, d_log_std)",
    "notpair": "return a pair (d_mean, d_log_std) of arrays [B, D], got a {got}",
    "notarray": "return a pair (d_mean, d_log_std) of arrays [B, D]: {got}",
    "batchsum": MSG_SC_BATCH_SUM,
    "shape": "d_mean and d_log_std each have shape {got}",
    "nonfinite": "returned NaN or inf: " + GENERIC_SC_HINT,
    "swapped": MSG_SC_SWAPPED,
}


def _parse_sc(got, c: _Case) -> tuple[str, object]:
    if got is None:
        return "none", None
    if isinstance(got, str) or not hasattr(got, "__len__") or len(got) != 2:
        return "notpair", type(got).__name__
    parsed = [_to_array(part) for part in got]
    if bad := next((p for p in parsed if p[0] != "ok"), None):
        return bad
    arrays = [arr for _, arr in parsed]
    if arrays[0].shape == c.mean.shape and arrays[1].shape == c.log_std.shape:
        return "batchsum", None
    if any(a.shape != c.mean.shape for a in arrays):
        return "shape", f"{c.mean.shape}, got {tuple(a.shape for a in arrays)}"
    if not all(np.isfinite(a).all() for a in arrays):
        return "nonfinite", None
    ref = gaussian_score(c.mean, c.log_std, c.actions)
    if _close(arrays[0], ref[1]) and _close(arrays[1], ref[0]):
        return "swapped", None
    ok = _close(arrays[0], ref[0]) and _close(arrays[1], ref[1])
    return ("ok" if ok else "wrong"), tuple(arrays)


def _zero_mean_check(fn: Callable, report: Report) -> None:
    """Teaching point: each score averages to ≈ 0 over actions sampled from the policy."""
    n, mu, ls = 50_000, np.array([0.5, -1.0]), np.array([-0.3, 0.4])
    mean = np.tile(mu, (n, 1))
    actions = mean + np.exp(ls) * np.random.default_rng(2024).standard_normal((n, 2))
    with np.errstate(all="ignore"):
        status, got = attempt(fn, mean, ls.copy(), actions)
    if status == "ok":
        status, got = _parse_sc(got, _Case("", mean, ls, actions))
    if status not in ("ok", "wrong"):
        return report.failed(f"E[∇ log π] = 0 on {n:,} sampled actions", f"failed: {status}")
    avg, se = np.mean(got, axis=1), np.std(got, axis=1) / np.sqrt(n)  # [2, D] each
    line = (
        f"E[∇ log π] = 0: over {n:,} actions a ~ N(μ, σ²), μ = (0.5, −1), log σ = (−0.3, 0.4), "
        f"∂log π/∂μ averages {_fmt3(avg[0])} and ∂log π/∂log σ {_fmt3(avg[1])}\n      — zero up "
        "to sampling error: the score has mean zero, which is why a baseline b(s) can be "
        "subtracted from the return without bias"
    )
    if np.all(np.abs(avg) < 5 * se):
        return report.passed(line)
    report.failed(line, "each score must average to 0 over actions drawn from π")  # overfitted


def _score_why(c: _Case, got: tuple, diagnosis: dict) -> str:
    """Each wrong output (a row where it is wrong), then the likely mistakes, each once."""
    lines, hints, refs = [], [], gaussian_score(c.mean, c.log_std, c.actions)
    for name, g, want in zip(_COMPONENTS, got, refs, strict=True):
        if not _close(g, want):
            b = int(np.argmax(~np.isclose(g, want, rtol=1e-5, atol=1e-6).all(axis=1)))
            lines.append(
                f"{name} wrong, e.g. row {b} (a = {_fmt(c.actions[b])}, μ = {_fmt(c.mean[b])}, "
                f"σ = {_fmt(np.exp(c.log_std))}): expected {_fmt(want[b])}, got {_fmt(g[b])}"
            )
            hint = diagnosis[name] or next(
                (m for m, ws in _sc_mistakes(c)[name] if any(_close(g, w) for w in ws)),
                GENERIC_SC_HINT,
            )
            hints += [hint] if hint not in hints else []
    return "\n      ".join([*lines, *hints])


def check_gaussian_score(fn: Callable) -> bool:
    r"""Chapter 7, exercise 7.2: ``fn(mean [B, D], log_std [D], actions [B, D])`` →
    ``(d_mean, d_log_std)``, each ``[B, D]``: the gradient of each sample's log-density with
    respect to the mean and to log σ,

    .. math::
        \frac{\partial \log\pi}{\partial \mu_j} = \frac{a_j - \mu_j}{\sigma_j^2}, \qquad
        \frac{\partial \log\pi}{\partial \log\sigma_j}
            = \Big(\frac{a_j - \mu_j}{\sigma_j}\Big)^2 - 1 .

    Prints one line per case (each wrong output with its likely mistake). When all pass it
    also calls ``fn`` on 50 000 actions drawn from the policy and shows that both scores
    average to ≈ 0 (:math:`\mathbb E_{a\sim\pi}[\nabla\log\pi(a)] = 0`). ``True`` if all pass.
    """
    cases = _cases()
    outcomes = _run(fn, cases, _parse_sc)
    if outcomes is None:
        return not_attempted("check_gaussian_score")
    refs = [gaussian_score(c.mean, c.log_std, c.actions) for c in cases]
    wrong = {name: {k: got[i] for k, (status, got) in enumerate(outcomes)
                    if status == "wrong" and not _close(got[i], refs[k][i])}
             for i, name in enumerate(_COMPONENTS)}  # fmt: skip
    diagnosis = {
        name: _diagnose(wrong[name], {k: _sc_mistakes(cases[k])[name] for k in wrong[name]})
        for name in _COMPONENTS
    }
    report = Report("check_gaussian_score")
    for c, (status, got) in zip(cases, outcomes, strict=True):
        if (why := _failure(status, got, _SC_FAILURES)) is not None:
            report.failed(c.label, why)
        elif status == "ok":
            report.passed(c.label)
        else:
            report.failed(c.label, _score_why(c, got, diagnosis))
    if report.ok:
        _zero_mean_check(fn, report)
    return report.show()
