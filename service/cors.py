"""Cross-origin resource sharing (CORS) for the read endpoints, through flask-cors.

CORS is off while the ``cors_origins`` setting is empty. Otherwise the SPARQL endpoint, the
Graph Store's GET and HEAD, the downloads and the VoID description send a listed origin
``Access-Control-Allow-Origin`` naming that origin, and reply to preflight OPTIONS requests with
the allowed methods and headers. The single entry ``*`` allows every origin and sends ``*``.
No response allows credentials, so browsers send no cookies or HTTP authentication, and the
write endpoints (``/update``, Graph Store PUT, POST and DELETE) stay same-origin.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask
from flask_cors import CORS

from service.response_cache import CACHE_HEADER
from service.results import MAX_ROWS_HEADER, TRUNCATED_HEADER
from service.settings import ServiceConfig, SettingsError

logger = logging.getLogger(__name__)

READ_METHODS = ["GET", "HEAD", "OPTIONS"]

# Paths as flask-cors resource patterns, with the methods a cross-origin page may use.
RESOURCES = {
    r"/sparql": READ_METHODS + ["POST"],
    r"/store": READ_METHODS,
    r"/download/.*": READ_METHODS,
    r"/\.well-known/void": READ_METHODS,
}

# Request headers a page may send: Content-Type for a POST of application/sparql-query.
ALLOWED_HEADERS = ["Accept", "Content-Type"]

# Response headers a page may read beyond the CORS-safelisted ones.
EXPOSED_HEADERS = [TRUNCATED_HEADER, MAX_ROWS_HEADER, CACHE_HEADER, "ETag", "Retry-After"]

PREFLIGHT_MAX_AGE_SECONDS = 600

# An origin is a scheme, a host and an optional port (RFC 6454), with no path.
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s*\\\[\]()^$]+", re.IGNORECASE)


def install(app: Flask, config: ServiceConfig) -> None:
    """Turn CORS on for the read endpoints when the configuration lists origins."""
    if not config.cors_origins:
        return

    origins = _checked_origins(config.cors_origins)
    wildcard = origins == "*"
    resources: dict[str | re.Pattern[str], dict[str, Any]] = {
        path: {"origins": origins, "methods": methods} for path, methods in RESOURCES.items()
    }
    CORS(
        app,
        resources=resources,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
        supports_credentials=False,
        send_wildcard=wildcard,
        # Without an Origin header the request is not cross-origin and gets no CORS headers.
        always_send=False,
        vary_header=True,
    )
    logger.info("CORS allows %s", "every origin" if wildcard else ", ".join(origins))


def _checked_origins(configured: tuple[str, ...]) -> str | list[str]:
    """Return "*" or the list of origins, raising SettingsError for a malformed entry."""
    if configured == ("*",):
        return "*"

    for origin in configured:
        if not _ORIGIN.fullmatch(origin):
            raise SettingsError(
                f"invalid origin {origin!r} in NOTEKG_CORS_ORIGINS; write scheme://host[:port] "
                "without a path, such as https://example.org, or the single entry *"
            )
    return [origin.rstrip("/") for origin in configured]
