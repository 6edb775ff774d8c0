"""Chapter 5 sweep figures and the train widget."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gaelib.core import history
from gaelib.core.history import History
from gaelib.widgets import ch05


def fake_run(level: float, end: int = 1000) -> History:
    steps = np.linspace(100, end, 10).astype(int)
    ret = np.full(10, float(level))
    ret[0] = np.nan  # no episode finished yet
    return History(np.full(5, float(level)), steps[:5], ret, steps, 0.1, policy=None)


def test_sweep_curves_and_auc():
    sweep = {0.5: [fake_run(10), fake_run(20)], 0.95: [fake_run(100), fake_run(200, end=900)]}
    grid, curves = history.sweep_curves(sweep, n_points=50)
    assert grid[-1] == 900  # the shortest run sets the common grid
    assert curves[0.5].shape == (2, 50)
    auc = history.sweep_auc(sweep)
    np.testing.assert_allclose(auc[0.5], [10, 20])
    np.testing.assert_allclose(auc[0.95], [100, 200])
    with pytest.raises(ValueError, match="sweep"):
        history.sweep_curves({})


def test_sweep_figures():
    sweep = {0.0: [fake_run(10)] * 3, 1.0: [fake_run(50)] * 3}
    fig, axes = plt.subplots(1, 2)
    ch05.plot_lambda_sweep(axes[0], sweep)
    ch05.plot_sweep_auc(axes[1], sweep)
    assert len(axes[0].lines) == 2 and len(axes[1].patches) == 2
    np.testing.assert_allclose([p.get_height() for p in axes[1].patches], [10, 50])
    plt.close(fig)
    fig = ch05.lambda_sweep_figure(sweep)
    assert [ax.get_title() for ax in fig.axes] == ["λ = 0", "λ = 1"]
    plt.close(fig)


def test_train_explorer_trains_when_pressed(monkeypatch):
    from IPython.display import Image

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    w = ch05.train_explorer(None, total_steps=3000, lam=0.95, gamma=0.99, lr=3e-3)
    (lam_s, gamma_s), (button, bar, status) = w.children[0].children, w.children[1].children
    assert lam_s.value == 0.95 and gamma_s.value == 0.99
    n_before = len(shown)
    button.click()
    assert status.value.startswith("done in")
    assert bar.value > 2000
    frames = [x for x in shown[n_before:] if isinstance(x, Image)]
    assert len(frames) >= 2  # live updates, then the final curve
    plt.close("all")


def test_grid_auc_and_heat_map():
    grid = {
        (0.9, 0.5): [fake_run(10), fake_run(30)],
        (0.9, 0.95): [fake_run(100), fake_run(120)],
        (0.99, 0.5): [fake_run(5), fake_run(5)],
        (0.99, 0.95): [fake_run(60), fake_run(80)],
    }
    gammas, lams, mean, se = history.grid_auc(grid)
    assert gammas == [0.9, 0.99] and lams == [0.5, 0.95]
    np.testing.assert_allclose(mean, [[20, 110], [5, 70]])
    np.testing.assert_allclose(se, [[10, 10], [0, 10]])  # std(ddof=1)/sqrt(2) of pairs 20 apart
    fig, ax = plt.subplots()
    ch05.plot_gamma_lambda_map(ax, grid)
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["110", "20", "5", "70"]
    framed = [(p.get_x() + 0.5, p.get_y() + 0.5) for p in ax.patches]
    assert framed == [(1, 0), (1, 1)]  # each row's best λ: 0.95
    plt.close(fig)
    with pytest.raises(ValueError, match="grid"):
        history.grid_auc({0.5: [fake_run(1)]})


def test_train_explorer_takes_a_grid(monkeypatch):
    from gaelib.widgets import blit

    labels = []

    class RecordingFrames(blit.BlitFrames):  # records the labels of what each frame draws
        def __init__(self, size, n, static, dynamic, state):
            def recording(axes, st):
                artists = dynamic(axes, st)
                labels.append([a.get_label() for a in artists if hasattr(a, "get_xdata")])
                return artists

            super().__init__(size, n, static, recording, state)

    monkeypatch.setattr(ch05, "BlitFrames", RecordingFrames)
    grid = {(0.8, 0.9): [fake_run(100)], (0.99, 0.9): [fake_run(50)]}
    w = ch05.train_explorer(grid, total_steps=3000, lam=0.9, gamma=0.8)
    (lam_s, gamma_s), _ = w.children[0].children, w.children[1].children
    assert 0.8 in gamma_s.options and gamma_s.value == 0.8 and lam_s.value == 0.9
    assert "sweep mean, γ=0.8, λ=0.9" in labels[-1]  # the grid's curve for this (γ, λ)
    plt.close("all")


def small_grid():
    return {
        (g, lam): [fake_run(level + d) for d in (0, 10)]
        for g, base in ((0.8, 100), (0.99, 40))
        for lam, level in ((0.0, base / 4), (0.95, base), (1.0, base * 0.9))
    }


def test_gamma_row_figure_shows_that_row():
    grid = small_grid()
    fig = ch05.gamma_row_figure(grid, 0.99)
    ax0, ax1 = fig.axes
    assert len(ax0.lines) == 3  # one mean learning curve per λ
    heights = [p.get_height() for p in ax1.patches]
    np.testing.assert_allclose(heights, [15, 45, 41])  # the γ = 0.99 row's mean AUCs
    framed = [p.get_edgecolor()[3] > 0 for p in ax1.patches]
    assert framed == [False, True, False]  # the best λ (0.95) is framed
    assert "γ = 0.99" in ax1.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="gamma"):
        ch05.gamma_row_figure(grid, 0.5)
    fig = ch05.grid_rows_figure(grid)
    assert [ax.get_title() for ax in fig.axes] == ["γ = 0.8", "γ = 0.99"]
    np.testing.assert_allclose([p.get_height() for p in fig.axes[0].patches], [30, 105, 95])
    plt.close(fig)


def test_grid_explorer_redraws_for_each_gamma(monkeypatch):
    from IPython.display import Image

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    w = ch05.grid_explorer(small_grid(), gamma=0.99)
    slider = w.children[0]
    assert list(slider.options) == [0.8, 0.99]
    slider.value = 0.8
    slider.value = 0.99
    frames = [x.data for x in shown if isinstance(x, Image)]
    assert len(frames) >= 2 and frames[-1] != frames[-2]  # the picture follows the slider
    with pytest.raises(ValueError, match="gamma"):
        ch05.grid_explorer(small_grid(), gamma=0.9)
    plt.close("all")


def test_learners_side_by_side():
    aucs = {
        "actor-critic": {0.0: np.array([10.0, 12.0]), 0.95: np.array([100.0, 110.0])},
        "PPO": {0.0: np.array([50.0, 70.0]), 0.5: np.array([80.0, 90.0])},
    }
    fig, ax = plt.subplots()
    ch05.plot_learners_auc(ax, aucs, random_level=22.0)
    heights = sorted(p.get_height() for p in ax.patches)
    np.testing.assert_allclose(heights, [11, 60, 85, 105])  # one bar per (learner, λ) present
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.5", "0.95"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["actor-critic", "PPO", "random policy"]
    assert ax.lines[-1].get_ydata()[0] == 22.0
    colours = {p.get_facecolor()[:3] for p in ax.patches}
    assert len(colours) == 3  # one colour per λ, shared by both learners
    plt.close(fig)
    with pytest.raises(ValueError, match="aucs"):
        ch05.plot_learners_auc(ax, {})
