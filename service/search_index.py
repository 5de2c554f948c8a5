"""The index of labels, alternative names, descriptions and keywords, for search.

Scanning every literal with SPARQL ``CONTAINS`` took about half a second per search at a
million triples (docs/benchmarks.md). The index is built once per store generation and
searches look up dictionaries and sorted lists (``SearchIndex``). A generation on the engine's
files keeps its index in an SQLite file in the generation's folder instead
(``SearchIndexFile``): the first search of any server process writes it, in a process forked
for it, and every server process reads it from then on. An index in memory took about 100 MiB
of each server process at 10,000 pages, and 2.5 s in each of them to build.

Ranks: 0 when a label or alternative name equals the search text, 1 when one starts with it,
2 when a label, alternative name, description or keyword has a word starting with each search
word. The caller passes keywords with the descriptions.
Text is compared in lower case.
"""

from __future__ import annotations

import bisect
import fcntl
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import pyoxigraph as ox

from service.engine import QueryEngine
from service.natural_order import natural_key
from service.query_processes import run_forked

logger = logging.getLogger(__name__)

_Key = TypeVar("_Key")

# A word with the "#" and "+" that end names such as C#, F# and C++, so that a search for C#
# does not match every word that starts with "c".
WORD = re.compile(r"\w+[#+]*")

# Prefix matches past this many are not ranked; a one-letter search must not sort the index.
MAX_PREFIX_MATCHES = 5_000
# The maximum seconds that writing an index file may take. At 10,000 pages it took about 4 s.
FILE_BUILD_SECONDS = 600.0


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
        ranks = _ranks(
            self.exact.get(phrase, ()),
            self._name_prefix_matches(phrase),
            _with_every_word(words, self._iris_with_word_prefix),
        )
        return sorted(ranks.items(), key=lambda item: (item[1], self._sort_label(item[0]), item[0]))

    def _name_prefix_matches(self, phrase: str) -> list[str]:
        start = bisect.bisect_left(self.names, (phrase, ""))
        found = []
        for lower, iri in self.names[start : start + MAX_PREFIX_MATCHES]:
            if not lower.startswith(phrase):
                break
            found.append(iri)
        return found

    def _iris_with_word_prefix(self, prefix: str) -> set[str]:
        start = bisect.bisect_left(self.sorted_words, prefix)
        found: set[str] = set()
        for word in self.sorted_words[start:]:
            if not word.startswith(prefix):
                break
            found.update(self.words[word])
        return found

    def labels_of(self, iris: Iterable[str]) -> dict[str, str]:
        """Return the label of each of the IRIs that has one."""
        return {iri: self.labels[iri] for iri in iris if iri in self.labels}

    def _sort_label(self, iri: str) -> str:
        return _sort_key(self.labels.get(iri), iri)


class Index(Protocol):
    """The interface of a search index, in memory or in a file."""

    def find(self, phrase: str, words: list[str]) -> list[tuple[str, int]]: ...

    def labels_of(self, iris: Iterable[str]) -> dict[str, str]: ...


def _ranks(
    exact: Iterable[_Key], prefixed: Iterable[_Key], worded: Iterable[_Key]
) -> dict[_Key, int]:
    """Return the rank of each match: 0 for an equal name, 1 for a name prefix, 2 for words."""
    ranks = dict.fromkeys(exact, 0)
    for key in prefixed:
        ranks.setdefault(key, 1)
    for key in worded:
        ranks.setdefault(key, 2)
    return ranks


def _with_every_word(words: list[str], with_prefix: Callable[[str], set[_Key]]) -> set[_Key]:
    """Return what has a word starting with each of ``words``, from each word's matches."""
    matches: set[_Key] | None = None
    for word in words:
        with_word = with_prefix(word)
        matches = with_word if matches is None else matches & with_word
        if not matches:
            return set()
    return matches or set()


def _sort_key(label: str | None, iri: str) -> str:
    """Return what matches of one rank are ordered by: the label, else the IRI's last segment.

    The index files keep the key in a column, by which SQLite orders the matches.
    """
    return natural_key(label if label is not None else iri.rsplit("/", 1)[-1])


def build_index(
    engine: QueryEngine,
    label_properties: Iterable[str],
    name_properties: Iterable[str],
    description_properties: Iterable[str],
) -> SearchIndex:
    """Read the searched literals of the engine's graph into a new index."""

    def rows(query: str) -> Iterable[Sequence[object]]:
        # The index needs every row, so the row limit is the whole graph.
        return engine.query(query, timeout=600.0, max_rows=max(engine.triple_count, 1)).rows

    return _read_index(
        rows, engine.generation, label_properties, name_properties, description_properties
    )


def _read_index(
    rows: Callable[[str], Iterable[Sequence[object]]],
    generation: int,
    label_properties: Iterable[str],
    name_properties: Iterable[str],
    description_properties: Iterable[str],
) -> SearchIndex:
    """Read the searched literals into a new index, with ``rows`` running each query.

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
        is_name = prop in names
        is_label = prop in labels
        for subject, text in rows(query):
            index.add(_text(subject), _text(text), is_name=is_name, is_label=is_label)
            literals += 1
    index.seal()

    logger.info(
        "built the search index of generation %s: %s literals in %.2f s",
        generation,
        literals,
        time.perf_counter() - started,
    )
    return index


# The tables of an index file. The IDs of the IRIs follow the order of the IRIs, so that the
# names ordered by (name, iri_id) are in the order of SearchIndex.names.
_SCHEMA = """
CREATE TABLE iris (id INTEGER PRIMARY KEY, iri TEXT NOT NULL, label TEXT, sort_key TEXT NOT NULL);
CREATE UNIQUE INDEX iris_by_iri ON iris (iri);
CREATE TABLE names (name TEXT NOT NULL, iri_id INTEGER NOT NULL);
CREATE INDEX names_by_name ON names (name, iri_id);
CREATE TABLE words (word TEXT NOT NULL, iri_id INTEGER NOT NULL, PRIMARY KEY (word, iri_id))
    WITHOUT ROWID;
