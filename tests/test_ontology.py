"""Checks of the notekg vocabulary: OWL ontology, SHACL shapes and JSON-LD context."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyoxigraph
import pytest
from pyshacl import validate
from rdflib import OWL, RDF, RDFS, SH, SKOS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, VOID
from rdflib.term import Node

from ontology import CONTEXT_FILE, NAMESPACE, ONTOLOGY_DIR, ONTOLOGY_FILE, SHAPES_FILE

NK = Namespace(NAMESPACE)
SCHEMA = Namespace("https://schema.org/")
ID = Namespace("https://notekg.example/id/")
ONTOLOGY_IRI = URIRef("https://notekg.example/ontology")
FIXTURES = Path(__file__).parent / "fixtures" / "ontology"

# Namespaces whose terms the ontology may use without defining them.
REUSED_NAMESPACES = [
    str(ns) for ns in (SKOS, FOAF, SCHEMA, DCTERMS, PROV, VOID, OWL, RDF, RDFS, XSD)
]

EXPECTED_CLASSES = {
    "Note",
    "Section",
    "SourceSpan",
    "Record",
    "Benchmark",
    "FocusArea",
    "Metric",
    "GPU",
    "GPUVariant",
    "MemoryType",
    "CodeExample",
    "APIElement",
}
EXPECTED_OBJECT_PROPERTIES = {
    "focusArea",
    "metric",
    "memoryType",
    "memorySize",
    "memoryPerParameter",
    "researcher",
    "basedOn",
    "usesAPI",
    "mentions",
    "section",
    "definedIn",
    "source",
    "inNote",
}
EXPECTED_DATATYPE_PROPERTIES = {
    "metricScale",
    "metricText",
    "connection",
    "hostToDeviceSpeed",
    "interGPUSpeed",
    "bestFor",
    "keyDownside",
    "referenceText",
    "captures",
    "code",
    "filePath",
    "contentHash",
    "headingLevel",
    "position",
    "startLine",
    "endLine",
}
# nk:fullName is an annotation property because its parent, skos:altLabel, is one in SKOS.
EXPECTED_ANNOTATION_PROPERTIES = {"fullName", "unmapped"}

EXPECTED_PARENTS = [
    (NK.Note, RDFS.subClassOf, SCHEMA.DigitalDocument),
    (NK.Note, RDFS.subClassOf, FOAF.Document),
    (NK.Note, RDFS.subClassOf, PROV.Entity),
    (NK.Section, RDFS.subClassOf, SCHEMA.CreativeWork),
    (NK.Benchmark, RDFS.subClassOf, SKOS.Concept),
    (NK.FocusArea, RDFS.subClassOf, SKOS.Concept),
    (NK.Metric, RDFS.subClassOf, SKOS.Concept),
    (NK.GPU, RDFS.subClassOf, SCHEMA.ProductModel),
    (NK.GPUVariant, RDFS.subClassOf, SCHEMA.ProductModel),
    (NK.MemoryType, RDFS.subClassOf, SKOS.Concept),
    (NK.CodeExample, RDFS.subClassOf, SCHEMA.SoftwareSourceCode),
    (NK.APIElement, RDFS.subClassOf, SKOS.Concept),
    (NK.basedOn, RDFS.subPropertyOf, SKOS.related),
    (NK.section, RDFS.subPropertyOf, DCTERMS.hasPart),
    (NK.fullName, RDFS.subPropertyOf, SKOS.altLabel),
    (NK.code, RDFS.subPropertyOf, SCHEMA.text),
]


def load_turtle(path: Path) -> Graph:
    return Graph().parse(path, format="turtle")


ONTOLOGY = load_turtle(ONTOLOGY_FILE)
SHAPES = load_turtle(SHAPES_FILE)
CONTEXT = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]


def nk_terms() -> list[URIRef]:
    """Return every nk: IRI that the ontology describes, sorted."""
    subjects = {s for s in ONTOLOGY.subjects() if isinstance(s, URIRef)}
    return sorted(s for s in subjects if str(s).startswith(NAMESPACE))


def local_names(owl_type: URIRef) -> set[str]:
    return {
        str(s).removeprefix(NAMESPACE)
        for s in ONTOLOGY.subjects(RDF.type, owl_type)
        if str(s).startswith(NAMESPACE)
    }


def validate_graph(data: Graph) -> tuple[bool, Graph]:
    conforms, report, _ = validate(data, shacl_graph=SHAPES, inference="none")
    return conforms, report


def violations(report: Graph) -> set[tuple[Node | None, Node | None, Node | None]]:
    """Return (focus node, path, constraint component) for each result in a SHACL report."""
    found = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        component = report.value(result, SH.sourceConstraintComponent)
        found.add((focus, path, component))
    return found


def languages(graph: Graph, subject: Node, predicate: URIRef) -> list[str | None]:
    """Return the language tag of each value, or None for a value that is not a literal."""
    return [
        o.language if isinstance(o, Literal) else None for o in graph.objects(subject, predicate)
    ]


def messages(report: Graph) -> list[str]:
    return [str(m) for m in report.objects(None, SH.resultMessage)]


# Parsing


def test_folder_holds_only_rdf_and_init() -> None:
    names = {p.name for p in ONTOLOGY_DIR.iterdir() if p.name != "__pycache__"}
    assert names == {"__init__.py", "README.md", "notekg.ttl", "shapes.ttl", "context.jsonld"}


def test_ontology_parses() -> None:
    assert len(ONTOLOGY) > 0


def test_shapes_parse() -> None:
    assert len(SHAPES) > 0


def test_context_is_json_ld_1_1() -> None:
    assert CONTEXT["@version"] == 1.1
    assert CONTEXT["nk"] == NAMESPACE


# Ontology


def test_ontology_header() -> None:
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ONTOLOGY
    assert ONTOLOGY.value(ONTOLOGY_IRI, DCTERMS.title) is not None
    assert ONTOLOGY.value(ONTOLOGY_IRI, DCTERMS.description) is not None
    assert ONTOLOGY.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal("0.1.0")
    assert isinstance(ONTOLOGY.value(ONTOLOGY_IRI, DCTERMS.license), URIRef)


def test_ontology_defines_expected_classes() -> None:
    assert local_names(OWL.Class) == EXPECTED_CLASSES


def test_ontology_defines_expected_object_properties() -> None:
    assert local_names(OWL.ObjectProperty) == EXPECTED_OBJECT_PROPERTIES


def test_ontology_defines_expected_datatype_properties() -> None:
    assert local_names(OWL.DatatypeProperty) == EXPECTED_DATATYPE_PROPERTIES


def test_ontology_defines_expected_annotation_properties() -> None:
    assert local_names(OWL.AnnotationProperty) == EXPECTED_ANNOTATION_PROPERTIES


def test_ontology_mints_no_other_terms() -> None:
    expected = (
        EXPECTED_CLASSES
        | EXPECTED_OBJECT_PROPERTIES
        | EXPECTED_DATATYPE_PROPERTIES
        | EXPECTED_ANNOTATION_PROPERTIES
    )
    assert {str(t).removeprefix(NAMESPACE) for t in nk_terms()} == expected


@pytest.mark.parametrize("term", nk_terms(), ids=lambda t: str(t).removeprefix(NAMESPACE))
def test_term_is_documented(term: URIRef) -> None:
    assert languages(ONTOLOGY, term, RDFS.label) == ["en"]
    assert languages(ONTOLOGY, term, RDFS.comment) == ["en"]
    assert list(ONTOLOGY.objects(term, RDFS.isDefinedBy)) == [ONTOLOGY_IRI]


@pytest.mark.parametrize("triple", EXPECTED_PARENTS, ids=lambda t: ONTOLOGY.qname(t[0]))
def test_term_links_to_reused_vocabulary(triple: tuple[URIRef, URIRef, URIRef]) -> None:
    assert triple in ONTOLOGY


@pytest.mark.parametrize(
    "predicate", [RDFS.domain, RDFS.range, RDFS.subClassOf, RDFS.subPropertyOf]
)
def test_referenced_terms_are_declared_or_reused(predicate: URIRef) -> None:
    declared = set(ONTOLOGY.subjects(RDF.type, None))
    for subject, target in ONTOLOGY.subject_objects(predicate):
        reused = any(str(target).startswith(ns) for ns in REUSED_NAMESPACES)
        assert target in declared or reused, f"{subject} {predicate} {target}"


def test_reused_terms_are_declared_only_by_type() -> None:
    """The ontology states only rdf:type of terms from other vocabularies."""
    for subject, predicate in ONTOLOGY.subject_predicates():
        if isinstance(subject, URIRef) and str(subject).startswith(tuple(REUSED_NAMESPACES)):
            assert predicate == RDF.type, f"{subject} {predicate}"


def test_object_properties_have_no_literal_ranges() -> None:
    for prop in ONTOLOGY.subjects(RDF.type, OWL.ObjectProperty):
        for target in ONTOLOGY.objects(prop, RDFS.range):
            assert not str(target).startswith(str(XSD)), f"{prop} range {target}"


# Shapes


def test_every_shape_has_english_message() -> None:
    node_shapes = set(SHAPES.subjects(RDF.type, SH.NodeShape))
    property_shapes = set(SHAPES.objects(None, SH.property))
    assert node_shapes
    assert property_shapes
    for shape in node_shapes | property_shapes:
        assert languages(SHAPES, shape, SH.message) == ["en"], shape


def test_shapes_use_only_defined_nk_terms() -> None:
    defined = set(nk_terms())
    for term in set(SHAPES.objects()) | set(SHAPES.subjects()):
        if isinstance(term, URIRef) and str(term).startswith(NAMESPACE):
            assert term in defined, term


def test_valid_fixture_conforms() -> None:
    data = load_turtle(FIXTURES / "valid.ttl")
    conforms, report = validate_graph(data)
    assert conforms, messages(report)


def test_valid_fixture_with_ontology_conforms() -> None:
    data = load_turtle(FIXTURES / "valid.ttl")
    conforms, report, _ = validate(data, shacl_graph=SHAPES, ont_graph=ONTOLOGY, inference="none")
    assert conforms, messages(report)


def test_invalid_fixture_reports_both_problems() -> None:
    data = load_turtle(FIXTURES / "invalid.ttl")
    conforms, report = validate_graph(data)

    assert not conforms
    assert violations(report) == {
        (ID["benchmark/hellaswag"], NK.focusArea, SH.MinCountConstraintComponent),
        (ID["span/ai-40-35"], NK.startLine, SH.LessThanOrEqualsConstraintComponent),
    }
    text = " ".join(messages(report))
    assert "has no nk:focusArea" in text
    assert "nk:startLine is greater than its nk:endLine" in text


# Each case changes one thing in the valid fixture and names the violation it must cause.
Change = Callable[[Graph], object]

BENCHMARK = ID["benchmark/mmlu"]
VARIANT = ID["gpu/h100-sxm"]
QUANTITY = ID["quantity/h100-sxm-vram"]
PERSON = ID["person/ray-kurzweil"]
CODE = ID["code/scikit-learn-1"]
SPAN = ID["span/ai-34-34"]
METRIC = ID["metric/accuracy"]


def remove(subject: URIRef, predicate: URIRef) -> Change:
    return lambda g: g.remove((subject, predicate, None))


def add(subject: URIRef, predicate: URIRef, value: URIRef | Literal) -> Change:
    return lambda g: g.add((subject, predicate, value))


def replace(subject: URIRef, predicate: URIRef, value: URIRef | Literal) -> Change:
    return lambda g: g.set((subject, predicate, value))


BROKEN_CASES = {
    "benchmark second focus area": (
        add(BENCHMARK, NK.focusArea, ID["focus-area/other"]),
        (BENCHMARK, NK.focusArea, SH.MaxCountConstraintComponent),
    ),
    "benchmark focus area untyped": (
        replace(BENCHMARK, NK.focusArea, ID["focus-area/untyped"]),
        (BENCHMARK, NK.focusArea, SH.ClassConstraintComponent),
    ),
    "benchmark without metric": (
        remove(BENCHMARK, NK.metric),
        (BENCHMARK, NK.metric, SH.MinCountConstraintComponent),
    ),
    "benchmark metric is focus area": (
        replace(BENCHMARK, NK.metric, ID["focus-area/general-knowledge-reasoning"]),
        (BENCHMARK, NK.metric, SH.ClassConstraintComponent),
    ),
    "benchmark two full names": (
        add(BENCHMARK, NK.fullName, Literal("Another expansion", lang="en")),
        (BENCHMARK, NK.fullName, SH.MaxCountConstraintComponent),
    ),
    "benchmark without description": (
        remove(BENCHMARK, DCTERMS.description),
        (BENCHMARK, DCTERMS.description, SH.MinCountConstraintComponent),
    ),
    "benchmark two labels": (
        add(BENCHMARK, SKOS.prefLabel, Literal("MMLU benchmark", lang="en")),
        (BENCHMARK, SKOS.prefLabel, SH.MaxCountConstraintComponent),
    ),
    "variant of memory type": (
        replace(VARIANT, SCHEMA.isVariantOf, ID["memory-type/hbm3"]),
        (VARIANT, SCHEMA.isVariantOf, SH.ClassConstraintComponent),
    ),
    "variant without gpu": (
        remove(VARIANT, SCHEMA.isVariantOf),
        (VARIANT, SCHEMA.isVariantOf, SH.MinCountConstraintComponent),
    ),
    "variant memory type is gpu": (
        replace(VARIANT, NK.memoryType, ID["gpu/h100"]),
        (VARIANT, NK.memoryType, SH.ClassConstraintComponent),
    ),
    "variant memory size untyped": (
        replace(VARIANT, NK.memorySize, ID["quantity/untyped"]),
        (VARIANT, NK.memorySize, SH.ClassConstraintComponent),
    ),
    "quantity value is string": (
        replace(QUANTITY, SCHEMA.value, Literal("80")),
        (QUANTITY, SCHEMA.value, SH.DatatypeConstraintComponent),
    ),
    "quantity without unit": (
        remove(QUANTITY, SCHEMA.unitText),
        (QUANTITY, SCHEMA.unitText, SH.MinCountConstraintComponent),
    ),
    "quantity without label": (
        remove(QUANTITY, RDFS.label),
        (QUANTITY, RDFS.label, SH.MinCountConstraintComponent),
    ),
    "person without label": (
        remove(PERSON, SKOS.prefLabel),
        (PERSON, SKOS.prefLabel, SH.MinCountConstraintComponent),
    ),
    "code example without code": (
        remove(CODE, NK.code),
        (CODE, NK.code, SH.MinCountConstraintComponent),
    ),
    "code example without language": (
        remove(CODE, SCHEMA.programmingLanguage),
        (CODE, SCHEMA.programmingLanguage, SH.MinCountConstraintComponent),
    ),
    "span start line is integer": (
        replace(SPAN, NK.startLine, Literal(34, datatype=XSD.integer)),
        (SPAN, NK.startLine, SH.DatatypeConstraintComponent),
    ),
    "span without end line": (
        remove(SPAN, NK.endLine),
        (SPAN, NK.endLine, SH.MinCountConstraintComponent),
    ),
    "span without note": (
        remove(SPAN, NK.inNote),
        (SPAN, NK.inNote, SH.MinCountConstraintComponent),
    ),
    "entity without source": (
        remove(METRIC, NK.source),
        (METRIC, NK.source, SH.MinCountConstraintComponent),
    ),
    "entity without label": (
        remove(METRIC, SKOS.prefLabel),
        (METRIC, SKOS.prefLabel, SH.MinCountConstraintComponent),
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CASES))
def test_broken_graph_reports_violation(case: str) -> None:
    change, expected = BROKEN_CASES[case]
    data = load_turtle(FIXTURES / "valid.ttl")
    change(data)

    conforms, report = validate_graph(data)

    assert not conforms
    assert expected in violations(report)


# JSON-LD context


def context_iri(term: str) -> str:
    definition = CONTEXT[term]
    value = definition["@id"] if isinstance(definition, dict) else definition
    prefix, _, local = value.partition(":")
    return CONTEXT[prefix] + local


def context_terms_by_iri() -> dict[str, str]:
    terms = {}
    for term, definition in CONTEXT.items():
        if term.startswith("@") or term in ("id", "type"):
            continue
        if isinstance(definition, str) and definition.endswith(("#", "/")):
            continue
        terms[context_iri(term)] = term
    return terms


@pytest.mark.parametrize("term", nk_terms(), ids=lambda t: str(t).removeprefix(NAMESPACE))
def test_context_defines_term(term: URIRef) -> None:
    assert str(term) in context_terms_by_iri()


# Object properties whose values the context must read as IRIs.
IRI_PROPERTIES = sorted(
    {
        p
        for p in ONTOLOGY.subjects(RDF.type, OWL.ObjectProperty)
        if isinstance(p, URIRef) and str(p).startswith(NAMESPACE)
    }
    | {SCHEMA.isVariantOf}
)

# Properties whose range is an XSD datatype other than xsd:string, so a JSON value needs a type.
TYPED_LITERAL_PROPERTIES = sorted(
    p
    for p, datatype in ONTOLOGY.subject_objects(RDFS.range)
    if isinstance(p, URIRef)
    and str(p).startswith(NAMESPACE)
    and str(datatype).startswith(str(XSD))
    and datatype != XSD.string
)


@pytest.mark.parametrize("prop", IRI_PROPERTIES, ids=lambda p: ONTOLOGY.qname(p))
def test_context_coerces_object_property_to_iri(prop: URIRef) -> None:
    term = context_terms_by_iri()[str(prop)]
    assert CONTEXT[term]["@type"] == "@id"


@pytest.mark.parametrize("prop", TYPED_LITERAL_PROPERTIES, ids=lambda p: ONTOLOGY.qname(p))
def test_context_coerces_typed_literals(prop: URIRef) -> None:
    datatype = ONTOLOGY.value(prop, RDFS.range)
    term = context_terms_by_iri()[str(prop)]
    assert CONTEXT[term]["@type"] == "xsd:" + str(datatype).removeprefix(str(XSD))


def test_context_parses_inline_document() -> None:
    # schema:value is written as a JSON string. JSON-LD 1.1 writes a JSON number
    # with a fraction, such as 3.6, in xsd:double form ("3.6E0"), which is not
    # a valid xsd:decimal.
    document = {
        "@context": CONTEXT,
        "id": "https://notekg.example/id/benchmark/mmlu",
        "type": "Benchmark",
        "prefLabel": "MMLU",
        "focusArea": "https://notekg.example/id/focus-area/general-knowledge-reasoning",
        "memoryPerParameter": {"type": "QuantitativeValue", "value": "3.6", "unitText": "bytes"},
        "source": {
            "id": "https://notekg.example/id/span/ai-34-34",
            "type": "SourceSpan",
            "startLine": 34,
            "endLine": 35,
        },
    }
    quads = pyoxigraph.parse(
        json.dumps(document).encode("utf-8"), format=pyoxigraph.RdfFormat.JSON_LD
    )
    triples = {(q.subject, q.predicate, q.object) for q in quads}

    benchmark = pyoxigraph.NamedNode("https://notekg.example/id/benchmark/mmlu")
    span = pyoxigraph.NamedNode("https://notekg.example/id/span/ai-34-34")
    rdf_type = pyoxigraph.NamedNode(str(RDF.type))
    positive_integer = pyoxigraph.NamedNode(str(XSD.positiveInteger))
    decimal = pyoxigraph.NamedNode(str(XSD.decimal))

    assert (benchmark, rdf_type, pyoxigraph.NamedNode(str(NK.Benchmark))) in triples
    assert (
        benchmark,
        pyoxigraph.NamedNode(str(NK.focusArea)),
        pyoxigraph.NamedNode("https://notekg.example/id/focus-area/general-knowledge-reasoning"),
    ) in triples
    assert (benchmark, pyoxigraph.NamedNode(str(NK.source)), span) in triples
    assert (
        span,
        pyoxigraph.NamedNode(str(NK.startLine)),
        pyoxigraph.Literal("34", datatype=positive_integer),
    ) in triples
    values = [o for _, p, o in triples if p == pyoxigraph.NamedNode(str(SCHEMA.value))]
    assert values == [pyoxigraph.Literal("3.6", datatype=decimal)]
