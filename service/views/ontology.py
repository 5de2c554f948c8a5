"""The notekg ontology at /ontology: HTML documentation for people, RDF for programs.

The ontology IRI ``https://notekg.example/ontology`` and its namespace
``https://notekg.example/ontology#`` map to this page, so ``…/ontology#Benchmark`` opens the
entry of nk:Benchmark. The page documents every class and property that ontology/notekg.ttl
declares with ``rdfs:isDefinedBy`` the ontology, with usage counts and examples from the
graph. RDF clients get the file itself as Turtle, or RDF/XML, JSON-LD or N-Triples, chosen
by the Accept header or ``?format=``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, make_response, render_template, url_for
from flask.sansio.blueprints import BlueprintSetupState

from service import browse_queries, negotiation, results
from service import page_queries as queries
from service.views.common import (
    Link,
    binding_value,
    fetch_labels,
    labelled_link,
    make_link,
    select_rows,
    service_config,
    vocabulary_path,
)

logger = logging.getLogger(__name__)

blueprint = Blueprint("ontology", __name__)

ONTOLOGY_IRI = "https://notekg.example/ontology"
ONTOLOGY_EXTENSION = "notekg.ontology"
EXAMPLE_COUNT = 3

OWL = "http://www.w3.org/2002/07/owl#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
DCTERMS = "http://purl.org/dc/terms/"
CLASS_TYPES = (OWL + "Class", RDFS + "Class")
PROPERTY_TYPES = (
    OWL + "ObjectProperty",
    OWL + "DatatypeProperty",
    OWL + "AnnotationProperty",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property",
)

# The formats of the ontology document, by media type.
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
}
HTML = "text/html"

# The objects that a Turtle file without RDF-star quoted triples can contain.
ObjectTerm = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass
class Ontology:
    """The triples of ontology/notekg.ttl, indexed by subject, and the file's Turtle text."""

    turtle: bytes = b""
    triples: list[ox.Triple] = field(default_factory=list)
    by_subject: dict[str, dict[str, list[ObjectTerm]]] = field(default_factory=dict)

    def values(self, subject: str, predicate: str) -> list[ObjectTerm]:
        return self.by_subject.get(subject, {}).get(predicate, [])

    def text(self, subject: str, predicate: str) -> str | None:
        """Return the English, else untagged, else first literal of the subject's property."""
        literals = [v for v in self.values(subject, predicate) if isinstance(v, ox.Literal)]
        preferred = [v for v in literals if v.language in (None, "en")]
        chosen = (preferred or literals)[:1]
        return chosen[0].value if chosen else None


@dataclass(frozen=True)
class Example:
    """One use of a term in the graph: a member of a class, or a subject and object."""

    subject: Link
    object: Link | None = None
    literal: str | None = None


@dataclass
class TermEntry:
    """The documentation of one class or property."""

    iri: str
    anchor: str
    label: str
    comment: str | None
    kinds: list[str]
    parents: list[Link]
    children: list[Link]
    domains: list[Link]
    ranges: list[Link]
    usage: int = 0
    usage_url: str | None = None
    examples: list[Example] = field(default_factory=list)


# Loading the ontology file


@blueprint.record_once
def _load_ontology_into_app(state: BlueprintSetupState) -> None:
    state.app.extensions[ONTOLOGY_EXTENSION] = load_ontology(vocabulary_path())


def load_ontology(path: Path | None) -> Ontology:
    """Parse the ontology's Turtle file; a missing file gives an empty ontology."""
    if path is None:
        logger.warning("ontology/notekg.ttl not found; /ontology documents no terms")
        return Ontology()

    turtle = path.read_bytes()
    triples = list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))
    by_subject: dict[str, dict[str, list[ObjectTerm]]] = defaultdict(lambda: defaultdict(list))
    for triple in triples:
        by_subject[triple.subject.value][triple.predicate.value].append(triple.object)
    return Ontology(turtle, triples, by_subject)


def _ontology() -> Ontology:
    return current_app.extensions.get(ONTOLOGY_EXTENSION) or Ontology()


# The page


@blueprint.get("/ontology")
def ontology_page() -> Response:
    media_type = negotiation.choose([HTML, *RDF_FORMATS], negotiation.GRAPH_FORMAT_NAMES)
    if media_type == HTML:
        response = make_response(render_template("ontology.html", **_page_context()))
    else:
        response = Response(_serialize(media_type), mimetype=media_type)
    response.vary.add("Accept")
    return response


def _serialize(media_type: str) -> bytes:
    ontology = _ontology()
    if media_type == "text/turtle":
        return ontology.turtle

    prefixes = results.common_prefixes(service_config().base_iri)
    return ox.serialize(ontology.triples, format=RDF_FORMATS[media_type], prefixes=prefixes) or b""


