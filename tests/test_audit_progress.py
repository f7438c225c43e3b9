"""The audit's progress: a line per chunk on stderr when it is not a terminal; none with --quiet."""

import io

from click.testing import CliRunner

from encrypt_tool.audit.progress import AuditProgress
from encrypt_tool.cli import main


def test_progress_prints_a_line_per_update_without_a_terminal():
    out = io.StringIO()
    bar = AuditProgress(40, stream=out)
    bar.update(20)
    bar.update(20)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].startswith("audit: 40/40 images attacked")


def test_progress_disabled_prints_nothing():
    out = io.StringIO()
    bar = AuditProgress(40, enabled=False, stream=out)
    bar.update(40)
    bar.close()
    assert out.getvalue() == ""


def test_audit_cli_reports_progress_on_stderr(tmp_path, key_file, run_cli):
    enc = tmp_path / "enc.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "12", "--n-keys", "1",
                "--out", enc, "--key", key_file, "--quiet")
    assert r.exit_code == 0, r.output
    runner = CliRunner()  # click >= 8.2 keeps stderr apart
    args = ["audit", str(enc), "--key", str(key_file), "--samples", "6", "--split", "train"]
    r = runner.invoke(main, args + ["--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert "audit: 6/6 images attacked" in r.stderr
    r = runner.invoke(main, args + ["--out", str(tmp_path / "b"), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "images attacked" not in r.stderr


def test_attacks_in_two_processes_give_the_same_answers():
    from test_audit import smooth_images

    from encrypt_tool.audit.attack import SideInfo
    from encrypt_tool.audit.battery import run_battery
    from encrypt_tool.audit.simulate import Settings, simulate

    x = smooth_images(8, seed=2)
    _, enc, _ = simulate(x, Settings(n_copies=2), seed=0)
    one = run_battery(enc, (8, 8), SideInfo(4), costs=("masked",), jobs=1, chunk=3)
    two = run_battery(enc, (8, 8), SideInfo(4), costs=("masked",), jobs=2, chunk=3)
    assert (one.pick == two.pick).all() and list(one.answers) == list(two.answers)
    a, b = one.images(), two.images()
    assert all((a[k] == b[k]).all() for k in a)
