"""Check a note's graph against the SHACL shapes and report each violation at its source line."""

from __future__ import annotations

import functools
import logging

from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from ingest.problems import Problem
from ingest.vocab import NK
from ontology import ONTOLOGY_FILE, SHAPES_FILE

logger = logging.getLogger(__name__)


def shacl_problems(facts: Graph, provenance: Graph, display_path: str) -> list[Problem]:
    """Validate the union of a note's facts and provenance; return one warning per violation.

    Each warning carries the first source line of the focus node, so it reads as
    ``note.txt:LINE: message`` like every other problem.
    """
    data = facts + provenance
    conforms, report, _ = validate(
        data,
        shacl_graph=_load_shapes(),
        ont_graph=_load_ontology(),
        inference="none",
        allow_warnings=True,
    )
    if conforms:
        return []

    return [
        Problem(display_path, _line_of(provenance, focus), f"{_label(facts, focus)}: {message}")
        for focus, message in _violations(report)
    ]


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
def _load_ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")
