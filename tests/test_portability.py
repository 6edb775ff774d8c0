"""The notebooks pass on another learner's machine: every notebook re-executed under strict
nbval with this machine made to compute like a different CPU.

Training numbers come out of torch's and NumPy's CPU kernels, which a machine picks by what its
processor offers (AVX-512, AVX2, or plain SSE code) and run on as many threads as it is told.
A committed output that only this machine reproduces fails on a learner's laptop. So each
notebook runs again here, in a fresh process, with

- torch's kernels forced one dispatch level down (``ATEN_CPU_CAPABILITY``: AVX-512 → AVX2,
  AVX2 → the portable default code);
- NumPy's SIMD code paths switched off (``NPY_DISABLE_CPU_FEATURES``: every dispatch target
  above NumPy's baseline that this CPU has);
- a different thread count for OpenMP, OpenBLAS and MKL than this machine's default of one per
  core (``gaelib.seed_everything`` pins torch and BLAS to one thread either way).

(``OPENBLAS_CORETYPE`` is left alone: some machines need it set to run at all.) Every compared
output and every assert must still pass, and the figures classified as exact in
``tests/test_figures.py`` must come out pixel for pixel the same. See CONTRIBUTING.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
from test_figures import exact_figure_problems

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# torch caps OMP_NUM_THREADS at the core count, so "different" means 1 on a multi-core machine
# (whose default is one thread per core) and 2 on a single-core one.
THREADS = "1" if (os.cpu_count() or 1) > 1 else "2"

pytestmark = pytest.mark.portability

LOWER_TORCH_LEVEL = {"AVX512": "avx2", "AVX2": "default"}


def emulated_settings() -> dict[str, str]:
    """Environment variables that make this machine compute like another CPU."""
    env = {k: THREADS for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    level = LOWER_TORCH_LEVEL.get(torch.backends.cpu.get_cpu_capability())
    if level:
        env["ATEN_CPU_CAPABILITY"] = level
    numpy_simd = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    if numpy_simd:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(numpy_simd)
    return env


def emulated_env(figures: Path) -> dict[str, str]:
    return {**os.environ, **emulated_settings(), "GAELIB_FIGURES_DIR": str(figures)}


PROBE = """
import json, numpy, torch
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
from threadpoolctl import threadpool_info
before = {"torch": torch.get_num_threads(),
          "blas": [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]}
import gaelib
gaelib.seed_everything(0)
after = {"torch": torch.get_num_threads(),
         "blas": [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]}
print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(),
                  "numpy_simd": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
                  "before": before, "after": after}))
"""


def probe(env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_emulation_takes_effect(tmp_path):
    """The settings really change the kernels and the threads (so this check is not blind),
    and gaelib pins torch and BLAS to one thread whatever the environment says."""
    settings = emulated_settings()
    normal, emulated = probe(dict(os.environ)), probe(emulated_env(tmp_path))
    assert "ATEN_CPU_CAPABILITY" in settings or "NPY_DISABLE_CPU_FEATURES" in settings, (
        "this CPU offers no kernel level to emulate another machine with"
    )
    if "ATEN_CPU_CAPABILITY" in settings:
        assert emulated["capability"] == settings["ATEN_CPU_CAPABILITY"].upper()
        assert emulated["capability"] != normal["capability"]
    assert emulated["numpy_simd"] == [], f"NumPy still dispatches to {emulated['numpy_simd']}"
    assert emulated["before"]["torch"] == int(THREADS) != normal["before"]["torch"]
    assert emulated["before"]["blas"] and set(emulated["before"]["blas"]) == {int(THREADS)}
    for p in (normal, emulated):
        assert p["after"] == {"torch": 1, "blas": [1] * len(p["after"]["blas"])}, p


@pytest.fixture(scope="module")
def emulated_figures(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("emulated-figures")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_passes_on_an_emulated_other_cpu(notebook, emulated_figures):
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(notebook)]
    run = subprocess.run(
        cmd, cwd=ROOT, env=emulated_env(emulated_figures), capture_output=True, text=True
    )
    assert run.returncode == 0, (
        f"{notebook.name} fails strict nbval with {emulated_settings()}:\n"
        + "\n".join(run.stdout.splitlines()[-60:])
    )


def test_exact_figures_are_the_same_on_the_emulated_cpu(emulated_figures):
    if len(list(emulated_figures.glob("*.png"))) == 0:
        pytest.skip("no notebook ran under the emulated settings in this session")
    problems = exact_figure_problems(emulated_figures)
    assert not problems, "\n".join(problems)
