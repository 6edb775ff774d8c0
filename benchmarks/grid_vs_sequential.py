"""Chapter 5's γ × λ grid: ``gaelib.algorithms.lockstep.actor_critic_grid`` against the same runs
one by one.

Times the λ sweep at γ = 0.99 (7 λ × 5 seeds = 35 runs, chapter 5's settings: 30,000
environment steps, learning rate 3e-3) twice — as 35 calls of
``gaelib.algorithms.actor_critic.actor_critic`` and as one ``actor_critic_grid`` — and then chapter
5's whole grid (5 γ × 7 λ × 5 seeds = 175 runs) in lockstep. One torch thread and one BLAS thread
(set before NumPy is imported), so the comparison is per core. The runs are the same algorithm but
not the same random numbers (the grid shares one stream), so their scores are compared only as a
sanity check.

Run: ``.venv/bin/python benchmarks/grid_vs_sequential.py``. The last line is
``lockstep speed-up for 35 runs: X.X×``.
"""

from __future__ import annotations

import os

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = "1"

import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

LAMS = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 1.0]
GAMMAS = [0.8, 0.9, 0.95, 0.99, 1.0]
SEEDS = [0, 1, 2, 3, 4]
SETTINGS = {"total_steps": 30_000, "lr": 3e-3}


def main() -> int:
    from gaelib.algorithms.actor_critic import actor_critic
    from gaelib.algorithms.lockstep import actor_critic_grid
    from gaelib.core.history import sweep_auc

    torch.set_num_threads(1)
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, 1 torch thread, 1 BLAS thread")
    t0 = time.perf_counter()
    seq = {
        lam: [actor_critic(seed=s, lam=lam, gamma=0.99, **SETTINGS) for s in SEEDS] for lam in LAMS
    }
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    grid = actor_critic_grid([0.99], LAMS, SEEDS, **SETTINGS)
    t_grid = time.perf_counter() - t0
    t0 = time.perf_counter()
    actor_critic_grid(GAMMAS, LAMS, SEEDS, **SETTINGS)
    t_full = time.perf_counter() - t0
    a_seq, a_grid = sweep_auc(seq), sweep_auc(grid)
    print()
    print("| what | runs | wall s | s per run |")
    print("|---|---:|---:|---:|")
    print(f"| `actor_critic`, one run after another | 35 | {t_seq:.1f} | {t_seq / 35:.3f} |")
    print(f"| `actor_critic_grid`, in lockstep | 35 | {t_grid:.1f} | {t_grid / 35:.3f} |")
    print(
        f"| `actor_critic_grid`, chapter 5's whole grid | 175 | {t_full:.1f} | {t_full / 175:.3f} |"
    )
    print()
    print("sanity check, mean AUC per λ at γ = 0.99 (different random streams, same algorithm):")
    for lam in LAMS:
        print(
            f"  λ={lam:<4}  one by one {a_seq[lam].mean():6.1f}"
            f"   grid {a_grid[(0.99, lam)].mean():6.1f}"
        )
    print(f"lockstep speed-up for 35 runs: {t_seq / t_grid:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
