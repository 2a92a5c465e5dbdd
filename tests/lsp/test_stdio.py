"""`planner lsp` as an editor starts it: a process speaking the protocol on stdin and stdout."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

pytestmark = pytest.mark.slow  # starts a Python process (about a second)


def _planner() -> list[str]:
    found = shutil.which("planner", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-c", "from planner.cli import main; main()"]


def test_planner_lsp_over_stdio(tmp_path):
    plan = tmp_path / "bad.plan"
    plan.write_text('import "std"\nserve "s" { model = "Llama-3.1-8B"  usrs = 3 }\n')

    async def session() -> tuple[list, int]:
        client = LanguageClient("stdio-test", "1")
        published: asyncio.Future = asyncio.get_running_loop().create_future()

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: types.PublishDiagnosticsParams) -> None:
            if not published.done():
                published.set_result(params.diagnostics)

        command = _planner()
        await client.start_io(command[0], *command[1:], "lsp")
        answer = await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), initialization_options={"solve": False}))
        assert answer.server_info.name == "planner"
        client.initialized(types.InitializedParams())
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=plan.as_uri(), language_id="plan", version=1, text=plan.read_text())))
        found = await asyncio.wait_for(published, 30)
        await client.shutdown_async(None)
        client.exit(None)
        code = await asyncio.wait_for(client._server.wait(), 30)
        await client.stop()
        return list(found), code

    found, code = asyncio.run(session())
    (diagnostic,) = found
    assert diagnostic.message.startswith("unknown key `usrs`") and diagnostic.range.start == types.Position(1, 36)
    assert code == 0  # exit after shutdown
