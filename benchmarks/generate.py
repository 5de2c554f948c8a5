"""Generate synthetic notes shaped like data/notes/ai.txt, and a mapping for them.

Every page is plain text as a browser saves it: page chrome, a title, and sections whose
headings stand alone between blank lines. A page has a benchmark table (name with an optional
"(Full Name)", focus area, description sentence, metric with unit), a transposed GPU comparison
table, `Key: Value` bullets, a `Researcher: Name` bullet, and a Python code block. Descriptions
mention benchmarks of other pages, and focus areas, metrics, people and concepts recur across
pages, so the graph links pages to each other.

The output depends only on the seed and the page count: the same arguments write the same
bytes. Usage:

    python benchmarks/generate.py --pages 1000 --seed 7 --output benchmarks/work/notes-1000
"""

from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("benchmarks.generate")

BENCHMARK_ROWS = 3
PAGES_PER_FOLDER = 1000

# Every page has a benchmark table, and each other section appears on every Nth page. This
# keeps a page at about 120 quads of facts and provenance, so 10,000 pages give about 1.2 million.
MEMORY_EVERY = 8
GPU_EVERY = 8
RESEARCH_EVERY = 3
CODE_EVERY = 4

SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ter",
    "vax",
    "ren",
    "do",
    "quo",
    "zel",
    "bri",
    "tan",
    "sor",
    "pel",
    "nu",
    "gra",
    "fex",
    "lin",
    "mor",
    "ost",
    "val",
    "chi",
    "rud",
    "sen",
    "pax",
    "tri",
    "ul",
)
FOCUS_AREAS = (
    "General knowledge & reasoning",
    "Commonsense reasoning",
    "Logical reasoning",
    "Math reasoning",
    "Advanced math",
    "Complex reasoning",
    "Truthfulness",
    "Multi-turn chat",
    "Code generation",
    "Python programming",
    "Overall LLM ranking",
    "Human-like intelligence",
    "NLP general tasks",
    "Multilingual QA",
    "Math reasoning & tool use",
    "Table-based reasoning",
    "Vision-language alignment",
    "Long-context retrieval",
    "Instruction following",
    "Agentic tool use",
    "Speech recognition",
    "Image captioning",
    "Scientific QA",
    "Legal reasoning",
    "Medical QA",
    "Financial analysis",
    "Safety and refusal",
    "Summarization",
    "Translation quality",
    "Reading comprehension",
)
METRICS = (
    "Accuracy (%)",
    "F1 Score",
    "Pass@1 (%)",
    "Elo Score",
    "Score (1-10)",
    "Truthfulness Score (%)",
    "Exact Match (%)",
    "BLEU Score",
    "Win Rate (%)",
    "ROUGE-L Score",
)
FULL_NAME_WORDS = (
    "Massive",
    "Multitask",
    "Reasoning",
    "Challenge",
    "Evaluation",
    "Suite",
    "Language",
    "Understanding",
    "Benchmark",
    "Test",
    "Open",
    "Grounded",
    "Visual",
    "Code",
    "Math",
)
DESCRIPTION_VERBS = ("Tests", "Measures", "Evaluates", "Covers", "Scores", "Probes")
DESCRIPTION_OBJECTS = (
    "grade-school science questions",
    "multi-step word problems",
    "everyday scenario understanding",
    "resistance to misinformation",
    "functional code from docstrings",
    "answers in many languages",
    "planning with external tools",
    "reading of long documents",
    "preference of human raters",
    "questions from professional exams",
    "charts and tables in reports",
    "dialogue over several turns",
)
DESCRIPTION_TAILS = (
    "with short answers",
    "under a fixed time budget",
    "across several domains",
    "with adversarial distractors",
    "in a zero-shot setting",
    "with chain-of-thought prompts",
)
FIRST_NAMES = (
    "Ada",
    "Alan",
    "Grace",
    "Yann",
    "Geoffrey",
    "Yoshua",
    "Fei-Fei",
    "Andrew",
    "Daphne",
    "Judea",
    "Marvin",
    "Claude",
    "John",
    "Barbara",
    "Leslie",
    "Ray",
    "Demis",
    "Ilya",
)
LAST_NAMES = (
    "Lovelace",
    "Turing",
    "Hopper",
    "LeCun",
    "Hinton",
    "Bengio",
    "Li",
    "Ng",
    "Koller",
    "Pearl",
    "Minsky",
    "Shannon",
    "McCarthy",
    "Liskov",
    "Valiant",
    "Kurzweil",
    "Hassabis",
    "Sutskever",
    "Rumelhart",
    "Schmidhuber",
)
CONCEPTS = (
    "Moore's law",
    "Scaling laws",
    "Backpropagation",
    "Attention",
    "Reinforcement learning",
    "Bayesian inference",
    "Gradient descent",
    "Information theory",
    "Transfer learning",
    "Curriculum learning",
    "Sparse mixtures",
    "Knowledge distillation",
)
MEMORY_TYPES = ("HBM2e", "HBM3", "HBM3e", "GDDR6", "GDDR6X")
CONNECTIONS = (
    "Standard PCIe slot",
    "Custom socket on HGX boards",
    "PCIe slot (two cards bridged)",
    "OAM module on a baseboard",
    "Riser card in a 2U chassis",
)
SPEEDS = (
    "Slower (limited by PCIe bus)",
    "Fastest",
    "Very Fast (via dedicated bridge)",
    "Fast (via NVLink on the board)",
    "Moderate (shared switch)",
)
SKLEARN_STEPS = (
    ("SimpleImputer", "sklearn.impute"),
    ("StandardScaler", "sklearn.preprocessing"),
    ("OneHotEncoder", "sklearn.preprocessing"),
    ("MinMaxScaler", "sklearn.preprocessing"),
    ("PCA", "sklearn.decomposition"),
    ("LogisticRegression", "sklearn.linear_model"),
    ("RandomForestClassifier", "sklearn.ensemble"),
    ("KMeans", "sklearn.cluster"),
)

