"""The ``notekg`` console command: ingest notes, serve the graph, query it, export it.

This is the only module that imports both ``ingest`` and ``service``. Each command calls one
library function and turns the project's exceptions into a clean error message.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from service.settings import SETTINGS_BY_NAME, SettingsError, load_config
from service.store import Store, StoreError, is_sqlite_in_memory, sqlite_path

if TYPE_CHECKING:
    # The ingest modules (rdflib, the YAML mapping and its JSON Schema) are imported where they
    # are used, so that notekg serve, query and export start about 0.1 s sooner without them.
    from ingest.run import IngestReport

logger = logging.getLogger("notekg")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Under several worker processes each line also names its process.
LOG_FORMAT_WITH_PID = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUERY_FORMATS = (
    "json",
    "xml",
    "csv",
    "tsv",
    "turtle",
    "ntriples",
    "nt",
    "jsonld",
    "rdfxml",
    "nquads",
    "trig",
)
# The names of `notekg query --format` (ntriples, rdfxml) are accepted as well.
EXPORT_FORMATS = {
    "turtle": "TURTLE",
    "nt": "N_TRIPLES",
    "ntriples": "N_TRIPLES",
    "nquads": "N_QUADS",
    "trig": "TRIG",
    "jsonld": "JSON_LD",
    "xml": "RDF_XML",
    "rdfxml": "RDF_XML",
}


def database_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--database``, which means the same in every command."""
    setting = SETTINGS_BY_NAME["database_url"]
    return click.option(
        "--database",
        "database_url",
        metavar="URL",
        default=None,
        help=f"SQLAlchemy URL of the store [env {setting.env_var}; default {setting.default}].",
    )(command)


def base_iri_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--base-iri``, which means the same in every command."""
    setting = SETTINGS_BY_NAME["base_iri"]
    return click.option(
        "--base-iri",
        metavar="IRI",
        default=None,
        help=f"Base IRI of the entities [env {setting.env_var}; default {setting.default}].",
    )(command)


@click.group()
@click.option(
    "--verbose/--quiet", default=True, help="Log progress at INFO level (default) or only warnings."
)
def main(verbose: bool) -> None:
    """notekg turns technical notes into an RDF knowledge graph and serves it.

    \b
    Example:
      notekg ingest && notekg serve
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format=LOG_FORMAT,
        stream=sys.stderr,
    )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="YAML mapping file [default: data/mappings/ai.yaml when no PATH is given, else none].",
)
@database_option
@base_iri_option
@click.option(
    "--dry-run", is_flag=True, help="Show what would change without writing to the store."
)
@click.option(
    "--strict/--no-strict",
    default=False,
    help="Exit with status 1 when there are warnings [default: off].",
)
@click.option(
    "--validate/--no-validate",
    default=True,
    help="Check the graph against the SHACL shapes [default: on].",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Read and build every note again, also unchanged ones, as after an ingest of one file "
    "or folder of a larger store changed notes that others link to.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes that build notes at the same time; 1 builds them all in this process "
    "[default: the number of CPUs that notekg may use].",
)
def ingest(
    paths: tuple[Path, ...],
    mapping_path: Path | None,
    database_url: str | None,
    base_iri: str | None,
    dry_run: bool,
    strict: bool,
    validate: bool,
    rebuild: bool,
    jobs: int | None,
) -> None:
    """Read notes into the store as one new generation.

    PATH is a note file or a folder of notes; without PATH the bundled notes in data/notes
    are read with their mapping. Problems are printed as FILE:LINE: message.

    \b
    Example:
      notekg ingest data/notes --mapping data/mappings/ai.yaml --database sqlite:///kg.sqlite
    """
    config = _config(database_url=database_url, base_iri=base_iri)
    note_paths, mapping_path = _note_paths(paths, mapping_path)
    report = _run_ingest(
        note_paths,
        mapping_path,
        config.database_url,
        config.base_iri,
        dry_run,
        validate,
        jobs,
        rebuild=rebuild,
    )
    _print_report(report)
    # The process exits next, and Python's last garbage collection visited every object of the
    # run: 0.1 s after 1,000 notes. Frozen objects are left out of collections.
    gc.freeze()

    if report.errors:
        sys.exit(1)
    if strict and report.warnings:
        if dry_run:
            written = "nothing was written (--dry-run)"
        elif report.generation:
            written = f"the store was written (generation {report.generation})"
        else:
            written = "no note changed, so nothing was written"
        count = len(report.warnings)
        click.echo(
            f"exit status 1: --strict and {count} warning{'' if count == 1 else 's'}; {written}",
            err=True,
        )
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port to listen on.",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker threads of the WSGI server, per worker process.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes: 1 serves with waitress, more with granian. Each loads a small "
    "store into its own memory, so memory grows with each; a large store's engine files on "
    "disk are shared.",
)
@database_option
@base_iri_option
def serve(
    host: str,
    port: int,
    threads: int,
    workers: int,
    database_url: str | None,
    base_iri: str | None,
) -> None:
    """Serve the graph: SPARQL endpoint, entity pages, search and dumps.

    When the store is empty, the bundled notes are ingested first.

    \b
    Example:
      notekg serve --port 8080 --database sqlite:///kg.sqlite
    """
    config = _config(database_url=database_url, base_iri=base_iri)
    if workers > 1:
        # From the first line on, as the builder of the engine's files logs before the workers.
        _log_process_ids()
    _ingest_bundled_notes_if_empty(config.database_url, config.base_iri)
    # Built before the server starts, so that its worker processes only open the files.
    _prepare_engine_files(config)

    def make_app() -> Any:
        # Imported here: under granian, prometheus_client must load after serve sets
        # PROMETHEUS_MULTIPROC_DIR, and each worker creates its own app after the fork.
        from service.app import create_app

        return _create_app(create_app, config)

    # service.wsgi imports neither granian nor prometheus_client until it serves.
    from service import wsgi

    store = _safe_url(config.database_url)
    if workers > 1:
        logger.info("starting on http://%s:%s/ (store %s)", host, port, store)
        try:
            wsgi.serve(make_app, host, port, threads, workers)
        except wsgi.ServerError as error:
            raise _listen_error(host, port, error) from error
        return

    import waitress

    # The app is made before the socket, so that only a failed bind reads "cannot listen".
    app = make_app()
    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads, ident="notekg")
    except (OSError, ValueError) as error:
        # waitress raises ValueError for a host that is not an address.
        raise _listen_error(host, port, error) from error

    signal.signal(signal.SIGTERM, _exit_on_signal)
    # A shell without job control starts a background command with SIGINT ignored, and
    # Python keeps it so. The server stops on SIGINT whichever way it was started.
    signal.signal(signal.SIGINT, _exit_on_signal)

    # Logged once the socket is bound, so that a taken port gives only the error above.
    logger.info("serving on http://%s:%s/ (store %s)", host, port, store)
    try:
        server.run()
    finally:
        logger.info("server stopped")


