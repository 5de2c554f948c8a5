"""Tests of the mapping file loader in ingest/mapping.py."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ingest.mapping import Mapping, empty_mapping, load_mapping
from ingest.problems import MappingError

if TYPE_CHECKING:
    from ingest.run import IngestReport
    from service.engine import OxigraphEngine

REPO = Path(__file__).resolve().parent.parent
AI_MAPPING = REPO / "data" / "mappings" / "ai.yaml"


@pytest.fixture(scope="module")
def ai_mapping() -> Mapping:
    return load_mapping(AI_MAPPING, "data/mappings/ai.yaml")


def load_text(tmp_path: Path, text: str) -> Mapping:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path, "mapping.yaml")


def mapping_error(tmp_path: Path, text: str) -> MappingError:
    with pytest.raises(MappingError) as raised:
        load_text(tmp_path, text)
    return raised.value


# ---------------------------------------------------------------------------
# The bundled mapping data/mappings/ai.yaml
# ---------------------------------------------------------------------------


def test_ai_mapping_section_rules(ai_mapping: Mapping) -> None:
    headings = [rule.heading for rule in ai_mapping.sections]
    assert headings == [
        "NN Memory",
        "Transformer Layers",
        "H100 Varieties",
        "Benchmarks",
        "Singularity",
        "Scikit-Learn",
    ]


def test_ai_mapping_notes_and_path(ai_mapping: Mapping) -> None:
    assert ai_mapping.notes == ["ai.txt"]
    assert ai_mapping.path == "data/mappings/ai.yaml"


def test_ai_mapping_h100_table(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("H100 Varieties")
    assert rule is not None
    assert rule.table is not None

    table = rule.table
    assert table.entities == "columns"
    assert (table.cls, table.kind) == ("nk:GPUVariant", "gpu-variant")
    assert table.columns == ("Feature", "H100 PCIe", "H100 SXM", "H100 NVL")
    assert table.row_labels == (
        "Connection",
        "RAM to VRAM Speed",
        "GPU to GPU Speed",
        "VRAM Type",
        "VRAM Size",
        "Best For",
        "Key Downside",
    )
    assert table.link_to_section == "schema:isVariantOf"
    assert table.fields["VRAM Size"].value == "quantity"
    assert table.line == 29


def test_ai_mapping_h100_entity(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("H100 Varieties")
    assert rule is not None
    assert rule.entity is not None
    assert (rule.entity.cls, rule.entity.kind, rule.entity.label) == ("nk:GPU", "gpu", "H100")


def test_ai_mapping_benchmarks_table(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("Benchmarks")
    assert rule is not None
    assert rule.table is not None

    table = rule.table
    assert table.entities == "rows"
    assert table.columns == ("Benchmark", "Focus Area", "Description", "Example Metrics")
    assert table.row_labels is None
    assert table.label_column == "Benchmark"
    assert table.fields["Benchmark"].value == "name"

    metrics = table.fields["Example Metrics"]
    assert (metrics.property, metrics.value, metrics.kind) == ("nk:metric", "link", "metric")
    assert metrics.unit_property == "nk:metricScale"
    assert metrics.line == 63


def test_ai_mapping_key_rules(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("Singularity")
    assert rule is not None

    reference = rule.key_rule("Reference")
    assert reference is not None
    assert reference.strip_prefix == "Based on "
    assert reference.value == "link"
    assert reference.line == 75


def test_ai_mapping_code_rule(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("Scikit-Learn")
    assert rule is not None
    assert rule.code is not None
    assert (rule.code.cls, rule.code.kind, rule.code.api_links) == ("nk:CodeExample", "code", True)


def test_ai_mapping_section_lines(ai_mapping: Mapping) -> None:
    assert [rule.line for rule in ai_mapping.sections] == [6, 17, 27, 52, 71, 83]


# ---------------------------------------------------------------------------
# Errors: file, line and key
# ---------------------------------------------------------------------------


def test_invalid_yaml_line_from_parser(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "sections:\n  - heading: A\n    keys: {K: [\n")
    assert error.path == "mapping.yaml"
    assert error.line == 4
    assert "invalid YAML" in str(error)


def test_tab_indent_invalid_yaml(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "sections:\n  - heading: A\n\tkeys: {}\n")
    assert error.line == 3
    assert str(error).startswith("mapping.yaml:3: invalid YAML")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "notes: []\nsection:\n  - heading: A\n")
    assert error.line == 2
    assert "unknown key 'section'; did you mean 'sections'?" in str(error)


def test_unknown_key_in_field(tmp_path: Path) -> None:
    text = (
        "sections:\n"
        "  - heading: A\n"
        "    keys:\n"
        "      Memory:\n"
        "        property: nk:memory\n"
        "        colour: red\n"
    )
    error = mapping_error(tmp_path, text)
    assert error.line == 6
    assert "sections.0.keys.Memory:" in str(error)
    assert "unknown key 'colour'; the keys here are property, value, class" in str(error)


def test_wrong_value_kind(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n    keys:\n      Memory:\n        value: colour\n"
    error = mapping_error(tmp_path, text)
    assert error.line == 5
    assert "sections.0.keys.Memory.value:" in str(error)
    assert "'colour' is not one of" in str(error)


def test_table_missing_kind(tmp_path: Path) -> None:
    text = (
        "sections:\n"
        "  - heading: Benchmarks\n"
        "    table:\n"
        "      entities: rows\n"
        "      class: nk:Benchmark\n"
    )
    error = mapping_error(tmp_path, text)
    assert error.line == 3
    assert "sections.0.table: 'kind' is a required property" in str(error)


def test_code_kind_must_be_slug(tmp_path: Path) -> None:
    text = (
        "sections:\n"
        "  - heading: A\n"
        "    code:\n"
        "      class: nk:CodeExample\n"
        "      kind: Code Example\n"
    )
    error = mapping_error(tmp_path, text)
    assert error.line == 5
    assert "sections.0.code.kind: 'Code Example' is not a valid kind" in str(error)


def test_misspelt_ontology_class(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n    entity:\n      class: nk:Benchmrk\n      kind: thing\n"
    error = mapping_error(tmp_path, text)

    assert error.line == 4
    assert "sections.0.entity.class: 'nk:Benchmrk' is not in the notekg ontology" in str(error)
    assert "did you mean nk:Benchmark?" in str(error)


def test_ontology_class_in_wrong_case(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n    entity:\n      class: nk:Gpu\n      kind: gpu\n"
    error = mapping_error(tmp_path, text)

    assert "did you mean nk:GPU?" in str(error)


def test_ontology_property_used_as_class(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n    entity:\n      class: nk:metric\n      kind: thing\n"
    error = mapping_error(tmp_path, text)

    assert error.line == 4
    assert "'nk:metric' is a property of the notekg ontology, but a class is needed" in str(error)


def test_misspelt_ontology_property(tmp_path: Path) -> None:
    text = (
        "sections:\n"
        "  - heading: A\n"
        "    entity:\n"
        "      class: nk:Benchmark\n"
        "      kind: benchmark\n"
        "    keys:\n"
        "      Metric:\n"
        "        property: nk:metrik\n"
    )
    error = mapping_error(tmp_path, text)

    assert error.line == 8
    assert "did you mean nk:metric?" in str(error)


CLASS_RULE = "entity:\n      class: {}\n      kind: thing"
KEY_RULE = "keys:\n      Team: {{property: {}}}"


@pytest.mark.parametrize(
    ("rule", "value", "suggested"),
    [
        (CLASS_RULE, "Tool", "such as my:Tool with 'prefixes: {my: https://example.org/terms#}'"),
        (CLASS_RULE, "Benchmark", "such as nk:Benchmark"),
        (CLASS_RULE, "SoftwareApplication", "such as schema:SoftwareApplication"),
        (KEY_RULE, "programmingLanguage", "such as schema:programmingLanguage"),
        (KEY_RULE, "prefLabel", "such as skos:prefLabel"),
        (KEY_RULE, "Tool", "such as my:Tool"),
    ],
    ids=["own-class", "ontology-class", "schema-class", "schema-key", "skos-key", "class-as-key"],
)
def test_bare_term_suggests_usable_term(
    tmp_path: Path, rule: str, value: str, suggested: str
) -> None:
    text = f"sections:\n  - heading: A\n    {rule.format(value)}\n"
    error = mapping_error(tmp_path, text)
    assert "is not an absolute IRI" in str(error)
    assert suggested in str(error)


def test_unknown_curie_prefix(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n    entity:\n      class: ex:Thing\n      kind: thing\n"
    error = mapping_error(tmp_path, text)
    assert error.line == 4
    assert "sections.0.entity.class: unknown prefix 'ex'" in str(error)


@pytest.mark.parametrize(
    ("value", "reason"),
    [("team", "No scheme found"), ('"http://x y"', "Invalid IRI code point ' '")],
    ids=["no-scheme", "space"],
)
def test_term_must_be_absolute_iri(tmp_path: Path, value: str, reason: str) -> None:
    text = f"sections:\n  - heading: A\n    keys:\n      Team: {{property: {value}}}\n"
    error = mapping_error(tmp_path, text)
    assert error.line == 4
    assert "sections.0.keys.Team.property:" in str(error)
    assert "is not an absolute IRI" in str(error)
    assert reason in str(error)
    assert "write prefix:name with a declared prefix" in str(error)


@pytest.mark.parametrize(
    ("value", "fixed"),
    [("ex:2024", "ex:_2024"), ("https://example.org/p/2024-03", "https://example.org/p/_2024-03")],
)
def test_property_name_starting_with_digit(tmp_path: Path, value: str, fixed: str) -> None:
    text = (
        "prefixes:\n  ex: https://example.org/terms#\n"
        f"sections:\n  - heading: A\n    keys:\n      Date: {{property: {value}}}\n"
    )
    error = mapping_error(tmp_path, text)
    assert error.line == 6
    assert f"sections.0.keys.Date.property: {value!r} cannot be a property in RDF/XML" in str(error)
    assert f"write {fixed!r}" in str(error)


def test_prefix_must_be_absolute_iri(tmp_path: Path) -> None:
    text = (
        "prefixes:\n  ex: example\n"
        "sections:\n  - heading: A\n    keys:\n      Team: {property: ex:team}\n"
    )
    error = mapping_error(tmp_path, text)
    assert error.line == 2
    assert "prefixes.ex: 'example' is not an absolute IRI" in str(error)


def test_misspelled_key_gets_suggestion(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n    keys:\n      Memory: {propery: nk:memorySize}\n"
    error = mapping_error(tmp_path, text)

    assert error.line == 4
    assert "unknown key 'propery'; did you mean 'property'?" in str(error)


def test_namespace_must_end_with_separator(tmp_path: Path) -> None:
    text = (
        "sections:\n  - heading: A\n    keys:\n      Team: {property: ex:team}\n"
        "prefixes:\n  ex: https://example.org/terms\n"
    )
    error = mapping_error(tmp_path, text)

    assert error.line == 6
    assert "prefixes.ex: 'https://example.org/terms' ends with a letter or digit" in str(error)
    assert "ex:Thing would be https://example.org/termsThing" in str(error)


@pytest.mark.parametrize(
    "namespace", ["https://example.org/terms#", "urn:example:", "https://x.org/GO_"]
)
def test_namespace_separators_accepted(tmp_path: Path, namespace: str) -> None:
    text = (
        f"prefixes:\n  ex: '{namespace}'\n"
        "sections:\n  - heading: A\n    keys:\n      Team: {property: ex:team}\n"
    )
    mapping = load_text(tmp_path, text)

    assert mapping.expand("ex:team") == namespace + "team"


def test_declared_prefix_accepted(tmp_path: Path) -> None:
    text = (
        "prefixes:\n"
        "  ex: https://example.org/\n"
        "sections:\n"
        "  - heading: A\n"
        "    entity: {class: ex:Thing, kind: thing}\n"
    )
    mapping = load_text(tmp_path, text)
    assert mapping.expand("ex:Thing") == "https://example.org/Thing"


def test_duplicate_key(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n    heading: B\n"
    error = mapping_error(tmp_path, text)
    assert error.line == 3
    assert "duplicate key 'heading'" in str(error)


def test_invalid_heading_pattern(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n  - heading_pattern: 'H[('\n"
    error = mapping_error(tmp_path, text)
    assert error.line == 3
    assert "sections.1.heading_pattern: invalid regular expression" in str(error)


def test_invalid_kind_suggests_slug(tmp_path: Path) -> None:
    text = "sections:\n  - heading: A\n    entity: {class: skos:Concept, kind: Upstream_Host}\n"
    error = mapping_error(tmp_path, text)
    assert error.line == 3
    assert "sections.0.entity.kind: 'Upstream_Host' is not a valid kind" in str(error)
    assert "such as 'upstream-host'" in str(error)


def test_heading_and_pattern_rejected(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "sections:\n  - heading: A\n    heading_pattern: B\n")
    assert error.line == 2
    assert "exactly one of 'heading' and 'heading_pattern'" in str(error)


def test_rule_without_heading_rejected(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "sections:\n  - entity: {class: nk:X, kind: x}\n")
    assert error.line == 2
    assert "exactly one of 'heading' and 'heading_pattern'" in str(error)


def test_top_level_list_rejected(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "- heading: A\n")
    assert error.line == 1
    assert "must be a YAML mapping" in str(error)


def test_alias_bomb_rejected_quickly(tmp_path: Path) -> None:
    rows = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    started = time.monotonic()
    error = mapping_error(tmp_path, "\n".join(rows) + "\n")
    elapsed = time.monotonic() - started
    assert "more than 100000 values" in str(error)
    # The full expansion has 9**9 (about 387 million) strings.
    assert elapsed < 10


def test_recursive_alias_rejected(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "notes: []\nloop: &loop [*loop]\n")
    assert error.line == 2
    assert "refers to a node that contains it" in str(error)


def test_deep_nesting_rejected(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "notes: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deep" in str(error)


def test_empty_file_loads_empty(tmp_path: Path) -> None:
    mapping = load_text(tmp_path, "# nothing yet\n")
    assert mapping.sections == []
    assert mapping.notes == []


# ---------------------------------------------------------------------------
# rule_for, key_rule and expand
# ---------------------------------------------------------------------------


def test_rule_for_ignores_case(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("  nn memory ")
    assert rule is not None
    assert rule.heading == "NN Memory"


def test_rule_for_unknown_returns_none(ai_mapping: Mapping) -> None:
    assert ai_mapping.rule_for("Godfathers") is None


def test_rule_for_pattern_full_match(tmp_path: Path) -> None:
    text = (
        "sections:\n"
        "  - heading_pattern: 'H\\d+ Varieties'\n"
        "    entity: {class: nk:GPU, kind: gpu}\n"
    )
    mapping = load_text(tmp_path, text)
    assert mapping.rule_for("H100 Varieties") is mapping.sections[0]
    assert mapping.rule_for("H100 Varieties (old)") is None
    assert mapping.rule_for("h100 varieties") is None


def test_rule_for_first_match_wins(tmp_path: Path) -> None:
    text = "sections:\n  - heading: Benchmarks\n  - heading_pattern: '.*'\n"
    mapping = load_text(tmp_path, text)
    assert mapping.rule_for("Benchmarks") is mapping.sections[0]
    assert mapping.rule_for("Anything") is mapping.sections[1]


def test_key_rule_exact_ignores_case(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("NN Memory")
    assert rule is not None

    memory = rule.key_rule("memory")
    assert memory is not None
    assert memory.property == "nk:memoryPerParameter"


def test_key_rule_falls_back_to_star(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("Transformer Layers")
    assert rule is not None

    fallback = rule.key_rule("Lower layers")
    assert fallback is not None
    assert fallback.link == "skos:narrower"


def test_key_rule_without_star_returns_none(ai_mapping: Mapping) -> None:
    rule = ai_mapping.rule_for("NN Memory")
    assert rule is not None
    assert rule.key_rule("Unmapped key") is None


def test_expand_curie(ai_mapping: Mapping) -> None:
    assert ai_mapping.expand("nk:memorySize") == "https://notekg.example/ontology#memorySize"
    assert ai_mapping.expand("skos:Concept") == "http://www.w3.org/2004/02/skos/core#Concept"


def test_expand_full_iri_unchanged(ai_mapping: Mapping) -> None:
    assert ai_mapping.expand("https://schema.org/name") == "https://schema.org/name"


def test_expand_unknown_prefix_unchanged() -> None:
    assert empty_mapping().expand("ex:Thing") == "ex:Thing"


def test_missing_mapping_file_is_a_mapping_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(MappingError, match="cannot read the mapping file"):
        load_mapping(missing)


def test_mapping_with_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    mapping = tmp_path / "latin1.yaml"
    mapping.write_bytes(b"sections:\n  - heading: M\xfcnchen\n")
    with pytest.raises(MappingError, match=r"latin1.yaml:2: invalid UTF-8 byte 0xfc"):
        load_mapping(mapping)


def test_table_rule_without_table_warns(tmp_path: Path) -> None:
    from ingest.run import run_ingest
    from service.store import Store

    mapping = tmp_path / "commands.yaml"
    mapping.write_text(
        "sections:\n"
        "  - heading: Commands\n"
        "    table:\n"
        "      entities: rows\n"
        "      columns: [Command, Purpose]\n"
        "      class: skos:Concept\n"
        "      kind: command\n",
        encoding="utf-8",
    )
    note = tmp_path / "redis.txt"
    # Lowercase rows in a text note read as a paragraph, not as a table.
    note.write_text("Redis\n\nCommands\n\nget Read a value\nset Write a value\n", encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")

    report = run_ingest([note], store, mapping_path=mapping, base_iri="https://kg.test/id/")

    expected = f"{note}:3: warning: the mapping has a table rule for section 'Commands'"
    messages = [str(problem) for problem in report.warnings]
    assert any(message.startswith(expected) for message in messages), messages


def test_rule_matching_no_heading_warns(tmp_path: Path) -> None:
    from ingest.run import run_ingest
    from service.store import Store

    mapping = tmp_path / "typo.yaml"
    mapping.write_text(
        "sections:\n"
        "  - heading: Comparison\n"
        "    entity: {class: skos:Concept, kind: concept}\n"
        "  - heading: Comparision\n"
        "    entity: {class: skos:Concept, kind: concept}\n",
        encoding="utf-8",
    )
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "queues.md").write_text("# Queues\n\n## Comparison\n\nKafka keeps logs.\n")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")

    first = run_ingest([folder], store, mapping_path=mapping, base_iri="https://kg.test/id/")
    again = run_ingest([folder], store, mapping_path=mapping, base_iri="https://kg.test/id/")

    typo = [str(problem) for problem in first.warnings if "matches no heading" in str(problem)]
    assert typo == [
        f"{mapping}:4: warning: the section rule for 'Comparision' matches no heading of the "
        "notes read; check its spelling against the notes' headings"
    ]
    # The second run skips the unchanged note, so it cannot see every heading.
    assert not any("matches no heading" in str(problem) for problem in again.warnings)


def test_run_over_one_file_skips_rule_check(tmp_path: Path) -> None:
    from ingest.run import run_ingest
    from service.store import Store

    mapping = tmp_path / "queues.yaml"
    mapping.write_text(
        "sections:\n  - heading: Comparison\n    entity: {class: skos:Concept, kind: concept}\n",
        encoding="utf-8",
    )
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "queues.md").write_text("# Queues\n\n## Comparison\n\nKafka keeps logs.\n")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "setup.md").write_text("# Setup\n\n## Install\n\nRun the installer.\n")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    run_ingest([folder], store, mapping_path=mapping, base_iri="https://kg.test/id/")

    one_file = run_ingest(
        [extra / "setup.md"], store, mapping_path=mapping, base_iri="https://kg.test/id/"
    )

    # The stored note has the heading, but a run over another file has not read it.
    assert not any("matches no heading" in str(problem) for problem in one_file.warnings)
    assert one_file.generation is not None


HOSTS_MAPPING = (
    "sections:\n"
    "  - heading: Hosts\n"
    "    table:\n"
    "      entities: rows\n"
    "      class: schema:Thing\n"
    "      kind: host\n"
    "      fields:\n"
    "        Address: {property: schema:url}\n"
    "        Role: {property: schema:roleName, value: link, class: skos:Concept, kind: role}\n"
)


def test_empty_table_cells_add_no_values(tmp_path: Path) -> None:
    from ingest.run import run_ingest
    from service.engine import OxigraphEngine
    from service.store import Store

    mapping = tmp_path / "hosts.yaml"
    mapping.write_text(HOSTS_MAPPING, encoding="utf-8")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "hosts.md").write_text(
        "# Hosts\n\n## Hosts\n\n"
        "| Name | Address | Role |\n| --- | --- | --- |\n"
        "| pg-1 | db1.internal | primary |\n"
        "| pg-2 |  |  |\n"
        "|  | db3.internal | replica |\n",
        encoding="utf-8",
    )
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    report = run_ingest([notes], store, mapping_path=mapping, base_iri="https://kg.test/id/")
    engine = OxigraphEngine.from_store(store)

    labels = {
        row[0].value
        for row in engine.query(
            "SELECT ?l WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }"
        ).rows
    }
    assert "" not in labels
    assert {"pg-1", "pg-2", "primary"} <= labels
    pg2 = "https://kg.test/id/host/pg-2"
    values = engine.query(f"SELECT ?p ?o WHERE {{ <{pg2}> ?p ?o }}").rows
    assert {row[0].value for row in values} >= {"http://www.w3.org/2004/02/skos/core#prefLabel"}
    assert "https://schema.org/url" not in {row[0].value for row in values}
    assert "https://schema.org/roleName" not in {row[0].value for row in values}
    expected = "hosts.md:9: warning: the 'Name' cell, which names the row's entity, is empty"
    messages = [str(problem) for problem in report.warnings]
    assert any(expected in message for message in messages), messages


def test_unknown_label_placeholder(tmp_path: Path) -> None:
    text = (
        "sections:\n"
        "  - heading: Facts\n"
        "    entity:\n"
        "      class: skos:Concept\n"
        "      kind: software\n"
        "      label: '{file}'\n"
    )
    error = mapping_error(tmp_path, text)

    assert error.line == 6
    assert (
        "sections.0.entity.label: unknown placeholder {file} in '{file}'; use {note}, {heading}"
        in str(error)
    )


def test_label_placeholders_name_entities_per_note(tmp_path: Path) -> None:
    from ingest.run import run_ingest
    from service.engine import OxigraphEngine
    from service.store import Store

    mapping = tmp_path / "software.yaml"
    mapping.write_text(
        "sections:\n"
        "  - heading: Facts\n"
        "    entity: {class: schema:SoftwareApplication, kind: software, label: '{note}'}\n"
        "    keys:\n"
        "      Version: {property: schema:softwareVersion}\n"
        "  - heading: Team\n"
        "    entity: {class: skos:Concept, kind: team, label: '{note} {heading}'}\n",
        encoding="utf-8",
    )
    notes = tmp_path / "notes"
    notes.mkdir()
    for name, version in (("PostgreSQL", "16.2"), ("Redis", "7.2")):
        (notes / f"{name}.md").write_text(
            f"# {name}\n\n## Facts\n\n- Version: {version}\n\n## Team\n\nPeople.\n",
            encoding="utf-8",
        )
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    run_ingest([notes], store, mapping_path=mapping, base_iri="https://kg.test/id/")
    engine = OxigraphEngine.from_store(store)

    rows = engine.query("SELECT ?s ?v WHERE { ?s <https://schema.org/softwareVersion> ?v }").rows
    assert {(row[0].value, row[1].value) for row in rows} == {
        ("https://kg.test/id/software/postgresql", "16.2"),
        ("https://kg.test/id/software/redis", "7.2"),
    }
    teams = engine.query(
        "SELECT ?s WHERE { ?s a <http://www.w3.org/2004/02/skos/core#Concept> }"
    ).rows
    assert {row[0].value for row in teams} >= {
        "https://kg.test/id/team/postgresql-team",
        "https://kg.test/id/team/redis-team",
    }


def ingest_notes(
    tmp_path: Path, mapping_text: str, notes: dict[str, str]
) -> tuple[Path, IngestReport, OxigraphEngine]:
    """Ingest Markdown notes, by file name, with a mapping; return the mapping's path,
    the report and an engine over the store."""
    from ingest.run import run_ingest
    from service.engine import OxigraphEngine
    from service.store import Store

    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(mapping_text, encoding="utf-8")
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in notes.items():
        (folder / name).write_text(text, encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    report = run_ingest([folder], store, mapping_path=mapping, base_iri="https://kg.test/id/")
    return mapping, report, OxigraphEngine.from_store(store)


PORTS_MAPPING = (
    "sections:\n"
    "  - heading: Ports\n"
    "    table:\n"
    "      entities: rows\n"
    "      class: schema:Thing\n"
    "      kind: port\n"
    "{id}"
    "      fields:\n"
    "        Port: {{property: schema:value}}\n"
)


def test_unknown_table_id_placeholder(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, PORTS_MAPPING.format(id="      id: '{file} {label}'\n"))

    assert error.line == 7
    assert "sections.0.table.id: unknown placeholder {file}" in str(error)
    assert "use {note}, {heading}, {label}" in str(error)


@pytest.mark.parametrize(
    ("id_line", "expected"),
    [
        ("", {("port/server", "5432"), ("port/server", "6379")}),
        (
            "      id: '{note} {label}'\n",
            {("port/postgresql-server", "5432"), ("port/redis-server", "6379")},
        ),
    ],
)
def test_table_id_names_rows_per_note(
    tmp_path: Path, id_line: str, expected: set[tuple[str, str]]
) -> None:
    table = "| Name | Port |\n| --- | --- |\n"
    notes = {
        f"{name}.md": f"# {name}\n\n## Ports\n\n{table}| Server | {port} |\n"
        for name, port in (("PostgreSQL", "5432"), ("Redis", "6379"))
    }
    _, _, engine = ingest_notes(tmp_path, PORTS_MAPPING.format(id=id_line), notes)

    rows = engine.query(
        "SELECT ?s ?port ?label WHERE { ?s <https://schema.org/value> ?port ; "
        "<http://www.w3.org/2004/02/skos/core#prefLabel> ?label }"
    ).rows
    found = {(row[0].value.removeprefix("https://kg.test/id/"), row[1].value) for row in rows}
    assert found == expected
    assert {row[2].value for row in rows} == {"Server"}, "the rows keep their label"


ENDPOINTS_MAPPING = (
    "sections:\n"
    "  - heading: Endpoints\n"
    "    table:\n"
    "      entities: rows\n"
    "      class: schema:WebAPI\n"
    "      kind: endpoint\n"
    "{id}"
    "      fields:\n"
    "        Method: {{property: schema:name}}\n"
    "        Description: {{property: schema:description}}\n"
)
ENDPOINTS_NOTE = (
    "# Billing\n\n## Endpoints\n\n| Path | Method | Description |\n| --- | --- | --- |\n"
    "| /v1/invoices | GET | List invoices |\n| /v1/invoices | POST | Create an invoice |\n"
)


def endpoint_descriptions(engine: OxigraphEngine) -> set[tuple[str, str]]:
    rows = engine.query("SELECT ?s ?d WHERE { ?s <https://schema.org/description> ?d }").rows
    return {(row[0].value.removeprefix("https://kg.test/id/"), row[1].value) for row in rows}


def test_table_id_names_rows_by_column(tmp_path: Path) -> None:
    mapping_text = ENDPOINTS_MAPPING.format(id="      id: '{Method} {label}'\n")
    _, report, engine = ingest_notes(tmp_path, mapping_text, {"Billing.md": ENDPOINTS_NOTE})

    assert endpoint_descriptions(engine) == {
        ("endpoint/get-v1-invoices", "List invoices"),
        ("endpoint/post-v1-invoices", "Create an invoice"),
    }
    assert report.warnings == []


def test_rows_of_one_label_warn(tmp_path: Path) -> None:
    mapping_text = ENDPOINTS_MAPPING.format(id="")
    _, report, engine = ingest_notes(tmp_path, mapping_text, {"Billing.md": ENDPOINTS_NOTE})

    assert endpoint_descriptions(engine) == {
        ("endpoint/v1-invoices", "List invoices"),
        ("endpoint/v1-invoices", "Create an invoice"),
    }
    assert [str(problem) for problem in report.warnings] == [
        f"{tmp_path / 'notes' / 'Billing.md'}:8: warning: row '/v1/invoices' gives the same "
        "endpoint as the row on line 7, so the values of both rows merge; give the rows "
        "different labels, or give the table rule an id that tells them apart, such as "
        'id: "{label} {Method}"'
    ]


def test_rows_of_one_id_name_another_column(tmp_path: Path) -> None:
    mapping_text = ENDPOINTS_MAPPING.format(id="      id: '{Method} {label}'\n")
    note = ENDPOINTS_NOTE.replace("| POST |", "| GET |")
    _, report, _ = ingest_notes(tmp_path, mapping_text, {"Billing.md": note})

    assert [str(problem) for problem in report.warnings] == [
        f"{tmp_path / 'notes' / 'Billing.md'}:8: warning: row '/v1/invoices' gives the same "
        "endpoint as the row on line 7, so the values of both rows merge; give the rows "
        "different labels, or add a column whose cells differ to the table rule's id "
        "'{Method} {label}', such as {Description}"
    ]


def test_unmapped_rows_of_one_label_warn(tmp_path: Path) -> None:
    _, report, _ = ingest_notes(tmp_path, "sections: []\n", {"Billing.md": ENDPOINTS_NOTE})

    merged = [str(problem) for problem in report.warnings if "same record" in str(problem)]
    assert merged == [
        f"{tmp_path / 'notes' / 'Billing.md'}:8: warning: row '/v1/invoices' gives the same "
        "record as the row on line 7, so the values of both rows merge; give the rows "
        "different labels, or map the table with an id that tells them apart (docs/mapping.md)"
    ]


def test_table_id_column_must_be_a_field(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, ENDPOINTS_MAPPING.format(id="      id: '{Methd} {label}'\n"))

    assert error.line == 7
    assert "sections.0.table.id: unknown placeholder {Methd}" in str(error)
    assert "use {note}, {heading}, {label}, {Method}, {Description}" in str(error)


PLANS_MAPPING = (
    "sections:\n"
    "  - heading: Plans\n"
    "    table:\n"
    "      entities: columns\n"
    "      class: schema:Thing\n"
    "      kind: plan\n"
    "      id: '{{note}} {{heading}} {{label}}'\n"
    "      fields:\n"
    "        {field}: {{property: schema:price}}\n"
)


def plans_note(name: str, price: str) -> str:
    return f"# {name}\n\n## Plans\n\n| Plan | Basic |\n| --- | --- |\n| Price | {price} |\n"


def test_table_id_names_columns_per_note(tmp_path: Path) -> None:
    notes = {"Hosting.md": plans_note("Hosting", "10"), "Storage.md": plans_note("Storage", "3")}
    _, _, engine = ingest_notes(tmp_path, PLANS_MAPPING.format(field="Price"), notes)

    rows = engine.query("SELECT ?s ?price WHERE { ?s <https://schema.org/price> ?price }").rows
    assert {(row[0].value, row[1].value) for row in rows} == {
        ("https://kg.test/id/plan/hosting-plans-basic", "10"),
        ("https://kg.test/id/plan/storage-plans-basic", "3"),
    }


DATABASES_NOTE = (
    "# Stores\n\n## Databases\n\n| Database | Type | Released |\n| --- | --- | --- |\n"
    "| DuckDB | OLAP | 2019 |\n"
)


def test_markdown_header_mismatch_skips_table(tmp_path: Path) -> None:
    mapping_text = (
        "sections:\n"
        "  - heading: Databases\n"
        "    table:\n"
        "      entities: rows\n"
        "      columns: [Database, Kind, Released]\n"
        "      class: schema:Thing\n"
        "      kind: database\n"
    )
    _, report, engine = ingest_notes(tmp_path, mapping_text, {"stores.md": DATABASES_NOTE})

    expected = (
        f"{tmp_path / 'notes' / 'stores.md'}:5: warning: table header is "
        "'Database | Type | Released', but the mapping's columns are "
        "'Database | Kind | Released', so the table is left out"
    )
    messages = [str(problem) for problem in report.warnings]
    assert any(message.startswith(expected) for message in messages), messages
    assert not engine.query("ASK { <https://kg.test/id/database/duckdb> ?p ?o }").boolean


def test_misspelt_table_field_names_its_line(tmp_path: Path) -> None:
    mapping_text = (
        "sections:\n"
        "  - heading: Databases\n"
        "    table:\n"
        "      entities: rows\n"
        "      class: schema:Thing\n"
        "      kind: database\n"
        "      fields:\n"
        "        Type: {property: schema:category}\n"
        "        Relased: {property: schema:datePublished, value: year}\n"
        "        Licence: {property: schema:license}\n"
    )
    mapping, report, _ = ingest_notes(tmp_path, mapping_text, {"stores.md": DATABASES_NOTE})

    messages = [str(p) for p in report.warnings if "names no column" in str(p)]
    assert messages == [
        f"{mapping}:9: warning: the field 'Relased' of the table rule names no column of the "
        "tables it mapped; did you mean 'Released'?",
        f"{mapping}:10: warning: the field 'Licence' of the table rule names no column of the "
        "tables it mapped; the columns are 'Database', 'Released', 'Type'",
    ]


def test_misspelt_row_label_field(tmp_path: Path) -> None:
    notes = {"Hosting.md": plans_note("Hosting", "10")}
    mapping, report, _ = ingest_notes(tmp_path, PLANS_MAPPING.format(field="Prise"), notes)

    messages = [str(p) for p in report.warnings if "names no row label" in str(p)]
    assert messages == [
        f"{mapping}:9: warning: the field 'Prise' of the table rule names no row label of the "
        "tables it mapped; did you mean 'Price'?"
    ]


@pytest.mark.parametrize(
    ("id_template", "joined"),
    [
        ("'{note} {label}'", [("Pass 1", "Pass@1", "eval-pass-1")]),
        ("'{note}'", [("Pass 1", "Pass@1", "eval"), ("Server", "Pass@1", "eval")]),
    ],
)
def test_ids_with_one_slug_warn(
    tmp_path: Path, id_template: str, joined: list[tuple[str, str, str]]
) -> None:
    mapping_text = PORTS_MAPPING.format(id=f"      id: {id_template}\n")
    note = (
        "# Eval\n\n## Ports\n\n| Name | Port |\n| --- | --- |\n"
        "| Pass@1 | 1 |\n| Pass 1 | 2 |\n| Server | 3 |\n| Pass 1 | 4 |\n"
    )
    _, report, _ = ingest_notes(tmp_path, mapping_text, {"Eval.md": note})

    messages = [str(p) for p in report.warnings if "which" in str(p) and "has too" in str(p)]
    assert messages == [
        f"{tmp_path / 'notes' / 'Eval.md'}:{8 + index}: warning: port {label!r} has an id "
        f"with the slug {slug!r}, which {owner!r} has too, so they are one entity, "
        f"https://kg.test/id/port/{slug}. If they are different things, give them different "
        "ids (a table rule's id can include {label})."
        for index, (label, owner, slug) in enumerate(joined)
    ]


def test_transposed_unmapped_row_warns_once(tmp_path: Path) -> None:
    note = (
        "# Hosting\n\n## Plans\n\n| Plan | Basic | Pro |\n| --- | --- | --- |\n"
        "| Price | 10 | 20 |\n| Memory | 1 GB | 4 GB |\n"
    )
    _, report, _ = ingest_notes(tmp_path, PLANS_MAPPING.format(field="Price"), {"Hosting.md": note})

    messages = [str(p) for p in report.warnings if "'Memory' has no mapping" in str(p)]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{tmp_path / 'notes' / 'Hosting.md'}:8: warning: ")


def test_field_not_in_row_labels(tmp_path: Path) -> None:
    mapping_text = (
        "sections:\n"
        "  - heading: Plans\n"
        "    table:\n"
        "      entities: columns\n"
        "      class: schema:Thing\n"
        "      kind: plan\n"
        "      columns: [Plan, Basic, Pro]\n"
        "      row_labels: [CPU cores, Memory]\n"
        "      fields:\n"
        "        Network: {property: schema:size}\n"
    )
    note = (
        "Hosting\n\nPlans\n\nPlan Basic Pro\nCPU cores 2 4\nMemory 4 GB 8 GB\n"
        "Network 5 Gbps 10 Gbps\n"
    )
    mapping, report, _ = ingest_notes(tmp_path, mapping_text, {"hosting.txt": note})

    messages = [str(p) for p in report.warnings if "the field 'Network'" in str(p)]
    assert messages == [
        f"{mapping}:10: warning: the field 'Network' of the table rule names no row label of "
        "the tables it mapped; if the tables have a row that starts with 'Network', add it to "
        "the rule's row_labels, which lack it"
    ]


def test_unquoted_yes_heading_says_to_quote_it(tmp_path: Path) -> None:
    text = "sections:\n  - heading: Yes\n    entity: {class: skos:Concept, kind: answer}\n"
    error = mapping_error(tmp_path, text)

    assert error.line == 2
    assert 'sections.0.heading: Yes is read as a bool, not text; quote it, as in "Yes"' in str(
        error
    )


def test_field_without_property_says_to_add_one(tmp_path: Path) -> None:
    mapping_text = "sections:\n  - heading: Team\n    keys:\n      Owner: {value: text}\n"
    _, report, _ = ingest_notes(tmp_path, mapping_text, {"Team.md": "# Team\n\n- Owner: Ada\n"})

    assert [str(problem) for problem in report.warnings] == [
        f"{tmp_path / 'notes' / 'Team.md'}:3: warning: field 'Owner' has no mapping; stored as "
        "generic property key:owner. Add 'property:' to its field rule on line 4 of the mapping"
    ]


def test_unknown_top_level_key_lists_the_keys(tmp_path: Path) -> None:
    error = mapping_error(tmp_path, "foo: 1\nsections: []\n")

    assert error.line == 1
    assert "unknown key 'foo'; the keys here are notes, prefixes, sections" in str(error)


def test_unmapped_column_warns_once_per_table(tmp_path: Path) -> None:
    note = (
        "# Billing\n\n## Endpoints\n\n| Path | Method | Description | Auth |\n"
        "| --- | --- | --- | --- |\n"
        "| /a | GET | A | token |\n| /b | GET | B | token |\n| /c | GET | C | none |\n"
    )
    _, report, engine = ingest_notes(
        tmp_path, ENDPOINTS_MAPPING.format(id=""), {"Billing.md": note}
    )

    auth = [str(problem) for problem in report.warnings if "'Auth'" in str(problem)]
    assert len(auth) == 1
    assert auth[0].startswith(f"{tmp_path / 'notes' / 'Billing.md'}:7: warning: table field 'Auth'")
    # Every row keeps its value.
    assert (
        len(
            engine.query(
                "SELECT ?v WHERE { ?s <https://notekg.example/ontology/key#auth> ?v }"
            ).rows
        )
        == 3
    )
