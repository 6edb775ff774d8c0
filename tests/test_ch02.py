"""Chapter 2: gaelib.worlds.mdp (exact values, random walk) and gaelib.algorithms.td_prediction
(n-step TD), its figures and checkers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gaelib  # noqa: E402
from gaelib.algorithms import td_prediction
from gaelib.widgets.ch02 import _nstep_frames
from gaelib.worlds import mdp

# ------------------------------------------------------------------ exact values


def test_true_values_closed_form_and_bellman():
    v = mdp.random_walk_true_values(19)
    s = np.arange(1, 20)
    np.testing.assert_allclose(v[1:-1], s / 10 - 1, atol=1e-12)
    assert v[0] == v[-1] == 0.0
    # Bellman: V(s) = ½(r_left + V(s-1)) + ½(r_right + V(s+1)), γ = 1
    r_left = np.where(s == 1, -1.0, 0.0)
    r_right = np.where(s == 19, 1.0, 0.0)
    np.testing.assert_allclose(
        v[s], 0.5 * (r_left + v[s - 1]) + 0.5 * (r_right + v[s + 1]), atol=1e-12
    )
    np.testing.assert_allclose(
        mdp.random_walk_true_values(5)[1:-1], [-2 / 3, -1 / 3, 0, 1 / 3, 2 / 3]
    )


def test_exact_values_of_the_random_walk_mdp():
    P, R, pi, terminal = mdp.random_walk_mdp(19)
    V, Q = mdp.exact_values(P, R, pi, 1.0, terminal)
    np.testing.assert_allclose(V, mdp.random_walk_true_values(19), atol=1e-12)
    s = np.arange(1, 20)
    np.testing.assert_allclose(Q[s, 1], np.where(s == 19, 1.0, V[s + 1]), atol=1e-12)
    np.testing.assert_allclose(Q[s, 0], np.where(s == 1, -1.0, V[s - 1]), atol=1e-12)
    np.testing.assert_allclose((pi * Q).sum(1), V, atol=1e-12)  # V = Σ_a π Q
    assert np.all(Q[[0, 20]] == 0)


def test_exact_values_hand_solved_two_state_chain():
    # A -> B with reward 1, B -> A with reward 0, γ = 0.5:
    # V_A = 1 + ½ V_B, V_B = ½ V_A  =>  V_A = 4/3, V_B = 2/3.
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    R = np.array([[1.0], [0.0]])
    V, Q = mdp.exact_values(P, R, np.ones((2, 1)), 0.5)
    np.testing.assert_allclose(V, [4 / 3, 2 / 3])
    np.testing.assert_allclose(Q[:, 0], V)
    # A second action in A that stays in A with reward 0.5; π(stay | A) = ½:
    # V_A = ½(1 + ½V_B) + ½(½ + ½V_A), V_B = ½V_A  =>  V_A = 0.75 / 0.625 = 1.2, V_B = 0.6;
    # Q(A, go) = 1 + ½·0.6 = 1.3, Q(A, stay) = ½ + ½·1.2 = 1.1.
    P2 = np.zeros((2, 2, 2))
    P2[0, 0, 1] = P2[1, :, 0] = P2[0, 1, 0] = 1.0
    R2 = np.array([[1.0, 0.5], [0.0, 0.0]])
    V2, Q2 = mdp.exact_values(P2, R2, np.array([[0.5, 0.5], [1.0, 0.0]]), 0.5)
    np.testing.assert_allclose(V2, [1.2, 0.6])
    np.testing.assert_allclose(Q2[0], [1.3, 1.1])


def test_exact_values_against_monte_carlo():
    rng = np.random.default_rng(0)
    S, A, gamma, horizon, n = 4, 2, 0.8, 60, 20_000
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.normal(size=(S, A))
    pi = rng.dirichlet(np.ones(A), size=S)
    V, Q = mdp.exact_values(P, R, pi, gamma)
    for s0 in range(S):
        s = np.full(n, s0)
        ret = np.zeros(n)
        for t in range(horizon):  # γ^60 ≈ 1.5e-6: the tail is negligible
            a = (rng.random(n)[:, None] > np.cumsum(pi[s], axis=1)).sum(1)
            ret += gamma**t * R[s, a]
            s = (rng.random(n)[:, None] > np.cumsum(P[s, a], axis=1)).sum(1)
        assert abs(ret.mean() - V[s0]) < 4 * ret.std() / np.sqrt(n)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": 1.5}, "gamma"),
        ({"gamma": -0.1}, "gamma"),
        ({"P": np.full((3, 2, 3), 0.5)}, "P rows must sum to 1"),
        ({"P": np.full((3, 2), 0.5)}, "P must have shape"),
        ({"R": np.zeros((3, 3))}, "R must"),
        ({"R": np.array([[np.nan, 0], [0, 0], [0, 0]])}, "R must"),
        ({"pi": np.full((3, 2), 0.4)}, "pi rows must sum to 1"),
        ({"pi": np.full((2, 2), 0.5)}, "pi must have shape"),
        ({"terminal": [1, 0, 0]}, "terminal"),
        ({"gamma": 1.0, "terminal": None}, "singular"),
    ],
)
def test_exact_values_validation(kwargs, match):
    P = np.zeros((3, 2, 3))
    P[0, :, 1] = P[1, :, 2] = P[2, :, 2] = 1.0
    args = {"P": P, "R": np.ones((3, 2)), "pi": np.full((3, 2), 0.5), "gamma": 0.9}
    args["terminal"] = np.array([False, False, True])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        mdp.exact_values(**args)


def test_rms_error():
    assert mdp.rms_error([3.0, 4.0], np.zeros(2)) == pytest.approx(np.sqrt(12.5))
    with pytest.raises(ValueError, match="true_values"):
        mdp.rms_error(np.zeros(3), np.zeros(2))


# ------------------------------------------------------------------ the random walk


@pytest.fixture(scope="module")
def walk():
    return mdp.random_walk_episodes(20, 8, np.random.default_rng(1))


def test_episodes_follow_the_index_conventions(walk):
    n = walk.n_states
    assert walk.n_runs == 8 and walk.n_episodes == 20
    for r in range(walk.n_runs):
        for e in range(walk.n_episodes):
            ep = walk.one_episode(r, e)
            s, s2, rew, term = ep["states"], ep["next_states"], ep["rewards"], ep["terminated"]
            assert s[0] == 10 and np.all((s >= 1) & (s <= n))
            assert np.all(np.abs(s2 - s) == 1)
            np.testing.assert_array_equal(s[1:], s2[:-1])  # next_states[t] is s_{t+1}
            assert not term[:-1].any() and term[-1] and s2[-1] in (0, n + 1)
            assert np.all(rew[:-1] == 0) and rew[-1] == (1.0 if s2[-1] == n + 1 else -1.0)
    padding = walk.episode < 0
    assert not walk.terminated[padding].any() and np.all(walk.rewards[padding] == 0)
    assert walk.terminated.sum(axis=0).tolist() == [20] * 8


def test_episodes_are_seeded():
    a = mdp.random_walk_episodes(3, 4, np.random.default_rng(5))
    b = mdp.random_walk_episodes(3, 4, np.random.default_rng(5))
    c = mdp.random_walk_episodes(3, 4, np.random.default_rng(6))
    np.testing.assert_array_equal(a.states, b.states)
    assert a.states.shape != c.states.shape or not np.array_equal(a.states, c.states)


@pytest.mark.parametrize(
    "args, match",
    [
        ((0, 2), "n_episodes"),
        ((2, 0), "n_runs"),
        ((2, 2, None), "rng"),
        ((2, 2, np.random.default_rng(0), 0), "n_states"),
    ],
)
def test_episodes_validation(args, match):
    if len(args) == 2:
        args = (*args, np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        mdp.random_walk_episodes(*args)


def test_td_residual_of_an_episode_matches_gaelib(walk):
    v = mdp.random_walk_true_values(19)
    v_critic = v.copy()
    v_critic[[0, -1]] = 0.7  # what a critic might output at a terminal observation
    ep = walk.one_episode(3, 2)
    delta = gaelib.td_residuals(
        ep["rewards"],
        v_critic[ep["states"]],
        v_critic[ep["next_states"]],
        ep["terminated"],
        gamma=1.0,
    )
    by_hand = [
        r + (0.0 if d else v_critic[s2]) - v_critic[s]
        for s, s2, r, d in zip(
            ep["states"], ep["next_states"], ep["rewards"], ep["terminated"], strict=True
        )
    ]
    np.testing.assert_allclose(delta, by_hand)
    np.testing.assert_allclose(np.abs(delta), 0.1, atol=1e-12)  # with the true V: δ = ±0.1


def literal_nstep_td(walk, alpha, n, gamma, v0=0.0):
    """Sutton & Barto's n-step TD pseudocode, one run and one episode at a time."""
    N, E, S = walk.n_runs, walk.n_episodes, walk.n_states
    true = mdp.random_walk_true_values(S)[1:-1]
    rms = np.zeros((E + 1, N))
    tables = np.zeros((N, S + 2))
    for r in range(N):
        V = np.zeros(S + 2)
        V[1:-1] = v0
        rms[0, r] = np.sqrt(np.mean((V[1:-1] - true) ** 2))
        for e in range(E):
            ep = walk.one_episode(r, e)
            states = np.append(ep["states"], ep["next_states"][-1])
            rewards, T = ep["rewards"], len(ep["rewards"])
            for tau in range(T):
                m = T - tau if n is None else min(n, T - tau)
                G = sum(gamma**k * rewards[tau + k] for k in range(m))
                if n is not None and tau + n < T:
                    G += gamma**n * V[states[tau + n]]
                V[states[tau]] += alpha * (G - V[states[tau]])
            rms[e + 1, r] = np.sqrt(np.mean((V[1:-1] - true) ** 2))
        tables[r] = V
    return rms, tables


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_nstep_td_matches_the_book_pseudocode(walk, gamma):
    ns, alphas = [1, 3, 16, None], [0.1, 0.6]
    sweep = td_prediction.nstep_td_prediction(walk, alphas, ns, gamma=gamma, v0=0.2)
    assert sweep.rms.shape == (4, 2, 21, 8) and sweep.values.shape == (4, 2, 8, 21)
    for k, n in enumerate(ns):
        for a, alpha in enumerate(alphas):
            rms, tables = literal_nstep_td(walk, alpha, n, gamma, v0=0.2)
            np.testing.assert_allclose(sweep.rms[k, a], rms, atol=1e-12)
            np.testing.assert_allclose(sweep.values[k, a], tables, atol=1e-12)


