"""What makes a recipient: the key messages are addressed by, and robot channels whose
addresses pass the webhook URL rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from services.notifications.domain.addresses import check_webhook_url
from services.notifications.domain.occasions import COMMANDER_KEY, RecipientKind
from shared.errors import RuleViolation
from shared.regions import RegionTable


def recipient_key(region: RegionTable, kind: RecipientKind, key: str) -> str:
    """The key messages are addressed by (409 naming `key` if none): a county's current code,
    whether given by a code, an old code or its name; the command office's `commander`."""
    if kind is RecipientKind.COUNTY:
        division = region.find(key)
        if division is None:
            message = f"unknown division {key!r} in {region.name}"
            raise RuleViolation(message, errors=[{"field": "key", "message": message}])
        return division.code
    if kind is RecipientKind.COMMANDER and key != COMMANDER_KEY:
        message = f"the command office's key is {COMMANDER_KEY!r}"
        raise RuleViolation(message, errors=[{"field": "key", "message": message}])
    return key


def robot_channels(
    data: Sequence[Any], *, allow_private: bool, kept: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The channels as stored, each with an id; a URL the rules refuse is 409 naming it. A
    channel of `kept` (the recipient's before a change) given again (same type and address,
    a new secret say) keeps its id, so what is queued for it still goes."""
    ids = {(c["type"], c["url"]): c["id"] for c in kept}
    channels = []
    for i, ch in enumerate(data):
        try:
            check_webhook_url(ch.url, allow_private=allow_private)
        except RuleViolation as exc:
            raise RuleViolation(
                str(exc), errors=[{"field": f"channels[{i}].url", "message": str(exc)}]
            ) from None
        channels.append(
            {
                "id": ids.get((str(ch.type), ch.url)) or uuid.uuid4().hex[:12],
                "type": str(ch.type),
                "url": ch.url,
                "secret": ch.secret,
            }
        )
    return channels
