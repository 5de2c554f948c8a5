"""The YAML mapping that turns sections, bullets and tables into terms of the ontology.

``load_mapping`` checks the file against ``MAPPING_SCHEMA`` and reports errors as
``mapping.yaml:LINE: key: message``, with the line taken from the YAML parser's marks.
docs/mapping.md describes every key.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping as ReadOnlyMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pyoxigraph as ox
import yaml
from rdflib.namespace import DCTERMS, FOAF, SDO, SKOS

from ingest.iris import make_slug
from ingest.problems import MappingError
from ontology import NAMESPACE as ONTOLOGY_NAMESPACE
from ontology import ONTOLOGY_FILE
from service.page_queries import RDF_TYPE, iri_problem

DEFAULT_PREFIXES = {
    "nk": "https://notekg.example/ontology#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "schema": "https://schema.org/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#",
}

MAX_YAML_NODES = 100_000

VALUE_KINDS = ("text", "number", "year", "date", "quantity", "link", "entity", "name", "list")

_FIELD = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "property": {"type": "string"},
        "value": {"enum": list(VALUE_KINDS)},
        "class": {"type": "string"},
        "kind": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
        "unit_property": {"type": "string"},
        "text_property": {"type": "string"},
        "strip_prefix": {"type": "string"},
        "separator": {"type": "string", "minLength": 1},
        "item": {"enum": ["text", "link"]},
        "link": {"type": "string"},
    },
}

_ENTITY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["class", "kind"],
    "properties": {
        "class": {"type": "string"},
        "kind": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
        "label": {"type": "string"},
        "id": {"type": "string"},
        "paragraph_property": {"type": "string"},
    },
}

_TABLE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["entities", "class", "kind"],
    "properties": {
        "columns": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "row_labels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "entities": {"enum": ["rows", "columns"]},
        "class": {"type": "string"},
        "kind": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
        "label_column": {"type": "string"},
        "id": {"type": "string"},
        "link_to_section": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": _FIELD},
    },
}

MAPPING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "notes": {"type": "array", "items": {"type": "string"}},
        "prefixes": {"type": "object", "additionalProperties": {"type": "string"}},
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "heading": {"type": "string"},
                    "heading_pattern": {"type": "string"},
                    "entity": _ENTITY,
                    "keys": {"type": "object", "additionalProperties": _FIELD},
                    "table": _TABLE,
                    "code": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["class", "kind"],
                        "properties": {
                            "class": {"type": "string"},
                            "kind": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
                            "api_links": {"type": "boolean"},
                        },
                    },
                },
                "oneOf": [{"required": ["heading"]}, {"required": ["heading_pattern"]}],
            },
        },
    },
}


@dataclass(frozen=True)
class FieldRule:
    """The rule that turns one bullet key or table field into RDF."""

    property: str | None
    value: str = "text"
    cls: str | None = None
    kind: str | None = None
    unit_property: str | None = None
    text_property: str | None = None
    strip_prefix: str | None = None
    separator: str | None = None
    item: str = "text"
    link: str | None = None
    line: int = 0


@dataclass(frozen=True)
class EntityRule:
    """The entity that a whole section stands for."""

    cls: str
    kind: str
    label: str | None = None
    explicit_id: str | None = None
    paragraph_property: str | None = None


@dataclass(frozen=True)
class TableRule:
    """The rule that turns a table's rows or columns into entities."""

    entities: str
    cls: str
    kind: str
    columns: tuple[str, ...] | None = None
    row_labels: tuple[str, ...] | None = None
    label_column: str | None = None
    # The text whose slug names each row or column entity, with ID_PLACEHOLDERS replaced.
    explicit_id: str | None = None
    link_to_section: str | None = None
    fields: dict[str, FieldRule] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class CodeRule:
    """The rule that turns a section's code blocks into entities."""

    cls: str
    kind: str
    api_links: bool = True


@dataclass(frozen=True)
class SectionRule:
    """The mapping rules of the sections whose heading matches."""

    heading: str | None
    heading_pattern: re.Pattern[str] | None
    entity: EntityRule | None
    keys: dict[str, FieldRule]
    table: TableRule | None
    code: CodeRule | None
    line: int

    def matches(self, title: str) -> bool:
        """Return whether a section heading is selected by this rule (exact or by pattern)."""
        if self.heading is not None:
            return title.strip().casefold() == self.heading.strip().casefold()
        assert self.heading_pattern is not None
        return bool(self.heading_pattern.fullmatch(title.strip()))

    def key_rule(self, key: str) -> FieldRule | None:
        """Return the rule of a bullet key, falling back to the ``"*"`` rule."""
        for name, rule in self.keys.items():
            if name.casefold() == key.casefold():
                return rule
        return self.keys.get("*")


