"""Web sessions: Flask's signed cookie holds the signed-in user's name."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from flask import session

if TYPE_CHECKING:
    from .host import Host
    from .users import User


def sign_in(host: Host, user_name: str) -> None:
    session.clear()
    session["user"] = user_name
    session["since"] = time.time()
    session.permanent = True


def sign_out() -> None:
    session.clear()


def current_user(host: Host) -> User | None:
    """The signed-in, still enabled user, or None."""
    name = session.get("user")
    if not name:
        return None
    if time.time() - float(session.get("since", 0)) > host.config.session_lifetime:
        session.clear()
        return None
    user = host.users.find(name)
    if user is None or not user.enabled:
        session.clear()
        return None
    return user
