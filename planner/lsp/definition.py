"""Go to definition: where a model, GPU, workload or imported file is declared.

``model = "x"`` and ``like = "x"`` lead to every ``model "x"`` block, the
plan's own first, then its imports', then the shipped catalog's (a plan that
refines a catalog model has both); ``gpu = "x"`` and ``gpus = [...]`` in the
same way to ``gpu`` blocks; ``sweep "x"`` to the workload; ``import "f"`` to the
file (``"std"``: the catalog's files); a block's own name to the other blocks of
that kind and name (a refinement to what it refines).

Declarations are read from the syntax of the document and the files it imports
(what parses of each: a broken statement elsewhere does not hide the others),
following imports by the same rules as the loader (inside the plan's root).
"""

from __future__ import annotations

import os

from planner.errors import PlanError, Span
from planner.frozen import frozen
from planner.lsp import context as C
from planner.resolve.files import Access, read_file
from planner.resolve.load import STD, std_files
from planner.syntax.ast import Block, ImportStmt
from planner.syntax.keys import WORKLOAD_KINDS
from planner.syntax.limits import MAX_IMPORT_DEPTH
from planner.syntax.parser import parse_recovering


@frozen
class Declared:
    """A named block as declared, and where its name is."""

    kind: str
    name: str
    span: Span  # from the block's kind to the end of its name


@frozen
class Target:
    """What the cursor refers to: blocks (``kinds``, ``name``) or files (``files``)."""

    kinds: tuple[str, ...] = ()
    name: str | None = None
    files: tuple[str, ...] = ()
    exclude: tuple[str, int, int] | None = None  # (file, line, column) of the cursor on a block's name


def _name(token: C.Token) -> str:
    return C.unquote(token.text) if token.kind == "string" else token.text


def target(text: str, offset: int, path: str, root: str | None) -> Target | None:
    spot = C.locate_token(text, offset)
    if spot is None or spot.token is None or spot.token.kind not in ("string", "word"):
        return None
    name = _name(spot.token)
    if spot.where in (C.VALUE, C.LIST_ITEM):
        if spot.key in ("model", "like") and spot.sub is None:
            return Target(("model",), name)
        if spot.key in ("gpu", "gpus"):
            return Target(("gpu",), name)
        return None
    if spot.where == C.SWEEP_TARGET:
        return Target(WORKLOAD_KINDS, name)
    if spot.where == C.HEADER_NAME and spot.header_kind:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return Target((spot.header_kind,), name, exclude=(path, line, column))
    if spot.where == C.IMPORT_PATH and spot.token.kind == "string":
        if name == STD:
            return Target(files=tuple(std_files()))
        try:
            resolved = Access.for_plan(path, root, on_disk=True).resolve(name, path, None, "import")
        except PlanError:
            return None
        return Target(files=(resolved,)) if os.path.isfile(resolved) else None
    return None


class Declarations:
    """The blocks declared in a document and every file it imports, in that order."""

    def __init__(self, path: str, texts: dict[str, str], root: str | None):
        self.texts = {os.path.abspath(p): t for p, t in texts.items()}
        self.access = Access.for_plan(path, root, on_disk=True)
        self.found: list[Declared] = []
        self.read: dict[str, str] = {}  # file -> text, for positions in it
        seen: set[str] = set()
        self._visit(path, seen, 0, shipped=False)
        for spec in std_files():
            self._visit(spec, seen, 0, shipped=True)

    def _text(self, path: str) -> str | None:
        absolute = os.path.abspath(path)
        if absolute in self.texts:
            return self.texts[absolute]
        try:
            return read_file(path)
        except PlanError:
            return None

    def _visit(self, path: str, seen: set[str], depth: int, shipped: bool) -> None:
        key = os.path.normpath(os.path.abspath(path))
        if key in seen or depth > MAX_IMPORT_DEPTH:
            return
        seen.add(key)
        text = self._text(path)
        if text is None:
            return
        self.read[path] = text
        file, _errors = parse_recovering(text, path)
        for statement in file.statements:
            if isinstance(statement, Block):
                head = statement.kind_span
                name = statement.name_span
                self.found.append(Declared(statement.kind, statement.name, Span(
                    head.file, head.line, head.column, name.end_line, name.end_column)))
            elif isinstance(statement, ImportStmt) and statement.path != STD:
                self._follow(statement, path, seen, depth, shipped)

    def _follow(self, statement: ImportStmt, path: str, seen: set[str], depth: int, shipped: bool) -> None:
        if shipped:
            self._visit(os.path.normpath(os.path.join(os.path.dirname(path), statement.path)), seen, depth + 1, True)
            return
        try:
            resolved = self.access.resolve(statement.path, path, statement.path_span, "import")
        except PlanError:
            return
        self._visit(resolved, seen, depth + 1, False)

    def of(self, wanted: Target, positions_of) -> list[tuple[str, object]]:
        """(file, range) of each declaration ``wanted`` names; ``positions_of(file, text)``
        gives the range converter of a file."""
        out = []
        for declared in self.found:
            if declared.kind not in wanted.kinds or declared.name != wanted.name:
                continue
            if wanted.exclude is not None and _contains(declared.span, *wanted.exclude):
                continue
            positions = positions_of(declared.span.file, self.read.get(declared.span.file, ""))
            out.append((declared.span.file, positions.span(declared.span)))
        return out


def _contains(span: Span, file: str, line: int, column: int) -> bool:
    return (os.path.abspath(span.file) == os.path.abspath(file)
            and (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column))
