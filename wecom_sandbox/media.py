"""Media: temporary uploads (``media/upload``), permanent images
(``media/uploadimg``) and fetching them back."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .tokens import Token

if TYPE_CHECKING:
    from .sandbox import Sandbox

MEDIA_LIFETIME = 3 * 86400
MIN_BYTES = 5
MB = 1024 * 1024
#: Per-type size caps and the errcode for going over them.
LIMITS: dict[str, tuple[int, int]] = {
    "image": (10 * MB, 40009),
    "voice": (2 * MB, 45001),
    "video": (10 * MB, 40011),
    "file": (20 * MB, 45001),
}
UPLOADIMG_MAX = 2 * MB
UPLOADIMG_PER_DAY = 1000


@dataclass
class Media:
    media_id: str
    type: str
    filename: str
    content_type: str
    data: bytes
    created_at: float
    expires_at: float


class MediaStore:
    def __init__(self) -> None:
        self.items: dict[str, Media] = {}
        self.images: dict[str, Media] = {}
        self.uploadimg_count: dict[Any, int] = {}


def _looks_like(kind: str, data: bytes) -> bool:
    if kind == "image":
        return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))
    if kind == "voice":
        return data.startswith(b"#!AMR")
    if kind == "video":
        return data[4:8] == b"ftyp"
    return True


def _read_part(files: Any) -> tuple[bytes, str, str]:
    part = files.get("media")
    if part is None:
        raise ApiError(44001)
    data = part.read()
    if not data:
        raise ApiError(44001)
    return data, part.filename or "media", part.mimetype or "application/octet-stream"


def upload(sb: Sandbox, token: Token, args: Any, files: Any) -> dict[str, Any]:
    """``POST /cgi-bin/media/upload?type=...``, multipart part ``media``."""
    kind = args.get("type", "")
    if kind not in LIMITS:
        raise ApiError(40005)
    data, filename, content_type = _read_part(files)
    if len(data) <= MIN_BYTES:
        raise ApiError(40006)
    cap, errcode = LIMITS[kind]
    if len(data) > cap:
        raise ApiError(errcode)
    if not _looks_like(kind, data):
        raise ApiError(40004)

    now = sb.clock.now()
    media = Media(
        media_id=secrets.token_urlsafe(48),
        type=kind,
        filename=filename,
        content_type=content_type,
        data=data,
        created_at=now,
        expires_at=now + MEDIA_LIFETIME,
    )
    sb.media.items[media.media_id] = media
    return {
        "errcode": 0,
        "errmsg": "",
        "type": kind,
        "media_id": media.media_id,
        "created_at": str(int(now)),
    }


def uploadimg(sb: Sandbox, token: Token, files: Any, base_url: str) -> dict[str, Any]:
    """``POST /cgi-bin/media/uploadimg``: a permanent image URL."""
    data, filename, content_type = _read_part(files)
    if len(data) <= MIN_BYTES or len(data) > UPLOADIMG_MAX:
        raise ApiError(40009)
    if not _looks_like("image", data):
        raise ApiError(40004)
    day = sb.clock.day()
    if sb.media.uploadimg_count.get(day, 0) >= UPLOADIMG_PER_DAY:
        raise ApiError(45009, "api freq out of limit (uploadimg per day)")
    sb.media.uploadimg_count[day] = sb.media.uploadimg_count.get(day, 0) + 1

    now = sb.clock.now()
    image = Media(
        media_id=secrets.token_urlsafe(24),
        type="image",
        filename=filename,
        content_type=content_type,
        data=data,
        created_at=now,
        expires_at=float("inf"),
    )
    sb.media.images[image.media_id] = image
    return {
        "errcode": 0,
        "errmsg": "ok",
        "url": f"{base_url.rstrip('/')}/sandbox/img/{image.media_id}",
    }


def fetch(sb: Sandbox, media_id: str) -> Media:
    """A temporary media item still alive, for ``media/get``."""
    media = sb.media.items.get(media_id)
    if media is None or media.expires_at <= sb.clock.now():
        raise ApiError(40007)
    return media
