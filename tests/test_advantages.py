"""gaelib.core.advantages against independent oracles.

The oracles below are written out literally, term by term, per episode segment — they do
not reuse the backward recursion the library uses.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gaelib import compute_gae, discounted_returns, lambda_returns, nstep_advantages, td_residuals

# ----------------------------------------------------------------------------- oracles


def segment_end(t: int, term: np.ndarray, trunc: np.ndarray) -> int:
    """Last index of the episode segment containing t (first done at or after t, or T-1)."""
    T = len(term)
    e = t
    while e < T - 1 and not (term[e] or trunc[e]):
        e += 1
    return e


def oracle_delta(r, v, nv, term, gamma):
    T = len(r)
    return np.array([r[t] + (0.0 if term[t] else gamma * nv[t]) - v[t] for t in range(T)])


def oracle_gae(r, v, nv, term, trunc, gamma, lam):
    """The GAE article's §4.1 sum, written out literally and cut at the segment end."""
    delta = oracle_delta(r, v, nv, term, gamma)
    out = np.zeros(len(r))
    for t in range(len(r)):
        e = segment_end(t, term, trunc)
        out[t] = sum((gamma * lam) ** l * delta[t + l] for l in range(e - t + 1))
    return out


def oracle_mc_return(r, nv, term, trunc, gamma, bootstrap=True):
    """G_t = Σ γ^l r_{t+l} to the segment end, + γ^(n) V(s_{e+1}) unless terminated."""
    out = np.zeros(len(r))
    for t in range(len(r)):
        e = segment_end(t, term, trunc)
        g = sum(gamma**l * r[t + l] for l in range(e - t + 1))
        if bootstrap and not term[e]:
            g += gamma ** (e - t + 1) * nv[e]
        out[t] = g
    return out


def oracle_nstep(r, v, nv, term, trunc, gamma, k):
    """r_t + … + γ^(n-1) r_{t+n-1} + γ^n V(s_{t+n}) − V(s_t), with n = min(k, steps left)."""
    out = np.zeros(len(r))
    for t in range(len(r)):
        e = min(segment_end(t, term, trunc), t + k - 1)
        g = sum(gamma**l * r[t + l] for l in range(e - t + 1))
        if not term[e]:
            g += gamma ** (e - t + 1) * nv[e]
        out[t] = g - v[t]
    return out


def random_rollout(rng: np.random.Generator, T: int, p_done: float = 0.15):
    """A rollout mixing terminated, truncated and both-set steps."""
    r = rng.normal(size=T)
    v = rng.normal(size=T)
    nv = rng.normal(size=T)
    # Within an episode next_values[t] == values[t+1]; at an episode end it is the value of
    # the real final observation (any number). Mimic that so the test covers both cases.
    u = rng.random(T)
    term = u < p_done / 2
    trunc = (u >= p_done / 2) & (u < p_done)
    both = rng.random(T) < 0.03
    term |= both
    trunc |= both
    for t in range(T - 1):
        if not (term[t] or trunc[t]):
            nv[t] = v[t + 1]
    return r, v, nv, term, trunc


# ----------------------------------------------------------------- oracle agreement


