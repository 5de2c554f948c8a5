"""The query engine's files: Oxigraph stores on disk, one folder per store generation.

The SQL store keeps every graph as N-Quads, which suits versioning but not querying. The
engine queries a generation in two Oxigraph stores on disk (RocksDB), in the generation's
folder ``generation-N``:

- ``named/`` contains the named graphs as stored;
- ``merged/`` contains only a default graph, the RDF merge of the named graphs;
- ``manifest.json`` names the store (``Store.store_id``), the generation and the graph
  version behind each named graph. A folder without it is unfinished.

A folder is written once and never changed after it gets its final name. Servers and their
query processes open it read-only, so they share the operating system's page cache instead of
each keeping a copy of the graph in memory.

Folders are built by a separate program, ``python -m service.engine_files``, because
RocksDB's background threads do not survive ``fork``. With pyoxigraph 0.5.13, a forked
process that wrote to a new RocksDB store hung in a test, while reading in a forked process
worked. A process that has never opened a RocksDB store, as ``notekg serve`` before it starts
its workers, may fork the builder instead, which saves starting Python and importing the
store's libraries (about 0.3 s): a forked process wrote 200,000 quads to a new store three
times in a row. The builder takes a
lock on the folder, so that the server processes that need the same generation build it once.
When few graphs changed since a generation that has a folder, the builder copies that folder
(Oxigraph's backup, which hard-links RocksDB's immutable files) and replaces the changed
graphs. Otherwise it loads every graph in bulk.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import pyoxigraph as ox
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError

from service.store import Store

# Named, because the builder runs as __main__.
logger = logging.getLogger("service.engine_files")

FOLDER_PREFIX = "generation-"
BUILDING_PREFIX = ".building-"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
LOCK_FILE = ".lock"

# Published folders kept whatever their age: the newest ones. An older folder is deleted once
# the folder that replaced it is KEEP_SUPERSEDED_SECONDS old, so that servers which still
# query it, and fork query processes that open it, have reloaded by then.
KEEP_GENERATIONS = 3
KEEP_SUPERSEDED_SECONDS = 600.0

# A generation is built from an older folder when at most INCREMENTAL_GRAPHS graphs, or this
# share of its graphs, changed. Loading every graph in bulk is faster beyond it.
INCREMENTAL_SHARE = 0.25
INCREMENTAL_GRAPHS = 100

# Seconds between progress lines of a bulk load.
PROGRESS_SECONDS = 10.0

# The environment variable that passes the database URL to the builder, which keeps a
# password out of the process list.
DATABASE_URL_VARIABLE = "NOTEKG_DATABASE_URL"


class EngineFilesError(Exception):
    """The engine's files of a generation could not be built."""


@dataclass(frozen=True)
class GenerationFolder:
    """A published folder: its path, its store and generation, and its graphs and sizes."""

    path: Path
    store_id: str
    generation: int
    # Graph IRI → the ID of the graph version in the SQL store.
    graphs: dict[str, int]
    quads: int
    triples: int

    @property
    def named_path(self) -> Path:
        return self.path / "named"

    @property
    def merged_path(self) -> Path:
        return self.path / "merged"


def default_folder(database_url: str) -> Path | None:
    """Return where the engine's files of a store go when no folder is set.

    A SQLite file ``X`` gets the folder ``X.oxigraph`` beside it. Other databases get a
    folder under the user's cache folder, named after a digest of the URL without password.
    An in-memory SQLite database gets None: its engine loads into memory.
    """
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        database = Path(url.database)
        return database.with_name(database.name + ".oxigraph")

    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return Path(cache) / "notekg" / f"oxigraph-{digest[:16]}"


