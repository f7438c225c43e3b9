"""Import boundaries: the cloud side loads nothing of the client, the format package loads
neither side, and the client's commands run without torch."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(code: str) -> list[str]:
    """Top-level packages in sys.modules after running ``code`` in a fresh interpreter."""
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in " \
                   "sys.modules})))\n"
    r = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _modules(package: str) -> list[str]:
    """The package and every module under it."""
    found = pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}.")
    return [package] + sorted(m.name for m in found)


def test_trainer_imports_nothing_of_the_client():
    mods = _modules("trainer")
    assert "trainer.train" in mods and "trainer.predict_cli" in mods
    loaded = _loaded_after("\n".join(f"import {m}" for m in mods))
    assert "trainer" in loaded and "torch" in loaded
    assert "encrypt_tool" not in loaded and "keys" not in loaded


def test_bsformat_imports_neither_side_nor_torch():
    mods = _modules("bsformat")
    assert "bsformat.reader" in mods and "bsformat.writer" in mods
    loaded = _loaded_after("\n".join(f"import {m}" for m in mods))
    assert "bsformat" in loaded and "h5py" in loaded
    for name in ("torch", "torchvision", "encrypt_tool", "trainer", "keys"):
        assert name not in loaded, name


CLIENT = """
import json, os, tempfile
from pathlib import Path
import numpy as np
from PIL import Image
from click.testing import CliRunner
from encrypt_tool.cli import main

d = Path(tempfile.mkdtemp())
os.environ["BS_ENCRYPT_KEY"] = str(d / "k.key")
def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, (args, r.output)
run("keygen", "--out", d / "k.key")
run("dataset", "--source", "synthetic", "--limit", "24", "--jobs", "1", "--quiet",
    "--out", d / "e.h5")
run("decrypt", d / "e.h5", "--out", d / "p.npz")
run("inspect", "--verify", d / "e.h5", "--grid", d / "g.png", "--samples", "2")
(d / "in").mkdir()
for i in range(2):
    Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(d / "in" / f"{i}.png")
run("query", d / "in", "--like", d / "e.h5", "--out", d / "q.h5")
qid = json.loads((d / "q.private-manifest.json").read_text())["dataset_id"]
(d / "p.csv").write_text(f"id,query_id,class,probability\\n0,{qid},a,0.5\\n1,{qid},b,0.5\\n")
run("results", d / "p.csv", "--manifest", d / "q.private-manifest.json")
"""


def test_client_commands_never_import_torch():
    """keygen, dataset (synthetic), decrypt, inspect, query and results, in one process."""
    loaded = _loaded_after(CLIENT)
    assert "encrypt_tool" in loaded and "keys" in loaded
    assert "torch" not in loaded and "torchvision" not in loaded and "trainer" not in loaded


def test_cifar10_download_without_torchvision_is_one_line(tmp_path, monkeypatch):
    from encrypt_tool.sources.base import SourceError
    from encrypt_tool.sources.cifar10 import download_cifar10

    monkeypatch.setitem(sys.modules, "torchvision", None)  # as if it were not installed
    try:
        download_cifar10(tmp_path / "cache")
    except SourceError as e:
        assert "needs torchvision" in str(e) and "[cloud]" in str(e) and "\n" not in str(e)
    else:
        raise AssertionError("no error without torchvision")
    assert not (tmp_path / "cache").exists()  # nothing left behind


AUDIT_WITHOUT_TORCH = """
import sys
sys.modules["torch"] = None  # as if PyTorch were not installed: importing it fails
import json, os, tempfile
from pathlib import Path
from click.testing import CliRunner
from encrypt_tool.cli import main

d = Path(tempfile.mkdtemp())
os.environ["BS_ENCRYPT_KEY"] = str(d / "k.key")
for args in (["keygen", "--out", d / "k.key"],
             ["dataset", "--source", "synthetic", "--limit", "24", "--quiet", "--out", d / "e.h5"],
             ["audit", d / "e.h5", "--split", "train", "--samples", "4", "--quiet",
              "--out", d / "a"]):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, (args, r.output)
print(json.dumps(json.loads((d / "a" / "audit.json").read_text())["not_run"]))
"""


def test_audit_runs_without_torch():
    """Every hand-made attack runs; the learned ones are named as not run, with the extra."""
    r = subprocess.run([sys.executable, "-c", AUDIT_WITHOUT_TORCH], cwd=ROOT, capture_output=True,
                       text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    not_run = json.loads(r.stdout.strip().splitlines()[-1])
    learned = [w for w in not_run if w.startswith("learned-")]
    assert len(learned) == 1 and "needs PyTorch" in learned[0]  # learned-states: no states here
    assert "bs-encrypt[learned]" in learned[0]
