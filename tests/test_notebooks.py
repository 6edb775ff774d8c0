"""Notebook hygiene: what a reader meets on the web, before nbval re-executes anything.

nbval (strict, run by the same `pytest` command) re-executes each notebook and compares
outputs; this file checks the committed state of the notebooks themselves.
"""

from __future__ import annotations

import ast
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


def is_appendix(name: str) -> bool:
    return name.startswith("appendix_")


def test_name_pattern(nb):
    """Chapters are ``NN_topic.ipynb`` (read in number order); appendices, for the curious,
    ``appendix_x_topic.ipynb`` (listed after the chapters)."""
    name, _ = nb
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb|appendix_[a-z]_[a-z0-9_]+\.ipynb", name), name


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
    """A slider with a static fallback figure, ≥ 2 exercises with checkers, takeaways. An
    appendix is engineering for the curious, not a class session: it needs only takeaways."""
    name, book = nb
    if is_appendix(name):
        md = "\n".join(source(c) for c in book["cells"] if c["cell_type"] == "markdown")
        assert "Key takeaways" in md, f"{name}: no key takeaways"
        return
    code = "\n".join(source(c) for c in book["cells"] if c["cell_type"] == "code")
    md = "\n".join(source(c) for c in book["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"gaelib\.widgets\.ch\d\d\w*\.\w+_explorer\(", code), f"{name}: no slider"
    assert "save_figure(" in code, f"{name}: no static figure saved to figures/"
    assert len(re.findall(r"gaelib\.exercises\.ch\d\d\w*\.check_\w+\(", code)) >= 2, (
        f"{name}: exercises"
    )
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


# --- The portability rule (CONTRIBUTING.md): nbval compares only what is exact everywhere ---

# Calls whose results come out of training (torch or BLAS kernels, many steps of float
# arithmetic): their numbers differ in the last digits from CPU to CPU.
TRAINING_CALL = re.compile(
    r"^(reinforce\w*|ppo|actor_critic\w*|\w*_grid|train\w*|pretrain\w*|synthetic_experiment)$"
)


def _called_name(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _reads(node: ast.AST, tainted: set[str]) -> bool:
    # a loop or comprehension variable drawn from a clean iterable is clean inside its loop
    loops = [n for n in ast.walk(node) if isinstance(n, ast.For | ast.comprehension)]
    rebound = set().union(*(_stored_names(n.target) for n in loops if not _reads(n.iter, tainted)))
    tainted = tainted - rebound
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in tainted:
            return True
        if isinstance(sub, ast.Call) and TRAINING_CALL.match(_called_name(sub) or ""):
            return True
    return False


def _prints_tainted(stmt: ast.stmt, tainted: set[str], last: bool) -> bool:
    """Does ``stmt`` print (or, as the cell's last statement, show) a tainted value?"""
    if (
        last
        and isinstance(stmt, ast.Expr)
        and not (isinstance(stmt.value, ast.Call) and _called_name(stmt.value) == "print")
    ):
        return _reads(stmt.value, tainted)
    return any(
        isinstance(sub, ast.Call)
        and _called_name(sub) in ("print", "display")
        and any(_reads(a, tainted) for a in [*sub.args, *(k.value for k in sub.keywords)])
        for sub in ast.walk(stmt)
    )


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _mutated_names(stmt: ast.AST) -> set[str]:
    """Names whose object ``stmt`` may change in place: ``x[k] = ...``, ``x.a = ...``,
    ``x[k] += ...``, ``x.append(...)`` / ``x[k].update(...)`` (any method call on a name)."""
    names = set()
    for node in ast.walk(stmt):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute | ast.Subscript) and _root(t):
                names.add(_root(t))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _root(node.func):
            names.add(_root(node.func))
    return names


def _stored_names(stmt: ast.AST) -> set[str]:
    names = {
        n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    if isinstance(stmt, ast.FunctionDef | ast.ClassDef):
        names.add(stmt.name)
    return names


def _compared_text(cell: dict) -> bool:
    """Does nbval compare text this cell printed? (stdout, or a value other than a figure)"""
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream" and out["name"] == "stdout":
            return True
        if out["output_type"] == "execute_result":
            text = "".join(out.get("data", {}).get("text/plain", ""))
            if not re.fullmatch(r"<Figure size \d+x\d+ with \d+ Axes>", text.strip()):
                return True
    return False


def training_dependent_compared_cells(book: dict) -> list[int]:
    """Code cells (indices into ``book["cells"]``) whose compared text output is computed from
    training: data flow from a training call (or a function that makes one), statement by
    statement, through every name assigned from it."""
    tainted: set[str] = set()
    modules = {"np", "torch", "plt", "gaelib"}  # and every name an import binds (below)
    bad = []
    for i, cell in enumerate(book["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "\n".join(ln for ln in source(cell).splitlines() if ln.lstrip()[:1] not in "%!")
        shows = False
        body = ast.parse(src).body
        for k, stmt in enumerate(body):
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                modules |= {(a.asname or a.name).split(".")[0] for a in stmt.names}
            if _reads(stmt, tainted):
                tainted |= (_stored_names(stmt) | _mutated_names(stmt)) - modules
            elif not isinstance(stmt, ast.AugAssign):  # rebound to a value free of training
                tainted -= _stored_names(stmt)
            shows |= _prints_tainted(stmt, tainted, last=k == len(body) - 1)
        ignored = any(ln.strip() == "# NBVAL_IGNORE_OUTPUT" for ln in source(cell).splitlines())
        if shows and not ignored and _compared_text(cell):
            bad.append(i)
    return bad


def test_training_numbers_are_not_compared(nb):
    """A cell that prints something computed from training carries NBVAL_IGNORE_OUTPUT (and
    asserts its claim): such numbers differ between CPUs, so nbval must not compare them."""
    name, book = nb
    bad = training_dependent_compared_cells(book)
    assert not bad, (
        f"{name}: cells {bad} print numbers that come from training without NBVAL_IGNORE_OUTPUT"
    )


def test_the_training_data_flow_check_is_not_blind():
    def cell(src, out=None, marked=False):
        src = ("# NBVAL_IGNORE_OUTPUT\n" if marked else "") + src
        outputs = [{"output_type": "stream", "name": "stdout", "text": out}] if out else []
        return {"cell_type": "code", "source": src, "outputs": outputs}

    book = {
        "cells": [
            cell("import numpy as np\nx = np.arange(3)\nprint(x)", "[0 1 2]"),  # exact: fine
            cell("run = gaelib.algorithms.ppo.ppo(seed=0)\nbest = run.episode_returns.max()"),
            cell("score = best / 500\nother = 3", None),  # no output: fine, but taints score
            cell("assert score > 0.5\nprint('checked: score > 0.5')", "checked"),  # constant
            cell("print(other)", "3"),  # not derived from training: fine
            cell("best = 2\nprint(best)", "2"),  # rebound: fine
            cell("print(score)", "0.95"),  # derived from training, compared: flagged
            cell("print(score)\nassert score > 0.5", "0.95", marked=True),  # marked: fine
            cell("for score in [1, 2]:\n    print(score)", "1\n2"),  # a clean loop variable
            cell("log = {}\nlog['r'] = run.wall_time\nprint(log)", "{'r': 1}"),  # item assignment
            cell("runs = []\nruns.append(ppo(seed=1))\nprint(len(runs), runs)", "1 [..]"),
            cell("def f(s):\n    return train_lm(seed=s)\n\nr = f(1)\nprint(r)", "x"),  # flagged
        ]
    }
    assert training_dependent_compared_cells(book) == [6, 9, 10, 11]
