"""Pendulum-v1 PPO: ``gaelib.algorithms.gaussian_ppo.gaussian_ppo`` at the course's settings
against Stable-Baselines3 PPO at rl-baselines3-zoo's tuned settings.

SB3 trains with rl-baselines3-zoo's Pendulum-v1 entry (``hyperparams/ppo.yml``, "# Tuned"):
4 envs, n_steps 1024, batch 64 (SB3's default), 10 epochs, γ 0.9, λ 0.95, learning rate 1e-3,
clip 0.2, ent_coef 0, **gSDE** (``use_sde=True``, ``sde_sample_freq=4``), 1e5 steps; SB3's
defaults for the rest (vf_coef 0.5, max_grad_norm 0.5, 2×64 tanh MLPs, orthogonal init,
log_std_init 0, advantages normalised per minibatch). gaelib has no gSDE: its policy is a plain
Gaussian with a state-independent log-std, trained at the course's chapter-7 settings
(``COURSE`` below; ``gaussian_ppo``'s defaults), the update written out in NumPy.

Runs alternate (gaelib seed 0, SB3 seed 0, gaelib seed 1, …), each in a fresh Python process
with ``torch.set_num_threads(1)`` and NumPy's BLAS on one thread. Both are evaluated the same
way every ``EVAL_EVERY`` environment steps (4096: after every SB3 rollout and every gaelib
update) and at the end: :func:`gaelib.worlds.pendulum.evaluate_pendulum` — 20 episodes of the
greedy (mean) action on gymnasium's own ``Pendulum-v1`` (``gymnasium_env=True``), the same
evaluation seeds for both libraries (SB3's greedy action is
``model.predict(obs, deterministic=True)``). Evaluation time is excluded from every wall time.
Measured: the environment steps and training wall time at which the mean evaluation return
first reaches −200 (the success threshold), the total training wall time, and the last
evaluation.

Run: ``.venv/bin/python benchmarks/pendulum_vs_sb3.py [--seeds 4] [--sb3-seeds 3]`` (needs
``pip install -r benchmarks/requirements.txt``). The last line is
``wall-time ratio gaelib/SB3 to -200: X.XX`` (ratio of the two libraries' MEDIAN wall times to
the threshold; a run that never reaches it counts as infinitely slow).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ZOO = {  # rl-baselines3-zoo, hyperparams/ppo.yml, Pendulum-v1 ("# Tuned")
    "n_envs": 4,
    "n_timesteps": 100_000,
    "n_steps": 1024,
    "gae_lambda": 0.95,
    "gamma": 0.9,
    "n_epochs": 10,
    "ent_coef": 0.0,
    "learning_rate": 1e-3,
    "clip_range": 0.2,
    "use_sde": True,
    "sde_sample_freq": 4,
}
COURSE = {  # gaussian_ppo's defaults (chapter 7); no gSDE
    "total_steps": 100_000,
}
THRESHOLD = -200.0
EVAL_EPISODES = 20
EVAL_EVERY = 4096  # environment steps


def eval_seed(run_seed: int, k: int) -> int:
    """The seed of the k-th evaluation of run ``run_seed`` (the same for both libraries)."""
    return 10_000 * (run_seed + 1) + k


class Tracker:
    """Evaluates after an update when another ``EVAL_EVERY`` environment steps have passed,
    and keeps the training clock (evaluation excluded)."""

    def __init__(self, run_seed: int):
        self.run_seed = run_seed
        self.t0 = time.perf_counter()
        self.eval_time = 0.0
        self.next_eval = EVAL_EVERY
        self.evals: list[tuple[int, float, float]] = []  # steps, train s, mean
        self.first: tuple[int, float] | None = None  # steps, train s

    def train_time(self) -> float:
        return time.perf_counter() - self.t0 - self.eval_time

    def __call__(self, steps: int, policy, *, final: bool = False) -> None:
        from gaelib.worlds.pendulum import evaluate_pendulum

        if steps < self.next_eval and not final:
            return
        if self.evals and self.evals[-1][0] == steps:
            return  # already evaluated at this step count
        while self.next_eval <= steps:
            self.next_eval += EVAL_EVERY
        now = self.train_time()
        start = time.perf_counter()
        k = len(self.evals)
        returns = evaluate_pendulum(
            policy, episodes=EVAL_EPISODES, seed=eval_seed(self.run_seed, k), gymnasium_env=True
        )
        self.eval_time += time.perf_counter() - start
        mean = float(returns.mean())
        self.evals.append((int(steps), now, mean))
        if self.first is None and mean >= THRESHOLD:
            self.first = (int(steps), now)


def run_gaelib(seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from gaelib.algorithms.gaussian_ppo import gaussian_ppo

    tracker = Tracker(seed)
    hist = gaussian_ppo(
        seed=seed,
        callback=lambda it, steps, policy: tracker(steps, policy),
        **COURSE,
    )
    tracker(int(hist.iteration_env_steps[-1]), hist.policy, final=True)
    return {
        "total": tracker.train_time(),
        "eval_time": tracker.eval_time,
        "first": tracker.first,
        "evals": tracker.evals,
        "steps": int(hist.iteration_env_steps[-1]),
        "config": {k: v for k, v in hist.config.items() if k not in ("env_id", "seed")},
    }


class SB3Greedy:
    """Lets :func:`gaelib.worlds.pendulum.evaluate_pendulum` play SB3's deterministic action."""

    def __init__(self, model):
        self.model = model

    def mean_numpy(self, obs):
        import numpy as np

        action, _ = self.model.predict(np.asarray(obs, dtype=np.float32), deterministic=True)
        return action


