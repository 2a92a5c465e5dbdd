"""lark's syntax errors in plain words: `file:line:col`, what was found, what was expected.

Only text that lark could not parse comes here (``planner.syntax.parser``), so these
messages, and the positions they point at, are lark's reading of the text.
"""

from __future__ import annotations

import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from planner.errors import PlanSyntaxError, Span
from planner.syntax.lalr import At, lex
from planner.syntax.units import ALL_UNITS, suffix_hint

_WORDS = {
    "NAME": "a name",
    "STRING": 'a string in double quotes ("...")',
    "NUMBER": "a number",
    "QUANTITY": "a number with a unit (8k, 1GB, 50ms)",
    "TOKENS": "`tokens`",
    "PER_HOUR": "`/h`",
    "RATE": "a price unit such as `USD/h`",
    "TRUE": "`true`",
    "FALSE": "`false`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "EQUAL": "`=`",
    "LE": "`<=`",
    "IMPORT": "`import`",
    "SWEEP": "`sweep`",
    "$END": "the end of the file",
}
# true, false, import and sweep lex as NAME where a NAME is allowed, so lark lists only NAME.
_VALUE_START = {"STRING", "NUMBER", "QUANTITY", "NAME", "LSQB"}
_TOP = 'a block such as `gpu "A100-80G" { ... }`, `import "..."` or `sweep "...".key = [...]`'
_VALUE_WORDS = "a value (a string, a number, a quantity such as 8k or 1GB, true/false, a word or a [list])"


def _expected(names: set[str]) -> str:
    names = {n for n in names if n != "BAD_NUMBER"}
    if names >= {"IMPORT", "SWEEP", "NAME"} or names == {"NAME"}:
        return _TOP
    if names >= {"EQUAL", "LE"}:
        return "`=` (or `<=` for a limit) after the key"
    if names >= {"NAME", "RBRACE"}:
        return "`key = value` or `}`"
    words = []
    if _VALUE_START <= names:
        words.append(_VALUE_WORDS)
        # At the end of the text lark also lists `true` and `false`, which "a value" covers.
        names = names - _VALUE_START - {"BAD_NUMBER", "TRUE", "FALSE"}
    words.extend(_WORDS.get(n, n) for n in sorted(names))
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    return f"`{token}`"


def syntax_error(error: UnexpectedInput, text: str, at: At,
                  following: re.Match | None = None) -> PlanSyntaxError:
    """One error for what lark could not read in ``text``, a piece of the file at ``at``.

    ``following`` is the statement keyword where the text was cut (error
    recovery); running out of text there means that statement came too early.
    Positions inside the piece are shifted by the lines before it, so no piece
    is ever re-read from the start of the file.
    """
    found = _piece_error(error, text, at.path, following, at.line_offset)
    span, o = found.span, at.line_offset
    if span is None or not o:
        return found
    return PlanSyntaxError(found.message, Span(span.file, span.line + o, span.column, span.end_line + o,
                                               span.end_column))


def _piece_error(error: UnexpectedInput, text: str, path: str, following: re.Match | None,
                 offset: int) -> PlanSyntaxError:
    at_end = isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END")
    if at_end:
        pos = len(text)
    elif isinstance(error, UnexpectedToken):
        pos = error.token.start_pos
    else:
        pos = error.pos_in_stream
    spaced = _spaced_unit(text, pos, path) or _bad_unit_tokens(text, pos, path)
    if spaced is not None:
        return spaced
    if at_end:
        return _unfinished(text, path, set(error.expected), following.group(1) if following else None, offset)
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
        span = Span(path, error.line, error.column, error.line, error.column + 1)
        if char == '"':
            return PlanSyntaxError("string is not closed: a string ends with `\"` on the same line", span)
        if char == ":":
            return PlanSyntaxError("unexpected `:`; write `key = value`", span)
        shown = repr(char)[1:-1] if not char.isprintable() or char.isspace() else char
        allowed = set(error.allowed or ())
        if allowed == {"NAME"} and text[: error.pos_in_stream].rstrip().endswith("."):
            return PlanSyntaxError(f"unexpected character `{shown}`; expected the key to sweep after `.`", span)
        return PlanSyntaxError(f"unexpected character `{shown}`; expected {_expected(allowed)}", span)
    if isinstance(error, UnexpectedToken):
        return _token_error(error.token, set(error.expected), text, path)
    return PlanSyntaxError(str(error).splitlines()[0], Span.point(path, getattr(error, "line", 1) or 1))


