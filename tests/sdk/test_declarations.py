"""sdk/index.d.ts against the server: the event types a widget developer's editor checks
are the ones the ingest API accepts, and it declares every function the SDK exports."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from analytics.ingest import events
from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.sdk.declarations import Declarations, read_declarations, read_declarations_file
from tests.sdk.node import SDK_DIR, node

DECLARATIONS = SDK_DIR / "index.d.ts"
# A component's JSON Schema type as TypeScript writes it.
TS_TYPE = {"integer": "number", "number": "number", "string": "string", "boolean": "boolean"}


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The event schema as the server publishes it: its OpenAPI components."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("openapi"), decoder_processes=0)
    return create_app(settings).openapi()["components"]["schemas"]


def event_components(components: dict[str, Any]) -> list[str]:
    """WidgetEvent and every component it refers to, directly or not."""
    seen: list[str] = []
    todo = ["WidgetEvent"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.append(name)
            todo += [ref.rsplit("/", 1)[1] for ref in _refs(components[name])]
    return sorted(seen)


def _refs(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        return [v for k, v in schema.items() if k == "$ref"] + [r for v in schema.values() for r in _refs(v)]
    if isinstance(schema, list):
        return [r for v in schema for r in _refs(v)]
    return []


def server_types(prop: dict[str, Any]) -> frozenset[str]:
    """A property's types in TypeScript's words (null aside: the .d.ts says `?` instead)."""
    out: set[str] = set()
    for option in prop.get("anyOf", [prop]):
        if "$ref" in option:
            out.add(option["$ref"].rsplit("/", 1)[1])
        elif "enum" in option:
            out |= {f"'{value}'" for value in option["enum"]}
        elif option.get("type") != "null":
            out.add(TS_TYPE[option["type"]])
    return frozenset(out)


def takes_datetime(struct_name: str, field: str) -> bool:
    """Whether the msgspec Struct's field accepts a datetime (which a JS Date becomes)."""
    info = msgspec.inspect.type_info(getattr(events, struct_name))
    assert isinstance(info, msgspec.inspect.StructType)
    found = [f.type for f in info.fields if f.encode_name == field]
    if not found:
        return False  # the tag, `type`, is not one of the Struct's fields
    options = found[0].types if isinstance(found[0], msgspec.inspect.UnionType) else (found[0],)
    return any(isinstance(t, msgspec.inspect.DateTimeType) for t in options)


def mismatches(declared: Declarations, components: dict[str, Any]) -> list[str]:
    """What differs between the declarations and the server's event schema; [] when none."""
    found: list[str] = []
    names = event_components(components)
    union = frozenset(ref.rsplit("/", 1)[1] for ref in _refs(components["WidgetEvent"]))
    if declared.aliases.get("WidgetEvent") != union:
        found.append(f"WidgetEvent: {sorted(declared.aliases.get('WidgetEvent', ()))} != {sorted(union)}")
    if declared.aliases.get("EventType") != {f"'{t}'" for t in events.EVENT_TYPES}:
        found.append(f"EventType: {sorted(declared.aliases.get('EventType', ()))} != {events.EVENT_TYPES}")
    for name in names:
        schema = components[name]
        if name == "WidgetEvent":
            continue
        fields = declared.interfaces.get(name)
        if fields is None:
            found.append(f"{name}: not declared")
            continue
        props, required = schema["properties"], set(schema.get("required", ()))
        for extra in sorted(fields.keys() - props.keys()):
            found.append(f"{name}.{extra}: not in the server's schema")
        for field, prop in props.items():
            if field not in fields:
                found.append(f"{name}.{field}: not declared")
                continue
            ts, where = fields[field], f"{name}.{field}"
            if ts.optional == (field in required):
                found.append(f"{where}: {'optional' if ts.optional else 'required'} here, not on the server")
            expected = server_types(prop) | ({"Date"} if takes_datetime(name, field) else set())
            if ts.types != expected:
                found.append(f"{where}: {' | '.join(sorted(ts.types))} != {' | '.join(sorted(expected))}")
    for name in declared.interfaces:
        if name.endswith(("Metric", "Event", "Metadata")) and name not in names:
            found.append(f"{name}: not in the server's schema")
    return found


def test_the_declared_event_types_are_the_servers(components: dict[str, Any]) -> None:
    declared = read_declarations_file(DECLARATIONS)
    assert mismatches(declared, components) == []
    # and the check has something to check: the nine metrics, their envelopes, the metadata
    assert len([n for n in declared.interfaces if n.endswith("Metric")]) == 9
    assert len(event_components(components)) == 20


@pytest.mark.parametrize(
    ("edit", "reported"),
    [
        pytest.param(
            ("  renderTime: number;", "  renderTme: number;"),
            "RenderMetric.renderTime: not declared",
            id="renamed",
        ),
        pytest.param(
            ("  avgFps: number;", "  avgFps?: number;"), "ScrollMetric.avgFps: optional here", id="optional"
        ),
        pytest.param(
            ("  messageId?: string;", "  messageId: string;"),
            "RenderMetric.messageId: required here",
            id="required",
        ),
        pytest.param(
            ("  size?: number;", "  size?: string;"), "BundleMetric.size: string != number", id="type"
        ),
        pytest.param(("'sync' | 'delete'", "'delete'"), "PersistenceMetric.operation:", id="literal"),
        pytest.param(("  tabId?: string;\n", ""), "PersistenceMetric.tabId: not declared", id="base-field"),
        pytest.param(
            ("timestamp?: Date | ", "timestamp?: "),
            "RenderMetric.timestamp: number | string != Date",
            id="date",
        ),
        pytest.param(
            ("  cached?: boolean;\n}", "  cached?: boolean;\n  cdn?: string;\n}"),
            "ApiMetric.cdn: not in",
            id="extra",
        ),
        pytest.param((" | BundleEvent;", ";"), "WidgetEvent:", id="union"),
    ],
)
def test_a_drift_from_the_server_is_reported(
    components: dict[str, Any], edit: tuple[str, str], reported: str
) -> None:
    text = DECLARATIONS.read_text(encoding="utf-8")
    assert edit[0] in text
    found = mismatches(read_declarations(text.replace(edit[0], edit[1], 1)), components)
    assert any(line.startswith(reported) for line in found), found


def test_anything_outside_the_subset_is_refused() -> None:
    with pytest.raises(ValueError, match="not in the declaration subset: 'declare namespace"):
        read_declarations("export const version: string;\ndeclare namespace X { }\n")


def test_every_function_the_module_and_the_script_export_is_declared() -> None:
    listing = node(
        "--input-type=module",
        "-e",
        """
        import * as sdk from './index.js';
        import { readFileSync } from 'node:fs';
        import vm from 'node:vm';
        const page = {};
        vm.runInNewContext(readFileSync('widget-monitor.js', 'utf8'), page);
        console.log(JSON.stringify({ module: Object.keys(sdk), script: Object.keys(page.WidgetMonitor) }));
        """,
        cwd=SDK_DIR,
    )
    exported = json.loads(listing)
    declared = read_declarations_file(DECLARATIONS).values
    assert sorted(exported["module"]) == sorted(declared)
    assert sorted(exported["script"]) == sorted(declared)  # WidgetMonitor.* of the one tag
    assert {"trackRender", "trackPersistence", "init", "version"} <= set(declared)
