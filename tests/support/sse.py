"""Reading Server-Sent Events in tests: one `SseEvent` per event, comments counted apart
(the SSE format: ``field: value`` lines, a blank line ends an event, ``:`` starts a comment)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SseEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseReader:
    """Events of one streamed response, in order; ``comments`` counts heartbeats seen."""

    response: httpx.Response
    comments: int = 0
    _lines: AsyncIterator[str] | None = field(default=None, repr=False)
    _comment_texts: list[str] = field(default_factory=list, repr=False)
    _events: list[SseEvent] = field(default_factory=list, repr=False)

    async def next(self) -> SseEvent:
        """The next event (raises StopAsyncIteration when the stream ends)."""
        if self._events:
            return self._events.pop(0)
        event = await self._read(stop_at_comment=False)
        assert isinstance(event, SseEvent)
        return event

    async def next_comment(self) -> str:
        """The text of the next comment (heartbeat) after the ``:``, stripped; events read
        meanwhile are kept for `next`."""
        while True:
            if self._comment_texts:
                return self._comment_texts.pop(0)
            found = await self._read(stop_at_comment=True)
            if isinstance(found, str):
                return found
            self._events.append(found)

    async def _read(self, *, stop_at_comment: bool) -> SseEvent | str:
        if self._lines is None:
            self._lines = self.response.aiter_lines()
        event: SseEvent | None = None
        async for line in self._lines:
            if line == "":
                if event is not None:
                    return event
                continue
            if line.startswith(":"):
                self.comments += 1
                text = line[1:].strip()
                if stop_at_comment and event is None:
                    return text
                if stop_at_comment:
                    self._comment_texts.append(text)
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            event = event or SseEvent()
            if name == "event":
                event.event = value
            elif name == "data":
                event.data = f"{event.data}\n{value}" if event.data else value
            elif name == "id":
                event.id = value
        if event is not None:
            return event
        raise StopAsyncIteration
