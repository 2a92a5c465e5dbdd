"""Inputs for the fuzz campaign: plans written from the key table, mutations, raw bytes.

Every generator takes a ``random.Random`` and returns a ``Case``: the files to
write (the plan, and sometimes imported plans or config.json files beside it)
and which of them to run. Nothing is a hand list of the language: blocks, keys,
value kinds, ranges, units and enum choices come from ``planner.syntax.keys``
and ``planner.syntax.units``, GPU and model names from the shipped catalog.

- ``written``: a plan built block by block from the key table, each value in
  its key's range, at a bound, just outside it, or of another kind;
- ``valid``: a plan meant to pass ``check`` (values in range, names that exist,
  pins drawn so that most divide), for ``solve`` and the metamorphic checks;
- ``bounds``: a small valid plan with one numeric key at a bound of its range;
- ``mutated``: a shipped example or catalog file, or a config fixture used by a
  plan, with bytes deleted, inserted, replaced or lines duplicated;
- ``hostile``: paths out of the root, devices, huge and deep inputs, control
  characters, secrets a message must never quote;
- ``raw``: random bytes and random text;
- ``statement`` (for the quick slice in CI): one small statement from the key table.
"""

from __future__ import annotations

import functools
import json
import random
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from planner.syntax.keys import KEYS, LAYOUT, WORKLOAD_KINDS, Key, is_limit
from planner.syntax.units import UNITS, spell

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
SECRET = "PLANNER_FUZZ_SECRET_7f3a"  # planted outside the root; no output may ever show it


@dataclass
class Case:
    """Files to write in a fresh directory (name -> bytes) and the one to run."""

    kind: str
    files: dict[str, bytes]
    main: str = "fuzz.plan"
    valid: bool = False  # built to pass check
    links: dict[str, str] = field(default_factory=dict)  # name -> link target


@functools.cache
def catalog() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """GPU and model names of the shipped catalog."""
    from planner.resolve.load import load_std

    std = load_std()
    return tuple(g.name for g in std.gpus), tuple(m.name for m in std.models)


@functools.cache
def complete_gpus() -> tuple[str, ...]:
    """Catalog GPUs with every field an offered GPU needs (the others are check errors)."""
    from planner.resolve.bridge import GPU_REQUIRED
    from planner.resolve.load import load_std

    return tuple(g.name for g in load_std().gpus if all(getattr(g, f) is not None for f in GPU_REQUIRED))


@functools.cache
def moe_models() -> tuple[str, ...]:
    from planner.resolve.load import load_std

    return tuple(m.name for m in load_std().models if m.experts)


@functools.cache
def shipped_texts() -> tuple[tuple[str, str], ...]:
    """The examples whole, and the catalog cut into runs of a few blocks (its files are
    large; a campaign of many inputs wants each input small)."""
    out = [(p.name, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "examples").glob("*.plan"))]
    for path in sorted((ROOT / "specs").glob("*.plan")):
        text = path.read_text(encoding="utf-8")
        starts = [m.start() for m in re.finditer(r"^(?:# source|gpu|model) ", text, re.MULTILINE)] + [len(text)]
        for i in range(0, len(starts) - 1, 3):
            out.append((f"{path.name}[{i}]", text[starts[i]:starts[min(i + 3, len(starts) - 1)]]))
    return tuple(out)


@functools.cache
def config_texts() -> tuple[tuple[str, str], ...]:
    return tuple((p.name, p.read_text(encoding="utf-8")) for p in sorted(CONFIGS.glob("*.json")))


# ---------------------------------------------------------------- numbers and values

_EXTREME = ["0", "-0", "-1", "1e999999999999", "1e-999999999999", "9" * 60, "1e308", "1e-308",
            "0.0000000000000000000001", "1e16", "1e17", "123456789012345678901234567890", "-1e40",
            "1e40", "4.5e15", "2e9", "NaN", "1.", ".5"]


