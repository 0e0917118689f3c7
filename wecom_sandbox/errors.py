"""Errcodes the sandbox answers with, and the exception that carries one.

The texts follow what real WeCom puts at the start of ``errmsg``; where the real
text is not known the sandbox uses a short English description of the meaning
from the official errcode table.
"""

from __future__ import annotations

ERRMSG: dict[int, str] = {
    -1: "system busy",
    0: "ok",
    40001: "invalid credential",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40011: "invalid video size",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40031: "invalid userid list",
    40032: "invalid userid size",
    40056: "invalid agentid",
    40058: "invalid Request Parameter",
    40074: "news message can not be safe",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41008: "missing code",
    41011: "missing agentid",
    41033: "description missing",
    42001: "access_token expired",
    42052: "msgid expired",
    44001: "empty media data",
    44004: "empty content",
    45001: "media size out of limit",
    45007: "voice play time out of limit",
    45008: "article size out of limit",
    45009: "api freq out of limit",
    46004: "user no exist",
    47001: "data format error",
    48002: "api forbidden",
    48009: "api forbidden for contacts sync from this ip",
    50001: "redirect_uri not trusted",
    60003: "department not found",
    60011: "no privilege to access/modify contact/party/agent",
    60111: "userid not found",
    81013: "user & party & tag all invalid",
    82001: "All touser & toparty & totag invalid",
    82002: "invalid party size",
    82003: "invalid tag size",
    301002: "not allow operate another agent with this accesstoken.",
}


def errmsg_for(errcode: int) -> str:
    """The sandbox's text for an errcode (``"unknown error"`` if it has none)."""
    return ERRMSG.get(errcode, "unknown error")


class ApiError(Exception):
    """A WeCom API error: answered as HTTP 200 with ``errcode`` and ``errmsg``."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg or errmsg_for(errcode)
