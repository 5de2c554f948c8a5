"""The HTML pages: home, entity pages, class pages, search and the note view.

Entity pages are served at ``/id/<rest>`` for IRIs under the configured base IRI and at
``/resource?iri=…`` for any IRI. The same URLs return the entity's triples in Turtle, JSON-LD,
N-Triples or RDF/XML when the Accept header or ``?format=`` requests them. Every query text
comes from ``service.page_queries`` or ``service.browse_queries``. Helpers shared with the
other page modules are in ``service.views.common``, and ``service.views.neighbourhood`` lays
out the picture of an entity's links.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from service import negotiation, results, search_index, sparql
from service import page_queries as queries
from service.engine import QueryEngine, Term
from service.natural_order import natural_key
from service.views import entity_lists, neighbourhood
from service.views.common import (
    VOCABULARY_EXTENSION,
    Link,
    Pager,
    ask,
    binding_value,
    class_page_link,
    construct_triples,
    entity_url,
    fetch_labels,
    format_quantity,
    iri_argument,
    labelled_link,
    load_vocabulary,
    loaded_vocabulary,
    local_name_label,
    memoized,
    optional_iri_argument,
    page_argument,
    page_url,
    query_engine,
    resource_url,
    select_rows,
    service_config,
    value_order,
    vocabulary_path,
)

logger = logging.getLogger(__name__)


class _PagesBlueprint(Blueprint):
    """The pages' blueprint, whose static files are sent from memory."""

    def send_static_file(self, filename: str) -> Response:
        # Flask streams a static file from an open file object, which werkzeug's development
        # server can leave unclosed when the browser drops the request (a cancelled favicon
        # load, say). The files are small, so they are read whole and the file closed here.
        response = super().send_static_file(filename)
        stream = response.response
        response.direct_passthrough = False
        try:
            response.set_data(b"".join(cast("Iterable[bytes]", stream)))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return response


blueprint = _PagesBlueprint("pages", __name__, static_folder="static", template_folder="templates")

CLASS_PAGE_SIZE = 100
# Classes of up to this many members are ordered by label across their pages. Ordering
# them in a query reads the labels of every member: 5 s for the 71,432 source spans of 10,000
# synthetic notes. The members of a larger class are paged in IRI order, and each page is
# ordered by label.
MAX_LABEL_ORDERED_MEMBERS = 2_000
SEARCH_RESULT_LIMIT = 100
SUGGESTION_LIMIT = 10
SNIPPET_LENGTH = 200
MAX_SEARCH_LENGTH = 500
MAX_SEARCH_WORDS = 10
# A class filter checks this many of the best matches; more would make one long VALUES block.
MAX_CLASS_FILTER_CANDIDATES = 2_000

# An entity page embeds the entity's outgoing triples as JSON-LD up to this many triples.
MAX_EMBEDDED_TRIPLES = 1_000
# An entity page reads every triple of an entity with up to this many. For a larger entity it
# reads every value of each property that has up to this many, and one page of the values of
# each other property, in the store's order. It is at least MAX_EMBEDDED_TRIPLES, so that
# the JSON-LD of a page is always the entity's whole description.
READ_WHOLE_VALUES = MAX_EMBEDDED_TRIPLES

# The RDF formats of entity descriptions, by their name in ``?format=``.
RDF_FORMATS: dict[str, tuple[ox.RdfFormat, str]] = {
    "turtle": (ox.RdfFormat.TURTLE, "text/turtle"),
    "jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    "ntriples": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
    "rdfxml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
}
HTML = "text/html"


# View models


@dataclass(frozen=True)
class LiteralValue:
    """A literal shown on a page, with its language tag when it has one."""

    text: str
    language: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """One search hit: the resource, its class and a snippet of its description."""

    link: Link
    rank: int
    class_link: Link | None
    snippet: str


# Vocabulary


@blueprint.record_once
def _load_vocabulary_into_app(state: BlueprintSetupState) -> None:
    state.app.extensions[VOCABULARY_EXTENSION] = load_vocabulary(vocabulary_path())


