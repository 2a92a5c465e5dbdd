"""Load a plan file with its imports into one checked ``Plan``.

``load_plan(path, reader=None, root=None)`` parses the file and every file it
imports (imports resolve relative to the importing file, inside the plan's
root: ``planner.resolve.files``; ``"std"`` is every ``.plan`` in the shipped
``specs/``), merges them (``planner.resolve.merge``), resolves ``like`` chains
and ``config.json`` files, runs the cross-block checks
(``planner.resolve.checks``) and the pin and variant checks
(``planner.resolve.pins``), and raises every independent error together, each
with the source line it points at.

``load_traced`` is the same load for an editor (``planner lsp``): the texts of
open, unsaved files are read instead of the disk, and it tells through which
import each file was reached, so an error inside an imported file can be shown
at the import that leads to it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from planner import plan as P
from planner.cache import digest, remembered
from planner.diagnostics import SourceLines, attach_lines
from planner.errors import Collector, PlanError, PlanErrors, PlanImportError, PlanLimitError, PlanSyntaxError, Span
from planner.resources import grammar_path, specs_dir
from planner.syntax import parse_plan
from planner.collector import paused
from planner.syntax.limits import MAX_FILE_BYTES, MAX_IMPORT_DEPTH, thousands
from planner.resolve.checks import check_plan
from planner.resolve.files import Access, decode, read_file, read_head, reason
from planner.resolve import measured
from planner.resolve.merge import ConfigSource, merge, resolve_models
from planner.resolve.pins import check_variants

STD = "std"

Reader = Callable[[str], str]


def std_files() -> list[str]:
    """The shipped catalog files, in a fixed order."""
    return sorted(str(p) for p in specs_dir().glob("*.plan"))


def read_text(path: str, span: Span | None = None, reader: Reader | None = None) -> str:
    """A plan or config file's text (at most MAX_FILE_BYTES), or a PlanError saying why not."""
    if reader is None:
        return read_file(path, span)
    try:
        text = reader(path)
    except (OSError, UnicodeDecodeError, KeyError) as error:
        raise PlanImportError(f"cannot read `{path}`: {reason(error)}", span) from None
    if isinstance(text, bytes):
        return decode(text, path, span)
    if len(text) > MAX_FILE_BYTES:
        raise PlanLimitError(f"`{path}` is larger than the limit of {thousands(MAX_FILE_BYTES)} bytes", span)
    return text.removeprefix("\ufeff")


# Parsed shipped catalog files, by (path, size, mtime): the catalog is read by
# nearly every plan and its parse (immutable Plan objects) never changes.
_SHIPPED: dict[tuple[str, int, int], P.Plan] = {}


def _parse_shipped(path: str) -> P.Plan:
    try:
        info = os.stat(path)
    except OSError:
        return parse_plan(read_file(path), path)  # read_file says why it cannot be read
    key = (path, info.st_size, info.st_mtime_ns)
    if key not in _SHIPPED:
        if len(_SHIPPED) >= 64:  # only edits of the catalog files add keys
            _SHIPPED.clear()
        text = read_file(path)
        _SHIPPED[key] = remembered("catalog", digest([path, text], _parser_sources()),
                                   lambda: parse_plan(text, path))
    return _SHIPPED[key]


@functools.cache
def _parser_sources() -> list[Path]:
    """The code a parsed file depends on: the grammar, planner/syntax and the plan model (an
    on-disk entry made by other code is never read)."""
    package = Path(__file__).resolve().parent.parent
    return [grammar_path(), package / "plan.py", package / "record.py", package / "errors.py",
            *sorted((package / "syntax").glob("*.py"))]


