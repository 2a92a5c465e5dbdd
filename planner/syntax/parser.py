"""Text → syntax tree (``planner.syntax.ast``), with lark's errors in plain words.

The grammar (grammar/plan.lark) is read once per process.  Comments are
ignored by the parser but collected through a lexer callback, so ``fmt`` can
put them back.

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

import functools
import re
from dataclasses import dataclass

import lark
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from planner.errors import PlanError, PlanErrors, PlanLimitError, PlanSyntaxError, Span
from planner.resources import grammar_path
from planner.syntax.ast import Block, Comment, Entry, File, ImportStmt, SubBlock, SweepStmt, Value
from planner.syntax.limits import (
    MAX_ERRORS, MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_STATEMENTS, MAX_TOKENS, thousands, too_many_errors,
)
from planner.syntax.units import ALL_UNITS, suffix_hint

# Comments go here while one text is being parsed (parsing is single-threaded).
_comment_sink: list[Token] = []

STATEMENT_KEYWORDS = ("import", "plan", "gpu", "model", "serve", "finetune", "pretrain", "sweep")
# Where parsing starts again after a syntax error: see the module docstring.
_RESYNC = re.compile(r"^(%s)[ \t]*\"" % "|".join(STATEMENT_KEYWORDS), re.MULTILINE)
_LONG_LINE = re.compile(r"^[^\n]{%d}" % (MAX_LINE_CHARS + 1), re.MULTILINE)
# What the lexer would count as one token, near enough to bound a file's size in tokens.
_TOKEN = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"?|[A-Za-z0-9_.\-/%]+|[^\sA-Za-z0-9_.\-/%]')


@functools.cache
def _parser() -> lark.Lark:
    # The syntax tree is built as the parser reduces each rule (an embedded transformer,
    # ``_Builder``): no lark tree is made, which halves the time and memory of a parse.
    # keep_all_tokens: the `import` and `sweep` keywords start their statement's span.
    return lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        transformer=_BUILDER,
        lexer_callbacks={"COMMENT": _comment_sink.append},
    )


def _parse(text: str, at: "_At") -> tuple[list, list[Token]]:
    """The statements of ``text`` (a text at ``at``) and its comment tokens; raises lark's UnexpectedInput."""
    del _comment_sink[:]
    _BUILDER.at = at
    try:
        statements = _parser().parse(text)
        return statements, list(_comment_sink)
    finally:
        del _comment_sink[:]


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
    too_large = _size_error(text, path)
    if too_large is not None:
        return File(path, ()), [too_large]
    try:
        parsed, comments = _parse(text, _At(path, 0))
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
        at = _At(path, line)
        if len(errors) >= MAX_ERRORS:
            errors.append(too_many_errors(Span.point(path, line + 1)))
            break
        line += piece.count("\n")
        try:
            parsed, _ = _parse(piece, at)
        except UnexpectedInput as error:
            following = _RESYNC.match(text, end) if end < len(text) else None
            errors.append(_syntax_error(error, piece, at, following))
            continue
        if len(statements) + len(parsed) > MAX_STATEMENTS:
            return File(path, ()), [_too_many(parsed[MAX_STATEMENTS - len(statements)])]
        statements.extend(parsed)
    if not errors:
        # Unreachable while the argument in the module docstring holds; never report a broken file as valid.
        errors.append(_syntax_error(first, text, _At(path, 0), None))
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


# ---------------------------------------------------------------- tree → AST


@dataclass(frozen=True)
class _At:
    """Where a parsed text sits: its file, and the lines of the file before it."""

    path: str
    line_offset: int


def _span(at: _At, first, last=None) -> Span:
    """From the start of ``first`` to the end of ``last`` (tokens or spans; default: ``first``)."""
    last = first if last is None else last
    o = at.line_offset
    if isinstance(first, Span):
        line, column = first.line, first.column
    else:
        line, column = first.line + o, first.column
    if isinstance(last, Span):
        end_line, end_column = last.end_line, last.end_column
    else:
        end_line, end_column = last.end_line + o, last.end_column
    return Span(at.path, line, column, end_line, end_column)


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


_NUMBER_PART = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")


def _split(text: str) -> tuple[str, str]:
    number = _NUMBER_PART.match(text).group(0)
    return number, text[len(number):]


