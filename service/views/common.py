"""Helpers that every page module shares: access to the engine, labels, links and arguments.

``resource_url`` maps an IRI to the page that shows it: terms of the notekg ontology to
their entry on /ontology, IRIs under the base IRI to ``/id/…`` and other IRIs to
``/resource?iri=…``.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox
from flask import abort, current_app, request, url_for
from werkzeug.routing import Map

from service import page_queries as queries
from service.engine import OxigraphEngine, QueryResult, Term
from service.settings import ServiceConfig

logger = logging.getLogger(__name__)

VOCABULARY_EXTENSION = "notekg.vocabulary"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Link:
    """A resource shown by its label and linked to its page; a blank node has no URL."""

    iri: str
    label: str
    url: str | None
    title: str | None = None


@dataclass(frozen=True)
class Pager:
    """The page number of a list, and the URLs of the pages before and after it.

    ``page_order`` is the sentence under the pager when the pages are not in label order.
    """

    page: int = 1
    previous_url: str | None = None
    next_url: str | None = None
    page_order: str = ""
    # The number of the last page, when ``page`` is past it.
    last_page: int | None = None

    @classmethod
    def of(
        cls,
        page_url: Callable[[int], str],
        page: int,
        has_next: bool,
        page_order: str = "",
        *,
        total: int | None = None,
        page_size: int = 0,
    ) -> Pager:
        """Return the pager of ``page``, with the URLs that ``page_url`` gives for a number.

        With the list's ``total`` and ``page_size``, a page past the last one links back to
        the last page, which the pager names.
        """
        last = max(1, -(-total // page_size)) if total is not None and page_size else None
        if last is not None and page > last:
            return cls(page, page_url(last), None, page_order, last)
        previous_url = page_url(page - 1) if page > 1 else None
        next_url = page_url(page + 1) if has_next else None
        return cls(page, previous_url, next_url, page_order)

    @property
    def spans_pages(self) -> bool:
        """Return whether the list has a page before or after this one."""
        return self.previous_url is not None or self.next_url is not None


@dataclass
class Vocabulary:
    """Labels and comments of the terms that ontology/notekg.ttl declares."""

    labels: dict[str, str] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)


# Vocabulary


def vocabulary_path() -> Path | None:
    try:
        path = Path(str(resources.files("ontology").joinpath("notekg.ttl")))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def load_vocabulary(path: Path | None) -> Vocabulary:
    """Read the rdfs:label and rdfs:comment of each term in a Turtle file, preferring English."""
    vocabulary = Vocabulary()
    if path is None:
        logger.warning("ontology/notekg.ttl not found; pages label terms by their local names")
        return vocabulary

    for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
        if not isinstance(triple.object, ox.Literal):
            continue
        if triple.predicate.value == queries.RDFS_LABEL:
            _keep_english(vocabulary.labels, triple.subject.value, triple.object)
        elif triple.predicate.value == RDFS_COMMENT:
            _keep_english(vocabulary.comments, triple.subject.value, triple.object)

    logger.info("loaded labels of %s terms from %s", len(vocabulary.labels), path)
    return vocabulary


def _keep_english(texts: dict[str, str], iri: str, literal: ox.Literal) -> None:
    if iri not in texts or literal.language in (None, "en"):
        texts[iri] = literal.value


def loaded_vocabulary() -> Vocabulary:
    """Return the vocabulary that the pages blueprint loaded when the app was created."""
    return current_app.extensions.get(VOCABULARY_EXTENSION) or Vocabulary()


# Access to the engine


def service_config() -> ServiceConfig:
    return current_app.extensions["notekg.config"]  # type: ignore[no-any-return]


def query_engine() -> OxigraphEngine:
    return current_app.extensions["notekg"].engine()  # type: ignore[no-any-return]


def select_rows(
    sparql: str, *, anchored: bool = False, every_row: bool = False
) -> list[dict[str, Term]]:
    """Run one of the service's SELECT queries; see QueryEngine.query for ``anchored``.

    The rows stop at the service's row limit, unless ``every_row`` is set. Set it only for a
    query with at most one row per triple of the graph, such as the list of every note that
    the notes index sorts before it picks a page.
    """
    return _query(sparql, anchored, every_row).bindings()


def ask(sparql: str, *, anchored: bool = False) -> bool:
    return bool(_query(sparql, anchored).boolean)


def construct_triples(sparql: str, *, anchored: bool = False) -> list[ox.Triple]:
    return _query(sparql, anchored).triples


def _query(sparql: str, anchored: bool, every_row: bool = False) -> QueryResult:
    config = service_config()
    engine = query_engine()
    max_rows = max(config.max_rows, engine.triple_count) if every_row else config.max_rows
    return engine.query(sparql, timeout=config.query_timeout, max_rows=max_rows, anchored=anchored)


def binding_value(row: dict[str, Term], name: str) -> str | None:
    term = row.get(name)
    return None if term is None else term.value  # type: ignore[union-attr]


# Labels and links


# The url_for options that make a URL depend on more than its endpoint and values.
ABSOLUTE_URL_OPTIONS = {"_external", "_scheme", "_method"}


def page_url(endpoint: str, **values: Any) -> str:
    """Return ``url_for(endpoint, **values)``, from a cache for a URL without scheme and host.

    Such a URL depends only on the app's routes, the app's path under the server
    (SCRIPT_NAME), the endpoint and the values. Building one takes about 15 µs, and an entity
    page builds one per link.
    """
    if values.keys() & ABSOLUTE_URL_OPTIONS:
        return url_for(endpoint, **values)
    try:
        key = tuple(sorted(values.items()))
        return _built_url(current_app.url_map, request.script_root, endpoint, key)
    except TypeError:  # a value that cannot be a key, such as a list
        return url_for(endpoint, **values)


@functools.lru_cache(maxsize=4096)
def _built_url(
    routes: Map, script_root: str, endpoint: str, values: tuple[tuple[str, Any], ...]
) -> str:
    return url_for(endpoint, **dict(values))


def resource_url(iri: str) -> str:
    """Return the page URL of an IRI: the /ontology entry of a term that the notekg ontology
    declares, ``/id/…`` under the base IRI, else ``/resource?iri=``."""
    if iri.startswith(queries.NK) and iri in loaded_vocabulary().labels:
        return page_url("ontology.ontology_page", _anchor=iri[len(queries.NK) :])
    return entity_url(iri)


def entity_url(iri: str, **params: Any) -> str:
    base = service_config().base_iri
    rest = iri[len(base) :] if iri.startswith(base) else ""

    # A fragment or query cannot travel in a URL path, and Werkzeug merges repeated slashes.
    if rest and not rest.startswith("/") and not re.search(r"[#?]|//", rest):
        return page_url("pages.entity_by_path", rest=rest, **params)
    return page_url("pages.resource", iri=iri, **params)


def local_name_label(iri: str) -> str:
    """Turn the last segment of an IRI into words: ``isVariantOf`` becomes ``is variant of``."""
    name = re.split(r"[/#:]", iri.rstrip("/#"))[-1] or iri
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    words = name.replace("_", " ").split()
    return " ".join(word if word.isupper() else word.lower() for word in words) or iri


# Memos of the facts that the pages looked up about IRIs, such as their labels, by generation
# and kind. A memo lives as long as its generation's engine. A store on disk resolves each IRI
# with index lookups, so the label query of an entity page took about 0.45 ms, a fifth of the
# page, though most of its IRIs (properties, classes, metrics) recur on every page. A memo
# with more than MAX_MEMO_ENTRIES is emptied: 10,000 labels of synthetic notes take about 2 MB.
MAX_MEMO_ENTRIES = 10_000
_memos: weakref.WeakKeyDictionary[OxigraphEngine, dict[str, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)
_memos_lock = threading.Lock()

V = TypeVar("V")
K = TypeVar("K")
# The value that ``memoized`` reads for an IRI that its memo lacks.
_MISSING: Any = object()


def memoized(
    kind: str, iris: Iterable[str], look_up: Callable[[list[str]], dict[str, V]]
) -> dict[str, V]:
    """Return ``look_up``'s value of each IRI, from this generation's memo of that kind if kept.

    ``look_up`` gets the IRIs that the memo lacks and returns a value for each of them.
    """
    engine = query_engine()
    with _memos_lock:
        memo: dict[str, V] = _memos.setdefault(engine, {}).setdefault(kind, {})
    found: dict[str, V] = {}
    missing = []
    for iri in set(iris):
        # Another thread may empty the memo meanwhile, so each IRI is read once.
        value = memo.get(iri, _MISSING)
        if value is _MISSING:
            missing.append(iri)
        else:
            found[iri] = value
    if missing:
        looked_up = look_up(sorted(missing))
        found.update(looked_up)
        if len(memo) + len(looked_up) > MAX_MEMO_ENTRIES:
            memo.clear()
        memo.update(looked_up)
    return found


def fetch_labels(iris: Iterable[str]) -> dict[str, str]:
    """Return a label for each IRI: from the graph, else the vocabulary, else its local name."""
    found = memoized("labels", iris, _graph_labels)
    vocabulary = loaded_vocabulary().labels
    return {
        iri: found[iri] or vocabulary.get(iri) or local_name_label(iri) for iri in sorted(found)
    }


def _graph_labels(iris: list[str]) -> dict[str, str]:
    """Return the graph's label of each IRI, or "" for an IRI without one."""
    found = dict.fromkeys(iris, "")
    # One row per IRI and label property, so a long list of IRIs is not cut at the row limit.
    rows = select_rows(queries.labels(iris), anchored=True, every_row=True)
    rows.sort(key=lambda row: int(binding_value(row, "rank") or 0), reverse=True)
    for row in rows:
        # The rows are in falling rank, so the label of the most preferred property wins.
        found[binding_value(row, "resource") or ""] = binding_value(row, "label") or ""
    return found


