"""Features and scores for candidate cell splits of table rows whose cell boundaries were lost.

A row is a list of tokens (its line split on spaces). A split puts boundaries into some of
the gaps between tokens. Its score is a weighted sum of named features of four kinds:

- boundary features look at the two tokens on either side of one boundary, and
  ``gap_scores`` adds the token before and after them where a feature needs it;
- column features compare a cell with the cells that the other rows put in the same column;
- resemblance features compare the value cells of one row of a transposed table;
- header features score the cells of a header row, which has no column to compare with.

All weights are in ``WEIGHTS``. Column features are log shares, log counts or distances, so
the scores of two splits of the same row into the same number of cells can be compared, but
the scores of different rows or different cell counts cannot.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import NamedTuple

WEIGHTS: dict[str, float] = {
    # A period that ends a sentence, followed by a capitalised word, almost always ends a cell.
    "sentence_end": 4.0,
    # In sentence-case text, a capitalised word after a lowercase content word usually starts a
    # new cell. An acronym counts half: acronyms often stand inside a sentence ("covering STEM").
    "case_change": 2.0,
    "case_change_to_acronym": 1.0,
    # A number after a lowercase content word counts like an acronym: it often starts a new
    # cell ("reasoning 57 subjects"), but numbers stand inside sentences too ("scored 86 points").
    "case_change_to_number": 1.0,
    # A closing parenthetical usually ends a name or a value: "MMLU (...)", "Fastest (via ...)".
    "after_parenthetical": 2.0,
    # Articles, prepositions and conjunctions continue a phrase, so a cell rarely ends on one.
    "ends_with_function_word": -4.0,
    # Title-case labels can end on a preposition ("Best For"), so a capitalised one costs less.
    "ends_with_capitalised_function_word": -1.5,
    # A value cell can start with a preposition ("About 15 hours"), about as rarely as a label
    # ends with one, so "Best | For Students ..." costs what "Best For | Students ..." costs.
    "starts_with_preposition": -1.5,
    # A trailing comma, "&" or "/" joins list items inside one cell.
    "ends_with_joiner": -4.0,
    # Two numbers or amounts in a row almost always belong to two numeric columns:
    # "2.4.0 2024-03-18", "$60 $35".
    "between_numbers": 4.0,
    # A number after a number with its unit starts a new value the same way: "5 GB 1", "16 GB 32".
    "quantity_before_number": 4.0,
    # A capitalised article before a lowercase word starts a sentence, because titles keep
    # articles lowercase after their first word: "Content Delivery Network A group of servers".
    "article_starts_sentence": 2.0,
    # A number followed by a capitalised word that is not a unit often ends a numeric column:
    # "2024-03-18 Priya", "7 Intel". Kept small because names contain numbers ("Windows 11 Pro").
    "number_before_capitalised": 1.0,
    # A number is rarely split from the unit after it: "80 GB".
    "number_before_unit": -3.0,
    # A cell rarely starts with an opening parenthesis: it explains what precedes it.
    "starts_with_parenthesis": -4.0,
    # A cell mixing capitalised and lowercase words ("Turing Computer scientist") usually spans
    # two cells. Kept small because names inside sentences ("Evaluates Python code") are common.
    "mixed_case_cell": -0.5,
    # Column features: a cell looks like the cells that other rows put in the same column.
    # The token count is scored as a z-score of its logarithm, so a one-word cell in a column of
    # sentences costs much more than a three-word cell in a column of two-word cells.
    "token_count": -0.5,
    "first_shape": 0.7,
    "last_shape": 0.7,
    "case_style": 0.7,
    "parenthetical_ending": 0.5,
    "period_ending": 0.5,
    # A column of bare numbers or amounts (years, counts, prices) rarely contains a cell with words.
    "single_amount": 0.7,
    # A whole value, first word or last word that recurs in the same column of other rows
    # ("Accuracy (%)", "Evaluates ...", "... reasoning") is strong evidence for a boundary.
    "value_recurs": 1.0,
    "first_word_recurs": 0.7,
    "last_word_recurs": 0.5,
    # A cell of several words whose token shapes recur in the column ("16 GB" among "8 GB",
    # "Ada Lovelace" among other names) fits a column of one kind of value. Not used for the
    # row labels of a transposed table, because those name different attributes.
    "shape_pattern_recurs": 1.0,
    # Resemblance features: the value cells of a transposed row describe one attribute of
    # several entities, so they share a shape, an ending and a length.
    "first_shape_disagrees": -1.0,
    "period_ending_disagrees": -1.5,
    "length_spread": -1.0,
    "repeated_value": 1.0,
    # Value cells with the same token shapes ("$60 $35 $70", "1.24 kg 1.09 kg") are one attribute.
    "repeated_shape_pattern": 1.0,
    # Without row labels from a mapping, the value cells show where the label ends. A value cell
    # that took the label's last word ("Downside Slower data ...") is mixed case, while the
    # other value cells of the row share one case style.
    "case_style_disagrees": -1.5,
    # Header features: header cells are short noun phrases, "Focus Area" more often than
    # "Area Description Example". Each word beyond the second costs this much.
    "header_word_beyond_two": -1.0,
    # The header of a transposed table names one entity per column, so two equal names mean a
    # wrong split, and names that share their first word ("iPhone 15", "iPhone 15 Pro") are
    # a product family.
    "duplicate_entity_name": -4.0,
    "shared_first_word": 1.0,
}

FUNCTION_WORDS = frozenset(
    "a an the of on to in at by for from with without into onto over under about between "
    "via per than as and or nor but that which who whose where when while very its their "
    "this these those is are was were be".split()
)
PREPOSITIONS_AND_CONJUNCTIONS = frozenset(
    "of on to in at by for from with without into onto over under about between via per than "
    "as and or nor but".split()
)
JOINER_TOKENS = frozenset({"&", "+", "/", "-", "–", "—", "|", ":", ";", ",", "="})
CURRENCY_SIGNS = "$€£¥"
MULTIPLICATION_SIGNS = frozenset({"x", "×", "*"})
ARTICLES = frozenset({"A", "An", "The"})
NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")
SHAPES = ("paren", "number", "quantity", "lower", "mixed", "acronym", "capitalised", "symbol")
CASE_STYLES = ("single", "sentence", "title", "mixed")
# Below this weight of other rows, a column profile contains too little evidence to score against.
MIN_PROFILE_WEIGHT = 0.5
# Lower bound of the standard deviation of log token counts in a column, so that a column whose
# cells all have the same length does not rule out every other length.
MIN_LOG_COUNT_DEVIATION = 0.5


# Table recovery computes the shape of the same tokens many times for each candidate split.
@functools.lru_cache(maxsize=65_536)
def token_shape(token: str) -> str:
    """Classify a token as one of ``SHAPES``.

    "quantity" is a number with a unit or scale suffix (70B, 2x, 8K), "acronym" a word of mostly
    capital letters (LLM, PCIe).
    """
    if token.startswith("("):
        return "paren"
    word = token.strip(".,;:!?\"'()[]")
    letters = [char for char in word if char.isalpha()]
    if not word:
        return "symbol"
    if word[0].isdigit():
        return "quantity" if letters else "number"
    if not letters:
        return "symbol"

    uppercase = sum(char.isupper() for char in letters)
    if word[0].islower():
        return "mixed" if uppercase else "lower"
    if len(letters) >= 2 and uppercase * 2 > len(letters):
        return "acronym"
    if word[0].isupper():
        return "capitalised"
    return "symbol"


def bare_word(token: str) -> str:
    return token.strip(".,;:!?\"'()[]").lower()


def can_start_cell(token: str) -> bool:
    """Return whether a cell may start with the token: never a lowercase word or a joiner."""
    return token_shape(token) != "lower" and token not in JOINER_TOKENS


def parenthesis_depths(tokens: Sequence[str]) -> list[int] | None:
    """Return the parenthesis depth before each token, or None when they do not balance."""
    depths = []
    depth = 0
    for token in tokens:
        depths.append(depth)
        depth += token.count("(") - token.count(")")
        if depth < 0:
            return None
    return depths if depth == 0 else None


def open_gaps(tokens: Sequence[str]) -> list[int]:
    """Return the token indexes where a cell may start (outside parentheses, no lowercase word)."""
    depths = parenthesis_depths(tokens)
    gaps = []
    for index in range(1, len(tokens)):
        inside_parentheses = depths is not None and depths[index] > 0
        if can_start_cell(tokens[index]) and not inside_parentheses:
            gaps.append(index)
    return gaps


# Boundary features: each takes the last token of one cell and the first token of the next.


def ends_sentence(before: str, after: str) -> float:
    word = before.rstrip(".").strip("()\"'")
    is_initial = len(word) == 1
    is_abbreviation = "." in word
    ends = before.endswith(".") and not is_initial and not is_abbreviation
    return float(ends and after[:1].isupper())


def follows_content_word(before: str) -> bool:
    content_word = token_shape(before) == "lower" and bare_word(before) not in FUNCTION_WORDS
    return content_word and not before.endswith(",")


def changes_case(before: str, after: str) -> float:
    return float(follows_content_word(before) and token_shape(after) == "capitalised")


def changes_case_to_acronym(before: str, after: str) -> float:
    return float(follows_content_word(before) and token_shape(after) == "acronym")


def changes_case_to_number(before: str, after: str) -> float:
    # A one-letter word before a number is an operator or a variable: "2 x 600 GB".
    is_word = len(bare_word(before)) > 1
    return float(is_word and follows_content_word(before) and is_amount(after))


def follows_parenthetical(before: str, after: str) -> float:
    return float(before.rstrip(".").endswith(")") and after[:1].isupper())


def ends_with_function_word(before: str, after: str) -> float:
    return float(before.islower() and bare_word(before) in FUNCTION_WORDS)


def ends_with_capitalised_function_word(before: str, after: str) -> float:
    return float(not before.islower() and bare_word(before) in FUNCTION_WORDS)


def starts_with_preposition(before: str, after: str) -> float:
    return float(not after.islower() and bare_word(after) in PREPOSITIONS_AND_CONJUNCTIONS)


def ends_with_joiner(before: str, after: str) -> float:
    return float(before.endswith(",") or before in JOINER_TOKENS)


# Units written in capitals (or mostly so) that follow a number: sizes, rates and frequencies.
UNIT_ACRONYMS = frozenset(
    "B KB MB GB TB PB KIB MIB GIB TIB PIB KB/S MB/S GB/S TB/S HZ KHZ MHZ GHZ THZ W KW MW GW "
    "V KV MV A MA KWH MAH FLOPS TFLOPS PFLOPS GFLOPS TOPS IOPS FPS RPM DPI PPI QPS RPS TPS "
    "GT/S MT/S KBPS MBPS GBPS TBPS DB MP K M G T P X".split()
)


def is_unit_like(token: str) -> bool:
    """Return whether a token can be a unit: "kg", "GB", "Hz", "Gbps", but not "Two" or "Intel".

    Units are lowercase words, words of at most two letters, abbreviations without a vowel,
    and acronyms of ``UNIT_ACRONYMS``, so that "TCP" and "SSD" after a number are not units.
    """
    shape = token_shape(token)
    if shape == "lower":
        return True
    if shape == "acronym":
        return token.strip(".,;:!?\"'()[]").upper() in UNIT_ACRONYMS
    if not token[:1].isalpha():
        return False
    letters = [char for char in token if char.isalpha()]
    return len(letters) <= 2 or not any(char in "aeiouyAEIOUY" for char in letters)


def splits_number_from_unit(before: str, after: str) -> float:
    return float(bool(NUMBER.fullmatch(before)) and is_unit_like(after))


def is_amount(token: str) -> bool:
    """Return whether the token is a number or a currency amount: "2023", "2.4.0", "$8.25"."""
    return token_shape(token.lstrip(CURRENCY_SIGNS)) == "number"


def separates_numbers(before: str, after: str) -> float:
    return float(is_amount(before) and (is_amount(after) or token_shape(after) == "quantity"))


def precedes_capitalised_word(before: str, after: str) -> float:
    is_word = token_shape(after) == "capitalised" and not splits_number_from_unit(before, after)
    return float(token_shape(before) == "number" and is_word)


def starts_with_parenthesis(before: str, after: str) -> float:
    return float(after.startswith("("))


BOUNDARY_FEATURES: dict[str, Callable[[str, str], float]] = {
    "sentence_end": ends_sentence,
    "case_change": changes_case,
    "case_change_to_acronym": changes_case_to_acronym,
    "case_change_to_number": changes_case_to_number,
    "after_parenthetical": follows_parenthetical,
    "ends_with_function_word": ends_with_function_word,
    "ends_with_capitalised_function_word": ends_with_capitalised_function_word,
    "starts_with_preposition": starts_with_preposition,
    "ends_with_joiner": ends_with_joiner,
    "number_before_unit": splits_number_from_unit,
    "between_numbers": separates_numbers,
    "number_before_capitalised": precedes_capitalised_word,
    "starts_with_parenthesis": starts_with_parenthesis,
}


# Table recovery scores the same pairs of tokens in every candidate cell count and table.
@functools.lru_cache(maxsize=65_536)
def boundary_score(before: str, after: str) -> float:
    """Score a cell boundary between the tokens ``before`` and ``after``."""
    return sum(
        WEIGHTS[name] * feature(before, after) for name, feature in BOUNDARY_FEATURES.items()
    )


def ends_quantity(number: str, unit: str) -> bool:
    """Return whether two tokens are a number and its unit: "16 GB", but not "2 x" in "2 x 600"."""
    is_number = bool(NUMBER.fullmatch(number))
    return is_number and unit not in MULTIPLICATION_SIGNS and is_unit_like(unit)


def gap_scores(tokens: Sequence[str]) -> list[float]:
    """Score a cell boundary in every gap of a row: item ``i`` is the gap before ``tokens[i]``.

    Item 0 is 0.0. Besides the two tokens of ``boundary_score``, the token before a gap shows
    whether a quantity ends at the gap, and the token after it whether a sentence starts.
    """
    scores = [0.0]
    for index in range(1, len(tokens)):
        before, after = tokens[index - 1], tokens[index]
        score = boundary_score(before, after)
        if index >= 2 and ends_quantity(tokens[index - 2], before) and is_amount(after):
            score += WEIGHTS["quantity_before_number"]
        next_token = tokens[index + 1] if index + 1 < len(tokens) else ""
        if after in ARTICLES and token_shape(next_token) == "lower":
            score += WEIGHTS["article_starts_sentence"]
        scores.append(score)
    return scores


class CellFacts(NamedTuple):
    """Facts about one candidate cell, as the column and resemblance features use them.

    It is a named tuple, not a frozen dataclass, because table recovery creates one per
    distinct candidate cell and a frozen dataclass sets each field through
    ``object.__setattr__``.
    """

    text: str
    core_count: int  # tokens outside parentheses, at least 1
    first_shape: str
    last_shape: str
    first_word: str
    last_word: str
    core_shapes: str  # the shapes of the tokens outside parentheses: "number acronym"
    shapes: str  # the shapes of all tokens: "capitalised paren lower lower"
    case_style: str
    ends_with_parenthetical: bool
    ends_with_period: bool
    is_single_amount: bool  # one number or currency amount outside parentheses: "2024", "$8.25"


def case_style(tokens: Sequence[str]) -> str:
    """Classify a cell as one of ``CASE_STYLES`` by the case of its words after the first.

    Acronyms, numbers, symbols and function words are ignored, so "Standard PCIe slot" is
    sentence case and "Best For" is title case.
    """
    capitalised = 0
    lowercase = 0
    for token in tokens[1:]:
        if bare_word(token) in FUNCTION_WORDS:
            continue
        shape = token_shape(token.lstrip("("))
        capitalised += shape == "capitalised"
        lowercase += shape == "lower"

    if capitalised and lowercase:
        return "mixed"
    if capitalised:
        return "title"
    return "sentence" if lowercase else "single"


def describe_cell(tokens: Sequence[str]) -> CellFacts:
    """Return the facts of the cell made of ``tokens``."""
    return _describe_cell(tuple(tokens))


# Cells recur in the candidate splits of one row, and values such as "Accuracy (%)" in the
# tables of many notes. CellFacts is immutable, so equal cells can share one.
@functools.lru_cache(maxsize=65_536)
def _describe_cell(tokens: tuple[str, ...]) -> CellFacts:
    text = " ".join(tokens)
    shapes = " ".join(map(token_shape, tokens))
    if "(" in text or ")" in text:
        depths = parenthesis_depths(tokens) or [0] * len(tokens)
        core = [
            token
            for token, depth in zip(tokens, depths, strict=True)
            if depth == 0 and not token.startswith("(")
        ]
        core_shapes = " ".join(map(token_shape, core))
    else:
        # Without parentheses every token is outside them.
        core = list(tokens)
        core_shapes = shapes
    last = tokens[-1].rstrip(".,;:")
    return CellFacts(
        text=text,
        core_count=max(1, len(core)),
        first_shape=token_shape(tokens[0]),
        last_shape="paren" if last.endswith(")") else token_shape(tokens[-1]),
        first_word=bare_word(tokens[0]),
        last_word=bare_word(tokens[-1]) or tokens[-1],
        core_shapes=core_shapes,
        shapes=shapes,
        case_style=case_style(tokens),
        ends_with_parenthetical=last.endswith(")"),
        ends_with_period=text.endswith("."),
        is_single_amount=len(core) == 1 and is_amount(core[0]),
    )


def header_cell_score(facts: CellFacts) -> float:
    """Score a candidate header cell on its length, on top of ``cell_score``."""
    return WEIGHTS["header_word_beyond_two"] * max(0, facts.core_count - 2)


def cell_score(facts: CellFacts) -> float:
    """Score a cell on its own content, before comparing it with any column."""
    return WEIGHTS["mixed_case_cell"] * (facts.case_style == "mixed")


# The ColumnProfile fields that map a fact to its summed weight.
_WEIGHTED_COUNTS = (
    "first_shapes",
    "last_shapes",
    "case_styles",
    "parenthetical_endings",
    "period_endings",
    "single_amounts",
    "values",
    "first_words",
    "last_words",
)


class ColumnProfile:
    """Weighted counts of the facts of the cells that other rows put in one column.

    It is a class with slots and no dataclass machinery, because table recovery makes
    several profiles per row and round.
    """

    __slots__ = (
        "weight",
        "log_count_sum",
        "log_count_square_sum",
        *_WEIGHTED_COUNTS,
        "value_shapes",
        "_distinct_values_by_shapes",
        "_summary",
    )

    def __init__(self) -> None:
        self.weight = 0.0
        self.log_count_sum = 0.0
        self.log_count_square_sum = 0.0
        self.first_shapes: defaultdict[str, float] = defaultdict(float)
        self.last_shapes: defaultdict[str, float] = defaultdict(float)
        self.case_styles: defaultdict[str, float] = defaultdict(float)
        self.parenthetical_endings: defaultdict[bool, float] = defaultdict(float)
        self.period_endings: defaultdict[bool, float] = defaultdict(float)
        self.single_amounts: defaultdict[bool, float] = defaultdict(float)
        self.values: defaultdict[str, float] = defaultdict(float)
        self.first_words: defaultdict[str, float] = defaultdict(float)
        self.last_words: defaultdict[str, float] = defaultdict(float)
        self.value_shapes: dict[str, str] = {}
        self._distinct_values_by_shapes: dict[str, float] | None = None
        self._summary: _ProfileSummary | None = None

    def add(self, facts: CellFacts, weight: float) -> None:
        """Count a cell of another row, weighted by how likely its split is."""
        add_to_profiles(facts, weight, self)

    def without(self, part: ColumnProfile) -> ColumnProfile:
        """Return this profile minus ``part``, a profile of some of the cells counted here.

        Subtracting one row's cells from the profile of all rows is linear in the row count,
        where adding up all other rows for each row is quadratic.
        """
        result = ColumnProfile.__new__(ColumnProfile)
        result.weight = self.weight - part.weight
        result.log_count_sum = self.log_count_sum - part.log_count_sum
        result.log_count_square_sum = self.log_count_square_sum - part.log_count_square_sum
        for name in _WEIGHTED_COUNTS:
            counts: defaultdict[object, float] = defaultdict(float, getattr(self, name))
            for key, weight in getattr(part, name).items():
                counts[key] -= weight
            setattr(result, name, counts)
        # A value that only ``part`` counted keeps its shapes here but has weight 0.
        result.value_shapes = dict(self.value_shapes)
        result._distinct_values_by_shapes = None
        result._summary = None
        return result

    def distinct_values_with_shapes(self, core_shapes: str) -> float:
        """Return how many different values have these core shapes, each counted at most once.

        A value's weight is the number of rows that put it in the column, weighted by how
        likely each split is. So a value repeated in many rows ("Accuracy (%)") counts once
        here, and ``value_recurs`` scores the repeats.
        """
        if self._distinct_values_by_shapes is None:
            counts: defaultdict[str, float] = defaultdict(float)
            for text, shapes in self.value_shapes.items():
                counts[shapes] += min(1.0, self.values[text])
            self._distinct_values_by_shapes = counts
        return self._distinct_values_by_shapes.get(core_shapes, 0.0)

    def summary(self) -> _ProfileSummary:
        """Return the values that every column feature derives from the profile alone."""
        if self._summary is None:
            self._summary = _ProfileSummary(self)
        return self._summary


def add_to_profiles(facts: CellFacts, weight: float, *profiles: ColumnProfile) -> None:
    """Count a cell in each of ``profiles``, as ``ColumnProfile.add`` does in each."""
    log_count = _log(facts.core_count)
    weighted_log_count = weight * log_count
    weighted_square = weight * log_count**2

    # The facts are read once for all the profiles.
    first_shape = facts.first_shape
    last_shape = facts.last_shape
    style = facts.case_style
    parenthetical = facts.ends_with_parenthetical
    period = facts.ends_with_period
    single_amount = facts.is_single_amount
    text = facts.text
    first_word = facts.first_word
    last_word = facts.last_word
    core_shapes = facts.core_shapes

    for profile in profiles:
        profile.weight += weight
        profile.log_count_sum += weighted_log_count
        profile.log_count_square_sum += weighted_square
        profile.first_shapes[first_shape] += weight
        profile.last_shapes[last_shape] += weight
        profile.case_styles[style] += weight
        profile.parenthetical_endings[parenthetical] += weight
        profile.period_endings[period] += weight
        profile.single_amounts[single_amount] += weight
        profile.values[text] += weight
        profile.first_words[first_word] += weight
        profile.last_words[last_word] += weight
        profile.value_shapes[text] = core_shapes
        profile._distinct_values_by_shapes = None
        profile._summary = None


class _ProfileSummary:
    """The terms of the column features that depend only on the profile, computed once.

    Each is the same expression as in the feature functions, so the scores are the same floats.
    """

    __slots__ = ("any_style", "binary_total", "deviation", "mean", "shapes_total", "styles_total")

    def __init__(self, profile: ColumnProfile) -> None:
        weight = profile.weight
        self.mean = profile.log_count_sum / weight
        variance = max(0.0, profile.log_count_square_sum / weight - self.mean**2)
        self.deviation = max(math.sqrt(variance), MIN_LOG_COUNT_DEVIATION)
        self.shapes_total = weight + 0.5 * len(SHAPES)
        self.styles_total = weight + 0.5 * len(CASE_STYLES)
        self.binary_total = weight + 0.5 * 2
        self.any_style = max(profile.case_styles.get(style, 0.0) for style in CASE_STYLES)


@functools.lru_cache(maxsize=1024)
def _log(count: int) -> float:
    return math.log(count)


def log_share(count: float, total: float, categories: int) -> float:
    """Return the smoothed log share of one category: an unseen one is unlikely, not impossible."""
    return math.log((count + 0.5) / (total + 0.5 * categories))


# Column features: each compares a cell with the profile of its column.


def token_count_z_square(facts: CellFacts, profile: ColumnProfile) -> float:
    mean = profile.log_count_sum / profile.weight
    variance = max(0.0, profile.log_count_square_sum / profile.weight - mean**2)
    deviation = max(math.sqrt(variance), MIN_LOG_COUNT_DEVIATION)
    return ((math.log(facts.core_count) - mean) / deviation) ** 2


def first_shape_share(facts: CellFacts, profile: ColumnProfile) -> float:
    return log_share(profile.first_shapes[facts.first_shape], profile.weight, len(SHAPES))


def last_shape_share(facts: CellFacts, profile: ColumnProfile) -> float:
    return log_share(profile.last_shapes[facts.last_shape], profile.weight, len(SHAPES))


def case_style_share(facts: CellFacts, profile: ColumnProfile) -> float:
    """Return the log share of the cell's case style; one word fits any style of the column."""
    styles = CASE_STYLES if facts.case_style == "single" else (facts.case_style,)
    count = max(profile.case_styles[style] for style in styles)
    return log_share(count, profile.weight, len(CASE_STYLES))


