"""Reader for Markdown notes: MkDocs pages, Obsidian vaults and other CommonMark files.

markdown-it-py parses the note as CommonMark with GFM pipe tables; mdit-py-plugins adds YAML
front matter, definition lists and MkDocs admonitions (``!!! note``). The reader maps the
syntax tree onto the document model:
- The first heading is the page title when it is an H1. Otherwise the title is the front
  matter ``title``, or else the file stem. The other headings become sections, nested by
  level. Levels count from the highest of them, so the sections of a page whose title is
  ``# AI`` and whose sections are ``## NN Memory`` have level 1, as in a plain-text note.
- A bullet ``Key: Value`` or ``Key:: Value`` (an Obsidian Dataview inline field) is a
  KeyValue, and any other bullet is a Paragraph. A nested bullet is read like a top-level one.
  A bullet that holds only a key (``- Authors:``) takes its nested bullets, joined with
  ``", "``, as its value.
- Lines of a paragraph are KeyValues when every line reads ``Key: Value``. A ``Key:: Value``
  line is a KeyValue anywhere in a paragraph.
- ``[[Target]]``, ``[[Target|alias]]`` and ``[text](other.md)`` become Links whose target is
  the linked note's path in the notes folder; URLs and links to other files stay as written.
- Fenced code keeps the first word of its info string as the language. MkDocs code tabs
  (``=== "Python"``, a blank line, then content indented by four spaces) are read as the
  Markdown they contain.
YAML front matter goes into ``Document.metadata``.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from ingest.document import (
    CodeBlock,
    Document,
    KeyValue,
    LineSpan,
    Link,
    Paragraph,
    Section,
    Table,
    TableRow,
)
from ingest.iris import make_slug, note_id
from ingest.problems import NoteSyntaxError
from ingest.readers.common import hash_text, read_note_lines, row_width_warning
from ingest.readers.text import KEY, KEY_VALUE

NOTE_SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt", ".text"})
# Files that an Obsidian ``[[link]]`` names with their extension; any other name is a note.
ATTACHMENT_SUFFIXES = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".bmp",
        ".pdf",
        ".mp3",
        ".mp4",
        ".webm",
        ".wav",
        ".ogg",
        ".m4a",
        ".mov",
        ".canvas",
    }
)
DATAVIEW_FIELD = re.compile(rf"^{KEY}::\s+\S")
# A Dataview field inside a sentence: "[Key:: Value]" or "(Key:: Value)".
INLINE_FIELD = re.compile(r"[\[(](?P<key>[^\[\]():]{1,60}?)::\s*(?P<value>[^\[\]()]*?)\s*[\])]")
KEY_ONLY = re.compile(r"^(?P<key>[^:]{1,60}?)::?$")
WIKI_LINK = re.compile(r"!?\[\[(?P<inner>[^\[\]\n]+?)\]\]")
# An Obsidian tag: "#" after a space or at the start of the text, then letters, digits, "_",
# "-" and "/" with at least one that is not a digit ("#2024" is not a tag).
INLINE_TAG = re.compile(r"(?<!\S)#(?P<tag>[\w/-]*[^\W\d][\w/-]*)")
CODE_TAB = re.compile(r'^===[+!]?\s+"[^"\n]*"\s*$')
# The most YAML nodes that front matter may expand to once aliases are resolved. Front matter
# of real notes has tens of nodes; an alias bomb of a few lines expands to billions.
MAX_FRONT_MATTER_NODES = 10_000


def _parser(*, front_matter: bool) -> MarkdownIt:
    parser = MarkdownIt("commonmark").enable("table")
    if front_matter:
        front_matter_plugin(parser)
    deflist_plugin(parser)
    admon_plugin(parser)
    return parser


PARSER = _parser(front_matter=True)
BODY_PARSER = _parser(front_matter=False)


def read_markdown(
    path: Path, display_path: str, data: bytes | None = None, *, notes_root: Path | None = None
) -> Document:
    """Read a Markdown note into a Document.

    ``notes_root`` is the notes folder that link targets are made relative to; without it,
    the note's own folder is used. Raises NoteSyntaxError for binary content, text that is not
    UTF-8, and front matter that is not valid YAML or expands beyond MAX_FRONT_MATTER_NODES.
    """
    raw, text, lines = read_note_lines(path, display_path, data)

    tree, metadata, warnings = _parse(text, display_path)
    links = LinkResolver(path, notes_root)
    reader = _MarkdownReader(display_path, lines, links)
    title, title_span, sections = reader.read(tree, metadata, Path(display_path).stem)
    warnings = [*warnings, *reader.warnings]
    return Document(
        path=path,
        display_path=display_path,
        title=title,
        title_span=title_span,
        sections=sections,
        line_count=len(lines),
        content_hash=hash_text(raw),
        text=text,
        metadata=metadata,
        tags=reader.tags,
        warnings=warnings,
    )


def _parse(
    text: str, display_path: str
) -> tuple[SyntaxTreeNode, dict[str, object], list[tuple[int, str]]]:
    """Parse the note; front matter that is not a YAML mapping is read as Markdown instead.

    Returns the tree, the front matter and warnings with their lines.
    """
    tree = SyntaxTreeNode(PARSER.parse(text))
    front = tree.children[0] if tree.children and tree.children[0].type == "front_matter" else None
    if front is None:
        if text.startswith("---") and text.partition("\n")[0].rstrip() == "---":
            return tree, {}, [(1, UNCLOSED_FRONT_MATTER)]
        return tree, {}, []

    metadata = load_front_matter(front.content, display_path, first_line=2)
    if metadata is None:
        return SyntaxTreeNode(BODY_PARSER.parse(text)), {}, [(1, NOT_A_MAPPING)]
    return tree, metadata, []


NOT_A_MAPPING = (
    "front matter is not a YAML mapping of keys to values, so it is read as text; "
    "write it as 'key: value' lines"
)
UNCLOSED_FRONT_MATTER = (
    "'---' opens front matter but no later '---' line closes it, so its lines are read as text; "
    "add the closing '---' line"
)


# ---------------------------------------------------------------------------
# Front matter
# ---------------------------------------------------------------------------


def load_front_matter(
    source: str, display_path: str, *, first_line: int
) -> dict[str, object] | None:
    """Load YAML front matter safely; return None when it is a scalar or a list.

    ``first_line`` is the note's line where the YAML text starts. Raises NoteSyntaxError with
    the note's line of the problem for invalid YAML, and for YAML that has more than
    MAX_FRONT_MATTER_NODES nodes once its aliases are expanded.
    """
    loader = yaml.SafeLoader(source)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_expanded_size(node, display_path, first_line)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        line = first_line + (error.problem_mark.line if error.problem_mark else 0)
        # PyYAML finds an unclosed bracket or quote where the next line starts, so the message
        # names the line where the unclosed part began too.
        context = ""
        if error.context and error.context_mark and error.context_mark.line + first_line < line:
            started = first_line + error.context_mark.line
            context = f" ({error.context.removeprefix('while ')}, which starts on line {started})"
        raise NoteSyntaxError(
            display_path,
            line,
            f"invalid YAML front matter: {error.problem or error}{context}; "
            "fix the YAML between the '---' lines",
        ) from error
    except (yaml.YAMLError, RecursionError) as error:
        raise NoteSyntaxError(
            display_path,
            first_line,
            f"invalid YAML front matter: {error}; fix the YAML between the '---' lines",
        ) from error
    finally:
        loader.dispose()

    if not isinstance(data, dict):
        return None
    return {str(key): value for key, value in data.items()}


def note_title(path: Path) -> str | None:
    """Return the title of the Markdown note at ``path``, or None when it cannot be read.

    The title is the front matter's ``title``, else the note's first heading when it is an
    H1, else the file name, as ``read_markdown`` gives it. The result is cached per file and
    modification time.
    """
    version = _file_version(path)
    return _note_title(*version) if version is not None else None


@functools.lru_cache(maxsize=4096)
def _note_title(path: str, modified_ns: int, size: int) -> str | None:
    # The note is parsed but not read: reading it would resolve its own links, and so on.
    try:
        _, text, _ = read_note_lines(Path(path), path, None)
        tree, metadata, _ = _parse(text, path)
    except (NoteSyntaxError, OSError):
        return None
    title = Path(path).stem
    if isinstance(metadata.get("title"), str) and str(metadata["title"]).strip():
        title = str(metadata["title"]).strip()
    heading = next((node for node in _walk_tree(tree) if node.type == "heading"), None)
    if heading is not None and heading.tag == "h1":
        inline = next((child for child in heading.children if child.type == "inline"), None)
        title = inline.content.strip() if inline is not None else title
    return title


def front_matter_id(path: Path) -> tuple[str, int] | None:
    """Return the ``id`` that a Markdown note's front matter sets, with its line, or None.

    Links read it to lead to the note's IRI, and the error about a taken id reads it to name
    the line. The result is cached per file and modification time, because many notes may
    link to one note.
    """
    version = _file_version(path)
    return _front_matter_id(*version) if version is not None else None


def _file_version(path: Path) -> tuple[str, int, int] | None:
    """Return the path, modification time and size of a file, which key the caches, or None."""
    try:
        status = path.stat()
    except OSError:
        return None
    return str(path), status.st_mtime_ns, status.st_size


@functools.lru_cache(maxsize=4096)
def _front_matter_id(path: str, modified_ns: int, size: int) -> tuple[str, int] | None:
    try:
        with open(path, encoding="utf-8") as note:
            if note.readline().rstrip() != "---":
                return None
            lines = []
            for text in note:
                if text.rstrip() in ("---", "..."):
                    break
                lines.append(text)
            else:
                return None
    except (OSError, UnicodeDecodeError):
        return None
    try:
        metadata = load_front_matter("".join(lines), path, first_line=2)
    except NoteSyntaxError:
        return None
    value = note_id(metadata.get("id")) if metadata else None
    if value is None:
        return None
    line = next((number for number, text in enumerate(lines, start=2) if text.startswith("id:")), 2)
    return value, line


def _check_expanded_size(root: yaml.Node, display_path: str, first_line: int) -> None:
    """Raise NoteSyntaxError when the YAML nodes expand beyond MAX_FRONT_MATTER_NODES.

    An alias makes a node appear again wherever it is used, so the expanded size of a node is
    one plus the expanded sizes of its children, counting shared children each time.
    """
    sizes: dict[int, int] = {}
    pending: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in pending:
            _reject(
                display_path,
                first_line + node.start_mark.line,
                "an alias refers to the node that contains it",
            )
        pending.add(id(node))
        total = 1 + sum(size(child) for child in _children(node))
        pending.discard(id(node))
        if total > MAX_FRONT_MATTER_NODES:
            _reject(
                display_path,
                first_line + node.start_mark.line,
                f"it expands to more than {MAX_FRONT_MATTER_NODES} YAML nodes through its aliases",
            )
        sizes[id(node)] = total
        return total

    size(root)


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _reject(display_path: str, line: int, reason: str) -> NoReturn:
    raise NoteSyntaxError(
        display_path,
        line,
        f"front matter rejected: {reason}; write the values out instead of repeating anchors",
    )


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


class Outline:
    """The sections of a note, built from headings and content in document order.

    Content before the first heading goes into an untitled section, as in a plain-text note.
    Every section's span grows to cover the content and the subsections added under it.
    """

    def __init__(self, base_level: int) -> None:
        self.base_level = base_level
        self.sections: list[Section] = []
        self._open: list[Section] = []
        self._intro: Section | None = None

    def heading(self, title: str, level: int, span: LineSpan) -> Section:
        """Start a section at heading ``level``, counted so that ``base_level`` is level 1."""
        section = Section(title, max(level - self.base_level + 1, 1), span)
        while self._open and self._open[-1].level >= section.level:
            self._open.pop()

        if self._open:
            self._open[-1].subsections.append(section)
            self._extend(span)
        else:
            self.sections.append(section)
        self._open.append(section)
        return section

    def current(self, span: LineSpan) -> Section:
        """Return the section that content at ``span`` belongs to, and extend its span."""
        section = self._open[-1] if self._open else self._intro
        if section is None:
            section = self._intro = Section("", 1, span)
            self.sections.append(section)

        self._extend(span)
        return section

    def _extend(self, span: LineSpan) -> None:
        for section in self._open or ([self._intro] if self._intro else []):
            section.span = LineSpan(section.span.start, max(section.span.end, span.end))


def read_item(text: str, span: LineSpan) -> KeyValue | Paragraph:
    """Read one bullet: ``Key: Value`` or ``Key:: Value`` is a KeyValue, else a Paragraph."""
    pair = KEY_VALUE.match(text)
    if pair:
        return KeyValue(pair.group("key").strip(), pair.group("value").strip(), span)
    return Paragraph(text, span)


def inline_fields(text: str, span: LineSpan) -> list[KeyValue]:
    """Return the Dataview fields inside a text (``[Key:: Value]``, ``(Key:: Value)``)."""
    return [
        KeyValue(field.group("key").strip(), field.group("value"), span)
        for field in INLINE_FIELD.finditer(text)
        if field.group("value")
    ]


def read_lines(
    lines: list[tuple[int, str]], linked_keys: Collection[int] = ()
) -> list[KeyValue | Paragraph]:
    """Read the lines of a paragraph into KeyValues and Paragraphs.

    Every line is a KeyValue when all lines read ``Key: Value``. Otherwise only ``Key:: Value``
    lines are, and each run of other lines is one Paragraph with the lines joined by spaces.
    A Dataview field inside a line (``[Key:: Value]``) is a KeyValue too, and its line stays in
    the Paragraph. The lines numbered in ``linked_keys`` had a link before their first colon,
    so they are no KeyValue.
    """
    lines = [(number, text.strip()) for number, text in lines if text.strip()]
    every_line_pairs = all(
        KEY_VALUE.match(text) and number not in linked_keys for number, text in lines
    )
    found: list[KeyValue | Paragraph] = []
    run: list[tuple[int, str]] = []
    for number, text in lines:
        if every_line_pairs or (DATAVIEW_FIELD.match(text) and number not in linked_keys):
            _flush(run, found)
            found.append(read_item(text, LineSpan(number, number)))
        else:
            run.append((number, text))
            found.extend(inline_fields(text, LineSpan(number, number)))
    _flush(run, found)
    return found


def _flush(run: list[tuple[int, str]], found: list[KeyValue | Paragraph]) -> None:
    if run:
        text = " ".join(text for _, text in run)
        found.append(Paragraph(text, LineSpan(run[0][0], run[-1][0])))
        run.clear()


def add_parts(section: Section, parts: list[KeyValue | Paragraph]) -> None:
    """Add KeyValues to the section's items and Paragraphs to its paragraphs."""
    for part in parts:
        if isinstance(part, KeyValue):
            section.items.append(part)
        else:
            section.paragraphs.append(part)