@pytest.mark.parametrize("seed", range(200))
def test_gae_matches_literal_sum(seed):
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 60))
    r, v, nv, term, trunc = random_rollout(rng, T, p_done=float(rng.uniform(0.0, 0.4)))
    gamma = float(rng.choice([0.0, 0.5, 0.9, 0.99, 1.0, rng.random()]))
    lam = float(rng.choice([0.0, 0.5, 0.95, 1.0, rng.random()]))
    got = compute_gae(r, v, nv, term, trunc, gamma=gamma, lam=lam)
    np.testing.assert_allclose(got, oracle_gae(r, v, nv, term, trunc, gamma, lam), atol=1e-10)
    ret = lambda_returns(r, v, nv, term, trunc, gamma=gamma, lam=lam)
    np.testing.assert_allclose(ret, got + v, atol=1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_nstep_matches_literal_sum(seed):
    rng = np.random.default_rng(1000 + seed)
    T = int(rng.integers(1, 40))
    r, v, nv, term, trunc = random_rollout(rng, T, p_done=0.2)
    gamma = float(rng.uniform(0.5, 1.0))
    for k in (1, 2, 3, 7, 100):
        got = nstep_advantages(r, v, nv, term, trunc, gamma=gamma, k=k)
        want = oracle_nstep(r, v, nv, term, trunc, gamma, k)
        np.testing.assert_allclose(got, want, atol=1e-10, err_msg=f"k={k}")


@pytest.mark.parametrize("seed", range(30))
def test_discounted_returns_match_literal_sum(seed):
    rng = np.random.default_rng(2000 + seed)
    T = int(rng.integers(1, 40))
    r, v, nv, term, trunc = random_rollout(rng, T, p_done=0.2)
    gamma = float(rng.uniform(0.0, 1.0))
    boot = discounted_returns(r, term, trunc, gamma=gamma, next_values=nv)
    np.testing.assert_allclose(boot, oracle_mc_return(r, nv, term, trunc, gamma), atol=1e-10)
    plain = discounted_returns(r, term, trunc, gamma=gamma)
    np.testing.assert_allclose(
        plain, oracle_mc_return(r, nv, term, trunc, gamma, bootstrap=False), atol=1e-10
    )


def test_hand_computed_example():
    # Two episodes: the first terminates at t=1, the second is truncated at t=3.
    r = np.array([1.0, 2.0, 3.0, 4.0])
    v = np.array([0.5, 1.0, 1.5, 2.0])
    nv = np.array([1.0, 9.0, 2.0, 10.0])  # nv[1] is ignored (terminal); nv[3] bootstraps
    term = np.array([0, 1, 0, 0])
    trunc = np.array([0, 0, 0, 1])
    g, lam = 0.5, 0.5
    d = np.array([1 + 0.5 * 1.0 - 0.5, 2 - 1.0, 3 + 0.5 * 2.0 - 1.5, 4 + 0.5 * 10.0 - 2.0])
    np.testing.assert_allclose(td_residuals(r, v, nv, term, gamma=g), d)
    want = np.array([d[0] + 0.25 * d[1], d[1], d[2] + 0.25 * d[3], d[3]])
    np.testing.assert_allclose(compute_gae(r, v, nv, term, trunc, gamma=g, lam=lam), want)
    np.testing.assert_allclose(
        discounted_returns(r, term, trunc, gamma=g, next_values=nv),
        [1 + 0.5 * 2, 2, 3 + 0.5 * 4 + 0.25 * 10, 4 + 0.5 * 10],
    )


# ------------------------------------------------------------------------- limits


@pytest.mark.parametrize("seed", range(20))
def test_lambda_zero_is_td_residual_and_lambda_one_is_mc(seed):
    rng = np.random.default_rng(3000 + seed)
    r, v, nv, term, trunc = random_rollout(rng, 50)
    gamma = 0.97
    delta = td_residuals(r, v, nv, term, gamma=gamma)
    np.testing.assert_allclose(
        compute_gae(r, v, nv, term, trunc, gamma=gamma, lam=0.0), delta, atol=1e-12
    )
    mc = discounted_returns(r, term, trunc, gamma=gamma, next_values=nv)
    np.testing.assert_allclose(
        compute_gae(r, v, nv, term, trunc, gamma=gamma, lam=1.0), mc - v, atol=1e-10
    )
    np.testing.assert_allclose(
        nstep_advantages(r, v, nv, term, trunc, gamma=gamma, k=1), delta, atol=1e-12
    )
    np.testing.assert_allclose(
        nstep_advantages(r, v, nv, term, trunc, gamma=gamma, k=10_000), mc - v, atol=1e-10
    )


def test_gae_is_exponential_average_of_nstep_advantages():
    # GAE paper eq. 16 without episode ends: A^GAE = (1-λ) Σ_k λ^(k-1) A^(k) (+ tail weight).
    rng = np.random.default_rng(7)
    T = 12
    r, v, nv = rng.normal(size=T), rng.normal(size=T), rng.normal(size=T)
    nv[:-1] = v[1:]
    z = np.zeros(T)
    gamma, lam = 0.9, 0.7
    a_k = [nstep_advantages(r, v, nv, z, gamma=gamma, k=k) for k in range(1, T + 1)]
    for t in range(T):
        n = T - t  # steps left; A^(k) = A^(n) for k >= n
        want = sum((1 - lam) * lam ** (k - 1) * a_k[k - 1][t] for k in range(1, n))
        want += lam ** (n - 1) * a_k[n - 1][t]
        np.testing.assert_allclose(compute_gae(r, v, nv, z, gamma=gamma, lam=lam)[t], want)


def test_trace_never_crosses_episode_boundary():
    # Changing anything after an episode end leaves every advantage before it unchanged.
    rng = np.random.default_rng(11)
    r, v, nv, term, trunc = random_rollout(rng, 40, p_done=0.0)
    for flags in ("term", "trunc"):
        te, tr = np.zeros(40, bool), np.zeros(40, bool)
        (te if flags == "term" else tr)[19] = True
        a = compute_gae(r, v, nv, te, tr, gamma=0.99, lam=0.95)
        r2, v2, nv2 = r.copy(), v.copy(), nv.copy()
        r2[20:] += 100.0
        v2[20:] -= 50.0
        nv2[20:] += 7.0
        b = compute_gae(r2, v2, nv2, te, tr, gamma=0.99, lam=0.95)
        np.testing.assert_array_equal(a[:20], b[:20])


def test_terminated_wins_when_both_set():
    r, v, nv = np.array([1.0]), np.array([0.0]), np.array([10.0])
    both = np.array([True])
    a = compute_gae(r, v, nv, both, both, gamma=0.9, lam=0.9)
    assert a[0] == pytest.approx(1.0)  # no bootstrap from nv
    g = discounted_returns(r, both, both, gamma=0.9, next_values=nv)
    assert g[0] == pytest.approx(1.0)


def test_truncation_bootstraps_and_termination_does_not():
    r, v, nv = np.array([1.0]), np.array([0.0]), np.array([10.0])
    yes, no = np.array([True]), np.array([False])
    assert compute_gae(r, v, nv, no, yes, gamma=0.9, lam=0.5)[0] == pytest.approx(10.0)
    assert compute_gae(r, v, nv, yes, no, gamma=0.9, lam=0.5)[0] == pytest.approx(1.0)


@pytest.mark.parametrize("lam", [0.0, 0.9, 1.0])
def test_infinite_horizon_value_target_needs_truncation_bootstrap(lam):
    """Constant reward 1 forever, cut by a 50-step time limit. Fitting a state-independent
    V to its own λ-return targets converges to 1/(1-γ) only when truncation bootstraps."""
    gamma, H, episodes = 0.9, 50, 4
    T = H * episodes
    r = np.ones(T)
    trunc = np.zeros(T, bool)
    trunc[H - 1 :: H] = True
    z = np.zeros(T, bool)

    def fit(term, trunc):
        V = 0.0
        for _ in range(2000):
            vals = np.full(T, V)
            V = float(lambda_returns(r, vals, vals, term, trunc, gamma=gamma, lam=lam).mean())
        return V

    target = 1 / (1 - gamma)
    assert fit(z, trunc) == pytest.approx(target, rel=1e-6)
    as_termination = fit(trunc, z)
    assert as_termination < 0.9 * target
    if lam == 1.0:  # pure Monte Carlo: the mean of (1-γ^(H-t))/(1-γ) over the episode
        want = np.mean([(1 - gamma ** (H - t)) / (1 - gamma) for t in range(H)])
        assert as_termination == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------- shapes, backends, dtypes


def test_batched_equals_columnwise():
    rng = np.random.default_rng(5)
    cols = [random_rollout(rng, 30) for _ in range(4)]
    stack = [np.stack([c[i] for c in cols], axis=1) for i in range(5)]
    a = compute_gae(*stack, gamma=0.99, lam=0.9)
    assert a.shape == (30, 4)
    for j, c in enumerate(cols):
        np.testing.assert_allclose(a[:, j], compute_gae(*c, gamma=0.99, lam=0.9))
    n = nstep_advantages(*stack, gamma=0.99, k=5)
    for j, c in enumerate(cols):
        np.testing.assert_allclose(n[:, j], nstep_advantages(*c, gamma=0.99, k=5))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_matches_numpy_and_is_detached(dtype):
    rng = np.random.default_rng(9)
    r, v, nv, term, trunc = random_rollout(rng, 25)
    tv = torch.tensor(v, dtype=dtype, requires_grad=True)
    args = (
        torch.tensor(r, dtype=dtype),
        tv,
        torch.tensor(nv, dtype=dtype),
        torch.tensor(term),
        torch.tensor(trunc),
    )
    for fn, kw in [
        (compute_gae, {"gamma": 0.99, "lam": 0.95}),
        (lambda_returns, {"gamma": 0.99, "lam": 0.95}),
        (nstep_advantages, {"gamma": 0.99, "k": 4}),
    ]:
        out = fn(*args, **kw)
        assert isinstance(out, torch.Tensor) and out.dtype == dtype
        assert not out.requires_grad
        want = fn(r, v, nv, term, trunc, **kw)
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)
    d = td_residuals(args[0], tv, args[2], args[3], gamma=0.99)
    assert isinstance(d, torch.Tensor) and not d.requires_grad
    g = discounted_returns(args[0], args[3], args[4], gamma=0.99, next_values=args[2])
    assert isinstance(g, torch.Tensor) and g.dtype == dtype


