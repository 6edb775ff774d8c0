r"""Chapters 1, 2, 5, 8 and 9: comparing two settings that share seeds — the paired t-interval.

When two settings are run on the same seeds (the same initial weights), the seed-to-seed
spread is shared, and the fair comparison is the **difference per seed**
:math:`d_s = a_s - b_s`: its mean :math:`\bar d`, its standard error
:math:`s_d/\sqrt n`, and the t-interval :math:`\bar d \pm t_{1-\alpha/2,\,n-1}\, s_d/\sqrt n`
with n − 1 degrees of freedom. "Within noise" in this course means: the 95% interval
contains 0 — these seeds cannot tell the two settings apart.

The t quantile is computed here (no SciPy): the Student-t distribution function through the
regularised incomplete beta function (a continued fraction), inverted by bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["t_quantile", "PairedDifference", "paired_difference"]


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function :math:`I_x(a, b)`."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
    ln += b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(ln) * _betacf(a, b, x) / a
    return 1.0 - math.exp(ln) * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betai(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (e.g. ``t_quantile(0.975,
    4)`` = 2.776, the factor of a 95% interval from 5 paired seeds)."""
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 < p < 1.0:
        raise ValueError(f"p must be a number in (0, 1), got {p!r}")
    if isinstance(df, bool) or not isinstance(df, int | float) or not df > 0:
        raise ValueError(f"df must be a number > 0, got {df!r}")
    if p == 0.5:
        return 0.0
    lo, hi = -1.0, 1.0
    while _t_cdf(lo, df) > p:
        lo *= 2.0
    while _t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class PairedDifference:
    r"""The per-seed differences ``diffs = a - b``, their ``mean``, its standard error ``se``
    :math:`= s_d/\sqrt n`, the degrees of freedom ``df`` = n − 1, the t quantile ``t`` and the
    interval ``[low, high]`` = mean ∓ t·se at ``confidence``."""

    diffs: np.ndarray
    mean: float
    se: float
    df: int
    t: float
    low: float
    high: float
    confidence: float

    @property
    def within_noise(self) -> bool:
        """True when the interval contains 0: these seeds cannot tell the settings apart."""
        return self.low <= 0.0 <= self.high

    def __str__(self) -> str:
        # three significant digits on the largest of the printed numbers
        top = max(abs(self.mean), abs(self.low), abs(self.high), self.se)
        k = 1 if top == 0 else min(6, max(0, 2 - math.floor(math.log10(top))))  # 0: all equal
        pct = f"{100 * self.confidence:g}%"
        return (
            f"{self.mean:+.{k}f} ± {self.se:.{k}f} (s.e.), {pct} interval "
            f"[{self.low:+.{k}f}, {self.high:+.{k}f}], {self.df} d.f."
        )


def paired_difference(a, b, confidence: float = 0.95) -> PairedDifference:
    r"""Chapters 5, 6 and 10: compare ``a`` and ``b`` (one score per seed each, the same seeds in
    the same order) by their differences :math:`d_s = a_s - b_s`:
    :math:`\bar d \pm t_{(1+c)/2,\,n-1}\; s_d/\sqrt{n}`.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.ndim != 1 or b.shape != a.shape:
        raise ValueError(f"a and b must be 1-D and of equal length, got {a.shape} and {b.shape}")
    if len(a) < 2:
        raise ValueError(f"a and b need at least 2 paired values, got {len(a)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("a and b must be finite")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    d = a - b
    n = len(d)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    t = t_quantile(0.5 + confidence / 2.0, n - 1)
    return PairedDifference(d, mean, se, n - 1, t, mean - t * se, mean + t * se, float(confidence))
