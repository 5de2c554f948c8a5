"""Token checks on SPARQL text: SERVICE calls, SPARQL Update operations and dataset clauses.

Oxigraph evaluates ``SERVICE`` by sending HTTP requests, so the endpoint checks every query
before it runs. The checks read the query's tokens, skipping IRIs, strings and comments, and
find each ``SERVICE`` keyword with the endpoint it names. ``find_update_keyword`` finds the
keywords of SPARQL 1.1 Update, so that the read-only endpoint can answer an update with 403
instead of a parser error. ``FROM`` and ``FROM NAMED`` only select graphs already in the
in-memory store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN = re.compile(
    r"""
      (?P<comment>\#[^\n]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\s]*>)
    | (?P<word>[?$]?[A-Za-z_][\w\-.]*(?::[\w\-.%]*)?|:[\w\-.%]*)
    | (?P<other>\S)
    """,
    re.VERBOSE,
)


# The operation keywords of SPARQL 1.1 Update (https://www.w3.org/TR/sparql11-update/).
# None of them is a keyword of SPARQL 1.1 Query.
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)


class ForbiddenQuery(Exception):
    """The query asks for something this endpoint does not do, such as a remote call."""


class UpdateForbidden(ForbiddenQuery):
    """The request is a SPARQL Update, which the read-only endpoint does not run."""


def check_query_is_safe(sparql: str, service_allowlist: Iterable[str] = ()) -> None:
    """Raise ForbiddenQuery when the query has a SERVICE call to an endpoint not allowed."""
    allowed = frozenset(service_allowlist)
    tokens = _significant_tokens(sparql)

    for index, match in enumerate(tokens):
        if match.lastgroup != "word" or match.group().upper() != "SERVICE":
            continue

        endpoint = _service_endpoint(tokens[index + 1 : index + 3])
        if endpoint is None or endpoint not in allowed:
            shown = endpoint or "a variable or prefixed name"
            raise ForbiddenQuery(
                f"SERVICE {shown} is not allowed: this endpoint does not call other endpoints; "
                "ask the operator to add the endpoint IRI to NOTEKG_SERVICE_ALLOWLIST"
            )


def _service_endpoint(following: list[re.Match[str]]) -> str | None:
    """Return the IRI after ``SERVICE [SILENT]``, or None when it is not a full IRI."""
    for match in following:
        text = match.group()
        if match.lastgroup == "word" and text.upper() == "SILENT":
            continue
        if match.lastgroup == "iri":
            return text[1:-1]
        return None
    return None


def find_update_keyword(sparql: str) -> str | None:
    """Return the first SPARQL Update keyword of the text, upper-cased, or None."""
    for match in _significant_tokens(sparql):
        keyword = match.group().upper()
        if match.lastgroup == "word" and keyword in UPDATE_KEYWORDS:
            return keyword
    return None


def check_not_update(sparql: str) -> None:
    """Raise UpdateForbidden when the text contains a SPARQL Update operation."""
    keyword = find_update_keyword(sparql)
    if keyword is not None:
        raise UpdateForbidden(
            f"{keyword} is a SPARQL Update operation, and this endpoint is read-only; "
            "send SELECT, ASK, CONSTRUCT or DESCRIBE queries"
        )


def has_dataset_clause(sparql: str) -> bool:
    """Return True when the query names its dataset with FROM or FROM NAMED."""
    return any(
        match.lastgroup == "word" and match.group().upper() == "FROM"
        for match in _significant_tokens(sparql)
    )


def _significant_tokens(sparql: str) -> list[re.Match[str]]:
    return [match for match in _TOKEN.finditer(sparql) if match.lastgroup != "comment"]
