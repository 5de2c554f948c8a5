"""Benchmark notekg against Oxigraph server and rdflib-endpoint on synthetic notes.

For each corpus size the script generates the notes (benchmarks/generate.py) and ingests them
with notekg. It exports the graph as N-Quads and loads the same N-Quads into Oxigraph server and
rdflib-endpoint. Then a bounded load generator measures every server with the same query mix.
The script checks that notekg returns the same results as Oxigraph server on every query, and
then writes the tables into docs/benchmarks.md between its result markers, the raw numbers to
benchmarks/work/results.json and a latency plot to docs/benchmarks-latency.svg.

Run it with the benchmark virtualenv, which has Oxigraph server, rdflib-endpoint, psutil and
matplotlib (docs/benchmarks.md says how to create it):

    benchmarks/.venv/bin/python benchmarks/run.py --sizes 100 1000 10000

Every server listens on 127.0.0.1 and is stopped by its process id when its measurement ends.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from contextlib import closing
from dataclasses import asdict, dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate, page_path  # noqa: E402

logger = logging.getLogger("benchmarks.run")

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
BENCH_BIN = ROOT / "benchmarks" / ".venv" / "bin"
NOTEKG = ROOT / ".venv" / "bin" / "notekg"
DOC = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "benchmarks-latency.svg"
# The output of the notekg commands that the script runs, such as the ingest's warnings.
COMMAND_LOG = WORK / "notekg-commands.log"
RESULTS_START = "<!-- results start: written by benchmarks/run.py -->"
RESULTS_END = "<!-- results end -->"

HOST = "127.0.0.1"
PORTS = {"notekg": 18_080, "oxigraph": 18_081, "rdflib-endpoint": 18_082}
SEED = 7
# Corpora at or above this size are ingested with --no-validate (pySHACL is skipped).
NO_VALIDATE_FROM_PAGES = 10_000
CLIENTS = (1, 4)
# One notekg worker process per core of the benchmark machine (2 cores).
NOTEKG_WORKERS = 2
READY_TIMEOUT = 1800.0
REQUEST_TIMEOUT = 120.0

PREFIXES = """PREFIX nk: <https://notekg.example/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""

# The query mix. {benchmark}, {focus}, {metric}, {label} and {needle} are filled with terms
# picked from the graph by pick_terms.
QUERIES: dict[str, str] = {
    "label lookup": PREFIXES + 'SELECT ?entity WHERE {{ ?entity skos:prefLabel "{label}" }}',
    "label search": PREFIXES
    + """SELECT ?entity ?label WHERE {{
  ?entity skos:prefLabel ?label .
  FILTER(CONTAINS(LCASE(STR(?label)), "{needle}"))
}}""",
    "focus members": PREFIXES
    + """SELECT DISTINCT ?benchmark ?label ?metric WHERE {{
  ?benchmark nk:focusArea <{focus}> ; skos:prefLabel ?label ; nk:metric/skos:prefLabel ?metric .
}}""",
    "count per focus": PREFIXES
    + """SELECT ?focus (COUNT(DISTINCT ?benchmark) AS ?benchmarks) WHERE {{
  ?benchmark nk:focusArea ?focus .
}} GROUP BY ?focus""",
    "two-hop path": PREFIXES
    + """SELECT DISTINCT ?other ?label WHERE {{
  <{benchmark}> nk:metric/^nk:metric ?other .
  ?other nk:focusArea <{focus}> ; skos:prefLabel ?label .
}}""",
    "entity out and in": PREFIXES
    + """SELECT ?direction ?property ?value ?label WHERE {{
  {{ <{benchmark}> ?property ?value BIND("out" AS ?direction) }}
  UNION {{ ?value ?property <{benchmark}> BIND("in" AS ?direction) }}
  OPTIONAL {{ ?value skos:prefLabel ?label }}
}}""",
    "paging": PREFIXES
    + """SELECT ?benchmark ?label WHERE {{
  ?benchmark a nk:Benchmark ; skos:prefLabel ?label .
}} ORDER BY ?label ?benchmark LIMIT 20 OFFSET 40""",
    "construct": PREFIXES
    + """CONSTRUCT {{ ?benchmark skos:prefLabel ?label ; nk:metric ?metric }} WHERE {{
  ?benchmark nk:focusArea <{focus}> ; skos:prefLabel ?label ; nk:metric ?metric .
}}""",
    "describe": "DESCRIBE <{benchmark}>",
    "ask": PREFIXES + "ASK {{ ?benchmark nk:focusArea <{focus}> ; nk:metric <{metric}> }}",
}
# notekg measured with Cache-Control: no-cache, which skips its response cache.
UNCACHED = "notekg uncached"
UNCACHED_SUFFIX = ", uncached"
NOTEKG_VARIANTS = ("notekg", UNCACHED)
# The query that returns what an entity page shows: out and in links with labels.
ENTITY_QUERY = "entity out and in"
GRAPH_QUERIES = {"construct", "describe"}

