"""Dask distributed for ``bs-encrypt dataset``: which schedulers are allowed, connecting, and
checking that every worker sees the output folder.

The master key travels inside each task to the workers that run it. So the client only talks
to a scheduler on this machine (``tcp://127.0.0.1``, a ``LocalCluster`` it starts itself) or to
one reached over TLS (``tls://``, with Dask's ``distributed.comm.tls`` settings), and refuses a
cluster whose workers are reached over plain TCP on another machine. See docs/SCALE.md.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["PORTS", "Secret", "check_scheduler", "check_visible", "close_client", "open_client",
           "worker_pids"]

DASK_LOG_LEVEL = logging.ERROR  # a local cluster's workers log errors only, no warnings
PORTS = (1, 65535)  # the ports a scheduler address may name


class Secret:
    """Key bytes that never show in a repr (Dask logs the arguments of a failed task)."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    def __reduce__(self):
        return (Secret, (self.value,))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_scheduler(address: str) -> str:
    """The scheduler address, or ValueError when it is malformed or plain TCP to another
    machine (the key would cross the network in clear)."""
    parts = urlsplit(address)
    forms = ("tcp://127.0.0.1:PORT for a scheduler on this machine or tls://HOST:PORT for "
             "another one")
    try:
        port = parts.port  # ValueError for a port that is not a number or out of 0-65535
    except ValueError:
        port = 0
    if parts.scheme in ("tcp", "tls") and parts.hostname and ":" in parts.netloc and not port:
        raise ValueError(f"--scheduler {address!r} has no valid port; give a port from "
                         f"{PORTS[0]} to {PORTS[1]}: {forms}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
        raise ValueError(f"--scheduler {address!r} is not valid; use {forms}")
    if parts.scheme == "tcp" and not _is_loopback(parts.hostname):
        raise ValueError(f"--scheduler {address} is plain TCP to another machine: the key would "
                         f"cross the network in clear; use tls://{parts.hostname}:{port} "
                         f"with Dask's TLS settings (distributed.comm.tls.*)")
    return address


def _check_workers(addresses: list[str], scheduler: str) -> None:
    clear = [a for a in addresses if urlsplit(a).scheme != "tls"
             and not _is_loopback(urlsplit(a).hostname or "")]
    if clear:
        raise ValueError(f"the cluster at {scheduler} has workers reached over plain TCP on "
                         f"other machines ({', '.join(clear[:3])}): the key would cross the "
                         f"network in clear; give its workers TLS (distributed.comm.tls.*)")


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (an ignored signal stays ignored in a spawned
    child). Ctrl-C at a terminal reaches the whole process group; this process handles it and
    stops the cluster, so the workers neither print tracebacks nor stop on their own. Ctrl-C
    while the cluster starts (about a second) is ignored too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def open_client(workers: int | None, scheduler: str | None, timeout: float = 10.0):
    """(client, cluster or None): a LocalCluster of ``workers`` processes on 127.0.0.1 without a
    dashboard, or a client of the existing ``scheduler`` (OSError when it does not answer
    within ``timeout`` seconds)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("--workers and --scheduler need Dask distributed: install the dask "
                         "extra (pip install 'bs-encrypt[dask]')") from None
    if workers is not None and scheduler is not None:
        raise ValueError("--workers and --scheduler exclude each other; give one of them")
    if scheduler is None:
        if workers is None or workers < 1:
            raise ValueError(f"--workers {workers} is not valid; it must be at least 1")
        with _workers_ignore_ctrl_c():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=DASK_LOG_LEVEL,
                                   # the scheduler's HTTP routes (health, metrics) still start
                                   # without a dashboard: on a free loopback port, not on 8787
                                   # of every interface (with a warning where 8787 is taken)
                                   scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        return Client(cluster, set_as_default=False), cluster
    check_scheduler(scheduler)
    kwargs = {}
    if scheduler.startswith("tls://"):
        from distributed.security import Security

        kwargs["security"] = Security()  # from dask config: distributed.comm.tls.*
        if not kwargs["security"].get_connection_args("client").get("ssl_context"):
            raise ValueError(f"--scheduler {scheduler} needs Dask's TLS settings (a CA and this "
                             f"client's certificate and key in distributed.comm.tls.*, e.g. "
                             f"DASK_DISTRIBUTED__COMM__TLS__CA_FILE); none are configured")
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False, **kwargs)
    except (OSError, TimeoutError) as e:
        raise OSError(f"--scheduler {scheduler} did not answer within {timeout:g} s "
                      f"({type(e).__name__}); check the address and that the scheduler "
                      f"runs") from None
    try:
        names = list(client.scheduler_info().get("workers", {}))
        if not names:
            raise OSError(f"--scheduler {scheduler} has no workers")
        _check_workers(names, scheduler)
    except BaseException:
        client.close()
        raise
    return client, None


def close_client(client, cluster, interrupted: bool = False) -> None:
    """Close the client and, when this run started it, the local cluster. After Ctrl-C
    (``interrupted``) Dask's own lines about the cancelled tasks and the workers it stops are
    silenced here: the command says it was interrupted in its one line."""
    if interrupted:
        for name in ("distributed", "tornado", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    client.close()
    if cluster is not None:
        cluster.close()


def _sees(folder: str, token: str) -> str | None:
    marker = Path(folder) / ".bs-visible"
    try:
        return None if marker.read_text() == token else f"{marker} holds another run's marker"
    except OSError as e:
        return f"{marker}: {e.strerror or e}"


def check_visible(client, folder: Path, token: str) -> None:
    """Write a marker into ``folder`` and make every worker read it back; OSError naming the
    workers that cannot (the output would be written somewhere the client never sees)."""
    marker = Path(folder) / ".bs-visible"
    marker.write_text(token)
    seen = client.run(_sees, str(folder), token)
    blind = {w: why for w, why in seen.items() if why is not None}
    if blind:
        w, why = next(iter(blind.items()))
        raise OSError(f"output folder {folder} is not visible to {len(blind)} worker(s), e.g. "
                      f"{w} ({why}); put --out on a file system that all workers share")


def worker_pids(client) -> dict[str, int]:
    """Worker address -> process id (tests kill one)."""
    return client.run(os.getpid)
