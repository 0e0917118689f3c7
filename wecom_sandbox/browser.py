"""Following a link the way a member's browser would.

Inside WeCom, the client tells the OAuth page who the member is; the sandbox
models that with the ``X-WeCom-Member`` header, sent only to the sandbox's own
host. Outside WeCom (a desktop browser), the member is identified only when a
web-login page is reached, which stands for scanning its QR code.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests

MEMBER_HEADER = "X-WeCom-Member"
#: Sent to the sandbox by a follower that models a desktop browser.
DESKTOP_HEADER = "X-WeCom-Sandbox-Browser"

WECOM_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 wxwork/4.1.20 MicroMessenger/7.0.1 "
    "Language/zh ColorScheme/Light"
)
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)
LOGIN_PATHS = ("/wwlogin/sso/login", "/wwopen/sso/qrConnect")


def follow(
    sandbox_url: str,
    url: str,
    as_member: str | None = None,
    inside_wecom: bool = True,
    session: requests.Session | None = None,
    max_hops: int = 20,
) -> requests.Response:
    """GET ``url`` and follow redirects by hand across hosts.

    Returns the last response; ``resp.visited`` lists every URL requested, and
    ``resp.history`` the redirect responses before it. Pass ``session`` to keep
    cookies between calls (a new ``requests.Session`` is used otherwise).
    """
    browser = session or requests.Session()
    sandbox_host = urlsplit(sandbox_url).netloc
    visited: list[str] = []
    history: list[requests.Response] = []
    current = url

    for _ in range(max_hops):
        visited.append(current)
        parts = urlsplit(current)
        headers = {"User-Agent": WECOM_UA if inside_wecom else DESKTOP_UA}
        on_sandbox = parts.netloc == sandbox_host
        if on_sandbox and as_member and (inside_wecom or parts.path in LOGIN_PATHS):
            headers[MEMBER_HEADER] = as_member
        if on_sandbox and not inside_wecom:
            headers[DESKTOP_HEADER] = "desktop"

        response = browser.get(
            current, headers=headers, allow_redirects=False, timeout=30
        )
        if response.is_redirect and "Location" in response.headers:
            history.append(response)
            current = urljoin(current, response.headers["Location"])
            continue
        response.history = history
        response.visited = visited  # type: ignore[attr-defined]
        return response

    raise RuntimeError(f"more than {max_hops} redirects following {url}: {visited}")