def _listen_error(host: str, port: int, error: Exception) -> click.ClickException:
    reason = str(error).rstrip(".")
    return click.ClickException(
        f"cannot listen on {host}:{port}: {reason}; check the address given with --host, "
        "or choose another port with --port"
    )


def _log_process_ids() -> None:
    """Put the process ID in each log line, so that each worker's lines can be found."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT_WITH_PID))


def _exit_on_signal(signum: int, _frame: object) -> None:
    """Turn SIGTERM and SIGINT into SystemExit, so the server stops and logs that it stopped."""
    logger.info("received signal %s; stopping", signal.Signals(signum).name)
    raise SystemExit(0)


@main.command()
@click.argument("sparql")
@click.option(
    "--format",
    "result_format",
    default=None,
    type=click.Choice(QUERY_FORMATS),
    help="Result format, as for the endpoint's format parameter: json, xml, csv or tsv for "
    "SELECT and ASK; turtle, nt, nquads, trig, jsonld or xml (RDF/XML) for CONSTRUCT and "
    "DESCRIBE [default: tsv, or turtle for CONSTRUCT and DESCRIBE]. An ASK result in csv or "
    "tsv is the word true or false, for shell scripts; the endpoint has no CSV or TSV form "
    "of it.",
)
@database_option
def query(sparql: str, result_format: str | None, database_url: str | None) -> None:
    """Run a SPARQL query against the store and print the result.

    \b
    Example:
      notekg query 'SELECT ?b WHERE { ?b a <https://notekg.example/ontology#Benchmark> }'
    """
    from service.engine import EngineBusy, QueryError, QueryTimeout
    from service.negotiation import GRAPH_FORMAT_NAMES, RESULT_FORMAT_NAMES
    from service.query_safety import ForbiddenQuery, find_update_keyword
    from service.results import common_prefixes, serialize

    keyword = find_update_keyword(sparql)
    if keyword is not None:
        raise click.UsageError(
            f"{keyword} is SPARQL Update; notekg query runs read-only queries. To change the "
            "graph, edit the notes and run notekg ingest, or POST to /update with a token"
        )

    config = _config(database_url=database_url)
    engine = _load_engine(config)
    try:
        result = engine.query(sparql, timeout=config.query_timeout, max_rows=config.max_rows)
    except (QueryError, ForbiddenQuery, QueryTimeout, EngineBusy) as error:
        raise click.ClickException(f"query failed: {error}") from error

    chosen = result_format or ("turtle" if result.kind == "graph" else "tsv")
    if result.kind == "boolean" and chosen in ("csv", "tsv"):
        click.echo("true" if result.boolean else "false")
        return
    names = GRAPH_FORMAT_NAMES if result.kind == "graph" else RESULT_FORMAT_NAMES
    if chosen not in names or chosen == "html":
        usable = ", ".join(name for name in QUERY_FORMATS if name in names)
        raise click.UsageError(f"--format {chosen} does not fit this query's result; use {usable}")
    text = serialize(result, names[chosen], common_prefixes(config.base_iri)).decode("utf-8")
    # JSON ends without a line break, which would leave a shell's prompt on its last line.
    click.echo(text, nl=not text.endswith("\n"))
    if result.truncated:
        click.echo(f"warning: result cut to {config.max_rows} rows (NOTEKG_MAX_ROWS)", err=True)


@main.command()
@click.option(
    "--format",
    "export_format",
    required=True,
    type=click.Choice(list(EXPORT_FORMATS)),
    help="RDF format: nquads, trig and jsonld keep the named graphs; turtle, nt (or ntriples) "
    "and xml (or rdfxml, RDF/XML) write the merged default graph.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="File to write [default: standard output].",
)
@database_option
def export(export_format: str, output: Path | None, database_url: str | None) -> None:
    """Write the whole graph in one RDF format.

    \b
    Example:
      notekg export --format turtle --output graph.ttl
    """
    import pyoxigraph as ox

    from service.results import common_prefixes

    config = _config(database_url=database_url)
    engine = _load_engine(config)
    rdf_format = getattr(ox.RdfFormat, EXPORT_FORMATS[export_format])
    data = engine.dump(rdf_format, prefixes=common_prefixes(config.base_iri))
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
        return

    output.write_bytes(data)
    logger.info("wrote %s bytes to %s", len(data), output)


def _load_engine(config: Any) -> Any:
    """Open the store's current generation for queries, and warn when the store is empty.

    The generation's engine files, which ``notekg serve`` builds, are opened read-only when
    they exist. Otherwise the generation is loaded into memory: a query of a store of
    1.2 million quads took 11.7 s that way and 0.9 s from the engine files.
    """
    from service.engine import OxigraphEngine
    from service.engine_files import folder_path, read_folder
    from service.holder import engine_files

    database_url = config.database_url
    _check_sqlite_file_exists(database_url)
    store = _open_store(database_url)
    try:
        generation = store.current_generation_id()
        if generation is None:
            click.echo(
                f"warning: the store {_safe_url(database_url)} is empty; run notekg ingest "
                "first, or point --database (or NOTEKG_DATABASE_URL) at the store you filled",
                err=True,
            )
        files = engine_files(config)
        if generation is not None and files is not None:
            path = folder_path(files.root, generation)
            folder = read_folder(path, store.store_id(), generation)
            if folder is not None:
                return OxigraphEngine.from_folder(folder, query_processes=0)
        return OxigraphEngine.from_store(store, query_processes=0)
    finally:
        store.close()


def _config(**overrides: str | None) -> Any:
    try:
        return load_config(overrides)
    except SettingsError as error:
        raise click.UsageError(str(error)) from error


def _note_paths(
    paths: tuple[Path, ...], mapping_path: Path | None
) -> tuple[list[Path], Path | None]:
    if paths:
        return list(paths), mapping_path

    from ingest.run import default_paths

    notes, bundled_mapping = default_paths(PROJECT_ROOT)
    if not notes.is_dir():
        raise click.UsageError(
            f"no PATH given and the bundled notes folder {notes} is missing; give a PATH"
        )
    return [notes], mapping_path or bundled_mapping


def _run_ingest(
    paths: list[Path],
    mapping_path: Path | None,
    database_url: str,
    base_iri: str,
    dry_run: bool,
    validate: bool,
    jobs: int | None = None,
    *,
    rebuild: bool = False,
) -> IngestReport:
    from ingest.problems import IngestError
    from ingest.run import run_ingest

    started = time.perf_counter()
    if not dry_run and _is_sqlite_in_memory(database_url):
        raise click.UsageError(
            f"--database {database_url} is a SQLite database in memory, which is gone when "
            "the command ends; name a file, as in sqlite:///notekg.sqlite"
        )
    missing = _missing_sqlite_file(database_url)
    if dry_run and missing is not None:
        # A dry run compares with the store but writes nothing, not even a new empty file.
        database_url = "sqlite://"
        missing = None
    created = _created_by_opening(Path(missing)) if missing is not None else []
    store = _open_store(database_url)
    progress = _progress_printer()
    succeeded = False
    try:
        report = run_ingest(
            paths,
            store,
            mapping_path=mapping_path,
            base_iri=base_iri,
            dry_run=dry_run,
            validate=validate,
            on_note=progress,
            processes=jobs,
            rebuild=rebuild,
        )
        succeeded = True
    except IngestError as error:
        raise _ingest_failure(error) from error
    finally:
        # A first ingest that fails leaves no empty store, which serve would fill with the
        # bundled notes. A store that got a generation is kept whatever happened after.
        empty = not succeeded and bool(created) and _has_no_generation(store)
        store.close()
        if empty:
            _remove_created(created)

    logger.info("ingest finished in %.2f s", time.perf_counter() - started)
    return report


class _LocatedErrors(click.ClickException):
    """Errors at lines of files, printed one a line as ``FILE:LINE: error: message``.

    That is the form of the ingest's warnings, and of compilers' messages.
    Other errors keep click's ``Error:`` prefix.
    """

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), file=file, err=file is None)


def _ingest_failure(error: Exception) -> click.ClickException:
    """Return the exception that reports an ingest error on the command line."""
    from ingest.problems import LocatedError
    from ingest.run import NoNotesFound, NotesNotRead

    if isinstance(error, NoNotesFound):
        # The paths given on the command line name no notes: a usage error (exit status 2).
        return click.UsageError(str(error))
    errors = error.errors if isinstance(error, NotesNotRead) else [error]
    if all(isinstance(each, LocatedError) for each in errors):
        lines = [str(each.as_problem()) for each in errors if isinstance(each, LocatedError)]
        return _LocatedErrors("\n".join(lines))
    return click.ClickException(str(error))


def _progress_printer() -> Callable[[int, int, str], None]:
    """Return a progress callback: a bar on a terminal, a log line every 100 notes otherwise."""
    interactive = sys.stderr.isatty()

    def show(done: int, total: int, path: str) -> None:
        if interactive:
            width = 30
            filled = width * done // total
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} notes")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif done == total or done % 100 == 0:
            logger.info("checked %s of %s notes (last: %s)", done, total, path)

    return show


def _print_report(report: IngestReport) -> None:
    # The problems of one file come in the order of their lines, and files in the order that
    # their first problem came in.
    first: dict[str, int] = {}
    for index, problem in enumerate(report.problems):
        first.setdefault(problem.path, index)
    for problem in sorted(report.problems, key=lambda problem: (first[problem.path], problem.line)):
        click.echo(str(problem), err=True)

    for change in report.changes:
        if change.action != "unchanged":
            counts = f"+{change.triples_added} -{change.triples_removed} triples"
            click.echo(f"{change.action:>9} {change.source}: {counts}")

    if report.unmapped:
        count = len(report.unmapped)
        items = "item" if count == 1 else "items"
        click.echo(
            f"{count} unmapped {items} (bullet keys, table fields or tables) in the notes that "
            "this run built, stored as generic RDF (see the warnings); docs/mapping.md shows how "
            "to map them"
        )

    unchanged = sum(1 for change in report.changes if change.action == "unchanged")
    dropped = sum(1 for change in report.changes if change.action == "dropped")
    # A relinked note was not read again: only its links to mentioned entities changed.
    relinked = sum(1 for change in report.changes if change.action == "relinked")
    # A dropped note is no longer among the notes read, so it is counted on its own.
    notes = _counted(len(report.changes) - dropped, "note")
    dropped_text = f", {dropped} dropped" if dropped else ""
    relinked_text = f", {relinked} relinked" if relinked else ""
    prefix = "dry run, nothing written: " if report.dry_run else ""
    generation = f"generation {report.generation}" if report.generation else "no new generation"
    click.echo(
        f"{prefix}{notes} ({unchanged} unchanged{relinked_text}){dropped_text}, "
        f"{_counted(len(report.warnings), 'warning')}, {_counted(len(report.errors), 'error')}; "
        f"{generation}"
    )


def _counted(count: int, noun: str) -> str:
    """Return the count with the noun, in the plural unless the count is 1."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _ingest_bundled_notes_if_empty(database_url: str, base_iri: str) -> None:
    missing = _missing_sqlite_file(database_url)
    if missing is not None and database_url == SETTINGS_BY_NAME["database_url"].default:
        logger.info("no store at %s yet: making it", missing)
    elif missing is not None:
        logger.warning(
            "no store at %s: making a new one; if you meant another store, stop the server and "
            "check --database (or NOTEKG_DATABASE_URL)",
            missing,
        )
    store = _open_store(database_url)
    try:
        empty = store.current_generation_id() is None
    finally:
        store.close()
    if not empty:
        return

    from ingest.run import default_paths

    notes, mapping = default_paths(PROJECT_ROOT)
    if not notes.is_dir():
        logger.warning(
            "the store is empty and the bundled notes %s are missing; serving an empty graph", notes
        )
        return

    logger.info("the store is empty: ingesting the bundled notes from %s", notes)
    _print_report(
        _run_ingest([notes], mapping, database_url, base_iri, dry_run=False, validate=True)
    )