class _Builder(lark.Transformer):
    """The syntax tree, built rule by rule as the parser reduces (one method per grammar rule).

    ``at`` is set before each parse: the file, and the lines before the text parsed.
    """

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.at = _At("", 0)

    def start(self, statements):
        return statements

    def import_stmt(self, kids):
        keyword, tok = kids
        return ImportStmt(unquote(tok), str(tok), _span(self.at, tok), _span(self.at, keyword, tok))

    def sweep(self, kids):
        keyword, target, _dot, key, _eq, values = kids
        return SweepStmt(unquote(target), str(target), str(key), values, _span(self.at, target),
                         _span(self.at, key), _span(self.at, keyword, values.span))

    def block(self, kids):
        kind, name, brace, *items, close = kids
        return Block(str(kind), unquote(name), str(name), tuple(items), _span(self.at, kind),
                     _span(self.at, name), _span(self.at, brace), _span(self.at, kind, close))

    def sub_block(self, kids):
        kind, brace, *entries, close = kids
        return SubBlock(str(kind), tuple(entries), _span(self.at, kind), _span(self.at, brace),
                        _span(self.at, kind, close))

    def entry(self, kids):
        key, op, value = kids
        return Entry(str(key), str(op), value, _span(self.at, key), _span(self.at, key, value.span))

    def op(self, kids):
        return kids[0]

    def list(self, kids):
        items = tuple(k for k in kids if isinstance(k, Value))
        return Value("list", "[" + ", ".join(i.text for i in items) + "]", _span(self.at, kids[0], kids[-1]),
                     items=items)

    def string(self, kids):
        return Value("string", str(kids[0]), _span(self.at, kids[0]))

    def number(self, kids):
        return Value("number", str(kids[0]), _span(self.at, kids[0]), number=str(kids[0]))

    def boolean(self, kids):
        return Value("bool", str(kids[0]), _span(self.at, kids[0]))

    def word(self, kids):
        return Value("word", str(kids[0]), _span(self.at, kids[0]))

    def bad_number(self, kids):
        return Value("bad", str(kids[0]), _span(self.at, kids[0]))

    def quantity(self, kids):
        text, span = str(kids[0]), _span(self.at, kids[0])
        number, unit = _split(text)
        if unit.endswith("/h"):
            return _price(number, unit, span)
        return Value("quantity", text, span, number=number, unit=unit)

    def tokens(self, kids):
        text = str(kids[0])
        number, unit = _split(text)
        return Value("tokens", f"{text} tokens", _span(self.at, kids[0], kids[-1]), number=number, unit=unit)

    def price(self, kids):
        return _price(str(kids[0]), str(kids[1]), _span(self.at, kids[0], kids[-1]))


_BUILDER = _Builder()


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
        # At the end of the text lark also lists `true` and `false`, which "a value" covers.
        names = names - _VALUE_START - {"BAD_NUMBER", "TRUE", "FALSE"}
    words.extend(_WORDS.get(n, n) for n in sorted(names))
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    return f"`{token}`"


def _syntax_error(error: UnexpectedInput, text: str, at: _At,
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
    tokens = _tokens(text)
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


def _tokens(text: str) -> list[Token]:
    """The tokens of ``text`` (comments and spaces left out) up to where the lexer stops."""
    tokens: list[Token] = []
    try:
        for tok in _parser().lex(text):
            tokens.append(tok)
    except UnexpectedInput:
        pass  # the tokens before a character the lexer cannot read are still the ones written
    return tokens


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
    tokens = [t for t in _tokens(text[: pos + 1]) if t.start_pos <= pos]
    for a, b in list(zip(tokens, tokens[1:]))[-2:]:
        if a.type == "NUMBER" and b.type == "NAME" and str(b) in ALL_UNITS and a.line == b.line:
            span = Span(path, a.line, a.column, b.end_line, b.end_column)
            return PlanSyntaxError(
                f"unit `{b}` is separated from its number: write `{a}{b}` with no space", span
            )
    return None


def _bad_unit_tokens(text: str, pos: int, path: str) -> PlanSyntaxError | None:
    """`100b tokens` reads as an unreadable number and a key `tokens`: say what `b` is."""
    tokens = [t for t in _tokens(text[: pos + 1]) if t.start_pos <= pos]
    for a, b in list(zip(tokens, tokens[1:]))[-2:]:
        if a.type == "BAD_NUMBER" and str(b) == "tokens" and a.line == b.line:
            hint = suffix_hint(str(a), tokens=True)
            if hint is not None:
                return PlanSyntaxError(f"`{a} tokens`: {hint}",
                                       Span(path, a.line, a.column, b.end_line, b.end_column))
    return None

