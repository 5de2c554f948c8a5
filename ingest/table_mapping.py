"""Turn recovered tables into entities: one per row, or one per column of a transposed table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import URIRef

from ingest.document import LineSpan, Section, Table
from ingest.iris import make_slug
from ingest.mapping import FieldRule, TableRule, expand_id
from ingest.values import parse_name

if TYPE_CHECKING:
    from ingest.build import _NoteBuilder


def add_table(
    builder: _NoteBuilder,
    table: Table,
    section: Section,
    section_iri: URIRef,
    section_entity: URIRef,
    rule: TableRule | None,
) -> None:
    """Add the entities of one table, by the table's mapping rule or generically without one."""
    if rule is None:
        _add_records(builder, table, section, section_iri)
        return

    # Fields name columns, or for a transposed table the labels that start its rows.
    names = [row.cells[0] for row in table.rows] if rule.entities == "columns" else table.header
    builder.table_names.extend((rule.line, name) for name in names)
    if rule.entities == "columns":
        _add_column_entities(builder, table, section, section_iri, section_entity, rule)
    else:
        _add_row_entities(builder, table, section, section_iri, section_entity, rule)


def _entity_id(
    builder: _NoteBuilder,
    rule: TableRule,
    section: Section,
    label: str,
    cells: dict[str, str] | None = None,
) -> str | None:
    """Return the text whose slug names the entity of a row or column, None for its label.

    ``cells`` are the cells of a row by column, for the id's ``{Column}`` placeholders.
    """
    if rule.explicit_id is None:
        return None
    heading = builder._rule_heading(section)
    return expand_id(rule.explicit_id, label, builder.document.title, heading, cells)


def _add_row_entities(
    builder: _NoteBuilder,
    table: Table,
    section: Section,
    section_iri: URIRef,
    section_entity: URIRef,
    rule: TableRule,
) -> None:
    label_column = rule.label_column or table.header[0]
    label_index = _column_index(table, label_column)
    # The line and label of the first row that gave each entity.
    first_rows: dict[URIRef, tuple[int, str]] = {}
    warned: set[str] = set()

    for row in table.rows:
        label_cell = row.cells[label_index]
        if not label_cell.strip():
            _warn_empty_label(builder, row.span, label_column)
            continue
        label_rule = rule.fields.get(label_column)
        label = (
            parse_name(label_cell).short
            if label_rule and label_rule.value == "name"
            else label_cell
        )
        cells = dict(zip(table.header, row.cells, strict=True))
        explicit_id = _entity_id(builder, rule, section, label, cells)
        entity = builder.entity(rule.kind, label, rule.cls, row.span, section_iri, explicit_id)
        first, first_label = first_rows.setdefault(entity, (row.span.start, label))
        # The minter warns about different labels that give one entity, but not equal ones.
        if first != row.span.start and first_label.casefold() == label.casefold():
            other = _other_column(table, label_column, rule.explicit_id or "")
            if rule.explicit_id is None:
                fix = (
                    "give the table rule an id that tells them apart, such as "
                    f'id: "{{label}} {{{other}}}"'
                )
            else:
                fix = (
                    f"add a column whose cells differ to the table rule's id "
                    f"{rule.explicit_id!r}, such as {{{other}}}"
                )
            builder._warn(
                row.span.start,
                f"row {label!r} gives the same {rule.kind} as the row on line {first}, so the "
                f"values of both rows merge; give the rows different labels, or {fix}",
            )
        if rule.link_to_section and section_entity != section_iri:
            builder.facts.add((entity, builder._iri(rule.link_to_section), section_entity))

        for name, cell in zip(table.header, row.cells, strict=True):
            _add_cell(
                builder,
                entity,
                rule,
                name,
                cell,
                row.span,
                section_iri,
                is_label=name == label_column,
                warned=warned,
            )


def _other_column(table: Table, label_column: str, template: str) -> str:
    """Return the first column that is not the label column and not in the id ``template``."""
    others = [name for name in table.header if name != label_column]
    fresh = [name for name in others if f"{{{name}}}" not in template]
    return (fresh or others or [label_column])[0]


