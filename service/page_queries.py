"""The SPARQL queries that the HTML pages run.

Every function returns the text of one query. Values from a request enter that text only
through ``iri_term``, which accepts only an absolute IRI that Oxigraph's parser accepts and
that contains no space, quote or angle bracket, and through ``string_literal``, which writes
an escaped string literal. The pages never put SPARQL text together themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pyoxigraph as ox

NK = "https://notekg.example/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SCHEMA = "https://schema.org/"

# Properties that name a resource, in order of preference: the first one present is its label.
LABEL_PROPERTIES: tuple[str, ...] = (
    SKOS + "prefLabel",
    RDFS_LABEL,
    "http://xmlns.com/foaf/0.1/name",
    "http://purl.org/dc/terms/title",
    SCHEMA + "name",
)
ALTERNATIVE_NAME_PROPERTIES: tuple[str, ...] = (SKOS + "altLabel", NK + "fullName")
DESCRIPTION_PROPERTIES: tuple[str, ...] = (
    "http://purl.org/dc/terms/description",
    SKOS + "definition",
)

# Keywords, such as a note's tags, which search matches by word as it matches descriptions.
KEYWORD_PROPERTIES: tuple[str, ...] = (SCHEMA + "keywords",)

NK_SOURCE = NK + "source"
NK_IN_NOTE = NK + "inNote"
NOTE_CLASS = NK + "Note"
NOTE_TEXT = SCHEMA + "text"

MAX_IRI_LENGTH = 4096
_FORBIDDEN_IRI_CHARACTERS = re.compile(r"[\s<>\"{}|^`\\\x00-\x1f\x7f]")

PREFIXES = f"""\
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <{SKOS}>
PREFIX schema: <{SCHEMA}>
PREFIX nk: <{NK}>
"""


class InvalidIri(ValueError):
    """A value given as an IRI is not an absolute IRI that can be written into a query."""


def check_iri(text: str) -> str:
    """Return an absolute IRI that is safe to write as ``<text>``, or raise InvalidIri."""
    if not text:
        raise InvalidIri(
            "the IRI is missing; give an absolute IRI such as https://notekg.example/id/…"
        )

    if len(text) > MAX_IRI_LENGTH:
        raise InvalidIri(f"the IRI is {len(text)} characters long; the maximum is {MAX_IRI_LENGTH}")

    if _FORBIDDEN_IRI_CHARACTERS.search(text):
        raise InvalidIri(
            f"invalid IRI {text!r}: IRIs cannot contain spaces, quotes, <, >, {{, }}, |, ^, "
            "` or \\; percent-encode them"
        )

    problem = iri_problem(text)
    if problem is not None:
        raise InvalidIri(f"invalid IRI {text!r}: {problem}; give an absolute IRI")
    return text


def iri_problem(text: str) -> str | None:
    """Return why ``text`` is not an absolute IRI that RDF can contain, or None when it is one."""
    try:
        ox.NamedNode(text)
    except ValueError as error:
        return str(error)
    return None


def iri_term(iri: str) -> str:
    """Write a checked IRI as a SPARQL IRI reference, ``<iri>``."""
    return str(ox.NamedNode(check_iri(iri)))


def string_literal(text: str) -> str:
    """Write text as an escaped SPARQL string literal."""
    return str(ox.Literal(text))


def _values(variable: str, iris: Iterable[str]) -> str:
    return f"VALUES ?{variable} {{ {' '.join(iri_term(iri) for iri in iris)} }}"


def label_optionals(variable: str) -> str:
    """Write one OPTIONAL per label property, binding ?label_0, ?label_1, … by preference."""
    lines = []
    for index, prop in enumerate(LABEL_PROPERTIES):
        label = f"?label_{index}"
        pattern = f"?{variable} {iri_term(prop)} {label} . FILTER(isLiteral({label}))"
        lines.append(f"  OPTIONAL {{ {pattern} }}")
    return "\n".join(lines)


def label_aggregate() -> str:
    """Write the preferred label as an aggregate: the minimum of the first property present."""
    # NOTE: the label is not chosen by language: of several labels of one property, the
    # smallest in SPARQL's order wins, whatever its language tag.
    minimums = ", ".join(f"MIN(?label_{index})" for index in range(len(LABEL_PROPERTIES)))
    return f"COALESCE({minimums})"


def _local_name_expression(variable: str) -> str:
    return f'REPLACE(STR(?{variable}), "^.*[/#]", "")'


# Home page


def class_counts() -> str:
    """Count the distinct members of every class, largest first."""
    return """
