"""Shared pytest fixtures for notekg.

The infrastructure fixtures run real components: a throwaway PostgreSQL server
(`postgresql_url`), Debian's chromium driven by Playwright (`browser`, `browser_page`)
and the `rapper` command-line tool (`rapper_path`). When a component is not installed,
its tests are skipped with the apt-get command that installs it. When the environment
variable CI is set (to anything but "", "0" or "false"), they fail instead, so that CI
cannot pass without testing them. `scripts/test` installs the components when run as root.

Tests that use `postgresql_url` get the `postgresql` marker and tests that use `browser`
or `browser_page` get the `browser` marker, so `pytest -m "not browser"` deselects them.
"""

from __future__ import annotations

import functools
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TESTS_DIR = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------
# Helpers shared by the infrastructure fixtures
# ---------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free when this function returned.

    Another process may take the port before the caller binds it, so callers that
    start a server should retry on a bind failure.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def running_in_ci() -> bool:
    """Return True when the environment variable CI is set to anything but "", "0" or "false"."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def skip_or_fail_missing(component: str, apt_package: str) -> NoReturn:
    """Skip the current test because `component` is missing, or fail if running in CI."""
    message = (
        f"{component} is not installed. Install it with `apt-get install -y {apt_package}` "
        f"(as root), or run scripts/test as root, which installs it."
    )
    if running_in_ci():
        pytest.fail(f"{message} CI is set, so the tests that need it must run.", pytrace=False)
    pytest.skip(message)


def add_infrastructure_markers(items: list[pytest.Item]) -> None:
    """Add the `postgresql` or `browser` marker to tests that use those fixtures."""
    for item in items:
        fixture_names = set(getattr(item, "fixturenames", ()))
        if "postgresql_url" in fixture_names:
            item.add_marker(pytest.mark.postgresql)
        if fixture_names & {"browser", "browser_page"}:
            item.add_marker(pytest.mark.browser)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    add_infrastructure_markers(items)


# ---------------------------------------------------------------------------
# PostgreSQL: a throwaway server per test session
# ---------------------------------------------------------------------------

POSTGRESQL_SUPERUSER = "postgres"
# The prefix of the temporary directories of clusters, and the file in each that names the
# process of the test session that started the cluster.
CLUSTER_DIR_PREFIX = "notekg-postgresql-"
CLUSTER_OWNER_FILE = "owner.pid"
POSTGRESQL_DATABASE = "notekg_test"
POSTGRESQL_START_ATTEMPTS = 3
POSTGRESQL_TIMEOUT_SECONDS = 60


def find_postgresql_bindir() -> Path | None:
    """Return the directory holding initdb and pg_ctl, or None if there is none.

    `pg_config --bindir` comes first. On Debian, pg_config also ships with libpq-dev,
    which names /usr/lib/postgresql/N/bin even when the server is not installed, so
    the directory must contain initdb. The fallback is the newest /usr/lib/postgresql/N/bin.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))

    debian_dirs = glob.glob("/usr/lib/postgresql/*/bin")
    debian_dirs.sort(key=postgresql_major_version, reverse=True)
    candidates.extend(Path(directory) for directory in debian_dirs)

    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def postgresql_major_version(bindir: str) -> int:
    """Return N from /usr/lib/postgresql/N/bin, or 0 when N is not a number."""
    version = Path(bindir).parent.name
    return int(version) if version.isdigit() else 0


def server_user() -> str | None:
    """Return the user that runs the server commands, or None for the current user.

    postgres and initdb exit with an error when run as root, so as root the commands run
    as the `postgres` system user that Debian's postgresql package creates.
    """
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRESQL_SUPERUSER)
    except KeyError:
        pytest.fail(
            f"PostgreSQL cannot run as root and the system user {POSTGRESQL_SUPERUSER!r} "
            f"does not exist. Install Debian's postgresql package, which creates it, "
            f"or run the tests as an unprivileged user.",
            pytrace=False,
        )
    return POSTGRESQL_SUPERUSER


