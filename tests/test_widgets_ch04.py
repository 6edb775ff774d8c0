"""Chapter 4 figure functions and explorers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gaelib import compute_gae
from gaelib.widgets import ch04
from gaelib.widgets.blit import BlitFrames
from gaelib.worlds import estimators, mdp


def problem():
    P, R, pi, term = mdp.random_walk_mdp(19)
    mu0 = np.zeros(21)
    mu0[10] = 1.0
    z = np.random.default_rng(0).normal(size=21)
    z[[0, 20]] = 0
    return estimators.CriticErrorProblem(P, R, pi, term, mu0, z)


def trajectory():
    rng = np.random.default_rng(0)
    v = rng.normal(size=30)
    term = np.zeros(30, bool)
    term[-1] = True
    return ch04.Trajectory(rng.normal(size=30), v, np.append(v[1:], 0.0), term, ~term & False)


def test_gae_weights_plot():
    fig = ch04.gae_weights_figure(0.99, 0.9, max_k=60)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), (0.99 * 0.9) ** np.arange(61))
    assert ax.lines[1].get_xdata()[0] == pytest.approx(1 / (1 - 0.891))
    assert "horizon" in ax.get_title()
    plt.close(fig)
    fig = ch04.gae_weights_figure(1.0, 1.0)
    assert "∞" in fig.axes[0].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="lam"):
        ch04.gae_weights_figure(0.9, 1.5)


def test_trajectory_advantages_plot_uses_compute_gae():
    traj = trajectory()
    want = compute_gae(
        traj.rewards,
        traj.values,
        traj.next_values,
        traj.terminated,
        traj.truncated,
        gamma=0.95,
        lam=0.5,
    )
    np.testing.assert_allclose(traj.advantages(0.95, 0.5), want)
    fig = ch04.trajectory_advantages_figure(traj, 0.95, 0.5)
    np.testing.assert_allclose(fig.axes[0].lines[-1].get_ydata(), want)
    plt.close(fig)


def test_critic_error_problem_curves():
    p = problem()
    b, v, m = p.curves(0.2, 0.99)
    b2, v2, m2 = estimators.gae_error_vs_lambda(
        p.P, p.R, p.pi, 0.2 * p.z, p.lams, gamma=0.99, mu0=p.mu0, terminal=p.terminal
    )
    np.testing.assert_allclose(m, m2)
    np.testing.assert_allclose(m, b + v)
    assert 0.0 < p.best_lambda(0.2, 0.99) < 1.0
    assert p.best_lambda(0.0, 0.99) == 0.0  # an exact critic: δ is exact here
    for bad in (-1.0, float("inf"), float("nan"), True, "0.2"):
        with pytest.raises(ValueError, match="sigma"):
            p.curves(bad, 0.99)
    # any real number type (NumPy's included) is a σ: the same curves as the float
    for same in (np.float32(0.5), np.float64(0.5), 0.5):
        np.testing.assert_allclose(p.curves(same, 0.99)[2], p.curves(0.5, 0.99)[2])
    with pytest.raises(ValueError, match="V_error"):
        estimators.gae_error_vs_lambda(
            p.P, p.R, p.pi, np.zeros(3), p.lams, gamma=0.9, mu0=p.mu0, terminal=p.terminal
        )
    fig = ch04.bias_variance_figure(p, 0.2, 0.99)
    assert "best λ" in fig.axes[0].get_title()
    plt.close(fig)


@pytest.mark.parametrize(
    "make, values",
    [
        (lambda: ch04.gae_weights_explorer(0.99, 0.95), [(0.99, 0.9), (0.99, 0.95)]),
        (
            lambda: ch04.trajectory_advantages_explorer(trajectory(), 0.99, 0.95),
            [(0.99, 0.5), (0.9, 0.5)],
        ),
        (lambda: ch04.bias_variance_explorer(problem(), 0.2, 0.99), [(0.2, 0.99), (0.4, 0.99)]),
    ],
)
def test_explorers_redraw_when_a_slider_moves(make, values, monkeypatch):
    frames_seen = []
    original = BlitFrames.render

    def spy(self, value):
        png = original(self, value)
        frames_seen.append(png)
        return png

    monkeypatch.setattr(BlitFrames, "render", spy)
    w = make()
    sliders = [c for c in w.children if hasattr(c, "options")]
    assert len(sliders) == 2
    for value in values:
        for s, x in zip(sliders, value, strict=True):
            s.value = x
    assert len(frames_seen) >= 2
    assert all(png.startswith(b"\x89PNG") for png in frames_seen)
    assert frames_seen[-1] != frames_seen[-2] or len(set(frames_seen)) > 1
    with pytest.raises(ValueError, match="λ"):
        ch04.gae_weights_explorer(0.99, 0.33)
    plt.close("all")
