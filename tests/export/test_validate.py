"""Exports read by the real tools' own parsers: DeepSpeed's ``DeepSpeedConfig`` (on a CPU
torch), SkyPilot's ``sky.Task.from_yaml`` and, where vLLM imports (not from the extra: its
wheels need a CUDA torch; docs/exports.md, "Validation"), the ``vllm serve`` argument parser.
Optional: ``pip install '.[validate]'``; without those packages these tests are skipped,
saying so.

Every example plan is solved and exported to every target that applies, and every file
written is loaded; a few hand-made rows add what the examples do not pick (EP, offload).
"""

from __future__ import annotations

import glob
import json
import os
import socket

import pytest

from planner.export import artifacts
from planner.api import load, export, solve

from support.paths import ROOT
from test_export import result, train_row, with_layout

pytestmark = [pytest.mark.validate, pytest.mark.slow]

EXAMPLES = sorted(glob.glob(os.path.join(str(ROOT), "examples", "*.plan")))
MISSING = "not installed: pip install '.[validate]' (docs/exports.md, \"Validation\")"


@pytest.fixture(scope="module")
def exported():
    """tool -> [(file name, text, row)] over every example."""
    out: dict[str, list] = {"deepspeed": [], "skypilot": [], "vllm": []}
    for path in EXAMPLES:
        plan = load(path)
        solved = solve(plan, file=path)
        rows = {row.name: row for row in solved.workloads}
        for tool in out:
            try:
                files, _ = export(solved, plan, tool)
            except Exception as error:  # a plan without rows of the tool's kinds
                assert "no " in str(error) or "nothing to export" in str(error), error
                continue
            # (vLLM: examples/7b-memory.plan's transformers services are refused, not exported)
            for f in files:
                out[tool].append((f.filename, f.text, rows))
    return out


class DataParallel:
    """The `mpu` DeepSpeed asks for the data-parallel world size (Megatron's interface)."""

    def __init__(self, size: int):
        self.size = size

    def get_data_parallel_world_size(self) -> int:
        return self.size


@pytest.fixture(scope="module")
def deepspeed_config():
    """DeepSpeedConfig with a one-process gloo group, so it checks the batch against the
    data-parallel size the export was written for (without a group it assumes 1)."""
    deepspeed = pytest.importorskip("deepspeed", reason=f"deepspeed {MISSING}")
    from deepspeed.runtime.config import DeepSpeedConfig

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    deepspeed.init_distributed(dist_backend="gloo")
    yield DeepSpeedConfig
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _data_parallel(config: dict) -> int:
    return config["train_batch_size"] // (config["train_micro_batch_size_per_gpu"]
                                          * config["gradient_accumulation_steps"])


def test_deepspeed_loads_every_example_config(deepspeed_config, exported):
    assert exported["deepspeed"]
    for name, text, _ in exported["deepspeed"]:
        config = json.loads(text)
        loaded = deepspeed_config(config, mpu=DataParallel(_data_parallel(config)))
        assert loaded.train_batch_size == config["train_batch_size"], name
        assert int(loaded.zero_optimization_stage) == config["zero_optimization"]["stage"], name
        assert loaded.bfloat16_config.enabled == ("bf16" in config), name


def test_deepspeed_loads_what_the_examples_do_not_pick(deepspeed_config):
    rows = [with_layout(train_row(tp=1, dp=16, zero=2), ep=8),  # AutoEP
            train_row(gpu="V100-32G", tp=1, dp=8, count=8, nodes=1, zero=3, offload="all"),
            train_row(tp=1, dp=3, count=3, nodes=1, zero=2, micro=2, offload="optimizer")]
    files, _ = artifacts(result(rows), "deepspeed")
    for f in files:
        config = json.loads(f.text)
        loaded = deepspeed_config(config, mpu=DataParallel(_data_parallel(config)))
        assert loaded.train_batch_size == config["train_batch_size"]
    ep = deepspeed_config(json.loads(files[0].text), mpu=DataParallel(16))
    assert (ep.expert_parallel_config.enabled, ep.expert_parallel_config.autoep_size) == (True, 8)
    offload = deepspeed_config(json.loads(files[1].text), mpu=DataParallel(8))
    assert offload.zero_config.offload_param.device == "cpu"
    # the parser bites: a key DeepSpeed does not have is refused
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        deepspeed_config(dict(json.loads(files[0].text), zero_optimization={"stage": 2, "offload": 1}),
                         mpu=DataParallel(16))


