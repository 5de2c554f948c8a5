"""An Obsidian vault ingested without a mapping: links, tags, ids and name clashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, Namespace, URIRef

from ingest.run import IngestReport, NoteNameClash, run_ingest
from service.engine import OxigraphEngine
from service.store import Store

XSD_DECIMAL = "http://www.w3.org/2001/XMLSchema#decimal"

ROOT = Path(__file__).resolve().parent.parent
VAULT = ROOT / "tests" / "fixtures" / "markdown" / "vault"
BASE = "https://notekg.example/id/"
PREFIXES = """
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX nk: <https://notekg.example/ontology#>
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> OxigraphEngine:
    folder = tmp_path_factory.mktemp("vault")
    store = Store(f"sqlite:///{folder}/store.sqlite")
    run_ingest([VAULT], store, mapping_path=None, base_iri=BASE)
    return OxigraphEngine.from_store(store)


def _values(engine: OxigraphEngine, query: str) -> set[str]:
    return {row[0].value for row in engine.query(PREFIXES + query).rows if row[0] is not None}


def test_front_matter_id_names_the_note(engine: OxigraphEngine) -> None:
    notes = _values(engine, "SELECT ?n WHERE { ?n a nk:Note }")
    assert BASE + "note/attention" in notes
    assert BASE + "note/transformer-architecture" in notes


def test_tags_become_keywords(engine: OxigraphEngine) -> None:
    tags = _values(
        engine, f"SELECT ?k WHERE {{ <{BASE}note/transformer-architecture> schema:keywords ?k }}"
    )
    assert tags == {"ml", "architecture"}


def test_aliases_become_alternative_labels(engine: OxigraphEngine) -> None:
    aliases = _values(
        engine, f"SELECT ?a WHERE {{ <{BASE}note/transformer-architecture> skos:altLabel ?a }}"
    )
    assert aliases == {"Transformer"}


def test_wiki_link_references_the_linked_note(engine: OxigraphEngine) -> None:
    targets = _values(engine, "SELECT ?t WHERE { ?s a nk:Section ; dcterms:references ?t }")
    assert BASE + "note/attention" in targets


def test_url_link_is_referenced_as_iri(engine: OxigraphEngine) -> None:
    targets = _values(engine, "SELECT ?t WHERE { ?s dcterms:references ?t }")
    assert "https://arxiv.org/abs/1706.03762" in targets


def test_same_note_name_in_two_formats_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    shutil.copy(ROOT / "data" / "notes" / "ai.txt", folder / "ai.txt")
    (folder / "ai.md").write_text("# AI\n\n## Other\n\nText.\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")

    with pytest.raises(NoteNameClash, match="both get the note IRI slug 'ai'") as raised:
        run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    assert store.current_generation_id() is None
    # Only the Markdown note can have front matter.
    assert str(raised.value).endswith("/notes/ai.md an 'id:' in its front matter")