def parenthetical_ending_share(facts: CellFacts, profile: ColumnProfile) -> float:
    count = profile.parenthetical_endings[facts.ends_with_parenthetical]
    return log_share(count, profile.weight, 2)


def period_ending_share(facts: CellFacts, profile: ColumnProfile) -> float:
    return log_share(profile.period_endings[facts.ends_with_period], profile.weight, 2)


def single_amount_share(facts: CellFacts, profile: ColumnProfile) -> float:
    return log_share(profile.single_amounts[facts.is_single_amount], profile.weight, 2)


def value_recurrence(facts: CellFacts, profile: ColumnProfile) -> float:
    return math.log1p(profile.values[facts.text])


def first_word_recurrence(facts: CellFacts, profile: ColumnProfile) -> float:
    return math.log1p(profile.first_words[facts.first_word])


def last_word_recurrence(facts: CellFacts, profile: ColumnProfile) -> float:
    return math.log1p(profile.last_words[facts.last_word])


def shape_pattern_recurrence(facts: CellFacts, profile: ColumnProfile) -> float:
    """Return the log count of other values with the cell's core shapes, for cells of 2+ words.

    The shape of a one-word cell is its first shape, which ``first_shape`` already scores.
    """
    if facts.core_count < 2:
        return 0.0
    return math.log1p(profile.distinct_values_with_shapes(facts.core_shapes))


