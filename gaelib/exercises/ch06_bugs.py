r"""Chapter 6 exercise checker: PPO's whole minibatch loss, a bug hunt (the clipped policy loss
alone is :mod:`gaelib.exercises.ch06`).

:func:`check_ppo_loss` checks, in PyTorch, the loss of one minibatch

.. math::
    L = -\frac1B\sum_i \min\big(\rho_i \hat A_i,\ \mathrm{clip}(\rho_i, 1\pm\epsilon)\hat A_i\big)
        + c_v\,\frac1B\sum_i \big(V_\phi(s_i) - (\hat A^{raw}_i + V_{old}(s_i))\big)^2,
    \qquad \rho_i = e^{\log\pi_\theta(a_i|s_i) - \log\pi_{old}(a_i|s_i)},

its value AND its gradients with respect to ``new_logp`` and ``values`` (the two inputs that
come from the current networks). :math:`\hat A` in the policy term is either the advantages as
given or normalised within the minibatch — a choice, not a bug: both pass, and the checker says
which one the learner made. A wrong answer is recomputed under each classic mistake, under
each normalisation choice; the mistake that reproduces the learner's loss and gradients on
every case it got wrong names the bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import torch

from ._common import Report, attempt, not_attempted

__all__ = ["check_ppo_loss"]

NORMS = (None, "sample", "population")  # advantages as given; normalised with either std


class _Out(NamedTuple):
    loss: float
    g_logp: np.ndarray  # ∂L/∂new_logp
    g_values: np.ndarray  # ∂L/∂values
    norm: str | None = None  # the normalisation choice this output was computed under


@dataclass(frozen=True)
class _PPOCase:
    label: str
    new_logp: np.ndarray
    old_logp: np.ndarray
    adv: np.ndarray
    values: np.ndarray
    old_values: np.ndarray
    clip: float
    vf_coef: float

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.new_logp, self.old_logp, self.adv, self.values, self.old_values

    def args(self) -> tuple:
        """Fresh float64 tensors; new_logp and values require grad, like a network's outputs."""
        grad = (True, False, False, True, False)
        tensors = [
            torch.tensor(x, requires_grad=g) for x, g in zip(self.arrays(), grad, strict=True)
        ]
        return (*tensors, self.clip, self.vf_coef)

    @cached_property
    def _references(self) -> dict[str | None, _Out]:
        return dict(zip(NORMS, _outputs(self, [(n, None) for n in NORMS]), strict=True))

    def reference(self, norm: str | None = None) -> _Out:
        return self._references[norm]


def _ppo_case(label, ratios, adv, value_moves, clip=0.2, vf_coef=0.5, seed=0) -> _PPOCase:
    """Log-probabilities of a 2- to 4-action policy whose ratios π/π_old are ``ratios``; the
    critic's values moved by ``value_moves`` since the rollout was collected."""
    rng = np.random.default_rng(seed)
    ratios = np.asarray(ratios, dtype=float)
    old_logp = np.log(rng.uniform(0.1, 0.6, size=len(ratios)))
    old_values = rng.normal(1.0, 1.0, size=len(ratios)).round(2)
    values = old_values + np.asarray(value_moves, dtype=float)
    adv = np.asarray(adv, dtype=float)
    return _PPOCase(
        label, old_logp + np.log(ratios), old_logp, adv, values, old_values, clip, vf_coef
    )


