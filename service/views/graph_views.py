"""Views built from the graph: benchmarks by focus area and GPU variants side by side.

Each view shows the text of one query from ``service.browse_queries``, with a link that opens
it in /query, so a reader can see and change what the view shows. The view lists the rows of
that query a page at a time, and reads them in two smaller queries: one lists the benchmarks
or variants so that Python sorts and pages them, and one reads the rows of the page's members.
Sorting all of them in a query took Oxigraph seconds at 10,000 notes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, render_template, url_for

from service import browse_queries
from service.engine import Term
from service.views.common import (
    Link,
    Pager,
    binding_value,
    fetch_labels,
    format_quantity,
    labelled_link,
    local_name_label,
    page_argument,
    resource_url,
    select_rows,
    service_config,
)

blueprint = Blueprint("graph_views", __name__)


@dataclass
class BenchmarkRow:
    """One benchmark of the benchmarks view, with its metrics and the scale of its scores."""

    benchmark: Link
    metrics: list[Link] = field(default_factory=list)
    metric_texts: list[str] = field(default_factory=list)
    scales: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ComparisonRow:
    """One property of the GPU comparison, with one list of values per variant."""

    property: Link
    cells: list[list[Link]]


def _view_page_url(endpoint: str) -> Callable[[int], str]:
    """Return a function from a page number to the URL of that page of a view."""
    return lambda number: url_for(endpoint, page=number)


def _query_context(query: str) -> dict[str, str]:
    return {"query": query, "query_url": url_for("query.query_page", query=query)}


# The classes whose members the views show.
BENCHMARK_CLASS = "https://notekg.example/ontology#Benchmark"
GPU_VARIANT_CLASS = "https://notekg.example/ontology#GPUVariant"


@blueprint.get("/views")
def views_index() -> str:
    # A view of a class that the graph has no members of would be empty, so it is not listed.
    patterns = [f"?member a <{BENCHMARK_CLASS}>", f"?member a <{GPU_VARIANT_CLASS}>"]
    query = browse_queries.matching_patterns(patterns, service_config().base_iri)
    present = {int(binding_value(row, "index") or 0) for row in select_rows(query)}
    return render_template("views_index.html", benchmarks=0 in present, gpus=1 in present)


# Benchmarks by focus area

# Benchmarks per page of the benchmarks view; a benchmark in two focus areas counts twice.
BENCHMARKS_PAGE_SIZE = 200


@blueprint.get("/views/benchmarks")
def benchmarks_view() -> str:
    """Show one page of the benchmarks, grouped by focus area and sorted by name."""
    base_iri = service_config().base_iri
    page = page_argument("page")
    entries = benchmark_entries(
        select_rows(browse_queries.benchmark_list(base_iri), every_row=True)
    )
    offset = (page - 1) * BENCHMARKS_PAGE_SIZE
    page_members = entries[offset : offset + BENCHMARKS_PAGE_SIZE]
    groups: list[tuple[Link | None, list[BenchmarkRow]]] = []
    if page_members:
        # The rows of the page's entries, in the order of the entries and then by metric name.
        position = {
            (entry.area, entry.benchmark): number for number, entry in enumerate(page_members)
        }
        query = browse_queries.benchmark_details(
            base_iri, sorted({entry.benchmark for entry in page_members})
        )
        rows = [row for row in select_rows(query, every_row=True) if _entry_key(row) in position]
        rows.sort(
            key=lambda row: (
                position[_entry_key(row)],
                (binding_value(row, "metricName") or "").lower(),
            )
        )
        groups = group_benchmarks(rows)

    # Each group's heading counts the benchmarks of its focus area on every page.
    area_totals = Counter(entry.area for entry in entries)
    continued = (
        bool(page_members) and offset > 0 and entries[offset - 1].area == page_members[0].area
    )
    pager = Pager.of(
        _view_page_url("graph_views.benchmarks_view"),
        page,
        offset + len(page_members) < len(entries),
        total=len(entries),
        page_size=BENCHMARKS_PAGE_SIZE,
    )
    return render_template(
        "view_benchmarks.html",
        groups=[
            (area, rows, area_totals[area.iri if area else None], continued and number == 0)
            for number, (area, rows) in enumerate(groups)
        ],
        total=len(entries),
        area_count=len({entry.area for entry in entries}),
        first_number=offset + 1,
        shown_count=len(page_members),
        pager=pager,
        page_size=BENCHMARKS_PAGE_SIZE,
        **_query_context(browse_queries.benchmarks_by_focus_area(base_iri)),
    )


@dataclass(frozen=True)
class BenchmarkEntry:
    """A benchmark in one focus area (None for none), as the benchmarks view lists it."""

    area: str | None
    benchmark: str


def benchmark_entries(rows: list[dict[str, Term]]) -> list[BenchmarkEntry]:
    """Return each (focus area, benchmark) of the rows once, in the order of the view.

    Focus areas come by label, with benchmarks without one last, and benchmarks by name within
    each. A benchmark with two focus areas has an entry in each.
    """
    labels = fetch_labels(area for row in rows if (area := binding_value(row, "focusArea")))
    # The sort key of each row's entry: focus area label and IRI, then benchmark name and IRI.
    ordered: list[tuple[tuple[bool, str, str, str, str], BenchmarkEntry]] = []
    for row in rows:
        area, benchmark = _entry_key(row)
        name = (binding_value(row, "name") or "").lower()
        area_label = labels[area].lower() if area is not None else ""
        key = (area is None, area_label, area or "", name, benchmark)
        ordered.append((key, BenchmarkEntry(area, benchmark)))
    ordered.sort(key=lambda pair: pair[0])
    return list(dict.fromkeys(entry for _, entry in ordered))


def _entry_key(row: dict[str, Term]) -> tuple[str | None, str]:
    return binding_value(row, "focusArea"), binding_value(row, "benchmark") or ""


def group_benchmarks(rows: list[dict[str, Term]]) -> list[tuple[Link | None, list[BenchmarkRow]]]:
    """Group result rows by focus area, merging the rows of one benchmark into one entry.

    Groups and benchmarks keep the order of the rows, and benchmarks without a focus area form
    the last group, whose focus area is None.
    """
    groups: dict[str | None, dict[str, BenchmarkRow]] = defaultdict(dict)
    areas: dict[str | None, Link | None] = {None: None}
    for row in rows:
        area_iri = binding_value(row, "focusArea")
        if area_iri is not None and area_iri not in areas:
            areas[area_iri] = labelled_link(row["focusArea"], binding_value(row, "focusAreaName"))
        _add_benchmark_row(groups[area_iri], row)

    ordered: list[str | None] = [area for area in groups if area is not None]
    if None in groups:
        ordered.append(None)
    return [(areas[area], list(groups[area].values())) for area in ordered]


def _add_benchmark_row(benchmarks: dict[str, BenchmarkRow], row: dict[str, Term]) -> None:
    iri = binding_value(row, "benchmark") or ""
    entry = benchmarks.setdefault(
        iri, BenchmarkRow(labelled_link(row["benchmark"], binding_value(row, "name")))
    )

    if "metric" in row:
        metric = labelled_link(row["metric"], binding_value(row, "metricName"))
        if metric not in entry.metrics:
            entry.metrics.append(metric)
    for name, values in (("metricText", entry.metric_texts), ("scale", entry.scales)):
        text = binding_value(row, name)
        if text and text not in values:
            values.append(text)


# GPU variants side by side

# Variants per page of the GPU view, which has one column per variant.
GPU_VARIANTS_PAGE_SIZE = 12


@blueprint.get("/views/gpus")
def gpus_view() -> str:
    """Compare one page of the GPU variants, sorted by name, one column per variant."""
    base_iri = service_config().base_iri
    page = page_argument("page")
    listed = select_rows(browse_queries.gpu_variant_list(base_iri), every_row=True)
    names: dict[str, str] = {}
    for row in listed:
        names.setdefault(binding_value(row, "variant") or "", binding_value(row, "name") or "")
    ordered = sorted(names, key=lambda iri: (names[iri].lower(), iri))
    offset = (page - 1) * GPU_VARIANTS_PAGE_SIZE
    page_members = ordered[offset : offset + GPU_VARIANTS_PAGE_SIZE]
    variants: list[Link] = []
    comparison: list[ComparisonRow] = []
    if page_members:
        position = {iri: number for number, iri in enumerate(page_members)}
        rows = select_rows(
            browse_queries.gpu_variant_details(base_iri, page_members), every_row=True
        )
        rows.sort(key=lambda row: position[binding_value(row, "variant") or ""])
        variants, comparison = compare_variants(rows)

    pager = Pager.of(
        _view_page_url("graph_views.gpus_view"),
        page,
        offset + len(page_members) < len(ordered),
        total=len(ordered),
        page_size=GPU_VARIANTS_PAGE_SIZE,
    )
    return render_template(
        "view_gpus.html",
        variants=variants,
        rows=comparison,
        total=len(ordered),
        first_number=offset + 1,
        pager=pager,
        page_size=GPU_VARIANTS_PAGE_SIZE,
        **_query_context(browse_queries.gpu_variant_properties(base_iri)),
    )


def compare_variants(rows: list[dict[str, Term]]) -> tuple[list[Link], list[ComparisonRow]]:
    """Pivot (variant, property, value) rows: one column per variant, one row per property."""
    variants: dict[str, Link] = {}
    values: dict[str, dict[str, list[Link]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        variant = binding_value(row, "variant") or ""
        variants.setdefault(variant, labelled_link(row["variant"], binding_value(row, "name")))
        value = _comparison_value(row)
        cell = values[binding_value(row, "property") or ""][variant]
        if value not in cell:
            cell.append(value)

    labels = fetch_labels(values)
    properties = sorted(values, key=lambda prop: labels[prop].lower())
    comparison = [
        ComparisonRow(
            Link(prop, labels[prop], resource_url(prop)),
            [values[prop].get(variant, []) for variant in variants],
        )
        for prop in properties
    ]
    return list(variants.values()), comparison


def _comparison_value(row: dict[str, Term]) -> Link:
    """Show a literal as text, a quantity as ``80 GB`` and any other resource as a link."""
    term = row["value"]
    if isinstance(term, ox.Literal):
        return Link(term.value, term.value, None)

    amount = binding_value(row, "amount")
    if amount is not None:
        label = format_quantity(amount, binding_value(row, "unit"))
        return Link(term.value, label, resource_url(term.value))  # type: ignore[union-attr]

    label = binding_value(row, "valueName") or local_name_label(term.value)  # type: ignore[union-attr]
    return labelled_link(term, label)
