"""Reader for saved HTML pages: MkDocs Material, Docusaurus, Obsidian Publish or a plain site.

lxml's HTML parser (libxml2) reads the page. Only the main content is kept: the page's single
``<article>``, else ``.md-content``, ``[role=main]``, ``<main>``, the Obsidian Publish view, or
the ``<body>``. Navigation, sidebars, footers, scripts, forms and the permalink anchors next to
headings are dropped. The content maps onto the document model as Markdown does (see
``ingest.readers.markdown``):
- h1-h6 become sections; the first heading is the title when it is an h1, else ``<title>``.
- ``<li>Key: Value</li>`` and each ``<dt>``/``<dd>`` pair become KeyValues.
- ``<table>`` becomes a Table; its header is the ``<thead>`` row, or else the first row.
- ``<pre>`` becomes a CodeBlock whose language comes from a ``language-*`` or ``lang-*``
  class on the ``<code>``, the ``<pre>`` or the two elements around it.
- ``<a href>`` becomes a Link.
Every element's span starts at the line of its start tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
from lxml import etree

from ingest.document import (
    CodeBlock,
    Document,
    KeyValue,
    LineSpan,
    Link,
    Section,
    Table,
    TableRow,
)
from ingest.problems import NoteSyntaxError
from ingest.readers.common import hash_text, read_note_lines, row_width_warning
from ingest.readers.markdown import (
    KEY_ONLY,
    LinkResolver,
    Outline,
    add_parts,
    read_item,
    read_lines,
)

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
LISTS = ("ul", "ol")
# Blocks inside a list item or a definition that are read on their own, not as its text.
INNER_BLOCKS = frozenset({"ul", "ol", "dl", "pre", "table"})
BLOCKS = frozenset(
    {
        *HEADINGS,
        *INNER_BLOCKS,
        "p",
        "div",
        "section",
        "article",
        "main",
        "blockquote",
        "details",
        "figure",
        "header",
        "li",
        "dt",
        "dd",
        "summary",
        "hr",
        "address",
        "center",
        "body",
        "html",
    }
)
CONTENT_XPATHS = (
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' md-content ')]",
    "//*[@role='main']",
    "//main",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' markdown-preview-view ')]",
    "//body",
)
CHROME_TAGS = (
    "nav",
    "aside",
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "button",
    "form",
    "iframe",
    "footer",
    "input",
    "select",
    "textarea",
    "label",
    "object",
    "embed",
    "canvas",
    "dialog",
)
CHROME_CLASSES = (
    "headerlink",
    "hash-link",
    "md-content__button",
    "admonition-title",
    "linenos",
    "heading-collapse-indicator",
    "copy-code-button",
)
# Docusaurus appends a build hash to its class names, as in ``admonitionHeading_Gvgb``.
CHROME_CLASS_PREFIXES = ("admonitionHeading_",)
CHROME_ROLES = ("navigation", "banner", "contentinfo", "search", "complementary")
LANGUAGE_CLASS = re.compile(r"^(?:language|lang)-(?P<language>[\w+#.-]+)$")
# The deepest element nesting that the reader walks. Real pages stay far below it. libxml2 with
# huge_tree accepts 2048 levels, which would exceed Python's default recursion limit of 1000.
MAX_DEPTH = 200


def read_html(
    path: Path, display_path: str, data: bytes | None = None, *, notes_root: Path | None = None
) -> Document:
    """Read a saved HTML page into a Document.

    ``notes_root`` is the notes folder that link targets are made relative to; without it,
    the page's own folder is used. Raises NoteSyntaxError for binary content, text that is not
    UTF-8, markup that libxml2 cannot read, and elements nested deeper than MAX_DEPTH.
    """
    raw, text, lines = read_note_lines(path, display_path, data)
    page = _parse(text, display_path)
    reader = _HtmlReader(display_path, len(lines), LinkResolver(path, notes_root))
    title, title_span = Path(display_path).stem, LineSpan(1, 1)
    sections: list[Section] = []
    if page is not None:
        title, title_span, sections = reader.read(page, title)
    return Document(
        path=path,
        display_path=display_path,
        title=title,
        title_span=title_span,
        sections=sections,
        line_count=len(lines),
        content_hash=hash_text(raw),
        text=text,
        warnings=reader.warnings,
    )


def _parse(text: str, display_path: str) -> lxml.html.HtmlElement | None:
    """Parse the page; return None for a page without elements or text."""
    # huge_tree keeps text nodes over 10 MB, which libxml2 otherwise drops without an error.
    parser = lxml.html.HTMLParser(
        encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True
    )
    try:
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except etree.ParserError:
        # lxml raises ParserError("Document is empty") for a page with no content.
        return None
    except etree.LxmlError as error:
        raise NoteSyntaxError(
            display_path, 1, f"cannot parse the HTML: {error}; save the page as HTML again"
        ) from error


def _content_root(page: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    articles = page.xpath("//article")
    if len(articles) == 1:
        return articles[0]
    for xpath in CONTENT_XPATHS:
        found = page.xpath(xpath)
        if found:
            return found[0]
    return page


def _drop_chrome(content: lxml.html.HtmlElement) -> None:
    """Remove navigation, scripts and other page furniture from the content, keeping tail text."""
    tags = [*CHROME_TAGS, "header"] if content.tag in ("body", "html") else list(CHROME_TAGS)
    conditions = [f"self::{tag}" for tag in tags]
    conditions += [
        f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"
        for name in CHROME_CLASSES
    ]
    conditions += [
        f"contains(concat(' ', normalize-space(@class)), ' {prefix}')"
        for prefix in CHROME_CLASS_PREFIXES
    ]
    conditions += [f"@role='{role}'" for role in CHROME_ROLES]
    conditions += ["@hidden", "@aria-hidden='true'"]
    for element in content.xpath(f".//*[{' or '.join(conditions)}]"):
        if element.getparent() is not None:
            element.drop_tree()


@dataclass
class _Text:
    """The text of an element, line by line where ``<br>`` breaks it, and the anchors in it."""

    lines: list[tuple[int, str]]
    anchors: list[lxml.html.HtmlElement] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(part for _, part in self.clean_lines() if part)

    def clean_lines(self) -> list[tuple[int, str]]:
        """Return the lines with whitespace collapsed, each at the line where its text starts."""
        found = []
        for line, part in self.lines:
            leading = part[: len(part) - len(part.lstrip())]
            found.append((line + leading.count("\n"), " ".join(part.split())))
        return found

    def add(self, text: str | None) -> None:
        if text:
            line, before = self.lines[-1]
            self.lines[-1] = (line, before + text)


class _HtmlReader:
    def __init__(self, display_path: str, line_count: int, links: LinkResolver) -> None:
        self.display_path = display_path
        self.line_count = max(line_count, 1)
        self.links = links
        self.outline = Outline(1)
        self.title_element: lxml.html.HtmlElement | None = None
        # Problems found while reading, as (line, message).
        self.warnings: list[tuple[int, str]] = []

    def read(self, page: lxml.html.HtmlElement, stem: str) -> tuple[str, LineSpan, list[Section]]:
        """Return the title, its span and the sections of the page's main content."""
        content = _content_root(page)
        _drop_chrome(content)
        self._check_depth(content)

        headings = [element for element in content.iter(*HEADINGS)]
        title, title_span = _page_title(page) or stem, LineSpan(1, 1)
        if headings and headings[0].tag == "h1":
            self.title_element = headings[0]
            title, title_span = self._collect(headings[0]).text, self._span(headings[0])
            headings = headings[1:]

        self.outline = Outline(min((int(element.tag[1]) for element in headings), default=1))
        self._container(content)
        return title, title_span, self.outline.sections

    def _check_depth(self, content: lxml.html.HtmlElement) -> None:
        depth = 0
        for event, element in etree.iterwalk(content, events=("start", "end")):
            depth += 1 if event == "start" else -1
            if depth > MAX_DEPTH:
                raise NoteSyntaxError(
                    self.display_path,
                    self._line(element),
                    f"elements are nested more than {MAX_DEPTH} levels deep; "
                    "save the page without the deep nesting",
                )

    # Blocks

    def _block(self, element: lxml.html.HtmlElement) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in HEADINGS:
            self._heading(element)
        elif tag == "p":
            self._paragraph(element)
        elif tag in LISTS:
            for item in element.iterchildren("li"):
                self._list_item(item)
        elif tag == "dl":
            self._definitions(element)
        elif tag == "table":
            self._table(element)
        elif tag == "pre":
            self._code(element)
        elif tag and tag not in ("hr", "br", "img"):
            self._container(element)

    def _container(self, element: lxml.html.HtmlElement) -> None:
        """Read a block that holds other blocks; loose text in it is read as a paragraph."""
        if not any(
            isinstance(node.tag, str) and node.tag in BLOCKS for node in element.iterdescendants()
        ):
            self._paragraph(element)
            return

        self._loose_text(element.text, self._line(element))
        for child in element.iterchildren():
            self._block(child)
            self._loose_text(child.tail, self._end(child))

    def _loose_text(self, text: str | None, line: int) -> None:
        if not text or not text.strip():
            return

        start, clean = _Text([(line, text)]).clean_lines()[0]
        start = min(start, self.line_count)
        add_parts(self.outline.current(LineSpan(start, start)), read_lines([(start, clean)]))

    def _heading(self, element: lxml.html.HtmlElement) -> None:
        if element is self.title_element:
            return

        found = self._collect(element)
        section = self.outline.heading(found.text, int(element.tag[1]), self._span(element))
        section.links.extend(self._links(found))

    def _paragraph(self, element: lxml.html.HtmlElement) -> None:
        found = self._collect(element)
        parts = read_lines(found.clean_lines())
        links = self._links(found)
        if not parts and not links:
            return

        span = self._span(element)
        if parts:
            # The last line of text runs on to the element's end when the source wraps it.
            parts[-1].span = LineSpan(parts[-1].span.start, max(parts[-1].span.end, span.end))
        section = self.outline.current(span)
        add_parts(section, parts)
        section.links.extend(links)

    def _list_item(self, item: lxml.html.HtmlElement) -> None:
        found = self._collect(item, skip=INNER_BLOCKS)
        nested = [child for child in item.iterchildren(*LISTS)]
        key = KEY_ONLY.match(found.text)
        if key and len(nested) == 1:
            self._key_with_list(key.group("key").strip(), item, nested[0], found)
            return

        if found.text or found.anchors:
            span = LineSpan(self._line(item), self._line(item) + _line_breaks(found))
            section = self.outline.current(span)
            if found.text:
                add_parts(section, [read_item(found.text, span)])
            section.links.extend(self._links(found))
        self._inner_blocks(item)

    def _key_with_list(
        self, key: str, item: lxml.html.HtmlElement, nested: lxml.html.HtmlElement, found: _Text
    ) -> None:
        """Read ``<li>Key:<ul>…</ul></li>`` as one KeyValue whose value lists the nested items."""
        values: list[str] = []
        links = self._links(found)
        for child in nested.iterchildren("li"):
            child_text = self._collect(child, skip=INNER_BLOCKS)
            values.append(child_text.text)
            links.extend(self._links(child_text))

        span = self._span(item)
        section = self.outline.current(span)
        section.items.append(KeyValue(key, ", ".join(value for value in values if value), span))
        section.links.extend(links)
        for child in nested.iterchildren("li"):
            self._inner_blocks(child)

    def _inner_blocks(self, element: lxml.html.HtmlElement) -> None:
        """Read the lists, tables, definition lists and code under a list item, in order."""
        for child in element.iterchildren():
            if child.tag in INNER_BLOCKS:
                self._block(child)
            else:
                self._inner_blocks(child)

    def _definitions(self, element: lxml.html.HtmlElement) -> None:
        """Read a definition list: each term with each of its definitions is a KeyValue."""
        terms: list[_Text] = []
        after_definition = False
        for child in element.xpath("./dt | ./dd | ./div/dt | ./div/dd"):
            if child.tag == "dt":
                terms = [] if after_definition else terms
                terms.append(self._collect(child))
                after_definition = False
                continue

            definition = self._collect(child, skip=INNER_BLOCKS)
            section = self.outline.current(self._span(child))
            for term in terms:
                span = LineSpan(term.lines[0][0], self._end(child))
                section.items.append(KeyValue(term.text, definition.text, span))
                section.links.extend(self._links(term))
            section.links.extend(self._links(definition))
            self._inner_blocks(child)
            after_definition = True

    def _table(self, element: lxml.html.HtmlElement) -> None:
        if "highlighttable" in (element.get("class") or "").split():
            # Pygments puts line numbers and code in two cells of a table; read only the code.
            for pre in element.xpath(".//td[contains(concat(' ', @class, ' '), ' code ')]//pre"):
                self._code(pre)
            return

        rows = element.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
        header_row = _header_row(element, rows)
        if header_row is None:
            return

        cells = {row: self._cells(row) for row in rows}
        header = [cell.text for cell in cells[header_row]]
        for row in rows:
            warning = row_width_warning(self._line(row), len(cells[row]), len(header))
            if row is not header_row and warning is not None:
                self.warnings.append(warning)
        table_rows = [
            TableRow(_fit([cell.text for cell in cells[row]], len(header)), self._span(row))
            for row in rows
            if row is not header_row
        ]
        section = self.outline.current(self._span(element))
        section.tables.append(
            Table(header, table_rows, self._span(element), self._span(header_row))
        )
        for row in rows:
            for cell in cells[row]:
                section.links.extend(self._links(cell))

    def _cells(self, row: lxml.html.HtmlElement) -> list[_Text]:
        """Return the cells of a row; a cell spanning n columns is followed by n - 1 empty ones."""
        cells: list[_Text] = []
        for cell in row.iterchildren("th", "td"):
            cells.append(self._collect(cell))
            span = cell.get("colspan", "1")
            extra = int(span) - 1 if span.isdigit() else 0
            cells.extend(_Text([(self._line(cell), "")]) for _ in range(min(extra, 100)))
        # NOTE: rowspan is not expanded; a cell spanning rows fills only its first row.
        return cells

    def _code(self, element: lxml.html.HtmlElement) -> None:
        code_element = element.find("code")
        source = self._code_text(element)
        # HTML drops the line break right after <pre>; libxml2 keeps it in the text.
        source = source[1:] if source.startswith("\n") else source
        source = source[:-1] if source.endswith("\n") else source
        language = _language(element, code_element)
        section = self.outline.current(self._span(element))
        section.code_blocks.append(CodeBlock(source, language, self._span(element)))

    @staticmethod
    def _code_text(element: lxml.html.HtmlElement) -> str:
        """Return the text of code; ``<br>`` is a line break, as Docusaurus writes code lines."""
        parts: list[str] = []
        for event, node in etree.iterwalk(element, events=("start", "end")):
            if event == "start":
                parts.append("\n" if node.tag == "br" else node.text or "")
            elif node is not element:
                parts.append(node.tail or "")
        return "".join(parts)

    # Text, links and lines

    def _collect(self, element: lxml.html.HtmlElement, skip: frozenset[str] = frozenset()) -> _Text:
        """Return the text and anchors of an element, without the subtrees tagged as in ``skip``."""
        found = _Text([(self._line(element), "")])
        walker = etree.iterwalk(element, events=("start", "end"))
        for event, node in walker:
            if event == "end":
                if node is not element:
                    found.add(node.tail)
                continue

            if node is not element and node.tag in skip:
                walker.skip_subtree()
            elif node.tag == "br":
                found.lines.append((self._line(node), ""))
            else:
                if node.tag == "a" and node.get("href") is not None:
                    found.anchors.append(node)
                found.add(node.text)
        return found

    def _links(self, found: _Text) -> list[Link]:
        links = []
        for anchor in found.anchors:
            text = " ".join(anchor.text_content().split())
            if text:
                target = self.links.url(anchor.get("href", "").strip())
                span = self._span(anchor)
                links.append(self.links.link(text, target, span))
        return links

    def _line(self, element: lxml.html.HtmlElement) -> int:
        """Return the line of an element's start tag, or of its nearest ancestor that has one.

        NOTE: libxml2's HTML parser reports at most line 65535; later elements get 65535.
        """
        current: lxml.html.HtmlElement | None = element
        while current is not None and current.sourceline is None:
            current = current.getparent()
        line = current.sourceline if current is not None and current.sourceline else 1
        return min(max(line, 1), self.line_count)

    def _end(self, element: lxml.html.HtmlElement) -> int:
        """Return the last line of an element, counted from line breaks in its text and tails.

        libxml2 keeps no end-tag lines, so line breaks inside a tag itself are not counted.
        """
        ends: dict[lxml.html.HtmlElement, int] = {}
        for _, node in etree.iterwalk(element, events=("end",)):
            last = self._line(node) + (node.text or "").count("\n")
            for child in node:
                last = max(last, ends.pop(child, 0) + (child.tail or "").count("\n"))
            ends[node] = last
        return min(ends[element], self.line_count)

    def _span(self, element: lxml.html.HtmlElement) -> LineSpan:
        return LineSpan(self._line(element), max(self._line(element), self._end(element)))


def _page_title(page: lxml.html.HtmlElement) -> str:
    titles = page.xpath("//title")
    return " ".join(titles[0].text_content().split()) if titles else ""


def _header_row(
    table: lxml.html.HtmlElement, rows: list[lxml.html.HtmlElement]
) -> lxml.html.HtmlElement | None:
    head = table.xpath("./thead/tr")
    if head:
        return head[0]
    return rows[0] if rows else None


def _fit(cells: list[str], width: int) -> list[str]:
    """Pad or cut a row to the header's width, as GFM does for pipe tables."""
    return (cells + [""] * width)[:width]


def _line_breaks(found: _Text) -> int:
    return found.lines[-1][0] - found.lines[0][0]


def _language(pre: lxml.html.HtmlElement, code: lxml.html.HtmlElement | None) -> str | None:
    candidates = [code, pre, pre.getparent()]
    parent = pre.getparent()
    candidates.append(parent.getparent() if parent is not None else None)
    for element in candidates:
        if element is None:
            continue
        for name in (element.get("class") or "").split():
            match = LANGUAGE_CLASS.match(name)
            if match:
                return match.group("language").lower()
        if element.get("data-lang"):
            return str(element.get("data-lang")).lower()
    return None
