"""The syntax tree's values from the text of their tokens, for both readers of a plan.

Two readers build the tree: lark's parser (``planner.syntax.lalr``, the reference, and the
one that reports errors) and the fast reader of well-formed text (``planner.syntax.fast``).
Everything a value's text turns into (its kind, canonical spelling, number and unit) is
decided here, once, so that the two cannot disagree on it; each reader only supplies the
tokens' texts and spans.
"""

from __future__ import annotations

import re

from planner.errors import Span
from planner.syntax.ast import Value


def unquote(text: str) -> str:
    """The content of a string literal: ``\\"``, ``\\\\``, ``\\n`` and ``\\t`` are escapes."""
    if "\\" not in text:  # nearly every string: nothing to undo
        return text[1:-1]
    body = text[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_NUMBER_PART = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")


def split_number(text: str) -> tuple[str, str]:
    """``8k`` → (``8``, ``k``): the number as written and the unit after it."""
    number = _NUMBER_PART.match(text).group(0)
    return number, text[len(number):]


def price(number: str, unit: str, span: Span) -> Value:
    # Canonical spelling: "1.79/h", or "1.79 USD/h" when a currency is named.
    text = f"{number}{unit}" if unit == "/h" else f"{number} {unit}"
    return Value("price", text, span, number=number, unit=unit)


def quantity(text: str, span: Span) -> Value:
    """A QUANTITY token: a number with its unit; ``1.79/h`` and ``2USD/h`` are prices."""
    number, unit = split_number(text)
    if unit.endswith("/h"):
        return price(number, unit, span)
    return Value("quantity", text, span, number=number, unit=unit)


def tokens(text: str, span: Span) -> Value:
    """A number or quantity (``text``) followed by the word ``tokens``."""
    number, unit = split_number(text)
    return Value("tokens", f"{text} tokens", span, number=number, unit=unit)


def list_value(items: tuple[Value, ...], span: Span) -> Value:
    return Value("list", "[" + ", ".join(i.text for i in items) + "]", span, items=items)
