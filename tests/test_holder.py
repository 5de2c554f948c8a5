"""Tests of EngineHolder: it follows the store's newest generation, at most every interval."""

from __future__ import annotations

import logging
import os
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import live_children, wait_until
from servers import send, serve_store
from sqlalchemy import text

from service.engine_files import EngineFilesError
from service.holder import REPLACED_ENGINE_GRACE_SECONDS, EngineHolder
from service.settings import load_config
from service.store import GenerationChange, NewGraph, Store

GRAPH = "https://notekg.example/id/graph/alpha"


def graph_with_value(value: str) -> NewGraph:
    nquads = (
        f'<https://notekg.example/id/alpha> <https://notekg.example/ontology#value> "{value}" '
        f"<{GRAPH}> .\n"
    ).encode()
    return NewGraph(GRAPH, "alpha.txt", f"hash-{value}", nquads, 1)


def write_value(database_url: str, value: str) -> int:
    store = Store(database_url)
    try:
        generation = store.write_generation(
            GenerationChange(added=[graph_with_value(value)], dropped=[])
        )
    finally:
        store.close()
    return generation.id


def served_value(holder: EngineHolder) -> str:
    result = holder.engine().query("SELECT ?v WHERE { ?s ?p ?v }")
    return str(result.bindings()[0]["v"].value)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    write_value(url, "first")
    return url


def open_holder(database_url: str, reload_interval: float) -> EngineHolder:
    """Open a holder whose engine uses the engine's files on disk, as for a large store."""
    config = load_config(
        {"database_url": database_url, "reload_interval": reload_interval, "engine_files_from": 0},
        environ={},
    )
    return EngineHolder(config)


@pytest.fixture
def holder(database_url: str) -> Iterator[EngineHolder]:
    opened = open_holder(database_url, reload_interval=0.05)
    yield opened
    opened.close()


def test_holder_starts_on_current_generation(holder: EngineHolder) -> None:
    assert holder.engine().generation == 1
    assert served_value(holder) == "first"


def test_large_generation_uses_engine_files(holder: EngineHolder, tmp_path: Path) -> None:
    folder = holder.engine().folder

    assert folder is not None
    assert folder.path == tmp_path / "store.sqlite.oxigraph" / "generation-1"


def test_small_generation_loads_into_memory(database_url: str, tmp_path: Path) -> None:
    config = load_config({"database_url": database_url, "engine_files_from": 2}, environ={})
    holder = EngineHolder(config)
    try:
        assert holder.engine().folder is None
        assert served_value(holder) == "first"
        assert not (tmp_path / "store.sqlite.oxigraph").exists()
    finally:
        holder.close()


def test_holder_reloads_after_new_generation(holder: EngineHolder, database_url: str) -> None:
    newest = write_value(database_url, "second")
    time.sleep(0.1)

    assert holder.engine().generation == newest
    assert served_value(holder) == "second"


def test_holder_keeps_engine_within_reload_interval(database_url: str) -> None:
    holder = open_holder(database_url, reload_interval=3600)
    try:
        write_value(database_url, "second")

        assert holder.engine().generation == 1
        assert served_value(holder) == "first"
    finally:
        holder.close()


def test_holder_keeps_engine_when_generation_unchanged(holder: EngineHolder) -> None:
    before = holder.engine()
    time.sleep(0.1)

    assert holder.engine() is before