def test_numpy_dtype_and_lists():
    r32 = np.ones(3, np.float32)
    out = compute_gae(r32, r32, r32, np.zeros(3), gamma=0.9, lam=0.9)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    out = compute_gae([1, 1], [0, 0], [0, 0], [0, 1], gamma=1.0, lam=1.0)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [2.0, 1.0])


def test_empty_rollout():
    e = np.zeros(0)
    assert compute_gae(e, e, e, e, gamma=0.9, lam=0.9).shape == (0,)
    assert discounted_returns(e, e, gamma=0.9, next_values=e).shape == (0,)


# ------------------------------------------------------------------ hypothesis


def rollouts(max_t: int = 30):
    floats = st.floats(-100, 100, allow_nan=False)

    @st.composite
    def build(draw):
        T = draw(st.integers(1, max_t))
        arr = lambda: draw(arrays(np.float64, T, elements=floats))  # noqa: E731
        term = draw(arrays(np.bool_, T))
        trunc = draw(arrays(np.bool_, T))
        r, v, nv = arr(), arr(), arr()
        # within an episode, the next observation's value is the next step's value
        inside = ~(term | trunc)[:-1]
        nv[:-1][inside] = v[1:][inside]
        return r, v, nv, term, trunc

    return build()


unit = st.floats(0.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(rollouts(), unit, unit)
def test_property_gae_agrees_with_oracle(ro, gamma, lam):
    r, v, nv, term, trunc = ro
    got = compute_gae(r, v, nv, term, trunc, gamma=gamma, lam=lam)
    want = oracle_gae(r, v, nv, term, trunc, gamma, lam)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-7)


