"""shared.heap: what the garbage collector may go over in a long-running process."""

import gc
import weakref

import pytest

from shared.heap import freeze_startup, heap_frozen, startup_frozen, thaw_startup


@pytest.fixture
def thawed():
    assert gc.get_freeze_count() == 0 and not startup_frozen()
    yield
    thaw_startup()


def test_the_heap_stays_frozen_until_the_outermost_block_ends(thawed) -> None:
    """A rebuild freezes the heap around its replay (which freezes it too) and what it
    computes after: the replay's end must not unfreeze it."""
    with heap_frozen():
        with heap_frozen():
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_started_process_keeps_its_start_up_heap_out_of_collections(thawed) -> None:
    """`freeze_startup` freezes what lives once start-up is over, and only once."""
    kept = [object() for _ in range(1000)]
    freeze_startup()
    frozen = gc.get_freeze_count()
    assert frozen > len(kept) and startup_frozen()
    more = [[] for _ in range(1000)]  # noqa: F841 made after start-up: collected as usual
    freeze_startup()
    assert gc.get_freeze_count() == frozen


def test_a_replay_in_a_started_process_leaves_the_start_up_heap_frozen(thawed) -> None:
    """The end of a replay's block unfreezes what it froze, but not the start-up heap (a
    rebuild in a running worker must not bring the 70-90 ms full collections back), and what
    the replay left as garbage is collected, not frozen."""
    freeze_startup()
    with heap_frozen():
        garbage = _Node()
        garbage.me = garbage  # a cycle: only a collection frees it
        gone = weakref.ref(garbage)
        del garbage
    assert gc.get_freeze_count() > 0
    assert gone() is None


class _Node:
    me: object = None
