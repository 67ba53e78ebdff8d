"""lmforge.config.cli: a config dataclass -> argparse flags -> the config back, with the
defaults < --recipe < --config < typed flags layering."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from lmforge.config.cli import (
    Layer,
    add_config_flags,
    add_layer_flags,
    config_from_args,
    file_layers,
)
from lmforge.errors import ConfigError


@dataclass
class Settings:
    name: str = "base"
    """The thing's name."""
    steps: int = 10
    """How many steps to take."""
    rate: float | None = None
    """Learning rate; default: picked for you."""
    verbose: bool = False
    """Say more while working."""
    mode: Literal["fast", "careful"] = "fast"
    """fast or careful."""
    files: list[str] = field(default_factory=list)
    """Input files."""

    def validate(self) -> None:
        problems = []
        if self.steps < 1:
            problems.append(f"steps: must be >= 1, got {self.steps}")
        if self.mode not in ("fast", "careful"):
            problems.append(f"mode: unknown '{self.mode}'")
        if problems:
            raise ConfigError("invalid settings: " + "; ".join(problems))


def parser_for(**options: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tool")
    add_layer_flags(parser, config_help="YAML file of settings", recipe_help="a named recipe")
    add_config_flags(parser, Settings, skip=("files",), **options)  # type: ignore[arg-type]
    return parser


def help_text(parser: argparse.ArgumentParser) -> str:
    return " ".join(parser.format_help().split())


def test_a_fields_docstring_is_its_help_with_the_default() -> None:
    text = help_text(parser_for())
    assert "--steps STEPS How many steps to take. (default: 10)" in text
    assert "--name NAME The thing's name. (default: base)" in text
    # no "(default: None)" and no default for booleans
    assert "--rate RATE Learning rate; default: picked for you. --verbose" in text
    assert "--verbose, --no-verbose Say more while working. --mode" in text
    assert "--files" not in text  # skipped
    assert "--recipe RECIPE a named recipe" in text and "--config CONFIG YAML file of settings" in text


def test_only_typed_flags_reach_the_namespace() -> None:
    args = parser_for().parse_args(["--steps", "3"])
    assert {k: v for k, v in vars(args).items() if v is not None} == {"steps": "3"}
    assert config_from_args(Settings, args) == Settings(steps=3)


def test_bool_flags() -> None:
    parser = parser_for()
    assert config_from_args(Settings, parser.parse_args(["--verbose"])).verbose is True
    assert config_from_args(Settings, parser.parse_args(["--no-verbose"])).verbose is False
    assert config_from_args(Settings, parser.parse_args([])).verbose is False


def test_choices_checked_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    parser = parser_for()
    assert "--mode {fast,careful}" in help_text(parser)
    assert config_from_args(Settings, parser.parse_args(["--mode", "careful"])).mode == "careful"
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "sloppy"])
    assert "argument --mode: invalid choice: 'sloppy'" in capsys.readouterr().err


def test_choices_left_to_validate_reports_every_problem_at_once() -> None:
    parser = parser_for(check_choices=False)
    assert "--mode fast|careful fast or careful." in help_text(parser)
    args = parser.parse_args(["--mode", "sloppy", "--steps", "0"])
    with pytest.raises(ConfigError) as info:
        config_from_args(Settings, args, check_choices=False)
    assert str(info.value) == "invalid settings: steps: must be >= 1, got 0; mode: unknown 'sloppy'"


def test_required_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser_for(required=("name",)).parse_args([])
    assert "the following arguments are required: --name" in capsys.readouterr().err


def test_bad_flag_values_are_all_reported_naming_the_source() -> None:
    args = parser_for().parse_args(["--steps", "many", "--rate", "fast"])
    with pytest.raises(ConfigError) as info:
        config_from_args(Settings, args, source="tool config")
    message = str(info.value)
    assert message.startswith("tool config: 'steps': ") and "'rate': " in message


def test_validate_runs_unless_asked_not_to() -> None:
    args = parser_for().parse_args(["--steps", "0"])
    with pytest.raises(ConfigError, match="steps: must be >= 1, got 0"):
        config_from_args(Settings, args)
    assert config_from_args(Settings, args, validate=False).steps == 0


def test_layering_defaults_then_recipe_then_config_then_flags(tmp_path: Path) -> None:
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("steps: 30\nrate: 0.5\n", encoding="utf-8")
    recipes = {"quick": {"name": "quick", "steps": 20, "rate": 0.1, "mode": "careful"}}
    args = parser_for().parse_args(["--recipe", "quick", "--config", str(config_file),
                                    "--rate", "0.9"])
    layers = file_layers(args, recipes=recipes.__getitem__)
    assert [layer.source for layer in layers] == ["recipe quick", str(config_file)]
    config = config_from_args(Settings, args, layers=layers)
    # name: recipe; steps: --config over the recipe; rate: the flag over both; verbose: default
    assert config == Settings(name="quick", steps=30, rate=0.9, mode="careful", verbose=False)


def test_a_layers_unknown_key_names_its_file(tmp_path: Path) -> None:
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("steps: 3\nspeed: 2\n", encoding="utf-8")
    args = parser_for().parse_args(["--config", str(config_file)])
    with pytest.raises(ConfigError) as info:
        config_from_args(Settings, args, layers=file_layers(args))
    assert str(info.value).startswith(f"{config_file}: unknown key 'speed'; valid keys are: name, ")


def test_a_layers_bad_value_names_its_source() -> None:
    args = parser_for().parse_args([])
    with pytest.raises(ConfigError, match=r"^recipe quick: 'steps': expected an integer"):
        config_from_args(Settings, args, layers=[Layer("recipe quick", {"steps": 2.5})])


def test_positionals_sharing_a_fields_name_are_values() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    add_config_flags(parser, Settings, skip=("name", "files"))
    assert config_from_args(Settings, parser.parse_args(["mine"])).name == "mine"


def test_no_stage_cli_imports_the_top_cli() -> None:
    grimp = pytest.importorskip("grimp")  # import-linter's graph library (dev dependency)

    graph = grimp.build_graph("lmforge")
    for module in sorted(graph.modules):
        if module.endswith(".cli") and module != "lmforge.cli":
            assert graph.find_shortest_chain(importer=module, imported="lmforge.cli") is None, module
