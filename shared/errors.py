"""Errors a use case raises, by meaning; shared.http.problems turns each into RFC 9457 JSON.

Domain and service code raise these and never build HTTP responses themselves.
"""

from __future__ import annotations

from typing import Any


class KuaicheError(Exception):
    """Base: `status` is the HTTP status, `title` a short summary, `detail` says why."""

    status = 400
    title = "Bad request"

    def __init__(
        self, detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []  # what is at fault: field (or row and column) and message
        self.extra = extra


class InvalidInput(KuaicheError):
    """The request does not say what its published schema asks (422). `errors` lists fields.

    A request that matches the OpenAPI schema is never refused with 422: what the schema cannot
    state (a rule across fields, against the calendar, the configuration or the current state)
    is a RuleViolation (409), so a client generated from the schema can trust it."""

    status = 422
    title = "Invalid input"


class NotFound(KuaicheError):
    status = 404
    title = "Not found"


class RuleViolation(KuaicheError):
    """A rule the schema cannot state refuses the request (409): a move forbidden in the
    current state, a rule across fields, against the calendar or the configuration.
    `errors` lists the fields at fault where there are some."""

    status = 409
    title = "Conflict with the rules"


class PreconditionFailed(KuaicheError):
    """If-Match names a version that is no longer current (412)."""

    status = 412
    title = "Precondition failed"


class Unauthenticated(KuaicheError):
    status = 401
    title = "Unauthenticated"


class Forbidden(KuaicheError):
    status = 403
    title = "Forbidden"


class DependencyUnavailable(KuaicheError):
    """A database or the bus is down (503, never 500)."""

    status = 503
    title = "Service unavailable"


class PreconditionRequired(KuaicheError):
    """A conditional write came without If-Match (428)."""

    status = 428
    title = "Precondition required"


class PayloadTooLarge(KuaicheError):
    """A request (or the event it would emit) is larger than the system carries (413)."""

    status = 413
    title = "Payload too large"


class UnsupportedMediaType(KuaicheError):
    """The body (an uploaded file) is of a type the route does not read (415)."""

    status = 415
    title = "Unsupported media type"
