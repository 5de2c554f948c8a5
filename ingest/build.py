"""Turn one parsed note and a mapping into RDF: a graph of facts and a graph of provenance.

Every entity gets a type, a ``skos:prefLabel``, the section that defines it and, in the
provenance graph, the line ranges of the note it was read from. What the mapping does not
cover still becomes RDF: bullet keys and table columns get generated properties named after
them, and each such gap is reported as a warning.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePosixPath
from urllib.parse import unquote

from rdflib import Graph, Literal, URIRef
from rdflib.store import Store
from rdflib.term import Node

from ingest.code import python_api_names
from ingest.document import CodeBlock, Document, KeyValue, LineSpan, Link, Section, Table
from ingest.iris import IriMinter, key_name, make_slug, note_id, note_slug
from ingest.mapping import FieldRule, Mapping, SectionRule, expand_label
from ingest.problems import MISSING_NOTE, Problem
from ingest.readers import READERS
from ingest.tables import TableHints, recover_table
from ingest.values import parse_measure, parse_name, parse_quantity, strip_prefix
from ingest.vocab import DCTERMS, FOAF, KEY, NK, RDF, RDFS, SCHEMA, SKOS, XSD


class _LexicalFormWarnings(logging.Filter):
    """A logging filter for rdflib's warning, with a traceback, that a literal does not convert.

    The build checks ``Literal.ill_typed`` itself and warns with the note's file and line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


logging.getLogger("rdflib.term").addFilter(_LexicalFormWarnings())

DESCRIPTIVE_PROPERTIES = (DCTERMS.description, SKOS.definition, NK.captures)
MAP_IT = "Map it in the mapping file to give it a term of the ontology"
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
SAFE_IRI = re.compile(r"[^\s<>\"{}|\\^`]+")


@dataclass
class NoteGraphs:
    """The RDF of one note: its facts, its provenance and the problems found on the way."""

    note_iri: URIRef
    graph_iri: URIRef
    provenance_iri: URIRef
    facts: Graph
    provenance: Graph
    problems: list[Problem] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    labels: list[tuple[str, str]] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    # The headings of the note's sections, which the run checks the mapping's rules against.
    section_titles: list[str] = field(default_factory=list)
    # The note's title, which a rule that matches no section may have meant.
    note_title: str = ""
    # (line of a table rule in the mapping, a column or row label of a table it mapped), which
    # the run checks the names of the rule's fields against.
    table_names: list[tuple[int, str]] = field(default_factory=list)
    # The links to a heading, which the run checks against the linked note's headings.
    heading_links: list[HeadingLink] = field(default_factory=list)


@dataclass(frozen=True)
class HeadingLink:
    """A link to a heading of a note: ``[[redis#Persistence]]`` or ``redis.md#persistence``.

    ``note_key`` is the linked note's path in the notes folder, ``heading`` the link's part
    after "#", and ``text`` the link as the note writes it.
    """

    line: int
    text: str
    note_key: str
    heading: str


def build_note(
    document: Document, mapping: Mapping, minter: IriMinter, note_key: str
) -> NoteGraphs:
    """Build the facts and provenance graphs of one note.

    ``note_key`` is the note's path relative to its notes folder; it names the note's IRIs.
    """
    return _NoteBuilder(document, mapping, minter, note_key).build()


# Front matter keys that name or describe the note; the others become generic properties.
FRONT_MATTER_KEYS = frozenset({"title", "id", "tags", "aliases"})


