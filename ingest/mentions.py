"""Find the entities that a piece of text names, by their labels.

"An extension of GSM8K that requires planning" names the benchmark labelled GSM8K. Labels are
matched as whole token sequences, case-sensitively, so "math" in a description does not name
the benchmark MATH. The index maps each label's first token to the labels that start with it,
so a text is scanned once whatever the number of labels.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from service.store import NewGraph

MIN_LABEL_LENGTH = 3

# A token is a run of letters and digits, joined by the characters that occur inside names
# such as MT-Bench, Pass@1, GPT-4.5 or Moore's.
TOKEN = re.compile(r"\w+(?:[-@'’.+]\w+)*")


def tokens(text: str) -> list[str]:
    """Split text into the tokens that labels are matched on."""
    return TOKEN.findall(text)


class LabelIndex:
    """Entity labels indexed by their first token."""

    def __init__(self) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self._seen: set[tuple[tuple[str, ...], str]] = set()

    def add(self, iri: str, label: str) -> None:
        """Index one label of an entity; labels shorter than MIN_LABEL_LENGTH are skipped."""
        words = tuple(tokens(label))
        if len(label.strip()) < MIN_LABEL_LENGTH or not words or (words, iri) in self._seen:
            return
        self._seen.add((words, iri))
        self._by_first[words[0]].append((words, iri))

    def add_all(self, labels: Iterable[tuple[str, str]]) -> None:
        """Index (IRI, label) pairs."""
        for iri, label in labels:
            self.add(iri, label)

    def named_in(self, text: str) -> set[str]:
        """Return the IRIs of the entities whose label occurs in the text as whole tokens."""
        words = tokens(text)
        found: set[str] = set()
        for start, word in enumerate(words):
            for label_words, iri in self._by_first.get(word, ()):
                if tuple(words[start : start + len(label_words)]) == label_words:
                    found.add(iri)
        return found


MENTIONS = "https://notekg.example/ontology#mentions"


class PendingMentions:
    """The descriptive texts of the notes built in one run, waiting for the full label index.

    Mentions are linked once every note of the run is built, so a note can name entities of
    notes read after it. NOTE: an unchanged note is not read again, so it gains no mentions of
    entities that appear later until it changes itself.
    """

    def __init__(self) -> None:
        self._notes: list[tuple[NewGraph, list[tuple[str, str]]]] = []

    def __len__(self) -> int:
        return len(self._notes)

    def add(self, graph: NewGraph, texts: list[tuple[str, str]]) -> None:
        """Remember a note's facts graph and its (subject IRI, text) pairs."""
        self._notes.append((graph, texts))

    def link(self, index: LabelIndex) -> dict[str, int]:
        """Append ``nk:mentions`` triples to each waiting graph; return the count per source."""
        added: dict[str, int] = {}
        for graph, texts in self._notes:
            lines = _mention_lines(graph.graph_iri, texts, index)
            if lines:
                graph.nquads += b"".join(lines)
                graph.triple_count += len(lines)
                added[graph.source] = added.get(graph.source, 0) + len(lines)
        return added


def _mention_lines(graph_iri: str, texts: list[tuple[str, str]], index: LabelIndex) -> list[bytes]:
    pairs = {
        (subject, target)
        for subject, text in texts
        for target in index.named_in(text)
        if target != subject
    }
    return [
        f"<{subject}> <{MENTIONS}> <{target}> <{graph_iri}> .\n".encode()
        for subject, target in sorted(pairs)
    ]
