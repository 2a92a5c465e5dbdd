"""Hover: a key's documented line, and a workload's row from the last solve."""

from __future__ import annotations


from planner.frozen import frozen
from planner.lsp import context as C
from planner.lsp.keydocs import key_doc
from planner.syntax.keys import BLOCK_KINDS, KEYS, WORKLOAD_KINDS, sweep_keys


@frozen
class Solved:
    """The last finished solve of a document: its version and the worker's answer."""

    version: int
    answer: dict  # {"summary": ...} or {"error": ...}


@frozen
class SolveState:
    """What hover knows about solves of one document."""

    enabled: bool
    version: int  # the document's current version
    last: Solved | None  # the last finished solve
    pending: bool  # a solve of a newer text is scheduled or running
    has_errors: bool  # the current text does not check


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def workload_markdown(name: str, kind: str | None, state: SolveState) -> str:
    head = f"**`{name}`**" + (f" ({kind})" if kind else "")
    if not state.enabled:
        return head + "\n\nBackground solves are off (initialization option `solve`)."
    notes = []
    if state.has_errors:
        notes.append("The current text has errors (see the problems list): it is not solved.")
    elif state.pending:
        notes.append("Solving the current text in the background.")
    if state.last is None:
        return "\n\n".join([head] + (notes or ["Not solved yet."]))
    if state.last.version != state.version:
        notes.append(f"Shown: the last solve, of an earlier text (version {state.last.version}).")
    answer = state.last.answer
    if "error" in answer:
        return "\n\n".join([head, f"The last solve failed: {answer['error']}"] + notes)
    summary = answer["summary"]
    rows = [r for r in summary["rows"] if r["name"] == name]
    if not rows:
        return "\n\n".join([head, f"Not in the last solve (status {summary['status']})."] + notes)
    table = ["| workload | GPUs | layout | time | cost |", "|---|---|---|---|---:|"]
    table += [f"| {_cell(r['label'])} | {_cell(r['gpus'])} | {_cell(r['layout'])} | {_cell(r['time'])}"
              f" | {_cell(r['cost'])} |" for r in rows]
    lines = [head + f" — solved: {summary['status']}, plan total {summary['total']}", "\n".join(table)]
    decided = [r["decided_by"] for r in rows if r["decided_by"]]
    if decided:
        lines.append("Decided by: " + "; ".join(dict.fromkeys(decided)))
    missed = [reason for r in rows if not r["fits"] for reason in r["reasons"]]
    if missed:
        lines.append("Why it does not fit: " + "; ".join(dict.fromkeys(missed)))
    return "\n\n".join(lines + notes)


def _kind_markdown(kind: str) -> str:
    keys = ", ".join(f"`{k}`" for k in KEYS[kind])
    return f"**`{kind}`** block: keys {keys}" + (" and a nested `layout { ... }`" if kind in WORKLOAD_KINDS else "")


def _workload_kinds(text: str) -> dict[str, str]:
    kinds = {}
    for kind, names in C.block_names(text).items():
        if kind in WORKLOAD_KINDS:
            for name in names:
                kinds.setdefault(name, kind)
    return kinds


def hover(text: str, offset: int, solves: SolveState) -> tuple[str, C.Token] | None:
    """The markdown shown over the token at ``offset``, and that token; None for nothing."""
    spot = C.locate_token(text, offset)
    if spot is None or spot.token is None:
        return None
    token = spot.token
    if spot.where == C.KEY and token.kind == "word":
        doc = key_doc(spot.sub or spot.block or "", token.text)
        return (doc.markdown(), token) if doc else None
    if spot.where == C.SWEEP_KEY and token.kind == "word":
        key = token.text.lstrip(".")
        for kind in WORKLOAD_KINDS:
            if key in KEYS[kind] and key in sweep_keys():
                return key_doc(kind, key).markdown(), token
        return None
    if spot.where == C.TOP and token.text in BLOCK_KINDS + ("layout",) and token.text in KEYS:
        return _kind_markdown(token.text), token
    workload = spot.where == C.SWEEP_TARGET or (spot.where == C.HEADER_NAME and spot.header_kind in WORKLOAD_KINDS)
    if workload and token.kind == "string":
        name = C.unquote(token.text)
        return workload_markdown(name, _workload_kinds(text).get(name), solves), token
    return None
