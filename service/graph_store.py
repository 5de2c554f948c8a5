"""The SPARQL 1.1 Graph Store HTTP Protocol at ``/store``.

It implements indirect graph identification of the protocol
(https://www.w3.org/TR/sparql11-http-rdf-update/): ``/store?graph=IRI`` names a named graph and
``/store?default`` the default graph. GET and HEAD read a graph, PUT replaces it, POST adds
triples to it and DELETE removes it. Writes need the bearer token (see service.write_auth) and
each one that changes a graph commits a new generation (see service.writes).

The default graph differs from the protocol's model in one way. Reading ``?default`` returns
the union of all named graphs, which is the default graph of every query. Writing ``?default``
changes the write graph ``<base_iri>graph/default``, which is one graph of that union, so a GET
of ``?default`` after a PUT returns the PUT's triples together with every other graph.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType

from service import negotiation, results
from service.holder import EngineHolder
from service.settings import ServiceConfig
from service.sparql import DOWNLOADS, MERGED_JSON_LD, body_etag, dump_cache, send_kept_file
from service.updates import graph_writer, outcome_response
from service.write_auth import require_write_token
from service.writes import write_graph_iri

logger = logging.getLogger(__name__)

blueprint = Blueprint("graph_store", __name__)

# Graph payloads that requests may send and responses may carry, by media type: the RDF 1.1
# serializations of one graph (https://www.w3.org/TR/rdf11-primer/#section-graph-syntax).
TRIPLE_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}

# Dataset formats, offered for a named graph only: they keep the graph's name.
QUAD_FORMATS: dict[str, ox.RdfFormat] = {
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
}


class GraphNotFound(NotFound):
    """The current generation has no graph with the requested IRI."""


@dataclass(frozen=True)
class GraphTarget:
    """The graph a request names: a named graph's IRI, or None for the default graph."""

    iri: str | None

    def describe(self) -> str:
        return "the default graph" if self.iri is None else f"graph <{self.iri}>"


# Reading


@blueprint.get("/store")
def read_graph() -> Response:
    """Send the named graph or the union default graph in the negotiated format."""
    target = read_target()
    engine = _holder().engine()
    prefixes = results.common_prefixes(_config().base_iri)

    if target.iri is None:
        media_type = negotiation.choose(list(TRIPLE_FORMATS), negotiation.GRAPH_FORMAT_NAMES)
        body = dump_cache().get(engine, _download_name(media_type), prefixes)
        if isinstance(body, Path):
            etag = _etag(engine.version, target, media_type)
            response = send_kept_file(body, media_type, etag)
            # send_file names the file "inline", which the graph is not.
            del response.headers["Content-Disposition"]
            return response
    else:
        triples = engine.graph_triples(target.iri)
        if triples is None:
            raise GraphNotFound(_not_found_message(target, engine.generation))
        media_type = negotiation.choose(
            [*TRIPLE_FORMATS, *QUAD_FORMATS], negotiation.GRAPH_FORMAT_NAMES
        )
        body = _serialize_graph(target.iri, triples, media_type, prefixes)

    response = Response(body, mimetype=media_type)
    response.set_etag(body_etag(engine.version, body))
    response.make_conditional(request)
    return response


def _serialize_graph(
    iri: str, triples: list[ox.Triple], media_type: str, prefixes: dict[str, str]
) -> bytes:
    if media_type in QUAD_FORMATS:
        graph = ox.NamedNode(iri)
        quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
        data = ox.serialize(quads, format=QUAD_FORMATS[media_type], prefixes=prefixes)
        assert data is not None
        return data
    return results.serialize_triples(triples, TRIPLE_FORMATS[media_type], prefixes)


def _download_name(media_type: str) -> str:
    """Return the name of the kept file of the default graph in a triple format."""
    for name, (download_type, rdf_format) in DOWNLOADS.items():
        if download_type == media_type and not rdf_format.supports_datasets:
            return name
    # The download in JSON-LD keeps the named graphs, so the merged graph is kept apart.
    return MERGED_JSON_LD


def _etag(version: str, target: GraphTarget, media_type: str) -> str:
    digest = hashlib.sha256(f"{target.iri}\n{media_type}".encode()).hexdigest()[:16]
    return f"{version}-{digest}"


def _not_found_message(target: GraphTarget, generation: int) -> str:
    return (
        f"generation {generation} has no {target.describe()}; list the stored graphs with "
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } on /sparql"
    )


