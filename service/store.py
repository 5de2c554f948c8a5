"""The store: named graphs kept in a SQL database, one generation per ingest.

A generation is the complete set of graph versions that the service shows. An ingest writes a
new generation in one transaction: graph versions it adds, plus references to the unchanged
versions of the previous generation. A failed or interrupted ingest rolls back and leaves the
previous generation current. Each graph version stores the graph's triples as zlib-compressed
N-Quads, which the query engine bulk-loads in one stream.

Beside its triples, a graph version keeps what an ingest needs to update its ``nk:mentions``
links without reading its note again: the labels of its entities with their first tokens
(indexed), the texts searched for labels, the tokens of those texts (indexed) and how many
mention lines end its N-Quads. It also keeps the stamp of its note file, with which an ingest
recognises an unchanged file without reading it.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql import Select

logger = logging.getLogger(__name__)

_Value = TypeVar("_Value")

GENERATIONS_KEPT = 3

# The key of the store's identity in the store_info table.
STORE_ID_KEY = "store_id"

# Key of the PostgreSQL advisory lock that serializes generation writers ("nkg" in ASCII).
WRITER_LOCK_KEY = 0x6E6B67

# Tokens are indexed by their first characters only, because a PostgreSQL B-tree index entry
# can take at most about a third of a page (2,704 bytes with 8 kB pages, per the PostgreSQL
# documentation "B-Tree Indexes"). A 200-character token has at most 800 bytes in UTF-8.
MAX_TOKEN_LENGTH = 200

# Stamps are short: file size, two times in nanoseconds, an inode number and a SHA-256 digest.
MAX_STAMP_LENGTH = 400

# The source of the graph versions that writes through /update and /store make, in place of
# the path of a note file.
WRITE_SOURCE = "update"

# Graphs written at once from which on they are compressed by several threads.
COMPRESSION_THREAD_MIN_GRAPHS = 64

# zlib's fastest level. Level 6 stored the graphs of 10,000 synthetic notes in 14% fewer
# bytes, but took twice as long to compress them.
COMPRESSION_LEVEL = 1

# Values per IN (...) list, so that a statement stays below the 999 bound parameters that
# SQLite allows by default before version 3.32 (32,766 since).
IN_CHUNK_SIZE = 500


class StoreError(Exception):
    """The store cannot be opened or written."""


class InvalidDatabaseUrl(StoreError):
    """The database URL cannot name a store: it is malformed or has an unknown scheme."""


class GenerationConflict(StoreError):
    """Another writer committed a generation after the one a change was computed from."""


class _Base(DeclarativeBase):
    pass


class StoreInfoRow(_Base):
    """A fact about the database itself, such as the random identity that ``store_id`` reads."""

    __tablename__ = "store_info"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


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
    # What the ingest recorded about the source file it read, compared as an opaque text.
    # NULL when nothing was recorded; an ingest then reads and hashes the file.
    file_stamp: Mapped[str | None] = mapped_column(String(MAX_STAMP_LENGTH), nullable=True)


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
    # Lookups by first token join the generation's graph versions, so the index contains the
    # version too. With an index of the token alone, SQLite 3.40 scanned every label of the
    # generation for a lookup of 70 tokens.
    __table_args__ = (
        Index("ix_entity_label_first_token_version", "first_token", "graph_version_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    graph_version_id: Mapped[int] = mapped_column(
        ForeignKey("graph_version.id", ondelete="CASCADE"), index=True
    )
    iri: Mapped[str] = mapped_column(String(2048))
    label: Mapped[str] = mapped_column(Text)
    # The label's first token as the ingest splits labels, cut to MAX_TOKEN_LENGTH characters,
    # or "" for a label that names nothing. NULL for rows written without it.
    first_token: Mapped[str | None] = mapped_column(String(MAX_TOKEN_LENGTH), nullable=True)


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


class GraphVersion(NamedTuple):
    """One stored version of a named graph, without its triples."""

    id: int
    graph_iri: str
    source: str
    content_hash: str
    triple_count: int
    file_stamp: str | None = None


@dataclass(frozen=True)
class LabelCount:
    """An entity label, and how many times the graph versions of a generation give it."""

    iri: str
    label: str
    count: int


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
            _add_missing_columns(self.engine)
        except OperationalError as error:
            message = f"cannot open the store {_safe_url(url)}: {error.orig}"
            raise StoreError(message + _left_journal_hint(url, str(error.orig))) from error
        except DatabaseError as error:
            # A file that is not a SQLite database, for example, fails with DatabaseError.
            raise StoreError(
                f"cannot use the store {_safe_url(url)}: {error.orig}; give the URL of a notekg "
                "store, or of a new file or database"
            ) from error
        self._sqlite_path = sqlite_path(url)
        self._file_identity = _file_identity(self._sqlite_path)
        # Whether the warning that the SQLite file is gone was logged since it went.
        self._missing_logged = False

    def reopen_if_replaced(self) -> bool:
        """Reconnect when the SQLite file was replaced by another one; return whether it was.

        Pooled connections keep reading a deleted file, so a server would serve the old store
        after the file was deleted and a new one ingested at the same path.
        """
        identity = _file_identity(self._sqlite_path)
        if identity is None and self._file_identity is not None and not self._missing_logged:
            logger.warning(
                "the store file of %s is gone; serving what was loaded until a new one is made",
                _safe_url(self.url),
            )
            self._missing_logged = True
        if identity is None or identity == self._file_identity:
            return False
        self._missing_logged = False
        logger.warning("the store file of %s was replaced; reconnecting", _safe_url(self.url))
        self.engine.dispose()
        self._file_identity = identity
        return True

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def store_id(self) -> str:
        """Return the random identity of this database, made when it is first asked for.

        Generation and version numbers start again at 1 in a new database, so files derived
        from a store, such as the query engine's, record this identity with the numbers.
        """
        with Session(self.engine) as session:
            value = session.get(StoreInfoRow, STORE_ID_KEY)
            if value is not None:
                return value.value
        try:
            with Session(self.engine) as session, session.begin():
                session.add(StoreInfoRow(key=STORE_ID_KEY, value=uuid.uuid4().hex))
        except IntegrityError:
            pass  # another process made it first
        with Session(self.engine) as session:
            row = session.get(StoreInfoRow, STORE_ID_KEY)
            assert row is not None
            return row.value

    def info(self, key: str) -> str | None:
        """Return a value that ``set_info`` kept under ``key``, or None."""
        with Session(self.engine) as session:
            row = session.get(StoreInfoRow, key)
            return row.value if row is not None else None

    def set_info(self, key: str, value: str) -> None:
        """Keep a value of at most 256 characters under ``key``, replacing any earlier one."""
        with Session(self.engine) as session, session.begin():
            session.merge(StoreInfoRow(key=key, value=value[:256]))

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
        # The columns are selected one by one, so the N-Quads blobs are never read. The rows
        # come through a Core connection and become named tuples: with ORM row handling and
        # frozen dataclasses, a 10,000-note ingest took about 0.1 s longer to read them.
        version = _table(GraphVersionRow)
        query = (
            select(
                version.c.id,
                version.c.graph_iri,
                version.c.source,
                version.c.content_hash,
                version.c.triple_count,
                version.c.file_stamp,
            )
            .join(_generation_graph, _generation_graph.c.graph_version_id == version.c.id)
            .where(_generation_graph.c.generation_id == generation_id)
            .order_by(version.c.graph_iri)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [GraphVersion._make(row) for row in rows]

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
        version = _table(GraphVersionRow)
        problem = _table(GraphProblemRow)
        query = (
            select(version.c.source, problem.c.line, problem.c.message)
            .join(version, version.c.id == problem.c.graph_version_id)
            .join(_generation_graph, _generation_graph.c.graph_version_id == version.c.id)
            .where(_generation_graph.c.generation_id == generation_id)
            .order_by(version.c.source, problem.c.line, problem.c.id)
        )
        found: dict[str, list[tuple[int, str]]] = {}
        with self.engine.connect() as connection:
            for source, line, message in connection.execute(query):
                found.setdefault(source, []).append((line, message))
        return found

    def labels(self, generation_id: int) -> list[tuple[str, str, str]]:
        """Return (entity IRI, label, graph IRI) for every entity label of a generation."""
        query = _labels_query(generation_id)
        with self.engine.connect() as connection:
            return [(iri, label, graph) for iri, label, graph in connection.execute(query)]

    def labels_in_graphs(
        self, generation_id: int, graph_iris: Iterable[str]
    ) -> list[tuple[str, str, str]]:
        """Return (entity IRI, label, graph IRI) for the labels of some graphs of a generation."""
        label = _table(EntityLabelRow)
        version = _table(GraphVersionRow)
        found: list[tuple[str, str, str]] = []
        with self.engine.connect() as connection:
            for chunk in _chunks(sorted(set(graph_iris))):
                query = (
                    select(label.c.iri, label.c.label, version.c.graph_iri)
                    .join(version, version.c.id == label.c.graph_version_id)
                    .where(version.c.graph_iri.in_(chunk))
                    .where(_in_generation(generation_id, version.c.id))
                )
                rows = connection.execute(query)
                found.extend((iri, label_text, graph) for iri, label_text, graph in rows)
        return found

    def labels_starting_with(self, generation_id: int, tokens: Iterable[str]) -> list[LabelCount]:
        """Return the labels of a generation whose first token is one of ``tokens``.

        Each distinct (IRI, label) comes once, with how many times the graph versions give it.
        Tokens are compared on their first MAX_TOKEN_LENGTH characters. Labels stored without
        a first token are returned whatever their first token, so the caller must check it.
        """
        first_token = _table(EntityLabelRow).c.first_token
        keys = sorted({_token_key(token) for token in tokens})
        conditions = [first_token.in_(chunk) for chunk in _chunks(keys)]
        conditions.append(first_token.is_(None))
        counts: dict[tuple[str, str], int] = {}
        with self.engine.connect() as connection:
            for condition in conditions:
                query = _label_counts(generation_id, condition)
                for iri, label, count in connection.execute(query):
                    counts[(iri, label)] = counts.get((iri, label), 0) + count
        return [LabelCount(iri, label, count) for (iri, label), count in counts.items()]

    def fill_label_first_tokens(self, first_token: Callable[[str], str]) -> int:
        """Set the first token of every label stored without one; return how many were set.

        ``first_token`` returns a label's first token. Labels written by a notekg that stored
        no first tokens get them here once, so that later lookups find them by token.
        """
        label = _table(EntityLabelRow)
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(label.c.id, label.c.label).where(label.c.first_token.is_(None))
            ).all()
        if not rows:
            return 0

        statement = (
            update(label)
            .where(label.c.id == bindparam("label_id"))
            .values(first_token=bindparam("token"))
        )
        values = [
            {"label_id": label_id, "token": _token_key(first_token(label_text))}
            for label_id, label_text in rows
        ]
        with self.engine.begin() as connection:
            connection.execute(statement, values)
        logger.info("stored the first tokens of %s labels", len(values))
        return len(values)

    def record_file_stamps(self, stamps: dict[int, str]) -> None:
        """Set the file stamp of stored graph versions: graph version id → stamp.

        A stamp describes the source file that a version was built from, not its triples, so
        versions that older generations share are updated in place.
        """
        if not stamps:
            return
        version = _table(GraphVersionRow)
        statement = (
            update(version)
            .where(version.c.id == bindparam("version_id"))
            .values(file_stamp=bindparam("stamp"))
        )
        rows = [{"version_id": key, "stamp": stamp} for key, stamp in sorted(stamps.items())]
        with self.engine.begin() as connection:
            connection.execute(statement, rows)

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
        mention_token = _table(MentionTokenRow)
        with self.engine.connect() as connection:
            for chunk in _chunks(sorted({token for tokens in expected for token in tokens})):
                query = (
                    select(mention_token.c.graph_version_id, mention_token.c.token)
                    .where(mention_token.c.token.in_(chunk))
                    .where(_in_generation(generation_id, mention_token.c.graph_version_id))
                )
                for version_id, token in connection.execute(query):
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

    def iter_versions(self, version_ids: Iterable[int]) -> Iterator[tuple[str, bytes]]:
        """Yield the IRI and the N-Quads of each graph version of ``version_ids``."""
        for chunk in _chunks(sorted(version_ids)):
            query = select(GraphVersionRow.graph_iri, GraphVersionRow.nquads).where(
                GraphVersionRow.id.in_(chunk)
            )
            with Session(self.engine) as session:
                for graph_iri, compressed in session.execute(query):
                    yield graph_iri, zlib.decompress(compressed)

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
            "wrote generation %s: %s graphs added or replaced, %s dropped, %s quads",
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
            # Only versions of the generations deleted here can lose their last reference, so
            # only they are checked, and the table of versions with their N-Quads is not scanned.
            references = _generation_graph
            dropped = select(references.c.graph_version_id).where(
                references.c.generation_id < oldest_kept
            )
            used = select(references.c.graph_version_id).where(
                references.c.generation_id >= oldest_kept
            )
            orphans = list(session.scalars(dropped.except_(used)))
            session.execute(delete(references).where(references.c.generation_id < oldest_kept))
            session.execute(delete(GenerationRow).where(GenerationRow.id < oldest_kept))
            for chunk in _chunks(sorted(orphans)):
                session.execute(delete(GraphVersionRow).where(GraphVersionRow.id.in_(chunk)))


@dataclass
class NewGraph:
    """A named graph to store: its IRI, its source (a note path), its hash and its N-Quads."""

    graph_iri: str
    source: str
    content_hash: str
    nquads: bytes
    triple_count: int
    labels: list[tuple[str, str]] = field(default_factory=list)
    # The first token of each label, in the order of ``labels``, as the label column
    # ``first_token`` keeps it. None stores the labels without first tokens.
    label_first_tokens: list[str] | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)
    # The (subject IRI, text) pairs searched for entity labels, and their distinct tokens.
    mention_texts: list[tuple[str, str]] = field(default_factory=list)
    mention_tokens: set[str] = field(default_factory=set)
    # How many nk:mentions lines derived from mention_texts end ``nquads``.
    mention_count: int = 0
    # The stamp of the source file that the graph was built from, see GraphVersionRow.
    file_stamp: str | None = None


@dataclass
class RelinkedGraph:
    """A new version of a stored graph whose nk:mentions lines at the end of its N-Quads changed.

    The new version keeps the source, hash, file stamp, labels, problems and mention texts of
    the version ``version_id`` that it replaces.
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
    kept_triples = 0
    if previous is not None:
        kept_triples = _keep_versions(session, previous, row.id, replaced)

    new_ids = _write_added(session, change.added)
    new_ids.extend(_write_relinked(session, graph) for graph in change.relinked)
    # One executemany instead of one ORM object per row.
    if new_ids:
        session.execute(
            insert(GenerationGraphRow),
            [{"generation_id": row.id, "graph_version_id": version_id} for version_id in new_ids],
        )
    row.triple_count = (
        kept_triples
        + sum(graph.triple_count for graph in change.added)
        + sum(graph.triple_count for graph in change.relinked)
    )
    return _generation(row)


