"""Every key of every block, parsed and converted to base units (hand-worked values)."""

from __future__ import annotations

import pytest

from planner.syntax import parse_plan
from planner.syntax.keys import KEYS
from support.paths import DOCS

FULL = '''
plan "p" { objective = gpus  currency = "EUR"  budget <= 50000  period = 30d  window = 14d }
gpu "G" {
  memory = 81920MiB  usable = 92%  bf16 = 312TFLOPS  fp8 = 0TFLOPS  int8 = 1.2PFLOPS
  hbm = 3.35TB/s  interconnect = 300GB/s  network = 200Gbps  per_node = 8
  price = 1.79 EUR/h  price_date = "2026-11-01"  available = unlimited  utilization = 0.4
  vendor = amd  shapes = [1, 2, 4, 8]  host_ram = 1152GiB  host_cpus = 96  host_nvme = 8000GB
  billing = minute  storage_read = 10GB/s  storage_write = 5GB/s  interruptions = 10%  like = "H"
}
model "m" {
  like = "base"  config = "cfg/config.json"  params = 1.1B  layers = 22  hidden = 2048
  heads = 32  kv_heads = 4  head_dim = 64  ffn = 5632  vocab = 32000  tied = true
  mlp = plain  qkv_bias = true  linear_bias = false  norm = layer  positions = 2050
  max_context = 128k  precision = fp8  experts = 256  shared_experts = 1
  experts_per_token = 8  expert_ffn = 2048  dense_layers = 3  q_lora_rank = 1536
  kv_lora_rank = 512  qk_nope_dim = 128  qk_rope_dim = 64  v_head_dim = 128
  norms_per_layer = 4  qk_norm = true  sinks = true  router_bias = true  fused_qkv = true
  fused_gate_up = false  rope_scaling = 4
}
serve "s" {
  model = "m"  gpus = ["G", "H"]  utilization = 35%  users = 1.5k  context = 8k  prompt = 6000
  weights = int4  kv = fp8  tpot <= 50ms  ttft <= 2s  duration = 30d
  checkpoint = "org/model-AWQ"
  layout { gpu = "G"  count = 8  tp = 4  pp = 1  ep = 2  replicas = 2 }
}
finetune "f" {
  model = "m"  gpus = [G]  utilization = 0.5  dataset = 1.5KiB  bytes_per_token = 3.5
  epochs = 1.5  seq_len = 4096  batch = 64  optimizer = paged-adamw-8bit  deadline <= 90min
  budget <= 500  method = qlora  rank = 16  targets = [q, v, down]  weights = nf4
  every = 7d  start_after = 20h  checkpoint_every = 2h  stack = megatron  precision = bf16
  layout { gpu = "G"  count = 16  tp = 2  pp = 2  dp = 4  ep = 1  zero = 3  recompute = selective
           offload = optimizer  micro_batch = 2  sp = true  cp = 1  shard = node  vpp = 2 }
}
pretrain "t" {
  model = "m"  dataset = 2T tokens  bytes_per_token = 4  epochs = 1  seq_len = 2k  batch = 1k
  optimizer = sgd  deadline <= 30d  budget <= 1e6  utilization = 45%  gpus = ["G"]  runs = 2  checkpoint_every = 1d
  stack = fsdp  precision = fp8
}
serve "r" {
  model = "m"  rate = 1200/min  context = 8k  prompt = 6000  output = 1500  prefix_cache = 25%
  engine = sglang  ttft_p99 <= 3s  tpot_p99 <= 80ms
}
finetune "f2" { model = "m"  dataset = 1GB  runs = 4 }
pretrain "t2" { model = "m"  dataset = 1B tokens  every = 30d  start_after = 1d }
sweep "f".dataset = [1MB, 250M tokens]
sweep "s".users = [1, 10, 1k]
measured "ms" {
  workload = "s"  engine = vllm  weights = bf16  users = 16  prompt = 1000  output = 200
  tokens_per_second = 2.45k  requests_per_second = 12.25/s  ttft = 120ms  ttft_p50 = 0.11s
  ttft_p99 = 300ms  tpot = 7.5ms  tpot_p50 = 7.4ms  tpot_p99 = 9ms  itl = 7.4ms  peak_memory = 72GiB
  from = "bench/run.json"  date = "2025-06-01"
  layout { gpu = "G"  tp = 1  pp = 1  replicas = 1 }
}
measured "mt" {
  workload = "t"  stack = megatron  rate = 120/min  step_time = 4.2s  tokens_per_second = 500000
  mfu = 41%  date = "2025-06-02"
}
calibration "cs" { gpu = "G"  engine = sglang  step_overhead = 0  hbm_fraction = 86%  compute_fraction = 0.55 }
calibration "ct" {
  gpu = "G"  stack = fsdp  utilization = 0.61  collective_efficiency = 70%  runs = 6  residual = 2.1%
  date = "2025-06-03"
}
'''


