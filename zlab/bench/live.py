# zlab.bench.live -- a sweep's chart, redrawn in place in a notebook as cells complete.
"""Live view of a running sweep: ``zb.run(..., live=True)`` in a Jupyter notebook.

Owns: deciding whether a live view can be shown (only inside a Jupyter kernel: in a terminal or a plain
script ``live=True`` changes nothing), and :class:`LiveChart`, which keeps ONE figure and one display
handle and redraws that figure from the rows measured so far after every cell (never a new output per
cell). Interrupting the notebook (the stop button, Ctrl-C) stops the sweep through the runner's usual
path: the rows measured so far are kept and returned, and the chart shows them.

Rules: drawing never raises into the sweep (a failed redraw is reported once in the chart's title area and
the measurement goes on); the chart is built by :func:`zlab.bench.selection.plot_selection`, so a live
chart and an explored one look the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from zlab.bench.selection import plot_selection

#: The metric drawn per measured mode (latency ping-pongs and floods give different columns).
MODE_METRIC = {"latency": "lat_p50_us", "throughput": "msgs_per_s"}


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where rich display updates in place)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveChart:
    """One figure in a notebook output, redrawn from the rows measured so far.

    ``update(rows)`` takes the result rows (dicts, as the runner makes them) and redraws; ``total`` is the
    number of cell runs expected, shown in the title. Use :func:`live_chart` to get one only where it can
    be displayed.
    """

    def __init__(self, total: int, metric: str | None = None, display: Any = None) -> None:
        if display is None:
            display = _ipython_display()
        self.total = total
        self.metric = metric
        self.figure = Figure(figsize=(8.5, 4.6), layout="constrained")
        self.updates = 0
        self.error: str | None = None
        self._handle = display(self.figure, display_id=True)
        self._draw(pd.DataFrame())

    def _metric_for(self, frame: pd.DataFrame) -> str:
        if self.metric:
            return self.metric
        modes = frame["mode"].dropna() if "mode" in frame.columns else pd.Series(dtype=object)
        mode = modes.mode().iloc[0] if len(modes) else "latency"
        return MODE_METRIC.get(str(mode), "lat_p50_us")

    def _draw(self, frame: pd.DataFrame) -> None:
        done = len(frame)
        if frame.empty:
            self.figure.clear()
            ax = self.figure.add_subplot(1, 1, 1)
            ax.text(0.5, 0.5, "waiting for the first cell…", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            self.figure.suptitle(f"zlab bench, live: 0 of {self.total} cell runs", fontsize=11)
            return
        metric = self._metric_for(frame)
        shown = frame[frame["mode"] == _mode_of(metric)] if "mode" in frame.columns else frame
        ok = int((frame["status"] == "ok").sum())
        title = f"zlab bench, live: {done} of {self.total} cell runs ({ok} ok)"
        plot_selection(shown, metric, title=title, fig=self.figure)

    def update(self, rows: Sequence[dict[str, Any]] | pd.DataFrame) -> None:
        """Redraw from ``rows`` (all rows so far) and refresh the one output in place."""
        try:
            frame = rows if isinstance(rows, pd.DataFrame) else _frame(rows)
            self._draw(frame)
            if self._handle is not None:
                self._handle.update(self.figure)
            self.updates += 1
        except Exception as exc:  # the chart must never stop a measurement
            if self.error is None:
                self.error = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        """Nothing to release: the last drawing stays in the notebook."""


def _ipython_display() -> Any:
    from IPython.display import display

    return display


def _mode_of(metric: str) -> str:
    return "latency" if metric.startswith("lat_") else "throughput"


def _frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    from zlab.bench.results import to_frame

    return to_frame(rows)


def live_chart(enabled: bool, total: int, metric: str | None = None) -> LiveChart | None:
    """A :class:`LiveChart` when ``enabled`` and running in a notebook; None otherwise (terminals)."""
    if not enabled or not in_notebook():
        return None
    return LiveChart(total, metric)