blueprint.add_app_template_global(resource_url, "resource_url")
# Templates build their links with Flask's url_for through the cache of page_url.
blueprint.add_app_template_global(page_url, "url_for")


# Request arguments


def _line_range_argument() -> tuple[int, int] | None:
    text = request.args.get("lines", "").strip()
    if not text:
        return None

    match = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    if match is None:
        message = f"invalid line range {text!r}; write START-END with START <= END, such as 7-9"
        abort(400, description=f"parameter lines: {message}")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if start < 1:
        message = f"invalid line range {text!r}: lines are numbered from 1, as in 1-{max(end, 1)}"
        abort(400, description=f"parameter lines: {message}")
    if end < start:
        message = f"invalid line range {text!r}: it ends before it starts; write {end}-{start}"
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
    engine = query_engine()
    classes = class_counts()
    class_iris = {link.iri for link, _ in classes}
    # An example about a class that the graph has no instances of would return no rows.
    examples = [
        (title, text, url_for("sparql.endpoint", query=text))
        for title, text, needed_class in queries.example_queries()
        if needed_class is None or needed_class in class_iris
    ]
    dumps = [
        (name, _describe_dump(rdf_format), url_for("sparql.download", name=name))
        for name, (_, rdf_format) in sparql.DOWNLOADS.items()
    ]
    return render_template(
        "home.html",
        triple_count=engine.merged_triple_count,
        quad_count=engine.triple_count,
        generation=engine.generation,
        classes=classes,
        class_iris=class_iris,
        examples=examples,
        dumps=dumps,
    )


def _describe_dump(rdf_format: ox.RdfFormat) -> str:
    if rdf_format.supports_datasets:
        return f"{rdf_format.name}, with the named graphs"
    return f"{rdf_format.name}, named graphs merged"


def class_counts() -> list[tuple[Link, int]]:
    """Return each class with its member count, computed once per store generation.

    The home page and every search page show these counts; at a million triples the
    counting query takes about a tenth of a second. The links are made for each request,
    because their URLs depend on the path that the app is served under.
    """
    version = query_engine().version
    cached = current_app.extensions.get("notekg.class_counts")
    if cached is None or cached[0] != version:
        cached = (version, _count_classes())
        current_app.extensions["notekg.class_counts"] = cached
    counted: list[tuple[str, str, int]] = cached[1]
    return [
        (Link(iri, label, page_url("pages.class_page", iri=iri)), count)
        for iri, label, count in counted
    ]


def _count_classes() -> list[tuple[str, str, int]]:
    """Return the IRI, the label and the member count of each class."""
    rows = select_rows(queries.class_counts())
    labels = fetch_labels(binding_value(row, "class") or "" for row in rows)
    return [
        (
            binding_value(row, "class") or "",
            labels[binding_value(row, "class") or ""],
            int(binding_value(row, "count") or 0),
        )
        for row in rows
    ]


# Entity pages


@blueprint.get("/resource")
def resource() -> Response:
    return _entity_response(iri_argument("iri"))


@blueprint.get("/id/<path:rest>")
def entity_by_path(rest: str) -> Response:
    iri = service_config().base_iri + rest
    try:
        queries.check_iri(iri)
    except queries.InvalidIri as error:
        abort(400, description=str(error))
    return _entity_response(iri)


@blueprint.get("/<path:rest>")
def entity_at_own_path(rest: str) -> Response:
    """Serve an entity whose IRI is this very URL: the base IRI is the service's own URL.

    Every other route matches first, so this one only gets paths that nothing else serves.
    """
    iri = request.base_url
    if not iri.startswith(service_config().base_iri):
        allowed = _methods_of_other_routes(request.path)
        if allowed:
            raise MethodNotAllowed(valid_methods=allowed)
        abort(404, description=f"no page at /{rest}; entity pages are at /id/…")
    return _entity_response(iri)


