"""Access tokens: one per app secret and one for the contacts secret."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

#: Token lifetime in seconds, as WeCom reports it in ``expires_in``.
TOKEN_LIFETIME = 7200

#: The owner of a token issued for the contacts secret.
CONTACTS = "contacts"


@dataclass
class Token:
    value: str
    #: The agentid of the app whose secret made it, or :data:`CONTACTS`.
    owner: int | str
    expires_at: float

    @property
    def is_contacts(self) -> bool:
        return self.owner == CONTACTS


class TokenStore:
    """Issues tokens and remembers old ones, so an expired token is told apart
    from one that never existed (42001 versus 40014)."""

    def __init__(self) -> None:
        self._by_value: dict[str, Token] = {}
        self._current: dict[int | str, Token] = {}

    def issue(self, owner: int | str, now: float) -> Token:
        """The owner's token; the same one while it is valid, else a new one."""
        current = self._current.get(owner)
        if current is not None and current.expires_at > now:
            return current
        token = Token(
            value=secrets.token_urlsafe(96),
            owner=owner,
            expires_at=now + TOKEN_LIFETIME,
        )
        self._by_value[token.value] = token
        self._current[owner] = token
        return token

    def lookup(self, value: str) -> Token | None:
        """The token with this value (valid or expired), or None."""
        return self._by_value.get(value)

    def expire_all(self, now: float) -> None:
        """Make every token expire now, as WeCom may do early."""
        for token in self._by_value.values():
            token.expires_at = min(token.expires_at, now - 0.001)
