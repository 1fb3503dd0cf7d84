"""The checker's own rules that need no stack (no integration mark: they run everywhere)."""

from tests.faults.checker import sent_again_after_a_kill


def test_a_repeat_counts_as_the_kill_window_only_with_a_kill_between_and_one_try_recorded() -> None:
    assert sent_again_after_a_kill([10.0, 30.0], recorded_ok=1, kills=[12.5])
    assert sent_again_after_a_kill([30.0, 10.0], recorded_ok=1, kills=[5.0, 12.5])  # any order


def test_a_repeat_without_a_kill_between_is_a_double_delivery() -> None:
    assert not sent_again_after_a_kill([10.0, 30.0], recorded_ok=1, kills=[])
    assert not sent_again_after_a_kill([10.0, 30.0], recorded_ok=1, kills=[5.0, 31.0])


def test_a_repeat_of_a_try_recorded_as_delivered_is_a_double_delivery() -> None:
    """Two successful tries recorded: the dispatcher knew of the first 2xx and sent again."""
    assert not sent_again_after_a_kill([10.0, 30.0], recorded_ok=2, kills=[12.5])


def test_more_than_one_repeat_is_a_double_delivery() -> None:
    assert not sent_again_after_a_kill([10.0, 20.0, 30.0], recorded_ok=1, kills=[12.5, 25.0])
