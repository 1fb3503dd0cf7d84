"""No token in an access log: `kuaiche serve` logs each request's path with its query, and a
browser's EventSource carries its token there (`/v1/stream?access_token=...`)."""

from __future__ import annotations

import logging
import logging.config

from uvicorn.config import LOGGING_CONFIG

from kuaiche.cli import RedactTokens


def access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_a_token_in_the_query_is_redacted_and_the_rest_kept() -> None:
    record = access_record("/v1/stream?types=kuaiche.issue.assigned.v1&access_token=eyJ.a-b.c_d")
    assert RedactTokens().filter(record)
    line = record.getMessage()
    assert "eyJ" not in line
    assert "/v1/stream?types=kuaiche.issue.assigned.v1&access_token=[redacted]" in line
    plain = access_record("/v1/projects?county=371602")
    RedactTokens().filter(plain)
    assert plain.getMessage().endswith('"GET /v1/projects?county=371602 HTTP/1.1" 200')


def test_the_filter_survives_uvicorns_logging_config() -> None:
    logger = logging.getLogger("uvicorn.access")
    redact = RedactTokens()
    logger.addFilter(redact)
    try:
        logging.config.dictConfig(LOGGING_CONFIG)  # what uvicorn.Config does at start
        assert redact in logger.filters
    finally:
        logger.removeFilter(redact)