"""


def write_index_file(index: SearchIndex, path: Path) -> None:
    """Write a sealed index into a new SQLite file at ``path``."""
    iris = sorted(
        {iri for _, iri in index.names}
        | {iri for found in index.words.values() for iri in found}
        | set(index.labels)
    )
    ids = {iri: number for number, iri in enumerate(iris, start=1)}
    connection = sqlite3.connect(path)
    try:
        connection.executescript(_SCHEMA)
        with connection:
            connection.executemany(
                "INSERT INTO iris VALUES (?, ?, ?, ?)",
                (
                    (ids[iri], iri, index.labels.get(iri), _sort_key(index.labels.get(iri), iri))
                    for iri in iris
                ),
            )
            connection.executemany(
                "INSERT INTO names VALUES (?, ?)", ((name, ids[iri]) for name, iri in index.names)
            )
            connection.executemany(
                "INSERT INTO words VALUES (?, ?)",
                ((word, ids[iri]) for word, found in index.words.items() for iri in found),
            )
    finally:
        connection.close()


class SearchIndexFile:
    """A search index in an SQLite file, which gives the same matches as its SearchIndex.

    Each look-up opens a connection of its own and closes it, in about 0.1 ms. Connections
    kept open would keep the file of an old generation open after its folder is removed, also
    in the query processes that a server process forks.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def find(self, phrase: str, words: list[str]) -> list[tuple[str, int]]:
        """Return (IRI, rank) of every match, best rank first, then by label and IRI."""
        with self._connection() as database:
            return self._find(database, phrase, words)

    def labels_of(self, iris: Iterable[str]) -> dict[str, str]:
        """Return the label of each of the IRIs that has one."""
        with self._connection() as database:
            found = database.execute(
                "SELECT iri, label FROM iris WHERE iri IN (SELECT value FROM json_each(?)) "
                "AND label IS NOT NULL",
                (json.dumps(list(iris)),),
            )
            return dict(found)

    def _find(
        self, database: sqlite3.Connection, phrase: str, words: list[str]
    ) -> list[tuple[str, int]]:
        equal = database.execute("SELECT iri_id FROM names WHERE name = ?", (phrase,))
        prefixed = database.execute(
            "SELECT name, iri_id FROM names WHERE name >= ? ORDER BY name, iri_id LIMIT ?",
            (phrase, MAX_PREFIX_MATCHES),
        )
        ranks = _ranks(
            (iri_id for (iri_id,) in equal),
            _starting_with(phrase, prefixed),
            _with_every_word(words, lambda word: _ids_with_word_prefix(database, word)),
        )
        if not ranks:
            return []

        found = database.execute(
            "SELECT id, iri FROM iris WHERE id IN (SELECT value FROM json_each(?)) "
            "ORDER BY sort_key, iri",
            (json.dumps(list(ranks)),),
        )
        return sorted(((iri, ranks[iri_id]) for iri_id, iri in found), key=lambda item: item[1])

    def _connection(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True))


def _ids_with_word_prefix(database: sqlite3.Connection, prefix: str) -> set[int]:
    rows = database.execute(
        "SELECT word, iri_id FROM words WHERE word >= ? ORDER BY word", (prefix,)
    )
    return set(_starting_with(prefix, rows))


def _starting_with(prefix: str, rows: Iterable[tuple[str, int]]) -> Iterator[int]:
    """Yield the IRI IDs of rows in text order, up to the first text without the prefix."""
    for text, iri_id in rows:
        if not text.startswith(prefix):
            return
        yield iri_id


def index_file(
    engine: QueryEngine,
    path: Path,
    label_properties: Sequence[str],
    name_properties: Sequence[str],
    description_properties: Sequence[str],
) -> SearchIndexFile:
    """Return the index file at ``path``, written first if no server process wrote it yet.

    The index is built in a process forked for it, so that the memory of building it goes
    with that process. Raises OSError when the file cannot be written.
    """
    if not path.exists():
        with open(path.with_name(f".{path.name}.lock"), "wb") as lock:
            # One server process writes the file, and the others wait for it.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                _write_in_child(
                    engine, path, label_properties, name_properties, description_properties
                )
    return SearchIndexFile(path)


def _write_in_child(
    engine: QueryEngine,
    path: Path,
    label_properties: Sequence[str],
    name_properties: Sequence[str],
    description_properties: Sequence[str],
) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)

    def write() -> None:
        index = _read_index(
            engine.rows_here,
            engine.generation,
            label_properties,
            name_properties,
            description_properties,
        )
        write_index_file(index, partial)

    try:
        run_forked(write, FILE_BUILD_SECONDS)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("wrote the search index %s", path)


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
        self._version: str | None = None
        self._index: Index | None = None

    def get(self, engine: QueryEngine, build: Callable[[QueryEngine], Index]) -> Index:
        """Return the index of the engine's generation, building it when it changed."""
        with self._lock:
            if self._index is None or self._version != engine.version:
                self._index = build(engine)
                self._version = engine.version
            return self._index