def _token_error(token: Token, expected: set[str], text: str, path: str) -> PlanSyntaxError:
    span = Span(path, token.line, token.column, token.end_line or token.line,
                token.end_column or token.column + 1)
    if token.type == "LBRACE" and expected == {"STRING"}:
        return PlanSyntaxError('a block needs a name in double quotes before `{`, e.g. `gpu "A100-80G" {`', span)
    if expected == {"NAME"} and text[: token.start_pos].rstrip().endswith("."):
        return PlanSyntaxError(f"unexpected {_describe(token)}; expected the key to sweep after `.`", span)
    if expected == {"LSQB"}:
        return PlanSyntaxError(f"a sweep takes a list of values, e.g. `[{token}, ...]`; found {_describe(token)}", span)
    if token.type == "STRING" and expected == {"LBRACE"}:
        return PlanSyntaxError(f"unexpected {_describe(token)}: only one name per block; expected `{{`", span)
    return PlanSyntaxError(f"unexpected {_describe(token)}; expected {_expected(expected)}", span)


def _unfinished(text: str, path: str, expected: set[str], keyword: str | None, offset: int) -> PlanSyntaxError:
    """The text ran out unfinished: at the end of the file, or (``keyword``) before a line
    starting with a statement keyword, where error recovery cut it. ``offset``: the
    file's lines before ``text``, for the line numbers the message names."""
    tokens = lex(text)
    span = _after_last(tokens, path)
    unclosed = [(header, line + offset) for header, line in _unclosed(tokens)] if "RBRACE" in expected else []
    if keyword is None:
        if unclosed:
            return PlanSyntaxError(f"unexpected end of file: {_not_closed(unclosed)}", span)
        return PlanSyntaxError(f"unexpected end of file; expected {_expected(expected)}", span)
    where = f"before the `{keyword}` statement on line {text.count(chr(10)) + 1 + offset}"
    if unclosed:
        return PlanSyntaxError(f"{_not_closed(unclosed)} {where}", span)
    return PlanSyntaxError(f"unfinished statement: expected {_expected(expected)} {where}", span)


def _after_last(tokens: list[Token], path: str) -> Span:
    """Just after the last token: where the missing text belongs."""
    if not tokens:
        return Span.point(path)
    last = tokens[-1]
    return Span.point(path, last.end_line, last.end_column)


def _unclosed(tokens: list[Token]) -> list[tuple[str, int]]:
    """The blocks whose `{` has no `}` yet, outermost first, as (header as written, line)."""
    stack: list[tuple[str, int]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "LBRACE":
            before = tokens[max(0, i - 2):i]
            if len(before) == 2 and before[1].type == "STRING":
                header = f"{before[0]} {before[1]}"
            elif before:
                header = str(before[-1])
            else:
                header = "{"
            stack.append((header, tok.line))
        elif tok.type == "RBRACE" and stack:
            stack.pop()
    return stack


def _not_closed(unclosed: list[tuple[str, int]]) -> str:
    if len(unclosed) == 1:
        header, line = unclosed[0]
        return f"the `{header}` block opened on line {line} is not closed; expected `}}`"
    names = " and ".join(f"`{h}` (line {n})" for h, n in reversed(unclosed))
    return f"the blocks {names} are not closed; expected {len(unclosed)} × `}}`"


def _spaced_unit(text: str, pos: int, path: str) -> PlanSyntaxError | None:
    """`80 GB` reads as a number and a key; say to write the unit against the number."""
    tokens = [t for t in lex(text[: pos + 1]) if t.start_pos <= pos]
    for a, b in list(zip(tokens, tokens[1:]))[-2:]:
        if a.type == "NUMBER" and b.type == "NAME" and str(b) in ALL_UNITS and a.line == b.line:
            span = Span(path, a.line, a.column, b.end_line, b.end_column)
            return PlanSyntaxError(
                f"unit `{b}` is separated from its number: write `{a}{b}` with no space", span
            )
    return None


def _bad_unit_tokens(text: str, pos: int, path: str) -> PlanSyntaxError | None:
    """`100b tokens` reads as an unreadable number and a key `tokens`: say what `b` is."""
    tokens = [t for t in lex(text[: pos + 1]) if t.start_pos <= pos]
    for a, b in list(zip(tokens, tokens[1:]))[-2:]:
        if a.type == "BAD_NUMBER" and str(b) == "tokens" and a.line == b.line:
            hint = suffix_hint(str(a), tokens=True)
            if hint is not None:
                return PlanSyntaxError(f"`{a} tokens`: {hint}",
                                       Span(path, a.line, a.column, b.end_line, b.end_column))
    return None
