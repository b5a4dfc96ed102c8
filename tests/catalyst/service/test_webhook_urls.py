"""The webhook URL policy: what a webhook may target (form, and the addresses behind it)."""

from __future__ import annotations

import ipaddress

import pytest

from catalyst.service.webhook_urls import WebhookUrlPolicy, WebhookUrlRefused, parse_networks

STRICT = WebhookUrlPolicy()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "127.1.2.3",
        "::1",
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "fd00::1",  # unique local
        "169.254.169.254",  # link-local: cloud metadata
        "fe80::1",
        "100.64.0.1",  # shared address space (CGNAT)
        "224.0.0.1",  # multicast
        "ff02::1",
        "0.0.0.0",  # unspecified
        "::",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:a00:1::",  # 6to4 carrying 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 carrying 10.0.0.1
    ],
)
def test_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(WebhookUrlRefused, match="CATALYST_WEBHOOK_ALLOWED_NETWORKS"):
        STRICT.check_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    STRICT.check_address(address)


def test_listed_networks_are_allowed_and_nothing_else() -> None:
    policy = WebhookUrlPolicy.from_setting(" 127.0.0.0/8, fd00::/8 ,10.0.0.5")
    for address in ("127.0.0.1", "::ffff:127.0.0.1", "fd00::abcd", "10.0.0.5"):
        policy.check_address(address)
    for address in ("10.0.0.6", "192.168.1.1", "::1", "169.254.169.254"):
        with pytest.raises(WebhookUrlRefused):
            policy.check_address(address)


def test_a_malformed_network_is_an_error() -> None:
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        parse_networks("10.0.0.0/33")
    with pytest.raises(ValueError, match=r"example\.org"):
        parse_networks("example.org")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("example.org/hook", "scheme"),
        ("https://user:secret@example.org/", "user name or password"),
        ("https://user@example.org/", "user name or password"),
        ("https:///path", "no host"),
        ("https://example.org:0/", "port 0"),
        ("https://example.org:99999/", "(?i)port"),
        ("https://example.org/#fragment", "fragment"),
        ("https://exa mple.org/", "whitespace"),
        ("https://example.org/\nHost: evil", "whitespace"),
        ("http://127.0.0.1:8080/", "internal address"),
        ("http://[::1]/", "internal address"),
        ("http://[::ffff:169.254.169.254]/", "internal address"),
        ("https://example.org/" + "a" * 2048, "longer than"),
    ],
)
def test_malformed_or_internal_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(WebhookUrlRefused, match=reason):
        STRICT.check_url(url)


def test_a_good_url_passes() -> None:
    parts = STRICT.check_url("https://hooks.example.org:8443/catalyst?x=1")
    assert (parts.hostname, parts.port) == ("hooks.example.org", 8443)


async def test_names_resolving_to_internal_addresses_are_refused() -> None:
    # "localhost" resolves without any DNS server (hosts file), to loopback only.
    with pytest.raises(WebhookUrlRefused, match="internal address"):
        await STRICT.check("http://localhost:8080/hook")
    # Legacy numeric forms are names to getaddrinfo, and resolve to loopback too.
    for host in ("127.1", "2130706433", "0x7f000001"):
        with pytest.raises(WebhookUrlRefused):
            await STRICT.check(f"http://{host}/hook")
    allowed = WebhookUrlPolicy.from_setting("127.0.0.0/8,::1/128")
    await allowed.check("http://localhost:8080/hook")
    assert await allowed.resolve("127.0.0.1", 80) == [ipaddress.ip_address("127.0.0.1")]


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(WebhookUrlRefused, match="cannot be resolved"):
        await STRICT.check("https://no-such-host.invalid/hook")
