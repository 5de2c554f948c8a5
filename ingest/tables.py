"""Recovery of the cells of tables whose cell boundaries were lost.

Notes saved from the web as plain text keep each table row on one line, with single spaces
between all words, so the cell boundaries are gone. ``recover_table`` finds them again from
the content. It scores every way of cutting a row into the expected number of cells with the
features in ``ingest.table_scoring``. A row is accepted only when its best split beats the
runner-up by ``MIN_MARGIN``, and rows that stay ambiguous are reported, never guessed.

The scores of one row depend on the other rows: column profiles are estimated from the
current splits of the other rows, weighted by how likely each split is, and the rows are
rescored until their best splits stop changing.

Without column hints from a mapping, the cell count, the header cells and whether the table
is transposed (one entity per column) are inferred from the rows and the header line, as
``_choose_layout`` describes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import NamedTuple

from ingest.document import LineSpan, RawTable, Table, TableRow
from ingest.problems import Problem, Severity
from ingest.table_scoring import (
    COLUMN_FEATURES,
    LABEL_COLUMN_FEATURES,
    CellFacts,
    ColumnProfile,
    add_to_profiles,
    case_style_disagreement,
    cell_score,
    column_score,
    describe_cell,
    entity_names_score,
    gap_scores,
    header_cell_score,
    open_gaps,
    resemblance_score,
)

logger = logging.getLogger(__name__)

# The best split must beat the runner-up by this much. A case change is worth 2.0 and a
# sentence end 4.0, so one clear boundary signal on either side decides a row.
MIN_MARGIN = 1.0
# Without column hints nothing checks the inferred header and cell count, so rows need a wider
# margin. With 1.0, the H100 table of data/notes/ai.txt gets the wrong label "Connection Standard".
MIN_MARGIN_WITHOUT_HINTS = 2.0
# Rows with more candidate splits than this are reported instead of enumerated.
MAX_CANDIDATES = 50_000
MAX_ROUNDS = 8
# Candidates kept per row: they feed the column profiles and the problem messages.
KEPT_CANDIDATES = 5
# Without hints, cell counts from 2 up to this number are tried.
MAX_INFERRED_CELLS = 8
# Without hints, a header without a confident split gets generic column names only when at
# least this share of the data rows split confidently. Otherwise the whole table is reported.
MIN_CONFIDENT_ROW_SHARE = 0.5
# Without hints, cell counts whose boundary fit is within this of the best count's are
# finalists, and a count that splits the header with confidence wins among them. It is one
# case change: the correct cut after a label such as "Best For" costs 1.5.
FIT_TOLERANCE = 2.0
ROW_FIX = (
    "write one such row with ' | ' between its cells, which also shows the ingest what each "
    "column holds, or give the table's columns (and, for a transposed table, row_labels) in "
    "the mapping"
)
# The same advice for a table whose mapping already has columns or row_labels.
ROW_FIX_WITH_HINTS = "put ' | ' between the row's cells in the note"


@dataclass(frozen=True)
class TableHints:
    """Column names and, for a transposed table, row labels that the mapping gives for a table."""

    columns: tuple[str, ...] | None = None
    row_labels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _RowTask:
    """One line to split: ``tokens`` become ``cell_count`` cells, the first in ``first_column``."""

    line: int
    text: str
    label: str | None
    tokens: tuple[str, ...]
    cell_count: int
    first_column: int


@dataclass(frozen=True)
class _Layout:
    """Settings of one split: the columns that get profiles, the transposition and the margin."""

    profiled_columns: frozenset[int]
    transposed: bool
    min_margin: float = MIN_MARGIN


class _Candidate(NamedTuple):
    """One split of a row: its cells and its score before the column features.

    A named tuple, because rows of notes saved as text have tens of splits each.
    """

    cells: tuple[CellFacts, ...]
    local_score: float


@dataclass
class _RowResult:
    """The best candidate splits of one row with their scores and softmax weights, best first."""

    task: _RowTask
    ranked: list[tuple[float, _Candidate]]
    weights: list[float]
    min_margin: float = MIN_MARGIN
    failure: str | None = None

    @property
    def confident(self) -> bool:
        return bool(self.ranked) and self.margin >= self.min_margin

    @property
    def margin(self) -> float:
        # NOTE: a row with only one possible split is taken whatever its score, so a row whose
        # later cell starts with a lowercase word ("Ss Socket statistics ss -tlnp") can be
        # stored wrongly without a warning.
        if len(self.ranked) < 2:
            return math.inf if self.ranked else 0.0
        return self.ranked[0][0] - self.ranked[1][0]

    def cells(self, rank: int = 0) -> list[str]:
        label = [self.task.label] if self.task.label is not None else []
        return label + [cell.text for cell in self.ranked[rank][1].cells]

    def best_cells(self) -> tuple[str, ...]:
        return tuple(self.cells()) if self.ranked else ()


def recover_table(
    raw: RawTable, path: str, hints: TableHints | None = None
) -> tuple[Table | None, list[Problem]]:
    """Recover the cells of a table whose rows lost their cell boundaries.

    The first line of ``raw.lines`` is the header row and the rest are data rows. With
    ``hints.columns`` the header line must equal the column names joined by spaces. With
    ``hints.row_labels`` the table is transposed: each data row starts with one of the labels,
    which becomes its first cell. Without ``hints.columns`` the header cells and the cell
    count are inferred from the content, and rows need the wider ``MIN_MARGIN_WITHOUT_HINTS``.
    Rows that cannot be split with confidence are left out and reported as warnings. An
    inferred header without a confident split gets the names "column 1", "column 2", ... and a
    warning when at least ``MIN_CONFIDENT_ROW_SHARE`` of the rows split confidently. Returns
    (None, problems) when the header does not match ``hints.columns`` or cannot be split.
    """
    hints = hints or TableHints()
    if not raw.lines:
        return None, [Problem(path, raw.span.start, "table has no lines; remove it from the note")]

    header_line, header_text = raw.lines[0]
    header_cells = separated_cells(header_text)
    if header_cells is not None:
        # A header with explicit separators names the columns, as a mapping's columns do.
        header_text = " ".join(header_cells)
        if hints.columns is None:
            hints = TableHints(columns=tuple(header_cells), row_labels=hints.row_labels)
    header_tokens = tuple(header_text.split())
    rows_cells = [(line, text, separated_cells(text)) for line, text in raw.lines[1:]]
    separated_lines = [line for line, _, cells in rows_cells if cells]
    if hints.columns is None and separated_lines:
        numbers = ", ".join(str(line) for line in separated_lines[:5])
        more = ", …" if len(separated_lines) > 5 else ""
        lines = "line" if len(separated_lines) == 1 else "lines"
        message = (
            f"rows of this table ({lines} {numbers}{more}) put ' | ' between their cells, but its "
            "header does not, so the table is left out; write the header with ' | ' between "
            "its cells too, or give the table's columns in the mapping"
        )
        return None, [Problem(path, header_line, message, Severity.WARNING)]
    cell_count = len(hints.columns) if hints.columns is not None else 0
    separated, misfits, data_lines = _separated_rows(rows_cells, cell_count, path)
    # Whether a warning already names the inferred header.
    header_reported = False
    if hints.columns is not None:
        expected = " ".join(" ".join(column.split()) for column in hints.columns)
        if " ".join(header_tokens).casefold() != expected.casefold():
            message = (
                f"table header is {header_text.strip()!r}, but the mapping's columns joined by "
                f"spaces are {expected!r}, so the table is left out; update the columns in the "
                "mapping or the header in the note"
            )
            return None, [Problem(path, header_line, message)]
        header = list(hints.columns)
        transposed = hints.row_labels is not None
        results, problems = _split_data_rows(
            data_lines, len(header), transposed, hints, path, separated
        )
    else:
        inferred = _infer_header(header_line, header_tokens, data_lines, hints, path)
        if isinstance(inferred.cells, Problem):
            return None, [inferred.cells]
        header = inferred.cells
        if inferred.results is None:
            results, problems = _split_data_rows(
                data_lines, len(header), inferred.transposed, hints, path
            )
        else:
            results, problems = inferred.results, []
        problems = inferred.problems + problems
        header_reported = bool(inferred.problems)
    problems = misfits + problems

    rows = list(separated)
    fix = ROW_FIX if hints.columns is None and hints.row_labels is None else ROW_FIX_WITH_HINTS
    for result in results:
        if result.confident:
            rows.append(TableRow(result.cells(), LineSpan(result.task.line, result.task.line)))
        else:
            problems.append(_row_problem(result, len(header), path, fix))
    failed = len(results) + len(separated) + len(misfits) - len(rows)
    rows.sort(key=lambda row: row.span.start)
    if hints.columns is None and not header_reported and rows and failed:
        # A wrong inferred header can fit some rows, so the warning names it.
        # NOTE: a wrong inferred header that every row fits gets no warning.
        cells = " | ".join(header)
        problems.append(
            Problem(
                path,
                header_line,
                f"the table's header was read as {len(header)} columns ({cells!r}), and "
                f"{failed} of its {len(results)} rows did not fit them; if the header is "
                "wrong, give the table's columns in the mapping",
                Severity.WARNING,
            )
        )
    table = Table(header, rows, raw.span, LineSpan(header_line, header_line))
    return table, problems


def separated_cells(text: str) -> list[str] | None:
    """Return the cells of a line that separates them with " | ", or None for another line.

    A line that starts with a pipe may end with one, as in ``| a | b |``, and both are left out.
    Otherwise a pipe at the end closes an empty last cell, as in ``Df | Disk usage |``.
    """
    if " | " not in text:
        return None
    cells = [cell.strip() for cell in text.strip().split("|")]
    if not cells[0]:
        cells = cells[1:-1] if len(cells) > 2 and not cells[-1] else cells[1:]
    return cells if len(cells) >= 2 else None


def _separated_rows(
    rows_cells: list[tuple[int, str, list[str] | None]], cell_count: int, path: str
) -> tuple[list[TableRow], list[Problem], list[tuple[int, str]]]:
    """Divide the rows into those with " | " separators, the misfits and the other rows.

    ``rows_cells`` has each row's line, text and ``separated_cells``. A row whose separators
    give another number of cells than ``cell_count`` is a misfit, as
    one with a shell pipeline in a cell is, and gets a warning: its words would be recovered
    with the separators among them.
    """
    separated = []
    misfits = []
    rest = []
    for line, text, cells in rows_cells:
        if cells is None:
            rest.append((line, text))
        elif len(cells) == cell_count:
            separated.append(TableRow(cells, LineSpan(line, line)))
        else:
            message = (
                f"row {_brief(text)!r} has {len(cells)} cells between its ' | ' separators, "
                f"where the table has {cell_count}, so it is left out; give it "
                f"{cell_count} cells, and if a cell has a '|' of its own (as a shell pipeline "
                "does), keep the table in a Markdown note and write that '|' as '\\|', "
                "because a plain-text note cannot tell it from a separator"
            )
            misfits.append(Problem(path, line, message, Severity.WARNING))
    return separated, misfits, rest


def _split_data_rows(
    data_lines: list[tuple[int, str]],
    cell_count: int,
    transposed: bool,
    hints: TableHints,
    path: str,
    fixed: Sequence[TableRow] = (),
) -> tuple[list[_RowResult], list[Problem]]:
    problems: list[Problem] = []
    # NOTE: with the mapping's columns, rows that all make the same wrong cut, as between a
    # name and a date ("27 | Alice | Martin Bob | Chen 2024-07-01"), pass this smaller margin.
    margin = MIN_MARGIN if hints.columns is not None else MIN_MARGIN_WITHOUT_HINTS
    if transposed and hints.row_labels is not None:
        tasks = []
        for index, (line, text) in enumerate(data_lines):
            task_or_problem = _labelled_task(line, text, index, hints.row_labels, cell_count, path)
            if isinstance(task_or_problem, Problem):
                problems.append(task_or_problem)
            else:
                tasks.append(task_or_problem)
        return _split_rows(tasks, _Layout(frozenset(), True, margin), fixed), problems

    layout = _unlabelled_layout(cell_count, transposed, margin)
    return _split_rows(_row_tasks(data_lines, cell_count), layout, fixed), problems


def _row_tasks(data_lines: list[tuple[int, str]], cell_count: int) -> list[_RowTask]:
    return [
        _RowTask(line, text, None, tuple(text.split()), cell_count, 0) for line, text in data_lines
    ]


def _unlabelled_layout(cell_count: int, transposed: bool, min_margin: float) -> _Layout:
    """Profile every column of a table of rows, but only the label column of a transposed one.

    The value columns of a transposed table each describe one entity, so their cells share no
    shape. The value cells of one row are compared with each other instead.
    """
    profiled = frozenset({0}) if transposed else frozenset(range(cell_count))
    return _Layout(profiled, transposed, min_margin)


def _labelled_task(
    line: int, text: str, index: int, row_labels: tuple[str, ...], cell_count: int, path: str
) -> _RowTask | Problem:
    """Cut the row label off a transposed row: the label of this position first, then any label."""
    tokens = tuple(text.split())
    in_order = [row_labels[index]] if index < len(row_labels) else []
    longest_first = sorted(row_labels, key=lambda label: -len(label.split()))
    for label in in_order + longest_first:
        label_tokens = tuple(label.split())
        if tokens[: len(label_tokens)] == label_tokens and len(tokens) > len(label_tokens):
            rest = tokens[len(label_tokens) :]
            return _RowTask(line, text, " ".join(label_tokens), rest, cell_count - 1, 1)

    message = (
        f"row {_brief(text)!r} does not start with any of the mapping's row_labels followed by "
        f"values; add its label to row_labels (expected here: "
        f"{row_labels[index] if index < len(row_labels) else 'none left'!r})"
    )
    return Problem(path, line, message)


@dataclass
class _InferredHeader:
    """The header cells found without column hints, or the problem that stops the table.

    ``results`` contains the data row splits when choosing the cell count needed them, and
    ``problems`` the warnings about a header that got generic column names.
    """

    cells: list[str] | Problem
    transposed: bool = False
    results: list[_RowResult] | None = None
    problems: list[Problem] = field(default_factory=list)


def _infer_header(
    header_line: int,
    header_tokens: tuple[str, ...],
    data_lines: list[tuple[int, str]],
    hints: TableHints,
    path: str,
) -> _InferredHeader:
    """Split the header without column hints, choosing the layout from the data rows.

    A header that has no confident split gets generic column names when most data rows split
    confidently, because the rows carry the facts and a mapping can name the columns later.
    """
    repeated = _split_at_repeated_token(header_tokens)
    if repeated is not None:
        return _InferredHeader(repeated, transposed=True)

    text = " ".join(header_tokens)
    reason = None
    fix = "add columns to the table's mapping"
    if not data_lines:
        reason = "has no data rows to count its cells"
    elif hints.row_labels is not None:
        reason = "has no repeated prefix"
    elif len(header_tokens) < 2:
        reason = "has a one-word header"
        fix = "if the line is a heading, put a blank line after it"
    if reason is not None:
        message = (
            f"table header {_brief(text)!r} could not be split into cells because the table "
            f"{reason}; {fix}"
        )
        return _InferredHeader(Problem(path, header_line, message))

    layout = _choose_layout(header_line, header_tokens, data_lines)
    # NOTE: a header of capitalised words ("Benchmark Focus Area Description Example Metrics")
    # has no boundary signals, so it is split only when its token count equals the cell count
    # or one word starts every entity name of a transposed header. Others get generic names.
    if layout.transposed:
        family = _split_at_repeated_token(header_tokens, layout.cell_count)
        if family is not None:
            return _InferredHeader(family, True, layout.results)
    if layout.header.confident:
        return _InferredHeader(layout.header.cells(), layout.transposed, layout.results)
    return _generic_header(layout, text, header_line, path)


def _generic_header(
    layout: _TableLayout, text: str, header_line: int, path: str
) -> _InferredHeader:
    """Name the columns "column 1", "column 2", ... when most rows split, else report the table."""
    cell_count = layout.cell_count
    confident_rows = sum(result.confident for result in layout.results)
    message = (
        f"table header {_brief(text)!r} could not be split into {cell_count} cells with "
        f"confidence ({confident_rows} of {len(layout.results)} rows split into {cell_count} "
        f"cells); {_candidate_list(layout.header)}"
    )
    if confident_rows < MIN_CONFIDENT_ROW_SHARE * len(layout.results):
        problem = Problem(path, header_line, f"{message}; add columns to the table's mapping")
        return _InferredHeader(problem)

    generic = [f"column {number}" for number in range(1, cell_count + 1)]
    message += (
        f"; the columns are named {generic[0]!r} to {generic[-1]!r}; "
        "add columns to the table's mapping to name them"
    )
    warning = Problem(path, header_line, message, Severity.WARNING)
    return _InferredHeader(generic, layout.transposed, layout.results, [warning])


def _split_header(task: _RowTask, transposed: bool) -> _RowResult:
    """Split a header row on boundary signals and the header cell features alone.

    The header of a transposed table names the label column and then one entity per column,
    so its entity names are scored with ``entity_names_score``. That score has no cost for
    words beyond two, because names such as "ThinkPad X1 Carbon" are longer than column names.
    """
    layout = _Layout(frozenset(), False, MIN_MARGIN_WITHOUT_HINTS)
    candidates = _enumerate_candidates(task, layout)
    if isinstance(candidates, str):
        return _rank(task, candidates, None, layout)

    scored = []
    for candidate in candidates:
        cells = candidate.cells
        if transposed:
            score = header_cell_score(cells[0]) + entity_names_score(cells[1:])
        else:
            score = sum(header_cell_score(cell) for cell in cells)
        scored.append(_Candidate(cells, candidate.local_score + score))
    return _rank(task, scored, None, layout)


def _split_at_repeated_token(
    tokens: tuple[str, ...], cell_count: int | None = None
) -> list[str] | None:
    """Split a transposed header such as "Feature H100 PCIe H100 SXM H100 NVL".

    The entity columns start with a token that repeats, and each of them has at least 2
    tokens. The tokens before the first repetition name the label column. Without
    ``cell_count``, all entity columns must have the same token count. With it, the data
    rows have fixed the cell count, so names of different lengths are accepted when the
    token starts exactly ``cell_count - 1`` of them: "Spec iPhone 15 iPhone 15 Pro ...".
    The first such token wins, because a product family name comes before model numbers.
    """
    for token in dict.fromkeys(tokens):
        positions = [index for index, candidate in enumerate(tokens) if candidate == token]
        if len(positions) < 2 or positions[0] == 0:
            continue
        ends = positions[1:] + [len(tokens)]
        lengths = [end - start for start, end in zip(positions, ends, strict=True)]
        if cell_count is None:
            matches = len(set(lengths)) == 1
        else:
            matches = len(positions) == cell_count - 1
        if matches and min(lengths) >= 2:
            cells = [" ".join(tokens[: positions[0]])]
            cells += [
                " ".join(tokens[start:end]) for start, end in zip(positions, ends, strict=True)
            ]
            return cells
    return None


@dataclass(frozen=True)
class _CellCountTrial:
    """The data rows split into ``cell_count`` cells, with the measures that compare counts."""

    cell_count: int
    results: list[_RowResult]
    boundary_fit: float
    consistency: float


@dataclass(frozen=True)
class _TableLayout:
    """The cell count and transposition chosen for a table, its row splits and header split."""

    cell_count: int
    transposed: bool
    results: list[_RowResult]
    header: _RowResult


def _choose_layout(
    header_line: int, header_tokens: tuple[str, ...], data_lines: list[tuple[int, str]]
) -> _TableLayout:
    """Choose the cell count of a table and whether it is transposed.

    A count that is too small leaves strong boundaries (sentence ends, case changes) inside
    cells, and a count that is too large cuts where nothing marks a boundary. So the counts
    whose boundary fit is within ``FIT_TOLERANCE`` of the best are the finalists. Tables
    without such signals (names and numbers) tie on that. Among the finalists, a count that
    splits the header with confidence wins: "Instance vCPUs Memory" names three columns, not
    two. Then the most consistent columns win. The count of confidently split rows cannot
    decide, because a small count often splits every row confidently at its single strongest
    boundary.
    """
    trials = [
        _try_cell_count(data_lines, cell_count)
        for cell_count in range(2, min(len(header_tokens), MAX_INFERRED_CELLS) + 1)
    ]
    best_fit = max(trial.boundary_fit for trial in trials)
    finalists = [trial for trial in trials if trial.boundary_fit >= best_fit - FIT_TOLERANCE]

    text = " ".join(header_tokens)
    headers = {
        trial.cell_count: _split_header(
            _RowTask(header_line, text, None, header_tokens, trial.cell_count, 0), False
        )
        for trial in finalists
    }
    with_header = [trial for trial in finalists if headers[trial.cell_count].confident]
    chosen = max(with_header or finalists, key=lambda trial: trial.consistency)
    if not _looks_transposed(chosen.results):
        return _TableLayout(chosen.cell_count, False, chosen.results, headers[chosen.cell_count])

    cell_count = chosen.cell_count
    results = _split_rows(
        _row_tasks(data_lines, cell_count),
        _unlabelled_layout(cell_count, True, MIN_MARGIN_WITHOUT_HINTS),
    )
    header_task = _RowTask(header_line, text, None, header_tokens, cell_count, 0)
    return _TableLayout(cell_count, True, results, _split_header(header_task, True))


def _try_cell_count(data_lines: list[tuple[int, str]], cell_count: int) -> _CellCountTrial:
    layout = _unlabelled_layout(cell_count, False, MIN_MARGIN_WITHOUT_HINTS)
    results = _split_rows(_row_tasks(data_lines, cell_count), layout)
    fit = round(sum(_boundary_fit(result) for result in results), 1)
    consistency = _column_consistency(results, cell_count)
    logger.debug("%s cells: boundary fit %.1f, consistency %.2f", cell_count, fit, consistency)
    return _CellCountTrial(cell_count, results, fit, consistency)


def _looks_transposed(results: list[_RowResult]) -> bool:
    """Return whether the value cells of the best splits agree more within rows than columns.

    Agreement is the share of cell pairs with the same core shapes. The values of one row of
    a transposed table describe one attribute ("16 GB 32 GB 16 GB"), and the values of one
    column describe one entity, so they differ in shape. A table of rows is the reverse.
    """
    rows = [result.ranked[0][1].cells[1:] for result in results if result.ranked]
    if not rows or len(rows[0]) < 2:
        return False
    columns = [list(column) for column in zip(*rows, strict=True)]
    return _shape_agreement(rows) > _shape_agreement(columns)


def _shape_agreement(groups: Sequence[Sequence[CellFacts]]) -> float:
    pairs = 0
    agreeing = 0
    for group in groups:
        for first, second in combinations(group, 2):
            pairs += 1
            agreeing += first.core_shapes == second.core_shapes
    return agreeing / pairs if pairs else 0.0


def _boundary_fit(result: _RowResult) -> float:
    """Add the scores of the cut gaps of the best split and subtract the positive uncut ones."""
    if not result.ranked:
        return 0.0

    tokens = result.task.tokens
    cuts = set()
    position = 0
    for cell in result.ranked[0][1].cells[:-1]:
        position += len(cell.text.split())
        cuts.add(position)

    fit = 0.0
    for gap, score in enumerate(gap_scores(tokens)[1:], start=1):
        fit += score if gap in cuts else -max(0.0, score)
    return fit


def _column_consistency(results: list[_RowResult], cell_count: int) -> float:
    """Return the mean column score per cell of the best splits."""
    scores = [
        (result.ranked[0][0] - result.ranked[0][1].local_score) / cell_count
        for result in results
        if result.ranked
    ]
    return sum(scores) / len(scores) if scores else -math.inf


def _split_rows(
    tasks: list[_RowTask], layout: _Layout, fixed: Sequence[TableRow] = ()
) -> list[_RowResult]:
    """Split each row, rescoring against the other rows' column profiles until stable.

    ``fixed`` are rows whose cells the note gave with separators. They count in the column
    profiles of every row, as a row split with certainty does.

    NOTE: when every row makes the same wrong cut and no boundary signal speaks against it, the
    profiles agree with that cut and the margin does not catch it.
    """
    candidates = [_enumerate_candidates(task, layout) for task in tasks]
    results = [
        _rank(task, found, None, layout) for task, found in zip(tasks, candidates, strict=True)
    ]
    if not layout.profiled_columns:
        return results

    for round_number in range(MAX_ROUNDS):
        profiles = _profiles_without_each_row(results, layout, fixed)
        new_results = [
            _rank(task, found, row_profiles, layout)
            for task, found, row_profiles in zip(tasks, candidates, profiles, strict=True)
        ]
        stable = [r.best_cells() for r in new_results] == [r.best_cells() for r in results]
        stable = stable and [r.confident for r in new_results] == [r.confident for r in results]
        results = new_results
        if stable and round_number > 0:
            logger.debug("row splits stable after %s rounds", round_number + 1)
            break
    return results


def _enumerate_candidates(task: _RowTask, layout: _Layout) -> list[_Candidate] | str:
    """Return every split of the row into ``task.cell_count`` cells, or why there is none."""
    tokens = task.tokens
    gaps = open_gaps(tokens)
    needed = task.cell_count - 1
    if len(gaps) < needed:
        return f"it has only {len(gaps) + 1} places where a cell can start"
    if math.comb(len(gaps), needed) > MAX_CANDIDATES:
        return f"it has more than {MAX_CANDIDATES} candidate splits"

    scores = gap_scores(tokens)
    facts_cache: dict[tuple[int, int], tuple[CellFacts, float]] = {}
    candidates = []
    for chosen in combinations(gaps, needed):
        starts = (0, *chosen)
        ends = (*chosen, len(tokens))
        cells = []
        cell_scores = []
        for span in zip(starts, ends, strict=True):
            described = facts_cache.get(span)
            if described is None:
                facts = describe_cell(tokens[span[0] : span[1]])
                described = facts_cache[span] = (facts, cell_score(facts))
            cells.append(described[0])
            cell_scores.append(described[1])

        score = sum([scores[gap] for gap in chosen])
        score += sum(cell_scores)
        if layout.transposed and task.first_column > 0:
            score += resemblance_score(cells)
        elif layout.transposed:
            score += resemblance_score(cells[1:]) + case_style_disagreement(cells[1:])
        candidates.append(_Candidate(tuple(cells), score))
    return candidates


def _rank(
    task: _RowTask,
    candidates: list[_Candidate] | str,
    profiles: dict[int, ColumnProfile] | None,
    layout: _Layout,
) -> _RowResult:
    if isinstance(candidates, str):
        return _RowResult(task, [], [], layout.min_margin, failure=candidates)

    features = LABEL_COLUMN_FEATURES if layout.transposed else COLUMN_FEATURES
    if profiles is None:
        scored = [(candidate.local_score, candidate) for candidate in candidates]
    else:
        # Each column's profile, and the fits of the cells scored in it so far, by cell text.
        columns: list[tuple[ColumnProfile | None, dict[str, float]]] = [
            (profiles.get(column), {})
            for column in range(task.first_column, task.first_column + task.cell_count)
        ]
        scored = []
        for candidate in candidates:
            score = candidate.local_score
            for (profile, fits), cell in zip(columns, candidate.cells, strict=True):
                if profile is None:
                    continue
                column_fit = fits.get(cell.text)
                if column_fit is None:
                    column_fit = fits[cell.text] = column_score(cell, profile, features)
                score += column_fit
            scored.append((score, candidate))
    scored.sort(key=lambda pair: pair[0], reverse=True)

    top = scored[0][0]
    total = sum(math.exp(score - top) for score, _ in scored)
    top_candidates = scored[:KEPT_CANDIDATES]
    weights = [math.exp(score - top) / total for score, _ in top_candidates]
    return _RowResult(task, top_candidates, weights, layout.min_margin)


def _profiles_without_each_row(
    results: list[_RowResult], layout: _Layout, fixed: Sequence[TableRow] = ()
) -> list[dict[int, ColumnProfile]]:
    """Build, for each row, the column profiles of all the other rows' weighted candidates.

    The cells of ``fixed`` rows count in every profile with weight 1.
    """
    totals = {column: ColumnProfile() for column in layout.profiled_columns}
    for row in fixed:
        for column, text in enumerate(row.cells):
            if column in totals and text.split():
                add_to_profiles(describe_cell(text.split()), 1.0, totals[column])
    own_profiles = []
    for result in results:
        own = {column: ColumnProfile() for column in layout.profiled_columns}
        for (_, candidate), weight in zip(result.ranked, result.weights, strict=True):
            for column, cell in enumerate(candidate.cells, result.task.first_column):
                if column in own:
                    add_to_profiles(cell, weight, own[column], totals[column])
        own_profiles.append(own)

    return [
        {column: totals[column].without(own[column]) for column in totals} for own in own_profiles
    ]


def _row_problem(result: _RowResult, cell_count: int, path: str, fix: str) -> Problem:
    text = _brief(result.task.text)
    if result.failure is not None:
        message = (
            f"row {text!r} could not be split into {cell_count} cells: {result.failure}; {fix}"
        )
    else:
        message = (
            f"row {text!r} could not be split into {cell_count} cells with confidence; "
            f"{_candidate_list(result)}; {fix}"
        )
    return Problem(path, result.task.line, message, Severity.WARNING)


def _candidate_list(result: _RowResult) -> str:
    if not result.ranked:
        return "it has no candidate split"
    candidate_texts = []
    for rank, (score, _) in enumerate(result.ranked[:3]):
        candidate_texts.append(f"{' | '.join(result.cells(rank))!r} (score {score:.1f})")
    return "best candidate splits: " + ", ".join(candidate_texts)


def _brief(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
