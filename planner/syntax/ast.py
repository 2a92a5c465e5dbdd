"""The syntax tree of one .plan file: what was written, where, and nothing more.

Values keep the text as written (``text``) so that ``planner fmt`` can print
them back unchanged and sweeps can label their rows with it; conversion to
base units happens later (``planner.syntax.convert``).
"""

from __future__ import annotations

from dataclasses import field

from planner.errors import Span
from planner.frozen import frozen


@frozen
class Value:
    """A value: ``kind`` is string | number | quantity | tokens | price | bool | word | list | bad.

    ``number`` is the numeric part as written (quantity, tokens, price, number),
    ``unit`` the suffix (``GB``, ``k``, ``/h``, ``USD/h``), ``items`` a list's values.
    """

    kind: str
    text: str
    span: Span
    number: str | None = None
    unit: str | None = None
    items: tuple["Value", ...] = ()


@frozen
class Entry:
    """A ``key = value`` (or ``key <= value``) line of a block."""

    key: str
    op: str  # "=" or "<="
    value: Value
    key_span: Span
    span: Span


@frozen
class SubBlock:
    """A nested block without a name, such as ``layout { ... }``."""

    kind: str
    entries: tuple[Entry, ...]
    kind_span: Span
    brace_span: Span  # the opening `{`
    span: Span


@frozen
class Block:
    """A named block, such as ``gpu "H100" { ... }``."""

    kind: str
    name: str  # the string's content, unquoted
    name_text: str  # the string as written, quotes and escapes included
    items: tuple[Entry | SubBlock, ...]
    kind_span: Span
    name_span: Span
    brace_span: Span  # the opening `{`
    span: Span


@frozen
class ImportStmt:
    """An ``import "path"`` statement."""

    path: str
    path_text: str
    path_span: Span
    span: Span


@frozen
class SweepStmt:
    """A ``sweep "target".key = [values]`` statement."""

    target: str
    target_text: str
    key: str
    values: Value  # kind "list"
    target_span: Span
    key_span: Span
    span: Span


Statement = ImportStmt | Block | SweepStmt


@frozen
class Comment:
    """A comment, kept for ``fmt``."""

    text: str
    line: int
    column: int


@frozen
class File:
    """A parsed file: its statements and comments."""

    path: str
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...] = field(default=())
