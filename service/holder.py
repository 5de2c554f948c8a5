"""Keeps the query engine in step with the store's current generation."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from service.engine import OxigraphEngine, QueryError, QueryTimeout
from service.engine_files import EngineFiles, EngineFilesError, GenerationFolder, default_folder
from service.page_queries import string_literal
from service.settings import ServiceConfig
from service.store import Store

logger = logging.getLogger(__name__)

# Subjects that the check of the base IRI reads.
BASE_IRI_SAMPLE = 10_000
# Seconds past the query time limit after which a replaced engine's query processes stop.
REPLACED_ENGINE_GRACE_SECONDS = 5.0


class EngineHolder:
    """The store and the engine loaded from it, reloaded when the store has a new generation.

    Requests call ``engine()``. At most every ``reload_interval`` seconds it reads the newest
    generation number from the store. When that number changed, one request loads the new
    generation while the others keep using the old engine, and then the new engine replaces it.
    The engine opens the generation's folder of engine files, which is built first when it is
    missing (service.engine_files).
    """

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.store = Store(config.database_url)
        self.files = engine_files(config)
        self._engine = self._load()
        self._checked_at = time.monotonic()
        self._reload_lock = threading.Lock()
        # The message of the database error that the last reload failed with, or None.
        self._reload_error: str | None = None

    def engine(self) -> OxigraphEngine:
        """Return the engine of the newest generation, reloading it first when it is stale."""
        if time.monotonic() - self._checked_at >= self.config.reload_interval:
            self._reload_if_stale()
        return self._engine

    def reload_now(self) -> None:
        """Load the store's newest generation now, as after a write made by this process."""
        with self._reload_lock:
            self._checked_at = time.monotonic()
            replaced = self.store.reopen_if_replaced()
            newest = self.store.current_generation_id() or 0
            if replaced or newest != self._engine.generation:
                logger.info(
                    "reloading after a write: generation %s replaces %s",
                    newest,
                    self._engine.generation,
                )
                self._replace(self._load())

    def close(self) -> None:
        """Stop the engine's query processes and release the store's connections."""
        self._engine.close()
        self.store.close()

    def _reload_if_stale(self) -> None:
        # NOTE: the request that finds a new generation waits for the load, including a build
        # of the engine's files (about 17 s for a first build at a million quads, an estimate
        # from one benchmark run). A reload in a background thread would spare that request.
        if not self._reload_lock.acquire(blocking=False):
            return

        try:
            self._checked_at = time.monotonic()
            replaced = self.store.reopen_if_replaced()
            newest = self.store.current_generation_id() or 0
            if replaced or newest != self._engine.generation:
                logger.info("reloading: generation %s replaces %s", newest, self._engine.generation)
                self._replace(self._load())
        except SQLAlchemyError as error:
            # A database error, such as one while a new store file is being written, comes back
            # at each interval, so it is logged once, in one line, until its message changes.
            message = str(getattr(error, "orig", None) or error).splitlines()[0]
            if message != self._reload_error:
                logger.error(
                    "reload from the store failed: %s; still serving generation %s, and "
                    "retrying every %g s",
                    message,
                    self._engine.generation,
                    self.config.reload_interval,
                )
            self._reload_error = message
        except Exception:
            logger.exception(
                "reload from the store failed; still serving generation %s", self._engine.generation
            )
        else:
            self._reload_error = None
        finally:
            self._reload_lock.release()

    def _replace(self, engine: OxigraphEngine) -> None:
        """Serve ``engine``, and stop the query processes of the engine it replaces later.

        Requests that started before may still run queries on the old engine, and each query
        stops within the time limit, so the old engine's processes are stopped after it.
        Otherwise they would stay until the garbage collector frees the engine.
        """
        replaced, self._engine = self._engine, engine
        delay = self.config.query_timeout + REPLACED_ENGINE_GRACE_SECONDS
        timer = threading.Timer(delay, replaced.close)
        timer.name = f"close-generation-{replaced.generation}"
        timer.daemon = True
        timer.start()

    def _load(self) -> OxigraphEngine:
        options: dict[str, object] = {
            "service_allowlist": self.config.service_allowlist,
            "max_concurrent_queries": self.config.max_concurrent_queries,
            "query_processes": self.config.query_processes,
        }
        folder = prepare_engine_files(self.store, self.files, self.config)
        if folder is None:
            engine = OxigraphEngine.from_store(self.store, **options)
        else:
            try:
                engine = OxigraphEngine.from_folder(folder, **options)
            except (OSError, RuntimeError) as error:  # pyoxigraph reports damaged files as either
                raise EngineFilesError(
                    f"cannot open the query engine's files in {folder.path}: {error}; delete "
                    "that folder and start the server again to build it anew"
                ) from error
        self._warn_if_base_iri_unused(engine)
        return engine

    def _warn_if_base_iri_unused(self, engine: OxigraphEngine) -> None:
        """Log a warning when no sampled subject of a non-empty store is under the base IRI.

        The entity pages under /id/ serve the IRIs under the base IRI, so a server started with
        another base IRI than the ingest returns 404 for every one of them. The first
        BASE_IRI_SAMPLE subjects that the engine yields are checked, because a full scan took
        2.6 s at 1.2 million quads when no subject matched.
        """
        if engine.triple_count == 0:
            return
        base = self.config.base_iri
        sparql = (
            f"SELECT ?s WHERE {{ {{ SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {BASE_IRI_SAMPLE} }} "
            f"FILTER(STRSTARTS(STR(?s), {string_literal(base)})) }} LIMIT 1"
        )
        try:
            # The query runs on this thread and stops at the first subject under the base IRI,
            # so the check leaves no query thread and no sampled rows in the server's memory.
            rows = engine.query(sparql, timeout=self.config.query_timeout, anchored=True).rows
        except (QueryError, QueryTimeout) as error:
            logger.warning("could not check the base IRI %s against the store: %s", base, error)
            return
        if not rows:
            logger.warning(
                "no resource of generation %s has an IRI under the base IRI %s, so every entity "
                "page under /id/ returns 404; if notekg ingest used another --base-iri, serve "
                "with that one (or set NOTEKG_BASE_IRI to it)",
                engine.generation,
                base,
            )


def engine_files(config: ServiceConfig) -> EngineFiles | None:
    """Return the engine's files of the configured store, or None to load it into memory."""
    folder = Path(config.engine_dir) if config.engine_dir else default_folder(config.database_url)
    return EngineFiles(folder, config.database_url) if folder is not None else None


def prepare_engine_files(
    store: Store, files: EngineFiles | None, config: ServiceConfig, *, fork: bool = False
) -> GenerationFolder | None:
    """Return the folder of the current generation's engine files, building it when missing.

    Returns None when the engine loads the generation into memory instead: for an empty store,
    a store without a folder, or a generation under ``config.engine_files_from`` quads, which
    loads faster than the builder process starts. ``fork`` is passed to EngineFiles.prepare.
    """
    generation = store.current_generation()
    if files is None or generation is None or generation.triple_count < config.engine_files_from:
        return None
    return files.prepare(store, generation.id, fork=fork)
