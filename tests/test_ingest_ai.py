"""The bundled AI notes, ingested into a real SQLite store and checked fact by fact."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from ingest.run import run_ingest
from ingest.vocab import DCTERMS, FOAF, NK, RDF, RDFS, SCHEMA, SKOS
from service.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "data" / "notes"
MAPPING = ROOT / "data" / "mappings" / "ai.yaml"
BASE = "https://notekg.example/id/"

# The Benchmarks table of data/notes/ai.txt as a person reads it:
# (label, full name, focus area, metric, scale, description, line).
BENCHMARKS = [
    (
        "MMLU",
        "Massive Multitask Language Understanding",
        "General knowledge & reasoning",
        "Accuracy",
        "%",
        "57 subjects covering STEM, humanities, social sciences, etc.",
        32,
    ),
    (
        "HellaSwag",
        None,
        "Commonsense reasoning",
        "Accuracy",
        "%",
        "Tests everyday scenario understanding",
        33,
    ),
    (
        "ARC",
        "AI2 Reasoning Challenge",
        "Logical reasoning",
        "Accuracy",
        "%",
        "Grade-school-level science and reasoning questions",
        34,
    ),
    (
        "GSM8K",
        "Grade School Math 8K",
        "Math reasoning",
        "Accuracy",
        "%",
        "Solving elementary school-level math problems",
        35,
    ),
    (
        "MATH",
        None,
        "Advanced math",
        "Accuracy",
        "%",
        "Tests high-school & olympiad-level math ability",
        36,
    ),
    (
        "BBH",
        "BigBench Hard",
        "Complex reasoning",
        "Accuracy",
        "%",
        "Harder subset of BigBench tasks, including ethics, social dynamics",
        37,
    ),
    (
        "TruthfulQA",
        None,
        "Truthfulness",
        "Truthfulness Score",
        "%",
        "Measures resistance to misinformation and factual consistency",
        38,
    ),
    (
        "MT-Bench",
        None,
        "Multi-turn chat",
        "Score",
        "1-10",
        "Evaluates LLMs in a conversational multi-turn dialogue setting",
        39,
    ),
    (
        "HumanEval",
        None,
        "Code generation",
        "Pass@1",
        "%",
        "Tests LLMs' ability to write functional code",
        40,
    ),
    (
        "MBPP",
        "Multi-turn Python Benchmark",
        "Python programming",
        "Pass@1",
        "%",
        "Evaluates Python code generation for multi-turn problem-solving",
        41,
    ),
    (
        "OpenAI's Chatbot Arena",
        None,
        "Overall LLM ranking",
        "Elo Score",
        None,
        "Human preference ranking of chatbot responses",
        42,
    ),
    (
        "AGIEval",
        None,
        "Human-like intelligence",
        "Score",
        "%",
        "Measures model performance on human exams (SAT, GRE, LSAT, etc.)",
        43,
    ),
    (
        "SuperGLUE",
        None,
        "NLP general tasks",
        "Accuracy",
        "%",
        "Evaluates performance across a variety of NLP tasks",
        44,
    ),
    (
        "TyDiQA",
        None,
        "Multilingual QA",
        "F1 Score",
        None,
        "Tests question-answering ability in multiple languages",
        45,
    ),
    (
        "GSM-PLUS",
        None,
        "Math reasoning & tool use",
        "Accuracy",
        "%",
        "An extension of GSM8K that requires planning and tool use",
        46,
    ),
    (
        "TMGBench",
        None,
        "Table-based reasoning",
        "F1 Score",
        None,
        "A benchmark for table-based machine reading comprehension",
        47,
    ),
    (
        "VL-RewardBench",
        None,
        "Vision-language alignment",
        "Accuracy",
        "%",
        "Evaluates how well vision-language models align with human preferences",
        48,
    ),
]

# The H100 Varieties table: property → (PCIe, SXM, NVL) cells, as written on the page.
H100_TEXT_CELLS = {
    NK.connection: (
        "Standard PCIe slot",
        "Custom socket on DGX/HGX boards",
        "PCIe slot (two cards bridged)",
    ),
    NK.hostToDeviceSpeed: (
        "Slower (limited by PCIe bus)",
        "Fastest",
        "Slower (limited by PCIe bus)",
    ),
    NK.interGPUSpeed: (
        "Slower",
        "Fastest (via NVLink on the board)",
        "Very Fast (via dedicated NVLink Bridge)",
    ),
    NK.bestFor: (
        "General compatibility, single-card setups where PCIe bandwidth isn't a bottleneck.",
        "Demanding single-GPU or multi-GPU tasks needing the highest RAM-to-GPU bandwidth.",
        "Dual-GPU tasks with massive data transfer between the two GPUs.",
    ),
    NK.keyDownside: (
        "Slower data transfer to and from system RAM.",
        "Requires specific, expensive motherboards (DGX/HGX).",
        "Acts as a pair; not ideal for scaling beyond two bridged GPUs.",
    ),
}
VARIANTS = ("H100 PCIe", "H100 SXM", "H100 NVL")
MEMORY_TYPES = ("HBM2e", "HBM3", "HBM3")
MEMORY_SIZES = (("80", "80 GB"), ("80", "80 GB"), ("192", "192 GB total (2x 96 GB)"))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Graph, Graph, Store]:
    """Ingest the bundled notes once; return the merged facts, the provenance and the store."""
    folder = tmp_path_factory.mktemp("store")
    store = Store(f"sqlite:///{folder}/store.sqlite")
    report = run_ingest([NOTES], store, mapping_path=MAPPING, base_iri=BASE)
    assert report.generation == 1

    graphs = _load_dataset(store)
    return graphs[BASE + "graph/ai"], graphs[BASE + "graph/ai/provenance"], store


def _load_dataset(store: Store) -> dict[str, Graph]:
    """Return the stored named graphs of the current generation, parsed by rdflib."""
    generation = store.current_generation_id()
    assert generation is not None
    versions = store.graph_versions(generation)
    graphs = {}
    for version, chunk in zip(versions, store.iter_nquads(generation), strict=True):
        suffix = f" <{version.graph_iri}> .".encode()
        ntriples = b"\n".join(line[: -len(suffix)] + b" ." for line in chunk.splitlines())
        graphs[version.graph_iri] = Graph().parse(data=ntriples.decode("utf-8"), format="nt")
    return graphs


def _entity(facts: Graph, cls: URIRef, label: str) -> URIRef:
    matches = [
        s for s in facts.subjects(SKOS.prefLabel, Literal(label)) if (s, RDF.type, cls) in facts
    ]
    assert len(matches) == 1, f"expected one {cls} labelled {label!r}, found {matches}"
    return matches[0]  # type: ignore[return-value]


def _label(facts: Graph, node: object) -> str:
    return str(facts.value(node, SKOS.prefLabel))  # type: ignore[arg-type]


def test_ingest_gives_seventeen_benchmarks(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    assert len(set(facts.subjects(RDF.type, NK.Benchmark))) == len(BENCHMARKS) == 17


@pytest.mark.parametrize("row", BENCHMARKS, ids=[row[0] for row in BENCHMARKS])
def test_benchmark_row_matches_page(ingested: tuple[Graph, Graph, Store], row: tuple) -> None:
    facts, provenance, _ = ingested
    label, full_name, focus, metric, scale, description, line = row
    benchmark = _entity(facts, NK.Benchmark, label)

    assert facts.value(benchmark, NK.fullName) == (Literal(full_name) if full_name else None)
    assert facts.value(benchmark, DCTERMS.description) == Literal(description)

    focus_area = facts.value(benchmark, NK.focusArea)
    assert (focus_area, RDF.type, NK.FocusArea) in facts
    assert _label(facts, focus_area) == focus

    metric_entity = facts.value(benchmark, NK.metric)
    assert (metric_entity, RDF.type, NK.Metric) in facts
    assert _label(facts, metric_entity) == metric
    assert facts.value(benchmark, NK.metricScale) == (Literal(scale) if scale else None)

    spans = list(provenance.objects(benchmark, NK.source))
    assert [
        (provenance.value(s, NK.startLine).toPython(), provenance.value(s, NK.endLine).toPython())
        for s in spans
    ] == [(line, line)]


def test_focus_areas_and_metrics_are_shared(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    accuracy = _entity(facts, NK.Metric, "Accuracy")
    math_reasoning = _entity(facts, NK.FocusArea, "Math reasoning")

    assert len(set(facts.subjects(NK.metric, accuracy))) == 9
    assert [_label(facts, b) for b in facts.subjects(NK.focusArea, math_reasoning)] == ["GSM8K"]
    assert len(set(facts.subjects(RDF.type, NK.Metric))) == 6


def test_description_mention_links_gsm_plus_to_gsm8k(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    gsm_plus = _entity(facts, NK.Benchmark, "GSM-PLUS")
    gsm8k = _entity(facts, NK.Benchmark, "GSM8K")
    assert (gsm_plus, NK.mentions, gsm8k) in facts


def test_h100_variants_link_to_the_gpu(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    gpu = _entity(facts, NK.GPU, "H100")
    variants = {_label(facts, v) for v in facts.subjects(SCHEMA.isVariantOf, gpu)}
    assert variants == set(VARIANTS)


@pytest.mark.parametrize("index", range(3), ids=VARIANTS)
def test_h100_variant_cells_match_page(ingested: tuple[Graph, Graph, Store], index: int) -> None:
    facts, _, _ = ingested
    variant = _entity(facts, NK.GPUVariant, VARIANTS[index])

    for prop, cells in H100_TEXT_CELLS.items():
        assert facts.value(variant, prop) == Literal(cells[index]), prop

    memory_type = facts.value(variant, NK.memoryType)
    assert (memory_type, RDF.type, NK.MemoryType) in facts
    assert _label(facts, memory_type) == MEMORY_TYPES[index]

    size = facts.value(variant, NK.memorySize)
    number, written = MEMORY_SIZES[index]
    assert (size, RDF.type, SCHEMA.QuantitativeValue) in facts
    assert facts.value(size, SCHEMA.value).toPython() == Decimal(number)
    assert facts.value(size, SCHEMA.unitText) == Literal("GB")
    assert facts.value(size, RDFS.label) == Literal(written)


def test_memory_types_are_shared_entities(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    hbm3 = _entity(facts, NK.MemoryType, "HBM3")
    assert len(set(facts.subjects(NK.memoryType, hbm3))) == 2
    assert len(set(facts.subjects(RDF.type, NK.MemoryType))) == 2


def test_ray_kurzweil_is_linked_to_singularity(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    person = _entity(facts, FOAF.Person, "Ray Kurzweil")
    singularity = _entity(facts, SKOS.Concept, "Singularity")
    assert (singularity, NK.researcher, person) in facts
    assert facts.value(person, FOAF.name) == Literal("Ray Kurzweil")


def test_singularity_is_based_on_moores_law(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    singularity = _entity(facts, SKOS.Concept, "Singularity")
    moores_law = _entity(facts, SKOS.Concept, "Moore's law")
    assert (singularity, NK.basedOn, moores_law) in facts
    assert facts.value(singularity, NK.referenceText) == Literal("Based on Moore's law")


def test_memory_per_parameter_is_a_quantity(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    nn_memory = _entity(facts, SKOS.Concept, "NN Memory")
    quantity = facts.value(nn_memory, NK.memoryPerParameter)
    assert facts.value(quantity, SCHEMA.value).toPython() == Decimal("3.6")
    assert facts.value(quantity, SCHEMA.unitText) == Literal("bytes per parameter")


def test_double_descent_is_a_concept_with_explanation(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    nn_memory = _entity(facts, SKOS.Concept, "NN Memory")
    double_descent = _entity(facts, SKOS.Concept, "Double Descent")
    definition = str(facts.value(double_descent, SKOS.definition))
    assert (nn_memory, SKOS.related, double_descent) in facts
    assert definition.startswith("At first, the model tries to just memorize the data")
    assert definition.endswith("it begins improving again.")


@pytest.mark.parametrize(
    ("label", "captures"),
    [
        ("Lower layers", "Capture syntax and token identity."),
        ("Middle layers", "Handle grammar and sentence structure."),
        ("Deeper layers", "Focus on semantics, reasoning, and factual recall."),
    ],
)
def test_transformer_layer_groups(
    ingested: tuple[Graph, Graph, Store], label: str, captures: str
) -> None:
    facts, _, _ = ingested
    layers = _entity(facts, SKOS.Concept, "Transformer Layers")
    group = _entity(facts, SKOS.Concept, label)
    assert (layers, SKOS.narrower, group) in facts
    assert facts.value(group, NK.captures) == Literal(captures)


def test_godfathers_is_kept_as_empty_section(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    section = _entity(facts, NK.Section, "Godfathers")
    assert set(facts.predicates(section, None)) == {
        RDF.type,
        SKOS.prefLabel,
        DCTERMS.title,
        NK.headingLevel,
        NK.position,
        DCTERMS.isPartOf,
    }


def test_code_example_keeps_code_and_api_names(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, _, _ = ingested
    examples = list(facts.subjects(RDF.type, NK.CodeExample))
    assert len(examples) == 1
    example = examples[0]
    code = str(facts.value(example, NK.code))
    apis = {_label(facts, api) for api in facts.objects(example, NK.usesAPI)}

    assert code.startswith("from sklearn.compose import ColumnTransformer")
    assert code.rstrip().endswith("])")
    assert facts.value(example, SCHEMA.programmingLanguage) == Literal("Python")
    assert {
        "sklearn.compose.ColumnTransformer",
        "sklearn.pipeline.make_pipeline",
        "SimpleImputer",
    } <= apis
    assert "num_pipeline" not in apis


def test_every_entity_has_a_source_span(ingested: tuple[Graph, Graph, Store]) -> None:
    facts, provenance, _ = ingested
    typed = {
        s
        for s in facts.subjects(RDF.type, None)
        if str(s).startswith(BASE) and (s, RDF.type, RDF.Property) not in facts
    }
    missing = {s for s in typed if provenance.value(s, NK.source) is None}
    assert typed
    assert missing == set()


def test_spans_point_into_the_note(ingested: tuple[Graph, Graph, Store]) -> None:
    _, provenance, _ = ingested
    line_count = len((NOTES / "ai.txt").read_text(encoding="utf-8").split("\n"))
    for span in provenance.subjects(RDF.type, NK.SourceSpan):
        start = provenance.value(span, NK.startLine).toPython()
        end = provenance.value(span, NK.endLine).toPython()
        assert 1 <= start <= end <= line_count, span


def test_ingest_reports_only_the_empty_section(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    report = run_ingest([NOTES], store, mapping_path=MAPPING, base_iri=BASE)
    assert [(Path(p.path).name, p.line) for p in report.problems] == [("ai.txt", 55)]
    assert "Godfathers" in report.problems[0].message


def test_same_notes_give_identical_graphs(
    tmp_path: Path, ingested: tuple[Graph, Graph, Store]
) -> None:
    facts, provenance, _ = ingested
    copy = tmp_path / "notes"
    shutil.copytree(NOTES, copy)
    store = Store(f"sqlite:///{tmp_path}/again.sqlite")
    run_ingest([copy], store, mapping_path=MAPPING, base_iri=BASE)
    graphs = _load_dataset(store)

    assert isomorphic(graphs[BASE + "graph/ai"], facts)
    assert isomorphic(graphs[BASE + "graph/ai/provenance"], provenance)


def test_iris_follow_the_configured_base(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([NOTES], store, mapping_path=MAPPING, base_iri="http://kg.test/x/")
    facts = _load_dataset(store)["http://kg.test/x/graph/ai"]
    assert (URIRef("http://kg.test/x/benchmark/mmlu"), RDF.type, NK.Benchmark) in facts
    assert (
        URIRef("http://kg.test/x/focus-area/general-knowledge-reasoning"),
        RDF.type,
        NK.FocusArea,
    ) in facts


def test_unchanged_notes_are_skipped(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    run_ingest([NOTES], store, mapping_path=MAPPING, base_iri=BASE)
    again = run_ingest([NOTES], store, mapping_path=MAPPING, base_iri=BASE)
    assert [change.action for change in again.changes] == ["unchanged"]
    assert again.generation is None
    assert store.current_generation_id() == 1
