"""Models from where users keep them: a snapshot directory, or `hf:ORG/NAME` in the local
Hugging Face cache (a cache built in tmp_path, never the network), and the check of a
snapshot's safetensors index against the computed parameter bytes."""

from __future__ import annotations

import json
import os
import socket

import pytest

from planner.errors import PlanError, PlanErrors, PlanImportError, PlanTypeError, PlanWarning
from planner.resolve.load import load_plan
from support.cli import run_cli
from support.paths import CONFIGS

QWEN3_32B = (CONFIGS / "Qwen3-32B.json").read_text()
# The Hub's safetensors count for Qwen/Qwen3-32B at revision 9216db57: 32,762,123,264 BF16
# parameters, so its index's total_size is 2 bytes each.
QWEN3_32B_BYTES = 2 * 32_762_123_264
SHA = "9216db5781bf21249d130ec9da846c4624c16137"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection attempt fails the test: the planner reads the cache, never the hub."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _index(total: int) -> str:
    return json.dumps({"metadata": {"total_size": total},
                       "weight_map": {"lm_head.weight": "model-00017-of-00017.safetensors"}})


def _plan(path, config: str, extra: str = "") -> str:
    path.write_text(f'model "m" {{ config = "{config}" {extra}}}\n')
    return str(path)


def _errors(path) -> list[PlanError]:
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    e = caught.value
    return e.errors if isinstance(e, PlanErrors) else [e]


# ---------------------------------------------------------------- snapshot directories


@pytest.mark.parametrize("written", ["snap/", "snap"])
def test_a_snapshot_directory_reads_its_config(tmp_path, written):
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "config.json").write_text(QWEN3_32B)
    model = load_plan(_plan(tmp_path / "p.plan", written)).models[0]
    assert (model.layers, model.hidden, model.head_dim, model.qk_norm) == (64, 5120, 128, True)


def test_a_matching_index_passes_and_a_wrong_one_names_both_sizes(tmp_path):
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "config.json").write_text(QWEN3_32B)
    (tmp_path / "snap" / "model.safetensors.index.json").write_text(_index(QWEN3_32B_BYTES))
    load_plan(_plan(tmp_path / "p.plan", "snap/"))
    # the same weights beside a config that says 48 layers: 48 x 487,598,336 per layer
    # (models.md, Qwen3-32B) + final norm 5,120 + 2 x 777,912,320 embeddings
    # = 24,960,549,888 parameters, 49.92 GB at 2 bytes
    config = json.loads(QWEN3_32B)
    config["num_hidden_layers"] = 48
    (tmp_path / "snap" / "config.json").write_text(json.dumps(config))
    (error,) = _errors(_plan(tmp_path / "p.plan", "snap/"))
    assert isinstance(error, PlanTypeError)
    assert "65.52 GB (metadata.total_size)" in error.message  # the checkpoint
    assert "take 49.92 GB at bf16" in error.message and "23.8% less" in error.message  # the count
    assert error.span.file.endswith("p.plan") and error.span.line == 1


def test_a_config_file_named_directly_is_checked_against_its_index_too(tmp_path):
    (tmp_path / "config.json").write_text(QWEN3_32B)
    (tmp_path / "model.safetensors.index.json").write_text(_index(QWEN3_32B_BYTES // 2))
    (error,) = _errors(_plan(tmp_path / "p.plan", "config.json"))
    assert "100.0% more" in error.message


def test_a_vision_checkpoint_may_hold_more_than_the_text_model(tmp_path):
    # Magistral-Small-2509: the text model's 23,572,403,200 bf16 parameters beside a
    # checkpoint of 24,011,361,280 (the Hub's total, Pixtral included): fine, but a
    # checkpoint smaller than the text model is an error naming what else it holds
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "config.json").write_text((CONFIGS / "Magistral-Small-2509.json").read_text())
    (tmp_path / "snap" / "model.safetensors.index.json").write_text(_index(2 * 24_011_361_280))
    load_plan(_plan(tmp_path / "p.plan", "snap/"))
    (tmp_path / "snap" / "model.safetensors.index.json").write_text(_index(2 * 20_000_000_000))
    (error,) = _errors(_plan(tmp_path / "p.plan", "snap/"))
    assert "more" in error.message and "vision tower" in error.message


def test_a_quantized_checkpoint_is_checked_at_its_precision(tmp_path):
    # an AWQ 4-bit checkpoint (Ministral-8B-Instruct-2410-AWQ-W4A16): linear weights at
    # INT4_BYTES (4 bits + a 16-bit scale and 4-bit zero per 128), the rest in 16 bit
    from planner.estimate.precision import INT4_BYTES

    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "config.json").write_text(
        (CONFIGS / "Ministral-8B-Instruct-2410-AWQ-W4A16.json").read_text())
    embeddings = 2 * 131072 * 4096
    other = embeddings + 36 * 2 * 4096 + 4096
    linear = 8_019_808_256 - other
    (tmp_path / "snap" / "model.safetensors.index.json").write_text(
        _index(int(linear * INT4_BYTES + 2 * other)))
    assert load_plan(_plan(tmp_path / "p.plan", "snap/")).models[0].precision == "int4"


