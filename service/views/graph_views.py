"""Views built from the graph: benchmarks by focus area and GPU variants side by side.

Each view runs one query from ``service.browse_queries`` and shows its text, with a link that
opens it in /query, so a reader can see and change how the page was made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, render_template, url_for

from service import browse_queries
from service.engine import Term
from service.views.common import (
    Link,
    binding_value,
    fetch_labels,
    format_quantity,
    labelled_link,
    local_name_label,
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


@blueprint.get("/views/benchmarks")
def benchmarks_view() -> str:
    query = browse_queries.benchmarks_by_focus_area(service_config().base_iri)
    groups = group_benchmarks(select_rows(query))
    total = sum(len(rows) for _, rows in groups)
    return render_template(
        "view_benchmarks.html", groups=groups, total=total, **_query_context(query)
    )


def group_benchmarks(rows: list[dict[str, Term]]) -> list[tuple[Link | None, list[BenchmarkRow]]]:
    """Group result rows by focus area, merging the rows of one benchmark into one entry.

    Benchmarks without a focus area form the last group, whose focus area is None.
    """
    groups: dict[str | None, dict[str, BenchmarkRow]] = defaultdict(dict)
    areas: dict[str | None, Link | None] = {None: None}
    for row in rows:
        area_iri = binding_value(row, "focusArea")
        if area_iri is not None and area_iri not in areas:
            areas[area_iri] = labelled_link(row["focusArea"], binding_value(row, "focusAreaName"))
        _add_benchmark_row(groups[area_iri], row)

    ordered = sorted(
        (area for area in groups if area is not None),
        key=lambda area: areas[area].label.lower(),  # type: ignore[union-attr]
    )
    if None in groups:
        ordered.append(None)  # type: ignore[arg-type]
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


@blueprint.get("/views/gpus")
def gpus_view() -> str:
    query = browse_queries.gpu_variant_properties(service_config().base_iri)
    variants, comparison = compare_variants(select_rows(query))
    return render_template(
        "view_gpus.html", variants=variants, rows=comparison, **_query_context(query)
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
