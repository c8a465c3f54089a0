"""docs/protocol.md lists exactly the fields of each message dataclass, so the two cannot drift."""

import dataclasses
import enum
import re
import types
import typing
from pathlib import Path

import pytest

from mem3d.protocol.announcements import Cluster
from mem3d.protocol.codec import schema
from mem3d.types import Candidate
from tests.mem3d.protocol.catalog import EPISODIC_NESTED, message_classes

DOC = Path(__file__).parents[3] / "docs" / "protocol.md"
HEADING = re.compile(r"^#{3,4} `(?P<name>\w+)`(?P<map> map)?\s*$")
ROW = re.compile(r"^\| `(?P<name>\w+)` \| (?P<type>[^|]*(?:\\\|[^|]*)*) \|")


def documented() -> dict[str, dict[str, str]]:
    """The first table after each ``### `type``` or ``#### `Name` map`` heading: field name -> type column."""
    sections: dict[str, dict[str, str]] = {}
    current, in_table = None, False
    for line in DOC.read_text().splitlines():
        if heading := HEADING.match(line):
            current, in_table = sections.setdefault(heading["name"], {}), False
        elif current is not None and line.startswith("|"):
            in_table = True
            if row := ROW.match(line):
                assert row["name"] not in current, f"{row['name']!r} listed twice"
                current[row["name"]] = row["type"].strip()
        elif in_table or line.startswith("#"):
            current, in_table = None, False  # the table ended
    return sections


NESTED = [Candidate, Cluster] + EPISODIC_NESTED


@pytest.mark.parametrize("cls", message_classes() + NESTED, ids=lambda cls: cls.__name__)
def test_the_document_lists_each_field_and_array_as_the_dataclass_declares_it(cls):
    name = getattr(cls, "TYPE", cls.__name__)
    table = documented().get(name)
    assert table is not None, f"docs/protocol.md has no section for {name!r}"
    assert set(table) == {f.name for f in dataclasses.fields(cls)}, f"the fields of {name!r} differ"
    hints = typing.get_type_hints(cls)
    for spec in schema(cls):
        type_text = table[spec.name]
        assert type_text.startswith("array") == spec.is_array, f"{name}.{spec.name}: array or header field?"
        assert ("optional" in type_text) == (not spec.required), f"{name}.{spec.name}: optional or required?"
        if not spec.is_array:
            expected = documented_type(hints[spec.name])
            assert type_text.split(", optional")[0].startswith(expected), \
                f"{name}.{spec.name}: documented as {type_text!r}, declared {expected!r}"


def documented_type(hint) -> str:
    """How docs/protocol.md writes a header field's declared type: ``int``, ``[float, float, float]``,
    ``list of `Candidate` maps``, ``list of [int, str]``, ```Sighting` map`` (None in a union only makes
    it optional)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item = args[0]
            if dataclasses.is_dataclass(item):
                return f"list of `{item.__name__}` maps"
            return f"list of {documented_type(item)}"
        return "[" + ", ".join(documented_type(arg) for arg in args) + "]"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "str"
    if dataclasses.is_dataclass(hint):
        return f"`{hint.__name__}` map"
    return hint.__name__


def test_every_documented_message_exists():
    types = {cls.TYPE for cls in message_classes()} | {"Candidate", "Cluster"} | {c.__name__ for c in EPISODIC_NESTED}
    assert set(documented()) == types
