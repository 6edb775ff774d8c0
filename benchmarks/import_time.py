"""How long ``import gaelib`` takes in a fresh interpreter, and what it loads.

Each repeat starts a new Python process and runs ``import gaelib`` under ``-X importtime``;
the table gives the median and the spread of the cumulative time of the ``gaelib`` import
(torch, NumPy, gymnasium and matplotlib included: gaelib imports them), the median wall time
of the whole process, and how many gaelib modules the import loaded.

``--checkout DIR`` measures the gaelib of another checkout (e.g. a ``git worktree`` of an
older commit): the process runs in DIR with DIR first on ``sys.path``, ahead of the editable
install. Measure on an idle machine: another process on the same cores slows every import.

    .venv/bin/python benchmarks/import_time.py
    git worktree add /tmp/old 4fcc60b
    .venv/bin/python benchmarks/import_time.py --checkout /tmp/old
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROBE = (
    "import sys, gaelib; "
    "print(sum(m == 'gaelib' or m.startswith('gaelib.') for m in sys.modules), "
    "'torch' in sys.modules, 'matplotlib.pyplot' in sys.modules)"
)


def one_import(checkout: Path) -> tuple[float, float, str]:
    """(cumulative µs of the gaelib import, wall s of the process, the probe's output)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    rows = [line.split("|") for line in out.stderr.splitlines() if line.startswith("import time:")]
    cumulative = [int(r[1]) for r in rows if r[2].strip() == "gaelib"]
    if len(cumulative) != 1:
        raise RuntimeError(f"no top-level gaelib import in:\n{out.stderr[-2000:]}")
    return cumulative[0], wall, out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    checkout = args.checkout.resolve()
    if not (checkout / "gaelib" / "__init__.py").is_file():
        parser.error(f"no gaelib package in {checkout}")
    one_import(checkout)  # warm the file cache
    runs = [one_import(checkout) for _ in range(args.repeats)]
    ms = sorted(r[0] / 1e3 for r in runs)
    walls = [r[1] for r in runs]
    n_modules, torch_loaded, pyplot_loaded = runs[0][2].split()
    print(
        f"import gaelib from {checkout}: {args.repeats} fresh processes, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print("| median ms | min ms | max ms | process wall s | gaelib modules | torch | pyplot |")
    print("|---:|---:|---:|---:|---:|---|---|")
    print(
        f"| {statistics.median(ms):.0f} | {ms[0]:.0f} | {ms[-1]:.0f} | "
        f"{statistics.median(walls):.2f} | {n_modules} | {torch_loaded} | {pyplot_loaded} |"
    )


if __name__ == "__main__":
    main()
