"""Tests of the SQL store: generations, graph versions, failed writes and pruning.

Most tests run on a SQLite file and on the session's PostgreSQL server. Each PostgreSQL test
gets a database of its own, so that "empty store" means empty.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from conftest import free_port
from sqlalchemy import create_engine, delete, inspect, select, text

from service.store import (
    GENERATIONS_KEPT,
    GenerationChange,
    GenerationRow,
    GraphVersionRow,
    LabelCount,
    MentionSourceRow,
    NewGraph,
    RelinkedGraph,
    Store,
    StoreError,
)

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
KILLED_INGEST_TIMEOUT_SECONDS = 60


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return

    server_url: str = request.getfixturevalue("postgresql_url")
    name = f"notekg_store_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server_url.rsplit("/", 1)[0] + "/" + name
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    yield opened
    opened.close()


def new_graph(name: str, objects: list[str]) -> NewGraph:
    """Build a graph <https://notekg.example/id/graph/NAME> with one triple per object."""
    graph_iri = f"https://notekg.example/id/graph/{name}"
    lines = [
        f'<https://notekg.example/id/{name}> <https://notekg.example/ontology#value> "{value}" '
        f"<{graph_iri}> .\n"
        for value in objects
    ]
    return NewGraph(
        graph_iri=graph_iri,
        source=f"{name}.txt",
        content_hash=f"hash-{name}-{len(objects)}",
        nquads="".join(lines).encode("utf-8"),
        triple_count=len(objects),
    )


def versions_by_iri(store: Store, generation_id: int) -> dict[str, int]:
    """Return graph IRI -> graph version id for one generation."""
    return {version.graph_iri: version.id for version in store.graph_versions(generation_id)}


def test_empty_store_has_no_generation(store: Store) -> None:
    assert store.current_generation() is None
    assert store.current_generation_id() is None


def test_written_nquads_read_back_byte_for_byte(store: Store) -> None:
    first = new_graph("alpha", ["a1", "a2"])
    second = new_graph("beta", ["Zürich", "東京"])

    generation = store.write_generation(GenerationChange(added=[first, second], dropped=[]))

    assert list(store.iter_nquads(generation.id)) == [first.nquads, second.nquads]


def test_current_generation_is_the_written_one(store: Store) -> None:
    generation = store.write_generation(
        GenerationChange(added=[new_graph("alpha", ["a1"])], dropped=[], summary="first ingest")
    )

    current = store.current_generation()

    assert current == generation
    assert store.current_generation_id() == generation.id
    assert current is not None
    assert current.summary == "first ingest"


def test_generation_time_is_utc_after_reading(store: Store) -> None:
    store.write_generation(GenerationChange(added=[new_graph("alpha", ["a1"])], dropped=[]))

    current = store.current_generation()

    assert current is not None
    assert current.created_at.utcoffset() == UTC.utcoffset(None)


def test_replaced_graph_keeps_other_graph_version(store: Store) -> None:
    first = store.write_generation(
        GenerationChange(added=[new_graph("alpha", ["a1"]), new_graph("beta", ["b1"])], dropped=[])
    )
    second = store.write_generation(
        GenerationChange(added=[new_graph("alpha", ["a1", "a2"])], dropped=[])
    )

    before = versions_by_iri(store, first.id)
    after = versions_by_iri(store, second.id)

    beta = "https://notekg.example/id/graph/beta"
    alpha = "https://notekg.example/id/graph/alpha"
    assert after[beta] == before[beta]
    assert after[alpha] != before[alpha]
    assert sorted(after) == [alpha, beta]


def test_replaced_graph_serves_new_nquads(store: Store) -> None:
    store.write_generation(GenerationChange(added=[new_graph("alpha", ["a1"])], dropped=[]))
    replacement = new_graph("alpha", ["a2"])

    second = store.write_generation(GenerationChange(added=[replacement], dropped=[]))

    assert list(store.iter_nquads(second.id)) == [replacement.nquads]


def test_dropped_graph_disappears(store: Store) -> None:
    store.write_generation(
        GenerationChange(added=[new_graph("alpha", ["a1"]), new_graph("beta", ["b1"])], dropped=[])
    )

    second = store.write_generation(
        GenerationChange(added=[], dropped=["https://notekg.example/id/graph/beta"])
    )

    assert list(versions_by_iri(store, second.id)) == ["https://notekg.example/id/graph/alpha"]
    assert list(store.iter_nquads(second.id)) == [new_graph("alpha", ["a1"]).nquads]