COLUMN_FEATURES: dict[str, Callable[[CellFacts, ColumnProfile], float]] = {
    "token_count": token_count_z_square,
    "first_shape": first_shape_share,
    "last_shape": last_shape_share,
    "case_style": case_style_share,
    "parenthetical_ending": parenthetical_ending_share,
    "period_ending": period_ending_share,
    "single_amount": single_amount_share,
    "value_recurs": value_recurrence,
    "first_word_recurs": first_word_recurrence,
    "last_word_recurs": last_word_recurrence,
    "shape_pattern_recurs": shape_pattern_recurrence,
}


LABEL_COLUMN_FEATURES = {
    name: feature for name, feature in COLUMN_FEATURES.items() if name != "shape_pattern_recurs"
}


def column_score(
    facts: CellFacts,
    profile: ColumnProfile,
    features: dict[str, Callable[[CellFacts, ColumnProfile], float]] = COLUMN_FEATURES,
) -> float:
    """Score how well a cell fits the column described by ``profile``; 0 for a thin profile.

    Pass ``LABEL_COLUMN_FEATURES`` for the row labels of a transposed table.
    """
    if profile.weight < MIN_PROFILE_WEIGHT:
        return 0.0
    if features is COLUMN_FEATURES or features is LABEL_COLUMN_FEATURES:
        return sum(_column_terms(facts, profile, features is COLUMN_FEATURES))
    return sum(WEIGHTS[name] * feature(facts, profile) for name, feature in features.items())


