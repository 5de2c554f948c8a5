"""The store: named graphs kept in a SQL database, one generation per ingest.

A generation is the complete set of graph versions that the service shows. An ingest writes a
new generation in one transaction: graph versions it adds, plus references to the unchanged
versions of the previous generation. A failed or interrupted ingest rolls back and leaves the
previous generation current. Each graph version stores the graph's triples as zlib-compressed
N-Quads, which the query engine bulk-loads in one stream.

Beside its triples, a graph version keeps what an ingest needs to update its ``nk:mentions``
links without reading its note again: the labels of its entities, the texts searched for
labels, the tokens of those texts (indexed) and how many mention lines end its N-Quads.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

logger = logging.getLogger(__name__)

_Value = TypeVar("_Value")

GENERATIONS_KEPT = 3

# Key of the PostgreSQL advisory lock that serializes generation writers ("nkg" in ASCII).
WRITER_LOCK_KEY = 0x6E6B67

# Tokens are indexed by their first characters only, because a PostgreSQL B-tree index entry
# can take at most about a third of a page (2,704 bytes with 8 kB pages, per the PostgreSQL
# documentation "B-Tree Indexes"). A 200-character token has at most 800 bytes in UTF-8.
MAX_TOKEN_LENGTH = 200

# Values per IN (...) list, so that a statement stays below the 999 bound parameters that
# SQLite allows by default before version 3.32 (32,766 since).
IN_CHUNK_SIZE = 500


class StoreError(Exception):
    """The store cannot be opened or written."""


class GenerationConflict(StoreError):
    """Another writer committed a generation after the one a change was computed from."""


class _Base(DeclarativeBase):
    pass


class GenerationRow(_Base):
    __tablename__ = "generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    triple_count: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")


class GraphVersionRow(_Base):
    __tablename__ = "graph_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    graph_iri: Mapped[str] = mapped_column(String(2048), index=True)
    source: Mapped[str] = mapped_column(String(4096))
    content_hash: Mapped[str] = mapped_column(String(64))
    triple_count: Mapped[int] = mapped_column(Integer)
    nquads: Mapped[bytes] = mapped_column(LargeBinary)


class GenerationGraphRow(_Base):
    __tablename__ = "generation_graph"

    generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), primary_key=True
    )
    graph_version_id: Mapped[int] = mapped_column(
        ForeignKey("graph_version.id", ondelete="CASCADE"), primary_key=True
    )


class EntityLabelRow(_Base):
    """A label of an entity in one graph version, so an ingest can find mentions of it."""

    __tablename__ = "entity_label"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    graph_version_id: Mapped[int] = mapped_column(
        ForeignKey("graph_version.id", ondelete="CASCADE"), index=True
    )
    iri: Mapped[str] = mapped_column(String(2048))
    label: Mapped[str] = mapped_column(Text)


class GraphProblemRow(_Base):
    """A warning found while a graph version was built, reported again while it is current."""

    __tablename__ = "graph_problem"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    graph_version_id: Mapped[int] = mapped_column(
        ForeignKey("graph_version.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)


class MentionSourceRow(_Base):
    """The texts of a graph version that an ingest searches for entity labels.

    ``texts`` is a JSON array of [subject IRI, text] pairs. ``mention_count`` is the number of
    ``nk:mentions`` lines that the ingest derived from the texts and put at the end of the
    version's N-Quads. Every graph version that this code writes gets a row, so a version
    without one was written by a notekg that kept no mention texts.
    """

    __tablename__ = "mention_source"

    graph_version_id: Mapped[int] = mapped_column(
        ForeignKey("graph_version.id", ondelete="CASCADE"), primary_key=True
    )
    texts: Mapped[str] = mapped_column(Text)
    mention_count: Mapped[int] = mapped_column(Integer)


class MentionTokenRow(_Base):
    """A token of a graph version's mention texts, indexed to find the texts that name a label."""

    __tablename__ = "mention_token"

    graph_version_id: Mapped[int] = mapped_column(
        ForeignKey("graph_version.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(MAX_TOKEN_LENGTH), primary_key=True, index=True)


@dataclass(frozen=True)
class Generation:
    """A committed generation: its number, when it was written and how many triples it has."""

    id: int
    created_at: datetime
    triple_count: int
    summary: str


@dataclass(frozen=True)
class GraphVersion:
    """One stored version of a named graph, without its triples."""

    id: int
    graph_iri: str
    source: str
    content_hash: str
    triple_count: int


@dataclass(frozen=True)
class StoredMentions:
    """A stored graph version with its N-Quads and the texts its mentions were derived from."""

    version_id: int
    graph_iri: str
    source: str
    triple_count: int
    nquads: bytes
    texts: list[tuple[str, str]]
    mention_count: int


class Store:
    """Named graphs in a SQL database, reached through SQLAlchemy."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        try:
            _Base.metadata.create_all(self.engine)
        except OperationalError as error:
            raise StoreError(f"cannot open the store {_safe_url(url)}: {error.orig}") from error

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def current_generation(self) -> Generation | None:
        """Return the newest committed generation, or None when nothing was ever ingested."""
        with Session(self.engine) as session:
            row = session.scalars(
                select(GenerationRow).order_by(GenerationRow.id.desc()).limit(1)
            ).first()
            return _generation(row) if row else None

    def current_generation_id(self) -> int | None:
        """Return the newest generation's number with one small query, for reload checks."""
        with Session(self.engine) as session:
            return session.scalar(select(func.max(GenerationRow.id)))

    def graph_versions(self, generation_id: int) -> list[GraphVersion]:
        """Return the graph versions of a generation, without their triples."""
        # The columns are selected one by one, so the N-Quads blobs are never read.
        query = (
            select(
                GraphVersionRow.id,
                GraphVersionRow.graph_iri,
                GraphVersionRow.source,
                GraphVersionRow.content_hash,
                GraphVersionRow.triple_count,
            )
            .join(GenerationGraphRow, GenerationGraphRow.graph_version_id == GraphVersionRow.id)
            .where(GenerationGraphRow.generation_id == generation_id)
            .order_by(GraphVersionRow.graph_iri)
        )
        with Session(self.engine) as session:
            return [GraphVersion(*row) for row in session.execute(query)]

    def iter_nquads(self, generation_id: int) -> Iterator[bytes]:
        """Yield the N-Quads of every graph of a generation, one graph at a time."""
        query = (
            select(GraphVersionRow.nquads)
            .join(GenerationGraphRow, GenerationGraphRow.graph_version_id == GraphVersionRow.id)
            .where(GenerationGraphRow.generation_id == generation_id)
            .order_by(GraphVersionRow.graph_iri)
        )
        with Session(self.engine) as session:
            for compressed in session.scalars(query):
                yield zlib.decompress(compressed)

    def problems(self, generation_id: int) -> dict[str, list[tuple[int, str]]]:
        """Return source → (line, message) of the warnings stored with a generation's graphs."""
        query = (
            select(GraphVersionRow.source, GraphProblemRow.line, GraphProblemRow.message)
            .join(GraphVersionRow, GraphVersionRow.id == GraphProblemRow.graph_version_id)
            .join(GenerationGraphRow, GenerationGraphRow.graph_version_id == GraphVersionRow.id)
            .where(GenerationGraphRow.generation_id == generation_id)
            .order_by(GraphVersionRow.source, GraphProblemRow.line, GraphProblemRow.id)
        )
        found: dict[str, list[tuple[int, str]]] = {}
        with Session(self.engine) as session:
            for source, line, message in session.execute(query):
                found.setdefault(source, []).append((line, message))
        return found

    def labels(self, generation_id: int) -> list[tuple[str, str, str]]:
        """Return (entity IRI, label, graph IRI) for every entity label of a generation."""
        query = (
            select(EntityLabelRow.iri, EntityLabelRow.label, GraphVersionRow.graph_iri)
            .join(GraphVersionRow, GraphVersionRow.id == EntityLabelRow.graph_version_id)
            .join(GenerationGraphRow, GenerationGraphRow.graph_version_id == GraphVersionRow.id)
            .where(GenerationGraphRow.generation_id == generation_id)
        )
        with Session(self.engine) as session:
            return [(iri, label, graph) for iri, label, graph in session.execute(query)]

    def versions_with_tokens(
        self, generation_id: int, token_sets: Iterable[Iterable[str]]
    ) -> list[int]:
        """Return the graph versions of a generation whose mention texts contain a token set.

        A version is returned when its texts contain every token of at least one of the sets.
        Tokens are compared on their first MAX_TOKEN_LENGTH characters, so a version with a
        longer token that only shares that prefix is returned too.
        """
        expected = [{_token_key(token) for token in tokens} for tokens in token_sets]
        found: dict[int, set[str]] = {}
        with Session(self.engine) as session:
            for chunk in _chunks(sorted({token for tokens in expected for token in tokens})):
                query = (
                    select(MentionTokenRow.graph_version_id, MentionTokenRow.token)
                    .join(
                        GenerationGraphRow,
                        GenerationGraphRow.graph_version_id == MentionTokenRow.graph_version_id,
                    )
                    .where(GenerationGraphRow.generation_id == generation_id)
                    .where(MentionTokenRow.token.in_(chunk))
                )
                for version_id, token in session.execute(query):
                    found.setdefault(version_id, set()).add(token)
        return sorted(
            version_id
            for version_id, tokens in found.items()
            if any(token_set <= tokens for token_set in expected)
        )

    def stored_mentions(self, version_ids: Iterable[int]) -> list[StoredMentions]:
        """Return the N-Quads and mention texts of graph versions that have mention texts."""
        found: list[StoredMentions] = []
        with Session(self.engine) as session:
            for chunk in _chunks(sorted(set(version_ids))):
                query = (
                    select(
                        GraphVersionRow.id,
                        GraphVersionRow.graph_iri,
                        GraphVersionRow.source,
                        GraphVersionRow.triple_count,
                        GraphVersionRow.nquads,
                        MentionSourceRow.texts,
                        MentionSourceRow.mention_count,
                    )
                    .join(MentionSourceRow, MentionSourceRow.graph_version_id == GraphVersionRow.id)
                    .where(GraphVersionRow.id.in_(chunk))
                )
                found.extend(_stored_mentions(*row) for row in session.execute(query))
        return found

    def untracked_graphs(self, generation_id: int) -> list[tuple[str, str]]:
        """Return (graph IRI, source) of a generation's graph versions without mention texts.

        Only graph versions written by a notekg that kept no mention texts have none.
        """
        query = (
            select(GraphVersionRow.graph_iri, GraphVersionRow.source)
            .join(GenerationGraphRow, GenerationGraphRow.graph_version_id == GraphVersionRow.id)
            .outerjoin(MentionSourceRow, MentionSourceRow.graph_version_id == GraphVersionRow.id)
            .where(GenerationGraphRow.generation_id == generation_id)
            .where(MentionSourceRow.graph_version_id.is_(None))
            .order_by(GraphVersionRow.source, GraphVersionRow.graph_iri)
        )
        with Session(self.engine) as session:
            return [(graph_iri, source) for graph_iri, source in session.execute(query)]

    def read_graph(self, generation_id: int, graph_iri: str) -> bytes | None:
        """Return the N-Quads of one graph of a generation, or None when it has no such graph."""
        query = (
            select(GraphVersionRow.nquads)
            .join(GenerationGraphRow, GenerationGraphRow.graph_version_id == GraphVersionRow.id)
            .where(GenerationGraphRow.generation_id == generation_id)
            .where(GraphVersionRow.graph_iri == graph_iri)
        )
        with Session(self.engine) as session:
            compressed = session.scalars(query).first()
        return zlib.decompress(compressed) if compressed is not None else None

    def iter_graphs(self, generation_id: int) -> Iterator[tuple[str, bytes]]:
        """Yield the IRI and the N-Quads of every graph of a generation, one graph at a time."""
        query = (
            select(GraphVersionRow.graph_iri, GraphVersionRow.nquads)
            .join(GenerationGraphRow, GenerationGraphRow.graph_version_id == GraphVersionRow.id)
            .where(GenerationGraphRow.generation_id == generation_id)
            .order_by(GraphVersionRow.graph_iri)
        )
        with Session(self.engine) as session:
            for graph_iri, compressed in session.execute(query):
                yield graph_iri, zlib.decompress(compressed)

    def write_generation(self, change: GenerationChange) -> Generation:
        """Commit a new generation in one transaction and return it.

        When ``change.based_on`` is set and another generation was committed since, the write
        raises GenerationConflict. On any error the transaction rolls back and the previous
        generation stays current.
        """
        with Session(self.engine) as session, session.begin():
            generation = _write(session, change)

        logger.info(
            "wrote generation %s: %s graphs added or replaced, %s dropped, %s triples",
            generation.id,
            len(change.added),
            len(change.dropped),
            generation.triple_count,
        )
        self._prune()
        return generation

    def _prune(self) -> None:
        """Delete generations older than the newest few, and graph versions no generation uses."""
        with Session(self.engine) as session, session.begin():
            keep = (
                select(GenerationRow.id).order_by(GenerationRow.id.desc()).limit(GENERATIONS_KEPT)
            )
            kept_ids = list(session.scalars(keep))
            if not kept_ids:
                return

            oldest_kept = min(kept_ids)
            session.execute(
                delete(GenerationGraphRow).where(GenerationGraphRow.generation_id < oldest_kept)
            )
            session.execute(delete(GenerationRow).where(GenerationRow.id < oldest_kept))
            used = select(GenerationGraphRow.graph_version_id)
            session.execute(delete(GraphVersionRow).where(GraphVersionRow.id.not_in(used)))


@dataclass
class NewGraph:
    """A named graph to store: its IRI, its source (a note path), its hash and its N-Quads."""

    graph_iri: str
    source: str
    content_hash: str
    nquads: bytes
    triple_count: int
    labels: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    # The (subject IRI, text) pairs searched for entity labels, and their distinct tokens.
    mention_texts: list[tuple[str, str]] = field(default_factory=list)
    mention_tokens: set[str] = field(default_factory=set)
    # How many nk:mentions lines derived from mention_texts end ``nquads``.
    mention_count: int = 0


@dataclass
class RelinkedGraph:
    """A new version of a stored graph whose nk:mentions lines at the end of its N-Quads changed.

    The new version keeps the source, hash, labels, problems and mention texts of the version
    ``version_id`` that it replaces.
    """

    version_id: int
    graph_iri: str
    nquads: bytes
    triple_count: int
    mention_count: int


@dataclass
class GenerationChange:
    """What a new generation changes relative to the current one.

    Graphs in ``added`` and ``relinked`` replace stored graphs of the same IRI, and graphs in
    ``dropped`` are left out. Every other graph of the current generation is kept as it is.
    """

    added: list[NewGraph]
    dropped: list[str]
    summary: str = ""
    # The generation the change was computed from, 0 for an empty store; None skips the check.
    based_on: int | None = None
    relinked: list[RelinkedGraph] = field(default_factory=list)


def _write(session: Session, change: GenerationChange) -> Generation:
    row = GenerationRow(created_at=datetime.now(UTC), triple_count=0, summary=change.summary)
    _lock_writers(session)
    session.add(row)
    session.flush()

    # Writers are serialized, so the newest generation before ours is committed and complete.
    previous = session.scalar(select(func.max(GenerationRow.id)).where(GenerationRow.id < row.id))
    if change.based_on is not None and change.based_on != (previous or 0):
        raise GenerationConflict(
            f"generation {previous} was committed after generation {change.based_on}, which "
            "the change was computed from; compute the change again from the newest generation"
        )
    replaced = {graph.graph_iri for graph in change.added} | set(change.dropped)
    replaced |= {graph.graph_iri for graph in change.relinked}
    kept_ids, kept_triples = _kept_versions(session, previous, replaced)

    row.triple_count = (
        kept_triples
        + sum(graph.triple_count for graph in change.added)
        + sum(graph.triple_count for graph in change.relinked)
    )
    kept_ids.extend(_write_added(session, change.added))
    kept_ids.extend(_write_relinked(session, graph) for graph in change.relinked)

    # One executemany instead of one ORM object per row: a generation of a 10,000-note corpus
    # references 20,000 graph versions.
    if kept_ids:
        session.execute(
            insert(GenerationGraphRow),
            [{"generation_id": row.id, "graph_version_id": version_id} for version_id in kept_ids],
        )
    return _generation(row)


def _kept_versions(
    session: Session, previous: int | None, replaced: set[str]
) -> tuple[list[int], int]:
    """Return the ids and the triple count of the previous generation's graphs not replaced."""
    kept_ids: list[int] = []
    kept_triples = 0
    if previous is None:
        return kept_ids, kept_triples

    kept = session.execute(
        select(GraphVersionRow.id, GraphVersionRow.graph_iri, GraphVersionRow.triple_count)
        .join(GenerationGraphRow, GenerationGraphRow.graph_version_id == GraphVersionRow.id)
        .where(GenerationGraphRow.generation_id == previous)
    )
    for version_id, graph_iri, triple_count in kept:
        if graph_iri not in replaced:
            kept_ids.append(version_id)
            kept_triples += triple_count
    return kept_ids, kept_triples


def _write_added(session: Session, graphs: list[NewGraph]) -> list[int]:
    """Insert the new graph versions with their problems, labels and mention texts."""
    version_ids = []
    mention_sources: list[dict[str, object]] = []
    mention_tokens: list[dict[str, object]] = []
    for graph in graphs:
        version = GraphVersionRow(
            graph_iri=graph.graph_iri,
            source=graph.source,
            content_hash=graph.content_hash,
            triple_count=graph.triple_count,
            nquads=zlib.compress(graph.nquads, 6),
        )
        session.add(version)
        session.flush()
        version_ids.append(version.id)
        if graph.problems:
            session.execute(
                insert(GraphProblemRow),
                [
                    {"graph_version_id": version.id, "line": line, "message": message}
                    for line, message in graph.problems
                ],
            )
        if graph.labels:
            session.execute(
                insert(EntityLabelRow),
                [
                    {"graph_version_id": version.id, "iri": iri, "label": label}
                    for iri, label in graph.labels
                ],
            )
        mention_sources.append(
            {
                "graph_version_id": version.id,
                "texts": json.dumps(graph.mention_texts, ensure_ascii=False),
                "mention_count": graph.mention_count,
            }
        )
        mention_tokens.extend(
            {"graph_version_id": version.id, "token": token}
            for token in {_token_key(token) for token in graph.mention_tokens}
        )

    # The mention rows of all graphs go in one executemany each, as the generation rows do.
    if mention_sources:
        session.execute(insert(MentionSourceRow), mention_sources)
    if mention_tokens:
        session.execute(insert(MentionTokenRow), mention_tokens)
    return version_ids


def _write_relinked(session: Session, graph: RelinkedGraph) -> int:
    """Insert a relinked graph version with the rows of the version it replaces; return its id."""
    old = session.execute(
        select(
            GraphVersionRow.graph_iri, GraphVersionRow.source, GraphVersionRow.content_hash
        ).where(GraphVersionRow.id == graph.version_id)
    ).one()
    version = GraphVersionRow(
        graph_iri=old.graph_iri,
        source=old.source,
        content_hash=old.content_hash,
        triple_count=graph.triple_count,
        nquads=zlib.compress(graph.nquads, 6),
    )
    session.add(version)
    session.flush()

    _copy_version_rows(session, graph.version_id, version.id, graph.mention_count)
    return version.id


def _copy_version_rows(session: Session, old_id: int, new_id: int, mention_count: int) -> None:
    """Copy the labels, problems, mention texts and tokens of one graph version to another."""
    version = literal(new_id, Integer)
    copies: list[tuple[type[_Base], list[str]]] = [
        (EntityLabelRow, ["iri", "label"]),
        (GraphProblemRow, ["line", "message"]),
        (MentionTokenRow, ["token"]),
    ]
    for row_class, names in copies:
        table = row_class.__table__
        rows = (
            select(version, *(table.c[name] for name in names))
            .where(table.c.graph_version_id == old_id)
            .order_by(*table.primary_key)
        )
        session.execute(insert(row_class).from_select(["graph_version_id", *names], rows))

    texts = select(version, MentionSourceRow.texts, literal(mention_count, Integer)).where(
        MentionSourceRow.graph_version_id == old_id
    )
    names = ["graph_version_id", "texts", "mention_count"]
    session.execute(insert(MentionSourceRow).from_select(names, texts))


def _stored_mentions(
    version_id: int,
    graph_iri: str,
    source: str,
    triple_count: int,
    nquads: bytes,
    texts: str,
    mention_count: int,
) -> StoredMentions:
    pairs = [(subject, text) for subject, text in json.loads(texts)]
    return StoredMentions(
        version_id, graph_iri, source, triple_count, zlib.decompress(nquads), pairs, mention_count
    )


def _token_key(token: str) -> str:
    return token[:MAX_TOKEN_LENGTH]


def _chunks(values: list[_Value]) -> Iterator[list[_Value]]:
    for start in range(0, len(values), IN_CHUNK_SIZE):
        yield values[start : start + IN_CHUNK_SIZE]


def _lock_writers(session: Session) -> None:
    """Make concurrent generation writers wait for each other until their transactions end.

    PostgreSQL takes a transaction-scoped advisory lock. SQLite needs nothing more: the
    generation row inserted next takes the database's write lock, and a second writer waits
    for it up to the connection's busy timeout.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise StoreError(
            f"invalid database URL {url!r}: {error}; use sqlite:///PATH or postgresql+psycopg://…"
        ) from error

    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (NoSuchModuleError, ImportError) as error:
            raise StoreError(
                f"no database driver for {_safe_url(url)}: {error}; "
                "use sqlite:///PATH or postgresql+psycopg://…"
            ) from error

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)

    engine = create_engine(parsed)
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(connection: object, _record: object) -> None:
    # WAL lets the service read the current generation while an ingest writes the next one.
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _generation(row: GenerationRow) -> Generation:
    # SQLite stores no time zone, so its timestamps come back naive although they are UTC.
    created_at = row.created_at
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return Generation(row.id, created_at, row.triple_count, row.summary)
