"""Keep old IRIs working when a heading is renamed.

Section IRIs come from heading slugs, so renaming a heading changes them. When a changed note
is ingested again, each stored section whose IRI is gone is matched with the section at the
same position whose IRI is new. The new section, and the entity it stands for, then get
``dcterms:replaces`` with the old IRI, and the service redirects the old IRI to the new one.
Links recorded by earlier runs are carried over as long as their new IRI exists.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Graph, URIRef

from ingest.vocab import DCTERMS, NK, RDF

_POSITION = ox.NamedNode(str(NK.position))
_SUBJECT = ox.NamedNode(str(DCTERMS.subject))
_REPLACES = ox.NamedNode(str(DCTERMS.replaces))


def add_rename_aliases(previous_nquads: bytes, facts: Graph) -> int:
    """Add ``dcterms:replaces`` links from renamed resources to their old IRIs; return how many."""
    previous = list(ox.parse(previous_nquads, format=ox.RdfFormat.N_QUADS))
    old_positions = _positions(previous)
    old_subjects = {
        _value(quad.subject): _value(quad.object) for quad in previous if quad.predicate == _SUBJECT
    }
    old_iris = {_value(quad.subject) for quad in previous}
    new_iris = {str(subject) for subject in facts.subjects()}

    renamed = _renamed_sections(old_positions, _new_positions(facts), old_iris, new_iris)
    for old_section, new_section in list(renamed.items()):
        old_entity = old_subjects.get(old_section)
        new_entity = facts.value(URIRef(new_section), DCTERMS.subject)
        if old_entity and new_entity is not None and old_entity not in new_iris:
            renamed[old_entity] = str(new_entity)

    links = _carried_links(previous, renamed, new_iris)
    links.update((new, old) for old, new in renamed.items())
    for new, old in links:
        facts.add((URIRef(new), DCTERMS.replaces, URIRef(old)))
    return len(links)


def _positions(quads: list[ox.Quad]) -> dict[int, str]:
    return {
        int(_value(quad.object)): _value(quad.subject)
        for quad in quads
        if quad.predicate == _POSITION
    }


def _value(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
    """Return the IRI, blank node id or lexical form of a term; quoted triples give ''."""
    return "" if isinstance(term, ox.Triple) else term.value


def _new_positions(facts: Graph) -> dict[int, str]:
    return {
        int(position): str(section)  # type: ignore[call-overload]
        for section, position in facts.subject_objects(NK.position)
        if (section, RDF.type, NK.Section) in facts
    }


def _renamed_sections(
    old: dict[int, str], new: dict[int, str], old_iris: set[str], new_iris: set[str]
) -> dict[str, str]:
    """Pair each vanished section with the section that newly appeared at its position."""
    renamed = {}
    for position, old_section in old.items():
        new_section = new.get(position)
        if old_section in new_iris or new_section is None or new_section in old_iris:
            continue
        renamed[old_section] = new_section
    return renamed


def _carried_links(
    previous: list[ox.Quad], renamed: dict[str, str], new_iris: set[str]
) -> set[tuple[str, str]]:
    """Return the earlier (new IRI, old IRI) links whose new IRI still exists or was renamed.

    A heading renamed back to an earlier name gets its old IRI again, and a link from that IRI
    to itself is left out.
    """
    links = set()
    for quad in previous:
        if quad.predicate != _REPLACES:
            continue
        subject = _value(quad.subject)
        current = renamed.get(subject, subject)
        old = _value(quad.object)
        if current in new_iris and current != old:
            links.add((current, old))
    return links