@pytest.fixture(scope="module")
def plan():
    return parse_plan(FULL, "full.plan")


def test_plan_block(plan):
    s = plan.settings
    assert (s.name, s.objective, s.currency, s.budget) == ("p", "gpus", "EUR", 50000.0)
    assert (s.period, s.window) == (30 * 86400, 14 * 86400)


def test_gpu_block(plan):
    g = plan.gpus[0]
    assert g.memory == 81920 * 2**20 == 85_899_345_920
    assert g.usable == pytest.approx(0.92)
    assert g.bf16 == 312e12 and g.fp8 == 0.0 and g.int8 == pytest.approx(1.2e15)
    assert g.hbm == pytest.approx(3.35e12) and g.interconnect == 300e9
    assert g.network == 200e9 / 8 == 25e9  # bits → bytes
    assert g.per_node == 8 and g.price == 1.79 and g.price_date == "2026-11-01"
    assert g.available == -1 and g.utilization == 0.4 and g.vendor == "amd"
    assert g.shapes == [1, 2, 4, 8] and g.host_ram == 1152 * 2**30
    assert g.host_cpus == 96 and g.host_nvme == 8 * 10**12


def test_model_block(plan):
    m = plan.models[0]
    assert (m.like, m.config) == ("base", "cfg/config.json")
    assert m.params == 1_100_000_000
    assert (m.layers, m.hidden, m.heads, m.kv_heads, m.head_dim, m.ffn, m.vocab) == (22, 2048, 32, 4, 64, 5632, 32000)
    assert (m.tied, m.mlp, m.qkv_bias, m.linear_bias, m.norm, m.positions) == (True, "plain", True, False, "layer", 2050)
    assert (m.max_context, m.precision) == (128_000, "fp8")
    assert (m.experts, m.shared_experts, m.experts_per_token, m.expert_ffn, m.dense_layers) == (256, 1, 8, 2048, 3)
    assert (m.q_lora_rank, m.kv_lora_rank, m.qk_nope_dim, m.qk_rope_dim, m.v_head_dim) == (1536, 512, 128, 64, 128)
    assert (m.norms_per_layer, m.qk_norm, m.sinks, m.router_bias) == (4, True, True, True)
    assert (m.fused_qkv, m.fused_gate_up, m.rope_scaling) == (True, False, 4.0)


def test_serve_block(plan):
    s = plan.workloads[0]
    assert s.kind == "serve" and s.model == "m" and s.gpus == ["G", "H"] and s.utilization == 0.35
    assert (s.users, s.context, s.prompt) == (1500, 8000, 6000)
    assert (s.weights, s.kv) == ("int4", "fp8")
    assert s.tpot == pytest.approx(0.05) and s.ttft == 2.0
    assert s.checkpoint == "org/model-AWQ"
    assert s.duration == 30 * 86400 == 2_592_000
    lay = s.layout
    assert (lay.gpu, lay.count, lay.tp, lay.pp, lay.ep, lay.replicas) == ("G", 8, 4, 1, 2, 2)


def test_serve_block_with_a_rate(plan):
    r = plan.workloads[3]
    assert r.users is None and r.rate == pytest.approx(20.0)  # 1200 per minute
    assert (r.context, r.prompt, r.output, r.prefix_cache) == (8000, 6000, 1500, 0.25)
    assert r.engine == "sglang" and r.ttft_p99 == 3.0 and r.tpot_p99 == pytest.approx(0.08)
    assert plan.workloads[0].engine == "vllm" and plan.workloads[0].output is None