def _ppo_cases() -> list[_PPOCase]:
    rng = np.random.default_rng(7)
    ratios, adv, moves = (
        np.exp(rng.normal(0, 0.4, 16)),
        rng.normal(1, 2.5, 16).round(2),
        rng.normal(0, 0.5, 16).round(2),
    )
    return [
        _ppo_case(
            "first epoch: nothing has moved yet (ρ = 1, values = old_values), Â of both signs",
            np.ones(6), [2.0, -1.5, 0.8, -0.4, 3.0, -2.2], np.zeros(6), seed=1,
        ),
        _ppo_case(
            "Â > 0: ratios above 1+ε are clipped, one below 1−ε is not (and one Â < 0 at ρ = 1)",
            [1.5, 2.0, 0.5, 1.1, 1.0], [1.0, 2.5, 1.8, 3.0, -4.0],
            [0.3, -0.5, 0.1, 0.4, -0.2], seed=2,
        ),
        _ppo_case(
            "Â < 0: ratios below 1−ε are clipped, one above 1+ε is not (and one Â > 0 at ρ = 1)",
            [0.5, 0.7, 1.6, 0.95, 1.0], [-1.0, -0.4, -2.0, -1.5, 4.0],
            [-0.6, 0.25, 0.05, -0.3, 0.5], seed=3,
        ),
        _ppo_case(
            "mixed signs and ratios, ε = 0.1, vf_coef = 1",
            [1.3, 0.6, 1.02, 0.8, 1.5, 0.97], [1.2, -1.1, 2.4, 0.9, -0.3, -1.4],
            [0.2, -0.15, 0.6, -0.05, 0.3, -0.4], clip=0.1, vf_coef=1.0, seed=4,
        ),
        _ppo_case(
            f"a minibatch of 16 random samples, ε = 0.3: Â with mean {adv.mean():.2f} and "
            f"standard deviation {adv.std():.2f}",
            ratios, adv, moves, clip=0.3, seed=5,
        ),
    ]  # fmt: skip


MSG_PPO_RATIO_SWAPPED = (
    "the ratio is upside down: ρ = π_new/π_old = exp(new_logp − old_logp), not "
    "exp(old_logp − new_logp)"
)
MSG_PPO_RATIO_DETACHED = (
    "no gradient reaches new_logp: the ratio (or new_logp) was detached — .detach(), "
    "torch.no_grad() or a trip through numpy — so the policy never learns: its gradient "
    "flows through ρ; only old_logp, the advantages and old_values are constants"
)
MSG_PPO_RATIO_NO_EXP = (
    "ρ is a RATIO of probabilities, exp(new_logp − old_logp): new_logp − old_logp is its log, "
    "and exp(new_logp) − exp(old_logp) a difference"
)
MSG_PPO_CLIP_RATIO_ONLY = (
    "the ratio is clipped but the objective is not: −mean(clip(ρ)·Â) drops the unclipped term, "
    "so a move that made things worse (Â > 0 and ρ < 1−ε, or Â < 0 and ρ > 1+ε) is not "
    "undone. Take the pessimistic minimum: −mean(min(ρ·Â, clip(ρ, 1−ε, 1+ε)·Â))"
)
MSG_PPO_MAX = (
    "max where the min belongs (for all samples, or for those with Â < 0): the objective is "
    "min(ρÂ, clip(ρ)Â) for advantages of BOTH signs — with Â < 0 the min keeps the full "
    "penalty ρÂ when ρ > 1+ε and clips only when ρ < 1−ε"
)
MSG_PPO_CLIP_ADV = (
    "the advantage (or the product ρÂ) was clipped: PPO clips the probability RATIO ρ to "
    "[1−ε, 1+ε] and multiplies the clipped ratio by the unclipped Â"
)
MSG_PPO_TARGET_LEAK = (
    "the value target is built from the current values (advantages + values): the target moves "
    "with the prediction, so the value loss is mean(Â²) whatever V predicts and its gradient "
    "vanishes (with values.detach() in the target it is −2Â/B: V drifts by the advantages and "
    "never settles). The target is the rollout's λ-return: advantages + old_values"
)
MSG_PPO_TARGET_NORMALISED = (
    "the value target uses the NORMALISED advantages: normalise a copy for the policy term "
    "only — the critic's target is the raw λ-return, advantages + old_values, in reward units"
)
MSG_PPO_SIGN = (
    "the sign of the policy term: the objective min(ρÂ, clip(ρ)Â) is to be MAXIMISED and an "
    "optimiser minimises, so the loss is −mean(min(…)) + vf_coef × value loss"
)
MSG_PPO_SUM = (
    "a sum where the mean belongs: the policy loss and the value loss are means over the "
    "minibatch (a sum makes the step size grow with the minibatch size)"
)
MSG_PPO_VALUE_HALF = (
    "the value loss has an extra ½ (CleanRL writes 0.5·mean((V − G)²)): here it is the plain "
    "mean squared error, weighed by vf_coef alone"
)
MSG_PPO_VALUE_CLIPPED = (
    "the value loss is clipped around old_values (CleanRL's clip_vloss, SB3's clip_range_vf): "
    "an option this exercise does not ask for — use the plain mean squared error (V − G)²"
)
MSG_PPO_NORM_MINIBATCH = (
    "You normalise the advantages within the minibatch, (Â − mean)/(std + 1e-8), as "
    "Stable-Baselines3 does: every minibatch's policy step gets the same scale whatever the "
    "reward scale (at the price of some noise from small-batch statistics), and the critic's "
    "target stays the raw λ-return. Right."
)
MSG_PPO_NORM_NONE = (
    "You use the advantages as given: right when the whole batch was normalised once before it "
    "was split into minibatches, or when you choose not to normalise (then the policy's step "
    "size follows the reward scale). The critic's target is the raw λ-return either way."
)

