"""The production server for several worker processes: gunicorn, through its application API.

``notekg serve --workers N`` with N above 1 runs gunicorn's arbiter with N worker processes of
the ``gthread`` class. Each worker creates its own app after the fork, so each has its own
engine and store connections: a small store is loaded into each worker's memory, and the
engine's files of a large one are opened read-only by all of them. Every worker checks the
store for a new generation at most every ``reload_interval`` seconds, so all of them serve a
write or an ingest without a restart. gunicorn runs on Unix only.

Metrics of all workers are added up through prometheus_client's multiprocess mode: the
PROMETHEUS_MULTIPROC_DIR folder must be set before any process imports prometheus_client, which
is why ``serve`` sets it before it imports the app.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

logger = logging.getLogger(__name__)

# The variable that puts prometheus_client in multiprocess mode. This module must not import
# prometheus_client, or service.metrics, before it sets the variable.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Seconds a worker may stay silent beyond the query time limit before gunicorn restarts it.
WORKER_TIMEOUT_MARGIN = 30


class NotekgApplication(BaseApplication):  # type: ignore[misc]
    """A gunicorn application whose workers each call make_app after the fork."""

    def __init__(self, make_app: Callable[[], Any], options: dict[str, Any]) -> None:
        self._make_app = make_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self._make_app()


def serve(
    make_app: Callable[[], Any],
    host: str,
    port: int,
    threads: int,
    workers: int,
    query_timeout: float,
) -> None:
    """Serve the app made by make_app from gunicorn workers until the arbiter stops.

    make_app must import the app only when called, so that prometheus_client is imported after
    this function has set PROMETHEUS_MULTIPROC_DIR.
    """
    metrics_dir = tempfile.mkdtemp(prefix="notekg-metrics-")
    os.environ[MULTIPROCESS_DIR_VARIABLE] = metrics_dir
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": int(query_timeout) + WORKER_TIMEOUT_MARGIN,
        "preload_app": False,
        "child_exit": _forget_worker_metrics,
        "control_socket_disable": True,
        "proc_name": "notekg",
    }
    logger.info("starting gunicorn with %s workers of %s threads", workers, threads)
    arbiter_pid = os.getpid()
    try:
        NotekgApplication(make_app, options).run()
    finally:
        # Forked workers leave through this block too; only the arbiter removes the folder.
        if os.getpid() == arbiter_pid:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            logger.info("gunicorn stopped")


def _forget_worker_metrics(_server: object, worker: Any) -> None:
    """Drop an exited worker's gauge values, so that only live workers report them."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
