"""Stable IRIs for the things notes describe.

An entity's IRI is the base IRI, the kind of thing and a slug of its canonical label:
``https://notekg.example/id/benchmark/mmlu``. Nothing positional or random goes in, so the
same notes always give the same IRIs. Two different labels whose slugs collide within a kind
are distinguished by a numeric suffix, and the collision is reported once. The label minted
first keeps the plain slug, so with a collision the IRIs depend on the order of the calls.
The ingest reads the notes of a folder in sorted path order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from rdflib import URIRef
from slugify import slugify

from ingest.problems import Problem

ONTOLOGY_NAMESPACE = "https://notekg.example/ontology#"
KEY_NAMESPACE = "https://notekg.example/ontology/key#"


def make_slug(text: str) -> str:
    """Return a lowercase ASCII slug of ``text``; text with no letters or digits gets a hash."""
    slug = slugify(text, replacements=[["'", ""], ["’", ""]], max_length=80, word_boundary=True)
    if slug:
        return slug
    return "h-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass
class IriMinter:
    """Mints entity IRIs under one base IRI and remembers which label owns which slug."""

    base_iri: str
    _owners: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def entity(
        self,
        kind: str,
        label: str,
        *,
        explicit_id: str | None = None,
        where: tuple[str, int] = ("", 0),
    ) -> URIRef:
        """Return the IRI of the entity of ``kind`` labelled ``label``.

        ``explicit_id`` (an ``id:`` from the note or the mapping) wins over the label's slug.
        The same kind and label always give the same IRI.
        """
        slug = make_slug(explicit_id) if explicit_id else make_slug(label)
        key = (kind, slug)
        owner = self._owners.setdefault(key, label)
        if owner.casefold() != label.casefold() and not explicit_id:
            slug = self._disambiguate(kind, slug, label, where)
        return URIRef(f"{self.base_iri}{kind}/{slug}")

    def path(self, *segments: str) -> URIRef:
        """Return the IRI ``base/segment/segment…`` for structural resources such as notes."""
        return URIRef(self.base_iri + "/".join(segments))

    def _disambiguate(self, kind: str, slug: str, label: str, where: tuple[str, int]) -> str:
        number = 2
        while True:
            candidate = f"{slug}-{number}"
            owner = self._owners.get((kind, candidate))
            if owner is not None and owner.casefold() == label.casefold():
                return candidate
            if owner is None:
                self._owners[(kind, candidate)] = label
                break
            number += 1

        first = self._owners[(kind, slug)]
        self.problems.append(
            Problem(
                where[0],
                where[1],
                f"{kind} {label!r} and {first!r} have the same IRI slug {slug!r}; "
                f"{label!r} gets {candidate!r}. Give one of them an explicit id to choose.",
            )
        )
        return candidate