_BUGS = [  # (message, the bugs of _loss_expr that make it)
    (MSG_PPO_RATIO_SWAPPED, ("swap",)),
    (MSG_PPO_RATIO_DETACHED, ("detach",)),
    (MSG_PPO_RATIO_NO_EXP, ("log_ratio", "prob_diff")),
    (MSG_PPO_CLIP_RATIO_ONLY, ("clip_ratio",)),
    (MSG_PPO_MAX, ("max", "max_neg")),
    (MSG_PPO_CLIP_ADV, ("clip_adv", "clip_product")),
    (MSG_PPO_TARGET_LEAK, ("leak", "leak_detached")),
    (MSG_PPO_TARGET_NORMALISED, ("norm_target",)),
    (MSG_PPO_SIGN, ("sign",)),
    (MSG_PPO_SUM, ("sum", "sum_pg", "sum_v")),
    (MSG_PPO_VALUE_HALF, ("half_v",)),
    (MSG_PPO_VALUE_CLIPPED, ("vclip", "vclip_half")),
]


def _loss_expr(lp, old, adv, a, v, old_v, eps, vf_coef, bug=None):
    """PPO's loss with ``a`` (the advantages, maybe normalised) in the policy term, or with
    ``bug``."""
    ratio = torch.exp(old - lp) if bug == "swap" else torch.exp(lp - old)
    ratio = {"detach": ratio.detach(), "log_ratio": lp - old}.get(bug, ratio)
    ratio = lp.exp() - old.exp() if bug == "prob_diff" else ratio
    surr, clipped = ratio * a, torch.clamp(ratio, 1 - eps, 1 + eps) * a
    pick = {"max": torch.max(surr, clipped), "clip_ratio": clipped}.get(
        bug, torch.min(surr, clipped)
    )
    pick = torch.where(a < 0, torch.max(surr, clipped), pick) if bug == "max_neg" else pick
    if bug == "clip_adv":
        pick = torch.min(surr, ratio * torch.clamp(a, 1 - eps, 1 + eps))
    if bug == "clip_product":
        pick = torch.min(surr, torch.clamp(surr, 1 - eps, 1 + eps))
    pg = -(pick.sum() if bug in ("sum", "sum_pg") else pick.mean())
    pg = -pg if bug == "sign" else pg
    target = {"leak": adv + v, "leak_detached": adv + v.detach(), "norm_target": a + old_v}
    target = target.get(bug, adv + old_v)
    err = (v - target) ** 2
    if bug in ("vclip", "vclip_half"):
        err = torch.max(err, (old_v + torch.clamp(v - old_v, -eps, eps) - target) ** 2)
    err = 0.5 * err if bug in ("half_v", "vclip_half") else err
    return pg + vf_coef * (err.sum() if bug in ("sum", "sum_v") else err.mean())


