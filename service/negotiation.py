"""Content negotiation: pick the media type of a response from Accept or ``?format=``.

The ``format`` query parameter names a format and wins over the Accept header, so that a link
or a browser can ask for one. Otherwise werkzeug's parser of the Accept header applies q-values
and wildcards, and a type with ``q=0`` is never chosen. A request without an Accept header
accepts anything (RFC 9110, HTTP Semantics, section 12.5.1), so it gets the first type
offered. Every response whose type was chosen from Accept carries ``Vary: Accept``.
"""

from __future__ import annotations

from flask import Response, after_this_request, request
from werkzeug.exceptions import BadRequest, NotAcceptable

# Values of the ``format`` query parameter and the media types they stand for.
FORMAT_PARAMETER_TYPES: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "nquads": "application/n-quads",
    "trig": "application/trig",
    "html": "text/html",
}


class UnknownFormat(BadRequest):
    """The ``format`` query parameter names a format this service does not support."""


class NoAcceptableType(NotAcceptable):
    """None of the media types the view can send is acceptable to the client."""


def choose(offered: list[str]) -> str:
    """Return the media type to send, from ``?format=`` or Accept, among the offered ones.

    Raises UnknownFormat (400) for an unknown ``format`` value and NoAcceptableType (406),
    whose message lists the offered types, when none of them is acceptable.
    """
    chosen = best_match(offered)
    if chosen is None:
        raise NoAcceptableType(_not_acceptable_message(offered))
    return chosen


def best_match(offered: list[str]) -> str | None:
    """Return the media type to send among the offered ones, or None when none is acceptable.

    Raises UnknownFormat for an unknown ``format`` value.
    """
    format_name = request.args.get("format")
    if format_name:
        requested = _format_parameter_type(format_name)
        return requested if requested in offered else None

    after_this_request(add_vary_accept)
    if not request.headers.get("Accept", "").strip():
        return offered[0] if offered else None
    return request.accept_mimetypes.best_match(offered)


def accepts_explicitly(media_type: str) -> bool:
    """Return True when the Accept header names the media type itself with a q-value above 0."""
    return any(
        value.lower() == media_type and quality > 0
        for value, quality in request.accept_mimetypes
    )


def add_vary_accept(response: Response) -> Response:
    """Add ``Accept`` to the response's Vary header."""
    response.vary.add("Accept")
    return response


def _format_parameter_type(format_name: str) -> str:
    media_type = FORMAT_PARAMETER_TYPES.get(format_name.lower())
    if media_type is None:
        raise UnknownFormat(
            f"unknown format {format_name!r} in the format parameter; "
            f"use one of: {', '.join(FORMAT_PARAMETER_TYPES)}"
        )
    return media_type


def _not_acceptable_message(offered: list[str]) -> str:
    format_name = request.args.get("format")
    if format_name:
        requested = f"the format parameter {format_name!r}"
    else:
        requested = f"the Accept header {request.headers.get('Accept', '')!r}"
    return (
        f"this resource cannot be sent in a type that matches {requested}; "
        f"it can be sent as: {', '.join(offered)}"
    )
