"""The one error shape of the service, for HTTP errors and the engine's exceptions.

API clients get ``{"error": {"status": 400, "title": "Bad Request", "message": "..."}}`` as
JSON. Requests to the update, Graph Store, download, health and metrics paths always get
JSON. Requests to /sparql get JSON unless their Accept header ranks text/html above JSON.
Requests to other paths get JSON unless their Accept header names text/html. Browsers get
the ``error.html`` page with the same three fields, and on /sparql also the query to correct.
No response contains a traceback. An unexpected exception becomes a 500 whose
message states only that the error was logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import (
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)
from werkzeug.http import HTTP_STATUS_CODES

from service import metrics
from service.engine import EngineBusy, QueryAborted, QueryError, QueryTimeout
from service.negotiation import accepts_explicitly, add_vary_accept, prefers_html
from service.query_safety import ForbiddenQuery
from service.sparql_html import SPARQL_FORM_KEY
from service.updates import InvalidUpdate
from service.writes import WriteConflict

logger = logging.getLogger(__name__)

# Paths whose errors are always JSON, also for browsers: the SPARQL Update, Graph Store,
# download, health and metrics paths.
API_PATH_PREFIXES = ("/update", "/store", "/download/", "/health", "/metrics")

# Browsers submit query forms to the SPARQL endpoint, so its errors are HTML for clients
# that rank HTML above JSON. Programs, a missing Accept header and */* get JSON.
SPARQL_PATH = "/sparql"

RETRY_AFTER_SECONDS = 5


@dataclass
class ErrorReply:
    """The content of an error response: its status, message and extra headers."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return HTTP_STATUS_CODES.get(self.status, "Error")


def register(app: Flask) -> None:
    """Install the error handlers on the app."""
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(QueryError, _handle_query_error)
    app.register_error_handler(ForbiddenQuery, _handle_forbidden_query)
    app.register_error_handler(QueryTimeout, _handle_query_timeout)
    app.register_error_handler(EngineBusy, _handle_engine_busy)
    app.register_error_handler(QueryAborted, _handle_query_aborted)
    app.register_error_handler(WriteConflict, _handle_write_conflict)
    app.register_error_handler(Exception, _handle_unexpected_error)


def _handle_http_error(error: HTTPException) -> Response:
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        # Werkzeug collects the methods in a set, whose order differs between processes.
        error.valid_methods = sorted(error.valid_methods)
    if isinstance(error, InvalidUpdate):
        logger.info("rejected a malformed update on %s: %s", request.path, error.description)
        metrics.count_rejected("invalid")
    status = error.code or 500
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return render_error(ErrorReply(status, _http_error_message(error), headers))


def _http_error_message(error: HTTPException) -> str:
    if isinstance(error, RequestEntityTooLarge):
        limit = current_app.extensions["notekg.config"].max_body_bytes
        return (
            f"the request body is larger than the limit of {limit} bytes; send a shorter "
            "query, or ask the operator to raise NOTEKG_MAX_BODY_BYTES"
        )
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(error.valid_methods or [])
        return f"{request.method} is not allowed on {request.path}; use one of: {allowed}"
    if isinstance(error, NotFound) and error.description == NotFound.description:
        return f"nothing is published at {request.path}; check the address"
    return error.description or HTTP_STATUS_CODES.get(error.code or 500, "Error")


def _handle_query_error(error: QueryError) -> Response:
    logger.info("rejected a malformed query on %s: %s", request.path, error)
    metrics.count_rejected("invalid")
    return render_error(ErrorReply(400, f"the query is invalid: {error}"))


def _handle_forbidden_query(error: ForbiddenQuery) -> Response:
    logger.info("rejected a forbidden query on %s: %s", request.path, error)
    metrics.count_rejected("forbidden")
    return render_error(ErrorReply(403, str(error)))


def _handle_query_timeout(error: QueryTimeout) -> Response:
    logger.warning("query timed out on %s: %s", request.path, error)
    metrics.count_timeout()
    message = f"{error}; simplify the query or add a LIMIT, then retry"
    return render_error(ErrorReply(503, message))


def _handle_engine_busy(error: EngineBusy) -> Response:
    logger.warning("engine busy on %s: %s", request.path, error)
    metrics.count_rejected("busy")
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return render_error(ErrorReply(503, str(error), headers))


def _handle_query_aborted(error: QueryAborted) -> Response:
    logger.error("query process lost on %s: %s", request.path, error)
    return render_error(ErrorReply(503, str(error)))


def _handle_write_conflict(error: WriteConflict) -> Response:
    logger.warning("write on %s gave up: %s", request.path, error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return render_error(ErrorReply(503, str(error), headers))


def _handle_unexpected_error(error: Exception) -> Response:
    logger.exception("unexpected error in %s %s", request.method, request.path)
    message = "the server failed to handle the request; the error was logged"
    return render_error(ErrorReply(500, message))


def render_error(reply: ErrorReply) -> Response:
    """Build the error response: JSON for API clients, error.html for browsers."""
    if wants_json():
        response = jsonify(
            {"error": {"status": reply.status, "title": reply.title, "message": reply.message}}
        )
    else:
        response = _html_error(reply)

    response.status_code = reply.status
    response.headers.update(reply.headers)
    return add_vary_accept(response)


def wants_json() -> bool:
    """Return True when the error goes to an API client rather than a browser."""
    if request.path == SPARQL_PATH:
        return not prefers_html()
    if request.path.startswith(API_PATH_PREFIXES):
        return True
    return not (accepts_explicitly("text/html") or accepts_explicitly("application/xhtml+xml"))


def _html_error(reply: ErrorReply) -> Response:
    try:
        page = render_template(
            "error.html",
            status=reply.status,
            title=reply.title,
            message=reply.message,
            sparql_form=g.get(SPARQL_FORM_KEY),
        )
    except Exception:
        # A page that fails to render must not hide the original error behind a second one.
        logger.exception("rendering error.html for a %s response failed", reply.status)
        text = f"{reply.status} {reply.title}: {reply.message}\n"
        return Response(text, mimetype="text/plain")
    return Response(page, mimetype="text/html")
