"""CORS on the read endpoints: off by default, listed origins echoed, * as *, no credentials."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import LiveServer, send, serve_sample_store

from service.app import create_app
from service.settings import SettingsError

ORIGIN = "https://client.example"
OTHER_ORIGIN = "https://other.example"
ASK = "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"})
NOTE_GRAPH = "https://notekg.example/id/graph/ai"


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_sample_store(
        tmp_path_factory.mktemp("cors"), cors_origins=(ORIGIN,), update_token="cors-token"
    ) as server:
        yield server


@pytest.fixture(scope="module")
def wildcard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_sample_store(tmp_path_factory.mktemp("cors-any"), cors_origins=("*",)) as server:
        yield server


def preflight(live: LiveServer, path: str, method: str, origin: str = ORIGIN) -> dict[str, str]:
    reply = send(
        f"{live.url}{path}",
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert reply.status == 200
    return dict(reply.headers.items())


def test_cors_is_off_by_default(tmp_path: Path) -> None:
    with serve_sample_store(tmp_path) as server:
        reply = send(f"{server.url}{ASK}", headers={"Origin": ORIGIN})

    assert reply.status == 200
    assert "Access-Control-Allow-Origin" not in reply.headers


@pytest.mark.parametrize(
    "path",
    [
        ASK,
        "/store?" + urllib.parse.urlencode({"graph": NOTE_GRAPH}),
        "/download/graph.ttl",
        "/.well-known/void",
    ],
)
def test_listed_origin_is_echoed(listed: LiveServer, path: str) -> None:
    reply = send(f"{listed.url}{path}", headers={"Origin": ORIGIN})

    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Credentials" not in reply.headers


def test_unlisted_origin_gets_no_header(listed: LiveServer) -> None:
    reply = send(f"{listed.url}{ASK}", headers={"Origin": OTHER_ORIGIN})

    assert reply.status == 200
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_error_response_carries_cors(listed: LiveServer) -> None:
    reply = send(f"{listed.url}/sparql?query=ASK%20%7B", headers={"Origin": ORIGIN})

    assert reply.status == 400
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_truncation_headers_are_exposed(listed: LiveServer) -> None:
    reply = send(f"{listed.url}{ASK}", headers={"Origin": ORIGIN})
    exposed = {
        name.strip().lower() for name in reply.headers["Access-Control-Expose-Headers"].split(",")
    }

    assert {"notekg-truncated", "notekg-max-rows"} <= exposed


def test_preflight_for_sparql_post_allows_content_type(listed: LiveServer) -> None:
    headers = preflight(listed, "/sparql", "POST")

    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"].lower() == "content-type"


def test_preflight_for_store_put_allows_no_method(listed: LiveServer) -> None:
    headers = preflight(listed, "/store", "PUT")

    assert "Access-Control-Allow-Methods" not in headers


def test_update_endpoint_has_no_cors(listed: LiveServer) -> None:
    reply = send(
        f"{listed.url}/update",
        method="POST",
        data=b"CLEAR ALL",
        headers={"Origin": ORIGIN, "Content-Type": "application/sparql-update"},
    )

    assert reply.status == 401
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_pages_have_no_cors(listed: LiveServer) -> None:
    reply = send(f"{listed.url}/", headers={"Origin": ORIGIN})

    assert "Access-Control-Allow-Origin" not in reply.headers


def test_wildcard_sends_star_without_credentials(wildcard: LiveServer) -> None:
    reply = send(f"{wildcard.url}{ASK}", headers={"Origin": OTHER_ORIGIN})

    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in reply.headers


def test_invalid_origin_setting_raises(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="NOTEKG_CORS_ORIGINS"):
        create_app(
            {
                "database_url": f"sqlite:///{tmp_path}/s.sqlite",
                "cors_origins": ("client.example/app",),
            }
        )
