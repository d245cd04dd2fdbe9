# zlab.bench.matrix -- the vocabulary of a benchmark sweep.
"""Valid choices, one :class:`Cell` per measurement, the run :class:`Budget`, and the expansion of a sweep.

Owns: the names that appear in the result columns (``impl``, ``transport``, ``pattern``, ``mode``,
``placement``), which (pattern, mode) pairs exist, which cells an implementation cannot run (and why),
and the parsing of user input (comma lists, sizes like ``64K``) into those names, with errors that
name the valid choices. Imports nothing heavy: worker processes import it too.

``api`` is the programming interface a cell drives its sockets through: ``sync`` (blocking calls) or
``asyncio`` (``zlab.asyncio`` / ``zmq.asyncio`` futures, waited on by the peer's event loop).

``mechanism`` is the ZMTP security mechanism of a cell's connections: ``null`` (none), ``plain``
(RFC 24, checked by a ZAP handler in the binding peer) or ``curve`` (RFC 25/26: every message encrypted).
libzmq applies mechanisms to tcp and ipc only, and raw has none: those cells are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IMPLS: tuple[str, ...] = ("zlab", "pyzmq", "raw")
TRANSPORTS: tuple[str, ...] = ("inproc", "ipc", "tcp")
PATTERNS: tuple[str, ...] = ("reqrep", "pair", "dealer-router", "pushpull", "pubsub")
MODES: tuple[str, ...] = ("latency", "throughput")
PLACEMENTS: tuple[str, ...] = ("none", "one", "split")
APIS: tuple[str, ...] = ("sync", "asyncio")
MECHANISMS: tuple[str, ...] = ("null", "plain", "curve")

#: The modes each pattern can be measured in (ping-pong = latency, flood = throughput).
PATTERN_MODES: dict[str, tuple[str, ...]] = {
    "reqrep": ("latency",),
    "pair": ("latency", "throughput"),
    "dealer-router": ("latency", "throughput"),
    "pushpull": ("throughput",),
    "pubsub": ("throughput",),
}

#: The standard size sweep: 8 B to 1 MiB in powers of 4 (``--size standard``).
STANDARD_SIZES: tuple[int, ...] = (8, 32, 128, 512, 2048, 8192, 32768, 131072, 524288, 1048576)

#: Patterns the plain-Python floor has an equivalent for: a point-to-point framed stream.
RAW_PATTERNS: frozenset[str] = frozenset({"reqrep", "pair", "pushpull"})
#: Implementations with an asyncio front end (``zlab.asyncio``, ``zmq.asyncio``).
ASYNC_IMPLS: frozenset[str] = frozenset({"zlab", "pyzmq"})
#: Transports a security mechanism applies to (libzmq does no handshake on inproc).
SECURE_TRANSPORTS: frozenset[str] = frozenset({"tcp", "ipc"})


class ChoiceError(ValueError):
    """A user-supplied name or number is not valid; the message names the valid choices."""


@dataclass(frozen=True)
class Cell:
    """One measurement of the matrix (repeats of it are separate rows)."""

    impl: str
    transport: str
    pattern: str
    mode: str
    msg_size_bytes: int
    n_subscribers: int = 1
    api: str = "sync"
    mechanism: str = "null"

    @property
    def label(self) -> str:
        """Short human label, e.g. ``pyzmq tcp reqrep/latency 64B`` (``pyzmq/asyncio ...`` for asyncio,
        ``pyzmq+curve ...`` for a security mechanism)."""
        subs = f" x{self.n_subscribers}" if self.pattern == "pubsub" else ""
        impl = self.impl if self.api == "sync" else f"{self.impl}/{self.api}"
        if self.mechanism != "null":
            impl += f"+{self.mechanism}"
        return f"{impl} {self.transport} {self.pattern}/{self.mode}{subs} {format_size(self.msg_size_bytes)}"

    def skip_reason(self) -> str | None:
        """Why this cell cannot be measured by its implementation on any machine, or None."""
        if self.api == "asyncio" and self.impl not in ASYNC_IMPLS:
            return f"{self.impl} has no asyncio front end"
        if self.mechanism != "null" and self.impl == "raw":
            return "raw has no security mechanisms (null only)"
        if self.mechanism != "null" and self.transport not in SECURE_TRANSPORTS:
            return f"no security mechanism on {self.transport} (libzmq applies them to tcp and ipc only)"
        if self.impl == "raw" and self.pattern not in RAW_PATTERNS:
            return (
                f"raw has no {self.pattern} equivalent (point-to-point stream only: reqrep, pair, pushpull)"
            )
        return None


@dataclass(frozen=True)
class Budget:
    """How long each cell runs: sized by time, capped by count, after a warm-up."""

    duration_s: float = 1.0
    max_msgs: int = 20_000_000
    warmup_s: float = 0.2
    warmup_msgs: int = 1000

    @classmethod
    def make(
        cls, quick: bool = False, duration_s: float | None = None, max_msgs: int | None = None
    ) -> Budget:
        """The default budget, or the short ``quick`` one (CI and smoke runs), with overrides."""
        base = cls(duration_s=0.05, max_msgs=200_000, warmup_s=0.01, warmup_msgs=10) if quick else cls()
        if duration_s is not None:
            if duration_s <= 0:
                raise ChoiceError(f"duration must be positive, not {duration_s}")
            base = cls(duration_s, base.max_msgs, min(base.warmup_s, duration_s / 5), base.warmup_msgs)
        if max_msgs is not None:
            if max_msgs < 1:
                raise ChoiceError(f"max_msgs must be at least 1, not {max_msgs}")
            base = cls(base.duration_s, max_msgs, base.warmup_s, min(base.warmup_msgs, max(3, max_msgs)))
        return base


_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmg]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str | int) -> int:
    """``64`` -> 64, ``64K``/``64KiB`` -> 65536, ``1M`` -> 1048576 (binary units). Sizes are >= 1 byte."""
    if isinstance(text, int):
        value = text
    else:
        match = _SIZE_RE.match(str(text))
        if not match:
            raise ChoiceError(f"size {text!r} is not a number of bytes (examples: 64, 64K, 1M, standard)")
        value = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if value < 1:
        raise ChoiceError(f"size {text!r} must be at least 1 byte (empty messages mark the end of a run)")
    return value


def format_size(n: int) -> str:
    """65536 -> ``64KiB``, 1048576 -> ``1MiB``, 100 -> ``100B``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}B"