JSON_RESULTS = "application/sparql-results+json"
NTRIPLES = "application/n-triples"

# The corpus sizes of a run with the default options, whose tables docs/benchmarks.md shows.
DEFAULT_SIZES = [100, 1000, 10_000]


# Servers


def _tree_pss(process: Any) -> int:
    """Return the PSS of a psutil process and of all its descendants, in bytes."""
    import psutil

    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_full_info().pss
        except psutil.NoSuchProcess:  # a query process that exited meanwhile
            continue
    return total


@dataclass
class Server:
    """A server process started by this script, stopped by its process id."""

    name: str
    process: subprocess.Popen[bytes]
    base: str
    query_path: str
    log: Path
    # Headers sent with every request, such as notekg's Cache-Control: no-cache.
    headers: dict[str, str] = field(default_factory=dict)

    def rss_bytes(self) -> int:
        """Return the memory that one of the server's serving processes needs, in bytes.

        The figure is the proportional set size (PSS) of a serving process and of the processes
        it forked, which counts a page shared by n processes as 1/n in each. notekg serves from
        granian workers, each with its own engine and with query processes that share the
        engine's pages, so the figure is the largest sum over one worker and its query
        processes. Other servers run in one process.
        """
        import psutil

        process = psutil.Process(self.process.pid)
        serving = process.children() if self.name == "notekg" and NOTEKG_WORKERS > 1 else []
        return max(_tree_pss(member) for member in serving or [process])

    def stop(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL after ten seconds."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_server(
    name: str, command: list[str], query_path: str, ready_path: str
) -> tuple[Server, float]:
    """Start a server and wait until ready_path returns 200; return it and the seconds taken."""
    log = WORK / f"{name}.log"
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(name, process, f"http://{HOST}:{PORTS[name]}", query_path, log)
    while time.perf_counter() - started < READY_TIMEOUT:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log}")
        if _answers(server.base + ready_path):
            return server, time.perf_counter() - started
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(
        f"{name} did not return 200 for {ready_path} within {READY_TIMEOUT:g} s; see {log}"
    )


def _answers(url: str) -> bool:
    parsed = urllib.parse.urlsplit(url)
    connection = HTTPConnection(parsed.hostname, parsed.port, timeout=5)
    try:
        connection.request("GET", parsed.path or "/")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


# The load generator


@dataclass
class Measurement:
    """Latencies of one request stream with a given number of concurrent clients."""

    clients: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def measure(
    server: Server, path: str, accept: str, clients: int, max_requests: int, max_seconds: float
) -> Measurement:
    """Send GET path from ``clients`` threads until max_requests are done or max_seconds pass.

    Each client keeps one HTTP/1.1 connection. A request still running at the deadline is
    waited for, so a stream always completes at least one request per client.
    """
    parsed = urllib.parse.urlsplit(server.base)
    headers = {**server.headers, "Accept": accept}
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    remaining = [max_requests]
    deadline = time.perf_counter() + max_seconds

    def client() -> None:
        nonlocal errors
        connection = HTTPConnection(parsed.hostname, parsed.port, timeout=REQUEST_TIMEOUT)
        done = 0
        while True:
            with lock:
                if remaining[0] <= 0 or (done and time.perf_counter() >= deadline):
                    break
                remaining[0] -= 1
            sent = time.perf_counter()
            status = _get(connection, path, headers)
            elapsed = time.perf_counter() - sent
            done += 1
            with lock:
                latencies.append(elapsed)
                errors += status != 200
            if status == 0:
                connection.close()
                connection = HTTPConnection(parsed.hostname, parsed.port, timeout=REQUEST_TIMEOUT)
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return Measurement(
        clients,
        len(latencies),
        errors,
        seconds,
        _percentile(latencies, 50),
        _percentile(latencies, 99),
    )


def _get(connection: HTTPConnection, path: str, headers: dict[str, str]) -> int:
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0


def _percentile(values: list[float], percent: int) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(percent / 100 * len(ordered)) - 1))
    return ordered[index] * 1000


def fetch(server: Server, path: str, accept: str) -> tuple[int, bytes, str]:
    """Send one GET and return the status, body and media type."""
    parsed = urllib.parse.urlsplit(server.base)
    connection = HTTPConnection(parsed.hostname, parsed.port, timeout=REQUEST_TIMEOUT * 5)
    try:
        connection.request("GET", path, headers={**server.headers, "Accept": accept})
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    finally:
        connection.close()


def query_path(server: Server, sparql: str) -> str:
    return server.query_path + "?" + urllib.parse.urlencode({"query": sparql})


# Result comparison


