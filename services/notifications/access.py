"""Who may see and change what in notifications.

- the inbox: each token reads its holder's own inbox: the command office's, its county's, its
  department's. The command office may read any recipient's inbox (naming it); a viewer has
  no inbox;
- the live stream: the command office and viewers see every event; a county only its own
  county's; a department only the problems addressed to it (as unit or co-unit);
- recipients: the command office manages all; a county token only its own county's;
- webhook subscriptions: the command office manages all; a county token only subscriptions
  limited to its own county; departments and viewers none.
"""

from __future__ import annotations

from services.notifications.domain.occasions import COMMANDER_KEY, RecipientKind
from services.notifications.models import FeedEntry, Notification, Subscription
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound


def ensure_commander(principal: Principal, what: str) -> None:
    if principal.role is not Role.COMMANDER:
        raise Forbidden(f"only the command office {what}")


def inbox_of(principal: Principal) -> tuple[RecipientKind, str]:
    """Whose inbox a token holds."""
    match principal.role:
        case Role.COMMANDER:
            return RecipientKind.COMMANDER, COMMANDER_KEY
        case Role.COUNTY:
            return RecipientKind.COUNTY, principal.county or ""
        case Role.DEPARTMENT:
            return RecipientKind.DEPARTMENT, principal.department or ""
    raise Forbidden("a viewer has no inbox")


def inbox_to_read(
    principal: Principal, kind: RecipientKind | None, key: str | None
) -> tuple[RecipientKind, str]:
    """The inbox a listing shows: the holder's own, or (the command office only) one named."""
    own = inbox_of(principal)
    if kind is None and key is None:
        return own
    if kind is None or key is None:
        raise Forbidden("name both recipient_kind and recipient_key, or neither")
    if (kind, key) != own and principal.role is not Role.COMMANDER:
        raise Forbidden("only the command office reads another recipient's inbox")
    return kind, key


def ensure_own_notification(principal: Principal, note: Notification) -> None:
    kind, key = inbox_of(principal)
    if (note.recipient_kind, note.recipient_key) != (str(kind), key) or not note.in_inbox:
        raise NotFound(f"notification {note.id} not found")


def sees_feed_entry(principal: Principal, entry: FeedEntry) -> bool:
    match principal.role:
        case Role.COUNTY:
            return entry.county == principal.county
        case Role.DEPARTMENT:
            return principal.department in (entry.units or [])
    return True


def ensure_can_manage_recipient(principal: Principal, kind: RecipientKind, key: str) -> None:
    if principal.role is Role.COMMANDER:
        return
    if principal.role is Role.COUNTY and kind is RecipientKind.COUNTY and key == principal.county:
        return
    if principal.role is Role.COUNTY:
        raise Forbidden(f"a county user of {principal.county} manages only its own recipient")
    raise Forbidden(f"a {principal.role} may not manage recipients")


def can_see_recipient(principal: Principal, kind: str, key: str) -> bool:
    if principal.role in (Role.COMMANDER, Role.VIEWER):
        return True
    if principal.role is Role.COUNTY:
        return kind == RecipientKind.COUNTY and key == principal.county
    if principal.role is Role.DEPARTMENT:
        return kind == RecipientKind.DEPARTMENT and key == principal.department
    return False


def subscription_county(principal: Principal, requested: str | None) -> str | None:
    """The county filter a subscription gets: a county token's are always its own county's."""
    if principal.role is Role.COMMANDER:
        return requested
    if principal.role is Role.COUNTY:
        if requested is not None and requested != principal.county:
            raise Forbidden(
                f"a county user of {principal.county} subscribes only to its own county's events"
            )
        return principal.county
    raise Forbidden(f"a {principal.role} may not manage webhook subscriptions")


def ensure_can_see_subscription(principal: Principal, sub: Subscription) -> None:
    if principal.role is Role.COMMANDER:
        return
    if principal.role is Role.COUNTY and sub.county == principal.county:
        return
    if principal.role is Role.COUNTY:
        raise NotFound(f"subscription {sub.id} not found")
    raise Forbidden(f"a {principal.role} may not manage webhook subscriptions")
