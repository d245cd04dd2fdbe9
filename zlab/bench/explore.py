# zlab.bench.explore -- the notebook explorer: widgets over zlab.bench.selection.
"""Slice any results folder interactively in Jupyter: ``zb.Explorer("results")``.

Owns: the widgets (ipywidgets, an optional part of the ``lab`` extra, imported only here) and how their
state maps to a :class:`~zlab.bench.selection.Selection`; the chart, the median table and the ratio table
redrawn in place whenever a choice changes. Everything it shows comes from :mod:`zlab.bench.selection`
(``explorer.selection.apply(frame)`` gives the same rows a script would), which is what the tests drive.

Rules: no measurement, no writes; menus offer only values present in the loaded results; an empty
multi-choice means "all"; the explorer works on the committed ``results/`` of a fresh clone and on any
folder or frame given to it. Outside a browser (CI's notebook run, a test) the widgets render to their
static state and every method still works.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from zlab.bench.live import in_notebook
from zlab.bench.selection import (
    AXES,
    METRICS,
    Selection,
    choices,
    median_table,
    plot_selection,
    ratio_table,
    run_index,
    run_label,
)

_AXIS_LABELS = {
    "impl": "implementation",
    "transport": "transport",
    "pattern": "pattern",
    "mode": "mode",
    "msg_size_bytes": "size",
    "n_subscribers": "subscribers",
    "mechanism": "mechanism",
    "api": "API",
    "placement": "CPU placement",
}


def _widgets() -> Any:
    try:
        import ipywidgets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the explorer needs ipywidgets: pip install 'zlab[lab]' (or pip install ipywidgets)"
        ) from exc
    return ipywidgets


def _option_label(axis: str, value: Any) -> str:
    if axis == "msg_size_bytes":
        from zlab.bench.matrix import format_size

        return format_size(int(value))
    if axis == "n_subscribers":
        return f"x{value}"
    return str(value)


class Explorer:
    """Widgets to choose runs, axes and a metric over a result frame; chart and tables update in place.

    ``Explorer("results")`` loads every run under a folder (or pass ``frame=`` and ``meta=``). By default
    the newest full run of each experiment is chosen. ``explorer.selection`` is the current
    :class:`Selection`; ``explorer.set(transport=["tcp"], metric="lat_p99_us")`` changes widgets from code;
    ``explorer.rows``, ``explorer.table`` and ``explorer.ratios`` hold what is shown.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = "results",
        *,
        frame: pd.DataFrame | None = None,
        meta: Mapping[str, Mapping[str, Any]] | None = None,
        numerator: str = "zlab",
        denominator: str = "pyzmq",
    ) -> None:
        w = _widgets()
        if frame is None:
            from zlab.bench.results import load, load_meta

            if path is None:
                raise ValueError("give a results path or a frame")
            frame, meta = load(path), load_meta(path)
        self.frame = frame
        self.meta = dict(meta or {})
        self.numerator, self.denominator = numerator, denominator
        self.runs = run_index(frame, self.meta)
        self.rows = frame.iloc[:0]
        self.table = pd.DataFrame()
        self.ratios = pd.DataFrame()
        self.figure = Figure(figsize=(8.5, 4.6), layout="constrained")
        self._quiet = False

        run_options = [(run_label({"run_id": rid, **info}), rid) for rid, info in self.runs.iterrows()]
        self.run_picker = w.SelectMultiple(
            options=run_options,
            value=self._default_runs(),
            rows=min(8, max(3, len(run_options))),
            description="runs",
        )
        present = choices(frame)
        self.axis_pickers: dict[str, Any] = {}
        for axis in AXES:
            options = [(_option_label(axis, v), v) for v in present[axis]]
            self.axis_pickers[axis] = w.SelectMultiple(
                options=options, value=(), rows=min(6, max(2, len(options))), description=_AXIS_LABELS[axis]
            )
        self.metric_picker = w.Dropdown(
            options=[(label, m) for m, label in METRICS.items()], description="metric"
        )
        self.view_picker = w.ToggleButtons(options=["chart", "medians", "zlab/libzmq"], value="chart")
        self.status = w.HTML()
        self.chart_out = w.Output()
        self.table_out = w.Output()
        for picker in (self.run_picker, self.metric_picker, self.view_picker, *self.axis_pickers.values()):
            picker.observe(self._changed, names="value")
        axis_box = w.GridBox(
            list(self.axis_pickers.values()), layout=w.Layout(grid_template_columns="repeat(4, 25%)")
        )
        self.widget = w.VBox(
            [
                self.run_picker,
                axis_box,
                w.HBox([self.metric_picker, self.view_picker]),
                self.status,
                self.chart_out,
                self.table_out,
            ]
        )
        self.refresh()

    def _default_runs(self) -> tuple[str, ...]:
        """The newest full run of each experiment (quick runs only where no full one exists)."""
        if self.runs.empty:
            return ()
        chosen = []
        for _, group in self.runs.reset_index().groupby(self.runs["experiment"].fillna("(none)").to_numpy()):
            full = group[~group["quick"]]
            pool = full if len(full) else group
            chosen.append(str(pool["run_id"].max()))
        return tuple(sorted(chosen))

    @property
    def selection(self) -> Selection:
        """The :class:`Selection` the widgets describe now."""
        axes: dict[str, Any] = {axis: tuple(p.value) for axis, p in self.axis_pickers.items()}
        return Selection(runs=tuple(self.run_picker.value), metric=self.metric_picker.value, **axes)

    def set(self, **changes: Any) -> None:
        """Change widgets from code: ``runs=[...]``, any axis name, ``metric=``, ``view=``; redraws once."""
        self._quiet = True
        try:
            for name, value in changes.items():
                if name == "runs":
                    self.run_picker.value = tuple(value)
                elif name == "metric":
                    self.metric_picker.value = value
                elif name == "view":
                    self.view_picker.value = value
                elif name in self.axis_pickers:
                    values = (value,) if isinstance(value, str | int) else tuple(value)
                    self.axis_pickers[name].value = values
                else:
                    raise ValueError(f"unknown explorer choice {name!r}")
        finally:
            self._quiet = False
        self.refresh()

    def _changed(self, _change: Any) -> None:
        if not self._quiet:
            self.refresh()

    def refresh(self) -> None:
        """Recompute rows, tables and chart from the widgets, and redraw the outputs in place."""
        sel = self.selection
        self.rows = sel.apply(self.frame, self.meta)
        self.table = median_table(self.rows, sel.metric)
        self.ratios = ratio_table(self.rows, sel.metric, self.numerator, self.denominator)
        plot_selection(self.rows, sel.metric, fig=self.figure)
        n_runs = self.rows["run_id"].nunique() if len(self.rows) else 0
        self.status.value = (
            f"<b>{len(self.rows)}</b> measured rows from <b>{n_runs}</b> run(s); "
            f"{len(self.table)} cell(s) with {METRICS[sel.metric]}"
        )
        self._render()

    def _render(self) -> None:
        if not in_notebook():  # a script or a test: the state above is all there is to show
            return
        from IPython.display import display

        view = self.view_picker.value
        self.chart_out.clear_output(wait=True)
        self.table_out.clear_output(wait=True)
        with self.chart_out:
            if view == "chart":
                display(self.figure)
        with self.table_out:
            if view == "zlab/libzmq":
                display(self.ratios.round(3) if len(self.ratios) else "no cell with both implementations")
            else:
                display(self.table.round(2) if len(self.table) else "no measured rows in this selection")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
