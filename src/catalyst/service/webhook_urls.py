"""Which URLs a webhook may target: the guard that keeps webhooks from reaching internal
services (server-side request forgery).

A webhook makes Catalyst send HTTP requests to a URL a client chose, from inside the
cluster's network. Without a guard, any token holder could make Catalyst POST to the
cluster's API server, a database's HTTP port, a cloud metadata endpoint
(169.254.169.254) or anything else only reachable from inside, and read the answers'
status codes and timings from the deliveries list.

`WebhookUrlPolicy` guarantees:

- `check_url`: scheme ``http`` or ``https``, a host, no user name or password, a valid
  port, at most 2048 characters; otherwise `WebhookUrlRefused` with the reason.
- `check_address`: an address is refused unless it is a public unicast address, i.e.
  loopback, link-local, private (RFC 1918, unique-local ``fc00::/7``), shared (CGNAT),
  multicast, reserved, unspecified, documentation ranges and the like are refused, for
  IPv4 and IPv6 alike. IPv4 addresses embedded in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``,
  6to4, NAT64 ``64:ff9b::/96``) are judged as the IPv4 address they carry. An address
  inside one of the ``allowed_networks`` (``CATALYST_WEBHOOK_ALLOWED_NETWORKS``) is always
  allowed: that is how an operator lets webhooks reach a receiver on a private network.
- `resolve`: every address the host name resolves to (through the event loop's
  ``getaddrinfo``, never blocking the loop) must pass; one refused address refuses the URL,
  so a name cannot mix a public address with an internal one.

The check runs when a webhook is created (422) and again at every delivery, inside the
delivery client's resolver (`catalyst.service.webhook_delivery`), so the connection goes
to exactly the addresses that were checked: a name that re-resolves to an internal
address later (DNS rebinding) is refused then. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class WebhookUrlRefused(ValueError):
    """The URL, or an address its host resolves to, may not be a webhook target."""


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """``CATALYST_WEBHOOK_ALLOWED_NETWORKS``: comma-separated CIDRs (a bare address is a
    single-address network). Raises ValueError for a malformed entry."""
    networks = []
    for item in text.split(","):
        item = item.strip()
        if item:
            networks.append(ipaddress.ip_network(item, strict=False))
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class WebhookUrlPolicy:
    """The URL and address rules (see module docstring)."""

    allowed_networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def from_setting(cls, text: str) -> WebhookUrlPolicy:
        return cls(parse_networks(text))

    def check_url(self, url: str) -> SplitResult:
        """The parsed URL, or `WebhookUrlRefused`."""
        if len(url) > MAX_URL_LENGTH:
            raise WebhookUrlRefused(f"url: longer than {MAX_URL_LENGTH} characters")
        if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
            raise WebhookUrlRefused("url: must not contain whitespace or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise WebhookUrlRefused(f"url: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise WebhookUrlRefused("url: the scheme must be http or https")
        if parts.username is not None or parts.password is not None:
            raise WebhookUrlRefused("url: must not contain a user name or password")
        if not parts.hostname:
            raise WebhookUrlRefused("url: has no host")
        if port == 0:
            raise WebhookUrlRefused("url: port 0 is not a valid port")
        if parts.fragment:
            raise WebhookUrlRefused("url: must not contain a fragment")
        literal = _literal_address(parts.hostname)
        if literal is not None:
            self.check_address(literal)
        return parts

    def check_address(self, address: IpAddress | str) -> None:
        """Nothing, or `WebhookUrlRefused` for an address webhooks may not reach."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if any(_in_network(ip, network) for network in self.allowed_networks):
            return
        for judged in _judged_addresses(ip):
            if any(_in_network(judged, network) for network in self.allowed_networks):
                continue
            if not judged.is_global or judged.is_multicast or judged.is_reserved:
                raise WebhookUrlRefused(
                    f"url: {ip} is a loopback, link-local, private or otherwise internal "
                    "address; webhooks may only reach such addresses when "
                    "CATALYST_WEBHOOK_ALLOWED_NETWORKS lists them"
                )

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        """Every address ``host`` resolves to, each checked; `WebhookUrlRefused` when the
        name does not resolve or any address is refused."""
        literal = _literal_address(host)
        if literal is not None:
            self.check_address(literal)
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise WebhookUrlRefused(f"url: host {host!r} cannot be resolved ({exc})") from None
        addresses = _unique(_literal_address(str(info[4][0])) for info in infos)
        if not addresses:
            raise WebhookUrlRefused(f"url: host {host!r} has no address")
        for address in addresses:
            self.check_address(address)
        return addresses

    async def check(self, url: str) -> None:
        """The whole check of a new webhook's URL: its form, then its host's addresses."""
        parts = self.check_url(url)
        assert parts.hostname is not None  # check_url refuses a URL without a host
        default = 443 if parts.scheme == "https" else 80
        await self.resolve(parts.hostname, parts.port or default)


def _literal_address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _judged_addresses(ip: IpAddress) -> list[IpAddress]:
    """The address itself, plus the IPv4 address an IPv6 address carries, if any."""
    judged: list[IpAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            judged = [ip.ipv4_mapped]  # a mapped address *is* the IPv4 address
        if ip.sixtofour is not None:
            judged.append(ip.sixtofour)
        if ip in _NAT64:
            judged.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return judged


def _in_network(ip: IpAddress, network: IpNetwork) -> bool:
    if ip.version != network.version and isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped
        return mapped is not None and mapped in network
    return ip.version == network.version and ip in network


def _unique(addresses: Iterable[IpAddress | None]) -> list[IpAddress]:
    seen: list[IpAddress] = []
    for address in addresses:
        if address is not None and address not in seen:
            seen.append(address)
    return seen
