"""Syntax tree of one file → ``planner.plan.Plan`` of that file (imports not yet merged).

Every independent mistake is collected; the result is raised together
(``Collector``).  A block with a mistake is left out of the plan, so later
checks do not repeat the error.
"""

from __future__ import annotations

from planner import plan as P
from planner.errors import Collector, PlanError, PlanNameError, PlanTypeError, Span
from planner.record import RecordError
from planner.syntax.ast import Block, Entry, File, ImportStmt, SubBlock, SweepStmt
from planner.syntax.limits import MAX_ERRORS, too_many_errors
from planner.syntax.keys import (
    BLOCK_KINDS, KEYS, MEASURED_FIGURES, SERVE_FACTOR_KEYS, SERVE_ONLY_LAYOUT,
    TRAIN_FACTOR_KEYS, TRAIN_ONLY_LAYOUT, WORKLOAD_KINDS, is_limit, sweep_keys,
)
from planner.syntax.suggest import did_you_mean
from planner.syntax.values import convert_value, text_of

_MODELS = {"plan": P.Settings, "gpu": P.Gpu, "model": P.Model, "serve": P.Serve,
           "finetune": P.Finetune, "pretrain": P.Pretrain, "measured": P.Measured,
           "calibration": P.Calibration}
_REQUIRED = {"serve": ("model",), "finetune": ("model", "dataset"),
             "pretrain": ("model", "dataset"), "measured": ("workload",), "calibration": ("gpu",)}
_EXAMPLE = {"model": 'model = "qwen-7b"', "dataset": "dataset = 1GB` or `dataset = 250M tokens",
            "workload": 'workload = "chat"', "gpu": 'gpu = "H100-SXM"'}



def convert_file(file: File) -> P.Plan:
    """Raise PlanError/PlanErrors for every mistake in the file, or return its Plan."""
    errors = Collector()
    out: dict[str, list] = {"imports": [], "gpu": [], "model": [], "workloads": [], "sweeps": [], "plan": [],
                            "measured": [], "calibration": []}
    seen: dict[tuple[str, str], Span] = {}
    currency = _file_currency(file)
    for statement in file.statements:
        if _full(errors, statement.span):
            break
        try:
            if isinstance(statement, ImportStmt):
                if not statement.path:
                    raise PlanTypeError("import needs a path or \"std\"", statement.path_span)
                out["imports"].append(P.Import(path=statement.path, span=statement.span,
                                               spans={"path": statement.path_span}))
            elif isinstance(statement, SweepStmt):
                out["sweeps"].append(_sweep(statement, seen))
            else:
                node = _block(statement, seen, errors, currency)
                if node is not None:
                    bucket = "workloads" if statement.kind in WORKLOAD_KINDS else statement.kind
                    out[bucket].append(node)
        except PlanError as error:
            errors.add(error)
    errors.raise_if_any()
    return P.Plan(
        file=file.path, settings=out["plan"][0] if out["plan"] else None, imports=out["imports"],
        gpus=out["gpu"], models=out["model"], workloads=out["workloads"], sweeps=out["sweeps"],
        measured=out["measured"], calibrations=out["calibration"],
    )


def _full(errors: Collector, span: Span) -> bool:
    """True once MAX_ERRORS are collected; the first time, the error saying where reading stopped."""
    if len(errors.errors) < MAX_ERRORS:
        return False
    if len(errors.errors) == MAX_ERRORS:
        errors.add(too_many_errors(span))
    return True


def _file_currency(file: File) -> str | None:
    for statement in file.statements:
        if isinstance(statement, Block) and statement.kind == "plan":
            for item in statement.items:
                if isinstance(item, Entry) and item.key == "currency" and item.value.kind in ("string", "word"):
                    return item.value.text.strip('"')
    return None


def _namespace(kind: str) -> str:
    return "workload" if kind in WORKLOAD_KINDS else kind


