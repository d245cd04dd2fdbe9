"""Micro-benchmark of the zmtp hot paths (not collected by pytest).

Run from the repository root: .venv/bin/python -m tests.zmtp.bench_decoder [--quick]
Reports receive_data parse rates (frames/s, MB/s of payload) for 1 B, 64 B and 1 KiB frames fed in
256 KiB chunks and 1 MiB frames fed in 64 KiB chunks, and encode_message rates for the same sizes
(encode + one b"".join per 256 KiB batch, as an engine would before a send). Best of N repeats.
"""

from __future__ import annotations

import sys
import time

from zlab.constants import SocketType as T
from zlab.zmtp import Connection, encode_message


def established() -> Connection:
    c = Connection(T.PULL)
    g = b"\xff" + bytes(8) + b"\x7f\x03\x01NULL" + bytes(16 + 32)
    body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH"
    c.receive_data(g + bytes((4, len(body))) + body)
    assert c.handshake_done
    c.data_to_send()
    return c


def bench_decode(size: int, chunk: int, total_bytes: int, repeats: int) -> tuple[float, float]:
    payload = b"x" * size
    out: list = []
    per = encode_message([payload], out)
    n_frames = max(1, total_bytes // per)
    wire = b"".join(out) * n_frames
    chunks = [wire[i : i + chunk] for i in range(0, len(wire), chunk)]
    best = float("inf")
    for _ in range(repeats):
        c = established()
        recv = c.receive_data
        count = 0
        t0 = time.perf_counter()
        for ch in chunks:
            count += len(recv(ch))
        dt = time.perf_counter() - t0
        assert count == n_frames, (count, n_frames)
        best = min(best, dt)
    return n_frames / best, n_frames * size / best / 1e6


def bench_encode(size: int, batch_bytes: int, total_bytes: int, repeats: int) -> tuple[float, float]:
    payload = b"x" * size
    per = size + (2 if size <= 255 else 9)
    n_frames = max(1, total_bytes // per)
    per_batch = max(1, batch_bytes // per)
    msg = [payload]
    best = float("inf")
    for _ in range(repeats):
        done = 0
        t0 = time.perf_counter()
        while done < n_frames:
            out: list = []
            k = min(per_batch, n_frames - done)
            for _ in range(k):
                encode_message(msg, out)
            b"".join(out) if size <= 65536 else out  # large frames go to sendmsg as a list
            done += k
        dt = time.perf_counter() - t0
        best = min(best, dt)
    return n_frames / best, n_frames * size / best / 1e6


def bench_encode_multipart(repeats: int) -> float:
    msg = [b"", b"header", b"x" * 64]
    n = 200_000
    best = float("inf")
    for _ in range(repeats):
        out: list = []
        t0 = time.perf_counter()
        for _ in range(n):
            encode_message(msg, out)
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    quick = "--quick" in sys.argv
    repeats = 2 if quick else 5
    total = (4 if quick else 32) * 1024 * 1024
    print(f"Python {sys.version.split()[0]}; best of {repeats}")
    print("receive_data (after handshake)")
    for size, chunk in ((1, 256 * 1024), (64, 256 * 1024), (1024, 256 * 1024), (1024 * 1024, 64 * 1024)):
        tb = total * (8 if size >= 1024 * 1024 else 1)
        fps, mbps = bench_decode(size, chunk, tb, repeats)
        print(
            f"  {size:>8} B frames, {chunk // 1024:>3} KiB chunks: {fps / 1e6:8.3f} M frames/s  {mbps:9.1f} MB/s"
        )
    print(
        "encode_message (single-frame messages; joined per 256 KiB batch, 1 MiB frames left as a sendmsg list)"
    )
    for size in (1, 64, 1024, 1024 * 1024):
        tb = total * (8 if size >= 1024 * 1024 else 1)
        fps, mbps = bench_encode(size, 256 * 1024, tb, repeats)
        rate = f"{mbps:9.1f} MB/s" if size <= 65536 else "(bodies passed by reference, no copy)"
        print(f"  {size:>8} B frames: {fps / 1e6:8.3f} M msgs/s  {rate}")
    print(
        f"encode_message 3-frame message ([b'', b'header', 64 B]): {bench_encode_multipart(repeats) / 1e6:.3f} M msgs/s"
    )


if __name__ == "__main__":
    main()
