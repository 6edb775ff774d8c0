"""CartPole-v1 PPO: ``gaelib.algorithms.ppo.ppo`` against Stable-Baselines3 PPO, same settings.

Both libraries train with rl-baselines3-zoo's tuned CartPole-v1 settings (``hyperparams/ppo.yml``:
8 envs, n_steps 32, batch 256, 20 epochs, γ 0.98, λ 0.8, learning rate lin_1e-3, clip range
lin_0.2, ent_coef 0, 1e5 steps; SB3's defaults for the rest: vf_coef 0.5, max_grad_norm 0.5,
advantages normalised per minibatch) — these are also ``gaelib.algorithms.ppo.ppo``'s defaults.

Runs alternate (gaelib seed 0, SB3 seed 0, gaelib seed 1, …), each in a fresh Python process
with ``torch.set_num_threads(1)`` and NumPy's BLAS on one thread (``OPENBLAS_NUM_THREADS=1``).
gaelib's update takes the same step as autograd on ``gaelib.algorithms.ppo.ppo_loss`` with the
gradient written out in NumPy (``gaelib.algorithms.numpy_ppo``; ``--backend torch`` uses autograd
instead). Every ``--eval-every`` updates (8 updates = 2048 environment
steps by default) both are evaluated the same way: :func:`gaelib.core.rollouts.evaluate` — 10
episodes, greedy actions, the same evaluation seeds for both libraries (SB3's greedy action is
``model.predict(obs, deterministic=True)``, on its own evaluation env). Evaluation time is
excluded from every wall time. Measured: the environment steps and the training wall time at
which the mean evaluation return first reaches 475, the total training wall time, and where
the time goes (collecting rollouts vs the update).

Differences that remain (printed with the results):

* network: the same — separate policy and value MLPs with two hidden layers of 64 tanh units,
  orthogonal initialisation (gains √2, 0.01 for the policy's output, 1 for the value's), Adam
  ε 1e-5 (gaelib's ``ppo`` defaults). ``--sb3-arch ours`` runs SB3 with ``net_arch=[64]``
  (one hidden layer), kept for comparison with earlier measurements.
* environments: SB3 steps 8 ``gymnasium`` CartPoles in a ``DummyVecEnv`` (a Python loop,
  same-step autoreset); gaelib steps CartPole's NumPy-vectorised ``gymnasium`` env (next-step
  autoreset, the reset steps masked out and not counted as environment steps).

Run: ``.venv/bin/python benchmarks/cartpole_vs_sb3.py [--seeds 5] [--eval-every 8]
[--backend numpy|torch]``
(needs ``pip install -r benchmarks/requirements.txt``). The last line is
``wall-time ratio gaelib/SB3 to 475: X.XX`` (ratio of the two libraries' MEDIAN wall times).
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

ZOO = {  # rl-baselines3-zoo, hyperparams/ppo.yml, CartPole-v1 ("# Tuned")
    "n_envs": 8,
    "n_timesteps": 100_000,
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": 1e-3,  # lin_0.001
    "clip_range": 0.2,  # lin_0.2
}
THRESHOLD = 475.0
EVAL_EPISODES = 10


def eval_seed(run_seed: int, k: int) -> int:
    """The seed of the k-th evaluation of run ``run_seed`` (the same for both libraries)."""
    return 10_000 * (run_seed + 1) + k


class Tracker:
    """``hook(iteration, steps, policy)`` after every update: evaluates every ``every`` updates
    with :func:`gaelib.core.rollouts.evaluate` and keeps the training clock (evaluation
    excluded)."""

    def __init__(self, run_seed: int, every: int):
        self.run_seed, self.every = run_seed, every
        self.t0 = time.perf_counter()
        self.eval_time = 0.0
        self.evals: list[tuple[int, int, float, float]] = []  # updates, steps, train s, mean
        self.first: tuple[int, int, float] | None = None  # updates, steps, train s

    def train_time(self) -> float:
        return time.perf_counter() - self.t0 - self.eval_time

    def __call__(self, iteration: int, steps: int, policy) -> None:
        from gaelib.core.rollouts import evaluate

        updates = iteration + 1
        if updates % self.every:
            return None
        now = self.train_time()
        start = time.perf_counter()
        k = len(self.evals)
        mean = float(
            evaluate(policy, episodes=EVAL_EPISODES, seed=eval_seed(self.run_seed, k)).mean()
        )
        self.eval_time += time.perf_counter() - start
        self.evals.append((updates, int(steps), now, mean))
        if self.first is None and mean >= THRESHOLD:
            self.first = (updates, int(steps), now)
        return None  # never stop early: total wall time and the profile cover the whole run


def run_gaelib(seed: int, every: int, backend: str) -> dict:
    import torch

    torch.set_num_threads(1)
    from gaelib.algorithms.ppo import ppo
    from gaelib.core import rollouts

    collect_time = [0.0]
    original = rollouts.RolloutCollector.collect

    def timed_collect(self, act, n_steps):  # profile only: gaelib itself is unchanged
        t = time.perf_counter()
        try:
            return original(self, act, n_steps)
        finally:
            collect_time[0] += time.perf_counter() - t

    rollouts.RolloutCollector.collect = timed_collect
    tracker = Tracker(seed, every)
    hist = ppo(
        seed=seed,
        total_steps=ZOO["n_timesteps"],
        num_envs=ZOO["n_envs"],
        n_steps=ZOO["n_steps"],
        minibatch_size=ZOO["batch_size"],
        epochs=ZOO["n_epochs"],
        lr=ZOO["learning_rate"],
        lr_decay=True,
        clip=ZOO["clip_range"],
        gamma=ZOO["gamma"],
        lam=ZOO["gae_lambda"],
        ent_coef=ZOO["ent_coef"],
        vf_coef=0.5,
        max_grad_norm=0.5,
        hidden=(64, 64),
        orthogonal_init=True,
        callback=tracker,
        backend=backend,
    )
    total = tracker.train_time()
    return {
        "total": total,
        "collect": collect_time[0],
        "update": total - collect_time[0],
        "eval_time": tracker.eval_time,
        "first": tracker.first,
        "evals": tracker.evals,
        "steps": int(hist.iteration_env_steps[-1]),
        "updates": len(hist.iteration_env_steps),
    }


class SB3Greedy:
    """Lets :func:`gaelib.core.rollouts.evaluate` play SB3's deterministic action: a one-hot
    'probs'."""

    def __init__(self, model):
        self.model = model

    def probs_numpy(self, obs):
        import numpy as np

        action, _ = self.model.predict(np.asarray(obs, dtype=np.float32), deterministic=True)
        return np.eye(self.model.action_space.n)[action]


def run_sb3(seed: int, every: int, arch: str) -> dict:
    import torch

    torch.set_num_threads(1)
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    times = {"collect": 0.0, "update": 0.0}

    class TimedPPO(PPO):  # profile only: SB3's own collect_rollouts / train, timed
        def collect_rollouts(self, *args, **kwargs):
            t, ev = time.perf_counter(), tracker.eval_time
            out = super().collect_rollouts(*args, **kwargs)
            times["collect"] += time.perf_counter() - t - (tracker.eval_time - ev)
            return out

        def train(self):
            t = time.perf_counter()
            super().train()
            times["update"] += time.perf_counter() - t

    class EvalAfterUpdate(BaseCallback):
        """SB3 calls back inside collect_rollouts, i.e. *before* each update; a rollout's start
        (and the training's end) comes right after the previous update, so evaluate there."""

        def __init__(self):
            super().__init__()
            self.rollouts = 0

        def _after_update(self):
            tracker(self.rollouts - 1, self.num_timesteps, SB3Greedy(self.model))

        def _on_rollout_start(self):
            if self.rollouts:
                self._after_update()
            self.rollouts += 1

        def _on_training_end(self):
            self._after_update()

        def _on_step(self):
            return True

    linear = lambda x: lambda progress_remaining: progress_remaining * x  # noqa: E731  (zoo's lin_)
    tracker = Tracker(seed, every)
    env = make_vec_env("CartPole-v1", n_envs=ZOO["n_envs"], seed=seed)
    policy_kwargs = {} if arch == "zoo" else {"net_arch": [64]}
    model = TimedPPO(
        "MlpPolicy",
        env,
        n_steps=ZOO["n_steps"],
        batch_size=ZOO["batch_size"],
        n_epochs=ZOO["n_epochs"],
        gamma=ZOO["gamma"],
        gae_lambda=ZOO["gae_lambda"],
        ent_coef=ZOO["ent_coef"],
        learning_rate=linear(ZOO["learning_rate"]),
        clip_range=linear(ZOO["clip_range"]),
        policy_kwargs=policy_kwargs,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    model.learn(ZOO["n_timesteps"], callback=EvalAfterUpdate())
    total = tracker.train_time()
    return {
        "total": total,
        "collect": times["collect"],
        "update": times["update"],
        "eval_time": tracker.eval_time,
        "first": tracker.first,
        "evals": tracker.evals,
        "steps": int(model.num_timesteps),
        "updates": model._n_updates // ZOO["n_epochs"],
    }


def worker(lib: str, seed: int, every: int, arch: str, backend: str) -> None:
    out = run_gaelib(seed, every, backend) if lib == "gaelib" else run_sb3(seed, every, arch)
    print("RESULT " + json.dumps(out))


ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def run_in_subprocess(lib: str, seed: int, every: int, arch: str, backend: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--seed", str(seed)]
    cmd += ["--eval-every", str(every), "--sb3-arch", arch, "--backend", backend]
    env = {**os.environ, **ONE_THREAD}  # NumPy's BLAS on one thread too, for both libraries
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{lib} seed {seed} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[-1][len("RESULT ") :])


def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per library (>= 3)")
    parser.add_argument("--eval-every", type=int, default=8, help="updates between evaluations")
    parser.add_argument(
        "--sb3-arch",
        choices=("zoo", "ours"),
        default="zoo",
        help="SB3 network: the zoo's default MlpPolicy (2×64) or gaelib's one hidden layer of 64",
    )
    parser.add_argument(
        "--backend",
        choices=("numpy", "torch"),
        default="numpy",
        help="gaelib's update: the hand-written NumPy gradient (default) or torch autograd",
    )
    parser.add_argument("--worker", choices=("gaelib", "sb3"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.seed, args.eval_every, args.sb3_arch, args.backend)
        return 0
    if args.seeds < 1 or args.eval_every < 1:
        parser.error("--seeds and --eval-every must be >= 1")

    import stable_baselines3
    import torch

    batch = ZOO["n_envs"] * ZOO["n_steps"]
    print(
        f"CartPole-v1 PPO, gaelib vs Stable-Baselines3 {stable_baselines3.__version__} — "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, torch {torch.__version__}, "
        "1 torch thread and 1 BLAS thread, one fresh process per run, runs alternating"
    )
    print(
        "settings (rl-baselines3-zoo ppo.yml, CartPole-v1): "
        + ", ".join(f"{k} {v:g}" for k, v in ZOO.items())
        + " (learning rate and clip range linear to 0); vf_coef 0.5, max_grad_norm 0.5"
    )
    print(
        f"evaluation: every {args.eval_every} updates ({args.eval_every * batch} env steps), "
        f"{EVAL_EPISODES} greedy episodes with gaelib.core.rollouts.evaluate, same seeds for both; "
        "evaluation time excluded from wall times"
    )
    sb3_net = "2×64 tanh (default MlpPolicy)" if args.sb3_arch == "zoo" else "1×64 tanh"
    same = "the same" if args.sb3_arch == "zoo" else "DIFFERENT"
    print(
        f"networks ({same}): SB3 pi and vf MLPs {sb3_net}, orthogonal init, Adam eps 1e-5; "
        "gaelib pi and vf MLPs 2×64 tanh, orthogonal init, Adam eps 1e-5; gaelib's update: "
        + (
            "gradient written out in NumPy (gaelib.algorithms.numpy_ppo), checked against autograd"
            if args.backend == "numpy"
            else "torch autograd + torch.optim.Adam"
        )
    )
    print(
        "env steps: SB3 counts every step of its DummyVecEnv (same-step autoreset); gaelib "
        "counts real transitions (next-step autoreset's reset steps are masked, not counted)"
    )
    print()

    results: dict[str, list[dict]] = {"gaelib": [], "sb3": []}
    t_all = time.perf_counter()
    for seed in range(args.seeds):
        for lib in ("gaelib", "sb3"):
            r = run_in_subprocess(lib, seed, args.eval_every, args.sb3_arch, args.backend)
            r["seed"] = seed
            results[lib].append(r)
            first = r["first"]
            msg = f"{first[1]} steps, {first[2]:.2f} s" if first else "not reached"
            print(f"  {lib:6s} seed {seed}: 475 at {msg}; total {r['total']:.1f} s", flush=True)
    print()

    names = {"gaelib": "gaelib", "sb3": "SB3"}
    print(
        "| seed | library | updates to 475 | env steps to 475 | wall s to 475 | total wall s "
        "| collect s | update s | eval s (excluded) | last eval mean |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for seed in range(args.seeds):
        for lib in ("gaelib", "sb3"):
            r = results[lib][seed]
            f = r["first"]
            print(
                f"| {seed} | {names[lib]} | {_fmt(f and f[0], 'd')} | {_fmt(f and f[1], 'd')} "
                f"| {_fmt(f and f[2], '.2f')} | {r['total']:.2f} | {r['collect']:.2f} "
                f"| {r['update']:.2f} | {r['eval_time']:.2f} | {r['evals'][-1][3]:.1f} |"
            )
    print()

    def med(lib: str, i: int) -> float:
        xs = [r["first"][i] if r["first"] else float("inf") for r in results[lib]]
        return statistics.median(xs)

    print(
        "| library | reached 475 | median env steps to 475 | median wall s to 475 "
        "| median total wall s | collect share | update share |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for lib in ("gaelib", "sb3"):
        rs = results[lib]
        tot = sum(r["total"] for r in rs)
        print(
            f"| {names[lib]} | {sum(r['first'] is not None for r in rs)}/{len(rs)} "
            f"| {med(lib, 1):.0f} | {med(lib, 2):.2f} "
            f"| {statistics.median(r['total'] for r in rs):.2f} "
            f"| {sum(r['collect'] for r in rs) / tot:.0%} "
            f"| {sum(r['update'] for r in rs) / tot:.0%} |"
        )
    print()
    ratio = med("gaelib", 2) / med("sb3", 2)
    steps_ratio = med("gaelib", 1) / med("sb3", 1)
    goal = "met" if ratio <= 0.5 else f"MISSED by {ratio / 0.5:.2f}× (needs ≤ 0.50)"
    print(f"env-steps ratio gaelib/SB3 to 475 (medians): {steps_ratio:.2f}")
    print(f"goal wall-time ratio ≤ 0.5 within 1e5 steps: {goal}")
    print(f"benchmark run time: {time.perf_counter() - t_all:.0f} s (ratio below: of the medians)")
    print(f"wall-time ratio gaelib/SB3 to 475: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
