"""shared.heap: what the garbage collector may go over in a long-running process."""

import gc
import weakref

import pytest

from shared.heap import freeze_more, freeze_startup, heap_frozen, startup_frozen, thaw_startup


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
    """The end of a replay's block in a started process unfreezes nothing (a rebuild in a
    running worker must not bring the 70-90 ms full collections back) and does no full
    collection of its own; what the replay left as garbage is collected as usual, not frozen."""
    freeze_startup()
    full: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    block = heap_frozen()
    block.__enter__()
    garbage = _Node()
    garbage.me = garbage  # a cycle: only a collection frees it
    gone = weakref.ref(garbage)
    del garbage
    frozen = gc.get_freeze_count()
    gc.callbacks.append(count)
    try:
        block.__exit__(None, None, None)
    finally:
        gc.callbacks.remove(count)
    assert full == [] and gc.get_freeze_count() == frozen
    gc.collect()
    assert gone() is None


def test_a_replay_in_a_started_process_freezes_no_garbage(thawed) -> None:
    """What was garbage when the block began is collected, not frozen for good with the heap
    the block leaves frozen."""
    freeze_startup()
    garbage = _Node()
    garbage.me = garbage
    gone = weakref.ref(garbage)
    del garbage
    with heap_frozen():
        assert gone() is None


def test_a_replay_freezes_what_each_fetch_folded_and_collects_its_garbage(thawed) -> None:
    """`freeze_more` in a block: what the block made so far is frozen too (later collections
    do not go over it again), what of it was garbage is collected first; outside: nothing."""
    freeze_more()
    assert gc.get_freeze_count() == 0
    with heap_frozen():
        before = gc.get_freeze_count()
        folded = [[] for _ in range(1000)]
        garbage = _Node()
        garbage.me = garbage
        gone = weakref.ref(garbage)
        del garbage
        freeze_more()
        assert gc.get_freeze_count() >= before + len(folded)
        assert gone() is None
    assert gc.get_freeze_count() == 0


class _Node:
    me: object = None
