"""Syntax error recovery: every independent syntax error once, at its own place, and no cascades."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import PlanError, PlanErrors, PlanNameError, PlanSyntaxError, PlanTypeError
from planner.resolve.load import load_plan
from planner.syntax import parse_plan
from planner.syntax.fmt import format_text
from planner.syntax.parser import parse_recovering, parse_text

from support.cli import run_cli as run
from support.paths import ROOT

SHIPPED = sorted((ROOT / "examples").glob("*.plan")) + sorted((ROOT / "specs").glob("*.plan"))


def errors_of(text: str, path: str = "r.plan") -> list[PlanError]:
    try:
        parse_plan(text, path)
    except PlanErrors as caught:
        return caught.errors
    except PlanError as caught:
        return [caught]
    return []


def where(errors: list[PlanError]) -> list[tuple[type, int, int]]:
    return [(type(e), e.span.line, e.span.column) for e in errors]


THREE = (
    'plan "p" { objective = cost }\n'         # 1  intact
    'gpu "A" {\n'                             # 2
    '  memory: 80GB\n'                        # 3  `:` for `=`              -> 3:9
    '}\n'                                     # 4
    'model "m" { like = "x" }\n'              # 5  intact
    'serve "s" { model = "m" users = = 3 }\n'  # 6  a value missing       -> 6:33
    'finetune "t" { model = "m" dataset = 1GB\n'  # 7  `}` missing       -> 7:41
    'pretrain "b" { model = "m" dataset = 1T tokens }\n'  # 8  intact
)


def test_three_syntax_errors_in_three_blocks_are_all_reported():
    errors = errors_of(THREE)
    assert where(errors) == [(PlanSyntaxError, 3, 9), (PlanSyntaxError, 6, 33), (PlanSyntaxError, 7, 41)]
    assert "unexpected `:`; write `key = value`" in errors[0].message
    assert errors[1].message.startswith("unexpected `=`; expected a value")
    assert errors[2].message == ('the `finetune "t"` block opened on line 7 is not closed; '
                                 'expected `}` before the `pretrain` statement on line 8')


def test_the_broken_blocks_are_left_out_and_the_rest_is_parsed():
    file, errors = parse_recovering(THREE, "r.plan")
    assert len(errors) == 3
    assert [(s.kind, s.name) for s in file.statements] == [("plan", "p"), ("model", "m"), ("pretrain", "b")]


def test_a_syntax_error_and_an_unknown_key_in_an_intact_block():
    # Reported: the syntax error, and the per-block errors of the blocks that did parse.
    text = (
        'gpu "A" { memory = 80 GB }\n'
        'gpu "B" { memry = 80GB }\n'
        'serve "s" { model = "m" users = 0 context = 8k }\n'
    )
    errors = errors_of(text)
    assert where(errors) == [(PlanSyntaxError, 1, 20), (PlanNameError, 2, 11), (PlanTypeError, 3, 33)]
    assert "write `80GB` with no space" in errors[0].message
    assert "unknown key `memry`" in errors[1].message and "did you mean `memory`" in errors[1].message
    assert "`users` must be from 1 to 10M" in errors[2].message


def test_cross_block_checks_do_not_run_on_a_damaged_file():
    # The model block is broken, so the serve's `model = "m"` must not be called unknown,
    # the import is not followed (it does not exist), and no "no GPU offered" error either.
    files = {
        "main.plan": 'import "missing.plan"\n'
                     'model "m" { like: "x" }\n'
                     'serve "s" { model = "m" users = 3 context = 8k }\n'
                     'sweep "nothing".users = [1, 2]\n',
    }
    with pytest.raises(PlanSyntaxError) as caught:
        load_plan("main.plan", reader=files.__getitem__)
    assert (caught.value.span.line, caught.value.span.column) == (2, 17)


@pytest.mark.parametrize("text, line, column, words", [
    # An unclosed `{` at the end of the file: one error, at the end of what was written.
    ('gpu "A" { memory = 1GB\n\n# nothing more\n', 1, 23, ["end of file", '`gpu "A"` block opened on line 1']),
    # ... in the middle: one error, before the next statement, which is read normally.
    ('serve "s" { model = "m"\n  layout { tp = 1\ngpu "A" { memory = 1GB }\n', 2, 18,
     ["`layout` (line 2) and `serve \"s\"` (line 1) are not closed", "2 × `}`", "`gpu` statement on line 3"]),
    # A block without `{`: its entries and its `}` are not read as more mistakes.
    ('gpu "A"\n  memory = 1GB\n  per_node = 8\n}\ngpu "B" { memory = 2GB }\n', 2, 3, ["unexpected `memory`", "`{`"]),
    # A string not closed.
    ('model "A" { like = "x }\nmodel "B" { like = "y" }\n', 1, 20, ["string is not closed"]),
    # One `}` too many.
    ('gpu "A" { memory = 1GB } }\ngpu "B" {}\n', 1, 26, ["unexpected `}`"]),
    # An unclosed list.
    ('serve "s" { model = "m" gpus = ["A", "B"\n  users = 3 context = 8k }\ngpu "A" {}\n', 2, 3,
     ["unexpected `users`", "`]`"]),
    # A missing value before the next statement.
    ('gpu "A" { memory =\ngpu "B" {}\n', 1, 19, ["unfinished statement", "a value", "`gpu` statement on line 2"]),
])
def test_one_mistake_gives_one_error(text, line, column, words):
    errors = errors_of(text)
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert isinstance(error, PlanSyntaxError)
    assert (error.span.line, error.span.column) == (line, column), str(error)
    for word in words:
        assert word in error.message, (word, error.message)


def test_fmt_reports_every_syntax_error_and_formats_nothing():
    with pytest.raises(PlanErrors) as caught:
        format_text(THREE, "r.plan")
    assert [(e.span.line, e.span.column) for e in caught.value.errors] == [(3, 9), (6, 33), (7, 41)]


def test_check_prints_all_three(tmp_path):
    path = tmp_path / "three.plan"
    path.write_text(THREE)
    code, out, err = run("check", str(path))
    assert code == 2
    assert out == f"{path}: 3 errors\n"
    assert [line.split(": error:")[0] for line in err.splitlines() if ": error:" in line] == \
        [f"{path}:3:9", f"{path}:6:33", f"{path}:7:41"]


# ---------------------------------------------------------------- properties over the shipped files

def _statement_lines(text: str) -> list[int]:
    """Lines (0-based) that start a block at column 1, with an opening `{` on them."""
    return [i for i, line in enumerate(text.split("\n"))
            if re.match(r'(plan|gpu|model|serve|finetune|pretrain) "[^"]*" *\{', line)]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_pieces_parse_as_the_whole_file(path):
    # Recovery cuts a broken file at statement keywords; on valid text the pieces must give
    # exactly the statements of the whole file.  A broken last line forces the cut.
    text = path.read_text(encoding="utf-8")
    whole = parse_text(text, str(path)).statements
    file, errors = parse_recovering(text + '\ngpu "broken" {\n', str(path))
    assert len(errors) == 1 and "end of file" in errors[0].message
    assert file.statements == whole


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_each_broken_block_gives_exactly_one_error_at_its_place(data):
    path = data.draw(st.sampled_from(SHIPPED))
    lines = path.read_text(encoding="utf-8").split("\n")
    starts = _statement_lines("\n".join(lines))
    broken = sorted(data.draw(st.sets(st.sampled_from(starts), min_size=1, max_size=min(5, len(starts)))))
    # (mistake, where in it the parser stops): a bad character, `:`, a missing key, a `}` too many.
    mistake, offset = data.draw(st.sampled_from([("@", 0), (":", 0), ("= =", 0), ("}}", 1)]))
    expected = []
    for i in broken:
        brace = lines[i].index("{")
        lines[i] = lines[i][: brace + 1] + " " + mistake + " " + lines[i][brace + 1:]
        expected.append((i + 1, brace + 3 + offset))
    _, errors = parse_recovering("\n".join(lines), "b.plan")
    assert [(e.span.line, e.span.column) for e in errors] == expected, [str(e) for e in errors]
