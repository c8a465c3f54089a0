"""Build typed config dataclasses from plain dicts (YAML files, stored metadata), strictly.

Unknown keys and wrong types are errors that name the offending field; missing keys take the
dataclass defaults. Nested dataclass fields are built recursively.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from mem3d.errors import InvalidInputError

T = TypeVar("T")


def config_from_dict(cls: type[T], data: typing.Mapping[str, Any] | None, where: str = "") -> T:
    """Instantiate dataclass ``cls`` from ``data``, checking keys and value types."""
    data = {} if data is None else data
    label = where or cls.__name__
    if not isinstance(data, typing.Mapping):
        raise InvalidInputError(f"{label} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidInputError(f"{label}: unknown key(s) {unknown}; known keys are {sorted(fields)}")
    values = {name: _convert(hints[name], value, f"{label}.{name}") for name, value in data.items()}
    return cls(**values)


def config_to_dict(config: Any) -> dict[str, Any]:
    """The inverse of ``config_from_dict`` (tuples become lists, for JSON and YAML)."""
    return _plain(dataclasses.asdict(config))


def load_yaml_config(cls: type[T], path: str | Path) -> T:
    """Read a YAML file into dataclass ``cls`` (PyYAML is needed only here: the core runs without it)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise InvalidInputError(f"cannot read config file {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise InvalidInputError(f"{path} is not valid YAML: {error}") from error
    return config_from_dict(cls, data, where=str(path))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _convert(hint: Any, value: Any, label: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, value, label)
            except InvalidInputError as error:
                errors.append(str(error))
        raise InvalidInputError(errors[0] if len(errors) == 1 else f"{label}: {value!r} fits no allowed type")
    if dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, label)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise InvalidInputError(f"{label} must be a list, got {type(value).__name__}")
        item = args[0] if args else Any
        converted = [_convert(item, v, f"{label}[{i}]") for i, v in enumerate(value)]
        return tuple(converted) if origin is tuple else converted
    if origin is dict:
        if not isinstance(value, typing.Mapping):
            raise InvalidInputError(f"{label} must be a mapping, got {type(value).__name__}")
        return dict(value)
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(hint, type) and not isinstance(value, hint) or (hint in (int, float) and isinstance(value, bool)):
        raise InvalidInputError(f"{label} must be {getattr(hint, '__name__', hint)}, got {value!r}")
    return value


def options_from_strings(config_type: type, items: Sequence[str]) -> dict[str, object]:
    """``KEY=VALUE`` strings (command-line options) -> keyword options of ``config_type``, each value
    converted to its field's type. Unknown keys are kept as strings for the caller to name."""
    hints = typing.get_type_hints(config_type)
    options: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InvalidInputError(f"option {item!r} is not KEY=VALUE")
        options[key] = _option_value(key, text, hints.get(key, str))
    return options


_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _option_value(key: str, text: str, hint: object) -> object:
    """``text`` as a value of type ``hint``: "none" for an optional field, true/false for a flag, a
    JSON list (or one string) for a tuple; anything else stays a string."""
    args = typing.get_args(hint)
    if type(None) in args:
        if text.strip().lower() in ("none", "null"):
            return None
        hint = next(a for a in args if a is not type(None))
    try:
        if hint is bool:
            return _BOOLEANS[text.strip().lower()]
        if hint in (int, float):
            return hint(text)
        if typing.get_origin(hint) is tuple:
            return tuple(json.loads(text)) if text.lstrip().startswith("[") else (text,)
    except (KeyError, ValueError, TypeError) as error:
        raise InvalidInputError(f"option {key}={text!r}: not a valid {getattr(hint, '__name__', hint)}") from error
    return text