SELECT ?class (COUNT(DISTINCT ?member) AS ?count) WHERE {
  ?member a ?class .
  FILTER(isIRI(?class))
}
GROUP BY ?class
ORDER BY DESC(?count) ?class
"""


def example_queries() -> list[tuple[str, str, str | None]]:
    """Return the example queries that the home page links to.

    Each is (title, query text, class IRI), where the class is one that the graph must have
    instances of for the query to return rows, or None.
    """
    return [
        (
            "Classes and how many resources each has",
            PREFIXES
            + """SELECT ?class (COUNT(?resource) AS ?resources) WHERE {
  ?resource a ?class .
}
GROUP BY ?class
ORDER BY DESC(?resources)""",
            None,
        ),
        (
            "Benchmarks with their focus areas",
            PREFIXES
            + """SELECT ?benchmark ?name ?focusAreaName WHERE {
  ?benchmark a nk:Benchmark ;
             skos:prefLabel ?name .
  OPTIONAL { ?benchmark nk:focusArea/skos:prefLabel ?focusAreaName }
}
ORDER BY ?name""",
            NK + "Benchmark",
        ),
        (
            "Where each resource was read from",
            PREFIXES
            + """SELECT ?resource ?file ?startLine ?endLine WHERE {
  ?resource nk:source ?span .
  ?span nk:inNote/nk:filePath ?file ;
        nk:startLine ?startLine ;
        nk:endLine ?endLine .
}
ORDER BY ?file ?startLine
LIMIT 100""",
            None,
        ),
    ]


# Entity pages


def replacement_of(iri: str) -> str:
    """SELECT the resource that replaces an old IRI, recorded when a heading was renamed."""
    return f"""{PREFIXES}
SELECT ?current WHERE {{
  ?current <http://purl.org/dc/terms/replaces> {iri_term(iri)} .
  FILTER NOT EXISTS {{ {iri_term(iri)} ?p ?o }}
}}
ORDER BY ?current LIMIT 1"""


def graph_exists(iri: str) -> str:
    """Ask whether the IRI names a stored graph that has triples."""
    return f"ASK {{ GRAPH {iri_term(iri)} {{ ?s ?p ?o }} }}"


def notes_in_graph(graph_iri: str) -> str:
    """Select the notes (?note) that a graph describes, at most 10."""
    return f"""
{PREFIXES}
SELECT DISTINCT ?note WHERE {{ GRAPH {iri_term(graph_iri)} {{ ?note a nk:Note }} }} LIMIT 10
"""


def entity_exists(iri: str) -> str:
    """Ask whether the IRI occurs in any triple, as subject, predicate or object."""
    term = iri_term(iri)
    return f"ASK {{ {{ {term} ?p ?o }} UNION {{ ?s {term} ?o }} UNION {{ ?s ?p {term} }} }}"


def labels(iris: Sequence[str]) -> str:
    """Select the minimum label (?label) of each IRI (?resource) for each label property it has.

    ?rank is the property's index in LABEL_PROPERTIES, so the row of the lowest rank contains the
    label that ``label_aggregate`` would choose. One UNION branch per property keeps the rows
    to one per stored label, where ``label_optionals`` joins every label property's values
    with every other's, and Oxigraph's union default graph repeats a label once per named
    graph that contains it.
    """
    branches = " UNION ".join(
        f"{{ ?resource {iri_term(prop)} ?value BIND({rank} AS ?rank) }}"
        for rank, prop in enumerate(LABEL_PROPERTIES)
    )
    return f"""
SELECT ?resource ?rank (MIN(?value) AS ?label) WHERE {{
  {_values("resource", iris)}
  {branches}
  FILTER(isLiteral(?value))
}}
GROUP BY ?resource ?rank
"""


def own_values(
    iri: str, *, limit: int | None = None, properties: Sequence[str] | None = None
) -> str:
    """Select the resource's values (?property, ?value), literals and links, in the store's order.

    ``properties`` keeps the values of those properties only, and ``limit`` caps the rows.
    The query neither filters on the kind of value nor orders the rows, because on
    Oxigraph's on-disk store both read the text of every value. For the busiest metric of
    10,000 synthetic notes, with 7,281 values, FILTER(isLiteral(?value)) took 25 ms where
    COUNT(*) without it took 2.2 ms, and ordering its 3,307 ``nk:definedIn`` links took 220 ms.
    """
    values = _values("property", properties) if properties is not None else ""
    cap = f"LIMIT {int(limit)}" if limit is not None else ""
    return f"""