def test_td0_and_mc_are_the_extreme_n(walk):
    td = td_prediction.td0_prediction(walk, [0.1])
    mc = td_prediction.mc_prediction(walk, [0.1])
    big_n = td_prediction.nstep_td_prediction(walk, [0.1], [10_000])
    both = td_prediction.nstep_td_prediction(walk, [0.1], [1, None])
    np.testing.assert_allclose(td.rms[0], both.rms[0])
    np.testing.assert_allclose(mc.rms[0], both.rms[1])
    np.testing.assert_allclose(big_n.rms[0], mc.rms[0])


def test_td0_converges_to_the_true_values():
    walk = mdp.random_walk_episodes(300, 20, np.random.default_rng(2))
    sweep = td_prediction.td0_prediction(walk, [0.05])
    mean_v = sweep.values[0, 0].mean(axis=0)
    true = mdp.random_walk_true_values(19)
    assert np.max(np.abs(mean_v - true)) < 0.08
    assert sweep.mean_rms()[0, 0, -1] < 0.1 < sweep.mean_rms()[0, 0, 0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alphas": [0.0]}, "alphas"),
        ({"alphas": [1.5]}, "alphas"),
        ({"alphas": []}, "alphas"),
        ({"ns": [0]}, "n must be"),
        ({"ns": 3}, "ns must"),
        ({"ns": []}, "ns must"),
        ({"gamma": 2.0}, "gamma"),
        ({"v0": np.inf}, "v0"),
    ],
)
def test_nstep_td_validation(walk, kwargs, match):
    args = {"alphas": [0.1], "ns": [1]} | kwargs
    with pytest.raises(ValueError, match=match):
        td_prediction.nstep_td_prediction(walk, **args)