@settings(max_examples=100, deadline=None)
@given(rollouts(), unit, unit, st.floats(-10, 10))
def test_property_constant_shift_of_values(ro, gamma, lam, c):
    """Adding c to V everywhere changes δ_t by c(γ(1-term_t) - 1): GAE is linear in V."""
    r, v, nv, term, trunc = ro
    a = compute_gae(r, v, nv, term, trunc, gamma=gamma, lam=lam)
    b = compute_gae(r, v + c, nv + c, term, trunc, gamma=gamma, lam=lam)
    shift = compute_gae(
        np.zeros_like(r),
        np.full_like(v, c),
        np.full_like(nv, c),
        term,
        trunc,
        gamma=gamma,
        lam=lam,
    )
    np.testing.assert_allclose(b - a, shift, atol=1e-7)


@settings(max_examples=100, deadline=None)
@given(rollouts(), unit)
def test_property_lambda_bounds(ro, gamma):
    r, v, nv, term, trunc = ro
    np.testing.assert_allclose(
        compute_gae(r, v, nv, term, trunc, gamma=gamma, lam=0.0),
        td_residuals(r, v, nv, term, gamma=gamma),
        atol=1e-9,
    )
    np.testing.assert_allclose(
        compute_gae(r, v, nv, term, trunc, gamma=gamma, lam=1.0),
        discounted_returns(r, term, trunc, gamma=gamma, next_values=nv) - v,
        rtol=1e-9,
        atol=1e-7,
    )