def _block(block: Block, seen: dict, errors: Collector, currency: str | None):
    if block.kind not in BLOCK_KINDS:
        hint = did_you_mean(block.kind, BLOCK_KINDS + ("import", "sweep"))
        raise PlanNameError(f"unknown block `{block.kind}`; blocks are {', '.join(BLOCK_KINDS)}{hint}",
                            block.kind_span)
    namespace = _namespace(block.kind)
    ident = ("plan", "") if block.kind == "plan" else (namespace, block.name)
    if not block.name:
        errors.add(PlanNameError(f"{block.kind} block needs a name, e.g. {block.kind} \"name\"", block.name_span))
        return None
    if ident in seen:
        first = seen[ident]
        what = "a second `plan` block" if block.kind == "plan" else f"duplicate {namespace} `{block.name}`"
        errors.add(PlanNameError(f"{what}; the first is at line {first.line}", block.name_span))
        return None
    seen[ident] = block.name_span
    ok = True
    fields: dict = {"name": block.name}
    spans: dict[str, Span] = {"name": block.name_span}
    written: dict[str, Entry] = {}
    layout = None
    for item in block.items:
        if _full(errors, item.span):
            return None
        if isinstance(item, SubBlock):
            try:
                layout = _layout(block, item, layout)
            except PlanError as error:
                errors.add(error)
                ok = False
            continue
        try:
            fields.update(_entry(block.kind, item, written, spans))
            if item.value.kind == "price" and currency and item.value.unit not in ("/h", f"{currency}/h"):
                raise PlanTypeError(f"`{item.key}` is in {item.value.unit[:-2]} but this plan's currency is {currency}",
                                    item.value.span)
        except PlanError as error:
            errors.add(error)
            ok = False
    for key in _REQUIRED.get(block.kind, ()):
        if key not in written and ok:
            errors.add(PlanTypeError(f'{block.kind} "{block.name}" needs `{_EXAMPLE[key]}`', block.name_span))
            ok = False
    if not ok:
        return None
    _block_checks(block, fields, written, layout)
    if layout is not None:
        fields["layout"] = layout
        spans["layout"] = layout.span
    try:
        return _MODELS[block.kind](span=block.span, spans=spans, **fields)
    except RecordError as error:  # the converters should make this unreachable; say what it said
        raise PlanTypeError(f'{block.kind} "{block.name}": {error.msg}', block.span) from None


def _entry(kind: str, entry: Entry, written: dict[str, Entry], spans: dict[str, Span]) -> dict:
    table = KEYS[kind]
    spec = table.get(entry.key)
    if spec is None:
        where = f"a {kind} block" if kind != "layout" else "`layout`"
        raise PlanNameError(f"unknown key `{entry.key}` in {where}{did_you_mean(entry.key, table)}",
                            entry.key_span)
    if entry.key in written:
        raise PlanNameError(f"`{entry.key}` is written twice; the first is at line {written[entry.key].span.line}",
                            entry.key_span)
    written[entry.key] = entry
    limit = is_limit(kind, entry.key)
    if limit and entry.op != "<=":
        raise PlanTypeError(f"`{entry.key}` is a limit: write `{entry.key} <= {entry.value.text}`", entry.span)
    if not limit and entry.op == "<=":
        raise PlanTypeError(f"`{entry.key}` is not a limit: write `{entry.key} = {entry.value.text}`", entry.span)
    updates = convert_value(entry.key, spec, entry.value)
    for field in updates:
        if updates[field] is not None or len(updates) == 1:
            spans[field] = entry.value.span
    if entry.key != next(iter(updates)):
        spans[entry.key] = entry.value.span
    if entry.value.kind == "list":
        for i, item in enumerate(entry.value.items):
            spans[f"{entry.key}[{i}]"] = item.span
    return updates


