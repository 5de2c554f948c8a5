"""Tests of recovering table cells from rows whose cell boundaries were lost.

The expected tables are the cells a person reads on the page, written out by hand. The code
under test contains none of them and finds the cells from the rows' content.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import LineSpan, RawTable, Table
from ingest.problems import Problem, Severity
from ingest.table_scoring import (
    COLUMN_FEATURES,
    LABEL_COLUMN_FEATURES,
    WEIGHTS,
    ColumnProfile,
    boundary_score,
    changes_case_to_number,
    column_score,
    describe_cell,
    entity_names_score,
    gap_scores,
    is_unit_like,
    open_gaps,
    precedes_capitalised_word,
    separates_numbers,
    splits_number_from_unit,
    starts_with_preposition,
    token_shape,
)
from ingest.tables import TableHints, recover_table

REPOSITORY = Path(__file__).resolve().parent.parent
AI_NOTE = REPOSITORY / "data" / "notes" / "ai.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tables"

H100_HINTS = TableHints(
    columns=("Feature", "H100 PCIe", "H100 SXM", "H100 NVL"),
    row_labels=(
        "Connection",
        "RAM to VRAM Speed",
        "GPU to GPU Speed",
        "VRAM Type",
        "VRAM Size",
        "Best For",
        "Key Downside",
    ),
)
H100_ROWS = [
    [
        "Connection",
        "Standard PCIe slot",
        "Custom socket on DGX/HGX boards",
        "PCIe slot (two cards bridged)",
    ],
    [
        "RAM to VRAM Speed",
        "Slower (limited by PCIe bus)",
        "Fastest",
        "Slower (limited by PCIe bus)",
    ],
    [
        "GPU to GPU Speed",
        "Slower",
        "Fastest (via NVLink on the board)",
        "Very Fast (via dedicated NVLink Bridge)",
    ],
    ["VRAM Type", "HBM2e", "HBM3", "HBM3"],
    ["VRAM Size", "80 GB", "80 GB", "192 GB total (2x 96 GB)"],
    [
        "Best For",
        "General compatibility, single-card setups where PCIe bandwidth isn't a bottleneck.",
        "Demanding single-GPU or multi-GPU tasks needing the highest RAM-to-GPU bandwidth.",
        "Dual-GPU tasks with massive data transfer between the two GPUs.",
    ],
    [
        "Key Downside",
        "Slower data transfer to and from system RAM.",
        "Requires specific, expensive motherboards (DGX/HGX).",
        "Acts as a pair; not ideal for scaling beyond two bridged GPUs.",
    ],
]

BENCHMARK_HINTS = TableHints(columns=("Benchmark", "Focus Area", "Description", "Example Metrics"))
BENCHMARK_ROWS = [
    [
        "MMLU (Massive Multitask Language Understanding)",
        "General knowledge & reasoning",
        "57 subjects covering STEM, humanities, social sciences, etc.",
        "Accuracy (%)",
    ],
    ["HellaSwag", "Commonsense reasoning", "Tests everyday scenario understanding", "Accuracy (%)"],
    [
        "ARC (AI2 Reasoning Challenge)",
        "Logical reasoning",
        "Grade-school-level science and reasoning questions",
        "Accuracy (%)",
    ],
    [
        "GSM8K (Grade School Math 8K)",
        "Math reasoning",
        "Solving elementary school-level math problems",
        "Accuracy (%)",
    ],
    ["MATH", "Advanced math", "Tests high-school & olympiad-level math ability", "Accuracy (%)"],
    [
        "BBH (BigBench Hard)",
        "Complex reasoning",
        "Harder subset of BigBench tasks, including ethics, social dynamics",
        "Accuracy (%)",
    ],
    [
        "TruthfulQA",
        "Truthfulness",
        "Measures resistance to misinformation and factual consistency",
        "Truthfulness Score (%)",
    ],
    [
        "MT-Bench",
        "Multi-turn chat",
        "Evaluates LLMs in a conversational multi-turn dialogue setting",
        "Score (1-10)",
    ],
    ["HumanEval", "Code generation", "Tests LLMs' ability to write functional code", "Pass@1 (%)"],
    [
        "MBPP (Multi-turn Python Benchmark)",
        "Python programming",
        "Evaluates Python code generation for multi-turn problem-solving",
        "Pass@1 (%)",
    ],
    [
        "OpenAI's Chatbot Arena",
        "Overall LLM ranking",
        "Human preference ranking of chatbot responses",
        "Elo Score",
    ],
    [
        "AGIEval",
        "Human-like intelligence",
        "Measures model performance on human exams (SAT, GRE, LSAT, etc.)",
        "Score (%)",
    ],
    [
        "SuperGLUE",
        "NLP general tasks",
        "Evaluates performance across a variety of NLP tasks",
        "Accuracy (%)",
    ],
    [
        "TyDiQA",
        "Multilingual QA",
        "Tests question-answering ability in multiple languages",
        "F1 Score",
    ],
    [
        "GSM-PLUS",
        "Math reasoning & tool use",
        "An extension of GSM8K that requires planning and tool use",
        "Accuracy (%)",
    ],
    [
        "TMGBench",
        "Table-based reasoning",
        "A benchmark for table-based machine reading comprehension",
        "F1 Score",
    ],
    [
        "VL-RewardBench",
        "Vision-language alignment",
        "Evaluates how well vision-language models align with human preferences",
        "Accuracy (%)",
    ],
]

MODEL_HINTS = TableHints(columns=("Model", "Year", "Parameters", "Licence"))
MODEL_ROWS = [
    ["Llama 2", "2023", "70B", "Llama 2 Community License"],
    ["Mistral 7B", "2023", "7B", "Apache 2.0"],
    ["GPT-2", "2019", "1.5B", "MIT"],
    ["Falcon 40B", "2023", "40B", "Apache 2.0"],
    ["BLOOM", "2022", "176B", "BigScience RAIL License"],
    ["Phi-3 Mini", "2024", "3.8B", "MIT"],
]

PEOPLE_HINTS = TableHints(columns=("Name", "Role", "Description"))
PEOPLE_ROWS = [
    [
        "Ada Lovelace",
        "Mathematician",
        "Wrote the first published algorithm intended for a machine.",
    ],
    ["Alan Turing", "Computer scientist", "Formalised computation with the universal machine."],
    [
        "Grace Hopper",
        "Rear admiral",
        "Built the first compiler and pushed for readable programming languages.",
    ],
    [
        "Linus Torvalds",
        "Software engineer",
        "Created the Linux kernel and the Git version control system.",
    ],
    [
        "Margaret Hamilton",
        "Software engineer",
        "Led the team that wrote the Apollo flight software.",
    ],
    ["Tim Berners-Lee", "Physicist", "Invented the World Wide Web while working at CERN."],
]

LAPTOP_HINTS = TableHints(
    columns=("Spec", "MacBook Air M3", "ThinkPad X1 Carbon", "Dell XPS 13"),
    row_labels=("Processor", "Memory", "Weight", "Battery Life", "Best For", "Main Drawback"),
)
LAPTOP_ROWS = [
    ["Processor", "Apple M3", "Intel Core Ultra 7", "Intel Core Ultra 7"],
    ["Memory", "16 GB", "32 GB", "16 GB"],
    ["Weight", "1.24 kg", "1.09 kg", "1.19 kg"],
    [
        "Battery Life",
        "Up to 18 hours (video playback)",
        "About 15 hours",
        "Up to 13 hours (mixed use)",
    ],
    [
        "Best For",
        "Students who want a silent, fanless machine.",
        "Business travellers who type all day.",
        "Developers who want a small Linux laptop.",
    ],
    [
        "Main Drawback",
        "Only two USB-C ports.",
        "Expensive once fully configured.",
        "Glossy screen reflects office lights.",
    ],
]


PRICING_HINTS = TableHints(columns=("Plan", "Price per Month", "Storage", "Users", "Support"))
PRICING_ROWS = [
    ["Free", "$0", "5 GB", "1", "Community forum"],
    ["Starter", "$8.25", "100 GB", "3", "Email"],
    ["Team", "$24", "1 TB", "10", "Email and chat"],
    ["Business", "$65", "5 TB", "50", "Priority phone support"],
    ["Enterprise", "Contact sales", "Unlimited", "Unlimited", "Dedicated account manager"],
    ["Education", "$4.50", "500 GB", "25", "Email and chat"],
]

CHANGELOG_HINTS = TableHints(columns=("Version", "Date", "Author", "Change", "Notes"))
CHANGELOG_ROWS = [
    [
        "2.4.0",
        "2024-03-18",
        "Priya Natarajan",
        "Added CSV export",
        "Exports respect the current filter.",
    ],
    [
        "2.3.2",
        "2024-02-02",
        "Tom Becker",
        "Fixed login redirect",
        "Users now return to the page they requested.",
    ],
    [
        "2.3.1",
        "2024-01-15",
        "Priya Natarajan",
        "Fixed crash on empty notes",
        "Affected only the desktop app.",
    ],
    [
        "2.3.0",
        "2023-12-04",
        "Lena Vogel",
        "Added dark mode",
        "Follows the system setting by default.",
    ],
    ["2.2.0", "2023-10-20", "Tom Becker", "Removed legacy API", "Use the v2 endpoints instead."],
    [
        "2.1.0",
        "2023-09-01",
        "Lena Vogel",
        "Improved search speed",
        "Indexes are rebuilt on first start.",
    ],
]

BOARD_HINTS = TableHints(
    columns=("Feature", "Raspberry Pi 5", "Raspberry Pi 4", "Raspberry Pi 400"),
    row_labels=("Processor", "RAM Options", "USB Ports", "Launch Price", "Form Factor", "Best For"),
)
BOARD_ROWS = [
    ["Processor", "Cortex-A76 at 2.4 GHz", "Cortex-A72 at 1.8 GHz", "Cortex-A72 at 1.8 GHz"],
    ["RAM Options", "4 GB or 8 GB", "1 GB to 8 GB", "4 GB"],
    [
        "USB Ports",
        "Two USB 3.0, two USB 2.0",
        "Two USB 3.0, two USB 2.0",
        "Two USB 3.0, one USB 2.0",
    ],
    ["Launch Price", "$60", "$35", "$70"],
    ["Form Factor", "Bare board", "Bare board", "Built into a keyboard"],
    [
        "Best For",
        "Desktop use and home servers.",
        "Hobby projects and retro gaming.",
        "Classrooms and families.",
    ],
]


INSTANCE_ROWS = [
    ["t3.micro", "2", "1 GiB", "EBS only", "Up to 5 Gbps", "$0.0104"],
    ["m5.large", "2", "8 GiB", "EBS only", "Up to 10 Gbps", "$0.096"],
    ["c5.2xlarge", "8", "16 GiB", "EBS only", "Up to 10 Gbps", "$0.34"],
    ["r5.4xlarge", "16", "128 GiB", "EBS only", "Up to 10 Gbps", "$1.008"],
    ["i3.xlarge", "4", "30.5 GiB", "1 x 950 GB NVMe SSD", "Up to 10 Gbps", "$0.312"],
    ["m5d.8xlarge", "32", "128 GiB", "2 x 600 GB NVMe SSD", "10 Gbps", "$1.808"],
]

CAMERA_ROWS = [
    ["Sony A7 IV", "Full frame", "33 MP", "658 g", "$2,498"],
    ["Canon EOS R6 Mark II", "Full frame", "24.2 MP", "670 g", "$2,499"],
    ["Nikon Z6 III", "Full frame", "24.5 MP", "760 g", "$2,500"],
    ["Fujifilm X-T5", "APS-C", "40.2 MP", "557 g", "$1,699"],
    ["OM System OM-1", "Micro Four Thirds", "20.4 MP", "599 g", "$2,199"],
]

STATUS_ROWS = [
    ["200", "OK", "Success", "Yes", "The request succeeded."],
    ["301", "Moved Permanently", "Redirection", "Yes", "The resource has a new permanent URL."],
    ["404", "Not Found", "Client error", "Yes", "The server cannot find the resource."],
    [
        "429",
        "Too Many Requests",
        "Client error",
        "No",
        "The client sent too many requests in a given time.",
    ],
    [
        "500",
        "Internal Server Error",
        "Server error",
        "No",
        "The server hit an unexpected condition.",
    ],
    [
        "503",
        "Service Unavailable",
        "Server error",
        "No",
        "The server cannot handle the request right now.",
    ],
]

COUNTRY_ROWS = [
    ["France", "Paris", "68 million", "Euro"],
    ["Japan", "Tokyo", "125 million", "Yen"],
    ["United States", "Washington, D.C.", "333 million", "US dollar"],
    ["Brazil", "Brasília", "203 million", "Real"],
    ["New Zealand", "Wellington", "5.1 million", "New Zealand dollar"],
    ["South Africa", "Pretoria", "62 million", "Rand"],
]

GLOSSARY_ROWS = [
    ["Latency", "The time between sending a request and receiving its response."],
    ["Throughput", "The number of requests a system handles per second."],
    ["Idempotent request", "A request that has the same effect when it is sent twice."],
    [
        "Cold start",
        "The delay while a serverless platform starts the first instance of a function.",
    ],
    ["Content Delivery Network", "A group of servers that caches content close to its users."],
    ["Backpressure", "A signal from a consumer that asks the producer to slow down."],
]

METRIC_ROWS = [
    ["Median latency", "42 ms"],
    ["P99 latency", "310 ms"],
    ["Error rate", "0.2%"],
    ["Requests per second", "1,850"],
    ["Uptime", "99.95%"],
]

DATABASE_ROWS = [
    ["Data Model", "Relational", "Relational", "Relational", "Document"],
    ["First Release", "1996", "1995", "2000", "2009"],
    ["Written In", "C", "C and C++", "C", "C++"],
    ["Maximum Database Size", "Unlimited", "256 TB", "281 TB", "Unlimited"],
    ["Replication", "Streaming and logical", "Source and replica", "None", "Replica sets"],
    [
        "Best For",
        "Complex queries and analytics.",
        "Web applications with simple reads.",
        "Embedded and mobile apps.",
        "Flexible schemas and fast iteration.",
    ],
]

PHONE_ROWS = [
    ["Display", "6.1 inches", "6.1 inches", "6.7 inches"],
    ["Chip", "A16 Bionic", "A17 Pro", "A17 Pro"],
    ["Weight", "171 g", "187 g", "221 g"],
    ["Starting Price", "$799", "$999", "$1,199"],
    ["Optical Zoom", "2x", "3x", "5x"],
]

PLAN_ROWS = [
    ["Monthly Price", "$9", "$19"],
    ["Storage", "100 GB", "1 TB"],
    ["Devices", "2", "Unlimited"],
    ["Offline Access", "No", "Yes"],
    ["Support", "Email only", "Phone and email"],
]

# Tables recovered without hints: fixture, header, rows as a person reads them, and the
# number of rows recovered. The other rows are ambiguous and must be reported.
UNHINTED_TABLES = [
    pytest.param(
        "instances.txt",
        ["Instance", "vCPUs", "Memory", "Storage", "Network", "Price"],
        INSTANCE_ROWS,
        4,
        id="six-numeric-columns",
    ),
    pytest.param(
        "cameras.txt",
        ["Model", "Sensor", "Resolution", "Weight", "Price"],
        CAMERA_ROWS,
        4,
        id="quantities-with-units",
    ),
    pytest.param(
        "status.txt",
        ["Code", "Name", "Category", "Cacheable", "Meaning"],
        STATUS_ROWS,
        6,
        id="codes-and-sentences",
    ),
    pytest.param(
        "countries.txt",
        ["Country", "Capital", "Population", "Currency"],
        COUNTRY_ROWS,
        3,
        id="multi-word-names",
    ),
    pytest.param("glossary.txt", ["Term", "Definition"], GLOSSARY_ROWS, 5, id="two-columns"),
    pytest.param("metrics.txt", ["Metric", "Value"], METRIC_ROWS, 5, id="two-numeric-columns"),
    pytest.param(
        "databases.txt",
        ["Feature", "PostgreSQL", "MySQL", "SQLite", "MongoDB"],
        DATABASE_ROWS,
        6,
        id="transposed-five-columns",
    ),
    pytest.param(
        "phones.txt",
        ["Spec", "iPhone 15", "iPhone 15 Pro", "iPhone 15 Pro Max"],
        PHONE_ROWS,
        2,
        id="transposed-product-family",
    ),
    pytest.param(
        "plans.txt", ["Feature", "Basic", "Premium"], PLAN_ROWS, 3, id="transposed-three-columns"
    ),
]


def raw_table_from_lines(lines: list[str], first_line: int) -> RawTable:
    numbered = [(first_line + offset, line) for offset, line in enumerate(lines)]
    return RawTable(numbered, LineSpan(first_line, first_line + len(lines) - 1))


def note_table(header: str) -> RawTable:
    """Return the table of the AI note that starts with ``header`` and ends at a blank line."""
    lines = AI_NOTE.read_text(encoding="utf-8").split("\n")
    start = lines.index(header)
    end = lines.index("", start)
    return raw_table_from_lines(lines[start:end], start + 1)


def fixture_table(name: str) -> RawTable:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return raw_table_from_lines(lines, 1)


def rows_of(table: Table) -> list[list[str]]:
    return [row.cells for row in table.rows]


def assert_correct_or_reported(
    raw: RawTable, table: Table, problems: list[Problem], expected: list[list[str]]
) -> None:
    """Check that every returned row is right and every left-out row is reported."""
    expected_by_line = {
        line: cells for (line, _), cells in zip(raw.lines[1:], expected, strict=True)
    }
    reported_lines = {problem.line for problem in problems}
    returned_lines = {row.span.start for row in table.rows}
    for row in table.rows:
        assert row.cells == expected_by_line[row.span.start]
    for line in expected_by_line:
        assert line in returned_lines or line in reported_lines


H100_HEADER = "Feature H100 PCIe H100 SXM H100 NVL"
BENCHMARK_HEADER = "Benchmark Focus Area Description Example Metrics"


def test_h100_table_with_hints() -> None:
    raw = note_table(H100_HEADER)

    table, problems = recover_table(raw, "ai.txt", H100_HINTS)

    assert problems == []
    assert table is not None
    assert table.header == list(H100_HINTS.columns or ())
    assert rows_of(table) == H100_ROWS
    assert [row.span for row in table.rows] == [LineSpan(line, line) for line, _ in raw.lines[1:]]
    assert table.header_span == LineSpan(raw.lines[0][0], raw.lines[0][0])
    assert table.span == raw.span


def test_benchmarks_table_with_hints() -> None:
    raw = note_table(BENCHMARK_HEADER)

    table, problems = recover_table(raw, "ai.txt", BENCHMARK_HINTS)

    assert problems == []
    assert table is not None
    assert table.header == ["Benchmark", "Focus Area", "Description", "Example Metrics"]
    assert len(table.rows) == 17
    for row, expected in zip(table.rows, BENCHMARK_ROWS, strict=True):
        assert row.cells == expected


def test_h100_table_without_hints() -> None:
    raw = note_table(H100_HEADER)

    table, problems = recover_table(raw, "ai.txt")

    assert table is not None
    assert table.header == ["Feature", "H100 PCIe", "H100 SXM", "H100 NVL"]
    assert_correct_or_reported(raw, table, problems, H100_ROWS)
    assert len(table.rows) >= 5


def test_h100_ambiguous_label_reported() -> None:
    # "Connection Standard" is as plausible a label as "Connection", and "PCIe slot" then
    # resembles the last value "PCIe slot (two cards bridged)" even better.
    raw = note_table(H100_HEADER)
    connection_line = raw.lines[1][0]

    table, problems = recover_table(raw, "ai.txt")

    assert table is not None
    assert connection_line not in [row.span.start for row in table.rows]
    messages = [problem.message for problem in problems if problem.line == connection_line]
    assert len(messages) == 1
    assert "'Connection | Standard PCIe slot | Custom socket" in messages[0]
    assert "'Connection Standard | PCIe slot | Custom socket" in messages[0]


def test_benchmarks_without_hints_generic_header() -> None:
    raw = note_table(BENCHMARK_HEADER)

    table, problems = recover_table(raw, "ai.txt")

    assert table is not None
    assert table.header == ["column 1", "column 2", "column 3", "column 4"]
    assert_correct_or_reported(raw, table, problems, BENCHMARK_ROWS)
    assert len(table.rows) >= 16
    header_problems = [problem for problem in problems if problem.line == raw.lines[0][0]]
    assert len(header_problems) == 1
    message = header_problems[0].message
    assert header_problems[0].severity is Severity.WARNING
    assert "could not be split into 4 cells with confidence" in message
    assert "'Benchmark | Focus Area | Description | Example Metrics'" in message
    assert "named 'column 1' to 'column 4'" in message
    assert "add columns to the table's mapping" in message


def test_laptops_without_hints_generic_header() -> None:
    raw = fixture_table("laptops.txt")

    table, problems = recover_table(raw, "laptops.txt")

    assert table is not None
    assert table.header == ["column 1", "column 2", "column 3", "column 4"]
    assert_correct_or_reported(raw, table, problems, LAPTOP_ROWS)
    assert len(table.rows) >= 3
    header_problems = [problem for problem in problems if problem.line == 1]
    assert len(header_problems) == 1
    message = header_problems[0].message
    assert header_problems[0].severity is Severity.WARNING
    assert "could not be split into 4 cells with confidence" in message
    assert "'Spec | MacBook Air M3 | ThinkPad X1 Carbon | Dell XPS 13'" in message
    assert "add columns to the table's mapping to name them" in message


def test_reported_rows_list_right_split_first() -> None:
    # Both rows stay ambiguous, but the warning shows the split a person reads first.
    cases = [
        ("laptops.txt", 6, "best candidate splits: 'Best For | Students who want"),
        ("glossary.txt", 6, "best candidate splits: 'Content Delivery Network | A group"),
    ]
    for name, line, first_candidate in cases:
        table, problems = recover_table(fixture_table(name), name)

        assert table is not None
        messages = [problem.message for problem in problems if problem.line == line]
        assert len(messages) == 1, name
        assert first_candidate in messages[0], name


def test_transposed_laptops_with_hints() -> None:
    raw = fixture_table("laptops.txt")

    table, problems = recover_table(raw, "laptops.txt", LAPTOP_HINTS)

    assert problems == []
    assert table is not None
    assert rows_of(table) == LAPTOP_ROWS


@pytest.mark.parametrize("hints", [MODEL_HINTS, None], ids=["hinted", "unhinted"])
def test_numeric_model_table(hints: TableHints | None) -> None:
    raw = fixture_table("models.txt")

    table, problems = recover_table(raw, "models.txt", hints)

    assert table is not None
    assert table.header == ["Model", "Year", "Parameters", "Licence"]
    assert_correct_or_reported(raw, table, problems, MODEL_ROWS)
    assert len(table.rows) == 6


def test_numeric_model_table_hinted_rows() -> None:
    raw = fixture_table("models.txt")

    table, _ = recover_table(raw, "models.txt", MODEL_HINTS)

    assert table is not None
    assert rows_of(table) == MODEL_ROWS


@pytest.mark.parametrize("hints", [PEOPLE_HINTS, None], ids=["hinted", "unhinted"])
def test_people_table_with_sentences(hints: TableHints | None) -> None:
    raw = fixture_table("people.txt")

    table, problems = recover_table(raw, "people.txt", hints)

    assert table is not None
    assert table.header == ["Name", "Role", "Description"]
    assert_correct_or_reported(raw, table, problems, PEOPLE_ROWS)
    assert len(table.rows) == 6


@pytest.mark.parametrize("hints", [PRICING_HINTS, None], ids=["hinted", "unhinted"])
def test_pricing_table_with_amounts(hints: TableHints | None) -> None:
    raw = fixture_table("pricing.txt")

    table, problems = recover_table(raw, "pricing.txt", hints)

    assert problems == []
    assert table is not None
    assert table.header == ["Plan", "Price per Month", "Storage", "Users", "Support"]
    assert rows_of(table) == PRICING_ROWS


def test_changelog_table_with_hints() -> None:
    raw = fixture_table("changelog.txt")

    table, problems = recover_table(raw, "changelog.txt", CHANGELOG_HINTS)

    assert problems == []
    assert table is not None
    assert rows_of(table) == CHANGELOG_ROWS


def test_changelog_table_without_hints() -> None:
    raw = fixture_table("changelog.txt")

    table, problems = recover_table(raw, "changelog.txt")

    assert table is not None
    assert table.header == ["Version", "Date", "Author", "Change", "Notes"]
    assert_correct_or_reported(raw, table, problems, CHANGELOG_ROWS)
    assert len(table.rows) == 6


@pytest.mark.parametrize(
    ("hints", "minimum_rows"), [(BOARD_HINTS, 6), (None, 6)], ids=["hinted", "unhinted"]
)
def test_transposed_boards_table(hints: TableHints | None, minimum_rows: int) -> None:
    raw = fixture_table("boards.txt")

    table, problems = recover_table(raw, "boards.txt", hints)

    assert table is not None
    assert table.header == ["Feature", "Raspberry Pi 5", "Raspberry Pi 4", "Raspberry Pi 400"]
    assert_correct_or_reported(raw, table, problems, BOARD_ROWS)
    assert len(table.rows) >= minimum_rows


@pytest.mark.parametrize(("name", "header", "expected", "recovered_rows"), UNHINTED_TABLES)
def test_table_without_hints(
    name: str, header: list[str], expected: list[list[str]], recovered_rows: int
) -> None:
    raw = fixture_table(name)

    table, problems = recover_table(raw, name)

    assert table is not None
    assert table.header == header
    assert_correct_or_reported(raw, table, problems, expected)
    assert len(table.rows) >= recovered_rows


def test_one_word_header_reported() -> None:
    raw = raw_table_from_lines(["Summary", "The nightly build passed on all platforms."], 4)

    table, problems = recover_table(raw, "status.txt")

    assert table is None
    assert len(problems) == 1
    assert problems[0].line == 4
    assert "because the table has a one-word header" in problems[0].message
    assert "if the line is a heading, put a blank line after it" in problems[0].message


def test_ambiguous_row_reported_not_guessed() -> None:
    raw = raw_table_from_lines(["Codename Team", "Blue Harbour Night Owl"], 10)

    table, problems = recover_table(raw, "teams.txt", TableHints(columns=("Codename", "Team")))

    assert table is not None
    assert table.rows == []
    assert len(problems) == 1
    problem = problems[0]
    assert problem.line == 11
    assert problem.severity is Severity.WARNING
    assert (
        "'Blue Harbour Night Owl' could not be split into 2 cells with confidence"
        in problem.message
    )
    assert "Blue | Harbour Night Owl" in problem.message
    assert "Blue Harbour | Night Owl" in problem.message
    assert "Blue Harbour Night | Owl" in problem.message
    # The mapping already gives the columns, so the advice is about the note only.
    assert "put ' | ' between the row's cells in the note" in problem.message
    assert "give the table's columns" not in problem.message


def test_ambiguous_row_without_hints_suggests_mapping() -> None:
    lines = ["Name Team", "Ada Lovelace Blue", "Alan Turing Red", "Grace Brewster Murray Hopper"]
    raw = raw_table_from_lines(lines, 10)

    _, problems = recover_table(raw, "teams.txt")
    row_problems = [problem for problem in problems if "could not be split" in problem.message]

    assert row_problems
    assert all("give the table's columns" in problem.message for problem in row_problems)


def test_header_not_matching_columns_reported() -> None:
    raw = note_table(BENCHMARK_HEADER)
    hints = TableHints(columns=("Benchmark", "Area", "Description", "Metric"))

    table, problems = recover_table(raw, "ai.txt", hints)

    assert table is None
    assert len(problems) == 1
    assert problems[0].line == raw.lines[0][0]
    assert BENCHMARK_HEADER in problems[0].message
    assert "'Benchmark Area Description Metric'" in problems[0].message


def test_row_without_label_reported() -> None:
    lines = ["Spec Phone A Phone B", "Colour Black White", "Storage 128 GB 256 GB"]
    raw = raw_table_from_lines(lines, 1)
    hints = TableHints(columns=("Spec", "Phone A", "Phone B"), row_labels=("Colour", "Memory"))

    table, problems = recover_table(raw, "phones.txt", hints)

    assert table is not None
    assert rows_of(table) == [["Colour", "Black", "White"]]
    assert [problem.line for problem in problems] == [3]
    assert "does not start with any of the mapping's row_labels" in problems[0].message


def test_row_labels_matched_out_of_order() -> None:
    lines = ["Spec Phone A Phone B", "Storage 128 GB 256 GB", "Colour Black White"]
    raw = raw_table_from_lines(lines, 1)
    hints = TableHints(columns=("Spec", "Phone A", "Phone B"), row_labels=("Colour", "Storage"))

    table, problems = recover_table(raw, "phones.txt", hints)

    assert problems == []
    assert table is not None
    assert rows_of(table) == [["Storage", "128 GB", "256 GB"], ["Colour", "Black", "White"]]


def test_row_with_too_few_words_reported() -> None:
    raw = raw_table_from_lines(["Name Role Team", "Ada Lovelace"], 1)

    table, problems = recover_table(raw, "t.txt", TableHints(columns=("Name", "Role", "Team")))

    assert table is not None
    assert table.rows == []
    assert len(problems) == 1
    assert "could not be split into 3 cells" in problems[0].message


def test_empty_table_reported() -> None:
    table, problems = recover_table(RawTable([], LineSpan(5, 5)), "t.txt")

    assert table is None
    assert [problem.line for problem in problems] == [5]


def test_split_row_with_parenthesised_name() -> None:
    tokens = "ARC (AI2 Reasoning Challenge) Logical reasoning".split()

    assert open_gaps(tokens) == [1, 4]


def test_no_cell_starts_with_lowercase_word_or_ampersand() -> None:
    tokens = "Math reasoning & tool use An extension".split()

    assert open_gaps(tokens) == [5]


def test_number_kept_with_unit() -> None:
    assert splits_number_from_unit("80", "GB") == 1.0
    assert splits_number_from_unit("7", "Intel") == 0.0
    assert splits_number_from_unit("GB", "80") == 0.0


def test_boundary_between_numbers() -> None:
    assert separates_numbers("2.4.0", "2024-03-18") == 1.0
    assert separates_numbers("$60", "$35") == 1.0
    assert separates_numbers("2023", "70B") == 1.0
    assert separates_numbers("80", "GB") == 0.0
    assert separates_numbers("Llama", "2") == 0.0


def test_boundary_after_number_before_word() -> None:
    assert precedes_capitalised_word("2024-03-18", "Priya") == 1.0
    assert precedes_capitalised_word("80", "GB") == 0.0
    assert precedes_capitalised_word("1.24", "kg") == 0.0
    assert precedes_capitalised_word("Ultra", "Intel") == 0.0


def test_token_shapes() -> None:
    assert token_shape("(%)") == "paren"
    assert token_shape("2023") == "number"
    assert token_shape("70B") == "quantity"
    assert token_shape("PCIe") == "acronym"
    assert token_shape("Accuracy") == "capitalised"
    assert token_shape("iPhone") == "mixed"
    assert token_shape("reasoning") == "lower"


def test_unit_words() -> None:
    for unit in ["GB", "kg", "hours", "Hz", "GiB", "Gbps", "kWh"]:
        assert is_unit_like(unit), unit
    for word in ["Two", "Intel", "Pro", "Dell", "$60", "2024"]:
        assert not is_unit_like(word), word


def test_number_before_word_that_is_not_unit() -> None:
    assert splits_number_from_unit("2.0", "Two") == 0.0
    assert precedes_capitalised_word("2.0", "Two") == 1.0


def test_boundary_after_quantity_before_number() -> None:
    scores = gap_scores("Free $0 5 GB 1 Community forum".split())
    multiplied = gap_scores("2 x 600 GB".split())

    assert scores[4] == boundary_score("GB", "1") + WEIGHTS["quantity_before_number"]
    assert multiplied[2] == boundary_score("x", "600")


def test_boundary_before_article_starting_sentence() -> None:
    scores = gap_scores("Content Delivery Network A group of servers".split())
    label = gap_scores("Vitamin A".split())

    assert WEIGHTS["article_starts_sentence"] > 0
    assert scores[3] == boundary_score("Network", "A") + WEIGHTS["article_starts_sentence"]
    assert label[1] == boundary_score("Vitamin", "A")


def test_boundary_before_number_after_word() -> None:
    assert changes_case_to_number("reasoning", "57") == 1.0
    assert changes_case_to_number("x", "600") == 0.0
    assert changes_case_to_number("to", "10") == 0.0
    assert changes_case_to_number("Paris", "68") == 0.0


def test_cell_starting_with_preposition() -> None:
    assert starts_with_preposition("Best", "For") == 1.0
    assert starts_with_preposition("hours", "About") == 1.0
    assert starts_with_preposition("Up", "to") == 0.0
    assert starts_with_preposition("Speed", "Very") == 0.0
    assert starts_with_preposition("servers.", "The") == 0.0
    assert boundary_score("Best", "For") < 0


def test_family_names_beat_duplicates() -> None:
    family = ["iPhone 15", "iPhone 15 Pro", "iPhone 15 Pro Max"]
    duplicated = ["iPhone 15", "iPhone 15", "Pro iPhone 15 Pro Max"]

    family_score = entity_names_score([describe_cell(name.split()) for name in family])
    duplicated_score = entity_names_score([describe_cell(name.split()) for name in duplicated])

    assert family_score > duplicated_score


def test_duplicate_entity_names_penalised() -> None:
    distinct = [describe_cell(name.split()) for name in ["Raspberry Pi 5", "Raspberry Pi 4"]]
    equal = [describe_cell(name.split()) for name in ["Raspberry Pi 5", "Raspberry Pi 5"]]

    difference = entity_names_score(equal) - entity_names_score(distinct)

    assert difference < 0
    assert difference == WEIGHTS["duplicate_entity_name"]


def test_profile_without_one_row() -> None:
    cells = [describe_cell(text.split()) for text in ["16 GB", "32 GB", "Intel Core Ultra 7"]]
    total = ColumnProfile()
    others = ColumnProfile()
    first_row = ColumnProfile()
    for cell in cells:
        total.add(cell, 0.6)
    for cell in cells[1:]:
        others.add(cell, 0.6)
    first_row.add(cells[0], 0.6)

    without_first = total.without(first_row)

    for cell in cells:
        assert column_score(cell, without_first) == pytest.approx(column_score(cell, others))


def test_shape_pattern_counts_each_value_once() -> None:
    profile = ColumnProfile()
    for text in ["Accuracy (%)", "Accuracy (%)", "Accuracy (%)", "Elo Score", "F1 Score"]:
        profile.add(describe_cell(text.split()), 1.0)

    assert profile.distinct_values_with_shapes("capitalised") == 1.0
    assert profile.distinct_values_with_shapes("capitalised capitalised") == 2.0
    assert profile.distinct_values_with_shapes("number") == 0.0


@pytest.mark.parametrize("features", [COLUMN_FEATURES, LABEL_COLUMN_FEATURES])
def test_column_score_is_weighted_feature_sum(features: dict[str, object]) -> None:
    texts = ["16 GB", "Accuracy (%)", "Intel Core Ultra 7", "2024", "Evaluates code.", "(note)"]
    cells = [describe_cell(text.split()) for text in texts]
    totals = ColumnProfile()
    first_row = ColumnProfile()
    for weight, cell in zip([0.6, 1.0, 0.3, 0.9, 0.2, 0.7], cells, strict=True):
        totals.add(cell, weight)
    first_row.add(cells[0], 0.6)
    others = totals.without(first_row)

    for profile in (totals, others):
        for cell in [*cells, describe_cell(["unseen"])]:
            score = column_score(cell, profile, features)  # type: ignore[arg-type]
            expected = sum(
                WEIGHTS[name] * feature(cell, profile)  # type: ignore[operator]
                for name, feature in features.items()
            )
            assert score == expected, cell.text


def test_unfit_rows_name_inferred_header() -> None:
    lines = [
        "Protocol Default Port Transport Description",
        "PostgreSQL 5432 TCP Frontend/backend protocol version 3",
        "MySQL 3306 TCP Client/server protocol",
        "Redis 6379 TCP RESP",
    ]
    raw = raw_table_from_lines(lines, 20)

    table, problems = recover_table(raw, "protocols.txt")
    failed = [problem for problem in problems if "could not be split" in problem.message]
    header = [
        problem for problem in problems if "the table's header was read as" in problem.message
    ]

    # "Default Port" is read as two columns, and only the PostgreSQL row fits them.
    assert table is not None
    assert len(table.rows) == 1
    assert len(failed) == 2
    assert len(header) == 1
    assert header[0].line == 20
    assert "'Protocol | Default | Port | Transport | Description'" in header[0].message
    assert "2 of its 3 rows did not fit them" in header[0].message


# Cells separated by hand with " | "

NETWORK_ROWS = [
    "Ss Socket statistics ss -tlnp",
    "Ip | Addresses and routes | ip addr show",
    "| Dig | DNS lookup | dig example.org |",
]


def test_separated_rows_keep_their_cells() -> None:
    raw = raw_table_from_lines(["Command Purpose Example", *NETWORK_ROWS], 10)

    table, problems = recover_table(
        raw, "net.txt", TableHints(columns=("Command", "Purpose", "Example"))
    )

    assert table is not None
    rows = {row.cells[0]: row for row in table.rows}
    assert rows["Ip"].cells == ["Ip", "Addresses and routes", "ip addr show"]
    assert rows["Dig"].cells == ["Dig", "DNS lookup", "dig example.org"]
    assert rows["Ip"].span == LineSpan(12, 12)
    # The rows keep the note's order, the recovered row among the separated ones.
    assert [row.span.start for row in table.rows] == sorted(row.span.start for row in table.rows)
    assert not any(problem.line in (12, 13) for problem in problems)


def test_separated_header_names_columns() -> None:
    lines = ["Command | Purpose | Example", *NETWORK_ROWS[1:]]
    raw = raw_table_from_lines(lines, 10)

    table, problems = recover_table(raw, "net.txt")

    assert table is not None
    assert table.header == ["Command", "Purpose", "Example"]
    assert [row.cells for row in table.rows] == [
        ["Ip", "Addresses and routes", "ip addr show"],
        ["Dig", "DNS lookup", "dig example.org"],
    ]
    assert problems == []


def test_separated_header_matches_mapping_columns() -> None:
    lines = ["Command | Purpose | Example", NETWORK_ROWS[1]]
    raw = raw_table_from_lines(lines, 10)

    table, problems = recover_table(
        raw, "net.txt", TableHints(columns=("Command", "Purpose", "Example"))
    )

    assert table is not None
    assert [row.cells for row in table.rows] == [["Ip", "Addresses and routes", "ip addr show"]]
    assert problems == []


def test_pipe_inside_cell_names_the_way_out() -> None:
    lines = ["Command | Purpose | Example", "Ps | Process list | ps aux | grep nginx"]
    raw = raw_table_from_lines(lines, 10)

    table, problems = recover_table(raw, "net.txt")

    assert table is not None
    assert table.rows == []
    assert len(problems) == 1
    assert problems[0].line == 11
    assert "has 4 cells between its ' | ' separators, where the table has 3" in (
        problems[0].message
    )
    assert "give it 3 cells" in problems[0].message
    assert "keep the table in a Markdown note and write that '|' as '\\|'" in (problems[0].message)


def test_separated_rows_need_separated_header() -> None:
    lines = ["Service Port Transport Secure", "HTTP | 80 | TCP | No", "DNS | 53 | UDP | No"]
    raw = raw_table_from_lines(lines, 10)

    table, problems = recover_table(raw, "ports.txt")

    assert table is None
    assert len(problems) == 1
    assert problems[0].line == 10
    assert "rows of this table (lines 11, 12) put ' | ' between their cells" in (
        problems[0].message
    )
    assert "its header does not, so the table is left out" in problems[0].message


def test_misfit_row_with_end_bars_is_left_out() -> None:
    lines = [
        "| Tool | Purpose | Example |",
        "| Ip | Routes | ip route |",
        "| Ps | List | ps | wc |",
    ]
    raw = raw_table_from_lines(lines, 10)

    table, problems = recover_table(raw, "tools.txt")

    assert table is not None
    assert [row.cells for row in table.rows] == [["Ip", "Routes", "ip route"]]
    assert [problem.line for problem in problems] == [12]


def test_separated_rows_guide_other_rows() -> None:
    lines = [
        "Name | Port | Transport",
        "Postgres Server | 5432 | TCP",
        "Dns | 53 | UDP",
        "Redis Cache 6379 TCP",
        "Nginx Proxy 443 TCP",
    ]
    raw = raw_table_from_lines(lines, 10)

    table, problems = recover_table(raw, "ports.txt")

    assert table is not None
    # The separated rows show that each cell of the port column is one number.
    assert [row.cells for row in table.rows[2:]] == [
        ["Redis Cache", "6379", "TCP"],
        ["Nginx Proxy", "443", "TCP"],
    ]
    assert problems == []


def test_pipe_at_end_closes_empty_cell() -> None:
    lines = ["Tool | Purpose | Example", "Df | Disk usage |", "| Ip | Routes | ip route |"]
    raw = raw_table_from_lines(lines, 10)

    table, problems = recover_table(raw, "tools.txt")

    assert table is not None
    assert [row.cells for row in table.rows] == [
        ["Df", "Disk usage", ""],
        ["Ip", "Routes", "ip route"],
    ]
    assert problems == []


def test_protocol_after_number_is_no_unit() -> None:
    lines = [
        "Name Port Transport Secure",
        "Web Server 80 TCP No",
        "Secure Web 443 TCP Yes",
        "DNS 53 UDP No",
        "SSH 22 TCP Yes",
    ]
    raw = raw_table_from_lines(lines, 10)

    table, problems = recover_table(
        raw, "ports.txt", TableHints(columns=("Name", "Port", "Transport", "Secure"))
    )

    assert table is not None
    assert [row.cells for row in table.rows[:2]] == [
        ["Web Server", "80", "TCP", "No"],
        ["Secure Web", "443", "TCP", "Yes"],
    ]
    assert problems == []
