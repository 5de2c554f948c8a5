"""The HTML page of a SPARQL query result, for browsers that submit the endpoint's forms.

SELECT results show as a table whose IRIs link to their pages, ASK results as a sentence and
CONSTRUCT and DESCRIBE results as a table of subject, predicate and object. The page repeats
the query in a form to edit and rerun, and links to the same result in the other formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from flask import g, render_template, url_for

from service import results
from service.engine import QueryResult, Term
from service.views.common import resource_url

# Key in flask.g of the request's QueryForm, which error.html shows again so that the user
# can correct the query.
SPARQL_FORM_KEY = "sparql_form"

# Download links of each result kind: format parameter value and the name shown.
DOWNLOAD_FORMATS: dict[str, list[tuple[str, str]]] = {
    "solutions": [
        ("json", "SPARQL JSON"),
        ("xml", "SPARQL XML"),
        ("csv", "CSV"),
        ("tsv", "TSV"),
    ],
    "boolean": [("json", "SPARQL JSON"), ("xml", "SPARQL XML")],
    "graph": [
        ("turtle", "Turtle"),
        ("ntriples", "N-Triples"),
        ("jsonld", "JSON-LD"),
        ("rdfxml", "RDF/XML"),
        ("nquads", "N-Quads"),
        ("trig", "TriG"),
    ],
}


@dataclass(frozen=True)
class QueryForm:
    """The query and dataset of a request, as the query form shows them."""

    query: str
    default_graphs: list[str]
    named_graphs: list[str]

    def parameters(self) -> dict[str, Any]:
        """Return the /sparql parameters that run this query over this dataset."""
        return {
            "query": self.query,
            "default-graph-uri": self.default_graphs,
            "named-graph-uri": self.named_graphs,
        }


@dataclass(frozen=True)
class Cell:
    """One RDF term as a table cell.

    ``url`` is the page of an IRI, ``title`` the full IRI of a shortened one and ``note`` the
    language tag or datatype of a literal.
    """

    text: str
    kind: str
    url: str | None = None
    title: str | None = None
    note: str | None = None


def remember_form(form: QueryForm) -> None:
    """Store the request's query form for the error page."""
    setattr(g, SPARQL_FORM_KEY, form)


def render_results(
    result: QueryResult, form: QueryForm, prefixes: dict[str, str], max_rows: int
) -> str:
    """Render sparql_results.html for the result of the query in ``form``."""
    if result.kind == "graph":
        headings = ["subject", "predicate", "object"]
        parts = [(triple.subject, triple.predicate, triple.object) for triple in result.triples]
        rows = [[term_cell(term, prefixes) for term in part] for part in parts]
    else:
        headings = result.variables
        rows = [[term_cell(term, prefixes) for term in row] for row in result.rows]

    downloads = [
        (label, url_for("sparql.endpoint", **form.parameters(), format=name))
        for name, label in DOWNLOAD_FORMATS[result.kind]
    ]
    return render_template(
        "sparql_results.html",
        form=form,
        kind=result.kind,
        boolean=result.boolean,
        headings=headings,
        rows=rows,
        truncated=result.truncated,
        max_rows=max_rows,
        downloads=downloads,
        query_page_url=url_for("query.query_page", query=form.query),
    )


def term_cell(term: Term | None, prefixes: dict[str, str]) -> Cell | None:
    """Return the cell of one term, or None for an unbound variable."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        short = shorten_iri(term.value, prefixes)
        return Cell(
            short,
            "iri",
            url=resource_url(term.value),
            title=term.value if short != term.value else None,
        )
    if isinstance(term, ox.BlankNode):
        return Cell("_:" + term.value, "bnode")
    if isinstance(term, ox.Triple):
        return Cell(results.tsv_term(term), "triple")
    return Cell(term.value, "literal", note=literal_note(term, prefixes))


def literal_note(literal: ox.Literal, prefixes: dict[str, str]) -> str | None:
    """Return ``@tag`` for a language-tagged literal, its shortened datatype, or None for
    a plain string."""
    if literal.language:
        return "@" + literal.language
    if literal.datatype.value == results.XSD + "string":
        return None
    return shorten_iri(literal.datatype.value, prefixes)


def shorten_iri(iri: str, prefixes: dict[str, str]) -> str:
    """Write the IRI as ``prefix:rest`` with the longest matching namespace, else in full."""
    best = ""
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            if not best or len(namespace) > len(prefixes[best]):
                best = prefix
    if not best:
        return iri
    return f"{best}:{iri[len(prefixes[best]) :]}"
