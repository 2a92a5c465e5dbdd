"""Hostile sizes: each documented limit gives a clear error, and check/fmt stay linear.

Regression tests for: an error re-splitting the whole file to print its line
(`diagnostics._source_line`), error recovery re-lexing all earlier text, one
line with many errors reprinted whole per error, `fmt._attach` quadratic in
comments, `convert._sweep` quadratic in values. Their speed is measured in
benchmarks/input_scaling.py; these tests pin the behaviour.
"""

from __future__ import annotations

import pytest

from planner.diagnostics import SHOWN_WIDTH, SourceLines, attach_lines, format_error
from planner.errors import PlanError, PlanErrors, PlanLimitError
from planner.syntax import parse_plan
from planner.syntax.fmt import format_text
from planner.syntax.limits import MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_STATEMENTS, MAX_TOKENS
from planner.syntax.parser import parse_recovering


def _errors(text: str) -> list[PlanError]:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "l.plan")
    error = caught.value
    return error.errors if isinstance(error, PlanErrors) else [error]


def test_a_line_longer_than_the_limit():
    text = 'gpu "g" {\n  memory = 1GB ' + " " * MAX_LINE_CHARS + "}\n"
    (error,) = _errors(text)
    assert isinstance(error, PlanLimitError) and "line 2 is longer than the limit of 10,000" in error.message
    assert (error.span.line, error.span.column) == (2, MAX_LINE_CHARS + 1)


def test_more_statements_than_the_limit():
    text = "".join(f'gpu "g{i}" {{}}\n' for i in range(MAX_STATEMENTS + 1))
    (error,) = _errors(text)
    assert isinstance(error, PlanLimitError) and "more than 20,000 statements" in error.message