def _layout(block: Block, sub: SubBlock, previous):
    if sub.kind != "layout":
        raise PlanNameError(f"unknown block `{sub.kind}` inside {block.kind}{did_you_mean(sub.kind, ['layout'])}",
                            sub.kind_span)
    if block.kind not in WORKLOAD_KINDS + ("measured",):
        raise PlanNameError(f"`layout` belongs in a serve, finetune, pretrain or measured block, not in "
                            f"{block.kind}", sub.kind_span)
    if previous is not None:
        raise PlanNameError("a second `layout` block; write every pinned key in one", sub.kind_span)
    errors = Collector()
    fields: dict = {}
    spans: dict[str, Span] = {}
    written: dict[str, Entry] = {}
    for entry in sub.entries:
        try:
            fields.update(_entry("layout", entry, written, spans))
            # a measured run's workload (and so its kind) may be in another file: checked on load
            wrong = () if block.kind == "measured" else \
                TRAIN_ONLY_LAYOUT if block.kind == "serve" else SERVE_ONLY_LAYOUT
            if entry.key in wrong:
                use = "training" if block.kind == "serve" else "serving"
                raise PlanTypeError(f"layout key `{entry.key}` applies to {use} only, not to {block.kind}",
                                    entry.key_span)
        except PlanError as error:
            errors.add(error)
    errors.raise_if_any()
    if block.kind != "measured":
        _count_check(block.kind, fields, spans, sub.span)
    return P.Layout(span=sub.span, spans=spans, **fields)


def _count_check(kind: str, fields: dict, spans: dict, span: Span) -> None:
    """A pinned count must equal the product of the pinned degrees when all are pinned
    (training: an unpinned cp counts as 1)."""
    parts = ("tp", "pp", "replicas") if kind == "serve" else ("tp", "cp", "pp", "dp")
    if "count" not in fields or any(p not in fields for p in parts if p != "cp"):
        return
    product = 1
    for part in parts:
        product *= fields.get(part) or 1
    if product != fields["count"]:
        formula = " × ".join(parts)
        hint = "" if kind == "serve" or "cp" in fields else " (cp is 1 unless pinned)"
        raise PlanTypeError(
            f"layout `count = {fields['count']}` but {formula} = {product}; they must agree{hint}",
            spans["count"],
        )


def _block_checks(block: Block, fields: dict, written: dict[str, Entry], layout) -> None:
    """Checks between keys of one block."""
    if block.kind == "serve":
        _serve_checks(block, fields, written)
    if block.kind == "measured":
        _measured_checks(block, fields, written)
    if block.kind == "calibration":
        _calibration_checks(block, fields, written)
    if block.kind == "finetune" and fields.get("method") == "full":
        for key in ("rank", "targets"):
            if key in written:
                raise PlanTypeError(f"`{key}` applies to lora and qlora, but method = full", written[key].key_span)
    _repeat_checks(written)


def _repeat_checks(written: dict[str, Entry]) -> None:
    """``every`` and ``runs`` both say how often a job repeats: one of them."""
    if "every" in written and "runs" in written:
        first, second = sorted((written["every"], written["runs"]), key=lambda e: (e.span.line, e.span.column))
        raise PlanTypeError(f"`{second.key}` and `{first.key}` both say how often the job repeats; "
                            f"write one of them", second.key_span)


def _serve_checks(block: Block, fields: dict, written: dict[str, Entry]) -> None:
    """A service's load is `users` or `rate`, and its request shape holds together."""
    if ("users" in fields) == ("rate" in fields):
        where = written["rate"].key_span if "rate" in fields else block.name_span
        raise PlanTypeError(f'serve "{block.name}" needs one load: `users = 32` (concurrent '
                            "requests) or `rate = 20/s` (requests per second), not both"
                            if "rate" in fields else
                            f'serve "{block.name}" needs `users = 32` (concurrent requests) '
                            "or `rate = 20/s` (requests per second)", where)
    problem = P.request_shape_problem(fields.get("context"), fields.get("prompt"), fields.get("output"))
    if problem is not None:
        key, message = problem
        where = written[key].value.span if key in written else block.name_span
        raise PlanTypeError(f'serve "{block.name}": {message}', where)


