"""Where a bureau's webhook may point: a public address, never the platform's own network (SSRF).

A webhook URL is chosen by whoever registers the bureau; without this check it could name the broker's
management port, a service's metrics port or a cloud metadata endpoint, and the delivery log would tell
the caller what answered there. Loopback, private, link-local, shared, reserved, multicast and
unspecified addresses are refused in every spelling (`2130706433`, `0x7f.1`, `127.1`, `[::1]`,
`[::ffff:127.0.0.1]`), and a host name is refused when it resolves to one. An operator may allow named
hosts (setting `WEBHOOK_ALLOW_HOSTS`, e.g. a bureau reached over a private line).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from minqing.errors import InvalidInput

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")


def allowed_hosts(setting) -> frozenset[str]:
    items = setting if isinstance(setting, list | tuple) else str(setting or "").split(",")
    return frozenset(str(h).strip().lower().rstrip(".") for h in items if str(h).strip())


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host written as a number stands for, in any form a resolver accepts, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # inet_aton takes what the C resolver takes: decimal, hex, octal, 1- to 3-part forms
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        address = address.sixtofour
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def refusal(url: str, allow: frozenset[str], resolve=socket.getaddrinfo) -> str | None:
    """Why a webhook may not go to `url`, or None. Resolves host names (call it outside any transaction)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL with a host"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if host in allow:
        return None
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES):
        return f"{host!r} is a local name"
    address = literal_address(host)
    if address is not None:
        return None if public(address) else f"{host!r} is not a public address"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "has an invalid port"
    try:
        found = {info[4][0] for info in resolve(host, port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return None  # not resolvable now: checked again, resolved, before every delivery
    for text in found:
        if not public(ipaddress.ip_address(text.split("%", 1)[0])):
            return f"{host!r} resolves to {text}, not a public address"
    return None


def check(url: str | None, allow: frozenset[str], resolve=socket.getaddrinfo) -> None:
    """422 naming `webhook_url` when the URL points inside."""
    if not url:
        return
    reason = refusal(url, allow, resolve)
    if reason:
        raise InvalidInput(f"webhook_url {reason}", {"webhook_url": [reason]})
