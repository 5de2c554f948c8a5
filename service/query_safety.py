"""Token checks on SPARQL text: SERVICE calls, SPARQL Update operations and dataset clauses.

Oxigraph evaluates ``SERVICE`` by sending HTTP requests, so the endpoint checks every query
before it runs. The checks read the query's tokens, skipping IRIs, strings and comments, and
find each ``SERVICE`` keyword with the endpoint it names. Oxigraph's parser (pyoxigraph 0.5)
needs no word boundary around a keyword, so ``trueSERVICE <x> {}`` and ``SERVICE:x {}`` are
SERVICE calls too, and the check rejects such text. ``find_update_keyword`` finds the
keywords of SPARQL 1.1 Update, so that the read-only endpoint can reject an update with 403
instead of a parser error. ``FROM`` and ``FROM NAMED`` only select graphs already in the
in-memory store. ``check_update_is_safe`` rejects ``LOAD`` and every ``SERVICE`` call in an
update, because pyoxigraph would fetch the IRI that either names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence

# The token rules follow the SPARQL 1.1 grammar. Variable names contain no "." or "-", so
# "?o.SERVICE" is a variable, a dot and a keyword. A prefixed name's local part may contain "."
# and backslash escapes such as "\'".
_TOKEN = re.compile(
    r"""
      (?P<comment>\#[^\n]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<variable>[?$]\w+)
    | (?P<prefixed>(?:[^\W\d][\w\-.]*)?:(?:[\w\-.:%]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<word>[A-Za-z_]\w*)
    | (?P<other>\S)
    """,
    re.VERBOSE,
)

# Inside an expression "<" is the less-than operator, so "FILTER(1<2)SERVICE:x#>" reads as
# one IRI token here but as a filter and a SERVICE call to Oxigraph. An expression always ends
# with ")", so an IRI token with ")" before "SERVICE" may hide a SERVICE call.
_HIDDEN_SERVICE = re.compile(r"\).*SERVICE", re.IGNORECASE | re.DOTALL)


def _may_contain(sparql: str, *keywords: str) -> bool:
    """Return whether a token of the query may be one of the lower-case ``keywords``.

    A keyword's letters are in the query's text, in some case, unless an escape sequence
    spells them, so a query with neither needs no tokens for the check. The service's own
    queries, about ten for an entity page, mostly have neither.
    """
    if "\\" in sparql:
        return True
    text = sparql.lower()
    return any(keyword in text for keyword in keywords)


# The operation keywords of SPARQL 1.1 Update (https://www.w3.org/TR/sparql11-update/).
# None of them is a keyword of SPARQL 1.1 Query.
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)


# The deepest nesting of groups, brackets and parentheses that a query or update may have.
# pyoxigraph 0.5 parses nested groups recursively on the calling thread's stack: an ASK with
# 2,500 nested groups crashed the process (8 MiB stack), while queries that people write nest
# a few levels.
MAX_NESTING = 100


def nesting_problem(sparql: str) -> str | None:
    """Return why the query or update nests too deeply to be parsed, or None."""
    if sum(sparql.count(bracket) for bracket in "{([") <= MAX_NESTING:
        return None
    depth = deepest = 0
    for token in significant_tokens(sparql):
        if token.lastgroup != "other":
            continue
        if token.group() in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif token.group() in "})]":
            depth -= 1
    if deepest <= MAX_NESTING:
        return None
    return (
        f"it nests groups, brackets or parentheses {deepest} levels deep, and notekg "
        f"parses at most {MAX_NESTING}; write it with fewer nested levels"
    )


class ForbiddenQuery(Exception):
    """The query requests something this endpoint does not do, such as a remote call."""


class UpdateForbidden(ForbiddenQuery):
    """The request is a SPARQL Update, which the read-only endpoint does not run."""


def check_query_is_safe(sparql: str, service_allowlist: Iterable[str] = ()) -> None:
    """Raise ForbiddenQuery when the query has a SERVICE call to an endpoint not allowed."""
    if not _may_contain(sparql, "service"):
        return
    allowed = frozenset(service_allowlist)
    for endpoint in _service_calls(significant_tokens(sparql)):
        if endpoint is None or endpoint not in allowed:
            shown = endpoint or "with a variable or prefixed name"
            raise ForbiddenQuery(
                f"SERVICE {shown} is not allowed: this endpoint does not call other endpoints; "
                "ask the operator to add the endpoint IRI to NOTEKG_SERVICE_ALLOWLIST"
            )


def check_update_is_safe(sparql: str) -> None:
    """Raise ForbiddenQuery when an update has a LOAD operation or a SERVICE call.

    pyoxigraph 0.5 runs LOAD by fetching the IRI over HTTP, and SERVICE by calling the
    endpoint, so a write that has either could make the server send requests or, through
    redirects, read what the network offers. Updates get no SERVICE allowlist.
    """
    tokens = significant_tokens(sparql)
    for match in tokens:
        if _is_load_keyword(match):
            raise ForbiddenQuery(
                "LOAD is not allowed in an update: the server does not fetch URLs or read "
                "files; send the triples in INSERT DATA, or PUT them to /store?graph=IRI"
            )

    for endpoint in _service_calls(tokens):
        shown = endpoint or "with a variable or prefixed name"
        raise ForbiddenQuery(
            f"SERVICE {shown} is not allowed in an update: writes never call other "
            "endpoints; copy the data into the update with INSERT DATA"
        )


def undeclared_prefixes(sparql: str) -> list[tuple[str, int]]:
    """Return each prefix that a prefixed name uses without a PREFIX declaration, with its line.

    The prefixes come in the order of their first use. A name in a PREFIX declaration itself
    is not a use, and neither is the scheme of an IRI that misses its ">" (``<http://x ?o``,
    ``<urn:isbn:1)``): right after a "<", or followed by "/".
    """
    tokens = significant_tokens(sparql)
    declared: set[str] = set()
    used: dict[str, int] = {}
    for index, match in enumerate(tokens):
        if match.lastgroup != "prefixed" or sparql.startswith("/", match.end()):
            continue
        previous = tokens[index - 1].group() if index else ""
        if previous == "<" and tokens[index - 1].end() == match.start():
            continue
        prefix = match.group().split(":", 1)[0]
        if previous.upper() == "PREFIX":
            declared.add(prefix)
        elif prefix not in declared and prefix not in used:
            used[prefix] = sparql.count("\n", 0, match.start()) + 1
    return [(prefix, line) for prefix, line in used.items() if prefix not in declared]


def _service_calls(tokens: Sequence[re.Match[str]]) -> Iterator[str | None]:
    """Yield the endpoint IRI of each SERVICE call, or None when it is not a full IRI."""
    for index, match in enumerate(tokens):
        if _is_service_call(match, tokens[index + 1 : index + 2]):
            yield _service_endpoint(match, tokens[index + 1 : index + 3])


def _is_load_keyword(match: re.Match[str]) -> bool:
    """Return True when the token is, or may hide, the LOAD keyword."""
    text = match.group().upper()
    if match.lastgroup == "word":
        return "LOAD" in text
    if match.lastgroup == "prefixed":
        # "LOAD:x" is LOAD with the IRI ":x" to Oxigraph's parser.
        return text.split(":", 1)[0].endswith(("LOAD", "LOADSILENT"))
    if match.lastgroup == "iri":
        return re.search(r"\).*LOAD", text, re.DOTALL) is not None
    return False


def _is_service_call(match: re.Match[str], following: Sequence[re.Match[str]]) -> bool:
    """Return True when the token is, or may hide, the SERVICE keyword."""
    text = match.group()
    if match.lastgroup == "word":
        return "SERVICE" in text.upper()
    if match.lastgroup == "prefixed":
        # "SERVICE:x {" is SERVICE with the endpoint ":x", and "service:x ?p ?o" a triple.
        prefix = text.split(":", 1)[0].upper()
        followed_by_group = bool(following) and following[0].group() == "{"
        return prefix.endswith(("SERVICE", "SERVICESILENT")) and followed_by_group
    if match.lastgroup == "iri":
        return _HIDDEN_SERVICE.search(text) is not None
    return False


def _service_endpoint(keyword: re.Match[str], following: Sequence[re.Match[str]]) -> str | None:
    """Return the IRI after ``SERVICE [SILENT]``, or None when it is not a full IRI."""
    if keyword.lastgroup != "word":
        return None
    after_keyword = keyword.group().upper().rsplit("SERVICE", 1)[1]
    if after_keyword not in ("", "SILENT"):
        return None

    for match in following:
        text = match.group()
        if match.lastgroup == "word" and text.upper() == "SILENT" and not after_keyword:
            continue
        if match.lastgroup == "iri":
            return text[1:-1]
        return None
    return None


def find_update_keyword(sparql: str) -> str | None:
    """Return the first SPARQL Update keyword of the text, upper-cased, or None."""
    for match in significant_tokens(sparql):
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
            "send SELECT, ASK, CONSTRUCT or DESCRIBE queries here, and updates to /update, "
            "which needs the write token (NOTEKG_UPDATE_TOKEN)"
        )


def has_dataset_clause(sparql: str) -> bool:
    """Return True when the query names its dataset with FROM or FROM NAMED."""
    if not _may_contain(sparql, "from"):
        return False
    return any(
        match.lastgroup == "word" and match.group().upper() == "FROM"
        for match in significant_tokens(sparql)
    )


def names_graphs(sparql: str) -> bool:
    """Return True when the query names graphs, with FROM, FROM NAMED or GRAPH."""
    if not _may_contain(sparql, "from", "graph"):
        return False
    return any(
        match.lastgroup == "word" and match.group().upper() in ("FROM", "GRAPH")
        for match in significant_tokens(sparql)
    )


def has_update_dataset_clause(sparql: str) -> bool:
    """Return True when the update names its dataset with USING, USING NAMED or WITH."""
    return any(
        match.lastgroup == "word" and match.group().upper() in ("USING", "WITH")
        for match in significant_tokens(sparql)
    )


# The maximum length of a query whose tokens are kept, and the maximum number of queries kept.
CACHED_QUERY_LENGTH = 4096
TOKEN_CACHE_SIZE = 256


def significant_tokens(sparql: str) -> Sequence[re.Match[str]]:
    """Split SPARQL text into tokens with the grammar's rules, leaving out comments.

    A request checks its query several times, and pages and clients repeat queries, so the
    tokens of the last TOKEN_CACHE_SIZE queries up to CACHED_QUERY_LENGTH characters are kept.
    """
    if len(sparql) > CACHED_QUERY_LENGTH:
        return _tokens(sparql)
    return _cached_tokens(sparql)


@functools.lru_cache(maxsize=TOKEN_CACHE_SIZE)
def _cached_tokens(sparql: str) -> tuple[re.Match[str], ...]:
    return _tokens(sparql)


def _tokens(sparql: str) -> tuple[re.Match[str], ...]:
    return tuple(match for match in _TOKEN.finditer(sparql) if match.lastgroup != "comment")
