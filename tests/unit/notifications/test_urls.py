"""A webhook or robot URL holds no whitespace, by its schema's pattern and by the API alike:
the pattern names the characters Python's `\\s` and a JSON Schema's (ECMAScript's) disagree on,
so a URL the schema lets through is never refused with 422 (schemathesis found "http://\\x85…"
accepted by the schema and refused by the API)."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from services.notifications.schemas import Url

ADAPTER = TypeAdapter(Url)
PATTERN = re.compile(ADAPTER.json_schema()["pattern"])


@pytest.mark.parametrize("space", [" ", "\t", "\x85", "\ufeff", "\x1c", "\xa0", "\u2028", "\x00"])
def test_a_url_with_any_whitespace_is_refused_by_schema_and_api(space: str) -> None:
    url = f"https://hooks.example.com/a{space}b"
    assert not PATTERN.fullmatch(url)
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(url)


def test_a_plain_url_is_accepted_by_both() -> None:
    url = "https://hooks.example.com/kuaiche?key=甲"
    assert PATTERN.fullmatch(url)
    assert ADAPTER.validate_python(url) == url