class EngineFiles:
    """The folder of one store's engine files, with a folder per generation."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.database_url = database_url

    def prepare(self, store: Store, generation: int, *, fork: bool = False) -> GenerationFolder:
        """Return the generation's folder, after building it in a builder process if missing.

        With ``fork`` the builder is a fork of this process, which must never have opened an
        engine's files, instead of a new Python program. Raises EngineFilesError when the
        builder fails; its messages go to this process's standard error.
        """
        store_id = store.store_id()
        path = folder_path(self.root, generation)
        folder = read_folder(path, store_id, generation)
        if folder is not None:
            return folder

        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise EngineFilesError(
                f"cannot create the folder of the query engine's files {self.root}: "
                f"{error.strerror} ({error.filename}); set NOTEKG_ENGINE_DIR to a folder that "
                "can be created"
            ) from error
        status = self._run_builder(generation, fork)
        folder = read_folder(path, store_id, generation)
        if status != 0 or folder is None:
            raise EngineFilesError(
                f"building the query engine's files of generation {generation} in {self.root} "
                f"failed (exit status {status}); the builder's messages are above. Check that "
                "the folder is writable and the disk has room, or set NOTEKG_ENGINE_DIR to "
                "another folder"
            )
        return folder

    def _run_builder(self, generation: int, fork: bool) -> int:
        """Build the generation's folder in another process and return its exit status."""
        if fork and hasattr(os, "fork"):
            process = multiprocessing.get_context("fork").Process(
                target=_build_in_fork,
                args=(self.database_url, self.root, generation),
                name="notekg-engine-builder",
            )
            process.start()
            process.join()
            return process.exitcode if process.exitcode is not None else 1

        command = [
            sys.executable,
            "-m",
            "service.engine_files",
            "--folder",
            str(self.root),
            "--generation",
            str(generation),
        ]
        environment = {**os.environ, DATABASE_URL_VARIABLE: self.database_url}
        return subprocess.run(command, env=environment, check=False).returncode


def _build_in_fork(database_url: str, folder: Path, generation: int) -> None:
    sys.exit(build_and_report(database_url, folder, generation))


def folder_path(root: Path, generation: int) -> Path:
    """Return the path of a generation's folder under the engine's files folder."""
    return root / f"{FOLDER_PREFIX}{generation}"


def read_folder(path: Path, store_id: str, generation: int) -> GenerationFolder | None:
    """Return the published folder at path if it contains this store's generation."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != MANIFEST_FORMAT
        or manifest.get("store_id") != store_id
        or manifest.get("generation") != generation
    ):
        return None
    return _folder_of(path, manifest)


def _folder_of(path: Path, manifest: dict[str, Any]) -> GenerationFolder:
    return GenerationFolder(
        path=path,
        store_id=manifest["store_id"],
        generation=manifest["generation"],
        graphs={str(iri): int(version) for iri, version in manifest["graphs"].items()},
        quads=int(manifest["quads"]),
        triples=int(manifest["triples"]),
    )


def build(store: Store, root: Path, generation: int) -> GenerationFolder:
    """Build and publish the folder of a generation, unless another process did already."""
    root.mkdir(parents=True, exist_ok=True)
    store_id = store.store_id()
    final = folder_path(root, generation)
    with _locked(root / LOCK_FILE):
        published = read_folder(final, store_id, generation)
        if published is not None:
            return published

        _remove_unfinished(root)
        if final.exists():
            logger.info(
                "replacing %s, which contains generation %s of another database or an unfinished "
                "build",
                final,
                generation,
            )
            shutil.rmtree(final)

        target_versions = {
            version.graph_iri: version.id for version in store.graph_versions(generation)
        }
        building = root / f"{BUILDING_PREFIX}{generation}"
        building.mkdir()
        started = time.perf_counter()
        base = _base_folder(root, store_id, generation, target_versions)
        if base is None:
            logger.info(
                "building the query engine's files of generation %s: loading %s graphs",
                generation,
                len(target_versions),
            )
            quads, triples = _load_all(store, generation, building, len(target_versions))
        else:
            logger.info(
                "building the query engine's files of generation %s from generation %s",
                generation,
                base.generation,
            )
            quads, triples = _apply_changes(store, base, target_versions, building)

        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "store_id": store_id,
            "generation": generation,
            "quads": quads,
            "triples": triples,
            "graphs": target_versions,
        }
        (building / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        os.rename(building, final)
        logger.info(
            "built the query engine's files of generation %s in %.2f s: %s quads, %s triples "
            "in the merged default graph (%s)",
            generation,
            time.perf_counter() - started,
            quads,
            triples,
            final,
        )
        _prune(root, generation)
    return _folder_of(final, manifest)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file at path, which the system drops if the process dies."""
    with open(path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_unfinished(root: Path) -> None:
    """Delete the folders of builds that stopped early, which only the lock holder may do."""
    for path in root.glob(f"{BUILDING_PREFIX}*"):
        logger.warning("removing the unfinished build %s", path)
        shutil.rmtree(path, ignore_errors=True)


def _published(root: Path) -> list[tuple[int, Path]]:
    """Return (generation, folder) of the folders with a manifest, newest first."""
    folders = []
    for path in root.glob(f"{FOLDER_PREFIX}*"):
        number = path.name.removeprefix(FOLDER_PREFIX)
        if number.isdigit() and (path / MANIFEST).exists():
            folders.append((int(number), path))
    return sorted(folders, reverse=True)


def _base_folder(
    root: Path, store_id: str, generation: int, target_versions: dict[str, int]
) -> GenerationFolder | None:
    """Return the newest older folder of this store to build from, or None to load in bulk."""
    for number, path in _published(root):
        if number >= generation:
            continue
        base = read_folder(path, store_id, number)
        if base is None:
            continue
        changed = _changed_graphs(base.graphs, target_versions)
        if len(changed) <= max(INCREMENTAL_SHARE * len(target_versions), INCREMENTAL_GRAPHS):
            return base
        return None
    return None


def _changed_graphs(before: dict[str, int], after: dict[str, int]) -> set[str]:
    """Return the IRIs of the graphs that differ, including the added and the dropped."""
    return {iri for iri in before.keys() | after.keys() if before.get(iri) != after.get(iri)}


def _load_all(store: Store, generation: int, building: Path, graph_count: int) -> tuple[int, int]:
    """Load every graph of the generation into new stores, both at once.

    Returns the number of quads in the named graphs and of triples in the merged graph.
    """
    named = ox.Store(str(building / "named"))
    merged = ox.Store(str(building / "merged"))
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="engine-files") as pool:
        loads = [
            pool.submit(_bulk_load, named, store, generation, False, graph_count),
            pool.submit(_bulk_load, merged, store, generation, True, graph_count),
        ]
        for load in loads:
            load.result()
    named.flush()
    merged.flush()
    return len(named), len(merged)


