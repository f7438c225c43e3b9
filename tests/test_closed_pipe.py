"""A reader that closes the output early (``bs-encrypt results ... | head -5``) is not an
error: every command stops quietly with status 141 (128 + SIGPIPE), as Unix tools do."""

import json
import os
import subprocess
import sys

import pytest

from bsformat.clitools import CLOSED_PIPE_STATUS
from bsformat.manifest import QUERY_MANIFEST_FORMAT as MANIFEST_FORMAT

ENTRY = {"bs-encrypt": "encrypt_tool.cli", "bs-train": "trainer.cli",
         "bs-predict": "trainer.predict_cli", "bs-reproduce": "experiments.cli"}


def closed_pipe_run(command: str, *args, cwd=None):
    """Run ``command`` with a standard output whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", ENTRY[command], *map(str, args)],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                              cwd=cwd)
    finally:
        os.close(write)


@pytest.fixture
def predictions(tmp_path):
    """A manifest and predictions for 3,000 images: a table far larger than a pipe's buffer."""
    n = 3000
    qid = "ab" * 16
    man = tmp_path / "q.private-manifest.json"
    man.write_text(json.dumps({"format": MANIFEST_FORMAT, "dataset_id": qid, "images": [
        {"id": i, "path": f"/photos/image-{i:05d}.png"} for i in range(n)]}))
    csv = tmp_path / "p.csv"
    csv.write_text("id,query_id,class,probability\n" +
                   "".join(f"{i},{qid},cat,0.9\n" for i in range(n)))
    return csv, man


def test_results_into_a_closed_pipe_exits_quietly(predictions):
    csv, man = predictions
    r = closed_pipe_run("bs-encrypt", "results", csv, "--manifest", man)
    assert (r.returncode, r.stderr) == (CLOSED_PIPE_STATUS, "")


@pytest.mark.parametrize("args", [
    ["bs-encrypt", "keygen", "--out", "{tmp}/k.key"],
    ["bs-encrypt", "inspect", "{tmp}/enc.h5"],
    ["bs-encrypt", "--version"],
    ["bs-train", "--version"],
    ["bs-predict", "--version"],
])
def test_short_outputs_into_a_closed_pipe_exit_quietly(tmp_path, key_file, run_cli, args):
    r = run_cli("dataset", "--source", "synthetic:8", "--key", key_file, "--out",
                tmp_path / "enc.h5", "--quiet", "--jobs", "1")
    assert r.exit_code == 0, r.output
    r = closed_pipe_run(*[a.format(tmp=tmp_path) for a in args])
    assert (r.returncode, r.stderr) == (CLOSED_PIPE_STATUS, "")


def test_a_real_error_still_shows_beside_a_closed_pipe(tmp_path):
    r = closed_pipe_run("bs-encrypt", "inspect", tmp_path / "missing.h5")
    assert r.returncode == 1 and r.stderr.startswith("Error: ") and "missing.h5" in r.stderr
