"""Exact moments of advantage estimators against sampled episodes and identities."""

from __future__ import annotations

import numpy as np
import pytest

from gaelib import compute_gae, exact_values, nstep_advantages
from gaelib.worlds import estimators, mdp


def small_mdp(seed=0):
    """4 live states + 1 terminal, stochastic transitions and a stochastic policy."""
    rng = np.random.default_rng(seed)
    S, A = 5, 2
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[4] = 0.0
    P[4, :, 4] = 1.0
    R = np.round(rng.normal(size=(S, A)), 2)
    R[4] = 0.0
    pi = rng.dirichlet(np.ones(A), size=S)
    term = np.array([False] * 4 + [True])
    return P, R, pi, term


def sample_estimates(P, R, pi, term, V_hat, gamma, lam, n_episodes, seed, k=None):
    """Run episodes from every live state, compute the estimator with gaelib on each."""
    rng = np.random.default_rng(seed)
    S, A = R.shape
    out = {(s, a): [] for s in range(S) for a in range(A)}
    for ep in range(n_episodes):
        s = ep % 4
        states, actions, rewards, nexts, dones = [], [], [], [], []
        while True:
            a = rng.choice(A, p=pi[s])
            s2 = rng.choice(S, p=P[s, a])
            states.append(s)
            actions.append(a)
            rewards.append(R[s, a])
            nexts.append(s2)
            dones.append(term[s2])
            s = s2
            if term[s2]:
                break
        v = V_hat[states]
        nv = V_hat[nexts]
        if k is None:
            est = compute_gae(np.array(rewards), v, nv, np.array(dones), gamma=gamma, lam=lam)
        else:
            est = nstep_advantages(np.array(rewards), v, nv, np.array(dones), gamma=gamma, k=k)
        for t in range(len(states)):
            out[(states[t], actions[t])].append(est[t])
    return out


@pytest.mark.parametrize("lam", [0.0, 0.7, 1.0])
def test_gae_moments_match_sampled_episodes(lam):
    P, R, pi, term = small_mdp(1)
    gamma = 0.9
    V_hat = np.array([0.3, -0.2, 0.5, 0.1, 0.0])
    m = estimators.gae_moments(P, R, pi, V_hat, gamma=gamma, lam=lam, terminal=term)
    samples = sample_estimates(P, R, pi, term, V_hat, gamma, lam, 6000, seed=2)
    for (s, a), xs in samples.items():
        if s == 4 or len(xs) < 500:
            continue
        xs = np.array(xs)
        se = xs.std() / np.sqrt(len(xs))
        assert abs(xs.mean() - m.mean[s, a]) < 5 * se + 1e-9
        # variance of a sample variance: loose but real check
        assert xs.var() == pytest.approx(m.var[s, a], rel=0.15, abs=1e-3)


def test_kstep_moments_match_sampled_episodes():
    P, R, pi, term = small_mdp(3)
    gamma, k = 0.95, 3
    V_hat = np.array([0.1, 0.4, -0.3, 0.2, 0.0])
    m = estimators.kstep_moments(P, R, pi, V_hat, gamma=gamma, k=k, terminal=term)[k - 1]
    samples = sample_estimates(P, R, pi, term, V_hat, gamma, None, 6000, seed=4, k=k)
    for (s, a), xs in samples.items():
        if s == 4 or len(xs) < 500:
            continue
        xs = np.array(xs)
        assert abs(xs.mean() - m.mean[s, a]) < 5 * xs.std() / np.sqrt(len(xs)) + 1e-9
        assert xs.var() == pytest.approx(m.var[s, a], rel=0.15, abs=1e-3)


