# zlab.bench.results -- the tidy result schema, Parquet files and loading them back.
"""Result rows, their schema and their files.

Owns: :data:`SCHEMA_VERSION` and :data:`COLUMNS` (name, Arrow type, meaning with units), turning rows
into a DataFrame with stable dtypes, :class:`RunWriter` (one ``<run_id>.parquet`` plus
``<run_id>.json`` per run, rewritten atomically after each cell so an interrupted run keeps what it
measured, never touching another run's files), and :func:`load`, which reads a file or a folder of
runs into one frame, upgrading old schema versions through :data:`UPGRADES`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# 2: the api column (sync | asyncio); 3: the mechanism column (null | plain | curve); 4: mode load (offered
# rate, counts, corrected and uncorrected percentiles, sender lag) and lat_p9999_us; 5: variant (A/A copies
# of a cell) and reruns (re-measured because other programs were busy)
# 6: host columns of cluster runs (hosts, bind_host, bind_address, clock_offset_us, clock_offset_err_us)
SCHEMA_VERSION = 6
META_KEY = b"zlab.bench.meta"

_TS = pa.timestamp("us", tz="UTC")
#: Every result column: name -> (Arrow type, meaning). Latency columns are one-way (round trip / 2).
COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "schema_version": (pa.int16(), "version of this schema"),
    "run_id": (pa.string(), "unique id of the run (also the file name)"),
    "started_at": (_TS, "when the run started (UTC)"),
    "cell_started_at": (_TS, "when this cell and repeat started (UTC)"),
    "experiment": (pa.string(), "experiment name given to run(), or null"),
    "host": (pa.string(), "hostname"),
    "impl": (pa.string(), "zlab | pyzmq | raw"),
    "impl_version": (pa.string(), "version of the implementation (pyzmq: with libzmq's)"),
    "api": (pa.string(), "sync (blocking calls) | asyncio (zlab.asyncio / zmq.asyncio)"),
    "mechanism": (pa.string(), "security mechanism: null | plain | curve (tcp and ipc only)"),
    "transport": (pa.string(), "inproc | ipc | tcp"),
    "pattern": (pa.string(), "reqrep | pair | dealer-router | pushpull | pubsub"),
    "mode": (pa.string(), "latency (ping-pong) | throughput (flood) | load (open loop at an offered rate)"),
    "msg_size_bytes": (pa.int64(), "payload size of each message"),
    "n_subscribers": (pa.int16(), "receiving peers: subscribers for pubsub, 1 otherwise"),
    "repeat": (pa.int16(), "repeat index, 0-based; repeats are interleaved across the matrix"),
    "placement": (pa.string(), "CPU placement: none | one | split"),
    "cpus": (pa.string(), "CPU of each peer, e.g. server:0 client:0 (empty: not pinned)"),
    "quick": (pa.bool_(), "made with --quick (short cells for CI and smoke runs)"),
    "target_duration_s": (pa.float64(), "time budget of the measured phase"),
    "max_msgs": (pa.int64(), "count cap of the measured phase"),
    "status": (pa.string(), "ok | failed | skipped"),
    "failure_reason": (pa.string(), "why a cell failed or was skipped (one line), null when ok"),
    "failure_detail": (pa.string(), "traceback or details of a failure, null when ok"),
    "notes": (pa.string(), "remarks on an ok cell (e.g. a peer killed after a teardown hang)"),
    "foreign_cpu_pct": (pa.float64(), "% of all CPUs used by other programs while the cell ran (noise flag)"),
    "variant": (
        pa.string(),
        "A/A runs: a, b... for copies of the same cell measured back to back (the noise floor); null otherwise",
    ),
    "reruns": (
        pa.int16(),
        "times this cell was measured again because other programs used the CPUs (0: none)",
    ),
    "n_msgs": (pa.int64(), "latency: round trips timed; throughput: messages received (all subscribers)"),
    "n_sent": (pa.int64(), "messages sent by the sender or publisher in the measured phase"),
    "n_dropped": (pa.int64(), "pubsub: n_sent * n_subscribers - n_msgs; 0 for reliable patterns"),
    "elapsed_s": (
        pa.float64(),
        "measured time: latency loop; receiver's first message to end marker (pubsub: from first send)",
    ),
    "msgs_per_s": (pa.float64(), "throughput: messages delivered per second; latency: round trips per s"),
    "mb_per_s": (pa.float64(), "msgs_per_s * msg_size_bytes / 1e6"),
    "lat_min_us": (pa.float64(), "one-way latency, minimum"),
    "lat_p50_us": (pa.float64(), "one-way latency, median"),
    "lat_p90_us": (pa.float64(), "one-way latency, 90th percentile"),
    "lat_p99_us": (pa.float64(), "one-way latency, 99th percentile"),
    "lat_p999_us": (pa.float64(), "one-way latency, 99.9th percentile"),
    "lat_max_us": (pa.float64(), "one-way latency, maximum"),
    "lat_mean_us": (pa.float64(), "one-way latency, mean"),
    "lat_std_us": (pa.float64(), "one-way latency, standard deviation"),
    # -- schema 4: open-loop latency under load (mode load); lat_* above are then the CORRECTED figures,
    # from each message's intended send time on the schedule (load: one-way for pushpull/pubsub, request
    # round trip for dealer-router); closed-loop latency cells fill lat_p9999_us too.
    "lat_p9999_us": (pa.float64(), "latency, 99.99th percentile (load: from the intended send time)"),
    "offered_rate_per_s": (pa.float64(), "load: messages per second the schedule offered (per sender)"),
    "arrival": (pa.string(), "load: uniform (fixed interval) | poisson (exponential gaps)"),
    "pacing": (pa.string(), "load: how the sender waits for the next send time: hybrid | spin | sleep"),
    "load_status": (
        pa.string(),
        "load: ok | sender_behind (sent below 95% of offered: the rate was NOT offered) | "
        "saturated (received below 90% of offered) | lossy (dropped at a high-water mark: PUB, ROUTER replies)",
    ),
    "n_scheduled": (pa.int64(), "load: messages the schedule held (offered rate x duration)"),
    "n_received": (pa.int64(), "load: messages received (all subscribers together)"),
    "n_lost": (pa.int64(), "load: n_sent x receivers - n_received"),
    "backlog_msgs": (pa.int64(), "load: messages sent but not yet received when the sender finished"),
    "send_rate_per_s": (
        pa.float64(),
        "load: rate the sender actually sent at (msgs_per_s is the received one)",
    ),
    "sender_lag_p50_us": (pa.float64(), "load: how late the sender sent vs its schedule, median"),
    "sender_lag_p99_us": (pa.float64(), "load: sender lag, 99th percentile"),
    "sender_lag_max_us": (pa.float64(), "load: sender lag, maximum"),
    "uncorrected_p50_us": (pa.float64(), "load: latency from the ACTUAL send time (service time), median"),
    "uncorrected_p90_us": (pa.float64(), "load: uncorrected latency, 90th percentile"),
    "uncorrected_p99_us": (pa.float64(), "load: uncorrected latency, 99th percentile"),
    "uncorrected_p999_us": (pa.float64(), "load: uncorrected latency, 99.9th percentile"),
    "uncorrected_p9999_us": (pa.float64(), "load: uncorrected latency, 99.99th percentile"),
    "uncorrected_max_us": (pa.float64(), "load: uncorrected latency, maximum"),
    # -- schema 6: where the peers ran (cluster runs)
    "hosts": (pa.string(), "cluster runs: host of each peer, e.g. server:a client:b (null: all on `host`)"),
    "bind_host": (pa.string(), "cluster runs: host of the binding peer"),
    "bind_address": (
        pa.string(),
        "cluster runs: the endpoint the binding peer bound, e.g. tcp://10.0.0.1:40123",
    ),
    "clock_offset_us": (
        pa.float64(),
        "cluster runs: clock of the first connecting peer's host minus the binding peer's (0 on one host)",
    ),
    "clock_offset_err_us": (
        pa.float64(),
        "cluster runs: ± bound of clock_offset_us (half the best ping RTTs)",
    ),
}
SCHEMA = pa.schema([pa.field(name, dtype) for name, (dtype, _) in COLUMNS.items()])

#: Upgrade hooks: ``UPGRADES[v]`` turns a frame of schema version ``v`` into version ``v + 1``.
UPGRADES: dict[int, Callable[[pd.DataFrame], pd.DataFrame]] = {}


def _v1_to_v2(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 2 added ``api``: every earlier run drove its sockets with blocking calls."""
    frame = frame.copy()
    frame["api"] = pd.Series(["sync"] * len(frame), dtype=object, index=frame.index)
    return frame