def _keep_versions(session: Session, previous: int, generation_id: int, replaced: set[str]) -> int:
    """Reference the previous generation's graph versions from a new one, except ``replaced``.

    Returns the triple count of the versions kept. The rows are copied and deleted by the
    database: a generation of a 10,000-note corpus references 20,000 graph versions, and
    fetching them into Python took most of a one-note ingest's write. The count is the
    previous generation's minus that of the versions left out, so that the versions' rows,
    which contain their N-Quads, are not read.
    """
    references = _generation_graph
    version = _table(GraphVersionRow)
    kept = select(literal(generation_id, Integer), references.c.graph_version_id).where(
        references.c.generation_id == previous
    )
    session.execute(insert(references).from_select(["generation_id", "graph_version_id"], kept))

    previous_triples = session.execute(
        select(GenerationRow.triple_count).where(GenerationRow.id == previous)
    ).scalar_one()
    left_out_triples = 0
    for chunk in _chunks(sorted(replaced)):
        left_out = (
            select(version.c.id, version.c.triple_count)
            .where(version.c.graph_iri.in_(chunk))
            .where(_in_generation(generation_id, version.c.id))
        )
        rows = session.execute(left_out).all()
        left_out_triples += sum(triple_count for _, triple_count in rows)
        if rows:
            session.execute(
                delete(references)
                .where(references.c.generation_id == generation_id)
                .where(references.c.graph_version_id.in_([version_id for version_id, _ in rows]))
            )
    return int(previous_triples) - left_out_triples


