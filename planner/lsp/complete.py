"""Completion: block kinds, keys, enum values, and GPU, model and workload names.

What is offered depends on where the cursor stands (``planner.lsp.context``):
a statement's start gets the block kinds, ``import`` and ``sweep``; an entry's
start the keys of its block (``planner.syntax.keys``) not yet written there;
a value the key's enum choices, ``true``/``false``, ``unlimited``, or names
(``model``/``like``: models; ``gpu``/``gpus``: GPU types) from the shipped
catalog, the open plan and its imports; a block's name the catalog's names
(``gpu "A1|`` refines a catalog GPU); a sweep its workloads and sweepable keys.
Each item replaces the word or the string content being typed.
"""

from __future__ import annotations


from lsprotocol import types

from planner.frozen import frozen
from planner.lsp import context as C
from planner.lsp.keydocs import key_doc
from planner.lsp.positions import Positions
from planner.syntax.keys import BLOCK_KINDS, KEYS, LIMIT_KEYS, WORKLOAD_KINDS, Key, sweep_keys

_KIND = types.CompletionItemKind


@frozen
class Names:
    """Names a plan may refer to, in the order offered (the plan's own first)."""

    gpus: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    imports: tuple[str, ...] = ("std",)


@frozen
class _Offer:
    """One completion item offered to the editor."""

    label: str
    kind: types.CompletionItemKind
    insert: str
    detail: str | None = None
    doc: str | None = None


def _key_offers(kind: str, written: set[str], workload: bool) -> list[_Offer]:
    offers = []
    for key in KEYS.get(kind, {}):
        if key in written:
            continue
        doc = key_doc(kind, key)
        op = "<=" if key in LIMIT_KEYS else "="
        offers.append(_Offer(key, _KIND.Property, f"{key} {op} ", doc.cells[0] if doc else None,
                             doc.markdown() if doc else None))
    if workload and "layout" not in written:
        offers.append(_Offer("layout", _KIND.Module, "layout { ", "block",
                             "Pin part of the layout: " + ", ".join(f"`{k}`" for k in KEYS["layout"])))
    return offers


def _value_offers(spec: Key | None, key: str | None, names: Names, quoted: bool) -> list[_Offer]:
    if spec is None:
        return []
    if spec.kind in ("name", "name_list"):
        pool = names.models if key in ("model", "like") else names.gpus
        kind = _KIND.Class if key in ("model", "like") else _KIND.Value
        return [_Offer(n, kind, n if quoted else f'"{n}"') for n in pool]
    if spec.choices:
        return [_Offer(c, _KIND.EnumMember, c) for c in spec.choices]
    if spec.kind == "bool":
        return [_Offer(b, _KIND.Keyword, b) for b in ("true", "false")]
    if spec.kind == "available":
        return [_Offer("unlimited", _KIND.Keyword, "unlimited")]
    return []


def _entry_spec(spot: C.Spot) -> Key | None:
    kind = spot.sub or spot.block
    return KEYS.get(kind or "", {}).get(spot.key or "")


def offers(spot: C.Spot, names: Names) -> list[_Offer]:
    """What may be written at ``spot``."""
    quoted = spot.token is not None and spot.token.kind == "string"
    where = spot.where
    if where == C.TOP:
        return [_Offer(k, _KIND.Keyword, k) for k in BLOCK_KINDS + ("import", "sweep")]
    if where == C.KEY:
        kind = spot.sub or spot.block or ""
        written = spot.frames[-1].keys if spot.frames else set()
        return _key_offers(kind, written, workload=spot.sub is None and kind in WORKLOAD_KINDS)
    if where in (C.VALUE, C.LIST_ITEM):
        return _value_offers(_entry_spec(spot), spot.key, names, quoted)
    if where == C.SWEEP_VALUE:
        return _value_offers(sweep_keys().get(spot.key or ""), spot.key, names, quoted)
    if where == C.SWEEP_KEY:
        return [_Offer(k, _KIND.Property, k) for k, spec in sweep_keys().items() if spec.sweepable]
    pool = {C.SWEEP_TARGET: names.workloads, C.IMPORT_PATH: names.imports}.get(where)
    if where == C.HEADER_NAME:
        pool = {"gpu": names.gpus, "model": names.models}.get(spot.header_kind or "", ())
    if pool is None:
        return []
    return [_Offer(n, _KIND.Reference, n if quoted else f'"{n}"') for n in pool]


def _replaced(spot: C.Spot, offset: int) -> tuple[int, int]:
    """The text an item replaces: the word or string content typed up to the cursor."""
    token = spot.token
    if token is None:
        return offset, offset
    start = token.start + 1 if token.kind == "string" else token.start
    if spot.where == C.SWEEP_KEY and token.text.startswith("."):
        start = token.start + 1
    return min(start, offset), offset


def complete(text: str, offset: int, names: Names, positions: Positions) -> list[types.CompletionItem]:
    spot = C.locate(text, offset)
    start, end = _replaced(spot, offset)
    where = positions.offsets(start, end)
    items = []
    for rank, offer in enumerate(offers(spot, names)):
        doc = types.MarkupContent(types.MarkupKind.Markdown, offer.doc) if offer.doc else None
        items.append(types.CompletionItem(
            label=offer.label, kind=offer.kind, detail=offer.detail, documentation=doc,
            sort_text=f"{rank:05d}", filter_text=offer.label,
            text_edit=types.TextEdit(where, offer.insert)))
    return items
