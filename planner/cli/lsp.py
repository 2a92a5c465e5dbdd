"""``planner lsp``: the language server for editors (editors/README.md)."""

from planner.cli.app import app


@app.command()
def lsp() -> None:
    """Run the language server over stdin and stdout, for an editor to start.

    Diagnostics as `planner check` gives them, completion, hover (a key's documented line,
    a workload's solved row), formatting as `planner fmt`, go to definition.
    Editors: see editors/README.md.
    """
    from planner.lsp.server import main

    main()
