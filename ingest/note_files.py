"""Find the note files in a notes folder, and stamp them to recognise unchanged ones unread.

A stamp is a file's size, modification time, status change time and inode number, with a
digest of the ingest settings (mapping, base IRI and ingest format). The store keeps the stamp
of the file each graph was built from. When a file's stamp equals the stored one, the file was
not written since then, so the ingest neither reads nor hashes it. A file that was written in
place keeps its inode but gets a new change time, even when its modification time is set back,
and a file that an editor replaced by renaming gets a new inode.

A file system stores times at its own resolution. A file written twice within one tick of
that clock, by the same number of bytes, keeps its stamp. So a stamp is recorded only for a
file whose times are older than the start of the ingest that reads it by more than a tick,
and a later write then gets later times. Otherwise the file is hashed again on the next run,
as the content hash stays the authority.

NOTE: the times of a network file system come from the server's clock, so with a server clock
that lags behind, a file written during a run can get a stamp too.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

# Linux sets file times from its coarse clock, which advances once per jiffy, 1 to 10 ms (Linux
# commit "vfs: replace current_kernel_time64 with ktime equivalent"). FAT stores times in steps
# of 2 s. Times on whole seconds are taken for a file system of such coarse times.
SETTLE_NS = 100_000_000
COARSE_SETTLE_NS = 2_000_000_000


@dataclass(frozen=True)
class NoteFile:
    """A note on disk: the path shown in messages, its key in the notes folder, and its folder.

    ``key`` is the note's path relative to ``root``, with "/" between parts. ``source`` is the
    resolved absolute path, which the store keeps to recognise the note in later runs from any
    working folder. ``stat`` is the file's status from the walk that found it, before it was
    read, or None when it could not be read.
    """

    display_path: str
    key: str
    root: Path
    source: str
    stat: os.stat_result | None = field(default=None, compare=False)
    # Whether the file was given on its own, so that its key is its file name.
    single: bool = field(default=False, compare=False)

    @functools.cached_property
    def path(self) -> Path:
        """The note's path: ``root`` joined with ``key``."""
        # Made on first use: creating a Path for every note of a large folder took about as
        # long as reading the folder, and an unchanged note needs none.
        return self.root.joinpath(*self.key.split("/"))

    @property
    def suffix(self) -> str:
        """The note's file name extension in lowercase, such as ".txt"."""
        return os.path.splitext(self.key)[1].lower()


def single_note(path: Path) -> NoteFile:
    """Return the note file for a file given by its path."""
    resolved = path.resolve()
    return NoteFile(
        display(path), path.name, path.parent, resolved.as_posix(), _stat_or_none(path), True
    )


def notes_in_folder(folder: Path, suffixes: Collection[str]) -> list[NoteFile]:
    """Return the files under ``folder`` whose lowercase suffix is in ``suffixes``.

    The order is that of the files' paths, compared part by part. Hidden files and folders
    (names starting with ".") are left out. Links to files are followed, links to folders are
    not, and folders that cannot be listed are skipped.
    """
    found: list[tuple[tuple[str, ...], os.DirEntry[str]]] = []
    _scan(os.fspath(folder), (), frozenset(suffixes), found)
    # NOTE: parts compare case-sensitively, as pathlib compares them on POSIX systems but not
    # on Windows.
    found.sort(key=lambda item: item[0])

    root = folder.resolve().as_posix().rstrip("/")
    working_prefix = Path.cwd().resolve().as_posix().rstrip("/") + "/"
    folder_text = folder.as_posix()
    folder_prefix = "" if folder_text == "." else folder_text.rstrip("/") + "/"
    notes = []
    for parts, entry in found:
        key = "/".join(parts)
        # Folders under ``folder`` are no links, so only a linked file needs resolving.
        source = Path(entry.path).resolve().as_posix() if entry.is_symlink() else f"{root}/{key}"
        if source.startswith(working_prefix):
            display_path = source[len(working_prefix) :]
        else:
            display_path = folder_prefix + key
        notes.append(NoteFile(display_path, key, folder, source, _entry_stat(entry)))
    return notes


def _scan(
    directory: str,
    parts: tuple[str, ...],
    suffixes: frozenset[str],
    found: list[tuple[tuple[str, ...], os.DirEntry[str]]],
) -> None:
    try:
        entries = list(os.scandir(directory))
    except PermissionError:
        return

    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        if entry.is_dir():
            if not entry.is_symlink():
                _scan(entry.path, (*parts, name), suffixes, found)
        elif os.path.splitext(name)[1].lower() in suffixes and entry.is_file():
            found.append(((*parts, name), entry))


def _entry_stat(entry: os.DirEntry[str]) -> os.stat_result | None:
    try:
        return entry.stat()
    except OSError:
        return None


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def display(path: Path) -> str:
    """Return the path relative to the working folder, or as given when it is outside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def settings_digest(mapping: bytes | None, base_iri: str, format_version: str) -> str:
    """Return the digest of the ingest settings that every stamp of a run contains."""
    digest = hashlib.sha256()
    for part in (mapping or b"", base_iri.encode("utf-8"), format_version.encode("ascii")):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def file_stamp(stat: os.stat_result, settings: str, key: str) -> str:
    """Return the stamp of a file with the given status under the given settings digest.

    ``key`` is the note's path in the notes folder, which gives the note its IRI.
    """
    key_digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return (
        f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}:{settings}:"
        f"{key_digest}"
    )


def settled(stat: os.stat_result, started_ns: int) -> bool:
    """Return whether the file was last written early enough before ``started_ns`` to stamp it.

    ``started_ns`` is the wall-clock time in nanoseconds before the file's status was read.
    """
    whole_seconds = stat.st_mtime_ns % 1_000_000_000 == 0 and stat.st_ctime_ns % 1_000_000_000 == 0
    window = COARSE_SETTLE_NS if whole_seconds else SETTLE_NS
    return max(stat.st_mtime_ns, stat.st_ctime_ns) < started_ns - window
