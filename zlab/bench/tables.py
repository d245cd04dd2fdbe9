# zlab.bench.tables -- a documented table of rows as one Parquet file plus its JSON metadata.
"""Result tables other than the benchmark matrix's (fault runs, soak samples), stored like any result.

Owns: :func:`write_table`, which writes ``<out>/<run_id>.parquet`` (Arrow types from a columns dict
``name -> (type, meaning)``, the run metadata in the file's key-value metadata) and
``<run_id>.json`` beside it, atomically and never over an existing run; and :func:`read_table`.
The main matrix keeps its own schema in :mod:`zlab.bench.results`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from zlab.bench.results import META_KEY

Columns = dict[str, tuple[pa.DataType, str]]


def schema_of(columns: Columns) -> pa.Schema:
    """The Arrow schema of a columns dict."""
    return pa.schema([pa.field(name, dtype) for name, (dtype, _) in columns.items()])


def write_table(
    rows: Iterable[dict[str, Any]],
    columns: Columns,
    out: str | os.PathLike[str],
    run_id: str,
    meta: dict[str, Any],
) -> Path:
    """Write ``rows`` (unknown keys rejected, missing ones null) and ``meta``; return the Parquet path."""
    rows = list(rows)
    for row in rows:
        unknown = set(row) - set(columns)
        if unknown:
            raise KeyError(f"not columns of this table: {sorted(unknown)}")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    parquet, side = folder / f"{run_id}.parquet", folder / f"{run_id}.json"
    for path in (parquet, side):
        if path.exists():
            raise FileExistsError(f"{path} exists: results are never overwritten")
    meta = {**meta, "n_rows": len(rows), "columns": {k: doc for k, (_, doc) in columns.items()}}
    text = json.dumps(meta, sort_keys=True, default=str)
    table = pa.Table.from_pylist(rows, schema=schema_of(columns))
    table = table.replace_schema_metadata({META_KEY: text.encode()})
    tmp = parquet.with_name(f".{parquet.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, parquet)
    tmp = side.with_name(f".{side.name}.tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, side)
    return parquet


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """One table file, or every ``*.parquet`` under a folder, as one frame (``attrs["meta"]``: last file's)."""
    p = Path(path)
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*.parquet") if not f.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no tables at {p}")
    frames, meta = [], {}
    for f in files:
        table = pq.read_table(f)
        meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
        frames.append(table.to_pandas())
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs["meta"] = meta
    return frame