def run_as_server_user(
    command: list[str], user: str | None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a server command as `user` (through runuser) and fail the test if it fails."""
    full_command = command if user is None else ["runuser", "-u", user, "--", *command]
    result = subprocess.run(
        full_command,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=POSTGRESQL_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        pytest.fail(
            f"command failed with exit status {result.returncode}: {' '.join(full_command)}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}",
            pytrace=False,
        )
    return result


def make_cluster_dir(user: str | None) -> Path:
    """Create a temporary directory that `user` owns, for the cluster and socket.

    The directory is made under the system temp dir, not in pytest's tmp_path, which
    only the current user can enter, because the `postgres` user must reach it. Its
    CLUSTER_OWNER_FILE names this test session's process.
    """
    cluster_dir = Path(tempfile.mkdtemp(prefix=CLUSTER_DIR_PREFIX))
    (cluster_dir / CLUSTER_OWNER_FILE).write_text(str(os.getpid()))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(cluster_dir, entry.pw_uid, entry.pw_gid)
    return cluster_dir


def stop_abandoned_clusters(bindir: Path, user: str | None) -> list[Path]:
    """Stop and remove the clusters of earlier test sessions that ended without doing so.

    A test session that was killed leaves its server running. A cluster whose owner process
    has exited is abandoned; one without an owner file, or whose owner runs, is left alone.
    Returns the directories removed.
    """
    removed = []
    for cluster_dir in sorted(Path(tempfile.gettempdir()).glob(CLUSTER_DIR_PREFIX + "*")):
        try:
            owner = int((cluster_dir / CLUSTER_OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _process_exists(owner):
            continue
        data_dir = cluster_dir / "data"
        if (data_dir / "postmaster.pid").exists():
            command = [str(bindir / "pg_ctl"), "stop", f"--pgdata={data_dir}", "--mode=immediate"]
            full_command = command if user is None else ["runuser", "-u", user, "--", *command]
            subprocess.run(
                full_command,
                cwd=cluster_dir,
                capture_output=True,
                check=False,
                timeout=POSTGRESQL_TIMEOUT_SECONDS,
            )
        shutil.rmtree(cluster_dir, ignore_errors=True)
        removed.append(cluster_dir)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def init_cluster(bindir: Path, data_dir: Path, user: str | None) -> None:
    """Run initdb into `data_dir` with trust authentication for every local connection."""
    run_as_server_user(
        [
            str(bindir / "initdb"),
            f"--pgdata={data_dir}",
            f"--username={POSTGRESQL_SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ],
        user,
        data_dir.parent,
    )


def start_server(bindir: Path, cluster_dir: Path, data_dir: Path, user: str | None) -> int:
    """Start the server on 127.0.0.1 and a free port, and return the port.

    The server listens on 127.0.0.1 only, and on a unix socket in `cluster_dir`.
    fsync is off because the data is thrown away. A port taken between free_port()
    and the server's bind is retried with another port.
    """
    log_file = cluster_dir / "server.log"
    for _attempt in range(POSTGRESQL_START_ATTEMPTS):
        port = free_port()
        server_options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} "
            f"-c unix_socket_directories={cluster_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        command = [
            str(bindir / "pg_ctl"),
            "start",
            f"--pgdata={data_dir}",
            f"--log={log_file}",
            f"--options={server_options}",
            "--wait",
            f"--timeout={POSTGRESQL_TIMEOUT_SECONDS}",
        ]
        full_command = command if user is None else ["runuser", "-u", user, "--", *command]
        result = subprocess.run(
            full_command, cwd=cluster_dir, capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            return port

    server_log = log_file.read_text(errors="replace") if log_file.exists() else "(no log)"
    pytest.fail(
        f"pg_ctl start failed {POSTGRESQL_START_ATTEMPTS} times, last with exit status "
        f"{result.returncode}.\nstderr:\n{result.stderr}\nserver log {log_file}:\n{server_log}",
        pytrace=False,
    )


def stop_server(bindir: Path, data_dir: Path, user: str | None, cwd: Path) -> None:
    """Stop the server with pg_ctl's fast mode, which rolls back open transactions."""
    run_as_server_user(
        [str(bindir / "pg_ctl"), "stop", f"--pgdata={data_dir}", "--mode=fast", "--wait"],
        user,
        cwd,
    )


def create_database(bindir: Path, port: int) -> None:
    """Create POSTGRESQL_DATABASE over TCP on 127.0.0.1."""
    result = subprocess.run(
        [
            str(bindir / "createdb"),
            "--host=127.0.0.1",
            f"--port={port}",
            f"--username={POSTGRESQL_SUPERUSER}",
            "--no-password",
            POSTGRESQL_DATABASE,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=POSTGRESQL_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        pytest.fail(
            f"createdb {POSTGRESQL_DATABASE} on 127.0.0.1:{port} failed: {result.stderr}",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def engine_files_in_temporary_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point the user's cache folder, where servers of PostgreSQL stores keep their engine
    files, at a folder of the test session."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """Yield the SQLAlchemy URL of an empty database on a throwaway PostgreSQL server.

    The URL has the form postgresql+psycopg://postgres@127.0.0.1:PORT/notekg_test and
    needs no password. The server, its data directory and the database are shared by
    the whole test session, so tests must create uniquely named tables or drop what
    they create. The server is stopped and its directory removed after the session.
    """
    bindir = find_postgresql_bindir()
    if bindir is None:
        skip_or_fail_missing("PostgreSQL server (initdb, pg_ctl)", "postgresql")

    user = server_user()
    stop_abandoned_clusters(bindir, user)
    cluster_dir = make_cluster_dir(user)
    data_dir = cluster_dir / "data"
    try:
        init_cluster(bindir, data_dir, user)
        port = start_server(bindir, cluster_dir, data_dir, user)
        create_database(bindir, port)
        yield f"postgresql+psycopg://{POSTGRESQL_SUPERUSER}@127.0.0.1:{port}/{POSTGRESQL_DATABASE}"
    finally:
        try:
            # postmaster.pid exists while a server runs, including one that pg_ctl
            # start gave up waiting for.
            if (data_dir / "postmaster.pid").exists():
                stop_server(bindir, data_dir, user, cluster_dir)
        finally:
            shutil.rmtree(cluster_dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Browser: Debian's chromium driven by Playwright
# ---------------------------------------------------------------------------

CHROMIUM_PATH = Path("/usr/bin/chromium")

# --no-sandbox lets chromium run as root, and the --disable-* flags turn off requests
# that no page made (component updates, sync, field trials). Playwright rejects
# --user-data-dir in launch() and instead gives every launch a fresh profile directory
# under the temp dir, which it deletes when the browser closes.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Yield a headless chromium browser shared by the test session."""
    if not CHROMIUM_PATH.is_file():
        skip_or_fail_missing(f"chromium ({CHROMIUM_PATH})", "chromium")

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    """Yield a page in a new browser context, so cookies and storage start empty."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Return tests/screenshots/, created if missing. Git ignores its contents."""
    directory = TESTS_DIR / "screenshots"
    directory.mkdir(exist_ok=True)
    return directory


# ---------------------------------------------------------------------------
# rapper: the Raptor RDF parser, used to check RDF files with a second parser
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rapper_path() -> Path:
    """Return the path of the `rapper` executable from Debian's raptor2-utils."""
    found = shutil.which("rapper")
    if found is None:
        skip_or_fail_missing("rapper", "raptor2-utils")
    return Path(found)


# ---------------------------------------------------------------------------
# Local HTTP server for browser tests
# ---------------------------------------------------------------------------


@pytest.fixture
def serve_directory() -> Iterator[Callable[[Path], str]]:
    """Yield a function that serves a directory over HTTP on 127.0.0.1 and returns its URL.

    Each server runs in a daemon thread and is shut down after the test.
    """
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    def serve(directory: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        host, port = server.server_address[:2]
        return f"http://{host!s}:{port}/"

    yield serve

    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ---------------------------------------------------------------------------
# A listener that proves the server sends no request
# ---------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """Yield a TCP socket listening on 127.0.0.1 that records whether anything connects."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        sock.settimeout(0.5)
        yield sock
