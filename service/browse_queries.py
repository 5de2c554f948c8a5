"""The SPARQL queries of the browsing pages: the query UI's examples, the ontology and VoID
documents, the views, the indexes and the neighbourhood picture of entity pages.

As in ``service.page_queries``, every function returns the text of one query, and values from
a request enter that text only through ``iri_term`` and ``string_literal``. The views show
their query text to the reader, so those queries are written as a person would write them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.page_queries import (
    NK,
    NK_IN_NOTE,
    PREFIXES,
    RDF_TYPE,
    iri_term,
    label_aggregate,
    label_optionals,
)

NK_DEFINED_IN = NK + "definedIn"
NK_SOURCE = NK + "source"


@dataclass(frozen=True)
class ExampleQuery:
    """An example query of the query page: a short title and the query text.

    ``requires`` is a graph pattern that must match for the query to return rows, or None.
    """

    title: str
    query: str
    requires: str | None = None


def _prefixes_with_base(base_iri: str) -> str:
    return (
        PREFIXES
        + "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
        + "PREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
        + f"PREFIX id: {iri_term(base_iri)}\n"
    )


# Query page


def query_page_examples(base_iri: str) -> list[ExampleQuery]:
    """Return the example queries of /query; most are written against the notes in data/notes.

    ``base_iri`` is the service's base IRI; the examples name resources such as MMLU under it.
    """
    prefixes = _prefixes_with_base(base_iri)
    benchmark = "?benchmark a nk:Benchmark"
    mmlu = "id:benchmark\\/mmlu ?property ?value"
    return [
        ExampleQuery("Benchmarks per focus area", prefixes + _BENCHMARKS_PER_FOCUS_AREA, benchmark),
        ExampleQuery(
            "Metrics in use, with benchmark counts", prefixes + _METRICS_IN_USE, benchmark
        ),
        ExampleQuery(
            "GPU variants by memory size",
            prefixes + _GPU_VARIANTS_BY_MEMORY,
            "?variant a nk:GPUVariant",
        ),
        ExampleQuery(
            "People and their concepts",
            prefixes + _PEOPLE_AND_CONCEPTS,
            "?concept nk:researcher ?person",
        ),
        ExampleQuery(
            "What a note defines, per class",
            prefixes + _NOTE_DEFINES,
            '?note nk:filePath "ai.txt"',
        ),
        ExampleQuery(
            "Benchmarks that share a metric with MMLU (two hops)", prefixes + _TWO_HOPS, mmlu
        ),
        ExampleQuery("The description of MMLU (CONSTRUCT)", prefixes + _CONSTRUCT_MMLU, mmlu),
        ExampleQuery(
            "Incoming links of a focus area",
            prefixes + _INCOMING_OF_FOCUS_AREA,
            "?resource ?property id:focus-area\\/general-knowledge-reasoning",
        ),
        ExampleQuery("Notes and their sections", prefixes + _NOTES_AND_SECTIONS, "?note a nk:Note"),
        ExampleQuery("Classes with member counts", prefixes + _CLASS_COUNTS),
    ]


def matching_patterns(patterns: Sequence[str | None], base_iri: str) -> str:
    """Select the index (?index) of each graph pattern that has a match; None is skipped.

    Each pattern is looked up with LIMIT 1, so the query reads at most one match per pattern.
    The patterns may use the prefixes of the example queries.
    """
    branches = [
        f"{{ SELECT ({index} AS ?index) WHERE {{ {pattern} }} LIMIT 1 }}"
        for index, pattern in enumerate(patterns)
        if pattern is not None
    ]
    body = " UNION ".join(branches) or "FILTER(false)"
    return _prefixes_with_base(base_iri) + f"SELECT ?index WHERE {{ {body} }}"


_BENCHMARKS_PER_FOCUS_AREA = """\
SELECT ?focusArea (COUNT(?benchmark) AS ?benchmarks) WHERE {
  ?benchmark a nk:Benchmark ;
             nk:focusArea/skos:prefLabel ?focusArea .
}
GROUP BY ?focusArea
ORDER BY DESC(?benchmarks) ?focusArea"""

_METRICS_IN_USE = """\
SELECT ?metric ?name (COUNT(?benchmark) AS ?benchmarks) WHERE {
  ?benchmark nk:metric ?metric .
  ?metric skos:prefLabel ?name .
}
GROUP BY ?metric ?name
ORDER BY DESC(?benchmarks) ?name"""

_GPU_VARIANTS_BY_MEMORY = """\
SELECT ?variant ?name ?memory ?unit ?memoryType WHERE {
  ?variant a nk:GPUVariant ;
           skos:prefLabel ?name ;
           nk:memorySize ?size .
  ?size schema:value ?memory ;
        schema:unitText ?unit .
  OPTIONAL { ?variant nk:memoryType/skos:prefLabel ?memoryType }
}
ORDER BY DESC(?memory) ?name"""

_PEOPLE_AND_CONCEPTS = """\
SELECT ?person ?name ?concept ?conceptName WHERE {
  ?person a foaf:Person ;
          foaf:name ?name .
  OPTIONAL {
    ?concept nk:researcher ?person ;
             skos:prefLabel ?conceptName .
  }
}
ORDER BY ?name ?conceptName"""

_NOTE_DEFINES = """\
SELECT ?class (COUNT(DISTINCT ?resource) AS ?resources) WHERE {
  ?note a nk:Note ;
        nk:filePath "ai.txt" .
  ?resource nk:definedIn/dcterms:isPartOf ?note ;
            a ?class .
}
GROUP BY ?class
ORDER BY DESC(?resources)"""

_TWO_HOPS = """\
SELECT DISTINCT ?metric ?other ?name WHERE {
  id:benchmark\\/mmlu nk:metric ?metric .
  ?other nk:metric ?metric ;
         skos:prefLabel ?name .
  FILTER(?other != id:benchmark\\/mmlu)
}
ORDER BY ?name"""

_CONSTRUCT_MMLU = """\
CONSTRUCT {
  id:benchmark\\/mmlu ?property ?value .
} WHERE {
  id:benchmark\\/mmlu ?property ?value .
}"""

_INCOMING_OF_FOCUS_AREA = """\
SELECT ?resource ?property WHERE {
  ?resource ?property id:focus-area\\/general-knowledge-reasoning .
}
ORDER BY ?property ?resource"""

_NOTES_AND_SECTIONS = """\
SELECT ?note ?title (COUNT(?section) AS ?sections) WHERE {
  ?note a nk:Note ;
        dcterms:title ?title .
  OPTIONAL { ?note nk:section ?section }
}
GROUP BY ?note ?title
ORDER BY ?title
LIMIT 200"""

_CLASS_COUNTS = """\
SELECT ?class (COUNT(?resource) AS ?resources) WHERE {
  ?resource a ?class .
}
GROUP BY ?class
ORDER BY DESC(?resources)"""


# Ontology page and indexes


def property_counts() -> str:
    """Count the triples of every property (?property, ?count), most used first."""
    return """
