"""Run the real app as an HTTP server on 127.0.0.1 for tests that talk to it over the network."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

SAMPLE_DATASET = Path(__file__).resolve().parent / "fixtures" / "graphs" / "sample.trig"


@dataclass
class LiveServer:
    """A running server: its base URL and the app it serves."""

    url: str
    app: Flask
    server: BaseWSGIServer


@contextmanager
def serve_app(app: Flask) -> Iterator[LiveServer]:
    """Serve the app on a free port of 127.0.0.1 in a thread until the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, server)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def fill_store_from_dataset(database_url: str, path: str) -> None:
    """Write an RDF dataset file (TriG or N-Quads) into a store as one generation.

    Each named graph of the file becomes one stored graph, as the ingest would write it.
    """
    from collections import defaultdict

    import pyoxigraph as ox

    from service.store import GenerationChange, NewGraph, Store

    by_graph: dict[str, list[ox.Quad]] = defaultdict(list)
    for quad in ox.parse(path=path):
        by_graph[quad.graph_name.value].append(quad)

    added = [
        NewGraph(
            graph_iri=graph_iri,
            source=path,
            content_hash="fixture",
            nquads=ox.serialize(quads, format=ox.RdfFormat.N_QUADS),
            triple_count=len(quads),
        )
        for graph_iri, quads in by_graph.items()
    ]
    store = Store(database_url)
    store.write_generation(GenerationChange(added=added, dropped=[]))
    store.close()


@contextmanager
def serve_sample_store(store_dir: Path, **settings: Any) -> Iterator[LiveServer]:
    """Serve the app over a new SQLite store in store_dir that contains the sample dataset.

    ``settings`` are setting overrides for create_app, such as ``max_rows=2``.
    """

    database_url = f"sqlite:///{store_dir}/store.sqlite"
    fill_store_from_dataset(database_url, str(SAMPLE_DATASET))
    with serve_store(database_url, **settings) as live:
        yield live


@contextmanager
def serve_store(database_url: str, **settings: Any) -> Iterator[LiveServer]:
    """Serve the app over the store at ``database_url``, then close its engine and store."""
    from service.app import create_app, holder

    app = create_app({"database_url": database_url, **settings})
    try:
        with serve_app(app) as live:
            yield live
    finally:
        holder(app).close()


@dataclass
class HttpReply:
    """The status, headers and body of one HTTP response."""

    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> HttpReply:
    """Send one request with urllib and return the response, including 4xx and 5xx ones.

    urllib adds ``Content-Type: application/x-www-form-urlencoded`` to a request with a body
    and no Content-Type; use http.client to send a body without one.
    """
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _DIRECT_OPENER.open(request, timeout=timeout) as response:
            return HttpReply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpReply(error.code, error.headers, error.read())


# Requests go straight to 127.0.0.1, whatever proxy the environment names.
_DIRECT_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def parse_rdf_graph(data: bytes, rdflib_format: str) -> Any:
    """Parse RDF with rdflib and return one rdflib Graph of every triple, graphs merged."""
    import rdflib

    merged = rdflib.Graph()
    dataset = _parse_rdflib_dataset(data, rdflib_format)
    for subject, predicate, obj, _graph in dataset.quads((None, None, None, None)):
        merged.add((subject, predicate, obj))
    return merged


def parse_rdf_dataset(data: bytes, rdflib_format: str) -> Any:
    """Parse RDF, triples or quads, into an rdflib Dataset."""
    return _parse_rdflib_dataset(data, rdflib_format)


def _parse_rdflib_dataset(data: bytes, rdflib_format: str) -> Any:
    import warnings

    import rdflib

    dataset = rdflib.Dataset()
    # rdflib 7.6's N-Quads, TriG and JSON-LD parsers call its own deprecated ConjunctiveGraph
    # and Dataset.default_context, which warn whatever the caller does.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"(ConjunctiveGraph|Dataset\.default_context) is deprecated",
            category=DeprecationWarning,
        )
        dataset.parse(data=data, format=rdflib_format)
    return dataset


@contextmanager
def serve_bundled_notes(directory: Path) -> Iterator[LiveServer]:
    """Ingest data/notes with its mapping into a SQLite store in ``directory`` and serve it."""
    root = Path(__file__).resolve().parent.parent
    with serve_notes(
        directory, root / "data" / "notes", root / "data" / "mappings" / "ai.yaml"
    ) as live:
        yield live


@contextmanager
def serve_notes(
    directory: Path, notes: Path, mapping_path: Path | None = None
) -> Iterator[LiveServer]:
    """Ingest the notes into a SQLite store in ``directory`` and serve it."""
    from ingest.run import run_ingest
    from service.store import Store

    database_url = f"sqlite:///{directory / 'notekg.sqlite'}"
    store = Store(database_url)
    run_ingest([notes], store, mapping_path=mapping_path, base_iri="https://notekg.example/id/")
    store.close()
    with serve_store(database_url) as live:
        yield live


def listener_url(sock: socket.socket, path: str) -> str:
    """Return an http URL of the listening socket, with the given path."""
    return f"http://127.0.0.1:{sock.getsockname()[1]}{path}"


def assert_no_connection(sock: socket.socket) -> None:
    """Fail unless nothing connected to the listening socket within its timeout."""
    with pytest.raises(TimeoutError):
        connection, _address = sock.accept()
        connection.close()


def recorded_arguments(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """Wrap ``module.name`` for the test and return the list of the first arguments it gets."""
    arguments: list[Any] = []
    original = getattr(module, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        arguments.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return arguments
