r"""Running a trainer in a second process (chapters 5 and 6).

The course's trainers run on one thread, so their results do not depend on the core count. On
a machine with two cores, :func:`train_in_background` starts one of them in a second process
(a fresh interpreter: "spawn", never a fork of a process whose torch threads already run) and
returns at once; the notebook goes on with other cells, and ``.result()`` waits for the value.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

__all__ = ["BackgroundRun", "train_in_background"]


class BackgroundRun:
    """A training call running in a second process (:func:`train_in_background`)."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict):
        self.name = fn.__name__
        # "spawn": a fresh interpreter that imports gaelib, never a fork of a process whose
        # torch and OpenMP threads are already running (forking those can deadlock)
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._future = self._pool.submit(fn, *args, **kwargs)

    def done(self) -> bool:
        """True once the run has finished (or failed)."""
        return self._future.done()

    def result(self):
        """Wait for the run and return what the function returned (its error is raised here)."""
        try:
            return self._future.result()
        finally:
            self._pool.shutdown()

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        return f"<{self.name} in a background process: {state}>"


def train_in_background(fn: Callable, *args, **kwargs) -> BackgroundRun:
    """Chapters 5 and 6: start ``fn(*args, **kwargs)`` — a gaelib trainer such as
    :func:`gaelib.algorithms.lockstep.ppo_grid` — in a second process and return at once;
    ``.result()`` waits for it and returns its value.

    The course's trainers run on one thread (results do not depend on the core count), so on
    a machine with two cores a second process trains while the notebook goes on with other
    cells. The result is the same as calling ``fn`` directly: the process starts from a fresh
    interpreter, and each trainer seeds itself."""
    if not callable(fn) or not getattr(fn, "__module__", "").startswith("gaelib."):
        raise ValueError(f"fn must be a gaelib training function (importable by name), got {fn!r}")
    return BackgroundRun(fn, args, kwargs)
