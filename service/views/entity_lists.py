"""The lists of an entity page: its links by property, in both directions, and its sources.

A list longer than a page shows one page at a time, so that the page of an entity that
thousands of notes mention stays small and quick to build. Each list pages on its own query
arguments: ``out_property`` and ``out_page`` for outgoing links, ``in_property`` and
``in_page`` for incoming links, and ``sources_page`` for the note lines that the entity was
read from.

A list that fits on one page is ordered by label, or by file and line for sources. A longer
list is ordered across its pages as follows. Outgoing links are ordered by IRI, and incoming
links by label up to MAX_LABEL_ORDERED_LINKS of them. Longer lists of incoming links, the
values of a property that the page does not read whole (see ``pages.READ_WHOLE_VALUES``),
and sources are paged in the store's order, because ordering them in a query reads every row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from flask import request

from service import page_queries as queries
from service.engine import Term
from service.natural_order import natural_key
from service.views import common
from service.views.common import (
    Link,
    Pager,
    binding_value,
    entity_url,
    fetch_labels,
    format_quantity,
    labelled_link,
    local_name_label,
    make_link,
    page_argument,
    resource_url,
    select_rows,
    value_order,
)

# The outgoing properties that the lists of links leave out: the page header shows the types,
# and the list of sources shows the sources.
LISTED_ELSEWHERE = (queries.RDF_TYPE, queries.NK_SOURCE)

# The links of one property, and the sources, that one page of an entity shows.
LINK_PAGE_SIZE = 50
SOURCE_PAGE_SIZE = 50
# The maximum number of incoming links of one property that are ordered by label across
# pages. A longer list is paged in the store's order, and each page is ordered by label.
MAX_LABEL_ORDERED_LINKS = 1_000
# An entity with up to this many incoming links, over all properties, has them read in one
# query, which gives both their number per property and the lists. One with more has them
# counted per property, and each list is read on its own. Reading the first 1,001 of the
# 3,973 links to a metric took 5 ms at 10,000 synthetic notes, and the first 201 1 ms.
READ_WHOLE_INCOMING = 200

# The sentence under a list that spans pages when its pages are not in label order.
BY_IRI = "Pages follow the order of the targets' IRIs, and each page is ordered by label."
IN_STORE_ORDER = "Pages follow the store's order, and each page is ordered by label."
SOURCES_IN_STORE_ORDER = (
    "Pages follow the store's order, and each page is ordered by file and line."
)


@dataclass(frozen=True)
class LinkGroup:
    """The links of one property, with paging when the group is longer than a page."""

    property: Link
    links: list[Link]
    total: int
    pager: Pager = Pager()


@dataclass(frozen=True)
class Source:
    """A line range of a note that a resource was read from, linked to the note view."""

    note: str
    path: str
    start: int
    end: int
    url: str


@dataclass(frozen=True)
class SourceList:
    """One page of the line ranges that a resource was read from, with their number."""

    sources: list[Source]
    total: int
    pager: Pager = Pager()


@dataclass(frozen=True)
class IncomingLinks:
    """The links to an entity: the number of resources per property, by property IRI.

    ``resources`` has every resource of each property when the page read all the links at
    once, and is None when it only counted them.
    """

    counts: dict[str, int]
    resources: dict[str, list[Term]] | None = None


@dataclass(frozen=True)
class OutgoingPage:
    """The rows of one property's outgoing links that a page shows, before labelling."""

    property: str
    rows: list[dict[str, Term]]
    total: int
    page: int
    in_store_order: bool = False


def property_link(prop: str, labels: dict[str, str]) -> Link:
    """Return the link to a property's page, labelled from ``labels`` or its local name."""
    return Link(prop, labels.get(prop) or local_name_label(prop), resource_url(prop))


def _group_page(paged_property: str | None, prop: str, page: int) -> int:
    """Return the page of one property's group: ``page`` when the request pages this group."""
    return page if paged_property in (None, prop) else 1


