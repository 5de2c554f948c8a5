"""An in-memory index of labels, alternative names, descriptions and keywords, for search.

Scanning every literal with SPARQL ``CONTAINS`` took about half a second per search at a
million triples (docs/benchmarks.md). The index is built once per store generation, through
the engine's query interface, and searches look up dictionaries and sorted lists.

Ranks: 0 when a label or alternative name equals the search text, 1 when one starts with it,
2 when a label, alternative name, description or keyword has a word starting with each search
word. The caller passes keywords with the descriptions.
Text is compared in lower case.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from service.engine import QueryEngine

logger = logging.getLogger(__name__)

# A word with the "#" and "+" that end names such as C#, F# and C++, so that a search for C#
# does not match every word that starts with "c".
WORD = re.compile(r"\w+[#+]*")

# Prefix matches past this many are not ranked; a one-letter search must not sort the index.
MAX_PREFIX_MATCHES = 5_000


def search_words(text: str) -> list[str]:
    """Return the lower-case words of a search text, as the index splits names into words."""
    return WORD.findall(text.lower())


@dataclass
class SearchIndex:
    """Lower-cased names and words of one generation, with the preferred label of each IRI.

    ``add`` collects IRIs in lists, and ``seal`` turns each list into a tuple without repeats.
    All the structures share one string object per IRI. Sets and a copy of the IRI per entry
    made up most of the memory of an earlier index: 127 MiB at 10,000 pages.
    """

    exact: dict[str, tuple[str, ...]] = field(default_factory=dict)
    names: list[tuple[str, str]] = field(default_factory=list)
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sorted_words: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    # What ``add`` collects until ``seal``: each IRI once, and the IRIs of each name and word.
    _iris: dict[str, str] = field(default_factory=dict)
    _exact_lists: dict[str, list[str]] = field(default_factory=dict)
    _word_lists: dict[str, list[str]] = field(default_factory=dict)

    def add(self, iri: str, text: str, *, is_name: bool, is_label: bool) -> None:
        """Index one literal of a resource."""
        iri = self._iris.setdefault(iri, iri)
        lower = text.lower()
        if is_name:
            _append(self._exact_lists, lower, iri)
            self.names.append((lower, iri))
        if is_label and iri not in self.labels:
            self.labels[iri] = text
        for word in WORD.findall(lower):
            _append(self._word_lists, word, iri)

    def seal(self) -> None:
        """Sort the names and words for prefix look-ups; call once after the last add."""
        self.names.sort()
        self.exact = {text: tuple(dict.fromkeys(iris)) for text, iris in self._exact_lists.items()}
        self.words = {word: tuple(dict.fromkeys(iris)) for word, iris in self._word_lists.items()}
        self.sorted_words = sorted(self.words)
        self._iris, self._exact_lists, self._word_lists = {}, {}, {}

    def find(self, phrase: str, words: list[str]) -> list[tuple[str, int]]:
        """Return (IRI, rank) of every match, best rank first, then by label and IRI."""
        ranks: dict[str, int] = {}
        for iri in self.exact.get(phrase, ()):
            ranks[iri] = 0
        for iri in self._name_prefix_matches(phrase):
            ranks.setdefault(iri, 1)
        for iri in self._word_matches(words):
            ranks.setdefault(iri, 2)

        return sorted(ranks.items(), key=lambda item: (item[1], self._sort_label(item[0]), item[0]))

    def _name_prefix_matches(self, phrase: str) -> list[str]:
        start = bisect.bisect_left(self.names, (phrase, ""))
        found = []
        for lower, iri in self.names[start : start + MAX_PREFIX_MATCHES]:
            if not lower.startswith(phrase):
                break
            found.append(iri)
        return found

    def _word_matches(self, words: list[str]) -> set[str]:
        matches: set[str] | None = None
        for word in words:
            with_word = self._iris_with_word_prefix(word)
            matches = with_word if matches is None else matches & with_word
            if not matches:
                return set()
        return matches or set()

    def _iris_with_word_prefix(self, prefix: str) -> set[str]:
        start = bisect.bisect_left(self.sorted_words, prefix)
        found: set[str] = set()
        for word in self.sorted_words[start:]:
            if not word.startswith(prefix):
                break
            found.update(self.words[word])
        return found

    def _sort_label(self, iri: str) -> str:
        return self.labels.get(iri, iri.rsplit("/", 1)[-1]).lower()


def build_index(
    engine: QueryEngine,
    label_properties: Iterable[str],
    name_properties: Iterable[str],
    description_properties: Iterable[str],
) -> SearchIndex:
    """Read the searched literals of the engine's graph into a new index.

    Each property has a query of its own, ``label_properties`` first and in their order, so
    that an IRI's label is the literal of its highest-ranked label property. One result at a
    time is then in memory, where one query for all of them held about 200 MiB of rows at
    10,000 pages.
    """
    started = time.perf_counter()
    labels = list(label_properties)
    names = set(labels) | set(name_properties)
    searched = [*labels, *sorted(set(name_properties) - set(labels)), *description_properties]

    index = SearchIndex()
    literals = 0
    for prop in dict.fromkeys(searched):
        query = f"SELECT ?s ?o WHERE {{ ?s <{prop}> ?o FILTER(isIRI(?s) && isLiteral(?o)) }}"
        # The index needs every row, so the row limit is the whole graph.
        result = engine.query(query, timeout=600.0, max_rows=max(engine.triple_count, 1))
        is_name = prop in names
        is_label = prop in labels
        for subject, text in result.rows:
            index.add(_text(subject), _text(text), is_name=is_name, is_label=is_label)
        literals += len(result.rows)
        del result
    index.seal()

    logger.info(
        "built the search index of generation %s: %s literals in %.2f s",
        engine.generation,
        literals,
        time.perf_counter() - started,
    )
    return index


def _append(index: dict[str, list[str]], key: str, iri: str) -> None:
    """Add ``iri`` to the list of ``key``, unless it was the last one added."""
    iris = index.setdefault(key, [])
    if not iris or iris[-1] is not iri:
        iris.append(iri)


def _text(term: object) -> str:
    return term.value if isinstance(term, ox.NamedNode | ox.Literal) else ""


class SearchIndexCache:
    """Keeps the index of the newest generation, built on first use by one thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._index: SearchIndex | None = None

    def get(self, engine: QueryEngine, build: Callable[[QueryEngine], SearchIndex]) -> SearchIndex:
        """Return the index of the engine's generation, building it when it changed."""
        with self._lock:
            if self._index is None or self._generation != engine.generation:
                self._index = build(engine)
                self._generation = engine.generation
            return self._index