def test_finetune_block(plan):
    f = plan.workloads[1]
    assert f.kind == "finetune" and f.gpus == ["G"] and f.utilization == 0.5
    assert (f.dataset_bytes, f.dataset_tokens) == (1536, None)  # 1.5 × 1024
    assert (f.bytes_per_token, f.epochs, f.seq_len, f.batch) == (3.5, 1.5, 4096, 64)
    assert f.optimizer == "paged-adamw-8bit" and f.deadline == 90 * 60 and f.budget == 500
    assert (f.method, f.rank, f.targets, f.weights) == ("qlora", 16, ["q", "v", "down"], "nf4")
    assert (f.every, f.runs, f.start_after) == (7 * 86400, None, 20 * 3600)
    lay = f.layout
    assert (lay.count, lay.tp, lay.pp, lay.dp, lay.ep, lay.zero) == (16, 2, 2, 4, 1, 3)
    assert (lay.recompute, lay.offload, lay.micro_batch) == ("selective", "optimizer", 2)
    assert (lay.sp, lay.cp, lay.shard, lay.vpp) == (True, 1, "node", 2)
    assert (f.stack, f.precision) == ("megatron", "bf16")


def test_pretrain_block(plan):
    t = plan.workloads[2]
    assert t.kind == "pretrain"
    assert (t.dataset_tokens, t.dataset_bytes) == (2 * 10**12, None)
    assert (t.bytes_per_token, t.epochs, t.seq_len, t.batch) == (4.0, 1.0, 2000, 1000)
    assert t.optimizer == "sgd" and t.deadline == 2_592_000 and t.budget == 1e6 and t.utilization == 0.45
    assert (t.every, t.runs, t.start_after) == (None, 2, None)
    by_name = {w.name: w for w in plan.workloads}
    f2, t2 = by_name["f2"], by_name["t2"]  # `every` and `runs` are exclusive: the other block of each kind
    assert (f2.every, f2.runs, t2.every, t2.start_after) == (None, 4, 30 * 86400, 86400)
    assert (t.stack, t.precision) == ("fsdp", "fp8")


def test_sweeps(plan):
    data, users = plan.sweeps
    assert (data.target, data.key, data.labels) == ("f", "dataset", ["1MB", "250M tokens"])
    assert data.updates == [
        {"dataset_bytes": 10**6, "dataset_tokens": None},
        {"dataset_tokens": 250 * 10**6, "dataset_bytes": None},
    ]
    assert users.updates == [{"users": 1}, {"users": 10}, {"users": 1000}]
    assert users.labels == ["1", "10", "1k"]


def test_measured_blocks(plan):
    ms, mt = plan.measured
    assert (ms.workload, ms.engine, ms.weights, ms.users, ms.prompt, ms.output) == \
        ("s", "vllm", "bf16", 16, 1000, 200)
    assert (ms.tokens_per_second, ms.requests_per_second) == (2450.0, 12.25)
    assert (ms.ttft, ms.ttft_p50, ms.ttft_p99) == pytest.approx((0.12, 0.11, 0.3))
    assert (ms.tpot, ms.tpot_p50, ms.tpot_p99, ms.itl) == pytest.approx((0.0075, 0.0074, 0.009, 0.0074))
    assert ms.peak_memory == 72 * 2**30 and ms.source == "bench/run.json" and ms.date == "2025-06-01"
    assert (ms.layout.gpu, ms.layout.tp, ms.layout.pp, ms.layout.replicas) == ("G", 1, 1, 1)
    assert (mt.stack, mt.rate, mt.step_time, mt.tokens_per_second, mt.mfu) == \
        ("megatron", 2.0, 4.2, 500000.0, pytest.approx(0.41))


def test_calibration_blocks(plan):
    cs, ct = plan.calibrations
    assert (cs.gpu, cs.scope, cs.step_overhead, cs.hbm_fraction, cs.compute_fraction) == \
        ("G", ("engine", "sglang"), 0.0, pytest.approx(0.86), 0.55)
    assert (ct.scope, ct.utilization, ct.collective_efficiency, ct.runs, ct.residual, ct.date) == \
        (("stack", "fsdp"), 0.61, pytest.approx(0.7), 6, pytest.approx(0.021), "2025-06-03")


def test_every_key_is_covered_by_the_full_example(plan):
    """FULL writes every key of every block, so the tests above see them all."""
    from planner.syntax.parser import parse_text
    from planner.syntax.ast import Block, SubBlock

    seen: dict[str, set[str]] = {}
    for statement in parse_text(FULL, "full.plan").statements:
        if isinstance(statement, Block):
            for item in statement.items:
                if isinstance(item, SubBlock):
                    seen.setdefault("layout", set()).update(e.key for e in item.entries)
                else:
                    seen.setdefault(statement.kind, set()).add(item.key)
    for kind, keys in KEYS.items():
        assert set(keys) <= seen[kind], (kind, set(keys) - seen[kind])


