"""The canonical form of a plan file, comments kept.

Canonical: one statement per paragraph (consecutive imports, and consecutive
sweeps, share one), blocks opened on their header line, one entry per line
indented by two spaces, ``key = value`` with single spaces, values spelled as
``planner.syntax.parser`` normalises them (``1.79/h``, ``1.79 USD/h``,
``250M tokens``, ``[a, b]``) with units kept as written; a list that would make
its line longer than ``WRAP`` characters is written one value per line.

Comments are attached to the syntax: a comment after code on its line trails
the last thing that ends on that line; any other comment leads the next thing
(entry, statement, closing brace, or the end of the file).  Printing them back
in those places makes ``fmt`` idempotent.
"""

from __future__ import annotations

import bisect

from planner.syntax.ast import Block, Comment, Entry, File, ImportStmt, SubBlock, SweepStmt
from planner.syntax.parser import parse_text

INDENT = "  "
# A list that would make its line longer than this is written one value per line
# (so that fmt never writes a line past limits.MAX_LINE_CHARS).
WRAP = 100
_EOF = ("eof", None)


def format_text(text: str, path: str) -> str:
    """Canonical text of a file; raises PlanSyntaxError, or PlanErrors with every syntax error."""
    return format_file(parse_text(text, path))


def _start(span) -> tuple[int, int]:
    return (span.line, span.column)


def _end(span) -> tuple[int, int]:
    return (span.end_line, span.end_column)


def _anchors(file: File) -> list[tuple[tuple[int, int], tuple[int, int], tuple]]:
    """(start, end, slot) for everything a comment can attach to."""
    out = []

    def block(node, entries):
        out.append((_start(node.span), _end(node.brace_span), ("open", id(node))))
        for item in entries:
            if isinstance(item, SubBlock):
                block(item, item.entries)
            else:
                out.append((_start(item.span), _end(item.span), ("entry", id(item))))
        close = (node.span.end_line, node.span.end_column - 1)
        out.append((close, _end(node.span), ("close", id(node))))

    for statement in file.statements:
        if isinstance(statement, Block):
            block(statement, statement.items)
        else:
            out.append((_start(statement.span), _end(statement.span), ("stmt", id(statement))))
    return out


def _attach(file: File) -> tuple[dict, dict, dict]:
    """Leading and trailing comments per slot; O((comments + anchors) log anchors)."""
    anchors = _anchors(file)
    starts = {slot: start[0] for start, _end_, slot in anchors}
    # per line, the anchor ending last on it (the first such in anchor order on a tie)
    last_on_line: dict[int, tuple[tuple[int, int], tuple]] = {}
    for _start_, end, slot in anchors:
        if end[0] not in last_on_line or end > last_on_line[end[0]][0]:
            last_on_line[end[0]] = (end, slot)
    by_start = sorted(anchors, key=lambda a: a[0])  # stable: anchor order on a tie
    start_keys = [a[0] for a in by_start]
    leading: dict[tuple, list[Comment]] = {}
    trailing: dict[tuple, list[Comment]] = {}
    for comment in file.comments:
        at = (comment.line, comment.column)
        # A comment runs to the end of its line: whatever ends on that line ends before it.
        ending = last_on_line.get(comment.line)
        if ending is not None and ending[0] <= at:
            trailing.setdefault(ending[1], []).append(comment)
            continue
        i = bisect.bisect_left(start_keys, at)
        slot = by_start[i][2] if i < len(by_start) else _EOF
        leading.setdefault(slot, []).append(comment)
    return leading, trailing, starts


def format_file(file: File) -> str:
    leading, trailing, starts = _attach(file)
    lines: list[str] = []

    def lead(slot, indent: str) -> None:
        # A blank line between a comment and what follows it is kept (one at most),
        # so a file's header comment stays apart from its first statement.
        comments = leading.get(slot, [])
        for i, comment in enumerate(comments):
            lines.append(indent + comment.text)
            following = comments[i + 1].line if i + 1 < len(comments) else starts.get(slot)
            if following is not None and following - comment.line > 1:
                lines.append("")

    def line(text: str, slot) -> None:
        comments = trailing.get(slot, ())
        lines.append(text + "".join("  " + c.text for c in comments))

    def assignment(head: str, value, indent: str, slot) -> None:
        """``head value``; a list too long for one line gets one value per line."""
        if value.kind != "list" or len(head) + len(value.text) <= WRAP:
            line(f"{head}{value.text}", slot)
            return
        lines.append(f"{head}[")
        lines.extend(f"{indent}{INDENT}{item.text}," for item in value.items)
        line(f"{indent}]", slot)

    def entry(node: Entry, indent: str) -> None:
        slot = ("entry", id(node))
        lead(slot, indent)
        assignment(f"{indent}{node.key} {node.op} ", node.value, indent, slot)

    def block(node, header: str, items, indent: str) -> None:
        open_slot, close_slot = ("open", id(node)), ("close", id(node))
        if not items and open_slot not in trailing and close_slot not in leading:
            line(f"{indent}{header} {{}}", close_slot)
            return
        line(f"{indent}{header} {{", open_slot)
        for item in items:
            if isinstance(item, SubBlock):
                lead(("open", id(item)), indent + INDENT)
                block(item, item.kind, item.entries, indent + INDENT)
            else:
                entry(item, indent + INDENT)
        lead(close_slot, indent + INDENT)
        line(f"{indent}}}", close_slot)

    previous = None
    for statement in file.statements:
        kind = type(statement)
        grouped = kind is previous and kind in (ImportStmt, SweepStmt)
        if lines and not grouped:
            lines.append("")
        previous = kind
        if isinstance(statement, Block):
            lead(("open", id(statement)), "")
            block(statement, f"{statement.kind} {statement.name_text}", statement.items, "")
            continue
        slot = ("stmt", id(statement))
        lead(slot, "")
        if isinstance(statement, ImportStmt):
            line(f"import {statement.path_text}", slot)
        else:
            assignment(f"sweep {statement.target_text}.{statement.key} = ", statement.values, "", slot)
    if _EOF in leading:
        if lines:
            lines.append("")
        lead(_EOF, "")
    return "\n".join(lines) + "\n" if lines else ""
