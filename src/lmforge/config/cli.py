"""The one bridge between config dataclasses and argparse, both ways.

- ``add_config_flags(parser, cls)``: one ``--flag`` per field, its help the field's
  docstring. Defaults are suppressed, so the namespace holds only the flags the user
  typed and they override every layer below them.
- ``config_from_args(cls, args, layers=...)``: the config built from, lowest first,
  the dataclass defaults, each ``Layer`` (a ``--recipe``, a ``--config`` file) and the
  typed flags; every problem reported at once, then ``validate()``.
- ``add_layer_flags`` / ``file_layers``: the ``--recipe`` and ``--config`` options and
  the layers they name.

Stage CLIs (``compress/cli.py``, ``serve/cli.py``, ...) use this module and never the
top ``lmforge.cli``, which only registers them. Nothing heavy is imported here.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lmforge.config.base import (
    check_values,
    field_docs,
    field_types,
    from_mapping,
    literal_choices,
    load_yaml,
    scalar_kind,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Layer:
    """Config values from one source, named in error messages (a YAML path, a recipe)."""

    source: str
    values: Mapping[str, Any]


# One vocabulary across commands (README, "Conventions"): a field whose flag was renamed
# gets its new name here; the old spelling stays accepted, hidden, with a warning.
FIELD_FLAGS = {"num_threads": "--threads"}
FORMATS = ("table", "json", "csv", "jsonl", "conll")  # conll: token<TAB>tag (token runs)


def flag_name(field_name: str) -> str:
    return FIELD_FLAGS.get(field_name) or "--" + field_name.replace("_", "-")


class DeprecatedFlag(argparse.Action):
    """An old spelling of a flag: stores its value like the new one (``dest``, or ``const``
    for a flag without a value) and leaves a note in ``namespace.deprecated_flags`` that
    ``lmforge.cli.main`` logs as a warning once logging is set up."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str, **kwargs: Any) -> None:
        self.new = new
        kwargs.setdefault("help", argparse.SUPPRESS)
        kwargs.setdefault("default", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        notes = getattr(namespace, "deprecated_flags", None) or []
        notes.append(f"{option_string} is deprecated; use {self.new} (same meaning)")
        namespace.deprecated_flags = notes


def add_deprecated_flag(parser: argparse.ArgumentParser, old: str, new: str, dest: str,
                        const: Any = None) -> None:
    """Keep ``old`` working as a hidden alias of ``new`` (storing into ``dest``; with
    ``const`` it takes no value and stores ``const``)."""
    if const is None:
        parser.add_argument(old, dest=dest, action=DeprecatedFlag, new=new)
    else:
        parser.add_argument(old, dest=dest, action=DeprecatedFlag, new=new, nargs=0, const=const)


def add_format_flag(parser: argparse.ArgumentParser, choices: Sequence[str],
                    default: str, what: str = "what is printed on stdout") -> None:
    """The one output-format flag: ``--format`` with a subset of ``FORMATS``."""
    unknown = set(choices) - set(FORMATS)
    if unknown:
        raise ValueError(f"--format choices must come from {FORMATS}, not {sorted(unknown)}")
    parser.add_argument("--format", choices=tuple(choices), default=default,
                        help=f"{what}: {', '.join(choices)} (default: {default})")


def add_config_flags(parser: argparse.ArgumentParser, cls: type, *, skip: Sequence[str] = (),
                     required: Sequence[str] = (), check_choices: bool = True) -> None:
    """One --flag per dataclass field of ``cls`` (except ``skip``); help from the field's
    docstring, with the default appended. Booleans get ``--x/--no-x``.

    Literal fields are argparse ``choices`` unless ``check_choices`` is False: then the
    metavar lists them (``a|b|c``) and the config's ``validate()`` reports a bad value
    together with every other problem (pass the same ``check_choices`` to
    ``config_from_args``).
    """
    docs = field_docs(cls)
    types = field_types(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind, _ = scalar_kind(types[f.name])
        help_text = docs.get(f.name, "")
        if kind is bool:
            parser.add_argument(flag_name(f.name), action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text,
                                required=f.name in required)
            continue
        if f.default not in ("", None, dataclasses.MISSING):
            help_text += f" (default: {f.default})"
        choices = literal_choices(cls, f.name)
        if choices and not check_choices:
            metavar: str | None = "|".join(choices)
            choices = None
        else:
            metavar = None if choices else f.name.upper()
        parser.add_argument(flag_name(f.name), dest=f.name, default=argparse.SUPPRESS,
                            help=help_text, choices=choices, metavar=metavar,
                            required=f.name in required)
        if f.name in FIELD_FLAGS:
            add_deprecated_flag(parser, "--" + f.name.replace("_", "-"), FIELD_FLAGS[f.name],
                                f.name)


def add_layer_flags(parser: argparse.ArgumentParser, *, config_help: str,
                    recipe_help: str | None = None) -> None:
    """``--recipe NAME`` (when ``recipe_help`` is given) and ``--config FILE``: the layers
    under the typed flags (see ``file_layers``)."""
    if recipe_help is not None:
        parser.add_argument("--recipe", help=recipe_help)
    parser.add_argument("--config", help=config_help)


def file_layers(args: argparse.Namespace,
                recipes: Callable[[str], Mapping[str, Any]] | None = None) -> list[Layer]:
    """The layers ``--recipe`` and ``--config`` name, lowest first. ``recipes`` loads a
    recipe by name (``lmforge.recipes.load_recipe``): it is passed in because bundled
    recipes live above this layer."""
    layers = []
    recipe = getattr(args, "recipe", None)
    if recipe:
        if recipes is None:
            raise TypeError("file_layers: --recipe was parsed but no recipe loader was given")
        layers.append(Layer(f"recipe {recipe}", recipes(recipe)))
    path = getattr(args, "config", None)
    if path:
        layers.append(Layer(str(path), load_yaml(path)))
    return layers


def typed_values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The namespace entries that are fields of ``cls``: the flags typed (their defaults are
    suppressed) and positionals or sub-command names that share a field's name."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def config_from_args(cls: type[T], args: argparse.Namespace, *, layers: Sequence[Layer] = (),
                     source: str = "command line", check_choices: bool = True,
                     validate: bool = True) -> T:
    """``cls`` from defaults < each layer in order < the typed flags.

    Each layer is checked on its own first, so an unknown key or a bad value names the
    file it is in; the merged values are then coerced (``source`` names them in errors)
    and, with ``validate``, the config's ``validate()`` reports every invalid field.
    """
    values: dict[str, Any] = {}
    for layer in layers:
        check_values(cls, dict(layer.values), source=layer.source, check_choices=check_choices)
        values.update(layer.values)
    values.update(typed_values(cls, args))
    config = from_mapping(cls, values, source=source, check_choices=check_choices)
    if validate and hasattr(config, "validate"):
        config.validate()
    return config


def launch_workers(processes: int, argv: Sequence[str]) -> int | None:
    """``--processes N`` (N > 1) outside a launcher: run this same command as N data-parallel
    workers through ``torchrun`` (gloo on CPUs, NCCL on GPUs: accelerate picks) and return
    its exit code. None when this process is already a worker (torchrun or ``accelerate
    launch`` set ``LOCAL_RANK``) or N is 1: then the caller does the work itself."""
    import os
    import subprocess
    import sys

    if processes <= 1 or "LOCAL_RANK" in os.environ:
        return None
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={processes}", "-m", "lmforge", *argv]
    env = {"OMP_NUM_THREADS": "1", **os.environ}  # torchrun's default, without its warning
    return subprocess.run(command, env=env, check=False).returncode


def is_worker_rank() -> bool:
    """True in a data-parallel process other than the first: it logs warnings only and
    prints no report (the first process writes the run)."""
    import os

    return os.environ.get("RANK", "0") != "0"