def _front_matter_text(value: object) -> str:
    """Return a front matter value as text: YAML's booleans as true and false, mappings as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


# The names that a fence's language tag stands for, as people write them; other tags are
# kept as the note writes them.
LANGUAGE_NAMES = {
    "python": "Python",
    "py": "Python",
    "bash": "Bash",
    "sh": "Shell",
    "shell": "Shell",
    "zsh": "Zsh",
    "powershell": "PowerShell",
    "yaml": "YAML",
    "yml": "YAML",
    "json": "JSON",
    "toml": "TOML",
    "ini": "INI",
    "xml": "XML",
    "html": "HTML",
    "css": "CSS",
    "sql": "SQL",
    "javascript": "JavaScript",
    "js": "JavaScript",
    "typescript": "TypeScript",
    "ts": "TypeScript",
    "go": "Go",
    "rust": "Rust",
    "java": "Java",
    "kotlin": "Kotlin",
    "c": "C",
    "cpp": "C++",
    "csharp": "C#",
    "ruby": "Ruby",
    "php": "PHP",
    "dockerfile": "Dockerfile",
    "makefile": "Makefile",
    "sparql": "SPARQL",
    "turtle": "Turtle",
}


class _NoteBuilder:
    def __init__(
        self, document: Document, mapping: Mapping, minter: IriMinter, note_key: str
    ) -> None:
        self.document = document
        self.mapping = mapping
        self.minter = minter
        # The minter serves the whole run; this note reports only the problems it causes.
        self.minter_problems_before = len(minter.problems)
        self.note_key = note_key
        explicit_id = note_id(document.metadata.get("id"))
        self.slug = make_slug(explicit_id) if explicit_id else note_slug(note_key)
        self.section_titles: dict[str, int] = {}
        self.note = minter.path("note", self.slug)
        self._note_titles: dict[tuple[int, str], str] | None = None
        self.facts = _new_graph()
        self.provenance = _new_graph()
        self.problems: list[Problem] = []
        self.unmapped: list[str] = []
        self.labels: dict[URIRef, str] = {}
        self.spans: dict[LineSpan, URIRef] = {}
        self.iris: dict[str, URIRef] = {}
        self.table_names: list[tuple[int, str]] = []
        self.heading_links: list[HeadingLink] = []
        # (line, item) of each unmapped item reported, so that the cells of one row of a
        # transposed table, one per column entity, give one warning.
        self.reported_unmapped: set[tuple[int, str]] = set()

    def build(self) -> NoteGraphs:
        for line, message in self.document.warnings:
            self._warn(line, message)
        self._add_note()
        for position, section in enumerate(self.document.all_sections()):
            self._add_section(section, position)

        return NoteGraphs(
            note_iri=self.note,
            graph_iri=self.minter.path("graph", self.slug),
            provenance_iri=self.minter.path("graph", self.slug, "provenance"),
            facts=self.facts,
            provenance=self.provenance,
            problems=self.problems + self.minter.problems[self.minter_problems_before :],
            unmapped=self.unmapped,
            labels=[(str(iri), label) for iri, label in self.labels.items()],
            texts=self._descriptive_texts(),
            section_titles=[
                self._rule_heading(section) for section in self.document.all_sections()
            ],
            note_title=self.document.title,
            table_names=self.table_names,
            heading_links=self.heading_links,
        )

    # Notes and sections

    def _add_note(self) -> None:
        document = self.document
        self.facts.add((self.note, RDF.type, NK.Note))
        self.facts.add((self.note, DCTERMS.title, Literal(document.title)))
        self.facts.add((self.note, SKOS.prefLabel, Literal(document.title)))
        self.facts.add((self.note, NK.filePath, Literal(self.note_key)))
        self.facts.add((self.note, NK.contentHash, Literal(document.content_hash)))
        self.facts.add((self.note, SCHEMA.text, Literal(document.text)))
        self._source(self.note, LineSpan(1, max(document.line_count, 1)))
        self._add_metadata()

    def _add_metadata(self) -> None:
        """Add tags as keywords and front matter aliases as alternative labels of the note.

        Tags come from the front matter and from the text (``#infra/db``), without their "#".

        ``title`` and ``id`` name the note. Any other key becomes a generic property of the
        note, as an unmapped bullet key does, with a warning.
        """
        metadata = self.document.metadata
        for key, prop in (("tags", SCHEMA.keywords), ("aliases", SKOS.altLabel)):
            values = metadata.get(key)
            if values is None:
                continue
            if isinstance(values, str):
                # Obsidian also takes a list written as text: "tags: infra/db, ops".
                values = values.split(",")
            if not isinstance(values, list):
                values = [values]
            left_out = [item for item in values if not isinstance(item, str | int | float)]
            if left_out:
                self._warn(
                    self._front_matter_line(key),
                    f"front matter key {key!r} has {len(left_out)} value(s) that are not text, "
                    f"such as {_front_matter_text(left_out[0])!r}, which are left out; write "
                    f"the values as a YAML list of text ({key}: [a, b]) or as text with commas",
                )
            for item in values:
                text = str(item).strip() if isinstance(item, str | int | float) else ""
                if key == "tags":
                    text = text.removeprefix("#")
                if text:
                    self.facts.add((self.note, prop, Literal(text)))
        for _, tag in self.document.tags:
            self.facts.add((self.note, SCHEMA.keywords, Literal(tag)))

        given_id = metadata.get("id")
        if given_id is not None and note_id(given_id) is None:
            problem = "has no letter or digit" if isinstance(given_id, str) else "is not text"
            self._warn(
                self._front_matter_line("id"),
                f"front matter id {given_id!r} {problem} to name the note, so the note keeps "
                f"the IRI of its path, {self.note}; write the id as text such as "
                f"id: {note_slug(self.note_key)}",
            )
        for key, value in metadata.items():
            if not isinstance(key, str) or key in FRONT_MATTER_KEYS or value is None:
                continue
            items = value if isinstance(value, list) else [value]
            line = self._front_matter_line(key)
            for item in items:
                text = _front_matter_text(item)
                self._add_unmapped(self.note, key, text, LineSpan(line, line), "", warn=False)
            self.unmapped.append(f"front matter key {key!r}")
            self._warn(
                line,
                f"front matter key {key!r} is not one that notekg reads (title, id, tags, "
                f"aliases); stored on the note as generic property key:{key_name(key)}",
            )

    def _front_matter_line(self, key: str) -> int:
        """Return the line of ``key:`` in the note's front matter, or 1 when it is not found."""
        lines = self.document.text.split("\n")
        for number, line in enumerate(lines[1:], start=2):
            if line.strip() == "---":
                break
            if line.startswith(f"{key}:"):
                return number
        return 1

    def _add_section(self, section: Section, position: int) -> None:
        section_iri = self._section_iri(section)
        self.facts.add((section_iri, RDF.type, NK.Section))
        self.facts.add((section_iri, SKOS.prefLabel, Literal(section.title or self.document.title)))
        if section.title:
            self.facts.add((section_iri, DCTERMS.title, Literal(section.title)))
        self.facts.add(
            (section_iri, NK.headingLevel, Literal(section.level, datatype=XSD.positiveInteger))
        )
        self.facts.add(
            (section_iri, NK.position, Literal(position, datatype=XSD.nonNegativeInteger))
        )
        self.facts.add((section_iri, DCTERMS.isPartOf, self.note))
        self.facts.add((self.note, NK.section, section_iri))
        self._source(section_iri, section.span)

        if section.is_empty():
            self._warn(
                section.span.start,
                f"section {section.title!r} is empty; add notes under it or remove the heading",
            )

        rule = self.mapping.rule_for(self._rule_heading(section))
        subject = self._section_entity(section, section_iri, rule)
        self._add_paragraphs(section, section_iri, subject, rule)
        for item in section.items:
            self._add_key_value(item, subject, section, section_iri, rule)
        self._add_tables(section, section_iri, subject, rule)
        for link in section.links:
            self._add_link(section_iri, link)
        for block in section.code_blocks:
            self._add_code(block, section, section_iri, rule)

    def _rule_heading(self, section: Section) -> str:
        """Return the heading that mapping rules match a section by.

        The part of a note before its first section heading has none of its own, so rules
        match it by the note's title, the H1 of a Markdown note with only one heading.
        """
        return section.title or self.document.title

    def _section_iri(self, section: Section) -> URIRef:
        label = section.title or "introduction"
        seen = self.section_titles.get(label.casefold(), 0) + 1
        self.section_titles[label.casefold()] = seen
        if seen > 1:
            label = f"{label} {seen}"
        return self.minter.entity(
            f"section/{self.slug}", label, where=(self.document.display_path, section.span.start)
        )

    def _section_entity(
        self, section: Section, section_iri: URIRef, rule: SectionRule | None
    ) -> URIRef:
        if rule is None or rule.entity is None:
            return section_iri

        entity_rule = rule.entity
        heading = self._rule_heading(section)
        label = heading
        if entity_rule.label:
            label = expand_label(entity_rule.label, self.document.title, heading)
        entity = self.entity(
            entity_rule.kind,
            label,
            entity_rule.cls,
            section.span,
            section_iri,
            entity_rule.explicit_id,
        )
        self.facts.add((section_iri, DCTERMS.subject, entity))
        # The section the entity stands for defines it, even when an earlier section named it.
        self.facts.set((entity, NK.definedIn, section_iri))
        return entity

    def _add_paragraphs(
        self, section: Section, section_iri: URIRef, subject: URIRef, rule: SectionRule | None
    ) -> None:
        if not section.paragraphs:
            return

        text = "\n\n".join(paragraph.text for paragraph in section.paragraphs)
        self.facts.add((section_iri, DCTERMS.description, Literal(text)))
        if rule and rule.entity and rule.entity.paragraph_property and subject != section_iri:
            self.facts.add((subject, self._iri(rule.entity.paragraph_property), Literal(text)))

    def _add_link(self, section_iri: URIRef, link: Link) -> None:
        """Add ``dcterms:references`` from the section to the linked note or URL."""
        target = link.target.strip()
        if not target:
            return

        if URL_SCHEME.match(target):
            if not SAFE_IRI.fullmatch(target):
                self._warn(
                    link.span.start, f"link target {target!r} is not a valid IRI; not stored"
                )
                return
            self.facts.add((section_iri, DCTERMS.references, URIRef(target)))
            return

        note_path = target.split("#", 1)[0]
        suffix = PurePosixPath(note_path).suffix.lower()
        if suffix and suffix not in READERS:
            # An image, a PDF or another file that is not a note has no page in the graph.
            return
        if link.missing:
            self._warn(link.span.start, f"link {link.written!r} leads to {note_path}{MISSING_NOTE}")
        else:
            self._keep_heading_link(link, note_path)
        if link.others:
            _, hash_sign, heading = link.target.partition("#")
            fragment = f"#{heading}" if hash_sign else ""
            self._warn(
                link.span.start,
                f"link {link.written!r} names {len(link.others) + 1} notes, "
                f"{', '.join(sorted([note_path, *link.others]))}, and leads to {note_path}, "
                "the first by path; write the folder of the note you mean into the link, as "
                f"[[{PurePosixPath(note_path).with_suffix('').as_posix()}{fragment}]]",
            )
        if note_path:
            # A linked note that sets 'id' in its front matter has the IRI of its id.
            slug = make_slug(link.note_id) if link.note_id else note_slug(note_path)
            self.facts.add((section_iri, DCTERMS.references, self.minter.path("note", slug)))

    def _keep_heading_link(self, link: Link, note_path: str) -> None:
        """Keep a link to a heading of a note, which the run checks once it built every note.

        The part after the last "#" names the heading, as Obsidian's ``[[note#H1#H2]]`` does;
        a block reference (``#^id``) names no heading.
        """
        _, hash_sign, fragment = link.target.strip().partition("#")
        heading = unquote(fragment.rpartition("#")[2]).strip()
        if not hash_sign or not heading or heading.startswith("^"):
            return
        note_key = note_path or self.note_key
        self.heading_links.append(HeadingLink(link.span.start, link.written, note_key, heading))

    # Entities and provenance

    def entity(
        self,
        kind: str,
        label: str,
        cls: str,
        span: LineSpan,
        section_iri: URIRef,
        explicit_id: str | None = None,
    ) -> URIRef:
        """Return the entity of ``kind`` labelled ``label``, adding its type, label and source."""
        iri = self.minter.entity(
            kind, label, explicit_id=explicit_id, where=(self.document.display_path, span.start)
        )
        self.facts.add((iri, RDF.type, self._iri(cls)))
        if iri not in self.labels:
            self.labels[iri] = label
            self.facts.add((iri, SKOS.prefLabel, Literal(label)))
            self.facts.add((iri, NK.definedIn, section_iri))
            if self._iri(cls) == FOAF.Person:
                self.facts.add((iri, FOAF.name, Literal(label)))
        self._source(iri, span)
        return iri

    def _source(self, subject: URIRef, span: LineSpan) -> None:
        span_iri = self.spans.get(span)
        if span_iri is None:
            # The entities of one table row or bullet share its span, which is described once.
            span_iri = self.spans[span] = URIRef(f"{self.note}#L{span.start}-L{span.end}")
            self.provenance.add((span_iri, RDF.type, NK.SourceSpan))
            self.provenance.add((span_iri, NK.inNote, self.note))
            self.provenance.add((span_iri, NK.startLine, _line_number(span.start)))
            self.provenance.add((span_iri, NK.endLine, _line_number(span.end)))
        self.provenance.add((subject, NK.source, span_iri))

    def _iri(self, curie: str) -> URIRef:
        iri = self.iris.get(curie)
        if iri is None:
            iri = self.iris[curie] = URIRef(self.mapping.expand(curie))
        return iri

    def section_name(self, section: Section) -> str:
        """Return how messages name a section; the part before the first heading has no title."""
        if section.title:
            return f"section {section.title!r}"
        return f"the top of note {self.document.title!r}"

    def _warn(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.document.display_path, line, message))

    # Bullets

    def _add_key_value(
        self,
        item: KeyValue,
        subject: URIRef,
        section: Section,
        section_iri: URIRef,
        rule: SectionRule | None,
    ) -> None:
        field_rule = rule.key_rule(item.key) if rule else None
        if field_rule is None:
            fix = MAP_IT
            if not section.title:
                fix = (
                    f"Add a section rule with the heading {self.document.title!r} (the note's "
                    "title matches its text before the first heading), or put the bullet under "
                    "a heading that a rule matches"
                )
            self._add_unmapped(
                subject,
                item.key,
                item.value,
                item.span,
                f"bullet key {item.key!r} of {self.section_name(section)}",
                fix=fix,
            )
            return

        if field_rule.value == "entity":
            self._add_key_entity(item, subject, field_rule, section_iri)
            return
        self.apply_field(subject, field_rule, item.key, item.value, item.span, section_iri)

    def _add_key_entity(
        self, item: KeyValue, subject: URIRef, rule: FieldRule, section_iri: URIRef
    ) -> None:
        """Make the bullet's key an entity of its own, with the value as its text."""
        entity = self.entity(
            rule.kind or "concept", item.key, rule.cls or "skos:Concept", item.span, section_iri
        )
        if rule.text_property:
            self.facts.add((entity, self._iri(rule.text_property), Literal(item.value)))
        if rule.link:
            self.facts.add((subject, self._iri(rule.link), entity))

    def _add_unmapped(
        self,
        subject: URIRef,
        key: str,
        value: str,
        span: LineSpan,
        what: str,
        *,
        warn: bool = True,
        fix: str = "",
    ) -> None:
        prop = KEY[key_name(key)]
        self.facts.add((prop, RDF.type, RDF.Property))
        self.facts.add((prop, RDFS.label, Literal(key)))
        self.facts.add((prop, NK.unmapped, Literal(True)))
        self.facts.add((subject, prop, Literal(value)))
        if not warn or (span.start, what) in self.reported_unmapped:
            return
        self.reported_unmapped.add((span.start, what))
        self.unmapped.append(what)
        self._warn(
            span.start,
            f"{what} has no mapping; stored as generic property key:{key_name(key)}. "
            f"{fix or MAP_IT}",
        )

    # Values

    def apply_field(
        self,
        subject: URIRef,
        rule: FieldRule,
        name: str,
        text: str,
        span: LineSpan,
        section_iri: URIRef,
    ) -> None:
        """Add the triples that one mapped field value gives, by the rule's value kind.

        An empty value adds nothing.
        """
        if not text.strip():
            return
        if rule.property is None and rule.value != "name":
            self._add_unmapped(
                subject,
                name,
                text,
                span,
                f"field {name!r}",
                fix=f"Add 'property:' to its field rule on line {rule.line} of the mapping",
            )
            return

        if rule.value == "list":
            separator = rule.separator or ","
            for part in (part.strip() for part in text.split(separator)):
                if part:
                    item_rule = FieldRule(
                        rule.property, rule.item, rule.cls, rule.kind, line=rule.line
                    )
                    self.apply_field(subject, item_rule, name, part, span, section_iri)
            return

        value = self._value(subject, rule, name, text, span, section_iri)
        if value is not None and rule.property:
            self.facts.add((subject, self._iri(rule.property), value))

    def _value(
        self,
        subject: URIRef,
        rule: FieldRule,
        name: str,
        text: str,
        span: LineSpan,
        section_iri: URIRef,
    ) -> Node | None:
        kind = rule.value
        if kind == "name":
            full = parse_name(text).full
            return Literal(full) if full else None
        if kind == "link":
            return self._link(subject, rule, text, span, section_iri)
        if kind == "quantity":
            return self._quantity(subject, rule, name, text, span)
        if kind in ("number", "year", "date"):
            return self._typed(kind, text, span, name)
        return Literal(text)

    def _link(
        self, subject: URIRef, rule: FieldRule, text: str, span: LineSpan, section_iri: URIRef
    ) -> URIRef:
        label = strip_prefix(text, rule.strip_prefix)
        # A wiki link names its note as the file does ("failover"), and the entity takes the
        # note's title ("Failover") when only the case differs, as the note's own rules do.
        label = self._linked_note_titles().get((span.start, label), label)
        if rule.unit_property:
            measure = parse_measure(label)
            label = measure.name
            if measure.scale:
                self.facts.add((subject, self._iri(rule.unit_property), Literal(measure.scale)))
        if rule.text_property:
            self.facts.add((subject, self._iri(rule.text_property), Literal(text)))
        return self.entity(
            rule.kind or make_slug(rule.cls or "thing"),
            label,
            rule.cls or "skos:Concept",
            span,
            section_iri,
        )

    def _linked_note_titles(self) -> dict[tuple[int, str], str]:
        """Return the titles of linked notes that differ from the link's text only in case.

        The key is the link's line and text.
        """
        if self._note_titles is None:
            self._note_titles = {
                (link.span.start, link.text): link.title
                for section in self.document.all_sections()
                for link in section.links
                if link.title
            }
        return self._note_titles

    def _quantity(
        self, subject: URIRef, rule: FieldRule, name: str, text: str, span: LineSpan
    ) -> Node:
        quantity = parse_quantity(text)
        if quantity is None:
            self._warn(
                span.start,
                f"{name}: {text!r} is not a number followed by a unit; stored as text. "
                "Write it like '80 GB' or map the field as text",
            )
            return Literal(text)

        node = URIRef(f"{subject}/{make_slug(name)}")
        self.facts.add((node, RDF.type, SCHEMA.QuantitativeValue))
        self.facts.add((node, SCHEMA.value, Literal(quantity.value, datatype=XSD.decimal)))
        self.facts.add((node, SCHEMA.unitText, Literal(quantity.unit)))
        self.facts.add((node, RDFS.label, Literal(quantity.text)))
        self._source(node, span)
        return node

    def _typed(self, kind: str, text: str, span: LineSpan, name: str) -> Literal:
        datatype = {"number": XSD.decimal, "year": XSD.gYear, "date": XSD.date}[kind]
        if kind == "number":
            try:
                literal = Literal(Decimal(text.strip().replace(",", "")), datatype=XSD.decimal)
            except ArithmeticError:
                # Text that is no number ("none") is kept as a plain literal, without a warning.
                return Literal(text)
        else:
            literal = Literal(text.strip(), datatype=datatype)
        if literal.ill_typed:
            self._warn(span.start, f"{name}: {text!r} is not a valid {kind}; stored as text")
            return Literal(text)
        return literal

    # Tables

    def _add_tables(
        self, section: Section, section_iri: URIRef, subject: URIRef, rule: SectionRule | None
    ) -> None:
        table_rule = rule.table if rule else None
        hints = None
        if table_rule:
            hints = TableHints(columns=table_rule.columns, row_labels=table_rule.row_labels)

        if table_rule and not section.tables and not section.raw_tables:
            self._warn(
                section.span.start,
                f"the mapping has a table rule for section {section.title!r}, but the section "
                "has no table. In a plain-text note a table is a header line and then one row "
                "a line, with no blank lines between, and each of its lines starts with a "
                "capital letter or a digit. Check the layout",
            )

        tables = [table for table in section.tables if self._header_fits(table, hints)]
        if table_rule and table_rule.row_labels and section.raw_tables:
            # A row that could not be split still has the label that its field names.
            self.table_names.extend((table_rule.line, label) for label in table_rule.row_labels)
        for raw in section.raw_tables:
            table, problems = recover_table(raw, self.document.display_path, hints)
            self.problems.extend(problems)
            if table is not None:
                tables.append(table)

        from ingest.table_mapping import add_table

        for table in tables:
            add_table(self, table, section, section_iri, subject, table_rule)

    def _header_fits(self, table: Table, hints: TableHints | None) -> bool:
        """Return whether a table's header is the mapping's columns; warn when it is not.

        The cells are compared as a plain-text table's header line is, ignoring case, with runs
        of spaces read as one space.
        """
        if hints is None or hints.columns is None:
            return True
        header = [" ".join(cell.split()) for cell in table.header]
        columns = [" ".join(column.split()) for column in hints.columns]
        if [cell.casefold() for cell in header] == [column.casefold() for column in columns]:
            return True
        self._warn(
            table.header_span.start,
            f"table header is {' | '.join(header)!r}, but the mapping's columns are "
            f"{' | '.join(columns)!r}, so the table is left out; update the columns in the "
            "mapping or the header in the note",
        )
        return False

    # Code

    def _add_code(
        self, block: CodeBlock, section: Section, section_iri: URIRef, rule: SectionRule | None
    ) -> None:
        code_rule = rule.code if rule else None
        cls = code_rule.cls if code_rule else "nk:CodeExample"
        kind = code_rule.kind if code_rule else "code"
        number = section.code_blocks.index(block) + 1
        suffix = f" {number}" if len(section.code_blocks) > 1 else ""
        label = f"{section.title or self.document.title} code example{suffix}"
        example = self.entity(
            kind, label, cls, block.span, section_iri, explicit_id=f"{self.slug} {label}"
        )

        self.facts.add((example, NK.code, Literal(block.code)))
        if block.language:
            self.facts.add(
                (
                    example,
                    SCHEMA.programmingLanguage,
                    Literal(LANGUAGE_NAMES.get(block.language.lower(), block.language)),
                )
            )
        is_python = LANGUAGE_NAMES.get((block.language or "").lower()) == "Python"
        if is_python and (code_rule is None or code_rule.api_links):
            for name in python_api_names(block.code):
                api = self.entity("api", name, "nk:APIElement", block.span, section_iri)
                self.facts.add((example, NK.usesAPI, api))

    # Mentions

    def _descriptive_texts(self) -> list[tuple[str, str]]:
        """Return (subject IRI, text) for the descriptions in which mentions are looked for."""
        return [
            (str(subject), str(text))
            for prop in DESCRIPTIVE_PROPERTIES
            for subject, text in self.facts.subject_objects(prop)
            if isinstance(subject, URIRef)
        ]


