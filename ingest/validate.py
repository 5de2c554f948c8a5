"""Check a note's graph against the SHACL shapes and report each violation at its source line."""

from __future__ import annotations

import functools
import logging

from pyshacl import validate
from pyshacl.rdfutil.inoculate import inoculate
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from ingest.problems import Problem
from ingest.vocab import NK, PREFIXES
from ontology import ONTOLOGY_FILE, SHAPES_FILE

logger = logging.getLogger(__name__)


def shacl_problems(facts: Graph, provenance: Graph, display_path: str) -> list[Problem]:
    """Validate the union of a note's facts and provenance; return one warning per violation.

    Each warning carries the first source line of the focus node, so it reads as
    ``note.txt:LINE: message`` like every other problem.
    """
    data = facts + provenance
    # The note's graphs bind no prefixes, so the data graph gets the project's here.
    for prefix, namespace in PREFIXES.items():
        data.bind(prefix, namespace)
    _add_ontology_axioms(data)
    conforms, report, _ = validate(
        data,
        shacl_graph=_load_shapes(),
        inference="none",
        allow_warnings=True,
        inplace=True,
    )
    if conforms:
        return []

    return [
        Problem(display_path, _line_of(provenance, focus), f"{_label(facts, focus)}: {message}")
        for focus, message in _violations(report)
    ]


def _add_ontology_axioms(data: Graph) -> None:
    """Add the ontology's RDFS and OWL axioms to the data graph, as pySHACL's ``ont_graph`` does.

    pySHACL copies the axioms out of the ontology on every call, which took about a fifth of the
    validation time of 1,000 synthetic notes. The axioms do not depend on the data, so they are
    copied once and reused.
    """
    axioms = _ontology_axioms()
    bound = {prefix for prefix, _ in data.namespaces()}
    for prefix, namespace in axioms.namespaces():
        if prefix not in bound:
            data.bind(prefix, namespace)
    data.addN((subject, predicate, obj, data) for subject, predicate, obj in axioms)


def _violations(report: Graph) -> list[tuple[URIRef, str]]:
    found = []
    for result in report.subjects(SH.resultMessage, None):
        focus = report.value(result, SH.focusNode)
        message = report.value(result, SH.resultMessage)
        if isinstance(focus, URIRef):
            found.append((focus, str(message)))
    return sorted(set(found))


def _line_of(provenance: Graph, focus: URIRef) -> int:
    lines = [
        int(start)  # type: ignore[call-overload]
        for span in provenance.objects(focus, NK.source)
        for start in provenance.objects(span, NK.startLine)
    ]
    return min(lines, default=1)


def _label(facts: Graph, focus: URIRef) -> str:
    label = facts.value(focus, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"))
    return str(label) if label is not None else str(focus)


@functools.cache
def _load_shapes() -> Graph:
    return Graph().parse(SHAPES_FILE, format="turtle")


@functools.cache
def _ontology_axioms() -> Graph:
    """Return the axioms that pySHACL's inoculation copies from the ontology into data graphs."""
    ontology = Graph().parse(ONTOLOGY_FILE, format="turtle")
    axioms = Graph()
    # pySHACL 0.40 types the target as its DataGraph, but inoculate only binds prefixes and
    # adds triples, which an rdflib Graph does the same way.
    inoculate(axioms, ontology)  # type: ignore[arg-type]
    return axioms
