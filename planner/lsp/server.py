"""``planner lsp``: the language server (pygls, JSON-RPC over stdio).

Threads and processes, so that typing never waits:

- the event loop (pygls) reads messages, answers completion and hover from
  what it already knows (a lexical scan of the text, the names of the last
  check, the last solve) and schedules the rest;
- one *parse thread* runs everything that parses (check, format, go to
  definition): the parser keeps per-parse state in its module, so parses must
  not overlap, and the loop stays free while one runs;
- one *worker process* solves (``planner.lsp.solving``).

Each edit of a document cancels that document's pending work (its check
waits ``checkDelay`` seconds for more typing; its solve ``solveDelay`` more,
and a running solve is stopped) and schedules a new round: check, publish the
diagnostics, and, when the text checks, solve it. Documents that import the
edited one are checked again too.

Initialization options (all optional): ``solve`` (default true),
``checkDelay`` (0.15 s), ``solveDelay`` (0.5 s), ``timeLimit`` (10 s per
solve), ``root`` (the directory imports must stay inside; default as for
``planner check``: the git repository holding the plan, or its directory).
"""

from __future__ import annotations

import asyncio
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from planner import __version__
from planner.errors import PlanError
from planner.lsp import checking, complete as completion, definition, hover as hovering
from planner.lsp.context import block_names
from planner.lsp.positions import Positions, units_for
from planner.lsp.solving import BackgroundSolver, Job
from planner.resources import specs_dir
from planner.syntax.keys import WORKLOAD_KINDS


@dataclass
class Options:
    solve: bool = True
    check_delay: float = 0.15
    solve_delay: float = 0.5
    time_limit: float = 10.0
    root: str | None = None

    @classmethod
    def read(cls, given) -> "Options":
        """The client's initialization options; a missing or mistyped one keeps its default."""
        given = given if isinstance(given, dict) else {}
        options = cls()
        if isinstance(given.get("solve"), bool):
            options.solve = given["solve"]
        for name, attribute in (("checkDelay", "check_delay"), ("solveDelay", "solve_delay"),
                                ("timeLimit", "time_limit")):
            value = given.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                setattr(options, attribute, float(value))
        if isinstance(given.get("root"), str):
            options.root = given["root"]
        return options


@dataclass
class Document:
    """What the server keeps per open document."""

    uri: str
    path: str
    version: int = 0
    task: asyncio.Task | None = None
    names: completion.Names = field(default_factory=completion.Names)
    reached: set[str] = field(default_factory=set)  # files its last check read
    has_errors: bool = False
    pending: bool = False
    last: hovering.Solved | None = None


@functools.cache
def _catalog() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The shipped catalog's GPU and model names (parsed once, in the parse thread)."""
    from planner.resolve.load import load_std

    std = load_std()
    return tuple(g.name for g in std.gpus), tuple(m.name for m in std.models)


def _merged(*groups) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for group in groups for name in group))


class PlannerServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("planner", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.options = Options()
        self.documents: dict[str, Document] = {}
        self.parse_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner-parse")
        self.solver = BackgroundSolver()

    # ------------------------------------------------------------ helpers

    def units(self):
        return units_for(self.workspace.position_encoding)

    def text_of(self, uri: str) -> str:
        return self.workspace.get_text_document(uri).source

    def texts(self) -> dict[str, str]:
        """The open documents' texts by path: read instead of the disk."""
        return {doc.path: self.text_of(doc.uri) for doc in self.documents.values()}

    async def in_parse_thread(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.parse_thread, function, *args)

    def log(self, message: str) -> None:
        self.window_log_message(types.LogMessageParams(types.MessageType.Info, f"planner: {message}"))

    # ------------------------------------------------------------ check and solve

    def schedule(self, doc: Document, delay: float) -> None:
        """Cancel the document's pending round and start a new one."""
        if doc.task is not None:
            doc.task.cancel()
        self.solver.cancel(doc.uri)
        doc.pending = self.options.solve
        doc.task = asyncio.get_running_loop().create_task(self.round(doc, delay))

    def schedule_importers(self, changed: Document) -> None:
        """Check again the open documents whose last check read ``changed``."""
        path = os.path.normpath(os.path.abspath(changed.path))
        for doc in self.documents.values():
            if doc is not changed and path in doc.reached:
                self.schedule(doc, self.options.check_delay)

    def _check(self, doc: Document, text: str, texts: dict[str, str]):
        """The check of ``doc`` (in the parse thread), and the names its plan and imports
        declare (kept from the last check that passed while the text has errors)."""
        checked = checking.check(doc.path, texts, Positions(text, self.units()), self.options.root)
        plan, known = checked.plan, doc.names
        if plan is not None:
            catalog = str(specs_dir())
            known = completion.Names(
                gpus=tuple(g.name for g in plan.gpus if g.available is not None),
                models=tuple(m.name for m in plan.models if m.span is not None
                             and not m.span.file.startswith(catalog)),
                workloads=tuple(w.name for w in plan.workloads))
        return checked, known

    async def names(self, doc: Document | None, text: str) -> completion.Names:
        """What completion offers: names declared in ``text`` as it is now, then those of the
        last check (imports included), then the shipped catalog's."""
        # the catalog is parsed once, in the parse thread; then it is at hand
        gpus, models = _catalog() if _catalog.cache_info().currsize else await self.in_parse_thread(_catalog)
        known = doc.names if doc is not None else completion.Names()
        declared = block_names(text)
        workloads = [n for kind in WORKLOAD_KINDS for n in declared.get(kind, ())]
        return completion.Names(
            gpus=_merged(declared.get("gpu", ()), known.gpus, gpus),
            models=_merged(declared.get("model", ()), known.models, models),
            workloads=_merged(workloads, known.workloads),
            imports=import_candidates(doc.path) if doc is not None else ("std",))

    async def round(self, doc: Document, delay: float) -> None:
        await asyncio.sleep(delay)
        version, text, texts = doc.version, self.text_of(doc.uri), self.texts()
        checked, doc.names = await self.in_parse_thread(self._check, doc, text, texts)
        doc.reached = {os.path.normpath(os.path.abspath(p)) for p in checked.files}
        doc.has_errors = checked.plan is None
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=doc.uri, version=version, diagnostics=checked.diagnostics))
        if checked.plan is None or not self.options.solve:
            doc.pending = False
            return
        await asyncio.sleep(self.options.solve_delay)
        job = Job(doc.uri, version, doc.path, texts, self.options.root, self.options.time_limit)
        answer = await self.solver.solve(job)
        if answer is None:
            return
        doc.last = hovering.Solved(version, answer)
        doc.pending = False
        if "error" in answer:
            self.log(f"solve of {doc.path} (version {version}) failed: {answer['error']}")
        else:
            summary = answer["summary"]
            self.log(f"solved {doc.path} (version {version}): {summary['status']}, "
                     f"{len(summary['rows'])} rows, total {summary['total']}, in {answer['seconds']} s")


def _path_of(uri: str) -> str:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return path or os.path.join(os.getcwd(), os.path.basename(uri) or "untitled.plan")


server = None  # the running server, for tests that look inside it


# ------------------------------------------------------------ handlers (registered by build)

def initialize(ls: PlannerServer, params: types.InitializeParams) -> None:
    ls.options = Options.read(params.initialization_options)

def did_open(ls: PlannerServer, params: types.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    doc = ls.documents.setdefault(uri, Document(uri, _path_of(uri)))
    doc.version = params.text_document.version
    ls.schedule(doc, 0.0)
    ls.schedule_importers(doc)

def did_change(ls: PlannerServer, params: types.DidChangeTextDocumentParams) -> None:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return
    doc.version = params.text_document.version
    ls.schedule(doc, ls.options.check_delay)
    ls.schedule_importers(doc)

def did_save(ls: PlannerServer, params: types.DidSaveTextDocumentParams) -> None:
    for doc in ls.documents.values():  # files read from disk may have changed with it
        if doc.uri != params.text_document.uri:
            ls.schedule(doc, ls.options.check_delay)

def did_close(ls: PlannerServer, params: types.DidCloseTextDocumentParams) -> None:
    doc = ls.documents.pop(params.text_document.uri, None)
    if doc is not None:
        if doc.task is not None:
            doc.task.cancel()
        ls.solver.cancel(doc.uri)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=[]))
        ls.schedule_importers(doc)

