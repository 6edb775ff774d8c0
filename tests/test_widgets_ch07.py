"""Chapter 7 figures and the Gaussian-action slider."""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gaelib.widgets import ch07  # noqa: E402


def direct_sample(mean, log_std, samples=2000, seed=0):
    """The samples written out independently: μ + σ·ε with NumPy's seeded generator."""
    return mean + math.exp(log_std) * np.random.default_rng(seed).standard_normal(samples)


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    plt.close(fig)
    return buf.getvalue()


def test_samples_and_clipping_match_a_direct_computation():
    actions, clipped = ch07.sample_clipped_actions(1.5, 0.3, samples=500, seed=3)
    np.testing.assert_array_equal(actions, direct_sample(1.5, 0.3, 500, 3))
    np.testing.assert_array_equal(clipped, np.clip(actions, -2.0, 2.0))
    assert clipped.max() == 2.0 and actions.max() > 2.0  # the env clips; the sample is not


def test_clip_probability_is_exact():
    assert ch07.clip_probability(0.0, 0.0) == pytest.approx(0.0455003, abs=1e-6)  # |z| > 2
    assert ch07.clip_probability(2.0, -1.0) == pytest.approx(0.5)  # the mean on a bound
    a = direct_sample(1.5, 0.7, samples=400_000, seed=1)
    share = np.mean((a < -2) | (a > 2))
    assert ch07.clip_probability(1.5, 0.7) == pytest.approx(share, abs=3e-3)


@pytest.mark.parametrize("mean, log_std", [(0.0, 0.0), (1.5, 0.0), (-1.9, -2.0), (0.3, 0.7)])
def test_action_figure_structure_and_share_clipped(mean, log_std):
    fig = ch07.gaussian_action_figure(mean, log_std)
    left, right = fig.axes
    assert len(fig.axes) == 2
    a = direct_sample(mean, log_std)
    below, above = np.mean(a < -2), np.mean(a > 2)
    title = left.get_title()
    assert f"{below + above:.1%} clipped" in title
    assert f"{below:.1%} to -2, {above:.1%} to 2" in title
    # the histogram is a density of the clipped samples: it integrates to 1 over [low, high],
    # and the bounds' bins hold (at least) the clipped mass
    bars = [bar for container in left.containers for bar in container]
    width = bars[0].get_width()
    heights = {round(b.get_x(), 9): b.get_height() for b in bars}
    assert len(heights) == ch07._BINS
    assert sum(heights.values()) * width == pytest.approx(1.0)
    assert heights[round(-2.0, 9)] * width >= below - 1e-12
    assert heights[round(2.0 - width, 9)] * width >= above - 1e-12
    density = next(ln for ln in left.lines if ln.get_label().startswith("N(μ"))
    x = density.get_xdata()
    sigma = math.exp(log_std)
    want = np.exp(-0.5 * ((x - mean) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(density.get_ydata(), want)
    # the right panel: the two scores as functions of a
    d_mean, d_log_std = (ln for ln in right.lines if ln.get_label().startswith("∂"))
    a = d_mean.get_xdata()
    np.testing.assert_allclose(d_mean.get_ydata(), (a - mean) / sigma**2)
    np.testing.assert_allclose(d_log_std.get_ydata(), ((a - mean) / sigma) ** 2 - 1)
    assert a.min() == pytest.approx(mean - 3.5 * sigma) and a.max() == pytest.approx(
        mean + 3.5 * sigma
    )
    plt.close(fig)


def test_share_clipped_is_returned_and_grows_with_sigma_and_the_mean():
    fig, ax = plt.subplots()
    shares = [
        ch07.plot_clipped_actions(ax, m, s) for m, s in [(0, -1), (0, 0), (0, 0.7), (1.5, 0.7)]
    ]
    plt.close(fig)
    assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] > 0.4
    a = direct_sample(1.5, 0.7)
    assert shares[-1] == pytest.approx(np.mean((a < -2) | (a > 2)))


def test_other_bounds_and_sample_counts():
    fig = ch07.gaussian_action_figure(0.5, 0.0, low=-1.0, high=1.0, samples=300, seed=5)
    a = direct_sample(0.5, 0.0, 300, 5)
    assert f"{np.mean((a < -1) | (a > 1)):.1%} clipped" in fig.axes[0].get_title()
    assert "of 300 samples" in fig.axes[0].get_title()
    plt.close(fig)


def test_figures_are_deterministic_for_a_seed():
    same = [png_bytes(ch07.gaussian_action_figure(1.0, -0.5, seed=2)) for _ in range(2)]
    assert same[0] == same[1]
    assert png_bytes(ch07.gaussian_action_figure(1.0, -0.5, seed=3)) != same[0]


def test_grid_figure_is_the_static_fallback():
    means, log_stds = (0.0, 1.5), (-1.0, 0.0, 0.7)
    fig = ch07.gaussian_grid_figure(means, log_stds)
    assert len(fig.axes) == len(means) * len(log_stds)
    xlims = {ax.get_xlim() for ax in fig.axes}
    assert len(xlims) == 1  # one action axis for every panel
    for ax, (m, s) in zip(fig.axes, [(m, s) for m in means for s in log_stds], strict=True):
        a = direct_sample(m, s)
        assert f"μ = {m:g}, log σ = {s:g}" in ax.get_title()
        assert f"{np.mean((a < -2) | (a > 2)):.1%} clipped" in ax.get_title()
    plt.close(fig)
    # every grid value is a slider position
    for m in means:
        assert ch07.MEAN_SLIDER[0] <= m <= ch07.MEAN_SLIDER[1]
    for s in log_stds:
        assert ch07.LOG_STD_SLIDER[0] <= s <= ch07.LOG_STD_SLIDER[1]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(mean=float("nan"), log_std=0.0), "mean"),
        (dict(mean=float("inf"), log_std=0.0), "mean"),
        (dict(mean="0", log_std=0.0), "mean"),
        (dict(mean=True, log_std=0.0), "mean"),
        (dict(mean=0.0, log_std=5.0), "log_std"),
        (dict(mean=0.0, log_std=-10.0), "log_std"),
        (dict(mean=0.0, log_std=float("nan")), "log_std"),
        (dict(mean=0.0, log_std=0.0, low=2.0, high=2.0), "low"),
        (dict(mean=0.0, log_std=0.0, low=3.0, high=-3.0), "low"),
        (dict(mean=0.0, log_std=0.0, high=float("inf")), "high"),
        (dict(mean=0.0, log_std=0.0, samples=0), "samples"),
        (dict(mean=0.0, log_std=0.0, samples=-5), "samples"),
        (dict(mean=0.0, log_std=0.0, samples=10.5), "samples"),
        (dict(mean=0.0, log_std=0.0, seed=-1), "seed"),
        (dict(mean=0.0, log_std=0.0, seed=1.5), "seed"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(kwargs, name):
    n_figs = len(plt.get_fignums())
    with pytest.raises(ValueError, match=name):
        ch07.gaussian_action_figure(**kwargs)
    assert len(plt.get_fignums()) == n_figs  # nothing half-drawn is left open
    with pytest.raises(ValueError, match=name):
        ch07.sample_clipped_actions(**kwargs)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(means=()), "means"),
        (dict(means=(0.0, float("nan"))), "means"),
        (dict(log_stds=(0.0, 3.0)), "log_stds"),
        (dict(log_stds=5), "log_stds"),
        (dict(low=1.0, high=0.0), "low"),
        (dict(samples=0), "samples"),
    ],
)
def test_grid_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ch07.gaussian_grid_figure(**kwargs)


