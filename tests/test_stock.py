"""Chapter 8: the trading environment, its data, the synthetic prices, the baselines, the fast
simulator and the explorers' figure functions."""

from __future__ import annotations

import math

import gymnasium as gym
import matplotlib
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import gaelib  # noqa: F401  (registers gaelib/StockTrading-v0)
from gaelib.algorithms import trading, trading_grid
from gaelib.widgets import ch08
from gaelib.worlds import stock, stock_batch

matplotlib.use("Agg")

PRICES = np.array([100.0, 101.0, 99.0, 102.0, 104.0, 103.0, 105.0, 101.0, 100.0, 103.0])


def make(**kw):
    kw.setdefault("prices", PRICES)
    kw.setdefault("window", 3)
    kw.setdefault("cost", 0.01)
    return gym.make("gaelib/StockTrading-v0", **kw)


def play(env, actions, **reset_kw):
    obs, info = env.reset(**reset_kw)
    out = [(obs, 0.0, False, False, info)]
    for a in actions:
        out.append(env.step(a))
        if out[-1][3]:
            break
    return out


# ------------------------------------------------------------------------ contract


def test_registered_and_checker_passes():
    env = make()
    assert env.action_space == gym.spaces.Discrete(3)
    assert env.observation_space.shape == (3 + 2,)
    with_warnings = check_env(env.unwrapped, skip_render_check=True)
    assert with_warnings is None


def test_env_checker_on_real_data_raises_no_warning(recwarn):
    env = stock.StockTradingEnv(stock.load_prices("wti"), window=10, cost=0.001)
    check_env(env, skip_render_check=True)
    assert not [w for w in recwarn if "gymnasium" in str(w.filename)]


def test_reward_accounting_by_hand():
    env = make(cost=0.01)
    steps = play(env, [2, 1, 0, 0, 2, 2], options={"start": 2})
    log = math.log
    # t=2: buy → long over 99→102, pay 1%; t=3 hold long 102→104; t=4 sell → flat, pay 1%;
    # t=5 sell while flat: nothing; t=6 buy 105→101, pay 1%; t=7 buy while long: no cost
    want = [
        log(102 / 99) - 0.01,
        log(104 / 102),
        -0.01,
        0.0,
        log(101 / 105) - 0.01,
        log(100 / 101),
    ]
    got = [s[1] for s in steps[1:]]
    assert np.allclose(got, want, atol=1e-12)
    assert [s[4]["t"] for s in steps] == [2, 3, 4, 5, 6, 7, 8]
    assert [s[0][-1] for s in steps] == [0, 1, 1, 0, 0, 1, 1]  # position in the observation


def test_costs_are_applied_only_on_changes():
    free = play(make(cost=0.0), [2, 0, 2, 1, 1, 0], options={"start": 2})
    costly = play(make(cost=0.003), [2, 0, 2, 1, 1, 0], options={"start": 2})
    diff = np.array([a[1] - b[1] for a, b in zip(free[1:], costly[1:], strict=True)])
    assert np.allclose(diff, [0.003, 0.003, 0.003, 0.0, 0.0, 0.003])


def test_starts_flat_truncates_at_end_of_data_never_terminates():
    env = make()
    steps = play(env, [2] * 100)
    assert steps[0][0][-1] == 0.0 and steps[0][4]["t"] == 2  # earliest start: window - 1
    assert len(steps) - 1 == len(PRICES) - 1 - 2
    assert steps[-1][3] is True and not any(s[2] for s in steps)
    assert steps[-1][4]["t"] == len(PRICES) - 1


def test_horizon_and_random_starts_stay_in_range():
    env = make(horizon=3, random_start=True, start_range=(2, 4))
    seen = set()
    for seed in range(40):
        steps = play(env, [1] * 10, seed=seed)
        t0 = steps[0][4]["t"]
        seen.add(t0)
        assert 2 <= t0 <= 4 and len(steps) - 1 == 3 and steps[-1][3]
    assert seen == {2, 3, 4}