async def complete(ls: PlannerServer, params: types.CompletionParams) -> types.CompletionList:
    uri = params.text_document.uri
    text = ls.text_of(uri)
    positions = Positions(text, ls.units())
    names = await ls.names(ls.documents.get(uri), text)
    items = completion.complete(text, positions.offset(params.position), names, positions)
    return types.CompletionList(is_incomplete=False, items=items)


def hover(ls: PlannerServer, params: types.HoverParams) -> types.Hover | None:
    uri = params.text_document.uri
    doc = ls.documents.get(uri)
    text = ls.text_of(uri)
    positions = Positions(text, ls.units())
    state = hovering.SolveState(ls.options.solve, doc.version if doc else 0, doc.last if doc else None,
                                doc.pending if doc else False, doc.has_errors if doc else False)
    found = hovering.hover(text, positions.offset(params.position), state)
    if found is None:
        return None
    markdown, token = found
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, markdown),
                       positions.offsets(token.start, token.end))

async def formatting(ls: PlannerServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    from planner.syntax.fmt import format_text

    uri = params.text_document.uri
    text = ls.text_of(uri)
    try:
        formatted = await ls.in_parse_thread(format_text, text, _path_of(uri))
    except PlanError:
        return None  # a text that does not parse is not formatted; its diagnostics say why
    if formatted == text:
        return []
    return [types.TextEdit(Positions(text, ls.units()).whole(), formatted)]

async def go_to(ls: PlannerServer, params: types.DefinitionParams) -> list[types.Location] | None:
    uri = params.text_document.uri
    text, path = ls.text_of(uri), _path_of(uri)
    offset = Positions(text, ls.units()).offset(params.position)
    texts = ls.texts()
    texts[path] = text
    return await ls.in_parse_thread(ls_definitions, ls, texts, text, offset, path)

def shutdown(ls: PlannerServer, params: None) -> None:
    for doc in ls.documents.values():
        if doc.task is not None:
            doc.task.cancel()
    ls.solver.close()


def build() -> PlannerServer:
    """A new server with every feature registered."""
    ls = PlannerServer()
    ls.feature(types.INITIALIZE)(initialize)
    ls.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    ls.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)
    ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    ls.feature(types.TEXT_DOCUMENT_COMPLETION,
types.CompletionOptions(trigger_characters=['"', ".", "="]))(complete)
    ls.feature(types.TEXT_DOCUMENT_HOVER)(hover)
    ls.feature(types.TEXT_DOCUMENT_FORMATTING)(formatting)
    ls.feature(types.TEXT_DOCUMENT_DEFINITION)(go_to)
    ls.feature(types.SHUTDOWN)(shutdown)
    return ls


def import_candidates(path: str) -> tuple[str, ...]:
    """``std`` and the .plan files beside the document (what an import usually names)."""
    folder = os.path.dirname(path)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".plan") and n != os.path.basename(path))
    except OSError:
        names = []
    return ("std", *names[:200])


def ls_definitions(ls: PlannerServer, texts: dict[str, str], text: str, offset: int,
                   path: str) -> list[types.Location] | None:
    """Where the name at ``offset`` is declared (run in the parse thread)."""
    wanted = definition.target(text, offset, path, ls.options.root)
    if wanted is None:
        return None
    if wanted.files:
        start = types.Range(types.Position(0, 0), types.Position(0, 0))
        return [types.Location(from_fs_path(os.path.abspath(f)), start) for f in wanted.files]
    found = definition.Declarations(path, texts, ls.options.root).of(
        wanted, lambda file, file_text: Positions(file_text, ls.units()))
    return [types.Location(from_fs_path(os.path.abspath(file)), where) for file, where in found] or None


def main() -> None:
    """Serve over stdio until the client says exit."""
    global server
    server = build()
    server.start_io()