# ------------------------------------------------------------------ figures and sliders


@pytest.fixture(scope="module")
def sweeps(walk):
    return (
        td_prediction.nstep_td_prediction(walk, [0.05, 0.1, 0.2], [1, None]),
        td_prediction.nstep_td_prediction(walk, [0.1, 0.4, 0.8], [1, 2, 4, 8]),
    )


def test_td_mc_figure_draws_the_curves_at_alpha(sweeps):
    sweep = sweeps[0]
    fig = gaelib.widgets.ch02.td_mc_figure(sweep, 0.1)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[-2].get_ydata(), sweep.mean_rms()[0, 1])
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), sweep.mean_rms()[1, 1])
    assert "α = 0.1" in ax.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="alpha"):
        gaelib.widgets.ch02.td_mc_figure(sweep, 0.3)
    with pytest.raises(ValueError, match="n=1"):
        gaelib.widgets.ch02.td_mc_figure(sweeps[1], 0.1)
    fig = gaelib.widgets.ch02.td_mc_learning_curves_figure(sweep, [0.1, 0.2], [0.05])
    assert len(fig.axes[0].lines) == 3
    plt.close(fig)


def test_nstep_figures(sweeps):
    sweep = sweeps[1]
    avg = gaelib.widgets.ch02.nstep_avg_rms(sweep)
    np.testing.assert_allclose(avg, sweep.rms[:, :, 1:].mean(axis=(2, 3)))
    fig = gaelib.widgets.ch02.nstep_figure(sweep, 4)
    left, right = fig.axes
    np.testing.assert_allclose(left.lines[4].get_ydata(), avg[2])  # the highlighted n=4
    assert left.get_title().startswith("n=4")
    best = sweep.values[2, np.argmin(avg[2])]
    np.testing.assert_allclose(right.lines[1].get_ydata(), best[:, 1:-1].mean(axis=0))
    plt.close(fig)
    with pytest.raises(ValueError, match="n must be one of"):
        gaelib.widgets.ch02.nstep_figure(sweep, 3)
    fig = gaelib.widgets.ch02.nstep_rms_vs_alpha_figure(sweep)
    shown = [n for n in sweep.ns if n not in (128, 256)]  # those two are left out
    assert len(fig.axes[0].lines) == 2 * len(shown)  # a curve and a dot at its minimum per n
    plt.close(fig)


