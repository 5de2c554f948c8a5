"""The API names that a block of Python code uses, found with Python's own parser."""

from __future__ import annotations

import ast
import builtins


def python_api_names(code: str) -> list[str]:
    """Return the library names the code uses, qualified by module where the code imports them.

    ``from sklearn.pipeline import make_pipeline`` and a call of ``make_pipeline`` give
    ``sklearn.pipeline.make_pipeline``. Capitalised names the code calls without importing or
    defining them (``SimpleImputer``) and attributes of undefined names (``np.number``) are
    returned as written. Builtins, names the code assigns and other undefined lowercase names
    are left out. Returns [] for code that does not parse.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # CPython 3.11 raises ValueError for NUL bytes, and RecursionError or MemoryError
        # for deeply nested expressions.
        return []

    imported = _imported_names(tree)
    assigned = _assigned_names(tree)
    # The inner parts of ``np.linalg.norm`` (``np`` and ``np.linalg``) are not names of their own.
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        if id(node) in inner:
            continue
        name = _used_name(node)
        if name is None:
            continue
        head, _, rest = name.partition(".")
        if head in imported:
            found[imported[head] + ("." + rest if rest else "")] = None
        elif (
            head not in assigned
            and not hasattr(builtins, head)
            and _looks_like_api(node, name, called)
        ):
            found[name] = None
    return sorted(found)


def _looks_like_api(node: ast.AST, name: str, called: set[int]) -> bool:
    """Return whether a name the code neither imports nor assigns is likely a library name.

    An attribute chain (``np.number``) is, and so is a called capitalised name, a class from
    an import the snippet left out (``SimpleImputer()``). A lowercase bare name
    (``model(batch)``) is more likely a variable defined outside the snippet.
    """
    if "." in name:
        return True
    return id(node) in called and name[:1].isupper()


def _imported_names(tree: ast.AST) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
    return names


def _assigned_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _used_name(node: ast.AST) -> str | None:
    """Return ``a`` or ``a.b.c`` for a loaded name or attribute chain, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        parts = [node.attr]
        value = node.value
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name):
            return ".".join([value.id, *reversed(parts)])
        return None
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return node.id
    return None
