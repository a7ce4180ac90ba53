"""Outbound targets: which hosts the server may send to, and how to name a URL without its secrets.

A webhook URL or an SMTP host is chosen by whoever may change the alerting config; left
unchecked, that is a way to make the server call its own admin port, a database on the
private network or the cloud metadata service (SSRF). `OutboundPolicy` refuses every
target that is, or resolves to, an internal address unless an operator listed it.
Channels call `check_url` / `check_host` when the config is set *and* right before each
send, since a name may resolve elsewhere by then.

This module depends on nothing but the errors, so both `analytics.alerts` (config checks)
and `analytics.notify` (sends) use it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from analytics.errors import InvalidConfig

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int | None], list[str]]

MASKED_TAIL = "/…"  # what stands for path, query, fragment and user info in a masked URL
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def resolve(host: str, port: int | None) -> list[str]:
    """Every address `host` resolves to (what `socket.create_connection` would try)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def masked_url(url: str) -> str:
    """`url` reduced to scheme, host and port, the rest (path, query, user info) as `/…`.

    The path and query of a webhook often carry its token, so this is the only form of a
    URL that GET shows or a log line holds.

    >>> masked_url("https://user:pw@hooks.example.com/services/T0/B0/XyZ?token=1")
    'https://hooks.example.com/…'
    >>> masked_url("http://[::1]:9093/api")
    'http://[::1]:9093/…'
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(unreadable URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{'' if port is None else f':{port}'}{MASKED_TAIL}"


def is_masked_url(url: str) -> bool:
    """Whether `url` is the masked form `masked_url` gives (and not a URL to send to)."""
    return url.endswith(MASKED_TAIL) and masked_url(url) == url


def internal_kind(address: IPAddress) -> str | None:
    """What makes `address` internal (e.g. 'loopback'), or None for a public address.

    IPv6 forms that embed an IPv4 address (mapped `::ffff:a.b.c.d`, 6to4, Teredo, NAT64)
    are judged by that address too.

    >>> internal_kind(ipaddress.ip_address("169.254.169.254")), internal_kind(ipaddress.ip_address("8.8.8.8"))
    ('link-local', None)
    >>> internal_kind(ipaddress.ip_address("::ffff:127.0.0.1"))
    'loopback'
    """
    for candidate in (*_embedded_ipv4(address), address):
        if candidate.is_loopback:
            return "loopback"
        if candidate.is_link_local:
            return "link-local"
        if candidate.is_unspecified:
            return "unspecified"
        if candidate.is_multicast:
            return "multicast"
        if candidate.is_reserved:
            return "reserved"
        if candidate.is_private:
            return "private"
        if not candidate.is_global:
            return "not globally routable"
    return None


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return [a for a in found if a is not None]


class OutboundPolicy:
    """Which outbound targets are allowed: public addresses, plus what `allow` lists.

    `allow` holds host names (`alertmanager.internal`), IP addresses (`127.0.0.1`) and
    CIDR ranges (`10.0.0.0/8`). A listed host name is allowed whatever it resolves to; any
    other host is refused when one of its addresses is internal (loopback, private,
    link-local such as the 169.254.169.254 metadata service, unspecified, multicast,
    reserved) and not inside a listed address or range. The empty default allows no
    internal target.

    >>> OutboundPolicy(["127.0.0.1"]).check_host("127.0.0.1", 25)
    >>> OutboundPolicy().check_host("127.0.0.1", 25)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analytics.errors.InvalidConfig: host '127.0.0.1' is a loopback address: an internal target is ...
    """

    def __init__(self, allow: Iterable[str] = (), *, resolver: Resolver = resolve) -> None:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in allow:
            entry = raw.strip().lower()
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.rstrip(".")
            if not _HOST_NAME.match(name):
                raise InvalidConfig(
                    f"outbound allow list: {raw!r} is neither a host name, an IP address nor a CIDR range"
                )
            names.add(name)
        self.allowed_names: frozenset[str] = frozenset(names)
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(networks)
        self._resolve = resolver

    def __repr__(self) -> str:
        entries = sorted(self.allowed_names) + [str(n) for n in self.allowed_networks]
        return f"OutboundPolicy({entries!r})"

    def allows_address(self, address: IPAddress) -> bool:
        """Whether `address` is public or inside a listed address or range."""
        if internal_kind(address) is None:
            return True
        forms = [address, *_embedded_ipv4(address)]
        return any(form in network for form in forms for network in self.allowed_networks)

    def check_host(self, host: str, port: int | None = None) -> None:
        """Refuse (`InvalidConfig`) a host that is, or resolves to, an internal address not allowed."""
        name = host.strip().lower().rstrip(".").strip("[]")
        if not name:
            raise InvalidConfig("no host given")
        if name in self.allowed_names:
            return
        try:
            literal: IPAddress | None = ipaddress.ip_address(name)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = [ipaddress.ip_address(a.split("%")[0]) for a in self._resolve(name, port)]
            except (OSError, UnicodeError) as exc:
                raise InvalidConfig(f"host {host!r} cannot be resolved: {exc}") from exc
            if not addresses:
                raise InvalidConfig(f"host {host!r} resolves to no address")
        for address in addresses:
            if not self.allows_address(address):
                found = (
                    f"is a {internal_kind(address)} address"
                    if literal
                    else (f"resolves to {address}, a {internal_kind(address)} address")
                )
                raise InvalidConfig(
                    f"host {host!r} {found}: an internal target is allowed only when listed in "
                    "the outbound allow list (WIDGET_MONITOR_OUTBOUND_ALLOW)"
                )

    def check_url(self, url: str) -> None:
        """`check_host` for the host and port of an http(s) URL; the message names the host only."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise InvalidConfig(f"URL {masked_url(url)} cannot be read: {exc}") from exc
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise InvalidConfig(f"URL {masked_url(url)} must be http:// or https:// with a host")
        self.check_host(parts.hostname, port or _DEFAULT_PORTS[parts.scheme])
