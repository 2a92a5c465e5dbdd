"""Text → syntax tree (``planner.syntax.ast``), with lark's errors in plain words.

Well-formed text is read by ``planner.syntax.fast`` (no lark: a fraction of the time, the
same tree); whatever that reader leaves, among it every text with a mistake, by lark's
parser (``planner.syntax.lalr``), whose errors ``planner.syntax.lark_errors`` words. lark
is imported only then.

Error recovery: a file that does not parse is cut into pieces at every line
that starts (column 1) with a statement keyword followed by a string
(``gpu "A10G"``, ``import "std"``, ``sweep "t"``), and each piece is parsed on
its own, its positions shifted by the lines before it (no piece is re-read from
the start of the file, so recovery stays linear in the file).  In valid text such a line always starts a statement (a keyword
followed by a string fits nowhere inside one, and strings and comments end at
the line's end), so the pieces parse exactly as the whole file would; in a
broken file each broken piece gives one error and the others parse.
"""

from __future__ import annotations

import re

from planner.errors import PlanError, PlanErrors, PlanLimitError, Span
from planner.syntax import fast
from planner.syntax.ast import Comment, File
from planner.collector import paused
from planner.syntax.limits import (
    MAX_ERRORS, MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_STATEMENTS, MAX_TOKENS, thousands, too_many_errors,
)
from planner.syntax.nodes import unquote

__all__ = ["parse_text", "parse_recovering", "unquote", "STATEMENT_KEYWORDS"]

STATEMENT_KEYWORDS = ("import", "plan", "gpu", "model", "serve", "finetune", "pretrain", "sweep")
# Where parsing starts again after a syntax error: see the module docstring.
_RESYNC = re.compile(r"^(%s)[ \t]*\"" % "|".join(STATEMENT_KEYWORDS), re.MULTILINE)
_LONG_LINE = re.compile(r"^[^\n]{%d}" % (MAX_LINE_CHARS + 1), re.MULTILINE)
# What the lexer would count as one token, near enough to bound a file's size in tokens.
_TOKEN = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"?|[A-Za-z0-9_.\-/%]+|[^\sA-Za-z0-9_.\-/%]')


def parse_text(text: str, path: str) -> File:
    """Parse one file's text; raise PlanSyntaxError, or PlanErrors with every independent syntax error."""
    file, errors = parse_recovering(text, path)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PlanErrors(errors)
    return file


def parse_recovering(text: str, path: str) -> tuple[File, list[PlanError]]:
    """The statements that parse and one syntax error per broken piece (see the module docstring).

    With errors, the returned File holds only the pieces that parsed whole, and no
    comments; it is meant for checking those statements, never for formatting.
    A text past a size limit (``planner.syntax.limits``) gives that one error.
    """
    with paused():
        return _parse_recovering(text, path)


def _parse_recovering(text: str, path: str) -> tuple[File, list[PlanError]]:
    too_large = _size_error(text, path)
    if too_large is not None:
        return File(path, ()), [too_large]
    read = fast.read(text, path)
    if read is not None:
        parsed, comments = read
        if len(parsed) > MAX_STATEMENTS:
            return File(path, ()), [_too_many(parsed[MAX_STATEMENTS])]
        return File(path, tuple(parsed), comments), []
    return _parse_with_lark(text, path)


def _parse_with_lark(text: str, path: str) -> tuple[File, list[PlanError]]:
    """``parse_recovering`` by lark's parser: for text the fast reader leaves to it."""
    from lark.exceptions import UnexpectedInput

    from planner.syntax.lalr import At, parse
    from planner.syntax.lark_errors import syntax_error

    try:
        parsed, comments = parse(text, At(path, 0))
    except UnexpectedInput as whole:
        first = whole
    else:
        if len(parsed) > MAX_STATEMENTS:
            return File(path, ()), [_too_many(parsed[MAX_STATEMENTS])]
        return File(path, tuple(parsed), tuple(Comment(str(t).rstrip(), t.line, t.column) for t in comments)), []
    statements: list = []
    errors: list[PlanError] = []
    starts = sorted({0} | {m.start() for m in _RESYNC.finditer(text)})
    line = 0  # lines before the piece: each piece is parsed alone, its spans shifted
    for begin, end in zip(starts, starts[1:] + [len(text)]):
        piece = text[begin:end]
        at = At(path, line)
        if len(errors) >= MAX_ERRORS:
            errors.append(too_many_errors(Span.point(path, line + 1)))
            break
        line += piece.count("\n")
        try:
            parsed, _ = parse(piece, at)
        except UnexpectedInput as error:
            following = _RESYNC.match(text, end) if end < len(text) else None
            errors.append(syntax_error(error, piece, at, following))
            continue
        if len(statements) + len(parsed) > MAX_STATEMENTS:
            return File(path, ()), [_too_many(parsed[MAX_STATEMENTS - len(statements)])]
        statements.extend(parsed)
    if not errors:
        # Unreachable while the argument in the module docstring holds; never report a broken file as valid.
        errors.append(syntax_error(first, text, At(path, 0), None))
        statements = []
    return File(path, tuple(statements)), errors


def _size_error(text: str, path: str) -> PlanLimitError | None:
    """The file is longer than MAX_FILE_BYTES, or a line longer than MAX_LINE_CHARS."""
    if len(text) > MAX_FILE_BYTES:
        return PlanLimitError(f"the file is larger than the limit of {thousands(MAX_FILE_BYTES)} bytes",
                              Span.point(path))
    long = _LONG_LINE.search(text)
    if long is not None:
        line = text.count("\n", 0, long.start()) + 1
        column = long.start() - (text.rfind("\n", 0, long.start()) + 1) + MAX_LINE_CHARS + 1
        return PlanLimitError(f"line {line} is longer than the limit of {thousands(MAX_LINE_CHARS)} characters; "
                              "split it (a list may span lines)", Span.point(path, line, column))
    # Counted before parsing, so that parsing time stays bounded: statements that start a
    # line (the exact count, of every statement, follows the parse) and tokens.
    for count, (limit, what) in ((_count(_RESYNC, text), (MAX_STATEMENTS, "statements")),
                                 (_TOKEN.subn("", text)[1], (MAX_TOKENS, "tokens"))):
        if count > limit:
            return PlanLimitError(f"the file has more than {thousands(limit)} {what}; split the plan into "
                                  "files that import each other", Span.point(path))
    return None


def _count(pattern: re.Pattern, text: str) -> int:
    return sum(1 for _ in pattern.finditer(text))


def _too_many(statement) -> PlanLimitError:
    return PlanLimitError(f"more than {thousands(MAX_STATEMENTS)} statements in one file; "
                          "split the plan into files that import each other", statement.span)
