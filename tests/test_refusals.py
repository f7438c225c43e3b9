"""Bad input met on first use: each gets one ``Error:`` line naming the option and what is
allowed, exit status 1, before any work and before anything is printed or written."""

import pytest
from click.testing import CliRunner

from encrypt_tool.cli import main as encrypt_main


def invoke(*args):
    return CliRunner().invoke(encrypt_main, [str(a) for a in args])


def one_line_error(result, *needles) -> str:
    """Status 1, nothing on stdout, exactly one ``Error:`` line on stderr holding ``needles``."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def enc(tmp_path, key_file, run_cli):
    out = tmp_path / "enc.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "16", "--jobs", "1", "--quiet",
                "--key", key_file, "--out", out)
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("name", ["g.txt", "grid", "g.png.bak"])
def test_inspect_grid_suffix_is_checked_before_any_output(tmp_path, enc, name):
    one_line_error(invoke("inspect", enc, "--grid", tmp_path / name), "--grid",
                   ".png, .jpg, .jpeg, .pdf, .svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc.h5", "master.key"]
