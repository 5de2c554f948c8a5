"""Worker processes for clients' queries, so that a query past its time limit can be stopped.

pyoxigraph cannot interrupt a query that Oxigraph is evaluating, and Python cannot stop a
thread. A client's query therefore runs in a worker process, and a worker whose query outlives
the time limit is killed, which frees its CPU and its memory at once.

A worker starts from the server's memory through fork, so it needs no loading: it shares an
in-memory graph through copy-on-write, or opens the engine's files on disk, which all
processes share through the page cache.

- Right after an engine has loaded its graph, it forks a *template* process. The template never
  runs a query. It waits for requests from the server on a socket and forks one worker per
  request, so every worker starts from a process with one thread.
- A worker gets one task at a time over its own socket, runs it and sends back the outcome.
  The template passes the server's end of that socket to the server with SCM_RIGHTS.
- A worker exits after many tasks or after a long task when the pool says so, or when its
  private memory grew too much (RETIRE_PRIVATE_BYTES), because the pages it writes to become
  its own copies.

The server keeps idle workers for the next queries. Closing the pool, as when a newer
generation replaces the engine or the server exits, closes the sockets: the template then kills
its workers and exits. ``run_forked`` forks one process for one function instead, as for a
write, and kills it at its time limit in the same way. These processes work on Linux and other
Unix systems only.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import os
import pickle
import signal
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, NoReturn

logger = logging.getLogger(__name__)

# Seconds that closing a pool waits for its template to exit before it kills it.
TEMPLATE_EXIT_SECONDS = 2.0

# A query that scans much of Oxigraph's in-memory store writes to the pages it visits, so
# they become the worker's own copies: a COUNT over 1.2 million quads made about 415 MB of a
# worker's memory private (measured with /proc/PID/smaps_rollup). A pool can retire a worker
# whose task ran longer than a given time (``retire_after_seconds``), and one that has run a
# number of tasks (``retire_after_tasks``, such as RETIRE_AFTER_TASKS), so that the next task
# gets a new worker that shares every page again. Retiring costs a fork and a warm-up: once
# every 1,000 tasks it cut the throughput of short queries by about a quarter on a store on
# disk (measured at 100,000 triples), where queries copy no page of the graph.
RETIRE_AFTER_TASKS = 1000

# Small queries make pages private too: about 0.4 MB per query in the same measurement, which
# is probably the allocator placing new memory in free memory inherited from the server. A
# worker reads its private memory after its first MEMORY_CHECK_TASKS tasks and then after at
# least MEMORY_CHECK_SECONDS and MEMORY_CHECK_TASKS more (``_run_worker``). One reading of
# /proc/self/smaps_rollup took 1.1 to 1.3 ms in a server of 100,000 triples. The worker
# reports that it should be replaced once it has grown by RETIRE_PRIVATE_BYTES since it started.
MEMORY_CHECK_TASKS = 16
MEMORY_CHECK_SECONDS = 1.0

# The task that a new worker runs before it becomes idle, so that no client waits while the
# worker copies the pages that its first task writes to, or opens what it reads.
WARM_UP = "notekg: warm up"
RETIRE_PRIVATE_BYTES = 64 * 2**20


class WorkerTimeout(Exception):
    """The task ran longer than its time limit, and its worker process was killed."""


class WorkerLost(Exception):
    """The worker process exited before it sent the outcome of its task."""


class TemplateLost(WorkerLost):
    """The template process has exited, so the pool cannot start workers any more."""


@dataclass
class _Worker:
    pid: int
    connection: Connection
    tasks: int = 0


@dataclass(eq=False)
class _PoolState:
    """The sockets and workers of a pool, kept apart so that the pool's finalizer can close them."""

    control: socket.socket
    template_pid: int
    # ``lock`` guards the lists and the flag. ``spawn_lock`` keeps one request at a time on
    # the control socket, so that a fork does not hold up requests that find an idle worker.
    lock: threading.Lock = field(default_factory=threading.Lock)
    spawn_lock: threading.Lock = field(default_factory=threading.Lock)
    workers: dict[int, _Worker] = field(default_factory=dict)
    idle: list[_Worker] = field(default_factory=list)
    closed: bool = False

    def close_inherited_sockets(self) -> None:
        """Close this pool's sockets in a forked process, which must not hold them open."""
        # The fork may have happened while another thread held the lock, so it is not taken.
        self.control.close()
        for worker in list(self.workers.values()):
            worker.connection.close()


