"""Write the TextMate grammar of the plan language, for VS Code and Sublime Text.

    python editors/generate.py

The grammar's number, unit and word patterns are copied from the parser's own
grammar (grammar/plan.lark) and its block kinds from planner/syntax/keys.py, so
the highlighter reads a value the way the parser does. Two files are written:
``vscode/syntaxes/plan.tmLanguage.json`` (VS Code, GitHub-style highlighters)
and ``sublime/Plan.tmLanguage`` (the same grammar as a property list, which
Sublime Text reads). tests/editors/test_grammar.py checks that both are what
this script writes, and tokenizes every example and catalog file with them.
"""

from __future__ import annotations

import json
import plistlib
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
JSON_GRAMMAR = HERE / "vscode" / "syntaxes" / "plan.tmLanguage.json"
PLIST_GRAMMAR = HERE / "sublime" / "Plan.tmLanguage"

NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"  # NAME in grammar/plan.lark
STRING = r'"(?:[^"\\]|\\.)*"'


def _lark_pattern(token: str) -> str:
    text = (REPOSITORY / "grammar" / "plan.lark").read_text(encoding="utf-8")
    return re.search(rf"^{token}(?:\.\d)?: /(.*)/$", text, re.MULTILINE).group(1)


def _block_kinds() -> tuple[str, ...]:
    try:
        from planner.syntax.keys import BLOCK_KINDS
    except ImportError:  # run from a checkout without planner installed
        sys.path.insert(0, str(REPOSITORY))
        from planner.syntax.keys import BLOCK_KINDS

    return BLOCK_KINDS


def grammar() -> dict:
    quantity = _lark_pattern("QUANTITY")
    # split the parser's QUANTITY at its unit, to scope the number and the unit apart
    number_part, unit_part = quantity.split("(?:TFLOPS", 1)
    unit_part = "(?:TFLOPS" + unit_part
    units, lookahead = unit_part.rsplit("(?!", 1)
    kinds = "|".join(_block_kinds())
    return {
        "name": "Plan",
        "scopeName": "source.plan",
        "fileTypes": ["plan"],
        "comment": "The planner plan language (docs/language.md). Written by editors/generate.py.",
        "patterns": [{"include": "#statement"}],
        "repository": {
            "statement": {"patterns": [
                {"include": "#comment"},
                {"include": "#import"},
                {"include": "#sweep"},
                {"include": "#header"},
                {"include": "#block"},
                {"include": "#value"},
                {"include": "#illegal"},
            ]},
            "comment": {"match": "#.*$", "name": "comment.line.number-sign.plan"},
            "import": {
                "match": rf"\b(import)\b\s*({STRING})?",
                "captures": {"1": {"name": "keyword.control.import.plan"},
                             "2": {"name": "string.quoted.double.plan"}},
            },
            "sweep": {
                "match": rf"\b(sweep)\b\s*({STRING})?(?:\s*(\.)\s*({NAME}))?",
                "captures": {"1": {"name": "keyword.control.sweep.plan"},
                             "2": {"name": "entity.name.function.workload.plan"},
                             "3": {"name": "punctuation.accessor.plan"},
                             "4": {"name": "variable.other.property.plan"}},
            },
            "header": {
                "match": rf"\b({kinds})\b(?:\s*({STRING}))?",
                "captures": {"1": {"name": "storage.type.block.plan"},
                             "2": {"name": "entity.name.type.block.plan"}},
            },
            "block": {
                "begin": r"\{",
                "end": r"\}",
                "beginCaptures": {"0": {"name": "punctuation.section.block.begin.plan"}},
                "endCaptures": {"0": {"name": "punctuation.section.block.end.plan"}},
                "name": "meta.block.plan",
                "patterns": [
                    {"include": "#comment"},
                    {"match": rf"\b({NAME})\s*(<=|=)",
                     "captures": {"1": {"name": "variable.other.property.plan"},
                                  "2": {"name": "keyword.operator.assignment.plan"}}},
                    {"match": rf"\b({NAME})\s*(?=\{{)", "captures": {"1": {"name": "storage.type.block.plan"}}},
                    {"include": "#block"},
                    {"include": "#value"},
                    {"include": "#illegal"},
                ],
            },
            "value": {"patterns": [
                {"include": "#string"},
                {"match": f"({number_part})({units})(?!{lookahead}",
                 "captures": {"1": {"name": "constant.numeric.plan"}, "2": {"name": "keyword.other.unit.plan"}}},
                {"match": _lark_pattern("NUMBER"), "name": "constant.numeric.plan"},
                {"match": r"(?<![A-Za-z0-9_.\-])(/h|[A-Z]{3}/h|tokens)(?![A-Za-z0-9_.\-/%])",
                 "name": "keyword.other.unit.plan"},
                {"match": _lark_pattern("BAD_NUMBER"), "name": "invalid.illegal.number.plan"},
                {"match": r"\b(true|false)\b(?![\-])", "name": "constant.language.boolean.plan"},
                {"match": NAME, "name": "constant.other.word.plan"},
                {"match": r"<=|=", "name": "keyword.operator.assignment.plan"},
                {"match": r"\[", "name": "punctuation.definition.list.begin.plan"},
                {"match": r"\]", "name": "punctuation.definition.list.end.plan"},
                {"match": r",", "name": "punctuation.separator.list.plan"},
            ]},
            "string": {
                "match": rf'("(?:[^"\\]|\\.)*")|("(?:[^"\\]|\\.)*$)',
                "captures": {"1": {"name": "string.quoted.double.plan"},
                             "2": {"name": "invalid.illegal.unterminated-string.plan"}},
            },
            "illegal": {"match": r"\S", "name": "invalid.illegal.plan"},
        },
    }


def json_text() -> str:
    return json.dumps(grammar(), indent=2, ensure_ascii=False) + "\n"


def plist_bytes() -> bytes:
    return plistlib.dumps(grammar(), sort_keys=True)


def main() -> None:
    JSON_GRAMMAR.write_text(json_text(), encoding="utf-8")
    PLIST_GRAMMAR.write_bytes(plist_bytes())
    print(f"wrote {JSON_GRAMMAR.relative_to(REPOSITORY)} and {PLIST_GRAMMAR.relative_to(REPOSITORY)}")


if __name__ == "__main__":
    main()
