"""One webhook try against a real HTTP receiver on 127.0.0.1 (the standard library's server in
a thread): what each answer becomes, that the receiver can verify what it got, that redirects
are not followed, and that a closed port or a hung receiver ends as an Attempt, never raised."""

from __future__ import annotations

import email.utils
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks import Webhook

from services.notifications.channels import webhook

FIXED_NOW = 1_700_000_000.0
MSG_ID = "5d0c3c6e-2b1b-4b59-a1c7-0b6f3f7b8e21"
BODY = '{"specversion":"1.0","id":"5d0c3c6e","data":{"name":"滨州港码头"}}'.encode()

ENDLESS = 256 * 2**20

# path -> (status, headers, body)
ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/ok": (200, {}, b"thanks"),
    "/accepted": (202, {}, b""),
    "/fail": (500, {}, "数据库 down\n  try later".encode()),
    "/gone": (410, {}, b""),
    "/busy": (429, {"Retry-After": "7"}, b"slow down"),
    "/unavailable": (
        503,
        {"Retry-After": email.utils.formatdate(FIXED_NOW + 120, usegmt=True)},
        b"",
    ),
    "/redirect": (302, {"Location": "/ok"}, b""),
}


@dataclass
class Receiver:
    url: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    endless_written: int = 0  # bytes of /endless's body written before the client hung up
    endless_over: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    receiver: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.receiver.received.append((self.path, headers, body))
        release = self.receiver.release  # set when the test ends
        if self.path == "/hang":  # answers only when the test ends
            release.wait(10)
        elif self.path == "/drip":  # a header line every 50 ms, never the end of the headers
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            n = 0
            while not release.wait(0.05):
                n += 1
                self.wfile.write(f"X-Drip-{n}: {n}\r\n".encode())
            return
        elif self.path == "/stalled-body":  # 200 and its headers, then a body that stops
            self._start(200, {}, 100)
            self.wfile.write(b"partial")
            release.wait(10)
            return
        elif self.path == "/endless":  # an error whose body never ends (up to ENDLESS bytes)
            self._start(500, {}, 10**12)
            try:
                while self.receiver.endless_written < ENDLESS:
                    self.wfile.write(b"x" * 65536)
                    self.receiver.endless_written += 65536
            finally:
                self.receiver.endless_over.set()
            release.wait(10)
            return
        status, headers, answer = ANSWERS.get(self.path, (200, {}, b""))
        self._start(status, headers, len(answer))
        self.wfile.write(answer)

    def _start(self, status: int, headers: dict[str, str], length: int) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # a client that hangs up mid-answer (a cut-short body, a timeout) is what the tests do
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    the_receiver = Receiver(url=f"http://{host!s}:{port}")
    server.RequestHandlerClass = type("Handler", (_Handler,), {"receiver": the_receiver})
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield the_receiver
    finally:
        the_receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


async def _post(url: str, **kwargs: object) -> webhook.Attempt:
    options: dict[str, object] = {
        "msg_id": MSG_ID,
        "body": BODY,
        "secrets": [SECRET],
        "timeout": 5.0,
        **kwargs,
    }
    async with httpx.AsyncClient() as client:
        return await webhook.post(client, url, **options)  # type: ignore[arg-type]


SECRET = webhook.new_secret()


async def test_a_2xx_is_delivered_and_the_receiver_verifies_it(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/ok")
    assert attempt.ok and attempt.status == 200
    assert attempt.error is None and attempt.retry_after is None and not attempt.gone
    assert attempt.latency_ms >= 0
    [(path, headers, body)] = receiver.received
    assert path == "/ok" and body == BODY
    assert headers["webhook-id"] == MSG_ID
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["user-agent"] == "kuaiche-webhooks/1"
    assert Webhook(SECRET).verify(body, headers)["data"]["name"] == "滨州港码头"


async def test_any_2xx_is_success(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/accepted")
    assert attempt.ok and attempt.status == 202


async def test_a_500_fails_with_the_answer_in_the_error(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/fail")
    assert not attempt.ok and attempt.status == 500 and not attempt.gone
    assert attempt.error == "HTTP 500: 数据库 down try later"
    assert attempt.retry_after is None


async def test_an_endless_error_answer_is_read_only_in_part(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/endless", timeout=30.0)
    assert attempt.status == 500 and attempt.error is not None
    assert attempt.error == "HTTP 500: " + "x" * webhook.ERROR_BODY_CHARS + "…"
    # The client hung up after a little: what the receiver got written is what the socket
    # buffers held, far short of the whole (a client reading on would have taken all of it).
    assert receiver.endless_over.wait(10)
    assert receiver.endless_written < ENDLESS


async def test_a_410_says_the_endpoint_is_gone(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/gone")
    assert not attempt.ok and attempt.status == 410 and attempt.gone


async def test_a_429_gives_its_retry_after_in_seconds(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/busy")
    assert not attempt.ok and attempt.status == 429
    assert attempt.retry_after == 7.0
    assert attempt.error == "HTTP 429: slow down"


async def test_a_503_retry_after_date_is_read_against_the_clock(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/unavailable", now=lambda: FIXED_NOW)
    assert attempt.status == 503 and attempt.retry_after == 120.0
    [(_, headers, _)] = receiver.received
    assert headers["webhook-timestamp"] == str(int(FIXED_NOW))


async def test_a_redirect_is_a_failure_and_is_not_followed(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/redirect")
    assert not attempt.ok and attempt.status == 302
    assert attempt.error == "redirects are not followed"
    assert [path for path, _, _ in receiver.received] == ["/redirect"]


async def test_a_redirect_is_not_followed_even_by_a_client_that_follows(
    receiver: Receiver,
) -> None:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        attempt = await webhook.post(
            client,
            receiver.url + "/redirect",
            msg_id=MSG_ID,
            body=BODY,
            secrets=[SECRET],
            timeout=5,
        )
    assert attempt.status == 302 and not attempt.ok
    assert [path for path, _, _ in receiver.received] == ["/redirect"]


async def test_a_closed_port_is_a_failure_without_a_status() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempt = await _post(f"http://127.0.0.1:{port}/hook")
    assert not attempt.ok and attempt.status is None and not attempt.gone
    assert attempt.error and "ConnectError" in attempt.error


async def test_a_receiver_that_hangs_times_out(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/hang", timeout=0.2)
    assert not attempt.ok and attempt.status is None
    assert attempt.error == "timed out after 0.2 s"


async def test_the_timeout_bounds_the_whole_try_not_each_read(receiver: Receiver) -> None:
    # every read is quick, the answer never completes: only a deadline on the whole try ends it
    attempt = await _post(receiver.url + "/drip", timeout=0.5)
    assert not attempt.ok and attempt.status is None
    assert attempt.error == "timed out after 0.5 s"


async def test_a_2xx_whose_body_stalls_is_still_delivered(receiver: Receiver) -> None:
    attempt = await _post(receiver.url + "/stalled-body", timeout=0.5)
    assert attempt.ok and attempt.status == 200


async def test_a_url_httpx_cannot_use_is_a_failure_not_an_exception() -> None:
    attempt = await _post("ftp://127.0.0.1/hook")
    assert not attempt.ok and attempt.status is None and attempt.error
