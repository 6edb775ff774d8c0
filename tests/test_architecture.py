"""The library's layout (ARCHITECTURE.md): four layers, no upward imports, no cycles, no
re-export shims, modules short enough to read in one sitting.

The layers contract is import-linter's, configured in pyproject.toml. Each check is also run
on a copy of gaelib with one deliberate violation, so a check that could never fail would
show up here.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GAELIB = ROOT / "gaelib"
LAYERS = ("core", "worlds", "algorithms", "widgets", "exercises")
MAX_LINES = 400


def run_in(root: Path, code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter whose first import path is ``root``, so that ``gaelib``
    is the one in ``root`` (a checkout, or a copy with a deliberate violation)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300
    )


def lint_imports(root: Path, contract: str | None = None) -> subprocess.CompletedProcess:
    """import-linter on the gaelib package in ``root``: every contract, or the one with this id."""
    only = f"limit_to_contracts=({contract!r},), " if contract else ""
    return run_in(
        root,
        "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports("
        f"config_filename='pyproject.toml', {only}no_cache=True, no_logo=True))",
    )


def importers_of_the_facade(root: Path) -> list[str]:
    """Modules of gaelib that import the top-level package ``gaelib`` itself. The façade loads
    the layers lazily, so such an import would reach any layer without import-linter seeing an
    edge to it: none is allowed."""
    result = run_in(
        root,
        "import grimp; g = grimp.build_graph('gaelib'); "
        "print(','.join(sorted(g.find_modules_that_directly_import('gaelib'))))",
    )
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


def modules() -> list[Path]:
    return sorted(p for p in GAELIB.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_layers_contract_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_no_module_imports_the_facade():
    assert importers_of_the_facade(ROOT) == []


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
    "edits, contract",
    [
        # core importing a chapter's widgets: upward
        ([("core/seeding.py", "from ..widgets import ch00  # noqa")], "layers"),
        # a world importing an algorithm: upward
        ([("worlds/mdp.py", "from ..algorithms import td_prediction  # noqa")], "layers"),
        # exercises and widgets are independent siblings in the top layer
        ([("exercises/ch04.py", "from ..widgets import ch04  # noqa")], "layers"),
        # two algorithms importing each other: a cycle, within one layer
        (
            [
                ("algorithms/reinforce.py", "from . import reinforce_grid  # noqa"),
                ("algorithms/reinforce_grid.py", "from . import reinforce  # noqa"),
            ],
            "acyclic",
        ),
    ],
)
def test_a_violation_breaks_its_contract(copy_of_gaelib, edits, contract):
    """Each deliberate violation is caught by the contract written against it, run alone."""
    for module, line in edits:
        add_import(copy_of_gaelib / "gaelib" / module, line)
    result = lint_imports(copy_of_gaelib, contract)
    assert result.returncode != 0 and "0 kept, 1 broken" in result.stdout, result.stdout
    if contract == "acyclic":  # a cycle inside a layer is not a layering violation
        assert lint_imports(copy_of_gaelib, "layers").returncode == 0


def test_an_import_of_the_facade_is_caught(copy_of_gaelib):
    add_import(copy_of_gaelib / "gaelib" / "algorithms" / "ppo.py", "import gaelib  # noqa")
    assert importers_of_the_facade(copy_of_gaelib) == ["gaelib.algorithms.ppo"]


def test_a_new_top_level_package_must_join_a_layer(copy_of_gaelib):
    (copy_of_gaelib / "gaelib" / "extras").mkdir()
    (copy_of_gaelib / "gaelib" / "extras" / "__init__.py").write_text("")
    result = lint_imports(copy_of_gaelib, "layers")
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


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


LIBRARY = [p for p in modules() if p.name != "__init__.py"]
PUBLIC = {module_name(p): declared_all(ast.parse(p.read_text())) for p in LIBRARY}


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(GAELIB)))
def test_a_module_lists_every_public_function_and_class(path):
    tree = ast.parse(path.read_text())
    defs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    unlisted = {n for n in defs if not n.startswith("_")} - set(declared_all(tree))
    assert not unlisted, f"{path.name}: public but not in __all__: {sorted(unlisted)}"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(GAELIB)))
def test_a_module_imports_only_public_names_of_another(path):
    """Across modules, only names the source module lists in ``__all__`` (the helper modules
    ``core._validate``, ``core._lazy`` and ``exercises._common`` list theirs too)."""
    me = module_name(path)
    package = me.rsplit(".", 1)[0]
    bad = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            source = f"{base}.{node.module}" if node.module else base
            if source not in PUBLIC:
                continue  # a package: ``from . import module``
            bad += [f"{source}.{a.name}" for a in node.names if a.name not in PUBLIC[source]]
    assert not bad, f"{me} imports names its source does not list in __all__: {bad}"


def test_a_public_name_is_defined_in_one_module_only():
    homes: dict[str, list[str]] = {}
    for mod, names in PUBLIC.items():
        for n in names:
            homes.setdefault(n, []).append(mod)
    twice = {n: m for n, m in homes.items() if len(m) > 1}
    assert not twice, twice


def notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


# What a chapter may reach in gaelib besides the listed names: chapter 10 times PPO's call of
# compute_gae by swapping the name the training loop looks up in its own module.
ALLOWED = {("10_summary_and_faq", "gaelib.algorithms.ppo.compute_gae")}


def gaelib_references(code: str) -> list[str]:
    """Every dotted gaelib path a notebook's code reaches: what it imports (``from gaelib.x.y
    import z as w``), an attribute of an imported name (``w.attr``), a path written out
    (``gaelib.x.y.z``), and a quoted ``"layer.module.name"`` (chapter 10 looks names up from
    strings)."""
    tree = ast.parse(code)
    alias: dict[str, str] = {}
    refs: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "gaelib":
                    alias[a.asname or "gaelib"] = a.name if a.asname else "gaelib"
                    refs.append(a.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gaelib":
            for a in node.names:
                alias[a.asname or a.name] = f"{node.module}.{a.name}"
                refs.append(f"{node.module}.{a.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in alias
        ):
            refs.append(f"{alias[node.value.id]}.{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(r"(core|worlds|algorithms|widgets|exercises)(\.\w+)+", node.value):
                refs.append(f"gaelib.{node.value}")
    refs += re.findall(r"\bgaelib(?:\.\w+)+", code)  # written out, in code or comments
    return refs


def resolve(path: str) -> str | None:
    """None when every link of ``path`` is listed (the façade's short names and layers, a
    layer's modules, a module's ``__all__``); else the first link that is not."""
    parts = path.split(".")
    obj = importlib.import_module("gaelib")
    for i, name in enumerate(parts[1:], start=1):
        listed = set(getattr(obj, "__all__", ()))
        if obj.__name__ == "gaelib":
            listed |= set(LAYERS)
        if name not in listed:
            return ".".join(parts[: i + 1])
        obj = getattr(obj, name)
        if not isinstance(obj, types.ModuleType):
            return None  # a listed function, class or constant: its attributes are its own
    return None


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_a_notebook_uses_only_listed_names(path):
    """Every name a chapter reaches in gaelib is listed in its module's ``__all__`` (or is
    the façade's short name, a layer or a module)."""
    refs = gaelib_references(notebook_code(path))
    assert len(refs) > 5, path.name
    unlisted = {r: bad for r in refs if (bad := resolve(r)) and (path.stem, bad) not in ALLOWED}
    assert not unlisted, f"{path.name}: {unlisted}"


