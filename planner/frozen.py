"""``@frozen``: the class ``@dataclass(frozen=True)`` makes, for less at import.

Python 3.11's dataclasses compile six methods from source for every frozen class
(``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``).
planner has about a hundred such classes, and compiling their methods was a fifth of
what ``planner check`` ran, and of a small plan's ``planner solve`` (docs/solve.md,
"Pipeline"). Only ``__init__`` gains from being compiled for its class: it runs for every
instance. So ``frozen`` lets ``dataclasses`` find the fields (``fields``, ``replace``,
``asdict``, ``astuple`` and ``is_dataclass`` work as on any dataclass), compiles
``__init__``, and gives the other five as functions over the field names that do what the
generated ones do (CPython 3.11, Lib/dataclasses.py):

- ``__init__(self, a, b=<default>, c=<factory>)``: each field set with
  ``object.__setattr__`` in field order, a factory called when its argument is not given,
  then ``self.__post_init__()`` when the class has one;
- ``__eq__``: equal tuples of the compared fields when ``other`` is of the same class,
  else ``NotImplemented``;
- ``__hash__``: the hash of the tuple of the hashed fields, the very number the dataclass
  gives (so sets of records iterate in the same order);
- ``__repr__``: ``QualName(a=1, b='x')`` over the shown fields, ``...`` for a record met
  again inside its own repr;
- ``__setattr__`` and ``__delattr__``: ``FrozenInstanceError`` for a field, or on an
  instance of the class itself; a subclass's own attributes go through.

Methods the class writes itself are kept, as dataclasses keeps them, but for
``__setattr__`` and ``__delattr__``, which it refuses (TypeError). Only what planner's
records use: a field that is not an ``__init__`` argument or keyword-only, and the
class options (order, slots, ...), are refused; an ``InitVar`` is not an argument of the
``__init__`` made here. ``tests/records/test_frozen.py`` checks each method against a
frozen dataclass twin.
"""

from __future__ import annotations

import dataclasses
import operator
from _thread import get_ident
from dataclasses import MISSING, FrozenInstanceError

# Names the generated __init__ reads from its globals: no field can shadow them.
_SET = "__frozen_setattr__"
_FACTORY = "__frozen_has_factory__"


class _HasFactory:
    """The default of an argument whose field has a factory (shown as dataclasses shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _HasFactory()


def frozen(cls: type) -> type:
    """``cls`` as ``@dataclass(frozen=True)`` would make it (see the module docstring)."""
    for name in ("__setattr__", "__delattr__"):
        if name in cls.__dict__:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    explicit_hash = cls.__dict__.get("__hash__", MISSING)
    explicit_hash = not (explicit_hash is MISSING
                         or (explicit_hash is None and "__eq__" in cls.__dict__))
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    fields = dataclasses.fields(cls)
    for f in fields:
        if not f.init or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: @frozen makes every field a positional "
                            "argument of __init__")
    names = frozenset(f.name for f in fields)

    cls.__init__ = _init(cls, fields)
    _keep_or_set(cls, "__repr__", _repr([f.name for f in fields if f.repr]))
    compared = _tuple_of([f.name for f in fields if f.compare])
    _keep_or_set(cls, "__eq__", _eq(compared))
    if not explicit_hash:
        hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
        _set_method(cls, "__hash__", _hash(_tuple_of(hashed)))
    _set_method(cls, "__setattr__", _setattr(cls, names))
    _set_method(cls, "__delattr__", _delattr(cls, names))
    return cls


def _set_method(cls: type, name: str, fn) -> None:
    fn.__name__ = name
    fn.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, fn)


def _keep_or_set(cls: type, name: str, fn) -> None:
    if name not in cls.__dict__:
        _set_method(cls, name, fn)


def _init(cls: type, fields: tuple[dataclasses.Field, ...]):
    """``__init__``, compiled: it runs for every instance, so it reads no field table."""
    self_name = "__frozen_self__" if "self" in {f.name for f in fields} else "self"
    scope: dict = {_SET: object.__setattr__, _FACTORY: _HAS_FACTORY}
    params, body = [self_name], []
    seen_default = False
    for f in fields:
        value = f.name
        if f.default is not MISSING:
            scope[f"__frozen_default_{f.name}__"] = f.default
            params.append(f"{f.name}=__frozen_default_{f.name}__")
        elif f.default_factory is not MISSING:
            scope[f"__frozen_default_{f.name}__"] = f.default_factory
            params.append(f"{f.name}={_FACTORY}")
            value = f"__frozen_default_{f.name}__() if {f.name} is {_FACTORY} else {f.name}"
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            params.append(f.name)
        seen_default = seen_default or f.default is not MISSING or f.default_factory is not MISSING
        body.append(f"    {_SET}({self_name}, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append(f"    {self_name}.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    found: dict = {}
    exec(source, scope, found)
    init = found["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {f.name: f.type for f in fields} | {"return": None}
    return init


def _tuple_of(names: list[str]):
    """The tuple of the named attributes of an object (``attrgetter`` gives a bare value for
    one name, and takes none)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq(values):
    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(values):
    def __hash__(self):
        return hash(values(self))

    return __hash__


def _repr(names: list[str]):
    running: set[tuple[int, int]] = set()

    def __repr__(self):
        key = id(self), get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _setattr(cls: type, names: frozenset[str]):
    def __setattr__(self, name, value):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    return __setattr__


def _delattr(cls: type, names: frozenset[str]):
    def __delattr__(self, name):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __delattr__
