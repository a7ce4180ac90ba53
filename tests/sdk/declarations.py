"""The SDK's TypeScript declarations (`sdk/index.d.ts`), read in the subset they are written in.

The subset (stated at the top of the file): `/** */` and `//` comments, and four kinds of
declaration, each on the top level and ending in `;` or a flat `{...}`:

    export interface Name [extends Base] { field[?]: type; ... }
    export type Name = type;
    export const name: type;
    export function name(params): type;

Anything else in the file is an error, so a declaration this reader would skip cannot hide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_DECLARATION = re.compile(
    r"export interface (?P<interface>\w+)(?: extends (?P<base>\w+))? \{(?P<body>[^{}]*)\}"
    r"|export type (?P<alias>\w+) = (?P<aliased>[^;]+);"
    r"|export const (?P<const>\w+): [^;]+;"
    r"|export function (?P<function>\w+)\([^)]*\): [^;]+;"
)
_FIELD = re.compile(r"(?P<name>\w+)(?P<optional>\?)?: (?P<type>.+)", re.S)


@dataclass(frozen=True)
class Field:
    optional: bool
    types: frozenset[str]  # the members of its union: number, string, 'save', PersistenceMetadata ...


@dataclass(frozen=True)
class Declarations:
    interfaces: dict[str, dict[str, Field]]  # with the fields of their base
    aliases: dict[str, frozenset[str]]  # a union's members
    values: tuple[str, ...]  # exported functions and constants, in file order


def union(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split("|"))


def read_declarations(text: str) -> Declarations:
    """Parse `text`, raising ValueError at the first thing outside the subset."""
    text = _COMMENT.sub("", text)
    own: dict[str, tuple[str | None, dict[str, Field]]] = {}
    aliases: dict[str, frozenset[str]] = {}
    values: list[str] = []
    at = 0
    for match in _DECLARATION.finditer(text):
        if text[at : match.start()].strip():
            raise ValueError(f"not in the declaration subset: {text[at : match.start()].strip()[:80]!r}")
        at = match.end()
        if match["interface"]:
            own[match["interface"]] = (match["base"], _fields(match["interface"], match["body"]))
        elif match["alias"]:
            aliases[match["alias"]] = union(match["aliased"])
        else:
            values.append(match["const"] or match["function"])
    if text[at:].strip():
        raise ValueError(f"not in the declaration subset: {text[at:].strip()[:80]!r}")
    interfaces = {name: _with_base(name, own) for name in own}
    return Declarations(interfaces, aliases, tuple(values))


def read_declarations_file(path: Path) -> Declarations:
    return read_declarations(path.read_text(encoding="utf-8"))


def _fields(interface: str, body: str) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for member in filter(None, (m.strip() for m in body.split(";"))):
        field = _FIELD.fullmatch(member)
        if field is None:
            raise ValueError(f"{interface}: not a field: {member!r}")
        fields[field["name"]] = Field(bool(field["optional"]), union(field["type"]))
    return fields


def _with_base(name: str, own: dict[str, tuple[str | None, dict[str, Field]]]) -> dict[str, Field]:
    base, fields = own[name]
    if base is None:
        return dict(fields)
    if base not in own:
        raise ValueError(f"{name} extends {base}, which is not declared")
    return {**_with_base(base, own), **fields}