# ---------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------


class LinkResolver:
    """Turns link targets into note paths relative to the notes folder.

    Without a notes folder the note's own folder is used in its place, which is right for a
    flat folder of notes.
    """

    def __init__(self, note: Path, notes_root: Path | None) -> None:
        self.root = notes_root if notes_root is not None else note.parent
        try:
            folder = note.parent.relative_to(self.root).as_posix()
        except ValueError:
            folder = ""
        self.folder = "" if folder == "." else folder
        self._index: dict[str, list[str]] | None = None
        # The notes of each name that several folders have, by the one that links lead to.
        self._matches: dict[str, list[str]] = {}

    def url(self, href: str) -> str:
        """Return the target of a Markdown or HTML link: a note path, or ``href`` as written."""
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path:
            return href

        path = unquote(parts.path)
        if Path(path).suffix.lower() not in NOTE_SUFFIXES:
            return href
        resolved = path.lstrip("/") if path.startswith("/") else posixpath.join(self.folder, path)
        return _with_fragment(posixpath.normpath(resolved), parts.fragment)

    def wiki(self, inner: str) -> tuple[str, str]:
        """Return the text and target of the wiki link ``[[inner]]``.

        Without an alias, the text of a link to a heading is the note's name and the heading
        joined by " > " (``redis > Persistence``), as Obsidian shows it.
        """
        target, _, alias = inner.partition("|")
        name, _, fragment = target.strip().partition("#")
        parts = [part.strip() for part in (name, *fragment.split("#")) if part.strip()]
        text = alias.strip() or " > ".join(parts)
        if not name:
            return text, f"#{fragment}"

        suffix = Path(name).suffix.lower()
        if suffix not in NOTE_SUFFIXES and suffix not in ATTACHMENT_SUFFIXES:
            name = f"{name}.md"
        return text, _with_fragment(self._find(name), fragment)

    def link(self, text: str, target: str, span: LineSpan, written: str = "") -> Link:
        """Return a link to ``target``, from ``url`` or ``wiki``, written as ``written``."""
        missing = self.is_missing(target)
        note_id = None if missing else self.note_id(target)
        path = target.split("#", 1)[0]
        others: tuple[str, ...] = ()
        inner, bar, _ = written.removeprefix("[[").partition("|")
        name = inner.partition("#")[0]
        if written.startswith("[[") and "/" not in name:
            others = tuple(other for other in self._matches.get(path, []) if other != path)
        title = None
        if written.startswith("[[") and not bar and not missing and path.endswith(".md"):
            found = note_title(self.root / path)
            title = found if found and make_slug(found) == make_slug(text) else None
        return Link(text, target, span, missing, note_id, written or text, others, title)

    def note_id(self, target: str) -> str | None:
        """Return the front matter ``id`` of the Markdown note that a target leads to, or None."""
        path = target.split("#", 1)[0]
        if not path or Path(path).suffix.lower() not in (".md", ".markdown"):
            return None
        found = front_matter_id(self.root / path)
        return found[0] if found is not None else None

    def is_missing(self, target: str) -> bool:
        """Return whether a target from ``url`` or ``wiki`` is a note path with no file."""
        path = target.split("#", 1)[0]
        if not path or urlsplit(path).scheme or Path(path).suffix.lower() not in NOTE_SUFFIXES:
            return False
        return not (self.root / path).is_file()

    def finds(self, path: str) -> bool:
        """Return whether a note path that a link led to names a note file now.

        The path is looked up as a wiki link is, by its path and then by its file name anywhere.
        """
        return not self.is_missing(self._find(path))

    def _find(self, name: str) -> str:
        """Find a wiki link's file by its path, else by its file name anywhere, ignoring case.

        A path that the notes folder lacks is looked for at the end of longer paths, because
        an Obsidian vault inside the ingested folder writes paths from the vault's folder.
        """
        if (self.root / name).is_file():
            return posixpath.normpath(name)

        matches = self._files_by_name().get(Path(name).name.casefold(), [])
        if "/" in name:
            ending = "/" + posixpath.normpath(name).casefold()
            matches = [match for match in matches if ("/" + match.casefold()).endswith(ending)]
            if not matches:
                return posixpath.normpath(name)
        if not matches:
            return name
        # Two notes of one name in different folders: the link leads to the first in sorted
        # path order, and the build warns, because Obsidian writes the folder into such links.
        chosen = min(matches)
        if len(matches) > 1:
            self._matches[chosen] = sorted(matches)
        return chosen

    def _files_by_name(self) -> dict[str, list[str]]:
        """Index the files under the notes folder by lowercase file name, once per note."""
        if self._index is None:
            self._index = {}
            for folder, subfolders, files in os.walk(self.root):
                subfolders[:] = [name for name in subfolders if not name.startswith(".")]
                for file in files:
                    relative = (Path(folder) / file).relative_to(self.root).as_posix()
                    self._index.setdefault(file.casefold(), []).append(relative)
        return self._index