@dataclass
class Mapping:
    """A loaded and checked mapping file."""

    path: str
    prefixes: dict[str, str]
    sections: list[SectionRule]
    notes: list[str]

    def rule_for(self, title: str) -> SectionRule | None:
        """Return the first section rule whose heading matches, if any."""
        return next((rule for rule in self.sections if rule.matches(title)), None)

    def expand(self, curie: str) -> str:
        """Expand ``prefix:local`` to a full IRI; full IRIs pass through."""
        prefix, _, local = curie.partition(":")
        if prefix in self.prefixes and not local.startswith("//"):
            return self.prefixes[prefix] + local
        return curie


def empty_mapping() -> Mapping:
    """Return the mapping used when none is given: every section is read generically."""
    return Mapping(path="", prefixes=dict(DEFAULT_PREFIXES), sections=[], notes=[])


def load_mapping(path: Path, display_path: str | None = None) -> Mapping:
    """Load, check and return the mapping in ``path``.

    Raises MappingError with the file, line and key of the first problem found.
    """
    shown = display_path or str(path)
    text = _read_mapping_text(path, shown)
    data, lines = _parse_yaml(text, shown)

    _check_schema(data, lines, shown)
    prefixes = {**DEFAULT_PREFIXES, **data.get("prefixes", {})}
    mapping = Mapping(
        path=shown,
        prefixes=prefixes,
        sections=[
            _section(item, lines, ("sections", i), shown)
            for i, item in enumerate(data.get("sections", []))
        ],
        notes=list(data.get("notes", [])),
    )
    _check_curies(mapping, data, lines)
    return mapping