def parse_choices(value: str | Iterable[str], valid: Sequence[str], what: str) -> list[str]:
    """A comma list (or iterable) of names, each checked against ``valid``; order kept, duplicates dropped."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        if item not in valid:
            raise ChoiceError(f"unknown {what} {item!r} (valid: {', '.join(valid)})")
        if item not in out:
            out.append(item)
    if not out:
        raise ChoiceError(f"no {what} given (valid: {', '.join(valid)})")
    return out


def parse_sizes(value: str | int | Iterable[str | int]) -> list[int]:
    """A comma list (or iterable) of sizes, see :func:`parse_size`; ``standard`` means :data:`STANDARD_SIZES`."""
    if isinstance(value, int):
        items: list[str | int] = [value]
    elif isinstance(value, str):
        items = [v for v in value.split(",") if v.strip()]
    else:
        items = list(value)
    sizes: list[int] = []
    for item in items:
        for size in STANDARD_SIZES if str(item).strip() == "standard" else (parse_size(item),):
            if size not in sizes:
                sizes.append(size)
    if not sizes:
        raise ChoiceError("no message size given (examples: 64, 64K, 1M)")
    return sizes


def parse_counts(value: str | int | Iterable[str | int], what: str) -> list[int]:
    """A comma list (or iterable) of positive integers, e.g. subscriber counts ``1,2,4``."""
    items = value.split(",") if isinstance(value, str) else [value] if isinstance(value, int) else list(value)
    out: list[int] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not text.isdigit() or int(text) < 1:
            raise ChoiceError(f"{what} {text!r} is not a positive integer")
        if int(text) not in out:
            out.append(int(text))
    if not out:
        raise ChoiceError(f"no {what} given")
    return out


def build_cells(
    impls: Sequence[str],
    transports: Sequence[str],
    patterns: Sequence[str],
    sizes: Sequence[int],
    modes: Sequence[str] = MODES,
    subscribers: Sequence[int] = (1,),
    apis: Sequence[str] = ("sync",),
    mechanisms: Sequence[str] = ("null",),
) -> list[Cell]:
    """Expand a sweep into cells, implementations innermost so they run back to back (then mechanisms,
    then APIs: ``zlab`` and ``pyzmq`` over CURVE are neighbours in time, as over NULL).

    Patterns are paired only with the modes they support; ``subscribers`` applies to pubsub only
    (other patterns have one receiving peer). Raises ChoiceError when nothing is left to measure.
    """
    cells: list[Cell] = []
    for transport in transports:
        for pattern in patterns:
            for mode in (m for m in modes if m in PATTERN_MODES[pattern]):
                for size in sizes:
                    for subs in subscribers if pattern == "pubsub" else (1,):
                        for api in apis:
                            for mech in mechanisms:
                                cells.extend(
                                    Cell(impl, transport, pattern, mode, size, subs, api, mech)
                                    for impl in impls
                                )
    if not cells:
        pairs = "; ".join(f"{p}: {', '.join(PATTERN_MODES[p])}" for p in patterns)
        raise ChoiceError(f"no pattern supports the modes {', '.join(modes)} ({pairs})")
    return cells
