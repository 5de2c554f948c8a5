"""IRIs that open where users expect: renamed headings redirect, and a base IRI that is the
service's own URL serves each entity at its own path."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port
from servers import LiveServer, serve_store

from ingest.run import run_ingest
from service.app import create_app, holder
from service.store import Store

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "data" / "mappings" / "ai.yaml"
BASE = "https://notekg.example/id/"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _get(url: str, accept: str = "text/html") -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def renamed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server over a store in which the heading "Singularity" was renamed once."""
    folder = tmp_path_factory.mktemp("renamed")
    notes = folder / "notes"
    shutil.copytree(ROOT / "data" / "notes", notes)
    mapping = folder / "ai.yaml"
    shutil.copy(MAPPING, mapping)
    url = f"sqlite:///{folder}/store.sqlite"
    run_ingest([notes], Store(url), mapping_path=mapping, base_iri=BASE)

    for path in (notes / "ai.txt", mapping):
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace("Singularity\n", "Technological Singularity\n", 1), encoding="utf-8"
        )
    run_ingest([notes], Store(url), mapping_path=mapping, base_iri=BASE)

    with serve_store(url, base_iri=BASE) as server:
        yield server


def test_old_iri_redirects_to_renamed_entity(renamed_server: LiveServer) -> None:
    status, headers, _ = _get(f"{renamed_server.url}/id/concept/singularity")
    assert status == 301
    assert headers["Location"].endswith("/id/concept/technological-singularity")


def test_renamed_entity_page_opens(renamed_server: LiveServer) -> None:
    status, _, body = _get(f"{renamed_server.url}/id/concept/technological-singularity")
    assert status == 200
    assert b"Ray Kurzweil" in body


def test_unknown_iri_still_gets_404(renamed_server: LiveServer) -> None:
    status, _, _ = _get(f"{renamed_server.url}/id/concept/no-such-thing")
    assert status == 404


@pytest.fixture(scope="module")
def own_url_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A server whose base IRI is its own URL, so every entity IRI is a URL it serves."""
    from werkzeug.serving import make_server

    folder = tmp_path_factory.mktemp("own")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    url = f"sqlite:///{folder}/store.sqlite"
    run_ingest([ROOT / "data" / "notes"], Store(url), mapping_path=MAPPING, base_iri=base)
    app = create_app({"database_url": url, "base_iri": base})

    import threading

    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(base.rstrip("/"), app, server), base
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        holder(app).close()


def test_entity_iri_opens_at_its_own_path(own_url_server: tuple[LiveServer, str]) -> None:
    _, base = own_url_server
    status, _, body = _get(f"{base}benchmark/mmlu")
    assert status == 200
    assert b"Massive Multitask Language Understanding" in body


def test_entity_iri_negotiates_turtle_at_own_path(own_url_server: tuple[LiveServer, str]) -> None:
    from rdflib import Graph, URIRef

    _, base = own_url_server
    status, _, body = _get(f"{base}benchmark/mmlu", accept="text/turtle")
    graph = Graph().parse(data=body, format="turtle")
    assert status == 200
    assert (URIRef(f"{base}benchmark/mmlu"), None, None) in graph


def test_unserved_path_gets_404(own_url_server: tuple[LiveServer, str]) -> None:
    _, base = own_url_server
    status, _, _ = _get(f"{base}benchmark/no-such-benchmark")
    assert status == 404