def outgoing_pages(rows: list[dict[str, Term]]) -> list[OutgoingPage]:
    """Group outgoing-link rows by property and pick the rows of each group's current page.

    Types and sources are left out, because the page header shows the types and the list of
    sources shows the sources. A target that a property repeats is kept once. A group longer
    than a page is ordered by target IRI, which the rows already contain. Ordering by label
    would need the label of every target: ordering 3,307 notes by label in a query took about
    80 ms at 10,000 synthetic notes. The caller orders the rows of each page by label once it
    has the labels.
    """
    grouped: dict[str, dict[Term, dict[str, Term]]] = defaultdict(dict)
    for row in rows:
        prop = binding_value(row, "property") or ""
        if prop in LISTED_ELSEWHERE:
            continue
        grouped[prop].setdefault(row["target"], row)

    paged_property = request.args.get("out_property")
    page = page_argument("out_page")
    pages = []
    for prop, by_target in grouped.items():
        if len(by_target) <= LINK_PAGE_SIZE:
            pages.append(OutgoingPage(prop, list(by_target.values()), len(by_target), 1))
            continue
        group_page = _group_page(paged_property, prop, page)
        ordered = sorted(by_target.values(), key=lambda row: str(row["target"]))
        offset = (group_page - 1) * LINK_PAGE_SIZE
        shown = ordered[offset : offset + LINK_PAGE_SIZE]
        pages.append(OutgoingPage(prop, shown, len(by_target), group_page))
    return pages


def long_outgoing_pages(iri: str, long: dict[str, int]) -> list[OutgoingPage]:
    """Read the current page of each property in ``long``, whose values the page did not read.

    ``long`` gives each property's number of values. The pages are in the store's order, and
    leave out types and sources as ``outgoing_pages`` does. A literal value shows as its text.
    """
    paged_property = request.args.get("out_property")
    page = page_argument("out_page")
    pages = []
    for prop, count in long.items():
        if prop in LISTED_ELSEWHERE:
            continue
        group_page = _group_page(paged_property, prop, page)
        offset = (group_page - 1) * LINK_PAGE_SIZE
        rows = value_rows(iri, prop, LINK_PAGE_SIZE, offset)
        pages.append(OutgoingPage(prop, rows, count, group_page, in_store_order=True))
    return pages


def value_rows(iri: str, prop: str, limit: int, offset: int) -> list[dict[str, Term]]:
    """Read a page of the IRI's values of one property as outgoing-link rows, in store order."""
    property_node = ox.NamedNode(prop)
    query = queries.value_page(iri, prop, limit, offset)
    return [
        {"property": property_node, "target": row["value"]}
        for row in select_rows(query, anchored=True)
    ]


def shown_targets(pages: list[OutgoingPage]) -> list[str]:
    """Return the IRIs of the targets that the pages show, which need labels."""
    return [
        row["target"].value
        for page in pages
        for row in page.rows
        if isinstance(row["target"], ox.NamedNode)
    ]


def repeated_label_targets(pages: list[OutgoingPage], labels: dict[str, str]) -> list[str]:
    """Return the IRIs of the shown targets whose label another target of the group has too.

    The sections of many notes share headings such as "Facts", so such links need the title
    of their note to be distinguished.
    """
    repeated: list[str] = []
    for page in pages:
        iris = [row["target"].value for row in page.rows if isinstance(row["target"], ox.NamedNode)]
        counts = Counter(labels.get(iri, iri) for iri in iris)
        repeated.extend(iri for iri in iris if counts[labels.get(iri, iri)] > 1)
    return repeated


def containing_note_titles(iris: list[str]) -> dict[str, str]:
    """Return the title of the note that each of the IRIs comes from, for those that have one.

    A section is part of its note, and another entity is defined in a section of one.
    """
    unique = sorted(set(iris))
    if not unique:
        return {}
    rows = select_rows(queries.containing_notes(unique), anchored=True)
    return {binding_value(row, "part") or "": binding_value(row, "title") or "" for row in rows}


