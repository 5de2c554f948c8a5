"""The neighbourhood picture of an entity page: an SVG drawn on the server.

The entity sits in the middle and its direct links to other resources, outgoing and
incoming, are drawn as labelled arrows to nodes on a circle around it. The picture shows at
most ``MAX_LINKS`` links and states how many more the entity has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from service import browse_queries as queries
from service.engine import Term
from service.views.common import (
    binding_value,
    labelled_link,
    local_name_label,
    resource_url,
    select_rows,
)
from service.views.entity_lists import LISTED_ELSEWHERE, LinkGroup

MAX_LINKS = 20
# Incoming links that only record where a resource was read from, which the picture leaves out.
UNDRAWN_INCOMING = (queries.NK_SOURCE, queries.NK_IN_NOTE)
# Up to this many incoming links, the picture draws the first by property and IRI; beyond it,
# the first that the store finds, because ordering them all took seconds for a large class.
MAX_ORDERED_INCOMING = 1_000
MAX_LABEL_CHARACTERS = 24
WIDTH = 760
MARGIN = 40
NODE_RADIUS = 6


@dataclass(frozen=True)
class NeighbourLink:
    """One link of the entity: the other resource, the property and the direction."""

    iri: str
    label: str
    url: str | None
    property_label: str
    outgoing: bool


@dataclass(frozen=True)
class Node:
    """A neighbour placed on the circle, with the label of the arrow that leads to it."""

    label: str
    short_label: str
    url: str | None
    edge_label: str
    outgoing: bool
    x: float
    y: float
    label_x: float
    label_y: float
    label_anchor: str
    edge_label_x: float
    edge_label_y: float
    edge_angle: float
    edge_start_x: float
    edge_start_y: float
    edge_end_x: float
    edge_end_y: float


@dataclass(frozen=True)
class Neighbourhood:
    """The laid-out picture: its size, the centre, the nodes and the links left out."""

    width: int
    height: int
    center_x: float
    center_y: float
    center_label: str
    nodes: list[Node]
    link_count: int
    hidden_count: int


def shorten(label: str, limit: int = MAX_LABEL_CHARACTERS) -> str:
    """Cut a label to ``limit`` characters, ending it with an ellipsis when cut."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def merge_links(links: Sequence[NeighbourLink]) -> list[NeighbourLink]:
    """Merge links to the same resource in the same direction into one, joining properties."""
    merged: dict[tuple[str, bool], NeighbourLink] = {}
    for link in links:
        key = (link.iri, link.outgoing)
        known = merged.get(key)
        if known is None:
            merged[key] = link
        elif link.property_label not in known.property_label.split(", "):
            joined = f"{known.property_label}, {link.property_label}"
            merged[key] = NeighbourLink(link.iri, link.label, link.url, joined, link.outgoing)
    return list(merged.values())


def lay_out(center_label: str, links: Sequence[NeighbourLink], link_count: int) -> Neighbourhood:
    """Place the links' resources evenly on a circle around the entity, the first at the top.

    ``link_count`` is the number of links the entity has, drawn or not.
    """
    neighbours = merge_links(links)
    radius = 120.0 if len(neighbours) <= 6 else 200.0
    height = int(2 * (radius + MARGIN))
    center_x, center_y = WIDTH / 2, height / 2
    nodes = [
        _place(link, index, len(neighbours), radius, center_x, center_y)
        for index, link in enumerate(neighbours)
    ]
    return Neighbourhood(
        WIDTH,
        height,
        center_x,
        center_y,
        shorten(center_label, 32),
        nodes,
        link_count,
        max(0, link_count - len(links)),
    )


def _place(
    link: NeighbourLink, index: int, count: int, radius: float, center_x: float, center_y: float
) -> Node:
    angle = -math.pi / 2 + 2 * math.pi * index / max(count, 1)
    dx, dy = math.cos(angle), math.sin(angle)
    x, y = center_x + radius * dx, center_y + radius * dy

    # The arrow runs from the subject to the object, stopping short of both circles.
    inner, outer = 14.0, radius - NODE_RADIUS - 4
    near = (center_x + inner * dx, center_y + inner * dy)
    far = (center_x + outer * dx, center_y + outer * dy)
    start, end = (near, far) if link.outgoing else (far, near)

    # Edge labels follow the arrow but are never upside down.
    degrees = math.degrees(angle)
    if 90 < degrees % 360 < 270:
        degrees += 180

    middle = (inner + outer) / 2
    anchor = "middle"
    if dx > 0.2:
        anchor = "start"
    elif dx < -0.2:
        anchor = "end"
    label_offset = NODE_RADIUS + 6
    return Node(
        label=link.label,
        short_label=shorten(link.label),
        url=link.url,
        edge_label=shorten(link.property_label, 28),
        outgoing=link.outgoing,
        x=round(x, 1),
        y=round(y, 1),
        label_x=round(x + label_offset * dx, 1),
        label_y=round(y + label_offset * dy + (4 if abs(dy) < 0.95 else 10 * dy), 1),
        label_anchor=anchor,
        edge_label_x=round(center_x + middle * dx, 1),
        edge_label_y=round(center_y + middle * dy, 1),
        edge_angle=round(degrees % 360, 1),
        edge_start_x=round(start[0], 1),
        edge_start_y=round(start[1], 1),
        edge_end_x=round(end[0], 1),
        edge_end_y=round(end[1], 1),
    )


