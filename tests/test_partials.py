"""Partial output files: removed on SIGINT, named and cleaned after a killed run."""

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bsformat.writer import stale_partials

_DRIVER = """
import sys, time
from pathlib import Path

import encrypt_tool.runner as runner
from encrypt_tool.cli import main

real, calls = runner.encrypt_unit, []


def waiting_unit(*args):
    calls.append(args)
    if len(calls) == 1:
        return real(*args)  # the first batch is written into the partial file
    Path(sys.argv[1]).touch()  # then the run waits until it is stopped
    while True:
        time.sleep(0.05)


runner.encrypt_unit = waiting_unit
main(sys.argv[2:], prog_name="bs-encrypt")
"""


def _start(tmp_path, key_file, name="big.h5"):
    """A `bs-encrypt dataset` process that has written its first batch into its partial file
    and then waits: the signal always finds it running, whatever the machine's speed."""
    out, marker, driver = tmp_path / name, tmp_path / "waiting", tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    cmd = [sys.executable, str(driver), str(marker), "dataset", "--source", "synthetic:400",
           "--key", str(key_file), "--out", str(out), "--jobs", "1", "--batch-size", "100",
           "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    while not marker.exists() and time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    assert marker.exists() and list(tmp_path.glob(f".{name}.*.partial"))
    return proc, out


def test_interrupted_dataset_removes_its_partial_file(tmp_path, key_file):
    proc, out = _start(tmp_path, key_file)
    assert stale_partials(out) == []  # a running writer's partial file is not stale
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.decode().strip() == "interrupted; nothing was written"
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_killed_run_leaves_a_partial_that_the_next_run_names(tmp_path, key_file, run_cli):
    proc, out = _start(tmp_path, key_file)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [(partial, size)] = stale_partials(out)
    assert partial.name.startswith(".big.h5.") and size == partial.stat().st_size > 0
    small = ["dataset", "--source", "synthetic:20", "--key", key_file, "--out", out, "--quiet"]
    r = run_cli(*small)  # no terminal to ask: it says what is there and how to remove it
    assert r.exit_code == 0, r.output
    assert partial.name in r.output and "MiB" in r.output and "--clean-partial" in r.output
    assert partial.exists()
    r = run_cli(*small, "--overwrite", "--clean-partial")
    assert r.exit_code == 0 and "deleted 1 partial file(s)" in r.output, r.output
    assert not partial.exists() and out.exists()


def test_asks_on_a_terminal(tmp_path, key_file, run_cli, monkeypatch):
    stale = tmp_path / ".o.h5.0123abcd.partial"
    stale.write_bytes(b"x" * 3000)
    monkeypatch.setattr("encrypt_tool.cli._interactive", lambda: True)
    args = ["dataset", "--source", "synthetic:20", "--key", key_file, "--out", tmp_path / "o.h5",
            "--quiet"]
    r = CliRunnerInput("n\n").invoke(args)
    assert r.exit_code == 0 and "delete them (2.9 KiB)?" in r.output and stale.exists()
    r = CliRunnerInput("y\n").invoke([*args, "--overwrite"])
    assert r.exit_code == 0 and not stale.exists(), r.output


def test_a_locked_partial_is_left_alone(tmp_path):
    live = tmp_path / ".o.h5.deadbeef.partial"
    live.write_bytes(b"x")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert stale_partials(tmp_path / "o.h5") == []
    finally:
        os.close(fd)
    assert [p for p, _ in stale_partials(tmp_path / "o.h5")] == [live]


class CliRunnerInput:
    def __init__(self, text):
        self.text = text

    def invoke(self, args):
        from click.testing import CliRunner

        from encrypt_tool.cli import main

        return CliRunner().invoke(main, [str(a) for a in args], input=self.text,
                                  catch_exceptions=False)