# Writing


@blueprint.route("/store", methods=["PUT", "POST", "DELETE"])
def write_graph() -> Response:
    """Replace, extend or delete a graph, and commit the change as a new generation."""
    require_write_token()
    target = _write_target(read_target())
    triples = _read_payload(target) if request.method != "DELETE" else []

    method = request.method
    generation = _holder().engine().generation

    def change(store: ox.Store) -> bool:
        """Apply the request to the working store and return whether the graph existed."""
        graph = _graph_node(target)
        existed = _has_graph(store, graph)
        if method == "DELETE" and not existed:
            raise GraphNotFound(_not_found_message(target, generation))
        if method in ("PUT", "DELETE"):
            store.clear_graph(graph)
        store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
        return existed

    summary = f"Graph Store {method} of {target.describe()}"
    outcome = graph_writer().apply(change, summary=summary)
    logger.info("%s %s: %s triples sent", method, target.describe(), len(triples))

    if method != "DELETE" and not outcome.change_result and triples:
        response = outcome_response(outcome)
        response.status_code = 201
        response.headers["Location"] = _graph_url(target)
        return response
    response = Response(status=204)
    # A 204 has no body, so it has no media type either.
    del response.headers["Content-Type"]
    return response


def _write_target(target: GraphTarget) -> GraphTarget:
    """Map the write graph's own IRI to the default graph, which is where writes keep it."""
    if target.iri == write_graph_iri(_config().base_iri):
        return GraphTarget(None)
    return target


def _graph_node(target: GraphTarget) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if target.iri is None else ox.NamedNode(target.iri)


def _has_graph(store: ox.Store, graph: ox.NamedNode | ox.DefaultGraph) -> bool:
    return next(iter(store.quads_for_pattern(None, None, None, graph)), None) is not None


def _graph_url(target: GraphTarget) -> str:
    if target.iri is None:
        return f"{request.base_url}?default"
    return f"{request.base_url}?graph={quote(target.iri, safe='')}"


def _read_payload(target: GraphTarget) -> list[ox.Triple]:
    """Parse the request body as one graph in the format of its Content-Type."""
    rdf_format = _payload_format()
    base_iri = target.iri or request.base_url
    try:
        # Blank nodes get fresh labels, so that a POST never merges them with stored ones.
        # pyoxigraph 0.5 loads no remote or file: JSON-LD context (it has no document loader
        # unless one is passed) and expands no external XML entity.
        quads = ox.parse(
            request.get_data(cache=False),
            format=rdf_format,
            base_iri=base_iri,
            rename_blank_nodes=True,
            without_named_graphs=True,
        )
        return [quad.triple for quad in quads]
    except SyntaxError as error:
        raise BadRequest(
            f"the {request.mimetype} body is invalid: {error}; send one graph in that format"
        ) from error


def _payload_format() -> ox.RdfFormat:
    media_type = request.mimetype
    if not media_type:
        raise BadRequest(
            f"the {request.method} request has no Content-Type; send the graph as one of: "
            f"{', '.join(TRIPLE_FORMATS)}"
        )
    if media_type not in TRIPLE_FORMATS:
        raise UnsupportedMediaType(
            f"a {request.method} of {media_type} is not supported; send the graph as one of: "
            f"{', '.join(TRIPLE_FORMATS)}"
        )

    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(
            f"the graph body has charset {charset}; send it in UTF-8 (charset=utf-8)"
        )
    return TRIPLE_FORMATS[media_type]


# The graph parameter


def read_target() -> GraphTarget:
    """Read ``?graph=IRI`` or ``?default``, raising 400 unless exactly one names a graph."""
    graphs = request.args.getlist("graph")
    wants_default = "default" in request.args
    if len(graphs) + int(wants_default) != 1:
        raise BadRequest(
            "name exactly one graph: /store?graph=IRI for a named graph, or /store?default "
            "for the default graph"
        )
    if wants_default:
        return GraphTarget(None)

    try:
        ox.NamedNode(graphs[0])
    except ValueError as error:
        raise BadRequest(
            f"invalid graph IRI {graphs[0]!r}: {error}; send an absolute IRI, percent-encoded"
        ) from error
    return GraphTarget(graphs[0])


def _holder() -> EngineHolder:
    holder: EngineHolder = current_app.extensions["notekg"]
    return holder


def _config() -> ServiceConfig:
    config: ServiceConfig = current_app.extensions["notekg.config"]
    return config
