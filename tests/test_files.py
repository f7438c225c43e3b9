"""The one atomic write (bsformat.files): one partial-file name, fsync, removal on failure and
Ctrl-C, one line naming the path and the space on a full disk; every writer uses it, and the
two floors of the client's dataset writer import each other nowhere."""

from __future__ import annotations

import ast
import os
import re
import stat
from pathlib import Path

import pytest

from bsformat import files
from bsformat.files import NoSpaceError, atomic_write, write_atomic

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bsformat", "encrypt_tool", "trainer", "keys", "experiments")
PATTERNS = (r"os\.replace\(", r"\.fsync\(", "[\"']\\.partial", "\\.partial[\"']")


def test_a_finished_write_is_renamed_into_place_and_fsynced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(files.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    seen = []
    with atomic_write(tmp_path / "a.csv", "w", newline="") as f:
        seen = [p.name for p in tmp_path.iterdir()]
        f.write("x,y\n")
    assert len(seen) == 1 and re.fullmatch(r"\.a\.csv\.[0-9a-f]{8}\.partial", seen[0])
    assert (tmp_path / "a.csv").read_text() == "x,y\n" and synced
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


@pytest.mark.parametrize("error", [ValueError("bad"), KeyboardInterrupt()])
def test_a_failed_write_leaves_nothing(tmp_path, error):
    (tmp_path / "old.txt").write_text("old")
    with pytest.raises(type(error)):
        with atomic_write(tmp_path / "old.txt", "w") as f:
            f.write("half")
            raise error
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]
    assert (tmp_path / "old.txt").read_text() == "old"


def test_private_and_no_overwrite(tmp_path):
    p = write_atomic(tmp_path / "k", "secret", private=True)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError, match="appeared while writing"):
        write_atomic(p, "again", overwrite=False)
    assert p.read_text() == "secret" and len(list(tmp_path.iterdir())) == 1


def test_a_full_disk_names_the_path_and_the_space(full_disk):
    with pytest.raises(NoSpaceError) as e:
        write_atomic(full_disk / "big.bin", bytes(3 << 20))
    text = str(e.value)
    assert "no space left on the disk of" in text and "big.bin" in text
    assert "needs 3.0 MiB" in text and "free" in text and "\n" not in text
    assert e.value.errno == 28 and list(full_disk.iterdir()) == []


def _sources():
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            if "audit" not in p.parts:  # the audit's out folder is written elsewhere
                yield p


def test_every_writer_uses_the_one_atomic_write():
    """No module renames a partial file into place or names one by hand, but the helper and
    the HDF5 writer (which lays its file out under the helper's partial name)."""
    own = {ROOT / "bsformat" / "files.py", ROOT / "bsformat" / "writer.py"}
    found = []
    for p in _sources():
        if p in own:
            continue
        text = p.read_text()
        for pattern in PATTERNS:
            found += [f"{p.relative_to(ROOT)}: {pattern}" for _ in re.finditer(pattern, text)]
    assert found == []


def _imports(path: Path, package: str) -> set[str]:
    """Every module of ours that ``path`` imports, at the top or inside a function (not
    under ``if TYPE_CHECKING:``, which never runs)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.split(".")[0] in PACKAGES}


def test_the_dataset_writer_has_no_import_circle():
    mods = {}
    for p in _sources():
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        mods[name] = p
    graph = {m: {i for i in _imports(p, m) if i in mods and i != m} for m, p in mods.items()}

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            m = todo.pop()
            if m == b:
                return True
            if m not in seen:
                seen.add(m)
                todo += graph.get(m, ())
        return False

    for a in ("encrypt_tool.pipeline", "encrypt_tool.sharded", "encrypt_tool.runner"):
        for b in graph[a]:
            assert not reaches(b, a), f"{a} -> {b} -> ... -> {a}"
    for a in (m for m in graph if m.startswith("bsformat")):
        for b in graph[a]:
            assert not reaches(b, a), f"{a} -> {b} -> ... -> {a}"