def test_blit_frames_redraw_only_what_changes(sweeps):
    sweep = sweeps[1]
    before = plt.get_fignums()
    frames = _nstep_frames(sweep, 4)
    a, b, a2 = frames.render(4), frames.render(8), frames.render(4)
    assert a.startswith(b"\x89PNG") and a != b and a == a2
    assert plt.get_fignums() == before  # the slider's figure is not pyplot's: never shown twice


def test_explorers_have_one_slider_over_the_sweep(sweeps):
    w = gaelib.widgets.ch02.td_mc_explorer(sweeps[0], alpha=0.1)
    slider = w.children[0]
    assert slider.value == 0.1 and [v for _, v in slider.options] == [0.05, 0.1, 0.2]
    w = gaelib.widgets.ch02.nstep_explorer(sweeps[1], n=4)
    slider = w.children[0]
    assert [label for label, _ in slider.options] == ["1", "2", "4", "8"]
    assert sweeps[1].ns[slider.value] == 4
    slider.value = 3  # moving the slider redraws without error
    with pytest.raises(ValueError, match="n must be one of"):
        gaelib.widgets.ch02.nstep_explorer(sweeps[1], n=5)
    plt.close("all")


# ------------------------------------------------------------------ exercise checkers


def template(*args):
    raise NotImplementedError


def ref_td0(V, s, r, s_next, terminated, alpha, gamma):
    target = r + (0.0 if terminated else gamma * V[s_next])
    V[s] += alpha * (target - V[s])


def ref_td0_returning(V, s, r, s_next, terminated, alpha, gamma):
    V = V.copy()
    ref_td0(V, s, r, s_next, terminated, alpha, gamma)
    return V


def test_td0_reference_passes(capsys):
    assert gaelib.exercises.ch02.check_td0_update(ref_td0) is True
    assert gaelib.exercises.ch02.check_td0_update(ref_td0_returning) is True
    assert "All cases pass" in capsys.readouterr().out


def test_td0_template_is_not_attempted(capsys):
    assert gaelib.exercises.ch02.check_td0_update(template) is False
    assert "not attempted yet" in capsys.readouterr().out


def td0_boots_terminal(V, s, r, s2, term, alpha, gamma):
    V[s] += alpha * (r + gamma * V[s2] - V[s])


def td0_no_alpha(V, s, r, s2, term, alpha, gamma):
    V[s] = r + (0 if term else gamma * V[s2])


def td0_wrong_state(V, s, r, s2, term, alpha, gamma):
    target = r + (0 if term else gamma * V[s2])
    V[s2] += alpha * (target - V[s2])