def _add_column_entities(
    builder: _NoteBuilder,
    table: Table,
    section: Section,
    section_iri: URIRef,
    section_entity: URIRef,
    rule: TableRule,
) -> None:
    entities: list[URIRef | None] = []
    for label in table.header[1:]:
        if not label.strip():
            _warn_empty_label(builder, table.header_span, None)
            entities.append(None)
            continue
        explicit_id = _entity_id(builder, rule, section, label)
        entities.append(
            builder.entity(rule.kind, label, rule.cls, table.span, section_iri, explicit_id)
        )
    for entity in entities:
        if entity is not None and rule.link_to_section and section_entity != section_iri:
            builder.facts.add((entity, builder._iri(rule.link_to_section), section_entity))

    for row in table.rows:
        name = row.cells[0]
        for entity, cell in zip(entities, row.cells[1:], strict=True):
            if entity is not None:
                _add_cell(builder, entity, rule, name, cell, row.span, section_iri, is_label=False)


def _add_cell(
    builder: _NoteBuilder,
    entity: URIRef,
    rule: TableRule,
    name: str,
    cell: str,
    span: LineSpan,
    section_iri: URIRef,
    *,
    is_label: bool,
    warned: set[str] | None = None,
) -> None:
    """Add one cell's value to its entity; ``warned`` has the unmapped fields warned about.

    A column without a field rule is warned about at its first row only.
    """
    if not cell.strip():
        # An empty cell has no value.
        return
    field_rule = _field_rule(rule, name)
    if field_rule is None:
        if not is_label:
            warn = warned is None or name.casefold() not in warned
            builder._add_unmapped(entity, name, cell, span, f"table field {name!r}", warn=warn)
            if warned is not None:
                warned.add(name.casefold())
        return
    builder.apply_field(entity, field_rule, name, cell, span, section_iri)


def _field_rule(rule: TableRule, name: str) -> FieldRule | None:
    for field_name, field_rule in rule.fields.items():
        if field_name.casefold() == name.casefold():
            return field_rule
    return None


def _add_records(
    builder: _NoteBuilder, table: Table, section: Section, section_iri: URIRef
) -> None:
    """Read a table no mapping covers: one nk:Record per row, one generated property per column."""
    builder.unmapped.append(f"table in {builder.section_name(section)}")
    builder._warn(
        table.span.start,
        f"table in {builder.section_name(section)} has no mapping; "
        "each row is stored as a generic record. "
        "Add a 'table:' rule for this section to the mapping to give the rows a class",
    )
    first_rows: dict[URIRef, int] = {}
    for row in table.rows:
        label = row.cells[0]
        if not label.strip():
            _warn_empty_label(builder, row.span, table.header[0] or "first")
            continue
        kind = f"record/{builder.slug}/{make_slug(section.title or 'table')}"
        builder.entity(kind, label, "nk:Record", row.span, section_iri)
        record = builder.minter.entity(kind, label)
        first = first_rows.setdefault(record, row.span.start)
        if first != row.span.start:
            builder._warn(
                row.span.start,
                f"row {label!r} gives the same record as the row on line {first}, so the "
                "values of both rows merge; give the rows different labels, or map the table "
                "with an id that tells them apart (docs/mapping.md)",
            )
        for name, cell in zip(table.header[1:], row.cells[1:], strict=True):
            if cell.strip():
                builder._add_unmapped(record, name, cell, row.span, "", warn=False)


def _warn_empty_label(builder: _NoteBuilder, span: LineSpan, column: str | None) -> None:
    """Warn that a table's entity is left out because the cell that names it is empty."""
    if column is None:
        where = "a column's header cell, which names its entity, is empty"
    else:
        where = f"the {column!r} cell, which names the row's entity, is empty"
    builder._warn(span.start, f"{where}, so the entity is not stored; fill in the cell")


def _column_index(table: Table, name: str) -> int:
    for index, header in enumerate(table.header):
        if header.casefold() == name.casefold():
            return index
    return 0
