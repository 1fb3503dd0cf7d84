"""CloudEvents 1.0 envelope in structured JSON mode, with kuaiche's extensions.

Extensions: `county` (6-digit division code), `actor` (who did it), `sequence` (the aggregate's
version after the change), `partitionkey` (the Kafka message key: the project id), and
`traceparent` where tracing is on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"
# An event must fit a Kafka message with room to spare (the broker's default is 1 MiB).
MAX_EVENT_BYTES = 256 * 1024


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str
    time: dt.datetime = Field(default_factory=_now)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    county: str | None = None
    actor: str
    sequence: int
    partitionkey: str
    traceparent: str | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        return cls.model_validate_json(raw)
