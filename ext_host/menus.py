"""Context-menu items that extensions add to resources, and running them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import ActionResult, MenuItem
from .errors import NotFound, ValidationError

if TYPE_CHECKING:
    from .host import Host


class MenuService:
    def __init__(self, host: Host):
        self.host = host

    def items(self, kind: str) -> list[tuple[str, MenuItem]]:
        return [
            (ext, item)
            for ext, item in self.host.unique("menu_items", lambda i: i.id, "menu item")
            if item.resource_kind == kind
        ]

    def item(self, kind: str, item_id: str) -> tuple[str, MenuItem]:
        for ext, item in self.items(kind):
            if item.id == item_id:
                return ext, item
        known = ", ".join(i.id for _, i in self.items(kind)) or "none"
        raise NotFound(f"no menu item {item_id!r} on a {kind}; items: {known}")

    def resource(self, kind: str, resource_id: str) -> Any:
        if kind == "report":
            return self.host.reports.get(resource_id)
        raise NotFound(f"no resource kind {kind!r}")

    def prefill(self, kind: str, item_id: str, resource_id: str) -> dict[str, Any]:
        _, item = self.item(kind, item_id)
        resource = self.resource(kind, resource_id)
        return item.prefill(self.host, resource) if item.prefill else {}

    def choices(
        self, kind: str, item_id: str, resource_id: str
    ) -> dict[str, list[dict[str, str]]]:
        """The options of the item's pick-from-a-list fields for this resource."""
        _, item = self.item(kind, item_id)
        resource = self.resource(kind, resource_id)
        return item.choices(self.host, resource) if item.choices else {}

    def run(
        self,
        kind: str,
        item_id: str,
        resource_id: str,
        values: dict[str, Any],
        actor: str | None = None,
    ) -> ActionResult:
        """Validate ``values`` against the item's dialog and run its action."""
        _, item = self.item(kind, item_id)
        resource = self.resource(kind, resource_id)
        if item.dialog:
            merged = dict(item.prefill(self.host, resource) if item.prefill else {})
            merged.update({k: v for k, v in values.items() if v not in (None, "")})
            errors: dict[str, str] = {}
            import jsonschema  # imported where used: it costs ~50 ms of every CLI start

            validator = jsonschema.Draft202012Validator(item.dialog)
            props = item.dialog.get("properties", {})
            for error in validator.iter_errors(merged):
                key = str(error.absolute_path[0]) if error.absolute_path else ""
                if not key and error.validator == "required":
                    key = error.message.split("'")[1]
                label = props.get(key, {}).get("title", key)
                errors.setdefault(key, f"{label}: {error.message}")
            if errors:
                raise ValidationError("; ".join(errors.values()), errors)
            values = merged
        return item.action(self.host, resource, values, actor)
