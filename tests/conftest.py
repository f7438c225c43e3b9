import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from encrypt_tool.cli import main

SHARED_CIFAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"


@pytest.fixture(autouse=True)
def isolated_key_home(tmp_path, monkeypatch):
    """Never touch the user's ~/.bs-encrypt: the default key lives in the test's folder."""
    monkeypatch.setenv("BS_ENCRYPT_KEY", str(tmp_path / "default-home" / "master.key"))


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "master.key"
    result = CliRunner().invoke(main, ["keygen", "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def run_cli():
    """Invoke bs-encrypt in-process; returns the click Result."""

    def run(*args: str):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


def cifar_available() -> bool:
    return (SHARED_CIFAR / "unpack.py").exists() and os.access(SHARED_CIFAR, os.R_OK)


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MiB tmpfs folder, a disk that fills up at once; skipped where mounting is not
    allowed (not root, no tmpfs)."""
    d = tmp_path / "disk"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(d)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def bench_script(name: str):
    """The timing script bench/NAME.py loaded as a module (bench/ is scripts, not a package)."""
    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
