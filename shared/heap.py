"""How a kuaiche process keeps Python's garbage collector off its event path.

A full collection goes over every object the process holds. Most of them are made at start-up
(the modules, the ORM's and pydantic's registries, the apps) and live as long as the process,
so going over them finds no garbage and, here, takes 70-90 ms: a pause every event and request
in flight waits out (bench row 4's slowest commits were those). Two remedies, both
`gc.freeze()`, which moves the objects the process holds into a generation no collection
visits:

- `freeze_startup()`, once a long-running process has started (`kuaiche serve`, `worker`,
  `up`): its start-up heap out of every later collection;
- `heap_frozen()`, around a replay, which allocates a read model's worth of objects, enough
  to set off full collections over a heap it only adds to.

Garbage made after either is collected as before. In a started process a replay's block
collects what is garbage when it begins and freezes the rest for good, as start-up did: at
its end nothing is unfrozen, so no full collection over the whole heap (start-up's, the
epoch's) waits at the end of a rebuild, where the old way (unfreeze, collect, freeze again)
cost 100-150 ms on bench row 2. What the process held then is long-lived (pools, caches,
registries); a cycle among it that dies later is not collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_STATE = {"startup": False, "blocks": 0}


def freeze_startup() -> None:
    """Collect what start-up left over, then freeze the rest (once per process)."""
    if _STATE["startup"]:
        return
    gc.collect()
    gc.freeze()
    _STATE["startup"] = True


def startup_frozen() -> bool:
    return bool(_STATE["startup"])


def thaw_startup() -> None:
    """Undo `freeze_startup` (a test's teardown)."""
    gc.unfreeze()
    _STATE["startup"] = False


def freeze_more() -> None:
    """Inside a `heap_frozen` block: collect what the block made since it began or since the
    last call, and freeze the rest with the heap (a replay, after each fetch: the read model
    it folds only grows, and collections that go over it again and again find nothing; this
    goes over each object once). Frozen objects are still freed when their last reference
    goes. Outside a block: nothing."""
    if _STATE["blocks"]:
        gc.collect()
        gc.freeze()


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """Keep the objects the process holds now out of the collector's passes meanwhile; only
    what is allocated meanwhile is gone over. Outside a started process, the outermost block's
    end (a rebuild's covers its replay and what it computes after) unfreezes them; in one
    (`freeze_startup`), what is garbage is collected first and the rest stays frozen with the
    start-up heap."""
    if _STATE["blocks"] == 0:
        if _STATE["startup"]:
            gc.collect()  # what start-up left is frozen: this goes over what came since
        gc.freeze()
    _STATE["blocks"] += 1
    try:
        yield
    finally:
        _STATE["blocks"] -= 1
        if _STATE["blocks"] == 0 and not _STATE["startup"]:
            gc.unfreeze()
