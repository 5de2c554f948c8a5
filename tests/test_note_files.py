"""Tests of finding note files and stamping them, in ingest/note_files.py."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from ingest.note_files import (
    COARSE_SETTLE_NS,
    SETTLE_NS,
    display,
    file_stamp,
    notes_in_folder,
    settings_digest,
    settled,
    single_note,
)

SUFFIXES = {".md", ".txt"}


def _write(path: Path, text: str = "# Note\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_folder_notes_sorted_part_by_part(tmp_path: Path) -> None:
    for key in ["a-c.md", "a/b.md", "B.md", "a/a/z.txt"]:
        _write(tmp_path / key)

    keys = [note.key for note in notes_in_folder(tmp_path, SUFFIXES)]

    # Compared part by part, as pathlib sorts paths: "a" comes before "a-c.md", although
    # "a/" sorts after "a-" as a string.
    assert keys == ["B.md", "a/a/z.txt", "a/b.md", "a-c.md"]
    assert keys == [path.relative_to(tmp_path).as_posix() for path in sorted(tmp_path.rglob("*.*"))]


def test_folder_skips_hidden_and_other_suffixes(tmp_path: Path) -> None:
    _write(tmp_path / "note.MD")
    _write(tmp_path / ".hidden.md")
    _write(tmp_path / ".obsidian" / "inside.md")
    _write(tmp_path / "style.css")

    keys = [note.key for note in notes_in_folder(tmp_path, SUFFIXES)]

    assert keys == ["note.MD"]


def test_folder_follows_file_links_not_folder_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    target = _write(outside / "target.md")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "linked.md").symlink_to(target)
    (notes / "folder").symlink_to(outside, target_is_directory=True)

    found = notes_in_folder(notes, SUFFIXES)

    assert [note.key for note in found] == ["linked.md"]
    assert found[0].source == target.resolve().as_posix()
    assert found[0].stat is not None
    assert found[0].stat.st_ino == target.stat().st_ino


def test_folder_note_paths_and_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "notes" / "sub" / "a.md")
    monkeypatch.chdir(tmp_path)

    [note] = notes_in_folder(Path("notes"), SUFFIXES)

    assert note.path == Path("notes/sub/a.md")
    assert note.display_path == "notes/sub/a.md"
    assert note.source == (tmp_path / "notes" / "sub" / "a.md").resolve().as_posix()
    assert note.suffix == ".md"


def test_note_outside_working_folder_shown_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "notes" / "a.md")
    working = tmp_path / "elsewhere"
    working.mkdir()
    monkeypatch.chdir(working)

    [note] = notes_in_folder(Path("../notes"), SUFFIXES)

    assert note.display_path == "../notes/a.md"
    assert display(Path("../notes/a.md")) == "../notes/a.md"


def test_single_note_keeps_given_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "a.txt")
    monkeypatch.chdir(tmp_path)

    note = single_note(Path("a.txt"))

    assert (note.path, note.key, note.display_path) == (Path("a.txt"), "a.txt", "a.txt")
    assert note.stat is not None


def test_stamp_changes_with_content_settings_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.md", "first")
    settings = settings_digest(b"mapping", "https://notekg.example/id/", "2")
    before = file_stamp(path.stat(), settings, "a.md")
    old = path.stat()

    path.write_text("other", encoding="utf-8")
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    after = path.stat()

    assert (after.st_size, after.st_mtime_ns) == (old.st_size, old.st_mtime_ns)
    # Writing changed the status change time, which a program cannot set back.
    assert file_stamp(after, settings, "a.md") != before
    assert file_stamp(old, settings, "a.md") == before
    other_settings = settings_digest(b"mapping", "https://other.example/", "2")
    assert file_stamp(old, other_settings, "a.md") != before
    assert file_stamp(old, settings, "notes/a.md") != before


def test_settings_digest_separates_parts() -> None:
    assert settings_digest(b"ab", "c", "2") != settings_digest(b"a", "bc", "2")
    assert settings_digest(None, "c", "2") == settings_digest(b"", "c", "2")


def test_file_settled_only_after_window(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.md")
    now = time.time_ns()

    assert not settled(path.stat(), now)
    assert settled(path.stat(), now + SETTLE_NS + 1_000_000)


def test_whole_second_times_settle_later() -> None:
    written = 1_700_000_000 * 1_000_000_000
    coarse = SimpleNamespace(st_mtime_ns=written, st_ctime_ns=written)
    fine = SimpleNamespace(st_mtime_ns=written + 1, st_ctime_ns=written + 1)
    half_a_second_later = written + 500_000_000

    assert settled(fine, half_a_second_later)  # type: ignore[arg-type]
    assert not settled(coarse, half_a_second_later)  # type: ignore[arg-type]
    assert settled(coarse, written + COARSE_SETTLE_NS + 1)  # type: ignore[arg-type]
