"""Check that the test fixtures start and reach real components."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy
from conftest import free_port, running_in_ci, skip_or_fail_missing, stop_abandoned_clusters

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_free_port_is_bindable() -> None:
    port = free_port()

    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


def test_abandoned_cluster_directory_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cluster of a session whose process has exited goes; others stay.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    exited = subprocess.Popen(["true"])
    exited.wait()
    owners = {"abandoned": str(exited.pid), "running": str(os.getpid()), "unowned": None}
    for name, owner in owners.items():
        (tmp_path / f"notekg-postgresql-{name}").mkdir()
        if owner is not None:
            (tmp_path / f"notekg-postgresql-{name}" / "owner.pid").write_text(owner)

    removed = stop_abandoned_clusters(Path("/usr/bin"), None)

    assert removed == [tmp_path / "notekg-postgresql-abandoned"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "notekg-postgresql-running",
        "notekg-postgresql-unowned",
    ]


def test_postgresql_select_version(postgresql_url: str) -> None:
    engine = sqlalchemy.create_engine(postgresql_url)
    try:
        with engine.connect() as connection:
            version = connection.execute(sqlalchemy.text("select version()")).scalar_one()
            listen_addresses = connection.execute(
                sqlalchemy.text("show listen_addresses")
            ).scalar_one()
            database = connection.execute(sqlalchemy.text("select current_database()")).scalar_one()
    finally:
        engine.dispose()

    assert version.startswith("PostgreSQL ")
    assert listen_addresses == "127.0.0.1"
    assert database == postgresql_url.rsplit("/", 1)[1]


def test_postgresql_create_and_drop_table(postgresql_url: str) -> None:
    engine = sqlalchemy.create_engine(postgresql_url)
    metadata = sqlalchemy.MetaData()
    table = sqlalchemy.Table(
        "infrastructure_check",
        metadata,
        sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
        sqlalchemy.Column("label", sqlalchemy.Text, nullable=False),
    )
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                table.insert(), [{"id": 1, "label": "ä ∀ 🙂"}, {"id": 2, "label": "b"}]
            )
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.select(table).order_by(table.c.id)).all()
        assert [tuple(row) for row in rows] == [(1, "ä ∀ 🙂"), (2, "b")]

        metadata.drop_all(engine)
        assert not sqlalchemy.inspect(engine).has_table("infrastructure_check")
    finally:
        engine.dispose()


def test_browser_reads_page_title(
    browser_page: Page,
    serve_directory: Callable[[Path], str],
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>notekg infrastructure</title></head>"
        "<body><h1 id='heading'>It works</h1></body></html>",
        encoding="utf-8",
    )
    url = serve_directory(tmp_path)

    response = browser_page.goto(url)

    assert url.startswith("http://127.0.0.1:")
    assert response is not None
    assert response.status == 200
    assert browser_page.title() == "notekg infrastructure"
    assert browser_page.locator("#heading").inner_text() == "It works"

    screenshot = screenshot_dir / "infrastructure_page.png"
    browser_page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 0


def test_browser_pages_start_empty(browser_page: Page) -> None:
    """Each browser_page gets a new context, so no earlier test's storage is visible."""
    browser_page.goto("about:blank")

    assert browser_page.context.cookies() == []
    assert len(browser_page.context.pages) == 1


def test_rapper_version(rapper_path: Path) -> None:
    result = subprocess.run(
        [str(rapper_path), "--version"], capture_output=True, text=True, check=False, timeout=30
    )

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+\.\d+\.\d+\s*", result.stdout), result.stdout


def test_rapper_counts_turtle_triples(rapper_path: Path, tmp_path: Path) -> None:
    turtle = tmp_path / "sample.ttl"
    turtle.write_text(
        "@prefix ex: <http://example.org/> .\n"
        'ex:a ex:label "a" ; ex:next ex:b .\n'
        'ex:b ex:label "b" .\n',
        encoding="utf-8",
    )

    result = subprocess.run(
        [str(rapper_path), "--input", "turtle", "--count", str(turtle)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert "returned 3 triples" in result.stderr, result.stderr


@pytest.mark.parametrize("value", ["", "0", "false", "False"])
def test_running_in_ci_false(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)

    assert not running_in_ci()


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_running_in_ci_true(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)

    assert running_in_ci()


def test_markers_added_from_fixtures(
    request: pytest.FixtureRequest, postgresql_url: str, browser_page: Page
) -> None:
    assert request.node.get_closest_marker("postgresql") is not None
    assert request.node.get_closest_marker("browser") is not None


def test_missing_component_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="apt-get install -y example-package"):
        skip_or_fail_missing("example tool", "example-package")


def test_missing_component_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="apt-get install -y example-package"):
        skip_or_fail_missing("example tool", "example-package")
