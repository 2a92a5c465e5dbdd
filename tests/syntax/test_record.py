"""planner.record against pydantic: every plan class beside a pydantic twin built from the
same annotations (extra="forbid", frozen), constructed from the same random keywords.

The record must accept what the twin accepts, with the same values of the same types, the
same ``repr`` and the same fields set, and refuse what it refuses. One difference is
deliberate: pydantic parses strings into numbers and booleans ("5" -> 5); the record
refuses them (the converters always hand over numbers; a string there is a bug to see).
"""

import math
import pickle

import pydantic
import pytest
from hypothesis import given, settings, strategies as st

from planner import plan as P
from planner.errors import Span
from planner.record import Record, RecordError

CLASSES = [c for c in vars(P).values()
           if isinstance(c, type) and issubclass(c, P.Node) and c is not P.Node]


def _annotations(cls) -> dict:
    out = {}
    for klass in reversed(cls.__mro__):
        out.update(klass.__dict__.get("__annotations__", {}))
    return out


def _twin(cls):
    annotations = _annotations(cls)
    fields = {}
    for name, spec in cls.model_fields.items():
        if spec.default_factory is not None:
            info = pydantic.Field(default_factory=spec.default_factory, repr=spec.repr)
        elif spec.required:
            info = pydantic.Field(repr=spec.repr)
        else:
            info = pydantic.Field(default=spec.default, repr=spec.repr)
        fields[name] = (annotations[name], info)
    config = pydantic.ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    return pydantic.create_model(cls.__name__, __config__=config, **fields)


TWINS = {cls: _twin(cls) for cls in CLASSES}

SPAN = Span("a.plan", 1, 2, 1, 5)
_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-5, 5), st.integers(), st.sampled_from([2 ** 63 - 1, 2 ** 63, -2 ** 63, 2 ** 70]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 3.0, 2.5, 1e18]),
    st.sampled_from([1e30, 2.0 ** 63, -2.0 ** 63, 2.0 ** 63 - 1024, -2.0 ** 63 + 1024]),
    st.sampled_from(["vllm", "bf16", "node", "lora", "q", "cost", "nvidia", "hour", "gated", "x",
                     "5", "1.5", "true", "serve", "finetune", "pretrain"]),
)
_values = st.one_of(_scalars, st.lists(_scalars, max_size=3), st.just(SPAN),
                    st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(st.just(SPAN), _scalars),
                                    max_size=2),
                    st.builds(P.Layout, tp=st.integers(1, 4)), st.builds(P.Import, path=st.just("std")))


@st.composite
def _keywords(draw):
    cls = draw(st.sampled_from(CLASSES))
    names = list(cls.model_fields) + ["bogus"]
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=8))
    # the required fields, usually given right, so that most cases get past them
    for name, spec in cls.model_fields.items():
        if spec.required and name not in chosen and draw(st.integers(0, 9)) > 0:
            chosen.append(name)
    keywords = {}
    for name in chosen:
        if name in ("name", "model", "target", "key", "file", "path", "workload", "gpu") \
                and draw(st.booleans()):
            keywords[name] = "n"
        elif name in ("updates",) and draw(st.booleans()):
            keywords[name] = [{"deadline": 3}]
        elif name in ("labels", "gpus") and draw(st.booleans()):
            keywords[name] = ["a"]
        else:
            keywords[name] = draw(_values)
    return cls, keywords