def _drawable(row: dict[str, Term]) -> bool:
    """Return whether an outgoing-link row is drawn: a link to a resource, not a type or source."""
    prop = binding_value(row, "property")
    return prop not in LISTED_ELSEWHERE and isinstance(row["target"], ox.NamedNode)


def drawn_outgoing_rows(rows: Sequence[dict[str, Term]]) -> list[dict[str, Term]]:
    """Return the outgoing-link rows that the picture can draw, at most MAX_LINKS of them."""
    drawn = []
    for row in rows:
        if _drawable(row):
            drawn.append(row)
            if len(drawn) == MAX_LINKS:
                break
    return drawn


def outgoing_link_count(rows: Sequence[dict[str, Term]], long: Mapping[str, int]) -> int:
    """Count the outgoing links that the picture would draw if it had room for all.

    ``long`` gives the number of values of each property whose rows the page did not read.
    All of them count, literals too.
    """
    unread = sum(count for prop, count in long.items() if prop not in LISTED_ELSEWHERE)
    return sum(1 for row in rows if _drawable(row)) + unread


def outgoing_neighbour_links(
    rows: Sequence[dict[str, Term]], labels: dict[str, str], quantity_label: dict[str, str]
) -> list[NeighbourLink]:
    """Turn outgoing-link rows (?property, ?target) into links, leaving out types and sources.

    ``quantity_label`` gives the written form, such as ``80 GB``, of quantity targets.
    """
    links = []
    for row in rows:
        prop, target = binding_value(row, "property") or "", row["target"]
        if not _drawable(row) or not isinstance(target, ox.NamedNode):
            continue
        label = quantity_label.get(target.value) or labels.get(target.value)
        links.append(
            NeighbourLink(
                target.value,
                label or local_name_label(target.value),
                resource_url(target.value),
                labels.get(prop) or local_name_label(prop),
                True,
            )
        )
    return links


def listed_incoming_links(groups: Sequence[LinkGroup], limit: int) -> list[NeighbourLink] | None:
    """Return the first ``limit`` incoming links by property and resource IRI, from the lists.

    The lists of the page give them when each list of a drawn property has all its links, and
    the picture then needs no query of its own. Returns None when a list lacks some.
    """
    drawn = [group for group in groups if group.property.iri not in UNDRAWN_INCOMING]
    if any(len(group.links) < group.total for group in drawn):
        return None
    pairs = [
        ((group.property.iri, link.iri), link, group.property.label)
        for group in drawn
        for link in group.links
    ]
    pairs.sort(key=lambda pair: pair[0])
    return [
        NeighbourLink(link.iri, link.label, link.url, property_label, False)
        for _, link, property_label in pairs[:limit]
    ]


def incoming_neighbour_links(
    iri: str, limit: int, property_labels: dict[str, str], total: int
) -> list[NeighbourLink]:
    """Fetch up to ``limit`` of the ``total`` incoming links of the IRI.

    ``property_labels`` has the labels of the properties that link to the IRI. The links are
    the first by IRI, or the first that the store finds when there are more than
    MAX_ORDERED_INCOMING links.
    """
    if limit <= 0 or total <= 0:
        return []
    query = queries.incoming_neighbours(iri, limit, first_by_iri=total <= MAX_ORDERED_INCOMING)
    rows = select_rows(query, anchored=True)
    links = []
    for row in rows:
        link = labelled_link(row["resource"], binding_value(row, "label"))
        prop = binding_value(row, "property") or ""
        property_label = property_labels.get(prop) or local_name_label(prop)
        links.append(NeighbourLink(link.iri, link.label, link.url, property_label, False))
    return links
