"""Config dataclass machinery: field docstrings as help text, YAML loading,
validation that reports every problem at once.

Field docstrings are the string literal written right under a field, as in
litgpt/jsonargparse. Python drops them at run time, so we read them back from
the class source with ``ast`` (once per class, cached).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from lmforge.errors import ConfigError

T = TypeVar("T")


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Map field name -> the docstring written under it in the class body."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def scalar_kind(annotation: Any) -> tuple[type | None, bool]:
    """(base type, optional?) for the simple annotations configs use."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return scalar_kind(args[0])[0], optional
        return None, optional
    if origin is typing.Literal:
        return str, False
    if annotation in (int, float, str, bool):
        return annotation, False
    return None, False


def coerce(cls: type, name: str, value: Any, *, check_choices: bool = True) -> Any:
    """Convert a YAML/CLI value to the field's type; ValueError on mismatch. With
    ``check_choices`` False a Literal field takes any string (the config's ``validate()``
    checks it)."""
    kind, optional = scalar_kind(field_types(cls)[name])
    if value is None or (optional and isinstance(value, str) and value.lower() in {"none", "null"}):
        if optional:
            return None
        raise ValueError("must not be empty")
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "yes", "1", "false", "no", "0"}:
            return value.lower() in {"true", "yes", "1"}
        raise ValueError(f"expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if kind is str:
        choices = literal_choices(cls, name) if check_choices else None
        if choices is None and isinstance(value, list | tuple):  # a YAML list of names
            if not all(isinstance(v, str) for v in value):
                raise ValueError(f"expected a string or a list of strings, got {value!r}")
            return ",".join(v.strip() for v in value)
        if choices is not None and str(value) not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}; got {value!r}")
        return str(value)
    return value


def literal_choices(cls: type, name: str) -> tuple[str, ...] | None:
    annotation = field_types(cls)[name]
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is typing.Literal:
            return typing.get_args(candidate)
    return None


def check_values(cls: type, values: dict[str, Any], *, source: str,
                 check_choices: bool = True) -> dict[str, Any]:
    """``values`` coerced to the field types of ``cls``; one ConfigError naming ``source``
    lists every unknown key and bad value."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            problems.append(f"unknown key '{key}'")
            continue
        try:
            kwargs[key] = coerce(cls, key, value, check_choices=check_choices)
        except ValueError as exc:
            problems.append(f"'{key}': {exc}")
    if any(p.startswith("unknown key") for p in problems):
        problems.append("valid keys are: " + ", ".join(names))
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return kwargs


def from_mapping(cls: type[T], values: dict[str, Any], *, source: str,
                 check_choices: bool = True) -> T:
    """Build ``cls`` from a mapping; unknown keys and bad values are all reported."""
    kwargs = check_values(cls, values, source=source, check_choices=check_choices)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{source}: {exc}") from exc


def load_yaml(path: str | Path) -> dict[str, Any]:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file. Check the path given to --config.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}). Fix the syntax and retry.") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of key: value at the top level.")
    return data


def to_mapping(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)
