"""Where the cursor is in a plan that may be half typed: the context completion,
hover and go-to-definition read.

The parser (lark) needs a whole statement; an editor asks about text that is
being written (``serve "chat" { mod|``). This module scans tokens with one
regular expression and a small state machine that follows the language's shape
(statements, block headers, ``key op value`` entries, lists, nested ``layout``
blocks) and never fails: a token that fits nowhere resets the state to what the
next token most likely starts. It is only a guide for the editor; ``planner
check`` (the parser and the checks) decides what is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from planner.frozen import frozen

# comment | string (possibly unterminated) | `<=` | word or number | one punctuation character
_TOKEN = re.compile(r'(#[^\n]*)|("(?:[^"\\\n]|\\.)*"?)|(<=)|([A-Za-z0-9_.\-/%]+)|([^\sA-Za-z0-9_.\-/%])')
_CONTINUATION = re.compile(r"^(tokens|/h|[A-Z]{3}/h)$")

# Where a token stands (``Spot.where``).
TOP = "top"  # a statement starts here
IMPORT_PATH = "import_path"
HEADER_NAME = "header_name"  # the name of `KIND "name" {`
HEADER_OPEN = "header_open"  # the `{` after a block's name
SWEEP_TARGET = "sweep_target"
SWEEP_KEY = "sweep_key"
SWEEP_VALUE = "sweep_value"
KEY = "key"  # an entry starts here, inside a block
OP = "op"  # after a key: `=`, `<=`, or `{` for a nested block
VALUE = "value"
AFTER_VALUE = "after_value"  # a value may go on (`250M tokens`), or the next key starts
LIST_ITEM = "list_item"
COMMENT = "comment"


@frozen
class Token:
    """A token of the text around the cursor."""

    kind: str  # comment | string | op | word | punct
    text: str
    start: int  # offsets into the text
    end: int


@dataclass
class Frame:
    """An open block: ``kind`` (``serve``, or ``layout`` for a nested block), its name, keys seen."""

    kind: str
    name: str | None
    keys: set[str] = field(default_factory=set)


@dataclass
class Spot:
    """What stands at a cursor: ``where`` (see the constants above), the token under or
    before the cursor (``token``, None between tokens), the enclosing blocks, and the key
    whose value is being written."""

    where: str
    token: Token | None
    frames: list[Frame]
    key: str | None = None  # the entry's key (VALUE, LIST_ITEM) or the sweep's key
    header_kind: str | None = None  # HEADER_NAME: the block kind written before the name
    sweep_target: str | None = None

    @property
    def block(self) -> str | None:
        """The kind of the top-level block the cursor is in."""
        return self.frames[0].kind if self.frames else None

    @property
    def sub(self) -> str | None:
        """The kind of the nested block (``layout``) the cursor is in."""
        return self.frames[-1].kind if len(self.frames) > 1 else None


def tokens(text: str) -> list[Token]:
    out = []
    for match in _TOKEN.finditer(text):
        kind = ("comment", "string", "op", "word", "punct")[match.lastindex - 1]
        out.append(Token(kind, match.group(), match.start(), match.end()))
    return out


def unquote(text: str) -> str:
    """A string token's content (escapes read, an unterminated string taken to its end)."""
    body = text[1:-1] if len(text) > 1 and text.endswith('"') and not text.endswith('\\"') else text[1:]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Scanner:
    """The state machine: ``state`` is where the next token stands."""

    def __init__(self) -> None:
        self.state = TOP
        self.frames: list[Frame] = []
        self.key: str | None = None
        self.header_kind: str | None = None
        self.header_name: str | None = None
        self.sweep_target: str | None = None

    def spot(self, token: Token | None) -> Spot:
        return Spot(self.state, token, [Frame(f.kind, f.name, set(f.keys)) for f in self.frames],
                    self.key, self.header_kind, self.sweep_target)

    def spot_at(self, token: Token | None) -> Spot:
        """The spot of ``token`` (None: a gap) fed next: after a complete value, a word
        that does not continue it starts the next entry."""
        if self.state == AFTER_VALUE and not (token is not None and _CONTINUATION.match(token.text)):
            self._statement_end()
        return self.spot(token)

    def feed(self, token: Token) -> None:
        if token.kind == "comment":
            return
        if token.text == "}" and self.frames:
            self.frames.pop()
            self.state = KEY if self.frames else TOP
            return
        handler = getattr(self, "_" + self.state)
        handler(token)

    def _statement_end(self) -> None:
        self.state = KEY if self.frames else TOP

    def _top(self, token: Token) -> None:
        if token.kind != "word":
            return
        if token.text == "import":
            self.state = IMPORT_PATH
        elif token.text == "sweep":
            self.state, self.sweep_target, self.key = SWEEP_TARGET, None, None
        else:
            self.state, self.header_kind, self.header_name = HEADER_NAME, token.text, None

    def _import_path(self, token: Token) -> None:
        self.state = TOP
        if token.kind != "string":
            self._top(token)

    def _header_name(self, token: Token) -> None:
        if token.kind == "string":
            self.header_name = unquote(token.text)
            self.state = HEADER_OPEN
        elif token.text == "{":
            self._open(self.header_kind, None)
        else:
            self.state = TOP
            self._top(token)

    def _header_open(self, token: Token) -> None:
        if token.text == "{":
            self._open(self.header_kind, self.header_name)
        else:
            self.state = TOP
            self._top(token)

    def _open(self, kind: str | None, name: str | None) -> None:
        self.frames.append(Frame(kind or "", name))
        self.state, self.key = KEY, None

    def _sweep_target(self, token: Token) -> None:
        if token.kind == "string":
            self.sweep_target = unquote(token.text)
            self.state = SWEEP_KEY
        else:
            self.state = TOP
            self._top(token)

    def _sweep_key(self, token: Token) -> None:
        if token.kind == "word" and token.text.startswith("."):
            self.key = token.text[1:] or None
        elif token.text == ".":
            self.key = None
        elif token.text == "=":
            self.state = SWEEP_VALUE
        else:
            self.state = TOP
            self._top(token)

    def _sweep_value(self, token: Token) -> None:
        if token.text == "]":
            self.state = TOP
        elif token.kind == "word" and token.text in ("import", "sweep"):
            self.state = TOP
            self._top(token)

    def _key(self, token: Token) -> None:
        if token.kind == "word":
            self.key = token.text
            self.state = OP
        elif token.text in ("=", "<="):
            self.key, self.state = None, VALUE

    def _op(self, token: Token) -> None:
        if token.text in ("=", "<="):
            self.frames[-1].keys.add(self.key or "")
            self.state = VALUE
        elif token.text == "{":
            self.frames[-1].keys.add(self.key or "")
            self._open(self.key, None)
        else:
            self.state = KEY
            self._key(token)

    def _value(self, token: Token) -> None:
        if token.text == "[":
            self.state = LIST_ITEM
        elif token.kind in ("string", "word"):
            self.state = AFTER_VALUE
        else:
            self._statement_end()

    def _after_value(self, token: Token) -> None:
        if token.kind == "word" and _CONTINUATION.match(token.text):
            return
        self._statement_end()
        self.feed(token)

    def _list_item(self, token: Token) -> None:
        if token.text == "]":
            self.state = AFTER_VALUE