def _normalised(adv: torch.Tensor, norm: str | None) -> torch.Tensor:
    if norm is None:
        return adv
    return (adv - adv.mean()) / (adv.std(correction=1 if norm == "sample" else 0) + 1e-8)


def _outputs(c: _PPOCase, specs: list[tuple[str | None, str | None]]) -> list[_Out]:
    """The loss and its gradients for each (normalisation choice, bug) in ``specs``: each on
    its own copy of the inputs, all gradients from one backward pass through their sum."""
    losses, leaves = [], []
    for norm, bug in specs:
        lp, old, adv, v, old_v, eps, vf_coef = c.args()
        losses.append(_loss_expr(lp, old, adv, _normalised(adv, norm), v, old_v, eps, vf_coef, bug))
        leaves += [lp, v]
    grads = torch.autograd.grad(sum(x.reshape(()) for x in losses), leaves, allow_unused=True)
    grads = [
        np.zeros(len(x)) if g is None else g.numpy() for x, g in zip(leaves, grads, strict=True)
    ]
    return [
        _Out(float(loss.detach()), grads[2 * i], grads[2 * i + 1], norm)
        for i, (loss, (norm, _)) in enumerate(zip(losses, specs, strict=True))
    ]


def _gradients(loss: torch.Tensor, lp: torch.Tensor, v: torch.Tensor) -> _Out:
    grads = torch.autograd.grad(loss.reshape(()), [lp, v], allow_unused=True)
    g = [
        np.zeros(len(x)) if gx is None else gx.detach().numpy()
        for x, gx in zip((lp, v), grads, strict=True)
    ]
    return _Out(float(loss.detach()), g[0], g[1])


def _ppo_mistakes(c: _PPOCase) -> list[tuple[str, list[_Out]]]:
    specs = [[(n, b) for n in NORMS for b in bugs if n or b != "norm_target"] for _, bugs in _BUGS]
    outs = iter(_outputs(c, [s for ss in specs for s in ss]))
    return [(msg, [next(outs) for _ in ss]) for (msg, _), ss in zip(_BUGS, specs, strict=True)]


def _same(a: _Out, b: _Out) -> bool:
    def close(x, y):
        return bool(np.allclose(x, y, rtol=1e-5, atol=1e-7))  # float32 arithmetic passes too

    return close(a.loss, b.loss) and close(a.g_logp, b.g_logp) and close(a.g_values, b.g_values)


def _evaluate(got, args) -> tuple[str, object]:
    if got is None:
        return "none", None
    if not isinstance(got, torch.Tensor):
        return "notensor", type(got).__name__
    if got.numel() != 1:
        return ("pervector", tuple(got.shape)) if got.ndim == 1 else ("notscalar", tuple(got.shape))
    if not torch.isfinite(got).all():
        return "nonfinite", None
    if not got.requires_grad:
        return "nograd", None
    try:
        return "ok", _gradients(got.to(torch.float64), args[0], args[3])
    except RuntimeError as exc:
        return "error", exc


def _fmt(x: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in x[:4]) + (", …]" if len(x) > 4 else "]")


def _explain(got: _Out, want: _Out) -> str:
    if not np.isclose(got.loss, want.loss, rtol=1e-5, atol=1e-7):
        return f"expected {want.loss:.6f}, got {got.loss:.6f}"
    parts = [
        f"∂L/∂{name} expected {_fmt(w)}, got {_fmt(g)}"
        for name, g, w in (
            ("new_logp", got.g_logp, want.g_logp),
            ("values", got.g_values, want.g_values),
        )
        if not np.allclose(g, w, rtol=1e-5, atol=1e-7)
    ]
    return f"the loss is right ({got.loss:.6f}) but not its gradient: " + "; ".join(parts)


