"""The HTML pages: home, entity pages, class pages, search and the note view.

Entity pages are served at ``/id/<rest>`` for IRIs under the configured base IRI and at
``/resource?iri=…`` for any IRI. The same URLs return the entity's triples in Turtle, JSON-LD,
N-Triples or RDF/XML when the Accept header or ``?format=`` asks for them. Every query text
comes from ``service.page_queries``.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.sansio.blueprints import BlueprintSetupState

from service import negotiation, results, sparql
from service import page_queries as queries
from service.engine import OxigraphEngine, Term
from service.settings import ServiceConfig

logger = logging.getLogger(__name__)

blueprint = Blueprint("pages", __name__, static_folder="static", template_folder="templates")

INCOMING_PAGE_SIZE = 50
CLASS_PAGE_SIZE = 100
SEARCH_RESULT_LIMIT = 100
SUGGESTION_LIMIT = 10
SNIPPET_LENGTH = 200
MAX_SEARCH_LENGTH = 500
MAX_SEARCH_WORDS = 10
MAX_PAGE = 1_000_000

# The RDF formats of entity descriptions, by their name in ``?format=``.
RDF_FORMATS: dict[str, tuple[ox.RdfFormat, str]] = {
    "turtle": (ox.RdfFormat.TURTLE, "text/turtle"),
    "jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    "ntriples": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
    "rdfxml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
}
HTML = "text/html"

VOCABULARY_EXTENSION = "notekg.vocabulary"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"


# View models


@dataclass(frozen=True)
class Link:
    """A resource shown by its label and linked to its page; a blank node has no URL."""

    iri: str
    label: str
    url: str | None
    title: str | None = None


@dataclass(frozen=True)
class LinkGroup:
    """The links of one property, with paging when the group is longer than a page."""

    property: Link
    links: list[Link]
    total: int
    page: int = 1
    next_url: str | None = None
    previous_url: str | None = None


@dataclass(frozen=True)
class LiteralValue:
    """A literal shown on a page, with its language tag when it has one."""

    text: str
    language: str | None = None


@dataclass(frozen=True)
class Source:
    """A line range of a note that a resource was read from, linked to the note view."""

    note: str
    path: str
    start: int
    end: int
    url: str


@dataclass(frozen=True)
class SearchResult:
    """One search hit: the resource, its class and a snippet of its description."""

    link: Link
    rank: int
    class_link: Link | None
    snippet: str


@dataclass
class Vocabulary:
    """Labels and comments of the terms that ontology/notekg.ttl declares."""

    labels: dict[str, str] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)


# Vocabulary


@blueprint.record_once
def _load_vocabulary_into_app(state: BlueprintSetupState) -> None:
    state.app.extensions[VOCABULARY_EXTENSION] = load_vocabulary(_vocabulary_path())


def _vocabulary_path() -> Path | None:
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


def _vocabulary() -> Vocabulary:
    return current_app.extensions.get(VOCABULARY_EXTENSION) or Vocabulary()


# Access to the engine


def _config() -> ServiceConfig:
    return current_app.extensions["notekg.config"]  # type: ignore[no-any-return]


def _engine() -> OxigraphEngine:
    return current_app.extensions["notekg"].engine()  # type: ignore[no-any-return]


def _select(sparql: str) -> list[dict[str, Term]]:
    config = _config()
    result = _engine().query(sparql, timeout=config.query_timeout, max_rows=config.max_rows)
    return result.bindings()


def _ask(sparql: str) -> bool:
    config = _config()
    result = _engine().query(sparql, timeout=config.query_timeout, max_rows=config.max_rows)
    return bool(result.boolean)


def _construct(sparql: str) -> list[ox.Triple]:
    config = _config()
    result = _engine().query(sparql, timeout=config.query_timeout, max_rows=config.max_rows)
    return result.triples


def _value(row: dict[str, Term], name: str) -> str | None:
    term = row.get(name)
    return None if term is None else term.value  # type: ignore[union-attr]


# Labels and links


@blueprint.app_template_global()
def resource_url(iri: str) -> str:
    """Return the page URL of an IRI: ``/id/…`` under the base IRI, else ``/resource?iri=``."""
    return _entity_url(iri)


def _entity_url(iri: str, **params: Any) -> str:
    base = _config().base_iri
    rest = iri[len(base) :] if iri.startswith(base) else ""

    # A fragment or query cannot travel in a URL path, and Werkzeug merges repeated slashes.
    if rest and not rest.startswith("/") and not re.search(r"[#?]|//", rest):
        return url_for("pages.entity_by_path", rest=rest, **params)
    return url_for("pages.resource", iri=iri, **params)


def local_name_label(iri: str) -> str:
    """Turn the last segment of an IRI into words: ``isVariantOf`` becomes ``is variant of``."""
    name = re.split(r"[/#:]", iri.rstrip("/#"))[-1] or iri
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    words = name.replace("_", " ").split()
    return " ".join(word if word.isupper() else word.lower() for word in words) or iri


def fetch_labels(iris: Iterable[str]) -> dict[str, str]:
    """Return a label for each IRI: from the graph, else the vocabulary, else its local name."""
    unique = sorted(set(iris))
    found: dict[str, str] = {}
    if unique:
        for row in _select(queries.labels(unique)):
            label = _value(row, "label")
            if label:
                found[_value(row, "resource") or ""] = label

    vocabulary = _vocabulary().labels
    return {iri: found.get(iri) or vocabulary.get(iri) or local_name_label(iri) for iri in unique}


def make_link(term: Term, labels: dict[str, str]) -> Link:
    """Link a term to its page, labelled from ``labels``; blank nodes get no URL."""
    if isinstance(term, ox.NamedNode):
        return Link(
            term.value,
            labels.get(term.value) or local_name_label(term.value),
            resource_url(term.value),
        )
    return Link(str(term), "(unnamed resource)", None)


def format_quantity(amount: str, unit: str | None) -> str:
    """Write a quantity as people do: ``192.0`` and ``GB`` become ``192 GB``."""
    try:
        number = format(Decimal(amount).normalize(), "f")
    except InvalidOperation:
        number = amount
    return f"{number} {unit}" if unit else number


# Request arguments


def _iri_argument(name: str) -> str:
    try:
        return queries.check_iri(request.args.get(name, "").strip())
    except queries.InvalidIri as error:
        abort(400, description=f"parameter {name}: {error}")


def _optional_iri_argument(name: str) -> str | None:
    if not request.args.get(name, "").strip():
        return None
    return _iri_argument(name)


def _page_argument(name: str) -> int:
    text = request.args.get(name, "1")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        message = f"invalid page number {text!r}; give a number from 1 to {MAX_PAGE}"
        abort(400, description=f"parameter {name}: {message}")
    return int(text)


def _line_range_argument() -> tuple[int, int] | None:
    text = request.args.get("lines", "").strip()
    if not text:
        return None

    match = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    start = int(match.group(1)) if match else 0
    end = int(match.group(2) or start) if match else 0
    if start < 1 or end < start:
        message = f"invalid line range {text!r}; write START-END with START <= END, such as 7-9"
        abort(400, description=f"parameter lines: {message}")
    return start, end


def _search_argument() -> str:
    text = " ".join(request.args.get("q", "").split())
    if len(text) > MAX_SEARCH_LENGTH:
        message = f"the search text has {len(text)} characters; the maximum is {MAX_SEARCH_LENGTH}"
        abort(400, description=f"parameter q: {message}")
    return text


# Home page


@blueprint.get("/")
def home() -> str:
    engine = _engine()
    classes = _class_counts()
    examples = [
        (title, text, url_for("sparql.endpoint", query=text))
        for title, text in queries.example_queries()
    ]
    dumps = [
        (name, _describe_dump(rdf_format), url_for("sparql.download", name=name))
        for name, (_, rdf_format) in sparql.DOWNLOADS.items()
    ]
    return render_template(
        "home.html",
        triple_count=engine.triple_count,
        generation=engine.generation,
        classes=classes,
        examples=examples,
        dumps=dumps,
    )


def _describe_dump(rdf_format: ox.RdfFormat) -> str:
    if rdf_format.supports_datasets:
        return f"{rdf_format.name}, with the named graphs"
    return f"{rdf_format.name}, named graphs merged"


def _class_counts() -> list[tuple[Link, int]]:
    rows = _select(queries.class_counts())
    labels = fetch_labels(_value(row, "class") or "" for row in rows)
    counted = [
        (_class_link(_value(row, "class") or "", labels), int(_value(row, "count") or 0))
        for row in rows
    ]
    return counted


def _class_link(iri: str, labels: dict[str, str]) -> Link:
    return Link(iri, labels.get(iri) or local_name_label(iri), url_for("pages.class_page", iri=iri))


# Entity pages


@blueprint.get("/resource")
def resource() -> Response:
    return _entity_response(_iri_argument("iri"))


@blueprint.get("/id/<path:rest>")
def entity_by_path(rest: str) -> Response:
    iri = _config().base_iri + rest
    try:
        queries.check_iri(iri)
    except queries.InvalidIri as error:
        abort(400, description=str(error))
    return _entity_response(iri)


def _entity_response(iri: str) -> Response:
    media_type = _chosen_media_type()

    if not _ask(queries.entity_exists(iri)):
        if media_type != HTML:
            abort(404, description=f"the graph has no triples about {iri}; check the IRI")
        response = _not_found_response(iri)
    elif media_type == HTML:
        response = make_response(render_template("entity.html", **_entity_page(iri)))
    else:
        response = _rdf_response(iri, media_type)

    response.vary.add("Accept")
    return response


def _chosen_media_type() -> str:
    offered = [HTML] + [media_type for _, media_type in RDF_FORMATS.values()]
    return negotiation.choose(offered)


def _rdf_response(iri: str, media_type: str) -> Response:
    rdf_format = next(fmt for fmt, known in RDF_FORMATS.values() if known == media_type)
    triples = _construct(queries.full_description(iri))
    body = ox.serialize(triples, format=rdf_format, prefixes=_prefixes())
    return Response(body, mimetype=media_type)


def _prefixes() -> dict[str, str]:
    return results.common_prefixes(_config().base_iri)


def _entity_page(iri: str) -> dict[str, Any]:
    literals = _select(queries.literal_values(iri))
    outgoing = _select(queries.outgoing_links(iri))
    incoming_counts = _select(queries.incoming_counts(iri))

    property_iris = [_value(row, "property") or "" for row in literals + outgoing + incoming_counts]
    target_iris = [
        _value(row, "target") or "" for row in outgoing if isinstance(row["target"], ox.NamedNode)
    ]
    labels = fetch_labels([iri, *property_iris, *target_iris])

    types = [
        _class_link(_value(row, "target") or "", labels) for row in outgoing if _is_type_link(row)
    ]
    names = _names(literals)
    return {
        "iri": iri,
        "label": names["label"] or labels[iri],
        "alternative_names": names["alternative_names"],
        "descriptions": names["descriptions"],
        "types": types,
        "is_note": any(link.iri == queries.NOTE_CLASS for link in types),
        "literal_groups": _literal_groups(literals, labels, types, names["label"]),
        "outgoing_groups": _outgoing_groups(outgoing, labels),
        "incoming_groups": _incoming_groups(iri, incoming_counts, labels),
        "sources": _sources(iri),
        "page_size": INCOMING_PAGE_SIZE,
        "jsonld": _json_ld(iri),
        "formats": {name: _entity_url(iri, format=name) for name in RDF_FORMATS},
    }


def _json_ld(iri: str) -> Any:
    """Return the resource's outgoing triples as parsed JSON-LD, for the page's script element."""
    triples = _construct(queries.outgoing_description(iri))
    return json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD) or b"[]")


def _is_type_link(row: dict[str, Term]) -> bool:
    return _value(row, "property") == queries.RDF_TYPE and isinstance(row["target"], ox.NamedNode)


def _names(literals: list[dict[str, Term]]) -> dict[str, Any]:
    by_property: dict[str, list[LiteralValue]] = defaultdict(list)
    for row in literals:
        by_property[_value(row, "property") or ""].append(_literal_value(row["value"]))

    label = next(
        (by_property[prop][0].text for prop in queries.LABEL_PROPERTIES if by_property[prop]), None
    )
    alternative_names = [
        value for prop in queries.ALTERNATIVE_NAME_PROPERTIES for value in by_property[prop]
    ]
    descriptions = [value for prop in queries.DESCRIPTION_PROPERTIES for value in by_property[prop]]
    return {"label": label, "alternative_names": alternative_names, "descriptions": descriptions}


def _literal_value(term: Term) -> LiteralValue:
    language = term.language if isinstance(term, ox.Literal) else None
    return LiteralValue(term.value, language or None)  # type: ignore[union-attr]


def _literal_groups(
    literals: list[dict[str, Term]], labels: dict[str, str], types: list[Link], label: str | None
) -> list[tuple[Link, list[LiteralValue]]]:
    """Group the literals that the page header does not show already by their property."""
    shown_elsewhere = set(queries.ALTERNATIVE_NAME_PROPERTIES + queries.DESCRIPTION_PROPERTIES)
    if any(link.iri == queries.NOTE_CLASS for link in types):
        shown_elsewhere.add(queries.NOTE_TEXT)  # the note view shows the text with line numbers

    groups: dict[str, list[LiteralValue]] = defaultdict(list)
    for row in literals:
        prop = _value(row, "property") or ""
        value = _literal_value(row["value"])
        is_heading = prop in queries.LABEL_PROPERTIES and value.text == label
        if prop not in shown_elsewhere and not is_heading:
            groups[prop].append(value)

    return _sorted_groups(groups, labels)


def _sorted_groups(
    groups: dict[str, list[Any]], labels: dict[str, str]
) -> list[tuple[Link, list[Any]]]:
    properties = [
        Link(prop, labels.get(prop) or local_name_label(prop), resource_url(prop))
        for prop in groups
    ]
    properties.sort(key=lambda link: (link.label.lower(), link.iri))
    return [(link, groups[link.iri]) for link in properties]


def _outgoing_groups(outgoing: list[dict[str, Term]], labels: dict[str, str]) -> list[LinkGroup]:
    groups: dict[str, list[Link]] = defaultdict(list)
    for row in outgoing:
        prop = _value(row, "property") or ""
        if _is_type_link(row) or prop == queries.NK_SOURCE:
            continue
        link = _target_link(row, labels)
        if link not in groups[prop]:
            groups[prop].append(link)

    return [
        LinkGroup(prop, sorted(links, key=lambda link: link.label.lower()), len(links))
        for prop, links in _sorted_groups(groups, labels)
    ]


def _target_link(row: dict[str, Term], labels: dict[str, str]) -> Link:
    link = make_link(row["target"], labels)
    amount = _value(row, "amount")
    if amount is None:
        return link
    return Link(
        link.iri, format_quantity(amount, _value(row, "unit")), link.url, _value(row, "written")
    )


def _incoming_groups(
    iri: str, counts: list[dict[str, Term]], labels: dict[str, str]
) -> list[LinkGroup]:
    paged_property = request.args.get("in_property")
    page = _page_argument("in_page")
    groups = []
    for row in counts:
        prop = _value(row, "property") or ""
        total = int(_value(row, "count") or 0)
        group_page = page if paged_property in (None, prop) else 1
        groups.append(_incoming_group(iri, prop, total, group_page, labels))

    groups.sort(key=lambda group: (group.property.label.lower(), group.property.iri))
    return groups


def _incoming_group(
    iri: str, prop: str, total: int, page: int, labels: dict[str, str]
) -> LinkGroup:
    offset = (page - 1) * INCOMING_PAGE_SIZE
    rows = _select(queries.incoming_page(iri, prop, INCOMING_PAGE_SIZE, offset))
    links = [_labelled_link(row["resource"], _value(row, "label")) for row in rows]
    property_link = Link(prop, labels.get(prop) or local_name_label(prop), resource_url(prop))

    def page_url(number: int) -> str:
        return _entity_url(iri, in_property=prop, in_page=number, _anchor="incoming")

    return LinkGroup(
        property_link,
        links,
        total,
        page,
        next_url=page_url(page + 1) if offset + len(links) < total else None,
        previous_url=page_url(page - 1) if page > 1 else None,
    )


def _labelled_link(term: Term, label: str | None) -> Link:
    if isinstance(term, ox.NamedNode):
        return Link(term.value, label or local_name_label(term.value), resource_url(term.value))
    return Link(str(term), label or "(unnamed resource)", None)


def _sources(iri: str) -> list[Source]:
    sources = []
    for row in _select(queries.provenance(iri)):
        note = _value(row, "note") or ""
        start, end = int(_value(row, "start") or 0), int(_value(row, "end") or 0)
        url = url_for("pages.note_view", iri=note, lines=f"{start}-{end}", _anchor=f"L{start}")
        sources.append(Source(note, _value(row, "path") or local_name_label(note), start, end, url))
    return sources


def _not_found_response(iri: str) -> Response:
    segment = re.split(r"[/#]", iri.rstrip("/#"))[-1]
    words = re.findall(r"[^\W_]{2,}", segment.lower())[:MAX_SEARCH_WORDS]
    suggestions: list[Link] = []
    if words:
        for row in _select(queries.labels_containing_any(words, SUGGESTION_LIMIT)):
            link = _labelled_link(row["resource"], _value(row, "label"))
            if all(link.iri != known.iri for known in suggestions):
                suggestions.append(link)

    html = render_template("not_found.html", iri=iri, words=words, suggestions=suggestions)
    return make_response(html, 404)


# Class pages


@blueprint.get("/class")
def class_page() -> Response:
    iri = _iri_argument("iri")
    page = _page_argument("page")
    total = int(_value(_select(queries.class_member_count(iri))[0], "count") or 0)
    vocabulary = _vocabulary()

    if total == 0 and iri not in vocabulary.labels and not _ask(queries.entity_exists(iri)):
        return _not_found_response(iri)

    offset = (page - 1) * CLASS_PAGE_SIZE
    rows = _select(queries.class_members(iri, CLASS_PAGE_SIZE, offset))
    members = [_labelled_link(row["member"], _value(row, "label")) for row in rows]
    html = render_template(
        "class.html",
        iri=iri,
        label=fetch_labels([iri])[iri],
        comment=vocabulary.comments.get(iri),
        members=members,
        total=total,
        first_number=offset + 1,
        next_url=url_for("pages.class_page", iri=iri, page=page + 1)
        if offset + len(members) < total
        else None,
        previous_url=url_for("pages.class_page", iri=iri, page=page - 1) if page > 1 else None,
    )
    return make_response(html)


# Search


@blueprint.get("/search")
def search() -> str:
    text = _search_argument()
    class_iri = _optional_iri_argument("class")
    results = find(text, class_iri, SEARCH_RESULT_LIMIT) if text else []
    return render_template(
        "search.html", query=text, class_iri=class_iri, classes=_class_counts(), results=results
    )


@blueprint.get("/search.json")
def search_json() -> Response:
    text = _search_argument()
    class_iri = _optional_iri_argument("class")
    results = find(text, class_iri, SUGGESTION_LIMIT) if text else []
    return jsonify(
        [
            {
                "iri": result.link.iri,
                "label": result.link.label,
                "class": result.class_link.label if result.class_link else None,
                "url": result.link.url,
            }
            for result in results
        ]
    )


def find(text: str, class_iri: str | None, limit: int) -> list[SearchResult]:
    """Search labels, alternative names and descriptions: exact, then prefix, then word matches."""
    phrase = text.lower()
    words = re.findall(r"\w+", phrase)[:MAX_SEARCH_WORDS] or [phrase]
    rows = _select(queries.search(words, phrase, class_iri, limit))
    if not rows:
        return []

    iris = [_value(row, "resource") or "" for row in rows]
    summaries = {_value(row, "resource"): row for row in _select(queries.summaries(iris))}
    class_labels = fetch_labels(
        _value(row, "class") or "" for row in summaries.values() if "class" in row
    )
    return [
        _search_result(row, summaries.get(_value(row, "resource")), class_labels, words)
        for row in rows
    ]


def _search_result(
    row: dict[str, Term],
    summary: dict[str, Term] | None,
    class_labels: dict[str, str],
    words: Sequence[str],
) -> SearchResult:
    link = _labelled_link(row["resource"], _value(row, "label"))
    class_iri = _value(summary, "class") if summary else None
    class_link = _class_link(class_iri, class_labels) if class_iri else None
    description = (_value(summary, "description") if summary else None) or ""
    return SearchResult(
        link, int(_value(row, "rank") or 0), class_link, make_snippet(description, words)
    )


def make_snippet(text: str, words: Sequence[str]) -> str:
    """Cut text to SNIPPET_LENGTH characters around the first of the words that it contains."""
    if len(text) <= SNIPPET_LENGTH:
        return text

    positions = [text.lower().find(word) for word in words]
    first = min((position for position in positions if position >= 0), default=0)
    start = max(0, first - SNIPPET_LENGTH // 4)
    snippet = text[start : start + SNIPPET_LENGTH].strip()
    if start > 0:
        snippet = "…" + snippet
    if start + SNIPPET_LENGTH < len(text):
        snippet = snippet + "…"
    return snippet


# Note view


@blueprint.get("/note")
def note_view() -> Response:
    iri = _iri_argument("iri")
    lines = _line_range_argument()
    rows = _select(queries.note(iri))
    if not rows:
        return _not_found_response(iri)

    text = _value(rows[0], "text") or ""
    resources_rows = _select(queries.note_resources(iri))
    html = render_template(
        "note.html",
        iri=iri,
        path=_value(rows[0], "path") or local_name_label(iri),
        lines=text.splitlines(),
        highlighted=range(lines[0], lines[1] + 1) if lines else range(0),
        resources=[_note_resource(row, iri) for row in resources_rows],
    )
    return make_response(html)


def _note_resource(row: dict[str, Term], note_iri: str) -> tuple[Link, int, int, str]:
    start, end = int(_value(row, "start") or 0), int(_value(row, "end") or 0)
    url = url_for("pages.note_view", iri=note_iri, lines=f"{start}-{end}", _anchor=f"L{start}")
    return _labelled_link(row["resource"], _value(row, "label")), start, end, url