def test_the_notebook_check_sees_aliases_and_strings():
    code = (
        "import gaelib\nfrom gaelib.core import rollouts as r\nfrom gaelib.worlds import mdp\n"
        "r.evaluate\nmdp._probabilities\nx = gaelib.widgets.ch00.effective_horizon\n"
        "names = ['core.advantages.nope']\n"
    )
    bad = {resolve(r) for r in gaelib_references(code)} - {None}
    assert bad == {
        "gaelib.worlds.mdp._probabilities",
        "gaelib.widgets.ch00.effective_horizon",
        "gaelib.core.advantages.nope",
    }


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_package_lists_its_modules_and_nothing_else(layer):
    """A layer's ``__init__`` lists its modules (loaded on first use; imported only for type
    checkers), and re-exports nothing."""
    tree = ast.parse((GAELIB / layer / "__init__.py").read_text())
    files = {p.stem for p in (GAELIB / layer).glob("*.py") if not p.stem.startswith("_")}
    assert set(declared_all(tree)) == files
    imports = sorted(
        (n.module or ".", tuple(a.name for a in n.names))
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom | ast.Import)
    )
    lazy = "_lazy" if layer == "core" else "core._lazy"
    assert imports == sorted(
        [(lazy, ("lazy_submodules",)), ("typing", ("TYPE_CHECKING",)), (".", tuple(sorted(files)))]
    ), imports


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