MAPPING = """\
# Mapping of the synthetic benchmark notes written by benchmarks/generate.py.
prefixes: {}

sections:
  - heading_pattern: "Model Memory .*"
    entity: {class: skos:Concept, kind: concept}
    keys:
      Memory: {property: nk:memoryPerParameter, value: quantity}
      "*":
        value: entity
        class: skos:Concept
        kind: concept
        text_property: skos:definition
        link: skos:related

  - heading_pattern: "(?P<gpu>.+) Varieties"
    entity: {class: nk:GPU, kind: gpu}
    table:
      entities: columns
      class: nk:GPUVariant
      kind: gpu-variant
      link_to_section: schema:isVariantOf
      row_labels: [Connection, RAM to VRAM Speed, VRAM Type, VRAM Size, Best For]
      fields:
        Connection: {property: nk:connection}
        RAM to VRAM Speed: {property: nk:hostToDeviceSpeed}
        VRAM Type: {property: nk:memoryType, value: link, class: nk:MemoryType, kind: memory-type}
        VRAM Size: {property: nk:memorySize, value: quantity}
        Best For: {property: nk:bestFor}

  - heading_pattern: "Benchmarks .*"
    table:
      entities: rows
      class: nk:Benchmark
      kind: benchmark
      columns: [Benchmark, Focus Area, Description, Example Metrics]
      label_column: Benchmark
      fields:
        Benchmark: {value: name, property: nk:fullName}
        Focus Area: {property: nk:focusArea, value: link, class: nk:FocusArea, kind: focus-area}
        Description: {property: dcterms:description}
        Example Metrics:
          property: nk:metric
          value: link
          class: nk:Metric
          kind: metric
          unit_property: nk:metricScale
          text_property: nk:metricText

  - heading_pattern: "Research .*"
    entity: {class: skos:Concept, kind: concept}
    keys:
      Researcher: {property: nk:researcher, value: link, class: foaf:Person, kind: person}
      Reference:
        property: nk:basedOn
        value: link
        class: skos:Concept
        kind: concept
        strip_prefix: "Based on "
        text_property: nk:referenceText

  - heading_pattern: "Pipeline .*"
    code: {class: nk:CodeExample, kind: code, api_links: true}
"""


@dataclass(frozen=True)
class Benchmark:
    """One row of a benchmark table."""

    name: str
    full_name: str | None
    focus_area: str
    description: str
    metric: str