def outgoing_groups(
    iri: str,
    pages: list[OutgoingPage],
    labels: dict[str, str],
    note_titles: dict[str, str] | None = None,
) -> list[LinkGroup]:
    """Return a group per property with the links of its page, by property label.

    A link in ``note_titles``, such as a section of a note, is labelled with the note's title
    too.
    """
    note_titles = note_titles or {}
    groups = []
    for page in pages:
        # Numbers, such as the values of a long property, come first, by value.
        ordered = sorted(
            ((with_note_title(_target_link(row, labels), note_titles), row) for row in page.rows),
            key=lambda pair: value_order(pair[1]["target"], natural_key(pair[0].label)),
        )
        links = [link for link, _ in ordered]

        def page_url(number: int, prop: str = page.property) -> str:
            return entity_url(iri, out_property=prop, out_page=number, _anchor="links")

        end = (page.page - 1) * LINK_PAGE_SIZE + len(links)
        if page.in_store_order:
            order = IN_STORE_ORDER
        else:
            order = BY_IRI if page.total > LINK_PAGE_SIZE else ""
        pager = Pager.of(
            page_url, page.page, end < page.total, order, total=page.total, page_size=LINK_PAGE_SIZE
        )
        groups.append(LinkGroup(property_link(page.property, labels), links, page.total, pager))

    groups.sort(key=lambda group: (group.property.label.lower(), group.property.iri))
    return groups


def with_note_title(link: Link, note_titles: dict[str, str]) -> Link:
    """Return the link labelled with the title of its note too, when ``note_titles`` has one."""
    label = label_with_note_title(link.iri, link.label, note_titles)
    return link if label == link.label else Link(link.iri, label, link.url, link.title)


def label_with_note_title(iri: str, label: str, note_titles: dict[str, str]) -> str:
    """Return the label with the title of the IRI's note after it, when ``note_titles`` has one."""
    title = note_titles.get(iri)
    if not title or title == label:
        return label
    return f"{label} ({title})"


def _target_link(row: dict[str, Term], labels: dict[str, str]) -> Link:
    link = make_link(row["target"], labels)
    amount = binding_value(row, "amount")
    if amount is None:
        return link
    return Link(
        link.iri,
        format_quantity(amount, binding_value(row, "unit")),
        link.url,
        binding_value(row, "written"),
    )


def incoming_links(iri: str) -> IncomingLinks:
    """Read the links to the IRI: all of them in one query when there are at most
    READ_WHOLE_INCOMING, else their number per property.

    The counts query and a query per property took about 0.2 ms of the 2 ms that an entity
    page with a few incoming links took at 10,000 synthetic notes.
    """
    rows = select_rows(queries.incoming_links(iri, READ_WHOLE_INCOMING + 1), anchored=True)
    if len(rows) <= READ_WHOLE_INCOMING:
        resources: dict[str, list[Term]] = defaultdict(list)
        for row in rows:
            resources[binding_value(row, "property") or ""].append(row["resource"])
        counts = {prop: len(found) for prop, found in resources.items()}
        return IncomingLinks(counts, dict(resources))

    counted = select_rows(queries.incoming_counts(iri), anchored=True)
    return IncomingLinks(
        {
            binding_value(row, "property") or "": int(binding_value(row, "count") or 0)
            for row in counted
        }
    )


def incoming_groups(iri: str, incoming: IncomingLinks, labels: dict[str, str]) -> list[LinkGroup]:
    """Return a group per property that links to the IRI, with one page of its resources."""
    paged_property = request.args.get("in_property")
    page = page_argument("in_page")
    groups = []
    for prop, total in incoming.counts.items():
        # Without in_property, in_page pages only the lists longer than one page.
        short = paged_property is None and total <= LINK_PAGE_SIZE
        group_page = 1 if short else _group_page(paged_property, prop, page)
        read = incoming.resources.get(prop) if incoming.resources is not None else None
        groups.append(_incoming_group(iri, prop, total, group_page, labels, read))

    groups.sort(key=lambda group: (group.property.label.lower(), group.property.iri))
    return groups


