"""Standard five-field cron schedules (``minute hour day-of-month month day-of-week``).

Supports ``*``, numbers, ranges ``a-b``, steps ``*/n`` and ``a-b/n``, lists ``a,b``, month
and weekday names (``jan``, ``mon``), ``7`` as Sunday, the macros ``@yearly``/
``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight`` and ``@hourly``, and
the CronJob ``TZ=``/``CRON_TZ=`` prefix is rejected like the API does. As in cron, when
both day-of-month and day-of-week are restricted a day matching either one counts.
:func:`next_after` searches day by day, so sparse schedules (``0 0 29 2 *``) stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_SEARCH_DAYS = 366 * 5


class CronError(ValueError):
    """A schedule that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def day_matches(self, when: datetime) -> bool:
        if when.month not in self.months:
            return False
        dom = when.day in self.days
        dow = (when.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def next_after(self, after: datetime) -> datetime | None:
        """The first scheduled minute strictly after ``after`` (same tzinfo), or None."""
        start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(_SEARCH_DAYS):
            if self.day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


def parse_schedule(text: str) -> Schedule:
    text = text.strip()
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        raise CronError("TZ is not supported in the schedule; use spec.timeZone")
    text = _MACROS.get(text.lower(), text)
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {text!r}")
    minutes = _field(fields[0], 0, 59, {})
    hours = _field(fields[1], 0, 23, {})
    days = _field(fields[2], 1, 31, {})
    months = _field(fields[3], 1, 12, _MONTHS)
    weekdays = frozenset(d % 7 for d in _field(fields[4], 0, 7, _DAYS))
    return Schedule(
        minutes,
        hours,
        days,
        months,
        weekdays,
        days_restricted=fields[2] not in {"*", "?"},
        weekdays_restricted=fields[4] not in {"*", "?"},
    )


def _value(token: str, names: dict[str, int]) -> int:
    lowered = token.lower()
    if lowered in names:
        return names[lowered]
    if not token.isdigit():
        raise CronError(f"bad value {token!r}")
    return int(token)


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and (not step_text.isdigit() or step == 0):
            raise CronError(f"bad step in {part!r}")
        if body in {"*", "?"}:
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _value(a, names), _value(b, names)
        else:
            first = _value(body, names)
            last = high if step_text else first
        if not low <= first <= last <= high:
            raise CronError(f"{part!r} is out of range {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)