def _source_cell_count(line: str) -> int:
    """Count the cells of a pipe table row as written, before GFM fits it to its header.

    Cells are split at each pipe that no backslash escapes; a blockquote's ``>`` markers
    before the row are skipped.
    """
    text = re.sub(r"^[\s>]*", "", line).rstrip()
    parts = re.split(r"(?<!\\)\|", text)
    if text.startswith("|"):
        parts = parts[1:]
    if len(parts) > 1 and re.search(r"(?<!\\)\|$", text):
        parts = parts[:-1]
    return len(parts)


def _with_fragment(path: str, fragment: str) -> str:
    return f"{path}#{fragment}" if fragment else path


# ---------------------------------------------------------------------------
# The syntax tree
# ---------------------------------------------------------------------------


@dataclass
class _Inline:
    """The plain text of inline content, line by line, and the links in it."""

    lines: list[tuple[int, str]]
    links: list[Link] = field(default_factory=list)
    # Where the text of each link starts: the index in ``lines`` and the offset in its text.
    link_starts: list[tuple[int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(part.strip() for _, part in self.lines if part.strip())

    def linked_keys(self) -> set[int]:
        """Return the line numbers whose text has a link before its first colon.

        Such a line is no ``Key: Value`` line, because a key has no square bracket.
        """
        found = set()
        for index, offset in self.link_starts:
            number, text = self.lines[index]
            colon = text.find(":")
            if colon == -1 or offset < colon:
                found.add(number)
        return found


class _MarkdownReader:
    def __init__(self, display_path: str, lines: list[str], links: LinkResolver) -> None:
        self.display_path = display_path
        self.lines = lines
        self.line_count = len(lines)
        self.links = links
        # Problems found while reading, as (line, message).
        self.warnings: list[tuple[int, str]] = []
        # Inline tags, as (line, tag).
        self.tags: list[tuple[int, str]] = []
        self.outline = Outline(1)
        self.title_node: SyntaxTreeNode | None = None

    def read(
        self, tree: SyntaxTreeNode, metadata: dict[str, object], stem: str
    ) -> tuple[str, LineSpan, list[Section]]:
        """Return the title, its span and the sections of the parsed note."""
        headings = [node for node in _walk_tree(tree) if node.type == "heading"]
        title, title_span = stem, LineSpan(1, 1)
        if isinstance(metadata.get("title"), str) and str(metadata["title"]).strip():
            title = str(metadata["title"]).strip()
        if headings and headings[0].tag == "h1":
            self.title_node = headings[0]
            title, title_span = self._inline(headings[0]).text, self._span(headings[0])
            headings = headings[1:]

        self.outline = Outline(min((_level(node) for node in headings), default=1))
        self._children(tree)
        return title, title_span, self.outline.sections

    # Block nodes

    def _children(self, node: SyntaxTreeNode) -> None:
        children = node.children
        for index, child in enumerate(children):
            after = children[index + 1] if index + 1 < len(children) else None
            if _is_code_tab(child) and after is not None and after.type == "code_block":
                continue
            if child.type == "code_block" and index > 0 and _is_code_tab(children[index - 1]):
                self._code_tab(child)
                continue
            self._block(child)

    def _block(self, node: SyntaxTreeNode) -> None:
        handlers = {
            "heading": self._heading,
            "paragraph": self._paragraph,
            "bullet_list": self._list,
            "ordered_list": self._list,
            "table": self._table,
            "fence": self._code,
            "code_block": self._code,
            "dl": self._definitions,
        }
        handler = handlers.get(node.type)
        if handler is not None:
            handler(node)
        elif node.type not in ("front_matter", "admonition_title", "hr", "html_block"):
            # NOTE: raw HTML blocks in Markdown are skipped, not read as HTML.
            self._children(node)

    def _heading(self, node: SyntaxTreeNode) -> None:
        if node is self.title_node:
            return

        inline = self._inline(node)
        section = self.outline.heading(inline.text, _level(node), self._span(node))
        section.links.extend(inline.links)

    def _paragraph(self, node: SyntaxTreeNode) -> None:
        inline = self._inline(node)
        parts = read_lines(inline.lines, inline.linked_keys())
        if not parts and not inline.links:
            return

        section = self.outline.current(self._span(node))
        add_parts(section, parts)
        section.links.extend(inline.links)

    def _list(self, node: SyntaxTreeNode) -> None:
        for item in node.children:
            self._list_item(item)

    def _list_item(self, item: SyntaxTreeNode) -> None:
        children = list(item.children)
        if not children or children[0].type != "paragraph":
            self._children(item)
            return

        first = children.pop(0)
        inline = self._inline(first)
        key = KEY_ONLY.match(inline.text)
        nested = [child for child in children if child.type in ("bullet_list", "ordered_list")]
        if key and len(nested) == 1:
            self._key_with_list(key.group("key").strip(), first, nested[0], inline)
            children.remove(nested[0])
        elif inline.text or inline.links:
            section = self.outline.current(self._span(first))
            if inline.text:
                span = self._span(first)
                part = (
                    Paragraph(inline.text, span)
                    if inline.linked_keys() & {inline.lines[0][0]}
                    else read_item(inline.text, span)
                )
                fields = (
                    inline_fields(inline.text, part.span) if isinstance(part, Paragraph) else []
                )
                add_parts(section, [part, *fields])
            section.links.extend(inline.links)
        for child in children:
            self._block(child)

    def _key_with_list(
        self, key: str, first: SyntaxTreeNode, nested: SyntaxTreeNode, inline: _Inline
    ) -> None:
        """Read ``- Key:`` with nested bullets as one KeyValue whose value lists the bullets."""
        values: list[str] = []
        links = list(inline.links)
        for item in nested.children:
            head = (
                item.children[0] if item.children and item.children[0].type == "paragraph" else None
            )
            if head is not None:
                nested_inline = self._inline(head)
                values.append(nested_inline.text)
                links.extend(nested_inline.links)
            for child in item.children[1 if head is not None else 0 :]:
                self._block(child)

        span = LineSpan(self._span(first).start, self._span(nested).end)
        section = self.outline.current(span)
        section.items.append(KeyValue(key, ", ".join(value for value in values if value), span))
        section.links.extend(links)

    def _definitions(self, node: SyntaxTreeNode) -> None:
        """Read a definition list: each term with each of its definitions is a KeyValue."""
        term: _Inline | None = None
        for child in node.children:
            if child.type == "dt":
                term = self._inline(child)
                continue
            definition = _Inline(
                [(line, text) for para in child.children for line, text in self._inline(para).lines]
            )
            section = self.outline.current(self._span(child))
            if term is not None and term.text:
                section.items.append(
                    KeyValue(
                        term.text,
                        definition.text,
                        LineSpan(term.lines[0][0], self._span(child).end),
                    )
                )
                section.links.extend(term.links)
            section.links.extend(self._links_under(child))

    def _table(self, node: SyntaxTreeNode) -> None:
        rows = [row for part in node.children for row in part.children]
        if not rows:
            return

        cells = [[self._cell(cell) for cell in row.children] for row in rows]
        header = [cell.text for cell in cells[0]]
        for row in rows[1:]:
            if row.map is not None and row.map[0] < len(self.lines):
                count = _source_cell_count(self.lines[row.map[0]])
                warning = row_width_warning(row.map[0] + 1, count, len(header))
                if warning is not None:
                    self.warnings.append(warning)
        body = [
            TableRow([cell.text for cell in row_cells], self._span(row))
            for row, row_cells in zip(rows[1:], cells[1:], strict=True)
        ]
        section = self.outline.current(self._span(node))
        section.tables.append(Table(header, body, self._span(node), self._span(rows[0])))
        section.links.extend(
            link for row_cells in cells for cell in row_cells for link in cell.links
        )

    def _code(self, node: SyntaxTreeNode) -> None:
        code = node.content[:-1] if node.content.endswith("\n") else node.content
        language = _language(node.info) if node.type == "fence" else None
        section = self.outline.current(self._span(node))
        section.code_blocks.append(CodeBlock(code, language, self._span(node)))

    def _code_tab(self, node: SyntaxTreeNode) -> None:
        """Read the content of an MkDocs code tab, which CommonMark parsed as indented code."""
        tokens = BODY_PARSER.parse(node.content)
        offset = node.map[0] if node.map else 0
        _shift(tokens, offset)
        self._children(SyntaxTreeNode(tokens))

    # Inline content

    def _inline(self, node: SyntaxTreeNode) -> _Inline:
        """Return the plain text and links of a heading, paragraph or table cell."""
        inline = next((child for child in node.children if child.type == "inline"), None)
        start = self._span(node).start
        found = _Inline([(start, "")])
        if inline is not None:
            self._inline_children(inline, found)
        return found

    def _inline_children(self, node: SyntaxTreeNode, found: _Inline) -> None:
        for child in node.children:
            if child.type in ("softbreak", "hardbreak"):
                found.lines.append((min(found.lines[-1][0] + 1, max(self.line_count, 1)), ""))
            elif child.type == "text":
                self._text(child.content, found)
            elif child.type == "code_inline":
                self._append(found, child.content)
            elif child.type == "link":
                self._link(child, found)
            elif child.type != "html_inline":
                # An image's children are its alt text, which stays in the text.
                self._inline_children(child, found)

    def _text(self, content: str, found: _Inline) -> None:
        line = found.lines[-1][0]
        position = 0
        for match in WIKI_LINK.finditer(content):
            text, target = self.links.wiki(match.group("inner"))
            self._find_tags(content[position : match.start()], line)
            self._append(found, content[position : match.start()])
            found.link_starts.append((len(found.lines) - 1, len(found.lines[-1][1])))
            self._append(found, text)
            span = LineSpan(line, line)
            found.links.append(self.links.link(text, target, span, match.group(0)))
            position = match.end()
        self._find_tags(content[position:], line)
        self._append(found, content[position:])

    def _find_tags(self, text: str, line: int) -> None:
        for match in INLINE_TAG.finditer(text):
            self.tags.append((line, match.group("tag").rstrip("/")))

    def _link(self, node: SyntaxTreeNode, found: _Inline) -> None:
        found.link_starts.append((len(found.lines) - 1, len(found.lines[-1][1])))
        start = found.lines[-1][0]
        inner = _Inline([(start, "")])
        self._inline_children(node, inner)
        for _, part in inner.lines:
            self._append(found, part)
        text = inner.text
        href = str(node.attrs.get("href", ""))
        target = self.links.url(href)
        span = LineSpan(start, inner.lines[-1][0])
        found.links.append(self.links.link(text, target, span, f"[{text}]({href})"))
        found.links.extend(inner.links)

    @staticmethod
    def _append(found: _Inline, text: str) -> None:
        line, before = found.lines[-1]
        found.lines[-1] = (line, before + text)

    def _cell(self, cell: SyntaxTreeNode) -> _Inline:
        return self._inline(cell) if cell.children else _Inline([(1, "")])

    def _links_under(self, node: SyntaxTreeNode) -> list[Link]:
        return [
            link
            for child in node.children
            if child.type == "paragraph"
            for link in self._inline(child).links
        ]

    def _span(self, node: SyntaxTreeNode) -> LineSpan:
        """Return the 1-based lines of a node, or of its nearest ancestor that has a line map."""
        current: SyntaxTreeNode | None = node
        while current is not None and not current.is_root and current.map is None:
            current = current.parent
        if current is None or current.is_root or current.map is None:
            return LineSpan(1, 1)

        last = max(self.line_count, 1)
        start = min(current.map[0] + 1, last)
        return LineSpan(start, min(max(current.map[1], start), last))


def _walk_tree(node: SyntaxTreeNode) -> Iterator[SyntaxTreeNode]:
    for child in node.children:
        yield child
        yield from _walk_tree(child)


def _level(heading: SyntaxTreeNode) -> int:
    return int(heading.tag[1:])


def _language(info: str) -> str | None:
    """Return a fence's language: the first word of the info string, as in ``py title="a.py"``."""
    words = info.split()
    language = words[0].strip("{}.").lower() if words else ""
    return language or None


def _is_code_tab(node: SyntaxTreeNode) -> bool:
    if node.type != "paragraph":
        return False
    inline = next((child for child in node.children if child.type == "inline"), None)
    return inline is not None and CODE_TAB.match(inline.content) is not None


def _shift(tokens: list[Token], offset: int) -> None:
    for token in tokens:
        if token.map is not None:
            token.map = [token.map[0] + offset, token.map[1] + offset]