def _methods_of_other_routes(path: str) -> list[str]:
    """Return the methods that routes other than the entity pages' serve at ``path``.

    This catch-all route of GET matches a path such as /update, which only POST serves, so
    Werkzeug's own 405 never comes for a GET there.
    """
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    return allowed


def _entity_response(iri: str) -> Response:
    # The page shows the IRI's own triples, which are read first. An IRI that is the subject
    # of a triple exists and is never redirected, so the lookups of a replacement and of the
    # IRI in other places are needed only for an IRI without such triples.
    own = _read_own_triples(iri)
    if not own.total:
        replacement = _replacement(iri)
        if replacement is not None:
            moved = redirect(entity_url(replacement), code=301)
            moved.vary.add("Accept")
            return cast(Response, moved)

        # A missing entity is 404 whatever the client accepts, so the lookup comes before the
        # negotiation, which would return 406 for an Accept that no entity format meets.
        if not ask(queries.entity_exists(iri), anchored=True):
            wants_html = (
                negotiation.best_match(_offered_types(), negotiation.GRAPH_FORMAT_NAMES) == HTML
            )
            if ask(queries.graph_exists(iri), anchored=True):
                response = _graph_name_response(iri, wants_html)
            elif wants_html:
                response = not_found_response(iri)
            else:
                abort(404, description=f"the graph has no triples about {iri}; check the IRI")
            response.vary.add("Accept")
            return response

    media_type = _chosen_media_type()
    if media_type == HTML:
        response = make_response(render_template("entity.html", **_entity_page(iri, own)))
    else:
        response = _rdf_response(iri, media_type)

    response.vary.add("Accept")
    return response


def _graph_name_response(iri: str, wants_html: bool) -> Response:
    """Respond to the IRI of a stored graph, which is no subject or object of a triple.

    An RDF client is sent to the graph's triples in the Graph Store Protocol (303 See Other),
    and a browser gets a page that links to them and to the notes that the graph describes.
    """
    store_url = url_for("graph_store.read_graph", graph=iri)
    if not wants_html:
        return cast(Response, redirect(store_url, code=303))
    rows = select_rows(queries.notes_in_graph(iri), anchored=True)
    notes = [binding_value(row, "note") or "" for row in rows]
    labels = fetch_labels(notes)
    return make_response(
        render_template(
            "graph_name.html",
            iri=iri,
            store_url=store_url,
            notes=[Link(note, labels[note], resource_url(note)) for note in notes],
        )
    )


def _replacement(iri: str) -> str | None:
    """Return the IRI that now stands for a renamed resource's old IRI, if any.

    An IRI that is still the subject of triples is current and never redirected.
    """
    rows = select_rows(queries.replacement_of(iri), anchored=True)
    current = rows[0].get("current") if rows else None
    return current.value if isinstance(current, ox.NamedNode) else None


def _chosen_media_type() -> str:
    # An entity's description is a graph, so ``format`` takes the names that /sparql takes for
    # CONSTRUCT results: ttl, nt, json-ld, rdf and xml (RDF/XML) as well as turtle and the rest.
    return negotiation.choose(_offered_types(), negotiation.GRAPH_FORMAT_NAMES)


def _offered_types() -> list[str]:
    return [HTML] + [media_type for _, media_type in RDF_FORMATS.values()]


def _rdf_response(iri: str, media_type: str) -> Response:
    rdf_format = next(fmt for fmt, known in RDF_FORMATS.values() if known == media_type)
    triples = construct_triples(queries.full_description(iri), anchored=True)
    body = ox.serialize(triples, format=rdf_format, prefixes=rdf_prefixes())
    return Response(body, mimetype=media_type)


def rdf_prefixes() -> dict[str, str]:
    return results.common_prefixes(service_config().base_iri)


