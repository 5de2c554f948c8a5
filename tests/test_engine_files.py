"""The query engine's files: Oxigraph stores on disk, one folder per generation.

The folders are built by the real builder program in a child process, and the engine opens
them read-only, as the server does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from notekg.cli import main
from service import engine_files, query_processes
from service.engine import OxigraphEngine, QueryResult, QueryTimeout
from service.engine_files import (
    DATABASE_URL_VARIABLE,
    EngineFiles,
    EngineFilesError,
    GenerationFolder,
    default_folder,
)
from service.store import GenerationChange, NewGraph, Store

EX = "https://notekg.example/id/"
GRAPH_A = EX + "graph/a"
GRAPH_B = EX + "graph/b"
GRAPH_C = EX + "graph/c"
XSD = "http://www.w3.org/2001/XMLSchema#"

SHARED = f'<{EX}alice> <{EX}name> "Alice Ångström"@sv'


def nquads(graph: str, *triples: str) -> bytes:
    return "".join(f"{triple} <{graph}> .\n" for triple in triples).encode()


GRAPHS = {
    GRAPH_A: nquads(GRAPH_A, SHARED, f"<{EX}alice> <{EX}knows> <{EX}bob>"),
    GRAPH_B: nquads(
        GRAPH_B,
        SHARED,
        f'<{EX}bob> <{EX}height> "1.72"^^<{XSD}decimal>',
        f"<{EX}bob> <{EX}address> _:home",
        f'_:home <{EX}city> "Zürich"',
    ),
}


def write(store: Store, added: dict[str, bytes], dropped: tuple[str, ...] = ()) -> int:
    graphs = [
        NewGraph(
            iri,
            source=f"{iri}.txt",
            content_hash=str(hash(data)),
            nquads=data,
            triple_count=data.count(b"\n"),
        )
        for iri, data in added.items()
    ]
    return store.write_generation(GenerationChange(added=graphs, dropped=list(dropped))).id


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    yield opened
    opened.close()


@pytest.fixture
def files(tmp_path: Path, database_url: str) -> EngineFiles:
    return EngineFiles(tmp_path / "engine", database_url)


def contents(folder: GenerationFolder) -> tuple[set[str], set[str]]:
    """Return the quads of named/ and the triples of merged/, as N-Quads lines."""
    named = ox.Store.read_only(str(folder.named_path))
    merged = ox.Store.read_only(str(folder.merged_path))
    return {str(quad) for quad in named}, {str(quad) for quad in merged}


def expected_contents(graphs: dict[str, bytes]) -> tuple[set[str], set[str]]:
    quads = [
        quad for data in graphs.values() for quad in ox.parse(data, format=ox.RdfFormat.N_QUADS)
    ]
    return {str(quad) for quad in quads}, {
        str(ox.Quad(quad.subject, quad.predicate, quad.object)) for quad in quads
    }


def run_builder(
    folder: Path, generation: int, database_url: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "service.engine_files",
            "--folder",
            str(folder),
            "--generation",
            str(generation),
        ],
        env={**os.environ, DATABASE_URL_VARIABLE: database_url},
        capture_output=True,
        text=True,
        check=False,
    )


# What a folder contains


def test_folder_has_graphs_and_merge(store: Store, files: EngineFiles) -> None:
    generation = write(store, GRAPHS)

    folder = files.prepare(store, generation)

    named, merged = contents(folder)
    assert (named, merged) == expected_contents(GRAPHS)
    # The triple that both graphs state is one triple of the merge.
    assert len(merged) == len(named) - 1
    assert (folder.quads, folder.triples) == (len(named), len(merged))
    assert folder.graphs == {version.graph_iri: version.id for version in store.graph_versions(1)}


# Run in a new process, which has never opened a RocksDB store, as notekg serve runs it.
FORKED_PREPARE = """
import sys
from pathlib import Path
from service.engine_files import EngineFiles, EngineFilesError
from service.store import Store

url, root, generation = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
store = Store(url)
try:
    print(EngineFiles(root, url).prepare(store, generation, fork=True).path)
except EngineFilesError as error:
    print(error)
    sys.exit(3)