SELECT ?property ?value WHERE {{
  {values}
  {iri_term(iri)} ?property ?value .
}}
{cap}
"""


def value_counts(iri: str) -> str:
    """Count the resource's values per property (?property, ?count)."""
    return f"""
SELECT ?property (COUNT(*) AS ?count) WHERE {{
  {iri_term(iri)} ?property ?value .
}}
GROUP BY ?property
"""


def value_page(iri: str, property_iri: str, limit: int, offset: int) -> str:
    """Select one page of the resource's values (?value) of one property, in the store's order.

    As in ``provenance_page``, the pages of one generation do not overlap.
    """
    return f"""
SELECT ?value WHERE {{
  {iri_term(iri)} {iri_term(property_iri)} ?value .
}}
LIMIT {int(limit)} OFFSET {int(offset)}
"""


def quantity_parts(iris: Sequence[str]) -> str:
    """Select the parts of each of the IRIs that is a schema:QuantitativeValue.

    Binds ?target, ?amount, ?unit when the quantity has one, and ?written when it has the
    text as written in an rdfs:label. An entity page asks only about the targets it shows:
    the same lookup over every link of an entity with 7,300 of them took 27 ms at 10,000
    synthetic notes, and as an OPTIONAL inside the query of its links 90 ms at a million
    triples.
    """
    return f"""
{PREFIXES}
SELECT DISTINCT ?target ?amount ?unit ?written WHERE {{
  {_values("target", iris)}
  ?target a schema:QuantitativeValue ;
          schema:value ?amount .
  OPTIONAL {{ ?target schema:unitText ?unit }}
  OPTIONAL {{ ?target rdfs:label ?written }}
}}
"""


def containing_notes(iris: Sequence[str]) -> str:
    """Select the title (?title) of the note that each of the IRIs (?part) comes from.

    Sections are part of their note (``dcterms:isPartOf``), and the other entities are defined
    in a section of it (``nk:definedIn``). Of an entity that several notes define, the first
    title in code point order is selected.
    """
    return f"""
SELECT ?part (MIN(?value) AS ?title) WHERE {{
  {_values("part", iris)}
  {{ ?part <http://purl.org/dc/terms/isPartOf> ?note }}
  UNION
  {{ ?part <{NK}definedIn> ?section . ?section <http://purl.org/dc/terms/isPartOf> ?note }}
  ?note <http://purl.org/dc/terms/title> ?value .
  FILTER(isLiteral(?value))
}}
GROUP BY ?part
"""


def incoming_links(iri: str, limit: int) -> str:
    """Select up to ``limit`` of the links to the IRI: each property with each resource once."""
    return f"""
SELECT DISTINCT ?property ?resource WHERE {{
  ?resource ?property {iri_term(iri)} .
}}
LIMIT {int(limit)}
"""


def incoming_counts(iri: str) -> str:
    """Count the resources that link to the IRI, per property (?property, ?count)."""
    return f"""
SELECT ?property (COUNT(DISTINCT ?resource) AS ?count) WHERE {{
  ?resource ?property {iri_term(iri)} .
}}
GROUP BY ?property
ORDER BY ?property
"""


def incoming_labelled(iri: str, property_iri: str, limit: int) -> str:
    """Select up to ``limit`` resources that link to the IRI through one property, with their
    labels (?resource, ?label), in the store's order. Unlike a label lookup by IRI, it also
    reads the labels of blank nodes."""
    return f"""
{PREFIXES}
SELECT ?resource ({label_aggregate()} AS ?label) WHERE {{
  ?resource {iri_term(property_iri)} {iri_term(iri)} .
{label_optionals("resource")}
}}
GROUP BY ?resource
LIMIT {int(limit)}
"""


def incoming_resources(iri: str, property_iri: str, limit: int) -> str:
    """Select up to ``limit`` resources (?resource) that link to the IRI through one property."""
    return f"""
SELECT DISTINCT ?resource WHERE {{
  ?resource {iri_term(property_iri)} {iri_term(iri)} .
}}
LIMIT {int(limit)}
"""


