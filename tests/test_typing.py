"""zlab's type information for its users: the PEP 561 marker ships, getsockopt's option kinds match the
option table, and a user's code type-checks the way the API documents (mypy on a small program)."""

import textwrap
import typing
from pathlib import Path

import pytest

import zlab
from zlab.constants import SocketOption
from zlab.options import OPTION_SPECS, BytesOption, IntOption

_CURVE_KEYS = {SocketOption.CURVE_PUBLICKEY, SocketOption.CURVE_SECRETKEY, SocketOption.CURVE_SERVERKEY}
_FACADE_INTS = {SocketOption.RCVMORE, SocketOption.EVENTS, SocketOption.FD, SocketOption.HWM}


@pytest.mark.timeout(10)
def test_py_typed_marker_is_in_the_package() -> None:
    assert (Path(zlab.__file__).parent / "py.typed").is_file()
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert 'zlab = ["py.typed"]' in pyproject  # package data, so wheels carry it


@pytest.mark.timeout(10)
def test_option_kinds_match_the_option_table() -> None:
    as_bytes = set(typing.get_args(BytesOption))
    as_int = set(typing.get_args(IntOption))
    assert not as_bytes & as_int
    readable = {
        opt: spec for opt, spec in OPTION_SPECS.items() if opt not in _CURVE_KEYS and not spec.writeonly
    }
    want_bytes = {opt for opt, spec in readable.items() if spec.kind == "bytes"} | {
        SocketOption.LAST_ENDPOINT
    }
    assert as_bytes == want_bytes, "update zlab.options.BytesOption"
    assert as_int <= {opt for opt, spec in readable.items() if spec.kind != "bytes"} | _FACADE_INTS


@pytest.mark.timeout(10)
def test_getsockopt_returns_what_its_kind_says() -> None:
    """Each option of either kind is read on a socket type it applies to, and has the declared type."""
    unset = {SocketOption.PLAIN_USERNAME, SocketOption.PLAIN_PASSWORD, SocketOption.ZAP_DOMAIN}
    kinds = [(o, bytes) for o in typing.get_args(BytesOption) if o not in unset]
    kinds += [(o, int) for o in typing.get_args(IntOption)]
    read: set[int] = set()
    ctx = zlab.Context()
    try:
        for socket_type in (zlab.DEALER, zlab.ROUTER, zlab.REQ, zlab.SUB, zlab.XPUB, zlab.PULL, zlab.PUB):
            s = ctx.socket(socket_type)
            s.linger = 0
            for option, kind in kinds:
                try:
                    value = s.getsockopt(option)
                except zlab.ZMQError as exc:
                    assert exc.errno == zlab.EINVAL  # not for this socket type
                    continue
                assert isinstance(value, kind), (option, socket_type, value)
                read.add(option)
            if socket_type == zlab.DEALER:
                with pytest.raises(TypeError):
                    s.getsockopt_string(zlab.LINGER)
            s.close()
    finally:
        ctx.term()
    assert read == {o for o, _ in kinds}, "some options were read on no socket type"


USER_CODE = """
    import zlab

    ctx = zlab.Context()
    s = ctx.socket(zlab.REQ)
    endpoint: str = s.getsockopt(zlab.LAST_ENDPOINT).decode()
    linger: int = s.getsockopt(zlab.LINGER) + 1
    identity: bytes = s.get(zlab.IDENTITY)
    kind: int = zlab.REQ
    s.send(b"x", zlab.NOBLOCK)
    wrong: str = s.getsockopt(zlab.LINGER)
"""


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_user_code_type_checks_against_zlab(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    program = tmp_path / "user.py"
    program.write_text(textwrap.dedent(USER_CODE))
    out, err, status = api.run(
        [
            str(program),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "--follow-imports=silent",
        ]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    # exactly the deliberate mistake: an int option read into a str
    assert status == 1, out + err
    assert len(errors) == 1, out + err
    assert "user.py:11:" in errors[0] and "int" in errors[0], errors
