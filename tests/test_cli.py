"""The `notekg` console command, run through click's test runner on real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import click
import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef

from notekg.cli import main
from service.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "data" / "notes"
MAPPING = ROOT / "data" / "mappings" / "ai.yaml"
MMLU = URIRef("https://notekg.example/id/benchmark/mmlu")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/store.sqlite"


def _ingest(runner: CliRunner, database: str, *extra: str) -> click.testing.Result:
    return runner.invoke(
        main,
        [
            "--quiet",
            "ingest",
            str(NOTES),
            "--mapping",
            str(MAPPING),
            "--database",
            database,
            *extra,
        ],
    )


def _commands() -> list[str]:
    assert isinstance(main, click.Group)
    return sorted(main.commands)


@pytest.mark.parametrize("command", _commands())
def test_command_help_ends_with_example(runner: CliRunner, command: str) -> None:
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "notekg " + command in result.output.split("Example:")[1]


@pytest.mark.parametrize("command", _commands())
def test_every_option_has_help(command: str) -> None:
    assert isinstance(main, click.Group)
    for parameter in main.commands[command].params:
        if isinstance(parameter, click.Option):
            assert parameter.help, f"notekg {command} {parameter.opts[0]} has no help text"


def test_ingest_prints_changes_and_warning(runner: CliRunner, database: str) -> None:
    result = _ingest(runner, database)
    assert result.exit_code == 0, result.output
    assert "added data/notes/ai.txt" in result.output or "added" in result.output
    assert "ai.txt:55: warning: section 'Godfathers' is empty" in result.output
    assert "generation 1" in result.output


def test_ingest_jobs_option_gives_same_output(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    default = _ingest(runner, database)
    in_process = _ingest(runner, f"sqlite:///{tmp_path}/other.sqlite", "--jobs", "1")
    zero = runner.invoke(main, ["ingest", str(NOTES), "--jobs", "0"])

    assert in_process.exit_code == 0, in_process.output
    assert in_process.output == default.output
    assert zero.exit_code == 2
    assert "--jobs" in zero.output


def test_ingest_strict_fails_on_warnings(runner: CliRunner, database: str) -> None:
    result = _ingest(runner, database, "--strict")
    assert result.exit_code == 1
    assert "exit status 1: --strict and" in result.output
    assert "the store was written (generation 1)" in result.output

    again = _ingest(runner, database, "--strict")
    assert again.exit_code == 1
    assert "no note changed, so nothing was written" in again.output


def test_ingest_dry_run_writes_nothing(runner: CliRunner, database: str) -> None:
    result = _ingest(runner, database, "--dry-run")
    assert result.exit_code == 0
    assert "dry run, nothing written" in result.output
    assert Store(database).current_generation_id() is None


def test_ingest_twice_skips_unchanged_note(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)
    result = _ingest(runner, database)
    assert "1 note (1 unchanged)" in result.output
    assert Store(database).current_generation_id() == 1


def test_empty_folder_is_usage_error(runner: CliRunner, database: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(main, ["--quiet", "ingest", str(empty), "--database", database])

    assert result.exit_code == 2
    assert "no notes or RDF files (" in result.output
    assert str(empty) in result.output


def test_ingest_missing_path_is_a_clean_error(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    result = runner.invoke(
        main, ["--quiet", "ingest", str(tmp_path / "nowhere"), "--database", database]
    )
    assert result.exit_code == 2, "a path that names no notes is a usage error"
    assert "Error: " in result.output
    assert "no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_ingest_bad_mapping_names_file_and_line(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(
        "sections:\n  - heading: Benchmarks\n    table:\n      class: nk:Benchmark\n"
        "      kind: benchmark\n      entities: diagonal\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        main, ["--quiet", "ingest", str(NOTES), "--mapping", str(mapping), "--database", database]
    )
    assert result.exit_code == 1
    assert f"{mapping}:6: error: " in result.output
    assert "diagonal" in result.output
    assert "Error:" not in result.output


def test_ingest_binary_note_is_reported(runner: CliRunner, database: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "broken.txt").write_bytes(b"\x00\x01binary")
    result = runner.invoke(main, ["--quiet", "ingest", str(notes), "--database", database])
    assert result.exit_code == 1
    assert "broken.txt:1: error: the file is binary" in result.output
    assert "Traceback" not in result.output


def test_ingest_lists_each_unreadable_note(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "one.txt").write_bytes(b"\x00binary")
    (notes / "two.md").write_text("---\ntitle: [unclosed\n---\n# Two\n", encoding="utf-8")
    result = runner.invoke(main, ["--quiet", "ingest", str(notes), "--database", database])
    lines = result.output.splitlines()

    assert result.exit_code == 1
    assert any("one.txt:1: error: the file is binary" in line for line in lines)
    assert any("two.md:2: error: invalid YAML front matter" in line for line in lines)


def test_ingest_invalid_database_url_is_a_clean_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--quiet", "ingest", str(NOTES), "--database", "not a url"])
    assert result.exit_code == 2
    assert "invalid database URL" in result.output


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_ingest_into_memory_database_is_refused(runner: CliRunner, url: str) -> None:
    result = runner.invoke(main, ["--quiet", "ingest", str(NOTES), "--database", url])

    assert result.exit_code == 2
    assert "in memory" in result.output
    assert "sqlite:///notekg.sqlite" in result.output


def test_dry_run_accepts_memory_database(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["--quiet", "ingest", str(NOTES), "--database", "sqlite://", "--dry-run"]
    )

    assert result.exit_code == 0
    assert "dry run, nothing written" in result.output


def test_postgres_scheme_names_the_right_one(runner: CliRunner) -> None:
    url = "postgres://notekg:secret@127.0.0.1:5/notekg"

    result = runner.invoke(main, ["--quiet", "ingest", str(NOTES), "--database", url])

    # A URL that names no store is a usage error.
    assert result.exit_code == 2
    assert "write postgresql+psycopg://" in result.output
    assert "secret" not in result.output


def test_missing_mapping_file_is_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Note\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"

    result = runner.invoke(main, ["ingest", str(note), "--mapping", str(missing)])

    assert result.exit_code == 2
    assert "missing.yaml" in result.output
    assert "does not exist" in result.output


def test_unknown_option_is_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["ingest", "--no-such-option"])
    assert result.exit_code == 2


def test_query_prints_tsv_rows(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)
    query = (
        "PREFIX nk: <https://notekg.example/ontology#> "
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        "SELECT ?label WHERE { ?b a nk:Benchmark ; skos:prefLabel ?label } ORDER BY ?label"
    )
    result = runner.invoke(main, ["--quiet", "query", query, "--database", database])
    rows = list(csv.reader(io.StringIO(result.output), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert result.exit_code == 0
    assert rows[0] == ["?label"]
    assert len(rows) == 18
    assert rows[1] == ['"AGIEval"']


def test_query_opens_engine_files_when_built(
    runner: CliRunner, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.engine import OxigraphEngine
    from service.engine_files import EngineFiles

    _ingest(runner, database)
    store = Store(database)
    try:
        EngineFiles(tmp_path / "engine", database).prepare(store, 1)
    finally:
        store.close()
    monkeypatch.setenv("NOTEKG_ENGINE_DIR", str(tmp_path / "engine"))

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the store was loaded into memory")

    monkeypatch.setattr(OxigraphEngine, "from_store", no_loading)
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://notekg.example/ontology#Benchmark> }"
    result = runner.invoke(main, ["--quiet", "query", query, "--database", database])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["?n", "17"]


def test_query_engine_forks_no_query_processes(runner: CliRunner, database: str) -> None:
    from notekg.cli import _load_engine
    from service.settings import load_config

    _ingest(runner, database)
    engine = _load_engine(load_config({"database_url": database}))
    try:
        # A query process forked for the command would outlive its error and log a failure.
        assert engine.query_processes == 0
        assert engine._processes is None
    finally:
        engine.close()


def test_query_json_format(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)
    result = runner.invoke(
        main, ["--quiet", "query", "ASK { ?s ?p ?o }", "--format", "json", "--database", database]
    )
    assert json.loads(result.output)["boolean"] is True
    assert result.output.endswith("}\n")


def test_query_syntax_error_is_clean(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)
    result = runner.invoke(main, ["--quiet", "query", "SELEKT ?x", "--database", database])
    assert result.exit_code == 1
    assert "query failed" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("export_format", "rdf_format"),
    [
        ("turtle", ox.RdfFormat.TURTLE),
        ("nt", ox.RdfFormat.N_TRIPLES),
        ("ntriples", ox.RdfFormat.N_TRIPLES),
        ("nquads", ox.RdfFormat.N_QUADS),
        ("trig", ox.RdfFormat.TRIG),
        ("xml", ox.RdfFormat.RDF_XML),
        ("rdfxml", ox.RdfFormat.RDF_XML),
        ("jsonld", ox.RdfFormat.JSON_LD),
    ],
)
def test_export_writes_parseable_file(
    runner: CliRunner, database: str, tmp_path: Path, export_format: str, rdf_format: ox.RdfFormat
) -> None:
    _ingest(runner, database)
    output = tmp_path / f"graph.{export_format}"
    result = runner.invoke(
        main,
        [
            "--quiet",
            "export",
            "--format",
            export_format,
            "--output",
            str(output),
            "--database",
            database,
        ],
    )
    subjects = {quad.subject for quad in ox.parse(path=output, format=rdf_format)}
    assert result.exit_code == 0
    assert ox.NamedNode(str(MMLU)) in subjects


def test_export_rdfxml_writes_key_starting_with_digit(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    note = tmp_path / "incidents.md"
    note.write_text("# Incidents\n\n- 2024-03-02: pool exhausted\n", encoding="utf-8")
    runner.invoke(main, ["--quiet", "ingest", str(note), "--database", database])
    output = tmp_path / "graph.rdf"

    result = runner.invoke(
        main,
        [
            "--quiet",
            "export",
            "--format",
            "rdfxml",
            "--output",
            str(output),
            "--database",
            database,
        ],
    )

    assert result.exit_code == 0
    quads = ox.parse(path=output, format=ox.RdfFormat.RDF_XML)
    predicates = {quad.predicate.value for quad in quads}
    assert "https://notekg.example/ontology/key#_2024-03-02" in predicates


def test_export_turtle_uses_prefixes(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)
    result = runner.invoke(
        main, ["--quiet", "export", "--format", "turtle", "--database", database]
    )
    graph = Graph().parse(data=result.output, format="turtle")
    assert "@prefix nk: <https://notekg.example/ontology#>" in result.output
    assert (MMLU, None, None) in graph


def test_ingest_without_paths_reads_bundled_notes(
    runner: CliRunner, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["--quiet", "ingest", "--database", database])
    assert result.exit_code == 0, result.output
    assert Store(database).current_generation_id() == 1


def test_deleted_note_is_dropped(runner: CliRunner, database: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    shutil.copytree(NOTES, notes)
    (notes / "extra.txt").write_text("Extra\n\nSection\n\n  • Colour: blue\n", encoding="utf-8")
    runner.invoke(
        main, ["--quiet", "ingest", str(notes), "--mapping", str(MAPPING), "--database", database]
    )

    (notes / "extra.txt").unlink()
    result = runner.invoke(
        main, ["--quiet", "ingest", str(notes), "--mapping", str(MAPPING), "--database", database]
    )
    store = Store(database)
    graphs = {
        version.graph_iri for version in store.graph_versions(store.current_generation_id() or 0)
    }

    assert "1 note (1 unchanged), 1 dropped," in result.output
    assert "https://notekg.example/id/graph/extra" not in graphs
    assert "https://notekg.example/id/graph/ai" in graphs


def test_query_refuses_update_with_advice(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)
    result = runner.invoke(
        main, ["--quiet", "query", "INSERT DATA { <a:b> <a:c> 1 }", "--database", database]
    )
    assert result.exit_code == 2
    assert "INSERT is SPARQL Update" in result.output


def test_query_on_empty_store_warns(runner: CliRunner, database: str) -> None:
    Store(database).close()
    result = runner.invoke(main, ["--quiet", "query", "ASK { ?s ?p ?o }", "--database", database])
    assert result.exit_code == 0
    assert "is empty; run notekg ingest first" in result.output


def test_dry_run_missing_store_creates_nothing(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "instance" / "store.sqlite"

    result = runner.invoke(
        main,
        [
            "ingest",
            str(NOTES),
            "--mapping",
            str(MAPPING),
            "--dry-run",
            "--no-validate",
            "--database",
            f"sqlite:///{path}",
        ],
    )

    assert result.exit_code == 0
    assert "dry run, nothing written: 1 note (0 unchanged)" in result.output
    assert not path.parent.exists()


@pytest.mark.parametrize("command", [["query", "ASK { ?s ?p ?o }"], ["export", "--format", "nt"]])
def test_read_command_missing_store_rejected(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "typo" / "store.sqlite"

    result = runner.invoke(main, [*command, "--database", f"sqlite:///{path}"])

    assert result.exit_code == 2
    assert f"no store at {path}; check --database" in result.output
    assert not path.parent.exists()


def test_ingest_summary_counts_unmapped_once(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    notes = tmp_path / "plain"
    notes.mkdir()
    (notes / "a.txt").write_text("A\n\nPart\n\n  • Colour: red\n  • Size: big\n", encoding="utf-8")
    result = runner.invoke(main, ["--quiet", "ingest", str(notes), "--database", database])
    assert (
        "2 unmapped items (bullet keys, table fields or tables) in the notes that this run built"
        in result.output
    )
    assert result.output.count("'Colour'") == 1


def test_query_xml_format_on_construct_gives_rdfxml(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)
    query = f"CONSTRUCT {{ <{MMLU}> ?p ?o }} WHERE {{ <{MMLU}> ?p ?o }}"
    result = runner.invoke(
        main, ["--quiet", "query", query, "--format", "xml", "--database", database]
    )
    graph = Graph().parse(data=result.output, format="xml")
    assert (MMLU, None, None) in graph


def test_query_csv_on_construct_is_usage_error(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)
    query = f"CONSTRUCT {{ <{MMLU}> ?p ?o }} WHERE {{ <{MMLU}> ?p ?o }}"
    result = runner.invoke(
        main, ["--quiet", "query", query, "--format", "csv", "--database", database]
    )
    assert result.exit_code == 2
    assert "use json, xml, turtle, ntriples, nt, jsonld, rdfxml, nquads, trig" in result.output


def test_strict_fails_again_on_unchanged_notes(runner: CliRunner, database: str) -> None:
    first = _ingest(runner, database, "--strict")
    second = _ingest(runner, database, "--strict")
    assert first.exit_code == 1
    assert second.exit_code == 1
    assert "ai.txt:55: warning: section 'Godfathers' is empty" in second.output
    assert "1 note (1 unchanged), 1 warning" in second.output


def test_summary_counts_in_plural_beyond_one(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("a", "b"):
        (notes / f"{name}.md").write_text(f"# {name}\n\nText of {name}.\n", encoding="utf-8")

    result = CliRunner().invoke(
        main, ["ingest", str(notes), "--database", f"sqlite:///{tmp_path / 'kg.sqlite'}"]
    )

    assert result.exit_code == 0, result.output
    assert "2 notes (0 unchanged), 0 warnings, 0 errors; generation 1" in result.output


def test_serve_reports_app_error(
    runner: CliRunner, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.app

    assert _ingest(runner, database, "--no-validate").exit_code == 0

    def failing_app(config: object) -> object:
        raise PermissionError(13, "Permission denied", "/srv/notekg/ontology")

    monkeypatch.setattr(service.app, "create_app", failing_app)
    result = runner.invoke(main, ["serve", "--port", "1", "--database", database])

    assert result.exit_code == 1
    assert "cannot start the server: [Errno 13] Permission denied" in result.output
    assert "check that the path exists and that notekg may use it" in result.output
    assert "cannot listen" not in result.output


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("mapping.yaml", "to use mapping.yaml as the mapping, pass it with --mapping"),
        ("doc.pdf", ""),
    ],
)
def test_ingest_rejects_unknown_suffix(
    runner: CliRunner, database: str, tmp_path: Path, name: str, hint: str
) -> None:
    path = tmp_path / name
    path.write_text("sections: []\n", encoding="utf-8")

    result = runner.invoke(main, ["ingest", str(NOTES), str(path), "--database", database])

    assert result.exit_code == 2
    assert f"{path}: not a note or RDF file; notekg reads files ending in " in result.output
    assert ".md, " in result.output
    assert hint in result.output
    assert "Traceback" not in result.output


def test_serve_reports_invalid_host(
    runner: CliRunner, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app is made before the socket, and its engine would fork query processes from pytest.
    monkeypatch.setenv("NOTEKG_QUERY_PROCESSES", "0")
    assert _ingest(runner, database, "--no-validate").exit_code == 0

    result = runner.invoke(
        main, ["serve", "--host", "127.0.0.999", "--port", "1", "--database", database]
    )

    assert result.exit_code == 1
    assert "cannot listen on 127.0.0.999:1: Invalid host/port specified; check" in result.output
    assert "check the address given with --host" in result.output
    assert "Traceback" not in result.output


def test_ingest_reads_repeated_path_once(runner: CliRunner, database: str) -> None:
    result = runner.invoke(
        main,
        [
            "ingest",
            str(NOTES),
            str(NOTES / ".." / "notes"),
            "--mapping",
            str(MAPPING),
            "--no-validate",
            "--database",
            database,
        ],
    )

    assert result.exit_code == 0, result.output
    assert "1 note (0 unchanged)" in result.output


def test_failed_first_ingest_leaves_no_store(runner: CliRunner, tmp_path: Path) -> None:
    mapping = tmp_path / "bad.yaml"
    mapping.write_text("sections:\n  - heading: A\n    keys:\n      Team: {property: team}\n")
    path = tmp_path / "new" / "store.sqlite"
    database = f"sqlite:///{path}"

    failed = runner.invoke(
        main, ["ingest", str(NOTES), "--mapping", str(mapping), "--database", database]
    )

    assert failed.exit_code == 1
    assert "is not an absolute IRI" in failed.output
    assert not (tmp_path / "new").exists()

    assert _ingest(runner, database, "--no-validate").exit_code == 0
    again = runner.invoke(
        main, ["ingest", str(NOTES), "--mapping", str(mapping), "--database", database]
    )

    assert again.exit_code == 1
    assert path.exists()
    assert Store(database).current_generation_id() == 1


def test_summary_counts_relinked_notes(capsys: pytest.CaptureFixture[str]) -> None:
    from ingest.run import IngestReport, NoteChange
    from notekg.cli import _print_report

    report = IngestReport(
        changes=[NoteChange("a.md", "relinked", 1, 0), NoteChange("b.md", "added", 5, 0)],
        generation=2,
    )
    _print_report(report)
    summary = capsys.readouterr().out.splitlines()[-1]

    assert summary == "2 notes (0 unchanged, 1 relinked), 0 warnings, 0 errors; generation 2"


def test_ingest_rebuild_builds_unchanged_notes(runner: CliRunner, database: str) -> None:
    _ingest(runner, database)

    again = _ingest(runner, database)
    rebuilt = _ingest(runner, database, "--rebuild")

    assert "1 note (1 unchanged)" in again.output
    assert "1 note (0 unchanged)" in rebuilt.output
    assert "replaced" in rebuilt.output


def test_warnings_of_a_file_come_in_line_order(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    # The heading link is checked after every note is built, so its warning comes last.
    (notes / "ops.md").write_text(
        "# Ops\n\nSee [[ops#Nowhere]].\n\n- Owner: Ada\n", encoding="utf-8"
    )

    result = runner.invoke(main, ["ingest", str(notes), "--database", database])

    lines = [line for line in result.output.splitlines() if ": warning: " in line]
    assert [int(line.split(":")[1]) for line in lines] == [3, 5]
