"""Pictures uploaded from the console, kept in the data folder and served by the
host at ``/uploads/NAME`` so that phones (WeCom clients) can fetch them.

Only JPEG and PNG are kept; Pillow reads the header and verifies the file, so
a file that merely carries a picture's name is refused.  Stored names are
random, so nobody can guess or overwrite another upload.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

from .errors import NotFound, ValidationError

if TYPE_CHECKING:
    from .host import Host

#: Largest picture accepted, in bytes (WeCom's own image limit is 2 MB).
MAX_PICTURE_BYTES = 2 * 1024 * 1024
#: Largest picture accepted, in pixels, before decoding is refused.
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG": ".jpg", "PNG": ".png"}
URL_PATH = "/uploads"
_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(jpg|png)$")


@dataclass(frozen=True)
class Picture:
    name: str
    width: int
    height: int
    format: str
    size: int
    note: str

    @property
    def path(self) -> str:
        """The path the host serves it at, relative to the server address."""
        return f"{URL_PATH}/{self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "size": self.size,
            "note": self.note,
        }


def folder(host: Host) -> Path:
    return host.config.data_dir / "uploads"


def size_note(width: int, height: int, recommended: tuple[int, int] | None) -> str:
    """A note when ``width``×``height`` is far from ``recommended``: more than a
    quarter off in shape, or less than half / more than twice the size."""
    if not recommended:
        return ""
    want_w, want_h = recommended
    shape = (width / height) / (want_w / want_h)
    scale = width / want_w
    if 0.75 <= shape <= 1.33 and 0.5 <= scale <= 2.0:
        return ""
    return (
        f"图片为 {width}×{height} 像素，建议使用{want_w}X{want_h}像素 "
        f"(the picture is {width}×{height}; about {want_w}×{want_h} shows best "
        "on the card)"
    )


def save_picture(
    host: Host,
    data: bytes,
    filename: str,
    recommended: tuple[int, int] | None = None,
) -> Picture:
    """Check ``data`` is a JPEG or PNG within the limits and store it."""
    label = filename or "the file"
    if not data:
        raise ValidationError(f"{label} is empty; choose a JPG or PNG picture")
    if len(data) > MAX_PICTURE_BYTES:
        raise ValidationError(
            f"{label} is {len(data) // 1024} KiB; pictures may be at most "
            f"{MAX_PICTURE_BYTES // (1024 * 1024)} MiB"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or ""
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ValidationError(
                        f"{label} is {width}×{height} pixels; too large to show"
                    )
                image.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            f"{label} is not a readable picture; upload a JPG or PNG"
        ) from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValidationError(f"{label} has too many pixels to show") from None
    if kind not in FORMATS:
        raise ValidationError(
            f"{label} is a {kind or 'unknown'} picture; WeCom cards take JPG or PNG"
        )

    target_dir = folder(host)
    target_dir.mkdir(parents=True, exist_ok=True)
    name = secrets.token_urlsafe(18) + FORMATS[kind]
    tmp = target_dir / f".{name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, target_dir / name)
    return Picture(
        name, width, height, kind, len(data), size_note(width, height, recommended)
    )


def picture_file(host: Host, name: str) -> Path:
    """The stored file for ``name``; :class:`NotFound` for anything else."""
    path = folder(host) / name
    if not _NAME.match(name) or not path.is_file():
        raise NotFound(f"no uploaded picture {name!r}")
    return path
