"""Extension manifests: ``extension.yaml`` at an archive's root.

The manifest is validated against :data:`MANIFEST_SCHEMA` before any of the
extension's code is imported, and every error names the field and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .errors import ManifestError

if TYPE_CHECKING:
    import jsonschema

MANIFEST_NAME = "extension.yaml"

_NAME = r"^[a-z][a-z0-9_-]{0,63}$"

MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "version", "entry"],
    "properties": {
        "name": {"type": "string", "pattern": _NAME},
        "alias": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "version": {"type": "string", "minLength": 1, "maxLength": 64},
        "priority": {"type": "integer", "minimum": 0, "maximum": 10000},
        "before": {
            "type": "array",
            "items": {"type": "string", "pattern": _NAME},
            "uniqueItems": True,
        },
        "depends": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 200},
            "uniqueItems": True,
        },
        "host": {"type": "string", "maxLength": 200},
        "entry": {
            "type": "string",
            "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
            r"(:[A-Za-z_][A-Za-z0-9_]*)?$",
        },
        "files": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    },
}

_FIXES = {
    "name": "use 1-64 lower-case letters, digits, '-' or '_', starting with a letter",
    "version": "use a version such as 1.0.0",
    "entry": "use module.path or module.path:ObjectName",
    "priority": "use a whole number from 0 to 10000 (lower loads first)",
    "before": "list extension names",
    "depends": "list requirements such as 'base >=1.0,<2'",
    "files": "re-pack the extension with `ext-host ext pack`",
    "host": "use a version range such as '>=0.1,<1'",
}


@dataclass(frozen=True)
class Dependency:
    name: str
    specifier: SpecifierSet

    def __str__(self) -> str:
        return f"{self.name}{self.specifier}" if str(self.specifier) else self.name


@dataclass(frozen=True)
class Manifest:
    """A validated manifest."""

    name: str
    version: Version
    entry: str
    alias: str = ""
    description: str = ""
    priority: int = 100
    before: tuple[str, ...] = ()
    depends: tuple[Dependency, ...] = ()
    host: SpecifierSet = field(default_factory=SpecifierSet)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def entry_module(self) -> str:
        return self.entry.partition(":")[0]

    @property
    def entry_object(self) -> str:
        return self.entry.partition(":")[2]

    @property
    def top_package(self) -> str:
        return self.entry_module.split(".")[0]


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a few KiB of nested aliases expand to
    billions of values, which validating (and describing) would walk."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent) or getattr(
            self.peek_event(), "anchor", None
        ):
            raise _AliasFound(self.peek_event().start_mark.line + 1)
        return super().compose_node(parent, index)


class _AliasFound(Exception):
    def __init__(self, line: int):
        self.line = line


def parse_manifest(text: str | bytes, source: str) -> Manifest:
    """Parse and validate manifest text; ``source`` names it in errors."""
    try:
        raw = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader
    except _AliasFound as found:
        raise ManifestError(
            f"{source}: manifest uses YAML anchors or aliases (&, *) at line "
            f"{found.line}; write each value out"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ManifestError(f"{source}: manifest is not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise ManifestError(f"{source}: manifest must be a mapping of fields")
    return manifest_from_dict(raw, source)


def manifest_from_dict(
    raw: dict[str, Any], source: str, checked: bool = False
) -> Manifest:
    """A :class:`Manifest` from parsed fields.

    ``checked`` skips the schema check, for fields this host validated itself
    and stored in its own data folder (the loader's warm-start stamp).
    """
    if not checked:
        _check_schema(raw, source)
    return _build(raw, source)


def _check_schema(raw: dict[str, Any], source: str) -> None:
    import jsonschema  # imported where used: it costs ~50 ms of every CLI start

    validator = jsonschema.Draft202012Validator(MANIFEST_SCHEMA)
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        raise ManifestError(f"{source}: {_describe(errors[0])}")


def _build(raw: dict[str, Any], source: str) -> Manifest:
    name = raw["name"]
    try:
        version = Version(str(raw["version"]))
    except InvalidVersion:
        raise ManifestError(
            f"{source}: field 'version': {raw['version']!r} is not a version; "
            f"{_FIXES['version']}"
        ) from None
    try:
        host = SpecifierSet(raw.get("host", ""))
    except InvalidSpecifier:
        raise ManifestError(
            f"{source}: field 'host': {raw['host']!r} is not a version range; "
            f"{_FIXES['host']}"
        ) from None
    depends = []
    for text in raw.get("depends", []):
        # ~20 ms to import (it pulls in marker parsing): only when there are any.
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            req = Requirement(text)
        except InvalidRequirement:
            raise ManifestError(
                f"{source}: field 'depends': {text!r} is not a requirement; "
                f"{_FIXES['depends']}"
            ) from None
        if req.extras or req.marker or req.url or not re.match(_NAME, req.name):
            raise ManifestError(
                f"{source}: field 'depends': {text!r} must be an extension name and "
                f"an optional version range; {_FIXES['depends']}"
            )
        if req.name == name:
            raise ManifestError(f"{source}: field 'depends': {name} depends on itself")
        depends.append(Dependency(req.name, req.specifier))
    if name in raw.get("before", []):
        raise ManifestError(
            f"{source}: field 'before': {name} cannot load before itself"
        )
    return Manifest(
        name=name,
        version=version,
        entry=raw["entry"],
        alias=raw.get("alias", ""),
        description=raw.get("description", ""),
        priority=raw.get("priority", 100),
        before=tuple(raw.get("before", ())),
        depends=tuple(depends),
        host=host,
        files=dict(raw.get("files", {})),
    )


def _describe(error: jsonschema.ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1]
        fix = _FIXES.get(missing, "add it")
        return f"field '{missing}' is required; {fix}"
    if error.validator == "additionalProperties" and not path:
        known = set(MANIFEST_SCHEMA["properties"])
        unknown = sorted(set(error.instance) - known)
        return (
            f"field {unknown[0]!r} is not a manifest field; remove it or check its "
            f"spelling (fields: {', '.join(MANIFEST_SCHEMA['properties'])})"
        )
    where = f"field '{'.'.join(path)}'" if path else "manifest"
    fix = _FIXES.get(path[0], "") if path else ""
    got = error.instance if not isinstance(error.instance, dict) else "a mapping"
    message = (
        f"{where}: {got!r} is not valid ({error.validator} {error.validator_value!r})"
    )
    return f"{message}; {fix}" if fix else message