@dataclass(frozen=True)
class _OwnTriples:
    """The triples with an entity as subject, as literal rows and link rows.

    The literal rows bind ?property and ?value, ordered by property and then numbers by value
    and other literals by text. The link rows bind ?property and ?target. ``long`` has the
    properties whose values were not read, each with its number of values, and ``total`` is
    the number of triples, read or not.
    """

    literals: list[dict[str, Term]]
    links: list[dict[str, Term]]
    total: int
    long: dict[str, int] = field(default_factory=dict)


def _read_own_triples(iri: str) -> _OwnTriples:
    """Read the entity's triples, leaving out the properties with more than READ_WHOLE_VALUES."""
    rows = select_rows(queries.own_values(iri, limit=READ_WHOLE_VALUES + 1), anchored=True)
    total = len(rows)
    long: dict[str, int] = {}
    if total > READ_WHOLE_VALUES:
        counts = {
            binding_value(row, "property") or "": int(binding_value(row, "count") or 0)
            for row in select_rows(queries.value_counts(iri), anchored=True)
        }
        total = sum(counts.values())
        long = {prop: count for prop, count in counts.items() if count > READ_WHOLE_VALUES}
        short = [prop for prop in counts if prop not in long]
        rows = (
            select_rows(queries.own_values(iri, properties=short), anchored=True) if short else []
        )

    literals = [row for row in rows if isinstance(row["value"], ox.Literal)]
    literals.sort(key=_literal_order)
    links = [
        {"property": row["property"], "target": row["value"]}
        for row in rows
        if not isinstance(row["value"], ox.Literal)
    ]
    return _OwnTriples(literals, links, total, long)


def _first_long_rows(
    iri: str, long_pages: list[entity_lists.OutgoingPage]
) -> list[dict[str, Term]]:
    """Return the first rows of each long property, which the picture draws on every page."""
    rows = []
    for page in long_pages:
        if page.page == 1:
            rows.extend(page.rows)
        else:
            rows.extend(entity_lists.value_rows(iri, page.property, neighbourhood.MAX_LINKS, 0))
    return rows


def _literal_order(row: dict[str, Term]) -> tuple[str, tuple[int, float, str], str, str, str]:
    """Order literal rows by property, then numbers by value before other literals by text.

    Text is ordered as labels are, with the numbers in it by value ("tag 2" before "tag 10").
    """
    value = cast(ox.Literal, row["value"])
    return (
        str(row["property"]),
        value_order(value, natural_key(value.value)),
        value.value,
        value.language or "",
        value.datatype.value,
    )


def _entity_page(iri: str, own: _OwnTriples) -> dict[str, Any]:
    literals = own.literals
    outgoing = sorted(own.links, key=lambda row: (str(row["property"]), str(row["target"])))
    long_pages = entity_lists.long_outgoing_pages(iri, own.long)
    outgoing_pages = entity_lists.outgoing_pages(outgoing) + long_pages
    drawn_rows = neighbourhood.drawn_outgoing_rows(outgoing + _first_long_rows(iri, long_pages))
    drawn_iris = [binding_value(row, "target") or "" for row in drawn_rows]
    shown_iris = entity_lists.shown_targets(outgoing_pages)
    # Only the targets that the page shows are looked up as quantities.
    quantities = _quantity_parts([*drawn_iris, *shown_iris])
    outgoing_pages = [
        replace(page, rows=_with_quantities(page.rows, quantities)) for page in outgoing_pages
    ]
    drawn_rows = _with_quantities(drawn_rows, quantities)
    incoming = entity_lists.incoming_links(iri)

    property_iris = [
        *(binding_value(row, "property") or "" for row in literals + outgoing),
        *incoming.counts,
    ]
    type_iris = [binding_value(row, "target") or "" for row in outgoing if _is_type_link(row)]
    labels = fetch_labels([iri, *property_iris, *type_iris, *drawn_iris, *shown_iris])
    # Links of one property with the same label, such as sections called "Facts", also show
    # the title of the note they are part of, to distinguish them.
    repeated = entity_lists.repeated_label_targets(outgoing_pages, labels)
    note_titles = entity_lists.containing_note_titles(repeated)

    types = [class_page_link(type_iri, labels) for type_iri in type_iris]
    names = _names(literals)
    label = names["label"] or labels[iri]
    incoming_groups = entity_lists.incoming_groups(iri, incoming, labels)
    return {
        "iri": iri,
        "label": label,
        "alternative_names": names["alternative_names"],
        "descriptions": names["descriptions"],
        "types": types,
        # False for an IRI that is only the object of triples, such as a link to a missing note.
        "described": bool(literals or outgoing),
        "is_note": any(link.iri == queries.NOTE_CLASS for link in types),
        "literal_groups": _literal_groups(literals, labels, types, names["label"]),
        "outgoing_groups": entity_lists.outgoing_groups(iri, outgoing_pages, labels, note_titles),
        "incoming_groups": incoming_groups,
        "sources": entity_lists.sources(iri),
        "page_size": entity_lists.LINK_PAGE_SIZE,
        "source_page_size": entity_lists.SOURCE_PAGE_SIZE,
        "jsonld": _json_ld(iri, own),
        "formats": {name: entity_url(iri, format=name) for name in RDF_FORMATS},
        "neighbourhood": _neighbourhood(
            iri,
            label,
            outgoing,
            own.long,
            drawn_rows,
            incoming.counts,
            incoming_groups,
            labels,
            note_titles,
        ),
    }


