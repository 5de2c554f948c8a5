"""The production server for several worker processes: granian, through its embedding API.

``notekg serve --workers N`` with N above 1 runs granian, an HTTP server written in Rust that
calls the WSGI app from a pool of Python threads in each of N worker processes. granian forks
the workers from the serving process, and each worker creates its own app, so each has its
own engine and store connections: a small store is loaded into each worker's memory, and the
engine's files of a large one are opened read-only by all of them. Every worker checks the
store for a new generation at most every ``reload_interval`` seconds, so all of them serve a
write or an ingest without a restart. A worker that exits is started again.

Metrics of all workers are added up through prometheus_client's multiprocess mode: the
PROMETHEUS_MULTIPROC_DIR folder must be set before any process imports prometheus_client, which
is why ``serve`` sets it before it imports the app. The gauges of a worker that exited are
dropped when the next worker starts.

The workers are forked, so this works on Linux and other Unix systems, as the query processes
do.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# The variable that puts prometheus_client in multiprocess mode. This module must not import
# prometheus_client, or service.metrics, before it sets the variable.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# granian's own loggers go through the handlers of the root logger, as notekg's do.
GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"thread_count": {"()": f"{__name__}.ThreadCountWarningFilter"}},
    "loggers": {
        "_granian": {"propagate": True, "filters": ["thread_count"]},
        "granian.access": {"propagate": True},
    },
}
# The start of granian's warning about more WSGI threads than twice the CPUs.
THREAD_COUNT_WARNING = "Configuration allows spawning up to"

# Seconds that a worker may take to stop before granian kills it. A worker that gets Ctrl-C
# together with granian's own stop signal sometimes never stops by itself (granian 2.8.9).
WORKER_STOP_SECONDS = 5

# Modules that every worker imports, which serve imports before granian forks the workers, so
# that the workers share the memory of these modules with the serving process and each other
# instead of holding a copy each. service.app imports prometheus_client, so serve imports these
# modules only after it has set PROMETHEUS_MULTIPROC_DIR. Each worker's app still makes its
# own metrics.
SHARED_MODULES = (
    "flask",
    "jinja2",
    "sqlalchemy.orm",
    "pyoxigraph",
    "service.holder",
    "service.pages",
    "service.app",
)

# The function that makes the app in each worker, set by serve before granian forks them.
_make_app: Callable[[], Any] | None = None


class ServerError(Exception):
    """granian could not start serving, as when the port is taken."""


class ThreadCountWarningFilter(logging.Filter):
    """Drop granian's warning about many threads, which notekg's threads need.

    A thread waits while a query process runs its query, so the threads of a worker are meant
    to outnumber the CPUs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(THREAD_COUNT_WARNING)


def serve(make_app: Callable[[], Any], host: str, port: int, threads: int, workers: int) -> None:
    """Serve the app made by make_app from granian's worker processes until granian stops.

    make_app must import the app only when called, so that prometheus_client is imported after
    this function has set PROMETHEUS_MULTIPROC_DIR.
    """
    from granian import Granian
    from granian.constants import Interfaces

    _check_port_is_free(host, port)
    global _make_app
    _make_app = make_app
    metrics_dir = tempfile.mkdtemp(prefix="notekg-metrics-")
    os.environ[MULTIPROCESS_DIR_VARIABLE] = metrics_dir
    for name in SHARED_MODULES:
        importlib.import_module(name)
    # A garbage collection in a worker would write to every object it visits, which copies the
    # pages of these modules into the worker. Frozen objects are never visited.
    gc.freeze()
    server = Granian(
        f"{__name__}:worker_app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        factory=True,
        websockets=False,
        respawn_failed_workers=True,
        workers_kill_timeout=WORKER_STOP_SECONDS,
        log_dictconfig=GRANIAN_LOGGING,
    )
    logger.info("starting granian with %s workers of %s threads", workers, threads)
    serving_pid = os.getpid()
    try:
        server.serve()
    except RuntimeError as error:
        # granian's Rust side reports a failed bind as RuntimeError with the OS message first.
        raise ServerError(str(error).splitlines()[0]) from None
    finally:
        # granian's workers are forked inside serve() and end with os._exit, so they never get
        # here. The check keeps any other forked process from removing the shared folder.
        if os.getpid() == serving_pid:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            logger.info("granian stopped")


def _check_port_is_free(host: str, port: int) -> None:
    """Raise ServerError when another process listens on the port.

    granian binds with SO_REUSEPORT, so without this check a second server on a taken port
    would start and share the connections with the first.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as error:
        raise ServerError(str(error)) from None


def worker_app() -> Any:
    """Make the app of one worker process; granian calls this after it forked the worker."""
    if _make_app is None:
        raise ServerError("no app factory: start the workers through service.wsgi.serve")

    _forget_exited_workers()
    return _make_app()


def _forget_exited_workers() -> None:
    """Drop the gauge values of workers that exited, so that only live workers report them."""
    from prometheus_client import multiprocess

    folder = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if not folder:
        return
    for path in Path(folder).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if pid != os.getpid() and not _alive(pid):
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    """Return whether a process with this ID exists; one of another user counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