def _plain(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e18:
        return str(int(x))
    return repr(float(x))


def number_for(rng: random.Random, spec: Key, valid: bool) -> float:
    """A base-unit number for ``spec``: inside its range when ``valid``, else often at or past a bound."""
    low = spec.low if spec.low is not None else 0
    high = spec.high if spec.high is not None else 1e6
    integral = spec.kind in ("count", "tokens", "available", "zero", "bytes", "dataset")
    if valid:
        choice = rng.random()
        if choice < 0.5:  # small values are where real plans live
            top = min(high, max(low + 1, 64))
            value = rng.uniform(low, top)
        elif choice < 0.8:
            value = low * 1.0001 + (high - low) * rng.random() ** 8
        else:
            value = rng.choice([low, high]) if not spec.low_open else high
        if spec.low_open and value <= low:
            value = low + max(1e-6, (high - low) * 1e-9)
        if integral:
            value = max(int(low) if low >= 0 else 0, min(int(high), int(round(value))))
        if spec.power_of_two:
            value = 2 ** rng.randint(0, max(0, int(high).bit_length() - 1))
        return value
    return rng.choice([low - 1, high + 1, high * 10, -high, low, high, 0, 1e30, 0.5, 2.5, 3])


def spelled(rng: random.Random, kind: str, value: float, whole: bool = False) -> str:
    """``value`` (base units) written with a unit of the key's kind where one fits
    (``whole``: only a unit that divides it)."""
    table = {"tokens": "count", "available": "count", "dataset": "bytes"}.get(kind, kind)
    units = UNITS.get(table)
    if whole:
        fitting = [(u, f) for u, f in sorted(units.items()) if value >= f and float(value / f).is_integer()]
        if fitting:
            unit, factor = rng.choice(fitting)
            return f"{_plain(value / factor)}{unit}"
        return _plain(value) if table == "count" else f"{_plain(value)}{min(units, key=units.get)}"
    if units and rng.random() < 0.7:
        unit, factor = rng.choice(sorted(units.items()))
        text = _plain(value / factor) if factor else _plain(value)
        return f"{text}{unit}"
    if kind in ("bytes", "duration", "flops", "bandwidth"):
        unit, factor = max(units.items(), key=lambda item: item[1] if item[1] <= max(value, 1) else -1)
        return f"{_plain(value / factor)}{unit}"
    if kind == "fraction" and rng.random() < 0.5:
        return f"{_plain(value * 100)}%"
    return _plain(value)


def value_for(rng: random.Random, name: str, spec: Key, valid: bool, names: dict,
              table: str | None = None) -> str:
    """Text of a value for key ``name`` of kind ``spec.kind`` (see ``keys.Key``) in block
    kind ``table``."""
    kind = spec.kind
    if not valid and rng.random() < 0.3:
        return _wrong_kind(rng)
    if kind in ("enum", "enum_list"):
        choices = list(spec.choices)
        if kind == "enum":
            return rng.choice(choices) if valid or rng.random() < 0.5 else rng.choice(choices)[:-1] + "x"
        picked = rng.sample(choices, rng.randint(1, len(choices)))
        return "[" + ", ".join(picked) + "]"
    if kind == "bool":
        return rng.choice(["true", "false"])
    if kind == "count_list" and valid:  # instance sizes: the catalog's GPUs come 8 to a node
        return "[" + ", ".join(str(n) for n in sorted(rng.sample([1, 2, 4], rng.randint(0, 3))) + [8]) + "]"
    if kind == "name":
        pool = names["models"] if name == "model" or (name == "like" and table != "gpu") else \
            names.get("workloads", ["w"]) if name == "workload" else names["gpus"]
        return json.dumps(rng.choice(pool) if pool and (valid or rng.random() < 0.8) else "nope")
    if kind == "name_list":
        pool = names["offered"] or names["gpus"]
        return "[" + ", ".join(json.dumps(g) for g in rng.sample(pool, rng.randint(1, min(3, len(pool))))) + "]"
    if kind == "text" and name == "from":  # a measured run's result file
        return json.dumps(rng.choice(["bench.json", "bench.json", "missing.json", "../x.json", "bench.txt"]))
    if kind == "text":  # config = "..."
        return json.dumps(rng.choice(names["configs"]) if names["configs"] else "config.json")
    if kind == "currency":
        return json.dumps(rng.choice(["USD", "EUR", "usd", "US"] if not valid else ["USD"]))
    if kind == "date":
        return json.dumps(rng.choice(["2026-01-31", "2026-02-30", "26-1-1"] if not valid else ["2026-01-31"]))
    if kind == "available" and rng.random() < 0.3:
        return "unlimited"
    if kind == "dataset":
        if valid:
            if rng.random() < 0.5:
                return f"{rng.randint(1, 999)}{rng.choice(['', 'K', 'M', 'B'])} tokens"
            return f"{rng.randint(1, 999)}{rng.choice(['KB', 'MB', 'GB', 'MiB', 'GiB'])}"
        if rng.random() < 0.5:
            return f"{spelled(rng, 'tokens', rng.choice([1e17, 0, -5, 1e40, 1e9, 2.5]))} tokens"
        from planner.syntax.keys import DATASET_BYTES

        return spelled(rng, "dataset", number_for(rng, DATASET_BYTES, valid))
    if kind == "price":
        value = number_for(rng, spec, valid)
        return f"{_plain(value)}/h" if rng.random() < 0.8 else f"{_plain(value)} USD/h"
    value = number_for(rng, spec, valid)
    if not valid and rng.random() < 0.3:
        return rng.choice(_EXTREME) + rng.choice(["", "T", "PB", "GB", "ms", "%", "Gbps", " tokens", "/h", "d"])
    if kind in ("count", "tokens", "zero", "available", "real", "money"):
        if kind in ("count", "tokens", "available") and rng.random() < 0.3 and value >= 1000:
            return spelled(rng, "count", value, whole=valid)
        return _plain(value)
    return spelled(rng, kind, value, whole=valid and kind == "bytes")


def _wrong_kind(rng: random.Random) -> str:
    unit_kind = rng.choice(sorted(UNITS))
    unit = rng.choice(sorted(UNITS[unit_kind]))
    return rng.choice([f"{rng.randint(0, 999)}{unit}", '"text"', "word", "true", "[1, 2]", "[]",
                       f"{rng.randint(1, 99)} tokens", "8kv", "1.79/h", "5Gbps tokens"])


# ---------------------------------------------------------------- plans from the key table


def _entries(rng: random.Random, kind: str, valid: bool, names: dict, required=(), skip=()) -> list[str]:
    table = KEYS[kind]
    chosen = [k for k in table if k in required or (k not in skip and rng.random() < 0.3)]
    out = []
    for key in chosen:
        spec = table[key]
        op = "<=" if is_limit(kind, key) else "="
        if not valid and rng.random() < 0.05:
            op = "<=" if op == "=" else "="
        out.append(f"{key} {op} {value_for(rng, key, spec, valid, names, kind)}")
    if not valid and rng.random() < 0.1:
        out.append(f"{rng.choice(sorted(table))}x = 1")  # unknown key, a "did you mean"
    if not valid and rng.random() < 0.05 and out:
        out.append(rng.choice(out))  # written twice
    return out


def _layout(rng: random.Random, kind: str, valid: bool, names: dict) -> str:
    from planner.syntax.keys import SERVE_ONLY_LAYOUT, TRAIN_ONLY_LAYOUT

    wrong = TRAIN_ONLY_LAYOUT if kind == "serve" else SERVE_ONLY_LAYOUT
    keys = [k for k in LAYOUT if (not valid or k not in wrong) and rng.random() < 0.4]
    parts = []
    for key in keys:
        spec = LAYOUT[key]
        if key == "gpu":
            value = json.dumps(rng.choice(names["offered"] or names["gpus"]))
        elif valid and spec.kind == "count":
            value = str(rng.choice([1, 1, 2, 4, 8]) if key != "count" else rng.choice([1, 2, 4, 8, 16]))
        else:
            value = value_for(rng, key, spec, valid, names)
        parts.append(f"{key} = {value}")
    return "layout { " + "  ".join(parts) + " }"


def _gpu_block(rng: random.Random, name: str, valid: bool, names: dict, full: bool) -> str:
    required = ("available",) if not full else tuple(k for k in KEYS["gpu"] if k not in ("price_date",))
    entries = _entries(rng, "gpu", valid, names, required=required)
    return f"gpu {json.dumps(name)} {{ " + "  ".join(entries) + " }"


def _model_block(rng: random.Random, name: str, valid: bool, names: dict) -> str:
    style = rng.random()
    if style < 0.5 and names["catalog_models"]:
        extra = _entries(rng, "model", valid, names, skip=("like", "config")) if rng.random() < 0.3 else []
        like = json.dumps(rng.choice(names["catalog_models"]))
        return f"model {json.dumps(name)} {{ like = {like}  " + "  ".join(extra) + " }"
    if style < 0.7 and names["configs"]:
        return f"model {json.dumps(name)} {{ config = {json.dumps(rng.choice(names['configs']))} }}"
    # written out: the shape of a small dense or MoE model, other keys from the table
    layers, heads = rng.choice([2, 4, 22, 5]), rng.choice([4, 8, 12, 32])
    shape = {"layers": layers, "hidden": heads * rng.choice([16, 64, 128]), "heads": heads,
             "kv_heads": rng.choice([h for h in (1, 2, 4, heads) if heads % h == 0]),
             "ffn": rng.choice([128, 1024, 5632]), "vocab": rng.choice([1000, 32000])}
    if rng.random() < 0.3:
        shape.update(experts=rng.choice([4, 8, 16]), experts_per_token=2, expert_ffn=256)
    entries = [f"{k} = {v}" for k, v in shape.items()]
    if not valid:
        entries += _entries(rng, "model", valid, names, skip=("like", "config", *shape))
    return f"model {json.dumps(name)} {{ " + "  ".join(entries) + " }"


_REQUIRED = {"serve": ("model", "users", "context"), "finetune": ("model", "dataset"),
             "pretrain": ("model", "dataset")}


def _workload(rng: random.Random, kind: str, name: str, valid: bool, names: dict) -> str:
    skip = ("gpus", "prompt") if valid else ()
    entries = _entries(rng, kind, valid, names, required=_REQUIRED[kind], skip=skip)
    if valid:
        entries = [e for e in entries if not e.startswith(("rank", "targets"))] if "method = full" in entries \
            else entries
    if rng.random() < 0.35:
        entries.append(_layout(rng, kind, valid, names))
    return f"{kind} {json.dumps(name)} {{ " + "  ".join(entries) + " }"


def _sweep(rng: random.Random, workloads: list[tuple[str, str]], valid: bool, names: dict) -> str:
    kind, target = rng.choice(workloads)
    keys = [k for k, s in KEYS[kind].items() if not valid or (s.sweepable and k not in ("prompt", "context"))]
    key = rng.choice(keys)
    spec = KEYS[kind][key]
    values = {value_for(rng, key, spec, valid, names) for _ in range(rng.randint(1, 4))}
    glob = target[:-1] + "*" if not valid and rng.random() < 0.2 and len(target) > 1 else target
    return f"sweep {json.dumps(glob)}.{key} = [" + ", ".join(sorted(values)) + "]"


def plan_text(rng: random.Random, valid: bool) -> tuple[str, dict[str, bytes]]:
    """A plan from the key table, and the config files it names."""
    gpus, models = catalog()
    configs = {}
    if rng.random() < 0.2:
        name, text = rng.choice(config_texts())
        configs[f"cfg/{name}"] = text.encode()
    offered = rng.sample(list(complete_gpus() if valid else gpus), rng.randint(1, 3))
    names = {"gpus": list(gpus), "offered": offered, "catalog_models": list(models),
             "configs": sorted(configs), "models": list(models)}
    lines = ['import "std"'] if valid or rng.random() < 0.9 else []
    if rng.random() < 0.3:
        lines.append('plan "fuzz" { ' + "  ".join(_entries(rng, "plan", valid, names)) + " }")
    for gpu in offered:
        lines.append(_gpu_block(rng, gpu, valid, names, full=False))
    if rng.random() < 0.15:
        lines.append(_gpu_block(rng, "custom-gpu", valid, names, full=True))
        names["offered"].append("custom-gpu")
    own = [f"m{i}" for i in range(rng.randint(0, 2))]
    for model in own:
        lines.append(_model_block(rng, model, valid, names))
    names["models"] = own + list(models) if not own or rng.random() < 0.5 else own
    if valid:  # small models keep valid plans quick to solve
        names["models"] = own + [m for m in models if any(s in m for s in ("1.5B", "7B", "8B", "8x7B"))]
    workloads = []
    for i in range(rng.randint(1, 3)):
        kind = rng.choice(WORKLOAD_KINDS)
        workloads.append((kind, f"w{i}"))
        lines.append(_workload(rng, kind, f"w{i}", valid, names))
    for _ in range(rng.randint(0, 2)):
        lines.append(_sweep(rng, workloads, valid, names))
    return "\n".join(lines) + "\n", configs


def written(rng: random.Random) -> Case:
    text, configs = plan_text(rng, valid=False)
    return Case("written", {"fuzz.plan": text.encode(), **configs})


def valid(rng: random.Random) -> Case:
    text, configs = plan_text(rng, valid=True)
    return Case("valid", {"fuzz.plan": text.encode(), **configs}, valid=True)


# ---------------------------------------------------------------- mutations

_PIECES = ['"', "{", "}", "[", "]", "=", "<=", ",", ".", "#", "\n", " ", "\t", "0", "-3", "8k", "1B",
           "1e999", "1e-999", "\x00", "é", "\u202e", "\x1b[31m", "%", "/h", " tokens", "layout {",
           'import "', 'sweep "', "\r\n", "\ufeff"] + [u for table in UNITS.values() for u in table] + \
          [k for table in KEYS.values() for k in table] + ["serve", "gpu", "model", "finetune", "pretrain"]


def mutate_text(rng: random.Random, text: str, rounds: int) -> str:
    for _ in range(rounds):
        at = rng.randint(0, len(text))
        op = rng.random()
        if op < 0.25:
            text = text[:at] + text[at + rng.randint(1, 40):]
        elif op < 0.5:
            text = text[:at] + rng.choice(_PIECES) + text[at:]
        elif op < 0.7:
            text = text[:at] + rng.choice(_PIECES) + text[at + rng.randint(1, 8):]
        elif op < 0.85:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            text = text[:end] + "\n" + text[start:end] + text[end:]
        else:  # a number replaced by an extreme one
            digits = [i for i, c in enumerate(text) if c.isdigit()]
            if digits:
                i = rng.choice(digits)
                text = text[:i] + rng.choice(_EXTREME) + text[i + 1:]
    return text


def mutated(rng: random.Random) -> Case:
    if rng.random() < 0.25:  # a config.json fixture, mutated, named by a plan
        name, text = rng.choice(config_texts())
        body = mutate_text(rng, text, rng.randint(1, 6)) if rng.random() < 0.8 else _json_mutation(rng, text)
        plan = ('import "std"\ngpu "A10G" { available = 4 }\nmodel "c" { config = "c.json" }\n'
                'serve "s" { model = "c" users = 2 context = 4k }\n')
        return Case("mutated-config", {"fuzz.plan": plan.encode(), "c.json": body.encode("utf-8", "replace")})
    name, text = rng.choice(shipped_texts())
    return Case("mutated", {"fuzz.plan": mutate_text(rng, text, rng.randint(1, 6)).encode("utf-8", "surrogatepass")})


def _json_mutation(rng: random.Random, text: str) -> str:
    data = json.loads(text)
    key = rng.choice(sorted(data))
    data[key] = rng.choice([float("nan"), float("inf"), 1e300, -1, 2.5, "x", [1.5], {"a": [1]}, None, True,
                            10**40, [[[[[]]]]]])
    return json.dumps(data)


# ---------------------------------------------------------------- hostile and raw


def hostile(rng: random.Random) -> Case:
    choice = rng.randrange(12)
    if choice == 0:
        target = rng.choice(["/proc/self/environ", "/etc/passwd", "/dev/zero", "../../x.plan",
                             "../outside/secret.plan", "/dev/stdin", "~/.bashrc", "sub/../../secret.plan",
                             "/proc/self/environ.plan", "link.plan", "fifo.plan", "."])
        key = rng.choice(["import", "config"])
        text = (f'import "{target}"\n' if key == "import" else
                f'import "std"\nmodel "m" {{ config = "{target}" }}\n')
        return Case("hostile-path", {"fuzz.plan": text.encode()},
                    links={"link.plan": "../outside/secret.plan"} if "link" in target else {})
    if choice == 1:  # a link inside the root to a secret outside it
        return Case("hostile-link", {"fuzz.plan": b'import "inner.plan"\n'},
                    links={"inner.plan": "../outside/secret.plan"})
    if choice == 2:
        n = rng.choice([1000, 1000, 1000, 20001, 70000])
        return Case("hostile-size", {"fuzz.plan": ("".join(f'gpu "g{i}" {{}}\n' for i in range(n))).encode()})
    if choice == 3:
        return Case("hostile-size", {"fuzz.plan": ('gpu "g" { ' + "x = 1 " * rng.choice([200, 200, 1700]) + "}\n").encode()})
    if choice == 4:
        values = ",\n".join(str(i + 1) for i in range(rng.choice([100, 100, 100, 5000, 64000])))
        text = f'import "std"\ngpu "A10G" {{ available = 1 }}\nserve "s" {{ model = "Mistral-7B" users = 1 context = 4k }}\nsweep "s".users = [\n{values}]\n'
        return Case("hostile-size", {"fuzz.plan": text.encode()})
    if choice == 5:
        depth = rng.choice([40, 3000])
        files = {f"i{i}.plan": f'import "i{i + 1}.plan"\n'.encode() for i in range(depth)}
        files[f"i{depth}.plan"] = b'gpu "g" {}\n'
        files["fuzz.plan"] = b'import "i0.plan"\n'
        return Case("hostile-depth", files)
    if choice == 6:
        return Case("hostile-json", {"fuzz.plan": b'import "std"\nmodel "m" { config = "c.json" }\n',
                                     "c.json": ("[" * rng.choice([100, 100000]) + "]" * 3).encode()})
    if choice == 7:
        body = "".join(f"# comment {i}\n" for i in range(rng.choice([100, 100, 100, 20000]))) + 'gpu "g" {}\n'
        return Case("hostile-size", {"fuzz.plan": body.encode()})
    if choice == 8:
        return Case("hostile-size", {"fuzz.plan": ('gpu "g" { memory = ' + "9" * 20000 + "GB }\n").encode()})
    if choice == 9:
        sweeps = "".join(f'sweep "s".{k} = [1, 2, 3, 4, 5, 6, 7, 8]\n' for k in ("users", "context", "prompt", "duration"))
        text = ('import "std"\ngpu "A10G" { available = 1 }\nserve "s" { model = "Mistral-7B" users = 1 context = 4k }\n'
                + sweeps)
        return Case("hostile-size", {"fuzz.plan": text.encode()})
    if choice == 10:
        chain = "".join(f'model "m{i + 1}" {{ like = "m{i}" }}\n' for i in range(rng.choice([50, 50, 50, 5000])))
        return Case("hostile-size", {"fuzz.plan": ('model "m0" { layers = 1 }\n' + chain).encode()})
    return Case("hostile-control", {"fuzz.plan": ('gpu "\x1b]0;pwned\x07" { memory = 1GB\x1b[2J }\n').encode()})


def raw(rng: random.Random) -> Case:
    if rng.random() < 0.5:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    else:
        alphabet = string.printable + "éß→\u202e\x00"
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))).encode("utf-8")
    return Case("raw", {"fuzz.plan": data})


