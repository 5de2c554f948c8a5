"""RDF files as ingest sources: their graphs, their errors, and no requests or file reads."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pyoxigraph as ox
import pytest

from ingest.problems import NoteSyntaxError
from ingest.rdf_sources import read_rdf_source
from ingest.run import NoteNameClash, run_ingest
from service.engine import OxigraphEngine
from service.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "rdf"
BASE = "https://notekg.example/id/"


def _ingest(tmp_path: Path, *files: Path) -> OxigraphEngine:
    folder = tmp_path / "sources"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for file in files:
        shutil.copy(file, folder / file.name)
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=ROOT / "data" / "mappings" / "ai.yaml", base_iri=BASE)
    return OxigraphEngine.from_store(store)


def test_turtle_file_becomes_its_own_graph(tmp_path: Path) -> None:
    engine = _ingest(tmp_path, FIXTURES / "curated.ttl")
    result = engine.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert [row[0].value for row in result.rows] == [BASE + "graph/curated"]


def test_quad_file_keeps_its_graph_names(tmp_path: Path) -> None:
    engine = _ingest(tmp_path, FIXTURES / "datasets.trig")
    result = engine.query("SELECT ?g ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?o")
    pairs = {(row[0].value, row[1].value) for row in result.rows}
    assert pairs == {
        ("http://example.org/g1", "in g1"),
        ("http://example.org/g2", "in g2"),
        (BASE + "graph/datasets", "in the default graph"),
    }


def test_rdf_and_notes_share_the_default_graph(tmp_path: Path) -> None:
    engine = _ingest(tmp_path, ROOT / "data" / "notes" / "ai.txt", FIXTURES / "curated.ttl")
    query = """
        PREFIX nk: <https://notekg.example/ontology#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?label WHERE {
          ?b nk:focusArea <https://notekg.example/id/focus-area/general-knowledge-reasoning> ;
             skos:prefLabel ?label .
        } ORDER BY ?label"""
    assert [row[0].value for row in engine.query(query).rows] == ["GPQA", "MMLU"]


def test_invalid_rdf_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(NoteSyntaxError) as raised:
        _ingest(tmp_path, FIXTURES / "broken.ttl")
    assert "broken.ttl" in str(raised.value)
    assert "broken.ttl:4: invalid Turtle" in str(raised.value)


def test_failed_rdf_ingest_keeps_stored_graph(tmp_path: Path) -> None:
    _ingest(tmp_path, FIXTURES / "curated.ttl")
    with pytest.raises(NoteSyntaxError):
        _ingest(tmp_path, FIXTURES / "broken.ttl")
    engine = OxigraphEngine.from_store(Store(f"sqlite:///{tmp_path}/store.sqlite"))
    assert engine.query("ASK { <https://notekg.example/id/benchmark/gpqa> ?p ?o }").boolean is True


def test_jsonld_remote_context_is_not_fetched() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        context = f"http://127.0.0.1:{port}/context.jsonld"
        document = f'{{"@context": "{context}", "@id": "http://example.org/a", "name": "A"}}'

        with pytest.raises(NoteSyntaxError):
            read_rdf_source(document.encode(), ".jsonld", "remote.jsonld", BASE + "graph/remote")
        with pytest.raises(TimeoutError):
            listener.accept()


def test_rdfxml_external_entity_is_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me", encoding="utf-8")
    document = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY secret SYSTEM "file://{secret}"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">
  <rdf:Description rdf:about="http://example.org/a"><ex:p>&secret;</ex:p></rdf:Description>
</rdf:RDF>"""
    try:
        graphs = read_rdf_source(document.encode(), ".rdf", "xxe.rdf", BASE + "graph/xxe")
    except NoteSyntaxError:
        return
    text = b"".join(graphs.values())
    assert b"do not read me" not in text


def test_rdf_source_round_trips_terms() -> None:
    data = (
        '<http://example.org/a> <http://example.org/p> "Énoncé"@fr .\n'
        "<http://example.org/a> <http://example.org/p> "
        '"3.5"^^<http://www.w3.org/2001/XMLSchema#decimal> .\n'
    )
    graphs = read_rdf_source(data.encode(), ".nt", "terms.nt", BASE + "graph/terms")
    objects = {
        quad.object for quad in ox.parse(graphs[BASE + "graph/terms"], format=ox.RdfFormat.N_QUADS)
    }
    assert ox.Literal("Énoncé", language="fr") in objects
    assert (
        ox.Literal("3.5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal"))
        in objects
    )


def _ingest_texts(tmp_path: Path, files: dict[str, bytes]) -> Store:
    folder = tmp_path / "sources"
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    return store


def test_relative_iris_resolve_against_file_graph(tmp_path: Path) -> None:
    store = _ingest_texts(tmp_path, {"rel.ttl": b"<#thing> <http://e/p> <> .\n"})
    engine = OxigraphEngine.from_store(store)

    rows = engine.query("SELECT ?s ?o WHERE { ?s <http://e/p> ?o }").rows

    assert [(row[0].value, row[1].value) for row in rows] == [
        (BASE + "graph/rel#thing", BASE + "graph/rel")
    ]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    store = _ingest_texts(tmp_path, {"bom.ttl": b"\xef\xbb\xbf<http://e/a> <http://e/p> 1 .\n"})
    engine = OxigraphEngine.from_store(store)

    assert engine.query("ASK { <http://e/a> <http://e/p> 1 }").boolean is True


def test_latin1_file_names_byte_and_line(tmp_path: Path) -> None:
    data = b'<http://e/a> <http://e/p> "x" .\n<http://e/a> <http://e/p> "caf\xe9" .\n'
    with pytest.raises(NoteSyntaxError) as raised:
        _ingest_texts(tmp_path, {"latin.nt": data})

    assert raised.value.line == 2
    assert raised.value.message == "invalid UTF-8 byte 0xe9; save the file as UTF-8"


def test_syntax_error_names_column_once(tmp_path: Path) -> None:
    with pytest.raises(NoteSyntaxError) as raised:
        _ingest_texts(tmp_path, {"bad.ttl": b"@prefix ex: <http://e/> .\nex:a ex:b .\n"})

    assert raised.value.line == 2
    assert raised.value.message == "invalid Turtle: . is not a valid RDF object (column 11)"


def test_empty_file_is_warned(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "empty.ttl").write_bytes(b"")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert [str(problem) for problem in report.warnings] == [
        f"{folder}/empty.ttl:1: warning: the file has no triples, so nothing is stored for it"
    ]


@pytest.mark.parametrize(
    ("files", "advice"),
    [
        (
            {
                "data.ttl": b'<http://e/a> <http://e/p> "1" .\n',
                "data.jsonld": b'{"@id": "http://e/b", "http://e/p": "2"}',
            },
            "rename one of the files",
        ),
        (
            {
                "a.nq": b'<http://e/a> <http://e/p> "1" <http://e/g> .\n',
                "b.nq": b'<http://e/b> <http://e/p> "2" <http://e/g> .\n',
            },
            "rename the graph where an N-Quads or TriG file names it",
        ),
    ],
    ids=["file-names", "graph-names"],
)
def test_graph_clash_of_rdf_files_advises_renaming(
    tmp_path: Path, files: dict[str, bytes], advice: str
) -> None:
    with pytest.raises(NoteNameClash) as raised:
        _ingest_texts(tmp_path, files)

    assert raised.value.message.endswith(f"; {advice}")
    assert "front matter" not in raised.value.message