@pytest.mark.slow
def test_statements_not_at_the_start_of_a_line_are_counted_after_the_parse():
    per_line = 50
    text = "".join(" ".join(f'gpu "g{i}-{j}" {{}}' for j in range(per_line)) + "\n"
                   for i in range(MAX_STATEMENTS // per_line + 1))
    (error,) = _errors(text)
    assert isinstance(error, PlanLimitError) and "more than 20,000 statements" in error.message
    assert error.span.line == MAX_STATEMENTS // per_line + 1


def test_more_tokens_than_the_limit():
    text = 'gpu "g" {\n' + "x=1\n" * (MAX_TOKENS // 3 + 1) + "}\n"
    (error,) = _errors(text)
    assert isinstance(error, PlanLimitError) and "more than 500,000 tokens" in error.message


def test_a_file_larger_than_the_limit():
    file, errors = parse_recovering("#" * (MAX_FILE_BYTES + 1), "big.plan")
    assert file.statements == () and "larger than the limit" in errors[0].message


def test_recovery_keeps_line_numbers_of_every_piece():
    # each broken piece is parsed alone; its positions are those of the file
    text = "".join(f'gpu "g{i}" {{ memory = 1GB }}\n' for i in range(300))
    text += 'gpu "bad" { memory = }\n' + 'serve "s" {\n  model = "m"\n  users = 0\n' + 'gpu "after" {}\n'
    errors = _errors(text)
    assert [(e.span.line, e.span.column) for e in errors] == [(301, 22), (305, 1)] or \
        [(e.span.line) for e in errors][:2] == [301, 304]
    assert "not closed" in errors[-1].message and "line 302" in errors[-1].message and "line 305" in errors[-1].message


def test_many_errors_on_one_line_print_a_window_not_the_line():
    # was: each error printed the whole line (a 79 KB input wrote 943 MB to stderr)
    line = 'gpu "g" { ' + " ".join(f"k{i} = 1" for i in range(900)) + " }"
    errors = _errors(line)
    assert len(errors) == 900
    printed = "\n".join(format_error(e) for e in errors)
    assert len(printed) < 900 * (SHOWN_WIDTH + 200)
    last = format_error(errors[-1]).splitlines()
    assert len(last[1]) <= SHOWN_WIDTH + 2 and last[1].startswith("  …")
    caret = last[2].index("^")
    assert last[1][caret:caret + 4] == "k899"


def test_the_printed_line_escapes_control_characters():
    errors = _errors('gpu "\x1b]0;title\x07" { memory = 1GB \x1b[2J }\n')
    for error in errors:
        assert "\x1b" not in format_error(error) and "\x07" not in format_error(error)


def test_source_lines_are_indexed_once_and_never_read_from_disk(tmp_path):
    path = tmp_path / "x.plan"
    path.write_text('gpu "g" {\n  memory = 80TFLOPS\n}\n')
    with pytest.raises(PlanError) as caught:
        parse_plan(path.read_text(), str(path))
    path.write_text("changed on disk\n" * 3)
    assert format_error(caught.value).splitlines()[1] == "    memory = 80TFLOPS"
    lines = SourceLines("a\nb\r\nc")
    assert [lines.line(n) for n in (0, 1, 2, 3, 4)] == [None, "a", "b", "c", None]
    bare = PlanError("x", caught.value.span)
    assert format_error(bare) == str(bare)  # no line attached: position and message only
    assert attach_lines(bare, {str(path): lines}).line_text == "b"


@pytest.mark.slow
def test_a_sweep_of_many_values_and_a_duplicate():
    values = ",\n".join(str(i) for i in range(1, 3001))
    plan = parse_plan(f'sweep "s".users = [\n{values}\n]\n', "s.plan")
    assert len(plan.sweeps[0].updates) == 3000 and plan.sweeps[0].labels[-1] == "3000"
    (error,) = _errors(f'sweep "s".users = [{values}, 7]\n')
    assert "`7` is listed twice" in error.message


def test_fmt_of_many_comments_attaches_each_where_it_was():
    blocks = "".join(f"# lead {i}\ngpu \"g{i}\" {{  # open {i}\n  # in {i}\n  memory = 1GB  # trail {i}\n"
                     f"  # close {i}\n}}\n" for i in range(400))
    formatted = format_text(blocks, "c.plan")
    assert format_text(formatted, "c.plan") == formatted
    assert formatted.count("#") == 2000
    assert '# lead 399\ngpu "g399" {  # open 399\n  # in 399\n  memory = 1GB  # trail 399\n  # close 399\n}' \
        in formatted


def test_fmt_never_writes_a_line_past_the_limit():
    # was: a sweep of many values written on one line, which then did not parse
    values = ",\n".join(str(i) for i in range(1, 3001))
    text = f'sweep "s".users = [\n{values}\n]  # many\nserve "s" {{ model = "m" users = 1 context = 2k gpus = ["A", "B"] }}\n'
    formatted = format_text(text, "w.plan")
    assert max(len(line) for line in formatted.splitlines()) <= 100
    assert formatted.startswith('sweep "s".users = [\n  1,\n  2,\n') and "\n  3000,\n]  # many\n" in formatted
    assert 'gpus = ["A", "B"]' in formatted  # a short list stays on its line
    assert format_text(formatted, "w.plan") == formatted
    assert parse_plan(formatted, "w.plan").semantic() == parse_plan(text, "w.plan").semantic()


def test_a_file_reports_at_most_a_thousand_errors():
    text = 'gpu "g" {\n' + "".join(f"  k{i} = 1\n" for i in range(1500)) + "}\n"
    errors = _errors(text)
    assert len(errors) == 1001 and "stopped after 1,000 errors" in errors[-1].message
    unclosed = "".join(f'gpu "g{i}" {{\n' for i in range(1500))
    errors = _errors(unclosed)
    assert len(errors) == 1001 and errors[-1].span.line == 1001


def test_print_errors_shows_at_most_a_thousand(capsys):
    import io

    from planner.diagnostics import print_errors
    from planner.errors import Span

    many = PlanErrors([PlanError(f"e{i}", Span.point("m.plan", i + 1)) for i in range(1200)])
    stream = io.StringIO()
    print_errors(many, stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1001 and lines[-1] == "... and 200 more errors not shown"
