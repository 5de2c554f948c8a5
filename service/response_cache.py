"""Responses kept in memory for the store's current generation.

A response depends only on the request and on the generation it is computed from. A server
process therefore keeps the bodies of successful responses, and sends them again for the same
request until a new generation replaces the current one. Query results, entity pages, search results
and the other pages all go through it; writes, the health check, the metrics and the downloads
(which have a cache of their own) do not.

- The key is the method, the URL with its query string, the Accept header and, for a POST to
  ``/sparql``, the body's media type and bytes.
- Only 200 responses that set no cookie and allow storing are kept. Each process keeps up to
  ``response_cache_bytes`` (the setting); the responses used least recently leave first, and a
  response larger than an eighth of the budget is never kept.
- A request with ``Cache-Control: no-cache`` (or ``Pragma: no-cache``) is answered afresh, and
  its response replaces the kept one. With ``no-store`` a new response is not kept, but a
  kept one may still answer.
- Every response that went through the cache carries ``NoteKG-Cache: hit`` or ``miss``. A
  response to GET or HEAD also has an ``ETag`` computed from its media type and body, so a
  client that sends ``If-None-Match`` gets 304. ``/metrics`` counts hits and misses.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request

from service import metrics
from service.settings import ServiceConfig
from service.views.common import query_engine

CACHE_HEADER = "NoteKG-Cache"

# Paths whose responses are never kept: their content changes without a new generation, they
# change the store, or they have their own cache.
UNCACHED_PATH_PREFIXES = ("/health", "/metrics", "/update", "/store", "/download/", "/static/")

# Response headers that belong to one request, not to the kept response.
UNKEPT_HEADERS = frozenset({"content-length", "date", "server", "etag", CACHE_HEADER.lower()})

# The share of the budget that one response may take at most.
MAX_SHARE_OF_BUDGET = 8


@dataclass(frozen=True)
class KeptResponse:
    """The parts of a response that the cache sends again."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str


class ResponseCache:
    """Responses of one engine version by request key, up to a byte budget.

    The version (``QueryEngine.version``) names the generation and its store. Past the budget
    the least recently used responses go first.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._version: str | None = None
        self._responses: OrderedDict[tuple[object, ...], KeptResponse] = OrderedDict()
        self._bytes = 0

    def get(self, version: str, key: tuple[object, ...]) -> KeptResponse | None:
        """Return the response kept for key in this version, or None."""
        with self._lock:
            if version != self._version:
                return None
            entry = self._responses.get(key)
            if entry is not None:
                self._responses.move_to_end(key)
            return entry

    def put(self, version: str, key: tuple[object, ...], entry: KeptResponse) -> None:
        """Keep a response of the version, dropping those of another version and old responses.

        A request that an older engine served can finish after one of a newer engine. Its
        response then empties the cache, and the next response of the newer engine empties it
        again, so the cache never sends a response of another version.
        """
        if len(entry.body) * MAX_SHARE_OF_BUDGET > self.max_bytes:
            return

        with self._lock:
            if version != self._version:
                self._clear(version)
            previous = self._responses.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._responses[key] = entry
            self._bytes += len(entry.body)
            while self._bytes > self.max_bytes:
                _, dropped = self._responses.popitem(last=False)
                self._bytes -= len(dropped.body)

    def _clear(self, version: str) -> None:
        self._version = version
        self._responses.clear()
        self._bytes = 0


def install(app: Flask, config: ServiceConfig) -> None:
    """Serve repeated requests from the cache, unless response_cache_bytes is 0.

    Call it after every other request hook is registered. Its lookup then runs after the other
    before-request hooks. It also stores a response before the other after-request hooks (such
    as CORS) add headers that belong to one request.
    """
    if config.response_cache_bytes == 0:
        return

    app.extensions["notekg.responses"] = ResponseCache(config.response_cache_bytes)
    app.before_request(_answer_from_cache)
    app.after_request(_keep_response)


def _answer_from_cache() -> Response | None:
    key = request_key()
    if key is None:
        return None

    version = query_engine().version
    g.response_cache = (key, version)
    if _request_directive("no-cache"):
        return None

    entry = _cache().get(version, key)
    if entry is None:
        return None

    # The response comes from the cache, so it is not kept again.
    g.pop("response_cache")
    response = Response(entry.body, status=200, headers=list(entry.headers))
    return _finish(response, entry.etag, "hit")


def _keep_response(response: Response) -> Response:
    lookup = g.pop("response_cache", None)
    if lookup is None:
        return response

    key, version = lookup
    if not _storable(response) or query_engine().version != version:
        return response

    body = response.get_data()
    etag = _entity_tag(response.content_type or "", body)
    if not _request_directive("no-store"):
        headers = tuple(
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in UNKEPT_HEADERS and not name.lower().startswith("access-control-")
        )
        _cache().put(version, key, KeptResponse(body, headers, etag))
    return _finish(response, etag, "miss")


def request_key() -> tuple[object, ...] | None:
    """Return the cache key of the current request, or None when its response is never kept.

    The key is made of the WSGI environment's raw values, which are cheaper to read than the
    request's decoded URL.
    """
    environ = request.environ
    path = environ.get("PATH_INFO", "")
    if path.startswith(UNCACHED_PATH_PREFIXES):
        return None

    url = (
        environ.get("wsgi.url_scheme"),
        environ.get("HTTP_HOST", ""),
        environ.get("SCRIPT_NAME", ""),
        path,
        environ.get("QUERY_STRING", ""),
    )
    accept = environ.get("HTTP_ACCEPT", "")
    if request.method in ("GET", "HEAD"):
        return ("GET", url, accept)
    if request.method == "POST" and path == "/sparql":
        # MAX_CONTENT_LENGTH bounds the body, which the endpoint reads again from memory.
        body = request.get_data(cache=True)
        return ("POST", url, accept, environ.get("CONTENT_TYPE", ""), body)
    return None


def _storable(response: Response) -> bool:
    cache_control = response.headers.get("Cache-Control", "").lower()
    return (
        response.status_code == 200
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
        and "no-store" not in cache_control
        and "private" not in cache_control
    )


def _entity_tag(content_type: str, body: bytes) -> str:
    """Return a strong entity tag of the body, which differs for another media type too."""
    digest = hashlib.blake2b(content_type.encode(), digest_size=16)
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def _finish(response: Response, etag: str, outcome: str) -> Response:
    response.headers[CACHE_HEADER] = outcome
    metrics.count_cached_response(outcome)
    # A POST gets the full response whatever its validators, because 304 applies to GET and HEAD.
    if request.method in ("GET", "HEAD"):
        response.set_etag(etag)
        if "HTTP_IF_NONE_MATCH" in request.environ:
            response.make_conditional(request)
    return response


def _request_directive(name: str) -> bool:
    """Tell whether the request's Cache-Control (or Pragma, for no-cache) has the directive."""
    environ = request.environ
    if name == "no-cache" and "no-cache" in environ.get("HTTP_PRAGMA", "").lower():
        return True
    return name in environ.get("HTTP_CACHE_CONTROL", "").lower()


def _cache() -> ResponseCache:
    cache: ResponseCache = current_app.extensions["notekg.responses"]
    return cache
