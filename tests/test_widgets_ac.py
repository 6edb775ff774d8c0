"""Chapter 5 sweep figures and the train widget."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gaelib import widgets  # noqa: E402
from gaelib.agents import History  # noqa: E402


def fake_run(level: float, end: int = 1000) -> History:
    steps = np.linspace(100, end, 10).astype(int)
    ret = np.full(10, float(level))
    ret[0] = np.nan  # no episode finished yet
    return History(np.full(5, float(level)), steps[:5], ret, steps, 0.1, policy=None)


def test_sweep_curves_and_auc():
    sweep = {0.5: [fake_run(10), fake_run(20)], 0.95: [fake_run(100), fake_run(200, end=900)]}
    grid, curves = widgets.sweep_curves(sweep, n_points=50)
    assert grid[-1] == 900  # the shortest run sets the common grid
    assert curves[0.5].shape == (2, 50)
    auc = widgets.sweep_auc(sweep)
    np.testing.assert_allclose(auc[0.5], [10, 20])
    np.testing.assert_allclose(auc[0.95], [100, 200])
    with pytest.raises(ValueError, match="sweep"):
        widgets.sweep_curves({})


def test_sweep_figures():
    sweep = {0.0: [fake_run(10)] * 3, 1.0: [fake_run(50)] * 3}
    fig, axes = plt.subplots(1, 2)
    widgets.plot_lambda_sweep(axes[0], sweep)
    widgets.plot_sweep_auc(axes[1], sweep)
    assert len(axes[0].lines) == 2 and len(axes[1].patches) == 2
    np.testing.assert_allclose([p.get_height() for p in axes[1].patches], [10, 50])
    plt.close(fig)
    fig = widgets.lambda_sweep_figure(sweep)
    assert [ax.get_title() for ax in fig.axes] == ["λ = 0", "λ = 1"]
    plt.close(fig)


def test_train_explorer_trains_when_pressed(monkeypatch):
    from IPython.display import Image

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    w = widgets.train_explorer(None, total_steps=3000, lam=0.95, gamma=0.99, lr=3e-3)
    (lam_s, gamma_s), (button, bar, status) = w.children[0].children, w.children[1].children
    assert lam_s.value == 0.95 and gamma_s.value == 0.99
    n_before = len(shown)
    button.click()
    assert status.value.startswith("done in")
    assert bar.value > 2000
    frames = [x for x in shown[n_before:] if isinstance(x, Image)]
    assert len(frames) >= 2  # live updates, then the final curve
    plt.close("all")