def _quantity_parts(iris: list[str]) -> dict[Term, dict[str, Term]]:
    """Return the ?amount, ?unit and ?written of each IRI that is a quantity, by its term."""
    found = memoized("quantities", iris, _graph_quantity_parts)
    return {row["target"]: row for row in found.values() if row is not None}


def _graph_quantity_parts(iris: list[str]) -> dict[str, dict[str, Term] | None]:
    """Return the quantity row of each IRI, or None for an IRI that is not a quantity."""
    found: dict[str, dict[str, Term] | None] = dict.fromkeys(iris)
    for row in select_rows(queries.quantity_parts(iris), anchored=True):
        found[binding_value(row, "target") or ""] = row
    return found


def _with_quantities(
    rows: list[dict[str, Term]], quantities: dict[Term, dict[str, Term]]
) -> list[dict[str, Term]]:
    """Add ?amount, ?unit and ?written to the outgoing rows whose target is a quantity."""
    return [{**quantities.get(row["target"], {}), **row} for row in rows]


def _neighbourhood(
    iri: str,
    label: str,
    outgoing: list[dict[str, Term]],
    long: dict[str, int],
    drawn_rows: list[dict[str, Term]],
    incoming_counts: dict[str, int],
    incoming_groups: list[entity_lists.LinkGroup],
    labels: dict[str, str],
    note_titles: dict[str, str],
) -> neighbourhood.Neighbourhood:
    """Lay out up to neighbourhood.MAX_LINKS links of the entity, outgoing ones first.

    A target in ``note_titles`` has the title of its note after its label, as in the lists.
    """
    quantities = {
        binding_value(row, "target") or "": format_quantity(
            binding_value(row, "amount") or "", binding_value(row, "unit")
        )
        for row in drawn_rows
        if "amount" in row
    }
    links_out = [
        replace(link, label=entity_lists.label_with_note_title(link.iri, link.label, note_titles))
        for link in neighbourhood.outgoing_neighbour_links(drawn_rows, labels, quantities)
    ]
    outgoing_total = neighbourhood.outgoing_link_count(outgoing, long)
    # incoming_counts counts distinct resources per property, so its sum is the number of
    # distinct (resource, property) pairs that the picture counts.
    incoming_total = sum(
        count
        for prop, count in incoming_counts.items()
        if prop not in neighbourhood.UNDRAWN_INCOMING
    )
    room = max(0, neighbourhood.MAX_LINKS - len(links_out))
    links_in = neighbourhood.listed_incoming_links(incoming_groups, room)
    if links_in is None:
        links_in = neighbourhood.incoming_neighbour_links(iri, room, labels, incoming_total)
    drawn = (links_out + links_in)[: neighbourhood.MAX_LINKS]
    return neighbourhood.lay_out(label, drawn, outgoing_total + incoming_total)


