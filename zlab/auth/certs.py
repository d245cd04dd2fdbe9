"""CURVE certificate files in the czmq format pyzmq writes (ZPL text: a ``curve`` section with
``public-key = "..."`` and, in the secret file, ``secret-key = "..."``, keys in Z85).

Owns: ``load_certificate``, ``load_certificates`` (the public keys of every ``*.key`` file in a
folder) and ``create_certificates`` (needs ``zlab.curve_keypair``, from the CURVE work). Layer L3.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import zlab

_BANNER = """#   ****  Generated on {now} by zlab  ****
#   ZeroMQ CURVE {kind} Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.

"""


def _value(line: bytes) -> bytes:
    """The value of a ZPL ``name = value`` line, without quotes."""
    return line.split(b"=", 1)[1].strip().strip(b"\"'")


def load_certificate(filename: str | os.PathLike) -> tuple[bytes, bytes | None]:
    """(public key, secret key or None) from a certificate file, as Z85 bytes.

    OSError if the file doesn't exist; ValueError if it holds no public key."""
    path = Path(filename)
    if not path.is_file():
        raise OSError(f"Invalid certificate file: {filename}")
    public = secret = None
    for raw in path.read_bytes().splitlines():
        line = raw.strip()
        if not line or line.startswith(b"#") or b"=" not in line:
            continue
        name = line.split(b"=", 1)[0].strip()
        if name == b"public-key":
            public = _value(line)
        elif name == b"secret-key":
            secret = _value(line)
    if public is None:
        raise ValueError(f"No public key found in {filename}")
    return public, secret


def load_certificates(directory: str | os.PathLike = ".") -> dict[bytes, bool]:
    """The public keys (Z85 bytes) of every ``*.key`` certificate in ``directory``: {key: True}."""
    folder = Path(directory)
    if not folder.is_dir():
        raise OSError(f"Invalid certificate directory: {directory}")
    keys: dict[bytes, bool] = {}
    for cert in sorted(folder.glob("*.key")):
        public, _secret = load_certificate(cert)
        keys[public] = True
    return keys


def _write(
    path: Path, kind: str, public: bytes, secret: bytes | None, metadata: dict[str, str] | None
) -> None:
    lines = [_BANNER.format(now=datetime.datetime.now(), kind=kind), "metadata\n"]
    for name, value in (metadata or {}).items():
        lines.append(f"    {name} = {value}\n")
    lines.append("curve\n")
    lines.append(f'    public-key = "{public.decode("ascii")}"\n')
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode("ascii")}"\n')
    path.write_text("".join(lines), encoding="utf-8")


def create_certificates(
    key_dir: str | os.PathLike, name: str, metadata: dict[str, str] | None = None
) -> tuple[str, str]:
    """Write ``name.key`` (public) and ``name.key_secret`` in ``key_dir`` for a new key pair;
    return their paths."""
    keypair = getattr(zlab, "curve_keypair", None)
    if keypair is None:  # pragma: no cover - depends on which branches are merged
        raise NotImplementedError("create_certificates needs zlab.curve_keypair (CURVE)")
    public, secret = keypair()
    base = Path(key_dir) / name
    public_file = base.with_name(base.name + ".key")
    secret_file = base.with_name(base.name + ".key_secret")
    _write(public_file, "Public", public, None, None)
    _write(secret_file, "Secret", public, secret, metadata)
    return str(public_file), str(secret_file)


__all__ = ["create_certificates", "load_certificate", "load_certificates"]
