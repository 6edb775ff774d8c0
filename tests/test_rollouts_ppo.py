"""Chapter 5 library: :class:`gaelib.core.rollouts.RolloutCollector` and
:func:`gaelib.algorithms.ppo.ppo`.

The oracle for the collector is a plain single-environment replay: every sub-environment of
a synchronous vector env is replayed in its own ``gym.make`` env with the same seed and the
same actions, and each episode — its observations, rewards, flags, final observation and
return — must come out identical, while the vector env's reset steps are exactly the masked
ones. Then: ``Rollout.cut`` keeps GAE away from masked steps, no masked step reaches PPO's
loss, the advantages carry no gradient into the critic, short seeded runs clearly beat a
random policy (≈ 22), and bad arguments raise a ``ValueError`` naming them.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

import gaelib
import gaelib.algorithms.ppo as ppo_module
from gaelib import compute_gae
from gaelib.algorithms import numpy_ppo
from gaelib.algorithms.actor_critic import actor_critic
from gaelib.algorithms.ppo import ppo
from gaelib.core import advantages, policies
from gaelib.core.rollouts import Rollout, RolloutCollector, evaluate

LIMIT = 12  # a short time limit, so that episodes end by truncation as well as termination
SEED = 3
N_ENVS = 4
T = 25  # steps per rollout; two consecutive rollouts


class RawRecorder(gym.vector.VectorWrapper):
    """Keeps what the vector env itself returned at every step, before the collector's masking."""

    def __init__(self, env: gym.vector.VectorEnv):
        super().__init__(env)
        self.log: list[tuple[np.ndarray, ...]] = []

    def step(self, actions):
        obs, rew, term, trunc, info = self.env.step(actions)
        self.log.append((np.array(actions), obs.copy(), rew.copy(), term.copy(), trunc.copy()))
        return obs, rew, term, trunc, info


def make_single() -> gym.Env:
    return gym.make("CartPole-v1", max_episode_steps=LIMIT)


def make_policy(seed: int):
    """Env 0 always pushes left (terminates within ~10 steps), env 1 balances (truncated at the
    time limit), the others act at random: terminations and truncations both happen."""
    rng = np.random.default_rng(seed)

    def act(obs: np.ndarray) -> np.ndarray:
        a = rng.integers(0, 2, size=len(obs))
        a[0] = 0
        a[1] = int(obs[1, 2] + 0.5 * obs[1, 3] > 0)
        return a

    return act


@pytest.fixture(scope="module")
def two_rollouts():
    envs = RawRecorder(gym.vector.SyncVectorEnv([make_single for _ in range(N_ENVS)]))
    collector = RolloutCollector(envs, seed=SEED)
    act = make_policy(0)
    ro1 = collector.collect(act, T)
    ro2 = collector.collect(act, T)
    envs.close()
    return ro1, ro2, collector, envs.log


def concat(ro1: Rollout, ro2: Rollout) -> Rollout:
    return Rollout(
        *(
            np.concatenate([getattr(ro1, f.name), getattr(ro2, f.name)])
            for f in dataclasses.fields(Rollout)
        )
    )


# ------------------------------------------------------------------ (i) autoreset masking


def test_rollouts_contain_terminations_truncations_and_carry_over(two_rollouts):
    ro1, ro2, _, _ = two_rollouts
    both = concat(ro1, ro2)
    assert both.terminated.sum() >= 3 and both.truncated.sum() >= 3
    assert (~ro1.mask).any() and (~ro2.mask).any()
    assert ro1.obs.shape == (T, N_ENVS, 4) and ro1.mask.shape == (T, N_ENVS)


def test_masked_steps_are_exactly_the_steps_after_an_episode_end(two_rollouts):
    ro1, ro2, _, _ = two_rollouts
    both = concat(ro1, ro2)
    done = both.terminated | both.truncated
    # the very first step follows a reset(): never masked
    expected = np.vstack([np.ones((1, N_ENVS), dtype=bool), ~done[:-1]])
    np.testing.assert_array_equal(both.mask, expected)
    # across the two rollouts: the carry-over decides the second rollout's first row
    np.testing.assert_array_equal(ro2.mask[0], ~(ro1.terminated[-1] | ro1.truncated[-1]))


def test_masked_steps_have_zero_reward_and_no_flags_in_the_env_itself(two_rollouts):
    ro1, ro2, _, raw = two_rollouts
    both = concat(ro1, ro2)
    actions, _, rew, term, trunc = (np.array(x) for x in zip(*raw, strict=True))
    np.testing.assert_array_equal(actions, both.actions)
    masked = ~both.mask
    assert (rew[masked] == 0).all() and not term[masked].any() and not trunc[masked].any()
    assert (both.rewards[masked] == 0).all()
    assert not both.terminated[masked].any() and not both.truncated[masked].any()
    # the raw env's own ends are the collector's ends (nothing lost, nothing invented)
    np.testing.assert_array_equal(term, both.terminated)
    np.testing.assert_array_equal(trunc, both.truncated)