def test_triple_counts_follow_changes(store: Store) -> None:
    first = store.write_generation(
        GenerationChange(
            added=[new_graph("alpha", ["a1", "a2"]), new_graph("beta", ["b1", "b2", "b3"])],
            dropped=[],
        )
    )
    second = store.write_generation(
        GenerationChange(added=[new_graph("alpha", ["a1"])], dropped=[])
    )
    third = store.write_generation(
        GenerationChange(added=[], dropped=["https://notekg.example/id/graph/beta"])
    )

    assert first.triple_count == 5
    assert second.triple_count == 4
    assert third.triple_count == 1
    assert [version.triple_count for version in store.graph_versions(second.id)] == [1, 3]


def test_graph_version_keeps_source_and_hash(store: Store) -> None:
    graph = new_graph("alpha", ["a1"])

    generation = store.write_generation(GenerationChange(added=[graph], dropped=[]))

    [version] = store.graph_versions(generation.id)
    assert version.source == "alpha.txt"
    assert version.content_hash == graph.content_hash


def test_failed_write_keeps_previous_generation(store: Store) -> None:
    kept = new_graph("alpha", ["a1"])
    previous = store.write_generation(GenerationChange(added=[kept], dropped=[]))
    not_bytes = new_graph("beta", ["b1"])
    not_bytes.nquads = "text instead of bytes"  # type: ignore[assignment]

    with pytest.raises(TypeError):
        store.write_generation(
            GenerationChange(added=[new_graph("gamma", ["c1"]), not_bytes], dropped=[])
        )

    assert store.current_generation() == previous
    assert list(store.iter_nquads(previous.id)) == [kept.nquads]


