"""What a key means, as docs/language.md states it: the hover text of a key.

docs/language.md has one table per block kind (``### `serve` keys``) with a row
per key: type, units or values, default, range, meaning. A test holds that
table to ``planner.syntax.keys`` (every key, every range), so the hover shows
the documented line itself; a key the document lacks (none today) falls back
to the key table's own words.
"""

from __future__ import annotations

import functools
import re

from planner.frozen import frozen
from planner.resources import language_doc
from planner.syntax.keys import KEYS, LIMIT_KEYS

_SECTION = re.compile(r"^### `(\w+)` keys$", re.MULTILINE)
COLUMNS = ("type", "units / values", "default", "range", "meaning")


@frozen
class KeyDoc:
    """A key's row of the language reference."""

    kind: str  # the block kind (or `layout`)
    key: str
    cells: tuple[str, ...]  # the row's columns after the key, as in COLUMNS

    def markdown(self) -> str:
        op = "<=" if self.key in LIMIT_KEYS else "="
        kind, units, default, valid, meaning = self.cells
        lines = [f"**`{self.key}`** ({self.kind}) — {meaning}", "",
                 f"`{self.key} {op} ...` · type: {kind} · units / values: {units}", "",
                 f"default: {default} · range: {valid}"]
        return "\n".join(lines)


def _cells(line: str) -> list[str]:
    # split at pipes that are not escaped or inside backticks
    cells, current, quoted = [], "", False
    for char in line.strip().strip("|"):
        if char == "`":
            quoted = not quoted
        if char == "|" and not quoted:
            cells.append(current.strip())
            current = ""
            continue
        current += char
    cells.append(current.strip())
    return cells


@functools.cache
def documented() -> dict[tuple[str, str], KeyDoc]:
    """Every key row of docs/language.md, by (block kind, key)."""
    text = language_doc().read_text(encoding="utf-8")
    rows: dict[tuple[str, str], KeyDoc] = {}
    sections = _SECTION.split(text)
    for kind, body in zip(sections[1::2], sections[2::2]):
        for line in body.split("\n### ", 1)[0].splitlines():
            if not line.startswith("| `"):
                continue
            cells = _cells(line)
            key = cells[0].split(" ")[0].strip("`")
            rows[(kind, key)] = KeyDoc(kind, key, tuple(cells[1:6]))
    return rows


def key_doc(kind: str, key: str) -> KeyDoc | None:
    """The documented row of ``key`` in a ``kind`` block (``layout`` for a layout block)."""
    found = documented().get((kind, key))
    if found is not None:
        return found
    spec = KEYS.get(kind, {}).get(key)
    if spec is None:
        return None
    from planner.syntax.values import range_text

    values = " ".join(f"`{c}`" for c in spec.choices) or "—"
    return KeyDoc(kind, key, (spec.kind, values, spec.default, range_text(spec) or "—", spec.doc + "."))
