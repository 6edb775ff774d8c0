"""The two λ sweeps side by side: the grid in a second process next to the PPO sweep (as
chapter 5 ran them until the PPO sweep moved to chapter 6).

Times, with one torch thread and one BLAS thread per process:

1. ``ppo_grid`` alone — chapter 6's PPO λ sweep (λ ∈ {0, 0.5, 0.95} × 5 seeds, 20,000 steps);
2. ``actor_critic_grid`` alone — chapter 5's γ × λ grid (175 runs of 30,000 steps);
3. both as the chapter runs them: the grid started with ``train_in_background`` and the PPO
   sweep trained in this process meanwhile; the wall time until both are done.

On a machine with two free cores (3) should take about max(1, 2) plus the second process's
start-up (importing torch); on one core, about their sum.

Run: ``.venv/bin/python benchmarks/ppo_sweep.py``.
"""

from __future__ import annotations

import os

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = "1"

import time  # noqa: E402

import torch  # noqa: E402

PPO_LAMS, SEEDS = [0.0, 0.5, 0.95], [0, 1, 2, 3, 4]
LAMS = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 1.0]
GAMMAS = [0.8, 0.9, 0.95, 0.99, 1.0]


def main() -> int:
    from gaelib.algorithms.lockstep import actor_critic_grid, ppo_grid
    from gaelib.core.background import train_in_background

    torch.set_num_threads(1)
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, 1 torch thread, 1 BLAS thread")
    t0 = time.perf_counter()
    ppo_grid([0.99], PPO_LAMS, SEEDS, total_steps=20_000)
    t_ppo = time.perf_counter() - t0
    t0 = time.perf_counter()
    actor_critic_grid(GAMMAS, LAMS, SEEDS, total_steps=30_000, lr=3e-3)
    t_ac = time.perf_counter() - t0
    t0 = time.perf_counter()
    job = train_in_background(actor_critic_grid, GAMMAS, LAMS, SEEDS, total_steps=30_000, lr=3e-3)
    ppo_grid([0.99], PPO_LAMS, SEEDS, total_steps=20_000)
    t_fg = time.perf_counter() - t0
    job.result()
    t_both = time.perf_counter() - t0
    print()
    print("| what | runs | wall s |")
    print("|---|---:|---:|")
    print(f"| `ppo_grid`, chapter 6's PPO λ sweep, alone | 15 | {t_ppo:.1f} |")
    print(f"| `actor_critic_grid`, chapter 5's γ × λ grid, alone | 175 | {t_ac:.1f} |")
    print(
        f"| both, the grid in a second process (PPO done after {t_fg:.1f} s) | 190 | {t_both:.1f} |"
    )
    print()
    print(f"side by side: {t_both:.1f} s instead of {t_ppo + t_ac:.1f} s one after the other")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
