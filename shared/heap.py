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

Garbage made after either is collected as before.
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


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """Keep the objects the process holds now out of the collector's passes meanwhile; only
    what is allocated meanwhile is gone over. When the outermost block ends (a rebuild's covers
    its replay and what it computes after) the older objects are collected as before, except a
    frozen start-up heap, which is frozen again after one full collection."""
    if _STATE["blocks"] == 0:
        gc.freeze()
    _STATE["blocks"] += 1
    try:
        yield
    finally:
        _STATE["blocks"] -= 1
        if _STATE["blocks"] == 0:
            gc.unfreeze()
            if _STATE["startup"]:
                gc.collect()
                gc.freeze()
