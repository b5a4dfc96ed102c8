"""``--timeout`` durations (Go's syntax, as kubectl takes them) and kubectl's short ages."""

from __future__ import annotations

import pytest

from catalyst.client.durations import format_age, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("10m", 600.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("2m3s", 123.0),
        ("45", 45.0),
        (" 5s ", 5.0),
    ],
)
def test_durations_parse_as_kubectl_reads_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "-5s", "5x", "5s3", "m5", "1d", "5 s"])
def test_what_is_not_a_duration_is_refused_with_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "age"),
    [
        (-3, "0s"),
        (45, "45s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3599, "59m"),
        (3900, "1h5m"),
        (7200, "2h"),
        (30 * 3600, "30h"),
        (50 * 3600, "2d2h"),
        (10 * 86400, "10d"),
    ],
)
def test_ages_are_short_like_kubectls(seconds: float, age: str) -> None:
    assert format_age(seconds) == age