def _v2_to_v3(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 3 added ``mechanism``: every earlier run used the NULL mechanism."""
    frame = frame.copy()
    frame["mechanism"] = pd.Series(["null"] * len(frame), dtype=object, index=frame.index)
    return frame


def _v3_to_v4(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 4 added mode ``load`` and its columns: earlier runs have none (left null)."""
    return frame


def _v4_to_v5(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 4 added ``variant`` (no earlier run made A/A copies: null) and ``reruns`` (never re-run: 0)."""
    frame = frame.copy()
    frame["variant"] = pd.Series([None] * len(frame), dtype=object, index=frame.index)
    frame["reruns"] = pd.array([0] * len(frame), dtype=pd.Int64Dtype())
    return frame


def _v5_to_v6(frame: pd.DataFrame) -> pd.DataFrame:
    """Version 4 added the host columns: every earlier run was local (they stay null)."""
    return frame


UPGRADES[1] = _v1_to_v2
UPGRADES[2] = _v2_to_v3
UPGRADES[3] = _v3_to_v4
UPGRADES[4] = _v4_to_v5
UPGRADES[5] = _v5_to_v6


def make_row(**values: Any) -> dict[str, Any]:
    """A full result row: unknown names rejected, missing columns null, schema version set."""
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise KeyError(f"not result columns: {sorted(unknown)}")
    row = dict.fromkeys(COLUMNS)
    row.update(values)
    row["schema_version"] = SCHEMA_VERSION
    return row


def _types_mapper(dtype: pa.DataType) -> Any:
    """Nullable pandas dtypes for integers and booleans, so counts stay integers next to failed rows."""
    if pa.types.is_integer(dtype):
        return pd.Int64Dtype()
    if pa.types.is_boolean(dtype):
        return pd.BooleanDtype()
    return None


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=_types_mapper)


def to_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> DataFrame with the schema's columns and dtypes (the same dtypes :func:`load` gives)."""
    return _to_pandas(pa.Table.from_pylist(list(rows), schema=SCHEMA))


def empty_frame() -> pd.DataFrame:
    """A frame with every column and no rows."""
    return to_frame([])


class RunWriter:
    """Writes one run's rows to ``<out>/<run_id>.parquet`` and its metadata to ``<run_id>.json``."""

    def __init__(self, out: str | os.PathLike[str], run_id: str, meta: dict[str, Any]) -> None:
        self.dir = Path(out)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.parquet = self.dir / f"{run_id}.parquet"
        self.json = self.dir / f"{run_id}.json"
        for path in (self.parquet, self.json):
            if path.exists():
                raise FileExistsError(f"{path} exists: results are never overwritten")
        self.hist_parquet = self.dir / HIST_DIR / f"{run_id}.parquet"
        self.meta = dict(meta)
        self.rows: list[dict[str, Any]] = []
        self.hist_rows: list[dict[str, Any]] = []
        self._write_meta(complete=False)

    def _replace(self, path: Path, write: Callable[[Path], object]) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        write(tmp)
        os.replace(tmp, path)

    def _write_meta(self, complete: bool) -> None:
        self.meta.update(complete=complete, n_rows=len(self.rows), schema_version=SCHEMA_VERSION)
        text = json.dumps(self.meta, indent=2, sort_keys=True, default=str) + "\n"
        self._replace(self.json, lambda p: p.write_text(text))

    def append(self, row: dict[str, Any], histograms: dict[str, Any] | None = None) -> None:
        """Add a row (and its latency histograms by kind) and rewrite the run's Parquet files (small:
        one row per cell and repeat; histograms go to ``histograms/<run_id>.parquet``)."""
        if histograms:
            self.hist_rows.extend(histogram_rows(row, histograms))
            hist_table = pa.Table.from_pylist(self.hist_rows, schema=HIST_SCHEMA)
            self.hist_parquet.parent.mkdir(exist_ok=True)
            self._replace(self.hist_parquet, lambda p: pq.write_table(hist_table, p))
        self.rows.append(row)
        self.flush()

    def flush(self) -> None:
        """Rewrite the rows file from the rows held (after a row was amended in place)."""
        table = pa.Table.from_pylist(self.rows, schema=SCHEMA)
        meta = json.dumps(self.meta, sort_keys=True, default=str).encode()
        table = table.replace_schema_metadata({META_KEY: meta})
        self._replace(self.parquet, lambda p: pq.write_table(table, p))

    def close(self, complete: bool) -> None:
        """Final metadata: ``complete`` is False for an interrupted run."""
        self._write_meta(complete)


def upgrade(frame: pd.DataFrame, version: int) -> pd.DataFrame:
    """Bring a frame of schema ``version`` to :data:`SCHEMA_VERSION`; missing columns become null."""
    if version > SCHEMA_VERSION:
        raise ValueError(f"results have schema version {version}, newer than this zlab ({SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        frame = UPGRADES[version](frame)
        version += 1
    empty = empty_frame()
    for name in COLUMNS:
        if name not in frame.columns:
            frame[name] = pd.Series([None] * len(frame), dtype=empty[name].dtype, index=frame.index)
    frame["schema_version"] = pd.array([SCHEMA_VERSION] * len(frame), dtype=pd.Int64Dtype())
    extra = [c for c in frame.columns if c not in COLUMNS]
    return frame[[*COLUMNS, *extra]]


def _read_one(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    if not {"schema_version", "mode"} & set(
        table.column_names
    ):  # another table under results/ (faults, soak): its own loader
        return empty_frame()
    if "schema_version" in table.column_names and table.num_rows:
        version = int(pc.max(table.column("schema_version")).as_py())
    else:
        meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
        version = int(meta.get("schema_version", SCHEMA_VERSION))
    return upgrade(_to_pandas(table), version)


def result_files(path: str | os.PathLike[str]) -> list[Path]:
    """The Parquet result files at ``path``: the file itself, or every ``*.parquet`` below a folder."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.exists():
        raise FileNotFoundError(f"no results at {p}")
    return sorted(f for f in p.rglob("*.parquet") if not f.name.startswith(".") and f.parent.name != HIST_DIR)


def load(path: str | os.PathLike[str] = "results") -> pd.DataFrame:
    """Read a result file, or every run under a folder, into one tidy frame (old schemas upgraded).

    Only the measurement rows of ``zlab bench`` runs: the tables of the fault experiment and the soak,
    which sit in the same folders, have their own schemas and loaders (``zlab.bench.faults``,
    ``zlab.bench.soak``) and are left out."""
    frames = [_read_one(f) for f in result_files(path)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame()
    return pd.concat(frames, ignore_index=True)


# -- latency histograms beside the rows -----------------------------------------------------------

#: Histograms of ``OUT/<run_id>.parquet`` live in ``OUT/histograms/<run_id>.parquet``.
HIST_DIR = "histograms"
#: The keys that join a histogram to its row (with ``repeat`` and ``kind``).
HIST_KEYS: tuple[str, ...] = (
    "run_id",
    "impl",
    "api",
    "mechanism",
    "transport",
    "pattern",
    "mode",
    "msg_size_bytes",
    "n_subscribers",
    "offered_rate_per_s",
    "arrival",
    "repeat",
)
#: Columns of ``histograms/<run_id>.parquet``: one row per cell, repeat and kind of distribution.
HIST_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    **{k: COLUMNS[k] for k in HIST_KEYS},
    "kind": (
        pa.string(),
        "latency (the lat_* columns: closed loop one-way, load from the intended send time) | "
        "round_trip (closed loop: the whole round trip) | "
        "uncorrected (load: from the actual send time) | send_lag (load: actual - intended send time)",
    ),
    "count": (pa.int64(), "values in the histogram"),
    "histogram": (pa.binary(), "zlab.bench.histogram.Histogram.to_bytes(); values in ns, read in us"),
}
HIST_SCHEMA = pa.schema([pa.field(name, dtype) for name, (dtype, _) in HIST_COLUMNS.items()])


def histogram_rows(row: dict[str, Any], histograms: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the histogram table for one result row: its keys, one row per kind."""
    return [
        {**{k: row.get(k) for k in HIST_KEYS}, "kind": kind, "count": h.count, "histogram": h.to_bytes()}
        for kind, h in histograms.items()
    ]


def histogram_files(path: str | os.PathLike[str]) -> list[Path]:
    """The histogram tables at ``path``: beside a result file, or every one below a folder."""
    p = Path(path)
    if p.is_file():
        side = p.parent / HIST_DIR / p.name
        return [p] if p.parent.name == HIST_DIR else [side] if side.exists() else []
    if not p.exists():
        raise FileNotFoundError(f"no results at {p}")
    return sorted(f for f in p.rglob("*.parquet") if f.parent.name == HIST_DIR and not f.name.startswith("."))


def load_histograms(
    path: str | os.PathLike[str] = "results", *, kind: str | None = None, decode: bool = True
) -> pd.DataFrame:
    """The latency histograms of every run at ``path`` (a result file or a folder): one row per cell,
    repeat and ``kind`` (latency | uncorrected | send_lag), keyed like the rows (:data:`HIST_KEYS`),
    with a ``histogram`` column of :class:`~zlab.bench.histogram.Histogram` (``decode=False``: bytes).

    Merge any slice and read a percentile in one call: ``zb.merge_histograms(frame).percentile(99)``.
    """
    from zlab.bench.histogram import Histogram

    frames = [_to_pandas(pq.read_table(f)) for f in histogram_files(path)]
    frames = [f for f in frames if len(f)]
    if not frames:
        frame = _to_pandas(HIST_SCHEMA.empty_table())
    else:
        frame = pd.concat(frames, ignore_index=True)
    if kind is not None:
        frame = frame[frame["kind"] == kind].reset_index(drop=True)
    if decode:
        decoded = [Histogram.from_bytes(b) for b in frame["histogram"]]
        frame["histogram"] = pd.Series(decoded, index=frame.index, dtype=object)
    return frame


def load_meta(path: str | os.PathLike[str] = "results") -> dict[str, dict[str, Any]]:
    """Run metadata by run_id for every result file at ``path`` (from the JSON beside each file)."""
    out: dict[str, dict[str, Any]] = {}
    for f in result_files(path):
        side = f.with_suffix(".json")
        if side.exists():
            meta = json.loads(side.read_text())
        else:
            meta = json.loads((pq.read_schema(f).metadata or {}).get(META_KEY, b"{}"))
        out[meta.get("run_id", f.stem)] = meta
    return out
