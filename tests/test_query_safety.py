"""Tests of the SERVICE check, the update-keyword check and the dataset-clause check.

Each rejected query below is one that pyoxigraph 0.5 parses as a SERVICE call. The accepted
ones mention "service" only in a name, string, IRI or comment.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from service import query_safety
from service.query_safety import (
    MAX_NESTING,
    ForbiddenQuery,
    UpdateForbidden,
    check_not_update,
    check_query_is_safe,
    find_update_keyword,
    has_dataset_clause,
    names_graphs,
    nesting_problem,
    undeclared_prefixes,
)

ENDPOINT = "http://127.0.0.1:9/sparql"
PREFIXES = (
    f"PREFIX ex: <https://notekg.example/id/>\nPREFIX remote: <{ENDPOINT}>\nPREFIX : <{ENDPOINT}>\n"
)

REJECTED = {
    "upper case": f"SELECT * WHERE {{ SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} }}",
    "lower case": f"select * where {{ service <{ENDPOINT}> {{ ?s ?p ?o }} }}",
    "mixed case": f"SELECT * WHERE {{ SeRvIcE <{ENDPOINT}> {{ ?s ?p ?o }} }}",
    "silent": f"SELECT * WHERE {{ SERVICE SILENT <{ENDPOINT}> {{ ?s ?p ?o }} }}",
    "variable": "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }",
    "silent variable": "SELECT * WHERE { SERVICE SILENT $endpoint { ?s ?p ?o } }",
    "prefixed name": PREFIXES + "SELECT * WHERE { SERVICE remote: { ?s ?p ?o } }",
    "no space before IRI": f"SELECT * WHERE {{ SERVICE<{ENDPOINT}>{{ ?s ?p ?o }} }}",
    "newline and comment": f"SELECT * WHERE {{ SERVICE # remote\n <{ENDPOINT}> {{ ?s ?p ?o }} }}",
    "in OPTIONAL": (
        f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE <{ENDPOINT}> {{ ?s ?q ?r }} }} }}"
    ),
    "in UNION": (
        f"SELECT * WHERE {{ {{ ?s ?p ?o }} UNION {{ SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} }} }}"
    ),
    "in subquery": (
        f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} }} }} }}"
    ),
    "after a string": f"SELECT * WHERE {{ BIND('x' AS ?x) SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} }}",
    # Variable names contain no ".", so this is ?o, a dot and SERVICE.
    "after variable and dot": f"SELECT * WHERE {{ ?s ?p ?o.SERVICE <{ENDPOINT}> {{ ?a ?b ?c }} }}",
    "after literal and dot": f"SELECT * WHERE {{ ?s ?p true.SERVICE <{ENDPOINT}> {{ ?a ?b ?c }} }}",
    "glued to a keyword": f"SELECT * WHERE {{ ?s ?p trueSERVICE <{ENDPOINT}> {{ ?a ?b ?c }} }}",
    "glued to a number": f"SELECT * WHERE {{ ?s ?p 1e5SERVICE <{ENDPOINT}> {{ ?a ?b ?c }} }}",
    "glued to an empty prefix": PREFIXES + "SELECT * WHERE { SERVICE:#\n{ ?s ?p ?o } }",
    "after escaped quote in a name": (
        PREFIXES
        + f"SELECT * WHERE {{ BIND(ex:a\\' AS ?z) SERVICE <{ENDPOINT}> {{ ?a ?b ?c }} # '\n}}"
    ),
    # "<" is less-than here, so "<2)SERVICE:#>" is no IRI: the comment hides the ">".
    "after less-than": PREFIXES + "SELECT * WHERE { FILTER(1<2)SERVICE:#>\n{ ?s ?p ?o } }",
}

ACCEPTED = {
    "no service": "SELECT * WHERE { ?s ?p ?o }",
    "in a string": "SELECT * WHERE { ?s ?p 'SERVICE <http://127.0.0.1:9/> { }' }",
    "in a long string": 'SELECT * WHERE { ?s ?p """a\nSERVICE <http://127.0.0.1:9/> {}""" }',
    "in an IRI": "SELECT * WHERE { ?s <https://notekg.example/SERVICE> ?o }",
    "in an IRI with parentheses": "SELECT * WHERE { ?s <https://notekg.example/a_(b)> ?o }",
    "in a comment": "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://127.0.0.1:9/> { }",
    "variable named service": "SELECT ?service WHERE { ?service ?p ?o }",
    "dollar variable named service": "SELECT $SERVICE WHERE { $SERVICE ?p ?o }",
    "prefixed name ex:SERVICE": PREFIXES + "SELECT * WHERE { ?s ex:SERVICE ?o }",
    "prefix named service": (
        "PREFIX service: <https://notekg.example/id/>\nSELECT * WHERE { service:a ?p ?o }"
    ),
    "local name with a dot": PREFIXES + "SELECT * WHERE { ?s ?p ex:a.SERVICE }",
    "language tag": "SELECT * WHERE { ?s ?p 'x'@en-SERVICE }",
    "less-than in a filter": "SELECT * WHERE { ?s ?p ?o FILTER(?o < 3 && ?o > 1) }",
}


