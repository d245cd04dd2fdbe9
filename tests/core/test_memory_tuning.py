"""``zlab.io.memory.keep_large_blocks``: glibc keeps freed large blocks mapped once an I/O thread
starts (large messages then cost no page faults), unless the user turned it off or tuned malloc.
Each case runs in a fresh interpreter: the setting is process-wide."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = "from zlab.io.memory import keep_large_blocks as k; print(k(), k())"


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "ZLAB_MALLOC"))}
    clean["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.timeout(60)
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning is for glibc's malloc only")
def test_on_by_default_and_idempotent() -> None:
    assert _probe() == "True True"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "env",
    [
        {"ZLAB_MALLOC_TUNING": "0"},
        {"MALLOC_TRIM_THRESHOLD_": "1000000"},
        {"MALLOC_MMAP_THRESHOLD_": "1000000"},
    ],
)
def test_the_users_choice_wins(env: dict[str, str]) -> None:
    assert _probe(**env) == "False False"
