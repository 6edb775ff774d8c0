"""Notebook hygiene: what a reader meets on the web, before nbval re-executes anything.

nbval (strict, run by the same `pytest` command) re-executes each notebook and compares
outputs; this file checks the committed state of the notebooks themselves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MARKERS = {"NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT"}
MACHINE_PATH = re.compile(r"(/(work|root|tmp|home|Users)/|[A-Za-z]:\\\\Users)")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"
    assert NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request) -> tuple[str, dict]:
    return request.param.name, load(request.param)


def test_name_pattern(nb):
    name, _ = nb
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", name), name


def test_executed_in_order_in_a_fresh_kernel(nb):
    name, book = nb
    code = [c for c in book["cells"] if c["cell_type"] == "code" and source(c).strip()]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{name}: execution counts {counts}"


def test_no_errors_or_stderr(nb):
    name, book = nb
    for i, cell in enumerate(book["cells"]):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{name} cell {i}: error output"
            if out["output_type"] == "stream":
                assert out["name"] != "stderr", f"{name} cell {i}: stderr {out['text']!r:.200}"


def test_no_machine_specific_paths(nb):
    name, book = nb
    text = json.dumps(book)
    m = MACHINE_PATH.search(text)
    assert m is None, f"{name}: machine-specific path near {text[m.start() - 40 : m.end() + 40]!r}"


def test_nbval_markers_are_well_formed(nb):
    name, book = nb
    for i, cell in enumerate(book["cells"]):
        if cell["cell_type"] != "code":
            continue
        for line in source(cell).splitlines():
            if "NBVAL_" in line:
                m = re.fullmatch(r"\s*#\s*(NBVAL_[A-Z_]+)\s*", line)
                assert m, f"{name} cell {i}: marker must stand alone on its line: {line!r}"
                assert m.group(1) in MARKERS, f"{name} cell {i}: unknown marker {m.group(1)}"


def test_no_trailing_semicolon_to_hide_output(nb):
    """nbval executes cells without input history, and IPython looks there for the ';' that
    hides a cell's value — so under nbval a trailing ';' hides nothing and the output differs
    from the committed one. End cells with a statement (``plt.show()``, an assignment)."""
    name, book = nb
    for i, cell in enumerate(book["cells"]):
        lines = [ln for ln in source(cell).splitlines() if ln.strip()]
        if cell["cell_type"] == "code" and lines:
            assert not lines[-1].rstrip().endswith(";"), f"{name} cell {i}: {lines[-1]!r}"


def test_title_and_run_time(nb):
    name, book = nb
    first = book["cells"][0]
    assert first["cell_type"] == "markdown" and source(first).startswith("# "), name
    md = "\n".join(source(c) for c in book["cells"] if c["cell_type"] == "markdown")
    m = re.search(r"Run time: ~(\d+) s", md)
    assert m, f"{name}: no 'Run time: ~N s' line"
    assert int(m.group(1)) <= 60, f"{name}: the budget is 60 s per notebook"


def test_chapter_shape(nb):
    """A slider with a static fallback figure, ≥ 2 exercises with checkers, takeaways."""
    name, book = nb
    code = "\n".join(source(c) for c in book["cells"] if c["cell_type"] == "code")
    md = "\n".join(source(c) for c in book["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"gaelib\.widgets\.\w+_explorer\(", code), f"{name}: no slider"
    assert "save_figure(" in code, f"{name}: no static figure saved to figures/"
    assert len(re.findall(r"gaelib\.exercises\.check_\w+\(", code)) >= 2, f"{name}: exercises"
    assert "Key takeaways" in md, f"{name}: no key takeaways"


def test_saved_figures_exist(nb):
    name, book = nb
    code = "\n".join(source(c) for c in book["cells"] if c["cell_type"] == "code")
    for fig in re.findall(r"save_figure\([^,]+,\s*\"([a-z0-9_]+)\"\)", code):
        assert (ROOT / "figures" / f"{fig}.png").is_file(), f"{name}: figures/{fig}.png missing"


def test_readme_maps_every_notebook_and_its_figures_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in readme, f"README's chapter map lacks {path.name}"
    for fig in re.findall(r"\(figures/([\w.]+)\)", readme):
        assert (ROOT / "figures" / fig).is_file(), f"README shows missing figures/{fig}"
