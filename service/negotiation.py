"""Content negotiation: pick the media type of a response from Accept or ``format``.

The ``format`` parameter, in the query string or in the body of a form POST, names a format or
gives a media type, and wins over the Accept header, so that a link or a form can ask for one.
A view may pass its own table of format names: the SPARQL endpoint does, because ``xml`` and
``json`` name other formats for CONSTRUCT results than for SELECT results. Otherwise
werkzeug's parser of the Accept header applies q-values and wildcards, and a type with
``q=0`` is never chosen. A request without an Accept header accepts anything (RFC 9110, HTTP
Semantics, section 12.5.1), so it gets the first type offered. Every response whose type was
chosen from Accept carries ``Vary: Accept``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from flask import Response, after_this_request, g, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import BadRequest, NotAcceptable
from werkzeug.http import parse_accept_header

HTML = "text/html"

# Values of the ``format`` parameter and the media types they stand for, for views that pass
# no table of their own.
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
    "html": HTML,
}

# ``format`` values for SELECT and ASK results.
RESULT_FORMAT_NAMES: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "html": HTML,
}

# ``format`` values for CONSTRUCT and DESCRIBE results. Here ``xml`` means RDF/XML and
# ``json`` JSON-LD, because SPARQLWrapper 2.0.0 sends ``format=xml`` with
# ``Accept: application/rdf+xml`` for these query forms by default.
GRAPH_FORMAT_NAMES: dict[str, str] = {
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    # SPARQLWrapper's N3 constant; Turtle is a subset of Notation3, so Turtle is valid N3.
    "n3": "text/turtle",
    "ntriples": "application/n-triples",
    "n-triples": "application/n-triples",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "json": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "rdf+xml": "application/rdf+xml",
    "rdf": "application/rdf+xml",
    "xml": "application/rdf+xml",
    "nquads": "application/n-quads",
    "n-quads": "application/n-quads",
    "nq": "application/n-quads",
    "trig": "application/trig",
    "html": HTML,
}

# Every name that some view understands, so that a name known elsewhere gets 406 and not 400.
KNOWN_FORMAT_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys([*FORMAT_PARAMETER_TYPES, *RESULT_FORMAT_NAMES, *GRAPH_FORMAT_NAMES])
)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class UnknownFormat(BadRequest):
    """The ``format`` parameter names a format this service does not support."""


class NoAcceptableType(NotAcceptable):
    """None of the media types the view can send is acceptable to the client."""


def choose(offered: list[str], format_names: Mapping[str, str] | None = None) -> str:
    """Return the media type to send, from ``format`` or Accept, among the offered ones.

    ``format_names`` maps the values of the ``format`` parameter to media types, and defaults
    to FORMAT_PARAMETER_TYPES. Raises UnknownFormat (400) for a ``format`` value that no view
    understands and NoAcceptableType (406), whose message lists the offered types and their
    format names, when none of the offered types is acceptable.
    """
    chosen = best_match(offered, format_names)
    if chosen is None:
        raise NoAcceptableType(_not_acceptable_message(offered, format_names))
    return chosen


def best_match(offered: list[str], format_names: Mapping[str, str] | None = None) -> str | None:
    """Return the media type to send among the offered ones, or None when none is acceptable.

    Raises UnknownFormat for a ``format`` value that no view understands.
    """
    format_value = requested_format()
    return match(offered, format_names, format_value, request.headers.get("Accept", ""))


def requested_format() -> str | None:
    """Return the request's ``format`` parameter, or None after noting that Accept decides.

    Without the parameter the response varies by the Accept header. The hook that adds
    ``Accept`` to the Vary header is then added once per request, however often it negotiates.
    """
    format_value = format_parameter()
    if not format_value and not g.get("vary_accept"):
        g.vary_accept = True
        after_this_request(add_vary_accept)
    return format_value


def match(
    offered: Sequence[str],
    format_names: Mapping[str, str] | None,
    format_value: str | None,
    accept: str,
) -> str | None:
    """Return the offered media type that ``format_value``, else the Accept header, selects.

    Returns None when none is acceptable, and raises UnknownFormat for a ``format`` value that
    no view understands.
    """
    if format_value:
        names = format_names or FORMAT_PARAMETER_TYPES
        requested = _format_parameter_type(format_value, names, offered)
        return requested if requested is not None and requested in offered else None
    if not accept.strip():
        return offered[0] if offered else None
    return _best_accepted(accept, tuple(offered))


# Media types of Notation3, of which Turtle is a subset, so a client that accepts only N3
# gets Turtle, as the format name "n3" does.
N3_TYPES = ("text/n3", "text/rdf+n3")


@functools.lru_cache(maxsize=1024)
def _best_accepted(accept: str, offered: tuple[str, ...]) -> str | None:
    """Return the offered type that the Accept header ranks first; clients repeat their headers."""
    accepted = _without_parameters(accept)
    best = accepted.best_match(offered)
    if best is None and "text/turtle" in offered and any(accepted[n3] for n3 in N3_TYPES):
        return "text/turtle"
    return best


def format_parameter() -> str | None:
    """Return the ``format`` parameter of the query string, else of a form body, or None."""
    # getlist is used because Werkzeug's get raises and catches an HTTP exception (a KeyError)
    # for each request without the parameter.
    values = request.args.getlist("format")
    if not values and request.method == "POST" and request.mimetype in FORM_TYPES:
        values = request.form.getlist("format")
    value = values[0] if values else None
    return value.strip() if value else None


@functools.lru_cache(maxsize=1024)
def _without_parameters(accept: str) -> MIMEAccept:
    """Return the Accept header's media ranges and qualities, without their other parameters.

    Parameters such as charset=utf-8 or a JSON-LD profile do not rule a type out, though
    Werkzeug 3.1 matches a range with parameters only to an offer with the same ones.
    """
    parsed = parse_accept_header(accept, MIMEAccept)
    return MIMEAccept([(value.split(";", 1)[0].strip(), quality) for value, quality in parsed])


def accepts_explicitly(media_type: str) -> bool:
    """Return True when the Accept header names the media type itself with a q-value above 0."""
    accepted = _without_parameters(request.headers.get("Accept", ""))
    return any(value.lower() == media_type and quality > 0 for value, quality in accepted)


def prefers_html() -> bool:
    """Return True when the Accept header ranks HTML above JSON, as browsers' headers do.

    A missing Accept header and ``*/*`` rank both the same, so they return False.
    """
    if not request.headers.get("Accept", "").strip():
        return False

    accept = _without_parameters(request.headers["Accept"])
    html = max(accept.quality(HTML), accept.quality("application/xhtml+xml"))
    json = max(
        accept.quality("application/json"), accept.quality("application/sparql-results+json")
    )
    return html > json


def add_vary_accept(response: Response) -> Response:
    """Add ``Accept`` to the response's Vary header."""
    if "Vary" in response.headers:
        response.vary.add("Accept")
    else:
        # Parsing the header into a set and writing it back costs more than setting it.
        response.headers["Vary"] = "Accept"
    return response


def _format_parameter_type(
    format_value: str, format_names: Mapping[str, str], offered: Sequence[str]
) -> str | None:
    """Return the media type of a format name or of a media type given as the value.

    Returns None for a name that only another view understands. The message for an unknown
    name lists the names of the ``offered`` types.
    """
    # A "+" left unescaped in a query string arrives as a space: "rdf+xml" as "rdf xml".
    name = format_value.lower().replace(" ", "+")
    if name in format_names:
        return format_names[name]
    if "/" in name:
        return name.split(";", 1)[0].strip()
    if name in KNOWN_FORMAT_NAMES:
        return None
    usable = [known for known, media_type in format_names.items() if media_type in offered]
    raise unknown_format(format_value, usable or list(KNOWN_FORMAT_NAMES))


def unknown_format(format_value: str, names: Sequence[str]) -> UnknownFormat:
    """Return the error for a ``format`` value that no view understands, naming ``names``."""
    return UnknownFormat(
        f"unknown format {format_value!r} in the format parameter; use a media type "
        f"or one of: {', '.join(names)}"
    )


def _not_acceptable_message(offered: list[str], format_names: Mapping[str, str] | None) -> str:
    format_value = format_parameter()
    if format_value:
        requested = f"the format parameter {format_value!r}"
    else:
        requested = f"the Accept header {request.headers.get('Accept', '')!r}"

    names = [
        name
        for name, media_type in (format_names or FORMAT_PARAMETER_TYPES).items()
        if media_type in offered
    ]
    return (
        f"this resource cannot be sent in a type that matches {requested}; "
        f"it can be sent as: {', '.join(offered)}, "
        f"or with the format parameter set to one of: {', '.join(names)}"
    )
