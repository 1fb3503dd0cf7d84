"""The assessment method 考核办法 as data: what a scheme must satisfy, and the default one."""

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.scoring.domain.formulas import Deduction
from services.scoring.domain.periods import Period
from services.scoring.domain.scheme import DEFAULT_SCHEME, SchemeBody
from shared.fields import RULE_ERROR


def indicator(key: str, metric: str, formula: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "name": key, "metric": metric, "formula": formula}


def body(**changes: Any) -> dict[str, Any]:
    """A small valid scheme body, with `changes` laid over it."""
    return {
        "name": "测试办法",
        "effective_from": "2020-01",
        "indicators": [
            indicator("starts", "start_rate", {"type": "ratio_points", "points": "60"}),
            indicator(
                "factors",
                "factor_allocations",
                {"type": "per_item", "points_per_item": "1", "cap": "40"},
            ),
        ],
        "tie_break": "starts",
        "reward_tiers": [{"name": "先进", "max_rank": 3}],
    } | changes


def refused(data: dict[str, Any], reason: str, rule: bool = False) -> None:
    """`data` is refused for `reason`: as a rule the schema cannot state (answered 409) when
    `rule`, else as a breach of the schema (422)."""
    with pytest.raises(ValidationError, match=reason) as refusal:
        SchemeBody.model_validate(data)
    kinds = {e["type"] == RULE_ERROR for e in refusal.value.errors()}
    assert kinds == {rule}, refusal.value.errors()


def test_a_well_formed_scheme_is_accepted() -> None:
    scheme = SchemeBody.model_validate(body())
    assert [i.key for i in scheme.indicators] == ["starts", "factors"]
    assert scheme.period == Period(2020, 1)
    assert scheme.max_score == Decimal(100)


def test_ratio_points_on_a_count_metric_is_refused() -> None:
    ratio_on_count = indicator("n", "started", {"type": "ratio_points", "points": "10"})
    refused(body(indicators=[ratio_on_count], tie_break="n"), "ratio_points needs a rate metric")


@pytest.mark.parametrize(
    "formula",
    [
        {"type": "per_item", "points_per_item": "1", "cap": "10"},
        {"type": "deduction", "points_per_event": "1"},
    ],
)
def test_per_item_and_deduction_on_a_rate_metric_are_refused(formula: dict[str, Any]) -> None:
    on_rate = indicator("r", "start_rate", formula)
    refused(body(indicators=[on_rate], tie_break="r"), "needs a count metric")


def test_bands_and_rank_bands_read_any_kind_of_metric() -> None:
    scheme = SchemeBody.model_validate(
        body(
            indicators=[
                indicator(
                    "lag",
                    "investment_lag",
                    {"type": "bands", "bands": [{"at_least": "-10", "points": "5"}]},
                ),
                indicator(
                    "credit",
                    "credit_granted",
                    {"type": "rank_bands", "bands": [{"max_rank": 3, "points": "5"}]},
                ),
            ],
            tie_break="lag",
        )
    )
    assert [i.measure.kind for i in scheme.indicators] == ["gap", "amount"]


def test_an_unknown_metric_is_refused() -> None:
    unknown = indicator("x", "happiness", {"type": "ratio_points", "points": "10"})
    refused(body(indicators=[unknown], tie_break="x"), "unknown metric 'happiness'")


def test_duplicate_indicator_keys_are_refused() -> None:
    twice = body()["indicators"][0]
    refused(body(indicators=[twice, twice]), "indicator keys must be unique", rule=True)


def test_a_tie_break_that_is_not_an_indicator_is_refused() -> None:
    refused(
        body(tie_break="investment"),
        "tie_break 'investment' is not one of the indicators",
        rule=True,
    )


@pytest.mark.parametrize("ranks", [[3, 3], [6, 3]])
def test_reward_tiers_must_go_by_strictly_increasing_rank(ranks: list[int]) -> None:
    tiers = [{"name": f"第{i}档", "max_rank": r} for i, r in enumerate(ranks, start=1)]
    refused(body(reward_tiers=tiers), "reward tiers go by strictly increasing max_rank", rule=True)


def test_increasing_reward_tiers_and_none_at_all_are_accepted() -> None:
    tiers = [{"name": "一等", "max_rank": 1}, {"name": "先进", "max_rank": 3}]
    assert len(SchemeBody.model_validate(body(reward_tiers=tiers)).reward_tiers) == 2
    assert SchemeBody.model_validate(body(reward_tiers=[])).reward_tiers == []


@pytest.mark.parametrize("ranks", [[3, 3], [6, 3]])
def test_rank_bands_must_go_by_strictly_increasing_rank(ranks: list[int]) -> None:
    formula = {
        "type": "rank_bands",
        "bands": [{"max_rank": r, "points": "1"} for r in ranks],
    }
    refused(
        body(indicators=[indicator("s", "new_starts_ytd", formula)], tie_break="s"),
        "rank bands go by strictly increasing max_rank",
        rule=True,
    )


