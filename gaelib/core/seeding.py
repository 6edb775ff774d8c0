r"""One seeding helper for the whole course (chapter 0): same seed → same numbers."""

from __future__ import annotations

import contextlib
import functools
import os
import random

import numpy as np
import torch
from threadpoolctl import threadpool_limits

__all__ = ["limit_threads", "one_thread", "seed_everything"]


def limit_threads(threads: int) -> None:
    """Run torch's CPU kernels and NumPy's BLAS (OpenBLAS, via ``threadpoolctl``) on
    ``threads`` threads, for the rest of the process."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")


def one_thread(fn):
    """Decorator: run ``fn`` with torch and BLAS on one thread, restoring both afterwards
    (for library functions that may be called without :func:`seed_everything`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        threads = torch.get_num_threads()
        with contextlib.ExitStack() as stack:
            stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
            stack.callback(torch.set_num_threads, threads)
            torch.set_num_threads(1)
            return fn(*args, **kwargs)

    return wrapper


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
