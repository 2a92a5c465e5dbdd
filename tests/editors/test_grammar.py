"""The TextMate grammar in editors/: up to date with editors/generate.py, and every example
and catalog file tokenized by a TextMate engine (textmate-grammar-python, a port of
vscode-textmate) with no unmatched region, nothing illegal, nothing left unscoped, and
the parser's keys, block names and numbers scoped as such."""

from __future__ import annotations

import importlib.util
import json
import os
import plistlib
from pathlib import Path

import pytest

from planner.syntax.ast import Block, SubBlock, SweepStmt
from planner.syntax.keys import BLOCK_KINDS
from planner.syntax.parser import parse_text
from support.paths import EXAMPLES, ROOT

EDITORS = ROOT / "editors"
PLANS = sorted(EXAMPLES.glob("*.plan")) + sorted((ROOT / "specs").glob("*.plan"))


def _generate():
    spec = importlib.util.spec_from_file_location("editors_generate", EDITORS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    # textmate_grammar makes a cache folder in the working directory when imported: not in the tree
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("textmate"))
    try:
        from textmate_grammar.parsers.base import LanguageParser
    finally:
        os.chdir(here)
    grammar = json.loads((EDITORS / "vscode" / "syntaxes" / "plan.tmLanguage.json").read_text(encoding="utf-8"))
    return LanguageParser(grammar)


def _regions(element):
    """Every begin/end region of the tokenized tree."""
    for child in element.children:
        if hasattr(child, "end"):
            yield child
        yield from _regions(child)


def tokenize(tokenizer, text: str) -> tuple[dict[tuple[int, int], tuple[str, list[str]]], list]:
    """(0-based line, column) -> (text, scopes) of each token, and the regions left open."""
    element = tokenizer.parse_string(text)
    tokens = {position: (content, scopes) for position, content, scopes in element.flatten()}
    return tokens, [region for region in _regions(element) if not region.end]


def test_generated_files_are_current():
    generate = _generate()
    assert (EDITORS / "vscode" / "syntaxes" / "plan.tmLanguage.json").read_text(encoding="utf-8") == generate.json_text()
    assert (EDITORS / "sublime" / "Plan.tmLanguage").read_bytes() == generate.plist_bytes()
    assert plistlib.loads(generate.plist_bytes()) == json.loads(generate.json_text())


def test_grammar_follows_the_parser():
    grammar = json.loads(_generate().json_text())
    header = grammar["repository"]["header"]["match"]
    assert header.startswith(r"\b(" + "|".join(BLOCK_KINDS) + r")\b")
    lark = (ROOT / "grammar" / "plan.lark").read_text(encoding="utf-8")
    units = lark.split("QUANTITY.3: /", 1)[1].split("(?:TFLOPS", 1)[1].split("(?!", 1)[0]
    assert any(units in str(p.get("match")) for p in grammar["repository"]["value"]["patterns"])


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_every_shipped_plan_tokenizes_cleanly(tokenizer, path: Path):
    text = path.read_text(encoding="utf-8")
    tokens, unclosed = tokenize(tokenizer, text)
    assert unclosed == []
    for (line, column), (content, scopes) in tokens.items():
        assert not any(s.startswith("invalid") for s in scopes), (path.name, line + 1, content)
        if content.strip():
            assert scopes != ["source.plan"], (path.name, line + 1, content)
    # what the parser reads as keys, names and numbers, the grammar scopes as such
    expected = []
    for statement in parse_text(text, str(path)).statements:
        if isinstance(statement, Block):
            expected.append((statement.name_span, "entity.name.type.block.plan"))
            entries = [e for item in statement.items for e in (item.entries if isinstance(item, SubBlock) else [item])]
            for entry in entries:
                expected.append((entry.key_span, "variable.other.property.plan"))
                if entry.value.kind in ("number", "quantity", "tokens", "price"):
                    expected.append((entry.value.span, "constant.numeric.plan"))
        elif isinstance(statement, SweepStmt):
            expected.append((statement.key_span, "variable.other.property.plan"))
    assert expected
    for span, scope in expected:
        content, scopes = tokens[(span.line - 1, span.column - 1)]
        assert scope in scopes, (path.name, span.line, content, scopes)


@pytest.mark.parametrize("text, problem", [
    ('serve "s" {\n  users = 3\n', "unclosed"),
    ('serve "s" { users = 3 ; }\n', "invalid"),
    ('model "m" { like = "unterminated }\n', "invalid"),
    ('serve "s" { users = 3kv }\n', "invalid"),
])
def test_broken_text_is_caught(tokenizer, text, problem):
    tokens, unclosed = tokenize(tokenizer, text)
    if problem == "unclosed":
        assert unclosed
    else:
        assert any(s.startswith("invalid") for _, scopes in tokens.values() for s in scopes)