def test_observation_content():
    env = stock.StockTradingEnv(PRICES, window=3, cost=0.0, ma_window=4, start=5)
    obs, info = env.reset()
    t = info["t"]
    r = np.diff(np.log(PRICES))
    assert np.allclose(obs[:3], r[t - 3 : t], atol=1e-6)  # r_{t-2}, r_{t-1}, r_t
    assert math.isclose(obs[3], math.log(PRICES[t] / PRICES[t - 3 : t + 1].mean()), abs_tol=1e-6)
    assert obs[4] == 0.0


def test_same_seed_same_episode():
    env = make(random_start=True, horizon=4)
    a = play(env, [2, 0, 2, 1], seed=5)
    b = play(env, [2, 0, 2, 1], seed=5)
    assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a, b, strict=True))


@settings(max_examples=60, deadline=None)
@given(
    log_steps=st.lists(st.floats(-0.2, 0.2), min_size=6, max_size=40),
    window=st.integers(1, 5),
    ma_window=st.integers(1, 8),
    data=st.data(),
)
def test_no_look_ahead(log_steps, window, ma_window, data):
    """Changing any price after t leaves every observation at or before t unchanged."""
    prices = 50 * np.exp(np.cumsum([0.0, *log_steps]))
    if len(prices) < window + 2:
        return
    t = data.draw(st.integers(window - 1, len(prices) - 2), label="t")
    changed = prices.copy()
    factors = data.draw(
        st.lists(st.floats(0.5, 2.0), min_size=len(prices) - t - 1, max_size=len(prices) - t - 1)
    )
    changed[t + 1 :] *= np.asarray(factors)
    actions = data.draw(st.lists(st.integers(0, 2), min_size=len(prices), max_size=len(prices)))
    runs = []
    for p in (prices, changed):
        env = stock.StockTradingEnv(p, window=window, cost=0.002, ma_window=ma_window)
        obs, info = env.reset()
        seen = {info["t"]: obs}
        for a in actions:
            obs, _, _, trunc, info = env.step(a)
            seen[info["t"]] = obs
            if trunc:
                break
        runs.append(seen)
    for s in range(window - 1, t + 1):
        assert np.array_equal(runs[0][s], runs[1][s]), f"observation at {s} saw a price after {t}"
    # and the vectorised features agree
    assert np.array_equal(
        stock.market_features(prices, window, ma_window)[: t + 1],
        stock.market_features(changed, window, ma_window)[: t + 1],
    )


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"prices": [100.0, np.nan, 101.0, 102.0, 103.0]}, "prices"),
        ({"prices": [100.0, np.inf, 101.0, 102.0, 103.0]}, "prices"),
        ({"prices": [100.0, 0.0, 101.0, 102.0, 103.0]}, "prices"),
        ({"prices": [100.0, -1.0, 101.0, 102.0, 103.0]}, "prices"),
        ({"prices": [[100.0, 101.0], [102.0, 103.0]]}, "prices"),
        ({"prices": [100.0, 101.0, 102.0], "window": 3}, "prices"),
        ({"window": 0}, "window"),
        ({"window": -2}, "window"),
        ({"window": 2.5}, "window"),
        ({"cost": -0.001}, "cost"),
        ({"cost": float("nan")}, "cost"),
        ({"horizon": 0}, "horizon"),
        ({"ma_window": 0}, "ma_window"),
        ({"start": 0}, "start"),
        ({"start_range": (5, 2)}, "start_range"),
    ],
)
def test_bad_configs_raise_valueerror_naming_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        make(**kw)


def test_shortest_valid_series_is_window_plus_one():
    env = make(prices=[100.0, 101.0, 102.0, 103.0], window=3)
    steps = play(env, [2])
    assert len(steps) == 2 and steps[-1][3]
    assert math.isclose(steps[-1][1], math.log(103 / 102) - 0.01)


