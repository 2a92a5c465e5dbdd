"""planner fmt: canonical, idempotent, meaning-preserving, comments kept."""

from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.syntax import parse_plan, parse_text
from planner.syntax.fmt import format_text
from support.paths import ROOT

SHIPPED = sorted((ROOT / "examples").glob("*.plan")) + sorted((ROOT / "specs").glob("*.plan"))


def _comments(text: str, path: str = "c.plan") -> list[str]:
    return sorted(c.text for c in parse_text(text, path).comments)


def assert_canonical_round_trip(text: str, path: str = "x.plan") -> str:
    out = format_text(text, path)
    assert format_text(out, path) == out, "fmt is not idempotent"
    assert parse_plan(out, path).semantic() == parse_plan(text, path).semantic()
    assert _comments(out, path) == _comments(text, path)
    return out


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_round_trip(path):
    assert SHIPPED, "examples/ and specs/ hold .plan files"
    assert_canonical_round_trip(path.read_text(encoding="utf-8"), str(path))


def test_canonical_layout():
    text = 'import "std"\nimport "x.plan"\nmodel "m" { like = "q"  layers = 2 }\ngpu "g" {}\nsweep "s".users = [1,2]\nsweep "t".users=[ 3 ]'
    assert format_text(text, "x.plan") == (
        'import "std"\nimport "x.plan"\n\n'
        'model "m" {\n  like = "q"\n  layers = 2\n}\n\n'
        'gpu "g" {}\n\n'
        'sweep "s".users = [1, 2]\nsweep "t".users = [3]\n'
    )


def test_units_are_kept_as_written_with_canonical_spacing():
    text = 'gpu "g" { memory = 80GiB  price = 1.79   /h }\ngpu "h" { price = 2   USD/h }\nfinetune "t" { model = "m" dataset = 250M    tokens }'
    out = format_text(text, "x.plan")
    assert "memory = 80GiB" in out and "price = 1.79/h" in out and "price = 2 USD/h" in out
    assert "dataset = 250M tokens" in out


def test_comments_stay_in_place():
    text = (
        "# header\n\n"
        'gpu "g" {  # on the brace\n'
        "  # before an entry\n"
        "  memory = 1GB  # after an entry\n"
        "  # before the brace\n"
        "}  # after the brace\n"
        'serve "s" { model = "m" users = 1 context = 1k\n'
        '  gpus = ["a",  # inside a list\n "b"] }\n'
        "# at the end\n"
    )
    out = assert_canonical_round_trip(text)
    assert out.startswith("# header\n\ngpu \"g\" {  # on the brace\n  # before an entry\n  memory = 1GB  # after an entry\n")
    assert "  # before the brace\n}  # after the brace\n" in out
    assert out.endswith("\n# at the end\n")


def test_empty_and_comment_only_files():
    assert format_text("", "e.plan") == ""
    assert format_text("  # just this\n", "e.plan") == "# just this\n"


def test_crlf_and_tabs():
    assert_canonical_round_trip('gpu "g" {\r\n\tmemory = 1GB\r\n}\r\n')


SEPARATORS = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " # note\n", "\n# own line\n", "  #x\n  ", "\r\n"])
VALUES = {
    "gpu": {"memory": ["24GB", "80GiB", "81920MiB"], "price": ["1.79/h", "2 /h", "1.5 USD/h"],
            "available": ["8", "unlimited"], "bf16": ["312TFLOPS", "1.2PFLOPS"], "network": ["100Gbps", "25GB/s"],
            "usable": ["90%", "0.9"], "price_date": ['"2026-01-31"'], "vendor": ["amd", '"nvidia"']},
    "model": {"like": ['"base"', "base"], "layers": ["32", "1k"], "params": ["7B", "1.1B", "70000000000"],
              "tied": ["true", "false"], "max_context": ["128k", "131072"], "precision": ["bf16", "fp8"]},
    "serve": {"model": ['"m"'], "users": ["3", "1k"], "context": ["8k", "4096"], "tpot": ["50ms", "0.1s"],
              "weights": ["int4", "auto"], "gpus": ['["a", "b"]', "[a]"], "duration": ["730h", "30d"]},
    "finetune": {"model": ['"m"'], "dataset": ["1GB", "250M tokens", "1.5KiB"], "epochs": ["1", "2.5"],
                 "deadline": ["24h", "90min"], "method": ["qlora", "lora"], "targets": ["[q, v]", "[q,k,v,o]"],
                 "budget": ["500", "1e3"], "stack": ["hf", "megatron"], "precision": ["bf16", "fp8"]},
}
REQUIRED = {"serve": ["model", "users", "context"], "finetune": ["model", "dataset"]}
LIMITS = {"tpot", "deadline", "budget"}


@st.composite
def blocks(draw, kind: str, name: str):
    sep = lambda: draw(SEPARATORS)  # noqa: E731
    pool = VALUES[kind]
    keys = REQUIRED.get(kind, []) + draw(st.lists(st.sampled_from(sorted(set(pool) - set(REQUIRED.get(kind, [])))), unique=True))
    entries = []
    for key in draw(st.permutations(keys)):
        op = "<=" if key in LIMITS else "="
        value = draw(st.sampled_from(pool[key]))
        entries.append(f"{key}{draw(st.sampled_from([' ', '']))}{op}{sep()}{value}")
    if kind == "finetune" and draw(st.booleans()):
        pins = draw(st.sampled_from(["tp = 2{s}zero = 3", "tp = 2{s}sp = true{s}cp = 2{s}vpp = 2",
                                     "zero = 3{s}shard = node", "shard = 4{s}zero = 3"]))
        entries.append(f"layout{sep()}{{{sep()}{pins.format(s=sep())}{sep()}}}")
    body = sep().join(entries)
    return f"{kind}{sep()}\"{name}\"{sep()}{{{sep()}{body}{sep()}}}"


@st.composite
def plans(draw):
    statements = []
    for i in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["gpu", "model", "serve", "finetune", "import", "sweep"]))
        if kind == "import":
            statements.append(f'import "lib{i}.plan"')
        elif kind == "sweep":
            statements.append(f'sweep "w{i}".users = [{draw(st.sampled_from(["1, 2", "1k,2k", " 8 "]))}]')
        else:
            statements.append(draw(blocks(kind, f"{kind}{i}")))
    separators = [draw(SEPARATORS) for _ in statements]
    return draw(SEPARATORS) + "".join(s + sep for s, sep in zip(statements, separators))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_generated_plans_round_trip(text):
    assert_canonical_round_trip(text)
