"""Stable IRIs for the things notes describe.

An entity's IRI is the base IRI, the kind of thing and a slug of its canonical label:
``https://notekg.example/id/benchmark/mmlu``. Nothing positional or random goes in, so the
same notes always give the same IRIs. Two different labels whose slugs collide within a kind
are distinguished by a numeric suffix, and the collision is reported once. The label minted
first keeps the plain slug, so with a collision the IRIs depend on the order of the calls.
The ingest reads the notes of a folder in sorted path order.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field

from rdflib import URIRef
from slugify import slugify

from ingest.problems import Problem

ONTOLOGY_NAMESPACE = "https://notekg.example/ontology#"
KEY_NAMESPACE = "https://notekg.example/ontology/key#"


MAX_SLUG_LENGTH = 80
# Words of ASCII letters and digits joined by single spaces or hyphens. python-slugify turns
# such text into its lowercase words joined by hyphens. make_slug does that without it, in
# 0.4 µs against 4.3 µs for a note path with python-slugify 9.2. tests/test_iris.py compares
# the two on generated text.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)*")


# An ingest slugs every note's path and every entity label, and labels recur across notes.
@functools.lru_cache(maxsize=65_536)
def make_slug(text: str) -> str:
    """Return a lowercase ASCII slug of ``text``; text with no letters or digits gets a hash."""
    if len(text) <= MAX_SLUG_LENGTH and _PLAIN_TEXT.fullmatch(text):
        return text.lower().replace(" ", "-")

    slug = slugify(
        text, replacements=[["'", ""], ["’", ""]], max_length=MAX_SLUG_LENGTH, word_boundary=True
    )
    if slug:
        return slug
    return "h-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def note_id(value: object) -> str | None:
    """Return the text of a front matter ``id`` that can name a note, or None.

    A number counts as its digits (``id: 42``). An id must have a letter or digit, so that its
    slug comes from it: a blank id, ``"!!!"``, a list or a mapping names no note.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not any(character.isalnum() for character in value):
        return None
    return value.strip()


def key_name(key: str) -> str:
    """Return the local name of the generated ``key:`` property of a key: its slug.

    A slug that starts with a digit gets "_" before it ("_2024-03-02"), because RDF/XML writes
    a property as an XML element, whose name cannot start with a digit. Slugs have no "_", so
    no other key gets that name.
    """
    slug = make_slug(key)
    return "_" + slug if slug[:1].isdigit() else slug


def note_slug(note_key: str) -> str:
    """Return the slug that names a note's IRIs: its path in the notes folder, no extension."""
    folder, _, name = note_key.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return make_slug(f"{folder} {stem}".strip().replace("/", " "))


@dataclass
class IriMinter:
    """Mints entity IRIs under one base IRI and remembers which label owns which slug."""

    base_iri: str
    _owners: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # (kind, slug, label) of each label whose id gave it another label's IRI, once reported.
    _joined: dict[tuple[str, str, str], None] = field(default_factory=dict)

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
        The same kind and label always give the same IRI. A label whose id has the slug of
        another label gets that label's IRI, with a warning, because the two are then one
        entity.
        """
        slug = make_slug(explicit_id) if explicit_id else make_slug(label)
        key = (kind, slug)
        owner = self._owners.setdefault(key, label)
        if owner.casefold() != label.casefold():
            if explicit_id:
                self._report_joined(kind, slug, label, owner, where)
            else:
                slug = self._disambiguate(kind, slug, label, where)
        return URIRef(f"{self.base_iri}{kind}/{slug}")

    def _report_joined(
        self, kind: str, slug: str, label: str, owner: str, where: tuple[str, int]
    ) -> None:
        if (kind, slug, label) in self._joined:
            return
        self._joined[(kind, slug, label)] = None
        self.problems.append(
            Problem(
                where[0],
                where[1],
                f"{kind} {label!r} has an id with the slug {slug!r}, which {owner!r} has too, so "
                f"they are one entity, {self.base_iri}{kind}/{slug}. If they are different "
                "things, give them different ids (a table rule's id can include {label}).",
            )
        )

    def checkpoint(self) -> tuple[int, int, int]:
        """Return a mark of the slugs and problems recorded so far, for ``rollback``."""
        return len(self._owners), len(self.problems), len(self._joined)

    def rollback(self, mark: tuple[int, int, int]) -> None:
        """Forget the slugs and problems recorded since ``checkpoint`` returned ``mark``."""
        owners, problems, joined = mark
        # Slugs are only ever added, and dicts keep their insertion order, so the slugs
        # recorded since the mark are the last ones.
        while len(self._owners) > owners:
            self._owners.popitem()
        while len(self._joined) > joined:
            self._joined.popitem()
        del self.problems[problems:]

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
                f"{label!r} gets {candidate!r}. To choose which one gets {slug!r}, give it an id "
                "(in a note's front matter, or in the section or table rule of the mapping "
                "that makes it) or rename one.",
            )
        )
        return candidate
