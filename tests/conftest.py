import os
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
