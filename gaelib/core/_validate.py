r"""Input validation shared by gaelib's public functions.

Every public function checks its inputs here and raises a ``ValueError`` that names the
argument and says what was expected. Nothing is broadcast silently.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

__all__ = [
    "check_unit_interval",
    "check_non_negative",
    "check_positive_int",
    "check_number",
    "check_non_empty",
    "is_torch",
    "as_float_array",
    "as_flag_array",
    "check_same_kind",
    "check_same_shape",
    "any_torch",
    "as_batch_array",
    "as_lengths",
    "like_input",
]


def check_unit_interval(name: str, x: Any) -> float:
    """Return ``x`` as a float after checking it is a real number in [0, 1]."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a real number in [0, 1], got {x!r}")
    x = float(x)
    if not (0.0 <= x <= 1.0):  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {x}")
    return x


def check_non_negative(name: str, x: Any) -> float:
    """A finite real number ≥ 0 (e.g. the critic's error σ of chapters 3–4)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not x >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {x!r}")
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return float(x)


def check_positive_int(name: str, x: Any) -> int:
    """Return ``x`` as an int after checking it is an integer >= 1."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or int(x) < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {x!r}")
    return int(x)


def check_number(name: str, x: Any, lo: float, hi: float) -> float:
    """Return ``x`` as a float after checking it is a number (not a bool) in ``[lo, hi]``
    (NaN is rejected; the bounds may be infinite)."""
    if isinstance(x, bool) or not isinstance(x, int | float) or not (lo <= x <= hi):
        raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {x!r}")
    return float(x)


def check_non_empty(name: str, xs: Any) -> list:
    """``xs`` as a list: a non-empty sequence without repeats (a sweep's seeds, γs, λs)."""
    try:
        xs = list(xs)
    except TypeError:
        raise ValueError(f"{name} must be a non-empty sequence, got {xs!r}") from None
    if not xs or len(set(xs)) != len(xs):
        raise ValueError(f"{name} must be a non-empty sequence without repeats, got {xs!r}")
    return xs


def is_torch(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def as_float_array(name: str, x: Any) -> np.ndarray:
    """Convert one numeric input to a float64 numpy array, checking it is finite."""
    if x is None:
        raise ValueError(f"{name} is required, got None")
    if is_torch(x):
        arr = x.detach().cpu().to(torch.float64).numpy()
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}") from exc
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
        ):
            raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
        if np.iscomplexobj(arr):
            raise ValueError(f"{name} must be real-valued, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape [T] or [T, N] (time first), got shape {tuple(arr.shape)}"
        )
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0].tolist()
        raise ValueError(f"{name} must be finite, found {arr[tuple(bad)]} at index {bad}")
    return arr


def as_flag_array(name: str, x: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Convert a done-flag input to a bool array of ``shape``; values must be 0/1."""
    if is_torch(x):
        arr = x.detach().cpu().numpy()
    else:
        arr = np.asarray(x)
    if arr.dtype != np.bool_:
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{name} must hold 0/1 or booleans, got dtype {arr.dtype}")
        if arr.size and not np.all((arr == 0) | (arr == 1)):
            bad = arr[(arr != 0) & (arr != 1)].ravel()[0]
            raise ValueError(f"{name} must hold only 0/1 or booleans, found {bad}")
    if tuple(arr.shape) != shape:
        raise ValueError(
            f"{name} must have the same shape as rewards {shape}, got {tuple(arr.shape)}"
        )
    return arr.astype(bool)


def check_same_kind(names_values: dict[str, Any]) -> bool:
    """All array arguments must be torch tensors, or none of them. Returns True for torch."""
    kinds = {name: is_torch(v) for name, v in names_values.items() if v is not None}
    if any(kinds.values()) and not all(kinds.values()):
        numpy_names = [n for n, t in kinds.items() if not t]
        torch_names = [n for n, t in kinds.items() if t]
        raise ValueError(
            f"{', '.join(numpy_names)} must be torch tensors like {', '.join(torch_names)} "
            "(pass all torch tensors or all numpy arrays)"
        )
    return bool(kinds) and all(kinds.values())


def check_same_shape(reference: str, shape: tuple[int, ...], name: str, arr: np.ndarray) -> None:
    if tuple(arr.shape) != shape:
        raise ValueError(
            f"{name} must have the same shape as {reference} {shape}, got {tuple(arr.shape)}"
        )


# ---------------------------------------------- batches of sequences (chapter 9)


def any_torch(*xs) -> bool:
    """True when any of ``xs`` is a torch tensor (the output then is one too)."""
    return any(is_torch(x) for x in xs)


def as_batch_array(name: str, x, ndim: int) -> np.ndarray:
    """A finite float64 array of a batch: ``[B]`` (``ndim=1``) or batch-first ``[B, L]``."""
    if x is None:
        raise ValueError(f"{name} is required, got None")
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        want = "[B]" if ndim == 1 else "[B, L] (batch-first)"
        raise ValueError(f"{name} must have shape {want}, got shape {tuple(arr.shape)}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def as_lengths(lengths, B: int | None, max_len: int | None) -> np.ndarray:
    """Sequence lengths ``[B]``: integers in ``[1, max_len]``, one per sequence."""
    arr = as_batch_array("lengths", lengths, 1)
    if np.any(arr != np.round(arr)):
        raise ValueError("lengths must hold integers")
    arr = arr.astype(np.int64)
    if B is not None and len(arr) != B:
        raise ValueError(f"lengths must have one entry per sequence ({B}), got {len(arr)}")
    hi = max_len if max_len is not None else np.inf
    if len(arr) and (arr.min() < 1 or arr.max() > hi):
        raise ValueError(f"lengths must be in [1, {hi}] (a sequence has ≥ 1 token), got {arr}")
    return arr


def like_input(arr: np.ndarray, like_torch: bool):
    """``arr`` back as a float32 torch tensor when the input was torch, else as it is."""
    return torch.from_numpy(np.ascontiguousarray(arr)).float() if like_torch else arr
