"""Run the application under uvicorn: one process, or a supervisor and N worker processes.

With more than one worker uvicorn binds the listening socket itself and hands it to the
workers; its socket says ``proto == 0``, so asyncio never sets ``TCP_NODELAY`` on the accepted
connections and every keep-alive response waits for the client's delayed ACK (about 40 ms on
Linux: uvicorn issue #3149, open for uvicorn 0.54). :class:`TcpConfig` gives the socket its
protocol back; measured with ``benchmarks/serve.py --workers 2`` before the fix, one client got
22 answers a second instead of about 1,000.

>>> sock = TcpConfig("vru_risk.serving.app:app_from_environment", port=0).bind_socket()
>>> sock.proto == socket.IPPROTO_TCP
True
>>> sock.close()
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

#: The options ``vru serve`` (and the benchmark's bare endpoint) run uvicorn with.
UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "info",
    "proxy_headers": True,
    "forwarded_allow_ips": "127.0.0.1",
    "server_header": False,
}


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration whose pre-bound TCP socket reports ``IPPROTO_TCP``."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto != 0:
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


def run(app: Any, factory: str, *, host: str, port: int, workers: int) -> None:
    """Serve ``app`` (an ASGI app object) in this process when ``workers`` is 1, else start
    ``workers`` processes that each build the app by calling ``factory`` ("module:function";
    it must read its settings from the environment, which the workers inherit).

    Exits with uvicorn's start-up failure code (3) when the app cannot start, with one worker
    or several (uvicorn's supervisor itself stops with 0 when a worker fails to start).
    """
    if workers == 1:
        uvicorn.run(app, host=host, port=port, **UVICORN_OPTIONS)
        return
    config = TcpConfig(
        factory, factory=True, workers=workers, host=host, port=port, **UVICORN_OPTIONS
    )
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