def test_crash_mid_write_keeps_previous_generation(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = new_graph("alpha", ["a1"])
    previous = store.write_generation(GenerationChange(added=[kept], dropped=[]))
    real_compress = zlib.compress
    calls = []

    # Stands in for a crash after the first new graph version is inserted.
    def compress_then_crash(data: bytes, level: int = -1) -> bytes:
        calls.append(data)
        if len(calls) == 2:
            raise RuntimeError("simulated crash while compressing the second graph")
        return real_compress(data, level)

    monkeypatch.setattr(zlib, "compress", compress_then_crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.write_generation(
            GenerationChange(
                added=[new_graph("beta", ["b1"]), new_graph("gamma", ["c1"])],
                dropped=["https://notekg.example/id/graph/alpha"],
            )
        )
    monkeypatch.undo()

    assert len(calls) == 2
    assert store.current_generation() == previous
    assert list(store.iter_nquads(previous.id)) == [kept.nquads]


def test_write_after_failed_write_succeeds(store: Store) -> None:
    store.write_generation(GenerationChange(added=[new_graph("alpha", ["a1"])], dropped=[]))
    not_bytes = new_graph("beta", ["b1"])
    not_bytes.nquads = None  # type: ignore[assignment]
    with pytest.raises(TypeError):
        store.write_generation(GenerationChange(added=[not_bytes], dropped=[]))

    generation = store.write_generation(
        GenerationChange(added=[new_graph("beta", ["b1"])], dropped=[])
    )

    assert store.current_generation_id() == generation.id
    assert generation.triple_count == 2


# The child process pauses inside the write transaction, right after it inserted the first
# graph version, and the test kills it there with SIGKILL.
KILLED_INGEST_SCRIPT = textwrap.dedent(
    """
    import sys
    import time

    from sqlalchemy import event

    from service.store import GenerationChange, NewGraph, Store

    store = Store(sys.argv[1])

    @event.listens_for(store.engine, "after_cursor_execute")
    def pause_inside_transaction(connection, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO GRAPH_VERSION"):
            print("inside the write transaction", flush=True)
            time.sleep(600)

    nquads = b"".join(
        b'<https://notekg.example/id/big> <https://notekg.example/ontology#n> "%d" '
        b'<https://notekg.example/id/graph/big> .\\n' % number
        for number in range(100_000)
    )
    store.write_generation(
        GenerationChange(
            added=[
                NewGraph("https://notekg.example/id/graph/big", "big.txt", "h", nquads, 100_000)
            ],
            dropped=["https://notekg.example/id/graph/alpha"],
        )
    )
    print("the write was committed", flush=True)
    """
)


def test_killed_ingest_keeps_previous_generation(database_url: str) -> None:
    store = Store(database_url)
    kept = new_graph("alpha", ["a1"])
    previous = store.write_generation(GenerationChange(added=[kept], dropped=[]))
    store.close()

    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_INGEST_SCRIPT, database_url],
        cwd=REPOSITORY_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = child.stdout.readline() if child.stdout else ""
        child.send_signal(signal.SIGKILL)
        _, stderr = child.communicate(timeout=KILLED_INGEST_TIMEOUT_SECONDS)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert first_line == "inside the write transaction\n", stderr
    assert child.returncode == -signal.SIGKILL

    reopened = Store(database_url)
    try:
        assert reopened.current_generation() == previous
        assert list(reopened.iter_nquads(previous.id)) == [kept.nquads]
        after = reopened.write_generation(
            GenerationChange(added=[new_graph("beta", ["b1"])], dropped=[])
        )
        assert after.triple_count == 2
    finally:
        reopened.close()


def test_reopened_store_reads_same_generation(database_url: str) -> None:
    graph = new_graph("alpha", ["a1", "a2"])
    first = Store(database_url)
    generation = first.write_generation(GenerationChange(added=[graph], dropped=[]))
    first.close()

    second = Store(database_url)
    try:
        assert second.current_generation() == generation
        assert list(second.iter_nquads(generation.id)) == [graph.nquads]
    finally:
        second.close()


def test_prune_keeps_newest_generations(store: Store) -> None:
    store.write_generation(GenerationChange(added=[new_graph("beta", ["b1"])], dropped=[]))
    written = [
        store.write_generation(
            GenerationChange(added=[new_graph("alpha", [f"a{number}"])], dropped=[])
        ).id
        for number in range(GENERATIONS_KEPT + 2)
    ]

    with store.engine.connect() as connection:
        remaining = list(connection.scalars(select(GenerationRow.id).order_by(GenerationRow.id)))

    assert remaining == written[-GENERATIONS_KEPT:]
    assert store.graph_versions(written[0]) == []


def test_prune_deletes_orphan_graph_versions(store: Store) -> None:
    store.write_generation(GenerationChange(added=[new_graph("beta", ["b1"])], dropped=[]))
    for number in range(GENERATIONS_KEPT + 2):
        store.write_generation(
            GenerationChange(added=[new_graph("alpha", [f"a{number}"])], dropped=[])
        )

    with store.engine.connect() as connection:
        stored = set(connection.scalars(select(GraphVersionRow.id)))
        kept_generations = list(connection.scalars(select(GenerationRow.id)))
    used = {
        version.id
        for generation_id in kept_generations
        for version in store.graph_versions(generation_id)
    }

    # beta from the first generation, plus one alpha per kept generation.
    assert stored == used
    assert len(stored) == GENERATIONS_KEPT + 1


def test_unparsable_url_raises_store_error() -> None:
    with pytest.raises(StoreError, match=r"invalid database URL 'not a url'.*sqlite:///PATH"):
        Store("not a url")


def test_unknown_dialect_raises_store_error() -> None:
    with pytest.raises(StoreError, match=r"no database driver for nosuchdb://.*sqlite:///PATH"):
        Store("nosuchdb://127.0.0.1/notekg")


def test_unknown_dialect_error_names_the_postgresql_extra() -> None:
    with pytest.raises(StoreError, match=r"install the postgresql extra"):
        Store("nosuchdb://127.0.0.1/notekg")


OPEN_STORE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from service.store import Store
    store = Store(sys.argv[1])
    store.set_info("opened", "yes")
    print("open", flush=True)
    time.sleep(60)
    """
)


def test_left_journal_files_named_in_open_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    # A process keeps the store open, as a server does, while its file is moved away.
    child = subprocess.Popen(
        [sys.executable, "-c", OPEN_STORE_SCRIPT, f"sqlite:///{path}"],
        cwd=REPOSITORY_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        opened = child.stdout.readline() if child.stdout else ""
        path.rename(tmp_path / "moved.sqlite")
        with pytest.raises(StoreError) as raised:
            Store(f"sqlite:///{path}")
    finally:
        child.kill()
        child.communicate()

    assert opened == "open\n"
    message = str(raised.value)
    assert "disk I/O error" in message
    assert f"{path}-wal and {path}-shm are left from it" in message
    assert "remove these files and try again" in message
    # The advice works.
    for name in (f"{path}", f"{path}-wal", f"{path}-shm"):
        Path(name).unlink(missing_ok=True)
    Store(f"sqlite:///{path}").close()


def test_file_that_is_not_sqlite_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("not a database\n" * 200, encoding="utf-8")

    with pytest.raises(StoreError, match=r"cannot use the store .*: file is not a database; give"):
        Store(f"sqlite:///{path}")


def test_unreachable_server_error_hides_password() -> None:
    url = f"postgresql+psycopg://notekg:secret-password@127.0.0.1:{free_port()}/notekg"

    with pytest.raises(StoreError) as raised:
        Store(url)

    assert "cannot open the store" in str(raised.value)
    assert "secret-password" not in str(raised.value)


def test_sqlite_path_in_missing_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "nested" / "store.sqlite"

    store = Store(f"sqlite:///{path}")
    store.write_generation(GenerationChange(added=[new_graph("alpha", ["a1"])], dropped=[]))
    store.close()

    assert path.is_file()


def test_concurrent_writers_keep_both_changes(database_url: str) -> None:
    import threading

    first = Store(database_url)
    first.write_generation(GenerationChange([new_graph("base", ["b"])], []))
    first.close()
    errors: list[BaseException] = []

    def write(name: str) -> None:
        store = Store(database_url)
        try:
            store.write_generation(GenerationChange([new_graph(name, [name])], []))
        except BaseException as error:
            errors.append(error)
        finally:
            store.close()

    threads = [threading.Thread(target=write, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    store = Store(database_url)
    newest = store.current_generation_id()
    names = {version.graph_iri.rsplit("/", 1)[-1] for version in store.graph_versions(newest or 0)}
    store.close()
    assert errors == []
    assert names == {"base", "left", "right"}


def graph_with_mentions(name: str, text: str) -> NewGraph:
    """Build graph NAME with one label, one problem and one mention text, and no mention lines."""
    graph = new_graph(name, ["v1"])
    graph.labels = [(f"https://notekg.example/id/{name}", name.title())]
    graph.problems = [(3, f"a warning about {name}")]
    graph.mention_texts = [(f"https://notekg.example/id/{name}", text)]
    graph.mention_tokens = set(text.split())
    return graph


def test_relinked_graph_keeps_version_rows(store: Store) -> None:
    first = store.write_generation(
        GenerationChange(
            added=[graph_with_mentions("alpha", "Notes on Sparse Attention")], dropped=[]
        )
    )
    [old] = store.graph_versions(first.id)
    mention = (
        b"<https://notekg.example/id/alpha> <https://notekg.example/ontology#mentions> "
        b"<https://notekg.example/id/beta> <https://notekg.example/id/graph/alpha> .\n"
    )
    nquads = graph_with_mentions("alpha", "").nquads + mention
    relinked = RelinkedGraph(old.id, old.graph_iri, nquads, 2, mention_count=1)

    second = store.write_generation(GenerationChange(added=[], dropped=[], relinked=[relinked]))
    [new] = store.graph_versions(second.id)
    [stored] = store.stored_mentions([new.id])

    assert new.id != old.id
    assert (new.source, new.content_hash, new.triple_count) == (old.source, old.content_hash, 2)
    assert second.triple_count == 2
    assert list(store.iter_nquads(second.id)) == [nquads]
    assert store.labels(second.id) == store.labels(first.id)
    assert store.problems(second.id) == store.problems(first.id)
    assert stored.texts == [("https://notekg.example/id/alpha", "Notes on Sparse Attention")]
    assert stored.mention_count == 1
    assert store.versions_with_tokens(second.id, [["Sparse", "Attention"]]) == [new.id]


def test_versions_with_tokens_need_every_token(store: Store) -> None:
    generation = store.write_generation(
        GenerationChange(
            added=[
                graph_with_mentions("alpha", "Notes on Sparse Attention"),
                graph_with_mentions("beta", "Sparse retrieval"),
            ],
            dropped=[],
        )
    )
    versions = versions_by_iri(store, generation.id)
    alpha = versions["https://notekg.example/id/graph/alpha"]
    beta = versions["https://notekg.example/id/graph/beta"]

    assert store.versions_with_tokens(generation.id, [["Sparse", "Attention"]]) == [alpha]
    assert store.versions_with_tokens(generation.id, [["Sparse"]]) == sorted([alpha, beta])
    assert store.versions_with_tokens(generation.id, [["Dense", "Attention"], ["retrieval"]]) == [
        beta
    ]
    assert store.versions_with_tokens(generation.id, [["Dense"]]) == []


def test_long_token_found_by_its_prefix(store: Store) -> None:
    long_token = "Z" * 3000
    generation = store.write_generation(
        GenerationChange(added=[graph_with_mentions("alpha", f"see {long_token}")], dropped=[])
    )
    [version] = store.graph_versions(generation.id)

    assert store.versions_with_tokens(generation.id, [[long_token]]) == [version.id]
    assert store.versions_with_tokens(generation.id, [[long_token + "Y"]]) == [version.id]


def test_untracked_graphs_are_those_without_texts(store: Store) -> None:
    generation = store.write_generation(
        GenerationChange(
            added=[graph_with_mentions("alpha", "Some text"), new_graph("beta", ["b1"])],
            dropped=[],
        )
    )
    assert store.untracked_graphs(generation.id) == []
    beta = versions_by_iri(store, generation.id)["https://notekg.example/id/graph/beta"]

    # Graph versions written by an earlier notekg have no mention_source row.
    with store.engine.begin() as connection:
        connection.execute(
            delete(MentionSourceRow).where(MentionSourceRow.graph_version_id == beta)
        )

    assert store.untracked_graphs(generation.id) == [
        ("https://notekg.example/id/graph/beta", "beta.txt")
    ]


# ---------------------------------------------------------------------------
# Label lookups by first token, file stamps, and columns added to older stores
# ---------------------------------------------------------------------------


def graph_with_labels(name: str, labels: list[tuple[str, str]]) -> NewGraph:
    """Build graph NAME whose labels have their first words as first tokens."""
    graph = new_graph(name, ["v1"])
    graph.labels = labels
    graph.label_first_tokens = [label.split()[0] for _, label in labels]
    return graph


def test_labels_starting_with_count_graphs(store: Store) -> None:
    sparse = ("https://notekg.example/id/sparse", "Sparse Attention")
    ring = ("https://notekg.example/id/ring", "Ring Buffers")
    generation = store.write_generation(
        GenerationChange(
            added=[
                graph_with_labels("alpha", [sparse, ring]),
                graph_with_labels("beta", [sparse]),
            ],
            dropped=[],
        )
    )

    found = store.labels_starting_with(generation.id, ["Sparse", "Other"])

    assert found == [LabelCount(*sparse, count=2)]
    assert store.labels_starting_with(generation.id, ["Attention"]) == []


def test_labels_without_first_token_always_returned(store: Store) -> None:
    graph = new_graph("alpha", ["v1"])
    graph.labels = [("https://notekg.example/id/sparse", "Sparse Attention")]
    generation = store.write_generation(GenerationChange(added=[graph], dropped=[]))

    found = store.labels_starting_with(generation.id, ["Unrelated"])
    filled = store.fill_label_first_tokens(lambda label: label.split()[0])

    assert found == [LabelCount("https://notekg.example/id/sparse", "Sparse Attention", 1)]
    assert filled == 1
    assert store.labels_starting_with(generation.id, ["Unrelated"]) == []
    assert store.fill_label_first_tokens(lambda label: label.split()[0]) == 0


def test_label_count_mismatch_is_rejected(store: Store) -> None:
    graph = graph_with_labels("alpha", [("https://notekg.example/id/a", "Alpha")])
    graph.label_first_tokens = []

    with pytest.raises(ValueError, match="1 labels but 0 first tokens"):
        store.write_generation(GenerationChange(added=[graph], dropped=[]))

    assert store.current_generation_id() is None


def test_labels_in_graphs_of_generation(store: Store) -> None:
    alpha = graph_with_labels("alpha", [("https://notekg.example/id/a", "Alpha")])
    beta = graph_with_labels("beta", [("https://notekg.example/id/b", "Beta")])
    generation = store.write_generation(GenerationChange(added=[alpha, beta], dropped=[]))

    found = store.labels_in_graphs(generation.id, [beta.graph_iri, "https://other.example/g"])

    assert found == [("https://notekg.example/id/b", "Beta", beta.graph_iri)]


def test_file_stamps_recorded_and_kept_by_relinking(store: Store) -> None:
    graph = graph_with_mentions("alpha", "Notes on Sparse Attention")
    graph.file_stamp = "12:34:56:78:settings"
    first = store.write_generation(GenerationChange(added=[graph], dropped=[]))
    [old] = store.graph_versions(first.id)
    relinked = RelinkedGraph(old.id, old.graph_iri, graph.nquads, 1, mention_count=0)
    second = store.write_generation(GenerationChange(added=[], dropped=[], relinked=[relinked]))
    [new] = store.graph_versions(second.id)

    store.record_file_stamps({new.id: "99:34:56:78:settings"})
    [recorded] = store.graph_versions(second.id)

    assert old.file_stamp == "12:34:56:78:settings"
    assert new.file_stamp == "12:34:56:78:settings"
    assert recorded.file_stamp == "99:34:56:78:settings"
    assert store.graph_versions(first.id)[0].file_stamp == "12:34:56:78:settings"


def test_generation_triple_count_after_replace_and_drop(store: Store) -> None:
    store.write_generation(
        GenerationChange(
            added=[new_graph("alpha", ["a1", "a2"]), new_graph("beta", ["b1", "b2", "b3"])],
            dropped=[],
        )
    )

    replaced = store.write_generation(
        GenerationChange(added=[new_graph("alpha", ["a1"])], dropped=[])
    )
    dropped = store.write_generation(
        GenerationChange(added=[], dropped=["https://notekg.example/id/graph/beta"])
    )

    assert replaced.triple_count == 4
    assert dropped.triple_count == 1


# The tables generation, graph_version and entity_label as notekg created them before it
# stored file stamps and first tokens.
OLDER_TABLES = [
    """CREATE TABLE generation (id INTEGER NOT NULL, created_at DATETIME NOT NULL,
    triple_count INTEGER NOT NULL, summary TEXT NOT NULL, PRIMARY KEY (id))""",
    """CREATE TABLE graph_version (id INTEGER NOT NULL, graph_iri VARCHAR(2048) NOT NULL,
    source VARCHAR(4096) NOT NULL, content_hash VARCHAR(64) NOT NULL,
    triple_count INTEGER NOT NULL, nquads BLOB NOT NULL, PRIMARY KEY (id))""",
    """CREATE TABLE entity_label (id INTEGER NOT NULL, graph_version_id INTEGER NOT NULL,
    iri VARCHAR(2048) NOT NULL, label TEXT NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(graph_version_id) REFERENCES graph_version (id) ON DELETE CASCADE)""",
    """INSERT INTO graph_version VALUES (1, 'https://notekg.example/id/graph/alpha',
    'alpha.txt', 'hash', 0, x'789c030000000001')""",
    """INSERT INTO entity_label VALUES (1, 1, 'https://notekg.example/id/a', 'Alpha Label')""",
]


def test_older_store_gets_new_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'older.sqlite'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in OLDER_TABLES:
            connection.execute(text(statement))
    engine.dispose()

    store = Store(url)
    columns = inspect(store.engine)
    version_columns = {column["name"] for column in columns.get_columns("graph_version")}
    label_columns = {column["name"] for column in columns.get_columns("entity_label")}
    label_indexes = {index["name"] for index in columns.get_indexes("entity_label")}
    with store.engine.connect() as connection:
        stamp, token = connection.execute(
            text(
                "SELECT file_stamp, first_token FROM graph_version, entity_label "
                "WHERE entity_label.graph_version_id = graph_version.id"
            )
        ).one()
    reopened = Store(url)
    store.close()
    reopened.close()

    assert "file_stamp" in version_columns
    assert "first_token" in label_columns
    assert "ix_entity_label_first_token_version" in label_indexes
    assert (stamp, token) == (None, None)


def test_info_is_kept_and_replaced(store: Store) -> None:
    assert store.info("ingest_mapping") is None

    store.set_info("ingest_mapping", "abc mapping.yaml")
    store.set_info("ingest_mapping", "def other.yaml")

    assert store.info("ingest_mapping") == "def other.yaml"
    store_id = store.store_id()
    assert store.info("store_id") == store_id
