"""A reader of well-formed plan text without lark: the same syntax tree in a third of the time.

Why: lark's pure-Python contextual lexer and LALR parser cost about 0.3 ms a statement
(some 3.7 s for a plan of 10,000 workloads; lark's compiled parser, lark-cython, saves only
a quarter of that, as the lexer's regular expressions and the tree-building callbacks stay
in Python), and importing lark costs 0.06 s on every `check`. benchmarks/parse_speed.py
measures both readers.

How: the text is cut into lines (no token spans a line: strings and comments end at the
line's end, and WS is skipped), each line into tokens by one regular expression made of
grammar/plan.lark's own terminal patterns, in lark's order of priority (QUANTITY, NUMBER,
BAD_NUMBER); then a descent that follows the grammar's rules builds the tree through
``planner.syntax.nodes``, as lark's builder does. It reads only text that parses, and only
as lark reads it: at the first token it does not expect, or one where lark's contextual
lexer could read a word otherwise, it gives up (``read`` returns None) and the caller
parses with lark, which also words the errors. Where lark's lexer reads a word by its
position, this reader does the same: `import` and `sweep` start a statement, `true` and
`false` are booleans where a value starts, `tokens` after a number is the unit word and
`USD/h` after a number is a rate. A word that could be such a keyword where a key or a
block kind stands (`{ import = 1 }`) is left to lark: after a list, lark's merged LALR
state reads `import` as the keyword.

The reader is on only for the grammar it follows (``GRAMMAR_SHA256``): an edit of
grammar/plan.lark turns it off (lark reads everything, correctly, only slower) until this
module is checked against the edit and the digest updated; tests/syntax/test_fast.py fails
meanwhile, and compares the two readers' trees on a corpus.
"""

from __future__ import annotations

import functools
import hashlib
import re

from planner.errors import Span
from planner.resources import grammar_path
from planner.syntax import nodes
from planner.syntax.ast import Block, Comment, Entry, ImportStmt, SubBlock, SweepStmt, Value
from planner.syntax.nodes import unquote

# sha256 of the grammar/plan.lark this reader follows.
GRAMMAR_SHA256 = "d14af186d55c29003bc138de7919743c348edfbcaa36b1e0e111c3c7632c6e4b"

# The terminals taken from the grammar, in the order a line's expression tries them: lark
# tries the terminals a position allows by priority (QUANTITY.3, NUMBER.2, BAD_NUMBER.1);
# the other patterns start with characters no other terminal starts with.
_FROM_GRAMMAR = ("STRING", "COMMENT", "QUANTITY", "NUMBER", "BAD_NUMBER", "NAME")
# Words that lark's contextual lexer reads as keywords where they are allowed.
_KEYWORDS = frozenset(("import", "sweep", "true", "false", "tokens"))
_RATE_WORD = re.compile(r"[A-Z]{3}")  # RATE is /[A-Z]{3}\/h/: three capitals, then `/h`
_END = ("$END", "", 0, 0)
# The grammar's literal terminals, by lark's names: `<=` before `=`, as lark tries longer first.
_LITERALS = (("PER_HOUR", "/h"), ("LE", "<="), ("LBRACE", "{"), ("RBRACE", "}"), ("LSQB", "["),
             ("RSQB", "]"), ("COMMA", ","), ("DOT", "."), ("EQUAL", "="))


class _NotMine(Exception):
    """Text this reader leaves to lark."""


def read(text: str, path: str) -> tuple[list, tuple[Comment, ...]] | None:
    """The statements and comments of ``text``, exactly as lark's parser builds them; None
    when the text is left to lark (it does not parse, or this reader is off)."""
    token = _line_tokens()
    if token is None:
        return None
    try:
        tokens, comments = _tokenize(text, token)
        return _Reader(tokens, path).statements(), comments
    except _NotMine:
        return None


@functools.cache
def _line_tokens() -> re.Pattern | None:
    """One token of a line (after spaces), as a pattern with a group per terminal; None when
    the grammar is not the one this reader follows."""
    grammar = grammar_path().read_text(encoding="utf-8")
    if hashlib.sha256(grammar.encode("utf-8")).hexdigest() != GRAMMAR_SHA256:
        return None
    found = dict(re.findall(r"^([A-Z_]+)(?:\.\d+)?: /(.*)/$", grammar, re.MULTILINE))
    alternatives = [f"(?P<{name}>{found[name]})" for name in _FROM_GRAMMAR]
    # the grammar's literal terminals, and any other character (not mine)
    alternatives += [f"(?P<{name}>{re.escape(text)})" for name, text in _LITERALS] + [r"(?P<OTHER>.)"]
    return re.compile(r"[ \t\f\r]*+(?:" + "|".join(alternatives) + ")")


def _tokenize(text: str, token: re.Pattern) -> tuple[list[tuple[str, str, int, int]], tuple[Comment, ...]]:
    """(terminal, text, line, column) of every token but comments, then ``$END``; and the comments."""
    tokens: list[tuple[str, str, int, int]] = []
    comments: list[Comment] = []
    for number, line in enumerate(text.split("\n"), 1):
        # up to the trailing spaces, so that every match is a token (no run of spaces is
        # scanned again from each of its characters)
        end = len(line.rstrip(" \t\f\r"))
        if not end:
            continue
        for m in token.finditer(line, 0, end):
            kind = m.lastgroup
            value = m.group(kind)
            if kind == "COMMENT":
                comments.append(Comment(value.rstrip(), number, m.start(kind) + 1))
            elif kind == "OTHER":
                raise _NotMine
            else:
                tokens.append((kind, value, number, m.start(kind) + 1))
    tokens += (_END, _END)  # two: the rules look one token past the one they read
    return tokens, tuple(comments)


