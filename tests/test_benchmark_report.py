"""The benchmark script reads its results back and reports notekg's memory both ways."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import pytest

RUN_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
MIB = 2**20


@pytest.fixture(scope="module")
def run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_run", RUN_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def size_result(run: ModuleType, pages: int) -> object:
    return run.SizeResult(
        pages,
        triples=120 * pages,
        ingest_seconds=2.5,
        oxigraph_load_seconds=1.0,
        notekg_startup_seconds=1.5,
        oxigraph_store_bytes=31 * MIB,
        rss_bytes={"notekg": 69 * MIB, "notekg after queries": 117 * MIB, "oxigraph": 26 * MIB},
        queries={"notekg": {"ask": [run.Measurement(4, 2000, 0, 1.0, 1.6, 5.1)]}},
        pages_latency={"entity page": [run.Measurement(1, 500, 0, 0.8, 1.6, 2.8)]},
        terms={"benchmark": "https://notekg.example/id/benchmark/b"},
    )


def write_results(path: Path, sizes: list[object], **extra: object) -> None:
    raw = {"environment": {"notekg": "abc1234"}, **extra, "sizes": [asdict(s) for s in sizes]}
    path.write_text(json.dumps(raw), encoding="utf-8")


def test_results_read_back(run: ModuleType, tmp_path: Path) -> None:
    written = [size_result(run, 100), size_result(run, 1000)]
    path = tmp_path / "results.json"
    write_results(path, written, published=False)

    results, environment, published = run.read_results(path)

    assert results == written
    assert isinstance(results[0].queries["notekg"]["ask"][0], run.Measurement)
    assert environment == {"notekg": "abc1234"}
    assert published is False


@pytest.mark.parametrize(("sizes", "published"), [([100, 1000, 10_000], True), ([100], False)])
def test_older_results_published_by_sizes(
    run: ModuleType, tmp_path: Path, sizes: list[int], published: bool
) -> None:
    path = tmp_path / "results.json"
    write_results(path, [size_result(run, pages) for pages in sizes])

    assert run.read_results(path)[2] is published


def test_summary_memory_loaded_and_queried(run: ModuleType) -> None:
    row = run._summary_table([size_result(run, 1000)])[2]
    cells = [cell.strip() for cell in row.strip("|").split("|")]

    assert cells[9] == "69 / 117"
    assert cells[11] == f"{69 / 31:.2f} / {117 / 31:.2f}"
