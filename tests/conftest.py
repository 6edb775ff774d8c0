"""Test-session settings shared by every test (loaded by the README's `pytest` command).

Figures: the notebooks save their figures with ``gaelib.save_figure``. A test run must leave
the committed ``figures/`` alone — figures drawn from training differ from CPU to CPU — so the
whole session (nbval's kernels, the browser test's JupyterLab and the emulated-CPU pass inherit
the environment) writes them into a temporary folder instead. ``tests/test_figures.py`` then
compares the figures that are exact on every machine with the committed ones.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

FIGURES_ENV = "GAELIB_FIGURES_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(FIGURES_ENV):
        folder = Path(tempfile.mkdtemp(prefix="gaelib-test-figures-"))
        os.environ[FIGURES_ENV] = str(folder)
    config.addinivalue_line(
        "markers", "after_notebooks: runs after every notebook of the session was executed"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move the tests marked ``after_notebooks`` to the end of the session, after nbval's
    notebook items, so they can look at what the notebooks wrote."""
    late = [it for it in items if it.get_closest_marker("after_notebooks")]
    if late:
        items[:] = [it for it in items if not it.get_closest_marker("after_notebooks")] + late