def _read_mapping_text(path: Path, shown: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise MappingError(
            shown, 1, f"cannot read the mapping file: {error.strerror}; check the --mapping path"
        ) from error

    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise MappingError(
            shown, line, f"invalid UTF-8 byte 0x{raw[error.start]:02x}; save the mapping as UTF-8"
        ) from error


def _parse_yaml(text: str, shown: str) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Parse YAML into plain data plus the line of every mapping key and list item."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError as error:
        raise MappingError(
            shown,
            1,
            "invalid YAML: nested too deep; write it with fewer levels of lists and mappings",
        ) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise MappingError(
            shown, line, f"invalid YAML: {getattr(error, 'problem', error)}"
        ) from error

    if node is None:
        return {}, {}

    lines: dict[tuple[Any, ...], int] = {}
    try:
        data = _to_python(node, (), lines, shown, frozenset())
    except RecursionError as error:
        raise MappingError(
            shown,
            1,
            "the mapping is nested too deep; write it with fewer levels of lists and mappings",
        ) from error
    if not isinstance(data, dict):
        raise MappingError(
            shown, node.start_mark.line + 1, "the mapping must be a YAML mapping of keys"
        )
    return data, lines


def _to_python(
    node: yaml.Node,
    at: tuple[Any, ...],
    lines: dict[tuple[Any, ...], int],
    shown: str,
    parents: frozenset[int],
) -> Any:
    """Convert a composed YAML node to plain data.

    ``parents`` contains the ids of the enclosing nodes, to detect recursive aliases.
    """
    if id(node) in parents:
        raise MappingError(
            shown,
            node.start_mark.line + 1,
            "a YAML alias refers to a node that contains it; remove the alias",
        )
    parents = parents | {id(node)}
    lines[at] = node.start_mark.line + 1
    if len(lines) > MAX_YAML_NODES:
        raise MappingError(
            shown,
            node.start_mark.line + 1,
            f"the mapping expands to more than {MAX_YAML_NODES} values (aliases nested too deep?); "
            "write it without nested YAML aliases",
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in result:
                raise MappingError(shown, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _to_python(value_node, (*at, key), lines, shown, parents)
            lines[(*at, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(item, (*at, i), lines, shown, parents) for i, item in enumerate(node.value)
        ]
    if node.tag.endswith(":bool"):
        return node.value.lower() in ("true", "yes", "on")
    return node.value


def _check_schema(data: dict[str, Any], lines: dict[tuple[Any, ...], int], shown: str) -> None:
    validator = jsonschema.Draft202012Validator(MAPPING_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return

    at = tuple(error.absolute_path)
    key = ".".join(str(part) for part in at) or "(top level)"
    message = error.message
    line_at = at
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        # Point at the unknown key itself, not at the mapping that contains it.
        allowed = error.schema.get("properties", {})
        unknown = [name for name in error.instance if name not in allowed]
        if unknown:
            line_at = (*at, unknown[0])
            close = difflib.get_close_matches(str(unknown[0]), list(allowed), n=1, cutoff=0.75)
            if close:
                message = f"unknown key {unknown[0]!r}; did you mean {close[0]!r}?"
            else:
                message = f"unknown key {unknown[0]!r}; the keys here are {', '.join(allowed)}"
    elif error.validator == "oneOf" and at[:1] == ("sections",):
        message = "a section rule needs exactly one of 'heading' and 'heading_pattern'"
    elif (
        error.validator == "type"
        and error.validator_value == "string"
        and isinstance(error.instance, bool | int | float)
    ):
        # YAML reads an unquoted Yes, No, On, Off, true or 3.0 as a boolean or a number.
        value = error.instance
        if isinstance(value, bool):
            written = "Yes" if value else "No"
        else:
            written = str(value)
        message = (
            f'{written} is read as a {type(value).__name__}, not text; quote it, as in "{written}"'
        )
    elif error.validator == "pattern" and at[-1:] == ("kind",) and isinstance(error.instance, str):
        # A kind becomes a segment of entity IRIs, so it is written as a slug.
        message = (
            f"{error.instance!r} is not a valid kind; write it in lowercase letters, digits and "
            f"hyphens, such as {make_slug(error.instance)!r}"
        )
    raise MappingError(shown, _line_of(lines, line_at), f"{key}: {message}; see docs/mapping.md")


def _line_of(lines: dict[tuple[Any, ...], int], at: tuple[Any, ...]) -> int:
    while at and at not in lines:
        at = at[:-1]
    return lines.get(at, 1)


def _section(
    item: dict[str, Any], lines: dict[tuple[Any, ...], int], at: tuple[Any, ...], shown: str
) -> SectionRule:
    pattern = None
    if "heading_pattern" in item:
        try:
            pattern = re.compile(item["heading_pattern"])
        except re.error as error:
            raise MappingError(
                shown,
                _line_of(lines, (*at, "heading_pattern")),
                f"{'.'.join(map(str, at))}.heading_pattern: invalid regular expression: {error}",
            ) from error

    entity = item.get("entity")
    table = item.get("table")
    code = item.get("code")
    for key, template, placeholders in (
        (("entity", "label"), (entity or {}).get("label"), LABEL_PLACEHOLDERS),
        (("table", "id"), (table or {}).get("id"), _id_placeholders(table or {})),
    ):
        if template is not None:
            path = (*at, *key)
            dotted = ".".join(str(part) for part in path)
            _check_template(template, placeholders, shown, _line_of(lines, path), dotted)
    return SectionRule(
        heading=item.get("heading"),
        heading_pattern=pattern,
        entity=_entity(entity) if entity else None,
        keys={
            key: _field(value, lines, (*at, "keys", key))
            for key, value in item.get("keys", {}).items()
        },
        table=_table(table, lines, (*at, "table")) if table else None,
        code=CodeRule(code["class"], code["kind"], code.get("api_links", True)) if code else None,
        line=_line_of(lines, at),
    )


# The placeholders that an entity rule's label may contain, by what replaces them.
LABEL_PLACEHOLDERS = {
    "{note}": "the note's title",
    "{heading}": "the section's heading",
}


# The placeholders that a table rule's id may contain: those of a label and the row's label.
ID_PLACEHOLDERS = {
    **LABEL_PLACEHOLDERS,
    "{label}": "the label of the row or column",
}


def _id_placeholders(table: dict[str, Any]) -> dict[str, str]:
    """Return the placeholders of a table rule's id: ID_PLACEHOLDERS and, for rows, columns.

    A table of rows may name the columns that its ``columns`` or ``fields`` name.
    """
    if table.get("entities") != "rows":
        return ID_PLACEHOLDERS
    names = [*(table.get("columns") or []), *(table.get("fields") or {})]
    columns = {f"{{{name}}}": "the row's cell in that column" for name in names}
    return {**ID_PLACEHOLDERS, **columns}


def _check_template(
    template: str, placeholders: dict[str, str], shown: str, line: int, key: str
) -> None:
    """Reject a template with a placeholder in braces other than those of ``placeholders``."""
    for placeholder in re.findall(r"\{[^{}]*\}", template):
        if placeholder not in placeholders:
            known = ", ".join(placeholders)
            raise MappingError(
                shown,
                line,
                f"{key}: unknown placeholder {placeholder} in {template!r}; use {known}",
            )


def expand_label(label: str, note_title: str, heading: str) -> str:
    """Return an entity rule's label with its placeholders replaced."""
    return label.replace("{note}", note_title).replace("{heading}", heading)


def expand_id(
    template: str,
    label: str,
    note_title: str,
    heading: str,
    cells: ReadOnlyMapping[str, str] | None = None,
) -> str:
    """Return a table rule's id for one row or column with its placeholders replaced.

    ``cells`` are the row's cells by column, which ``{Column}`` placeholders stand for.
    """
    text = expand_label(template.replace("{label}", label), note_title, heading)
    for column, cell in (cells or {}).items():
        text = text.replace(f"{{{column}}}", cell)
    return text


def _entity(data: dict[str, Any]) -> EntityRule:
    return EntityRule(
        cls=data["class"],
        kind=data["kind"],
        label=data.get("label"),
        explicit_id=data.get("id"),
        paragraph_property=data.get("paragraph_property"),
    )


def _table(
    data: dict[str, Any], lines: dict[tuple[Any, ...], int], at: tuple[Any, ...]
) -> TableRule:
    columns = data.get("columns")
    row_labels = data.get("row_labels")
    return TableRule(
        entities=data["entities"],
        cls=data["class"],
        kind=data["kind"],
        columns=tuple(columns) if columns else None,
        row_labels=tuple(row_labels) if row_labels else None,
        label_column=data.get("label_column"),
        explicit_id=data.get("id"),
        link_to_section=data.get("link_to_section"),
        fields={
            name: _field(value, lines, (*at, "fields", name))
            for name, value in data.get("fields", {}).items()
        },
        line=_line_of(lines, at),
    )


def _field(
    data: dict[str, Any], lines: dict[tuple[Any, ...], int], at: tuple[Any, ...]
) -> FieldRule:
    return FieldRule(
        property=data.get("property"),
        value=data.get("value", "text"),
        cls=data.get("class"),
        kind=data.get("kind"),
        unit_property=data.get("unit_property"),
        text_property=data.get("text_property"),
        strip_prefix=data.get("strip_prefix"),
        separator=data.get("separator"),
        item=data.get("item", "text"),
        link=data.get("link"),
        line=_line_of(lines, at),
    )


def _check_curies(
    mapping: Mapping, data: dict[str, Any], lines: dict[tuple[Any, ...], int]
) -> None:
    """Reject a term whose prefix the mapping does not declare or that is not an absolute IRI.

    A declared namespace must be an absolute IRI that does not end with a letter or digit.

    A term without a scheme ("team") would become a relative IRI, which N-Quads cannot hold, so
    the store's graph could no longer be read.
    """
    for prefix, namespace in data.get("prefixes", {}).items():
        problem = iri_problem(namespace)
        if problem is not None:
            raise MappingError(
                mapping.path,
                _line_of(lines, ("prefixes", prefix)),
                f"prefixes.{prefix}: {namespace!r} is not an absolute IRI ({problem}); give "
                "the namespace as a full IRI such as https://example.org/terms#",
            )
        if namespace[-1:].isalnum():
            # A CURIE appends its local name to the namespace as it is.
            raise MappingError(
                mapping.path,
                _line_of(lines, ("prefixes", prefix)),
                f"prefixes.{prefix}: {namespace!r} ends with a letter or digit, so {prefix}:Thing "
                f"would be {namespace}Thing; end the namespace with '/' or '#', such as "
                f"{namespace}/",
            )
    for at, value in _walk(data, ()):
        if at[-1] not in (
            "property",
            "class",
            "unit_property",
            "text_property",
            "link",
            "link_to_section",
            "paragraph_property",
        ):
            continue
        where = ".".join(str(part) for part in at)
        prefix, colon, local = value.partition(":")
        if colon and not local.startswith("//") and prefix not in mapping.prefixes:
            raise MappingError(
                mapping.path,
                _line_of(lines, at),
                f"{where}: unknown prefix {prefix!r} in {value!r}; declare it under "
                f"'prefixes:' or use one of {', '.join(sorted(mapping.prefixes))}",
            )
        iri = mapping.expand(value)
        problem = iri_problem(iri)
        if problem is not None:
            example = re.sub(r"\W", "", value.rpartition(":")[2]) or "name"
            known = _known_term(example, mapping.prefixes, expect_class=at[-1] == "class")
            if known is not None:
                such_as = f"such as {known}"
            else:
                such_as = (
                    f"such as my:{example} with 'prefixes: {{my: https://example.org/terms#}}'"
                )
            raise MappingError(
                mapping.path,
                _line_of(lines, at),
                f"{where}: {value!r} is not an absolute IRI ({problem}); write prefix:name "
                f"with a declared prefix, {such_as}, or a full IRI such as "
                f"https://example.org/terms#{example}",
            )
        if at[-1] != "class" and not _has_xml_name_end(iri):
            start = _name_end_start(value)
            fixed = f"{value[:start]}_{value[start:]}" if start < len(value) else f"{value}name"
            raise MappingError(
                mapping.path,
                _line_of(lines, at),
                f"{where}: {value!r} cannot be a property in RDF/XML, which needs a letter or "
                f"'_' to start the name after the last '/', '#' or ':'; write {fixed!r}",
            )
        if iri.startswith(ONTOLOGY_NAMESPACE):
            term_problem = _ontology_term_problem(value, iri, expect_class=at[-1] == "class")
            if term_problem is not None:
                raise MappingError(mapping.path, _line_of(lines, at), f"{where}: {term_problem}")


def _has_xml_name_end(iri: str) -> bool:
    """Return whether the IRI ends with an XML name, so that RDF/XML can write it as a property.

    Oxigraph's RDF/XML writer splits the IRI before the longest such name, whose first
    character is a letter or "_" and the others letters, digits, "-", "." or "_".
    """
    return any(character.isalpha() or character == "_" for character in iri[_name_end_start(iri) :])


def _name_end_start(text: str) -> int:
    """Return where the letters, digits, "-", "." and "_" at the end of ``text`` start."""
    start = len(text)
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "-._"):
        start -= 1
    return start


OWL = "http://www.w3.org/2002/07/owl#"
# Vocabularies whose terms rdflib lists, by the prefix that DEFAULT_PREFIXES gives them.
KNOWN_VOCABULARIES = {"schema": SDO, "dcterms": DCTERMS, "skos": SKOS, "foaf": FOAF}


def _known_term(name: str, prefixes: dict[str, str], *, expect_class: bool) -> str | None:
    """Return a prefixed term of the ontology or of a common vocabulary with this local name.

    A class name starts with a capital letter in these vocabularies, and a property's does not.
    """
    if _ontology_terms().get(ONTOLOGY_NAMESPACE + name) is expect_class:
        return f"nk:{name}"
    if name[:1].isupper() != expect_class:
        return None
    for prefix, vocabulary in KNOWN_VOCABULARIES.items():
        declared = prefixes.get(prefix) == str(vocabulary)
        if declared and name in getattr(vocabulary, "__annotations__", {}):
            return f"{prefix}:{name}"
    return None


@functools.cache
def _ontology_terms() -> dict[str, bool]:
    """Return the classes and properties that ontology/notekg.ttl declares, True for a class."""
    terms: dict[str, bool] = {}
    for triple in ox.parse(path=ONTOLOGY_FILE, format=ox.RdfFormat.TURTLE):
        kind = triple.object.value
        if triple.predicate.value != RDF_TYPE or not isinstance(triple.subject, ox.NamedNode):
            continue
        if kind == OWL + "Class":
            terms[triple.subject.value] = True
        elif kind in (OWL + "ObjectProperty", OWL + "DatatypeProperty", OWL + "AnnotationProperty"):
            terms[triple.subject.value] = False
    return terms


def _ontology_term_problem(value: str, iri: str, *, expect_class: bool) -> str | None:
    """Return why a term in the notekg namespace is not a class or property of the ontology.

    Returns None for a term that the ontology declares as the kind expected.
    """
    terms = _ontology_terms()
    expected = "class" if expect_class else "property"
    if terms.get(iri) is expect_class:
        return None

    local = iri[len(ONTOLOGY_NAMESPACE) :]
    if iri in terms:
        reason = f"{value!r} is a {'class' if terms[iri] else 'property'} of the notekg ontology"
    else:
        reason = f"{value!r} is not in the notekg ontology (ontology/notekg.ttl)"
    names = [
        term[len(ONTOLOGY_NAMESPACE) :]
        for term, is_class in terms.items()
        if is_class is expect_class and term.startswith(ONTOLOGY_NAMESPACE)
    ]
    # Compared in lower case, so that nk:Gpu finds nk:GPU.
    by_lower = {name.lower(): name for name in names}
    close = [by_lower[match] for match in difflib.get_close_matches(local.lower(), by_lower, n=1)]
    needed = f"{reason}, but a {expected} is needed here"
    own = f"for a {expected} of your own, declare a prefix of your own under 'prefixes:'"
    if close:
        return f"{needed}; did you mean nk:{close[0]}? {own.capitalize()}"
    return f"{needed}; {own}"


def _walk(data: Any, at: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    found: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found.extend(_walk(value, (*at, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(_walk(value, (*at, index)))
    elif isinstance(data, str) and at:
        found.append((at, data))
    return found