def _column_terms(facts: CellFacts, profile: ColumnProfile, shape_pattern: bool) -> list[float]:
    """Return the weighted column features of ``COLUMN_FEATURES``, in their order.

    Each term is the expression of its feature function, with the profile's own terms from
    ``ColumnProfile.summary``. Table recovery scores each cell against each column profile,
    and the feature functions took about a third of its time under cProfile. Without
    ``shape_pattern``, the terms are those of ``LABEL_COLUMN_FEATURES``.
    """
    weights = WEIGHTS
    summary = profile.summary()
    style = facts.case_style
    style_count = summary.any_style if style == "single" else profile.case_styles.get(style, 0.0)
    terms = [
        weights["token_count"] * ((_log(facts.core_count) - summary.mean) / summary.deviation) ** 2,
        weights["first_shape"]
        * math.log((profile.first_shapes.get(facts.first_shape, 0.0) + 0.5) / summary.shapes_total),
        weights["last_shape"]
        * math.log((profile.last_shapes.get(facts.last_shape, 0.0) + 0.5) / summary.shapes_total),
        weights["case_style"] * math.log((style_count + 0.5) / summary.styles_total),
        weights["parenthetical_ending"]
        * math.log(
            (profile.parenthetical_endings.get(facts.ends_with_parenthetical, 0.0) + 0.5)
            / summary.binary_total
        ),
        weights["period_ending"]
        * math.log(
            (profile.period_endings.get(facts.ends_with_period, 0.0) + 0.5) / summary.binary_total
        ),
        weights["single_amount"]
        * math.log(
            (profile.single_amounts.get(facts.is_single_amount, 0.0) + 0.5) / summary.binary_total
        ),
        weights["value_recurs"] * math.log1p(profile.values.get(facts.text, 0.0)),
        weights["first_word_recurs"] * math.log1p(profile.first_words.get(facts.first_word, 0.0)),
        weights["last_word_recurs"] * math.log1p(profile.last_words.get(facts.last_word, 0.0)),
    ]
    if shape_pattern:
        terms.append(weights["shape_pattern_recurs"] * shape_pattern_recurrence(facts, profile))
    return terms


