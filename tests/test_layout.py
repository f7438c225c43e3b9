"""The layout of the tree: nothing patches the import path, bench/ holds timing scripts only,
the research wing is a package whose imports make no circle, and scripts import only what a
module exports."""

from __future__ import annotations

import ast
import importlib
import subprocess
from pathlib import Path

import pytest
from cycles import assert_no_cycle

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("bench", "experiments", "tests", "encrypt_tool", "trainer", "bsformat", "keys")
PACKAGES = ("bsformat", "encrypt_tool", "experiments", "keys", "trainer")
PATCH = ".".join(["sys", "path"])  # spelled apart, so that this file does not hold it


def _tracked(*folders: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--", *folders], cwd=REPO, capture_output=True,
                         text=True)
    if out.returncode != 0:  # not a git checkout (an unpacked release): every file
        return [p for f in folders for p in (REPO / f).rglob("*") if p.is_file()]
    return [REPO / line for line in out.stdout.splitlines()]


def test_no_file_patches_the_import_path():
    """Tests and scripts import the installed packages."""
    found = [str(p.relative_to(REPO)) for p in _tracked(*FOLDERS)
             if p.suffix == ".py" and PATCH in p.read_text()]
    assert not found, found


def test_bench_holds_timing_scripts_only():
    names = sorted(p.name for p in _tracked("bench"))
    assert names and all(n.startswith("bench_") and n.endswith(".py") for n in names), names


def _project_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from MODULE import NAME`` of a project package in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                and node.module.split(".")[0] in PACKAGES):
            out += [(node.module, a.name) for a in node.names]
    return out


@pytest.mark.parametrize("folder", ["bench", "experiments"])
def test_scripts_import_only_what_modules_export(folder):
    """A name imported from a module with ``__all__`` is in it (or is a submodule)."""
    bad = []
    for path in sorted((REPO / folder).rglob("*.py")):
        for module, name in _project_imports(path):
            exported = getattr(importlib.import_module(module), "__all__", None)
            if exported is None or name in exported:
                continue
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                bad.append(f"{path.relative_to(REPO)}: {name} from {module}")
    assert not bad, bad


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_experiments_imports_make_no_circle():
    """Between the wing's modules (a package's __init__ re-exporting its modules aside)."""
    mods = {_module_name(p): p for p in (REPO / "experiments").rglob("*.py")
            if p.name not in ("__init__.py", "__main__.py")}
    graph = {m: {i for mod, name in _project_imports(p) for i in (mod, f"{mod}.{name}")
                 if i in mods and i != m} for m, p in mods.items()}
    assert_no_cycle(graph)
    assert "experiments.frontier.run" in graph and "experiments.recognition.attack" in graph
