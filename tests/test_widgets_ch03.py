"""Chapter 3 figure functions and sliders: they draw the exact quantities they claim to."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gaelib import exact_values
from gaelib.widgets import ch03
from gaelib.worlds import estimators


def small_problem(seed=0):
    """5 live states + 1 terminal, stochastic transitions, a stochastic policy, 2 actions."""
    rng = np.random.default_rng(seed)
    S, A = 6, 2
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[5] = 0.0
    P[5, :, 5] = 1.0
    R = np.round(rng.normal(size=(S, A)), 2)
    R[5] = 0.0
    pi = rng.dirichlet(np.ones(A), size=S)
    term = np.array([False] * 5 + [True])
    mu0 = np.array([0.2] * 5 + [0.0])
    return estimators.advantage_problem(P, R, pi, term, 0.9, mu0, seed=1, action_names=("a", "b"))


@pytest.fixture(scope="module")
def problem():
    return small_problem()


def test_problem_holds_exact_values_and_a_seeded_error_direction(problem):
    V, Q = exact_values(problem.P, problem.R, problem.pi, 0.9, problem.terminal)
    np.testing.assert_allclose(problem.V, V)
    np.testing.assert_allclose(problem.A, Q - V[:, None])
    np.testing.assert_allclose((problem.pi * problem.A).sum(axis=1), 0.0, atol=1e-12)
    assert problem.z[5] == 0.0 and np.all(problem.z[:5] != 0)
    np.testing.assert_allclose(small_problem().z, problem.z)  # same seed, same direction
    np.testing.assert_allclose(problem.critic(0.3), V + 0.3 * problem.z)
    assert problem.weights.sum() == pytest.approx(1.0)
    assert list(problem.live) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="sigma"):
        problem.critic(-0.1)
    with pytest.raises(ValueError, match="action_names"):
        estimators.advantage_problem(
            problem.P, problem.R, problem.pi, problem.terminal, 0.9, problem.mu0, action_names="x"
        )


def test_delta_moments_are_the_one_step_formula(problem):
    p = problem
    for sigma in (0.0, 0.4):
        v_hat = p.critic(sigma)
        m = estimators.delta_moments(p, sigma)
        live = (~p.terminal).astype(float)
        np.testing.assert_allclose(m.mean, p.R + p.gamma * p.P @ (live * v_hat) - v_hat[:, None])
        g = estimators.gae_moments(
            p.P, p.R, p.pi, v_hat, gamma=p.gamma, lam=0.0, terminal=p.terminal
        )
        np.testing.assert_allclose(m.var, g.var, atol=1e-12)
    # the exact critic: δ is unbiased for A^π at every live (s, a)
    np.testing.assert_allclose(estimators.delta_moments(p, 0.0).mean[:5], p.A[:5], atol=1e-12)


def test_advantage_figure(problem):
    fig = ch03.advantage_figure(problem)
    left, right = fig.axes
    np.testing.assert_allclose(left.lines[0].get_ydata(), problem.V[:5])
    np.testing.assert_allclose(left.lines[2].get_ydata(), problem.Q[:5, 1])
    heights = [b.get_height() for b in right.patches]
    np.testing.assert_allclose(heights[:5], problem.A[:5, 0])
    np.testing.assert_allclose(heights[5:10], problem.A[:5, 1])
    np.testing.assert_allclose(right.lines[0].get_ydata(), 0.0, atol=1e-12)  # Σ π A = 0
    plt.close(fig)


def test_delta_bias_figure_draws_the_exact_mean(problem):
    fig = ch03.delta_bias_figure(problem, 0.3)
    critic_ax, delta_ax = fig.axes
    np.testing.assert_allclose(critic_ax.lines[-1].get_ydata(), problem.critic(0.3)[:5])
    mean = estimators.delta_moments(problem, 0.3).mean
    np.testing.assert_allclose(delta_ax.lines[-2].get_ydata(), mean[:5, 0])
    np.testing.assert_allclose(delta_ax.lines[-1].get_ydata(), mean[:5, 1])
    w = problem.weights
    bias2 = (w * (mean - problem.A) ** 2).sum()
    assert f"vs $A^\\pi$ {bias2:.4f}" in delta_ax.get_title()
    assert critic_ax.get_title().startswith("σ = 0.30")
    plt.close(fig)
    with pytest.raises(ValueError, match="sigma"):
        ch03.delta_bias_figure(problem, -1.0)


def test_bias_split_adds_up(problem):
    fig, ax = plt.subplots()
    ch03.plot_delta_bias_split(ax, problem, 0.3)
    h = np.array([b.get_height() for b in ax.patches])
    eps = problem.critic(0.3) - problem.V
    np.testing.assert_allclose(h[:5], -eps[:5])
    total = estimators.delta_moments(problem, 0.3).mean[:5] - problem.A[:5]
    np.testing.assert_allclose(h[:5] + h[5:10], total[:, 0])
    np.testing.assert_allclose(h[:5] + h[10:15], total[:, 1])
    plt.close(fig)


def test_kstep_tradeoff_matches_estimators(problem):
    p = problem
    t = estimators.kstep_tradeoff(p, 0.3, 12)
    v_hat = p.critic(0.3)
    ms = estimators.kstep_moments(p.P, p.R, p.pi, v_hat, gamma=0.9, k=12, terminal=p.terminal)
    b2, var, mse = estimators.bias_variance_mse(ms[4], p.Q - v_hat[:, None], p.weights)
    assert t["bias2"][4] == pytest.approx(b2) and t["var"][4] == pytest.approx(var)
    assert t["mse"][4] == pytest.approx(mse)
    assert list(t["k"]) == list(range(1, 13))
    # the bias against Q − V̂ is γ^k E[ε(s_{t+k})]: at most γ^k max|ε| in size
    eps_max = np.abs(v_hat - p.V).max()
    assert np.all(np.sqrt(t["bias2"]) <= 0.9 ** t["k"] * eps_max + 1e-12)
    # the bias against A^π keeps the state-only offset −ε(s): it tends to E_w[ε(s)²]
    offset = (p.weights * (v_hat - p.V)[:, None] ** 2).sum()
    t40 = estimators.kstep_tradeoff(p, 0.3, 200)
    assert t40["bias2_vs_A"][-1] == pytest.approx(offset, rel=1e-6)
    # exact critic: no bias, and the variance never falls as k grows
    t0 = estimators.kstep_tradeoff(p, 0.0, 12)
    assert np.all(t0["bias2"] < 1e-20) and np.all(np.diff(t0["var"]) >= -1e-12)


def test_kstep_figure(problem):
    fig = ch03.kstep_tradeoff_figure(problem, 0.3, k_max=12)
    ax = fig.axes[0]
    t = estimators.kstep_tradeoff(problem, 0.3, 12)
    lines = ax.lines
    np.testing.assert_allclose(lines[-5].get_ydata(), t["bias2"])
    np.testing.assert_allclose(lines[-3].get_ydata(), t["var"])
    np.testing.assert_allclose(lines[-2].get_ydata(), t["mse"])
    best = int(np.argmin(t["mse"]))
    assert f"at k = {best + 1}" in ax.get_title()
    plt.close(fig)


def test_explorers_render_fast_frames_that_change(problem):
    before = plt.get_fignums()
    for explorer in (ch03.delta_bias_explorer, ch03.kstep_explorer):
        w = explorer(problem, sigma=0.2)
        slider = w.children[0]
        assert [v for _, v in slider.options] == list(ch03.SIGMAS) and slider.value == 0.2
        slider.value = 0.4  # moving the slider redraws without error
    assert plt.get_fignums() == before  # the slider's figures are not pyplot's
    with pytest.raises(ValueError, match="sigma must be one of"):
        ch03.kstep_explorer(problem, sigma=0.33)


def test_blitted_frames_differ_by_sigma(problem):
    from gaelib.widgets.blit import BlitFrames

    frames = BlitFrames(
        (6, 3),
        1,
        lambda axes: ch03._kstep_static(axes[0], problem, 10, 0.5),
        lambda axes, s: ch03._kstep_dynamic(axes[0], problem, 10, s),
        0.1,
    )
    a, b, a2 = frames.render(0.1), frames.render(0.4), frames.render(0.1)
    assert a.startswith(b"\x89PNG") and a != b and a == a2