def _bulk_load(
    target: ox.Store, store: Store, generation: int, merge: bool, graph_count: int
) -> None:
    """Load the generation's graphs into target: as named graphs, or merged when ``merge``.

    Oxigraph's bulk loader gives blank nodes new identities, and differently in each store,
    so graphs with blank nodes are parsed and added one by one instead, which keeps their
    labels. The merged graph is the N-Quads without their graph names, which the bulk loader
    reads as N-Triples; a triple in several graphs is stored once.
    """
    later: list[tuple[str, bytes]] = []
    progress = _Progress(graph_count, "merged default graph" if merge else "named graphs")

    def chunks() -> Iterator[bytes]:
        for graph_iri, nquads in store.iter_graphs(generation):
            progress.step()
            if b"_:" in nquads:
                later.append((graph_iri, nquads))
                continue
            if not merge:
                yield nquads
                continue
            suffix = b" <" + graph_iri.encode("utf-8") + b"> .\n"
            if nquads.count(suffix) == nquads.count(b"\n"):
                # A line break ends each N-Quads line and occurs nowhere else, so each line
                # contains the suffix once, at its end.
                yield nquads.replace(suffix, b" .\n")
            else:
                later.append((graph_iri, nquads))

    target.bulk_load(
        input=cast("IO[bytes]", ConcatenatedStream(chunks())),
        format=ox.RdfFormat.N_TRIPLES if merge else ox.RdfFormat.N_QUADS,
    )
    for _graph_iri, nquads in later:
        quads = ox.parse(nquads, format=ox.RdfFormat.N_QUADS)
        target.extend(_in_default_graph(quads) if merge else quads)