def statement(rng: random.Random) -> str:
    """One small statement from the key table (a block, its layout, or a sweep), valid or not,
    or a few random bytes: for the quick slice, where each input must cost about a millisecond."""
    gpus, models = catalog()
    names = {"gpus": list(gpus), "offered": list(gpus[:3]), "catalog_models": list(models),
             "configs": ["c.json"], "models": list(models)}
    valid_ = rng.random() < 0.5
    choice = rng.random()
    if choice < 0.1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 60))).decode("utf-8", "replace")
    if choice < 0.2:
        return _sweep(rng, [(rng.choice(WORKLOAD_KINDS), "w")], valid_, names)
    kind = rng.choice(sorted(KEYS))
    if kind == "layout":
        return _workload(rng, rng.choice(WORKLOAD_KINDS), "w", valid_, names)
    text = f"{kind} \"x\" {{ " + "  ".join(_entries(rng, kind, valid_, names, required=_REQUIRED.get(kind, ()))) + " }"
    return mutate_text(rng, text, 1) if rng.random() < 0.3 else text


_BASE = {"serve": 'serve "w" {{ model = "Mistral-7B"  users = 4  context = 4k  {extra} }}',
         "finetune": 'finetune "w" {{ model = "Mistral-7B"  dataset = 10MB  {extra} }}',
         "pretrain": 'pretrain "w" {{ model = "Mistral-7B"  dataset = 1B tokens  {extra} }}'}