def run_sb3(seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class EvalAfterUpdate(BaseCallback):
        """SB3 calls back inside collect_rollouts, i.e. *before* each update; a rollout's start
        (and the training's end) comes right after the previous update, so evaluate there."""

        def _on_rollout_start(self):
            if self.num_timesteps:
                tracker(self.num_timesteps, SB3Greedy(self.model))

        def _on_training_end(self):
            tracker(self.num_timesteps, SB3Greedy(self.model), final=True)

        def _on_step(self):
            return True

    tracker = Tracker(seed)
    env = make_vec_env("Pendulum-v1", n_envs=ZOO["n_envs"], seed=seed)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=ZOO["n_steps"],
        n_epochs=ZOO["n_epochs"],
        gamma=ZOO["gamma"],
        gae_lambda=ZOO["gae_lambda"],
        ent_coef=ZOO["ent_coef"],
        learning_rate=ZOO["learning_rate"],
        clip_range=ZOO["clip_range"],
        use_sde=ZOO["use_sde"],
        sde_sample_freq=ZOO["sde_sample_freq"],
        seed=seed,
        device="cpu",
        verbose=0,
    )
    model.learn(ZOO["n_timesteps"], callback=EvalAfterUpdate())
    return {
        "total": tracker.train_time(),
        "eval_time": tracker.eval_time,
        "first": tracker.first,
        "evals": tracker.evals,
        "steps": int(model.num_timesteps),
    }


def worker(lib: str, seed: int) -> None:
    out = run_gaelib(seed) if lib == "gaelib" else run_sb3(seed)
    print("RESULT " + json.dumps(out))


ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def run_in_subprocess(lib: str, seed: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--seed", str(seed)]
    env = {**os.environ, **ONE_THREAD}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{lib} seed {seed} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[-1][len("RESULT ") :])


