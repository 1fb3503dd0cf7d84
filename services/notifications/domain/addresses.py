"""Which webhook URLs kuaiche will call: the defence against server-side request forgery.

A subscriber chooses the URL and kuaiche's worker calls it from inside the network, so a URL
naming a loopback, private, link-local (cloud metadata at 169.254.169.254) or otherwise
non-public address would let anyone with a subscription reach internal services (Standard
Webhooks, "Server side request forgery (SSRF)"). Those are refused in production and allowed in
development, where the receiver is usually on the same machine.

`check_webhook_url` judges the URL as written (when a subscription is created or changed);
`resolves_private` judges what its name resolves to now, for the dispatcher to ask before each
send, since a name can be re-pointed after it was checked (DNS rebinding).

The URL is parsed with httpx, the client that will send to it, so the host judged here is the
host connected to: two parsers that disagree on a URL are a classic way past such a check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from urllib.parse import unquote

import httpx

from shared.errors import RuleViolation

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = frozenset({"http", "https"})

# Names that never mean a public host: localhost (RFC 6761), mDNS's .local (RFC 6762), the
# .internal of private networks and cloud VPCs (ICANN, 2024), localdomain (localhost's usual
# alias in /etc/hosts) and home.arpa (RFC 8375, home networks).
_LOCAL_NAMES = ("localhost", "local", "internal", "localdomain", "home.arpa")

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 shared address space
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address

# A label the system resolver (inet_aton) would read as a number: decimal, octal (leading 0) or
# hex (0x). A host whose last label is one is an IPv4 address in some spelling, never a name
# (no top-level domain is numeric), e.g. 2130706433, 0177.0.0.1, 127.1 and 0x7f.1 are all
# 127.0.0.1 to getaddrinfo.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)
_DOTTED_QUAD = re.compile(r"(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}")
_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


def _refuse(message: str) -> RuleViolation:
    return RuleViolation(message, errors=[{"field": "url", "message": message}])


def non_public_reason(address: IPAddress) -> str | None:
    """Why kuaiche must not call this address in production, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:  # reaches the IPv4 address inside it
            return non_public_reason(embedded)
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return "a private address"
    if not address.is_global:  # documentation, benchmarking and other special-purpose blocks
        return "not a public address"
    return None


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """Refuse (RuleViolation, 409, field `url`) a URL kuaiche will not call.

    Always: a scheme other than http/https, no host, user name or password in the URL, a port
    out of range, a host that spells an IPv4 address other than as a.b.c.d. Unless
    `allow_private`: a loopback, private, link-local, CGNAT, multicast, reserved or
    unspecified address, a local name (localhost, *.localhost, *.local, *.internal, ...) or a
    single-label name (resolved through the worker's own search domains)."""
    try:
        parsed = httpx.URL(url)
        raw_host = parsed.raw_host.decode("ascii")
        port = parsed.port
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise _refuse(f"not a valid URL: {exc}") from None
    if parsed.scheme not in SCHEMES:
        raise _refuse("a webhook URL starts with http:// or https://")
    if not raw_host:
        raise _refuse("a webhook URL names a host")
    if parsed.userinfo:
        raise _refuse("a webhook URL carries no user name or password (the signature proves us)")
    if port is not None and not 0 < port < 65536:
        raise _refuse(f"port {port} does not exist")

    if ":" in raw_host:  # httpx only lets a colon into the host inside [brackets]: IPv6
        try:
            address: IPAddress = ipaddress.IPv6Address(unquote(raw_host))
        except ValueError:
            raise _refuse(f"{raw_host} is not an IPv6 address") from None
        _check_address(address, allow_private)
        return

    host = raw_host.lower().rstrip(".")  # "localhost." is localhost
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        if not _DOTTED_QUAD.fullmatch(host):
            raise _refuse(
                f"{raw_host} reads as an IPv4 address in another spelling: write it as a.b.c.d"
            )
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            raise _refuse(f"{raw_host} is not an IPv4 address") from None
        _check_address(address, allow_private)
        return

    if not _NAME.fullmatch(host):
        raise _refuse(f"{raw_host} is not a host name")
    if allow_private:
        return
    for local in _LOCAL_NAMES:
        if host == local or host.endswith("." + local):
            raise _refuse(f"{raw_host} is a local name; webhooks go to public hosts")
    if "." not in host:
        raise _refuse(f"{raw_host} is a single-label name; webhooks go to public hosts")


def _check_address(address: IPAddress, allow_private: bool) -> None:
    if allow_private:
        return
    reason = non_public_reason(address)
    if reason is not None:
        raise _refuse(f"{address} is {reason}; webhooks go to public addresses")


async def resolves_private(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) resolves now to
    any non-public address (see non_public_reason). A name that does not resolve gives False:
    the send itself will then fail and be retried."""
    host = host.strip("[]")
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # socket.gaierror is an OSError
        return False
    for _family, _type, _proto, _canonname, sockaddr in answers:
        try:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        except ValueError:
            continue
        if non_public_reason(address) is not None:
            return True
    return False
