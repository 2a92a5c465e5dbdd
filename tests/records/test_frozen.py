"""``@frozen`` (planner/frozen.py) makes the class ``@dataclass(frozen=True)`` makes.

Every check builds the same class body twice, once under ``@frozen`` and once under
``@dataclass(frozen=True)`` (the twin), and asks both the same: construction from the same
arguments (accepted or refused), the fields' values in the same order, ``repr``, ``hash``
(the same number), ``==`` between instances and with other objects, assignment and
deletion refused with the same message, ``dataclasses.replace``/``asdict``/``astuple``/
``fields``, ``__match_args__``, the ``__init__`` signature, ``__post_init__``. Then every
``@frozen`` class of planner is held against a twin made from its own fields.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil
import sys
from dataclasses import FrozenInstanceError, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planner
from planner.frozen import frozen

# a field: (default kind, compare, repr, hash)
DEFAULTS = ["none", "int", "str", "tuple", "list-factory", "dict-factory"]
FIELD = st.tuples(st.sampled_from(DEFAULTS), st.booleans(), st.booleans(),
                  st.sampled_from([None, True, False]))
VALUE = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", ""]), st.none(),
                  st.tuples(st.integers(0, 2)), st.lists(st.integers(0, 2), max_size=2))


def _spec(kind: str, compare: bool, shown: bool, hashed):
    options = dict(compare=compare, repr=shown, hash=hashed)
    if kind == "int":
        return field(default=7, **options)
    if kind == "str":
        return field(default="s", **options)
    if kind == "tuple":
        return field(default=(1, 2), **options)
    if kind == "list-factory":
        return field(default_factory=list, **options)
    if kind == "dict-factory":
        return field(default_factory=dict, **options)
    return field(**options)


def _twins(specs, post_init: bool = False, body: dict | None = None):
    """(the @frozen class, its dataclass twin) from one class body; defaults only after the
    fields without one (as both require)."""
    specs = sorted(specs, key=lambda s: s[0] != "none")

    def made(decorate):
        namespace = {"__annotations__": {f"f{i}": "object" for i in range(len(specs))},
                     "__qualname__": "Rec", "__module__": __name__, **(body or {})}
        for i, spec in enumerate(specs):
            namespace[f"f{i}"] = _spec(*spec)
        if post_init:
            def __post_init__(self):
                self.__dict__.setdefault("_posts", 0)
                self.__dict__["_posts"] += 1
            namespace["__post_init__"] = __post_init__
        return decorate(type("Rec", (), namespace))

    return made(frozen), made(dataclasses.dataclass(frozen=True))


def _make(cls, args: tuple, kwargs: dict):
    try:
        return cls(*args, **kwargs), None
    except TypeError as error:
        return None, type(error)


def _same(a, b) -> None:
    """``a`` (a @frozen instance) and ``b`` (its twin's) answer alike."""
    assert list(a.__dict__.items()) == list(b.__dict__.items())
    assert repr(a) == repr(b)
    try:
        expected = hash(b)
    except TypeError:
        with pytest.raises(TypeError):
            hash(a)
    else:
        assert hash(a) == expected
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    assert (a == 5) is (b == 5) is False and (a != None) is (b != None) is True  # noqa: E711
    for name in [*a.__dict__, "other"]:
        for action in (lambda o: setattr(o, name, 1), lambda o: delattr(o, name)):
            with pytest.raises(FrozenInstanceError) as mine:
                action(a)
            with pytest.raises(FrozenInstanceError) as theirs:
                action(b)
            assert str(mine.value) == str(theirs.value)


@settings(max_examples=300, deadline=None)
@given(specs=st.lists(FIELD, max_size=5), post_init=st.booleans(),
       calls=st.lists(st.tuples(st.lists(VALUE, max_size=6), st.dictionaries(
           st.sampled_from(["f0", "f1", "f2", "f3", "f4", "f9"]), VALUE, max_size=3)),
           min_size=2, max_size=4))
def test_a_frozen_class_answers_as_its_dataclass_twin(specs, post_init, calls):
    mine, theirs = _twins(specs, post_init)
    assert mine.__match_args__ == theirs.__match_args__
    assert [(f.name, f.default, f.default_factory) for f in dataclasses.fields(mine)] == \
        [(f.name, f.default, f.default_factory) for f in dataclasses.fields(theirs)]
    sig_mine, sig_theirs = inspect.signature(mine), inspect.signature(theirs)
    assert str(sig_mine) == str(sig_theirs)  # names, kinds, defaults (a factory's as <factory>)
    made = []
    for args, kwargs in calls:
        a, refused = _make(mine, tuple(args), kwargs)
        b, refused_twin = _make(theirs, tuple(args), kwargs)
        assert refused == refused_twin
        if a is not None:
            _same(a, b)
            made.append((a, b))
            changes = {f.name: ("changed",) for f in dataclasses.fields(mine)[:1]}
            _same(dataclasses.replace(a, **changes), dataclasses.replace(b, **changes))
    for a1, b1 in made:
        for a2, b2 in made:
            assert (a1 == a2) == (b1 == b2)
            assert (a1 != a2) == (b1 != b2)


def test_methods_the_class_writes_are_kept_and_setattr_is_refused():
    body = {"__repr__": lambda self: "mine", "__eq__": lambda self, other: True}
    mine, theirs = _twins([("none", True, True, None)], body=body)
    a, b = mine(1), theirs(1)
    assert repr(a) == repr(b) == "mine" and (a == 2) is (b == 2) is True
    assert hash(a) == hash(b) == hash((1,))  # __eq__ written, __hash__ not: made from the fields
    mine, theirs = _twins([("none", True, True, None)], body={"__hash__": lambda self: 5})
    assert hash(mine(1)) == hash(theirs(1)) == 5
    for name in ("__setattr__", "__delattr__"):
        with pytest.raises(TypeError, match=f"Cannot overwrite attribute {name}"):
            _twins([], body={name: lambda self, *a: None})


def test_a_repr_inside_itself_and_a_subclass_attribute():
    mine, theirs = _twins([("none", True, True, None)])
    a, b = mine([]), theirs([])
    a.f0.append(a)
    b.f0.append(b)
    assert repr(a) == repr(b) == "Rec(f0=[...])"
    sub_mine, sub_theirs = type("Sub", (mine,), {}), type("Sub", (theirs,), {})
    x, y = sub_mine(1), sub_theirs(1)
    x.extra, y.extra = 2, 2  # not a field, not an instance of the record class itself
    assert x.__dict__ == y.__dict__ == {"f0": 1, "extra": 2}
    with pytest.raises(FrozenInstanceError):
        x.f0 = 3


def test_what_frozen_refuses():
    with pytest.raises(TypeError, match="positional argument"):
        frozen(type("R", (), {"__annotations__": {"a": "int"}, "a": field(default=1, init=False)}))
    with pytest.raises(TypeError, match="positional argument"):
        frozen(type("R", (), {"__annotations__": {"a": "int"}, "a": field(kw_only=True)}))
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        frozen(type("R", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 1}))
    with pytest.raises(TypeError):
        dataclasses.dataclass(frozen=True)(type("R", (), {"__annotations__": {"a": "int", "b": "int"},
                                                          "a": 1}))


