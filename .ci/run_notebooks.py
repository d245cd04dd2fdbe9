# .ci/run_notebooks.py -- execute notebooks top to bottom (nbclient); any failing cell fails CI.
"""Run each notebook given on the command line in its own folder with this interpreter's kernel.

Outputs are not written back (the committed notebooks stay small); a cell that raises stops that
notebook, is reported with its traceback, and the exit status is 1.

    .venv/bin/python .ci/run_notebooks.py notebooks/*.ipynb
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT_S = 300


def run(path: Path) -> bool:
    """Execute ``path``; True when every cell ran."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",  # ipykernel's native kernel: this venv's python
        resources={"metadata": {"path": str(path.parent)}},
    )
    t0 = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as exc:
        print(f"notebook {path}: FAILED after {time.monotonic() - t0:.0f} s\n{exc}", file=sys.stderr)
        return False
    print(f"notebook {path}: ok, {len(nb.cells)} cells in {time.monotonic() - t0:.0f} s")
    return True


def main(argv: list[str]) -> int:
    """Run every notebook in ``argv``; exit status 1 if any failed or none was given."""
    paths = [Path(a) for a in argv]
    if not paths:
        print("run_notebooks: no notebooks given", file=sys.stderr)
        return 1
    results = [run(p) for p in paths]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