def test_number_of_masked_steps_matches_episode_ends(two_rollouts):
    ro1, ro2, collector, _ = two_rollouts
    done1 = ro1.terminated | ro1.truncated
    done2 = ro2.terminated | ro2.truncated
    assert (~ro1.mask).sum() == done1.sum() - done1[-1].sum()
    assert (~ro2.mask).sum() == done2.sum() - done2[-1].sum() + done1[-1].sum()
    assert len(collector.episode_returns) == done1.sum() + done2.sum()
    assert collector.steps == ro1.mask.sum() + ro2.mask.sum()
    np.testing.assert_array_equal(collector.after_end, done2[-1])


def test_masked_observations_never_reach_the_training_batch(two_rollouts):
    ro1, ro2, _, _ = two_rollouts
    for ro, prev in ((ro1, None), (ro2, ro1)):
        kept = {row.tobytes() for row in ro.obs[ro.mask]}
        assert len(ro.obs[ro.mask]) == ro.mask.sum()
        for t, i in np.argwhere(~ro.mask):
            # a reset step acts in the previous episode's FINAL observation (ignored action)
            final = ro.next_obs[t - 1, i] if t > 0 else prev.next_obs[-1, i]
            np.testing.assert_array_equal(ro.obs[t, i], final)
            assert ro.obs[t, i].tobytes() not in kept


def test_collector_matches_single_env_replay(two_rollouts):
    """Each sub-env replayed alone (same seed, same actions): identical observations, rewards,
    flags and — at truncated and terminated steps — the real final observation; the recorded
    episode returns and lengths equal the replayed episodes'."""
    ro1, ro2, collector, _ = two_rollouts
    both = concat(ro1, ro2)
    episodes = []  # (global step index, env, return, length)
    n_trunc_checked = 0
    for i in range(N_ENVS):
        env = make_single()
        obs, _ = env.reset(seed=SEED + i)
        ret, length = 0.0, 0
        for t in range(2 * T):
            if not both.mask[t, i]:  # the vector env's reset step: the single env resets here
                obs, _ = env.reset()
                np.testing.assert_allclose(both.next_obs[t, i], obs, rtol=0, atol=0)
                continue
            np.testing.assert_array_equal(both.obs[t, i], obs)
            obs, r, term, trunc, _ = env.step(int(both.actions[t, i]))
            np.testing.assert_array_equal(both.next_obs[t, i], obs)  # the real final obs too
            assert both.rewards[t, i] == r
            assert both.terminated[t, i] == term and both.truncated[t, i] == trunc
            ret, length = ret + r, length + 1
            if trunc:
                n_trunc_checked += 1
            if term or trunc:
                episodes.append((t, i, ret, length))
                ret, length = 0.0, 0
        env.close()
    assert n_trunc_checked >= 3
    episodes.sort()
    assert collector.episode_returns == [e[2] for e in episodes]
    assert collector.episode_lengths == [e[3] for e in episodes]
    assert max(collector.episode_lengths) == LIMIT


def test_truncated_next_obs_is_not_the_reset_observation(two_rollouts):
    ro1, ro2, _, _ = two_rollouts
    both = concat(ro1, ro2)
    for t, i in np.argwhere(both.truncated[:-1]):
        assert not both.mask[t + 1, i]
        # next_obs[t] is the final state; the reset observation arrives one step later
        assert not np.array_equal(both.next_obs[t, i], both.next_obs[t + 1, i])
        assert np.all(np.abs(both.next_obs[t + 1, i]) <= 0.05)  # CartPole resets in ±0.05


# ------------------------------------------------------------------ (ii) Rollout.cut and GAE


def test_cut_is_terminated_or_masked(two_rollouts):
    for ro in two_rollouts[:2]:
        np.testing.assert_array_equal(ro.cut, ro.terminated | ~ro.mask)


