"""The read-only SPARQL endpoint, the graph downloads and the health check.

``/sparql`` implements the query operation of the SPARQL 1.1 Protocol
(https://www.w3.org/TR/sparql11-protocol/): GET with ``query=``, POST of an
``application/x-www-form-urlencoded`` form with ``query=``, and POST of the query itself as
``application/sparql-query``, each with repeatable ``default-graph-uri`` and
``named-graph-uri``. The endpoint runs no SPARQL Update: an update request gets 403.

Status codes for bad requests follow the protocol and the W3C protocol tests, which expect a
4xx for each. No query, two queries, a malformed query and a POST without a Content-Type get
400. A POST body of another media type or in a charset other than UTF-8 gets 415. Methods
other than GET and POST get 405 with ``Allow``.

Each result is sent in the format that ``format`` or Accept selects (see service/negotiation.py).
A client whose Accept header ranks text/html above the result formats, such as a browser that
submits a query form, gets the result as an HTML page (service/sparql_html.py). Its errors
come as the HTML error page too.

A GET without a query returns the query form to a browser and the SPARQL Service Description
(https://www.w3.org/TR/sparql11-service-description/) to an RDF client.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import re
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    send_file,
)
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType
from werkzeug.http import parse_range_header
from werkzeug.sansio.utils import get_current_url

from service import negotiation, results, sparql_html
from service.engine import OxigraphEngine, QueryEngine
from service.holder import EngineHolder
from service.query_safety import UpdateForbidden, check_not_update
from service.settings import ServiceConfig

logger = logging.getLogger(__name__)

blueprint = Blueprint("sparql", __name__)

FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"

# Paths whose requests are logged with their status and duration.
LOGGED_PATH_PREFIXES = ("/sparql", "/download/", "/update", "/store")


class MissingQuery(BadRequest):
    """The request has no query parameter or query body."""


class ConflictingQueries(BadRequest):
    """The request has more than one query."""


@dataclass(frozen=True)
class ProtocolRequest:
    """The query and the dataset of one SPARQL Protocol request."""

    query: str | None
    default_graphs: list[str]
    named_graphs: list[str]


# Request logging


@blueprint.before_app_request
def _start_timer() -> None:
    g.request_started = time.perf_counter()


@blueprint.after_app_request
def _log_request(response: Response) -> Response:
    if request.path.startswith(LOGGED_PATH_PREFIXES):
        started = g.get("request_started", time.perf_counter())
        logger.info(
            "%s %s %s %.1f ms",
            request.method,
            request.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
    return response


# The endpoint


@blueprint.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response | str:
    """Run a SPARQL query, or describe the endpoint when the request has no query."""
    protocol_request = read_protocol_request()
    if protocol_request.query is None:
        return describe_endpoint()
    return run_query(protocol_request)


def read_protocol_request() -> ProtocolRequest:
    """Read the query and dataset of the request, rejecting updates and malformed requests."""
    if request.method in ("GET", "HEAD"):
        _check_query_string_utf8()
        parameters = request.args
    else:
        parameters = _post_parameters()

    if "update" in parameters:
        raise UpdateForbidden(
            "the update parameter asks for a SPARQL Update, and this endpoint is read-only; "
            "send a query in the query parameter, or the update to /update"
        )

    return ProtocolRequest(
        query=_single_query(parameters.getlist("query")),
        default_graphs=graph_iris(parameters, "default-graph-uri"),
        named_graphs=graph_iris(parameters, "named-graph-uri"),
    )


def _post_parameters() -> MultiDict[str, str]:
    media_type = request.mimetype
    if media_type in negotiation.FORM_TYPES:
        return form_parameters()
    if media_type == QUERY_TYPE:
        merged = MultiDict(request.args)
        merged.add("query", read_utf8_body("query"))
        return merged
    if media_type == UPDATE_TYPE:
        raise UpdateForbidden(
            f"a POST of {UPDATE_TYPE} is a SPARQL Update, and this endpoint is read-only; "
            f"send a query as {QUERY_TYPE} or as a form, or the update to /update"
        )
    if not media_type:
        raise BadRequest(
            f"the POST request has no Content-Type; send the query as {QUERY_TYPE}, "
            f"or as {FORM_TYPE} with a query parameter"
        )
    raise UnsupportedMediaType(
        f"a POST of {media_type} is not supported; send the query as {QUERY_TYPE}, "
        f"or as {FORM_TYPE} with a query parameter"
    )


HIGH_BYTE_ESCAPE = re.compile(rb"%[89a-fA-F][0-9a-fA-F]")


def _check_query_string_utf8() -> None:
    """Raise BadRequest when the query string escapes bytes that are not UTF-8.

    Werkzeug 3.1 keeps such an escape as it is ("%FF"), which would change the query without
    a word. Only escapes of bytes from 0x80 up can start a sequence that is not UTF-8.
    """
    if not HIGH_BYTE_ESCAPE.search(request.query_string):
        return
    raw = request.query_string.decode("latin-1")
    try:
        urllib.parse.parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as error:
        raise BadRequest(
            f"the query string is not valid UTF-8 (byte 0x{error.object[error.start]:02x}); "
            "percent-encode the query's UTF-8 bytes"
        ) from error


def form_parameters() -> MultiDict[str, str]:
    """Return the query string's and the form's fields, with the text of uploaded form files.

    ``curl -F query=@q.rq`` sends the query as a file part of a multipart form.
    """
    merged: MultiDict[str, str] = MultiDict(request.args)
    merged.update(request.form)
    for name, upload in request.files.items(multi=True):
        try:
            merged.add(name, upload.read().decode("utf-8"))
        except UnicodeDecodeError as error:
            raise BadRequest(
                f"the form file {name!r} is not valid UTF-8 at byte {error.start}; send it in UTF-8"
            ) from error
    return merged


def read_utf8_body(kind: str) -> str:
    """Return the request body as text, raising 415 for a charset other than UTF-8.

    ``kind`` names the body in messages, such as "query" or "update".
    """
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"the {kind} body has charset {charset}; send it in UTF-8 (charset=utf-8)"
        )

    try:
        return request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(
            f"the {kind} body is not valid UTF-8 at byte {error.start}; send it in UTF-8"
        ) from error


def _single_query(queries: list[str]) -> str | None:
    present = [query for query in queries if query.strip()]
    if len(present) > 1:
        raise ConflictingQueries(
            f"the request has {len(present)} queries; send exactly one query parameter "
            "or one query body"
        )
    return present[0] if present else None


def graph_iris(parameters: MultiDict[str, str], name: str) -> list[str]:
    """Return the IRIs of a repeatable graph parameter, raising 400 for an invalid one."""
    iris = parameters.getlist(name)
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError as error:
            raise BadRequest(
                f"invalid IRI {iri!r} in {name}: {error}; send an absolute IRI"
            ) from error
    return iris


def run_query(protocol_request: ProtocolRequest) -> Response:
    """Run the query and send its result in the negotiated format."""
    config = _config()
    query = protocol_request.query or ""
    form = sparql_html.QueryForm(
        query, protocol_request.default_graphs, protocol_request.named_graphs
    )
    sparql_html.remember_form(form)
    check_not_update(query)

    prefixes = results.common_prefixes(config.base_iri)
    format_value = negotiation.requested_format()
    media_types = _result_media_types(format_value, request.headers.get("Accept", ""))
    writer = results.ResultWriter(dict(media_types), prefixes)
    outcome = _engine().run(
        query,
        render=writer,
        default_graphs=protocol_request.default_graphs or None,
        named_graphs=protocol_request.named_graphs or None,
        timeout=config.query_timeout,
        max_rows=config.max_rows,
        # The protocol lets the endpoint's URL be the base IRI of relative IRIs in a query.
        base_iri=_base_url(request.scheme, request.host, request.root_path, request.path),
    )

    if isinstance(outcome, results.WrittenResult):
        response = Response(outcome.body, mimetype=outcome.media_type)
        truncated = outcome.truncated
    else:
        # HTML for a browser, or 406 when the client accepts no format of this kind.
        media_type = negotiation.choose(
            result_types(outcome.kind), result_format_names(outcome.kind)
        )
        body = sparql_html.render_results(outcome, form, prefixes, config.max_rows)
        response = Response(body.encode(), mimetype=media_type)
        truncated = outcome.truncated
    response.headers.update(results.truncation_headers(truncated, config.max_rows))
    return response


@functools.lru_cache(maxsize=64)
def _base_url(scheme: str, host: str, root_path: str, path: str) -> str:
    """Return ``request.base_url`` from its parts; building it decodes the URL each time."""
    return get_current_url(scheme, host, root_path, path)


RESULT_KINDS = ("boolean", "solutions", "graph")


@functools.lru_cache(maxsize=256)
def _result_media_types(
    format_value: str | None, accept: str
) -> tuple[tuple[str, str | None], ...]:
    """Return the media type chosen for each kind of result, or None for a kind not acceptable.

    The kind of result is known only once the query ran, so a request negotiates each kind.
    Clients repeat their Accept headers, so the choices are kept per header. The message for an
    unknown ``format`` value names the formats of every kind.
    """
    try:
        return tuple(
            (
                kind,
                negotiation.match(
                    result_types(kind), result_format_names(kind), format_value, accept
                ),
            )
            for kind in RESULT_KINDS
        )
    except negotiation.UnknownFormat:
        names = dict.fromkeys(name for kind in RESULT_KINDS for name in result_format_names(kind))
        raise negotiation.unknown_format(format_value or "", list(names)) from None


def result_types(kind: str) -> list[str]:
    """Return the media types of a result kind, with HTML for browsers after the others.

    HTML comes last, so a missing Accept header and ``*/*`` still get a SPARQL or RDF format.
    """
    return [*results.offered_types(kind), negotiation.HTML]


def result_format_names(kind: str) -> dict[str, str]:
    """Return the values of the format parameter for a result kind and their media types."""
    if kind == "graph":
        return negotiation.GRAPH_FORMAT_NAMES
    return negotiation.RESULT_FORMAT_NAMES


# Describing the endpoint: the query form and the SPARQL Service Description

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

SERVICE_DESCRIPTION_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
}

# The result formats the endpoint sends, as the IRIs of W3C's Unique URIs for File Formats
# (https://www.w3.org/ns/formats/).
RESULT_FORMAT_IRIS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "JSON-LD",
    "RDF_XML",
    "N-Quads",
    "TriG",
)


def describe_endpoint() -> Response | str:
    """Return the query form or the service description that the client accepts."""
    missing = MissingQuery(
        "the request has no query; send one in the query parameter, "
        f"as a form field, or as the body with Content-Type {QUERY_TYPE}"
    )
    if request.method not in ("GET", "HEAD"):
        raise missing

    # The SPARQL 1.1 Service Description standard has the endpoint describe itself to a GET
    # without a query, so a client without a preference, such as curl, gets the description.
    media_type = negotiation.best_match(
        [*SERVICE_DESCRIPTION_FORMATS, "text/html"], negotiation.GRAPH_FORMAT_NAMES
    )
    if media_type is None:
        raise missing
    if media_type == "text/html":
        return render_template("sparql_form.html", examples=EXAMPLE_QUERIES)
    return _service_description(media_type)


def _service_description(media_type: str) -> Response:
    endpoint_url = request.base_url
    triples = service_description_triples(endpoint_url)
    body = results.serialize_triples(
        triples, SERVICE_DESCRIPTION_FORMATS[media_type], {"sd": SD, "formats": FORMATS}
    )
    return Response(body, mimetype=media_type)


def service_description_triples(endpoint_url: str) -> list[ox.Triple]:
    """Return the SPARQL Service Description of the endpoint at endpoint_url."""
    service = ox.BlankNode("service")

    def statement(predicate: str, value: ox.NamedNode) -> ox.Triple:
        return ox.Triple(service, ox.NamedNode(predicate), value)

    triples = [
        statement(RDF_TYPE, ox.NamedNode(SD + "Service")),
        statement(SD + "endpoint", ox.NamedNode(endpoint_url)),
        statement(SD + "supportedLanguage", ox.NamedNode(SD + "SPARQL11Query")),
        statement(SD + "feature", ox.NamedNode(SD + "UnionDefaultGraph")),
    ]
    triples += [
        statement(SD + "resultFormat", ox.NamedNode(FORMATS + name)) for name in RESULT_FORMAT_IRIS
    ]
    return triples


@dataclass(frozen=True)
class ExampleQuery:
    """A query shown on the form, with a title that describes what it finds."""

    title: str
    query: str


_PREFIXES = """PREFIX nk: <https://notekg.example/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""

EXAMPLE_QUERIES: Sequence[ExampleQuery] = (
    ExampleQuery(
        "Benchmarks with their focus area",
        _PREFIXES
        + """SELECT ?benchmark ?label ?focusLabel WHERE {
  ?benchmark a nk:Benchmark ; skos:prefLabel ?label .
  OPTIONAL { ?benchmark nk:focusArea/skos:prefLabel ?focusLabel }
}
ORDER BY ?label""",
    ),
    ExampleQuery(
        "Focus areas by number of benchmarks",
        _PREFIXES
        + """SELECT ?focusArea ?label (COUNT(?benchmark) AS ?benchmarks) WHERE {
  ?focusArea a nk:FocusArea ; skos:prefLabel ?label .
  OPTIONAL { ?benchmark nk:focusArea ?focusArea }
}
GROUP BY ?focusArea ?label
ORDER BY DESC(?benchmarks)""",
    ),
    ExampleQuery(
        "Metrics and the benchmarks that report them",
        _PREFIXES
        + """SELECT ?metricLabel ?benchmarkLabel ?scale WHERE {
  ?benchmark nk:metric ?metric ; skos:prefLabel ?benchmarkLabel .
  ?metric skos:prefLabel ?metricLabel .
  OPTIONAL { ?benchmark nk:metricScale ?scale }
}
ORDER BY ?metricLabel ?benchmarkLabel""",
    ),
    ExampleQuery(
        "GPU variants with their GPU and memory size",
        _PREFIXES
        + """PREFIX schema: <https://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?variantLabel ?gpuLabel ?memory WHERE {
  ?variant a nk:GPUVariant ; skos:prefLabel ?variantLabel .
  OPTIONAL { ?variant schema:isVariantOf/skos:prefLabel ?gpuLabel }
  OPTIONAL { ?variant nk:memorySize/rdfs:label ?memory }
}
ORDER BY ?variantLabel""",
    ),
    ExampleQuery(
        "People and the concepts they researched",
        _PREFIXES
        + """PREFIX foaf: <http://xmlns.com/foaf/0.1/>
SELECT ?name ?conceptLabel WHERE {
  ?person a foaf:Person ; foaf:name ?name .
  OPTIONAL { ?concept nk:researcher ?person ; skos:prefLabel ?conceptLabel }
}
ORDER BY ?name""",
    ),
    ExampleQuery(
        "Everything stated about one benchmark, as RDF",
        """DESCRIBE <https://notekg.example/id/benchmark/mmlu>""",
    ),
    ExampleQuery(
        "Does any benchmark lack a focus area?",
        _PREFIXES
        + """ASK {
  ?benchmark a nk:Benchmark .
  FILTER NOT EXISTS { ?benchmark nk:focusArea ?focusArea }
}""",
    ),
    ExampleQuery(
        "Notes and the lines each fact came from",
        _PREFIXES
        + """SELECT ?subject ?note ?startLine ?endLine WHERE {
  ?subject nk:source ?span .
  ?span nk:inNote ?note ; nk:startLine ?startLine ; nk:endLine ?endLine .
}
ORDER BY ?note ?startLine
LIMIT 50""",
    ),
)


# Downloads of the whole graph

# Bytes of serialized downloads that each server process keeps for the current generation.
DUMP_CACHE_BYTES = 64 * 2**20

# File names, media types and formats of the downloads. The quad formats keep the named
# graphs; the triple formats merge them into one graph.
DOWNLOADS: dict[str, tuple[str, ox.RdfFormat]] = {
    "graph.ttl": ("text/turtle", ox.RdfFormat.TURTLE),
    "graph.nt": ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    "graph.nq": ("application/n-quads", ox.RdfFormat.N_QUADS),
    "graph.trig": ("application/trig", ox.RdfFormat.TRIG),
    "graph.jsonld": ("application/ld+json", ox.RdfFormat.JSON_LD),
    "graph.rdf": ("application/rdf+xml", ox.RdfFormat.RDF_XML),
}


# The name under which DumpCache keeps the merged default graph as JSON-LD, which /store sends
# for the default graph. graph.jsonld keeps the named graphs.
MERGED_JSON_LD = "default-graph.jsonld"


def kept_file_format(name: str) -> tuple[ox.RdfFormat, bool]:
    """Return the format of a download or of MERGED_JSON_LD, and whether it is merged."""
    if name == MERGED_JSON_LD:
        return ox.RdfFormat.JSON_LD, True
    return DOWNLOADS[name][1], False


class DumpCache:
    """Serialized downloads of one generation, kept by file name.

    A generation with a download folder, as one on the engine's files has, keeps each download
    as a file there, which every server process of the folder sends. Otherwise the downloads
    stay in memory up to a byte budget: a new generation empties the cache, and when a download
    would take the cache over ``max_bytes``, the downloads used least recently leave it. A
    download larger than the whole budget is serialized for each request and never kept.
    """

    def __init__(self, max_bytes: int = DUMP_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._version: str | None = None
        self._files: OrderedDict[str, bytes] = OrderedDict()
        # True once writing into the generation's download folder failed, as when it is
        # read-only, so that the downloads of the generation stay in memory.
        self._folder_failed = False

    def get(self, engine: QueryEngine, name: str, prefixes: dict[str, str]) -> bytes | Path:
        """Return the download's file, or its bytes, serializing it unless it is kept."""
        # The lock also keeps two requests from serializing the same large dump at once.
        with self._lock:
            if self._version != engine.version:
                self._files.clear()
                self._version = engine.version
                self._folder_failed = False

            folder = engine.download_folder
            if folder is not None and not self._folder_failed:
                try:
                    return _download_file(engine, folder, name, prefixes)
                except OSError as error:
                    self._folder_failed = True
                    logger.warning(
                        "cannot write downloads into %s, so they stay in memory: %s",
                        folder,
                        error,
                    )

            data = self._files.get(name)
            if data is not None:
                self._files.move_to_end(name)
                return data

            rdf_format, merge = kept_file_format(name)
            data = engine.dump(rdf_format, prefixes, merge=merge)
            if len(data) <= self.max_bytes:
                self._files[name] = data
                while sum(len(kept) for kept in self._files.values()) > self.max_bytes:
                    self._files.popitem(last=False)
            return data


def _download_file(engine: QueryEngine, folder: Path, name: str, prefixes: dict[str, str]) -> Path:
    """Return the download's file in folder, written first if no server process wrote it yet."""
    path = folder / name
    if path.exists():
        return path
    folder.mkdir(exist_ok=True)
    # One server process writes a download, and the others wait for it and then send it.
    with open(folder / f".{name}.lock", "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        partial = folder / f".{name}.partial"
        try:
            rdf_format, merge = kept_file_format(name)
            engine.dump_file(rdf_format, partial, prefixes, merge=merge)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    logger.info("wrote the download %s", path)
    return path


def send_kept_file(path: Path, media_type: str, etag: str, **options: Any) -> Response:
    """Send a kept download with send_file, which also sends part of it for a Range request.

    A Range header that is not one byte range is ignored, so the whole file goes out.
    send_file would reply with 416 to several ranges, or to a value it cannot read.
    """
    value = request.environ.get("HTTP_RANGE")
    if value is not None:
        requested = parse_range_header(value)
        if requested is None or len(requested.ranges) != 1:
            del request.environ["HTTP_RANGE"]
    return send_file(path, mimetype=media_type, etag=etag, max_age=None, **options)


@blueprint.get("/download/", defaults={"name": ""})
@blueprint.get("/download/<name>")
def download(name: str) -> Response:
    """Send the whole graph as a file in the format of its extension."""
    if name not in DOWNLOADS:
        raise NotFound(f"no download named {name!r}; available: {', '.join(DOWNLOADS)}")

    engine = _engine()
    prefixes = results.common_prefixes(_config().base_iri)
    data = dump_cache().get(engine, name, prefixes)
    etag = f"{engine.version}-{name}"
    if isinstance(data, Path):
        return send_kept_file(
            data, DOWNLOADS[name][0], etag, as_attachment=True, download_name=name
        )

    response = Response(data, mimetype=DOWNLOADS[name][0])
    response.headers.set("Content-Disposition", "attachment", filename=name)
    response.set_etag(body_etag(engine.version, data))
    response.make_conditional(request)
    return response


def body_etag(version: str, body: bytes) -> str:
    """Return a strong entity tag of a body that each server process serializes by itself.

    Every process names blank nodes its own way, so the tag is made from the bytes. A file of
    the engine's folder is one file for every process, and its tag names the version instead.
    """
    return f"{version}-{hashlib.sha256(body).hexdigest()[:16]}"


def dump_cache() -> DumpCache:
    """Return the app's cache of serialized downloads."""
    cache: DumpCache = current_app.extensions.setdefault("notekg.dumps", DumpCache())
    return cache


# Health


@blueprint.get("/health")
def health() -> Response:
    """Return the service status, the generation it serves and the size of its graph.

    ``quads`` counts the named graphs' quads, and ``triples`` the triples of the default
    graph, in which a triple that several graphs contain counts once.
    """
    engine = _engine()
    return jsonify(
        status="ok",
        generation=engine.generation,
        quads=engine.triple_count,
        triples=engine.merged_triple_count,
    )


def _engine() -> OxigraphEngine:
    holder: EngineHolder = current_app.extensions["notekg"]
    return holder.engine()


def _config() -> ServiceConfig:
    config: ServiceConfig = current_app.extensions["notekg.config"]
    return config
