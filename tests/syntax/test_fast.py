"""The fast reader (planner/syntax/fast.py) against lark's parser, the reference: on every text
the fast reader reads, lark parses it too and builds the same tree, positions and comments
included; whatever the fast reader leaves goes to lark, errors and all."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

from fuzz import generate
from planner.syntax import fast, lalr
from planner.syntax.ast import Comment
from planner.syntax.parser import parse_recovering
from support.paths import EXAMPLES, ROOT

SHIPPED = sorted(EXAMPLES.glob("*.plan")) + sorted((ROOT / "specs").glob("*.plan"))


def by_lark(text: str, path: str = "p.plan"):
    try:
        statements, comments = lalr.parse(text, lalr.At(path, 0))
    except UnexpectedInput:
        return None
    return statements, tuple(Comment(str(t).rstrip(), t.line, t.column) for t in comments)


def agree(text: str) -> bool:
    """True when the fast reader read ``text`` (and then as lark does); False when it left it."""
    mine = fast.read(text, "p.plan")
    if mine is None:
        return False
    reference = by_lark(text)
    assert reference is not None, f"the fast reader read a text lark rejects: {text!r}"
    assert mine == reference, text
    return True


def test_the_fast_reader_follows_the_shipped_grammar():
    # Fails after an edit of grammar/plan.lark: check fast.py against the edit, then update
    # GRAMMAR_SHA256 (until then every plan is read by lark, correctly but slowly).
    assert fast._line_tokens() is not None


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_plan_is_read_fast_and_as_lark_reads_it(path):
    assert agree(path.read_text(encoding="utf-8"))


# Where lark's contextual lexer reads a word by its position, and the spellings around it.
READ = [
    'serve "s" { dataset = 10M tokens  price = 1.79/h  rent = 2 /h  cost = 3 USD/h  f = 4USD/h }',
    'x "a" { a = 5 tokens  b = 5k tokens  c = [1 tokens, 2k tokens, 3 EUR/h, 4 /h, 5/h] }',
    'x "a" { a = true  b = false  c = tokens  d = import  e = sweep  f = [true, false, tokens] }',
    'x "a" { a = 5\n USD = 3 }',  # three capitals without `/h` after a number: the next key
    'x "a" { a = 5 tokensX = 1 }',
    'x "a" { a = 5 trueish = 1 }',
    'x "a" { a = 1.5.3  b = 8kv  c = -.5  d = 1e5  e = .5e-3k  f = 5/min  g = -3 }',
    'x "a" { a = 5/hx = 1 }',  # 5, `/h`, then the key hx
    'x "a" { a = "q\\"uote\\\\" b = "tab\\t" c = "" }',
    'x"a"{a=1 b<=2ms layout{tp=2 pp<=4}c=[]d=[1,]}',
    '# only a comment\n\n  # and another   \t\n',
    '',
    '\n\n\t \r\n',
    'import "std"\nimport "a/b.plan"  # why\nsweep "s*".users = [1, 2k, "x"]\n',
    'x "a" {\r\n  a = 1\r\n  b = "c"\r\n}\r\n',
    'x "a" { a = [\n 1, # one\n 2 # two\n ] }',
    'x "é" { a = "→ unicode" # ünïcode comment\n}',
    'x "a" { l { a = 1 } l { b = 2 } m = 3 }',
]
# Left to lark: what does not parse, and keywords where a key, a kind or a swept key stands
LEFT = [
    'sweep "s".tokens = [1]\nsweep "t".import = [2]',
    'x "a" { true = 1 }',
    'true "a" { }',
    'x "a" { a = 5 ABCD/h }',
    'x "a" { a = 5 Usd/h }',
    'x "a" { a = 5k /h }',
    'x "a" { a = [1] import = 2 }',  # after a list lark reads `import` as the keyword
    'x "a" { a = 1 } }',
    'x "a" { a = [[1]] }',
    'x "a" { a == 1 }',
    'x "a" { a = 1\x0b }',
    'x "a" { a = 1 \ufeff}',
    'x "a" { a = "unclosed }',
    'sweep "s".users <= [1]',
    'sweep "s".5 = [1]',
    'x "a" { a = - }',
    'x "a" { a = 5 USD/h5 }',
    'x "a" { l { m { a = 1 } } }',
]


@pytest.mark.parametrize("text", READ)
def test_texts_around_the_contextual_words_are_read_as_lark_reads_them(text):
    assert agree(text)


@pytest.mark.parametrize("text", LEFT)
def test_what_lark_may_read_otherwise_is_left_to_lark(text):
    assert not agree(text)


@pytest.mark.parametrize("seed", range(40))
def test_generated_plans(seed):
    rng = random.Random(seed)
    for make in (generate.written, generate.valid, generate.mutated, generate.hostile, generate.raw):
        case = make(rng)
        read = agree(case.files.get(case.main, b"").decode("utf-8", "replace"))
        assert read or not case.valid  # a plan built to pass check parses, and fast
    for _ in range(10):
        agree(generate.statement(rng))


PIECES = ['"', "{", "}", "[", "]", "=", "<=", ",", ".", "#", "\n", " ", "\t", "\r", "1", "-3", "8k", "1B",
          "5.", ".5", "1GB", "/h", "USD/h", "USD", "tokens", "true", "false", "import", "sweep", "x", "gpu",
          '"s"', "layout", "%", "é", "\x0c", "\x0b", "users", "_a-b"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_any_arrangement_of_the_pieces(pieces):
    agree("".join(pieces))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES[11:]), max_size=12))
def test_any_value(pieces):
    agree('x "a" { k = ' + " ".join(pieces) + " }")
    agree('x "a" { k = [' + "".join(pieces) + "] }")


def test_left_text_is_parsed_by_lark_with_its_errors(monkeypatch):
    """With the fast reader off, every shipped plan parses to the same file (the fallback)."""
    texts = [p.read_text(encoding="utf-8") for p in SHIPPED]
    fast_files = [parse_recovering(t, "p.plan") for t in texts]
    monkeypatch.setattr(fast, "read", lambda text, path: None)
    assert [parse_recovering(t, "p.plan") for t in texts] == fast_files


def test_an_edited_grammar_turns_the_fast_reader_off(tmp_path, monkeypatch):
    """A grammar other than the one fast.py follows: every text goes to lark, same files."""
    edited = tmp_path / "plan.lark"
    edited.write_text(lalr.grammar_path().read_text(encoding="utf-8") + "\n// edited\n", encoding="utf-8")
    text = (EXAMPLES / "tour.plan").read_text(encoding="utf-8")
    before = parse_recovering(text, "p.plan")
    monkeypatch.setattr(fast, "grammar_path", lambda: edited)
    fast._line_tokens.cache_clear()
    try:
        assert fast.read(text, "p.plan") is None
        assert parse_recovering(text, "p.plan") == before
    finally:
        monkeypatch.undo()
        fast._line_tokens.cache_clear()
    assert fast.read(text, "p.plan") is not None