def _write_added(session: Session, graphs: list[NewGraph]) -> list[int]:
    """Insert the new graph versions with their problems, labels and mention texts.

    Each kind of row goes in one executemany through a Core connection: one ORM object and
    one flush per version took most of the time of writing the graphs of 1,000 notes.
    """
    if not graphs:
        return []

    connection = session.connection()
    version = _table(GraphVersionRow)
    rows = [
        {
            "graph_iri": graph.graph_iri,
            "source": graph.source,
            "content_hash": graph.content_hash,
            "triple_count": graph.triple_count,
            "nquads": nquads,
            "file_stamp": graph.file_stamp,
        }
        for graph, nquads in zip(graphs, _compressed(graphs), strict=True)
    ]
    statement = insert(version).returning(version.c.id, sort_by_parameter_order=True)
    version_ids = [version_id for (version_id,) in connection.execute(statement, rows)]

    problems: list[dict[str, object]] = []
    labels: list[dict[str, object]] = []
    mention_sources: list[dict[str, object]] = []
    mention_tokens: list[dict[str, object]] = []
    for version_id, graph in zip(version_ids, graphs, strict=True):
        problems.extend(
            {"graph_version_id": version_id, "line": line, "message": message}
            for line, message in graph.problems
        )
        labels.extend(_label_rows(version_id, graph))
        mention_sources.append(
            {
                "graph_version_id": version_id,
                "texts": json.dumps(graph.mention_texts, ensure_ascii=False),
                "mention_count": graph.mention_count,
            }
        )
        mention_tokens.extend(
            {"graph_version_id": version_id, "token": token}
            for token in {_token_key(token) for token in graph.mention_tokens}
        )

    for row_class, values in (
        (GraphProblemRow, problems),
        (EntityLabelRow, labels),
        (MentionSourceRow, mention_sources),
        (MentionTokenRow, mention_tokens),
    ):
        if values:
            _insert_many(connection, _table(row_class), values)
    return version_ids