def test_bad_action_raises():
    env = stock.StockTradingEnv(PRICES, window=3)
    env.reset()
    with pytest.raises(ValueError, match="action"):
        env.step(3)


# --------------------------------------------------------------------------- data


def test_load_prices_wti():
    dates, p = stock.load_prices("wti", with_dates=True)
    assert len(p) == len(dates) == 2515
    assert str(dates[0]) == "2009-01-02" and str(dates[-1]) == "2018-12-28"
    assert np.all(np.diff(dates).astype(int) > 0) and np.all(p > 0)
    assert p[0] == 46.17 and p[-1] == 45.15
    assert 25 < p.min() < 30 and 110 < p.max() < 115  # 2016 low, 2011 high
    assert np.array_equal(stock.load_prices("wti"), p)


def test_load_prices_unknown_name():
    with pytest.raises(ValueError, match="name"):
        stock.load_prices("AAPL")


def test_synthetic_prices_seeded_and_regimes():
    a = stock.synthetic_prices(500, seed=3)
    b = stock.synthetic_prices(500, seed=3)
    c = stock.synthetic_prices(500, seed=4)
    assert np.array_equal(a.prices, b.prices) and np.array_equal(a.regime, b.regime)
    assert not np.array_equal(a.prices, c.prices)
    assert a.prices.shape == a.regime.shape == (500,) and a.prices[0] == 100.0
    # the drift follows the regime: mean log-return per regime has the right sign
    big = stock.synthetic_prices(20_000, seed=0, drift=0.002, vol=0.01)
    r = np.diff(np.log(big.prices))
    up, down = r[big.regime[:-1] == 0].mean(), r[big.regime[:-1] == 1].mean()
    assert abs(up - 0.002) < 3e-4 and abs(down + 0.002) < 3e-4
    switches = np.mean(big.regime[1:] != big.regime[:-1])
    assert 0.015 < switches < 0.025
    flat = stock.synthetic_prices(20_000, seed=0, drift=0.0)
    assert abs(np.diff(np.log(flat.prices)).mean()) < 3 * 0.01 / math.sqrt(20_000)


def test_synthetic_prices_validation():
    for kw in ({"n_days": 0}, {"seed": -1}, {"drift": -0.1}, {"switch_prob": 1.5}):
        args = {"n_days": 10, "seed": 0} | kw
        with pytest.raises(ValueError, match=next(iter(kw))):
            stock.synthetic_prices(args.pop("n_days"), **args)


# ------------------------------------------------------------ article and strategies


def test_article_reward_and_feature():
    p = np.array([10.0, 11.0, 10.0, 12.0, 12.0])
    a = np.array([stock.BUY, stock.SELL, stock.BUY, stock.SELL])
    # buy before a rise +0.1; sell before a FALL −0.1 (as the article writes it)
    assert np.allclose(stock.article_reward(a, p), [0.1, -0.1, 0.1, 0.0])
    assert np.allclose(stock.article_reward([0, 0, 0, 0], [5.0, 4.0, 3.0, 2.0, 1.0]), -0.1)
    f = stock.article_feature(np.array([10.0, 12.0, 11.0, 15.0]), 2)
    assert np.allclose(f, [0.0, 2.0, 0.0, 15 - 11.5])


def test_moving_average_and_momentum():
    p = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    assert np.allclose(stock.moving_average(p, 2), [1.0, 1.5, 2.5, 3.5, 7.0])
    assert np.allclose(stock.momentum_positions(p, 2), [0, 1, 1, 1, 1])


def test_strategy_rewards_match_env():
    rng = np.random.default_rng(0)
    p = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 50)))
    actions = rng.integers(0, 3, 60)
    env = stock.StockTradingEnv(p, window=4, cost=0.002, start=10)
    env.reset()
    rewards, positions = [], []
    for a in actions:
        _, r, _, trunc, _ = env.step(int(a))
        rewards.append(r)
        positions.append(env.position)
        if trunc:
            break
    got = stock.strategy_rewards(p[10:], positions, 0.002)
    assert np.allclose(got, rewards, atol=1e-12)


