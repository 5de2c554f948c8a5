"""The SPARQL query page at /query: YASGUI over this server's /sparql, or a plain form.

The page sends the form first. ``static/query.js`` replaces it with the vendored YASGUI
editor and results viewer when JavaScript runs, so the page works without JavaScript too.
``?query=`` opens the page with that query in the editor.
"""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request, url_for

from service import browse_queries
from service.views.common import binding_value, select_rows, service_config

blueprint = Blueprint("query", __name__)

MAX_QUERY_LENGTH = 100_000

# Result formats offered as downloads, by the form of the query. CSV and TSV have no form
# for the boolean result of an ASK query.
DOWNLOAD_FORMATS = {
    "SELECT": ("json", "xml", "csv", "tsv"),
    "ASK": ("json", "xml"),
    "CONSTRUCT": ("turtle", "ntriples", "jsonld", "rdfxml"),
    "DESCRIBE": ("turtle", "ntriples", "jsonld", "rdfxml"),
}


@blueprint.get("/query")
def query_page() -> str:
    base_iri = service_config().base_iri
    examples = browse_queries.query_page_examples(base_iri)
    # An example whose pattern the graph lacks, such as one about the bundled notes' MMLU,
    # would return no rows, so only the others are offered.
    query_text = browse_queries.matching_patterns(
        [example.requires for example in examples], base_iri
    )
    matching = {int(binding_value(row, "index") or 0) for row in select_rows(query_text)}
    examples = [
        example
        for index, example in enumerate(examples)
        if example.requires is None or index in matching
    ]
    query = request.args.get("query", "")[:MAX_QUERY_LENGTH] or examples[0].query
    return render_template(
        "query.html",
        query=query,
        examples=[
            (example.title, example.query, url_for("query.query_page", query=example.query))
            for example in examples
        ],
        downloads=download_links(query),
        reopen_url=url_for("query.query_page", query=query),
        base_iri=service_config().base_iri,
    )


def download_links(query: str) -> list[tuple[str, str]]:
    """Return (format name, /sparql URL) pairs that run the query in each fitting format."""
    formats = DOWNLOAD_FORMATS[query_form(query)]
    return [(name, url_for("sparql.endpoint", query=query, format=name)) for name in formats]


def query_form(query: str) -> str:
    """Return the query's form after its prologue: SELECT, ASK, CONSTRUCT or DESCRIBE.

    A text without any of these keywords counts as SELECT.
    """
    text = re.sub(r"<[^<>\s]*>", " ", query)  # IRIs, which may contain '#' and keywords
    text = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", " ", text)
    text = re.sub(r"#[^\n]*", " ", text)
    match = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", text, re.IGNORECASE)
    return match.group(1).upper() if match else "SELECT"