@pytest.mark.parametrize(
    "band",
    [{"points": "5"}, {"at_least": "90", "at_most": "100", "points": "5"}],
    ids=["no bound", "both bounds"],
)
def test_a_band_has_exactly_one_bound(band: dict[str, str]) -> None:
    formula = {"type": "bands", "bands": [band]}
    refused(
        body(indicators=[indicator("b", "on_time_rate", formula)], tie_break="b"),
        "a band has exactly one bound",
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2020-4", "is not a YYYY-MM period"),
        ("202004", "is not a YYYY-MM period"),
        ("2020-13", "month 13 is not 1–12"),
        ("2020-00", "month 0 is not 1–12"),
    ],
)
def test_effective_from_must_be_a_real_yyyy_mm(text: str, reason: str) -> None:
    refused(body(effective_from=text), f"effective_from\n.*{reason}")


def test_extra_fields_are_refused_at_every_level() -> None:
    refused(body(owner="someone"), "Extra inputs are not permitted")
    padded = body()["indicators"][0] | {"weight": "2"}
    refused(body(indicators=[padded]), "Extra inputs are not permitted")
    padded_formula = indicator(
        "starts", "start_rate", {"type": "ratio_points", "points": "60", "floor": "1"}
    )
    refused(body(indicators=[padded_formula]), "Extra inputs are not permitted")


@pytest.mark.parametrize(
    "formula",
    [
        {"type": "ratio_points", "points": "-1"},
        {"type": "bands", "bands": [{"at_least": "90", "points": "-1"}]},
        {"type": "bands", "bands": [{"at_least": "90", "points": "1"}], "otherwise": "-1"},
    ],
)
def test_negative_points_are_refused(formula: dict[str, Any]) -> None:
    refused(
        body(indicators=[indicator("r", "on_time_rate", formula)], tie_break="r"),
        r"\(0 to 1000,",
    )


@pytest.mark.parametrize(
    ("formula", "metric"),
    [
        ({"type": "deduction", "points_per_event": "-1"}, "problems_overdue"),
        ({"type": "per_item", "points_per_item": "-1", "cap": "5"}, "factor_allocations"),
        ({"type": "per_item", "points_per_item": "1", "cap": "-5"}, "factor_allocations"),
    ],
)
def test_negative_per_item_points_and_caps_are_refused(
    formula: dict[str, Any], metric: str
) -> None:
    refused(
        body(indicators=[indicator("x", metric, formula)], tie_break="x"),
        r"\((above )?0 (up )?to 1000,",
    )


@pytest.mark.parametrize(
    ("formula", "metric"),
    [
        ({"type": "deduction", "points_per_event": "0"}, "problems_overdue"),
        ({"type": "per_item", "points_per_item": "0", "cap": "5"}, "factor_allocations"),
    ],
)
def test_zero_points_per_item_or_event_is_refused(formula: dict[str, Any], metric: str) -> None:
    refused(
        body(indicators=[indicator("x", metric, formula)], tie_break="x"),
        r"\(above 0 up to 1000,",
    )


@pytest.mark.parametrize(
    "formula",
    [
        {"type": "ratio_points", "points": 25},  # a JSON number would round as a float
        {"type": "ratio_points", "points": "25.00001"},
        {"type": "ratio_points", "points": "1000.5"},
        {"type": "bands", "bands": [{"at_least": "-1000.5", "points": "1"}]},
        {"type": "bands", "bands": [{"at_least": "9e2", "points": "1"}]},
    ],
)
def test_points_and_thresholds_are_decimal_strings_in_range(formula: dict[str, Any]) -> None:
    refused(
        body(indicators=[indicator("r", "on_time_rate", formula)], tie_break="r"),
        "must be a decimal written as a string",
    )


def test_an_unknown_formula_type_is_refused() -> None:
    formula = {"type": "lottery", "points": "10"}
    refused(body(indicators=[indicator("x", "start_rate", formula)], tie_break="x"), "lottery")


# ---- the default scheme


def test_default_scheme_is_valid_as_data() -> None:
    again = SchemeBody.model_validate(DEFAULT_SCHEME.model_dump(mode="json"))
    assert again == DEFAULT_SCHEME


def test_default_scheme_totals_100() -> None:
    assert DEFAULT_SCHEME.max_score == Decimal(100)


def test_default_scheme_uses_each_of_the_five_formula_types() -> None:
    types = {i.formula.type for i in DEFAULT_SCHEME.indicators}
    assert types == {"ratio_points", "bands", "per_item", "rank_bands", "deduction"}


def test_default_scheme_deducts_for_unstarted_projects_and_overdue_problems() -> None:
    deducted = {i.metric for i in DEFAULT_SCHEME.indicators if isinstance(i.formula, Deduction)}
    assert deducted == {"unstarted_projects", "problems_overdue"}


def test_default_scheme_applies_from_its_start_and_rewards_the_top_three() -> None:
    assert DEFAULT_SCHEME.period <= Period(2020, 1)
    assert DEFAULT_SCHEME.tie_break in {i.key for i in DEFAULT_SCHEME.indicators}
    assert [(t.name, t.max_rank) for t in DEFAULT_SCHEME.reward_tiers] == [("先进", 3)]


@pytest.mark.parametrize("month", ["0000-01", "1989-12", "2101-01"])
def test_a_scheme_takes_effect_in_a_plausible_year(month: str) -> None:
    refused(body(effective_from=month), "the year must lie between 1990 and 2100")


def test_a_stored_scheme_from_before_the_year_range_still_reads() -> None:
    from services.scoring.domain.scheme import stored_scheme

    assert stored_scheme(body(effective_from="0000-01")).effective_from == "0000-01"
