"""The collector pause around bulk reads: off inside, and back to what it found."""

from __future__ import annotations

import gc

import pytest

from catalyst.service.gc_pause import cyclic_gc_paused


def test_the_collector_pause_restores_what_it_found() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()

    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_after_an_error() -> None:
    with pytest.raises(ConnectionError), cyclic_gc_paused():
        raise ConnectionError("database went away")

    assert gc.isenabled()