def _incoming_group(
    iri: str,
    prop: str,
    total: int,
    page: int,
    labels: dict[str, str],
    read: list[Term] | None,
) -> LinkGroup:
    offset = (page - 1) * LINK_PAGE_SIZE
    label_ordered = total <= MAX_LABEL_ORDERED_LINKS
    if label_ordered:
        links = _whole_incoming_list(iri, prop, read)[offset : offset + LINK_PAGE_SIZE]
    else:
        # A list too long to order by label is read a page at a time.
        query = queries.incoming_page_in_store_order(iri, prop, LINK_PAGE_SIZE, offset)
        rows = select_rows(query, anchored=True)
        links = [labelled_link(row["resource"], binding_value(row, "label")) for row in rows]
        links.sort(key=lambda link: (natural_key(link.label), link.iri))

    def page_url(number: int) -> str:
        return entity_url(iri, in_property=prop, in_page=number, _anchor="incoming")

    order = "" if label_ordered else IN_STORE_ORDER
    pager = Pager.of(
        page_url, page, offset + len(links) < total, order, total=total, page_size=LINK_PAGE_SIZE
    )
    return LinkGroup(property_link(prop, labels), links, total, pager)


def _whole_incoming_list(iri: str, prop: str, read: list[Term] | None) -> list[Link]:
    """Return every resource that links to the IRI through ``prop``, ordered by label.

    ``read`` is the resources when ``incoming_links`` read them, else they are read here. The
    caller asks only for lists of up to MAX_LABEL_ORDERED_LINKS. The labels come from
    ``fetch_labels``, which keeps them per generation, where the query of a page orders the
    resources by the labels it reads: 0.35 ms for one resource and 15 ms for 400 (at 10,000
    and 1,000 synthetic notes). A list with a blank node has its labels read by a query, which
    is the only way to a blank node's label, and is ordered in the same way.
    """
    if read is None:
        query = queries.incoming_resources(iri, prop, MAX_LABEL_ORDERED_LINKS)
        read = [row["resource"] for row in select_rows(query, anchored=True)]
    named = [resource for resource in read if isinstance(resource, ox.NamedNode)]
    if len(named) == len(read):
        labels = fetch_labels(resource.value for resource in named)
        links = [make_link(resource, labels) for resource in named]
    else:
        # Only a query that reaches the blank node reads its label.
        query = queries.incoming_labelled(iri, prop, MAX_LABEL_ORDERED_LINKS)
        rows = select_rows(query, anchored=True)
        links = [labelled_link(row["resource"], binding_value(row, "label")) for row in rows]
    links.sort(key=lambda link: (natural_key(link.label), link.iri))
    return links


def sources(iri: str) -> SourceList:
    """Return one page of the note line ranges that the resource was read from.

    The sources are paged in the store's order, and each page is ordered by file and line.
    Ordering the 3,973 sources of a metric in the query took about 200 ms at 10,000
    synthetic notes, where a page in the store's order takes under 1 ms. So a resource with
    up to a page of sources shows them all in file and line order.
    """
    page = page_argument("sources_page")
    offset = (page - 1) * SOURCE_PAGE_SIZE
    # The query selects one row more than a page, which shows whether another page follows.
    query = queries.provenance_page(iri, SOURCE_PAGE_SIZE + 1, offset)
    rows = select_rows(query, anchored=True)
    found = sorted(
        (_source(row) for row in rows[:SOURCE_PAGE_SIZE]),
        key=lambda source: (source.path, source.start, source.end, source.note),
    )
    if page == 1 and len(rows) <= SOURCE_PAGE_SIZE:
        return SourceList(found, len(found))

    count_rows = select_rows(queries.provenance_count(iri), anchored=True)
    total = int(binding_value(count_rows[0], "count") or 0) if count_rows else 0

    def page_url(number: int) -> str:
        return entity_url(iri, sources_page=number, _anchor="sources")

    pager = Pager.of(
        page_url,
        page,
        len(rows) > SOURCE_PAGE_SIZE,
        SOURCES_IN_STORE_ORDER,
        total=total,
        page_size=SOURCE_PAGE_SIZE,
    )
    return SourceList(found, total, pager)


def _source(row: dict[str, Any]) -> Source:
    note = binding_value(row, "note") or ""
    start, end = int(binding_value(row, "start") or 0), int(binding_value(row, "end") or 0)
    url = common.page_url("pages.note_view", iri=note, lines=f"{start}-{end}", _anchor=f"L{start}")
    return Source(note, binding_value(row, "path") or local_name_label(note), start, end, url)