def test_run_policy_matches_env_step_by_step():
    rng = np.random.default_rng(1)
    p = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 80)))
    x = stock.market_features(p, 5, 10)
    pol = trading.TradingPolicy(rng.normal(size=3 * 8), x.mean(0), x.std(0))
    ro = trading.run_policy(pol, p, x, np.array([6, 30]), 20, 0.003, greedy=True)
    for i, start in enumerate([6, 30]):
        env = stock.StockTradingEnv(p, window=5, cost=0.003, ma_window=10, start=start)
        obs, _ = env.reset()
        for h in range(20):
            probs = pol.probs(obs[None, :-1].astype(float), np.array([obs[-1]]))
            a = int(probs.argmax())
            assert a == ro.actions[h, i]
            obs, r, _, _, _ = env.step(a)
            assert math.isclose(r, ro.rewards[h, i], abs_tol=1e-6)


def test_training_learns_with_an_oracle_feature():
    """Learning test: with the true regime as a feature, REINFORCE beats buy-and-hold."""
    s = stock.synthetic_prices(1500, seed=1, drift=0.002)
    x = np.column_stack([stock.market_features(s.prices, 5, 20), s.regime])
    res = trading.train_trading_policy(
        s.prices, x, train_range=(5, 1000), iterations=60, seed=0, cost=0.001
    )
    n = len(s.prices) - 1 - 1000
    ro = trading.run_policy(res.policy, s.prices, x, np.array([1000]), n, 0.001, greedy=True)
    bh = stock.strategy_rewards(s.prices[1000:], np.ones(n), 0.001).sum()
    assert ro.rewards.sum() > bh + 0.2
    assert res.mean_return[-10:].mean() > res.mean_return[:10].mean()


def test_train_validation():
    p = stock.synthetic_prices(100, seed=0).prices
    with pytest.raises(ValueError, match="train_range"):
        trading.train_trading_policy(p, stock.market_features(p, 3, 5), train_range=(3, 40))
    with pytest.raises(ValueError, match="x"):
        trading.train_trading_policy(p, np.zeros((5, 2)), train_range=(3, 99))


# ------------------------------------------------------------------------- widgets


def test_figures_and_explorers():
    p = stock.synthetic_prices(300, seed=0).prices
    fig = ch08.moving_average_figure(p, 20)
    assert len(fig.axes) == 2 and "n=20" in fig.axes[0].get_title()
    pos = {"buy and hold": np.ones(299), "momentum": stock.momentum_positions(p, 20)[:-1]}
    fig = ch08.trading_costs_figure(p, pos, 0.002)
    assert (
        "0.20%" in fig.axes[0].get_title()
        and "momentum (" in fig.axes[0].get_legend().texts[1].get_text()
    )
    w = ch08.moving_average_explorer(p, n=20)
    a = w.kwargs_widgets[0]
    frames = []
    for n in (20, 50):
        a.value = n
        frames.append(n)
    w2 = ch08.trading_costs_explorer(p, pos, cost=0.001)
    w2.kwargs_widgets[0].value = 0.01
    with pytest.raises(ValueError, match="positions"):
        ch08.trading_costs_figure(p, {"x": np.ones(5)}, 0.0)
    with pytest.raises(ValueError, match="n"):
        ch08.moving_average_explorer(p, n=7)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_explorer_frames_differ():

    p = stock.synthetic_prices(300, seed=0).prices
    pos = {"buy and hold": np.ones(299), "momentum": stock.momentum_positions(p, 20)[:-1]}
    curves0 = ch08._equity(p, pos, 0.0)
    curves1 = ch08._equity(p, pos, 0.02)
    assert curves0["buy and hold"][-1] > curves1["buy and hold"][-1]
    trades = ch08._trades(pos)
    assert trades["buy and hold"] == 1 and trades["momentum"] > 2
    gap = np.log(curves0["momentum"][-1] / curves1["momentum"][-1])
    assert math.isclose(gap, 0.02 * trades["momentum"], rel_tol=1e-9)


