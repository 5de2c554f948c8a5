"""The bearer token check in front of every write: SPARQL Update and Graph Store writes.

Writes are off until the operator sets ``update_token`` (NOTEKG_UPDATE_TOKEN). Then a write
needs ``Authorization: Bearer TOKEN`` (RFC 6750). A request without one gets 401 with
``WWW-Authenticate: Bearer``, and one with another token gets 403. The token is compared in
constant time and never logged.
"""

from __future__ import annotations

import hmac
import logging

from flask import current_app, request
from werkzeug.exceptions import Forbidden, Unauthorized

from service.settings import ServiceConfig

logger = logging.getLogger(__name__)

REALM = "notekg"


class WritesDisabled(Forbidden):
    """The service has no update token, so it accepts no writes."""


class MissingToken(Unauthorized):
    """The write request carries no bearer token."""

    def get_headers(self, environ: object = None, scope: object = None) -> list[tuple[str, str]]:
        headers = super().get_headers(environ, scope)  # type: ignore[arg-type]
        return [*headers, ("WWW-Authenticate", f'Bearer realm="{REALM}"')]


class WrongToken(Forbidden):
    """The write request carries a bearer token other than the configured one."""


def require_write_token() -> None:
    """Raise an HTTP error unless writes are on and the request has the configured token."""
    config: ServiceConfig = current_app.extensions["notekg.config"]
    if config.update_token is None:
        raise WritesDisabled(
            "writes are disabled; set NOTEKG_UPDATE_TOKEN to enable SPARQL Update and "
            "Graph Store writes"
        )

    presented = _bearer_token(request.headers.get("Authorization", ""))
    if presented is None:
        raise MissingToken(
            f"{request.method} {request.path} needs a token; send Authorization: Bearer TOKEN"
        )

    if not hmac.compare_digest(presented.encode(), config.update_token.encode()):
        logger.warning(
            "rejected a write with a wrong token from %s on %s", request.remote_addr, request.path
        )
        raise WrongToken("the bearer token is not valid for writes; check NOTEKG_UPDATE_TOKEN")


def _bearer_token(header: str) -> str | None:
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
