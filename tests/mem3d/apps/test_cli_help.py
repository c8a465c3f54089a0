"""``mem3d --help`` and every command's help: an explanation for every option, defaults shown,
sub-commands listed, and ``mem3d --version``."""

import argparse

import pytest

from mem3d.apps import cli
from mem3d.apps.cli import COMMANDS, Parser


def parsers_of(name: str) -> list[argparse.ArgumentParser]:
    """The parser of ``mem3d NAME`` and of each of its sub-commands."""
    module = cli._load(name)
    parser = Parser(prog=f"mem3d {name}")
    module.add_arguments(parser)
    found, todo = [], [parser]
    while todo:
        current = todo.pop()
        found.append(current)
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())
    return found


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_has_help_and_defaults_are_shown(name):
    for parser in parsers_of(name):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{parser.prog} {action.option_strings or action.dest} has no help"
        text = parser.format_help()
        for action in parser._actions:
            if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS):
                assert "default" in (action.help or "").lower() or f"(default: {action.default})" in " ".join(
                    text.split()), f"{parser.prog} {action.option_strings[0]} hides its default"


def test_sim_help_lists_its_subcommands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sim", "--help"])
    text = capsys.readouterr().out
    for action in ("render", "scene", "record", "serve"):
        assert f"    {action}" in text


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("mem3d 0.")