def test_gae_actor_critic_with_lambda_one_is_reinforce_with_baseline():
    s = stock.synthetic_prices(400, seed=3, drift=0.002)
    x = stock.market_features(s.prices, 10, 20)
    kw = dict(train_range=(10, 300), cost=0.001, iterations=5, episodes=8, seed=1)
    a = trading.train_trading_policy(s.prices, x, **kw)
    b = trading.train_trading_policy(s.prices, x, lam=1.0, **kw)
    np.testing.assert_allclose(a.policy.theta, b.policy.theta, atol=1e-10)
    c = trading.train_trading_policy(s.prices, x, lam=0.5, **kw)
    assert not np.allclose(c.policy.theta, a.policy.theta)
    with pytest.raises(ValueError, match="lam"):
        trading.train_trading_policy(s.prices, x, lam=1.5, **kw)


# ------------------------------------------------------------- lockstep: K runs at once


def _series(seed: int, n: int = 300) -> np.ndarray:
    return stock.synthetic_prices(n, seed=seed, drift=0.002).prices


def test_batched_env_gives_exactly_the_gym_envs_rewards_and_observations():
    """The reference is gymnasium's gaelib/StockTrading-v0: the same actions from the same
    starts give bit-identical rewards and (in float32) identical observations."""
    rng = np.random.default_rng(0)
    window, ma, cost, H = 4, 7, 0.002, 25
    prices = np.stack([_series(1, 120), _series(2, 120)])
    feats = np.stack([stock.market_features(p, window, ma) for p in prices])
    starts = np.array([[3, 50, 94], [10, 11, 60]])
    actions = rng.integers(0, 3, size=(H, 2, 3))
    benv = stock_batch.BatchedTradingEnv(prices, feats, cost)
    obs_b = [benv.reset(starts, H)]
    rew_b, trunc_b = [], []
    for h in range(H):
        o, r, tr = benv.step(actions[h])
        obs_b.append(o)
        rew_b.append(r)
        trunc_b.append(tr)
    assert trunc_b == [False] * (H - 1) + [True]
    for k in range(2):
        for e in range(3):
            env = gym.make(
                "gaelib/StockTrading-v0",
                prices=prices[k],
                window=window,
                cost=cost,
                ma_window=ma,
                horizon=H,
            )
            obs, info = env.reset(options={"start": int(starts[k, e])})
            assert np.array_equal(obs, obs_b[0][k, e].astype(np.float32))
            for h in range(H):
                obs, r, term, trunc, info = env.step(int(actions[h, k, e]))
                assert r == rew_b[h][k, e], (k, e, h)  # exactly, not approximately
                assert np.array_equal(obs, obs_b[h + 1][k, e].astype(np.float32))
                assert trunc == trunc_b[h] and not term
            assert info["t"] == benv.t[k, e]


def test_batched_env_validation():
    p = _series(0, 50)
    f = stock.market_features(p, 3, 5)
    env = stock_batch.BatchedTradingEnv(p, f, 0.001)
    assert env.n_runs == 1
    with pytest.raises(ValueError, match="starts"):
        env.reset(np.array([[45]]), 10)  # runs past the data
    with pytest.raises(ValueError, match="starts"):
        env.reset(np.array([3, 4]), 5)  # not [K, E]
    env.reset(np.array([[3, 4]]), 1)
    with pytest.raises(ValueError, match="actions"):
        env.step(np.array([[1, 1, 1]]))
    with pytest.raises(ValueError, match="actions"):
        env.step(np.array([[3, 0]]))
    with pytest.raises(ValueError, match="actions"):
        env.step(np.array([[1.0, 0.0]]))
    env.step(np.array([[2, 0]]))
    with pytest.raises(ValueError, match="reset"):
        env.step(np.array([[2, 0]]))
    with pytest.raises(ValueError, match="cost"):
        stock_batch.BatchedTradingEnv(p, f, -0.1)
    with pytest.raises(ValueError, match="features"):
        stock_batch.BatchedTradingEnv(p, f[:-1], 0.0)
    with pytest.raises(ValueError, match="same K"):
        stock_batch.BatchedTradingEnv(np.stack([p, p]), np.stack([f, f, f]), 0.0)