# ------------------------------------------------------------------ bad input


def good():
    return np.ones(4), np.ones(4), np.ones(4), np.zeros(4), np.zeros(4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": 1.5}, "gamma"),
        ({"gamma": -0.1}, "gamma"),
        ({"gamma": float("nan")}, "gamma"),
        ({"gamma": True}, "gamma"),
        ({"gamma": "0.9"}, "gamma"),
        ({"lam": 1.01}, "lam"),
        ({"lam": -1e-9}, "lam"),
        ({"lam": None}, "lam"),
    ],
)
def test_bad_gamma_lam(kwargs, match):
    params = {"gamma": 0.9, "lam": 0.9} | kwargs
    with pytest.raises(ValueError, match=match):
        compute_gae(*good(), **params)


@pytest.mark.parametrize("position, name", [(0, "rewards"), (1, "values"), (2, "next_values")])
def test_bad_arrays(position, name):
    for bad in (
        np.ones(5),
        np.ones((4, 2)),
        np.ones((4, 1, 1)),
        np.array([1, np.nan, 1, 1]),
        np.array([1, np.inf, 1, 1]),
        np.array(["a", "b", "c", "d"]),
    ):
        args = list(good())
        args[position] = bad
        if position == 0 and bad.shape in ((5,), (4, 2)):
            # a wrong-shaped rewards makes the *others* mismatch; the message names one
            with pytest.raises(ValueError, match="values|next_values"):
                compute_gae(*args, gamma=0.9, lam=0.9)
            continue
        with pytest.raises(ValueError, match=rf"\b{name}\b"):
            compute_gae(*args, gamma=0.9, lam=0.9)


@pytest.mark.parametrize("position, name", [(3, "terminated"), (4, "truncated")])
def test_bad_flags(position, name):
    for bad in (
        np.array([0, 2, 0, 0]),
        np.array([0.5, 0, 0, 0]),
        np.zeros(3),
        np.array([-1, 0, 0, 0]),
        np.array(["x"] * 4),
    ):
        args = list(good())
        args[position] = bad
        with pytest.raises(ValueError, match=name):
            compute_gae(*args, gamma=0.9, lam=0.9)


def test_mixed_numpy_and_torch_is_rejected():
    args = list(good())
    args[1] = torch.ones(4)
    with pytest.raises(ValueError, match="torch"):
        compute_gae(*args, gamma=0.9, lam=0.9)


def test_bad_k_and_missing_arguments():
    for k in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="k"):
            nstep_advantages(*good(), gamma=0.9, k=k)
    r, v, nv, term, _ = good()
    with pytest.raises(ValueError, match="terminated"):
        compute_gae(r, v, nv, None, gamma=0.9, lam=0.9)
    with pytest.raises(ValueError, match="values"):
        td_residuals(r, None, nv, term, gamma=0.9)
    with pytest.raises(ValueError, match="next_values"):
        discounted_returns(r, term, gamma=0.9, next_values=np.ones(3))
    with pytest.raises(TypeError):  # gamma and lam are keyword-only
        compute_gae(r, v, nv, term, None, 0.9, 0.9)
