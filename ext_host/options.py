"""System options: the values of the panels extensions contribute.

Values are validated against the panel's JSON Schema and its own validator
before anything is stored, and a save is one transaction: either every value
changes or none does.  Secret fields are encrypted at rest, never returned by
:meth:`OptionService.public`, and kept when a save leaves them empty.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .api import Panel, Problem
from .errors import NotFound, ValidationError

if TYPE_CHECKING:
    import jsonschema

    from .host import Host

#: What :meth:`OptionService.public` shows for a secret that is set.
MASK = "********"


class OptionService:
    def __init__(self, host: Host):
        self.host = host

    def panels(self) -> list[tuple[str, Panel]]:
        return self.host.unique("option_panels", lambda p: p.name, "panel")

    def panel(self, name: str) -> tuple[str, Panel]:
        for ext, panel in self.panels():
            if panel.name == name:
                return ext, panel
        known = ", ".join(p.name for _, p in self.panels()) or "none"
        raise NotFound(f"no option panel {name!r}; panels: {known}")

    def _stored(self, ext: str, panel: Panel) -> dict[str, Any]:
        rows = self.host.store.query(
            "SELECT key, value, secret FROM options WHERE ext = ? AND key LIKE ?",
            (ext, f"{panel.name}.%"),
        )
        values: dict[str, Any] = {}
        for row in rows:
            key = row["key"].split(".", 1)[1]
            text = (
                self.host.secrets.decrypt(row["value"])
                if row["secret"]
                else row["value"]
            )
            values[key] = json.loads(text)
        return values

    def get(self, name: str) -> dict[str, Any]:
        """Every stored value of panel ``name``, secrets decrypted, with the
        schema's defaults for what was never set.  For extension code only."""
        ext, panel = self.panel(name)
        values = {
            key: prop["default"]
            for key, prop in panel.schema.get("properties", {}).items()
            if "default" in prop
        }
        values.update(self._stored(ext, panel))
        return values

    def public(self, name: str) -> dict[str, Any]:
        """The values safe to show: each secret is :data:`MASK` or ``""``."""
        _, panel = self.panel(name)
        values = self.get(name)
        for key in panel.secret_fields:
            values[key] = MASK if values.get(key) else ""
        return values

    def set(self, name: str, changes: dict[str, Any]) -> list[Problem]:
        """Validate and store ``changes`` to panel ``name``; returns warnings.

        A secret field given as ``None``, :data:`MASK` or only blanks keeps
        its stored value.  Raises :class:`ValidationError` with one message per
        field, storing nothing.
        """
        ext, panel = self.panel(name)
        properties = panel.schema.get("properties", {})
        unknown = [k for k in changes if k not in properties]
        if unknown:
            raise ValidationError(
                f"panel {name!r} has no option {unknown[0]!r}; options: "
                f"{', '.join(properties)}",
                {k: "unknown option" for k in unknown},
            )
        values = self.get(name)
        for key, value in changes.items():
            if key in panel.secret_fields and _keeps_secret(value):
                continue
            values[key] = coerce(value, properties[key])
        if panel.normalize:
            values = panel.normalize(dict(values))

        errors: dict[str, str] = {}
        import jsonschema  # imported where used: it costs ~50 ms of every CLI start

        validator = jsonschema.Draft202012Validator(panel.schema)
        for error in validator.iter_errors(values):
            key = str(error.absolute_path[0]) if error.absolute_path else ""
            if not key and error.validator == "required":
                key = error.message.split("'")[1]
            label = properties.get(key, {}).get("title", key)
            hidden = key in panel.secret_fields
            detail = "is not valid" if hidden else schema_message(error)
            errors.setdefault(key, f"{label}: {detail}")
        problems = panel.validate(dict(values)) if panel.validate else []
        for p in problems:
            if p.level == "error":
                errors.setdefault(p.field, p.message)
        if errors:
            raise ValidationError("; ".join(errors.values()), errors)

        now = time.time()
        with self.host.store.transaction() as conn:
            for key, value in values.items():
                secret = key in panel.secret_fields
                text = json.dumps(value, ensure_ascii=False)
                if secret:
                    text = self.host.secrets.encrypt(text)
                conn.execute(
                    "INSERT INTO options (ext, key, value, secret, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(ext, key) DO UPDATE SET "
                    "value = excluded.value, secret = excluded.secret, "
                    "updated_at = excluded.updated_at",
                    (ext, f"{panel.name}.{key}", text, int(secret), now),
                )
        return [p for p in problems if p.level != "error"]

    def run_action(self, name: str, action: str) -> Any:
        _, panel = self.panel(name)
        for item in panel.actions:
            if item.name == action:
                return item.run(self.host, self.get(name))
        known = ", ".join(a.name for a in panel.actions) or "none"
        raise NotFound(f"panel {name!r} has no action {action!r}; actions: {known}")


def _keeps_secret(value: Any) -> bool:
    """A blank secret field means "keep the stored one", never "clear it"."""
    return value is None or (isinstance(value, str) and value.strip() in ("", MASK))


def coerce(value: Any, prop: Mapping[str, Any]) -> Any:
    """Turn text from a form or the CLI into the schema's type."""
    if not isinstance(value, str):
        return value
    kind = prop.get("type")
    text = value.strip()
    if kind == "integer" and text.lstrip("-").isdigit():
        return int(text)
    if kind == "boolean" and text.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return text.lower() in {"true", "1", "yes"}
    return text


def schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "pattern":
        hint = error.schema.get("x-format") if isinstance(error.schema, dict) else ""
        suffix = f"; {hint}" if hint else ""
        return f"{error.instance!r} has the wrong format{suffix}"
    if error.validator == "required" or (
        error.validator == "minLength" and error.instance == ""
    ):
        return "is required"
    if error.validator == "maxLength":
        return f"is longer than {error.validator_value} characters"
    if error.validator == "format":
        return f"{error.instance!r} is not a valid {error.validator_value}"
    return error.message