def incoming_page_in_store_order(iri: str, property_iri: str, limit: int, offset: int) -> str:
    """Select one page of the rows of ``incoming_labelled`` in the store's order.

    Ordering by label reads the label of every resource that links to the IRI. That took
    106 ms for the 3,973 benchmarks of a metric at 10,000 synthetic notes, against under 1 ms
    for a page in the store's order. See ``provenance_page`` on that order.
    """
    return f"""
{PREFIXES}
SELECT ?resource ({label_aggregate()} AS ?label) WHERE {{
  {{ SELECT ?resource WHERE {{ ?resource {iri_term(property_iri)} {iri_term(iri)} . }}
     LIMIT {int(limit)} OFFSET {int(offset)} }}
{label_optionals("resource")}
}}
GROUP BY ?resource
"""


def provenance_page(iri: str, limit: int, offset: int) -> str:
    """Select one page of the note line ranges that the resource was read from.

    The rows are in the store's order: without ORDER BY the query reads only the rows of the
    page, where ordering reads every row. With pyoxigraph 0.5.13 that order depends only on
    the store's contents, on disk or in memory, so the pages of one generation do not
    overlap.
    """
    return f"""
{PREFIXES}
SELECT ?note ?path ?start ?end WHERE {{
  {{ SELECT ?span ?note ?start ?end WHERE {{
       {_provenance_pattern(iri)}
     }}
     LIMIT {int(limit)} OFFSET {int(offset)} }}
  OPTIONAL {{ ?note nk:filePath ?path }}
}}
"""


def provenance_count(iri: str) -> str:
    """Count the resource's ``nk:source`` links, as ?count.

    The count leaves out the join of ``provenance_page``, which took 40 ms for 3,973 sources.
    So it also counts a source without a note or lines, which the page leaves out.
    """
    return f"""
{PREFIXES}
SELECT (COUNT(*) AS ?count) WHERE {{
  {iri_term(iri)} nk:source ?span .
}}
"""


def _provenance_pattern(iri: str) -> str:
    return f"""{iri_term(iri)} nk:source ?span .
  ?span nk:inNote ?note ;
        nk:startLine ?start ;
        nk:endLine ?end ."""


def full_description(iri: str) -> str:
    """Construct the triples whose subject or object is the IRI."""
    term = iri_term(iri)
    return f"""
CONSTRUCT {{ {term} ?p ?o . ?s ?q {term} . }}
WHERE {{ {{ {term} ?p ?o }} UNION {{ ?s ?q {term} }} }}
"""


# Class pages


def class_member_count(class_iri: str) -> str:
    """Count the distinct members (?count) of a class."""
    return f"SELECT (COUNT(DISTINCT ?member) AS ?count) WHERE {{ ?member a {iri_term(class_iri)} }}"


def class_examples(class_iri: str, limit: int) -> str:
    """Select up to ``limit`` members of a class (?member) with their labels.

    The members are the first that the engine finds: sorting every member by label, as
    ``class_members`` does, took Oxigraph's on-disk store 7 s for the source spans of a
    million-triple graph.
    """
    return f"""
SELECT ?member ({label_aggregate()} AS ?label) WHERE {{
  {{ SELECT ?member WHERE {{ ?member a {iri_term(class_iri)} }} LIMIT {int(limit)} }}
{label_optionals("member")}
}}
GROUP BY ?member
ORDER BY ?member
"""


def class_member_terms(class_iri: str) -> str:
    """Select every member (?member) of a class, without labels and in no order."""
    return f"SELECT DISTINCT ?member WHERE {{ ?member a {iri_term(class_iri)} }}"


def class_members(class_iri: str, limit: int, offset: int) -> str:
    """Select one page of a class's members (?member) with their labels, sorted by label."""
    return f"""
SELECT ?member ({label_aggregate()} AS ?label) WHERE {{
  ?member a {iri_term(class_iri)} .
{label_optionals("member")}
}}
GROUP BY ?member
ORDER BY LCASE(COALESCE({label_aggregate()}, {_local_name_expression("member")})) ?member
LIMIT {int(limit)} OFFSET {int(offset)}
"""


# Search