def _one_of(block: Block, written: dict[str, Entry], keys: tuple[str, str], what: str) -> None:
    if all(k in written for k in keys):
        raise PlanTypeError(f'{block.kind} "{block.name}" names {what}: write `{keys[0]}` or '
                            f"`{keys[1]}`, not both", written[keys[1]].key_span)


def _measured_checks(block: Block, fields: dict, written: dict[str, Entry]) -> None:
    """A run measured something (figures, or a result file), under one load, on one engine or
    stack."""
    _one_of(block, written, ("users", "rate"), "one load")
    _one_of(block, written, ("engine", "stack"), "one engine or stack")
    if "from" not in written and not any(k in written for k in MEASURED_FIGURES):
        raise PlanTypeError(f'measured "{block.name}" has no figure: write what the run measured '
                            "(`tokens_per_second = 2450`, `ttft = 180ms`, `step_time = 4.2s`, ...) "
                            'or `from = "result.json"`', block.name_span)


def _calibration_checks(block: Block, fields: dict, written: dict[str, Entry]) -> None:
    """Factors for one engine (serving) or one stack (training), and at least one of them."""
    _one_of(block, written, ("engine", "stack"), "one engine or stack")
    if "engine" not in written and "stack" not in written:
        raise PlanTypeError(f'calibration "{block.name}" needs `engine = vllm` (serving factors) or '
                            "`stack = megatron` (training factors)", block.name_span)
    serving = "engine" in written
    wrong = TRAIN_FACTOR_KEYS if serving else SERVE_FACTOR_KEYS
    for key in wrong:
        if key in written:
            scope = "engine" if serving else "stack"
            allowed = SERVE_FACTOR_KEYS if serving else TRAIN_FACTOR_KEYS
            raise PlanTypeError(f"`{key}` is a {'training' if serving else 'serving'} factor; a "
                                f"calibration for an {scope} sets {', '.join(allowed)}",
                                written[key].key_span)
    if not any(k in written for k in SERVE_FACTOR_KEYS + TRAIN_FACTOR_KEYS):
        allowed = SERVE_FACTOR_KEYS if serving else TRAIN_FACTOR_KEYS
        raise PlanTypeError(f'calibration "{block.name}" sets no factor: write one of '
                            f"{', '.join(allowed)}", block.name_span)


def _sweep(statement: SweepStmt, seen: dict) -> P.Sweep:
    keys = sweep_keys()
    spec = keys.get(statement.key)
    if spec is None or not spec.sweepable:
        sweepable = sorted(k for k, s in keys.items() if s.sweepable)
        hint = did_you_mean(statement.key, sweepable)
        raise PlanNameError(f"`{statement.key}` cannot be swept; sweepable keys: {', '.join(sweepable)}{hint}",
                            statement.key_span)
    if not statement.target:
        raise PlanNameError("sweep needs a workload name or glob in its string", statement.target_span)
    ident = ("sweep", f"{statement.target}.{statement.key}")
    if ident in seen:
        raise PlanNameError(f"a second sweep of `{statement.target}`.{statement.key}; the first is at line "
                            f"{seen[ident].line}", statement.target_span)
    seen[ident] = statement.target_span
    if not statement.values.items:
        raise PlanTypeError("a sweep needs at least one value", statement.values.span)
    errors = Collector()
    updates, labels, spans = [], [], {"target": statement.target_span, "key": statement.key_span,
                                     "values": statement.values.span}
    seen_labels: set[str] = set()
    for value in statement.values.items:
        try:
            update = convert_value(statement.key, spec, value)
            # Labels are the values as written; a string's label is its content, without quotes.
            label = text_of(value)
            if value.text in seen_labels or label in seen_labels:
                raise PlanTypeError(f"sweep value `{value.text}` is listed twice", value.span)
            spans[f"values[{len(labels)}]"] = value.span
            updates.append(update)
            labels.append(label)
            seen_labels.add(label)
        except PlanError as error:
            errors.add(error)
    errors.raise_if_any()
    return P.Sweep(target=statement.target, key=statement.key, updates=updates, labels=labels,
                   span=statement.span, spans=spans)
