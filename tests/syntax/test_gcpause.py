"""planner.syntax.gcpause: the collector is off inside and as found after, also when nested,
when already off, and when the body raises."""

from __future__ import annotations

import gc

import pytest

from planner.syntax.gcpause import paused_gc


def test_paused_inside_and_resumed_after():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause does not resume the outer one's
    assert gc.isenabled()


def test_resumed_after_an_error():
    with pytest.raises(ValueError):
        with paused_gc():
            raise ValueError
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
