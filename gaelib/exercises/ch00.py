"""Chapter 0 exercise checkers: the discounted return; one episode with the gymnasium 1.x API."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from ._common import Report, attempt, not_attempted

__all__ = ["check_discounted_return", "check_run_episode"]


def _ret(rewards: Sequence[float], gamma: float) -> float:
    return float(sum(gamma**t * r for t, r in enumerate(rewards)))


def _exponent_from_one(r, g):
    return float(sum(g ** (t + 1) * x for t, x in enumerate(r)))


def _reversed_discount(r, g):
    return float(sum(g ** (len(r) - 1 - t) * x for t, x in enumerate(r)))


def _undiscounted(r, g):
    return float(sum(r))


def _first_reward_only(r, g):
    return float(r[0]) if len(r) else 0.0


_RETURN_MISTAKES = [
    (
        "the first reward must not be discounted: the exponent starts at γ^0 for r_0",
        _exponent_from_one,
    ),
    (
        "the discount runs the wrong way: the earliest reward gets γ^0, the last γ^(T-1)",
        _reversed_discount,
    ),
    ("γ was not applied: this is the undiscounted sum of rewards", _undiscounted),
    ("only the first reward was counted: sum over the whole episode", _first_reward_only),
]


def check_discounted_return(fn: Callable[[Sequence[float], float], float]) -> bool:
    r"""Chapter 0 exercise: ``fn(rewards, gamma)`` → :math:`G_0 = \sum_t \gamma^t r_t`."""
    cases = [
        ([1.0, 1.0, 1.0], 0.9, "three rewards of 1, γ=0.9"),
        ([0.0, 0.0, 5.0], 0.5, "a late reward, γ=0.5"),
        ([2.0, -1.0, 3.0, 0.5], 0.0, "γ=0 keeps only r_0"),
        ([2.0, -1.0, 3.0, 0.5], 1.0, "γ=1 is the plain sum"),
        ([], 0.99, "an empty episode has return 0"),
        ([1.0] * 200, 0.99, "200 rewards of 1, γ=0.99 (close to 1/(1-γ)=100)"),
    ]
    report = Report("check_discounted_return")
    for rewards, gamma, label in cases:
        status, got = attempt(fn, list(rewards), gamma)
        if status == "todo":
            return not_attempted("check_discounted_return")
        want = _ret(rewards, gamma)
        if status == "error":
            report.failed(label, f"raised {type(got).__name__}: {got}")
            continue
        try:
            got = float(got)
        except (TypeError, ValueError):
            report.failed(label, f"return a single number, got {type(got).__name__}")
            continue
        if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9):
            report.passed(label)
            continue
        hint = next(
            (
                msg
                for msg, wrong in _RETURN_MISTAKES
                if rewards and math.isclose(got, wrong(rewards, gamma), rel_tol=1e-9)
            ),
            "compare with the definition G_0 = r_0 + γ r_1 + γ² r_2 + …",
        )
        report.failed(label, f"expected {want:.6g}, got {got:.6g}: {hint}")
    return report.show()


class _EpisodeGuard(gym.Wrapper):
    """Counts steps and refuses a step after the episode ended or before reset."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.done = True
        self.resets = 0
        self.seeds: list[Any] = []

    def reset(self, **kwargs):
        self.done = False
        self.resets += 1
        self.seeds.append(kwargs.get("seed"))
        return self.env.reset(**kwargs)

    def step(self, action):
        if self.done:
            raise RuntimeError(
                "step() was called after the episode had ended (or before reset()): "
                "stop the loop as soon as terminated OR truncated is True"
            )
        out = self.env.step(action)
        self.done = bool(out[2] or out[3])
        return out


def _reference_episode(policy, seed: int, max_steps: int) -> tuple[float, int, bool, bool]:
    env = gym.make("CartPole-v1", max_episode_steps=max_steps)
    obs, _ = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        obs, r, term, trunc, _ = env.step(policy(obs))
        total, steps = total + float(r), steps + 1
        if term or trunc:
            env.close()
            return total, steps, bool(term), bool(trunc)


def _lean_policy(obs: np.ndarray) -> int:
    """Push the cart toward where the pole leans: keeps CartPole up for a long time."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def check_run_episode(fn: Callable[[gym.Env, Callable, int], Any]) -> bool:
    """Chapter 0 exercise: ``fn(env, policy, seed)`` plays one episode with the gymnasium 1.x
    API and returns ``(total_reward, n_steps, terminated, truncated)``."""
    cases = [
        (lambda obs: 0, 3, 500, "always push left: the pole falls (terminated)"),
        (_lean_policy, 7, 40, "a balancing policy under a 40-step time limit (truncated)"),
        (_lean_policy, 11, 25, "the same with another seed and a 25-step limit"),
    ]
    report = Report("check_run_episode")
    for policy, seed, max_steps, label in cases:
        env = _EpisodeGuard(gym.make("CartPole-v1", max_episode_steps=max_steps))
        status, got = attempt(fn, env, policy, seed)
        env.close()
        if status == "todo":
            return not_attempted("check_run_episode")
        want = _reference_episode(policy, seed, max_steps)
        if status == "error":
            msg = f"raised {type(got).__name__}: {got}"
            if isinstance(got, ValueError) and "unpack" in str(got):
                msg += (
                    " — in gymnasium 1.x reset() returns (obs, info) and step() returns five"
                    " values: obs, reward, terminated, truncated, info"
                )
            report.failed(label, msg)
            continue
        if env.resets != 1 or env.seeds != [seed]:
            report.failed(label, f"call env.reset(seed=seed) exactly once (saw seeds {env.seeds})")
            continue
        if not (isinstance(got, tuple | list) and len(got) == 4):
            report.failed(label, "return a tuple (total_reward, n_steps, terminated, truncated)")
            continue
        total, steps, term, trunc = got
        if (float(total), int(steps)) != want[:2] or (bool(term), bool(trunc)) != want[2:]:
            hint = "compare with the reference loop in the text"
            if bool(term) != want[2] or bool(trunc) != want[3]:
                hint = "report the flags of the last step: terminated and truncated separately"
            report.failed(
                label,
                f"expected total={want[0]:g}, steps={want[1]}, terminated={want[2]}, "
                f"truncated={want[3]}; got {total}, {steps}, {term}, {trunc}: {hint}",
            )
            continue
        report.passed(label)
    return report.show()