def _fmt(x, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=4, help="gaelib seeds (0, 1, …)")
    parser.add_argument("--sb3-seeds", type=int, default=3, help="SB3 seeds (slower; >= 3)")
    parser.add_argument("--worker", choices=("gaelib", "sb3"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.seed)
        return 0
    if args.seeds < 1 or args.sb3_seeds < 1:
        parser.error("--seeds and --sb3-seeds must be >= 1")

    import stable_baselines3
    import torch

    from gaelib.algorithms.gaussian_ppo import gaussian_ppo

    defaults = {
        k: v.default
        for k, v in __import__("inspect").signature(gaussian_ppo).parameters.items()
        if k not in ("env_id", "seed", "progress", "stop_at", "callback")
    }
    course = {**defaults, **COURSE}
    print(
        f"Pendulum-v1 PPO, gaelib vs Stable-Baselines3 {stable_baselines3.__version__} — "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, torch {torch.__version__}, "
        "1 torch thread and 1 BLAS thread, one fresh process per run, runs alternating; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    print("SB3 (rl-baselines3-zoo ppo.yml, Pendulum-v1, WITH gSDE): "
          + ", ".join(f"{k} {v}" for k, v in ZOO.items())
          + "; SB3 defaults: batch 64, vf_coef 0.5, max_grad_norm 0.5, 2×64 tanh, "
          "log_std_init 0")  # fmt: skip
    print("gaelib (gaussian_ppo, course settings, plain Gaussian, no gSDE, NumPy update): "
          + ", ".join(f"{k} {v}" for k, v in course.items()))  # fmt: skip
    print(
        f"evaluation: every {EVAL_EVERY} env steps (after the update that passes it) and at the "
        f"end, {EVAL_EPISODES} greedy episodes on gymnasium's Pendulum-v1 with "
        "gaelib.worlds.pendulum.evaluate_pendulum, same seeds for both; evaluation time excluded"
    )
    print(f"success: mean greedy return >= {THRESHOLD:g}")
    print()

    results: dict[str, list[dict]] = {"gaelib": [], "sb3": []}
    t_all = time.perf_counter()
    for seed in range(max(args.seeds, args.sb3_seeds)):
        for lib, n in (("gaelib", args.seeds), ("sb3", args.sb3_seeds)):
            if seed >= n:
                continue
            load = os.getloadavg()[0]
            r = run_in_subprocess(lib, seed)
            r["seed"], r["load"] = seed, load
            results[lib].append(r)
            f = r["first"]
            msg = f"{f[0]} steps, {f[1]:.2f} s" if f else "not reached"
            print(f"  {lib:6s} seed {seed}: {THRESHOLD:g} at {msg}; total {r['total']:.1f} s; "
                  f"last eval {r['evals'][-1][2]:.0f}; load {load:.2f}", flush=True)  # fmt: skip
    print()

    names = {"gaelib": "gaelib", "sb3": "SB3 (gSDE)"}
    print("| seed | library | env steps to -200 | wall s to -200 | total wall s "
          "| eval s (excluded) | last eval mean | best eval mean |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for lib in ("gaelib", "sb3"):
        for r in results[lib]:
            f = r["first"]
            print(
                f"| {r['seed']} | {names[lib]} | {_fmt(f and f[0], 'd')} "
                f"| {_fmt(f and f[1], '.2f')} "
                f"| {r['total']:.2f} | {r['eval_time']:.2f} | {r['evals'][-1][2]:.0f} "
                f"| {max(e[2] for e in r['evals']):.0f} |"
            )
    print()

    def med(lib: str, i: int) -> float:
        return statistics.median(
            r["first"][i] if r["first"] else float("inf") for r in results[lib]
        )

    print("| library | runs | reached -200 | median env steps to -200 | median wall s to -200 "
          "| median total wall s |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for lib in ("gaelib", "sb3"):
        rs = results[lib]
        print(
            f"| {names[lib]} | {len(rs)} | {sum(r['first'] is not None for r in rs)}/{len(rs)} "
            f"| {med(lib, 0):.0f} | {med(lib, 1):.2f} "
            f"| {statistics.median(r['total'] for r in rs):.2f} |"
        )
    print()
    ratio = med("gaelib", 1) / med("sb3", 1)
    total_ratio = statistics.median(r["total"] for r in results["gaelib"]) / statistics.median(
        r["total"] for r in results["sb3"]
    )
    goal = "met" if ratio <= 0.5 else "MISSED (needs <= 0.50)"
    print(f"total-wall-time ratio gaelib/SB3 (medians, full 1e5-step runs): {total_ratio:.2f}")
    print(f"goal wall-time ratio <= 0.5: {goal}")
    print(f"benchmark run time: {time.perf_counter() - t_all:.0f} s")
    print(f"wall-time ratio gaelib/SB3 to {THRESHOLD:g}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