def test_run_policies_matches_run_policy_run_by_run():
    """Sampled (the same uniforms as run_policy's rng draws) and greedy: the same actions and
    positions, and the same rewards up to the last bits of the log-return."""
    rng = np.random.default_rng(3)
    prices = [_series(4), _series(5)]
    xs = [stock.market_features(p, 5, 10) for p in prices]
    pols = [trading.TradingPolicy(rng.normal(size=3 * 8), x.mean(0), x.std(0)) for x in xs]
    starts = np.array([[6, 100, 200, 30], [50, 51, 52, 250]])
    H = 40
    env = stock_batch.BatchedTradingEnv(np.stack(prices), np.stack(xs), 0.003)
    uniforms = np.stack([np.random.default_rng(10 + k).random((H, 4)) for k in range(2)], 1)
    sampled = trading_grid.run_policies(pols, env, starts, H, uniforms)
    greedy = trading_grid.run_policies(pols, env, starts, H)
    for k in range(2):
        ro = trading.run_policy(
            pols[k], prices[k], xs[k], starts[k], H, 0.003, np.random.default_rng(10 + k)
        )
        assert np.array_equal(ro.actions, sampled.actions[:, k])
        assert np.array_equal(ro.positions, sampled.positions[:, k])
        np.testing.assert_allclose(sampled.rewards[:, k], ro.rewards, rtol=0, atol=1e-14)
        probs = pols[k].probs(
            xs[k][sampled.days[:, k].ravel()], sampled.positions_before[:, k].ravel()
        )
        np.testing.assert_allclose(sampled.probs[:, k].reshape(-1, 3), probs, atol=1e-14)
        rg = trading.run_policy(pols[k], prices[k], xs[k], starts[k], H, 0.003, greedy=True)
        assert np.array_equal(rg.actions, greedy.actions[:, k])
    assert sampled.actions.shape == sampled.rewards.shape == (H, 2, 4)
    assert np.array_equal(sampled.days[0], starts) and np.all(np.diff(sampled.days, axis=0) == 1)


def test_run_policies_validation():
    p = _series(0, 80)
    x = stock.market_features(p, 3, 5)
    env = stock_batch.BatchedTradingEnv(p, x, 0.0)
    pol = trading.TradingPolicy(np.zeros(3 * 6), x.mean(0), x.std(0) + 1)
    starts = np.array([[5, 6]])
    with pytest.raises(ValueError, match="policies"):
        trading_grid.run_policies([pol, pol], env, starts, 5)
    with pytest.raises(ValueError, match="policies"):
        trading_grid.run_policies(
            [trading.TradingPolicy(np.zeros(9), x.mean(0), x.std(0))], env, starts, 5
        )
    with pytest.raises(ValueError, match="uniforms"):
        trading_grid.run_policies([pol], env, starts, 5, np.full((5, 1, 3), 0.5))
    with pytest.raises(ValueError, match="uniforms"):
        trading_grid.run_policies([pol], env, starts, 5, np.full((5, 1, 2), 1.0))
    ro = trading_grid.run_policies([pol], env, starts, 5, np.full((5, 1, 2), 0.5))
    assert np.all(ro.actions == 1)  # uniform policy, u = 0.5: the middle action (hold)


LOCKSTEP_KW = dict(train_range=(10, 250), cost=0.001, iterations=20, episodes=16, horizon=30)