def _insert_many(connection: Connection, table: Table, rows: list[dict[str, object]]) -> None:
    """Insert rows that all have the same keys, with one executemany.

    On SQLite the rows go to the driver as tuples, because the columns of these tables need
    no conversion. SQLAlchemy's processing of each row took about half of the time of
    inserting the 300,000 labels and mention tokens of 10,000 notes. Other databases keep
    SQLAlchemy's executemany.
    """
    if connection.dialect.name != "sqlite":
        connection.execute(insert(table), rows)
        return
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(rows[0]))
    order = compiled.positiontup
    assert order is not None, "SQLite's parameters are positional"
    connection.exec_driver_sql(str(compiled), [tuple(row[name] for name in order) for row in rows])


def _compressed(graphs: list[NewGraph]) -> list[bytes]:
    """Return the zlib-compressed N-Quads of each graph, compressed by several threads.

    zlib releases the GIL while it compresses, and compressing the graphs of 1,000 notes
    took about a fifth of writing them.
    """
    if len(graphs) < COMPRESSION_THREAD_MIN_GRAPHS:
        return [zlib.compress(graph.nquads, COMPRESSION_LEVEL) for graph in graphs]
    with ThreadPoolExecutor() as pool:
        return list(pool.map(lambda graph: zlib.compress(graph.nquads, COMPRESSION_LEVEL), graphs))


