"""`notekg serve --workers 2` under granian: every worker serves new generations unrestarted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port
from prometheus_client.parser import text_string_to_metric_families
from servers import SAMPLE_DATASET, fill_store_from_dataset, parse_rdf_dataset, send

TOKEN = "workers-token"
STARTUP_SECONDS = 60
CONVERGE_SECONDS = 30
MAX_BODY_BYTES = 4096
NOTEKG = Path(sys.executable).parent / "notekg"


def start_serve(
    tmp_path: Path,
    workers: int,
    *,
    new_session: bool = False,
    settings: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start `notekg serve --workers N` over the sample store on a free port of 127.0.0.1.

    The server writes to tmp_path/server.log. With new_session it runs in a session of its
    own, so that a signal to its process group reaches every process, as Ctrl-C does.
    ``settings`` are more environment variables, such as NOTEKG_ENGINE_FILES_FROM.
    """
    database_url = f"sqlite:///{tmp_path}/store.sqlite"
    fill_store_from_dataset(database_url, str(SAMPLE_DATASET))
    port = free_port()
    environment = {
        **os.environ,
        "NOTEKG_UPDATE_TOKEN": TOKEN,
        "NOTEKG_RELOAD_INTERVAL": "0.2",
        "NOTEKG_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        **(settings or {}),
    }
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(NOTEKG),
                "serve",
                "--workers",
                str(workers),
                "--threads",
                "2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database",
                database_url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=new_session,
        )
    return process, port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """Run `notekg serve --workers 2` on a free port of 127.0.0.1 and yield its base URL."""
    process, port = start_serve(tmp_path, 2)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, tmp_path / "server.log")
        yield url
    finally:
        _stop(process)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"notekg serve exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if send(f"{url}/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"notekg serve did not answer within {STARTUP_SECONDS} s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def generations_by_worker(url: str) -> dict[str, float]:
    reply = send(f"{url}/metrics")
    return {
        sample.labels["pid"]: sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
        if sample.name == "notekg_generation"
    }


def test_both_workers_serve_new_generation(server: str) -> None:
    reply = send(
        f"{server}/update",
        method="POST",
        data=b'INSERT DATA { <https://notekg.example/id/x> <https://notekg.example/id/p> "x" }',
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
    )
    assert reply.status == 200

    # Each worker reports its generation with its pid after every request it serves, and the
    # kernel hands new connections to either worker, so enough requests reach both.
    deadline = time.monotonic() + CONVERGE_SECONDS
    generations: dict[str, float] = {}
    while time.monotonic() < deadline:
        send(f"{server}/health")
        generations = generations_by_worker(server)
        if len(generations) == 2 and set(generations.values()) == {2.0}:
            break
        time.sleep(0.05)
    # A health check sent before the last worker reloaded could still report generation 1.
    health = send(f"{server}/health").json()

    assert len(generations) == 2
    assert set(generations.values()) == {2.0}
    assert health["generation"] == 2


def test_metrics_sum_requests_over_workers(server: str) -> None:
    for _ in range(10):
        send(f"{server}/health")

    reply = send(f"{server}/metrics")
    counted = sum(
        sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
        if sample.name == "notekg_http_requests_total" and sample.labels["endpoint"] == "/health"
    )

    # The startup check sent at least one more /health request.
    assert counted >= 11


def test_workers_answer_posts_downloads_head_and_large_bodies(server: str) -> None:
    query = b"SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    posted = send(
        f"{server}/sparql",
        method="POST",
        data=query,
        headers={"Content-Type": "application/sparql-query", "Accept": "application/json"},
    )
    download = send(f"{server}/download/graph.nq")
    head = send(f"{server}/id/benchmark/mmlu", method="HEAD", headers={"Accept": "text/html"})
    too_large = send(
        f"{server}/sparql",
        method="POST",
        data=b"#" * (MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/sparql-query"},
    )

    assert posted.status == 200
    count = int(posted.json()["results"]["bindings"][0]["n"]["value"])
    assert count > 0
    assert download.status == 200
    assert len(parse_rdf_dataset(download.body, "nquads")) == count
    assert head.status == 200
    assert head.body == b""
    assert too_large.status == 413


def test_second_server_on_the_same_port_reports_it(server: str, tmp_path: Path) -> None:
    port = server.rsplit(":", 1)[1]
    result = subprocess.run(
        [
            str(NOTEKG),
            "serve",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--database",
            f"sqlite:///{tmp_path}/other.sqlite",
        ],
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Listening at" not in result.stderr


def test_serve_imports_web_libraries_before_fork(
    tmp_path: Path,
) -> None:
    # The workers then share these modules' memory. markupsafe's compiled module comes with
    # Flask's templates, which only a worker's app needs.
    process, port = start_serve(tmp_path, 2)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", process, tmp_path / "server.log")
        serving_maps = Path(f"/proc/{process.pid}/maps").read_text()
    finally:
        _stop(process)

    assert re.search(r"markupsafe/_speedups[^/\n]*\.so", serving_maps)


def test_every_log_line_names_its_process(tmp_path: Path) -> None:
    # The engine's files are built before the workers start, and their lines count too.
    process, port = start_serve(tmp_path, 2, settings={"NOTEKG_ENGINE_FILES_FROM": "1"})
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", process, tmp_path / "server.log")
    finally:
        _stop(process)

    lines = [
        line
        for line in (tmp_path / "server.log").read_text().splitlines()
        if re.match(r"\d{4}-\d\d-\d\d ", line)
    ]
    assert any("service.engine_files" in line for line in lines)
    assert [line for line in lines if not re.search(r" \[\d+\] ", line)] == []


def test_worker_start_drops_gauges_of_exited_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service import wsgi

    write_gauge = (
        "from prometheus_client import Gauge; "
        "Gauge('notekg_test', 'test', multiprocess_mode='liveall').set(1)"
    )
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", write_gauge], env=environment, check=True)
    assert list(tmp_path.glob("gauge_liveall_*.db"))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    wsgi._forget_exited_workers()

    assert not list(tmp_path.glob("gauge_liveall_*.db"))


def test_ctrl_c_stops_every_worker_and_query_process(tmp_path: Path) -> None:
    process, port = start_serve(tmp_path, 3, new_session=True)
    log_path = tmp_path / "server.log"
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, process, log_path)
        for number in range(12):
            query = f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {number + 1}"
            send(f"{url}/sparql?{urllib.parse.urlencode({'query': query})}")

        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    assert process.returncode == 0
    # Query processes exit once their worker is gone, which can take a moment.
    assert wait_for_group_exit(process.pid, CONVERGE_SECONDS), log_path.read_text()
    # Each worker's lines carry its process ID.
    creators = re.findall(r"\[(\d+)\] INFO service\.app: app created", log_path.read_text())
    assert len(set(creators)) == 3


def wait_for_group_exit(group: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
