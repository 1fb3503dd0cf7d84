"""The per-robot limiter: a burst is split into singles and one digest so that no robot sends more
than 20 messages in any minute and no message is dropped; a full window waits for its oldest
send to age out. And the digest message itself: every item listed while it fits, then a count."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifications.domain.digest import (
    DIGEST_TEXT_MAX_BYTES,
    ROBOT_LIMIT,
    WINDOW,
    RobotPlan,
    digest_message,
    more_line,
    plan_robot_sends,
)

NOW = dt.datetime(2020, 4, 8, 9, 30, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def ago(*seconds: float) -> list[dt.datetime]:
    return [NOW - dt.timedelta(seconds=s) for s in seconds]


def test_nothing_due_plans_nothing() -> None:
    assert plan_robot_sends(ago(1, 2), [], NOW) == RobotPlan()


def test_within_capacity_everything_goes_singly() -> None:
    plan = plan_robot_sends([], list(range(ROBOT_LIMIT)), NOW)
    assert plan == RobotPlan(singles=list(range(ROBOT_LIMIT)))


def test_a_burst_sends_the_oldest_singly_and_digests_the_rest() -> None:
    plan = plan_robot_sends([], list(range(30)), NOW)
    assert plan.singles == list(range(19))
    assert plan.digest == list(range(19, 30))
    assert plan.wait_until is None


def test_sends_in_the_last_minute_take_capacity() -> None:
    plan = plan_robot_sends(ago(*range(1, 16)), list(range(10)), NOW)  # 15 sent: room for 5
    assert plan.singles == [0, 1, 2, 3]
    assert plan.digest == [4, 5, 6, 7, 8, 9]


def test_one_slot_left_goes_to_the_digest() -> None:
    plan = plan_robot_sends(ago(*range(1, 20)), ["a", "b", "c"], NOW)
    assert plan == RobotPlan(singles=[], digest=["a", "b", "c"])


def test_one_slot_left_and_one_message_sends_it_singly() -> None:
    assert plan_robot_sends(ago(*range(1, 20)), ["a"], NOW) == RobotPlan(singles=["a"])


def test_a_full_window_waits_for_its_oldest_send_to_age_out() -> None:
    recent = ago(*range(5, 25))  # 20 sends, the oldest 24 s ago
    plan = plan_robot_sends(recent, ["a"], NOW)
    assert plan.singles == [] and plan.digest == []
    assert plan.wait_until == NOW - 24 * S + WINDOW
    # At that moment there is room again.
    assert plan_robot_sends(recent, ["a"], plan.wait_until).singles == ["a"]


def test_sends_older_than_the_window_do_not_count() -> None:
    recent = ago(*range(60, 80))  # 20 sends, all a minute or more ago (60 s exactly included)
    assert plan_robot_sends(recent, list(range(20)), NOW).singles == list(range(20))


def test_a_send_just_inside_the_window_counts() -> None:
    recent = ago(59.999, *range(1, 20))
    assert plan_robot_sends(recent, ["a"], NOW).wait_until is not None


@settings(max_examples=200, deadline=None)
@given(
    bursts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=150), st.integers(min_value=1, max_value=30)),
        max_size=12,
    )
)
def test_a_stream_never_exceeds_the_limit_and_loses_nothing(bursts: list[tuple[int, int]]) -> None:
    """Drive the planner like a worker would: every second, plan what is due and 'send' it. In
    every rolling minute there are at most 20 sends, and every message goes out exactly once."""
    arrivals = sorted(second for second, count in bursts for _ in range(count))
    sends: list[tuple[dt.datetime, list[int]]] = []
    pending: list[int] = []
    waiting_until: dt.datetime | None = None
    for second in range(max(arrivals, default=0) + 2 * 60 + 1):
        now = NOW + second * S
        pending += [i for i, at in enumerate(arrivals) if at == second]
        if waiting_until is not None and now < waiting_until:
            continue
        plan = plan_robot_sends([t for t, _ in sends], pending, now)
        waiting_until = plan.wait_until
        sends += [(now, [m]) for m in plan.singles]
        if plan.digest:
            sends.append((now, plan.digest))
        done = {*plan.singles, *plan.digest}
        pending = [m for m in pending if m not in done]
    assert pending == []
    sent = [m for _, messages in sends for m in messages]
    assert sorted(sent) == list(range(len(arrivals)))
    for t, _ in sends:
        assert sum(1 for u, _ in sends if t <= u < t + WINDOW) <= ROBOT_LIMIT


def test_digest_lists_every_item_with_its_first_body_line() -> None:
    items = [
        ("问题交办：滨州港散货码头", "请市交通运输局于 2020-04-13 前办结。\n第二行不进汇总"),
        ("临期提醒：魏桥轻量化基地", "\n\n> 距办结时限还有 1 个工作日"),
    ]
    title, text = digest_message(items)
    assert title == "快车道通知汇总（2 条）"
    assert "1. **问题交办：滨州港散货码头**" in text
    assert "请市交通运输局于 2020-04-13 前办结。" in text
    assert "第二行不进汇总" not in text
    assert "2. **临期提醒：魏桥轻量化基地**" in text
    assert "距办结时限还有 1 个工作日" in text
    assert "另有" not in text


def test_long_item_titles_and_bodies_are_clipped() -> None:
    _, text = digest_message([("项" * 200, "内容" * 200)])
    assert "项" * 200 not in text and "项" * 59 + "…" in text
    assert "内容" * 60 not in text


def test_a_digest_too_big_for_one_message_lists_what_fits_and_counts_the_rest() -> None:
    items = [
        (f"第 {i} 号问题交办：某某重点项目用地手续", "请于三个工作日内办结" * 5) for i in range(300)
    ]
    title, text = digest_message(items)
    assert title == "快车道通知汇总（300 条）"
    assert len(text.encode("utf-8")) <= DIGEST_TEXT_MAX_BYTES
    shown = sum(1 for i in range(300) if f"**第 {i} 号问题交办" in text)
    assert 10 < shown < 300
    assert text.endswith(more_line(300 - shown))
    assert more_line(300 - shown) == f"……另有 {300 - shown} 条，请登录快车道查看"


def test_a_digest_that_just_fits_has_no_count_line() -> None:
    items = [(f"问题 {i}", "正文") for i in range(40)]
    _, text = digest_message(items)
    assert all(f"**问题 {i}**" in text for i in range(40))
    assert "另有" not in text
