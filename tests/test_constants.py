"""zlab's flat constant names (zlab.REQ, zlab.LINGER ...) are written out in zlab/constants.py so type
checkers see them; this checks the written list against the enums it mirrors, in both directions."""

import ast
from pathlib import Path

import pytest

import zlab
from zlab import constants

pytestmark = pytest.mark.timeout(10)


def _written_names() -> dict[str, str]:
    tree = ast.parse(Path(constants.__file__).read_text())
    return {
        node.target.id: ast.unparse(node.value)
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None
        if ast.unparse(node.annotation) == "Final"
    }


def test_every_enum_member_is_written_out_with_its_value() -> None:
    written = _written_names()
    missing = sorted(set(constants._EXPORTED) - set(written))
    assert not missing, f"add to zlab/constants.py: {[f'{n}: Final = ...' for n in missing]}"
    for name, member in constants._EXPORTED.items():
        assert getattr(constants, name) is member, name
        assert getattr(zlab, name) is member, name


def test_nothing_written_out_that_no_enum_has() -> None:
    extra = sorted(set(_written_names()) - set(constants._EXPORTED))
    assert not extra, f"names without an enum member: {extra}"


def test_all_lists_every_flat_name() -> None:
    assert set(constants._EXPORTED) <= set(constants.__all__)
    assert len(constants.__all__) == len(set(constants.__all__))