def test_mxfp4_is_a_warning_and_skips_the_index_check(tmp_path):
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "config.json").write_text((CONFIGS / "gpt-oss-20b.json").read_text())
    (tmp_path / "snap" / "model.safetensors.index.json").write_text(_index(13_761_300_000))
    warnings: list = []
    load_plan(_plan(tmp_path / "p.plan", "snap/"), warnings=warnings)
    (warning,) = warnings
    assert isinstance(warning, PlanWarning) and "mxfp4" in warning.message
    assert str(warning).startswith(f"{tmp_path / 'p.plan'}:1:") and ": warning: " in str(warning)
    warnings.clear()
    load_plan(_plan(tmp_path / "p.plan", "snap/", "precision = int4 "), warnings=warnings)
    assert warnings == []  # the block settles it


def test_a_directory_outside_the_root_is_refused(tmp_path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "config.json").write_text(QWEN3_32B)
    (error,) = _errors(_plan(tmp_path / "repo" / "p.plan", "../snap/"))
    assert "outside the plan's root" in error.message


# ---------------------------------------------------------------- the local cache


def _cache(root, repo: str = "Qwen/Qwen3-32B", with_index: bool = True):
    """The hub cache layout huggingface_hub writes: blobs named by hash, snapshots linking
    to them, refs/main holding the commit."""
    folder = root / ("models--" + repo.replace("/", "--"))
    (folder / "blobs").mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(SHA)
    snap = folder / "snapshots" / SHA
    snap.mkdir(parents=True)
    (folder / "blobs" / "a1").write_text(QWEN3_32B)
    os.symlink(folder / "blobs" / "a1", snap / "config.json")
    if with_index:
        (folder / "blobs" / "b2").write_text(_index(QWEN3_32B_BYTES))
        os.symlink(folder / "blobs" / "b2", snap / "model.safetensors.index.json")
    return snap


def test_a_hub_id_resolves_offline_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    _cache(tmp_path / "cache")
    (tmp_path / "repo").mkdir()
    plan = load_plan(_plan(tmp_path / "repo" / "p.plan", "hf:Qwen/Qwen3-32B"))
    assert plan.models[0].hidden == 5120
    plan = load_plan(_plan(tmp_path / "repo" / "p.plan", f"hf:Qwen/Qwen3-32B@{SHA}"))
    assert plan.models[0].layers == 64


def test_hf_home_locates_the_cache_too(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    _cache(tmp_path / "home" / "hub", with_index=False)
    (tmp_path / "repo").mkdir()
    assert load_plan(_plan(tmp_path / "repo" / "p.plan", "hf:Qwen/Qwen3-32B")).models[0].heads == 64


def test_a_cached_index_that_disagrees_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    snap = _cache(tmp_path / "cache")
    os.unlink(snap / "model.safetensors.index.json")
    (snap / "model.safetensors.index.json").write_text(_index(QWEN3_32B_BYTES * 2))
    (tmp_path / "repo").mkdir()
    (error,) = _errors(_plan(tmp_path / "repo" / "p.plan", "hf:Qwen/Qwen3-32B"))
    assert "50.0% less" in error.message


def test_a_model_not_in_the_cache_says_how_to_download_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    _cache(tmp_path / "cache")
    (tmp_path / "repo").mkdir()
    for written in ("hf:google/gemma-2-9b-it", "hf:Qwen/Qwen3-32B@0123abcd"):
        (error,) = _errors(_plan(tmp_path / "repo" / "p.plan", written))
        assert isinstance(error, PlanImportError)
        assert "is not in the local Hugging Face cache" in error.message
        repo = written[3:].partition("@")[0]
        assert (f"huggingface-cli download {repo} config.json model.safetensors.index.json"
                in error.hint)


def test_the_cli_prints_the_download_hint_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    (tmp_path / "repo").mkdir()
    code, out, err = run_cli("check", _plan(tmp_path / "repo" / "p.plan", "hf:openai/gpt-oss-20b"))
    assert code == 2 and "Traceback" not in err
    assert "huggingface-cli download openai/gpt-oss-20b config.json" in err


@pytest.mark.parametrize("written", ["hf:", "hf:gpt2", "hf:a/b/c", "hf:../../etc", "hf:a/b@"])
def test_a_malformed_hub_id_is_an_error(tmp_path, written):
    (error,) = _errors(_plan(tmp_path / "p.plan", written))
    assert "expected `hf:ORG/NAME`" in error.message or "not in the local" in error.message


def test_export_loads_the_hub_id(tmp_path, monkeypatch):
    from planner.export import model_references
    from planner import plan as P

    models = [P.Model(name="a", config="hf:Qwen/Qwen3-32B@main"), P.Model(name="b", config="snap/")]
    refs = model_references(P.Plan(file="p.plan", models=models))
    assert refs == {"a": "Qwen/Qwen3-32B", "b": "snap"}
