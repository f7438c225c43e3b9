"""Encryption on Dask distributed: the tests start their own cluster on 127.0.0.1 and stop it.

Same bytes as one process, a worker killed in the middle loses nothing, and the refusals:
a scheduler that does not answer, plain TCP to another machine, an output folder a worker
cannot see.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402

from bsformat.reader import open_dataset  # noqa: E402
from encrypt_tool.pipeline import build_dataset  # noqa: E402
from encrypt_tool.presets import PRESETS  # noqa: E402
from encrypt_tool.sources import open_source  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMALL = ["dataset", "--source", "synthetic", "--limit", "120", "--batch-size", "20",
         "--shard-size", "30", "--seed", "11", "--quiet", "--jobs", "1"]


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as lc, Client(lc, set_as_default=False) as client:
        yield lc, client


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _single(tmp_path, run_cli, key_file) -> Path:
    r = run_cli(*SMALL, "--key", key_file, "--out", f"{tmp_path}/one/")
    assert r.exit_code == 0, r.output
    return tmp_path / "one"


def test_scheduler_run_is_byte_identical_to_one_process(tmp_path, run_cli, key_file, cluster):
    lc, _ = cluster
    one = _single(tmp_path, run_cli, key_file)
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "dask",
                "--scheduler", lc.scheduler_address)
    assert r.exit_code == 0, r.output
    assert "8 shard files" in r.output
    assert _files(tmp_path / "dask") == _files(one)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_one_file_a_folder_and_dask_decrypt_to_the_same_images(tmp_path, run_cli, key_file,
                                                                 cluster):
    """The layout changes how the bytes are stored, never which images: with one key and
    --seed, one .h5 file, a folder of another shard size and a Dask run store the same bytes
    and decrypt to the same images, every copy."""
    from encrypt_tool.decrypt import decrypt_images
    from keys.master import load_key

    lc, _ = cluster
    base = [a for a in SMALL if a not in ("--shard-size", "30")]
    for out, extra in (("one.h5", []), ("f/", ["--shard-size", "50"]),
                       ("dask/", ["--shard-size", "30", "--scheduler", lc.scheduler_address])):
        r = run_cli(*base, "--key", key_file, "--out", f"{tmp_path}/{out}", *extra)
        assert r.exit_code == 0, r.output
    key = load_key(key_file)
    with open_dataset(tmp_path / "one.h5") as one:
        for out in ("f", "dask"):
            with open_dataset(tmp_path / out) as ds:
                assert ds.info.dataset_id == one.info.dataset_id
                for s in one.info.splits:
                    n, copies = one.split(s).n_images, one.split(s).n_copies
                    assert np.array_equal(ds.read_range(s, 0, n, copy=None).images,
                                          one.read_range(s, 0, n, copy=None).images), (out, s)
                    for c in range(copies):
                        a, _ = decrypt_images(one, key, s, c)  # (n, H, W, C)
                        b, _ = decrypt_images(ds, key, s, c)
                        assert np.array_equal(a, b), (out, s, c)


class _KillOnFirstShard:
    """A progress bar that kills one worker process when the first shard is in."""

    def __init__(self, pids: dict[str, int]):
        self.pids, self.killed = pids, None

    def __call__(self, total):
        return self

    def update(self, n):
        if self.killed is None:
            address, pid = sorted(self.pids.items())[0]
            os.kill(pid, signal.SIGKILL)
            self.killed = address

    def __exit__(self, *exc):
        return False


def test_a_worker_killed_mid_run_loses_nothing(tmp_path, run_cli, key_file, cluster):
    from keys.master import load_key

    lc, client = cluster
    one = _single(tmp_path, run_cli, key_file)
    cfg = PRESETS["paper"].dataset_config(str(tmp_path / "dask"), "synthetic", limit=120,
                                          batch_size=20, shard_size=30, seed=11,
                                          scheduler=lc.scheduler_address)
    bar = _KillOnFirstShard(client.run(os.getpid))  # worker address -> process id
    build_dataset(cfg, load_key(key_file), open_source, progress=bar)
    assert bar.killed is not None
    assert _files(tmp_path / "dask") == _files(one)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next test


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_that_does_not_answer_is_one_line(tmp_path, run_cli, key_file):
    address = f"tcp://127.0.0.1:{_free_port()}"
    t = time.monotonic()
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "enc", "--scheduler", address,
                "--connect-timeout", "2")
    assert r.exit_code == 1
    last = r.output.strip().splitlines()[-1]  # after the config line
    assert last.startswith("Error: ") and address in last and "did not answer" in last
    assert time.monotonic() - t < 60
    assert list(tmp_path.glob("*enc*")) == [] and list(tmp_path.glob(".enc*")) == []


@pytest.mark.parametrize("args, needle", [
    (["--scheduler", "tcp://192.0.2.7:8786"], "plain TCP to another machine"),
    (["--scheduler", "http://127.0.0.1:8786"], "is not valid"),
    (["--scheduler", "tcp://localhost:99999"], "--scheduler 'tcp://localhost:99999' has no "
                                               "valid port; give a port from 1 to 65535"),
    (["--scheduler", "tcp://127.0.0.1:http"], "port from 1 to 65535"),
    (["--scheduler", "tcp://127.0.0.1:0"], "port from 1 to 65535"),
    (["--workers", "0"], "--workers 0 is not valid"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "exclude each other"),
    (["--connect-timeout", "0", "--scheduler", "tcp://127.0.0.1:1"], "--connect-timeout 0"),
])
def test_bad_cluster_options_are_refused_before_any_work(tmp_path, run_cli, key_file, args,
                                                          needle):
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "enc", *args)
    assert r.exit_code == 1 and r.output.startswith("Error: ") and needle in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]


def test_output_invisible_to_a_worker_is_refused(tmp_path, run_cli, key_file):
    """A worker in its own mount namespace sees an empty file system over the output's parent:
    the folder the client writes is not the one it would write into."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare (user and mount namespaces) is not available here")
    out_parent = tmp_path / "shared"
    out_parent.mkdir()
    dask = Path(sys.executable).with_name("dask")
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as lc:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        cmd = (f"mount -t tmpfs none {out_parent} && exec {dask} worker "
               f"{lc.scheduler_address} --nthreads 1 --no-nanny --no-dashboard")
        worker = subprocess.Popen(["unshare", "-rm", "sh", "-c", cmd], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with Client(lc, set_as_default=False) as c:
                c.wait_for_workers(1, timeout=60)
            r = run_cli(*SMALL, "--key", key_file, "--out", out_parent / "enc",
                        "--scheduler", lc.scheduler_address)
        finally:
            worker.terminate()
            worker.wait(30)
    assert r.exit_code == 1, r.output
    assert "is not visible to 1 worker(s)" in r.output and "file system" in r.output
    assert list(out_parent.iterdir()) == []


@pytest.mark.slow
def test_workers_option_starts_a_local_cluster(tmp_path, run_cli, key_file):
    one = _single(tmp_path, run_cli, key_file)
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "w", "--workers", "2")
    assert r.exit_code == 0, r.output
    assert _files(tmp_path / "w") == _files(one)