def bound_keys() -> list[tuple[str, str]]:
    """(block kind, key) of every numeric key of the key table."""
    return [(table, key) for table in ("gpu", "model", "serve", "finetune", "pretrain", "layout")
            for key, spec in KEYS[table].items() if spec.low is not None and spec.high is not None]


def bound_case(table: str, key: str, high: bool, gpu: str, kind: str, available: str = "8") -> Case:
    """A small valid plan with ``key`` of block ``table`` at the high (else low) bound of its range."""
    spec = KEYS[table][key]
    value = spell(spec.kind, spec.high if high or spec.low_open else spec.low)
    op = "<=" if is_limit(table, key) else "="
    gpu_extra = f"  {key} {op} {value}" if table == "gpu" else ""
    lines = ['import "std"', f'gpu "{gpu}" {{ available = {available}{gpu_extra} }}']
    kind = table if table in WORKLOAD_KINDS else kind
    extra = f"{key} {op} {value}" if table == kind else ""
    if table == "layout":
        extra = f"layout {{ {key} = {value} }}"
    body = _BASE[kind].format(extra=extra)
    if table == "model":
        lines.append(f'model "m" {{ like = "Mistral-7B"  {key} = {value} }}')
        body = body.replace('"Mistral-7B"', '"m"')
    lines.append(body)
    return Case("bounds", {"fuzz.plan": ("\n".join(lines) + "\n").encode()}, valid=True)