def _prepare_engine_files(config: Any) -> None:
    """Build the query engine's files of the store's current generation when they are missing."""
    from service.engine_files import EngineFilesError
    from service.holder import engine_files, prepare_engine_files

    store = _open_store(config.database_url)
    try:
        # This process has not opened any engine's files, so it may fork the builder.
        prepare_engine_files(store, engine_files(config), config, fork=True)
    except EngineFilesError as error:
        raise click.ClickException(str(error)) from error
    finally:
        store.close()


def _create_app(factory: Callable[..., Any], config: Any) -> Any:
    from service.engine_files import EngineFilesError

    try:
        return factory(config)
    except (StoreError, EngineFilesError) as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:
        hint = "; check that the path exists and that notekg may use it" if error.filename else ""
        raise click.ClickException(f"cannot start the server: {error}{hint}") from error


def _check_sqlite_file_exists(database_url: str) -> None:
    """Raise a usage error when a command that only reads names a SQLite file that is missing.

    Opening the store would otherwise create an empty file, and a folder for it, at a
    mistyped path.
    """
    path = _missing_sqlite_file(database_url)
    if path is not None:
        raise click.UsageError(
            f"no store at {path}; check --database (or NOTEKG_DATABASE_URL), "
            "or run notekg ingest first to make the store"
        )


