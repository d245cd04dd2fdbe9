"""Micro-benchmark of CURVE MESSAGE encoding and decoding (not collected by pytest).

Run from the repository root: .venv/bin/python -m tests.zmtp.bench_curve [--quick]
Reports how many MESSAGEs per second one connection's mechanism encodes (``encode``: nonce, box, frame
header) and decodes (``decode``: nonce check, open) for 64 B and 64 KiB payloads, single-frame messages,
best of N repeats, and the same for the bare ``nacl.bindings`` calls (``crypto_box_easy_afternm`` and its
open) as a yardstick.
"""

from __future__ import annotations

import sys
import time

from nacl import bindings

from zlab.zmtp import curve
from zlab.zmtp.commands import encode_metadata


def connected() -> tuple[curve.CurveClient, curve.CurveServer]:
    spub, ssec = curve.keypair()
    cpub, csec = curve.keypair()
    c = curve.CurveClient(cpub, csec, spub)
    s = curve.CurveServer(ssec)
    s.start(encode_metadata({"Socket-Type": b"PULL"}))
    [hello] = c.start(encode_metadata({"Socket-Type": b"PUSH"}))
    [welcome] = s.receive(*hello)
    [initiate] = c.receive(*welcome)
    [ready] = s.receive(*initiate)
    c.receive(*ready)
    return c, s


def rate(fn, count: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(count)
        best = min(best, time.perf_counter() - t0)
    return count / best


def measure(size: int, count: int, repeats: int) -> tuple[float, float, float, float]:
    """(encode, decode, bare box, bare open) rates in messages per second for `size`-octet payloads."""
    payload = b"x" * size
    c, _ = connected()

    def encode(n: int) -> None:
        out: list = []
        enc = c.encode
        for _ in range(n):
            enc((payload,), out)
            if len(out) > 1000:
                out.clear()

    # decode needs fresh, increasing nonces for every repeat: seal them in advance
    c2, s2 = connected()
    codec = c2.codec
    assert codec is not None
    it = iter([codec.seal(payload) for _ in range(count * repeats)])

    def decode(n: int) -> None:
        dec = s2.decode
        for _ in range(n):
            dec(next(it))

    key = bindings.crypto_box_beforenm(*bindings.crypto_box_keypair())
    nonce = bytes(24)
    box = bindings.crypto_box_easy_afternm(payload, nonce, key)

    def bare_seal(n: int) -> None:
        seal = bindings.crypto_box_easy_afternm
        for _ in range(n):
            seal(payload, nonce, key)

    def bare_open(n: int) -> None:
        op = bindings.crypto_box_open_easy_afternm
        for _ in range(n):
            op(box, nonce, key)

    return tuple(rate(fn, count, repeats) for fn in (encode, decode, bare_seal, bare_open))  # type: ignore[return-value]


def main() -> None:
    quick = "--quick" in sys.argv
    repeats = 2 if quick else 5
    for size, count in ((64, 20000 if quick else 100000), (64 * 1024, 300 if quick else 2000)):
        enc_rate, dec_rate, bare_enc, bare_dec = measure(size, count, repeats)
        mb = size / 1e6
        print(
            f"{size:>6} B: encode {enc_rate:>10,.0f} msg/s ({enc_rate * mb:7.1f} MB/s)  "
            f"decode {dec_rate:>10,.0f} msg/s ({dec_rate * mb:7.1f} MB/s)  |  "
            f"bare PyNaCl box {bare_enc:>10,.0f}/s, open {bare_dec:>10,.0f}/s"
        )


if __name__ == "__main__":
    main()