class PageWriter:
    """Writes page ``number`` of a corpus from a random generator seeded by seed and number."""

    def __init__(self, seed: int, number: int, pages: int) -> None:
        self.number = number
        self.pages = pages
        self.random = random.Random(f"{seed}:{number}")
        self.seed = seed

    def text(self) -> str:
        """Return the page as saved plain text."""
        topic = self._word(3)
        parts = ["Skip to content", f"{topic} Notes {self.number}"]
        if self.number % MEMORY_EVERY == 1:
            parts.extend(self._memory_section(topic))
        if self.number % GPU_EVERY == 2:
            parts.extend(self._gpu_section())
        parts.extend(self._benchmark_section())
        if self.number % RESEARCH_EVERY == 0:
            parts.extend(self._research_section())
        if self.number % CODE_EVERY == 0:
            parts.extend(self._code_section())
        return "\n\n".join(parts) + "\n"

    def _word(self, syllables: int) -> str:
        return "".join(self.random.choice(SYLLABLES) for _ in range(syllables)).capitalize()

    def _memory_section(self, topic: str) -> list[str]:
        bytes_per_parameter = self.random.choice(("2", "3.6", "4", "8", "16"))
        bullets = [
            f"  • Memory: {bytes_per_parameter} bytes per parameter",
            f"  • {topic} Drift: The model first memorizes the data, then forgets it and learns "
            f"the rule behind it, so its quality drops before it improves again.",
        ]
        return [f"Model Memory {self.number}", "\n".join(bullets)]

    def _gpu_section(self) -> list[str]:
        gpu = f"{self._word(2).upper()[:3]}{self.number}"
        variants = [f"{gpu} PCIe", f"{gpu} SXM", f"{gpu} NVL"]
        pick = self.random.choice
        sizes = [f"{pick((40, 80, 96, 141, 192))} GB" for _ in variants]
        rows = [
            ["Feature", *variants],
            ["Connection", *(pick(CONNECTIONS) for _ in variants)],
            ["RAM to VRAM Speed", *(pick(SPEEDS) for _ in variants)],
            ["VRAM Type", *(pick(MEMORY_TYPES) for _ in variants)],
            ["VRAM Size", *sizes],
            [
                "Best For",
                *(
                    f"{pick(('Single-card', 'Dual-GPU', 'Multi-node'))} training jobs."
                    for _ in variants
                ),
            ],
        ]
        return [f"{gpu} Varieties", "\n".join(" ".join(row) for row in rows)]

    def _benchmark_section(self) -> list[str]:
        rows = ["Benchmark Focus Area Description Example Metrics"]
        for index in range(BENCHMARK_ROWS):
            row = self._benchmark(index)
            name = f"{row.name} ({row.full_name})" if row.full_name else row.name
            rows.append(f"{name} {row.focus_area} {row.description} {row.metric}")
        return [f"Benchmarks {self.number}", "\n".join(rows)]

    def _benchmark(self, index: int) -> Benchmark:
        pick = self.random.choice
        name = benchmark_name(self.seed, self.number, index)
        full_name = None
        if self.random.random() < 0.5:
            full_name = " ".join(self.random.sample(FULL_NAME_WORDS, 3))
        description = (
            f"{pick(DESCRIPTION_VERBS)} {pick(DESCRIPTION_OBJECTS)} {pick(DESCRIPTION_TAILS)}"
        )
        if self.random.random() < 0.3 and self.pages > 1:
            other = self.random.randrange(self.pages)
            description += f", like {benchmark_name(self.seed, other, index)}"
        return Benchmark(name, full_name, pick(FOCUS_AREAS), description + ".", pick(METRICS))

    def _research_section(self) -> list[str]:
        person = f"{self.random.choice(FIRST_NAMES)} {self.random.choice(LAST_NAMES)}"
        bullets = [
            f"  • Researcher: {person}",
            f"  • Reference: Based on {self.random.choice(CONCEPTS)}",
        ]
        return [f"Research {self._word(2)} {self.number}", "\n".join(bullets)]

    def _code_section(self) -> list[str]:
        steps = self.random.sample(SKLEARN_STEPS, 3)
        imports = [f"from {module} import {name}" for name, module in steps]
        calls = ", ".join(f"{name}()" for name, _ in steps)
        code = "\n".join(
            [
                "from sklearn.pipeline import make_pipeline",
                *imports,
                "",
                f"pipeline_{self.number} = make_pipeline({calls})",
                f"pipeline_{self.number}.fit(X_train, y_train)",
            ]
        )
        return [f"Pipeline {self.number}", code]


def benchmark_name(seed: int, page: int, index: int) -> str:
    """Return the name of row ``index`` of page ``page``, unique in the corpus."""
    letters = random.Random(f"{seed}:name:{page}:{index}")
    stem = "".join(letters.choice(SYLLABLES) for _ in range(2)).capitalize()
    return f"{stem}Bench-{page}{chr(ord('A') + index)}"


def page_path(output: Path, number: int) -> Path:
    """Return the file of page ``number``: a thousand pages per folder."""
    return output / f"part-{number // PAGES_PER_FOLDER:03d}" / f"page-{number:05d}.txt"


def generate(output: Path, pages: int, seed: int) -> Path:
    """Write ``pages`` notes under ``output`` and the mapping beside them; return the mapping."""
    for number in range(pages):
        path = page_path(output, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PageWriter(seed, number, pages).text(), encoding="utf-8")

    mapping = output.parent / f"{output.name}.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    logger.info("wrote %s pages to %s and the mapping %s", pages, output, mapping)
    return mapping


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="The pages go into subfolders of 1,000 (part-000/page-00000.txt, …), and the "
        "mapping for `notekg ingest --mapping` goes beside the output folder: OUTPUT.yaml.",
    )
    parser.add_argument("--pages", type=int, required=True, help="Number of pages to write.")
    parser.add_argument(
        "--seed", type=int, default=7, help="Seed of the random generator [default: 7]."
    )
    parser.add_argument("--output", type=Path, required=True, help="Folder to write the pages to.")
    arguments = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    generate(arguments.output, arguments.pages, arguments.seed)


if __name__ == "__main__":
    main()