def _json_ld(iri: str, own: _OwnTriples) -> Any:
    """Return the resource's outgoing triples as parsed JSON-LD, for the page's script element.

    Returns None for a resource with more than MAX_EMBEDDED_TRIPLES such triples, whose page
    then links to its description as JSON-LD instead of embedding it.
    """
    if own.long or own.total > MAX_EMBEDDED_TRIPLES:
        return None
    subject = ox.NamedNode(iri)
    triples = [
        ox.Triple(subject, cast(ox.NamedNode, row["property"]), row["value"])
        for row in own.literals
    ]
    triples += [
        ox.Triple(subject, cast(ox.NamedNode, row["property"]), row["target"]) for row in own.links
    ]
    return json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD) or b"[]")


def _is_type_link(row: dict[str, Term]) -> bool:
    return binding_value(row, "property") == queries.RDF_TYPE and isinstance(
        row["target"], ox.NamedNode
    )


def _names(literals: list[dict[str, Term]]) -> dict[str, Any]:
    by_property: dict[str, list[LiteralValue]] = defaultdict(list)
    for row in literals:
        by_property[binding_value(row, "property") or ""].append(_literal_value(row["value"]))

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
        prop = binding_value(row, "property") or ""
        value = _literal_value(row["value"])
        is_heading = prop in queries.LABEL_PROPERTIES and value.text == label
        if prop not in shown_elsewhere and not is_heading:
            groups[prop].append(value)

    return _sorted_groups(groups, labels)


def _sorted_groups(
    groups: dict[str, list[Any]], labels: dict[str, str]
) -> list[tuple[Link, list[Any]]]:
    properties = [entity_lists.property_link(prop, labels) for prop in groups]
    properties.sort(key=lambda link: (link.label.lower(), link.iri))
    return [(link, groups[link.iri]) for link in properties]


def not_found_response(iri: str) -> Response:
    segment = re.split(r"[/#]", iri.rstrip("/#"))[-1]
    words = re.findall(r"[^\W_]{2,}", segment.lower())[:MAX_SEARCH_WORDS]
    suggestions: list[Link] = []
    if words:
        for row in select_rows(queries.labels_containing_any(words, SUGGESTION_LIMIT)):
            link = labelled_link(row["resource"], binding_value(row, "label"))
            if all(link.iri != known.iri for known in suggestions):
                suggestions.append(link)
        suggestions.sort(key=lambda link: (link.label.lower(), link.iri))

    html = render_template("not_found.html", iri=iri, words=words, suggestions=suggestions)
    return make_response(html, 404)


# Class pages


@blueprint.get("/class")
def class_page() -> Response:
    iri = iri_argument("iri")
    page = page_argument("page")
    total = int(binding_value(select_rows(queries.class_member_count(iri))[0], "count") or 0)
    vocabulary = loaded_vocabulary()

    if (
        total == 0
        and iri not in vocabulary.labels
        and not ask(queries.entity_exists(iri), anchored=True)
    ):
        return not_found_response(iri)

    offset = (page - 1) * CLASS_PAGE_SIZE
    label_ordered = total <= MAX_LABEL_ORDERED_MEMBERS
    if label_ordered:
        rows = select_rows(queries.class_members(iri, CLASS_PAGE_SIZE, offset))
        members = [labelled_link(row["member"], binding_value(row, "label")) for row in rows]
    else:
        members = _members_in_iri_order(iri, offset)
    html = render_template(
        "class.html",
        iri=iri,
        label=fetch_labels([iri])[iri],
        comment=vocabulary.comments.get(iri),
        members=members,
        total=total,
        label_ordered=label_ordered,
        max_label_ordered=MAX_LABEL_ORDERED_MEMBERS,
        first_number=offset + 1,
        next_url=url_for("pages.class_page", iri=iri, page=page + 1)
        if offset + len(members) < total
        else None,
        previous_url=url_for("pages.class_page", iri=iri, page=page - 1) if page > 1 else None,
    )
    return make_response(html)