def test_a_field_named_self():
    mine, theirs = _twins([])
    ns = {"__annotations__": {"self": "int", "x": "int"}, "x": 2}
    mine = frozen(type("S", (), dict(ns)))
    theirs = dataclasses.dataclass(frozen=True)(type("S", (), dict(ns)))
    _same(mine(self=1), theirs(self=1))
    _same(mine(1, 3), theirs(1, 3))


def _frozen_classes() -> list[type]:
    found = {}
    for info in pkgutil.walk_packages(planner.__path__, "planner."):
        if info.name.startswith("planner.lsp.server"):
            continue  # needs the optional language-server extra's imports at run time
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and getattr(value.__dict__.get("__setattr__"), "__module__", "") \
                    == "planner.frozen":
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[k] for k in sorted(found)]


class _Token:
    """A distinct, hashable field value with a stable repr, equal to its copies
    (``asdict`` deep-copies)."""

    def __init__(self, name: str):
        self.name = name

    def __eq__(self, other) -> bool:
        return isinstance(other, _Token) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"<{self.name}>"


FROZEN = _frozen_classes()


def test_planner_uses_frozen_for_its_records():
    """Every frozen record of planner is made by ``@frozen`` but those that need ``order``
    (which ``@frozen`` does not make): a ``@dataclass(frozen=True)`` pays for five compiled
    methods more at each start."""
    assert len(FROZEN) > 90
    compiled = []
    for info in pkgutil.walk_packages(planner.__path__, "planner."):
        module = sys.modules.get(info.name)
        for value in vars(module).values() if module else ():
            params = getattr(value, "__dataclass_params__", None)
            if isinstance(value, type) and value.__module__ == info.name and params is not None \
                    and params.frozen and not params.order:
                compiled.append(f"{info.name}.{value.__qualname__}")
    assert compiled == []


@pytest.mark.parametrize("cls", FROZEN, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_each_planner_record_answers_as_its_dataclass_twin(cls):
    fields = dataclasses.fields(cls)
    twin = dataclasses.make_dataclass(
        cls.__name__, [(f.name, f.type, field(default=f.default, default_factory=f.default_factory,
                                              compare=f.compare, repr=f.repr, hash=f.hash))
                       for f in fields], frozen=True)
    twin.__qualname__ = cls.__qualname__
    assert str(inspect.signature(cls)) == str(inspect.signature(twin))
    if hasattr(cls, "__post_init__"):
        return  # it checks real values (ServeLoad); calling it is checked on random classes above
    values = {f.name: _Token(f.name) for f in fields}
    a = cls(**values)
    b = twin(**values)
    _same(a, b)
    other = {**values, fields[0].name: _Token("other")} if fields else values
    assert (a == cls(**other)) == (b == twin(**other))


def test_a_record_pickles_and_copies():
    from planner.estimate.types import Layout

    layout = Layout(tp=2, pp=2, replicas=3)
    assert pickle.loads(pickle.dumps(layout)) == layout
    assert dataclasses.replace(layout, tp=4) == Layout(tp=4, pp=2, replicas=3)
    assert hash(layout) == hash(dataclasses.astuple(layout))