def minority_count(values: Sequence[object]) -> int:
    """Return how many values differ from the most common one."""
    return len(values) - Counter(values).most_common(1)[0][1]


def case_style_disagreement(cells: Sequence[CellFacts]) -> float:
    """Score the value cells of a transposed row whose label is inferred on their case styles.

    One-word cells fit any style, so only longer cells count.
    """
    styles = [cell.case_style for cell in cells if cell.case_style != "single"]
    if len(styles) < 2:
        return 0.0
    return WEIGHTS["case_style_disagrees"] * minority_count(styles)


def entity_names_score(cells: Sequence[CellFacts]) -> float:
    """Score candidate entity names in the header of a transposed table, after its first cell."""
    if len(cells) < 2:
        return 0.0

    duplicates = sum(count - 1 for count in Counter(cell.text for cell in cells).values())
    shared = Counter(cell.first_word for cell in cells).most_common(1)[0][1]
    shape_disagreements = minority_count([cell.first_shape for cell in cells])
    spread = _log_count_spread(tuple(cell.core_count for cell in cells))
    return (
        WEIGHTS["duplicate_entity_name"] * duplicates
        + WEIGHTS["shared_first_word"] * (shared if shared > 1 else 0)
        + WEIGHTS["first_shape_disagrees"] * shape_disagreements
        + WEIGHTS["length_spread"] * spread
    )