SELECT ?property (COUNT(*) AS ?count) WHERE {
  ?subject ?property ?object .
}
GROUP BY ?property
ORDER BY DESC(?count) ?property
"""


def property_examples(property_iri: str, limit: int) -> str:
    """Select up to ``limit`` triples of one property (?subject, ?object) with their labels.

    The triples are the first that the engine finds, not the first in order: Oxigraph's
    on-disk store sorted the 149,455 nk:source triples of a million-triple graph in 22 s.
    """
    return f"""
SELECT ?subject ?object ({label_aggregate()} AS ?subjectLabel) WHERE {{
  {{ SELECT ?subject ?object WHERE {{ ?subject {iri_term(property_iri)} ?object }}
     LIMIT {int(limit)} }}
{label_optionals("subject")}
}}
GROUP BY ?subject ?object
ORDER BY ?subject ?object
"""


def notes() -> str:
    """Select every note (?note) with its file path (?path) and title (?noteLabel), in no order.

    The notes page sorts them and then reads the sections of one page of them
    (``notes_with_sections``): at 10,000 notes, sorting and reading the sections of every note
    in one query took 3.7 s.
    """
    return f"""
{PREFIXES}
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?note ?path ?noteLabel WHERE {{
  ?note a nk:Note .
  OPTIONAL {{ ?note nk:filePath ?path }}
  OPTIONAL {{ ?note dcterms:title ?noteLabel }}
}}
"""


def notes_with_sections(note_iris: Sequence[str]) -> str:
    """Select the given notes (?note, ?path, ?noteLabel) with their sections and line ranges.

    A note without sections gives one row with ?section unbound. The text before a note's
    first heading is a section without ``dcterms:title``, whose ?label is the note's title.
    """
    return f"""
{PREFIXES}
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?note ?path ?noteLabel ?section ?title ?label ?position ?level ?start ?end WHERE {{
  VALUES ?note {{ {" ".join(iri_term(iri) for iri in note_iris)} }}
  ?note a nk:Note .
  OPTIONAL {{ ?note nk:filePath ?path }}
  OPTIONAL {{ ?note dcterms:title ?noteLabel }}
  OPTIONAL {{
    ?section dcterms:isPartOf ?note ;
             a nk:Section .
    OPTIONAL {{ ?section dcterms:title ?title }}
    OPTIONAL {{ ?section skos:prefLabel ?label }}
    OPTIONAL {{ ?section nk:position ?position }}
    OPTIONAL {{ ?section nk:headingLevel ?level }}
    OPTIONAL {{
      ?section nk:source ?span .
      ?span nk:startLine ?start ;
            nk:endLine ?end .
    }}
  }}
}}
ORDER BY ?path ?note ?position ?start
"""


# VoID


def dataset_statistics() -> str:
    """Count the triples, distinct subjects (?entities) and distinct properties of the graph."""
    return """
SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?subject) AS ?entities)
       (COUNT(DISTINCT ?property) AS ?properties) WHERE {
  ?subject ?property ?object .
}
"""


def class_total() -> str:
    """Count the distinct classes (?classes): the IRIs that are the object of some rdf:type."""
    return f"""
SELECT (COUNT(DISTINCT ?class) AS ?classes) WHERE {{
  ?member {iri_term(RDF_TYPE)} ?class .
  FILTER(isIRI(?class))
}}
"""


# Views


def benchmarks_by_focus_area(base_iri: str) -> str:
    """Select every benchmark with its focus area, metric, metric text and scale.

    The view page shows this text, so it is written for people to read and rerun.
    """
    return (
        _prefixes_with_base(base_iri)
        + """SELECT ?focusArea ?focusAreaName ?benchmark ?name
       ?metric ?metricName ?metricText ?scale
WHERE {
  ?benchmark a nk:Benchmark ;
             skos:prefLabel ?name .
  OPTIONAL { ?benchmark nk:focusArea ?focusArea .
             OPTIONAL { ?focusArea skos:prefLabel ?focusAreaName } }
  OPTIONAL { ?benchmark nk:metric ?metric .
             OPTIONAL { ?metric skos:prefLabel ?metricName } }
  OPTIONAL { ?benchmark nk:metricText ?metricText }
  OPTIONAL { ?benchmark nk:metricScale ?scale }
}
ORDER BY ?focusAreaName ?name ?metricName"""
    )


def benchmark_list(base_iri: str) -> str:
    """Select every benchmark with its name and focus area, in no order.

    The benchmarks view sorts these rows and then reads the metrics of one page of them
    (``benchmark_details``): at 10,000 synthetic notes (27,680 benchmarks), Oxigraph took
    1.2 to 1.6 s to sort the benchmark IRIs alone. The view reads the labels of the focus
    areas apart, once per focus area instead of once per benchmark.
    """
    return (
        _prefixes_with_base(base_iri)
        + """SELECT ?focusArea ?benchmark ?name WHERE {
  ?benchmark a nk:Benchmark ;
             skos:prefLabel ?name .
  OPTIONAL { ?benchmark nk:focusArea ?focusArea }
}"""
    )


def benchmark_details(base_iri: str, benchmark_iris: Sequence[str]) -> str:
    """Select the rows of ``benchmarks_by_focus_area`` for the given benchmarks, in no order."""
    values = " ".join(iri_term(iri) for iri in benchmark_iris)
    return (
        _prefixes_with_base(base_iri)
        + f"""SELECT ?focusArea ?focusAreaName ?benchmark ?name
       ?metric ?metricName ?metricText ?scale