def locate(text: str, offset: int) -> Spot:
    """The spot at character ``offset`` of ``text``: the context of the token that holds
    the cursor (or ends at it), else of the gap after the last token before it."""
    scanner = _Scanner()
    for token in tokens(text):
        if token.start >= offset:
            break
        if offset <= token.end:
            if token.kind == "comment":
                return Spot(COMMENT, token, scanner.frames)
            if token.kind == "string" and offset == token.end and _closed(token):
                scanner.feed(token)  # just after a closing quote: past the string
                continue
            if token.kind == "punct" and offset == token.end:
                scanner.feed(token)  # just after `{`, `=`, `,`: what follows it
                continue
            return scanner.spot_at(token)
        scanner.feed(token)
    return scanner.spot_at(None)


def locate_token(text: str, offset: int) -> Spot | None:
    """The spot of the token under character ``offset`` (hover, go to definition), or None
    between tokens."""
    for token in tokens(text):
        if token.start <= offset < token.end:
            return locate(text, token.start + 1)
        if token.start > offset:
            break
    return None


def _closed(token: Token) -> bool:
    return len(token.text) > 1 and token.text.endswith('"') and not token.text.endswith('\\"')


def block_names(text: str) -> dict[str, list[str]]:
    """The names declared by block headers in ``text``, by kind, in order."""
    names: dict[str, list[str]] = {}
    scanner = _Scanner()
    for token in tokens(text):
        if scanner.state == HEADER_NAME and token.kind == "string" and not scanner.frames:
            names.setdefault(scanner.header_kind or "", []).append(unquote(token.text))
        scanner.feed(token)
    return names
