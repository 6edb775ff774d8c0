"""One PPO minibatch step: ``gaelib.algorithms.numpy_ppo.NumpyPPOUpdate`` against autograd +
torch.optim.Adam.

The step ``gaelib.algorithms.ppo.ppo`` takes 7,800 times in a 1e5-step CartPole run: a minibatch of
256, the zoo's networks (policy and critic, two tanh layers of 64 each), PPO's clipped loss,
global-norm clipping to 0.5, Adam. Both ways start from the same weights and batch; the
median over ``--repeats`` blocks of 200 steps is reported. One torch thread and one BLAS
thread (set before NumPy is imported).

Run: ``.venv/bin/python benchmarks/ppo_step.py [--batch 256] [--repeats 7]``. The last line is
``written-out step speed-up: X.X×``.
"""

from __future__ import annotations

import os

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = "1"

import argparse  # noqa: E402
import copy  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from gaelib.algorithms.numpy_ppo import NumpyPPOUpdate
    from gaelib.algorithms.ppo import ppo_loss
    from gaelib.core.policies import MLPPolicy, ValueNet

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = MLPPolicy(4, 2, (64, 64), orthogonal=True)
    value = ValueNet(4, (64, 64), orthogonal=True)
    p2, v2 = copy.deepcopy(policy), copy.deepcopy(value)
    gen = np.random.default_rng(0)
    B = args.batch
    obs = gen.normal(size=(B, 4)).astype(np.float32)
    act = gen.integers(0, 2, size=B)
    with torch.no_grad():
        logp = policy(torch.as_tensor(obs)).log_softmax(-1)[np.arange(B), act].numpy()
    old = (logp + gen.normal(0, 0.2, B)).astype(np.float32)
    adv = gen.normal(size=B).astype(np.float32)
    ret = (gen.normal(size=B) * 10).astype(np.float32)
    batch_t = [torch.as_tensor(x) for x in (obs, act, old, adv, ret)]
    params = [*policy.parameters(), *value.parameters()]
    opt = torch.optim.Adam(params, lr=1e-4, eps=1e-5, fused=True)
    up = NumpyPPOUpdate(p2, v2, eps=1e-5)

    def autograd_step():
        opt.zero_grad()
        ppo_loss(policy, value, *batch_t, clip=0.2).backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5, foreach=True)
        opt.step()

    def numpy_step():
        up.step(obs, act, old, adv, ret, clip=0.2, lr=1e-4)

    times = {}
    steps = [("autograd + torch.optim.Adam (fused)", autograd_step),
             ("written out in NumPy (gaelib.algorithms.numpy_ppo)", numpy_step)]  # fmt: skip
    for name, fn in steps:
        for _ in range(20):
            fn()
        blocks = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for _ in range(200):
                fn()
            blocks.append((time.perf_counter() - t0) / 200 * 1e3)
        times[name] = statistics.median(blocks)
    print(
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, NumPy {np.__version__}, 1 thread each"
    )
    print(f"minibatch {B}, policy and critic 2×64 tanh, PPO clip 0.2, grad-norm clip 0.5, Adam")
    print()
    print("| step | median ms per step |")
    print("|---|---:|")
    for name, ms in times.items():
        print(f"| {name} | {ms:.3f} |")
    a, n = times.values()
    print(f"written-out step speed-up: {a / n:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