def test_reload_failure_keeps_old_engine(
    holder: EngineHolder, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    write_value(database_url, "second")
    # The engine's files of the new generation cannot be built where a file takes the folder.
    assert holder.files is not None
    shutil.rmtree(holder.files.root)
    holder.files.root.write_text("not a folder")
    time.sleep(0.1)

    with caplog.at_level(logging.ERROR, logger="service.holder"):
        engine = holder.engine()

    assert engine.generation == 1
    assert served_value(holder) == "first"
    assert "reload from the store failed; still serving generation 1" in caplog.text
    assert "cannot create the folder of the query engine's files" in caplog.text


def test_failed_memory_reload_keeps_engine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    write_value(database_url, "first")
    config = load_config({"database_url": database_url, "reload_interval": 0.05}, environ={})
    holder = EngineHolder(config)
    write_value(database_url, "second")
    # A new generation whose graph versions cannot be read: the reload fails while loading.
    with holder.store.engine.begin() as connection:
        connection.execute(text("DROP TABLE graph_version"))

    with caplog.at_level(logging.INFO, logger="service.holder"):
        for _ in range(4):
            time.sleep(0.06)
            assert holder.engine().generation == 1
    failures = [record for record in caplog.records if "failed" in record.getMessage()]

    assert len(failures) == 1, "the same error is logged once"
    assert failures[0].exc_info is None, "without a traceback"
    assert "no such table: graph_version" in failures[0].getMessage()
    assert "still serving generation 1" in failures[0].getMessage()
    holder.close()


def test_damaged_engine_files_give_a_clear_error(database_url: str, tmp_path: Path) -> None:
    open_holder(database_url, reload_interval=3600).close()
    folder = tmp_path / "store.sqlite.oxigraph" / "generation-1"
    for path in (folder / "named").glob("*.sst"):
        path.unlink()

    with pytest.raises(EngineFilesError, match="delete that folder") as caught:
        open_holder(database_url, reload_interval=3600)

    assert str(folder) in str(caught.value)


def test_replaced_sqlite_file_is_served(
    holder: EngineHolder, database_url: str, tmp_path: Path
) -> None:
    assert served_value(holder) == "first"
    for path in tmp_path.glob("store.sqlite*"):
        if path.is_file():
            path.unlink()
    write_value(database_url, "replaced")
    time.sleep(0.1)

    engine = holder.engine()

    assert engine.generation == 1
    assert served_value(holder) == "replaced"


@pytest.mark.parametrize(
    ("base_iri", "warned"),
    [("https://notekg.example/id/", False), ("https://other.example/id/", True)],
    ids=["same-base", "other-base"],
)
def test_holder_warns_when_no_iri_under_base(
    database_url: str, caplog: pytest.LogCaptureFixture, base_iri: str, warned: bool
) -> None:
    config = load_config({"database_url": database_url, "base_iri": base_iri}, environ={})
    with caplog.at_level(logging.WARNING, logger="service.holder"):
        opened = EngineHolder(config)
    opened.close()

    warnings = [
        record.getMessage() for record in caplog.records if "base IRI" in record.getMessage()
    ]
    assert bool(warnings) is warned
    if warned:
        assert f"under the base IRI {base_iri}, so every entity page" in warnings[0]
        assert "if notekg ingest used another --base-iri, serve with that one" in warnings[0]


def test_replaced_engine_stops_query_processes(database_url: str) -> None:
    config = load_config(
        {
            "database_url": database_url,
            "reload_interval": 0.05,
            "engine_files_from": 0,
            "query_timeout": 0.2,
        },
        environ={},
    )
    holder = EngineHolder(config)
    try:
        replaced = holder.engine()
        replaced.start_query_processes()
        template = replaced._query_processes().template_pid
        write_value(database_url, "second")
        time.sleep(0.1)
        current = holder.engine()

        assert current.generation == 2
        assert template in live_children(os.getpid())
        # The replaced engine's template exits after the time limit and the grace period.
        wait_until(
            lambda: template not in live_children(os.getpid()),
            timeout=0.2 + REPLACED_ENGINE_GRACE_SECONDS + 5,
        )
        assert served_value(holder) == "second"
    finally:
        holder.close()


def test_replaced_sqlite_file_empties_caches(database_url: str, tmp_path: Path) -> None:
    query = "/sparql?query=" + urllib.parse.quote("SELECT ?v WHERE { ?s ?p ?v }")
    accept = {"Accept": "text/csv"}
    with serve_store(database_url, reload_interval=0.05) as live:
        first = send(live.url + query, headers=accept)
        first_dump = send(live.url + "/download/graph.nt")
        for path in tmp_path.glob("store.sqlite*"):
            if path.is_file():
                path.unlink()
        write_value(database_url, "replaced")
        time.sleep(0.1)
        send(live.url + "/health")

        again = send(live.url + query, headers=accept)
        dump = send(live.url + "/download/graph.nt")
        # The old entity tag finds no match: the new store's generation 1 is another graph.
        revalidated = send(
            live.url + "/download/graph.nt",
            headers={"If-None-Match": first_dump.headers["ETag"]},
        )

    assert first.body.decode().splitlines() == ["v", "first"]
    assert again.body.decode().splitlines() == ["v", "replaced"]
    assert b'"replaced"' in dump.body
    assert b'"first"' not in dump.body
    assert dump.headers["ETag"] != first_dump.headers["ETag"]
    assert revalidated.status == 200


def test_deleted_sqlite_file_is_logged_once(
    holder: EngineHolder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="service.store")
    for path in tmp_path.glob("store.sqlite*"):
        if path.is_file():
            path.unlink()

    for _ in range(3):
        time.sleep(0.06)
        holder.engine()

    missing_file_logs = [record for record in caplog.records if "is gone" in record.getMessage()]
    assert len(missing_file_logs) == 1
    assert served_value(holder) == "first"