@pytest.mark.parametrize("sparql", REJECTED.values(), ids=REJECTED.keys())
def test_service_call_is_rejected(sparql: str) -> None:
    with pytest.raises(ForbiddenQuery, match="NOTEKG_SERVICE_ALLOWLIST"):
        check_query_is_safe(sparql)


@pytest.mark.parametrize("sparql", REJECTED.values(), ids=REJECTED.keys())
def test_rejected_query_is_valid_sparql(sparql: str) -> None:
    # Oxigraph runs the query at once. Nothing listens on 127.0.0.1:9, so a SERVICE call
    # fails to connect, and "SERVICE ?endpoint" fails on the unbound variable.
    try:
        ox.Store().query(sparql)
    except SyntaxError as error:
        pytest.fail(f"pyoxigraph rejects the query, so it tests nothing: {error}")
    except (OSError, RuntimeError):
        pass


@pytest.mark.parametrize("sparql", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_query_is_valid_sparql(sparql: str) -> None:
    assert isinstance(ox.Store().query(sparql), ox.QuerySolutions)


@pytest.mark.parametrize("sparql", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_query_without_service_call_is_accepted(sparql: str) -> None:
    assert check_query_is_safe(sparql) is None


def test_rejection_names_the_endpoint() -> None:
    with pytest.raises(ForbiddenQuery, match=f"SERVICE {ENDPOINT} is not allowed"):
        check_query_is_safe(REJECTED["upper case"])


@pytest.mark.parametrize("case", ["upper case", "lower case", "silent", "no space before IRI"])
def test_allowlisted_endpoint_is_accepted(case: str) -> None:
    assert check_query_is_safe(REJECTED[case], [ENDPOINT]) is None


def test_other_endpoint_than_allowlisted_is_rejected() -> None:
    with pytest.raises(ForbiddenQuery, match=f"SERVICE {ENDPOINT} is not allowed"):
        check_query_is_safe(REJECTED["upper case"], ["http://127.0.0.1:9/other"])


def test_second_service_call_is_checked_too() -> None:
    sparql = (
        f"SELECT * WHERE {{ SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} "
        "SERVICE <http://127.0.0.1:9/other> { ?s ?q ?r } }"
    )

    with pytest.raises(ForbiddenQuery, match="http://127.0.0.1:9/other"):
        check_query_is_safe(sparql, [ENDPOINT])


@pytest.mark.parametrize("case", ["variable", "prefixed name"])
def test_allowlist_does_not_cover_variable_or_prefixed_name(case: str) -> None:
    with pytest.raises(ForbiddenQuery, match="with a variable or prefixed name"):
        check_query_is_safe(REJECTED[case], [ENDPOINT])


@pytest.mark.parametrize(
    ("sparql", "keyword"),
    [
        ("INSERT DATA { <https://notekg.example/a> <https://notekg.example/b> 1 }", "INSERT"),
        ("delete where { ?s ?p ?o }", "DELETE"),
        ("CLEAR ALL", "CLEAR"),
        ("DROP GRAPH <https://notekg.example/g>", "DROP"),
        ("LOAD <https://notekg.example/data.ttl>", "LOAD"),
    ],
)
def test_update_keyword_is_found(sparql: str, keyword: str) -> None:
    assert find_update_keyword(sparql) == keyword


@pytest.mark.parametrize(
    "sparql",
    [
        "SELECT ?insert WHERE { ?insert ?p 'DELETE' }",
        "SELECT * WHERE { ?s <https://notekg.example/drop> ?o } # CLEAR",
        "PREFIX ex: <https://notekg.example/>\nSELECT * WHERE { ?s ex:load ?o }",
    ],
)
def test_update_keyword_in_names_is_ignored(sparql: str) -> None:
    assert find_update_keyword(sparql) is None


def test_update_is_rejected() -> None:
    with pytest.raises(UpdateForbidden, match="INSERT is a SPARQL Update operation"):
        check_not_update("INSERT DATA { <https://notekg.example/a> <https://notekg.example/b> 1 }")


@pytest.mark.parametrize(
    ("sparql", "expected"),
    [
        ("SELECT * FROM <https://notekg.example/g> WHERE { ?s ?p ?o }", True),
        ("SELECT * from named <https://notekg.example/g> WHERE { GRAPH ?g { ?s ?p ?o } }", True),
        ("SELECT ?from WHERE { ?from ?p 'FROM' } # FROM", False),
    ],
)
def test_dataset_clause_is_detected(sparql: str, expected: bool) -> None:
    assert has_dataset_clause(sparql) is expected


@pytest.mark.parametrize(
    ("sparql", "expected"),
    [
        ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", True),
        ("select * where { graph <https://notekg.example/g> { ?s ?p ?o } }", True),
        ("SELECT * FROM <https://notekg.example/g> WHERE { ?s ?p ?o }", True),
        ("SELECT ?graph WHERE { ?graph ex:graph 'GRAPH' } # GRAPH ?g { }", False),
        ("SELECT * WHERE { ?s <https://notekg.example/GRAPH> ?o }", False),
    ],
)
def test_named_graphs_are_detected(sparql: str, expected: bool) -> None:
    assert names_graphs(sparql) is expected


def test_long_query_is_checked_without_cache() -> None:
    padding = "# " + "x" * query_safety.CACHED_QUERY_LENGTH + "\n"
    sparql = padding + f"SELECT * WHERE {{ SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} }}"

    with pytest.raises(ForbiddenQuery, match="NOTEKG_SERVICE_ALLOWLIST"):
        check_query_is_safe(sparql)
    assert names_graphs(padding + "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }")


def test_repeated_query_gives_the_same_tokens() -> None:
    sparql = "SELECT * FROM <https://notekg.example/id/graph/a> WHERE { ?s ?p ?o }"

    first = query_safety.significant_tokens(sparql)
    again = query_safety.significant_tokens(sparql)

    assert first is again
    assert has_dataset_clause(sparql)
    assert not names_graphs("SELECT * WHERE { ?s ?p 'FROM GRAPH' }")


def test_undeclared_prefixes_with_lines() -> None:
    sparql = (
        "PREFIX ex: <https://example.org/> prefix : <https://example.org/empty#>\n"
        "SELECT * WHERE { ?s ex:p :o ; foo:q ?o .\n"
        '  FILTER(?o != "bar:baz") ?s <https://x/y:z> bar:w . foo:r ?p ?o }  # baz:comment\n'
    )

    assert undeclared_prefixes(sparql) == [("foo", 2), ("bar", 3)]


def test_declared_prefixes_are_not_reported() -> None:
    assert undeclared_prefixes("PREFIX ex: <https://e/> ASK { ex:a ex:b ex:c }") == []


CHECKS = {
    "service": check_query_is_safe,
    "dataset clause": has_dataset_clause,
    "named graphs": names_graphs,
}


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
def test_query_without_keyword_letters_is_not_tokenized(
    check: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokenized: list[str] = []

    def record(sparql: str) -> tuple[()]:
        tokenized.append(sparql)
        return ()

    monkeypatch.setattr(query_safety, "significant_tokens", record)

    check("SELECT ?s WHERE { ?s ?p 'x' }")  # type: ignore[operator]

    assert tokenized == []


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
def test_query_with_escape_is_tokenized(check: object, monkeypatch: pytest.MonkeyPatch) -> None:
    tokenized: list[str] = []

    def record(sparql: str) -> tuple[()]:
        tokenized.append(sparql)
        return ()

    monkeypatch.setattr(query_safety, "significant_tokens", record)
    sparql = "SELECT ?s WHERE { ?s ?p 'it\\'s' }"

    check(sparql)  # type: ignore[operator]

    assert tokenized == [sparql]


@pytest.mark.parametrize(
    ("query", "deepest"),
    [
        ("ASK { " + "{" * 150 + "}" * 150 + " }", 151),
        ("ASK { FILTER(" + "(" * 120 + "1" + ")" * 120 + ") }", 122),
    ],
    ids=["groups", "parentheses"],
)
def test_deep_nesting_is_rejected(query: str, deepest: int) -> None:
    problem = nesting_problem(query)

    assert problem is not None
    assert f"{deepest} levels deep" in problem
    assert f"at most {MAX_NESTING}" in problem


def test_brackets_in_strings_and_comments_do_not_nest() -> None:
    query = 'ASK { FILTER("' + "{" * 300 + '" != "") } # ' + "(" * 300

    assert nesting_problem(query) is None


def test_usual_nesting_is_accepted() -> None:
    query = "SELECT * { { ?s ?p ?o } UNION { ?s ?p ?o FILTER((1 + (2 * 3)) > 0) } }" * 20

    assert nesting_problem(query) is None


@pytest.mark.parametrize(
    "query",
    ["SELECT ?s WHERE { ?s <http://x ?o }", "SELECT * { ?s ?p ?o FILTER(?o = <urn:isbn:123) }"],
    ids=["http", "urn"],
)
def test_unclosed_iri_is_no_undeclared_prefix(query: str) -> None:
    assert undeclared_prefixes(query) == []


def test_prefixed_name_after_less_than_is_checked() -> None:
    assert undeclared_prefixes("SELECT * { ?s ?p ?o FILTER(?o < ex:y) }") == [("ex", 1)]