# The pools of this process. A new template closes the sockets of the others, so that a
# template and its workers see their sockets end when their own pool closes.
_POOLS: weakref.WeakSet[_PoolState] = weakref.WeakSet()


class QueryProcesses:
    """A template process and the worker processes it forks, which call ``execute`` on tasks.

    ``execute`` runs in the workers, on the memory that the server had when the template was
    forked. A task and its outcome travel between the processes as pickles, and ``run`` raises
    again an exception that ``execute`` raised. A new worker calls ``warm_up``, when given,
    before it takes its first task. A worker whose task ran longer than
    ``retire_after_seconds``, or that has run ``retire_after_tasks`` tasks, is replaced after
    that task; None turns either rule off.
    """

    def __init__(
        self,
        execute: Callable[[Any], Any],
        name: str = "notekg-query",
        *,
        warm_up: Callable[[], object] | None = None,
        retire_after_seconds: float | None = None,
        retire_after_tasks: int | None = None,
    ) -> None:
        server_end, template_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        _release_free_memory()
        pid = os.fork()
        if pid == 0:
            start = functools.partial(_start_template, server_end, template_end, execute, warm_up)
            _exit_after(start, "the query template process failed")

        template_end.close()
        self.retire_after_seconds = retire_after_seconds
        self.retire_after_tasks = retire_after_tasks
        self._state = _PoolState(server_end, pid)
        _POOLS.add(self._state)
        self._finalizer = weakref.finalize(self, _close, self._state)
        logger.debug("%s: template process %s started", name, pid)
        threading.Thread(target=self._add_idle_worker, name="query-fork", daemon=True).start()

    @property
    def template_pid(self) -> int:
        """The process ID of the template process."""
        return self._state.template_pid

    def run(self, task: Any, timeout: float) -> Any:
        """Run the task in a worker and return its outcome, or raise what ``execute`` raised.

        Raises WorkerTimeout, after killing the worker, when the task takes longer than
        ``timeout`` seconds, and WorkerLost when the worker exits before it sends the outcome.
        """
        worker = self._send(task)
        started = time.monotonic()
        try:
            if not worker.connection.poll(timeout):
                self._kill(worker)
                raise WorkerTimeout(f"worker {worker.pid} ran longer than {timeout:g} s")
            succeeded, outcome, retire = worker.connection.recv()
        except (EOFError, OSError) as error:
            # The worker has exited already, so it is not signalled.
            self._forget(worker)
            raise WorkerLost(f"worker process {worker.pid} exited during its task") from error

        worker.tasks += 1
        # A worker's first task is slow whatever it does, because the new process first copies
        # the memory pages that it writes to, so it does not count as a long task.
        long_task = (
            self.retire_after_seconds is not None
            and worker.tasks > 1
            and time.monotonic() - started > self.retire_after_seconds
        )
        many_tasks = self.retire_after_tasks is not None and worker.tasks >= self.retire_after_tasks
        if retire or long_task or many_tasks:
            self._replace(worker)
        else:
            self._give_back(worker)
        if not succeeded:
            raise outcome
        return outcome

    def close(self) -> None:
        """Stop the template and every worker. Calling it again does nothing."""
        self._finalizer()

    def _send(self, task: Any) -> _Worker:
        """Send the task to an idle worker, or to a new one when none is idle or alive."""
        worker = self._take_worker(new=False)
        try:
            worker.connection.send(task)
            return worker
        except OSError:
            # The idle worker has exited, as when someone killed it.
            self._forget(worker)

        worker = self._take_worker(new=True)
        try:
            worker.connection.send(task)
        except OSError as error:
            self._forget(worker)
            raise WorkerLost(f"worker process {worker.pid} exited before its task") from error
        return worker

    def _take_worker(self, *, new: bool) -> _Worker:
        state = self._state
        with state.lock:
            if state.closed:
                raise WorkerLost("the query processes were closed")
            if state.idle and not new:
                return state.idle.pop()

        # The template forks the worker and sends back its PID and the server's socket.
        with state.spawn_lock:
            try:
                state.control.sendall(b"w")
                message, fds, _flags, _address = socket.recv_fds(state.control, 16, 1)
            except OSError as error:
                raise TemplateLost("the query template process has exited") from error
        if not message or not fds:
            raise TemplateLost("the query template process has exited")

        worker = _Worker(int.from_bytes(message, "little"), Connection(fds[0]))
        with state.lock:
            state.workers[worker.pid] = worker
        return worker

    def _give_back(self, worker: _Worker) -> None:
        state = self._state
        with state.lock:
            if not state.closed:
                state.idle.append(worker)
                return
            state.workers.pop(worker.pid, None)
        worker.connection.close()

    def _replace(self, worker: _Worker) -> None:
        """Retire the worker and fork its successor in the background."""
        self._forget(worker)
        threading.Thread(target=self._add_idle_worker, name="query-fork", daemon=True).start()

    def _add_idle_worker(self) -> None:
        """Fork a worker, let it run its slow first task, and make it idle."""
        try:
            worker = self._take_worker(new=True)
            worker.connection.send(WARM_UP)
            worker.connection.recv()
        except (WorkerLost, EOFError, OSError):  # the pool was closed, or the worker exited
            return
        worker.tasks += 1
        self._give_back(worker)

    def _forget(self, worker: _Worker) -> None:
        with self._state.lock:
            self._state.workers.pop(worker.pid, None)
        worker.connection.close()

    def _kill(self, worker: _Worker) -> None:
        logger.warning("stopping query process %s", worker.pid)
        try:
            os.kill(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._forget(worker)


def run_forked(function: Callable[[], Any], timeout: float) -> Any:
    """Run function in a child process forked for it and return its result, or raise its error.

    The child starts from this process's memory, so function needs no pickling, but its result
    and errors travel back as pickles. Raises WorkerTimeout, after killing the child, when the
    function takes longer than ``timeout`` seconds, and WorkerLost when the child exits first.
    """
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        start = functools.partial(_run_once, parent_end, child_end, function)
        _exit_after(start, "a forked process failed")

    child_end.close()
    connection = Connection(parent_end.detach())
    try:
        if not connection.poll(timeout):
            logger.warning("stopping process %s after %g s", pid, timeout)
            os.kill(pid, signal.SIGKILL)
            raise WorkerTimeout(f"process {pid} ran longer than {timeout:g} s")
        succeeded, outcome = connection.recv()
    except (EOFError, OSError) as error:
        raise WorkerLost(f"process {pid} exited before it sent its result") from error
    finally:
        connection.close()
        os.waitpid(pid, 0)

    if not succeeded:
        raise outcome
    return outcome


def _run_once(
    parent_end: socket.socket, child_end: socket.socket, function: Callable[[], Any]
) -> None:
    parent_end.close()
    for pool in list(_POOLS):
        pool.close_inherited_sockets()
    connection = Connection(child_end.detach())
    _send(connection, _outcome(function))


def _release_free_memory() -> None:
    """Give the allocator's free memory back to the system before a fork (glibc only).

    Free memory that the template inherited would become a copy in the template as soon as
    the server allocates in it again.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _close(state: _PoolState) -> None:
    with state.lock:
        if state.closed:
            return
        state.closed = True
        idle, state.idle = state.idle, []
        for worker in idle:
            state.workers.pop(worker.pid, None)
    _POOLS.discard(state)
    for worker in idle:
        worker.connection.close()
    # The template reads the end of its socket, kills its workers and exits.
    state.control.close()
    deadline = time.monotonic() + TEMPLATE_EXIT_SECONDS
    try:
        while not os.waitpid(state.template_pid, os.WNOHANG)[0]:
            if time.monotonic() > deadline:
                logger.warning("killing query template process %s", state.template_pid)
                os.kill(state.template_pid, signal.SIGKILL)
                os.waitpid(state.template_pid, 0)
                return
            time.sleep(0.001)
    except ChildProcessError:
        pass


def _exit_after(target: Callable[[], None], failure: str) -> NoReturn:
    """Run target in a forked process, then end the process without the parent's exit handlers.

    The status is 0, or 1 after logging ``failure`` with the error, which has no one else to
    reach in a forked process.
    """
    status = 0
    try:
        target()
    except BaseException:
        logger.exception(failure)
        status = 1
    finally:
        os._exit(status)


def _start_template(
    server_end: socket.socket,
    template_end: socket.socket,
    execute: Callable[[Any], Any],
    warm_up: Callable[[], object] | None,
) -> None:
    # A garbage collection writes to every object it visits, which would copy each page of the
    # server's objects into this process and its workers. Frozen objects are never visited.
    gc.freeze()
    server_end.close()
    for other in list(_POOLS):
        other.close_inherited_sockets()
    _run_template(template_end, execute, warm_up)


def _start_worker(
    control: socket.socket,
    server_end: socket.socket,
    worker_end: socket.socket,
    execute: Callable[[Any], Any],
    warm_up: Callable[[], object] | None,
) -> None:
    control.close()
    server_end.close()
    _run_worker(Connection(worker_end.detach()), execute, warm_up)


def _run_template(
    control: socket.socket, execute: Callable[[Any], Any], warm_up: Callable[[], object] | None
) -> None:
    """Fork a worker for each request on the control socket, until the socket closes."""
    # The template and its workers must not run the server's signal handlers.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # The template reaps its exited workers only before it forks the next one and when it stops,
    # so the PID of a worker that the server tracks is never reused while the server may kill it.
    workers: set[int] = set()

    while control.recv(1):
        _reap(workers, block=False)
        worker_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            start = functools.partial(
                _start_worker, control, server_end, worker_end, execute, warm_up
            )
            _exit_after(start, "a query worker process failed")

        worker_end.close()
        socket.send_fds(control, [pid.to_bytes(8, "little")], [server_end.fileno()])
        server_end.close()
        workers.add(pid)

    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    _reap(workers, block=True)


def _reap(workers: set[int], *, block: bool) -> None:
    """Collect the exit status of exited workers, waiting for all of them when ``block``."""
    for pid in list(workers):
        finished, _status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if finished:
            workers.discard(pid)


def _run_worker(
    connection: Connection,
    execute: Callable[[Any], Any],
    warm_up: Callable[[], object] | None,
) -> None:
    """Run tasks from the connection and send back their outcomes, until it closes.

    A reply is (succeeded, outcome, retire): retire is true when the worker's private memory
    has grown by more than RETIRE_PRIVATE_BYTES, so that the server replaces the worker.
    """
    # A new worker already has private pages, which the server wrote after the template was
    # forked, so the growth from the first check on is what counts.
    tasks = 0
    baseline = _private_bytes()
    next_check_tasks = MEMORY_CHECK_TASKS
    next_check_time = 0.0
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return

        if task == WARM_UP:
            # A warm-up that fails fails again in the first task, which reports the error.
            _send(connection, (*_outcome(warm_up or _nothing), False))
            continue

        succeeded, outcome = _outcome(functools.partial(execute, task))
        tasks += 1
        retire = False
        if tasks >= next_check_tasks and time.monotonic() >= next_check_time:
            retire = _private_bytes() - baseline > RETIRE_PRIVATE_BYTES
            next_check_tasks = tasks + MEMORY_CHECK_TASKS
            next_check_time = time.monotonic() + MEMORY_CHECK_SECONDS
        _send(connection, (succeeded, outcome, retire))


def _nothing() -> None:
    return None


def _private_bytes() -> int:
    """Return the memory that only this process maps, from /proc (0 where /proc is missing)."""
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            lines = rollup.readlines()
    except OSError:
        return 0
    kib = sum(int(line.split()[1]) for line in lines if line.startswith("Private_"))
    return kib * 1024


def _outcome(function: Callable[[], Any]) -> tuple[bool, Any]:
    """Call function and return (True, result), or (False, error) when it raises."""
    try:
        return True, function()
    except Exception as error:
        return False, _transferable(error)


def _send(connection: Connection, reply: tuple[Any, ...]) -> None:
    """Send a reply, or the error that a result which cannot be pickled gives."""
    try:
        connection.send(reply)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        failure = RuntimeError(f"cannot send the outcome: {error}")
        connection.send((False, failure, *reply[2:]))


def _transferable(error: Exception) -> Exception:
    """Return the error, or a RuntimeError with its message when it does not survive pickling."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