class _Reader:
    """The grammar's rules over the tokens; ``_NotMine`` at anything lark would read otherwise.

    A token is (terminal, text, line, column); the hot rules (entry, scalar) make their
    spans inline, as a call per span was a fifth of the time.
    """

    def __init__(self, tokens: list[tuple[str, str, int, int]], path: str) -> None:
        self.tokens = tokens
        self.path = path
        self.i = 0

    def span(self, first, last=None) -> Span:
        last = first if last is None else last
        return Span(self.path, first[2], first[3], last[2], last[3] + len(last[1]))

    def take(self, kind: str) -> tuple[str, str, int, int]:
        tok = self.tokens[self.i]
        if tok[0] != kind:
            raise _NotMine
        self.i += 1
        return tok

    def statements(self) -> list:
        out = []
        while True:
            first = self.tokens[self.i]
            if first[0] == "$END":
                return out
            if first[0] != "NAME":
                raise _NotMine
            if first[1] == "import":
                self.i += 1
                path = self.take("STRING")
                out.append(ImportStmt(unquote(path[1]), path[1], self.span(path), self.span(first, path)))
            elif first[1] == "sweep":
                out.append(self.sweep(first))
            elif first[1] in _KEYWORDS:
                raise _NotMine
            else:
                out.append(self.block(first))

    def sweep(self, keyword) -> SweepStmt:
        self.i += 1
        target = self.take("STRING")
        self.take("DOT")
        key = self.take("NAME")
        if key[1] in _KEYWORDS:
            raise _NotMine
        self.take("EQUAL")
        values = self.list_value()
        end = values.span
        return SweepStmt(unquote(target[1]), target[1], key[1], values, self.span(target), self.span(key),
                         Span(self.path, keyword[2], keyword[3], end.end_line, end.end_column))

    def block(self, kind) -> Block:
        self.i += 1
        name = self.take("STRING")
        brace = self.take("LBRACE")
        items: list = []
        tokens = self.tokens
        while True:
            key = tokens[self.i]
            if key[0] == "RBRACE":
                self.i += 1
                return Block(kind[1], unquote(name[1]), name[1], tuple(items), self.span(kind),
                             self.span(name), self.span(brace), self.span(kind, key))
            if tokens[self.i + 1][0] == "LBRACE":
                items.append(self.sub_block(key))
            else:
                items.append(self.entry())

    def sub_block(self, kind) -> SubBlock:
        if kind[0] != "NAME" or kind[1] in _KEYWORDS:
            raise _NotMine
        self.i += 1
        brace = self.take("LBRACE")
        entries: list[Entry] = []
        while True:
            key = self.tokens[self.i]
            if key[0] == "RBRACE":
                self.i += 1
                return SubBlock(kind[1], tuple(entries), self.span(kind), self.span(brace), self.span(kind, key))
            entries.append(self.entry())

    def entry(self) -> Entry:
        i = self.i
        key, op = self.tokens[i], self.tokens[i + 1]
        if key[0] != "NAME" or key[1] in _KEYWORDS or op[0] not in ("EQUAL", "LE"):
            raise _NotMine
        self.i = i + 2
        value = self.list_value() if self.tokens[i + 2][0] == "LSQB" else self.scalar()
        end = value.span
        line, column, path = key[2], key[3], self.path
        return Entry(key[1], op[1], value, Span(path, line, column, line, column + len(key[1])),
                     Span(path, line, column, end.end_line, end.end_column))

    def scalar(self) -> Value:
        tok = self.tokens[self.i]
        kind, text, line, column = tok
        self.i += 1
        if kind == "STRING":
            return Value("string", text, Span(self.path, line, column, line, column + len(text)))
        if kind == "NAME":
            return Value("bool" if text in ("true", "false") else "word", text,
                         Span(self.path, line, column, line, column + len(text)))
        if kind == "BAD_NUMBER":
            return Value("bad", text, Span(self.path, line, column, line, column + len(text)))
        if kind not in ("NUMBER", "QUANTITY"):
            raise _NotMine
        after = self.tokens[self.i]
        if after[0] == "NAME" and after[1] == "tokens":  # TOKENS: after a number, `tokens` is the unit word
            self.i += 1
            return nodes.tokens(text, self.span(tok, after))
        if kind == "QUANTITY":
            return nodes.quantity(text, Span(self.path, line, column, line, column + len(text)))
        if after[0] == "PER_HOUR":
            self.i += 1
            return nodes.price(text, after[1], self.span(tok, after))
        if after[0] == "NAME" and _RATE_WORD.fullmatch(after[1]):
            rate = self.tokens[self.i + 1]
            if rate[0] == "PER_HOUR" and rate[2] == after[2] and rate[3] == after[3] + 3:
                self.i += 2  # RATE, which lark tries before NAME after a number
                return nodes.price(text, after[1] + rate[1], self.span(tok, rate))
        return Value("number", text, Span(self.path, line, column, line, column + len(text)), number=text)

    def list_value(self) -> Value:
        opening = self.take("LSQB")
        items: list[Value] = []
        while True:
            tok = self.tokens[self.i]
            if tok[0] == "RSQB":
                self.i += 1
                return nodes.list_value(tuple(items), self.span(opening, tok))
            items.append(self.scalar())
            tok = self.tokens[self.i]
            if tok[0] == "COMMA":
                self.i += 1
            elif tok[0] != "RSQB":
                raise _NotMine
