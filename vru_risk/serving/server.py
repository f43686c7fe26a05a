"""Run the application under uvicorn: one process, or a supervisor and N worker processes.

With more than one worker uvicorn binds the listening socket itself and hands it to the
workers; its socket says ``proto == 0``, so asyncio never sets ``TCP_NODELAY`` on the accepted
connections and every keep-alive response waits for the client's delayed ACK (about 40 ms on
Linux: uvicorn issue #3149, open for uvicorn 0.54). :class:`TcpConfig` gives the socket its
protocol back; measured with ``benchmarks/serve.py --workers 2`` before the fix, one client got
22 answers a second instead of about 1,000.

Each worker process exits when its supervisor dies (:class:`WorkerConfig`): otherwise a
``kill -9`` of the supervisor left the workers serving as orphans, holding the port, and a
restart failed with "address already in use".

>>> sock = TcpConfig("vru_risk.serving.app:app_from_environment", port=0).bind_socket()
>>> sock.proto == socket.IPPROTO_TCP
True
>>> sock.close()
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from typing import Any, Final

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("vru_risk.serving")

#: The options ``vru serve`` (and the benchmark's bare endpoint) run uvicorn with (``vru
#: serve`` passes ``forwarded_allow_ips`` from VRU_FORWARDED_ALLOW_IPS).
UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "info",
    "proxy_headers": True,
    "forwarded_allow_ips": "127.0.0.1",
    "server_header": False,
}
_PR_SET_PDEATHSIG: Final = 1  # linux/prctl.h
#: how often a worker checks that its supervisor is alive, and how long it then has to finish
#: its requests and shut down before it is ended outright
WATCH_SECONDS: Final = 0.5
GRACE_SECONDS: Final = 20.0


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration whose pre-bound TCP socket reports ``IPPROTO_TCP``."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto != 0:
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


class WorkerConfig(TcpConfig):
    """The configuration each worker process loads its app with (uvicorn calls ``load`` in the
    worker, never in the supervisor): before loading, the worker arranges to exit when its
    supervisor dies (:func:`exit_with_parent`)."""

    def load(self) -> None:
        if not self.loaded:
            exit_with_parent()
        super().load()


def exit_with_parent(
    *,
    interval: float = WATCH_SECONDS,
    grace: float = GRACE_SECONDS,
    kernel: bool = sys.platform.startswith("linux"),
) -> threading.Thread:
    """End this process when its parent (the supervisor) dies, however it dies.

    On Linux (``kernel``) the kernel sends SIGTERM at the parent's death
    (``prctl(PR_SET_PDEATHSIG)``), which uvicorn answers with a graceful shutdown. Everywhere,
    a daemon thread also watches the parent's pid every ``interval`` seconds: when the process
    has been re-parented it sends SIGTERM itself, and if the process is still alive ``grace``
    seconds later it exits at once (exit code 1). Returns the watching thread.
    """
    # the supervisor's pid as recorded at spawn (if it has died since, getppid() no longer
    # gives it, and the watch's first check ends this worker)
    spawner = multiprocessing.parent_process()
    parent = spawner.pid if spawner is not None and spawner.pid else os.getppid()
    if kernel:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as exc:  # no libc prctl: the watchdog remains
            log.warning("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.warning(
            "the supervisor (pid %d) is gone: this worker (pid %d) stops", parent, os.getpid()
        )
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        log.error("this worker did not stop within %.0f s of its supervisor's death", grace)
        os._exit(1)

    watcher = threading.Thread(target=watch, name="vru-supervisor-watch", daemon=True)
    watcher.start()
    return watcher


def run(
    app: Any,
    factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    forwarded_allow_ips: str = "127.0.0.1",
) -> None:
    """Serve ``app`` (an ASGI app object) in this process when ``workers`` is 1, else start
    ``workers`` processes that each build the app by calling ``factory`` ("module:function";
    it must read its settings from the environment, which the workers inherit).

    Exits with uvicorn's start-up failure code (3) when the app cannot start, with one worker
    or several (uvicorn's supervisor itself stops with 0 when a worker fails to start). The
    workers exit when the supervisor dies. ``X-Forwarded-For``/``-Proto`` are trusted from
    ``forwarded_allow_ips`` only (the reverse proxy terminating TLS).
    """
    options = {**UVICORN_OPTIONS, "forwarded_allow_ips": forwarded_allow_ips}
    if workers == 1:
        uvicorn.run(app, host=host, port=port, **options)
        return
    config = WorkerConfig(factory, factory=True, workers=workers, host=host, port=port, **options)
    sock = config.bind_socket()
    supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        sys.exit(STARTUP_FAILURE)