def bounds(rng: random.Random) -> Case:
    """A plan check lets through that is furthest from what plans usually hold."""
    table, key = rng.choice(bound_keys())
    return bound_case(table, key, rng.random() < 0.6, rng.choice(complete_gpus()), rng.choice(WORKLOAD_KINDS),
                      rng.choice(["8", "unlimited"]))


# ---------------------------------------------------------------- measured runs and calibrations

BENCH = ROOT / "tests" / "fixtures" / "vllm_bench" / "llama-3.1-8b-h100-c16.json"
_MEASURED_HEAD = ('import "std"\ngpu "H100-SXM" { available = 4 }\n'
                  'serve "s" { model = "Llama-3.1-8B" users = 8 context = 4k weights = bf16 }\n'
                  'finetune "f" { model = "Llama-3.1-8B" dataset = 10MB method = lora }\n')
_PINNED = {"serve": 'layout { gpu = "H100-SXM" tp = 1 pp = 1 replicas = 1 }',
           "finetune": 'layout { gpu = "H100-SXM" tp = 1 pp = 1 dp = 1 zero = 0 recompute = full '
                       'offload = none micro_batch = 1 }'}


def _bench_bytes(rng: random.Random) -> bytes:
    """The pinned vLLM result file, whole, with one key broken, or mutated as text."""
    text = BENCH.read_text(encoding="utf-8")
    choice = rng.random()
    if choice < 0.4:
        return text.encode()
    if choice < 0.7:
        return _json_mutation(rng, text).encode()
    if choice < 0.9:
        return mutate_text(rng, text, rng.randint(1, 4)).encode("utf-8", "surrogatepass")
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 80)))


