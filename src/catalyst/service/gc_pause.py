"""Pausing Python's cyclic garbage collector around a bulk read of short-lived rows.

Why: the listing's ``{id: version}`` read creates tens of thousands of small objects per
request at 10,000 environments. With the collector on, collections that run while they are
alive promote them to the oldest generation, which then triggers full collections of the
whole heap every few requests (measured: p99 138 ms, against 34 ms with the collector
paused, p50 unchanged). Paused, they are freed by reference counting before any collection
sees them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the ``with`` block.

    Only for acyclic data and short windows. The collector is re-enabled on exit (also on
    an exception or a cancellation) only if it was enabled on entry, so a caller that
    disabled it keeps it disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
