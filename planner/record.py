"""Frozen, checked records: the base of the plan model (``planner.plan``).

The plan model was built on pydantic ``BaseModel``. Importing pydantic and building the
plan's sixteen classes took about 0.6 G of the 1.11 G instructions of ``planner check``
(issue 18), for a few services the model needs. This module gives those, and only those,
with the same behaviour:

- keyword construction that checks every field and converts it the way pydantic's lax
  mode converts Python input (``int`` to ``float``, a whole ``float`` to ``int``, ``0``/``1``
  to ``bool``, lists and dicts item by item, nested records taken as they are); unknown
  and missing keys are errors;
- frozen instances, equal when of one class with equal fields;
- ``model_copy(update=...)``, which, as pydantic's, checks nothing;
- ``model_fields`` (class), ``model_fields_set`` (the fields given to the constructor or a
  copy's update), ``model_dump()`` (nested plain values) and pydantic's ``repr``.

The conversions are tested against pydantic's own validators (tests/syntax/test_record.py).
"""

import dataclasses
import types
import typing
from typing import Any, Callable, Literal

from planner.frozen import frozen

_MISSING = object()


class RecordError(ValueError):
    """A value a field cannot hold; ``msg`` says which field and why."""

    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg


@frozen
class FieldSpec:
    """A field's default (or a factory making it) and whether ``repr`` shows it."""

    default: Any = _MISSING
    default_factory: Callable[[], Any] | None = None
    repr: bool = True

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.default_factory is None


def field(default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None,
          repr: bool = True) -> Any:
    """A field with a default, a ``default_factory``, or hidden from ``repr``."""
    return FieldSpec(default, default_factory, repr)


class _Reject(Exception):
    """A value one converter refuses (caught by a union trying its next member)."""


def _int(value):
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer() and -2 ** 63 < value < 2 ** 63:
        return int(value)  # pydantic: a whole float within int64; -0.0 is 0
    raise _Reject(_WORDS[int])


def _float(value):
    if type(value) is float:
        return value
    if isinstance(value, (int, float)):  # bool included, as pydantic's lax mode has it
        return float(value)
    raise _Reject(_WORDS[float])


def _bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise _Reject(_WORDS[bool])


def _str(value):
    if isinstance(value, str):
        return value
    raise _Reject(_WORDS[str])


_SCALARS = {int: _int, float: _float, bool: _bool, str: _str}


def _literal(options: tuple) -> Callable:
    # A dict lookup, as pydantic's: True finds 1 and -0.0 finds 0, giving the option itself.
    table = {option: option for option in options}
    wanted = " or ".join(repr(option) for option in options)

    def convert(value):
        try:
            return table[value]
        except (KeyError, TypeError):
            raise _Reject(wanted) from None
    return convert


def _union(members: tuple) -> Callable:
    """Each member's conversion in turn. pydantic's "smart" union first looks for a member
    the value is exactly of; in the plan's unions no value is taken by two members (a
    number or None, a number or "node", one workload kind), so the order decides nothing."""
    converters = [_converter(member) for member in members]
    wanted = " or ".join(_wanted(member) for member in members)

    def convert(value):
        for converter in converters:
            try:
                return converter(value)
            except _Reject:
                continue
        raise _Reject(wanted)
    return convert


def _wanted(annotation) -> str:
    if annotation in _WORDS:
        return _WORDS[annotation]
    if typing.get_origin(annotation) is Literal:
        return " or ".join(repr(o) for o in typing.get_args(annotation))
    if typing.get_origin(annotation) is list:
        return "a list"
    return f"a {getattr(annotation, '__name__', annotation)}"


_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a string",
          type(None): "None", dict: "a dict"}


def _list(item: Callable) -> Callable:
    def convert(value):
        if not isinstance(value, (list, tuple)):
            raise _Reject("a list")
        return [item(v) for v in value]
    return convert


def _dict(key: Callable, item: Callable) -> Callable:
    def convert(value):
        if not isinstance(value, dict):
            raise _Reject("a dict")
        return {key(k): item(v) for k, v in value.items()}
    return convert