@pytest.fixture(scope="module")
def sky():
    return pytest.importorskip("sky", reason=f"skypilot {MISSING}")


def test_skypilot_loads_every_example_task(sky, exported, tmp_path):
    assert exported["skypilot"]
    for name, text, _ in exported["skypilot"]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        task = sky.Task.from_yaml(str(path))
        (resources,) = task.resources
        accelerator = text.split("accelerators: ", 1)[1].split("\n", 1)[0]
        gpu, _, count = accelerator.partition(":")
        assert resources.accelerators == {gpu: int(count)}, name
        assert task.num_nodes == int(text.split("num_nodes: ", 1)[1].split("\n", 1)[0]), name
        if "disk_size: " in text:
            assert resources.disk_size == int(text.split("disk_size: ", 1)[1].split("\n", 1)[0]), name
        assert (task.run is not None) == ("\nrun: " in text), name
    # the parser bites: a resource key SkyPilot does not have is refused
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources:\n  accelerator: A100:8\n", encoding="utf-8")
    with pytest.raises(Exception):
        sky.Task.from_yaml(str(bad))


@pytest.fixture(scope="module")
def vllm_serve():
    """vLLM's own `vllm serve` parser and its check of the parsed arguments (CPU platform)."""
    pytest.importorskip("vllm", reason="vllm not installed (its wheels need a CUDA torch; docs/exports.md)")
    saved = os.environ.get("VLLM_TARGET_DEVICE")
    os.environ["VLLM_TARGET_DEVICE"] = "cpu"  # the parser asks the platform for its defaults
    from vllm.entrypoints.cli.serve import ServeSubcommand
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser()
    command = ServeSubcommand()
    command.subparser_init(parser.add_subparsers(dest="subparser"))

    def parse(argv: list[str]):
        assert argv[:2] == ["vllm", "serve"]
        args = parser.parse_args(argv[1:])
        command.validate(args)
        return args
    yield parse
    if saved is None:
        os.environ.pop("VLLM_TARGET_DEVICE", None)
    else:
        os.environ["VLLM_TARGET_DEVICE"] = saved


def test_vllm_parses_every_example_command(vllm_serve, exported):
    import shlex

    from planner.export import skypilot
    from test_export import check_vllm, serve_row, vllm_commands

    commands = [shlex.split(text.split("exec ", 1)[1].replace("\\\n", " "))
                for _, text, _ in exported["vllm"]]
    commands += [argv for _, text, _ in exported["skypilot"] if "\nrun: |\n" in text
                 for argv in vllm_commands(text.split("\nrun: |\n", 1)[1])]
    commands += vllm_commands(skypilot.render(serve_row(count=16, nodes=2, tp=16, replicas=1, weights="bf16"),
                                              "m", None, 8).split("\nrun: |\n", 1)[1])
    assert commands
    for argv in commands:
        args = vllm_serve(argv)
        flags = check_vllm(argv)
        assert args.model_tag == argv[2]
        assert args.tensor_parallel_size == int(flags["--tensor-parallel-size"])
        assert args.pipeline_parallel_size == int(flags["--pipeline-parallel-size"])
        assert args.max_num_seqs == int(flags["--max-num-seqs"])
        assert args.max_num_batched_tokens == int(flags["--max-num-batched-tokens"])
        assert args.kv_cache_dtype == flags["--kv-cache-dtype"]
        assert args.gpu_memory_utilization == float(flags["--gpu-memory-utilization"])
        assert bool(args.enable_prefix_caching) == ("--enable-prefix-caching" in flags)
        assert args.nnodes == int(flags.get("--nnodes", 1)) and args.headless == ("--headless" in flags)
    # the parser bites: a flag vLLM does not have is refused
    with pytest.raises(SystemExit):
        vllm_serve(["vllm", "serve", "m", "--pipeline-stages", "2"])