def _is_sqlite_in_memory(database_url: str) -> bool:
    from sqlalchemy.exc import ArgumentError

    try:
        return is_sqlite_in_memory(database_url)
    except ArgumentError:
        return False  # opening the store reports the invalid URL


def _missing_sqlite_file(database_url: str) -> str | None:
    """Return the path of the SQLite file that the URL names when no such file exists."""
    from sqlalchemy.exc import ArgumentError

    try:
        path = sqlite_path(database_url)
    except ArgumentError:
        return None  # opening the store reports the invalid URL
    return None if path is None or Path(path).exists() else path


def _created_by_opening(path: Path) -> list[Path]:
    """Return the SQLite file, its side files and the missing folders that opening it makes."""
    created = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))]
    folder = path.parent
    while not folder.exists():
        created.append(folder)
        folder = folder.parent
    return created


def _has_no_generation(store: Store) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return store.current_generation_id() is None
    except (StoreError, SQLAlchemyError):
        return False


def _remove_created(paths: list[Path]) -> None:
    for path in paths:
        try:
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        except OSError as error:
            logger.warning("could not remove %s after the failed ingest: %s", path, error)


def _open_store(database_url: str) -> Store:
    from service.store import InvalidDatabaseUrl

    try:
        return Store(database_url)
    except InvalidDatabaseUrl as error:
        # A URL that names no store is a usage error (exit status 2), as a missing path is.
        raise click.UsageError(str(error)) from error
    except StoreError as error:
        raise click.ClickException(str(error)) from error


def _safe_url(url: str) -> str:
    from sqlalchemy.engine.url import make_url

    return make_url(url).render_as_string(hide_password=True)