def td0_no_gamma(V, s, r, s2, term, alpha, gamma):
    V[s] += alpha * (r + (0 if term else V[s2]) - V[s])


def td0_wrong_sign(V, s, r, s2, term, alpha, gamma):
    V[s] -= alpha * (r + (0 if term else gamma * V[s2]) - V[s])


def td0_target_only(V, s, r, s2, term, alpha, gamma):
    V[s] += alpha * (r + (0 if term else gamma * V[s2]))


def td0_copy_not_returned(V, s, r, s2, term, alpha, gamma):
    V = V.copy()
    ref_td0(V, s, r, s2, term, alpha, gamma)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (td0_boots_terminal, "bootstrapped from a terminal state"),
        (td0_no_alpha, "α is missing"),
        (td0_wrong_state, "update V[s] (the state you left)"),
        (td0_no_gamma, "γ is missing"),
        (td0_wrong_sign, "wrong sign"),
        (td0_target_only, "α times the TD error"),
        (td0_copy_not_returned, "V did not change"),
        (lambda *a: [1, 2], "return the whole table"),
        (lambda V, s, *a: V[s + 10], "raised IndexError"),
    ],
)
def test_td0_wrong_variants_fail(wrong, hint, capsys):
    assert gaelib.exercises.ch02.check_td0_update(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out


def ref_nstep(rewards, states, V, t, n, gamma):
    T = len(rewards)
    G = sum(gamma**k * rewards[t + k] for k in range(min(n, T - t)))
    if t + n < T:
        G += gamma**n * V[states[t + n]]
    return G


def test_nstep_reference_passes(capsys):
    assert gaelib.exercises.ch02.check_nstep_return(ref_nstep) is True
    assert "All cases pass" in capsys.readouterr().out


def test_nstep_template_is_not_attempted(capsys):
    assert gaelib.exercises.ch02.check_nstep_return(template) is False
    assert "not attempted yet" in capsys.readouterr().out


def nstep_shifted(rewards, states, V, t, n, gamma):  # the article's r_{t+1}, taken literally
    T = len(rewards)
    G = sum(gamma**k * rewards[t + 1 + k] for k in range(min(n, T - t - 1)))
    if t + n < T:
        G += gamma**n * V[states[t + n]]
    return G


def nstep_always_bootstraps(rewards, states, V, t, n, gamma):
    T = len(rewards)
    G = sum(gamma**k * rewards[t + k] for k in range(min(n, T - t)))
    return G + gamma**n * V[states[min(t + n, T)]]


def nstep_bootstrap_index(rewards, states, V, t, n, gamma):
    T = len(rewards)
    G = sum(gamma**k * rewards[t + k] for k in range(min(n, T - t)))
    return G + (gamma**n * V[states[t + n - 1]] if t + n < T else 0.0)


def nstep_gamma_power(rewards, states, V, t, n, gamma):
    T = len(rewards)
    G = sum(gamma**k * rewards[t + k] for k in range(min(n, T - t)))
    return G + (gamma ** (n - 1) * V[states[t + n]] if t + n < T else 0.0)


def nstep_undiscounted(rewards, states, V, t, n, gamma):
    T = len(rewards)
    G = sum(rewards[t : min(t + n, T)])
    return G + (gamma**n * V[states[t + n]] if t + n < T else 0.0)


def nstep_advantage(rewards, states, V, t, n, gamma):
    return ref_nstep(rewards, states, V, t, n, gamma) - V[states[t]]


def nstep_past_the_end(rewards, states, V, t, n, gamma):
    G = sum(gamma**k * rewards[t + k] for k in range(n))  # IndexError near the end
    return G + gamma**n * V[states[t + n]]


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (nstep_shifted, "shifted by one"),
        (nstep_always_bootstraps, "bootstrapped although the episode had ended"),
        (nstep_bootstrap_index, "states[t + n]"),
        (nstep_gamma_power, "γ^n, the n-th power"),
        (nstep_undiscounted, "must be discounted"),
        (nstep_advantage, "an advantage"),
        (nstep_past_the_end, "ran past the episode's end"),
        (lambda *a: [0.0], "single number"),
    ],
)
def test_nstep_wrong_variants_fail(wrong, hint, capsys):
    assert gaelib.exercises.ch02.check_nstep_return(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out
