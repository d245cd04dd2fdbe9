"""Provenance: a run is "dirty" when code changed, never because of new or redrawn results."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from zlab.bench import metadata

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)


def test_results_never_make_a_run_dirty_code_does(tmp_path: Path):
    repo = tmp_path / "clone"
    (repo / "zlab").mkdir(parents=True)
    (repo / "results" / "charts").mkdir(parents=True)
    (repo / "zlab" / "core.py").write_text("x = 1\n")
    (repo / "results" / "charts" / "latency.svg").write_text("<svg/>\n")
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "start")
    assert metadata.git_info(repo)["git_dirty"] is False

    # what the first experiment of `make experiment` leaves behind: a new run and redrawn charts
    (repo / "results" / "latency_vs_size").mkdir()
    (repo / "results" / "latency_vs_size" / "20260101T000000Z-abcdef.parquet").write_bytes(b"PAR1")
    (repo / "results" / "charts" / "latency.svg").write_text("<svg>redrawn</svg>\n")
    info = metadata.git_info(repo)
    assert info["git_dirty"] is False and info["git_dirty_files"] == []
    assert len(info["git_commit"]) == 40

    (repo / "zlab" / "core.py").write_text("x = 2\n")  # changed code
    info = metadata.git_info(repo)
    assert info["git_dirty"] is True and info["git_dirty_files"] == ["zlab/core.py"]

    _git(repo, "checkout", "-q", "--", "zlab/core.py")
    (repo / "zlab" / "new_module.py").write_text("y = 1\n")  # new, not yet committed code
    assert metadata.git_info(repo)["git_dirty_files"] == ["zlab/new_module.py"]


def test_outside_git_nothing_is_claimed(tmp_path: Path):
    info = metadata.git_info(tmp_path)
    assert info["git_commit"] is None and info["git_dirty"] is None