@pytest.mark.parametrize(
    "variant",
    [{}, {"lam": 0.9}, {"lam": 0.0}, {"baseline": False}],
    ids=["reinforce+baseline", "gae-0.9", "gae-0", "reinforce"],
)
def test_lockstep_training_equals_the_sequential_runs(variant):
    """Run k of a lockstep batch is train_trading_policy with seed k on series k: the same
    episodes (identical mean returns) and the same weights up to float rounding."""
    seeds = [3, 7, 11]
    prices = np.stack([_series(s) for s in seeds])
    x = np.stack([stock.market_features(p, 10, 20) for p in prices])
    batch = trading_grid.train_trading_policies(prices, x, seeds=seeds, **LOCKSTEP_KW, **variant)
    one = trading_grid.train_trading_policies(prices[1], x[1], seeds=[7], **LOCKSTEP_KW, **variant)[
        0
    ]
    for k, s in enumerate(seeds):
        ref = trading.train_trading_policy(prices[k], x[k], seed=s, **LOCKSTEP_KW, **variant)
        np.testing.assert_allclose(batch[k].mean_return, ref.mean_return, rtol=0, atol=1e-12)
        np.testing.assert_allclose(batch[k].policy.theta, ref.policy.theta, rtol=0, atol=1e-8)
        assert np.array_equal(batch[k].policy.mean, ref.policy.mean)
        assert np.array_equal(batch[k].policy.std, ref.policy.std)
        assert batch[k].config == ref.config
    # batching does not change a run: the one-run lockstep gives run 1 of the batch
    np.testing.assert_allclose(one.policy.theta, batch[1].policy.theta, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(one.mean_return, batch[1].mean_return)


def test_lockstep_training_on_one_shared_series():
    p = _series(2)
    x = stock.market_features(p, 10, 20)
    shared = trading_grid.train_trading_policies(p, x, seeds=[0, 1], **LOCKSTEP_KW)
    tiled = trading_grid.train_trading_policies(
        np.stack([p, p]), np.stack([x, x]), seeds=[0, 1], **LOCKSTEP_KW
    )
    for a, b in zip(shared, tiled, strict=True):
        np.testing.assert_array_equal(a.policy.theta, b.policy.theta)
    assert not np.allclose(shared[0].policy.theta, shared[1].policy.theta)


def test_lockstep_training_learns_with_an_oracle_feature():
    """Learning test, in lockstep: with the true regime as a feature every run beats
    buy-and-hold on the held-out days."""
    series = [stock.synthetic_prices(1500, seed=s, drift=0.002) for s in (1, 2)]
    prices = np.stack([s.prices for s in series])
    x = np.stack(
        [np.column_stack([stock.market_features(s.prices, 5, 20), s.regime]) for s in series]
    )
    runs = trading_grid.train_trading_policies(
        prices, x, seeds=[0, 1], train_range=(5, 1000), iterations=60, cost=0.001
    )
    n = 1500 - 1 - 1000
    env = stock_batch.BatchedTradingEnv(prices, x, 0.001)
    ro = trading_grid.run_policies([r.policy for r in runs], env, np.full((2, 1), 1000), n)
    for k in range(2):
        bh = stock.strategy_rewards(prices[k, 1000:], np.ones(n), 0.001).sum()
        assert ro.rewards[:, k].sum() > bh + 0.2
        assert runs[k].mean_return[-10:].mean() > runs[k].mean_return[:10].mean()


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"seeds": []}, "seeds"),
        ({"seeds": [0, -1]}, "seeds"),
        ({"seeds": [0, 1, 2]}, "seeds"),  # two series, three seeds
        ({"lam": 1.5}, "lam"),
        ({"gamma": -0.1}, "gamma"),
        ({"train_range": (10, 30)}, "train_range"),
        ({"iterations": 0}, "iterations"),
        ({"episodes": 0}, "episodes"),
    ],
)
def test_lockstep_training_validation(kw, name):
    prices = np.stack([_series(0), _series(1)])
    x = np.stack([stock.market_features(p, 10, 20) for p in prices])
    args = {"seeds": [0, 1], **LOCKSTEP_KW, "iterations": 2} | kw
    with pytest.raises(ValueError, match=name):
        trading_grid.train_trading_policies(prices, x, **args)
