"""Typed wire messages: one frozen dataclass per message type, checked field by field both ways.

A ``WireMessage`` subclass names its ``TYPE`` and declares its header fields and arrays as dataclass
fields. Field types: ``int``, ``float`` (an int is accepted; must be finite), ``bool``, ``str``, an
``Enum`` of strings, ``tuple[T, ...]`` (a list), ``tuple[T1, T2, ...]`` (a list of exactly that
length), a nested dataclass (a map with exactly its fields), ``X | None``, and ``np.ndarray`` for an
array frame. A field with a default, or one that admits None, may be absent; nil counts as absent.

``from_message`` refuses a missing, unknown or wrongly typed field or array with a ``ProtocolError``
that names it. Its code is the class's ``INVALID``: ``invalid_input`` for what a peer sends in to be
acted on (requests, ingests, observations), ``bad_message`` for replies and announcements. Values
are only type-checked here; ranges and shapes are checked by whoever uses them (the map, the service).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar, TypeVar

import numpy as np

from mem3d.protocol.wire import ErrorCode, Message, ProtocolError

Decoder = Callable[[Any, str], Any]
"""(wire value, field path) -> Python value; raises ``_FieldError``."""
Encoder = Callable[[Any], Any]
"""Python value -> plain msgpack value."""
M = TypeVar("M", bound="WireMessage")

Intrinsics = tuple[float, float, float, float, int, int]
"""Camera intrinsics on the wire: fx, fy, cx, cy (pixels), width, height."""


class _FieldError(Exception):
    """A field that does not fit its declared type (turned into a ``ProtocolError`` by ``from_message``)."""


@dataclasses.dataclass(frozen=True)
class WireField:
    """How one dataclass field travels: a header field or an array, required or not, and its converters."""

    name: str
    is_array: bool
    required: bool
    default: Callable[[], Any]
    decode: Decoder
    encode: Encoder


class WireMessage:
    """Base of the typed messages; subclasses are ``@dataclass(frozen=True, kw_only=True)``."""

    TYPE: ClassVar[str]
    """The header's ``type``."""
    INVALID: ClassVar[ErrorCode] = ErrorCode.BAD_MESSAGE
    """Error code of a message of this type whose fields do not fit."""

    def to_message(self, request_id: int = 0) -> Message:
        """This message, ready for ``wire.encode`` (None fields are sent as nil, None arrays not at all)."""
        fields, arrays = {}, {}
        for spec in schema(type(self)):
            value = getattr(self, spec.name)
            if spec.is_array:
                if value is not None:
                    arrays[spec.name] = value
            else:
                fields[spec.name] = spec.encode(value)
        return Message(self.TYPE, request_id, fields, arrays)

    @classmethod
    def from_message(cls: type[M], message: Message) -> M:
        """The typed message of a decoded ``Message`` of type ``TYPE``; ``ProtocolError`` if it does not fit."""
        if message.type != cls.TYPE:
            raise ProtocolError(cls.INVALID, f"expected a {cls.TYPE!r} message, got {message.type!r}", message.id)
        try:
            return _decode_map(cls, message.fields, message.arrays, "")
        except _FieldError as error:
            raise ProtocolError(cls.INVALID, f"{cls.TYPE}: {error}", message.id) from None