def parsed_result(name: str, body: bytes, media_type: str) -> Counter[object] | bool:
    """Parse a result into a multiset of bindings or triples, or a boolean for ASK."""
    if name in GRAPH_QUERIES:
        return _parsed_triples(body, media_type)

    document = json.loads(body)
    if "boolean" in document:
        return bool(document["boolean"])
    rows: Counter[object] = Counter()
    for binding in document["results"]["bindings"]:
        rows[tuple(sorted((variable, _term_key(term)) for variable, term in binding.items()))] += 1
    return rows


def _term_key(term: dict[str, str]) -> tuple[str, ...]:
    datatype = term.get("datatype", "")
    if datatype == "http://www.w3.org/2001/XMLSchema#string":
        datatype = ""
    return (
        term["type"].replace("typed-literal", "literal"),
        term["value"],
        term.get("xml:lang", ""),
        datatype,
    )


def _parsed_triples(body: bytes, media_type: str) -> Counter[object]:
    from rdflib import Graph
    from rdflib.compare import to_canonical_graph

    # rdflib-endpoint 0.6 sends RDF/XML whatever the Accept header requests.
    rdf_format = "xml" if "xml" in media_type else "nt"
    graph = Graph()
    graph.parse(data=body, format=rdf_format)
    return Counter(to_canonical_graph(graph))


# Corpora and ingest


@dataclass
class Corpus:
    """One generated corpus and the files made from it."""

    pages: int
    notes: Path
    mapping: Path
    database: Path
    nquads: Path
    merged: Path
    oxigraph_dir: Path

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"


def prepare_corpus(pages: int) -> Corpus:
    """Generate a fresh corpus of ``pages`` notes and remove what earlier runs made from it."""
    folder = WORK / f"corpus-{pages}"
    corpus = Corpus(
        pages,
        folder / "notes",
        folder / "notes.yaml",
        folder / "notekg.sqlite",
        folder / "graph.nq",
        folder / "merged.nt",
        folder / "oxigraph",
    )
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    generate(corpus.notes, pages, SEED)
    return corpus


def run_notekg(*arguments: str) -> float:
    """Run the notekg command line and return its wall-clock seconds.

    Its warnings, such as the ingest's warnings about table rows, go to COMMAND_LOG.
    """
    started = time.perf_counter()
    with COMMAND_LOG.open("ab") as log:
        log.write(f"$ notekg {' '.join(arguments)}\n".encode())
        log.flush()
        completed = subprocess.run(
            [str(NOTEKG), "--quiet", *arguments], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log
        )
    if completed.returncode != 0:
        raise RuntimeError(
            f"notekg {arguments[0]} failed with exit status {completed.returncode}; "
            f"its output is in {COMMAND_LOG}"
        )
    return time.perf_counter() - started


def ingest(corpus: Corpus, database: Path, *, validate: bool) -> float:
    """Ingest the corpus into a new store in database; return the seconds taken."""
    flags = [] if validate else ["--no-validate"]
    return run_notekg(
        "ingest",
        str(corpus.notes),
        "--mapping",
        str(corpus.mapping),
        "--database",
        f"sqlite:///{database}",
        *flags,
    )


def validated_ingest(corpus: Corpus) -> float | None:
    """Time an ingest with the SHACL check into a scratch store, below NO_VALIDATE_FROM_PAGES."""
    if corpus.pages >= NO_VALIDATE_FROM_PAGES:
        return None
    scratch = corpus.database.with_name("validated.sqlite")
    try:
        return ingest(corpus, scratch, validate=True)
    finally:
        scratch.unlink(missing_ok=True)