def _members_in_iri_order(class_iri: str, offset: int) -> list[Link]:
    """Return one page of a large class's members in IRI order, the page ordered by label."""
    terms = [
        row["member"] for row in select_rows(queries.class_member_terms(class_iri), every_row=True)
    ]
    terms.sort(
        key=lambda term: (
            (False, term.value) if isinstance(term, ox.NamedNode) else (True, str(term))
        )
    )
    page_terms = terms[offset : offset + CLASS_PAGE_SIZE]
    labels = fetch_labels(term.value for term in page_terms if isinstance(term, ox.NamedNode))
    members = [
        labelled_link(term, labels.get(term.value) if isinstance(term, ox.NamedNode) else None)
        for term in page_terms
    ]
    members.sort(key=lambda link: (link.label.lower(), link.iri))
    return members


# Search


@blueprint.get("/search")
def search() -> str:
    text = _search_argument()
    class_iri = optional_iri_argument("class")
    page = page_argument("page")
    offset = (page - 1) * SEARCH_RESULT_LIMIT
    results, total, any_class = (
        find(text, class_iri, SEARCH_RESULT_LIMIT, offset) if text else ([], 0, 0)
    )

    def page_url(number: int) -> str:
        arguments: dict[str, Any] = {"q": text, "page": number}
        if class_iri:
            arguments["class"] = class_iri
        return url_for("pages.search", **arguments)

    return render_template(
        "search.html",
        query=text,
        class_iri=class_iri,
        classes=class_counts(),
        results=results,
        total=total,
        # A class with no member among the best matches of any class may have members further on.
        candidates_cut=bool(class_iri) and any_class > MAX_CLASS_FILTER_CANDIDATES,
        first_number=offset + 1,
        page_size=SEARCH_RESULT_LIMIT,
        max_class_candidates=MAX_CLASS_FILTER_CANDIDATES,
        pager=Pager.of(
            page_url,
            page,
            offset + len(results) < total,
            total=total,
            page_size=SEARCH_RESULT_LIMIT,
        ),
    )


@blueprint.get("/search.json")
def search_json() -> Response:
    text = _search_argument()
    class_iri = optional_iri_argument("class")
    results, _, _ = find(text, class_iri, SUGGESTION_LIMIT) if text else ([], 0, 0)
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


def find(
    text: str, class_iri: str | None, limit: int, offset: int = 0
) -> tuple[list[SearchResult], int, int]:
    """Search labels, alternative names and descriptions: exact, then prefix, then word matches.

    Returns the ``limit`` results from ``offset`` on, the number of matches and the number of
    matches of any class. With a class, the matches are the members of the class among the
    best MAX_CLASS_FILTER_CANDIDATES.
    """
    phrase = text.lower()
    words = search_index.search_words(phrase)[:MAX_SEARCH_WORDS] or [phrase]
    index = _search_index()
    matches = index.find(phrase, words)
    any_class = len(matches)
    if class_iri:
        matches = _members_only(matches, class_iri)
    page_matches = matches[offset : offset + limit]
    labels = index.labels_of(iri for iri, _ in page_matches)
    rows: list[dict[str, Term]] = [
        {
            "resource": ox.NamedNode(iri),
            "rank": ox.Literal(str(rank)),
            "label": ox.Literal(labels.get(iri) or local_name_label(iri)),
        }
        for iri, rank in page_matches
    ]
    if not rows:
        return [], len(matches), any_class

    iris = [binding_value(row, "resource") or "" for row in rows]
    summaries = {
        binding_value(row, "resource"): row for row in select_rows(queries.summaries(iris))
    }
    class_labels = fetch_labels(
        binding_value(row, "class") or "" for row in summaries.values() if "class" in row
    )
    results = [
        _search_result(row, summaries.get(binding_value(row, "resource")), class_labels, words)
        for row in rows
    ]
    return _with_note_titles(results), len(matches), any_class


