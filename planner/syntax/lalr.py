"""lark's LALR parser of grammar/plan.lark, building the syntax tree as it reduces.

This is the reference reader of the language: every text that does not parse is
read here, so that lark's errors (and ``planner.syntax.lark_errors``' words for
them) describe it, and so is every text the fast reader (``planner.syntax.fast``)
leaves to it. The grammar is read once per process. Comments are ignored by the
parser but collected through a lexer callback, so ``fmt`` can put them back.
"""

from __future__ import annotations

import functools

import lark
from lark import Token

from planner.cache import digest, entry_path
from planner.errors import Span
from planner.frozen import frozen
from planner.resources import grammar_path
from planner.syntax import nodes
from planner.syntax.ast import Block, Entry, ImportStmt, SubBlock, SweepStmt, Value
from planner.syntax.nodes import unquote

# Comments go here while one text is being parsed (parsing is single-threaded).
_comment_sink: list[Token] = []


@functools.cache
def parser() -> lark.Lark:
    # The syntax tree is built as the parser reduces each rule (an embedded transformer,
    # ``_Builder``): no lark tree is made, which halves the time and memory of a parse.
    # keep_all_tokens: the `import` and `sweep` keywords start their statement's span.
    # lark's own cache keeps the analysed LALR tables (it checks the grammar's hash itself).
    grammar = grammar_path().read_text(encoding="utf-8")
    cached = entry_path("lark", digest([grammar, lark.__version__]), make=True)
    return lark.Lark(
        grammar,
        cache=str(cached) if cached is not None else False,
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        transformer=_BUILDER,
        lexer_callbacks={"COMMENT": _comment_sink.append},
    )


def parse(text: str, at: "At") -> tuple[list, list[Token]]:
    """The statements of ``text`` (a text at ``at``) and its comment tokens; raises lark's UnexpectedInput."""
    del _comment_sink[:]
    _BUILDER.at = at
    try:
        statements = parser().parse(text)
        return statements, list(_comment_sink)
    finally:
        del _comment_sink[:]


@frozen
class At:
    """Where a parsed text sits: its file, and the lines of the file before it."""

    path: str
    line_offset: int


def _span(at: At, first, last=None) -> Span:
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


class _Builder(lark.Transformer):
    """The syntax tree, built rule by rule as the parser reduces (one method per grammar rule).

    ``at`` is set before each parse: the file, and the lines before the text parsed.
    """

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.at = At("", 0)

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
        return nodes.list_value(items, _span(self.at, kids[0], kids[-1]))

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
        return nodes.quantity(str(kids[0]), _span(self.at, kids[0]))

    def tokens(self, kids):
        return nodes.tokens(str(kids[0]), _span(self.at, kids[0], kids[-1]))

    def price(self, kids):
        return nodes.price(str(kids[0]), str(kids[1]), _span(self.at, kids[0], kids[-1]))


_BUILDER = _Builder()


def lex(text: str) -> list[Token]:
    """The tokens of ``text`` (comments and spaces left out) up to where the lexer stops."""
    from lark.exceptions import UnexpectedInput

    tokens: list[Token] = []
    try:
        for tok in parser().lex(text):
            tokens.append(tok)
    except UnexpectedInput:
        pass  # the tokens before a character the lexer cannot read are still the ones written
    return tokens
