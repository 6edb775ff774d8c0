"""One seeding helper for the whole course (chapter 0): same seed → same numbers."""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from threadpoolctl import threadpool_limits

__all__ = ["seed_everything", "limit_threads"]


def limit_threads(threads: int) -> None:
    """Run torch's CPU kernels and NumPy's BLAS (OpenBLAS, via ``threadpoolctl``) on
    ``threads`` threads, for the rest of the process."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")


def seed_everything(seed: int, *, threads: int | None = 1) -> np.random.Generator:
    """Seed Python's ``random``, numpy's legacy global RNG and torch; return a fresh Generator.

    Args:
        seed: a non-negative integer.
        threads: torch's intra-op threads and NumPy's BLAS threads (1 by default: the course's
            small networks and matrices run fastest on one thread; results do not depend on
            the machine's core count; and a busy laptop slows a chapter down in proportion —
            two BLAS threads sharing a core with another program spin-wait for each other and
            ran chapter 5's grid 1.8× slower than one thread did). ``None`` leaves both alone.

    Returns:
        ``np.random.default_rng(seed)`` — pass it to anything that draws random numbers.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        limit_threads(threads)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (learners' code may use it)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