def search(words: Sequence[str], phrase: str, class_iri: str | None, limit: int) -> str:
    """Select resources whose names or descriptions match, best match first.

    ?rank is 0 when a label or alternative name equals ``phrase``, 1 when one starts with it,
    and 2 when a label, alternative name or description contains every one of ``words``. All
    comparisons ignore case, so ``phrase`` and ``words`` must be lowercase. Within a rank the
    results are sorted by label.
    """
    names = ", ".join(iri_term(prop) for prop in LABEL_PROPERTIES + ALTERNATIVE_NAME_PROPERTIES)
    searched = LABEL_PROPERTIES + ALTERNATIVE_NAME_PROPERTIES + DESCRIPTION_PROPERTIES
    all_words = " && ".join(f"CONTAINS(?lower, {string_literal(word)})" for word in words)
    class_filter = f"?resource a {iri_term(class_iri)} ." if class_iri else ""
    return f"""
SELECT ?resource ?rank ({label_aggregate()} AS ?label) WHERE {{
  {{
    SELECT ?resource (MIN(?match) AS ?rank) WHERE {{
      {_values("property", searched)}
      ?resource ?property ?text .
      FILTER(isLiteral(?text))
      {class_filter}
      BIND(LCASE(STR(?text)) AS ?lower)
      BIND(?property IN ({names}) AS ?isName)
      BIND(IF(?isName && ?lower = {string_literal(phrase)}, 0,
              IF(?isName && STRSTARTS(?lower, {string_literal(phrase)}), 1,
                 IF({all_words or "false"}, 2, 3))) AS ?match)
      FILTER(?match < 3)
    }}
    GROUP BY ?resource
  }}
{label_optionals("resource")}
}}
GROUP BY ?resource ?rank
ORDER BY ?rank LCASE(COALESCE({label_aggregate()}, {_local_name_expression("resource")})) ?resource
LIMIT {int(limit)}
"""


def members_among(iris: Sequence[str], class_iri: str) -> str:
    """SELECT the IRIs (?resource) among ``iris`` that are members of the class."""
    values = " ".join(iri_term(iri) for iri in iris)
    return f"""SELECT DISTINCT ?resource WHERE {{
  VALUES ?resource {{ {values} }}
  ?resource a {iri_term(class_iri)} .
}}"""


def summaries(iris: Sequence[str]) -> str:
    """Select a class (?class) and a description (?description) of each IRI (?resource)."""
    # Each value is aggregated in its own subquery: the union default graph repeats an
    # entity's type and description once per note that names it, and one group over both
    # multiplied those copies.
    descriptions = "|".join(iri_term(prop) for prop in DESCRIPTION_PROPERTIES)
    values = _values("resource", iris)
    return f"""
SELECT ?resource ?class ?description WHERE {{
  {values}
  OPTIONAL {{
    SELECT ?resource (MIN(?type) AS ?class) WHERE {{
      {values}
      ?resource a ?type . FILTER(isIRI(?type))
    }} GROUP BY ?resource
  }}
  OPTIONAL {{
    SELECT ?resource (MIN(?text) AS ?description) WHERE {{
      {values}
      ?resource {descriptions} ?text .
    }} GROUP BY ?resource
  }}
}}
"""


def labels_containing_any(words: Sequence[str], limit: int) -> str:
    """Select up to ``limit`` resources (?resource, ?label) whose label contains any of the words.

    The words must be lowercase. The rows come in the store's order, so that the query stops
    at the limit: ordering every match took 0.7 s at 10,000 synthetic notes for a word that
    27,680 benchmark labels contain.
    """
    any_word = " || ".join(
        f"CONTAINS(LCASE(STR(?label)), {string_literal(word)})" for word in words
    )
    return f"""
SELECT DISTINCT ?resource ?label WHERE {{
  {_values("property", LABEL_PROPERTIES + ALTERNATIVE_NAME_PROPERTIES)}
  ?resource ?property ?label .
  FILTER(isLiteral(?label) && ({any_word or "false"}))
}}
LIMIT {int(limit)}
"""


# Note view


def note(note_iri: str) -> str:
    """Select a note's full text (?text) and file path (?path)."""
    return f"""
{PREFIXES}
SELECT ?text ?path WHERE {{
  {iri_term(note_iri)} schema:text ?text .
  OPTIONAL {{ {iri_term(note_iri)} nk:filePath ?path }}
}}
LIMIT 1
"""


def note_resources(note_iri: str) -> str:
    """Select the resources read from a note, with the line range of each, in line order."""
    return f"""
{PREFIXES}
SELECT ?resource ?start ?end ({label_aggregate()} AS ?label) WHERE {{
  ?resource nk:source ?span .
  ?span nk:inNote {iri_term(note_iri)} ;
        nk:startLine ?start ;
        nk:endLine ?end .
{label_optionals("resource")}
}}
GROUP BY ?resource ?start ?end
ORDER BY ?start ?end ?resource
"""