# The XSD datatypes whose literals SPARQL orders as numbers.
NUMERIC_DATATYPES = frozenset(
    "http://www.w3.org/2001/XMLSchema#" + name
    for name in (
        "integer decimal float double long int short byte nonNegativeInteger "
        "positiveInteger nonPositiveInteger negativeInteger unsignedLong unsignedInt "
        "unsignedShort unsignedByte"
    ).split()
)


def value_order(term: Term, text: K) -> tuple[int, float, K]:
    """Return a sort key that puts numbers first, by value, and other values by ``text``.

    ``text`` is the sort key of the value's label or lexical form. An ill-typed number, such
    as "ten"^^xsd:integer, counts as text.
    """
    if isinstance(term, ox.Literal) and term.datatype.value in NUMERIC_DATATYPES:
        try:
            number = float(term.value)
        except ValueError:
            number = math.nan
        if not math.isnan(number):
            return (0, number, text)
    return (1, 0.0, text)


def make_link(term: Term, labels: dict[str, str]) -> Link:
    """Link a term to its page, labelled from ``labels``; blank nodes get no URL.

    A literal gets no URL either, and its text as its label.
    """
    if isinstance(term, ox.NamedNode):
        return Link(
            term.value,
            labels.get(term.value) or local_name_label(term.value),
            resource_url(term.value),
        )
    if isinstance(term, ox.Literal):
        return Link(str(term), term.value, None)
    return Link(str(term), "(unnamed resource)", None)