def _typed(value):
    """A value with every number's type (1 and 1.0 and True differ) and NaN equal to itself."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, *map(_typed, value))
    if isinstance(value, dict):
        return ("dict", *((k, _typed(v)) for k, v in value.items()))
    return type(value), value


def _parsed_a_string(given, taken) -> bool:
    """Whether pydantic turned a string of ``given`` into something else in ``taken``."""
    if isinstance(given, str):
        return not isinstance(taken, str)
    if isinstance(given, (list, tuple)) and isinstance(taken, list):
        return any(_parsed_a_string(g, t) for g, t in zip(given, taken))
    if isinstance(given, dict) and isinstance(taken, dict):
        return any(_parsed_a_string(g, taken.get(k)) for k, g in given.items())
    return False


@pytest.mark.slow  # about 2 s: 1,500 cases, enough to reach the int64 edges and nested records
@settings(max_examples=1500, deadline=None)
@given(_keywords())
def test_a_record_builds_what_pydantic_builds(case):
    cls, keywords = case
    try:
        theirs = TWINS[cls](**keywords)
    except pydantic.ValidationError:
        theirs = None
    try:
        ours = cls(**keywords)
    except RecordError:
        ours = None
    if theirs is None:
        assert ours is None, f"pydantic refuses {keywords}, the record took it"
        return
    if ours is None:
        assert any(_parsed_a_string(keywords[k], getattr(theirs, k)) for k in keywords), \
            f"the record refuses {keywords}, which pydantic takes"
        return
    assert list(ours.__dict__) == list(theirs.__dict__)
    assert _typed(list(ours.__dict__.values())) == _typed(list(theirs.__dict__.values()))
    assert ours.model_fields_set == theirs.model_fields_set
    if not any(isinstance(v, float) and math.isnan(v) for v in ours.__dict__.values()):
        assert repr(ours) == repr(theirs)
    update = {"span": SPAN, "name": 7}  # a copy checks nothing, in both
    assert _typed(list(ours.model_copy(update=update).__dict__.values())) == \
        _typed(list(theirs.model_copy(update=update).__dict__.values()))
    assert ours.model_copy(update=update).model_fields_set == \
        theirs.model_copy(update=update).model_fields_set


def test_the_differences_the_property_allows_are_strings_parsed():
    # the one way the record is stricter, and it says which field and why
    with pytest.raises(RecordError, match=r"`tp` should be a whole number or None, not '4'"):
        P.Layout(tp="4")
    assert TWINS[P.Layout](tp="4").tp == 4
    # and conversions both make
    layout = P.Layout(tp=4.0, sp=1, zero=True, shard="node")
    assert (layout.tp, layout.sp, layout.zero, layout.shard) == (4, True, 1, "node")
    assert type(layout.tp) is int and type(layout.zero) is int and layout.sp is True
    assert type(P.Settings(name="x", budget=5).budget) is float
    assert P.Pretrain(name="a", model="m").epochs == 1 and type(P.Pretrain(name="a", model="m").epochs) is int


def test_unknown_missing_and_wrong_keys_are_refused():
    with pytest.raises(RecordError, match="`bogus` is not a field of Gpu"):
        P.Gpu(name="a", bogus=1)
    with pytest.raises(RecordError, match="`name` is required"):
        P.Gpu(memory=1)
    with pytest.raises(RecordError, match="`zero` should be 0 or 1 or 2 or 3 or None, not 4"):
        P.Layout(zero=4)
    with pytest.raises(RecordError, match="`tp` should be a whole number or None, not 2.5"):
        P.Layout(tp=2.5)
    # pydantic takes a whole float strictly inside int64's range
    for outside in (2.0 ** 63, -2.0 ** 63, 1e30, math.inf, math.nan):
        with pytest.raises(RecordError):
            P.Gpu(name="a", memory=outside)
        with pytest.raises(pydantic.ValidationError):
            TWINS[P.Gpu](name="a", memory=outside)
    assert P.Gpu(name="a", memory=-2.0 ** 63 + 1024).memory == -2 ** 63 + 1024


def test_records_are_frozen_and_copies_check_nothing():
    gpu = P.Gpu(name="a", memory=1)
    with pytest.raises(AttributeError):
        gpu.memory = 2
    with pytest.raises(AttributeError):
        del gpu.memory
    copy = gpu.model_copy(update={"memory": 2.5, "price": 1})
    assert (copy.memory, copy.price, gpu.memory) == (2.5, 1, 1)
    assert copy.model_fields_set == {"name", "memory", "price"}
    assert gpu.model_fields_set == {"name", "memory"}
    assert gpu.model_copy() == gpu and gpu.model_copy() is not gpu


def test_a_pickled_record_comes_back_whole():
    plan = P.Plan(file="f", gpus=[P.Gpu(name="a", memory=1, span=SPAN, spans={"memory": SPAN})],
                  workloads=[P.Serve(name="s", model="m", users=3, layout=P.Layout(tp=2))])
    back = pickle.loads(pickle.dumps(plan))
    assert back == plan and back.gpus[0].model_fields_set == {"name", "memory", "span", "spans"}
    assert back.model_fields_set == {"file", "gpus", "workloads"}
    assert back.workloads[0].layout.tp == 2


def test_dump_gives_plain_values_and_equality_needs_the_same_class():
    serve = P.Serve(name="s", model="m", users=3, layout=P.Layout(tp=2), span=SPAN)
    dumped = serve.model_dump()
    assert dumped["layout"]["tp"] == 2 and dumped["span"] == {
        "file": "a.plan", "line": 1, "column": 2, "end_line": 1, "end_column": 5}
    assert dumped == TWINS[P.Serve](**{**serve.__dict__, "layout": None}).model_dump() | {
        "layout": dumped["layout"]}
    assert P.Pretrain(name="a", model="m") != P.Finetune(name="a", model="m")
    assert P.Gpu(name="a") == P.Gpu(name="a", memory=None)


def test_a_field_of_a_type_without_a_conversion_fails_at_class_creation():
    with pytest.raises(TypeError, match="no conversion"):
        type("Bad", (Record,), {"__annotations__": {"when": complex}})
