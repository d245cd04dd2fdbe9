# zlab.bench.spawning -- starting peer processes from a script, a notebook, pytest or the CLI.
"""How the harness starts its peer processes (``spawn``): Ctrl-C left to the coordinator, and the
caller's ``__main__`` not re-imported. Used by the runner and by the fault runs alike.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import types
from collections.abc import Iterator


@contextlib.contextmanager
def children_ignore_ctrl_c() -> Iterator[None]:
    """Start peers with SIGINT ignored (inherited through exec): Ctrl-C in a terminal reaches the whole
    process group, and the coordinator, not a peer halfway through its imports, must handle it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def children_skip_main_module() -> Iterator[None]:
    """Start peers without re-importing the caller's ``__main__`` (spawn would run it as ``__mp_main__``).

    Peers need only zlab.bench, so a script calling :func:`run` needs no ``if __name__ == "__main__"``
    guard, and peers under pytest or the CLI do not import those first.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main