def reingest_one(corpus: Corpus) -> float:
    """Change one description in the middle page of the corpus and ingest the corpus again."""
    path = page_path(corpus.notes, corpus.pages // 2)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(" with ", " together with ", 1), encoding="utf-8")
    return run_notekg(
        "ingest",
        str(corpus.notes),
        "--mapping",
        str(corpus.mapping),
        "--database",
        corpus.database_url,
        "--no-validate",
    )


def directory_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# One size


@dataclass
class SizeResult:
    """Every number measured for one corpus size."""

    pages: int
    triples: int = 0
    ingest_seconds: float = 0.0
    # The ingest with the SHACL check, which pySHACL makes slow; None at the largest sizes.
    validated_ingest_seconds: float | None = None
    reingest_seconds: float = 0.0
    oxigraph_load_seconds: float = 0.0
    oxigraph_store_bytes: int = 0
    rdflib_load_seconds: float = 0.0
    notekg_startup_seconds: float = 0.0
    notekg_files_bytes: int = 0
    files_update_seconds: float = 0.0
    rss_bytes: dict[str, int] = field(default_factory=dict)
    queries: dict[str, dict[str, list[Measurement]]] = field(default_factory=dict)
    mismatches: dict[str, list[str]] = field(default_factory=dict)
    pages_latency: dict[str, list[Measurement]] = field(default_factory=dict)
    terms: dict[str, str] = field(default_factory=dict)


def run_size(pages: int, options: argparse.Namespace) -> SizeResult:
    """Build, load and measure one corpus size."""
    result = SizeResult(pages)
    corpus = prepare_corpus(pages)

    result.ingest_seconds = ingest(corpus, corpus.database, validate=False)
    result.validated_ingest_seconds = validated_ingest(corpus)
    run_notekg(
        "export",
        "--format",
        "nquads",
        "--output",
        str(corpus.nquads),
        "--database",
        corpus.database_url,
    )
    result.triples = sum(1 for _ in corpus.nquads.open("rb"))
    logger.info("%s pages: %s quads, ingest %.1f s", pages, result.triples, result.ingest_seconds)
    # notekg's default graph is the merge of the named graphs, which a triple format exports.
    # Oxigraph loads it as its default graph, so both servers query the same dataset.
    run_notekg(
        "export",
        "--format",
        "nt",
        "--output",
        str(corpus.merged),
        "--database",
        corpus.database_url,
    )

    started = time.perf_counter()
    subprocess.run(
        [
            str(BENCH_BIN / "oxigraph"),
            "load",
            "--location",
            str(corpus.oxigraph_dir),
            "--file",
            str(corpus.nquads),
            str(corpus.merged),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result.oxigraph_load_seconds = time.perf_counter() - started
    result.oxigraph_store_bytes = directory_bytes(corpus.oxigraph_dir)

    servers: dict[str, Server] = {}
    try:
        servers["oxigraph"], _ = start_server(
            "oxigraph",
            [
                str(BENCH_BIN / "oxigraph"),
                "serve-read-only",
                "--location",
                str(corpus.oxigraph_dir),
                "--bind",
                f"{HOST}:{PORTS['oxigraph']}",
            ],
            "/query",
            "/",
        )
        result.terms = pick_terms(servers["oxigraph"])
        servers["notekg"], result.notekg_startup_seconds = start_server(
            "notekg",
            [
                str(NOTEKG),
                "--quiet",
                "serve",
                "--host",
                HOST,
                "--port",
                str(PORTS["notekg"]),
                "--threads",
                "8",
                "--workers",
                str(NOTEKG_WORKERS),
                "--database",
                corpus.database_url,
            ],
            "/sparql",
            "/health",
        )
        if not options.skip_rdflib:
            servers["rdflib-endpoint"], result.rdflib_load_seconds = start_server(
                "rdflib-endpoint",
                [
                    str(BENCH_BIN / "rdflib-endpoint"),
                    "serve",
                    str(corpus.nquads),
                    "--host",
                    HOST,
                    "--port",
                    str(PORTS["rdflib-endpoint"]),
                ],
                "/",
                "/?query=ASK%7B%7D",
            )
        result.rss_bytes = {name: server.rss_bytes() for name, server in servers.items()}
        result.notekg_files_bytes = generation_bytes(corpus)
        servers = with_uncached_notekg(servers)

        result.mismatches = compare_results(servers, result.terms)
        result.queries = measure_queries(servers, result.terms, options)
        result.pages_latency = measure_pages(servers, result.terms, options)
        result.rss_bytes["notekg after queries"] = servers["notekg"].rss_bytes()
    finally:
        for server in servers.values():
            server.stop()

    result.reingest_seconds = reingest_one(corpus)
    logger.info("%s pages: re-ingest of one changed note %.2f s", pages, result.reingest_seconds)
    result.files_update_seconds = update_engine_files(corpus)
    logger.info("%s pages: engine files updated in %.2f s", pages, result.files_update_seconds)
    return result


def engine_files_folder(corpus: Corpus) -> Path:
    """Return the folder of notekg's engine files, which lies beside the SQLite store."""
    return corpus.database.with_name(corpus.database.name + ".oxigraph")


def generation_bytes(corpus: Corpus) -> int:
    """Return the size of the newest generation's folder of engine files."""
    folders = sorted(
        engine_files_folder(corpus).glob("generation-*"),
        key=lambda path: int(path.name.removeprefix("generation-")),
    )
    return directory_bytes(folders[-1]) if folders else 0


def update_engine_files(corpus: Corpus) -> float:
    """Build the engine files of the store's newest generation, as a server does on reload."""
    with closing(sqlite3.connect(corpus.database)) as connection:
        (generation,) = connection.execute("SELECT max(id) FROM generation").fetchone()
    started = time.perf_counter()
    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "service.engine_files",
            "--folder",
            str(engine_files_folder(corpus)),
            "--generation",
            str(generation),
        ],
        cwd=ROOT,
        env={**os.environ, "NOTEKG_DATABASE_URL": corpus.database_url},
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def pick_terms(oxigraph: Server) -> dict[str, str]:
    """Pick the benchmark, focus area and metric that the queries ask about."""
    sparql = (
        PREFIXES
        + """SELECT ?benchmark ?label ?focus ?metric WHERE {
  ?benchmark a nk:Benchmark ; skos:prefLabel ?label ; nk:focusArea ?focus ; nk:metric ?metric .
} ORDER BY ?benchmark LIMIT 1 OFFSET 1"""
    )
    status, body, _ = fetch(oxigraph, query_path(oxigraph, sparql), JSON_RESULTS)
    if status != 200:
        raise RuntimeError(f"Oxigraph returned {status} when picking terms: {body[:200]!r}")
    row = json.loads(body)["results"]["bindings"][0]
    label = row["label"]["value"]
    # The metric that the most benchmarks have: the entity page with the most links.
    hub_sparql = (
        PREFIXES
        + """SELECT ?metric (COUNT(?benchmark) AS ?count) WHERE { ?benchmark nk:metric ?metric }
GROUP BY ?metric ORDER BY DESC(?count) ?metric LIMIT 1"""
    )
    status, body, _ = fetch(oxigraph, query_path(oxigraph, hub_sparql), JSON_RESULTS)
    if status != 200:
        raise RuntimeError(f"Oxigraph returned {status} when picking the hub: {body[:200]!r}")
    hub = json.loads(body)["results"]["bindings"][0]["metric"]["value"]
    return {
        "benchmark": row["benchmark"]["value"],
        "label": label,
        "focus": row["focus"]["value"],
        "metric": row["metric"]["value"],
        "needle": label.split("-")[0].lower()[:5],
        "hub": hub,
    }


def sparql_of(name: str, terms: dict[str, str]) -> str:
    return QUERIES[name].format(**terms)


def accept_of(name: str) -> str:
    return NTRIPLES if name in GRAPH_QUERIES else JSON_RESULTS


def compare_results(servers: dict[str, Server], terms: dict[str, str]) -> dict[str, list[str]]:
    """Return, per server, the queries whose results differ from Oxigraph server's."""
    reference = servers["oxigraph"]
    expected = {}
    for name in QUERIES:
        status, body, media_type = fetch(
            reference, query_path(reference, sparql_of(name, terms)), accept_of(name)
        )
        if status != 200:
            raise RuntimeError(f"Oxigraph returned {status} for {name}: {body[:300]!r}")
        expected[name] = parsed_result(name, body, media_type)

    mismatches: dict[str, list[str]] = {}
    for server_name, server in servers.items():
        if server is reference:
            continue
        differing = []
        for name in QUERIES:
            status, body, media_type = fetch(
                server, query_path(server, sparql_of(name, terms)), accept_of(name)
            )
            if status != 200 or parsed_result(name, body, media_type) != expected[name]:
                logger.warning(
                    "%s differs from Oxigraph on %s (status %s)", server_name, name, status
                )
                differing.append(name)
        mismatches[server_name] = differing
    return mismatches


def measure_queries(
    servers: dict[str, Server], terms: dict[str, str], options: argparse.Namespace
) -> dict[str, dict[str, list[Measurement]]]:
    """Measure every query on every server with 1 and 4 clients, after three warm-up requests."""
    measured: dict[str, dict[str, list[Measurement]]] = {}
    for server_name, server in servers.items():
        measured[server_name] = {}
        for name in QUERIES:
            path = query_path(server, sparql_of(name, terms))
            measure(server, path, accept_of(name), 1, 3, options.seconds)
            measured[server_name][name] = [
                measure(server, path, accept_of(name), clients, options.requests, options.seconds)
                for clients in CLIENTS
            ]
            logger.info("%s %s: %s", server_name, name, _brief(measured[server_name][name]))
    return measured


def with_uncached_notekg(servers: dict[str, Server]) -> dict[str, Server]:
    """Add notekg once more as UNCACHED, whose requests skip notekg's response cache.

    The requests carry ``Cache-Control: no-cache``, so notekg runs each query and renders each
    page afresh. The servers come in the order of the tables: Oxigraph first, then notekg.
    """
    notekg = servers["notekg"]
    uncached = Server(
        notekg.name,
        notekg.process,
        notekg.base,
        notekg.query_path,
        notekg.log,
        {"Cache-Control": "no-cache"},
    )
    ordered: dict[str, Server] = {
        name: servers[name] for name in ("oxigraph", "notekg") if name in servers
    }
    ordered[UNCACHED] = uncached
    ordered.update(servers)
    return ordered


def measure_pages(
    servers: dict[str, Server], terms: dict[str, str], options: argparse.Namespace
) -> dict[str, list[Measurement]]:
    """Measure notekg's entity pages (HTML) and search page, from its cache and afresh."""
    paths = {
        "entity page": urllib.parse.urlsplit(terms["benchmark"]).path,
        "hub entity page": urllib.parse.urlsplit(terms["hub"]).path,
        "search": "/search?" + urllib.parse.urlencode({"q": terms["needle"]}),
    }
    measured = {}
    for server_name, suffix in (("notekg", ""), (UNCACHED, UNCACHED_SUFFIX)):
        server = servers[server_name]
        for name, path in paths.items():
            status, body, _ = fetch(server, path, "text/html")
            if status != 200:
                raise RuntimeError(f"notekg returned {status} for {path}: {body[:300]!r}")
            measure(server, path, "text/html", 1, 3, options.seconds)
            measured[name + suffix] = [
                measure(server, path, "text/html", clients, options.requests, options.seconds)
                for clients in CLIENTS
            ]
            logger.info("%s %s: %s", server_name, name, _brief(measured[name + suffix]))
    return measured


def _brief(measurements: list[Measurement]) -> str:
    return "; ".join(
        f"{m.clients} clients {m.throughput:.1f}/s p50 {m.p50_ms:.2f} ms p99 {m.p99_ms:.2f} ms"
        for m in measurements
    )


# Report


def geometric_mean(values: list[float]) -> float:
    positive = [value for value in values if value > 0]
    if not positive:
        return math.nan
    return math.exp(sum(math.log(value) for value in positive) / len(positive))


def throughput_at(result: SizeResult, server: str, query: str, clients: int) -> float:
    for measurement in result.queries.get(server, {}).get(query, []):
        if measurement.clients == clients:
            return measurement.throughput
    return math.nan


def _throughput_mean(result: SizeResult, server: str, clients: int) -> float:
    """Return the geometric mean of a server's throughput over the query mix."""
    return geometric_mean([throughput_at(result, server, query, clients) for query in QUERIES])


def p50_at(measurements: list[Measurement], clients: int) -> float:
    return next((m.p50_ms for m in measurements if m.clients == clients), math.nan)


def markdown(results: list[SizeResult], environment: dict[str, str]) -> str:
    """Return the generated part of docs/benchmarks.md."""
    versions = ", ".join(
        f"{name} {_without_name(name, value)}"
        for name, value in environment.items()
        if name not in ("date", "machine")
    )
    lines = [
        RESULTS_START,
        "",
        f"Measured on {environment['date']}; {environment['machine']}.",
        f"Versions: {versions}.",
        "",
    ]
    lines += _summary_table(results)
    for result in results:
        lines += _size_tables(result)
    lines += ["", f"![p50 latency against graph size, 4 clients]({PLOT.name})", "", RESULTS_END]
    return "\n".join(lines)


def _without_name(name: str, version: str) -> str:
    """Drop the program name that a --version output starts with, as in "Python 3.11.7"."""
    if version.lower().startswith(name.lower() + " "):
        return version[len(name) + 1 :]
    return version


def _summary_table(results: list[SizeResult]) -> list[str]:
    lines = [
        "| pages | quads | ingest s | ingest quads/s | ingest with SHACL s | re-ingest 1 note s "
        "| oxigraph load s | notekg start s | start / load "
        "| notekg PSS MiB per worker, loaded / after the queries "
        "| oxigraph store MiB | PSS / store, loaded / after the queries "
        "| oxigraph PSS MiB | rdflib-endpoint load s | rdflib-endpoint PSS MiB |",
        "|" + " --- |" * 15,
    ]
    for r in results:
        loaded = r.rss_bytes.get("notekg", 0)
        queried = r.rss_bytes.get("notekg after queries", loaded)
        store = max(r.oxigraph_store_bytes, 1)
        lines.append(
            f"| {r.pages:,} | {r.triples:,} | {r.ingest_seconds:.1f} "
            f"| {r.triples / r.ingest_seconds:,.0f} "
            f"| {_seconds(r.validated_ingest_seconds)} | {r.reingest_seconds:.2f} "
            f"| {r.oxigraph_load_seconds:.2f} | {r.notekg_startup_seconds:.2f} "
            f"| {r.notekg_startup_seconds / r.oxigraph_load_seconds:.2f} "
            f"| {loaded / 2**20:.0f} / {queried / 2**20:.0f} "
            f"| {r.oxigraph_store_bytes / 2**20:.0f} "
            f"| {loaded / store:.2f} / {queried / store:.2f} "
            f"| {r.rss_bytes.get('oxigraph', 0) / 2**20:.0f} | {r.rdflib_load_seconds:.1f} "
            f"| {r.rss_bytes.get('rdflib-endpoint', 0) / 2**20:.0f} |"
        )
    lines += [
        "",
        "notekg's engine files: the size of one generation's folder, and the time to build the "
        "folder of the generation that the re-ingest wrote from the folder before it.",
        "",
        "| pages | engine files MiB | oxigraph store MiB | update after re-ingest s |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r.pages:,} | {r.notekg_files_bytes / 2**20:.0f} "
        f"| {r.oxigraph_store_bytes / 2**20:.0f} | {r.files_update_seconds:.2f} |"
        for r in results
    ]
    return lines


def _size_tables(result: SizeResult) -> list[str]:
    servers = list(result.queries)
    variants = [s for s in NOTEKG_VARIANTS if s in servers]
    others = [s for s in servers if s not in NOTEKG_VARIANTS]
    ratios = [(variant, other) for variant in variants for other in others]
    lines = ["", f"### {result.pages:,} pages, {result.triples:,} quads", ""]
    for clients in CLIENTS:
        lines += [
            f"{clients} client{'s' if clients > 1 else ''}: requests per second, "
            "p50 / p99 latency in ms, and notekg's throughput as a multiple of each other "
            "server's.",
            "",
            "| query | "
            + " | ".join(f"{s} req/s | {s} p50 / p99" for s in servers)
            + " | "
            + " | ".join(f"{variant} / {other}" for variant, other in ratios)
            + " |",
            "|" + " --- |" * (1 + 2 * len(servers) + len(ratios)),
        ]
        for query in QUERIES:
            cells = []
            for server in servers:
                m = next(m for m in result.queries[server][query] if m.clients == clients)
                error_mark = f" ({m.errors} errors)" if m.errors else ""
                cells += [f"{m.throughput:,.1f}{error_mark}", f"{m.p50_ms:.2f} / {m.p99_ms:.2f}"]
            cells += [
                _ratio(
                    throughput_at(result, variant, query, clients),
                    throughput_at(result, other, query, clients),
                )
                for variant, other in ratios
            ]
            lines.append(f"| {query} | " + " | ".join(cells) + " |")
        means = [
            _ratio(
                _throughput_mean(result, variant, clients), _throughput_mean(result, other, clients)
            )
            for variant, other in ratios
        ]
        lines.append("| geometric mean | " + " | ".join([""] * (2 * len(servers)) + means) + " |")
        lines.append("")

    oxigraph_entity = result.queries.get("oxigraph", {}).get(ENTITY_QUERY, [])
    lines += [
        "| notekg page | 1 client p50 / p99 ms | 4 clients p50 / p99 ms | 4 clients req/s "
        "| p50 over Oxigraph's `entity out and in`, 1 / 4 clients |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, measurements in result.pages_latency.items():
        one = next(m for m in measurements if m.clients == 1)
        four = next(m for m in measurements if m.clients == 4)
        versus = (
            f"{one.p50_ms / p50_at(oxigraph_entity, 1):.2f} / "
            f"{four.p50_ms / p50_at(oxigraph_entity, 4):.2f}"
            if name.startswith("entity page")
            else ""
        )
        lines.append(
            f"| {name} | {one.p50_ms:.2f} / {one.p99_ms:.2f} "
            f"| {four.p50_ms:.2f} / {four.p99_ms:.2f} | {four.throughput:,.1f} | {versus} |"
        )
    lines.append("")
    mismatched = {name: queries for name, queries in result.mismatches.items() if queries}
    if mismatched:
        lines.append(
            "Results that differ from Oxigraph server's: "
            + "; ".join(f"{name}: {', '.join(queries)}" for name, queries in mismatched.items())
            + "."
        )
    else:
        lines.append("Every server returned the same results as Oxigraph server on every query.")
    return lines


def _seconds(value: float | None) -> str:
    return "not run" if value is None else f"{value:.1f}"


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}"


def write_plot(results: list[SizeResult], path: Path) -> None:
    """Plot p50 latency with 4 clients against graph size, one line per server and query."""
    import matplotlib

    matplotlib.use("svg")
    from matplotlib import pyplot

    servers = ("notekg", UNCACHED, "oxigraph", "rdflib-endpoint")
    figure, axes = pyplot.subplots(1, len(servers), figsize=(20, 5), sharey=True)
    for axes_index, server in enumerate(servers):
        plot = axes[axes_index]
        for query in QUERIES:
            points = [
                (r.triples, p50_at(r.queries[server][query], 4))
                for r in results
                if server in r.queries
            ]
            if points:
                plot.plot([x for x, _ in points], [y for _, y in points], marker="o", label=query)
        plot.set_title(server)
        plot.set_xscale("log")
        plot.set_yscale("log")
        plot.set_xlabel("quads")
        plot.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("p50 latency, 4 clients (ms)")
    axes[-1].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, format="svg")
    pyplot.close(figure)


def environment() -> dict[str, str]:
    """Describe the machine and the versions measured."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    # The files that a run writes do not count as changes to what it measures.
    written = [str(path.relative_to(ROOT)) for path in (DOC, PLOT)]
    dirty = subprocess.run(
        [
            "git",
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            *(":!" + name for name in written),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores ({cpu}), {memory_kib / 2**20:.0f} GiB memory",
        "notekg commit": commit + (" with uncommitted changes" if dirty.strip() else ""),
        "python": _version([str(ROOT / ".venv" / "bin" / "python"), "--version"]),
        "pyoxigraph": _version(
            [
                str(ROOT / ".venv" / "bin" / "python"),
                "-c",
                "import pyoxigraph; print(pyoxigraph.__version__)",
            ]
        ),
        "oxigraph": _version([str(BENCH_BIN / "oxigraph"), "--version"]),
        "rdflib": _version(
            [str(BENCH_BIN / "python"), "-c", "import rdflib; print(rdflib.__version__)"]
        ),
        "rdflib-endpoint": _version(
            [
                str(BENCH_BIN / "python"),
                "-c",
                "from importlib.metadata import version; print(version('rdflib-endpoint'))",
            ]
        ),
    }


def _version(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()


def write_report(results: list[SizeResult], env: dict[str, str], *, publish: bool) -> None:
    """Write results.json, results.md and the plot into benchmarks/work/.

    With ``publish``, the tables also replace those of docs/benchmarks.md, and the plot the one
    in docs/.
    """
    raw = {
        "environment": env,
        "published": publish,
        "sizes": [asdict(result) for result in results],
    }
    (WORK / "results.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    write_plot(results, PLOT if publish else WORK / PLOT.name)

    generated = markdown(results, env)
    (WORK / "results.md").write_text(generated + "\n", encoding="utf-8")
    if not publish:
        return
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if RESULTS_START in text and RESULTS_END in text:
        before = text.split(RESULTS_START)[0]
        after = text.split(RESULTS_END, 1)[1]
        DOC.write_text(before + generated + after, encoding="utf-8")
    else:
        logger.warning("%s has no result markers; the tables are in %s", DOC, WORK / "results.md")


def check_installed() -> None:
    """Exit with the commands to run when notekg's or the other servers' environment is missing."""
    if not NOTEKG.exists():
        sys.exit(
            f"{NOTEKG} not found: install notekg first with\n"
            "  python3 -m venv .venv && .venv/bin/pip install -e ."
        )
    if not (BENCH_BIN / "oxigraph").exists():
        sys.exit(
            f"{BENCH_BIN / 'oxigraph'} not found: install the other servers first with\n"
            "  python3 -m venv benchmarks/.venv && "
            "benchmarks/.venv/bin/pip install -r benchmarks/requirements.txt"
        )


def report_again() -> None:
    """Write the report of the last run again from benchmarks/work/results.json."""
    path = WORK / "results.json"
    if not path.exists():
        sys.exit(f"{path} not found: run the benchmark first")
    results, env, published = read_results(path)
    write_report(results, env, publish=published)
    logger.info("wrote the report of %s again (%s)", path, DOC if published else WORK)


def read_results(path: Path) -> tuple[list[SizeResult], dict[str, str], bool]:
    """Return the results, the environment and whether they were published, from results.json.

    A file written before results.json recorded publishing counts as published when it has
    every default size.
    """
    raw = json.loads(path.read_text(encoding="utf-8"))
    results = []
    for size in raw["sizes"]:
        size["queries"] = {
            server: {query: [Measurement(**m) for m in runs] for query, runs in by_query.items()}
            for server, by_query in size["queries"].items()
        }
        size["pages_latency"] = {
            name: [Measurement(**m) for m in runs] for name, runs in size["pages_latency"].items()
        }
        results.append(SizeResult(**size))
    published = raw.get("published", [r.pages for r in results] == DEFAULT_SIZES)
    return results, raw["environment"], published


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=DEFAULT_SIZES,
        help="Corpus sizes in pages [default: 100 1000 10000].",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=2000,
        help="Maximum requests per query, server and client count [default: 2000].",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=4.0,
        help="Maximum seconds per query, server and client count [default: 4].",
    )
    parser.add_argument("--skip-rdflib", action="store_true", help="Do not start rdflib-endpoint.")
    parser.add_argument(
        "--report",
        action="store_true",
        help="Measure nothing: write the tables and the plot again from "
        "benchmarks/work/results.json, as after a change to the report.",
    )
    options = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if options.report:
        report_again()
        return
    check_installed()
    WORK.mkdir(parents=True, exist_ok=True)
    env = environment()
    # Only a run with every default replaces the published tables; others stay in WORK.
    publish = all(
        getattr(options, name) == parser.get_default(name)
        for name in ("sizes", "requests", "seconds", "skip_rdflib")
    )
    results = []
    for pages in options.sizes:
        results.append(run_size(pages, options))
        write_report(results, env, publish=publish and len(results) == len(options.sizes))
    if publish:
        logger.info("wrote %s and %s", DOC, PLOT)
    else:
        logger.info(
            "wrote %s and %s; %s changes only with the default options",
            WORK / "results.md",
            WORK / PLOT.name,
            DOC,
        )


if __name__ == "__main__":
    main()
