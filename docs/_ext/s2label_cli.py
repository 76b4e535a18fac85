"""The command-line reference, generated from the argument parser (:func:`s2label.pipeline.cli.build_parser`).

``.. s2label-cli::`` writes the program's usage and description, then for each subcommand its usage, its
description and one section per argument group with every argument as an ``option`` (Sphinx's standard domain:
``:option:`s2label run --bands``` links to it and the index lists it) and its help text, defaults expanded.
Arguments whose help is ``argparse.SUPPRESS`` (the old names kept for a while) are left out, as ``--help`` does.
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

#: Characters that mean markup in reStructuredText inline text.
_INLINE = re.compile(r"([\\*`|_\[\]])")


#: An option named in a help text or description (``--out``): set as a literal, so that ``--`` stays two hyphens.
_OPTION = re.compile(r"(--[A-Za-z][\w-]*)")


def escape(text: str) -> str:
    """``text`` as reStructuredText: markup characters escaped, options named in it as literals."""
    parts = _OPTION.split(text)
    return "".join(f"``{part}``" if i % 2 else _INLINE.sub(r"\\\1", part) for i, part in enumerate(parts))


def build_parser() -> argparse.ArgumentParser:
    from s2label.pipeline.cli import build_parser

    return build_parser()


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of ``parser`` by name (none for a parser without any)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def documented_actions(group: argparse._ArgumentGroup) -> list[argparse.Action]:
    """The arguments of ``group`` that ``--help`` shows (not ``-h`` itself, nor suppressed ones)."""
    return [a for a in group._group_actions
            if a.help != argparse.SUPPRESS and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def _signature(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """What an ``option`` directive is given: ``--bands B02,B03,...``, ``--gpkg``, ``scene``."""
    formatter = _formatter(parser)
    if not action.option_strings:
        return action.dest
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    metavar = formatter._format_args(action, formatter._get_default_metavar_for_optional(action))
    return ", ".join(f"{option} {metavar}" for option in action.option_strings)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = _formatter(parser)._expand_help(action) if action.help else ""
    if action.choices is not None and not action.option_strings:
        text += f" (one of {', '.join(map(str, action.choices))})"
    return escape(" ".join(text.split()))


#: The width usage lines are wrapped at (not the terminal's, so that every build writes the same page).
WIDTH = 88


def _formatter(parser: argparse.ArgumentParser) -> argparse.HelpFormatter:
    return parser.formatter_class(prog=parser.prog, width=WIDTH)


def _usage(parser: argparse.ArgumentParser) -> list[str]:
    formatter = _formatter(parser)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    usage = formatter.format_help().strip()
    return [".. code-block:: text", ""] + [f"   {line}" for line in usage.splitlines()] + [""]


def command_rst(parser: argparse.ArgumentParser) -> list[str]:
    """The reStructuredText of ``parser``'s reference, below the page's title."""
    lines = _usage(parser)
    if parser.description:
        lines += [escape(parser.description), ""]
    for group in parser._action_groups:  # the program's own options (--version)
        actions = documented_actions(group)
        if actions:
            lines += [f".. program:: {parser.prog}", ""]
            for action in actions:
                lines += [f".. option:: {_signature(parser, action)}", "", f"   {_help(parser, action)}", ""]
    for name, sub in subcommands(parser).items():
        title = f"{parser.prog} {name}"
        lines += [title, "-" * len(title), ""] + _usage(sub)
        if sub.description:
            lines += [escape(sub.description), ""]
        lines += [f".. program:: {sub.prog}", ""]
        for group in sub._action_groups:
            actions = documented_actions(group)
            if not actions:
                continue
            heading = group.title or "options"
            lines += [heading, "~" * len(heading), ""]
            if group.description:
                lines += [escape(group.description), ""]
            for action in actions:
                lines += [f".. option:: {_signature(sub, action)}", "", f"   {_help(sub, action)}", ""]
    return lines


class CommandLine(SphinxDirective):
    """``.. s2label-cli::``: the whole ``s2label`` command line, from its parser."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        content = StringList(command_rst(build_parser()), source="<s2label-cli>")
        holder = nodes.section()
        holder.document = self.state.document
        nested_parse_with_titles(self.state, content, holder)
        return holder.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("s2label-cli", CommandLine)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
