"""Load a plan file with its imports into one checked ``Plan``.

``load_plan(path, reader=None)`` parses the file and every file it imports
(imports resolve relative to the importing file; ``"std"`` is every ``.plan``
in the shipped ``specs/``), merges them (``planner.resolve.merge``), resolves
``like`` chains and ``config.json`` files, runs the cross-block checks
(``planner.resolve.checks``), and raises every independent error together.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from planner import plan as P
from planner.diagnostics import remember_source
from planner.errors import Collector, PlanError, PlanImportError, PlanSyntaxError, Span
from planner.resources import specs_dir
from planner.syntax import parse_plan
from planner.resolve.checks import check_plan
from planner.resolve.merge import merge, resolve_models

STD = "std"


def std_files() -> list[str]:
    """The shipped catalog files, in a fixed order."""
    return sorted(str(p) for p in specs_dir().glob("*.plan"))


def read_text(path: str, span: Span | None = None, reader: Callable[[str], str] | None = None) -> str:
    """A plan or config file's text, or PlanImportError saying why it cannot be read."""
    if reader is not None:
        try:
            text = reader(path)
        except (OSError, UnicodeDecodeError, KeyError) as error:
            raise PlanImportError(f"cannot read `{path}`: {_reason(error)}", span) from None
    else:
        file = Path(path)
        try:
            if file.is_dir():
                raise PlanImportError(f"`{path}` is a directory, not a file", span)
            data = file.read_bytes()
        except PlanImportError:
            raise
        except FileNotFoundError:
            raise PlanImportError(f"`{path}`: no such file", span) from None
        except (OSError, ValueError) as error:
            raise PlanImportError(f"cannot read `{path}`: {_reason(error)}", span) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise PlanImportError(
                f"`{path}` is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line})", span
            ) from None
    text = text.removeprefix("\ufeff")
    remember_source(path, text)
    return text


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


class _Loader:
    def __init__(self, reader: Callable[[str], str] | None):
        self.reader = reader
        self.errors = Collector()
        self.order: list[P.Plan] = []
        self.done: set[str] = set()
        self.stack: list[str] = []

    def read(self, path: str, span: Span | None, shipped: bool = False) -> str:
        return read_text(path, span, None if shipped else self.reader)

    def visit(self, path: str, via: Span | None, shipped: bool = False, root: bool = False) -> None:
        key = os.path.normpath(os.path.abspath(path)) if not self.reader or shipped else os.path.normpath(path)
        if key in self.stack:
            loop = " → ".join(os.path.basename(p) for p in self.stack[self.stack.index(key):] + [key])
            self.errors.add(PlanImportError(f"import cycle: {loop}", via))
            return
        if key in self.done:
            return
        self.done.add(key)
        try:
            text = self.read(path, via, shipped)
            if root and not text.strip():
                raise PlanSyntaxError(f"`{path}` is empty: a plan needs at least one block", Span.point(path))
            plan = parse_plan(text, path)
            if root and not (plan.imports or plan.settings or plan.gpus or plan.models
                             or plan.workloads or plan.sweeps):
                raise PlanSyntaxError(f"`{path}` has only comments: a plan needs at least one block",
                                      Span.point(path))
        except PlanError as error:
            self.errors.add(error)
            return
        self.stack.append(key)
        for imp in plan.imports:
            where = imp.spans.get("path", imp.span)
            if imp.path == STD:
                for spec in std_files():
                    self.visit(spec, where, shipped=True)
            else:
                target = os.path.normpath(os.path.join(os.path.dirname(path), imp.path))
                self.visit(target, where, shipped)
        self.stack.pop()
        self.order.append(plan)

    def config_reader(self, path: str, span: Span | None) -> str:
        shipped = span is not None and _inside(span.file, specs_dir())
        return self.read(path, span, shipped)


def _inside(path: str, directory: Path) -> bool:
    try:
        Path(path).resolve().relative_to(directory.resolve())
    except (ValueError, OSError):
        return False
    return True


def _finish(loader: _Loader) -> P.Plan:
    loader.errors.raise_if_any()
    plan = merge(loader.order, loader.errors)
    plan, broken = resolve_models(plan, loader.config_reader, loader.errors)
    check_plan(plan, loader.errors, broken_models=broken)
    loader.errors.raise_if_any()
    if plan.settings is None and plan.workloads:
        # A plan without a `plan` block is named after its file, with the documented defaults.
        plan = plan.model_copy(update={"settings": P.Settings(name=Path(plan.file).stem)})
    return plan


def load_plan(path: str, reader: Callable[[str], str] | None = None) -> P.Plan:
    """The checked, merged plan of ``path`` and its imports; raises PlanError/PlanErrors."""
    loader = _Loader(reader)
    loader.visit(str(path), None, root=True)
    return _finish(loader)


def load_std() -> P.Plan:
    """The shipped catalog alone (specs/*.plan), merged and resolved."""
    loader = _Loader(None)
    for spec in std_files():
        loader.visit(spec, None, shipped=True)
    return _finish(loader).model_copy(update={"file": str(specs_dir())})