def _apply_changes(
    store: Store, base: GenerationFolder, target_versions: dict[str, int], building: Path
) -> tuple[int, int]:
    """Copy the base folder's stores into building, then replace the graphs that changed.

    Returns the number of quads in the named graphs and of triples in the merged graph.
    """
    for name in ("named", "merged"):
        ox.Store.read_only(str(base.path / name)).backup(str(building / name))
    named = ox.Store(str(building / "named"))
    merged = ox.Store(str(building / "merged"))

    changed = _changed_graphs(base.graphs, target_versions)
    # Triples of the replaced graphs leave the merged graph unless another graph has them.
    candidates: set[ox.Triple] = set()
    for graph_iri in sorted(changed & base.graphs.keys()):
        graph = ox.NamedNode(graph_iri)
        candidates.update(quad.triple for quad in named.quads_for_pattern(None, None, None, graph))
        named.remove_graph(graph)

    added = [target_versions[iri] for iri in changed if iri in target_versions]
    for _graph_iri, nquads in store.iter_versions(added):
        quads = list(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
        named.extend(quads)
        merged.extend(_in_default_graph(quads))

    for triple in candidates:
        if next(named.quads_for_pattern(triple.subject, triple.predicate, triple.object), None):
            continue
        merged.remove(ox.Quad(triple.subject, triple.predicate, triple.object))

    named.flush()
    merged.flush()
    logger.info(
        "replaced %s graphs: %s added or changed, %s dropped",
        len(changed),
        len(added),
        len(changed) - len(added),
    )
    return len(named), len(merged)


def _in_default_graph(quads: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
    return (ox.Quad(quad.subject, quad.predicate, quad.object) for quad in quads)


def _prune(root: Path, newest: int) -> None:
    """Delete folders beyond the newest few once the folder that replaced them has aged."""
    folders = _published(root)
    published_at = {}
    for number, path in folders:
        try:
            published_at[number] = path.stat().st_mtime
        except OSError:
            continue
    now = time.time()
    for index, (number, path) in enumerate(folders):
        if index < KEEP_GENERATIONS or number >= newest:
            continue
        successor = folders[index - 1][0]
        if now - published_at.get(successor, now) > KEEP_SUPERSEDED_SECONDS:
            logger.info("removing the query engine's files of generation %s", number)
            shutil.rmtree(path, ignore_errors=True)


class _Progress:
    """Logs how many graphs a bulk load has read, every PROGRESS_SECONDS."""

    def __init__(self, total: int, load: str) -> None:
        self.total = total
        self.load = load
        self.done = 0
        self.logged_at = time.monotonic()

    def step(self) -> None:
        self.done += 1
        if time.monotonic() - self.logged_at >= PROGRESS_SECONDS:
            self.logged_at = time.monotonic()
            logger.info("%s: read %s of %s graphs", self.load, self.done, self.total)


class ConcatenatedStream:
    """A read-only binary file over a sequence of byte chunks, for Oxigraph's bulk loader.

    The bulk loader of pyoxigraph 0.5.13 reads at most 2 KiB per call, so ``read`` slices the
    current chunk at an offset instead of copying what remains of it on every call.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._chunk = b""
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        remaining = size
        while size < 0 or remaining > 0:
            if self._offset >= len(self._chunk):
                if not self._next_chunk():
                    break
                continue

            end = len(self._chunk) if size < 0 else min(len(self._chunk), self._offset + remaining)
            parts.append(self._chunk[self._offset : end])
            remaining -= end - self._offset
            self._offset = end
        return b"".join(parts)

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        chunk = next(self._chunks, None)
        if chunk is None:
            return False
        # Every chunk is whole N-Quads lines, but the last line may lack its line break.
        self._chunk = chunk if chunk.endswith(b"\n") or not chunk else chunk + b"\n"
        self._offset = 0
        return True


def main(argv: list[str] | None = None) -> int:
    """Build the engine's files of one generation, for the database URL in the environment."""
    parser = argparse.ArgumentParser(
        prog="python -m service.engine_files",
        description="Build the query engine's files of one store generation. "
        f"The store's URL is read from {DATABASE_URL_VARIABLE}.",
    )
    parser.add_argument("--folder", required=True, type=Path, help="the engine's files folder")
    parser.add_argument("--generation", required=True, type=int, help="the generation to build")
    arguments = parser.parse_args(argv)
    # The server's worker processes start this program, so its lines name its process, as
    # theirs do under several workers.
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

    database_url = os.environ.get(DATABASE_URL_VARIABLE)
    if not database_url:
        logger.error("set %s to the store's database URL", DATABASE_URL_VARIABLE)
        return 2
    return build_and_report(database_url, arguments.folder, arguments.generation)


def build_and_report(database_url: str, folder: Path, generation: int) -> int:
    """Build a generation's folder and return 0, or log why it failed and return 1."""
    store = Store(database_url)
    try:
        build(store, folder, generation)
    except OSError as error:
        # A full disk or a folder that cannot be written, which the message names.
        logger.error(
            "could not build the query engine's files of generation %s in %s: %s",
            generation,
            folder,
            error,
        )
        return 1
    except Exception:
        logger.exception(
            "could not build the query engine's files of generation %s in %s", generation, folder
        )
        return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
