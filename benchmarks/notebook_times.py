"""Each chapter's strict-nbval time on this machine, and the total: the course's time budget.

Runs every notebook (or those named) the way the README's test command does — a fresh
``pytest --nbval`` process per notebook, one after another, figures written to a temporary
folder — and prints how long each took. ``--emulated`` runs them as
``tests/test_portability.py`` does, with another CPU's kernels and thread count emulated.

The budget (CONTRIBUTING.md): every chapter ≤ 60 s on a slow learner's 2-core CPU. The course
is developed on a faster machine, where chapters ran 2–2.5× faster than on a 2-core AVX2 laptop
CPU, so there the targets are ≤ 25 s a chapter and ≤ 12 s × the number of chapters in all.
Timings are not asserted anywhere: a busy machine is slower; run this on an idle one.

    .venv/bin/python benchmarks/notebook_times.py            # all chapters
    .venv/bin/python benchmarks/notebook_times.py 05 06      # chapters 5 and 6
    .venv/bin/python benchmarks/notebook_times.py --emulated
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

SLOW_CPU_LIMIT_S = 60  # every chapter, on a slow learner's 2-core CPU
DEV_CHAPTER_S, DEV_PER_CHAPTER_TOTAL_S = 25, 12  # on the faster development machine


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="notebook number prefixes, e.g. 05 06")
    parser.add_argument("--emulated", action="store_true", help="emulate another CPU")
    args = parser.parse_args()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.chapters:
        notebooks = [p for p in notebooks if any(p.name.startswith(c) for c in args.chapters)]
    env = dict(os.environ)
    if args.emulated:
        from test_portability import emulated_settings

        env.update(emulated_settings())
    import torch

    level = torch.backends.cpu.get_cpu_capability()
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores, torch kernels {level}")
    if args.emulated:
        print("emulated:", " ".join(f"{k}={v}" for k, v in sorted(emulated_settings().items())))
    rows, total, failed = [], 0.0, []
    with tempfile.TemporaryDirectory(prefix="gaelib-figures-") as figures:
        env["GAELIB_FIGURES_DIR"] = figures
        for nb in notebooks:
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(nb)]
            t0 = time.perf_counter()
            run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
            dt = time.perf_counter() - t0
            total += dt
            status = "passed" if run.returncode == 0 else "FAILED"
            if run.returncode:
                failed.append(nb.name)
            over = " over 60 s" if dt > SLOW_CPU_LIMIT_S else ""
            rows.append(f"| {nb.name} | {dt:6.1f} | {status}{over} |")
            print(rows[-1], flush=True)
    n = len(notebooks)
    print(f"| **total ({n} notebooks)** | **{total:.1f}** | |")
    print(
        f"budget: ≤ {SLOW_CPU_LIMIT_S} s a chapter on a slow 2-core CPU; on the development "
        f"machine ≤ {DEV_CHAPTER_S} s a chapter and ≤ {DEV_PER_CHAPTER_TOTAL_S * n} s in all"
    )
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