def test_valid_advantages_ignore_anything_in_masked_steps(two_rollouts):
    ro1, ro2, _, _ = two_rollouts
    ro = concat(ro1, ro2)
    rng = np.random.default_rng(0)
    v, nv = rng.normal(size=ro.mask.shape), rng.normal(size=ro.mask.shape)

    def gae(r: Rollout, v, nv, terminated=None):
        term = r.cut if terminated is None else terminated
        return compute_gae(r.rewards, v, nv, term, r.truncated, gamma=0.99, lam=0.95)

    base = gae(ro, v, nv)
    m = ro.mask
    noise = lambda x: np.where(m, x, rng.normal(0, 100, size=x.shape))  # noqa: E731
    flags = lambda x: np.where(m, x, rng.random(x.shape) < 0.5)  # noqa: E731
    changed = dataclasses.replace(
        ro,
        rewards=noise(ro.rewards),
        terminated=flags(ro.terminated),
        truncated=flags(ro.truncated),
    )
    v2, nv2 = noise(v), noise(nv)
    np.testing.assert_allclose(gae(changed, v2, nv2)[m], base[m], rtol=1e-12, atol=1e-12)
    # a masked step itself neither bootstraps nor traces into the new episode: Â = 0 − V
    np.testing.assert_allclose(base[~m], -v[~m], rtol=1e-12, atol=1e-12)
    # the test has teeth: drop the truncation flags and the trace of a truncated episode's
    # last step runs on into its reset step, whose (changed) value then leaks in
    leak = compute_gae(changed.rewards, v2, nv2, changed.cut, None, gamma=0.99, lam=0.95)
    no_trunc = compute_gae(ro.rewards, v, nv, ro.cut, None, gamma=0.99, lam=0.95)
    assert not np.allclose(leak[m], no_trunc[m])


# ------------------------------------------------- PPO: what reaches the loss, and detachment


class RecordingCollector(RolloutCollector):
    rollouts: list[Rollout] = []

    def collect(self, act, n_steps):
        ro = super().collect(act, n_steps)
        RecordingCollector.rollouts.append(ro)
        return ro


class RecordingPolicy(policies.MLPPolicy):
    calls: list[np.ndarray] = []

    def forward(self, obs):  # every torch-backend use of the policy network goes through here
        RecordingPolicy.calls.append(obs.detach().numpy().copy())
        return super().forward(obs)


class RecordingUpdate(numpy_ppo.NumpyPPOUpdate):
    calls: list[np.ndarray] = []

    def log_prob(self, obs, actions):
        RecordingUpdate.calls.append(np.array(obs))
        return super().log_prob(obs, actions)

    def gradient(self, obs, *args):  # every numpy-backend loss goes through here
        RecordingUpdate.calls.append(np.array(obs))
        return super().gradient(obs, *args)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("clip", [0.2, None])
