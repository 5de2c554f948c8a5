"""The ``using-graph-uri`` and ``using-named-graph-uri`` parameters of a SPARQL Update request.

The SPARQL 1.1 Protocol (https://www.w3.org/TR/sparql11-protocol/#update-operation) gives
these parameters the meaning of ``USING`` and ``USING NAMED`` clauses, and makes a request that
has both the parameters and a ``USING`` or ``WITH`` clause an error. pyoxigraph 0.5 takes no
dataset argument for updates, so the parameters are written into the update text as clauses
before the ``WHERE`` of every ``DELETE``/``INSERT`` operation. ``DELETE WHERE { P }`` cannot
take ``USING``, so it becomes ``DELETE { P } USING … WHERE { P }``, which means the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from werkzeug.exceptions import BadRequest

from service.query_safety import has_update_dataset_clause, significant_tokens


class DatasetConflict(BadRequest):
    """The request names an update dataset both in parameters and in the update text."""


def apply_protocol_dataset(update: str, default_graphs: list[str], named_graphs: list[str]) -> str:
    """Return the update with USING and USING NAMED clauses for the request's graph IRIs.

    Raises DatasetConflict when the update has its own USING or WITH clause.
    """
    if not default_graphs and not named_graphs:
        return update
    if has_update_dataset_clause(update):
        raise DatasetConflict(
            "the request has using-graph-uri or using-named-graph-uri and the update has a "
            "USING or WITH clause; name the dataset in one of the two places"
        )

    clauses = " ".join(
        [f"USING <{iri}>" for iri in default_graphs]
        + [f"USING NAMED <{iri}>" for iri in named_graphs]
    )
    edits = _where_edits(update, significant_tokens(update), clauses)
    for start, end, replacement in reversed(edits):
        update = update[:start] + replacement + update[end:]
    return update


def _where_edits(
    update: str, tokens: Sequence[re.Match[str]], clauses: str
) -> list[tuple[int, int, str]]:
    """Return (start, end, replacement) edits that put clauses before each top-level WHERE."""
    edits = []
    depth = 0
    for index, token in enumerate(tokens):
        text = token.group()
        if text == "{":
            depth += 1
        elif text == "}":
            depth -= 1
        elif depth == 0 and token.lastgroup == "word" and text.upper() == "WHERE":
            edits.append(_where_edit(update, tokens, index, clauses))
    return edits


def _where_edit(
    update: str, tokens: Sequence[re.Match[str]], index: int, clauses: str
) -> tuple[int, int, str]:
    where = tokens[index]
    previous = tokens[index - 1] if index else None
    is_delete_where = (
        previous is not None
        and previous.lastgroup == "word"
        and previous.group().upper() == "DELETE"
    )
    if not is_delete_where:
        return where.start(), where.start(), clauses + " "

    pattern_end = _group_end(tokens, index + 1)
    pattern = update[tokens[index + 1].start() : pattern_end]
    return where.start(), where.end(), f"{pattern} {clauses} WHERE"


def _group_end(tokens: Sequence[re.Match[str]], start: int) -> int:
    """Return the end offset of the brace group that opens at tokens[start]."""
    depth = 0
    for token in tokens[start:]:
        if token.group() == "{":
            depth += 1
        elif token.group() == "}":
            depth -= 1
            if depth == 0:
                return token.end()
    # An unbalanced group is left for the update parser to report.
    return tokens[-1].end()
