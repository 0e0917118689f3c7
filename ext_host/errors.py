"""The host's exceptions: each carries a one-line message a user can act on."""


class HostError(Exception):
    """Base of every deliberate refusal; ``str(exc)`` is shown to the user."""


class ConfigError(HostError):
    """The host configuration is wrong (names the file and the setting)."""


class ManifestError(HostError):
    """An extension manifest is missing or invalid."""


class ArchiveError(HostError):
    """An ``.ext`` archive is unreadable, hostile or modified."""


class ExtensionError(HostError):
    """An extension failed to import, register or start."""


class NotFound(HostError):
    """A named user, report, app or extension does not exist."""


class ValidationError(HostError):
    """Submitted values break a rule.

    ``fields`` maps a field key to its message so forms can show each error
    beside its field; ``str(exc)`` joins them into one line.
    """

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.fields = dict(fields or {})


class PermissionDenied(HostError):
    """The signed-in user may not see or do this."""