def test_every_plan_field_has_a_key():
    """plan.py fields and the key table stay in step (a field added there needs a key here)."""
    from planner import plan as P

    meta = {"span", "spans", "name", "kind", "layout"}
    pairs = [(P.Settings, "plan"), (P.Gpu, "gpu"), (P.Model, "model"), (P.Serve, "serve"),
             (P.Finetune, "finetune"), (P.Pretrain, "pretrain"), (P.Layout, "layout"),
             (P.Measured, "measured"), (P.Calibration, "calibration")]
    for model, kind in pairs:
        fields = set(model.model_fields) - meta
        if kind in ("finetune", "pretrain"):
            fields = fields - {"dataset_bytes", "dataset_tokens"} | {"dataset"}
        if kind == "measured":  # `from` sets `source`; `sources` records what a file gave
            fields = fields - {"source", "sources"} | {"from"}
        assert fields == set(KEYS[kind]), (kind, fields ^ set(KEYS[kind]))


@pytest.mark.parametrize(
    "key, text, expected",
    [
        ("memory", "80GB", 80 * 10**9), ("memory", "2TB", 2 * 10**12), ("memory", "1MiB", 2**20),
        ("memory", "80GiB", 80 * 2**30), ("memory", "1TiB", 2**40), ("per_node", "8", 8),
        ("per_node", "1e3", 1000), ("available", "2K", 2000), ("available", "3k", 3000),
        ("available", "1M", 10**6), ("bf16", "2PFLOPS", 2e15),
        ("hbm", "900GB/s", 9e11), ("hbm", "8TB/s", 8e12), ("network", "400Gbps", 5e10),
        ("usable", "50%", 0.5), ("usable", "1", 1.0), ("price", "2/h", 2.0),
        ("price", "2.5 /h", 2.5), ("price", "2.5USD/h", 2.5), ("price", "0/h", 0.0),
    ],
)
def test_units(key, text, expected):
    gpu = parse_plan(f'gpu "G" {{ {key} = {text} }}', "u.plan").gpus[0]
    assert getattr(gpu, key) == pytest.approx(expected)


@pytest.mark.parametrize("text, expected", [
    ("1KB", 1000), ("1MB", 10**6), ("1PB", 10**15), ("1KiB", 1024), ("1PiB", 2**50), ("1.5KiB", 1536),
])
def test_byte_units(text, expected):
    f = parse_plan(f'finetune "f" {{ model = "m" dataset = {text} }}', "b.plan").workloads[0]
    assert f.dataset_bytes == expected


@pytest.mark.parametrize("text, expected", [("2B", 2 * 10**9), ("1T", 10**12), ("1.1B", 1_100_000_000)])
def test_count_multipliers(text, expected):
    assert parse_plan(f'model "m" {{ params = {text} }}', "c.plan").models[0].params == expected


@pytest.mark.parametrize("text, seconds", [("250ms", 0.25), ("3s", 3), ("45min", 2700), ("1.5h", 5400), ("2d", 172800)])
def test_durations(text, seconds):
    f = parse_plan(f'finetune "f" {{ model = "m" dataset = 1GB deadline <= {text} }}', "d.plan").workloads[0]
    assert f.deadline == pytest.approx(seconds)


def test_spans_point_at_values():
    plan = parse_plan('serve "s" {\n  model = "m"\n  users = 3  context = 8k\n}\n', "s.plan")
    spans = plan.workloads[0].spans
    assert (spans["users"].line, spans["users"].column, spans["users"].end_column) == (3, 11, 12)
    assert (spans["context"].line, spans["context"].column, spans["context"].end_column) == (3, 24, 26)
    assert (spans["name"].line, spans["name"].column) == (1, 7)
    assert plan.workloads[0].span.line == 1 and plan.workloads[0].span.end_line == 4


def test_strings_words_and_escapes():
    plan = parse_plan('model "a \\"b\\"" { like = base-7b }', "e.plan")
    assert plan.models[0].name == 'a "b"' and plan.models[0].like == "base-7b"


def test_comments_and_several_entries_per_line():
    plan = parse_plan('# head\ngpu "G" { per_node = 8  price = 1/h  # tail\n}\n', "c.plan")
    assert (plan.gpus[0].per_node, plan.gpus[0].price) == (8, 1.0)


def test_docs_describe_every_key():

    doc = (DOCS / "language.md").read_text(encoding="utf-8")
    for kind, keys in KEYS.items():
        section = doc.split(f"### `{kind}` keys", 1)[1].split("###", 1)[0]
        for key in keys:
            assert f"| `{key}`" in section, (kind, key)
