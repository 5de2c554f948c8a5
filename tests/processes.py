"""Look up processes through /proc, for tests of the query worker processes (Linux only)."""

from __future__ import annotations

import time
from pathlib import Path


def live_children(parent_pid: int) -> set[int]:
    """Return the PIDs of the parent's child processes that have not exited (no zombies)."""
    children = set()
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_path.read_text()
        except OSError:  # the process exited while the loop ran
            continue
        # The command name is in parentheses and may contain spaces, so only what follows is split.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent_pid and state != "Z":
            children.add(int(stat_path.parent.name))
    return children


def exists(pid: int) -> bool:
    """Return whether the process exists and has not exited."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition: object, timeout: float = 10.0) -> None:
    """Wait until the callable returns true, failing the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition}")
        time.sleep(0.01)
