"""The batched Pendulum-v1 (gaelib.worlds.pendulum) against gymnasium's own, step for step from
the same states and actions; its next-step autoreset as RolloutCollector sees it; validation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from gaelib.core.advantages import compute_gae
from gaelib.core.rollouts import RolloutCollector, make_vector_env
from gaelib.worlds.pendulum import PendulumVectorEnv, evaluate_pendulum, make_pendulum_env

N = 6


def gymnasium_copies(venv: PendulumVectorEnv) -> list[gym.Env]:
    """One ``gymnasium.make("Pendulum-v1")`` per pendulum, put in the same state."""
    envs = []
    for i in range(venv.num_envs):
        env = gym.make("Pendulum-v1")
        env.reset(seed=i)
        env.unwrapped.state = venv.state[i].copy()
        envs.append(env)
    return envs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_step_matches_gymnasium_for_a_whole_episode(dtype):
    venv = make_pendulum_env(N)
    obs, _ = venv.reset(seed=3)
    envs = gymnasium_copies(venv)
    for i, env in enumerate(envs):
        np.testing.assert_array_equal(obs[i], env.unwrapped._get_obs())
    rng = np.random.default_rng(0)
    for t in range(200):
        actions = (3.0 * rng.standard_normal((N, 1))).astype(dtype)  # beyond ±2: clipped
        if t % 50 == 0:
            actions[0] = 0.0
        obs, rewards, term, trunc, _ = venv.step(actions)
        assert obs.dtype == np.float32 and obs.shape == (N, 3) and rewards.shape == (N,)
        for i, env in enumerate(envs):
            o, r, te, tr, _ = env.step(actions[i])
            np.testing.assert_array_equal(obs[i], o)  # the same float32 observation
            # the same cost up to one float32 rounding of the torque term 0.001·u² (gymnasium
            # squares a float32 scalar, whose ** rounds differently from an array's: ≤ 3e-10)
            assert rewards[i] == pytest.approx(r, rel=0, abs=1e-9)
            assert (term[i], trunc[i]) == (te, tr) == (False, t == 199)
    np.testing.assert_allclose(venv.state, [e.unwrapped.state for e in envs], rtol=0, atol=0)


def test_spaces_and_metadata_are_gymnasiums():
    venv, ref = make_pendulum_env(4), gym.make("Pendulum-v1")
    assert venv.single_observation_space == ref.observation_space
    assert venv.single_action_space == ref.action_space
    assert venv.observation_space == make_vector_env("Pendulum-v1", 4).observation_space
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert ref.spec.max_episode_steps == venv.max_episode_steps == 200


def test_start_states_are_uniform_in_gymnasiums_box_and_seeded():
    venv = PendulumVectorEnv(5000)
    venv.reset(seed=0)
    th, thdot = venv.state.T
    assert np.all(np.abs(th) <= np.pi) and np.all(np.abs(thdot) <= 1.0)
    assert abs(th.mean()) < 0.1 and abs(th.std() - np.pi / np.sqrt(3)) < 0.05
    a, b = PendulumVectorEnv(3), PendulumVectorEnv(3)
    np.testing.assert_array_equal(a.reset(seed=7)[0], b.reset(seed=7)[0])
    assert not np.array_equal(a.reset(seed=8)[0], b.reset(seed=7)[0])


def test_next_step_autoreset_after_the_time_limit():
    venv = PendulumVectorEnv(3, max_episode_steps=5)
    venv.reset(seed=1)
    zero = np.zeros((3, 1), np.float32)
    for _ in range(4):
        assert not venv.step(zero)[3].any()
    last_state = venv.state.copy()
    obs, r, te, tr, _ = venv.step(zero)  # step 5: truncated, the real last observation
    assert tr.all() and not te.any()
    th = venv.state[:, 0]
    np.testing.assert_allclose(obs[:, :2], np.stack([np.cos(th), np.sin(th)], 1), rtol=1e-6)
    assert not np.allclose(venv.state, last_state)
    obs2, r2, te2, tr2, _ = venv.step(np.full((3, 1), 2.0, np.float32))  # the reset step
    np.testing.assert_array_equal(r2, 0.0)
    assert not te2.any() and not tr2.any()
    assert np.all(np.abs(venv.state[:, 1]) <= 1.0)  # a fresh start; the action was ignored
    assert not venv.step(zero)[3].any()  # a new 5-step episode has begun


def test_the_collector_masks_reset_steps_and_bootstraps_at_the_time_limit():
    """RolloutCollector with a Box action space: the same bookkeeping as for CartPole, float
    actions [T, N, 1] stored unclipped; 12-step episodes over rollouts of 10 steps, so
    episodes span rollouts."""
    venv = PendulumVectorEnv(2, max_episode_steps=12)
    collector = RolloutCollector(venv, seed=0)
    rng = np.random.default_rng(0)
    ros = [collector.collect(lambda o: 3 * rng.standard_normal((2, 1)), 10) for _ in range(4)]
    mask = np.concatenate([ro.mask for ro in ros])
    trunc = np.concatenate([ro.truncated for ro in ros])
    term = np.concatenate([ro.terminated for ro in ros])
    rewards = np.concatenate([ro.rewards for ro in ros])
    # steps 0..11 episode 1 (truncated at 11), step 12 the reset step, 13..24 episode 2, ...
    assert not term.any()
    np.testing.assert_array_equal(np.flatnonzero(trunc[:, 0]), [11, 24, 37])
    np.testing.assert_array_equal(np.flatnonzero(~mask[:, 0]), [12, 25, 38])
    assert np.all(rewards[~mask] == 0.0) and np.all(rewards[mask] < 0.0)
    assert collector.episode_lengths == [12] * 6 and collector.steps == 2 * 37
    np.testing.assert_allclose(
        collector.episode_returns[::2], [rewards[s : s + 12, 0].sum() for s in (0, 13, 26)]
    )
    # stored actions are the unclipped samples, the environment got them clipped
    acts = np.concatenate([ro.actions for ro in ros])
    assert acts.dtype == np.float32 and acts.shape == (40, 2, 1) and np.abs(acts).max() > 2
    # the truncated step's next_obs is the real last observation, not the reset one
    ro = ros[1]  # holds step 11 (truncated) at index 1, step 12 (reset) at index 2
    assert ro.truncated[1, 0] and not ro.mask[2, 0]
    assert not np.array_equal(ro.next_obs[1, 0], ro.obs[3, 0])
    np.testing.assert_array_equal(ro.next_obs[1, 0], ro.obs[2, 0])
    # GAE: the truncated step bootstraps from V(next_obs); the reset step has no advantage
    v = np.zeros((10, 2))
    nv = np.full((10, 2), 100.0)
    adv = compute_gae(ro.rewards, v, nv, ro.cut, ro.truncated, gamma=0.9, lam=0.95)
    assert adv[1, 0] == pytest.approx(ro.rewards[1, 0] + 0.9 * 100.0)
    assert adv[2, 0] == 0.0


def test_bad_input_names_the_argument():
    for kwargs, name in [
        ({"num_envs": 0}, "num_envs"),
        ({"num_envs": 2, "max_episode_steps": 0}, "max_episode_steps"),
        ({"num_envs": 2, "g": float("nan")}, "g"),
    ]:
        with pytest.raises(ValueError, match=name):
            PendulumVectorEnv(**kwargs)
    venv = PendulumVectorEnv(3)
    with pytest.raises(ValueError, match="reset"):
        venv.step(np.zeros((3, 1)))
    venv.reset(seed=0)
    for bad in (np.zeros(3), np.zeros((2, 1)), np.full((3, 1), np.nan), np.array([["a"]] * 3)):
        with pytest.raises(ValueError, match="actions"):
            venv.step(bad)
    with pytest.raises(ValueError, match="options"):
        venv.reset(options={"x_init": 1.0})
    with pytest.raises(ValueError, match="act"):
        RolloutCollector(venv).collect(lambda o: np.zeros(3), 2)
    with pytest.raises(ValueError, match="n_steps"):
        RolloutCollector(venv).collect(lambda o: np.zeros((3, 1)), 0)
    with pytest.raises(ValueError, match="episodes"):
        evaluate_pendulum(None, episodes=0)
    with pytest.raises(ValueError, match="policy"):
        evaluate_pendulum(object())


class Constant:
    def __init__(self, u: float):
        self.u = u

    def mean_numpy(self, obs):
        return np.full((len(obs), 1), self.u, np.float32)


def test_evaluation_plays_whole_episodes_in_either_environment():
    for gymnasium_env in (False, True):
        returns = evaluate_pendulum(Constant(0.0), episodes=8, seed=0, gymnasium_env=gymnasium_env)
        assert returns.shape == (8,) and np.all((returns < 0) & (returns > -16.3 * 200))
    # torques beyond the bounds are clipped: 5 N·m plays as 2 N·m
    np.testing.assert_array_equal(
        evaluate_pendulum(Constant(5.0), episodes=4), evaluate_pendulum(Constant(2.0), episodes=4)
    )


def test_make_vector_env_is_unchanged():
    """``make_vector_env("Pendulum-v1", n)`` is still gymnasium's own vector env."""
    envs = make_vector_env("Pendulum-v1", 2)
    assert isinstance(envs, gym.vector.SyncVectorEnv)
