"""Secret values are scrubbed from messages wherever they sit in the values."""

from __future__ import annotations

import pytest

from catalyst.charts.secret_scrub import scrub_secrets, secret_values


@pytest.mark.parametrize(
    ("values", "secrets"),
    [
        ({"mediawikiCore": {"password": "pw-1"}}, {"pw-1"}),
        ({"a": [{"apiToken": "tok"}, {"clientSecret": 12345}]}, {"tok", "12345"}),
        ({"SECRETS": {"db": {"user": "u", "pass": "p"}}}, {"u", "p"}),
        ({"password": True, "token": "", "secret": None, "name": "x"}, set()),
    ],
)
def test_secret_values_are_found_at_any_depth(values, secrets):
    assert secret_values(values) == secrets


def test_longer_secrets_are_masked_first():
    values = {"password": "abc", "adminPassword": "abcdef"}
    assert scrub_secrets("got abcdef and abc", values) == "got *** and ***"


def test_text_without_secrets_is_unchanged():
    assert scrub_secrets("plain message", {"user": "plain"}) == "plain message"
