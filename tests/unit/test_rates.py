"""Rates as the reports print them: one decimal place, rounded half up, always shown."""

from decimal import Decimal

from pydantic import BaseModel

from shared.rates import Rate, format_rate, percent


def test_percent_rounds_half_up_to_one_decimal() -> None:
    assert percent(1, 2000) == Decimal("0.1")  # 0.05 rounds up, not to even
    assert percent(3603, 4415) == Decimal("81.6")
    assert percent(1, 0) is None


def test_a_rate_always_shows_its_one_decimal() -> None:
    assert format_rate(Decimal(100)) == "100.0"
    assert format_rate(Decimal("0")) == "0.0"
    assert format_rate(Decimal("-8.3")) == "-8.3"
    assert format_rate(Decimal("16.66")) == "16.7"

    class Answer(BaseModel):
        rate: Rate

    assert Answer(rate=Decimal(25)).model_dump_json() == '{"rate":"25.0"}'