def _instance(kind: type) -> Callable:
    def convert(value):
        if isinstance(value, kind):
            return value
        if isinstance(value, dict) and issubclass(kind, Record):
            try:
                return kind(**value)
            except RecordError as error:
                raise _Reject(f"a {kind.__name__} ({error.msg})") from None
        raise _Reject(f"a {kind.__name__}")
    return convert


def _any(value):
    return value


def _converter(annotation) -> Callable:
    """The function that checks and converts a value for a field of ``annotation``."""
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if annotation is type(None):
        return _literal((None,))
    if annotation is dict:
        return _dict(_any, _any)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return _literal(args)
    if origin is types.UnionType or origin is typing.Union:
        return _union(args)
    if origin is list:
        return _list(_converter(args[0]))
    if origin is dict:
        return _dict(_converter(args[0]), _converter(args[1]))
    if isinstance(annotation, type) and (issubclass(annotation, Record)
                                         or dataclasses.is_dataclass(annotation)):
        return _instance(annotation)
    raise TypeError(f"planner.record: no conversion for a field of type {annotation!r}")


class Record:
    """A frozen record whose fields are its class's (and its bases') annotations."""

    model_fields: dict[str, FieldSpec] = {}
    _converters: dict[str, Callable] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fields = dict(cls.model_fields)  # a base's fields first, in their order
        converters = dict(cls._converters)
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if typing.get_origin(annotation) is typing.ClassVar:
                continue
            value = cls.__dict__.get(name, _MISSING)
            spec = value if isinstance(value, FieldSpec) else FieldSpec(value)
            fields[name] = spec
            converters[name] = _converter(annotation)
            if isinstance(value, FieldSpec):
                delattr(cls, name)
        cls.model_fields = fields
        cls._converters = converters

    def __init__(self, **values):
        state = {}
        converters = self._converters
        given = 0
        for name, spec in self.model_fields.items():
            if name in values:
                given += 1
                try:
                    state[name] = converters[name](values[name])
                except _Reject as wanted:
                    raise RecordError(f"`{name}` should be {wanted}, not {values[name]!r}") from None
            elif spec.default_factory is not None:
                state[name] = spec.default_factory()
            elif spec.default is not _MISSING:
                state[name] = spec.default  # as pydantic: a default is not converted
            else:
                raise RecordError(f"`{name}` is required")
        if given < len(values):
            extra = next(k for k in values if k not in self.model_fields)
            raise RecordError(f"`{extra}` is not a field of {type(self).__name__}")
        object.__setattr__(self, "__dict__", state)
        object.__setattr__(self, "_set", frozenset(values))

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is frozen: `{name}` cannot be set")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is frozen: `{name}` cannot be deleted")

    # Pickled as the fields and the set given: the shipped catalog is cached that way.
    def __getstate__(self):
        return self.__dict__, self._set

    def __setstate__(self, state):
        fields, given = state
        object.__setattr__(self, "__dict__", fields)
        object.__setattr__(self, "_set", given)

    __slots__ = ("__dict__", "_set")

    @property
    def model_fields_set(self) -> frozenset[str]:
        return self._set

    def model_copy(self, *, update: dict | None = None):
        """A shallow copy with ``update``'s fields replaced; nothing is checked (as pydantic)."""
        copy = object.__new__(type(self))
        fields = dict(self.__dict__)
        given = self._set
        if update:
            fields.update(update)
            given = given | update.keys()
        object.__setattr__(copy, "__dict__", fields)
        object.__setattr__(copy, "_set", given)
        return copy

    def model_dump(self) -> dict:
        """The fields as plain values, nested records and dataclasses as dicts."""
        return {k: _dump(v) for k, v in self.__dict__.items()}

    def __eq__(self, other):
        if not isinstance(other, Record):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self):
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self):
        shown = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()
                          if k not in self.model_fields or self.model_fields[k].repr)
        return f"{type(self).__name__}({shown})"


def _dump(value):
    if isinstance(value, Record):
        return value.model_dump()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_dump(v) for v in value)
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value
