"""Z85 (RFC 32): the codec in zlab.zmtp.z85, its public home zlab.utils.z85, and the CURVE key helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zlab
from zlab.utils import z85

zmq = pytest.importorskip("zmq")
from zmq.utils import z85 as zmq_z85  # noqa: E402

# RFC 32 "Test Case"
RFC32_RAW = bytes((0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B))
RFC32_TEXT = b"HelloWorld"
# the key pair of libzmq's documentation and tests (zmq_curve(7), tests/testutil_security)
DOC_PUBLIC = b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
DOC_SECRET = b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

words = st.binary(max_size=64).map(lambda b: b[: len(b) - len(b) % 4])


def test_rfc32_test_vector() -> None:
    assert z85.encode(RFC32_RAW) == RFC32_TEXT
    assert z85.decode(RFC32_TEXT) == RFC32_RAW
    assert z85.decode("HelloWorld") == RFC32_RAW


def test_extremes_and_empty() -> None:
    assert z85.encode(b"") == b"" and z85.decode(b"") == b""
    assert z85.encode(b"\x00" * 4) == b"00000"
    assert z85.encode(b"\xff" * 4) == b"%nSc0"
    assert z85.decode(b"%nSc0") == b"\xff" * 4


@pytest.mark.parametrize("n", [1, 2, 3, 5, 31, 33])
def test_encode_length_not_multiple_of_4(n: int) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        z85.encode(bytes(n))


@pytest.mark.parametrize("text", [b"Hell", b"HelloW", "x" * 39, b"x" * 41])
def test_decode_length_not_multiple_of_5(text: bytes | str) -> None:
    with pytest.raises(ValueError, match="multiple of 5"):
        z85.decode(text)


@pytest.mark.parametrize(
    "text", [b"Hello Worl", b"Hell\x00", b"'''''", b'"abcd', b"abc,d", b"\xffabcd", "Hellö"]
)
def test_decode_bad_characters(text: bytes | str) -> None:
    with pytest.raises(ValueError):
        z85.decode(text)


def test_decode_group_above_32_bits() -> None:
    with pytest.raises(ValueError, match="2\\*\\*32"):
        z85.decode(b"%nSc1")  # 0xFFFFFFFF + 1
    with pytest.raises(ValueError):
        z85.decode(b"#####")


@given(words)
def test_round_trip_and_agreement_with_pyzmq(raw: bytes) -> None:
    text = z85.encode(raw)
    assert len(text) == len(raw) // 4 * 5
    assert z85.decode(text) == raw
    assert z85.decode(text.decode("ascii")) == raw
    assert text == zmq_z85.encode(raw)
    assert zmq_z85.decode(text) == raw


@given(st.lists(st.sampled_from(z85.Z85CHARS), min_size=5, max_size=5).map(bytes))
def test_decode_agrees_with_pyzmq_on_any_valid_group(text: bytes) -> None:
    value = sum(z85.Z85CHARS.index(c) * 85 ** (4 - i) for i, c in enumerate(text))
    if value > 0xFFFFFFFF:
        with pytest.raises(ValueError):
            z85.decode(text)
    else:
        assert z85.decode(text) == zmq_z85.decode(text)


def test_curve_public_of_the_documented_key() -> None:
    assert zlab.curve_public(DOC_SECRET) == DOC_PUBLIC
    assert zlab.curve_public(DOC_SECRET.decode()) == DOC_PUBLIC


def test_curve_keypair_is_z85_and_consistent_with_libzmq() -> None:
    public, secret = zlab.curve_keypair()
    assert len(public) == len(secret) == 40
    assert len(z85.decode(public)) == len(z85.decode(secret)) == 32
    assert zlab.curve_public(secret) == public == zmq.curve_public(secret)
    _other_public, other_secret = zlab.curve_keypair()
    assert other_secret != secret


def test_curve_public_rejects_a_bad_key() -> None:
    with pytest.raises(ValueError):
        zlab.curve_public(b"too short")


def test_has_curve() -> None:
    assert zlab.has("curve") and zlab.has("ipc") and not zlab.has("gssapi")