def _page_context() -> dict[str, object]:
    ontology = _ontology()
    entries = document_terms(ontology)
    _add_usage(entries)
    formats = {
        name: url_for("ontology.ontology_page", format=name)
        for name in ("turtle", "rdfxml", "jsonld", "ntriples")
    }
    return {
        "iri": ONTOLOGY_IRI,
        "title": ontology.text(ONTOLOGY_IRI, DCTERMS + "title") or "notekg ontology",
        "description": ontology.text(ONTOLOGY_IRI, DCTERMS + "description"),
        "version": ontology.text(ONTOLOGY_IRI, OWL + "versionInfo"),
        "classes": [entry for entry in entries if _is_class(entry)],
        "properties": [entry for entry in entries if not _is_class(entry)],
        "formats": formats,
    }


def _is_class(entry: TermEntry) -> bool:
    return "class" in entry.kinds


# Documenting the terms


def document_terms(ontology: Ontology) -> list[TermEntry]:
    """Build an entry for every term that the ontology defines, sorted by local name."""
    defined = [
        subject
        for subject in ontology.by_subject
        if any(v.value == ONTOLOGY_IRI for v in ontology.values(subject, RDFS + "isDefinedBy"))
    ]
    entries = [_entry(ontology, iri) for iri in defined]
    entries.sort(key=lambda entry: entry.anchor.lower())
    return entries


def _entry(ontology: Ontology, iri: str) -> TermEntry:
    types = {value.value for value in ontology.values(iri, queries.RDF_TYPE)}
    is_class = bool(types & set(CLASS_TYPES))
    parent_property = RDFS + ("subClassOf" if is_class else "subPropertyOf")
    kinds = sorted(_kind_name(kind) for kind in types)
    return TermEntry(
        iri=iri,
        anchor=_anchor(iri),
        label=ontology.text(iri, RDFS + "label") or _anchor(iri),
        comment=ontology.text(iri, RDFS + "comment"),
        kinds=kinds,
        parents=[_term_link(v.value) for v in ontology.values(iri, parent_property)],
        children=_children(ontology, iri, parent_property),
        domains=[_term_link(v.value) for v in ontology.values(iri, RDFS + "domain")],
        ranges=[_term_link(v.value) for v in ontology.values(iri, RDFS + "range")],
    )


def _kind_name(type_iri: str) -> str:
    if type_iri in CLASS_TYPES:
        return "class"
    return {
        OWL + "ObjectProperty": "object property",
        OWL + "DatatypeProperty": "datatype property",
        OWL + "AnnotationProperty": "annotation property",
    }.get(type_iri, "property")


def _children(ontology: Ontology, iri: str, parent_property: str) -> list[Link]:
    children = [
        _term_link(subject)
        for subject, properties in ontology.by_subject.items()
        if any(value.value == iri for value in properties.get(parent_property, []))
    ]
    return sorted(children, key=lambda link: link.label.lower())


def _anchor(iri: str) -> str:
    return iri[len(queries.NK) :] if iri.startswith(queries.NK) else iri


def _term_link(iri: str) -> Link:
    """Link a term: notekg terms to their entry on this page, other terms to their IRI."""
    if iri.startswith(queries.NK):
        return Link(iri, "nk:" + _anchor(iri), "#" + _anchor(iri))

    prefixes = results.common_prefixes(service_config().base_iri)
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace):
            return Link(iri, f"{prefix}:{iri[len(namespace) :]}", iri)
    return Link(iri, iri, iri)


# Usage in the graph


def _add_usage(entries: list[TermEntry]) -> None:
    class_counts = _counts(queries.class_counts(), "class")
    property_counts = _counts(browse_queries.property_counts(), "property")
    for entry in entries:
        if _is_class(entry):
            entry.usage = class_counts.get(entry.iri, 0)
            entry.usage_url = url_for("pages.class_page", iri=entry.iri)
            entry.examples = _class_examples(entry.iri) if entry.usage else []
        else:
            entry.usage = property_counts.get(entry.iri, 0)
            entry.examples = _property_examples(entry.iri) if entry.usage else []


def _counts(sparql: str, variable: str) -> dict[str, int]:
    return {
        binding_value(row, variable) or "": int(binding_value(row, "count") or 0)
        for row in select_rows(sparql)
    }


def _class_examples(iri: str) -> list[Example]:
    rows = select_rows(queries.class_examples(iri, EXAMPLE_COUNT))
    return [Example(labelled_link(row["member"], binding_value(row, "label"))) for row in rows]


def _property_examples(iri: str) -> list[Example]:
    rows = select_rows(browse_queries.property_examples(iri, EXAMPLE_COUNT))
    objects = [row["object"] for row in rows]
    labels = fetch_labels(term.value for term in objects if isinstance(term, ox.NamedNode))
    examples = []
    for row in rows:
        subject = labelled_link(row["subject"], binding_value(row, "subjectLabel"))
        term = row["object"]
        if isinstance(term, ox.Literal):
            examples.append(Example(subject, literal=term.value))
        else:
            examples.append(Example(subject, make_link(term, labels)))
    return examples