def test_only_valid_steps_reach_the_policy_loss(monkeypatch, clip, backend):
    RecordingCollector.rollouts, RecordingPolicy.calls, RecordingUpdate.calls = [], [], []
    monkeypatch.setattr(ppo_module, "RolloutCollector", RecordingCollector)
    monkeypatch.setattr(ppo_module, "MLPPolicy", RecordingPolicy)
    monkeypatch.setattr(ppo_module, "NumpyPPOUpdate", RecordingUpdate)
    epochs, mb = 2, 64
    ppo(seed=1, total_steps=2 * 4 * 64, num_envs=4, n_steps=64, epochs=epochs,
        minibatch_size=mb, clip=clip, backend=backend)  # fmt: skip
    rollouts = RecordingCollector.rollouts
    calls = RecordingUpdate.calls if backend == "numpy" else RecordingPolicy.calls
    assert not (RecordingUpdate.calls if backend == "torch" else RecordingPolicy.calls)
    assert len(rollouts) == 2
    for ro in rollouts:  # an untrained policy ends many episodes: resets to mask
        assert (~ro.mask).sum() >= 4
    k = 0
    for ro in rollouts:
        valid = ro.obs[ro.mask]
        n_mb = -(-len(valid) // mb)
        np.testing.assert_array_equal(calls[k], valid)  # old log-probs: exactly the valid steps
        for e in range(epochs):  # each epoch's minibatches: a permutation of the valid steps
            seen = np.concatenate(calls[k + 1 + e * n_mb : k + 1 + (e + 1) * n_mb])
            key = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
            np.testing.assert_array_equal(key(seen), key(valid))
        k += 1 + epochs * n_mb
    assert k == len(calls) > 2


class FrozenCheckValueNet(policies.ValueNet):
    """Remembers its initial weights, to see whether the policy loss moved them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial = {k: v.detach().clone() for k, v in self.state_dict().items()}

    def moved(self) -> bool:
        now = self.state_dict()
        return any(not torch.equal(now[k], v) for k, v in self.initial.items())


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("clip", [0.2, None])
def test_advantages_carry_no_gradient_into_the_critic(monkeypatch, clip, backend):
    """With vf_coef = 0 the critic gets no gradient — unless the advantages (computed from
    its outputs) were not detached: then the policy loss would move it. (The NumPy backend
    has no autograd graph to leak through; for it this checks that its hand-written gradient
    gives the critic nothing from the policy loss, and that vf_coef = 0 freezes it.)"""
    monkeypatch.setattr(ppo_module, "ValueNet", FrozenCheckValueNet)
    seen = []
    real_gae = advantages.compute_gae

    def checking_gae(*args, **kwargs):
        for a in args:
            assert isinstance(a, np.ndarray), type(a)  # numpy: no autograd graph at all
        out = real_gae(*args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(ppo_module, "compute_gae", checking_gae)
    kw = dict(seed=0, total_steps=1024, num_envs=4, n_steps=64, epochs=2, clip=clip)
    kw["backend"] = backend
    hist = ppo(vf_coef=0.0, **kw)
    assert seen and all(isinstance(a, np.ndarray) for a in seen)
    assert not hist.value.moved()
    assert ppo(vf_coef=0.5, **kw).value.moved()  # the check has teeth


# ------------------------------------------------------------------ (iii) seeded learning

RANDOM_POLICY_RETURN = 22  # CartPole-v1 with uniformly random actions


def test_actor_critic_beats_random():
    hist = actor_critic(seed=0, total_steps=30_000, lr=3e-3, gamma=0.99, lam=0.95)
    # measured: last-20 mean 126.8, greedy evaluation 499.8 (torch 2.13, 1 thread)
    assert hist.last_mean(20) > 4 * RANDOM_POLICY_RETURN
    assert evaluate(hist.policy, episodes=20, seed=123).mean() > 200
    assert hist.config["algo"] == "actor-critic" and hist.config["clip"] is None


def test_ppo_beats_random():
    hist = ppo(seed=0, total_steps=20_000)
    # measured: last-20 mean 160.3, greedy evaluation 309.4 (torch 2.13, 1 thread)
    assert hist.last_mean(20) > 100
    assert evaluate(hist.policy, episodes=20, seed=123).mean() > 150
    assert len(hist.iteration_env_steps) == 20_000 // 256
    assert np.all(np.diff(hist.episode_env_steps) >= 0)


def test_ppo_is_reproducible_and_callback_stops():
    calls = []

    def cb(iteration, steps, policy):
        calls.append((iteration, steps))
        return iteration == 2

    a = ppo(seed=4, total_steps=4096, callback=cb)
    b = ppo(seed=4, total_steps=4096, callback=lambda *args: len(args) == 3 and args[0] == 2)
    assert [c[0] for c in calls] == [0, 1, 2] and len(a.iteration_env_steps) == 3
    assert [c[1] for c in calls] == a.iteration_env_steps.tolist()
    np.testing.assert_array_equal(a.episode_returns, b.episode_returns)


# ------------------------------------------------------------------ (v) validation


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"gamma": 1.5}, "gamma"),
        ({"lam": -0.1}, "lam"),
        ({"total_steps": 0}, "total_steps"),
        ({"num_envs": 0}, "num_envs"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"epochs": 0}, "epochs"),
        ({"minibatch_size": -1}, "minibatch_size"),
        ({"lr": 0.0}, "lr"),
        ({"lr": 2.0}, "lr"),
        ({"clip": 0.0}, "clip"),
        ({"clip": True}, "clip"),
        ({"vf_coef": -1.0}, "vf_coef"),
        ({"ent_coef": float("nan")}, "ent_coef"),
        ({"max_grad_norm": -0.5}, "max_grad_norm"),
        ({"hidden": 0}, "hidden"),
        ({"backend": "jax"}, "backend"),
    ],
)
def test_ppo_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ppo(total_steps=kwargs.pop("total_steps", 256), **kwargs)


def test_actor_critic_validates_too():
    with pytest.raises(ValueError, match="gamma"):
        actor_critic(gamma=-0.5)


def test_evaluate_rejects_bad_episodes():
    with pytest.raises(ValueError, match="episodes"):
        evaluate(policies.MLPPolicy(4, 2), episodes=0)


def test_collector_rejects_same_step_autoreset():
    envs = gym.vector.SyncVectorEnv(
        [make_single, make_single], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    with pytest.raises(ValueError, match="next-step autoreset"):
        RolloutCollector(envs)
    envs.close()


def test_env_kwargs_reach_the_environment():
    hist = ppo(seed=0, total_steps=2048, env_kwargs={"max_episode_steps": 30})
    # a 30-step time limit: no CartPole episode is longer, and a fair share hit it
    assert hist.episode_returns.max() == 30
    assert np.mean(hist.episode_returns == 30) > 0.1
    returns = evaluate(hist.policy, episodes=5, env_kwargs={"max_episode_steps": 12})
    assert returns.max() <= 12
    e = gaelib.core.rollouts.make_vector_env(
        "Acrobot-v1", 2, {"max_episode_steps": 20}
    )  # no vector version
    assert isinstance(e, gym.vector.SyncVectorEnv)
    e.close()


@pytest.mark.parametrize("bad", [{"bogus": 1}, [("max_episode_steps", 3)], {3: 1}])
def test_bad_env_kwargs_are_refused(bad):
    with pytest.raises(ValueError, match="env_kwargs"):
        ppo(total_steps=256, env_kwargs=bad)
