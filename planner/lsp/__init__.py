"""``planner lsp``: the language server for editors (editors/README.md).

``server`` wires pygls to the rest: ``checking`` (planner check's errors as
diagnostics), ``context`` (where a cursor stands in half-typed text),
``complete``, ``hover`` and ``keydocs`` (docs/language.md's key rows),
``definition``, ``positions`` (spans to LSP positions) and ``solving`` (solves in
a worker process).
"""
