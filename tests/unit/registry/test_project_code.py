import dataclasses
import re

import pytest

from services.registry.domain.project_code import (
    CODE_SCHEMA_PATTERN,
    ProjectCode,
    parse_project_code,
)
from shared.errors import InvalidInput


def refusal(raw: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_project_code(raw)
    assert caught.value.status == 422
    [error] = caught.value.errors
    assert error["field"] == "code"
    return error["message"]


def test_old_format_code_reads_year_region_industry_type_serial():
    code = parse_project_code("2018-371625-30-03-012345")

    assert code == ProjectCode(
        raw="2018-371625-30-03-012345",
        format="old",
        year=2018,
        month=None,
        region="371625",
        category="30",
        type="03",
        serial="012345",
    )


@pytest.mark.parametrize("year", [2016, 2017, 2018, 2019, 2020])
def test_every_old_format_year_is_read_as_a_year(year):
    # Read as YYMM these would be months 16..20, which do not exist.
    code = parse_project_code(f"{year}-371602-44-01-000123")

    assert code.format == "old"
    assert code.year == year
    assert code.month is None


def test_old_format_code_may_carry_an_old_division_code():
    code = parse_project_code("2017-371626-36-03-000078")  # 邹平 before it became a city

    assert code.region == "371626"


def test_new_format_code_reads_year_month_region_ministry_type_serial():
    code = parse_project_code("2104-371681-04-01-52874K")

    assert code == ProjectCode(
        raw="2104-371681-04-01-52874K",
        format="new",
        year=2021,
        month=4,
        region="371681",
        category="04",
        type="01",
        serial="52874K",
    )


def test_new_format_begins_november_2020():
    code = parse_project_code("2011-371602-04-01-A1B2C3")

    assert (code.format, code.year, code.month) == ("new", 2020, 11)


def test_december_2020_and_later_years_are_new_format():
    assert parse_project_code("2012-371602-04-01-A1B2C3").month == 12
    later = parse_project_code("2312-371603-89-02-90817X")
    assert (later.format, later.year, later.month) == ("new", 2023, 12)


def test_code_is_normalised_by_stripping_whitespace_and_upper_casing():
    code = parse_project_code("  2104-371681-04-01-52874k \n")

    assert code.raw == "2104-371681-04-01-52874K"
    assert code.serial == "52874K"


def test_check_character_is_not_verified():
    # Any 6 digits or capitals are accepted: the check algorithm is not public.
    assert parse_project_code("2104-371681-04-01-ZZZZZZ").serial == "ZZZZZZ"


def test_parsed_code_is_frozen():
    code = parse_project_code("2104-371681-04-01-52874K")

    with pytest.raises(dataclasses.FrozenInstanceError):
        code.year = 2022  # type: ignore[misc]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not a code",
        "2104371681040152874K",  # no dashes
        "2104-37168-04-01-52874K",  # region of 5 digits
        "2104-371681-4-01-52874K",  # one-digit ministry
        "2104-371681-04-001-52874K",  # three-digit type
        "2104-371681-04-01-52874",  # serial too short
        "2104-371681-04-01-52874KX",  # serial too long
        "2104-371681-04-01-5287_K",  # not a digit or a letter
        "21O4-371681-04-01-52874K",  # letter O in the prefix
        "2104-371681-04-01-52 74K",  # whitespace inside
        "２104-371681-04-01-52874K",  # a fullwidth digit
        "2104-371681-04-01-52874ı",  # a letter that upper-cases to I, but is no ASCII letter
    ],
)
def test_wrong_shape_is_refused(raw):
    assert "shape" in refusal(raw)


@pytest.mark.parametrize("prefix", ["2015", "2021", "2099", "1999"])
def test_year_outside_old_range_that_is_no_yymm_either_is_refused(prefix):
    message = refusal(f"{prefix}-371602-44-01-000123")

    assert "2016–2020" in message
    assert "does not exist" in message


@pytest.mark.parametrize(("prefix", "month"), [("2200", "00"), ("2113", "13"), ("2399", "99")])
def test_month_that_does_not_exist_is_refused(prefix, month):
    message = refusal(f"{prefix}-371602-04-01-52874K")

    assert f"month {month} does not exist" in message
    assert "01–12" in message


@pytest.mark.parametrize("prefix", ["2010", "2001", "1912", "0512"])
def test_yymm_before_november_2020_is_refused(prefix):
    message = refusal(f"{prefix}-371602-04-01-52874K")

    assert "November 2020" in message


def test_refusal_message_is_also_the_detail():
    with pytest.raises(InvalidInput) as caught:
        parse_project_code("2113-371602-04-01-52874K")

    assert caught.value.detail == caught.value.errors[0]["message"]


@pytest.mark.parametrize(
    "raw",
    [
        "2018-371625-30-03-012345",
        "2011-371602-04-01-52874K",
        "2012-371602-04-01-a1b2c3",
        "  2104-371681-04-01-52874k \n",
        "9912-371681-04-01-52874K",
        "2016-371602-44-01-000123",
        "2020-371602-44-01-000123",
    ],
)
def test_the_schema_pattern_accepts_what_the_parser_accepts(raw):
    parse_project_code(raw)
    assert re.fullmatch(CODE_SCHEMA_PATTERN, raw)


@pytest.mark.parametrize(
    "raw",
    [
        "2015-371602-44-01-000123",
        "2021-371602-44-01-000123",
        "2010-371602-04-01-52874K",
        "2113-371602-04-01-52874K",
        "2200-371602-04-01-52874K",
        "1912-371602-04-01-52874K",
        "2104-371681-04-01-52874",
        "21O4-371681-04-01-52874K",
        "２104-371681-04-01-52874K",
        "2104-371681-04-01-52874ı",
        "not a code",
    ],
)
def test_the_schema_pattern_refuses_what_the_parser_refuses(raw):
    with pytest.raises(InvalidInput):
        parse_project_code(raw)
    assert not re.fullmatch(CODE_SCHEMA_PATTERN, raw)


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_the_schema_pattern_takes_a_blank_code_as_none(blank):
    assert re.fullmatch(CODE_SCHEMA_PATTERN, blank)
