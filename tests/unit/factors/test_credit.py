"""Funds: a grant never above the demand, a disbursement never above the credit granted."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.factors.domain.credit import check_disbursement, check_grant
from shared.errors import RuleViolation

D = Decimal


def test_a_grant_up_to_the_demand_passes_and_one_unit_more_fails():
    check_grant(D(1000), D(400), D(600))
    with pytest.raises(RuleViolation) as exc:
        check_grant(D(1000), D(400), D("600.0001"))
    assert exc.value.status == 409
    assert exc.value.extra == {"remaining": "600"}
    assert "600 remains" in exc.value.detail


def test_a_fully_granted_demand_takes_no_more():
    with pytest.raises(RuleViolation) as exc:
        check_grant(D(1000), D(1000), D("0.0001"))
    assert exc.value.extra == {"remaining": "0"}


def test_a_disbursement_up_to_the_credit_granted_passes_and_one_unit_more_fails():
    check_disbursement(D(500), D(200), D(300))
    with pytest.raises(RuleViolation) as exc:
        check_disbursement(D(500), D(200), D("300.0001"))
    assert exc.value.extra == {"remaining": "300"}


def test_nothing_is_disbursed_before_credit_is_granted():
    with pytest.raises(RuleViolation) as exc:
        check_disbursement(D(0), D(0), D(1))
    assert exc.value.extra == {"remaining": "0"}
