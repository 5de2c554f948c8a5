"""Serve the app from several worker processes that share one listening socket.

In one process the request handling and the conversion of every result row run in Python
threads that share the GIL, so throughput barely grows past one client (benchmarks/run.py with
pyoxigraph 0.5.13 measured the same rate with 1 and 4 clients). Forked workers, each with its
own in-memory engine, use every core. The parent binds the socket, forks the
workers, and stops them all when it gets SIGTERM or SIGINT or when one of them exits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on host:port, raising OSError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def serve(make_app: Callable[[], Any], host: str, port: int, threads: int, workers: int) -> None:
    """Serve the app made by make_app with waitress in ``workers`` processes.

    With one worker the app runs in this process. With more, each forked worker calls make_app
    itself, so that every worker loads its own engine after the fork.
    """
    import waitress

    sock = listening_socket(host, port)
    if workers == 1:
        waitress.serve(make_app(), sockets=[sock], threads=threads, ident="notekg")
        return

    children = [_fork_worker(make_app, sock, threads) for _ in range(workers)]
    logger.info("started %s workers: %s", workers, ", ".join(map(str, children)))
    _supervise(children)


def _fork_worker(make_app: Callable[[], Any], sock: socket.socket, threads: int) -> int:
    pid = os.fork()
    if pid:
        return pid

    import waitress

    # The worker leaves the parent's signal handlers behind and stops on SIGTERM by default.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        waitress.serve(make_app(), sockets=[sock], threads=threads, ident="notekg")
    except Exception:
        logger.exception("worker %s failed", os.getpid())
        os._exit(1)
    os._exit(0)


def _supervise(children: list[int]) -> None:
    """Wait until a signal arrives or a worker exits, then stop every worker by its id."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    try:
        pid, wait_status = os.wait()
        status = os.waitstatus_to_exitcode(wait_status)
        logger.error("worker %s exited with status %s; stopping the others", pid, status)
        children = [child for child in children if child != pid]
    except SystemExit as stopped:
        status = int(stopped.code or 0)
    finally:
        for child in children:
            _stop_worker(child)
    sys.exit(status)


def _stop_worker(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    except ProcessLookupError:
        logger.warning("worker %s was already gone", pid)