def measured(rng: random.Random) -> Case:
    """Measured and calibration blocks written from the key table, beside a broken or whole
    vLLM result file: through check, validate and calibrate."""
    gpus, models = catalog()
    names = {"gpus": ["H100-SXM", "A100-80G", "H100-SMX"], "offered": ["H100-SXM"],
             "catalog_models": list(models), "configs": [], "models": list(models),
             "workloads": ["s", "f", "nope"]}
    lines = [_MEASURED_HEAD]
    for i in range(rng.randint(1, 3)):
        valid_ = rng.random() < 0.6
        kind = rng.choice(["serve", "finetune"])
        # a valid run keeps its workload's load and request shape (a random one rarely fits)
        skip = () if not valid_ else ("users", "rate", "prompt", "output") + (("stack",) if kind == "serve" else
                                      ("engine", "weights", "users", "rate", "prompt", "output", "from",
                                       "ttft", "ttft_p50", "ttft_p99", "tpot", "tpot_p50", "tpot_p99",
                                       "itl", "requests_per_second"))
        entries = _entries(rng, "measured", valid_, names, required=("date",), skip=skip + ("workload",))
        entries.insert(0, f'workload = "{"s" if kind == "serve" else "f"}"' if valid_ else
                       f"workload = {value_for(rng, 'workload', KEYS['measured']['workload'], False, names)}")
        layout = _PINNED[kind] if valid_ or rng.random() < 0.5 else _layout(rng, kind, False, names)
        if valid_ and not any(e.split(" ")[0] in ("ttft", "tpot", "step_time", "from") for e in entries):
            entries.append("ttft = 50ms" if kind == "serve" else "step_time = 5s")
        lines.append(f'measured "m{i}" {{ ' + "  ".join(entries) + f"  {layout} }}")
    for i in range(rng.randint(0, 2)):
        valid_ = rng.random() < 0.5
        scope = rng.choice(["engine = vllm", "stack = megatron"])
        factors = ("step_overhead", "hbm_fraction", "compute_fraction") if "engine" in scope else \
            ("utilization", "collective_efficiency")
        entries = _entries(rng, "calibration", valid_, names, required=("gpu", factors[0]),
                           skip=("engine", "stack") + (() if not valid_ else
                                                       tuple(k for k in KEYS["calibration"]
                                                             if k.endswith(("fraction", "overhead",
                                                                            "utilization", "efficiency"))
                                                             and k not in factors)))
        entries.insert(1, scope)
        lines.append(f'calibration "c{i}" {{ ' + "  ".join(entries) + " }")
    files = {"fuzz.plan": "\n".join(lines).encode() + b"\n", "bench.json": _bench_bytes(rng)}
    return Case("measured", files)


GENERATORS = {"bounds": bounds, "written": written, "valid": valid, "mutated": mutated, "hostile": hostile,
              "raw": raw, "measured": measured}
WEIGHTS = {"bounds": 3, "written": 30, "valid": 18, "mutated": 35, "hostile": 2, "raw": 12, "measured": 6}


def case(rng: random.Random) -> Case:
    kinds = sorted(WEIGHTS)
    return GENERATORS[rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]](rng)
