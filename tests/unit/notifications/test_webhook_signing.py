"""Standard Webhooks signing: our signer against the spec's reference vector and against the
`standardwebhooks` package (the specification's own Python library) as an independent verifier,
including a secret rotation, tampering, and the malformed inputs the signer refuses."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notifications.channels import webhook

# The reference vector of the specification's Python library (standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py, test_sign_function), shared by its other libraries.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

MSG_ID = "0b7e5c1e-8f0e-4c43-9a57-3c1a3f5e2d10"  # a CloudEvent id
BODY = json.dumps(
    {
        "specversion": "1.0",
        "id": MSG_ID,
        "type": "kuaiche.issues.problem.assigned.v1",
        "source": "/issues",
        "data": {"unit": "市自然资源和规划局", "deadline": "2020-04-10"},
    },
    ensure_ascii=False,
    separators=(",", ":"),
).encode()


def test_the_reference_vector() -> None:
    assert (
        webhook.sign([VECTOR_SECRET], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    )


def test_new_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = webhook.new_secret(), webhook.new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


def test_headers_verify_with_the_reference_library() -> None:
    secret = webhook.new_secret()
    now = int(time.time())  # the library refuses a timestamp 5 minutes away from its clock
    headers = webhook.headers(MSG_ID, now, BODY, [secret])
    assert headers["webhook-id"] == MSG_ID
    assert headers["webhook-timestamp"] == str(now)
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["user-agent"] == "kuaiche-webhooks/1"
    assert Webhook(secret).verify(BODY, headers)["data"]["unit"] == "市自然资源和规划局"


def test_during_a_rotation_both_secrets_sign_and_each_verifies_alone() -> None:
    new, old, stranger = webhook.new_secret(), webhook.new_secret(), webhook.new_secret()
    now = int(time.time())
    headers = webhook.headers(MSG_ID, now, BODY, [new, old])
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    assert signatures[0] == webhook.sign([new], MSG_ID, now, BODY)
    assert signatures[1] == webhook.sign([old], MSG_ID, now, BODY)
    for secret in (new, old):  # a receiver holding either secret accepts the header
        Webhook(secret).verify(BODY, headers)
    for secret, signature in ((new, signatures[0]), (old, signatures[1])):
        Webhook(secret).verify(BODY, {**headers, "webhook-signature": signature})
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(BODY, headers)


def test_a_tampered_delivery_fails() -> None:
    secret = webhook.new_secret()
    now = int(time.time())
    headers = webhook.headers(MSG_ID, now, BODY, [secret])
    Webhook(secret).verify(BODY, headers)  # untouched, it verifies
    for body in (BODY.replace(b"2020-04-10", b"2020-04-11"), BODY + b" "):  # even a stray space
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, headers)
    for name, value in (("webhook-id", MSG_ID[:-1] + "1"), ("webhook-timestamp", str(now - 1))):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(BODY, {**headers, name: value})


def test_the_signed_content_is_id_timestamp_body_as_the_spec_writes_it() -> None:
    """An independent computation from the spec's text: HMAC-SHA256 with the decoded secret
    over `{msg_id}.{timestamp}.{payload}`, base64, prefixed `v1,`."""
    key = base64.b64decode(VECTOR_SECRET.removeprefix("whsec_"))
    content = f"{MSG_ID}.1700000000.".encode() + BODY
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert webhook.sign([VECTOR_SECRET], MSG_ID, 1700000000, BODY) == expected


@pytest.mark.parametrize(
    "secrets",
    [
        [],  # nothing to sign with
        ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],  # no whsec_ prefix
        ["whsec_not base64!"],
        ["whsec_" + base64.b64encode(b"x" * 16).decode()],  # under the spec's 24 bytes
    ],
)
def test_unusable_secrets_are_refused(secrets: list[str]) -> None:
    with pytest.raises(ValueError):
        webhook.sign(secrets, MSG_ID, 1700000000, BODY)


@pytest.mark.parametrize("msg_id", ["", "msg.1"])
def test_an_id_with_a_full_stop_is_refused(msg_id: str) -> None:
    # The spec: a '.' in the id would let one signed content pass for another.
    with pytest.raises(ValueError):
        webhook.sign([VECTOR_SECRET], msg_id, 1700000000, BODY)


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        (email.utils.formatdate(NOW + 90, usegmt=True), 90.0),
        (email.utils.formatdate(NOW - 90, usegmt=True), 0.0),  # already past: at once
        ("-5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value: str | None, seconds: float | None) -> None:
    assert webhook.retry_after_seconds(value, NOW) == seconds