def test_limits_and_identities():
    P, R, pi, term = small_mdp(5)
    gamma = 0.9
    V, Q = exact_values(P, R, pi, gamma, term)
    V_hat = V + np.array([0.2, -0.1, 0.3, 0.05, 0.0])
    live = (~term).astype(float)
    g0 = estimators.gae_moments(P, R, pi, V_hat, gamma=gamma, lam=0.0, terminal=term)
    # λ=0: E[δ | s, a] = R + γ Σ P V_hat(s') [s' live] − V_hat(s)
    np.testing.assert_allclose(g0.mean, R + gamma * P @ (live * V_hat) - V_hat[:, None])
    g1 = estimators.gae_moments(P, R, pi, V_hat, gamma=gamma, lam=1.0, terminal=term)
    # λ=1: E[G − V_hat(s)] = Q − V_hat(s): unbiased for the policy gradient's target
    np.testing.assert_allclose(g1.mean[~term], (Q - V_hat[:, None])[~term], atol=1e-10)
    ks = estimators.kstep_moments(P, R, pi, V_hat, gamma=gamma, k=400, terminal=term)
    np.testing.assert_allclose(ks[0].mean, g0.mean, atol=1e-12)
    np.testing.assert_allclose(ks[0].var, g0.var, atol=1e-12)
    np.testing.assert_allclose(ks[-1].mean, g1.mean, atol=1e-8)
    np.testing.assert_allclose(ks[-1].var, g1.var, atol=1e-8)
    # GAE's mean is the λ-weighted mixture of k-step means (GAE paper eq. 16)
    lam = 0.6
    mix = sum((1 - lam) * lam ** (j - 1) * ks[j - 1].mean for j in range(1, 400))
    gl = estimators.gae_moments(P, R, pi, V_hat, gamma=gamma, lam=lam, terminal=term)
    np.testing.assert_allclose(gl.mean, mix, atol=1e-8)
    # with the exact critic δ is unbiased for A = Q − V at every (s, a)
    ge = estimators.gae_moments(P, R, pi, V, gamma=gamma, lam=0.0, terminal=term)
    np.testing.assert_allclose(ge.mean[~term], (Q - V[:, None])[~term], atol=1e-12)


def test_random_walk_u_shape_and_best_lambda_moves_with_critic_error():
    P, R, pi, term = mdp.random_walk_mdp(19)
    gamma = 0.99
    V, Q = exact_values(P, R, pi, gamma, term)
    mu0 = np.zeros(21)
    mu0[10] = 1.0
    w = estimators.visitation(P, pi, mu0, term)
    z = np.random.default_rng(0).normal(size=21)
    z[[0, 20]] = 0
    lams = np.linspace(0, 1, 21)
    best = []
    for sigma in (0.05, 0.2, 0.4):
        Vh = V + sigma * z
        mse = [
            estimators.bias_variance_mse(
                estimators.gae_moments(P, R, pi, Vh, gamma=gamma, lam=lam, terminal=term),
                Q - Vh[:, None],
                w,
            )[2]
            for lam in lams
        ]
        i = int(np.argmin(mse))
        assert 0 < i < len(lams) - 1  # an interior best λ
        best.append(lams[i])
    assert best[0] < best[1] < best[2]


def test_visitation_matches_simulation():
    P, R, pi, term = small_mdp(7)
    mu0 = np.array([0.25, 0.25, 0.25, 0.25, 0.0])
    w = estimators.visitation(P, pi, mu0, term)
    assert w.sum() == pytest.approx(1.0) and np.all(w[4] == 0)
    rng = np.random.default_rng(0)
    counts = np.zeros_like(w)
    for _ in range(4000):
        s = rng.choice(5, p=mu0)
        while not term[s]:
            a = rng.choice(2, p=pi[s])
            counts[s, a] += 1
            s = rng.choice(5, p=P[s, a])
    np.testing.assert_allclose(counts / counts.sum(), w, atol=0.01)


