"""Injectable time source for the simulator.

``monotonic()`` measures elapsed time for timelines (loop time by default, so it agrees
with ``loop.call_later``); ``now()`` gives the wall-clock UTC datetime written into
objects. Tests may subclass it to shift time; the controllers never read time otherwise.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from kubesim.timestamps import utc_now


class Clock:
    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def now(self) -> datetime:
        return utc_now()
