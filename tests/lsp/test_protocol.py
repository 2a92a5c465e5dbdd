"""``planner lsp`` driven through the protocol in this process (tests/support/lsp.py):
initialize, didOpen, didChange, publishDiagnostics, completion, hover, formatting,
definition. Background solves are off here (see test_solves.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lsprotocol import types

from planner.resources import specs_dir
from planner.syntax.fmt import format_text
from planner.syntax.keys import KEYS, LIMIT_KEYS
from planner.syntax.values import range_text
from support.cli import run_cli
from support.lsp import Session
from support.paths import EXAMPLES, ROOT

SPECS = ROOT / "specs"


@pytest.fixture(scope="module")
def session():
    opened = Session()
    yield opened
    opened.close()


# ------------------------------------------------------------------ diagnostics = planner check

def _code_points(line: str, utf16: int) -> int:
    """The character column of a UTF-16 column in ``line``."""
    count = 0
    for index, char in enumerate(line):
        if count >= utf16:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(line)


def _as_check_lines(path: Path, text: str, diagnostics) -> list[str]:
    """The diagnostics written back as ``planner check`` writes errors."""
    lines = text.split("\n")
    out = []
    for d in diagnostics:
        assert d.severity == types.DiagnosticSeverity.Error and d.source == "planner"
        if d.related_information:
            (related,) = d.related_information
            start = related.location.range.start
            assert d.message.endswith(related.message)
            where = Path(related.location.uri.removeprefix("file://"))
            out.append(f"{where}:{start.line + 1}:{start.character + 1}: error: {related.message}")
        else:
            start = d.range.start
            column = _code_points(lines[start.line], start.character) if start.line < len(lines) else 0
            out.append(f"{path}:{start.line + 1}:{column + 1}: error: {d.message}")
    return out


def _check_lines(path: Path) -> list[str]:
    code, out, err = run_cli("check", str(path))
    assert code in (0, 2), err
    return [line for line in err.splitlines() if line and not line.startswith("  ") and not line.startswith("...")]


BROKEN = {
    "several": (
        'import "std"\n'
        'gpu "A10G" { available = 4  prise = 1/h }\n'
        'model "m" { like = "Llama-3.1-8Bx" }\n'
        'serve "s" { model = "m"  users = 3  context = 8GB }\n'
        'finetune "t" { model = "nope"  dataset = 1B  deadline = 24h }\n'
        'sweep "zz".users = [1, 2]\n'),
    "syntax": (
        'import "std"\n'
        'gpu "A10G" { available = 4\n'
        'serve "s" { model = "Llama-3.1-8B"  users = 3  context = 80 GB }\n'
        'pretrain "p" { model = "Llama-3.1-8B"  dataset = 1T tokens  epochs = 0 }\n'),
    "wide characters": (
        'model "\U0001F600 wide" { like = "\U0001F600 nope" }\n'
        'model "ünïcode" { layers = 0  hidden = 4096 }\n'),
    "imports": (
        'import "std"\n'
        'import "bad.plan"\n'
        'import "missing.plan"\n'
        'import "../outside.plan"\n'
        'serve "s" { model = "Llama-3.1-8B"  users = 3  context = 8k }\n'),
    "empty": "",
    "comments only": "# nothing but a comment\n",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_diagnostics_equal_planner_check(session, tmp_path, case):
    (tmp_path / ".git").mkdir()  # the plan's root: imports outside it are refused
    (tmp_path / "bad.plan").write_text('gpu "X" { memory = 80TFLOPS }\nimport "deeper.plan"\n')
    (tmp_path / "deeper.plan").write_text('model "deep" { layers = -1 }\n')
    path = (tmp_path / "plan.plan").resolve()
    text = BROKEN[case]
    path.write_text(text, encoding="utf-8")
    expected = _check_lines(path)
    assert expected, "every case has errors"
    uri = session.open(path, text)
    got = _as_check_lines(path, text, session.published(uri, 1))
    assert got == expected


@pytest.mark.parametrize("plan", sorted(EXAMPLES.glob("*.plan")) + sorted(SPECS.glob("*.plan")),
                         ids=lambda p: p.name)
def test_shipped_plans_have_no_diagnostics(session, plan):
    assert _check_lines(plan) == []
    uri = session.open(plan)
    assert session.published(uri, 1) == []


def test_an_imported_error_is_shown_at_the_import(session, tmp_path):
    (tmp_path / "bad.plan").write_text('gpu "X" { memory = 80TFLOPS }\n')
    text = 'import "std"\nimport "bad.plan"\n'
    uri = session.open(tmp_path / "main.plan", text)
    (diagnostic,) = session.published(uri, 1)
    assert (diagnostic.range.start.line, diagnostic.range.start.character) == (1, 7)  # `"bad.plan"`
    assert diagnostic.message.startswith(f"{tmp_path / 'bad.plan'}:1:20: `memory` takes bytes")


def test_did_change_checks_the_new_text_and_the_files_importing_it(session, tmp_path):
    base = tmp_path / "base.plan"
    base.write_text('import "std"\ngpu "A10G" { available = 2 }\n')
    main = tmp_path / "main.plan"
    main_uri = session.open(main, 'import "base.plan"\n')
    assert session.published(main_uri, 1) == []
    base_uri = session.open(base)
    session.change(base_uri, 'import "std"\ngpu "A10G" { available = 2  memory = 80 }\n', 2)
    (own,) = session.published(base_uri, 2)
    assert "`memory` needs a unit" in own.message
    # main.plan reads the unsaved text of base.plan, and is checked again with it
    errors = session.wait_for(lambda: [d for p in session.diagnostics[main_uri] for d in p.diagnostics])
    assert "`memory` needs a unit" in errors[0].message and errors[0].range.start.line == 0
    assert errors[0].message.startswith(f"{base}:2:")
    session.change(base_uri, base.read_text(), 3)
    assert session.published(base_uri, 3) == []


# ------------------------------------------------------------------ completion

def _labels(items) -> list[str]:
    return [item.label for item in items]


def _at(text: str, marker: str = "|") -> tuple[str, int, int]:
    before = text[:text.index(marker)]
    return text.replace(marker, "", 1), before.count("\n"), len(before.split("\n")[-1])


def _complete(session, tmp_path, text_with_cursor: str, name: str = "c.plan"):
    text, line, column = _at(text_with_cursor)
    uri = session.open(tmp_path / name, text)
    return session.completion(uri, line, column), text


def test_completion_of_block_kinds(session, tmp_path):
    items, _ = _complete(session, tmp_path, 'import "std"\n|')
    assert _labels(items) == ["plan", "gpu", "model", "serve", "finetune", "pretrain", "measured", "calibration",
                             "import", "sweep"]


def test_completion_of_keys_not_yet_written(session, tmp_path):
    items, _ = _complete(session, tmp_path, 'serve "s" {\n  model = "m"\n  us|\n}\n')
    labels = _labels(items)
    assert "model" not in labels and "users" in labels and "layout" in labels
    assert set(labels) == (set(KEYS["serve"]) - {"model"}) | {"layout"}
    users = items[labels.index("users")]
    assert users.text_edit.new_text == "users = " and users.text_edit.range.start.character == 2
    tpot = items[labels.index("tpot")]
    assert tpot.text_edit.new_text == "tpot <= "  # limits take <=
    assert "time per output token" in tpot.documentation.value


def test_completion_of_layout_keys(session, tmp_path):
    items, _ = _complete(session, tmp_path, 'finetune "t" {\n  layout { tp = 2  | }\n}\n')
    assert set(_labels(items)) == set(KEYS["layout"]) - {"tp"}


def test_completion_of_enum_values(session, tmp_path):
    items, _ = _complete(session, tmp_path, 'finetune "t" { method = q| }\n')
    assert _labels(items) == ["full", "lora", "qlora"]
    assert items[0].text_edit.range.start.character == len('finetune "t" { method = ')
    items, _ = _complete(session, tmp_path, 'finetune "t" { targets = [q, | }\n')
    assert _labels(items) == list(KEYS["finetune"]["targets"].choices)
    items, _ = _complete(session, tmp_path, 'model "m" { tied = | }\n')
    assert _labels(items) == ["true", "false"]
    items, _ = _complete(session, tmp_path, 'sweep "t".optimizer = [|\n')
    assert _labels(items) == list(KEYS["finetune"]["optimizer"].choices)


def test_completion_of_model_and_gpu_names(session, tmp_path):
    items, _ = _complete(session, tmp_path,
                         'import "std"\nmodel "mine" { like = "Llama-3.1-8B" }\nserve "s" { model = "|" }\n')
    labels = _labels(items)
    assert labels[0] == "mine" and "DeepSeek-R1-Distill-Qwen-7B" in labels and "Llama-3.1-8B" in labels
    mine = items[0]
    assert mine.text_edit.new_text == "mine"  # inside the quotes: the name alone
    items, _ = _complete(session, tmp_path, 'serve "s" { model = | }\n')
    assert items[0].text_edit.new_text.startswith('"')  # outside quotes: quoted
    items, _ = _complete(session, tmp_path, 'serve "s" { gpus = ["A1|"] }\n')
    assert {"A10G", "A100-80G", "H100-SXM"} <= set(_labels(items))
    assert "Llama-3.1-8B" not in _labels(items)
    items, _ = _complete(session, tmp_path, 'gpu "|"\n')
    assert "A10G" in _labels(items)


def test_completion_of_sweep_targets_and_keys(session, tmp_path):
    items, _ = _complete(session, tmp_path, 'serve "chat" { users = 3 }\nfinetune "tune" {}\nsweep "|"\n')
    assert _labels(items) == ["chat", "tune"]
    items, _ = _complete(session, tmp_path, 'sweep "chat".|\n')
    assert "users" in _labels(items) and "gpus" not in _labels(items)  # gpus is not sweepable


def test_no_completion_in_a_comment(session, tmp_path):
    items, _ = _complete(session, tmp_path, 'serve "s" { # mod| \n}\n')
    assert items == []


# ------------------------------------------------------------------ hover

def _docs_rows() -> dict[tuple[str, str], list[str]]:
    doc = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    rows = {}
    for kind in KEYS:
        section = doc.split(f"### `{kind}` keys", 1)[1].split("###", 1)[0]
        for line in section.splitlines():
            if line.startswith("| `"):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|(?![^`]*`\s*\|)", line.strip().strip("|"))]
                rows[(kind, cells[0].split(" ")[0].strip("`"))] = cells
    return rows


def test_hover_on_every_key_shows_its_documented_line(session, tmp_path):
    rows = _docs_rows()
    lines, places = [], []
    for kind in KEYS:
        if kind == "layout":
            continue
        lines.append(f'{kind} "x" {{')
        for key in KEYS[kind]:
            places.append((kind, key, len(lines)))
            lines.append(f"  {key} {'<=' if key in LIMIT_KEYS else '='} 1")
        if kind == "serve":
            lines.append("  layout {")
            for key in KEYS["layout"]:
                places.append(("layout", key, len(lines)))
                lines.append(f"    {key} = 1")
            lines.append("  }")
        lines.append("}")
    uri = session.open(tmp_path / "keys.plan", "\n".join(lines) + "\n")
    for kind, key, line in places:
        hover = session.hover(uri, line, lines[line].index(key) + 1)
        text = hover.contents.value
        documented = rows[(kind, key)]  # key, type, units / values, default, range, meaning
        assert f"**`{key}`** ({kind}) — {documented[5]}" in text, (kind, key, text)
        assert f"type: {documented[1]} · units / values: {documented[2]}" in text, (kind, key, text)
        assert f"default: {documented[3]}" in text, (kind, key, text)
        # the range as the key table states it (tests/syntax/test_bounds.py holds the docs to it)
        assert f"range: {range_text(KEYS[kind][key]) or '—'}" in text, (kind, key, text)


def test_hover_on_a_workload_before_any_solve(session, tmp_path):
    text = 'serve "chat" { model = "m" }\nsweep "chat".users = [1, 2]\n'
    uri = session.open(tmp_path / "w.plan", text)
    for line, column in ((0, 8), (1, 8)):
        hover = session.hover(uri, line, column)
        assert hover.contents.value.startswith("**`chat`** (serve)")
        assert "Background solves are off" in hover.contents.value
        assert hover.range.start == types.Position(line, 6)
    assert session.hover(uri, 0, 20) is None  # a value


# ------------------------------------------------------------------ formatting

def _apply(text: str, edits) -> str:
    lines = text.split("\n")
    (edit,) = edits
    start, end = edit.range.start, edit.range.end
    offset = lambda p: sum(len(l) + 1 for l in lines[:p.line]) + p.character  # noqa: E731 (ASCII text)
    return text[:offset(start)] + edit.new_text + text[offset(end):]


def test_formatting_is_planner_fmt(session, tmp_path):
    text = 'import "std"\nserve "s" {model="Llama-3.1-8B"   users=3 # who\ncontext=8k}'
    uri = session.open(tmp_path / "f.plan", text)
    edits = session.formatting(uri)
    assert _apply(text, edits) == format_text(text, "f.plan")
    canonical = format_text(text, "f.plan")
    session.change(uri, canonical, 2)
    assert list(session.formatting(uri)) == []
    session.change(uri, 'serve "s" { users = }\n', 3)
    assert session.formatting(uri) is None  # does not parse: nothing to format


# ------------------------------------------------------------------ definition

def test_definition_of_models_gpus_workloads_and_imports(session, tmp_path):
    (tmp_path / "shared.plan").write_text('model "base" { like = "Llama-3.1-8B" }\n')
    text = ('import "std"\nimport "shared.plan"\n'
            'model "mine" { like = "base" }\n'
            'gpu "A10G" { available = 2 }\n'
            'serve "chat" { model = "mine"  users = 3  context = 8k  gpus = ["A10G"] }\n'
            'sweep "chat".users = [1, 2]\n')
    uri = session.open(tmp_path / "d.plan", text)
    lines = text.split("\n")

    def go(line: int, word: str):
        return session.definition(uri, line, lines[line].index(word) + 1)

    (mine,) = go(4, '"mine"')
    assert mine.uri == uri and mine.range.start == types.Position(2, 0)
    (base,) = go(2, '"base"')
    assert base.uri == (tmp_path / "shared.plan").resolve().as_uri() and base.range.start.line == 0
    # The catalog the server reads is the installed one (the wheel's copy in CI, specs/ in a checkout).
    shipped = specs_dir()
    gpus = go(4, '"A10G"')
    assert [g.uri for g in gpus] == [uri, (shipped / "gpus.plan").resolve().as_uri()]
    catalog = go(3, '"A10G"')  # a refinement leads to what it refines
    assert [c.uri for c in catalog] == [(shipped / "gpus.plan").resolve().as_uri()]
    (chat,) = go(5, '"chat"')
    assert chat.range.start == types.Position(4, 0)
    (shared,) = go(1, '"shared.plan"')
    assert shared.uri == (tmp_path / "shared.plan").resolve().as_uri()
    std = go(0, '"std"')
    assert {s.uri for s in std} == {p.resolve().as_uri() for p in shipped.glob("*.plan")}
    assert session.definition(uri, 4, lines[4].index("users") + 1) is None
