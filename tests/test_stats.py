"""gaelib.core.stats: the t quantile against published table values, the paired interval against
a direct computation, and its input checks."""

import math

import numpy as np
import pytest

from gaelib.core.stats import paired_difference, t_quantile


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [  # Student-t table values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2)
        (0.975, 1, 12.706),
        (0.975, 4, 2.776),
        (0.975, 9, 2.262),
        (0.975, 14, 2.145),
        (0.95, 4, 2.132),
        (0.995, 10, 3.169),
        (0.975, 1000, 1.962),
    ],
)
def test_t_quantile_matches_the_table(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-3)
    assert t_quantile(1 - p, df) == pytest.approx(-expected, abs=1e-3)  # symmetric


def _t_coverage(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with df degrees of freedom, by integrating its density."""
    x = np.linspace(0.0, t, 200_001)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    pdf = np.exp(log_c - (df + 1) / 2 * np.log1p(x**2 / df))
    return 2 * float(np.sum((pdf[1:] + pdf[:-1]) / 2 * np.diff(x)))


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 14, 30])
def test_t_quantile_against_the_t_density(df):
    """An independent oracle: the interval ±t_{0.975} holds 95% of the t density."""
    assert _t_coverage(t_quantile(0.975, df), df) == pytest.approx(0.95, abs=1e-6)


def test_t_quantile_with_one_df_is_the_cauchy_quantile():
    for p in (0.6, 0.9, 0.99):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)


def test_paired_difference_by_hand():
    a = np.array([10.0, 12.0, 9.0, 14.0, 11.0])
    b = np.array([8.0, 11.0, 9.5, 10.0, 10.0])
    d = a - b
    r = paired_difference(a, b)
    assert r.mean == pytest.approx(d.mean())
    assert r.se == pytest.approx(d.std(ddof=1) / math.sqrt(5))
    assert r.df == 4
    assert r.low == pytest.approx(d.mean() - 2.7764451 * r.se, abs=1e-5)
    assert r.high == pytest.approx(d.mean() + 2.7764451 * r.se, abs=1e-5)
    assert r.within_noise is (r.low <= 0 <= r.high)
    np.testing.assert_array_equal(r.diffs, d)
    assert r.t == pytest.approx(2.7764451, abs=1e-6)
    assert "4 d.f." in str(r)
    # d = [2, 3, 4]: mean 3, s.e. 1/√3, t(2) = 4.303: printed to three significant digits
    r3 = paired_difference([2.5, 3.0, 4.25], [0.5, 0.0, 0.25])
    assert "[+0.516, +5.484]" not in str(r3) and "[+0.52, +5.48]" in str(r3)
    flipped = paired_difference([0.5, 0.0, 0.25], [2.5, 3.0, 4.25])
    assert flipped.low == pytest.approx(-r3.high) and flipped.high == pytest.approx(-r3.low)


def test_pairing_removes_the_shared_seed_effect():
    seed_effect = np.array([0.0, 100.0, -50.0, 30.0, 80.0])
    a = seed_effect + np.array([5.0, 6.0, 4.0, 5.5, 5.0])
    r = paired_difference(a, seed_effect)
    assert r.low > 0  # unpaired, the seed spread would swamp a difference of ~5


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, 2.0], [1.0]), "equal length"),
        (([1.0], [2.0]), "at least 2"),
        (([1.0, np.nan], [1.0, 2.0]), "finite"),
        (([[1.0, 2.0]], [[1.0, 2.0]]), "1-D"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        paired_difference(*args)


def test_bad_confidence_and_quantile_arguments():
    with pytest.raises(ValueError, match="confidence"):
        paired_difference([1.0, 2.0], [0.0, 1.0], confidence=1.0)
    with pytest.raises(ValueError, match="p must"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df must"):
        t_quantile(0.9, 0)


def test_identical_scores_print_plainly():
    """A setting compared with itself: every difference 0, s.e. 0 — printed as zeros, not as
    hundreds of digits."""
    d = paired_difference([3.0, 5.0, 4.0], [3.0, 5.0, 4.0])
    assert (d.mean, d.se, d.low, d.high) == (0.0, 0.0, 0.0, 0.0)
    assert str(d) == "+0.0 ± 0.0 (s.e.), 95% interval [+0.0, +0.0], 2 d.f."
    tiny = paired_difference([1e-9, 2e-9], [0.0, 0.0])
    assert len(str(tiny)) < 80  # at most 6 decimals