def resemblance_score(cells: Sequence[CellFacts]) -> float:
    """Score how much the value cells of one transposed row resemble each other."""
    if len(cells) < 2:
        return 0.0

    shape_disagreements = minority_count([cell.first_shape for cell in cells])
    period_disagreements = minority_count([cell.ends_with_period for cell in cells])
    spread = _log_count_spread(tuple(cell.core_count for cell in cells))
    repeated = sum(count for count in Counter(cell.text for cell in cells).values() if count > 1)
    patterns = Counter(cell.shapes for cell in cells)
    repeated_patterns = sum(count for count in patterns.values() if count > 1)
    return (
        WEIGHTS["first_shape_disagrees"] * shape_disagreements
        + WEIGHTS["period_ending_disagrees"] * period_disagreements
        + WEIGHTS["length_spread"] * spread
        + WEIGHTS["repeated_value"] * repeated
        + WEIGHTS["repeated_shape_pattern"] * repeated_patterns
    )


# statistics.pstdev computes with exact fractions, which is slow, and the candidate splits of
# a row have few different token counts.
@functools.lru_cache(maxsize=4096)
def _log_count_spread(core_counts: tuple[int, ...]) -> float:
    """Return the population standard deviation of the logarithms of cells' token counts."""
    return statistics.pstdev([math.log(count) for count in core_counts])
