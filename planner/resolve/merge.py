"""Merge the per-file plans of an import chain into one, and resolve models.

Files come in dependency order (imports before the files that import them).
A gpu or model block refines an earlier one of the same name field by field;
the plan block likewise.  Workloads and sweeps are not refined: the same
workload name in two files is an error.  Models are then resolved: a model's
fields are those of its ``like`` model, overlaid by its ``config.json``,
overlaid by what its blocks wrote.
"""

from __future__ import annotations

from collections.abc import Callable

from planner import plan as P
from planner.errors import Collector, PlanError, PlanImportError, PlanNameError, PlanWarning, Span
from planner.frozen import frozen
from planner.record import RecordError
from planner.syntax.suggest import did_you_mean

_META = {"span", "spans", "name"}


def written(node: P.Node) -> set[str]:
    """Fields a block (or the blocks merged into it) wrote."""
    return set(node.model_fields_set) - _META


def refine(base: P.Node, new: P.Node) -> P.Node:
    """``base`` with every field ``new`` wrote replaced; spans follow the written value.

    A model's published ``params`` describes the architecture it was written with: when
    ``new`` changes a field the count depends on and writes no ``params`` of its own, the
    inherited ``params`` no longer applies and is dropped (it would be checked against a
    model it does not describe)."""
    update = {field: getattr(new, field) for field in written(new)}
    update["span"] = new.span
    update["spans"] = {**base.spans, **new.spans}
    if isinstance(base, P.Model) and "params" not in update and set(update) & COUNTED:
        update["params"] = None
        update["spans"].pop("params", None)
    return base.model_copy(update=update)


# Model fields the total parameter count depends on (planner.estimate.arch.param_counts).
COUNTED = frozenset({
    "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab", "tied", "mlp", "qkv_bias",
    "linear_bias", "norm", "norms_per_layer", "qk_norm", "sinks", "router_bias", "positions",
    "experts", "shared_experts", "expert_ffn", "dense_layers", "q_lora_rank", "kv_lora_rank",
    "qk_nope_dim", "qk_rope_dim", "v_head_dim",
})


def merge(files: list[P.Plan], errors: Collector) -> P.Plan:
    settings: P.Settings | None = None
    gpus: dict[str, P.Gpu] = {}
    models: dict[str, P.Model] = {}
    workloads: dict[str, P.Serve | P.Finetune | P.Pretrain] = {}
    sweeps: dict[tuple[str, str], P.Sweep] = {}
    measured: dict[str, P.Measured] = {}
    calibrations: dict[str, P.Calibration] = {}
    for file in files:
        if file.settings is not None:
            settings = file.settings if settings is None else refine(settings, file.settings)
        for gpu in file.gpus:
            gpus[gpu.name] = refine(gpus[gpu.name], gpu) if gpu.name in gpus else gpu
        for model in file.models:
            models[model.name] = refine(models[model.name], model) if model.name in models else model
        for workload in file.workloads:
            if workload.name in workloads:
                errors.add(_again("workload", workload.name, workload.spans["name"], workloads[workload.name].span))
                continue
            workloads[workload.name] = workload
        for sweep in file.sweeps:
            key = (sweep.target, sweep.key)
            if key in sweeps:
                errors.add(_again("sweep", f"{sweep.target}.{sweep.key}", sweep.spans["target"], sweeps[key].span))
                continue
            sweeps[key] = sweep
        for kind, blocks, seen in (("measured", file.measured, measured),
                                   ("calibration", file.calibrations, calibrations)):
            for block in blocks:
                if block.name in seen:
                    errors.add(_again(kind, block.name, block.spans["name"], seen[block.name].span))
                    continue
                seen[block.name] = block
    root = files[-1] if files else P.Plan(file="")
    gpus = _gpu_offers(gpus, errors)
    return P.Plan(
        file=root.file, settings=settings, imports=root.imports, gpus=list(gpus.values()),
        models=list(models.values()), workloads=list(workloads.values()), sweeps=list(sweeps.values()),
        measured=list(measured.values()), calibrations=list(calibrations.values()),
        span=root.span, spans=root.spans,
    )


def _gpu_offers(gpus: dict[str, P.Gpu], errors: Collector) -> dict[str, P.Gpu]:
    """Each gpu block with ``like`` starts from the block it names (resolved first), minus
    that block's ``available``: another offer of the same GPU type has its own count.
    A block whose `like` is unknown or loops is an error and left out."""
    done: dict[str, P.Gpu] = {}

    def settle(name: str, seen: tuple[str, ...]) -> P.Gpu | None:
        if name in done:
            return done[name]
        gpu = gpus[name]
        if gpu.like is None:
            done[name] = gpu
            return gpu
        span = gpu.spans.get("like", gpu.span)
        if gpu.like in seen or gpu.like == name:
            errors.add(PlanNameError(f"`like` chain loops: {' → '.join(seen + (name, gpu.like))}", span))
            return None
        if gpu.like not in gpus:
            errors.add(PlanNameError(f"`like` names unknown gpu `{gpu.like}`{did_you_mean(gpu.like, gpus)}", span))
            return None
        base = settle(gpu.like, seen + (name,))
        if base is None:
            return None
        start = base.model_copy(update={"name": name, "available": None, "span": gpu.span,
                                        "like": base.like or gpu.like})
        result = refine(start, gpu).model_copy(update={"like": base.like or gpu.like})
        done[name] = result
        return result

    out = {}
    for name in gpus:
        settled = settle(name, ())
        if settled is not None:
            out[name] = settled
    return out


