"""The SPARQL Update endpoint at ``/update``.

It implements the update operation of the SPARQL 1.1 Protocol
(https://www.w3.org/TR/sparql11-protocol/#update-operation): POST of an
``application/x-www-form-urlencoded`` form with ``update=``, or POST of the update itself as
``application/sparql-update``, each with repeatable ``using-graph-uri`` and
``using-named-graph-uri``. Every request needs the bearer token (see service.write_auth).

Status codes for bad requests follow the W3C protocol tests, which expect a 4xx for each. No
update, two updates, a malformed update, a dataset named twice and a POST without a
Content-Type get 400. Another media type or a charset other than UTF-8 gets 415. GET gets 405.
``LOAD`` and ``SERVICE`` get 403, because a write never makes the server fetch a URL.

Each update that changes a graph commits a new generation (see service.writes). The base IRI
of relative IRIs in the update is the endpoint's URL, which the protocol allows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from service.engine import syntax_error
from service.negotiation import FORM_TYPES
from service.query_safety import check_update_is_safe, nesting_problem, significant_tokens
from service.sparql import FORM_TYPE, UPDATE_TYPE, form_parameters, graph_iris, read_utf8_body
from service.update_dataset import apply_protocol_dataset
from service.write_auth import require_write_token
from service.writes import GraphWriter, WriteOutcome

logger = logging.getLogger(__name__)

blueprint = Blueprint("updates", __name__)


class MissingUpdate(BadRequest):
    """The request has no update parameter or update body."""


class ConflictingUpdates(BadRequest):
    """The request has more than one update."""


class InvalidUpdate(BadRequest):
    """The update text does not parse as SPARQL 1.1 Update."""


@dataclass(frozen=True)
class UpdateRequest:
    """The update text and the dataset parameters of one SPARQL Protocol update request."""

    update: str
    using_graphs: list[str]
    using_named_graphs: list[str]


@blueprint.post("/update")
def update() -> Response:
    """Run a SPARQL Update and commit what it changed as a new generation."""
    require_write_token()
    update_request = read_update_request()
    check_update_is_safe(update_request.update)
    problem = nesting_problem(update_request.update)
    if problem is not None:
        raise BadRequest(f"the update is invalid: {problem}")

    text = apply_protocol_dataset(
        update_request.update, update_request.using_graphs, update_request.using_named_graphs
    )
    base_iri = request.base_url
    outcome = graph_writer().apply(
        lambda store: run_update(store, text, base_iri), summary="SPARQL Update"
    )
    return outcome_response(outcome)


def read_update_request() -> UpdateRequest:
    """Read the update and its dataset parameters, rejecting malformed requests."""
    parameters = _post_parameters()
    if "query" in parameters:
        raise BadRequest("the request has a query parameter; send queries to /sparql")

    return UpdateRequest(
        update=_single_update(parameters.getlist("update")),
        using_graphs=graph_iris(parameters, "using-graph-uri"),
        using_named_graphs=graph_iris(parameters, "using-named-graph-uri"),
    )


def _post_parameters() -> MultiDict[str, str]:
    media_type = request.mimetype
    if media_type in FORM_TYPES:
        return form_parameters()
    merged: MultiDict[str, str] = MultiDict(request.args)
    if media_type == UPDATE_TYPE:
        merged.add("update", read_utf8_body("update"))
        return merged
    if not media_type:
        raise BadRequest(
            f"the POST request has no Content-Type; send the update as {UPDATE_TYPE}, "
            f"or as {FORM_TYPE} with an update parameter"
        )
    raise UnsupportedMediaType(
        f"a POST of {media_type} is not supported; send the update as {UPDATE_TYPE}, "
        f"or as {FORM_TYPE} with an update parameter"
    )


def _single_update(updates: list[str]) -> str:
    present = [text for text in updates if text.strip()]
    if len(present) > 1:
        raise ConflictingUpdates(
            f"the request has {len(present)} updates; send exactly one update parameter "
            "or one update body, and join operations with ';'"
        )
    if not present:
        raise MissingUpdate(
            f"the request has no update; send one in the update parameter or as a "
            f"{UPDATE_TYPE} body"
        )
    # An editor may save an update file with a byte order mark, which Oxigraph rejects.
    return present[0].removeprefix("\ufeff")


def run_update(store: ox.Store, text: str, base_iri: str) -> None:
    """Run the update on the working store, raising InvalidUpdate when it fails."""
    # The store keeps no empty graphs, so a graph that CLEAR or DROP names counts as an
    # existing empty graph, as SPARQL 1.1 Update allows for such stores. pyoxigraph would
    # otherwise reject it. NOTE: a graph named by a prefixed name is not found here.
    for graph in cleared_graphs(text):
        store.add_graph(ox.NamedNode(graph))

    try:
        store.update(text, base_iri=base_iri)
    except SyntaxError as error:
        raise InvalidUpdate(f"the update is invalid: {syntax_error(text, error)}") from error
    except RuntimeError as error:
        raise InvalidUpdate(f"the update failed: {error}; nothing was written") from error


def cleared_graphs(text: str) -> list[str]:
    """Return the IRIs written as ``CLEAR GRAPH <iri>`` or ``DROP GRAPH <iri>``, SILENT or not."""
    words = [
        match.group().upper() if match.lastgroup == "word" else match.group()
        for match in significant_tokens(text)
    ]
    graphs = []
    for index, word in enumerate(words):
        if word not in ("CLEAR", "DROP"):
            continue
        following = [token for token in words[index + 1 : index + 4] if token != "SILENT"]
        if len(following) >= 2 and following[0] == "GRAPH" and following[1].startswith("<"):
            graphs.append(following[1][1:-1])
    return [graph for graph in graphs if _is_absolute_iri(graph)]


def _is_absolute_iri(text: str) -> bool:
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def outcome_response(outcome: WriteOutcome) -> Response:
    """Return the JSON summary of a write: the new generation and the graphs it changed."""
    return jsonify(generation=outcome.generation, changed=outcome.changed, dropped=outcome.dropped)


def graph_writer() -> GraphWriter:
    """Return the app's graph writer."""
    writer: GraphWriter = current_app.extensions["notekg.writer"]
    return writer
