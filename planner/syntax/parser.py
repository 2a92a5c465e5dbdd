"""Text → syntax tree (``planner.syntax.ast``), with lark's errors in plain words.

The grammar (grammar/plan.lark) is read once per process.  Comments are
ignored by the parser but collected through a lexer callback, so ``fmt`` can
put them back.
"""

from __future__ import annotations

import functools
import re

import lark
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from planner.errors import PlanSyntaxError, Span
from planner.resources import grammar_path
from planner.syntax.ast import Block, Comment, Entry, File, ImportStmt, SubBlock, SweepStmt, Value
from planner.syntax.units import ALL_UNITS

# Comments go here while one text is being parsed (parsing is single-threaded).
_comment_sink: list[Token] = []


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        lexer_callbacks={"COMMENT": _comment_sink.append},
    )


def parse_text(text: str, path: str) -> File:
    """Parse one file's text; raise PlanSyntaxError at the first thing the grammar cannot read."""
    del _comment_sink[:]
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(error, text, path) from None
    comments = tuple(
        Comment(str(tok).rstrip(), tok.line, tok.column) for tok in _comment_sink
    )
    del _comment_sink[:]
    return File(path, tuple(_statement(child, path) for child in tree.children), comments)


# ---------------------------------------------------------------- tree → AST


def _span(path: str, node) -> Span:
    if isinstance(node, Token):
        return Span(path, node.line, node.column, node.end_line, node.end_column)
    meta = node.meta
    return Span(path, meta.line, meta.column, meta.end_line, meta.end_column)


def unquote(text: str) -> str:
    """The content of a string literal: ``\\"``, ``\\\\``, ``\\n`` and ``\\t`` are escapes."""
    body = text[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _statement(node: Tree, path: str):
    if node.data == "import_stmt":
        tok = node.children[0]
        return ImportStmt(unquote(tok), str(tok), _span(path, tok), _span(path, node))
    if node.data == "sweep":
        target, _dot, key, _eq, values = node.children
        return SweepStmt(
            unquote(target), str(target), str(key), _value(values, path),
            _span(path, target), _span(path, key), _span(path, node),
        )
    kind, name = node.children[0], node.children[1]
    items = tuple(_item(child, path) for child in node.children[3:-1])
    return Block(
        str(kind), unquote(name), str(name), items,
        _span(path, kind), _span(path, name), _span(path, node.children[2]), _span(path, node),
    )


def _item(node: Tree, path: str):
    if node.data == "sub_block":
        kind = node.children[0]
        entries = tuple(_entry(child, path) for child in node.children[2:-1])
        return SubBlock(str(kind), entries, _span(path, kind), _span(path, node.children[1]), _span(path, node))
    return _entry(node, path)


def _entry(node: Tree, path: str) -> Entry:
    key, op, value = node.children
    return Entry(str(key), str(op.children[0]), _value(value, path), _span(path, key), _span(path, node))


_NUMBER_PART = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")


def _split(text: str) -> tuple[str, str]:
    number = _NUMBER_PART.match(text).group(0)
    return number, text[len(number):]


def _value(node, path: str) -> Value:
    span = _span(path, node)
    kind = node.data
    kids = node.children
    if kind == "list":
        items = tuple(_value(k, path) for k in kids if not (isinstance(k, Token) and k.type in ("LSQB", "RSQB", "COMMA")))
        return Value("list", "[" + ", ".join(i.text for i in items) + "]", span, items=items)
    tok = kids[0]
    text = str(tok)
    if kind == "string":
        return Value("string", text, span)
    if kind == "number":
        return Value("number", text, span, number=text)
    if kind == "boolean":
        return Value("bool", text, span)
    if kind == "word":
        return Value("word", text, span)
    if kind == "bad_number":
        return Value("bad", text, span)
    if kind == "quantity":
        number, unit = _split(text)
        if unit.endswith("/h"):
            return _price(number, unit, span)
        return Value("quantity", text, span, number=number, unit=unit)
    if kind == "tokens":
        number, unit = _split(text)
        return Value("tokens", f"{text} tokens", span, number=number, unit=unit)
    if kind == "price":
        return _price(text, str(kids[1]), span)
    raise AssertionError(f"grammar rule {kind} has no AST form")


def _price(number: str, unit: str, span: Span) -> Value:
    # Canonical spelling: "1.79/h", or "1.79 USD/h" when a currency is named.
    text = f"{number}{unit}" if unit == "/h" else f"{number} {unit}"
    return Value("price", text, span, number=number, unit=unit)


# ---------------------------------------------------------------- errors

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
        names = names - _VALUE_START - {"BAD_NUMBER"}
    words.extend(_WORDS.get(n, n) for n in sorted(names))
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    return f"`{token}`"


def _syntax_error(error: UnexpectedInput, text: str, path: str) -> PlanSyntaxError:
    spaced = _spaced_unit(text, error, path)
    if spaced is not None:
        return spaced
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
        token = error.token
        if token.type == "$END":
            return _eof_error(text, path, set(error.expected))
        span = Span(path, token.line, token.column, token.end_line or token.line,
                    token.end_column or token.column + 1)
        expected = set(error.expected)
        if token.type == "LBRACE" and expected == {"STRING"}:
            return PlanSyntaxError('a block needs a name in double quotes before `{`, e.g. `gpu "A100-80G" {`', span)
        if expected == {"NAME"} and text[: token.start_pos].rstrip().endswith("."):
            return PlanSyntaxError(f"unexpected {_describe(token)}; expected the key to sweep after `.`", span)
        if expected == {"LSQB"}:
            return PlanSyntaxError(f"a sweep takes a list of values, e.g. `[{token}, ...]`; found {_describe(token)}", span)
        if token.type == "STRING" and expected == {"LBRACE"}:
            return PlanSyntaxError(f"unexpected {_describe(token)}: only one name per block; expected `{{`", span)
        return PlanSyntaxError(f"unexpected {_describe(token)}; expected {_expected(expected)}", span)
    if isinstance(error, UnexpectedEOF):
        return _eof_error(text, path, set(error.expected))
    return PlanSyntaxError(str(error).splitlines()[0], Span.point(path, getattr(error, "line", 1) or 1))


def _eof_error(text: str, path: str, expected: set[str]) -> PlanSyntaxError:
    lines = text.splitlines() or [""]
    line = len(lines)
    column = len(lines[-1]) + 1
    return PlanSyntaxError(f"unexpected end of file; expected {_expected(expected)}", Span.point(path, line, column))


def _spaced_unit(text: str, error: UnexpectedInput, path: str) -> PlanSyntaxError | None:
    """`80 GB` reads as a number and a key; say to write the unit against the number."""
    pos = getattr(error, "pos_in_stream", None)
    token = getattr(error, "token", None)
    if token is not None and token.type != "$END":
        pos = token.start_pos
    if pos is None:
        pos = len(text)
    tokens: list[Token] = []
    try:
        for tok in _parser().lex(text[: pos + 1]):
            tokens.append(tok)
    except UnexpectedInput:
        pass
    tokens = [t for t in tokens if t.start_pos <= pos]
    for a, b in list(zip(tokens, tokens[1:]))[-2:]:
        if a.type == "NUMBER" and b.type == "NAME" and str(b) in ALL_UNITS and a.line == b.line:
            span = Span(path, a.line, a.column, b.end_line, b.end_column)
            return PlanSyntaxError(
                f"unit `{b}` is separated from its number: write `{a}{b}` with no space", span
            )
    return None