def _again(what: str, name: str, span: Span, first: Span | None) -> PlanNameError:
    where = f" (first defined at {first.file}:{first.line})" if first else ""
    return PlanNameError(f"{what} `{name}` is defined twice{where}; only gpu, model and plan blocks refine", span)


@frozen
class ConfigSource:
    """A config.json read for a model block, and its snapshot's safetensors index if any."""

    path: str
    text: str
    index_path: str | None = None
    index_text: str | None = None  # the index's head: its metadata


# (path as written, where it is written) -> what was read
Reader = Callable[[str, Span | None], ConfigSource]


def resolve_models(plan: P.Plan, read: Reader, errors: Collector) -> tuple[P.Plan, frozenset[str]]:
    """Fill every model from its ``like`` chain and its ``config.json``.

    Returns the plan with the models that resolved, and the names of those
    that did not (their errors are in ``errors``), so that later checks do not
    report a workload's reference to a declared but broken model a second time.
    """
    by_name = {m.name: m for m in plan.models}
    done: dict[str, P.Model] = {}
    failed: set[str] = set()

    def chain_of(name: str) -> list[str]:
        """``name`` and the models it is `like`, up to one already settled or without `like`
        (iterative: a chain of any length costs no recursion)."""
        chain, seen = [name], {name}
        while True:
            like = by_name[chain[-1]].like
            if like is None or like in done or like in failed or like not in by_name or like in seen:
                return chain
            chain.append(like)
            seen.add(like)

    def settle(chain: list[str], position: dict[str, int], i: int) -> None:
        """Resolve ``chain[i]``, whose `like` (if any) is settled or earlier in ``chain``."""
        name = chain[i]
        model = by_name[name]
        try:
            base = P.Model(name=name)
            if model.like is not None:
                span = model.spans.get("like", model.span)
                if position.get(model.like, i + 1) <= i:
                    loop = " → ".join(chain[position[model.like]:i + 1] + [model.like])
                    raise PlanNameError(f"`like` chain loops: {loop}", span)
                if model.like not in by_name:
                    from planner.resolve.names import catalog_hint

                    hint = catalog_hint(model.like, "model") or did_you_mean(model.like, by_name)
                    raise PlanNameError(f"`like` names unknown model `{model.like}`{hint}", span)
                if model.like in failed:
                    failed.add(name)
                    return
                base = done[model.like].model_copy(update={"name": name, "span": model.span})
            if model.config is not None:
                base = refine(base, _from_config(model, read, errors))
            result = refine(base, model)
            done[name] = result.model_copy(update={"like": model.like, "config": model.config})
        except PlanError as error:
            errors.add(error)
            failed.add(name)

    for name in by_name:
        if name in done or name in failed:
            continue
        chain = chain_of(name)
        position = {n: i for i, n in enumerate(chain)}
        # the last of the chain first: each model's `like` is settled before it
        for i in range(len(chain) - 1, -1, -1):
            settle(chain, position, i)

    models = [done[n] for n in by_name if n in done]
    return plan.model_copy(update={"models": models}), frozenset(failed)


def _from_config(model: P.Model, read: Reader, errors: Collector) -> P.Model:
    from planner.resolve.hfconfig import read_config_info  # imported only when a config is named

    span = model.spans.get("config", model.span)
    source = read(model.config, span)
    info = read_config_info(source.path, source.text, span)
    values = {k: v for k, v in info.fields.items() if k not in _META and k in P.Model.model_fields}
    try:
        loaded = P.Model(name=model.name, span=span, spans={k: span for k in values}, **values)
    except RecordError as error:
        raise PlanImportError(f"{source.path}: {error.msg}", span) from None
    for field, message in info.warnings:
        if field not in written(model):  # the block settles what the warning is about
            errors.warn(PlanWarning(message, span))
    if source.index_text is not None and info.unmodelled_quantization is None:
        _check_checkpoint(loaded, source, info.extra_weights, span)
    return loaded


def _check_checkpoint(loaded: P.Model, source: ConfigSource, extra: str | None, span: Span) -> None:
    """The snapshot's weights against the config alone (the block's changes are plans for the
    model, not what the checkpoint holds)."""
    from planner.estimate.host import checkpoint_weight_bytes
    from planner.resolve.bridge import arch_from_model
    from planner.resolve.snapshot import check_index

    try:
        arch = arch_from_model(loaded)
    except PlanError:
        return  # an incomplete config: the model's own checks report what is missing
    check_index(source.index_path, source.index_text, checkpoint_weight_bytes(arch, arch.precision),
                arch.precision, extra, span)