def test_clip_probability_rejects_bad_arguments():
    with pytest.raises(ValueError, match="low"):
        ch07.clip_probability(0.0, 0.0, low=1.0, high=1.0)
    with pytest.raises(ValueError, match="log_std"):
        ch07.clip_probability(0.0, 9.0)


def test_explorer_redraws_when_a_slider_moves():
    pytest.importorskip("ipywidgets")
    plt.close("all")
    box = ch07.gaussian_explorer(mean=0.0, log_std=0.0)
    mean_slider, log_std_slider, image = box.children
    assert (mean_slider.min, mean_slider.max) == (-3.0, 3.0)
    assert (log_std_slider.min, log_std_slider.max) == (-2.0, 1.0)
    first = image.value
    assert first[:4] == b"\x89PNG"
    mean_slider.value = 1.5
    moved_mean = image.value
    assert moved_mean[:4] == b"\x89PNG" and moved_mean != first
    log_std_slider.value = 0.7
    assert image.value not in (first, moved_mean)
    mean_slider.value, log_std_slider.value = 0.0, 0.0
    assert image.value == first  # drawn once, shown again from memory
    assert not plt.get_fignums()  # the explorer's figures never reach pyplot


@pytest.mark.parametrize("kwargs, name", [(dict(mean=3.5), "mean"), (dict(log_std=1.5), "log_std")])
def test_explorer_rejects_values_off_its_sliders(kwargs, name):
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match=name):
        ch07.gaussian_explorer(**kwargs)
