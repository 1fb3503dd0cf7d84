"""Which webhook URLs are refused: always (not a usable http(s) URL), and in production (every
class of non-public address and local name), each class alone; and what a host resolves to."""

from __future__ import annotations

import pytest

from services.notifications.domain.addresses import check_webhook_url, resolves_private
from shared.errors import RuleViolation


def _refusal(url: str, *, allow_private: bool) -> str:
    with pytest.raises(RuleViolation) as caught:
        check_webhook_url(url, allow_private=allow_private)
    error = caught.value
    assert error.status == 409
    [field] = error.errors
    assert field["field"] == "url" and field["message"] == error.detail
    return error.detail


# Refused in development too: not a URL kuaiche can POST to, or one that hides what it names.
ALWAYS_REFUSED = [
    ("ftp://hooks.example.com/in", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"),
    ("hooks.example.com/in", "http:// or https://"),
    ("//hooks.example.com/in", "http:// or https://"),
    ("http:///in", "names a host"),
    ("https://:443/in", "names a host"),
    ("https://alice:secret@hooks.example.com/in", "no user name or password"),
    ("https://alice@hooks.example.com/in", "no user name or password"),
    ("http://hooks.example.com\\@127.0.0.1/", "no user name or password"),
    ("https://hooks.example.com:99999/in", "port 99999"),
    ("https://hooks.example.com:0/in", "port 0"),
    ("http://2130706433/", "another spelling"),  # 127.0.0.1 as one decimal number
    ("http://0x7f000001/", "another spelling"),  # ... as hex
    ("http://0x7f.0.0.1/", "another spelling"),
    ("http://127.1/", "another spelling"),  # inet_aton's short form
    ("http://017700000001/", "another spelling"),  # octal
    ("http://0177.0.0.1/", ""),  # octal dotted (httpx itself refuses it)
    ("http://1.2.3.4.5/", "another spelling"),
    ("http://hooks.example.123/", "another spelling"),  # no top-level domain is numeric
    ("http://256.1.1.1/", ""),
    ("http://a b.example.com/", "not a host name"),
    ("http://[::1/", "not a valid URL"),
    ("http://[zz::1]/", ""),
]


@pytest.mark.parametrize(("url", "says"), ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_always_refused(url: str, says: str, allow_private: bool) -> None:
    assert says in _refusal(url, allow_private=allow_private)


# Refused in production, allowed in development (allow_private=True): each class on its own.
NOT_PUBLIC = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://127.8.9.10/hook", "loopback"),
    ("http://[::1]:8080/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),  # IPv4-mapped IPv6
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://172.31.255.255/hook", "private"),
    ("http://192.168.1.20/hook", "private"),
    ("http://[fc00::1]/hook", "private"),
    ("http://[fd12:3456:789a::1]/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # 169.254.169.254 through NAT64
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fe80::1%25eth0]/hook", "link-local"),
    ("http://0.0.0.0:8000/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://[ff02::1]/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://100.64.0.1/hook", "carrier-grade NAT"),
    ("http://100.127.255.254/hook", "carrier-grade NAT"),
    ("http://192.0.2.10/hook", "address"),  # documentation (TEST-NET-1)
    ("http://198.18.0.1/hook", "address"),  # benchmarking
    ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4 around 127.0.0.1
    ("http://localhost/hook", "local name"),
    ("http://LOCALHOST./hook", "local name"),
    ("http://api.localhost/hook", "local name"),
    ("http://printer.local/hook", "local name"),
    ("http://metadata.google.internal/computeMetadata/v1/", "local name"),
    ("http://localhost.localdomain/hook", "local name"),
    ("http://nas.home.arpa/hook", "local name"),
    ("http://registry:8001/v1/projects", "single-label"),  # a compose service name
]


@pytest.mark.parametrize(("url", "says"), NOT_PUBLIC)
def test_refused_in_production(url: str, says: str) -> None:
    assert says in _refusal(url, allow_private=False)


@pytest.mark.parametrize(("url", "says"), NOT_PUBLIC)
def test_allowed_in_development(url: str, says: str) -> None:
    check_webhook_url(url, allow_private=True)


PUBLIC = [
    "https://hooks.example.com/kuaiche",
    "http://hooks.example.com:8080/kuaiche?source=binzhou",
    "HTTPS://Hooks.Example.COM/kuaiche",
    "https://hooks.example.com./kuaiche",
    "http://93.184.216.34/hook",
    "http://100.128.0.1/hook",  # just past the CGNAT block
    "http://172.32.0.1/hook",  # just past 172.16/12
    "https://[2606:4700:4700::1111]/hook",
    "https://[::ffff:8.8.8.8]/hook",  # IPv4-mapped, a public address inside
    "https://例子.中国/hook",  # an internationalised name
    "https://cafe.cafe/hook",  # hex letters, but a name
    "https://local.example.com/hook",  # "local" as a label, not the .local suffix
    "https://internal.example.com/hook",
]


@pytest.mark.parametrize("url", PUBLIC)
@pytest.mark.parametrize("allow_private", [False, True])
def test_public_urls_pass(url: str, allow_private: bool) -> None:
    check_webhook_url(url, allow_private=allow_private)


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.0.0.1", "::1", "[::1]", "2130706433", "0177.0.0.1", "10.0.0.8"],
)
async def test_resolving_to_a_private_address(host: str) -> None:
    assert await resolves_private(host)


@pytest.mark.parametrize("host", ["93.184.216.34", "2606:4700:4700::1111"])
async def test_resolving_to_public_addresses(host: str) -> None:
    # literal addresses: the resolver answers without asking any DNS server
    assert not await resolves_private(host)


async def test_a_name_that_does_not_resolve_is_not_private() -> None:
    assert not await resolves_private("nothing-here.invalid")  # RFC 6761: never resolves
