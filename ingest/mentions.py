"""Find the entities that a piece of text names, by their labels.

"An extension of GSM8K that requires planning" names the benchmark labelled GSM8K. Labels are
matched as whole token sequences, case-sensitively, so "math" in a description does not name
the benchmark MATH. The index maps each label's first token to the labels that start with it,
so a text is scanned once whatever the number of labels.

The notes built in a run are linked here. The stored graphs of notes that the run did not read
are linked again in ingest/relink.py when the run adds or removes labels.
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


# A label as the index matches it: its tokens and the IRI of the entity it names.
LabelKey = tuple[tuple[str, ...], str]


def tokens(text: str) -> list[str]:
    """Split text into the tokens that labels are matched on."""
    return TOKEN.findall(text)


def label_key(iri: str, label: str) -> LabelKey | None:
    """Return the key that indexes a label, or None for a label shorter than MIN_LABEL_LENGTH."""
    words = tuple(tokens(label))
    if len(label.strip()) < MIN_LABEL_LENGTH or not words:
        return None
    return words, iri


def label_first_token(label: str) -> str:
    """Return the first token of a label as the index keys it, or "" for a label it skips."""
    key = label_key("", label)
    return key[0][0] if key is not None else ""


class LabelIndex:
    """Entity labels indexed by their first token and then by their token count.

    A text is matched at each token against the labels that start with it, one lookup per
    label length, because many labels can share a first word ("Score", "Accuracy").
    """

    def __init__(self) -> None:
        self._by_first: dict[str, dict[int, dict[tuple[str, ...], list[str]]]] = defaultdict(dict)
        self.keys: set[LabelKey] = set()

    def add(self, iri: str, label: str) -> None:
        """Index one label of an entity; labels shorter than MIN_LABEL_LENGTH are skipped."""
        key = label_key(iri, label)
        if key is not None:
            self.add_key(key)

    def add_key(self, key: LabelKey) -> None:
        """Index a label key that label_key returned."""
        if key not in self.keys:
            self.keys.add(key)
            words, iri = key
            by_length = self._by_first[words[0]]
            by_length.setdefault(len(words), {}).setdefault(words, []).append(iri)

    def add_all(self, labels: Iterable[tuple[str, str]]) -> None:
        """Index (IRI, label) pairs."""
        for iri, label in labels:
            self.add(iri, label)

    def named_in(self, text: str) -> set[str]:
        """Return the IRIs of the entities whose label occurs in the text as whole tokens."""
        words = tokens(text)
        found: set[str] = set()
        for start, word in enumerate(words):
            by_length = self._by_first.get(word)
            if by_length is None:
                continue
            for length, labels in by_length.items():
                iris = labels.get(tuple(words[start : start + length]))
                if iris is not None:
                    found.update(iris)
        return found


MENTIONS = "https://notekg.example/ontology#mentions"


class PendingMentions:
    """The descriptive texts of the notes built in one run, waiting for the full label index.

    Mentions are linked once every note of the run is built, so a note can name entities of
    notes read after it.
    """

    def __init__(self) -> None:
        self._graphs: list[NewGraph] = []

    def add(self, graph: NewGraph, texts: list[tuple[str, str]]) -> None:
        """Keep a note's facts graph with its (subject IRI, text) pairs and their tokens."""
        graph.mention_texts = texts
        graph.mention_tokens = {token for _, text in texts for token in tokens(text)}
        self._graphs.append(graph)

    def tokens(self) -> set[str]:
        """Return the tokens of the texts of every waiting graph."""
        return {token for graph in self._graphs for token in graph.mention_tokens}

    def link(self, index: LabelIndex) -> dict[str, int]:
        """Append ``nk:mentions`` triples to each waiting graph; return the count per source."""
        added: dict[str, int] = {}
        for graph in self._graphs:
            lines = mention_lines(graph.graph_iri, graph.mention_texts, index)
            graph.mention_count = len(lines)
            if lines:
                graph.nquads += b"".join(lines)
                graph.triple_count += len(lines)
                added[graph.source] = added.get(graph.source, 0) + len(lines)
        return added


def mention_lines(graph_iri: str, texts: list[tuple[str, str]], index: LabelIndex) -> list[bytes]:
    """Return the sorted N-Quads lines that link each text's subject to the entities it names."""
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
