"""The library's layout (ARCHITECTURE.md): four layers, no upward imports, no cycles, no
re-export shims, modules short enough to read in one sitting.

The layers contract is import-linter's, configured in pyproject.toml. Each check is also run
on a copy of gaelib with one deliberate violation, so a check that could never fail would
show up here.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GAELIB = ROOT / "gaelib"
LAYERS = ("core", "worlds", "algorithms", "widgets", "exercises")
MAX_LINES = 400


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the gaelib package found in ``root`` (a checkout or a copy)."""
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300
    )


def modules() -> list[Path]:
    return sorted(p for p in GAELIB.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_layers_contract_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.fixture
def copy_of_gaelib(tmp_path: Path) -> Path:
    shutil.copytree(GAELIB, tmp_path / "gaelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(path: Path, line: str) -> None:
    text = path.read_text()
    anchor = "from __future__ import annotations\n"
    assert anchor in text, path
    path.write_text(text.replace(anchor, anchor + line + "\n", 1))


@pytest.mark.parametrize(
    "edits, broken",
    [
        # core importing a chapter's widgets: upward
        ([("core/seeding.py", "from ..widgets import ch00  # noqa")], "Layers"),
        # a world importing an algorithm: upward
        ([("worlds/mdp.py", "from ..algorithms import td_prediction  # noqa")], "Layers"),
        # exercises and widgets are independent siblings in the top layer
        ([("exercises/ch04.py", "from ..widgets import ch04  # noqa")], "Layers"),
        # two algorithms importing each other: a cycle
        (
            [
                ("algorithms/reinforce.py", "from . import reinforce_grid  # noqa"),
                ("algorithms/reinforce_grid.py", "from . import reinforce  # noqa"),
            ],
            "No import cycles",
        ),
    ],
)
def test_a_violation_breaks_the_contract(copy_of_gaelib, edits, broken):
    for module, line in edits:
        add_import(copy_of_gaelib / "gaelib" / module, line)
    result = lint_imports(copy_of_gaelib)
    assert result.returncode != 0, result.stdout
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout, result.stdout


def test_a_new_top_level_package_must_join_a_layer(copy_of_gaelib):
    (copy_of_gaelib / "gaelib" / "extras").mkdir()
    (copy_of_gaelib / "gaelib" / "extras" / "__init__.py").write_text("")
    result = lint_imports(copy_of_gaelib)
    assert result.returncode != 0 and "extras" in result.stdout, result.stdout


def test_the_tree_shows_the_layers():
    top = {p.name for p in GAELIB.iterdir() if p.suffix == ".py"}
    assert top == {"__init__.py"}, f"modules outside the layers: {top - {'__init__.py'}}"
    for layer in LAYERS:
        assert (GAELIB / layer / "__init__.py").is_file(), layer


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(GAELIB)))
def test_no_module_is_too_long_to_read_in_one_sitting(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)}: {n} lines (split it by idea)"


def top_level_definitions(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                elts = t.elts if isinstance(t, ast.Tuple) else [t]
                names |= {e.id for e in elts if isinstance(e, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def declared_all(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [e.value for e in node.value.elts]
    return []


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if p.name != "__init__.py"],
    ids=lambda p: str(p.relative_to(GAELIB)),
)
def test_every_public_name_has_one_home(path):
    """What a module lists in ``__all__`` it defines itself: no star imports, no re-exports."""
    tree = ast.parse(path.read_text())
    stars = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.names[0].name == "*"]
    assert not stars, f"{path.name}: star import"
    public = declared_all(tree)
    if not path.name.startswith("_"):
        assert public, f"{path.name}: no __all__"
    missing = set(public) - top_level_definitions(tree)
    assert not missing, f"{path.name} re-exports {sorted(missing)}"


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_package_lists_its_modules_and_nothing_else(layer):
    tree = ast.parse((GAELIB / layer / "__init__.py").read_text())
    files = {p.stem for p in (GAELIB / layer).glob("*.py") if not p.stem.startswith("_")}
    assert set(declared_all(tree)) == files
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom | ast.Import)]
    assert [(n.module, [a.name for a in n.names]) for n in imports] == [
        ("_lazy" if layer == "core" else "core._lazy", ["lazy_submodules"])
    ], "a layer's __init__ only lists its modules (loaded on first use): no re-exports"


def test_modules_load_on_first_use():
    """``gaelib.algorithms.ppo.ppo`` works after a bare ``import gaelib``, which itself loads
    only what its short names need (no torch.nn training code, no matplotlib widgets)."""
    code = (
        "import sys, gaelib\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('gaelib.'))\n"
        "print(','.join(loaded))\n"
        "assert callable(gaelib.algorithms.ppo.ppo)\n"
        "assert callable(gaelib.widgets.ch04.gae_weights_explorer)\n"
        "assert callable(gaelib.exercises.ch04.check_gae)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.strip().split(","))
    assert "gaelib.algorithms.ppo" not in loaded and "gaelib.widgets.ch04" not in loaded
    assert not any(m.startswith(("gaelib.widgets", "gaelib.exercises")) for m in loaded)
    with pytest.raises(AttributeError, match="no attribute 'agents'"):
        import gaelib

        _ = gaelib.agents  # the old flat module is gone, not silently aliased
