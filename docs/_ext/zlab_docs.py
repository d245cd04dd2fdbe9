# docs/_ext/zlab_docs.py -- pages generated from the code at build time, so they cannot drift from it.
"""Two Sphinx directives:

``.. zlab-cli::`` documents the ``zlab`` command from its argparse parser (``zlab.cli.build_parser``):
a section per subcommand with its usage, description and every option, so a subcommand or flag added
to the parser appears here without editing the docs.

``.. zlab-columns::`` documents the results schema from ``zlab.bench.COLUMNS``: every column with its
Arrow type, unit and meaning, and the schema version.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

_SPECIAL = re.compile(r"([\\`*_|\[\]<>:])")


def _text(value: object) -> str:
    """Plain text made safe for reST (every markup character escaped)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _literal(value: str) -> str:
    return f"``{value}``" if value else ""


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """An action's help with argparse's %(default)s-style fields expanded, as argparse prints it."""
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    formatter = parser._get_formatter()
    return formatter._expand_help(action)


def _default(action: argparse.Action) -> str:
    value = action.default
    if value is None or value is argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
        return ""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _underline(title: str, char: str) -> list[str]:
    return [title, char * len(title), ""]


def _parser_lines(parser: argparse.ArgumentParser, title: str, char: str) -> list[str]:
    lines = _underline(title, char)
    if parser.description:
        lines += [_text(parser.description), ""]
    usage = parser.format_usage().strip().removeprefix("usage: ")
    lines += ["::", "", *("    " + line for line in usage.splitlines()), ""]
    rows = []
    subparsers: list[argparse._SubParsersAction[Any]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            subparsers.append(action)
            continue
        if isinstance(action, argparse._HelpAction):
            continue
        metavar = " ".join(action.metavar) if isinstance(action.metavar, tuple) else action.metavar
        names = ", ".join(action.option_strings) or (metavar or action.dest)
        if action.option_strings and action.nargs != 0:
            if action.choices is not None and metavar is None:
                names += " {" + ",".join(str(c) for c in action.choices) + "}"
            else:
                names += f" {metavar or action.dest.upper()}"
        rows.append((names, _help(parser, action), _default(action)))
    if rows:
        lines += [".. list-table::", "   :header-rows: 1", "   :widths: 25 55 20", ""]
        lines += ["   * - option", "     - meaning", "     - default"]
        for names, helptext, default in rows:
            lines += [f"   * - {_literal(names)}", f"     - {_text(helptext)}", f"     - {_literal(default)}"]
        lines.append("")
    for group in subparsers:
        helps = {a.dest: a.help for a in group._choices_actions}
        for name, sub in group.choices.items():
            if not sub.description and helps.get(name):
                sub.description = str(helps[name])
            lines += _parser_lines(sub, f"{parser.prog.split()[-1]} {name}", "-")
    return lines


class CliDirective(SphinxDirective):
    """``.. zlab-cli::``: the zlab command, every subcommand and option, from the parser itself."""

    def run(self) -> list[nodes.Node]:
        from zlab.cli import build_parser

        parser = build_parser()
        lines = _parser_lines(parser, "zlab", "=")[3:]  # the page has the title
        node = nodes.section()
        nested_parse_with_titles(self.state, StringList(lines, source="zlab.cli.build_parser"), node)
        return node.children


_UNITS = (
    ("_per_s", {"msgs_per_s": "messages/s", "mb_per_s": "MB/s (10⁶ bytes/s)"}),
    ("_us", "µs"),
    ("_bytes", "bytes"),
    ("_pct", "% of all CPUs"),
    ("_s", "s"),
    ("_at", "UTC timestamp"),
)


def unit_of(name: str) -> str:
    """The unit a column's name says (its suffix; ``n_`` counts), or "" for a column without one."""
    if name.startswith("n_") or name.endswith("_msgs"):
        return "count"
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit.get(name, "messages/s") if isinstance(unit, dict) else unit
    return ""


class ColumnsDirective(SphinxDirective):
    """``.. zlab-columns::``: every result column from ``zlab.bench.COLUMNS``."""

    def run(self) -> list[nodes.Node]:
        from zlab.bench import COLUMNS, SCHEMA_VERSION

        lines = [
            f"Schema version **{SCHEMA_VERSION}**: {len(COLUMNS)} columns, in the order of the files.",
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 18 12 12 58",
            "",
            "   * - column",
            "     - Arrow type",
            "     - unit",
            "     - meaning",
        ]
        for name, (dtype, meaning) in COLUMNS.items():
            lines += [
                f"   * - ``{name}``",
                f"     - {_literal(str(dtype))}",
                f"     - {_text(unit_of(name))}",
                f"     - {_text(meaning)}",
            ]
        node = nodes.section()
        nested_parse_with_titles(self.state, StringList(lines, source="zlab.bench.COLUMNS"), node)
        return node.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("zlab-cli", CliDirective)
    app.add_directive("zlab-columns", ColumnsDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