@cache
def schema(cls: type) -> tuple[WireField, ...]:
    """The header fields and arrays of a message (or nested map) dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        declared = hints[f.name]
        inner, nullable = _strip_none(declared)
        default = _default(f)
        required = default is None and not nullable
        default = default or _none
        if inner is np.ndarray:
            specs.append(WireField(f.name, True, required, default, _array, lambda value: value))
        else:
            decode, encode = _converter(declared)
            specs.append(WireField(f.name, False, required, default, decode, encode))
    return tuple(specs)


def _default(f: dataclasses.Field) -> Callable[[], Any] | None:
    """What an absent field becomes, if the dataclass gives it a default."""
    if f.default is not dataclasses.MISSING:
        value = f.default
        return lambda: value
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory
    return None


def _none() -> None:
    return None


def _decode_map(cls: type, values: Any, arrays: dict[str, np.ndarray] | None, path: str) -> Any:
    """An instance of dataclass ``cls`` from a msgpack map (and, for a whole message, its arrays)."""
    if not isinstance(values, dict):
        raise _FieldError(f"field {path!r} must be a map, got {type(values).__name__}")
    specs = schema(cls)
    prefix = f"{path}." if path else ""
    unknown = set(values) - {spec.name for spec in specs if not spec.is_array}
    if unknown:
        raise _FieldError(f"unknown field {prefix + sorted(map(str, unknown))[0]!r}")
    if arrays is not None:
        unknown = set(arrays) - {spec.name for spec in specs if spec.is_array}
        if unknown:
            raise _FieldError(f"unknown array {sorted(unknown)[0]!r}")
    kwargs = {}
    for spec in specs:
        value = (arrays or {}).get(spec.name) if spec.is_array else values.get(spec.name)
        if value is None:
            if spec.required:
                raise _FieldError(f"{'array' if spec.is_array else 'field'} {prefix + spec.name!r} is required")
            kwargs[spec.name] = spec.default()
        else:
            kwargs[spec.name] = spec.decode(value, prefix + spec.name)
    return cls(**kwargs)


def _strip_none(declared: Any) -> tuple[Any, bool]:
    """(X, True) for ``X | None``, (declared, False) otherwise."""
    if typing.get_origin(declared) in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(declared) if arg is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"wire fields may be X or X | None, not {declared!r}")
        return inner[0], True
    return declared, False


def _converter(declared: Any) -> tuple[Decoder, Encoder]:
    inner, nullable = _strip_none(declared)
    if nullable:
        decode, encode = _converter(inner)
        return decode, lambda value: None if value is None else encode(value)
    origin, args = typing.get_origin(declared), typing.get_args(declared)
    if declared in _SCALARS:
        return _SCALARS[declared]
    if isinstance(declared, type) and issubclass(declared, enum.Enum):
        return _enum(declared), lambda value: value.value
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        decode_item, encode_item = _converter(args[0])
        return _any_tuple(decode_item), lambda value: [encode_item(item) for item in value]
    if origin is tuple:
        items = [_converter(arg) for arg in args]
        return _fixed_tuple(items), lambda value: [encode(item) for (_, encode), item in zip(items, value)]
    if dataclasses.is_dataclass(declared):
        nested = declared
        return (lambda value, path: _decode_map(nested, value, None, path),
                lambda value: {spec.name: spec.encode(getattr(value, spec.name)) for spec in schema(nested)})
    raise TypeError(f"unsupported wire field type {declared!r}")


def _name(value: Any) -> str:
    return type(value).__name__


def _int(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _FieldError(f"field {path!r} must be an int, got {_name(value)}")
    return value


def _float(value: Any, path: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _FieldError(f"field {path!r} must be a float, got {_name(value)}")
    if not math.isfinite(value):
        raise _FieldError(f"field {path!r} must be finite, got {value}")
    return float(value)


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _FieldError(f"field {path!r} must be a bool, got {_name(value)}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _FieldError(f"field {path!r} must be a str, got {_name(value)}")
    return value


_SCALARS: dict[type, tuple[Decoder, Encoder]] = {int: (_int, int), float: (_float, float), bool: (_bool, bool),
                                                 str: (_str, str)}


def _enum(kind: type[enum.Enum]) -> Decoder:
    def decode(value: Any, path: str) -> enum.Enum:
        try:
            return kind(_str(value, path))
        except ValueError:
            raise _FieldError(f"field {path!r} must be one of {[m.value for m in kind]}, got {value!r}") from None
    return decode


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise _FieldError(f"field {path!r} must be a list, got {_name(value)}")
    return value


def _any_tuple(decode_item: Decoder) -> Decoder:
    def decode(value: Any, path: str) -> tuple:
        return tuple(decode_item(item, f"{path}[{i}]") for i, item in enumerate(_list(value, path)))
    return decode


def _fixed_tuple(items: list[tuple[Decoder, Encoder]]) -> Decoder:
    def decode(value: Any, path: str) -> tuple:
        if len(_list(value, path)) != len(items):
            raise _FieldError(f"field {path!r} must be a list of {len(items)} values, got {len(value)}")
        return tuple(decode_item(item, f"{path}[{i}]") for i, ((decode_item, _), item) in enumerate(zip(items, value)))
    return decode


def _array(value: Any, path: str) -> np.ndarray:
    return value  # ``wire.decode`` made it; its dtype and shape are checked by whoever uses it
