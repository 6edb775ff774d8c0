"""Chapter 6 figures and the diagnostics slider."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gaelib.core.history import History  # noqa: E402
from gaelib.widgets import ch06  # noqa: E402


def fake_run(kl_level: float, n: int = 12) -> History:
    steps = np.arange(1, n + 1) * 256
    ret = np.linspace(10, 200, n)
    ret[0] = np.nan  # no episode finished yet
    diag = {
        "approx_kl": np.r_[0.0, np.full(n - 1, kl_level)],  # a zero KL must survive the log axis
        "clip_fraction": np.full(n, 0.1),
        "entropy": np.linspace(0.69, 0.3, n),
        "explained_variance": np.linspace(-0.2, 0.95, n),
        "value_loss": np.linspace(10, 0.1, n),
        "policy_loss": np.zeros(n),
    }
    return History(np.full(5, 50.0), steps[:5], ret, steps, 0.1, policy=None, diagnostics=diag)


def test_clipped_objective_matches_its_definition_in_every_case():
    eps = 0.2
    rho = np.array([0.5, 0.9, 1.0, 1.1, 1.5])
    # Â > 0: capped at (1 + ε)Â above, unclipped below
    np.testing.assert_allclose(ch06.clipped_objective(rho, 2.0, eps), [1.0, 1.8, 2.0, 2.2, 2.4])
    # Â < 0: capped at (1 − ε)Â below (flat), unclipped above
    np.testing.assert_allclose(
        ch06.clipped_objective(rho, -1.0, eps), [-0.8, -0.9, -1.0, -1.1, -1.5]
    )


def test_clipped_objective_is_flat_exactly_where_the_table_says():
    eps, h = 0.2, 1e-6
    for adv, flat_at, live_at in [(1.0, 1.5, 0.5), (-1.0, 0.5, 1.5)]:

        def slope(r, adv=adv):
            up, down = ch06.clipped_objective([r + h, r - h], adv, eps)
            return (up - down) / (2 * h)

        assert slope(flat_at) == 0.0
        assert slope(live_at) == pytest.approx(adv)
        assert slope(1.0) == pytest.approx(adv)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(ratio=[], advantage=1.0, clip=0.2), "ratio"),
        (dict(ratio=[-0.1], advantage=1.0, clip=0.2), "ratio"),
        (dict(ratio=[np.nan], advantage=1.0, clip=0.2), "ratio"),
        (dict(ratio=[1.0], advantage="1", clip=0.2), "advantage"),
        (dict(ratio=[1.0], advantage=1.0, clip=1.5), "clip"),
        (dict(ratio=[1.0], advantage=1.0, clip=True), "clip"),
    ],
)
def test_clipped_objective_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ch06.clipped_objective(**kwargs)


def test_clip_objective_figure_has_two_panels():
    fig = ch06.clip_objective_figure(0.2)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_diagnostics_figures():
    runs = {"default": fake_run(0.01), "pushed": fake_run(1.0)}
    fig = ch06.diagnostics_figure(runs, "pushed")
    assert len(fig.axes) == len(ch06.DIAGNOSTICS)
    kl_ax = fig.axes[1]
    assert kl_ax.get_yscale() == "log"
    red = [ln for ln in kl_ax.get_lines() if ln.get_color() == "C3"]
    assert len(red) == 1 and np.all(red[0].get_ydata() > 0)  # the zero KL is drawn at the floor
    np.testing.assert_allclose(red[0].get_ydata()[1:], 1.0)
    plt.close(fig)
    fig = ch06.runs_figure(runs)
    assert len(fig.axes) == 2 * len(ch06.DIAGNOSTICS)
    plt.close(fig)


def test_diagnostics_figures_reject_bad_runs():
    with pytest.raises(ValueError, match="runs"):
        ch06.runs_figure({})
    no_diag = History(np.ones(2), np.arange(2), np.ones(2), np.arange(2), 0.1, policy=None)
    with pytest.raises(ValueError, match="diagnostics"):
        ch06.diagnostics_figure({"x": no_diag})
    with pytest.raises(ValueError, match="highlight"):
        ch06.diagnostics_figure({"a": fake_run(0.1)}, "b")


def test_explorer_redraws_when_the_slider_moves(monkeypatch):
    pytest.importorskip("ipywidgets")
    from gaelib.widgets.blit import BlitFrames

    frames = []
    original = BlitFrames.render

    def spy(self, value):
        frames.append((value, original(self, value)))
        return frames[-1][1]

    monkeypatch.setattr(BlitFrames, "render", spy)
    runs = {"default": fake_run(0.01), "pushed": fake_run(1.0)}
    box = ch06.diagnostics_explorer(runs, highlight="default")
    (slider,) = box.kwargs_widgets
    slider.value = "pushed"
    slider.value = "default"
    assert [v for v, _ in frames][-2:] == ["pushed", "default"]
    pngs = {v: png for v, png in frames}
    assert (
        all(p.startswith(b"\x89PNG") for p in pngs.values()) and pngs["pushed"] != pngs["default"]
    )
    with pytest.raises(ValueError, match="highlight"):
        ch06.diagnostics_explorer(runs, highlight="nope")