def _with_note_titles(results: list[SearchResult]) -> list[SearchResult]:
    """Add the title of their note to the labels of results that share a label.

    Sections such as "Facts", and rows that a table rule's ``id`` keeps apart, share labels.
    """
    counts = Counter(result.link.label.casefold() for result in results)
    repeated = [result.link.iri for result in results if counts[result.link.label.casefold()] > 1]
    if not repeated:
        return results
    titles = entity_lists.containing_note_titles(repeated)
    return [
        replace(result, link=entity_lists.with_note_title(result.link, titles))
        for result in results
    ]


def _search_index() -> search_index.Index:
    cache = current_app.extensions.setdefault("notekg.search", search_index.SearchIndexCache())
    return cache.get(query_engine(), _build_search_index)  # type: ignore[no-any-return]


def _build_search_index(engine: QueryEngine) -> search_index.Index:
    properties = (
        queries.LABEL_PROPERTIES,
        queries.ALTERNATIVE_NAME_PROPERTIES,
        queries.DESCRIPTION_PROPERTIES + queries.KEYWORD_PROPERTIES,
    )
    path = engine.search_index_file
    if path is not None:
        try:
            return search_index.index_file(engine, path, *properties)
        except OSError as error:
            logger.warning(
                "cannot write the search index %s, so it stays in memory: %s", path, error
            )
    return search_index.build_index(engine, *properties)


def _members_only(matches: list[tuple[str, int]], class_iri: str) -> list[tuple[str, int]]:
    """Keep the matches that are members of the class, in their order; checks the first few."""
    candidates = [iri for iri, _ in matches[:MAX_CLASS_FILTER_CANDIDATES]]
    if not candidates:
        return []
    members = {
        binding_value(row, "resource")
        for row in select_rows(queries.members_among(candidates, class_iri))
    }
    return [(iri, rank) for iri, rank in matches if iri in members]


def _search_result(
    row: dict[str, Term],
    summary: dict[str, Term] | None,
    class_labels: dict[str, str],
    words: Sequence[str],
) -> SearchResult:
    link = labelled_link(row["resource"], binding_value(row, "label"))
    class_iri = binding_value(summary, "class") if summary else None
    class_link = class_page_link(class_iri, class_labels) if class_iri else None
    description = (binding_value(summary, "description") if summary else None) or ""
    return SearchResult(
        link, int(binding_value(row, "rank") or 0), class_link, make_snippet(description, words)
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
    iri = iri_argument("iri")
    lines = _line_range_argument()
    rows = select_rows(queries.note(iri))
    if not rows and ask(queries.entity_exists(iri), anchored=True):
        abort(404, description=f"{iri} is not a note with text; its page is {resource_url(iri)}")
    if not rows:
        return not_found_response(iri)

    text = binding_value(rows[0], "text") or ""
    line_count = len(text.splitlines())
    if lines and lines[0] > line_count:
        message = (
            f"{lines[0]}-{lines[1]} starts after the last line of the note, which has "
            f"{line_count} lines; give a range within 1-{line_count}"
        )
        abort(400, description=f"parameter lines: {message}")
    resources_rows = select_rows(queries.note_resources(iri))
    html = render_template(
        "note.html",
        iri=iri,
        path=binding_value(rows[0], "path") or local_name_label(iri),
        lines=text.splitlines(),
        highlighted=range(lines[0], lines[1] + 1) if lines else range(0),
        resources=[_note_resource(row, iri) for row in resources_rows],
    )
    return make_response(html)


def _note_resource(row: dict[str, Term], note_iri: str) -> tuple[Link, int, int, str]:
    start, end = int(binding_value(row, "start") or 0), int(binding_value(row, "end") or 0)
    url = url_for("pages.note_view", iri=note_iri, lines=f"{start}-{end}", _anchor=f"L{start}")
    return labelled_link(row["resource"], binding_value(row, "label")), start, end, url
