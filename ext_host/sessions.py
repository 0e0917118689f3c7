"""Web sessions: Flask's signed cookie holds the signed-in user's name.

The cookie is signed (not encrypted) with a key derived from the host's secret
box, so it holds nothing secret: the user's name, when the session began, and
optionally a digest of the sign-in proof (the OAuth code that started it), so
a reload of the landing URL is recognised without calling WeCom again.

Cookie attributes: ``HttpOnly`` always; ``SameSite=Lax``, because a member
arrives from WeCom's authorize page on another site and the cookie set there
must come back on the redirect to the report (``Strict`` would drop it);
``Secure`` when the host's public URL is https, when the request itself came
over https, or when the sign-in said so (the WeCom portal does when the server
address in its settings is https).  A session lasts ``session_lifetime``
seconds from sign-in, however active it is; ``/vision/logout`` ends it, and
remembers the session's random id until it would have expired, so a copy of
the cookie kept from before the logout is refused too (the console's sign-out
does the same).

Only a session started by the console's own password sign-in opens the
console (:func:`current_admin`): an administrator who signed in through an
extension (WeCom) views reports like anyone else, so the power to install code
never rests on the WeCom binding (which the member sync may set by phone).
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from flask import request, session
from flask.sessions import SecureCookieSessionInterface

if TYPE_CHECKING:
    from .host import Host
    from .users import User

_SECURE = "secure"
_PROOF = "proof"
_SID = "sid"
_CONSOLE = "console"
#: Store namespace of the sessions signed out before they expired.
REVOKED_NS = "host.session.revoked"


class HostSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with ``Secure`` decided per session."""

    def get_cookie_secure(self, app: Any) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        try:
            return request.is_secure or bool(session.get(_SECURE))
        except RuntimeError:  # outside a request
            return False


def sign_in(
    host: Host,
    user_name: str,
    secure: bool = False,
    proof: str = "",
    console: bool = False,
) -> None:
    """Start a fresh session for ``user_name``, dropping whatever was there.

    ``secure`` marks the cookie ``Secure``; ``proof`` is a digest (never the
    secret itself) of what proved the identity, see :func:`current_proof`;
    ``console`` says the console's password sign-in started it.
    """
    session.clear()
    session["user"] = user_name
    session["since"] = time.time()
    session[_SID] = secrets.token_urlsafe(16)
    if secure:
        session[_SECURE] = True
    if proof:
        session[_PROOF] = proof
    if console:
        session[_CONSOLE] = True
    session.permanent = True


def sign_out(host: Host | None = None) -> None:
    """End this request's session; with ``host``, also refuse its cookie from
    now on, should a copy of it come back before it expires."""
    sid = session.get(_SID)
    if host is not None and sid:
        since = float(session.get("since", 0))
        expires = since + host.config.session_lifetime + 60
        host.store.kv_set(REVOKED_NS, str(sid), True, expires_at=expires)
    session.clear()


def current_proof() -> str:
    """The proof digest the current session was started with, or ``""``."""
    return str(session.get(_PROOF) or "")


def current_user(host: Host) -> User | None:
    """The signed-in, still enabled user, or None."""
    name = session.get("user")
    sid = session.get(_SID)
    if not name or not sid:
        return None
    if time.time() - float(session.get("since", 0)) > host.config.session_lifetime:
        session.clear()
        return None
    if host.store.kv_get(REVOKED_NS, str(sid)) is not None:
        session.clear()
        return None
    user = host.users.find(name)
    if user is None or not user.enabled:
        session.clear()
        return None
    return user


def current_admin(host: Host) -> User | None:
    """The signed-in administrator, if the console's sign-in started this
    session; None otherwise (see the module's notes)."""
    user = current_user(host)
    if user is None or not user.is_admin or not session.get(_CONSOLE):
        return None
    return user
