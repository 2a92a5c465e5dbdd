"""A language client talking to ``planner lsp`` in this process, through the protocol.

The server runs in a thread on its own event loop (``start_io`` on two pipes, as it
would on stdin and stdout); a pygls ``LanguageClient`` runs on a second loop in
another thread and writes and reads JSON-RPC on the other ends of the pipes. The
test calls plain methods that wait for the answer.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.lsp.client import LanguageClient

from planner.lsp import server as lsp_server

TIMEOUT = 30.0


class Session:
    def __init__(self, options: dict | None = None, root: Path | None = None):
        self.server = lsp_server.build()
        to_server_r, to_server_w = os.pipe()
        to_client_r, to_client_w = os.pipe()
        self._files = [os.fdopen(fd, mode) for fd, mode in (
            (to_server_r, "rb"), (to_server_w, "wb"), (to_client_r, "rb"), (to_client_w, "wb"))]
        self.server_thread = threading.Thread(
            target=self.server.start_io, args=(self._files[0], self._files[3]), daemon=True)
        self.server_thread.start()

        self.diagnostics: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.logs: list[str] = []
        self._changed = threading.Condition()
        self.client = LanguageClient("planner-tests", "1")

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _diagnostics(params: types.PublishDiagnosticsParams) -> None:
            with self._changed:
                self.diagnostics.setdefault(params.uri, []).append(params)
                self._changed.notify_all()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def _log(params: types.LogMessageParams) -> None:
            with self._changed:
                self.logs.append(params.message)
                self._changed.notify_all()

        self.loop = asyncio.new_event_loop()
        self._reader_pool = ThreadPoolExecutor(max_workers=1)
        self.loop_thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.loop_thread.start()
        self.client.protocol.set_writer(StdoutWriter(self._files[1]))
        self._stop = threading.Event()
        self.call(self._read())
        capabilities = types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(
                hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown])))
        self.initialized = self.call(self.client.initialize_async(types.InitializeParams(
            capabilities=capabilities, root_uri=root.as_uri() if root else None,
            initialization_options={"solve": False, "checkDelay": 0, "solveDelay": 0, **(options or {})})))
        self.notify(self.client.initialized, types.InitializedParams())

    async def _read(self) -> None:
        reader = StdinAsyncReader(self._files[2], self._reader_pool)
        asyncio.ensure_future(run_async(self._stop, reader, self.client.protocol))

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT)

    def notify(self, method, params) -> None:
        self.loop.call_soon_threadsafe(method, params)

    # ------------------------------------------------------------ documents

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        uri = path.resolve().as_uri()
        text = path.read_text(encoding="utf-8") if text is None else text
        self.notify(self.client.text_document_did_open, types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="plan", version=version, text=text)))
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify(self.client.text_document_did_change, types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)]))

    def wait_for(self, ready, timeout: float = TIMEOUT):
        """Wait until ``ready()`` returns something true, and return it: looked at on each
        message from the server and every 50 ms (it may read the server's own state)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (found := ready()):
                left = deadline - time.monotonic()
                assert left > 0, "timed out waiting for the server"
                self._changed.wait(min(left, 0.05))
        return found

    def published(self, uri: str, version: int) -> list[types.Diagnostic]:
        """The diagnostics published for ``uri`` at ``version``."""
        def ready():
            for params in reversed(self.diagnostics.get(uri, [])):
                if params.version == version:
                    return params
            return None
        return list(self.wait_for(ready).diagnostics)

    def completion(self, uri: str, line: int, character: int) -> list[types.CompletionItem]:
        answer = self.call(self.client.text_document_completion_async(types.CompletionParams(
            types.TextDocumentIdentifier(uri), types.Position(line, character))))
        return list(answer.items if isinstance(answer, types.CompletionList) else answer or [])

    def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return self.call(self.client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(uri), types.Position(line, character))))

    def formatting(self, uri: str):
        return self.call(self.client.text_document_formatting_async(types.DocumentFormattingParams(
            types.TextDocumentIdentifier(uri), types.FormattingOptions(tab_size=2, insert_spaces=True))))

    def definition(self, uri: str, line: int, character: int):
        return self.call(self.client.text_document_definition_async(types.DefinitionParams(
            types.TextDocumentIdentifier(uri), types.Position(line, character))))

    def close(self) -> None:
        try:
            self.call(self.client.shutdown_async(None))
            self.notify(self.client.exit, None)
            self.server_thread.join(10)
        finally:
            self._stop.set()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.loop_thread.join(5)
            for file in self._files:
                try:
                    file.close()
                except OSError:
                    pass
            self._reader_pool.shutdown(wait=False, cancel_futures=True)
            self.server.parse_thread.shutdown(wait=False)
