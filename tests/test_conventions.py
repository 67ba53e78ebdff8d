"""The one vocabulary of the CLI (README, "Conventions"), checked on every command's --help:
the argparse tree of ``lmforge.cli.build_parser`` is walked, so a new command is checked too."""

from __future__ import annotations

import argparse
import json

import pytest

from lmforge.cli import build_parser, main
from lmforge.config.cli import FORMATS, DeprecatedFlag

# spellings replaced by one name each (the old ones still work, hidden, with a warning)
BANNED = {"--num-threads": "--threads", "--nthreads": "--threads", "--n-threads": "--threads",
          "--workers": "--threads", "--input": "--data", "--output": "--out",
          "--text-path": "--text-file", "--csv": "--format csv", "--jsonl": "--format jsonl"}


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


ALL = list(commands(build_parser()))


def visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.help != argparse.SUPPRESS
            and not isinstance(a, argparse._HelpAction | argparse._VersionAction
                               | argparse._SubParsersAction)]


def test_the_walk_sees_every_command() -> None:
    names = {" ".join(path) for path, _ in ALL}
    assert {"train", "evaluate", "predict", "ngram eval", "prompt classify", "runs list",
            "serve", "compare", "explain", "generate eval", "tokenizer coverage"} <= names
    assert len(names) > 25


@pytest.mark.parametrize(("path", "parser"), ALL, ids=[" ".join(p) or "lmforge" for p, _ in ALL])
def test_every_command_follows_the_conventions(path: tuple[str, ...], parser) -> None:
    where = "lmforge " + " ".join(path)
    for action in visible(parser):
        name = action.option_strings[0] if action.option_strings else action.dest
        assert (action.help or "").strip(), f"{where}: {name} has no help text"
        for option in action.option_strings:
            assert option not in BANNED, f"{where}: {option} (use {BANNED[option]})"
            if "thread" in option:
                assert option == "--threads", f"{where}: {option} (use --threads)"
        if "--text" in action.option_strings:  # always the text itself
            assert "file" not in action.help.lower(), f"{where}: --text must be a literal text"
        if "--text-file" in action.option_strings or "--out" in action.option_strings:
            assert action.nargs != 0, f"{where}: {name} takes a path"
        if "--json" in action.option_strings:  # always "also write JSON to FILE"
            assert action.nargs is None and action.const is None, f"{where}: --json FILE"
        if "--format" in action.option_strings:
            assert set(action.choices) <= set(FORMATS), f"{where}: --format {action.choices}"
        assert "score_<" not in action.help, f"{where}: scores are prob_<label> columns"
    for action in parser._actions:  # old spellings are hidden aliases, never advertised
        if isinstance(action, DeprecatedFlag):
            assert action.help == argparse.SUPPRESS


def test_old_spellings_still_work_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    args = parser.parse_args(["train", "--data", "d.csv", "--num-threads", "3"])
    assert args.num_threads == "3"
    assert args.deprecated_flags == ["--num-threads is deprecated; use --threads (same meaning)"]
    assert parser.parse_args(["train", "--data", "d.csv", "--threads", "3"]).num_threads == "3"
    assert main(["models", "--json"]) == 0
    printed = capsys.readouterr()
    assert isinstance(json.loads(printed.out), list)
    assert "--json is deprecated; use --format json" in printed.err


def test_recipes_are_listed_whole(capsys: pytest.CaptureFixture[str]) -> None:
    from lmforge.recipes import available, describe

    assert main(["recipes"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for name in available():
        assert " ".join(describe(name).split()) in out  # wrapped, never cut
        assert describe(name).endswith((".", ")"))      # the whole comment block, to its end
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(name in help_text for name in available())
