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
#: Every mode a cell can have; ``load`` (open loop at offered rates) runs only when asked for.
ALL_MODES: tuple[str, ...] = (*MODES, "load")
PLACEMENTS: tuple[str, ...] = ("none", "one", "split")
APIS: tuple[str, ...] = ("sync", "asyncio")
MECHANISMS: tuple[str, ...] = ("null", "plain", "curve")

#: The modes each pattern can be measured in (ping-pong = latency, flood = throughput, open loop at an
#: offered rate = load; REQ allows one request in flight, so reqrep has no load mode: DEALER/ROUTER does).
PATTERN_MODES: dict[str, tuple[str, ...]] = {
    "reqrep": ("latency",),
    "pair": ("latency", "throughput"),
    "dealer-router": ("latency", "throughput", "load"),
    "pushpull": ("throughput", "load"),
    "pubsub": ("throughput", "load"),
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
    #: mode ``load`` only: the offered rate (messages per second) and the arrival process.
    rate: float | None = None
    arrival: str = "uniform"

    @property
    def label(self) -> str:
        """Short human label, e.g. ``pyzmq tcp reqrep/latency 64B`` (``pyzmq/asyncio ...`` for asyncio,
        ``pyzmq+curve ...`` for a security mechanism)."""
        subs = f" x{self.n_subscribers}" if self.pattern == "pubsub" else ""
        impl = self.impl if self.api == "sync" else f"{self.impl}/{self.api}"
        if self.mechanism != "null":
            impl += f"+{self.mechanism}"
        rate = f" @{format_rate(self.rate)}/s" if self.rate is not None else ""
        if rate and self.arrival != "uniform":
            rate += f" {self.arrival}"
        return f"{impl} {self.transport} {self.pattern}/{self.mode}{subs} {format_size(self.msg_size_bytes)}{rate}"

    def skip_reason(self) -> str | None:
        """Why this cell cannot be measured by its implementation on any machine, or None."""
        if self.api == "asyncio" and self.impl not in ASYNC_IMPLS:
            return f"{self.impl} has no asyncio front end"
        if self.mechanism != "null" and self.impl == "raw":
            return "raw has no security mechanisms (null only)"
        if self.mechanism != "null" and self.transport not in SECURE_TRANSPORTS:
            return f"no security mechanism on {self.transport} (libzmq applies them to tcp and ipc only)"
        if self.mode == "load" and self.api != "sync":
            return "load mode drives blocking sockets only (sync api)"
        if self.mode == "load" and self.msg_size_bytes < 16:
            return "load mode needs messages of at least 16 B (two timestamps ride in each)"
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


_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([km]?)\s*$", re.IGNORECASE)
#: ``--rate sweep``: rates chosen per implementation and transport by a flood probe.
SWEEP = "sweep"


def parse_rate(text: str | float) -> float:
    """``1000`` -> 1000.0, ``10k`` -> 10000.0, ``1.5M`` -> 1500000.0 (decimal units, messages per second)."""
    if isinstance(text, int | float):
        value = float(text)
    else:
        match = _RATE_RE.match(str(text))
        if not match:
            raise ChoiceError(f"rate {text!r} is not messages per second (examples: 500, 10k, 1.5M, sweep)")
        value = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    if value <= 0:
        raise ChoiceError(f"rate {text!r} must be positive")
    return value


def parse_rates(value: str | float | Iterable[str | float]) -> list[float] | str:
    """A comma list (or iterable) of rates (see :func:`parse_rate`), or :data:`SWEEP`."""
    if isinstance(value, str) and value.strip() == SWEEP:
        return SWEEP
    items = (
        value.split(",")
        if isinstance(value, str)
        else [value]
        if isinstance(value, int | float)
        else list(value)
    )
    out: list[float] = []
    for item in items:
        if str(item).strip() and parse_rate(item) not in out:
            out.append(parse_rate(item))
    if not out:
        raise ChoiceError("no rate given (examples: 1k,10k,100k or sweep)")
    return out


def format_rate(rate: float) -> str:
    """10000.0 -> ``10k``, 1500000.0 -> ``1.5M``, 500.0 -> ``500``."""
    for unit, factor in (("M", 1e6), ("k", 1e3)):
        if rate >= factor:
            return f"{rate / factor:.4g}{unit}"
    return f"{rate:.4g}"


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
    rates: Sequence[float] = (),
    arrival: str = "uniform",
) -> list[Cell]:
    """Expand a sweep into cells, implementations innermost so they run back to back (then mechanisms,
    then APIs: ``zlab`` and ``pyzmq`` over CURVE are neighbours in time, as over NULL).

    Patterns are paired only with the modes they support; ``subscribers`` applies to pubsub only
    (other patterns have one receiving peer); ``rates`` (mode ``load`` only) multiply load cells, lowest
    rate first. Raises ChoiceError when nothing is left to measure.
    """
    if "load" in modes and not rates:
        raise ChoiceError("mode load needs offered rates (e.g. rates=[1000, 10000] or --rate 1k,10k)")
    cells: list[Cell] = []
    for transport in transports:
        for pattern in patterns:
            for mode in (m for m in modes if m in PATTERN_MODES[pattern]):
                for size in sizes:
                    for subs in subscribers if pattern == "pubsub" else (1,):
                        for api in apis:
                            for mech in mechanisms:
                                for rate in sorted(rates) if mode == "load" else (None,):
                                    cells.extend(
                                        Cell(
                                            impl,
                                            transport,
                                            pattern,
                                            mode,
                                            size,
                                            subs,
                                            api,
                                            mech,
                                            rate,
                                            arrival,
                                        )
                                        for impl in impls
                                    )
    if not cells:
        pairs = "; ".join(f"{p}: {', '.join(PATTERN_MODES[p])}" for p in patterns)
        raise ChoiceError(f"no pattern supports the modes {', '.join(modes)} ({pairs})")
    return cells