def test_validation():
    P, R, pi, term = small_mdp(0)
    V = np.zeros(5)
    with pytest.raises(ValueError, match="V_hat"):
        estimators.gae_moments(P, R, pi, np.zeros(4), gamma=0.9, lam=0.5, terminal=term)
    with pytest.raises(ValueError, match="lam"):
        estimators.gae_moments(P, R, pi, V, gamma=0.9, lam=1.5, terminal=term)
    with pytest.raises(ValueError, match="k"):
        estimators.kstep_moments(P, R, pi, V, gamma=0.9, k=0, terminal=term)
    with pytest.raises(ValueError, match="mu0"):
        estimators.visitation(P, pi, np.ones(5), term)
    m = estimators.gae_moments(P, R, pi, V, gamma=0.9, lam=0.5, terminal=term)
    with pytest.raises(ValueError, match="target"):
        estimators.bias_variance_mse(m, np.zeros(3), np.full((5, 2), 0.1))
    with pytest.raises(ValueError, match="weights"):
        estimators.bias_variance_mse(m, np.zeros((5, 2)), np.ones((5, 2)))


def test_gae_error_vs_lambda_equals_one_lambda_at_a_time():
    """The sweep validates once and solves per λ: the same numbers as gae_moments λ by λ."""
    P, R, pi, term = small_mdp(3)
    gamma = 0.95
    V, Q = exact_values(P, R, pi, gamma, term)
    err = np.array([0.2, -0.3, 0.1, 0.4, 0.0])
    mu0 = np.array([0.4, 0.3, 0.2, 0.1, 0.0])
    lams = [0.0, 0.3, 0.9, 1.0]
    b2, var, mse = estimators.gae_error_vs_lambda(
        P, R, pi, err, lams, gamma=gamma, mu0=mu0, terminal=term
    )
    w = estimators.visitation(P, pi, mu0, term)
    for i, lam in enumerate(lams):
        m = estimators.gae_moments(P, R, pi, V + err, gamma=gamma, lam=lam, terminal=term)
        expected = estimators.bias_variance_mse(m, Q - (V + err)[:, None], w)
        np.testing.assert_allclose((b2[i], var[i], mse[i]), expected, rtol=0, atol=0)
    for bad in ([0.5, 1.2], [], [float("nan")]):
        with pytest.raises(ValueError, match="lams"):
            estimators.gae_error_vs_lambda(P, R, pi, err, bad, gamma=gamma, mu0=mu0, terminal=term)


def test_kstep_variance_decomposition_with_the_exact_critic():
    r"""Chapter 3's formula, as an independent oracle for kstep_moments: with the exact critic,
    Var[Â^(k) | s, a] = Var(δ_t | s, a) + Σ_{l=1}^{k-1} γ^{2l} E[Var(δ_{t+l} | s_{t+l}) | s, a]
    — the first term given the action, the later ones given the state only (their actions
    are still random, so Var(δ | s') includes the spread of A(s', ·) under π)."""
    P, R, pi, term = small_mdp(4)
    gamma, K = 0.9, 12
    V, Q = exact_values(P, R, pi, gamma, term)
    A = Q - V[:, None]
    live = ~term
    d = R[:, :, None] + gamma * (live * V)[None, None, :] - V[:, None, None]  # δ[s, a, s']
    var_sa = (P * d**2).sum(-1) - (P * d).sum(-1) ** 2
    var_s = (pi * (var_sa + A**2)).sum(-1)  # E[δ | s] = 0, so Var(δ | s) = E[δ² | s]
    P_pi = np.einsum("sa,sat->st", pi, P) * live[None, :]
    dist = P * live[None, None, :]  # where s_{t+1} is, while the episode goes on
    expected = [var_sa.copy()]
    for l in range(1, K):
        expected.append(expected[-1] + gamma ** (2 * l) * dist @ var_s)
        dist = dist @ P_pi
    got = estimators.kstep_moments(P, R, pi, V, gamma=gamma, k=K, terminal=term)
    for k in range(K):
        np.testing.assert_allclose(got[k].var[live], expected[k][live], atol=1e-12)
    # conditioning the later terms on (s', a') instead misses Σ γ^{2l} E[Var_π A(s', ·)]
    wrong = var_sa + gamma**2 * (P * live[None, None, :]) @ (pi * var_sa).sum(-1)
    assert np.abs(wrong - got[1].var)[live].max() > 1e-3