@functools.lru_cache(maxsize=4096)
def _line_number(line: int) -> Literal:
    return Literal(line, datatype=XSD.positiveInteger)


def _new_graph() -> Graph:
    # A note's graphs are serialized as N-Triples, which use no prefixes, so they bind none.
    # Binding the project's prefixes took about 4% of building a synthetic note.
    return Graph(store=NoteStore(), bind_namespaces="none")


class NoteStore(Store):
    """An rdflib store for the graph of one note: its triples in insertion order.

    A note's graph has about a hundred triples. It is mostly added to and then read whole,
    and a pattern query finds its predicate in an index or scans the triples. rdflib's
    SimpleMemory store updates three indexes on each add and counts its triples by iterating
    over them. With this store the synthetic notes of benchmarks/generate.py build about 9%
    faster. The store keeps no contexts and no namespaces.
    """

    def __init__(self) -> None:
        super().__init__()
        self._triples: dict[_Triple, None] = {}
        self._by_predicate: dict[Node, dict[_Triple, None]] = {}

    def add(self, triple: _Triple, context: object, quoted: bool = False) -> None:
        self._triples[triple] = None
        with_predicate = self._by_predicate.get(triple[1])
        if with_predicate is None:
            with_predicate = self._by_predicate[triple[1]] = {}
        with_predicate[triple] = None

    def remove(self, triple_pattern: _Pattern, context: object = None) -> None:
        for triple, _ in list(self.triples(triple_pattern)):
            del self._triples[triple]
            del self._by_predicate[triple[1]][triple]

    def triples(  # type: ignore[override]
        self, triple_pattern: _Pattern, context: object = None
    ) -> Iterator[tuple[_Triple, Iterator[object]]]:
        subject, predicate, obj = triple_pattern
        if predicate is None:
            candidates: Iterable[_Triple] = self._triples
        else:
            candidates = self._by_predicate.get(predicate, ())
        if subject is None and obj is None:
            matching = list(candidates)
        else:
            matching = [
                triple
                for triple in candidates
                if (subject is None or triple[0] == subject) and (obj is None or triple[2] == obj)
            ]
        for triple in matching:
            yield triple, iter(())

    def __len__(self, context: object = None) -> int:
        return len(self._triples)


_Triple = tuple[Node, Node, Node]
_Pattern = tuple[Node | None, Node | None, Node | None]