def test_duplicate_headings_get_separate_sections(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "log.md").write_text(
        "# Log\n\n## Notes\n\nFirst.\n\n## Notes\n\nSecond.\n", encoding="utf-8"
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    engine = OxigraphEngine.from_store(store)

    sections = engine.query(
        PREFIXES + "SELECT ?s ?d WHERE { ?s a nk:Section ; dcterms:description ?d }"
    )
    by_text = {
        row[1].value: row[0].value for row in sections.rows if isinstance(row[1], ox.Literal)
    }
    assert by_text == {
        "First.": BASE + "section/log/notes",
        "Second.": BASE + "section/log/notes-2",
    }


def test_entity_defined_in_own_section(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "gpus.txt").write_text(
        "GPUs\n\nA100\n\n  • Successor: H100\n\nH100\n\n  • Memory: 80 GB\n", encoding="utf-8"
    )
    mapping = tmp_path / "gpus.yaml"
    mapping.write_text(
        "prefixes: {ex: 'https://example.org/terms#'}\n"
        "sections:\n"
        "  - heading_pattern: 'A100|H100'\n"
        "    entity: {class: nk:GPU, kind: gpu}\n"
        "    keys:\n"
        "      Successor: {property: ex:successor, value: link, class: nk:GPU, kind: gpu}\n"
        "      Memory: {property: nk:memorySize, value: quantity}\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=mapping, base_iri=BASE)
    engine = OxigraphEngine.from_store(store)

    defined = _values(engine, f"SELECT ?s WHERE {{ <{BASE}gpu/h100> nk:definedIn ?s }}")
    assert defined == {BASE + "section/gpus/h100"}


def test_text_before_first_heading_has_no_empty_title(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "intro.md").write_text(
        "# Intro\n\nOpening words.\n\n## Part\n\nMore.\n", encoding="utf-8"
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    engine = OxigraphEngine.from_store(store)

    titles = _values(engine, "SELECT ?t WHERE { ?s a nk:Section ; dcterms:title ?t }")
    assert "" not in titles
    assert "Part" in titles


def test_other_front_matter_keys_become_generic_properties(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "kafka.md"
    note.write_text(
        "---\ntitle: Kafka\nauthor: Ada Lovelace\nreviewed: 2024-01-31\nsources: [docs, book]\n"
        "---\n# Kafka\n\n- Protocol: TCP\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    generation = store.current_generation_id()
    assert generation is not None
    nquads = store.read_graph(generation, f"{BASE}graph/kafka")
    assert nquads is not None
    facts = Graph()
    for quad in ox.parse(nquads, format=ox.RdfFormat.N_QUADS):
        facts.parse(data=str(quad.triple) + " .", format="nt")
    note_iri = URIRef(f"{BASE}note/kafka")
    key = Namespace("https://notekg.example/ontology/key#")

    assert set(facts.objects(note_iri, key.author)) == {Literal("Ada Lovelace")}
    assert set(facts.objects(note_iri, key.reviewed)) == {Literal("2024-01-31")}
    assert set(facts.objects(note_iri, key.sources)) == {Literal("docs"), Literal("book")}
    warnings = [str(problem) for problem in report.warnings]
    assert any(w.startswith(f"{note}:3: warning: front matter key 'author'") for w in warnings)
    assert not any("front matter key 'title'" in w for w in warnings)


def test_bullet_before_first_heading_names_the_note(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "redis.md").write_text("# Redis\n\n- Port: 6379\n\n## Use\n\nCaching.\n")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    warnings = [str(problem) for problem in report.warnings]
    assert any("bullet key 'Port' of the top of note 'Redis'" in w for w in warnings), warnings
    assert not any("section ''" in w for w in warnings)


@pytest.mark.parametrize(
    ("note", "advice"),
    [
        (
            "# A100\n\n- Memory: 80 GB\n",
            "key:memory. Add a section rule with the heading 'A100' (the note's",
        ),
        ("# GPUs\n\n## A100\n\n- Memory: 80 GB\n", "Map it in the mapping file"),
    ],
    ids=["top-of-note", "section"],
)
def test_unmapped_bullet_advice(tmp_path: Path, note: str, advice: str) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a100.md").write_text(note, encoding="utf-8")

    report = run_ingest(
        [notes],
        Store(f"sqlite:///{tmp_path / 'kg.sqlite'}"),
        mapping_path=None,
        base_iri="https://kg.test/id/",
        validate=False,
    )

    messages = [problem.message for problem in report.warnings]
    unmapped = [message for message in messages if "bullet key 'Memory'" in message]
    assert len(unmapped) == 1, messages
    assert "has no mapping; stored as generic property key:memory." in unmapped[0]
    assert advice.lower() in unmapped[0].lower()


def test_rule_matches_top_of_note_by_title(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "nginx.md").write_text("# Nginx\n\n- Version: 1.25\n", encoding="utf-8")
    (notes / "redis.md").write_text("# Redis\n\n## Use\n\nCaching.\n", encoding="utf-8")
    mapping = tmp_path / "software.yaml"
    mapping.write_text(
        "sections:\n"
        "  - heading: Nginx\n"
        "    entity: {class: schema:SoftwareApplication, kind: software}\n"
        "    keys:\n"
        "      Version: {property: schema:softwareVersion}\n"
        "  - heading: Postgres\n"
        "    entity: {class: schema:SoftwareApplication, kind: software}\n"
        "  - heading: Redis\n"
        "    entity: {class: schema:SoftwareApplication, kind: software}\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path / 'kg.sqlite'}")

    report = run_ingest([notes], store, mapping_path=mapping, base_iri=BASE)
    engine = OxigraphEngine.from_store(store)

    versions = _values(
        engine, f"SELECT ?v WHERE {{ <{BASE}software/nginx> schema:softwareVersion ?v }}"
    )
    assert versions == {"1.25"}
    messages = [problem.message for problem in report.warnings]
    assert not any("bullet key 'Version'" in message for message in messages), messages
    assert any("the section rule for 'Postgres' matches no heading" in m for m in messages)
    assert not any("the section rule for 'Nginx'" in message for message in messages)
    # Redis has no text before its first section heading.
    assert any(
        "the section rule for 'Redis' matches a note's title, but that note has no text before"
        in message
        for message in messages
    )


def test_tags_as_text_split_at_commas(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    front_matter = "---\ntags: infra/db, ops\naliases: PG\n---\n"
    (notes / "postgres.md").write_text(front_matter + "# PostgreSQL\n\nA database.\n")
    store = Store(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    run_ingest([notes], store, mapping_path=None, base_iri="https://kg.test/id/", validate=False)

    engine = OxigraphEngine.from_store(store)
    note = "https://kg.test/id/note/postgres"
    keywords = _values(engine, f"SELECT ?k WHERE {{ <{note}> schema:keywords ?k }}")
    aliases = _values(engine, f"SELECT ?a WHERE {{ <{note}> skos:altLabel ?a }}")

    assert keywords == {"infra/db", "ops"}
    assert aliases == {"PG"}


def test_attachment_links_reference_no_note(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "Other.md").write_text("# Other\n\nText.\n", encoding="utf-8")
    (folder / "Page.md").write_text(
        "# Page\n\n## Links\n\n![[diagram.png]] and [the spec](spec.pdf) beside [[Other]].\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    engine = OxigraphEngine.from_store(store)

    targets = _values(engine, "SELECT ?t WHERE { ?s dcterms:references ?t }")
    assert targets == {BASE + "note/other"}
    assert [problem.message for problem in report.problems if "diagram" in problem.message] == []


def test_inline_tags_become_keywords(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    text = "---\ntags: ['#ops']\n---\n# PostgreSQL\n\nA database for #infra/db and #ops.\n"
    (notes / "postgres.md").write_text(text)
    store = Store(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    run_ingest([notes], store, mapping_path=None, base_iri="https://kg.test/id/", validate=False)

    engine = OxigraphEngine.from_store(store)
    note = "https://kg.test/id/note/postgres"
    keywords = _values(engine, f"SELECT ?k WHERE {{ <{note}> schema:keywords ?k }}")

    assert keywords == {"infra/db", "ops"}


def test_values_that_do_not_convert_log_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "db.md").write_text(
        "# Databases\n\n## Postgres\n\n- Count: 1,000\n- Port: none\n- Released: 2024-13-45\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "sections:\n  - heading: Postgres\n    keys:\n"
        "      Count: {property: 'https://kg.test/count', value: number}\n"
        "      Port: {property: 'https://kg.test/port', value: number}\n"
        "      Released: {property: 'https://kg.test/released', value: date}\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path / 'kg.sqlite'}")
    with caplog.at_level("WARNING"):
        report = run_ingest(
            [notes], store, mapping_path=mapping, base_iri="https://kg.test/id/", validate=False
        )

    engine = OxigraphEngine.from_store(store)
    query = "SELECT ?p ?o WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?p), 'https://kg.test/')) }"
    values = {row[0].value: row[1] for row in engine.query(query).rows}
    messages = [problem.message for problem in report.warnings]

    assert not [record for record in caplog.records if record.name == "rdflib.term"]
    assert values["https://kg.test/count"] == ox.Literal("1000", datatype=ox.NamedNode(XSD_DECIMAL))
    assert values["https://kg.test/port"] == ox.Literal("none")
    assert any(
        "'2024-13-45' is not a valid date; stored as text" in message for message in messages
    )


def _actions(report: IngestReport) -> dict[str, str]:
    """Return what the run did with each note, by file name."""
    return {Path(change.source).name: change.action for change in report.changes}


def heading_warnings(report: object) -> list[str]:
    return [str(problem) for problem in report.warnings if "leads to the heading" in str(problem)]  # type: ignore[attr-defined]


def test_links_to_missing_headings_warn(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "redis.md").write_text(
        "# Redis\n\n## Backup schedule\n\nNightly.\n", encoding="utf-8"
    )
    (folder / "ops.md").write_text(
        "# Ops\n\n## Local\n\n"
        "See [[redis#Backup schedule]], [the schedule](redis.md#backup-schedule), "
        "[[redis#^b1]], [[#Local]] and [[redis|Redis]].\n\n"
        "Broken: [[redis#Nope]] and [[#Elsewhere]].\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert heading_warnings(report) == [
        f"{folder}/ops.md:7: warning: link '[[redis#Nope]]' leads to the heading 'Nope' of "
        "redis.md, which has no such heading; link to one of its headings, or to the note alone",
        f"{folder}/ops.md:7: warning: link '[[#Elsewhere]]' leads to the heading 'Elsewhere' of "
        "ops.md, which has no such heading; link to one of its headings, or to the note alone",
    ]


def test_heading_links_check_stored_note(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "redis.md").write_text("# Redis\n\n## Persistence\n\nRDB.\n", encoding="utf-8")
    ops = folder / "ops.md"
    ops.write_text("# Ops\n\nSee [[redis#Persistence]].\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    first = run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    ops.write_text("# Ops\n\nSee [[redis#Persistence]] and [[redis#Replication]].\n")

    # Only ops.md changed, so the headings of redis.md come from the store.
    second = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert heading_warnings(first) == []
    assert _actions(second) == {"ops.md": "replaced", "redis.md": "unchanged"}
    assert len(heading_warnings(second)) == 1
    assert "the heading 'Replication' of redis.md" in heading_warnings(second)[0]


def test_links_lead_to_front_matter_id(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "postgres.md").write_text("---\nid: pg\n---\n# Postgres\n\nText.\n")
    (folder / "index.md").write_text(
        "# Index\n\nSee [[postgres]], [the database](postgres.md) and [[postgres#Postgres]].\n"
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    engine = OxigraphEngine.from_store(store)

    targets = _values(engine, "SELECT ?t WHERE { ?s <http://purl.org/dc/terms/references> ?t }")

    # The three links lead to the IRI that the note's id gives, not to note/postgres.
    assert targets == {f"{BASE}note/pg"}
    assert report.warnings == []


def test_heading_warning_follows_linked_note(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    redis = folder / "redis.md"
    redis.write_text("# Redis\n\n## Persistence\n\nRDB.\n", encoding="utf-8")
    (folder / "app.md").write_text("# App\n\nSee [[redis#Replication]].\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    # Nothing changed: the stored warning is repeated, as other warnings are.
    again = run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    redis.write_text("# Redis\n\n## Persistence\n\nRDB.\n\n## Replication\n\nAsync.\n")
    # The linked note now has the heading, so the linking note is checked again.
    fixed = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert len(heading_warnings(again)) == 1
    assert heading_warnings(fixed) == []
    assert _actions(fixed) == {"app.md": "replaced", "redis.md": "replaced"}


def _references(store: Store) -> set[str]:
    engine = OxigraphEngine.from_store(store)
    try:
        return _values(engine, "SELECT ?t WHERE { ?s <http://purl.org/dc/terms/references> ?t }")
    finally:
        engine.close()


def test_links_follow_a_changed_id(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    postgres = folder / "postgres.md"
    postgres.write_text("# Postgres\n\nText.\n", encoding="utf-8")
    (folder / "index.md").write_text("# Index\n\nSee [[postgres]].\n", encoding="utf-8")
    (folder / "other.md").write_text("# Other\n\nNo links.\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    before = _references(store)

    postgres.write_text("---\nid: pg\n---\n# Postgres\n\nText.\n", encoding="utf-8")
    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert before == {f"{BASE}note/postgres"}
    # index.md did not change, but its link leads to the note's new IRI.
    assert _references(store) == {f"{BASE}note/pg"}
    assert _actions(report) == {
        "index.md": "replaced",
        "other.md": "unchanged",
        "postgres.md": "replaced",
    }


def test_links_to_a_deleted_note_warn(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    redis = folder / "redis.md"
    redis.write_text("# Redis\n\nText.\n", encoding="utf-8")
    (folder / "app.md").write_text("# App\n\nSee [[redis]].\n", encoding="utf-8")
    (folder / "web.md").write_text("# Web\n\nSee [[app]].\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    first = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    redis.unlink()
    second = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert first.warnings == []
    assert [str(problem) for problem in second.warnings] == [
        f"{folder}/app.md:3: warning: link '[[redis]]' leads to redis.md, which is not a note "
        "file in the notes folder; create the note or fix the link"
    ]
    assert _actions(second) == {"app.md": "replaced", "web.md": "unchanged", "redis.md": "dropped"}


def test_renamed_heading_warns_unchanged_linking_note(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    postgres = folder / "postgres.md"
    postgres.write_text("# Postgres\n\n## Backup schedule\n\nNightly.\n", encoding="utf-8")
    (folder / "redis.md").write_text("# Redis\n\nSee [[postgres#Backup schedule]].\n")
    (folder / "solo.md").write_text("# Solo\n\nNo links.\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    postgres.write_text("# Postgres\n\n## Backup schedule\n\nNightly, at 2:00.\n")
    # An edit that keeps every heading builds only the edited note.
    edited = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    postgres.write_text("# Postgres\n\n## Backups\n\nNightly, at 2:00.\n", encoding="utf-8")
    renamed = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert _actions(edited) == {
        "postgres.md": "replaced",
        "redis.md": "unchanged",
        "solo.md": "unchanged",
    }
    assert _actions(renamed) == {
        "postgres.md": "replaced",
        "redis.md": "replaced",
        "solo.md": "unchanged",
    }
    assert len(heading_warnings(renamed)) == 1
    assert "the heading 'Backup schedule' of postgres.md" in heading_warnings(renamed)[0]


def test_lost_heading_of_a_rule_warns(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    postgres = folder / "postgres.md"
    postgres.write_text("# Postgres\n\n## Backup schedule\n\nNightly.\n", encoding="utf-8")
    (folder / "other.md").write_text("# Other\n\nText.\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "sections:\n  - heading: Backup schedule\n"
        "    entity: {class: skos:Concept, kind: backup-policy, label: '{note} backups'}\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=mapping, base_iri=BASE)

    postgres.write_text("# Postgres\n\n## Backups\n\nNightly.\n", encoding="utf-8")
    report = run_ingest([folder], store, mapping_path=mapping, base_iri=BASE)

    assert [str(problem) for problem in report.warnings] == [
        f"{folder}/postgres.md:1: warning: the heading 'Backup schedule' is gone, and the "
        f"section rule on line 2 of {mapping} matched it, so this note no longer has that "
        "rule's entities; restore the heading, or change the rule to match its new name"
    ]


def test_many_changed_notes_skip_heading_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.run

    folder = tmp_path / "notes"
    folder.mkdir()
    postgres = folder / "postgres.md"
    postgres.write_text("# Postgres\n\n## Backup schedule\n\nNightly.\n", encoding="utf-8")
    (folder / "redis.md").write_text("# Redis\n\nSee [[postgres#Backup schedule]].\n")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    monkeypatch.setattr(ingest.run, "MAX_HEADING_CHECKS", 0)

    postgres.write_text("# Postgres\n\n## Backups\n\nNightly.\n", encoding="utf-8")
    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert _actions(report) == {"postgres.md": "replaced", "redis.md": "unchanged"}
    assert heading_warnings(report) == []


@pytest.mark.parametrize(
    ("written", "problem", "slug"),
    [
        ('" "', "' ' has no letter or digit", "ops"),
        ('"!!!"', "'!!!' has no letter or digit", "ops"),
        ("[a, b]", "['a', 'b'] is not text", "ops"),
        ("42", None, "42"),
    ],
    ids=["blank", "symbols", "list", "number"],
)
def test_front_matter_id_that_names_no_note(
    tmp_path: Path, written: str, problem: str | None, slug: str
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "ops.md").write_text(f"---\nid: {written}\n---\n# Ops\n\nText.\n", encoding="utf-8")
    (folder / "index.md").write_text("# Index\n\nSee [[ops]].\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    # The note and the link to it agree on the note's IRI.
    assert _references(store) == {f"{BASE}note/{slug}"}
    warnings = [str(warning) for warning in report.warnings]
    if problem is None:
        assert warnings == []
    else:
        assert warnings == [
            f"{folder}/ops.md:2: warning: front matter id {problem} to name the note, so the "
            f"note keeps the IRI of its path, {BASE}note/ops; write the id as text such as id: ops"
        ]


def test_new_same_name_note_relinks(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    (folder / "infra").mkdir(parents=True)
    (folder / "api").mkdir()
    (folder / "infra" / "postgres.md").write_text("# Postgres\n", encoding="utf-8")
    (folder / "index.md").write_text("# Index\n\nSee [[postgres]].\n", encoding="utf-8")
    (folder / "other.md").write_text("# Other\n\nText.\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    first = run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    before = _references(store)

    (folder / "api" / "postgres.md").write_text("# Postgres API\n", encoding="utf-8")
    second = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    assert first.warnings == []
    assert before == {f"{BASE}note/infra-postgres"}
    # As a fresh ingest would, the link leads to the first note of the name by path.
    assert _references(store) == {f"{BASE}note/api-postgres"}
    assert [str(problem) for problem in second.warnings] == [
        f"{folder}/index.md:3: warning: link '[[postgres]]' names 2 notes, api/postgres.md, "
        "infra/postgres.md, and leads to api/postgres.md, the first by path; write the folder "
        "of the note you mean into the link, as [[api/postgres]]"
    ]
    actions = {
        Path(change.source).relative_to(folder).as_posix(): change.action
        for change in second.changes
    }
    assert actions == {
        "api/postgres.md": "added",
        "infra/postgres.md": "unchanged",
        "index.md": "replaced",
        "other.md": "unchanged",
    }


def test_rebuild_catches_up_after_ingest_of_one_folder(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    (folder / "team").mkdir(parents=True)
    ada = folder / "team" / "ada.md"
    ada.write_text("# Ada\n", encoding="utf-8")
    (folder / "index.md").write_text("# Index\n\nSee [[ada]].\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    ada.rename(folder / "team" / "ada-lovelace.md")
    # Only the team folder is read, so index.md keeps its link to the moved note.
    run_ingest([folder / "team"], store, mapping_path=None, base_iri=BASE)
    stale = _references(store)

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE, rebuild=True)

    assert stale == {f"{BASE}note/team-ada"}
    assert _references(store) == {f"{BASE}note/ada"}
    assert {change.action for change in report.changes} == {"replaced"}
    assert [str(problem) for problem in report.warnings] == [
        f"{folder}/index.md:3: warning: link '[[ada]]' leads to ada.md, which is not a note "
        "file in the notes folder; create the note or fix the link"
    ]


def test_wiki_path_from_a_vault_inside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    (folder / "vault" / "runbooks").mkdir(parents=True)
    (folder / "vault" / "rota").mkdir()
    (folder / "vault" / "runbooks" / "failover.md").write_text("# Failover\n", encoding="utf-8")
    (folder / "vault" / "rota" / "q3.md").write_text(
        "# Rota\n\nSee [[runbooks/failover]].\n", encoding="utf-8"
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    # Obsidian writes the path from the vault's folder, which is inside the ingested one.
    assert _references(store) == {f"{BASE}note/vault-runbooks-failover"}
    assert report.warnings == []


def test_link_value_takes_linked_note_title_case(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "postgres.md").write_text("# Postgres\n\n- Runbook: [[failover]]\n")
    (folder / "failover.md").write_text("# Failover\n\n## Trigger\n\nWhen the primary dies.\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "sections:\n"
        "  - heading: Postgres\n"
        "    keys:\n"
        "      Runbook: {property: schema:about, value: link, class: schema:Thing, kind: runbook}\n"
        "  - heading: Trigger\n"
        "    entity: {class: schema:Thing, kind: runbook, label: '{note}'}\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=mapping, base_iri=BASE)
    engine = OxigraphEngine.from_store(store)

    labels = _values(
        engine,
        f"SELECT ?l WHERE {{ <{BASE}runbook/failover> "
        "<http://www.w3.org/2004/02/skos/core#prefLabel> ?l }",
    )

    # Both notes name the runbook, and it has one label.
    assert labels == {"Failover"}


@pytest.mark.parametrize(
    ("tag", "name"), [("bash", "Bash"), ("yaml", "YAML"), ("py", "Python"), ("hcl", "hcl")]
)
def test_code_language_gets_its_usual_name(tmp_path: Path, tag: str, name: str) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "ops.md").write_text(f"# Ops\n\n```{tag}\nrun\n```\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([folder], store, mapping_path=None, base_iri=BASE)
    engine = OxigraphEngine.from_store(store)

    languages = _values(
        engine, "SELECT ?l WHERE { ?c <https://schema.org/programmingLanguage> ?l }"
    )

    assert languages == {name}


def test_ambiguous_link_advice_keeps_heading(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    (folder / "infra").mkdir(parents=True)
    (folder / "apps").mkdir()
    (folder / "infra" / "redis.md").write_text("# Redis\n\n## Backups\n\nNightly.\n")
    (folder / "apps" / "redis.md").write_text("# Redis client\n", encoding="utf-8")
    (folder / "index.md").write_text("# Index\n\nSee [[redis#Backups]].\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")

    report = run_ingest([folder], store, mapping_path=None, base_iri=BASE)

    ambiguous = [str(problem) for problem in report.warnings if "names 2 notes" in str(problem)]
    assert len(ambiguous) == 1
    assert ambiguous[0].endswith("into the link, as [[apps/redis#Backups]]")