WHERE {{
  VALUES ?benchmark {{ {values} }}
  ?benchmark skos:prefLabel ?name .
  OPTIONAL {{ ?benchmark nk:focusArea ?focusArea .
             OPTIONAL {{ ?focusArea skos:prefLabel ?focusAreaName }} }}
  OPTIONAL {{ ?benchmark nk:metric ?metric .
             OPTIONAL {{ ?metric skos:prefLabel ?metricName }} }}
  OPTIONAL {{ ?benchmark nk:metricText ?metricText }}
  OPTIONAL {{ ?benchmark nk:metricScale ?scale }}
}}"""
    )


def gpu_variant_list(base_iri: str) -> str:
    """Select every GPU variant with its name, in no order; the GPU view sorts and pages them."""
    return (
        _prefixes_with_base(base_iri)
        + """SELECT ?variant ?name WHERE {
  ?variant a nk:GPUVariant ;
           skos:prefLabel ?name .
}"""
    )


def gpu_variant_details(base_iri: str, variant_iris: Sequence[str]) -> str:
    """Select the rows of ``gpu_variant_properties`` for the given variants, in no order."""
    values = " ".join(iri_term(iri) for iri in variant_iris)
    return (
        _prefixes_with_base(base_iri)
        + f"""SELECT ?variant ?name ?property ?value ?valueName ?amount ?unit WHERE {{
  VALUES ?variant {{ {values} }}
  ?variant skos:prefLabel ?name ;
           ?property ?value .
  FILTER(?property NOT IN (rdf:type, skos:prefLabel, nk:source, nk:definedIn))
  OPTIONAL {{ ?value skos:prefLabel ?valueName }}
  OPTIONAL {{ ?value schema:value ?amount .
             OPTIONAL {{ ?value schema:unitText ?unit }} }}
}}"""
    )


def gpu_variant_properties(base_iri: str) -> str:
    """Select every property value of every GPU variant, with the parts of quantity values.

    The view page shows this text, so it is written for people to read and rerun.
    """
    return (
        _prefixes_with_base(base_iri)
        + """SELECT ?variant ?name ?property ?value ?valueName ?amount ?unit WHERE {
  ?variant a nk:GPUVariant ;
           skos:prefLabel ?name ;
           ?property ?value .
  FILTER(?property NOT IN (rdf:type, skos:prefLabel, nk:source, nk:definedIn))
  OPTIONAL { ?value skos:prefLabel ?valueName }
  OPTIONAL { ?value schema:value ?amount .
             OPTIONAL { ?value schema:unitText ?unit } }
}
ORDER BY ?name ?property"""
    )


# Neighbourhood picture of entity pages


def incoming_neighbours(iri: str, limit: int, *, first_by_iri: bool = True) -> str:
    """Select up to ``limit`` resources that link to the IRI (?resource, ?property, ?label).

    Links that only record where a resource was read from are left out: nk:source, and the
    nk:inNote of source spans. The links
    are the first by property and resource IRI, or with ``first_by_iri`` false the first that
    the store finds, which saves ordering every link: 6.4 s for the 71,432 source spans that
    are members of nk:SourceSpan at 10,000 synthetic notes.
    """
    order = "ORDER BY ?property ?resource " if first_by_iri else ""
    return f"""
SELECT ?resource ?property ({label_aggregate()} AS ?label) WHERE {{
  {{ SELECT DISTINCT ?resource ?property WHERE {{
       ?resource ?property {iri_term(iri)} .
       FILTER(?property NOT IN ({iri_term(NK_SOURCE)}, {iri_term(NK_IN_NOTE)}))
     }}
     {order}LIMIT {int(limit)} }}
{label_optionals("resource")}
}}
GROUP BY ?resource ?property
ORDER BY ?property ?resource
"""