def check_ppo_loss(fn: Callable) -> bool:
    r"""Chapter 6 exercise: ``fn(new_logp, old_logp, advantages, values, old_values, clip,
    vf_coef)`` → PPO's minibatch loss, a scalar tensor (float64 tensors ``[B]``; ``new_logp``
    and ``values`` require grad):

    .. math::
        L = -\frac1B\sum_i \min\big(\rho_i \hat A_i,\ \mathrm{clip}(\rho_i, 1-\epsilon,
            1+\epsilon)\hat A_i\big) + c_v\,\frac1B\sum_i \big(V_i - (A_i + V^{old}_i)\big)^2,

    :math:`\rho_i = \exp(\text{new\_logp}_i - \text{old\_logp}_i)`, :math:`A` the raw
    advantages, :math:`\hat A` either :math:`A` or :math:`A` normalised within the minibatch.
    The value and the gradients w.r.t. ``new_logp`` and ``values`` must match.
    """
    cases = _ppo_cases()
    report = Report("check_ppo_loss")
    names = ("new_logp", "old_logp", "advantages", "values", "old_values")
    outcomes: list[tuple[str, object]] = []
    wrong: dict[int, _Out] = {}
    for k, c in enumerate(cases):
        args = c.args()
        status, got = attempt(fn, *args)
        if status == "todo":
            return not_attempted("check_ppo_loss")
        if status == "ok":
            pairs = zip(names, args, c.arrays(), strict=False)
            changed = [n for n, a, b in pairs if not np.array_equal(a.detach().numpy(), b)]
            if changed:
                status, got = "mutated", changed
            else:
                status, got = _evaluate(got, args)
                if status == "ok" and not any(_same(got, c.reference(n)) for n in NORMS):
                    wrong[k] = got
        outcomes.append((status, got))
    diagnosis = None
    per_case = {k: _ppo_mistakes(cases[k]) for k in wrong}
    for j, (msg, _) in enumerate(_BUGS if wrong else ()):
        if all(any(_same(g, w) for w in per_case[k][j][1]) for k, g in wrong.items()):
            diagnosis = msg
            break
    choices = set()
    for k, (c, (status, got)) in enumerate(zip(cases, outcomes, strict=True)):
        if status == "error":
            report.failed(c.label, f"raised {type(got).__name__}: {got}")
        elif status == "mutated":
            report.failed(c.label, f"changed its input {', '.join(got)} in place")
        elif status == "none":
            report.failed(c.label, "returned None: return the loss, a scalar torch tensor")
        elif status == "notensor":
            report.failed(
                c.label,
                f"returned a {got}: return the loss as a torch tensor, so that the optimiser "
                "can call loss.backward() — no .item(), float() or numpy",
            )
        elif status == "pervector":
            report.failed(
                c.label,
                f"returned shape {got}, one loss per sample: the loss is their mean, a scalar",
            )
        elif status == "notscalar":
            report.failed(c.label, f"return a scalar tensor, got shape {got}")
        elif status == "nonfinite":
            report.failed(c.label, "returned NaN or inf: the loss must be a finite number")
        elif status == "nograd":
            report.failed(
                c.label,
                "the loss carries no gradient: build it from new_logp and values with torch "
                "operations (no .item(), .detach(), numpy or torch.no_grad())",
            )
        elif norms := [n for n in NORMS if _same(got, c.reference(n))]:
            choices.add(norms[0] is not None)
            report.passed(c.label)
        else:
            fits = [
                (m, w)
                for m, ws in per_case[k]
                for w in ws
                if m == (diagnosis or m) and _same(got, w)
            ]
            hint, norm = (fits[0][0], fits[0][1].norm) if fits else (None, None)
            want = c.reference(norm)  # under the normalisation choice the mistake was made in
            hint = hint or (
                "compare with −mean(min(ρ·Â, clip(ρ, 1−ε, 1+ε)·Â)) + vf_coef·mean((values − "
                "(advantages + old_values))²), ρ = exp(new_logp − old_logp)"
            )
            report.failed(c.label, f"{_explain(got, want)}: {hint}")
    for normalised in sorted(choices) if report.ok else ():  # what the learner's choice means
        report.lines.append("  " + (MSG_PPO_NORM_MINIBATCH if normalised else MSG_PPO_NORM_NONE))
    return report.show()