def test_tls_scheduler_gives_the_same_bytes(tmp_path, run_cli, key_file):
    """A cluster that speaks only TLS (a self-signed certificate made with openssl)."""
    import dask
    from distributed.security import Security

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = shutil.which("openssl") and subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
         cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True).returncode == 0
    if not made:
        pytest.skip("openssl cannot make a test certificate here")
    c, k = str(cert), str(key)
    sec = Security(tls_ca_file=c, tls_scheduler_cert=c, tls_scheduler_key=k, tls_worker_cert=c,
                   tls_worker_key=k, tls_client_cert=c, tls_client_key=k,
                   require_encryption=True)
    one = _single(tmp_path, run_cli, key_file)
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "none", "--scheduler",
                "tls://127.0.0.1:1")
    assert r.exit_code == 1 and "needs Dask's TLS settings" in r.output
    with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", protocol="tls",
                      security=sec, dashboard_address=None) as lc:
        assert lc.scheduler_address.startswith("tls://")
        with dask.config.set({"distributed.comm.tls.ca-file": c,
                              "distributed.comm.tls.client.cert": c,
                              "distributed.comm.tls.client.key": k}):
            r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "tls",
                        "--scheduler", lc.scheduler_address)
    assert r.exit_code == 0, r.output
    assert _files(tmp_path / "tls") == _files(one)


_WAITING_DRIVER = '''
import sys, time
from pathlib import Path


def waiting_shard(task, folder, key, token=None, jobs=1, backend="threads"):
    (Path(folder).parent / f"started-{task.name}").touch()
    while True:  # until Ctrl-C: the run cannot finish before the signal arrives
        time.sleep(0.1)


if __name__ == "__main__":
    import encrypt_tool.sharded as sharded
    from encrypt_tool.cli import main

    sharded.run_shard = waiting_shard  # sent to the workers by value
    main(sys.argv[1:], prog_name="bs-encrypt")
'''


def test_ctrl_c_with_workers_prints_one_line_and_leaves_nothing(tmp_path, key_file):
    """Ctrl-C on a terminal reaches the whole process group (the command and its workers)
    while the shard tasks run on a local cluster of 2 workers."""
    driver = tmp_path / "driver.py"
    driver.write_text(_WAITING_DRIVER)
    busy = socket.socket()  # Dask's default HTTP port taken (by another cluster, say)
    try:
        busy.bind(("", 8787))
        busy.listen()
    except OSError:
        pass  # taken already
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(driver), *SMALL, "--key", str(key_file),
                             "--out", str(out), "--workers", "2"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("started-*")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        assert list(tmp_path.glob("started-*")), "no shard task started"
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        busy.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["interrupted; nothing was written"], stderr
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_local_cluster_workers_ignore_ctrl_c():
    """Ctrl-C reaches the whole process group: the workers ignore it, the command stops them."""
    from encrypt_tool.cluster import close_client, open_client, worker_pids

    before = signal.getsignal(signal.SIGINT)
    client, cluster = open_client(2, None)
    try:
        pids = list(worker_pids(client).values())
        assert len(pids) == 2
        for pid in pids:
            status = Path(f"/proc/{pid}/status").read_text() if Path("/proc").is_dir() else ""
            if not status:
                pytest.skip("no /proc to read a process's ignored signals")
            ignored = int(next(ln for ln in status.splitlines()
                               if ln.startswith("SigIgn:")).split()[1], 16)
            assert ignored & (1 << (signal.SIGINT - 1)), f"worker {pid} does not ignore SIGINT"
    finally:
        close_client(client, cluster)
    assert signal.getsignal(signal.SIGINT) is before  # this process handles Ctrl-C again