"""


def prepare_forked(
    database_url: str, root: Path, generation: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", FORKED_PREPARE, database_url, str(root), str(generation)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_forked_builder_builds_the_folder(store: Store, tmp_path: Path, database_url: str) -> None:
    generation = write(store, GRAPHS)

    done = prepare_forked(database_url, tmp_path / "engine", generation)

    assert done.returncode == 0, done.stderr
    folder = engine_files.read_folder(Path(done.stdout.strip()), store.store_id(), generation)
    assert folder is not None
    assert contents(folder) == expected_contents(GRAPHS)


def test_forked_builder_failure_is_reported(
    store: Store, tmp_path: Path, database_url: str
) -> None:
    generation = write(store, GRAPHS)
    root = tmp_path / "engine"
    # The builder cannot open its lock file where a folder has the lock file's name.
    (root / engine_files.LOCK_FILE).mkdir(parents=True)

    done = prepare_forked(database_url, root, generation)

    assert done.returncode == 3
    assert f"building the query engine's files of generation {generation}" in done.stdout
    assert "could not build the query engine's files" in done.stderr


def test_blank_node_same_in_both_stores(store: Store, files: EngineFiles) -> None:
    folder = files.prepare(store, write(store, GRAPHS))

    named, merged = contents(folder)

    assert any("_:home" in quad for quad in named)
    assert any("_:home" in triple for triple in merged)


def test_prepare_reuses_published_folder(store: Store, files: EngineFiles) -> None:
    generation = write(store, GRAPHS)
    first = files.prepare(store, generation)
    manifest_time = (first.path / engine_files.MANIFEST).stat().st_mtime_ns

    again = files.prepare(store, generation)

    assert again == first
    assert (again.path / engine_files.MANIFEST).stat().st_mtime_ns == manifest_time


# Building a generation from the folder of an older one


def test_changed_generation_equals_full_build(
    store: Store, files: EngineFiles, database_url: str, tmp_path: Path
) -> None:
    files.prepare(store, write(store, GRAPHS))
    changed_a = nquads(GRAPH_A, f"<{EX}alice> <{EX}knows> <{EX}carol>")
    added_c = nquads(GRAPH_C, f'<{EX}carol> <{EX}name> "Carol"')
    generation = write(store, {GRAPH_A: changed_a, GRAPH_C: added_c})

    built = run_builder(files.root, generation, database_url)
    fresh = EngineFiles(tmp_path / "fresh", database_url).prepare(store, generation)

    assert built.returncode == 0, built.stderr
    assert "from generation 1" in built.stderr
    # The builder's lines name its process, as the lines of the workers that start it do.
    assert re.search(r"\[\d+\] INFO service\.engine_files: building", built.stderr)
    folder = engine_files.read_folder(
        files.root / f"generation-{generation}", store.store_id(), generation
    )
    assert folder is not None
    assert contents(folder) == contents(fresh)
    assert contents(folder) == expected_contents({**GRAPHS, GRAPH_A: changed_a, GRAPH_C: added_c})


def test_copied_folder_shares_files(store: Store, files: EngineFiles) -> None:
    first = files.prepare(store, write(store, GRAPHS))
    second = files.prepare(store, write(store, {GRAPH_C: nquads(GRAPH_C, SHARED)}))

    shared = [
        path.name
        for path in second.named_path.glob("*.sst")
        if (first.named_path / path.name).exists()
        and (first.named_path / path.name).stat().st_ino == path.stat().st_ino
    ]

    assert shared


def test_merged_triple_kept_while_stated(store: Store, files: EngineFiles) -> None:
    files.prepare(store, write(store, GRAPHS))

    without_a = files.prepare(
        store, store.write_generation(GenerationChange(added=[], dropped=[GRAPH_A])).id
    )
    without_both = files.prepare(
        store, store.write_generation(GenerationChange(added=[], dropped=[GRAPH_B])).id
    )

    shared = str(next(iter(ox.parse(f"{SHARED} .".encode(), format=ox.RdfFormat.N_TRIPLES))))
    assert shared in contents(without_a)[1]
    assert contents(without_both) == (set(), set())


def test_many_changes_load_everything(
    store: Store, files: EngineFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = files.prepare(store, write(store, GRAPHS))
    monkeypatch.setattr(engine_files, "INCREMENTAL_GRAPHS", 1)
    one_change = {GRAPH_A: 10, GRAPH_B: base.graphs[GRAPH_B]}
    two_changes = {GRAPH_A: 10, GRAPH_B: 11}

    from_base = engine_files._base_folder(files.root, store.store_id(), 2, one_change)
    from_nothing = engine_files._base_folder(files.root, store.store_id(), 2, two_changes)

    assert from_base == base
    assert from_nothing is None


# Folders that belong to nothing any more


def test_deleted_database_folder_rebuilt(
    tmp_path: Path, database_url: str, files: EngineFiles
) -> None:
    first_store = Store(database_url)
    files.prepare(first_store, write(first_store, GRAPHS))
    first_store.close()
    for path in tmp_path.glob("store.sqlite*"):
        path.unlink()

    second_store = Store(database_url)
    other = {GRAPH_C: nquads(GRAPH_C, f"<{EX}carol> <{EX}knows> <{EX}dave>")}
    folder = files.prepare(second_store, write(second_store, other))
    second_store.close()

    assert folder.generation == 1
    assert contents(folder) == expected_contents(other)


def test_unfinished_build_is_removed(store: Store, files: EngineFiles) -> None:
    leftover = files.root / ".building-7"
    leftover.mkdir(parents=True)
    (leftover / "junk").write_text("left by a builder that was killed")

    files.prepare(store, write(store, GRAPHS))

    assert not leftover.exists()


def test_old_folders_removed_after_aging(store: Store, files: EngineFiles) -> None:
    for number in range(5):
        files.prepare(
            store, write(store, {GRAPH_C: nquads(GRAPH_C, f'<{EX}n> <{EX}v> "{number}"')})
        )
    kept_while_young = sorted(path.name for path in files.root.glob("generation-*"))
    aged = time.time() - engine_files.KEEP_SUPERSEDED_SECONDS - 60
    for path in files.root.glob("generation-*"):
        os.utime(path, (aged, aged))

    files.prepare(store, write(store, {GRAPH_C: nquads(GRAPH_C, f'<{EX}n> <{EX}v> "5"')}))

    assert len(kept_while_young) == 5
    remaining = sorted(path.name for path in files.root.glob("generation-*"))
    assert remaining == ["generation-4", "generation-5", "generation-6"]


def test_two_builders_build_one_folder(store: Store, files: EngineFiles, database_url: str) -> None:
    generation = write(store, GRAPHS)
    command = [
        sys.executable,
        "-m",
        "service.engine_files",
        "--folder",
        str(files.root),
        "--generation",
        str(generation),
    ]
    environment = {**os.environ, DATABASE_URL_VARIABLE: database_url}
    builders = [
        subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [builder.communicate(timeout=120)[1] for builder in builders]

    assert [builder.returncode for builder in builders] == [0, 0]
    assert sum("built the query engine's files" in output for output in outputs) == 1
    assert files.prepare(store, generation).quads == len(expected_contents(GRAPHS)[0])


# Errors


def test_unwritable_folder_error(store: Store, tmp_path: Path, database_url: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    files = EngineFiles(blocker / "engine", database_url)

    with pytest.raises(EngineFilesError, match="NOTEKG_ENGINE_DIR") as caught:
        files.prepare(store, write(store, GRAPHS))

    assert str(blocker / "engine") in str(caught.value)


def test_serve_stops_on_builder_error(
    store: Store, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(store, GRAPHS)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("NOTEKG_ENGINE_DIR", str(blocker / "engine"))
    monkeypatch.setenv("NOTEKG_ENGINE_FILES_FROM", "0")

    result = CliRunner().invoke(main, ["serve", "--database", database_url, "--port", "1"])

    assert result.exit_code == 1
    assert f"cannot create the folder of the query engine's files {blocker / 'engine'}" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_builder_needs_database_url(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != DATABASE_URL_VARIABLE}
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.engine_files",
            "--folder",
            str(tmp_path),
            "--generation",
            "1",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert built.returncode == 2
    assert DATABASE_URL_VARIABLE in built.stderr


def test_builder_reports_unwritable_folder_in_one_line(
    store: Store, tmp_path: Path, database_url: str
) -> None:
    generation = write(store, GRAPHS)
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    built = run_builder(blocker / "engine", generation, database_url)

    assert built.returncode == 1
    assert f"could not build the query engine's files of generation 1 in {blocker}" in (
        built.stderr
    )
    assert "Not a directory" in built.stderr
    assert "Traceback" not in built.stderr


# Where the folder goes


def test_default_folder_beside_sqlite_file(tmp_path: Path) -> None:
    assert default_folder(f"sqlite:///{tmp_path}/kg.sqlite") == tmp_path / "kg.sqlite.oxigraph"
    assert default_folder("sqlite://") is None


def test_other_databases_use_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = default_folder("postgresql+psycopg://notekg:secret@127.0.0.1:5432/one")
    same_but_password = default_folder("postgresql+psycopg://notekg:other@127.0.0.1:5432/one")
    second = default_folder("postgresql+psycopg://notekg:secret@127.0.0.1:5432/two")

    assert first is not None and first.parent == tmp_path / "notekg"
    assert first == same_but_password
    assert first != second


# The engine over a folder


@pytest.fixture
def folder_engine(store: Store, files: EngineFiles) -> Iterator[OxigraphEngine]:
    engine = OxigraphEngine.from_folder(files.prepare(store, write(store, GRAPHS)))
    yield engine
    engine.close()


def rows_of(result: QueryResult) -> list[tuple[str, ...]]:
    return sorted(tuple(str(value) for value in row) for row in result.rows)


def open_files() -> list[str]:
    """Return the paths of the files that this process has open."""
    links = []
    for name in os.listdir(f"/proc/{os.getpid()}/fd"):
        try:
            links.append(os.readlink(f"/proc/{os.getpid()}/fd/{name}"))
        except OSError:
            pass
    return links


def open_files_of(result: QueryResult) -> tuple[int, list[str]]:
    """Return the ID of the process that rendered the result and the files it has open."""
    return os.getpid(), open_files()


QUERIES = [
    f"SELECT ?s ?o WHERE {{ ?s <{EX}name> ?o }}",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    f"SELECT ?city WHERE {{ <{EX}bob> <{EX}address>/<{EX}city> ?city }}",
]


@pytest.mark.parametrize("sparql", QUERIES)
def test_folder_engine_matches_memory_engine(
    folder_engine: OxigraphEngine, store: Store, sparql: str
) -> None:
    in_memory = OxigraphEngine.from_store(store, query_processes=0)

    assert rows_of(folder_engine.query(sparql)) == rows_of(in_memory.query(sparql))
    assert folder_engine.run(sparql, render=rows_of) == rows_of(in_memory.query(sparql))


def test_query_process_opens_folder(folder_engine: OxigraphEngine) -> None:
    pid, links = folder_engine.run("ASK { ?s ?p ?o }", render=open_files_of)
    graph_pid, graph_links = folder_engine.run(
        "ASK { GRAPH ?g { ?s ?p ?o } }", render=open_files_of
    )

    assert os.getpid() not in (pid, graph_pid)
    folder = folder_engine.folder
    assert folder is not None
    assert any(link.startswith(str(folder.merged_path)) for link in links)
    # A query process inherits the files that this process opened, and opens the named graphs
    # itself for the first query that reads them.
    named = str(folder.named_path)
    assert sum(link.startswith(named) for link in graph_links) > sum(
        link.startswith(named) for link in links
    )


def test_named_store_opens_on_first_use(folder_engine: OxigraphEngine) -> None:
    folder = folder_engine.folder
    assert folder is not None
    named = str(folder.named_path)

    # from_folder opens and closes it once, to report damaged files at the start.
    assert not any(link.startswith(named) for link in open_files())
    folder_engine.query("ASK { ?s ?p ?o }")
    assert not any(link.startswith(named) for link in open_files())

    graphs = folder_engine.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")

    assert sorted(row[0].value for row in graphs.rows) == sorted(GRAPHS)
    assert any(link.startswith(named) for link in open_files())


def rendering_pid(result: QueryResult) -> int:
    return os.getpid()


def test_folder_engine_keeps_worker_after_many_tasks(
    folder_engine: OxigraphEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Queries over the folder's stores copy no page of the graph into the worker, so a worker
    # is not replaced after a number of tasks, which an in-memory engine's worker is.
    monkeypatch.setattr(query_processes, "RETIRE_AFTER_TASKS", 2)

    pids = [folder_engine.run("ASK { ?s ?p ?o }", render=rendering_pid) for _ in range(4)]

    assert len(set(pids)) == 1
    assert pids[0] != os.getpid()


def test_folder_engine_stops_slow_query(store: Store, files: EngineFiles) -> None:
    many = nquads(GRAPH_C, *(f'<{EX}item/{number}> <{EX}v> "{number}"' for number in range(5_000)))
    engine = OxigraphEngine.from_folder(files.prepare(store, write(store, {GRAPH_C: many})))
    started = time.monotonic()

    with pytest.raises(QueryTimeout):
        engine.run(
            "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
            render=rows_of,
            timeout=0.5,
        )

    assert time.monotonic() - started < 5
    assert engine.run("ASK { ?s ?p ?o }", render=lambda_free_boolean) is True
    engine.close()


def lambda_free_boolean(result: QueryResult) -> bool | None:
    return result.boolean


def test_engines_count_quads_and_merged_triples(
    folder_engine: OxigraphEngine, store: Store
) -> None:
    in_memory = OxigraphEngine.from_store(store, query_processes=0)
    named, merged = expected_contents(GRAPHS)

    assert (folder_engine.triple_count, folder_engine.merged_triple_count) == (
        len(named),
        len(merged),
    )
    assert (in_memory.triple_count, in_memory.merged_triple_count) == (len(named), len(merged))