def _write_relinked(session: Session, graph: RelinkedGraph) -> int:
    """Insert a relinked graph version with the rows of the version it replaces; return its id."""
    old = session.execute(
        select(
            GraphVersionRow.graph_iri,
            GraphVersionRow.source,
            GraphVersionRow.content_hash,
            GraphVersionRow.file_stamp,
        ).where(GraphVersionRow.id == graph.version_id)
    ).one()
    version = GraphVersionRow(
        graph_iri=old.graph_iri,
        source=old.source,
        content_hash=old.content_hash,
        triple_count=graph.triple_count,
        nquads=zlib.compress(graph.nquads, COMPRESSION_LEVEL),
        file_stamp=old.file_stamp,
    )
    session.add(version)
    session.flush()

    _copy_version_rows(session, graph.version_id, version.id, graph.mention_count)
    return version.id


def _copy_version_rows(session: Session, old_id: int, new_id: int, mention_count: int) -> None:
    """Copy the labels, problems, mention texts and tokens of one graph version to another."""
    version = literal(new_id, Integer)
    copies: list[tuple[type[_Base], list[str]]] = [
        (EntityLabelRow, ["iri", "label", "first_token"]),
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


def _label_rows(version_id: int, graph: NewGraph) -> list[dict[str, object]]:
    first_tokens: list[str | None] = [None] * len(graph.labels)
    if graph.label_first_tokens is not None:
        if len(graph.label_first_tokens) != len(graph.labels):
            raise ValueError(
                f"graph {graph.graph_iri} has {len(graph.labels)} labels but "
                f"{len(graph.label_first_tokens)} first tokens; give one token per label"
            )
        first_tokens = [_token_key(token) for token in graph.label_first_tokens]
    return [
        {"graph_version_id": version_id, "iri": iri, "label": label, "first_token": token}
        for (iri, label), token in zip(graph.labels, first_tokens, strict=True)
    ]


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


def _table(row_class: type[_Base]) -> Table:
    return row_class.__table__  # type: ignore[return-value]


_generation_graph = _table(GenerationGraphRow)


def _labels_query(generation_id: int) -> Select[str, str, str]:
    """Select (entity IRI, label, graph IRI) for the labels of a generation's graph versions."""
    label = _table(EntityLabelRow)
    version = _table(GraphVersionRow)
    return (
        select(label.c.iri, label.c.label, version.c.graph_iri)
        .join(version, version.c.id == label.c.graph_version_id)
        .join(_generation_graph, _generation_graph.c.graph_version_id == version.c.id)
        .where(_generation_graph.c.generation_id == generation_id)
    )


def _label_counts(generation_id: int, condition: ColumnElement[bool]) -> Select[str, str, int]:
    """Select (entity IRI, label, graph versions) for the labels of a generation that match."""
    label = _table(EntityLabelRow)
    return (
        select(label.c.iri, label.c.label, func.count())
        .where(condition)
        .where(_in_generation(generation_id, label.c.graph_version_id))
        .group_by(label.c.iri, label.c.label)
    )


def _in_generation(generation_id: int, version_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Return the condition that a generation references the graph version ``version_id``.

    It is an EXISTS, because a join lets SQLite 3.40 start from all of the generation's
    references and look up each version. That took 10 to 300 ms at 20,000 versions, while
    starting from the rows that the other conditions select takes a few milliseconds.
    """
    reference = (
        select(_generation_graph.c.graph_version_id)
        .where(_generation_graph.c.generation_id == generation_id)
        .where(_generation_graph.c.graph_version_id == version_id)
    )
    return reference.exists()


# Columns added after the tables were first released, as (row class, column name). Store()
# adds them to a database that lacks them, and the rows written before keep NULL there.
_ADDED_COLUMNS: tuple[tuple[type[_Base], str], ...] = (
    (GraphVersionRow, "file_stamp"),
    (EntityLabelRow, "first_token"),
)


def _add_missing_columns(engine: Engine) -> None:
    """Add the columns of ``_ADDED_COLUMNS`` and their indexes to an older database."""
    inspector = inspect(engine)
    for row_class, name in _ADDED_COLUMNS:
        table = _table(row_class)
        present = {column["name"] for column in inspector.get_columns(table.name)}
        if name not in present:
            _add_column(engine, table, name)

        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes and name in index.columns:
                with engine.begin() as connection:
                    connection.execute(CreateIndex(index, if_not_exists=True))


def _add_column(engine: Engine, table: Table, name: str) -> None:
    column = table.c[name]
    column_type = column.type.compile(dialect=engine.dialect)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {column_type}"))
    except DBAPIError:
        # Another process that opened the store at the same time may have added it first.
        if name not in {column["name"] for column in inspect(engine).get_columns(table.name)}:
            raise
        return
    logger.info("added the column %s.%s to the store", table.name, name)


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
        raise InvalidDatabaseUrl(
            f"invalid database URL {url!r}: {error}; use sqlite:///PATH or postgresql+psycopg://…"
        ) from error

    if parsed.drivername in ("postgres", "postgres+psycopg"):
        # libpq and many hosting services write postgres://, which SQLAlchemy does not read.
        raise InvalidDatabaseUrl(
            f"unknown database URL scheme {parsed.drivername}:// in {_safe_url(url)}; "
            "write postgresql+psycopg:// in its place"
        )
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (NoSuchModuleError, ImportError) as error:
            raise StoreError(
                f"no database driver for {_safe_url(url)}: {error}; for PostgreSQL install the "
                "postgresql extra (pip install -e '.[postgresql]'), or use sqlite:///PATH"
            ) from error

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)

    engine = create_engine(parsed)
    event.listen(engine, "connect", _configure_sqlite)
    return engine


# The database names of a SQLite URL that open a database in memory: sqlite://, sqlite:///.
_IN_MEMORY_NAMES = (None, "", ":memory:")


def sqlite_path(url: str) -> str | None:
    """Return the file of a SQLite store, or None for an in-memory or another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in _IN_MEMORY_NAMES:
        return None
    return parsed.database


def _left_journal_hint(url: str, reason: str) -> str:
    """Return advice for a disk I/O error of a SQLite store that has journal files beside it.

    When a store file is moved or deleted while a process has it open, its ``-wal`` and
    ``-shm`` files stay. SQLite then reads them as those of a new file of the same name, and
    reports a disk I/O error while that process runs.
    """
    path = sqlite_path(url)
    if path is None or "disk I/O error" not in reason:
        return ""
    left = [name for name in (f"{path}-wal", f"{path}-shm") if os.path.exists(name)]
    if not left:
        return ""
    return (
        f"; if the store file was moved or deleted while a process had it open, "
        f"{' and '.join(left)} are left from it: stop the processes that used it, such as "
        "notekg serve, remove these files and try again"
    )


def is_sqlite_in_memory(url: str) -> bool:
    """Return whether the URL names a SQLite database in memory."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in _IN_MEMORY_NAMES


def _file_identity(path: str | None) -> tuple[int, int] | None:
    """Return the device and inode of the file at path, or None when there is no such file."""
    if path is None:
        return None
    try:
        status = os.stat(path)
    except OSError:  # not made yet, or deleted and not made again yet
        return None
    return status.st_dev, status.st_ino


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