def _key(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


class _Loader:
    def __init__(self, reader: Reader | None, access: Access | None,
                 texts: Mapping[str, str] | None = None):
        self.reader = reader
        self.access = access
        # unsaved editor texts by absolute path, read instead of the disk (load_traced)
        self.texts = {_key(path): text for path, text in (texts or {}).items()}
        self.via: dict[str, Span | None] = {}  # each file read: the import that reached it first
        self.errors = Collector()
        self.order: list[P.Plan] = []
        self.done: set[str] = set()
        self.stack: list[str] = []
        self.sources: dict[str, SourceLines] = {}  # plan texts read, for the lines errors quote

    def parse(self, path: str, via: Span | None, shipped: bool, root: bool) -> P.Plan:
        if shipped:
            return _parse_shipped(path)
        text = self.texts.get(_key(path)) if self.texts else None
        if text is None:
            text = read_text(path, via, self.reader)
        elif len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            raise PlanLimitError(f"`{path}` is larger than the limit of {thousands(MAX_FILE_BYTES)} bytes", via)
        else:
            text = text.removeprefix("\ufeff")
        self.sources[path] = SourceLines(text)
        if root and not text.strip():
            raise PlanSyntaxError(f"`{path}` is empty: a plan needs at least one block", Span.point(path))
        plan = parse_plan(text, path)
        if root and not (plan.imports or plan.settings or plan.gpus or plan.models
                         or plan.workloads or plan.sweeps or plan.measured or plan.calibrations):
            raise PlanSyntaxError(f"`{path}` has only comments: a plan needs at least one block",
                                  Span.point(path))
        return plan

    def visit(self, path: str, via: Span | None, shipped: bool = False, root: bool = False) -> None:
        key = os.path.normpath(os.path.abspath(path)) if not self.reader or shipped else os.path.normpath(path)
        if key in self.stack:
            loop = " → ".join(os.path.basename(p) for p in self.stack[self.stack.index(key):] + [key])
            self.errors.add(PlanImportError(f"import cycle: {loop}", via))
            return
        if key in self.done:
            return
        if len(self.stack) > MAX_IMPORT_DEPTH:
            self.errors.add(PlanLimitError(f"imports nest deeper than the limit of {MAX_IMPORT_DEPTH} "
                                           "files", via))
            return
        self.done.add(key)
        self.via.setdefault(path, via)
        try:
            plan = self.parse(path, via, shipped, root)
        except PlanError as error:
            self.errors.add(error)
            return
        self.stack.append(key)
        for imp in plan.imports:
            where = imp.spans.get("path", imp.span)
            if imp.path == STD:
                for spec in std_files():
                    self.visit(spec, where, shipped=True)
                continue
            if shipped:
                target = os.path.normpath(os.path.join(os.path.dirname(path), imp.path))
            else:
                try:
                    target = self.access.resolve(imp.path, path, where, "import")
                except PlanError as error:
                    self.errors.add(error)
                    continue
            self.visit(target, where, shipped)
        self.stack.pop()
        self.order.append(plan)

    def config_reader(self, written: str, span: Span | None) -> ConfigSource:
        """The config.json ``written`` in the block at ``span`` (a file, a snapshot directory
        or ``hf:ORG/NAME``), with the head of the snapshot's safetensors index if it has one."""
        from planner.resolve.snapshot import HF_PREFIX, INDEX_HEAD_BYTES

        base = span.file if span is not None else ""
        if self.access is None or _inside(base, specs_dir()):
            path = os.path.normpath(os.path.join(os.path.dirname(base), written))
            return ConfigSource(path, read_file(path, span))
        found = self.access.resolve_config(written, base, span)
        hub = written.startswith(HF_PREFIX)  # in the local cache, also with a git reader
        text = read_file(found.config, span) if hub else read_text(found.config, span, self.reader)
        if found.index is None:
            return ConfigSource(found.config, text)
        try:
            if self.reader is None or hub:
                index = read_head(found.index, INDEX_HEAD_BYTES, span)
            else:
                index = read_text(found.index, span, self.reader)
        except PlanError:
            return ConfigSource(found.config, text)  # no index at that revision: nothing to check
        return ConfigSource(found.config, text, found.index, index)

    def deliver_warnings(self, into: list | None) -> None:
        """Hand the warnings found (each with its source line) to ``into``, in source order."""
        if into is None:
            return
        found = sorted(self.errors.warnings, key=lambda w: (w.span is None, w.span or Span("", 0, 0, 0, 0)))
        for warning in found:
            attach_lines(warning, self.sources)
        into.extend(found)

    def result_reader(self, written: str, span: Span | None) -> tuple[str, str]:
        """The path and text of the result file a measured block's ``from`` names."""
        base = span.file if span is not None else ""
        if self.access is None:
            path = os.path.normpath(os.path.join(os.path.dirname(base), written))
            return path, read_file(path, span)
        path = self.access.resolve(written, base, span, "from")
        return path, read_text(path, span, self.reader)

    def raise_if_any(self) -> None:
        if self.errors:
            for error in self.errors.errors:
                attach_lines(error, self.sources)
            self.errors.raise_if_any()


def _inside(path: str, directory) -> bool:
    try:
        return os.path.commonpath([os.path.realpath(path), os.path.realpath(directory)]) == \
            os.path.realpath(directory)
    except ValueError:
        return False


def _finish(loader: _Loader) -> P.Plan:
    loader.raise_if_any()
    plan = merge(loader.order, loader.errors)
    plan, broken = resolve_models(plan, loader.config_reader, loader.errors)
    check_plan(plan, loader.errors, broken_models=broken)
    plan = measured.read_results(plan, loader.result_reader, loader.errors)
    measured.check(plan, loader.errors)
    # every row solve would build (rows whose model is unknown or incomplete are left out:
    # their error is already reported)
    check_variants(plan, loader.errors)
    loader.raise_if_any()
    if plan.settings is None and plan.workloads:
        # A plan without a `plan` block is named after its file, with the documented defaults.
        plan = plan.model_copy(update={"settings": P.Settings(name=os.path.splitext(os.path.basename(plan.file))[0])})
    return plan


def load_plan(path: str, reader: Reader | None = None, root: str | None = None,
              warnings: list | None = None) -> P.Plan:
    """The checked, merged plan of ``path`` and its imports; raises PlanError/PlanErrors.

    ``root`` is the directory the plan's imports and configs must stay inside
    (default: the git repository holding ``path``, or its directory); ``reader``
    gives a file's text by path instead of the disk (``planner diff --rev``).
    ``warnings``, when given, receives the ``PlanWarning``s found (also when the load
    fails); without it they are dropped, so every command that prints a plan's errors
    passes a list and prints them too.
    """
    loader = _Loader(reader, Access.for_plan(str(path), root, on_disk=reader is None))
    try:
        with paused():  # see planner.collector: the plan's objects all stay alive
            loader.visit(str(path), None, root=True)
            return _finish(loader)
    finally:
        loader.deliver_warnings(warnings)


@dataclass
class Traced:
    """A load for an editor: the plan (None when it has errors), every error, and for each
    file read the span of the import that first reached it (None for the plan itself)."""

    plan: P.Plan | None
    errors: list[PlanError] = field(default_factory=list)
    via: dict[str, Span | None] = field(default_factory=dict)


def load_traced(path: str, texts: Mapping[str, str], root: str | None = None) -> Traced:
    """``load_plan(path, root=root)`` with ``texts`` (path -> text, e.g. open editors' unsaved
    files) read instead of the disk: the same checks and errors as ``planner check`` on the
    same texts, without raising."""
    loader = _Loader(None, Access.for_plan(str(path), root, on_disk=True), texts)
    try:
        with paused():
            loader.visit(str(path), None, root=True)
            plan = _finish(loader)
    except PlanError as error:
        errors = error.errors if isinstance(error, PlanErrors) else [error]
        return Traced(None, list(errors), loader.via)
    return Traced(plan, [], loader.via)


def load_std() -> P.Plan:
    """The shipped catalog alone (specs/*.plan), merged and resolved."""
    loader = _Loader(None, None)
    for spec in std_files():
        loader.visit(spec, None, shipped=True)
    return _finish(loader).model_copy(update={"file": str(specs_dir())})