def format_quantity(amount: str, unit: str | None) -> str:
    """Write a quantity as people do: ``192.0`` and ``GB`` become ``192 GB``."""
    try:
        number = format(Decimal(amount).normalize(), "f")
    except InvalidOperation:
        number = amount
    return f"{number} {unit}" if unit else number


def labelled_link(term: Term, label: str | None) -> Link:
    if isinstance(term, ox.NamedNode):
        return Link(term.value, label or local_name_label(term.value), resource_url(term.value))
    return Link(str(term), label or "(unnamed resource)", None)


def class_page_link(iri: str, labels: dict[str, str]) -> Link:
    return Link(
        iri, labels.get(iri) or local_name_label(iri), page_url("pages.class_page", iri=iri)
    )


# Request arguments


def iri_argument(name: str) -> str:
    try:
        return queries.check_iri(request.args.get(name, "").strip())
    except queries.InvalidIri as error:
        abort(400, description=f"parameter {name}: {error}")


def optional_iri_argument(name: str) -> str | None:
    if not request.args.get(name, "").strip():
        return None
    return iri_argument(name)


def page_argument(name: str) -> int:
    text = request.args.get(name, "1")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        message = f"invalid page number {text!r}; give a number from 1 to {MAX_PAGE}"
        abort(400, description=f"parameter {name}: {message}")
    return int(text)
